"""The engine: ONE thread owns the core's Runtime; everything else talks to it through a queue.

Why one thread (docs/decisions/0015-service-engine-thread.md): the core is a
single-writer state machine and the event log a single-writer file. Request
handlers never touch either; they put jobs on the engine's queue and wait for
the reply:

* :meth:`Engine.submit` (ingest): the engine drops duplicates, appends the
  reports to the log in one transaction (durable: ``Runtime.accept`` with
  ``durable=True``) and only then answers with their seqs. Jobs that queued up
  meanwhile are appended together (group commit), which is what lets one thread
  take thousands of reports a second.
* :meth:`Engine.command` (operators): the command is in the log before the reply.
* After the jobs, the clock: in ``wall`` mode the wall clock, in ``data`` mode the
  newest accepted arrival time. ``Runtime.advance`` takes the steps due; with
  ``flush_every=1`` each step and its events are in the log when it returns.
* Then the engine reads the new events back from the log (their ``seq`` is the
  push id), publishes an immutable :class:`Snapshot` for the read API and calls
  each subscriber with the :class:`~airshield.server.events.PushEvent` list.

Readers (the event loop, request threads) only ever read ``engine.snapshot``,
an immutable object replaced by reference after each step (an atomic store in
CPython), and the log through their own read-only connections
(:class:`LogReader`).

Recovery is the Runtime's: at start an existing log is replayed (every event
checked against the log), reports accepted but not yet stepped are pending
again, and the engine rebuilds its views (tracks, alerts, CAP chains) from the
log's events.
"""

from __future__ import annotations

import logging
import math
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import numpy as np

from airshield.alerting.events import AlertEvent, OperatorCommand
from airshield.model import Report
from airshield.outputs import decode_alert_line
from airshield.server.events import PushEvent
from airshield.server.settings import Settings
from airshield.server.state import ServerState
from airshield.sources.ndjson import report_hash
from airshield.warning.prediction import Paths

log = logging.getLogger("airshield.engine")

#: A data-mode report may not move the clock further than this ahead of it in one go, s
#: (a sensor with a wrong clock must not end the night's alerts early).
DATA_MAX_JUMP_S = 3600.0
def trim_history(hist: list, keep: float, now: float) -> list:
    """The delayed views' history (``(time, ...)`` entries, oldest first) from ``keep`` on, before
    ``now``, and the last entry before ``keep``: after a gap in the steps (a restart after
    minutes down) the public view shows the last picture it had, at least its delay old, rather
    than nothing until a new step has aged. Not one older than ``STALE_HISTORY_S``."""
    old = [h for h in hist if keep - STALE_HISTORY_S <= h[0] < keep]
    return old[-1:] + [h for h in hist if keep <= h[0] < now]


#: The oldest picture a delayed view may fall back on after a gap, s before its delay.
STALE_HISTORY_S = 3600.0
#: Public track views keep this much history beyond their delay, s of the service clock.
_HIST_MARGIN_S = 30.0


class _TrackHead(msgspec.Struct):
    id: str
    event: str


_track_head = msgspec.json.Decoder(_TrackHead)


_track_full = msgspec.json.Decoder(dict)


@dataclass(frozen=True)
class TrackForecast:
    """A threat's predicted cone and region arrivals (absolute times, s), as of ``t``; ``path``:
    its predicted points in the theatre's frame (for arrivals at any point: warning.point)."""

    t: float
    cls: str
    cone: list[list[float]]
    etas: list[tuple[str, float | None, float, float | None]]  # region, t_in, t_lo, t_hi
    path: Paths | None = None  # views: the picture never changes a path in place
    expires: float = math.inf  # after this the forecast only holds running alerts (lost threats)
    lost: bool = False  # the sensors lost the threat


@dataclass(frozen=True)
class Snapshot:
    """What the read API sees: immutable, replaced after every batch of steps.

    Attributes:
        clock: the service clock, s (data mode: the newest accepted arrival).
        now: time of the core's last step, s (-inf before the first).
        steps: steps taken. accepted: seq of the last accepted report. last_event: last event seq.
        states: region id -> ``quiet`` | ``pre_alert`` | ``alert``.
        last_alert: region id -> its latest alert event.
        tracks: track id -> its latest tracks.ndjson line (decoded), live tracks only.
        forecasts: track id -> cone and ETAs (recomputed at most every ``forecast_period_s``).
        history: (step time, tracks, forecasts) of the last steps, oldest first (public delayed views).
    """

    clock: float = -math.inf
    now: float = -math.inf
    steps: int = 0
    accepted: int = 0
    last_event: int = 0
    states: dict[str, str] = field(default_factory=dict)
    last_alert: dict[str, AlertEvent] = field(default_factory=dict)
    tracks: dict[str, dict] = field(default_factory=dict)
    forecasts: dict[str, TrackForecast] = field(default_factory=dict)
    history: tuple[tuple[float, dict[str, dict], dict[str, TrackForecast]], ...] = ()

    def as_of(self, t: float) -> tuple[float, dict[str, dict], dict[str, TrackForecast]]:
        """(step time, tracks, forecasts) as they were at the last step at or before ``t`` (empty if none)."""
        out: tuple[float, dict[str, dict], dict[str, TrackForecast]] = (-math.inf, {}, {})
        for h in self.history:
            if h[0] > t:
                break
            out = h
        return out

    def tracks_as_of(self, t: float) -> dict[str, dict]:
        """The tracks as they were at the last step at or before ``t`` (empty if none)."""
        return self.as_of(t)[1]


class LogReader:
    """Read-only queries on the event log, one SQLite connection per thread."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None,
                                 check_same_thread=False)
            self._local.db = db
        return db

    def query(self, sql: str, args: Sequence = ()) -> list[tuple]:
        return self._db().execute(sql, args).fetchall()

    def events_after(self, seq: int, kinds: Iterable[str] | None = None, limit: int = 1000,
                     regions: Iterable[str] | None = None) -> list[PushEvent]:
        q = "SELECT seq, kind, t, key, body FROM events WHERE seq > ?"
        args: list = [int(seq)]
        if kinds:
            kinds = list(kinds)
            q += f" AND kind IN ({','.join('?' * len(kinds))})"
            args += kinds
        if regions:
            regions = list(regions)
            q += f" AND kind != 'track' AND key IN ({','.join('?' * len(regions))})"
            args += regions
        q += " ORDER BY seq LIMIT ?"
        args.append(int(limit))
        return [_push(*row) for row in self.query(q, args)]


def _push(seq: int, kind: str, t: float, key: str, body: bytes) -> PushEvent:
    return PushEvent(int(seq), kind, None if kind == "track" else key, float(t), bytes(body))


class EngineError(RuntimeError):
    """The engine cannot do what was asked (stopped, or the core refused)."""


class Engine:
    """The single thread that owns the Runtime (see module doc).

    Args:
        settings: the service's settings (data dir, clock mode, ...).
        server: the server state (duplicate hashes); None: one is opened on ``settings.state_path``.
        metrics: optional object with ``on_accept(n, dup)``, ``on_steps(n, seconds)``, ``on_lag(s)``.
    """

    def __init__(self, settings: Settings, server: ServerState | None = None, metrics=None):
        self.settings = settings
        self.server = server or ServerState(settings.state_path)
        self.metrics = metrics
        self.snapshot = Snapshot()
        self.reader = LogReader(settings.log_path)
        self.rt = None
        self.cap_xml: dict[str, bytes] = {}  # CAP identifier -> XML
        self.cap_latest: dict[str, str] = {}  # alert_id -> identifier of its latest message
        self.chain_start: dict[str, float] = {}  # alert_id -> time of its first event, s
        self.feed = None
        self._subs: list[Callable[[list[PushEvent]], None]] = []
        self._q: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._newest = -math.inf  # data clock
        self._prune_wall = time.monotonic()  # the first prune one period after start
        self.clock_start = -math.inf  # data clock: the first accepted arrival; wall: when the engine started
        self._pub_seq = 0
        self._tracks: dict[str, dict] = {}
        self._last_alert: dict[str, AlertEvent] = {}
        self._hist: list[tuple[float, dict[str, dict], dict[str, TrackForecast]]] = []
        self._forecasts: dict[str, TrackForecast] = {}
        self._replayed_forecasts: dict[int, dict[str, TrackForecast]] = {}  # step -> forecasts (_open)
        self._forecast_wall = 0.0
        self._forecast_stale = False
        self._seen_wall = 0.0
        self.started = threading.Event()
        self.error: BaseException | None = None

    # ------------------------------------------------------------- lifecycle

    def start(self, timeout: float = 600.0) -> None:
        """Open or recover the log in the engine thread and start stepping; returns when ready."""
        self._thread = threading.Thread(target=self._main, name="airshield-engine", daemon=True)
        self._thread.start()
        self.started.wait(timeout)
        if self.error is not None:
            raise EngineError(f"the engine did not start: {self.error}") from self.error

    def stop(self, timeout: float = 30.0) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._q.put(None)
        self._thread.join(timeout)
        self._thread = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self.error is None

    def _open(self) -> None:
        from airshield.alerting.atom import DEFAULT_TAG_AUTHORITY, AtomFeed, tag_authority_for
        from airshield.alerting.cap import CapEncoder
        from airshield.runtime import Runtime, _core_meta, make_core
        from airshield.store import EventLog

        s = self.settings
        s.data_dir.mkdir(parents=True, exist_ok=True)
        if s.log_path.exists():
            t0 = time.perf_counter()
            # The forecasts of the steps the public's delayed view still shows, made as the
            # replay passes them (they are not logged): without them the public saw no
            # cones or arrival times for a minute after a restart.
            with EventLog(s.log_path, readonly=True) as old:
                recent = {step for step, _ in old.recent_steps(s.public_delay_s + _HIST_MARGIN_S)}

            def keep_forecasts(rt, step: int) -> None:
                if step in recent:
                    try:
                        self._replayed_forecasts[step] = make_forecasts(rt)
                    except Exception:  # a view's problem must not stop a restart
                        log.exception("forecasts of a replayed step", extra={"step": step})

            self.rt = Runtime.recover(s.log_path, None, verify=True, flush_every=1, on_step=keep_forecasts)
            log.info("recovered", extra={"steps": self.rt.stats.steps, "pending": self.rt.pending,
                                         "seconds": round(time.perf_counter() - t0, 2)})
            meta = self.rt.log.meta()
            status, sender = meta.get("cap_status", "Actual"), meta.get("cap_sender", s.cap_sender)
            # The log's: an entry's id never changes (a log from before ids had a host: the placeholder).
            authority = meta.get("atom_tag_authority", DEFAULT_TAG_AUTHORITY)
        else:
            core = make_core(s.regions, s.lat0, s.lon0, _config(s.config_overrides))
            elog = EventLog(s.log_path, durability=s.durability)
            authority = tag_authority_for(s.base_url)
            elog.init_meta(_core_meta(core, s.batch_s, True, {"cap_status": s.cap_status, "cap_sender": s.cap_sender,
                                                              "atom_tag_authority": authority,
                                                              "service": True}))
            self.rt = Runtime(core, elog, None, s.batch_s, flush_every=1)
            status, sender = s.cap_status, s.cap_sender
        self.regions = self.rt.core.regions
        self.region_ids = list(self.rt.core.region_ids)
        self.cap = CapEncoder(self.regions, sender=sender, status=status)  # a restart keeps the log's
        self.feed = AtomFeed(base_url=s.base_url, tag_authority=authority)
        self._rebuild()

    def _rebuild(self) -> None:
        """Views from the log: tracks, latest alert per region, CAP chains, the data clock, dedup hashes."""
        elog = self.rt.log
        # The public's delayed views need the pictures of the last public_delay_s: rebuilt step by
        # step from the log and the forecasts the replay made (_open), or a restart shorter than
        # the delay showed the public nothing until a new step had aged.
        # Every recent step gets an entry, those without events too (a coasting track emits
        # nothing for minutes): the picture after all the events of the steps up to it.
        recent = elog.recent_steps(self.settings.public_delay_s + _HIST_MARGIN_S)
        fc = self._replayed_forecasts
        i = 0
        for ev in elog.events():
            while i < len(recent) and recent[i][0] < ev.step:
                self._hist.append((float(recent[i][1]), dict(self._tracks), fc.get(recent[i][0], {})))
                i += 1
            if ev.kind == "track":
                self._track_line(ev.body)
            elif ev.kind == "alert":
                self._alert_line(ev.body)
            self._pub_seq = ev.seq
        for step, now in recent[i:]:
            self._hist.append((float(now), dict(self._tracks), fc.get(step, {})))
        self._replayed_forecasts = {}
        row = elog._db.execute("SELECT MIN(arrival), MAX(arrival) FROM reports").fetchone()
        if self.settings.clock == "wall":
            self.clock_start = time.time()
        elif row[0] is not None:  # the data clock: where it was (a closed night's ran past the last report)
            self.clock_start, self._newest = float(row[0]), max(float(row[1]), self.rt.now)
        # Duplicate hashes of reports logged after the newest hash stored (a crash between the two writes).
        last = self.server.last_hashed_seq()
        from airshield.sources.ndjson import decode_report

        rows = []
        for seq, _, b in elog.reports(last):
            r = decode_report(b)
            rows.append((report_hash(r), seq, r.time.timestamp()))
        self.server.add_hashes(rows)
        self._forecast_stale = True
        self._publish([])

    # ------------------------------------------------------------------ API

    def submit(self, reports: Sequence[Report], hashes: Sequence[bytes] | None = None,
               timeout: float = 60.0) -> list[int | None]:
        """Accept reports (durable in the log before this returns); per report its seq, or None
        for a duplicate (already accepted before, or earlier in the same batch)."""
        if not reports:
            return []
        hashes = list(hashes) if hashes is not None else [report_hash(r) for r in reports]
        return self._call("submit", (list(reports), hashes), timeout)

    def command(self, cmd: OperatorCommand, timeout: float = 60.0) -> tuple[int, float]:
        """Log an operator command durably; returns (its seq, its time). A command's ``t`` <= 0
        is replaced by the service clock (the engine's, so it is never before the last step)."""
        return self._call("command", cmd, timeout)

    def register(self, reports: Sequence[Report], timeout: float = 60.0) -> None:
        """Make fixed sensors known to the core (one report each; logged in the registry)."""
        return self._call("register", list(reports), timeout)

    def advance_clock(self, t: float, until_idle: bool = False, timeout: float = 600.0) -> float:
        """Data clock: move it to ``t`` (never back) and take the steps due; with ``until_idle``
        stop early once no track is left and every region is quiet. Returns the core's time."""
        return self._call("clock", (float(t), until_idle), timeout)

    def call(self, fn: Callable, timeout: float = 60.0):
        """Run ``fn(runtime)`` in the engine thread (reads that need the live core)."""
        return self._call("call", fn, timeout)

    def subscribe(self, fn: Callable[[list[PushEvent]], None]) -> Callable[[], None]:
        """Call ``fn(events)`` from the engine thread after each batch of steps is in the log
        (``fn`` must not block: hand over with ``loop.call_soon_threadsafe``). Returns an unsubscribe."""
        self._subs = [*self._subs, fn]

        def unsubscribe() -> None:
            self._subs = [f for f in self._subs if f is not fn]

        return unsubscribe

    def events_after(self, seq: int, kinds: Iterable[str] | None = None, limit: int = 1000,
                     regions: Iterable[str] | None = None) -> list[PushEvent]:
        """Logged events with ``id > seq`` (for SSE resume and webhook outboxes), oldest first;
        ``regions`` keeps only alert/audit events of those regions."""
        return self.reader.events_after(seq, kinds, limit, regions)

    def clock(self) -> float:
        """The service clock, s since the epoch (data mode: the newest accepted arrival)."""
        if self.settings.clock == "wall":
            return time.time()
        return self._newest

    def _call(self, kind: str, arg, timeout: float):
        if not self.alive:
            raise EngineError("the engine is not running")
        fut: Future = Future()
        self._q.put((kind, arg, fut))
        return fut.result(timeout)

    # ---------------------------------------------------------------- thread

    def _main(self) -> None:
        try:
            self._open()
        except BaseException as exc:  # reported by start()
            self.error = exc
            self.started.set()
            return
        self.started.set()
        wall = self.settings.clock == "wall"
        tick = 1.0
        try:
            while not self._stop.is_set():
                jobs = []
                timeout = tick
                nxt = self.rt.next_step
                if wall and nxt is not None:  # wake for the next step on time (alerts go out at once)
                    timeout = min(tick, max(0.0, nxt - time.time()))
                try:
                    first = self._q.get(timeout=timeout)
                    if first is not None:
                        jobs.append(first)
                    while True:
                        j = self._q.get_nowait()
                        if j is not None:
                            jobs.append(j)
                except queue.Empty:
                    pass
                self._run(jobs)
            self._run(self._drain())
        except BaseException as exc:
            log.exception("engine failed")
            self.error = exc
            for _kind, _arg, fut in self._drain():
                fut.set_exception(EngineError(f"the engine failed: {exc}"))
        finally:
            try:
                if self.rt is not None:
                    self.rt.close()
            except Exception:
                log.exception("closing the log")

    def _drain(self) -> list:
        out = []
        while True:
            try:
                j = self._q.get_nowait()
            except queue.Empty:
                return out
            if j is not None:
                out.append(j)

    def _run(self, jobs: list) -> None:
        rt = self.rt
        submits = [j for j in jobs if j[0] == "submit"]
        if submits:
            self._accept(submits)
        for kind, arg, fut in jobs:
            if kind == "submit":
                continue
            try:
                if kind == "command":
                    cmd = arg
                    t = max(self.clock(), rt.now) if cmd.t <= 0 else cmd.t
                    if not math.isfinite(t):
                        raise EngineError("the service clock has not started (no report accepted yet)")
                    cmd = msgspec.structs.replace(cmd, t=t)
                    self._advance(self.clock())  # judged on the state of the steps already due
                    problem = rt.command_problem(cmd)
                    if problem is not None:
                        raise EngineError(problem)
                    fut.set_result((rt.command(cmd), t))
                elif kind == "register":
                    rt.register(arg)
                    fut.set_result(None)
                elif kind == "clock":
                    t, until_idle = arg
                    self._advance(t, until_idle)
                    # The clock stops where the steps stopped (an idle night's close ends there).
                    self._newest = max(self._newest, rt.now if until_idle else t)
                    fut.set_result(rt.now)
                elif kind == "call":
                    fut.set_result(arg(rt))
            except Exception as exc:
                fut.set_exception(exc)
        self._advance(self.clock())
        # Housekeeping for the read API: a failure here must not stop the engine.
        w = time.monotonic()
        try:
            if self._forecast_stale and w - self._forecast_wall >= self.settings.forecast_period_s:
                self._forecast_wall = w
                self._forecast_stale = False
                self._forecasts = self._make_forecasts()
                self._publish([])
            if w - self._seen_wall >= 2.0:
                self._seen_wall = w
                self.server.flush_seen()
            if w - self._prune_wall >= self.settings.prune_period_s:
                self._prune_wall = w
                self.prune()
        except Exception:
            log.exception("engine housekeeping failed (forecasts, sensors' last-seen times or pruning)")

    def prune(self) -> tuple[int, int]:
        """Forget duplicate hashes of reports ingest would refuse as too old, and old idempotency
        keys (state.py); returns how many of each."""
        clock = self.clock()
        if not math.isfinite(clock):
            return 0, 0
        s = self.settings
        # One more DATA_MAX_JUMP_S of hashes than ingest's age limit: a request checked against
        # the clock may wait in the queue while other batches move the data clock on (each at
        # most DATA_MAX_JUMP_S past the clock its request saw); a resend that passed the check
        # must still find its hash. On the wall clock a request waits seconds, not an hour.
        n = self.server.prune(clock - s.max_report_age_s - DATA_MAX_JUMP_S, time.time() - s.idempotency_keep_s)
        if any(n):
            log.info("pruned %d duplicate hashes and %d idempotency keys", *n)
        return n

    def _accept(self, submits: list) -> None:
        rt = self.rt
        batch: list[Report] = []
        rows: list[tuple[bytes, float]] = []  # hash, measurement time
        plan: list[list[int | None]] = []  # per job: index into batch, or None (duplicate)
        seen: set[bytes] = set()
        for _, (reports, hashes), _ in submits:
            idx: list[int | None] = []
            for r, h in zip(reports, hashes, strict=True):
                if h in seen or self.server.is_duplicate(h):
                    idx.append(None)
                    continue
                seen.add(h)
                idx.append(len(batch))
                batch.append(r)
                rows.append((h, r.time.timestamp()))
            plan.append(idx)
        try:
            last = rt.accept(batch, durable=True) if batch else rt.accepted
        except Exception as exc:
            for _, _, fut in submits:
                fut.set_exception(exc)
            return
        first = last - len(batch) + 1
        try:
            self.server.add_hashes([(h, first + i, t) for i, (h, t) in enumerate(rows)])
        except Exception:  # the reports are in the log: answer; a resend may then be taken twice
            log.exception("recording duplicate hashes failed")
        if batch and self.settings.clock == "data":
            self._newest = max(self._newest, max(r.arrival.timestamp() for r in batch))
            if not math.isfinite(self.clock_start):
                self.clock_start = min(r.arrival.timestamp() for r in batch)
        if self.metrics is not None:
            self.metrics.on_accept(len(batch), sum(len(p) for p in plan) - len(batch))
        for (_, _, fut), idx in zip(submits, plan, strict=True):
            fut.set_result([None if i is None else first + i for i in idx])

    def _advance(self, now: float, until_idle: bool = False) -> None:
        rt = self.rt
        if not math.isfinite(now) or rt.next_step is None or rt.next_step > now:
            return
        t0 = time.perf_counter()
        n = 0
        while rt.next_step is not None and rt.next_step <= now:
            # One step at a time, to publish long runs as they go. A quiet stretch of more than
            # IDLE_JUMP_S before ``now`` is jumped, not stepped through (a data clock's first
            # batch holding a report years older than the rest). Not when running on until idle:
            # that stops at the first idle step, and the clock with it (a jump past it would
            # leave the next step hours ahead of the clock, and new reports unstepped).
            n += len(rt.advance(rt.next_step if until_idle else now, max_steps=1))
            if until_idle and rt.idle():
                break
            if n % 50 == 0:  # publish long runs of steps as they go
                self._after_steps(n, t0)
                n, t0 = 0, time.perf_counter()
        self._after_steps(n, t0)

    def _after_steps(self, n: int, t0: float) -> None:
        if not n:
            return
        rt = self.rt
        rows = rt.log._db.execute("SELECT seq, kind, t, key, body FROM events WHERE seq > ? ORDER BY seq",
                                  (self._pub_seq,)).fetchall()
        events = [_push(*r) for r in rows]
        for e in events:
            try:
                if e.kind == "track":
                    self._track_line(e.data)
                elif e.kind == "alert":
                    self._alert_line(e.data)
            except Exception:  # a view's problem must not stop the engine (the log has the event)
                log.exception("updating the views", extra={"event": e.id})
        if events:
            self._pub_seq = events[-1].id
        self._forecast_stale = True
        if self.metrics is not None:
            self.metrics.on_steps(n, time.perf_counter() - t0, self.clock() - rt.now)
        self._publish(events)

    def _publish(self, events: list[PushEvent]) -> None:
        rt = self.rt
        now = rt.now
        tracks = dict(self._tracks)
        if math.isfinite(now):  # the step's entry; replaced when its forecasts come
            keep = now - self.settings.public_delay_s - _HIST_MARGIN_S
            self._hist = trim_history(self._hist, keep, now) + [(now, tracks, self._forecasts)]
        self.snapshot = Snapshot(
            clock=self.clock(), now=now, steps=rt.stats.steps, accepted=rt.accepted, last_event=self._pub_seq,
            states=dict(rt.core.policy.states()), last_alert=dict(self._last_alert), tracks=tracks,
            forecasts=self._forecasts, history=tuple(self._hist))
        if events:
            for fn in self._subs:
                try:
                    fn(events)
                except Exception:
                    log.exception("a subscriber failed")

    def _track_line(self, body: bytes) -> None:
        head = _track_head.decode(body)
        if head.event == "deleted":
            self._tracks.pop(head.id, None)
        else:
            self._tracks[head.id] = _track_full.decode(body)

    def _alert_line(self, body: bytes) -> None:
        from airshield.alerting.cap import CapEncodingError

        e = decode_alert_line(body)
        if not (e.event == "pre_alert_end" and e.state == "alert"):
            # (An alert supersedes a pre-alert with the pre-alert's end in the same step, after
            # the alert's start: the region's event stays the running alert's.)
            self._last_alert[e.region] = e
        if e.seq == 0:
            self.chain_start[e.alert_id] = e.t
        try:
            msg = self.cap.encode(e)
        except CapEncodingError as exc:  # a CAP problem must not stop the alerts
            log.error("cap encoding failed", extra={"alert_id": e.alert_id, "error": str(exc)})
            return
        self.cap_xml[msg.identifier] = msg.xml
        self.cap_latest[e.alert_id] = msg.identifier
        self.feed.add(msg)

    def _make_forecasts(self) -> dict[str, TrackForecast]:
        return make_forecasts(self.rt)


def make_forecasts(rt) -> dict[str, TrackForecast]:
    """Cone polygon and region arrival times of each threat in runtime ``rt``'s picture
    (theatre -> WGS84), as of its last step."""
    pic = rt.core.picture
    th = rt.core.theatre
    out: dict[str, TrackForecast] = {}
    for tid in pic.track_ids:
        try:
            f = _forecast_no_sites(pic, tid)
        except KeyError:
            continue
        if f is None:
            continue
        cone = _cone(f[0], f[1], th)
        k = pic._slot[tid]
        out[tid] = TrackForecast(t=rt.now, cls=f[2], cone=cone, etas=f[3], path=pic.path_of(tid),
                                 expires=float(pic._expires[k]), lost=bool(pic._lost[k]))
    return out


def _config(overrides=()):
    from airshield.core import CoreConfig, with_overrides

    return with_overrides(CoreConfig(), overrides)


def _forecast_no_sites(pic, tid: str):
    """(path_xy, path_r, class, etas) of a forecast, without the per-city impacts Forecast computes."""
    from airshield.warning.config import PREDICTED

    k = pic._slot[tid]
    imp = pic._imp
    sel = np.flatnonzero(imp["slot"] == k)
    paths, a, b = pic._paths[k]
    if b <= a:
        return None
    xy = np.column_stack([paths.x[a:b], paths.y[a:b]])
    etas = []
    for reg, lo, tin, hi, last in zip(imp["region"][sel].tolist(), imp["t_lo"][sel].tolist(),
                                      imp["t_in"][sel].tolist(), imp["t_hi"][sel].tolist(),
                                      imp["t_last"][sel].tolist(), strict=True):
        etas.append((pic.region_ids[reg], None if math.isnan(tin) else tin, lo, None if math.isnan(hi) else hi,
                     last))
    etas.sort(key=lambda e: e[2])
    return xy, paths.r[a:b], PREDICTED[int(pic._cls[k])], [(r, tin, lo, hi) for r, tin, lo, hi, _ in etas]


def _cone(xy: np.ndarray, r: np.ndarray, theatre, n: int = 12, max_points: int = 48) -> list[list[float]]:
    """The convex hull of the predicted circles (centre ``xy``, radius ``r``, m) as [[lat, lon], ...]."""
    from shapely import MultiPoint

    if len(xy) > 40:  # every few points suffice for a hull
        idx = np.unique(np.linspace(0, len(xy) - 1, 40).astype(int))
        xy, r = xy[idx], r[idx]
    ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
    px = (xy[:, 0:1] + r[:, None] * np.cos(ang)[None, :]).ravel()
    py = (xy[:, 1:2] + r[:, None] * np.sin(ang)[None, :]).ravel()
    hull = MultiPoint(np.column_stack([px, py])).convex_hull
    if hull.geom_type != "Polygon":
        return []
    coords = np.asarray(hull.exterior.coords)
    if len(coords) > max_points:
        coords = np.asarray(hull.simplify(float(np.max(r)) * 0.05 + 1.0).exterior.coords)
    lat, lon = theatre.to_latlon(coords[:, 0], coords[:, 1])
    return [[round(float(a), 5), round(float(b), 5)] for a, b in zip(np.atleast_1d(lat), np.atleast_1d(lon),
                                                                    strict=True)]
