"""The ``airshield`` command line: the I/O shell around the core.

Commands (stable):

* ``airshield simulate SCENARIO [--seed N] --out DIR``
* ``airshield run REPORTS.ndjson --out RUNDIR [--resume] [--policy naive] [--commands FILE]``
* ``airshield replay RUNDIR/events.sqlite --out DIR``
* ``airshield evaluate --truth DIR/truth.ndjson --run RUNDIR [--json] [--report DIR]``
* ``airshield serve [--host H] [--port P] [--data DIR] [--clock wall|data]``
* ``airshield demo``
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="airshield: early warning of air threats for people and infrastructure. "
    "It fuses sensor reports into classified tracks to warn people in time; it never aims, "
    "cues or controls a weapon.",
)
console = Console(stderr=True)
out_console = Console()


def _fail(message: str, code: int = 2) -> None:
    from rich.markup import escape

    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


class _Stages:
    """A rich progress bar with one task per pipeline stage."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.tasks: dict[str, int] = {}

    def __call__(self, stage: str, frac: float) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(stage, total=1.0)
        self.progress.update(self.tasks[stage], completed=frac)


def _progress(quiet: bool) -> Progress:
    return Progress(
        TextColumn("{task.description:>10}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(), console=console, disable=quiet, transient=False,
    )


def _simulate(scenario: str, seed: int | None, out: Path, quiet: bool):
    from airshield.sim import ScenarioError, load_scenario, simulate, write_night
    from airshield.sim.scenario import attack_scenario_text, parse_scenario

    try:
        if scenario.startswith("attack:"):
            # A reported night: its scenario is written beside the night, and what the
            # simulator cannot fly of it is said.
            text, notes = attack_scenario_text(scenario)
            if seed is not None:  # the file re-simulates this night: it names the seed it was run with
                text = re.sub(r"(?m)^seed = \d+$", f"seed = {seed}", text, count=1)
            sc = parse_scenario(text, scenario)
            out.mkdir(parents=True, exist_ok=True)
            (out / "scenario.toml").write_text(text, encoding="utf-8")
            for note in notes:
                # A model the simulator lacks is left out; a launch place it lacks is flown from another.
                label = "note" if "; flown from " in note else "left out"
                console.print(f"[yellow]{label}[/] {note}", highlight=False, soft_wrap=True)
        else:
            sc = load_scenario(scenario)
            if out.exists() and not out.is_dir():
                _fail(f"--out {out}: is a file; the night is written into a directory")
            # A reported night simulated here before left its scenario: it would misdescribe this one.
            (out / "scenario.toml").unlink(missing_ok=True)
    except ScenarioError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"--out {out}: {exc.strerror or exc}")
    t0 = time.perf_counter()
    try:
        with _progress(quiet) as progress:
            stages = _Stages(progress)
            night = simulate(sc, seed, stages)
            counts = write_night(night, out, stages)
    except (ValueError, OSError, OverflowError) as exc:
        _fail(f"{scenario}: {exc}")
    except MemoryError:
        _fail(f"{scenario}: the night asks for more memory than this machine has (a rate or count far too "
              "large?)")
    return night, counts, time.perf_counter() - t0


def _summary_table(night, counts: dict[str, int], elapsed: float) -> Table:
    from collections import Counter

    t = Table(title=f"{night.scenario.name}, seed {night.seed}: simulated in {elapsed:.1f} s", show_lines=False)
    t.add_column("what")
    t.add_column("count", justify="right")
    t.add_column("detail")
    by_model = Counter(o.model for o in night.objects)
    by_end = Counter(o.end_how for o in night.objects if not o.civil)
    threats = [o for o in night.objects if not o.civil]
    t.add_row("threats", str(len(threats)), ", ".join(f"{m} {n}" for m, n in sorted(by_model.items()) if m != "airliner"))
    t.add_row("  fate", "", ", ".join(f"{k} {v}" for k, v in sorted(by_end.items())))
    t.add_row("civil flights", str(by_model.get("airliner", 0)), "ADS-B, must never alert")
    by_kind = Counter(s["kind"] for s in night.sensors)
    t.add_row("sensors", f"{len(night.sensors):,}", ", ".join(f"{k} {v:,}" for k, v in sorted(by_kind.items())))
    t.add_row("reports", f"{sum(counts.values()):,}", ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
    false = sum(int((e.truth < 0).sum()) for e in night.emitted)
    t.add_row("  false", f"{false:,}", "false alarms and clutter")
    return t


@app.command()
def simulate(
    scenario: Annotated[str, typer.Argument(help="built-in scenario name (night-40, record-810, tiny, missiles), a .toml file, "
                                  "or a reported night of the attack record: attack:YYYY-MM-DD")],
    out: Annotated[Path, typer.Option("--out", "-o", help="output directory")],
    seed: Annotated[int | None, typer.Option(min=0, help="random seed (default: the scenario's)")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Simulate a night: writes OUT/reports.ndjson, OUT/truth.ndjson and OUT/sensors.ndjson."""
    night, counts, elapsed = _simulate(scenario, seed, out, quiet)
    if not quiet:
        console.print(_summary_table(night, counts, elapsed))
        console.print(f"wrote {out}/reports.ndjson, truth.ndjson, sensors.ndjson")


def _read_input(reports: Path, kinds: str | None):
    """(valid reports of a file in arrival order, filtered by kinds; how many were rejected),
    each rejected line or report printed."""
    from airshield.model import REPORT_KINDS
    from airshield.sources.ndjson import read_reports

    if reports.is_dir():
        _fail(f"{reports}: is a directory; give the reports file (e.g. {reports / 'reports.ndjson'})")
    if not reports.exists():  # (a pipe, <(zcat night.ndjson.gz), is read like a file)
        _fail(f"{reports}: no such file")
    keep = None
    if kinds is not None:
        keep = {k.strip() for k in kinds.split(",") if k.strip()}
        bad = keep - set(REPORT_KINDS)
        if bad or not keep:
            _fail(f"--kinds: unknown or no kind(s) {', '.join(sorted(bad))}; known: {', '.join(REPORT_KINDS)}")
    try:
        rs, errors = read_reports(reports)
    except OSError as exc:
        _fail(f"{reports}: {exc}")
    except ValueError as exc:  # a compressed file
        _fail(str(exc))
    for e in errors[:20]:
        console.print(f"[yellow]rejected[/] {e}", highlight=False, soft_wrap=True)
    if len(errors) > 20:
        console.print(f"[yellow]… and {len(errors) - 20} more rejected lines[/]")
    line_of = _line_numbers(reports, rs, errors)
    rs, far = _within_reach(rs, reports, line_of)
    rs = _without_resent(rs, reports)
    arrivals = [r.arrival for r in rs]
    late = next((i for i in range(1, len(arrivals)) if arrivals[i] < arrivals[i - 1]), None)
    if late is not None:
        r = rs[late]
        console.print(f"[yellow]the reports are not in arrival order ({reports}:{line_of(r)}: sensor {r.sensor}, "
                      f"arrives before the report above it): sorted by arrival (stable) before tracking[/]",
                      highlight=False, soft_wrap=True)
        rs = sorted(rs, key=lambda r: r.arrival)
    if keep is not None:
        rs = [r for r in rs if type(r).__struct_config__.tag in keep]
    if not rs:
        why = f"{len(errors) + far:,} lines rejected" if errors or far else "the file holds none"
        _fail(f"{reports}: no valid report{' of kinds ' + kinds if keep else ''} ({why})")
    return rs, len(errors) + far


def _line_numbers(path: Path, read: list, errors: list):
    """``line_of(report)``: the file line of a report of ``read`` (the valid reports of
    ``path`` as read). The file is scanned again on the first call only: just a refused or
    misordered report needs its line named."""
    from airshield.sources.ndjson import report_lines

    lines: dict[int, int] = {}

    def line_of(report) -> int:
        if not lines:
            lines.update(zip(map(id, read), report_lines(path, errors), strict=True))
        return lines[id(report)]

    return line_of


def _without_resent(rs: list, path: Path) -> list:
    """The reports without the ones given again (the same report resent, arriving later): the
    first is kept, as the service keeps it (a resent acoustic report would count twice)."""
    from airshield.sources.ndjson import report_hash

    seen: set[bytes] = set()
    out = []
    for r in rs:
        h = report_hash(r)
        if h not in seen:
            seen.add(h)
            out.append(r)
    if len(out) < len(rs):
        console.print(f"[yellow]{len(rs) - len(out):,} report(s) given again in {path} (the same report resent): "
                      f"each taken once, as the service takes them[/]", highlight=False, soft_wrap=True)
    return out


def _within_reach(rs: list, path: Path, line_of) -> tuple[list, int]:
    """The reports within the theatre's reach and fresh enough to warn with, and how many were
    not (each named, up to 20), as the service refuses them.

    A report from "null island" (0, 0), a swapped latitude and longitude or a sensor's
    broken GPS would otherwise start a track across the world (geo.theatre.REACH_M); one
    stamped 1970 by a sensor's wrong clock would move a live track (model.MAX_REPORT_AGE_S)."""
    import numpy as np

    from airshield.geo import Theatre
    from airshield.geo.theatre import REACH_M, beyond_reach
    from airshield.model import MAX_REPORT_AGE_S

    if not rs:
        return rs, 0
    d = Theatre.ukraine().distance_from_centre_m(np.array([r.lat for r in rs]), np.array([r.lon for r in rs]))
    age = np.array([r.arrival.timestamp() - r.time.timestamp() for r in rs])
    bad = np.flatnonzero((d > REACH_M) | (age > MAX_REPORT_AGE_S))
    for i in bad[:20].tolist():
        why = beyond_reach(float(d[i])) or (f"was measured {age[i]:,.0f} s before it arrived (at most "
                                            f"{MAX_REPORT_AGE_S:,.0f}): too old to warn with")
        field = "lat" if d[i] > REACH_M else "time"
        console.print(f"[yellow]rejected[/] {path}:{line_of(rs[i])}: field `{field}`: sensor {rs[i].sensor}: {why}",
                      highlight=False, soft_wrap=True)
    if bad.size > 20:
        console.print(f"[yellow]… and {bad.size - 20} more reports refused[/]")
    if bad.size == 0:
        return rs, 0
    keep = np.ones(len(rs), dtype=bool)
    keep[bad] = False
    return [r for r, k in zip(rs, keep.tolist(), strict=True) if k], int(bad.size)


def _read_commands(path: Path | None):
    """Operator commands from an NDJSON file (docs/formats.md, "Operator commands")."""
    if path is None:
        return []
    from airshield.outputs import read_commands

    try:
        cmds, errors = read_commands(path)
    except OSError as exc:
        _fail(f"{path}: {exc}")
    if errors:
        _fail("; ".join(str(e) for e in errors[:5]))
    return cmds


@app.command()
def run(
    reports: Annotated[Path, typer.Argument(help="reports.ndjson, in arrival order")],
    out: Annotated[Path, typer.Option("--out", "-o", help="run directory")],
    kinds: Annotated[str | None, typer.Option(help="only these report kinds, comma-separated (ablation)")] = None,
    batch_s: Annotated[float, typer.Option(
        min=0.001, max=30.0, help="step length in arrival time, s (the tracker gates a step's reports at its "
        "middle time: longer steps lose tracks)")] = 5.0,
    resume: Annotated[bool, typer.Option("--resume", help="carry on from RUNDIR/events.sqlite after a crash")] = False,
    policy: Annotated[str, typer.Option(help="alert policy: airshield, or naive (alert while a threat is within 50 km)")] = "airshield",
    commands: Annotated[Path | None, typer.Option(help="operator commands, NDJSON (raise / extend / cancel)")] = None,
    cap: Annotated[bool, typer.Option("--cap/--no-cap", help="write CAP 1.2 messages and the Atom feed")] = True,
    cap_status: Annotated[str | None, typer.Option(help="CAP status: Actual (default), Exercise (a simulated night), Test, ...; on --resume the log's")] = None,
    pace: Annotated[float | None, typer.Option(min=0.001, help="simulated seconds per wall-clock second (default: as fast as possible)")] = None,
    cap_sender: Annotated[str | None, typer.Option(help="CAP <sender>: your authority's unique id, e.g. alerts@your-domain (default a placeholder at example.org); on --resume the log's")] = None,
    cap_base_url: Annotated[str | None, typer.Option(help="where the run directory is served: the Atom feed's links (default a placeholder at example.org); on --resume the log's")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="a parameter of the core, STAGE.NAME=JSON (repeat it), e.g. warning.lost_max_radius_m=100000 for areas finer than an oblast (BENCHMARKS.md); kept in the log")] = None,
    regions: Annotated[str | None, typer.Option(help="alert areas: default, natural-earth, geoboundaries, or a GeoJSON / GeoPackage file of your own (docs/formats.md, \"Alert areas\"); on --resume the log's")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Run a report stream through the whole pipeline: tracks, warnings, alerts.

    Writes RUNDIR/events.sqlite (the event log: every report and event), tracks.ndjson,
    alerts.ndjson, audit.ndjson, cap/ (one CAP 1.2 file per message) and alerts.atom.
    """
    from airshield.core import POLICIES, CoreConfig, with_overrides
    from airshield.geo import load_regions
    from airshield.runtime import run_file
    from airshield.store import LogError

    if policy not in POLICIES:
        _fail(f"--policy: unknown policy {policy!r}; known: {', '.join(POLICIES)}")
    try:
        config = with_overrides(CoreConfig(policy_name=policy), set_ or [])
    except ValueError as exc:
        _fail(f"--set {exc}")
    _check_cap_status(cap_status)
    _check_cap_sender(cap_sender)
    if cap_base_url is not None and not cap_base_url.startswith(("https://", "http://")):
        _fail(f"--cap-base-url: {cap_base_url!r} is not an http(s) address")
    _check_out_dir(out)
    rs, n_rejected = _read_input(reports, kinds)
    cmds = _read_commands(commands)
    _check_commands_in_night(cmds, rs, commands)
    try:
        # A region file is read once, here; the event log keeps a copy of it.
        areas = None if regions is None and resume else load_regions(regions or "default")
        if areas is not None:
            _check_command_regions(cmds, {r.id for r in areas.regions}, commands)
        with _progress(quiet) as progress:
            stages = _Stages(progress)
            stats = run_file(rs, areas, out, config=config, batch_s=batch_s,
                             resume=resume, cap=cap, cap_status=cap_status, cap_sender=cap_sender,
                             cap_base_url=cap_base_url, commands=cmds, pace=pace,
                             progress=stages)
    except (LogError, OSError, ValueError) as exc:
        _fail(str(exc))
    console.print(
        f"{len(rs):,} reports ({n_rejected:,} rejected) in {stats.wall_s:.1f} s: "
        f"{len(rs) / max(stats.wall_s, 1e-9):,.0f} reports/s, step p99 {1000 * stats.step_percentile(99):.1f} ms; "
        f"{stats.tracks_confirmed:,} confirmed tracks, {stats.alert_events:,} alert events"
        + (f" ({stats.recovered_steps:,} steps recovered from the log)" if stats.recovered_steps else "")
        + f"; wrote {out}/", highlight=False)
    if stats.failed_steps:
        console.print(f"[red]warning: {stats.failed_steps:,} step(s) failed inside the core and were taken without "
                      f"events (a fault, please report it with the reports file); the first: {stats.first_failure}",
                      highlight=False)
    for a, b in stats.jumps:
        console.print(f"note: nothing was due from {_iso(a)} to {_iso(b)} ({(b - a) / 3600:,.1f} h): the clock "
                      "jumped over it; a report far off the others may carry a wrong time", highlight=False)


#: An operator command may come this long before the first report, s: an alert raised ahead
#: of a warned raid. After the last report it may come while the clock runs on to close the
#: night (runtime.CLOSE_MAX_S, 4 h): a later one would never apply.
COMMAND_MARGIN_S = 24 * 3600.0


def _check_commands_in_night(cmds, rs, path: Path | None) -> None:
    """Refuse a command outside the night: a typo in its date would silently never apply."""
    from airshield.runtime import CLOSE_MAX_S

    if not cmds or not rs:
        return
    first, last = rs[0].arrival.timestamp(), rs[-1].arrival.timestamp()
    for i, c in enumerate(cmds, 1):
        if c.t < first - COMMAND_MARGIN_S:
            _fail(f"{path}: command {i} ({c.action} {c.region} at {_iso(c.t)}) lies more than a day before "
                  f"the night's first report ({_iso(first)}): is its date right?")
        if c.t > last + CLOSE_MAX_S:
            _fail(f"{path}: command {i} ({c.action} {c.region} at {_iso(c.t)}) lies more than "
                  f"{CLOSE_MAX_S / 3600:g} h after the night's last report ({_iso(last)}), when the run has "
                  "closed the night: it would never apply (is its date right?)")


def _check_command_regions(cmds, ids: set[str], path: Path | None) -> None:
    """Refuse a command for a region the run does not have: a typo would never apply."""
    for i, c in enumerate(cmds, 1):
        if c.region not in ids:
            near = sorted(ids, key=lambda r: (not r.startswith(c.region[:3]), r))[:5]
            _fail(f"{path}: command {i} ({c.action} at {_iso(c.t)}) is for region {c.region!r}, which the "
                  f"run's regions do not have (for example {', '.join(near)})")


def _check_out_dir(out: Path) -> None:
    """Refuse, before anything is written, an output directory whose files could not be written:
    a run that fails half-way leaves an event log that a new run would not start over."""
    from airshield.runtime import OUTPUT_NAMES

    if out.exists() and not out.is_dir():
        _fail(f"--out {out}: is a file; a run writes into a directory")
    for name in (*OUTPUT_NAMES, "events.sqlite"):
        p, want_dir = out / name, name == "cap"
        if p.exists() and p.is_dir() != want_dir:
            _fail(f"--out {out}: {name} is {'a file' if want_dir else 'a directory'}; move it aside")


def _check_cap_sender(cap_sender: str | None) -> None:
    """An empty --cap-sender is a mistake, not a wish for the placeholder sender."""
    if cap_sender is not None and not cap_sender.strip():
        _fail("--cap-sender: empty; give your authority's unique id (e.g. alerts@your-domain), or leave the "
              "option out for the placeholder")


def _check_cap_status(cap_status: str | None) -> None:
    from airshield.alerting.cap import STATUSES

    if cap_status is not None and cap_status not in STATUSES:
        _fail(f"--cap-status: {cap_status!r} is not a CAP 1.2 status ({', '.join(STATUSES)})")


def _iso(t: float) -> str:
    """A time for people: RFC 3339 UTC to the second."""
    import math

    from airshield.model import format_time

    try:
        return format_time(math.floor(t))
    except (OverflowError, ValueError, OSError):  # beyond the years 1-9999, after a time-zone shift
        return f"{t:,.0f} s after 1970"


@app.command()
def replay(
    log: Annotated[Path, typer.Argument(help="an event log (RUNDIR/events.sqlite)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="directory for the replayed outputs")],
    verify: Annotated[bool, typer.Option("--verify/--no-verify", help="check every event against the log")] = True,
    cap: Annotated[bool, typer.Option("--cap/--no-cap", help="write CAP 1.2 messages and the Atom feed")] = True,
    cap_status: Annotated[str | None, typer.Option(help="CAP status of the replayed messages (default: the log's)")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Replay a night from its event log: the same tracks, alerts and CAP files, byte for byte.

    Every replayed event is compared with the one the log holds; the first difference is an error.
    """
    from airshield.runtime import ReplayMismatch
    from airshield.runtime import replay as replay_log
    from airshield.store import LogError

    if log.is_dir():
        hint = f"; give the log, {log / 'events.sqlite'}" if (log / "events.sqlite").is_file() else ""
        _fail(f"{log}: is a directory, not an event log{hint}")
    if not log.is_file():
        _fail(f"{log}: no such event log")
    _check_cap_status(cap_status)
    if out.resolve() == log.parent.resolve():
        _fail(f"--out {out}: replay into another directory than the log's own")
    try:
        with _progress(quiet) as progress:
            stages = _Stages(progress)
            stats = replay_log(log, out, cap=cap, cap_status=cap_status, verify=verify,
                               progress=lambda f: stages("replay", f))
    except ReplayMismatch as exc:
        _fail(f"replay differs from the log: {exc}", code=1)
    except sqlite3.DatabaseError as exc:
        _fail(f"{log}: the event log is damaged ({exc}); restore it from a backup")
    except (LogError, OSError, ValueError) as exc:
        _fail(str(exc))
    console.print(f"replayed {stats.steps:,} steps, {stats.reports:,} reports, {stats.alert_events:,} alert events "
                  f"in {stats.wall_s:.1f} s" + (", every event as logged" if verify else "") + f"; wrote {out}/",
                  highlight=False)


@app.command()
def evaluate(
    truth: Annotated[Path, typer.Option("--truth", help="truth.ndjson written by `airshield simulate`")],
    run: Annotated[Path | None, typer.Option("--run", help="run directory with tracks.ndjson / alerts.ndjson")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object with every metric")] = False,
    report: Annotated[Path | None, typer.Option("--report", help="report directory (default RUN/report)")] = None,
    no_report: Annotated[bool, typer.Option("--no-report", help="do not write the report with plots")] = False,
) -> None:
    """Score a run against the truth (metrics of shared/docs/metrics.md) and write a report with plots."""
    from airshield.evaluation import EvaluationInputError, evaluate_run
    from airshield.evaluation.table import print_metrics
    from airshield.store import LogError

    if truth.is_dir():
        _fail(f"{truth}: is a directory; give the truth file (e.g. {truth / 'truth.ndjson'})")
    if not truth.is_file():
        _fail(f"{truth}: no such file")
    if run is not None and not run.is_dir():
        _fail(f"{run}: is a file; give the run directory (`airshield run --out DIR`)" if run.exists()
              else f"{run}: no such run directory")
    report_dir = None if no_report else (report or (run / "report" if run else truth.parent / "report"))
    if report_dir is not None and report_dir.exists() and not report_dir.is_dir():
        _fail(f"--report {report_dir}: is a file; the report is a directory")
    try:
        loader = None
        if run is not None and (run / "events.sqlite").is_file():
            # The regions the run alerted for (its own alert areas, if it had any), not the scenario's.
            from airshield.evaluation.evaluate import region_file_loader
            from airshield.runtime import log_regions

            loader = region_file_loader(*log_regions(run / "events.sqlite"))
        if run is not None:
            _warn_if_another_night(truth, run)
        metrics = evaluate_run(truth, run, loader, report_dir=report_dir)
    except (EvaluationInputError, ValueError, OSError, LogError) as exc:
        _fail(str(exc))
    _warn_if_other_threats(truth, metrics)
    if as_json:
        sys.stdout.write(json.dumps(metrics, sort_keys=False) + "\n")
    else:
        print_metrics(metrics, out_console)
        if report_dir:
            console.print(f"report: {report_dir}/report.md")


def _end_lines(path: Path) -> list[bytes]:
    """The first and the last line of a file (reads its ends only)."""
    with path.open("rb") as f:
        first = f.readline()
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - 65536))
        tail = f.read().splitlines()
    return [first, tail[-1]] if first and tail else []


def _warn_if_another_night(truth: Path, run: Path) -> None:
    """Say so when a run's tracks and alerts all lie outside the truth's night: scored against
    the wrong truth, every alert would count as false and every threat as missed."""
    from airshield.model import parse_time

    try:
        head = json.loads(_end_lines(truth)[0])
        lo, hi = parse_time(head["start"]).timestamp(), parse_time(head["end"]).timestamp()
        times = [parse_time(json.loads(line)["t"]).timestamp()
                 for name in ("tracks.ndjson", "alerts.ndjson") if (run / name).is_file()
                 for line in _end_lines(run / name)]
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return  # the evaluation itself names what is wrong with the files
    if times and (max(times) < lo - 3600.0 or min(times) > hi + 6 * 3600.0):
        console.print(f"[yellow]the run ({_iso(min(times))} to {_iso(max(times))}) lies outside the truth's night "
                      f"({_iso(lo)} to {_iso(hi)}): is {truth} the truth of this run?[/]",
                      highlight=False, soft_wrap=True)


#: More than this share of a run's confirmed tracks matching no true object says the truth is of
#: another night: the reported nights, cruise raids included, stay under 12 %; night-40's run
#: scored against seed 7's truth (the same scenario, times and sensors) gives 93 %.
OTHER_NIGHT_FALSE_SHARE = 0.5


def _warn_if_other_threats(truth: Path, metrics: dict) -> None:
    """Say so when most of a run's confirmed tracks follow no threat of the truth: a truth of the
    same scenario but another seed has the same times and sensors, and nothing else tells."""
    n, false = metrics.get("tracks_scored") or 0, metrics.get("false_confirmed_tracks") or 0
    if n >= 5 and false > OTHER_NIGHT_FALSE_SHARE * n:
        console.print(f"[yellow]{false:,} of the run's {n:,} confirmed tracks follow no threat of the truth: is "
                      f"{truth} the truth of this run's night (the same scenario and seed)?[/]",
                      highlight=False, soft_wrap=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="port to listen on")] = 8000,
    data: Annotated[Path, typer.Option("--data", help="data directory: events.sqlite (the event log), server.sqlite")] = Path("data"),
    clock: Annotated[str, typer.Option(help="wall: steps follow the wall clock; data: the newest report's arrival time (feed a recorded night fast)")] = "wall",
    regions: Annotated[str, typer.Option(help="region source of a new log (default, natural-earth, geoboundaries or a file)")] = "default",
    batch_s: Annotated[float, typer.Option(min=0.1, max=30.0, help="step length, s (at most 30: see run)")] = 5.0,
    cap_status: Annotated[str, typer.Option(help="CAP status of a new log: Actual, Exercise, Test, ...")] = "Actual",
    public_delay_s: Annotated[float, typer.Option(min=0.0, help="public track view delay, s")] = 60.0,
    public_coarsen_m: Annotated[float, typer.Option(min=0.0, help="public track positions rounded to this grid, m")] = 5000.0,
    rate: Annotated[float, typer.Option(min=0.0, help="per-sensor rate limit, reports/s (0: none)")] = 50.0,
    burst: Annotated[float, typer.Option(min=1.0, help="per-sensor burst, reports")] = 500.0,
    silent_after_s: Annotated[float, typer.Option(min=1.0, help="a sensor not heard from this long is silent, s")] = 600.0,
    max_report_age_s: Annotated[float, typer.Option(
        min=1.0, help="reports measured longer than this before the service clock are refused, s")] = 3600.0,
    base_url: Annotated[str | None, typer.Option(help="public URL of the service, the feeds' links (default http://HOST:PORT/; needed with a wildcard --host)")] = None,
    cap_sender: Annotated[str | None, typer.Option(help="CAP <sender> of a new log: your authority's unique id, e.g. alerts@your-domain (default a placeholder at example.org)")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="a parameter of a new log's core, STAGE.NAME=JSON (repeat it); a restart keeps the log's")] = None,
    cors_origins: Annotated[str, typer.Option(help="web origins whose pages may call the API and stream, comma-separated; * any; none: no CORS headers")] = "*",
    public_sensors: Annotated[bool, typer.Option("--public-sensors", help="publish the sensors (to ~1 km) and their coverage gaps without a token (default: viewers only)")] = False,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error")] = "info",
) -> None:
    """Run the web service: ingest, alert API, push, operators and the live map (docs/service.md).

    The admin token is read from AIRSHIELD_ADMIN_TOKEN; without it, a first start makes one and
    writes it to DATA/admin.token (readable by its owner only).
    """
    import os
    import secrets

    import uvicorn

    from airshield.server import logs
    from airshield.server.app import create_app
    from airshield.server.settings import CLOCKS, Settings

    if clock not in CLOCKS:
        _fail(f"--clock: {clock!r}; one of {', '.join(CLOCKS)}")
    _check_cap_sender(cap_sender)
    if base_url is None and host.strip("[]") in ("0.0.0.0", "::", ""):
        # The feeds' links are made from the base URL; http://0.0.0.0:PORT/ reaches no one.
        _fail(f"--host {host or repr(host)} listens for other machines: give --base-url, the address they "
              f"reach the service at (e.g. https://alerts.example.org/), for the feeds' links")
    if base_url is not None and not base_url.startswith(("https://", "http://")):
        _fail(f"--base-url: {base_url!r} is not an http(s) address")
    _check_data_dir(data, regions)
    origins = tuple(o.strip() for o in cors_origins.split(",") if o.strip() and cors_origins.strip() != "none")
    token = os.environ.get("AIRSHIELD_ADMIN_TOKEN")
    tfile = data / "admin.token"
    if not token and not tfile.exists():
        data.mkdir(parents=True, exist_ok=True)
        token = f"as_{secrets.token_urlsafe(32)}"
        fd = os.open(tfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
        console.print(f"a new admin token is in {tfile} (readable by you only)", highlight=False)
    try:
        settings = Settings(data_dir=data, host=host, port=port, regions=regions, clock=clock, batch_s=batch_s,
                            cap_status=cap_status, public_delay_s=public_delay_s, public_coarsen_m=public_coarsen_m,
                            rate_per_s=rate or None, rate_burst=burst, silent_after_s=silent_after_s,
                            max_report_age_s=max_report_age_s, admin_token=token,
                            base_url=(base_url.rstrip("/") + "/") if base_url else f"http://{host}:{port}/",
                            config_overrides=tuple(set_ or ()), cors_origins=origins, public_sensors=public_sensors, **({"cap_sender": cap_sender} if cap_sender else {}))
    except ValueError as exc:
        _fail(str(exc))
    logs.setup(log_level)
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False,
                timeout_graceful_shutdown=5)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="where to write the night")] = Path("out/demo"),
    scenario: Annotated[str, typer.Option(help="scenario to show")] = "night-40",
    seed: Annotated[int | None, typer.Option(min=0, help="random seed (default: the scenario's)")] = None,
    speed: Annotated[float, typer.Option(min=0.0, help="simulated seconds per wall-clock second (0: as fast as possible)")] = 600.0,
    host: Annotated[str, typer.Option(help="address the service listens on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="its port (another free one if taken)")] = 8000,
    keep_serving: Annotated[bool | None, typer.Option("--keep-serving/--exit", help="keep the service (and its map) running after the night until Ctrl-C (default: when run from a terminal)")] = None,
) -> None:
    """The main job: simulate a night, start the service (API and live map), feed the night's reports
    to it as its sensors would, at accelerated time, with a live view; then score the alerts
    against the truth."""
    from airshield.evaluation import evaluate_run
    from airshield.evaluation.table import print_metrics
    from airshield.sim.coverage import coverage
    from airshield.sim.picture import night_map

    night, counts, elapsed = _simulate(scenario, seed, out, quiet=False)
    console.print(_summary_table(night, counts, elapsed))
    out_console.print(_coverage_table(coverage(night)))
    png = night_map(night, out / "map.png")
    run_dir = out / "run"
    with _DemoService(out / "service", host, port) as svc:
        console.print(f"[bold]the live map: {svc.url}/[/]   (the public's page: {svc.url}/here; API: {svc.url}/docs; "
                      f"service log: {svc.log_path})", highlight=False)
        fed = svc.feed_night(out, f"{night.scenario.name} ×{speed:g}" if speed else night.scenario.name, speed)
        svc.export(run_dir)
        rt = svc.engine.rt
        console.print()
        console.print(f"fed {fed.accepted:,} reports to the service in {fed.requests:,} requests ({fed.wall_s:.1f} s, "
                      f"{fed.accepted / max(fed.wall_s, 1e-9):,.0f} reports/s, {fed.rejected} rejected); "
                      f"core {rt.stats.core_s if rt.stats.core_s else sum(rt.stats.step_s):.1f} s: "
                      f"{rt.stats.tracks_confirmed} confirmed tracks, {rt.stats.alert_events} alert events, "
                      f"{len(svc.engine.cap_xml)} CAP messages", highlight=False)
        metrics = evaluate_run(out / "truth.ndjson", run_dir, report_dir=out / "report")
        print_metrics(metrics, out_console)
        _official_line(metrics)
        console.print(f"map of the night: {png}")
        console.print(f"evaluation report (alerts against true threat presence, map, lead times): "
                      f"{out}/report/report.md")
        console.print(f"files: {out}/reports.ndjson, truth.ndjson, sensors.ndjson; {run_dir}/tracks.ndjson, "
                      f"alerts.ndjson, cap/, alerts.atom; the service's event log {svc.data}/events.sqlite "
                      f"(replay: airshield replay {svc.data}/events.sqlite --out DIR)")
        if keep_serving is None:
            keep_serving = sys.stdin.isatty() and sys.stdout.isatty()
        if keep_serving:
            console.print(f"[bold]the service keeps running: {svc.url}/ (the timeline replays the night); "
                          f"Ctrl-C stops it[/]", highlight=False)
            try:
                while svc.running:
                    time.sleep(0.5)
            except KeyboardInterrupt:
                pass


class _DemoService:
    """``airshield serve`` in this process (a thread) on a fresh data dir, data clock, CAP Exercise."""

    def __init__(self, data: Path, host: str, port: int):
        import secrets
        import shutil

        self.data = data
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
        self.host, self.port = host, _free_port(host, port)
        self.admin = f"as_{secrets.token_urlsafe(32)}"
        self.log_path = data / "service.log"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self.thread.is_alive()

    def __enter__(self) -> _DemoService:
        import threading

        import uvicorn

        from airshield.server import logs
        from airshield.server.app import create_app
        from airshield.server.settings import Settings

        self._log = self.log_path.open("a")
        logs.setup("info", self._log)
        # A simulated night has nothing to hide: its map shows the sensors without a sign-in.
        settings = Settings(data_dir=self.data, host=self.host, port=self.port, clock="data", cap_status="Exercise",
                            rate_per_s=None, admin_token=self.admin, base_url=self.url + "/", public_sensors=True)
        self.app = create_app(settings)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host=self.host, port=self.port, log_config=None,
                                                    access_log=False, timeout_graceful_shutdown=2))
        self.thread = threading.Thread(target=self.server.run, name="airshield-demo-service", daemon=True)
        self.thread.start()
        t0 = time.monotonic()
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() - t0 > 300:
                _fail(f"the service did not start; see {self.log_path}")
            time.sleep(0.05)
        self.engine = self.app.state.engine
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self._log.close()

    def feed_night(self, night_dir: Path, title: str, speed: float):
        """Register the night's sensors, post its reports as they would (live view), close the night."""
        import httpx

        from airshield.live import LiveView
        from airshield.outputs import decode_alert_line
        from airshield.server import feeder

        night = feeder.load_night(night_dir)
        with httpx.Client(base_url=self.url, timeout=600.0) as client:
            tokens = feeder.register_night(client, self.admin, night.sensors)
            with LiveView(console, title, total=len(night)) as view:
                eng = self.engine

                class _Step:  # what LiveView.on_step reads of a step
                    def __init__(self, now, alert_events):
                        self.now, self.alert_events = now, alert_events

                def on_events(events):  # engine thread: the core is safe to read here
                    alerts = [decode_alert_line(e.data) for e in events if e.kind == "alert"]
                    view.on_step(eng.rt, _Step(eng.rt.now, alerts))

                unsubscribe = eng.subscribe(on_events)
                try:
                    stats = _feed_in_another_process(self.url, night_dir, tokens, speed or None)
                    feeder.close_night(client, self.admin, night)
                finally:
                    unsubscribe()
                eng.call(lambda rt: view.finish(rt))
        return stats

    def export(self, run_dir: Path) -> None:
        """The night's files from the service's event log and CAP messages: tracks.ndjson, alerts.ndjson,
        audit.ndjson, cap/, alerts.atom (what `airshield run` writes)."""
        import shutil

        from airshield.alerting.cap import cap_path

        shutil.rmtree(run_dir, ignore_errors=True)
        (run_dir / "cap").mkdir(parents=True)
        eng = self.engine
        for kind, name in (("track", "tracks.ndjson"), ("alert", "alerts.ndjson"), ("audit", "audit.ndjson")):
            rows = eng.reader.query("SELECT body FROM events WHERE kind = ? ORDER BY seq", (kind,))
            (run_dir / name).write_bytes(b"".join(bytes(b) + b"\n" for (b,) in rows))
        for ident, xml in eng.call(lambda rt: dict(eng.cap_xml)).items():
            (run_dir / cap_path(ident)).write_bytes(xml)
        (run_dir / "alerts.atom").write_bytes(eng.call(lambda rt: eng.feed.to_xml()))


def _feed_in_another_process(url: str, night_dir: Path, tokens: dict[str, str], speed: float | None):
    """The feeder in its own process: the sensors' side must not share this process's GIL with the
    service it feeds (the service's threads would slow it below the pace)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(_feed_process, (url, str(night_dir), tokens, speed))


def _feed_process(url: str, night_dir: str, tokens: dict[str, str], speed: float | None):
    import httpx

    from airshield.server import feeder

    night = feeder.load_night(night_dir)
    with httpx.Client(base_url=url, timeout=600.0) as client:
        return feeder.feed(client, night, tokens, speed=speed)


def _free_port(host: str, port: int) -> int:
    import socket

    with socket.socket() as s:
        try:
            s.bind((host, port))
            return port
        except OSError:
            s.bind((host, 0))
            return s.getsockname()[1]


def _official_line(metrics: dict) -> None:
    """One line: this night's alerts beside today's official ones on nights of its size."""
    from airshield.evaluation import EvaluationInputError
    from airshield.evaluation.official import official_summaries

    try:
        label, big = official_summaries()[1]
    except (OSError, EvaluationInputError) as exc:
        console.print(f"(not compared with today's official alerts: {exc})", highlight=False)
        return
    med, per = metrics.get("alert_duration_median_min"), metrics.get("alert_minutes_per_region_night")
    theirs = (big["duration_median_min"], big["min_per_place_night"], big["alerts_per_place_night"])
    if med is None or per is None or None in theirs:
        return
    console.print(f"this night's alerts last a median {med:.0f} min, and an alerted region spends a median "
                  f"{per:.0f} min in alert. Official alerts 2022-24 on {label.removeprefix('official, ')}: "
                  f"{theirs[0]:.0f} min, and {theirs[1]:.0f} min in {theirs[2]:.0f} alerts per alerted region "
                  f"(medians; report.md has more)", highlight=False)


def _coverage_table(cov) -> Table:
    import numpy as np

    t = Table(title="Detection coverage by class")
    for col in ("class", "objects", "reported", "median first report after launch",
                "median covered share of flight minutes over Ukraine", "median sensors per object"):
        t.add_column(col, justify="right")
    for cls in ("drone", "jet", "cruise", "ballistic", "aircraft"):
        rows = [c for c in cov if c.cls == cls]
        if not rows:
            continue
        rep = [c for c in rows if c.first_report_s is not None]
        first = np.median([c.first_report_s for c in rep]) / 60 if rep else float("nan")
        shares = [c.covered_fraction for c in rows if c.covered_fraction is not None]
        t.add_row(cls, str(len(rows)), f"{len(rep)} ({100 * len(rep) / len(rows):.0f} %)",
                  f"{first:.1f} min" if rep else "-",
                  f"{100 * np.median(shares):.0f} %" if shares else "-",
                  f"{np.median([c.sensors for c in rows]):.0f}")
    return t


def _check_data_dir(data: Path, regions: str) -> None:
    """The service's files, checked before it starts: a clear line instead of a failed start-up."""
    if data.exists() and not data.is_dir():
        _fail(f"--data {data}: is a file; the service keeps its files in a directory")
    for name in ("events.sqlite", "server.sqlite"):
        f = data / name
        if not f.exists():
            continue
        try:  # the header and the schema only: a whole check would read a night's log at every start
            con = sqlite3.connect(f"file:{f}?mode=ro", uri=True)
            try:
                con.execute("SELECT count(*) FROM sqlite_master").fetchone()
            finally:
                con.close()
        except sqlite3.Error as exc:
            _fail(f"{f}: not a readable SQLite database ({exc}); move it aside to start afresh, or restore it")
    from airshield.geo.region_sources import GEOBOUNDARIES, NATURAL_EARTH

    if not (data / "events.sqlite").exists() and regions not in ("default", NATURAL_EARTH, GEOBOUNDARIES):
        p = Path(regions)
        if not p.is_file():
            _fail(f"--regions {regions}: no such file")


def main() -> None:
    """The console entry point: a fault no command foresaw is one line, not a traceback
    (``AIRSHIELD_DEBUG=1`` shows it)."""
    try:
        app()
    except Exception as exc:  # noqa: BLE001 - the last line of defence; commands handle what they foresee
        if os.environ.get("AIRSHIELD_DEBUG"):
            raise
        console.print(f"[red]error:[/] {type(exc).__name__}: {exc} (an internal fault: run again with "
                      "AIRSHIELD_DEBUG=1 for the traceback, and please report it)", highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
