"""The shell around the core: the event log, the clock's steps, the outputs; replay and recovery.

:class:`Runtime` is what a live deployment and ``airshield run`` both use:

1. :meth:`Runtime.accept` appends reports to the event log (durable) before
   anything else happens to them; :meth:`Runtime.command` does the same for an
   operator's command;
2. :meth:`Runtime.step` closes a step at the clock's time ``now``: the core
   (:class:`airshield.core.Core`) processes every report and command accepted
   since the last step, and the step with all its events is written to the log
   in one transaction, then to the output files.

**Recovery is replay.** :meth:`Runtime.recover` opens a log, rebuilds the core
from the configuration the log was made with, and feeds it the logged steps
again, checking that every event comes out byte for byte as logged. Reports
that were accepted but not yet stepped are pending again. A process killed
at any moment therefore carries on with the same alerts, having lost nothing
it accepted. ``airshield replay`` is the same loop into another directory.

File mode (:func:`run_file`) batches a report file by arrival time
(``batch_s``) with a simulated clock at each batch's end, exactly as a live
service steps at those times, then runs the clock on until every track has
ended and every region is quiet.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import msgspec
import numpy as np

from airshield import __version__
from airshield.alerting.atom import DEFAULT_TAG_AUTHORITY, tag_authority_for
from airshield.alerting.cap import DEFAULT_SENDER, sender_problem
from airshield.alerting.events import OperatorCommand
from airshield.alerting.policy import AuditRecord, needs_running_alert
from airshield.core import Core, CoreConfig, StepResult
from airshield.model import Report, format_time
from airshield.outputs import (
    DEFAULT_BASE_URL,
    CapFiles,
    Outputs,
    alert_line,
    audit_line,
    command_body,
    decode_command,
    track_lines,
)
from airshield.pipeline import BATCH_S, batches
from airshield.sources.ndjson import ReportDecodeError, decode_report, encode_report
from airshield.store import EventLog, LogError

_log = logging.getLogger("airshield.core")

#: After the last report the clock runs on until no track is left and every region is
#: quiet, or this long has passed, s.
CLOSE_MAX_S = 4 * 3600.0
#: A quiet runtime (no report or command due, no track, no threat, every region
#: quiet) jumps over a silent stretch longer than this instead of stepping through
#: it, s. Without it one report stamped decades off (a sensor with a wrong clock) or
#: a file holding two nights would take millions of empty steps. Two hours is longer
#: than a report may move a live service's data clock at once (``server.engine.DATA_MAX_JUMP_S``,
#: 1 h), so a running service jumps over hours it was down, a first batch on a data clock
#: whose reports lie years apart, or an operator's move of the data clock (``POST
#: /v1/clock``, up to 6 h) while quiet. The skipped steps would have emitted nothing; only
#: the phase of a periodic check (the picture's superseded threats, every 30 s) restarts.
IDLE_JUMP_S = 2 * 3600.0
#: File mode writes the log in groups of this many steps (crash-safe: see Runtime).
FILE_FLUSH_STEPS = 200


class ReplayMismatch(RuntimeError):
    """A replayed step did not give the events the log holds (the core is not deterministic, or changed)."""


@dataclass
class NightStats:
    """What a run did. Times are wall-clock seconds; ``step_s`` holds each step's core time."""

    reports: int = 0
    rejected: int = 0
    steps: int = 0
    track_lines: int = 0
    alert_events: int = 0
    audit_records: int = 0
    cap_messages: int = 0
    tracks_confirmed: int = 0
    wall_s: float = 0.0
    core_s: float = 0.0
    step_s: list[float] = field(default_factory=list)
    recovered_steps: int = 0
    #: steps whose core raised (a fault, never an input's: inputs are checked on the way
    #: in); each is taken as a step with no events, so the night goes on (and a replay or a
    #: recovery does the same), and the first fault is kept for the summary and /healthz
    failed_steps: int = 0
    first_failure: str | None = None
    #: the steps that failed since the last that did not (the service is failing, not degraded,
    #: once this passes its limit: ``server.ops.MAX_FAILED_IN_A_ROW``)
    failed_in_a_row: int = 0
    #: silent stretches the quiet clock jumped over (:data:`IDLE_JUMP_S`): (from, to), s
    jumps: list[tuple[float, float]] = field(default_factory=list)
    #: operator commands dated after the night had closed (never applied; `airshield run`
    #: refuses them before it starts): their times, s
    commands_after_end: list[float] = field(default_factory=list)

    @property
    def reports_per_s(self) -> float:
        return self.reports / self.wall_s if self.wall_s > 0 else float("nan")

    def step_percentile(self, q: float) -> float:
        return float(np.percentile(self.step_s, q)) if self.step_s else float("nan")


# ----------------------------------------------------------------- log meta


def config_json(cfg: CoreConfig) -> str:
    """The configuration as JSON (infinite values as ``Infinity``, as Python's json writes them)."""
    return json.dumps(msgspec.to_builtins(cfg), sort_keys=True)


def config_from_json(text: str) -> CoreConfig:
    return msgspec.convert(json.loads(text), CoreConfig)


def make_core(regions_source: str, lat0: float, lon0: float, cfg: CoreConfig, sites: bool = True,
              regions_data: bytes | None = None) -> Core:
    """A core for regions from ``regions_source`` in the theatre centred at (lat0, lon0);
    ``regions_data``: the bytes of that region file, as an event log keeps them (read instead)."""
    from airshield.geo import Theatre, load_cities, load_regions

    regions = load_regions(regions_source, Theatre(lat0, lon0), regions_data)
    return Core(regions, load_cities() if sites else None, cfg)


def _regions_file_meta(regions) -> dict:
    """The log's copy of a region file (a night is replayable without it, and an edited file
    cannot change a replay): ``{"regions_file": {"sha256", "base64"}}``, or nothing for a
    built-in source."""
    if regions.data is None:
        return {}
    return {"regions_file": {"sha256": hashlib.sha256(regions.data).hexdigest(),
                             "base64": base64.b64encode(regions.data).decode("ascii")}}


def _regions_data(meta: dict[str, str], where: object) -> bytes | None:
    """The region file a log keeps (checked against its hash), or None."""
    if "regions_file" not in meta:
        return None
    try:
        rec = json.loads(meta["regions_file"])
        data = base64.b64decode(rec["base64"], validate=True)
    except (ValueError, KeyError, TypeError) as exc:
        raise LogError(f"{where}: its copy of the region file is unreadable ({exc})") from None
    if hashlib.sha256(data).hexdigest() != rec.get("sha256"):
        raise LogError(f"{where}: its copy of the region file does not match its hash")
    return data


def cap_files_of(out_dir: str | Path, regions, meta: dict) -> CapFiles:
    """The CAP writer of a run: status, sender, feed address and Atom tag authority from
    ``meta`` (a log's meta data, or a new run's; older logs hold none of these: the defaults)."""
    return CapFiles(out_dir, regions, meta.get("cap_status", "Actual"),
                    sender=meta.get("cap_sender", DEFAULT_SENDER), base_url=meta.get("cap_base_url", DEFAULT_BASE_URL),
                    tag_authority=meta.get("atom_tag_authority", DEFAULT_TAG_AUTHORITY))


#: Parts of the package that do not decide a night's outputs (a change there keeps old logs
#: replayable): the simulator, the evaluation, the service's HTTP side and the CLI.
_NOT_CORE = ("sim", "evaluation", "server", "cli.py", "__main__.py")


@lru_cache(maxsize=1)
def core_version() -> str:
    """A short hash of the code that decides a night's outputs (every module of the package but
    ``_NOT_CORE``). A log records it: a core that changed may decide a night otherwise, and a
    replay that differs then says why."""
    root = Path(__file__).parent
    h = hashlib.sha256()
    for f in sorted(root.rglob("*.py")):
        rel = f.relative_to(root)
        if rel.parts[0] in _NOT_CORE:
            continue
        h.update(str(rel).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


def _explained(exc: ReplayMismatch, meta: dict[str, str]) -> ReplayMismatch:
    """``exc``, saying that the log was made by another core when it was."""
    made = meta.get("core_version")
    if made == core_version():
        return exc
    by = f"core {made}" if made else f"{meta.get('created_by', 'an older airshield')}, before core versions were recorded"
    return ReplayMismatch(f"{exc} (the log was made by {by}; this is core {core_version()}: a changed core decides "
                          "some events otherwise. Replay or resume the night with the airshield that made it, or "
                          "start a new one)")


def _core_meta(core: Core, batch_s: float, sites: bool, extra: dict) -> dict:
    th = core.theatre
    return {
        "created_by": f"airshield {__version__}",
        "core_version": core_version(),
        "config": config_json(core.cfg),
        "regions": core.regions.source,
        "theatre": {"lat0": th.lat0, "lon0": th.lon0},
        "sites": sites,
        "batch_s": batch_s,
        **_regions_file_meta(core.regions),
        **extra,
    }


def log_regions(log_path: str | Path) -> tuple[str, bytes | None]:
    """The region source a night's event log was alerted for, and its copy of the region file."""
    with EventLog(log_path, readonly=True) as log:
        meta = log.meta()
    if "regions" not in meta:
        raise LogError(f"{log_path}: holds no night (no regions recorded)")
    return meta["regions"], _regions_data(meta, log_path)


def core_from_log(log: EventLog) -> tuple[Core, dict]:
    """Rebuild the core a log was made with; returns it with the log's meta data."""
    meta = log.meta()
    if "config" not in meta:
        raise LogError(f"{log.path}: holds no night (no configuration recorded)")
    th = json.loads(meta["theatre"])
    try:
        core = make_core(meta["regions"], th["lat0"], th["lon0"], config_from_json(meta["config"]),
                         json.loads(meta.get("sites", "true")), _regions_data(meta, log.path))
    except (FileNotFoundError, ValueError) as exc:
        raise LogError(f"{log.path}: cannot rebuild its core: {exc}") from None
    return core, meta


# ------------------------------------------------------------------- runtime


class Runtime:
    """The core, its event log and its outputs (see module doc).

    Steps are taken at every multiple of ``batch_s`` (:meth:`advance`); a step
    at time ``now`` consumes the accepted reports that arrived before ``now``
    and the commands given before it. Because that rule depends only on the
    accepted data, steps that were taken but not yet written to the log when
    the process died are taken again, identically, after recovery: the log is
    written in groups of ``flush_every`` steps (one transaction, one
    projection call for their track lines) without losing anything accepted.

    Args:
        core: the pure core.
        log: the event log to append to, or None (nothing is logged).
        outputs: the run directory's files, or None.
        batch_s: step length, s.
        flush_every: steps per log transaction (1: every step at once).
    """

    def __init__(self, core: Core, log: EventLog | None = None, outputs: Outputs | None = None,
                 batch_s: float = BATCH_S, flush_every: int = 1):
        self.core = core
        self.log = log
        self.outputs = outputs
        self.batch_s = float(batch_s)
        self.flush_every = max(1, int(flush_every))
        self._pending: list[Report] = []
        self._pending_cmds: list[OperatorCommand] = []
        self._next: float | None = None  # time of the next step
        self.accepted = 0  # seq of the last accepted report
        self.accepted_cmds = 0
        self.consumed = 0  # seq of the last report a step has taken
        self.consumed_cmds = 0
        self._unlogged: list[tuple[float, bytes]] = []  # accepted without durability, not yet in the log
        self._steps: list[tuple[StepResult, int, int]] = []  # stepped, not yet in the log
        self.stats = NightStats()
        self._confirmed: set[str] = set()
        self._verify: EventLog | None = None  # replay: compare each step's events with this log's
        self._flushed = 0  # steps flushed so far

    @property
    def now(self) -> float:
        return self.core.now

    @property
    def next_step(self) -> float | None:
        """When the next step will be taken, s (None until something was accepted)."""
        return self._next

    @property
    def pending(self) -> int:
        return len(self._pending)

    # ---------------------------------------------------------------- input

    def accept(self, reports: Sequence[Report], durable: bool = True) -> int:
        """Accept ``reports`` (arrival order) for the next steps; returns the seq of the last one.

        ``durable``: in the log before this returns (a live service replies only
        then). ``False`` (file mode: the input file is the source) writes them
        with the next group of steps.
        """
        if not reports:
            return self.accepted
        if self.log is not None:
            rows = [(r.arrival.timestamp(), encode_report(r)) for r in reports]
            if durable:
                self.flush()
                self.accepted = self.log.append_reports(rows)
            else:
                self._unlogged.extend(rows)
                self.accepted += len(rows)
        else:
            self.accepted += len(reports)
        self._pending.extend(reports)
        self.stats.reports += len(reports)
        if self._next is None:
            self._next = self._window_end(reports[0].arrival.timestamp())
        return self.accepted

    def register(self, reports: Sequence[Report]) -> None:
        """Make sensors known in advance (a registry), one report each; logged, applied from the next step."""
        fixed = first_of_each_sensor(reports)
        if not fixed:
            return
        if self.log is not None:
            self.flush()
            self.log.append_registry(self.stats.steps, [encode_report(r) for r in fixed])
        self.core.register_sensors(fixed)

    def command_problem(self, cmd: OperatorCommand) -> str | None:
        """Why ``cmd`` can do nothing now, or None: ``extend`` and ``cancel`` need a running alert
        (or a ``raise`` of the region still waiting for its step). Not checked on replay: a logged
        command is applied as logged, and the policy's audit says what it did."""
        state = self.core.policy.states().get(cmd.region)
        if state is None or not needs_running_alert(cmd.action, state):
            return None
        if any(c.region == cmd.region and c.action == "raise" for c in self._pending_cmds):
            return None
        return (f"{cmd.region} has no alert running to {cmd.action} (it is {state.replace('_', '-')}); "
                f"raise one with POST /v1/regions/{cmd.region}/alert")

    def command(self, cmd: OperatorCommand) -> int:
        """Log an operator command durably, to be applied at the next step after its time; returns its seq."""
        if self.log is not None:
            self.flush()
            self.accepted_cmds = self.log.append_command(cmd.t, command_body(cmd))
        else:
            self.accepted_cmds += 1
        self._pending_cmds.append(cmd)
        if self._next is None:
            self._next = self._window_end(cmd.t)
        return self.accepted_cmds

    def _window_end(self, t: float) -> float:
        return float((math.floor(t / self.batch_s) + 1) * self.batch_s)

    # ---------------------------------------------------------------- steps

    def advance(self, now: float, max_steps: int | None = None) -> list[StepResult]:
        """Take every step due up to ``now`` (one per ``batch_s``), at most ``max_steps`` of them
        (the rest stay due: a caller that publishes or paces each step takes them one by one);
        returns their results. A long quiet stretch before ``now`` is jumped over either way."""
        out = []
        while self._next is not None and self._next <= now:
            self._jump_silence(now)
            if self._next > now or (max_steps is not None and len(out) >= max_steps):
                break
            out.append(self._step(self._next))
            self._next += self.batch_s
        return out

    def _jump_silence(self, now: float) -> None:
        """Move the next step over a long stretch of empty steps while the core is quiet.

        The step it moves to is the one that takes the first pending report or
        command, or the first after ``now`` if none is pending; only a stretch
        longer than :data:`IDLE_JUMP_S` is jumped (recorded in ``stats.jumps``).
        """
        due = [now]
        if self._pending:
            due.append(self._pending[0].arrival.timestamp())
        if self._pending_cmds:
            due.append(self._pending_cmds[0].t)
        target = self._window_end(min(due))
        if target - self._next > IDLE_JUMP_S and self._quiet():
            self.stats.jumps.append((self._next, target))
            self._next = target

    def _step(self, now: float) -> StepResult:
        """One step at ``now``: the reports that arrived and the commands given before ``now``."""
        n = 0
        while n < len(self._pending) and self._pending[n].arrival.timestamp() < now:
            n += 1
        m = 0
        while m < len(self._pending_cmds) and self._pending_cmds[m].t < now:
            m += 1
        reports, self._pending = self._pending[:n], self._pending[n:]
        cmds, self._pending_cmds = self._pending_cmds[:m], self._pending_cmds[m:]
        self.consumed += n
        self.consumed_cmds += m
        t0 = time.perf_counter()
        try:
            res = self.core.step(reports, now, cmds)
            self.stats.failed_in_a_row = 0
        except (MemoryError, RecursionError):
            # The machine's fault, not the data's: a replay would not meet it again, so taking the
            # step without events would leave a log that cannot be replayed. Stop instead.
            raise
        except Exception as exc:  # noqa: BLE001 - one faulty step must not end the night (or the service)
            res = self._failed_step(now, exc, cmds)
        self.stats.step_s.append(time.perf_counter() - t0)
        self._count(res)
        if self.outputs is not None:
            # Alerts go out at once; track lines are made per group (one projection call).
            self.outputs.write("alert", [alert_line(e) for e in res.alert_events])
            self.outputs.write("audit", [audit_line(a) for a in res.audit])
            self.outputs.alerts(res.alert_events)
        self._steps.append((res, self.consumed, self.consumed_cmds))
        if len(self._steps) >= self.flush_every:
            self.flush()
        return res

    def _failed_step(self, now: float, exc: Exception, cmds: Sequence[OperatorCommand]) -> StepResult:
        """A step whose core raised: logged, counted, and taken as a step without alert events.

        Deterministic like the rest: the core is pure, so a replay or a recovery of the same log
        raises at the same step, with the core in the same (partly stepped) state, and goes on
        the same way; faults of the machine (memory, recursion) are not caught. The step's
        reports stay in the log (nothing accepted is lost). Its operators' commands are not
        applied, and the audit trail says so, by name, so that the duty officer who gave one
        sees that it did nothing and can give it again (an operator's raise must never vanish
        without a word)."""
        self.stats.failed_steps += 1
        self.stats.failed_in_a_row += 1
        what = f"the step at {format_time(now)} failed: {type(exc).__name__}: {exc}"
        if self.stats.first_failure is None:
            self.stats.first_failure = what
        _log.error(what, exc_info=exc)
        audit = [AuditRecord(now, c, "rejected", f"not applied: {what}; give the command again") for c in cmds]
        return StepResult(now, [], [], audit)

    def flush(self) -> None:
        """Write the steps taken since the last flush (and reports accepted without durability) to the log."""
        if not self._steps and not self._unlogged:
            return
        steps, self._steps = self._steps, []
        rows = self._lines(steps)
        if self._verify is not None:
            for i, ev in enumerate(rows):
                _compare(self._flushed + i + 1, ev, self._verify.step_events(self._flushed + i + 1))
        self._flushed += len(steps)
        if self.log is not None:
            self.log.append_steps(self._unlogged, [(res.now, r, c, ev) for (res, r, c), ev in zip(steps, rows,
                                                                                                 strict=True)])
            self._unlogged = []
        if self.outputs is not None:
            self.outputs.write("track", [line for ev in rows for kind, _, _, line in ev if kind == "track"])
            self.stats.track_lines = self.outputs.counts["track"]
            if self.outputs.cap is not None:
                self.stats.cap_messages = self.outputs.cap.count
        else:
            self.stats.track_lines += sum(1 for ev in rows for r in ev if r[0] == "track")

    def _lines(self, steps: Sequence[tuple[StepResult, int, int]]) -> list[list[tuple[str, float, str, bytes]]]:
        """Per step, (kind, t, key, line) of each of its events, in a fixed order: tracks, alerts, audit."""
        tr = self.core.tracker
        all_track = [e for res, _, _ in steps for e in res.track_events]
        lines = iter(track_lines(all_track, self.core.theatre, tr.converter.north_many))
        out = []
        for res, _, _ in steps:
            n = sum(1 for e in res.track_events if e.state.status != "tentative")
            rows = [("track", e.state.t, e.state.id, line) for e, line in (next(lines) for _ in range(n))]
            rows += [("alert", e.t, e.region, alert_line(e)) for e in res.alert_events]
            rows += [("audit", a.t, a.command.region, audit_line(a)) for a in res.audit]
            out.append(rows)
        return out

    def _count(self, res: StepResult) -> None:
        st = self.stats
        st.steps += 1
        st.alert_events += len(res.alert_events)
        st.audit_records += len(res.audit)
        for e in res.track_events:
            if e.kind == "confirmed":
                self._confirmed.add(e.state.id)
        st.tracks_confirmed = len(self._confirmed)

    def idle(self) -> bool:
        """Nothing pending, no live track, no threat in the picture and every region quiet."""
        return not self._pending and not self._pending_cmds and self._quiet()

    def _quiet(self) -> bool:
        """No live track, no threat in the picture and every region quiet."""
        return (not self.core.tracker.tracks() and not len(self.core.picture)
                and all(s == "quiet" for s in self.core.policy.states().values()))

    def close(self) -> None:
        """Flush the log and close the files (the night can be carried on with :meth:`recover`)."""
        self.flush()
        if self.outputs is not None:
            self.outputs.close()
        if self.log is not None:
            self.log.close()

    # ------------------------------------------------------------- recovery

    @classmethod
    def recover(cls, log_path: str | Path, out_dir: str | Path | None, *, cap: bool = True,
                cap_status: str | None = None, verify: bool = True, readonly: bool = False, flush_every: int = 1,
                progress: Callable[[float], None] | None = None,
                on_step: Callable[[Runtime, int], None] | None = None) -> Runtime:
        """Rebuild a runtime from its log by replaying every logged step (see module doc).

        Args:
            log_path: the event log.
            out_dir: rewrite the run directory's files here (None: no files).
            cap, cap_status: write CAP files, with this CAP ``status`` (default: the one the
                log was made with).
            verify: check that each replayed step gives exactly the logged events
                (raises :class:`ReplayMismatch` at the first difference).
            readonly: do not append to the log afterwards (``airshield replay``).
            flush_every: steps per log transaction from now on.
            on_step: called with the runtime and the step's number after each replayed step
                (the service keeps the last minute's forecasts for the public's delayed view).
        """
        log = EventLog(log_path, readonly=readonly)
        core, meta = core_from_log(log)
        outputs = None
        if out_dir is not None:
            cap_meta = {**meta, "cap_status": cap_status or meta.get("cap_status", "Actual")}
            outputs = Outputs(out_dir, cap_files_of(out_dir, core.regions, cap_meta) if cap else None)
        rt = cls(core, None, outputs, float(meta.get("batch_s", BATCH_S)), flush_every=200)
        rt._verify = log if verify else None
        n_steps = log.count("steps")
        registry = log.registry()
        def decoded(rows, table: str) -> list[Report]:
            """Logged reports (``rows``: (seq, body)); one this airshield refuses is a mismatch."""
            try:
                return [decode_report(body, f"{log_path} {table}", seq) for seq, body in rows]
            except ReportDecodeError as exc:
                raise ReplayMismatch(f"{exc}: this airshield refuses a report the log accepted") from None

        try:
            for st in log.steps():
                if st.step - 1 in registry:
                    rt.core.register_sensors(decoded(enumerate(registry.pop(st.step - 1), 1), "registry"))
                reports = decoded(((seq, b) for seq, _, b in log.reports(rt.consumed, st.last_report)), "reports")
                cmds = [decode_command(b) for _, _, b in log.commands(rt.consumed_cmds, st.last_command)]
                rt._pending, rt._pending_cmds = reports, cmds
                rt.accepted, rt.accepted_cmds = st.last_report, st.last_command
                rt.stats.reports += len(reports)
                rt._step(st.now)
                if on_step is not None:
                    on_step(rt, st.step)
                if rt._pending or rt._pending_cmds:
                    raise ReplayMismatch(f"step {st.step}: the log says it took reports up to {st.last_report}, "
                                         f"but {len(rt._pending)} of them arrived after its time {st.now}")
                rt._next = st.now + rt.batch_s
                if progress and st.step % 200 == 0:
                    progress(st.step / max(n_steps, 1))
            rt.flush()
        except ReplayMismatch as exc:
            raise _explained(exc, meta) from None
        rt._verify = None
        rt.stats.recovered_steps = rt.stats.steps
        try:
            for bodies in registry.values():  # registered after the last step
                rt.core.register_sensors(decoded(enumerate(bodies, 1), "registry"))
            # Accepted, not yet stepped (or stepped and not logged): pending again.
            rest = log.reports(rt.consumed)
            rt._pending = decoded(((seq, b) for seq, _, b in rest), "reports")
        except ReplayMismatch as exc:
            raise _explained(exc, meta) from None
        rt._pending_cmds = [decode_command(b) for _, _, b in log.commands(rt.consumed_cmds)]
        rt.accepted = rest[-1][0] if rest else rt.consumed
        rt.accepted_cmds = log.last_seq("commands")
        rt.stats.reports += len(rest)
        if rt._next is None and (rt._pending or rt._pending_cmds):
            first = min([r.arrival.timestamp() for r in rt._pending[:1]] + [c.t for c in rt._pending_cmds[:1]])
            rt._next = rt._window_end(first)
        rt.flush_every = max(1, int(flush_every))
        if readonly:
            log.close()
        else:
            rt.log = log
        if progress:
            progress(1.0)
        return rt


def _compare(step: int, rows: list[tuple[str, float, str, bytes]], logged) -> None:
    if len(rows) != len(logged) or any(r[3] != e.body or r[0] != e.kind for r, e in zip(rows, logged, strict=False)):
        for i, (r, e) in enumerate(zip(rows, logged, strict=False)):
            if r[3] != e.body or r[0] != e.kind:
                raise ReplayMismatch(f"step {step}, event {i + 1}: replay gives {r[3][:200]!r}, "
                                     f"the log holds {e.body[:200]!r}")
        raise ReplayMismatch(f"step {step}: replay gives {len(rows)} events, the log holds {len(logged)}")


# ------------------------------------------------------------------ file mode


def first_of_each_sensor(reports: Sequence[Report]) -> list[Report]:
    """The first report of each fixed sensor (acoustic nodes, radars, observers), in input order."""
    from airshield.model import AdsbReport, PositionReport

    seen: set[str] = set()
    out = []
    for r in reports:
        if r.sensor not in seen and type(r) not in (AdsbReport, PositionReport):
            seen.add(r.sensor)
            out.append(r)
    return out


def input_fingerprint(reports: Sequence[Report]) -> str:
    """A hash of the first reports of an input, to refuse resuming a log with another file."""
    h = hashlib.sha256()
    for r in reports[:1000]:
        h.update(encode_report(r))
    return f"{len(reports)}:{h.hexdigest()[:16]}"


def commands_fingerprint(commands: Sequence[OperatorCommand]) -> str:
    """A hash of the operator commands a night was run with, to refuse resuming it with others."""
    h = hashlib.sha256(msgspec.json.encode(sorted(commands, key=lambda c: c.t)))
    return f"{len(commands)}:{h.hexdigest()[:16]}"


def _resume_problem(meta: dict[str, str], fingerprint: str, batch_s: float, config: CoreConfig | None,
                    cmd_print: str, cap_status: str | None, cap_sender: str | None, cap_base_url: str | None,
                    regions) -> str | None:
    """Why a log (its ``meta``) cannot be resumed with these arguments, or None (None arguments:
    the log's)."""
    if meta.get("input") != fingerprint:
        return f"was made from another input ({meta.get('input')}, this one {fingerprint})"
    if float(meta.get("batch_s", BATCH_S)) != batch_s:
        return f"was made with --batch-s {meta.get('batch_s')}, not {batch_s}"
    if config is not None and config_json(config) != meta.get("config"):
        was = config_from_json(meta["config"]).policy_name if "config" in meta else "?"
        return "was made with another configuration" + (
            f" (policy {was}, not {config.policy_name})" if was != config.policy_name else "")
    if meta.get("commands", cmd_print) != cmd_print:
        return "was made with other operator commands (--commands)"
    for given, key, default, what in ((cap_status, "cap_status", "Actual", "CAP status"),
                                      (cap_sender, "cap_sender", DEFAULT_SENDER, "CAP sender"),
                                      (cap_base_url, "cap_base_url", DEFAULT_BASE_URL, "base URL")):
        if given is not None and given != meta.get(key, default):
            return f"was made with {what} {meta.get(key, default)}, not {given}"
    if regions is not None:
        kept = json.loads(meta.get("regions_file", "{}")).get("sha256")
        if regions.data is not None:  # a file: its content counts, not how its path was written
            if kept != hashlib.sha256(regions.data).hexdigest():
                return (f"was made with other alert areas than {regions.source} holds now"
                        if kept else f"was made with the alert areas of {meta.get('regions')}, not a file's")
        elif kept is not None or meta.get("regions") != regions.source:
            return f"was made with the alert areas of {meta.get('regions')}, not {regions.source}"
    return None


def run_file(
    reports: Sequence[Report],
    regions,
    out_dir: str | Path,
    *,
    sites: Sequence | None = None,
    config: CoreConfig | None = None,
    batch_s: float = BATCH_S,
    resume: bool = False,
    cap: bool = True,
    cap_status: str | None = None,
    cap_sender: str | None = None,
    cap_base_url: str | None = None,
    commands: Iterable[OperatorCommand] = (),
    pace: float | None = None,
    on_step: Callable[[Runtime, StepResult], None] | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> NightStats:
    """Run a night from a report file's reports (arrival order) into ``out_dir``.

    Writes ``events.sqlite`` (the event log), ``tracks.ndjson``,
    ``alerts.ndjson``, ``audit.ndjson``, ``cap/`` and ``alerts.atom``.

    Args:
        reports: valid reports in arrival order.
        regions: the alert regions (airshield.geo.RegionSet); None: the default ones, or on
            resume the log's (given on resume, they must be the log's).
        out_dir: the run directory.
        sites: places for ETAs (airshield.geo.Site), or None.
        config: the core's parameters.
        batch_s: step length in arrival time, s.
        resume: carry on from ``out_dir/events.sqlite`` (after a crash): the
            log's steps are replayed, and the input continues after the reports
            it had accepted. Without it, an existing log is an error.
        cap, cap_status: write CAP files, with this CAP ``status`` (``Exercise`` for
            a simulated night; default ``Actual``, or on resume the log's).
        cap_sender, cap_base_url: the CAP ``<sender>`` and the address the Atom feed links
            to (defaults: placeholders at example.org; on resume the log's).
        commands: operator commands to apply at their times.
        pace: simulated seconds per wall-clock second (None: as fast as possible).
        on_step: called after every step (a live view).
        progress: ``progress(stage, fraction)``.
    """
    out_dir = Path(out_dir)
    log_path = out_dir / "events.sqlite"
    fingerprint = input_fingerprint(reports)
    commands = list(commands)
    cmd_print = commands_fingerprint(commands)
    t_wall = time.perf_counter()
    if resume and log_path.exists():
        # Checked on the log's meta data before its night is replayed (minutes on a record night).
        with EventLog(log_path, readonly=True) as log:
            meta = log.meta()
        problem = _resume_problem(meta, fingerprint, batch_s, config, cmd_print, cap_status, cap_sender,
                                  cap_base_url, regions)
        if problem:
            raise LogError(f"{log_path}: {problem}")
        rt = Runtime.recover(log_path, out_dir, cap=cap, flush_every=FILE_FLUSH_STEPS,
                             progress=(lambda f: progress("recovering", f)) if progress else None)
    else:
        if log_path.exists():
            raise LogError(f"{log_path} exists: use --resume to carry on from it, or another --out")
        _check_fresh(out_dir)
        if sites is None:
            from airshield.geo import load_cities

            sites = load_cities()
        if regions is None:
            from airshield.geo import load_regions

            regions = load_regions()
        core = Core(regions, sites, config)
        cap_meta = {"cap_status": cap_status or "Actual", "cap_sender": cap_sender or DEFAULT_SENDER,
                    "cap_base_url": cap_base_url or DEFAULT_BASE_URL,
                    "atom_tag_authority": tag_authority_for(cap_base_url or DEFAULT_BASE_URL)}
        # Checked before the log is made, CAP files or not: a log's sender is used on every replay.
        problem = sender_problem(cap_meta["cap_sender"])
        if problem:
            raise ValueError(f"--cap-{problem}")
        cap_files = cap_files_of(out_dir, regions, cap_meta) if cap else None
        log = EventLog(log_path)
        log.init_meta(_core_meta(core, batch_s, bool(sites), {"input": fingerprint, **cap_meta,
                                                              "commands": cmd_print}))
        outputs = Outputs(out_dir, cap_files)
        rt = Runtime(core, log, outputs, batch_s, flush_every=FILE_FLUSH_STEPS)
        rt.register(reports)  # the sensor registry a live service has: every fixed sensor of the input
    todo = list(reports[rt.accepted:])  # the first ones are in the log already
    cmds = sorted(commands, key=lambda c: c.t)[rt.accepted_cmds:]
    pacer = _Pacer(pace)
    n_done = rt.accepted

    def advance(now: float) -> None:
        while cmds and cmds[0].t < now:
            rt.command(cmds.pop(0))
        if on_step is None and pace is None:
            rt.advance(now)
            return
        while rt.next_step is not None and rt.next_step <= now:
            rt.advance(now, max_steps=0)  # jump a quiet stretch first: nothing to pace through
            if rt.next_step is None or rt.next_step > now:
                break
            pacer.wait(rt.next_step)
            for res in rt.advance(now, max_steps=1):
                if on_step:
                    on_step(rt, res)

    try:
        for k, (batch, now) in enumerate(batches(todo, batch_s)):
            rt.accept(batch, durable=False)
            advance(now)
            n_done += len(batch)
            if progress and k % 200 == 0:
                progress("night", n_done / max(len(reports), 1))
        # Close the night: the clock runs on until nothing is left (at most CLOSE_MAX_S).
        if reports:
            t_end = rt._window_end(reports[-1].arrival.timestamp())
            advance(t_end)
            # A command dated after the last report (an all-clear given by hand in the morning)
            # still applies if it comes within the close.
            while ((cmds or not rt.idle()) and rt.next_step is not None
                   and rt.next_step <= t_end + CLOSE_MAX_S):
                advance(rt.next_step)
            rt.stats.commands_after_end = [c.t for c in cmds]
        if progress:
            progress("night", 1.0)
    finally:
        rt.close()
    rt.stats.wall_s = time.perf_counter() - t_wall
    rt.stats.core_s = float(sum(rt.stats.step_s))
    return rt.stats


class _Pacer:
    """Sleeps so that simulated time runs ``pace`` times as fast as the wall clock (None: never sleeps)."""

    def __init__(self, pace: float | None):
        self.pace = pace
        self.t0: float | None = None
        self.wall0 = time.perf_counter()

    def wait(self, t_sim: float) -> None:
        if not self.pace:
            return
        if self.t0 is None:
            self.t0, self.wall0 = t_sim, time.perf_counter()
        wait = (t_sim - self.t0) / self.pace - (time.perf_counter() - self.wall0)
        if wait > 0:
            time.sleep(wait)


#: What a run writes besides its log: a new run or a replay refuses a directory that holds any
#: of them (another night's CAP files would stay beside this one's).
OUTPUT_NAMES = ("tracks.ndjson", "alerts.ndjson", "audit.ndjson", "alerts.atom", "cap")


def _check_fresh(out_dir: Path) -> None:
    """LogError if ``out_dir`` holds another run's outputs."""
    old = [n for n in OUTPUT_NAMES if (out_dir / n).exists() and not (
        (out_dir / n).is_dir() and not any((out_dir / n).iterdir()))]
    if old:
        raise LogError(f"{out_dir} holds another run's outputs ({', '.join(old)}): give an empty or new "
                       "directory, or remove them")


def replay(log_path: str | Path, out_dir: str | Path, *, cap: bool = True, cap_status: str | None = None,
           verify: bool = True, progress: Callable[[float], None] | None = None) -> NightStats:
    """``airshield replay``: the log's night again into ``out_dir`` (which must hold no other
    run's outputs), checked against the log."""
    _check_fresh(Path(out_dir))
    t0 = time.perf_counter()
    rt = Runtime.recover(log_path, out_dir, cap=cap, cap_status=cap_status, verify=verify, readonly=True,
                         progress=progress)
    rt.close()
    rt.stats.wall_s = time.perf_counter() - t0
    rt.stats.core_s = float(sum(rt.stats.step_s))
    return rt.stats
