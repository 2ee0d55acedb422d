"""Benchmark: airshield's tracker against Stone Soup's standard GNN tracker ("Peer ratio").

Usage:
    .venv/bin/pip install -r bench/requirements-stonesoup.txt   # once
    .venv/bin/python bench/bench_stonesoup.py [--n 40 200] [--minutes 10] [--seed 1]
    .venv/bin/python bench/bench_stonesoup.py --skip-stonesoup  # airshield only, quick

What it measures (docs/metrics.md, "Speed" / "Peer ratio"; issue #3): both
trackers run, in one process, on the same input:

* N targets at ~50 m/s (random headings, white acceleration noise of
  0.05 m/s^2) in a 200 km x 200 km square, scanned every 5 s by one sensor
  with Pd = 0.9 and sigma = 200 m per axis (2-D positions), plus false alarms
  (Poisson, mean 10 per scan) uniform over the square; made
  deterministically from ``--seed`` (bench/stonesoup_scenario.py);
* throughput: reports per second = measurements (false alarms included) /
  wall time of the trackers' own per-scan calls (conversion of the input
  to each tracker's types and the scoring are outside the clock), and the
  speed ratio airshield / Stone Soup; airshield's p99 per-scan time;
* GOSPA (c = 2,000 m, p = 1, alpha = 2, airshield.evaluation.gospa) between
  the true positions and the confirmed tracks after every scan's update,
  averaged over the scans, in total and per target (GOSPA / N), and the
  ratio airshield / Stone Soup. Stone Soup's confirmed tracks are its
  tracker's ``tracks`` (its MultiMeasurementInitiator releases a track only
  after 2 detections); airshield's are those ``confirmed`` or ``coasting``,
  predicted with their velocity to the scan time.

The bar (issue #3): airshield >= 50x Stone Soup's reports/s at N = 40 and
N = 200, with a GOSPA no worse.

Stone Soup's setup is the textbook one of its tutorials: Kalman predictor and
updater, constant velocity in x and y, ``DistanceHypothesiser`` with the
``Mahalanobis`` measure (gate 3), ``GNNWith2DAssignment``,
``MultiMeasurementInitiator`` (min_points 2) and ``MultiTargetTracker``;
parameters in bench/stonesoup_trackers.py. airshield gets the same
measurements as ``PositionReport`` s of one partner sensor, the square placed
around the centre of ``Theatre.ukraine()`` (the theatre frame is the
scenario's frame), and ``Tracker.process`` is called once per scan.

Stone Soup (https://github.com/dstl/Stone-Soup, MIT licence) is a
benchmark-only dependency, pinned in bench/requirements-stonesoup.txt and
never imported by airshield itself.

Duration: Stone Soup takes ~1.5 s per scan at N = 200 on the 2-core
reference machine, so the issue's 30 min of scans would take it ~9 min at
N = 200 alone; the default is 10 min of scans (121 scans), for both trackers
alike, so that the whole benchmark finishes in ~4 minutes.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy
from stonesoup_scenario import FALSE_ALARMS, PD, SCAN_S, SIGMA_M, make_scenario
from stonesoup_trackers import RunResult, run_airshield, run_stonesoup, stonesoup_version

REQUIREMENTS = "bench/requirements-stonesoup.txt"
#: The issue's bar: speed ratio at least this, GOSPA ratio at most 1.
SPEED_BAR = 50.0
#: Scans in the first this many seconds are left out of the "after warm-up" GOSPA.
WARMUP_S = 60.0


def _machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        repo = Path(__file__).resolve().parent.parent
        rev = subprocess.run(["git", "-C", str(repo), "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=10).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        rev = "?"
    return (f"machine: {os.cpu_count()} cores ({cpu}), {platform.python_implementation()} "
            f"{platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
            f"stonesoup {stonesoup_version() or 'not installed'}, airshield {rev}")


class _Progress:
    """A counter on stderr while a run goes (only on a terminal)."""

    def __init__(self, label: str):
        self.label = label
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if self.tty and (now - self.last > 0.5 or done == total):
            self.last = now
            print(f"\r  {self.label}: scan {done}/{total}, {now - self.t0:.0f} s", end="",
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.tty:
            print("\r" + " " * 60 + "\r", end="", file=sys.stderr, flush=True)


def _run(label: str, fn, sc) -> RunResult:
    prog = _Progress(label)
    t = time.perf_counter()
    r = fn(sc, prog)
    prog.close()
    print(f"  {label}: {r.reports_per_s(sc.n_reports):,.0f} reports/s, tracking {r.seconds:.1f} s "
          f"(run {time.perf_counter() - t:.1f} s), GOSPA mean {r.gospa_m.mean():,.0f} m", flush=True)
    return r


def _p99_ms(r: RunResult) -> float:
    return float(np.percentile(r.step_s, 99) * 1e3)


def _parts(r: RunResult, n: int, warm: np.ndarray) -> str:
    assigned = n - r.missed
    loc = r.localisation_m[assigned > 0].sum() / max(assigned.sum(), 1.0)
    return (f"{r.name:<11}{r.gospa_m.mean() / n:>10,.1f}{r.gospa_m[warm].mean():>12,.0f}"
            f"{loc:>10,.0f}{r.missed.mean():>8.2f}{r.false.mean():>7.2f}{r.tracks.mean():>8.1f}"
            f"{r.step_s.mean() * 1e3:>11,.1f}{_p99_ms(r):>10,.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[40, 200], help="target counts (default 40 200)")
    ap.add_argument("--minutes", type=float, default=10.0, help="minutes of scans (default 10)")
    ap.add_argument("--seed", type=int, default=1, help="scenario seed (default 1)")
    ap.add_argument("--skip-stonesoup", action="store_true", help="run airshield only (quick check)")
    args = ap.parse_args()

    with_ss = not args.skip_stonesoup
    if with_ss and stonesoup_version() is None:
        print("Stone Soup is not installed (a benchmark-only dependency). Install it with:\n"
              f"    .venv/bin/pip install -r {REQUIREMENTS}\n"
              "or run airshield alone with --skip-stonesoup.", file=sys.stderr)
        sys.exit(2)

    print(_machine())
    n_scans = int(round(args.minutes * 60.0 / SCAN_S)) + 1
    print(f"scenario: 200 km x 200 km, ~50 m/s, scan {SCAN_S:g} s, Pd {PD}, sigma {SIGMA_M:g} m, "
          f"{FALSE_ALARMS:g} false alarms/scan (Poisson), {args.minutes:g} min = {n_scans} scans, "
          f"seed {args.seed}; GOSPA c = 2000 m, p = 1, alpha = 2, after every scan")
    if args.minutes < 30:
        print(f"note: {args.minutes:g} min of scans, not the issue's 30, so that Stone Soup at N = 200 "
              "finishes within minutes; both trackers get the same scans")

    rows = []
    for n in args.n:
        sc = make_scenario(n, args.minutes, args.seed)
        print(f"N = {n}: {sc.n_reports:,} reports ({sc.n_false_alarms:,} false alarms) in {sc.n_scans} scans",
              flush=True)
        ss = _run("Stone Soup", run_stonesoup, sc) if with_ss else None
        ash = _run("airshield", run_airshield, sc)
        rows.append((n, sc, ss, ash))

    print()
    print(f"{'N':>5}{'reports':>9} | {'Stone Soup':>11}{'airshield':>11}{'speed':>8} | {'GOSPA mean (m)':^25}"
          f"{'GOSPA':>7} | {'airshield':>10}")
    print(f"{'':>5}{'':>9} | {'reports/s':>11}{'reports/s':>11}{'ratio':>8} | {'Stone Soup':>12}{'airshield':>13}"
          f"{'ratio':>7} | {'p99 step':>10}")
    for n, sc, ss, ash in rows:
        a_rps = ash.reports_per_s(sc.n_reports)
        if ss is not None:
            s_rps = ss.reports_per_s(sc.n_reports)
            cols = (f"{s_rps:>11,.0f}{a_rps:>11,.0f}{a_rps / s_rps:>7,.1f}x | {ss.gospa_m.mean():>12,.0f}"
                    f"{ash.gospa_m.mean():>13,.0f}{ash.gospa_m.mean() / ss.gospa_m.mean():>7.2f}")
        else:
            cols = (f"{'-':>11}{a_rps:>11,.0f}{'-':>8} | {'-':>12}{ash.gospa_m.mean():>13,.0f}{'-':>7}")
        print(f"{n:>5}{sc.n_reports:>9,} | {cols} | {_p99_ms(ash):>7,.1f} ms")

    print()
    print("GOSPA parts, means over scans (per target = GOSPA / N; after warm-up = scans after the "
          f"first {WARMUP_S:g} s; loc/assigned = mean distance of assigned track-truth pairs):")
    print(f"{'N':>5}  {'tracker':<11}{'per target':>10}{'after warm':>12}{'loc/asgn':>10}{'missed':>8}"
          f"{'false':>7}{'tracks':>8}{'mean step':>11}{'p99 step':>10}")
    print(f"{'':>5}  {'':<11}{'m':>10}{'-up, m':>12}{'m':>10}{'':>8}{'':>7}{'':>8}{'ms':>11}{'ms':>10}")
    for n, sc, ss, ash in rows:
        warm = sc.times >= WARMUP_S
        for r in (ss, ash):
            if r is not None:
                print(f"{n:>5}  {_parts(r, n, warm)}")

    if with_ss:
        print()
        for n, sc, ss, ash in rows:
            speed = ash.reports_per_s(sc.n_reports) / ss.reports_per_s(sc.n_reports)
            ratio = ash.gospa_m.mean() / ss.gospa_m.mean()
            print(f"N = {n}: speed {speed:,.1f}x ({'meets' if speed >= SPEED_BAR else 'MISSES'} the "
                  f">= {SPEED_BAR:g}x bar), GOSPA ratio {ratio:.2f} "
                  f"({'no worse' if ratio <= 1.0 else 'WORSE than Stone Soup'})")


if __name__ == "__main__":
    main()
