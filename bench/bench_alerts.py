"""Benchmark: the whole pipeline on whole nights: warning quality, the naive baseline, speed.

Usage:
    .venv/bin/python bench/bench_alerts.py [--scenario night-40 record-810] [--seeds default 7 11]
        [--no-naive] [--set warning.cone_k=1.0 policy.clear_hold_s=120] [--regions FILE]

For each night (simulated once, cached under bench/out/ with bench_tracker's
key), in a fresh process on one core: parse reports.ndjson, run the whole
pipeline exactly as ``airshield run`` does (tracker, threat picture, alert
policy, the event log, CAP files and the Atom feed), then score the run with
``airshield evaluate``'s code. The same night is run again with the naive
policy of issue #4 (a region is in alert while a confirmed threat is within
50 km of it), and the table shows the ratio of unneeded alert-minutes.

Columns: ``reports/s`` over parse + pipeline (``core`` excludes the event
log and the output files), the p99 of the per-step core time, and the
warning metrics of ../shared/docs/metrics.md; then where the unneeded
alert-minutes lie (``evaluation.warning.unneeded_parts``: in false alerts,
more than 30 min before an entry, after the threats left, between threats).

``--regions FILE`` alerts (and scores) areas of your own instead of the oblasts, e.g.
raion-sized cells from ``bench/make_grid_areas.py``: what finer areas cost and give.

Issue #4's bars: night-40 0 missed entries, 0 premature all-clears, >= 95 %
on time, lead / oracle >= 0.9, flapping <= 1 %, unneeded alert-minutes at
least 50 % below the naive policy; record-810 the same metrics reported and
>= 10,000 reports/s for the whole pipeline.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import platform
import resource
import shutil
import time
from pathlib import Path

from bench_tracker import OUT, fmt, night_dir

KEYS = ("entries", "entries_unwarnable", "missed_entries", "premature_all_clears", "on_time_fraction",
        "lead_time_median_s", "lead_ratio_vs_oracle", "alerts", "false_alerts", "unneeded_alert_minutes",
        "flapping_fraction", "threats_undetected")


def core_config(policy: str, overrides: list[str]):
    """A CoreConfig with ``stage.NAME=JSON`` overrides (stage: tracker, warning, policy)."""
    from airshield.core import CoreConfig, with_overrides

    return with_overrides(CoreConfig(policy_name=policy), overrides)


def night(d: Path, policy: str, overrides: list[str], tag: str = "", oracle: bool = False,
          areas: str | None = None) -> dict:
    from airshield.evaluation.evaluate import evaluate_files, geo_regions_loader, region_file_loader
    from airshield.evaluation.io import read_truth
    from airshield.evaluation.warning import UNNEEDED_PARTS, unneeded_parts
    from airshield.geo import load_regions
    from airshield.runtime import run_file
    from airshield.sources.ndjson import read_reports

    cfg = core_config(policy, overrides)
    if oracle:  # a perfect tracker in place of the real one (this process only: a spawned worker)
        from oracle_tracks import OracleTracker

        import airshield.core

        airshield.core.Tracker = lambda theatre, _cfg: OracleTracker(d / "truth.ndjson", theatre)
    regions = load_regions(areas or "default")
    t0 = time.perf_counter()
    reports, _ = read_reports(d / "reports.ndjson")
    parse_s = time.perf_counter() - t0
    run_dir = OUT / "runs" / f"{d.name}-alerts-{policy}{'-' + tag if tag else ''}"
    shutil.rmtree(run_dir, ignore_errors=True)
    stats = run_file(reports, regions, run_dir, config=cfg, cap_status="Exercise")
    truth = read_truth(d / "truth.ndjson")
    loader = region_file_loader(areas) if areas else geo_regions_loader
    ev = evaluate_files(truth, run_dir, *loader(truth.scenario))
    m = ev.metrics
    parts = unneeded_parts(ev.warning, truth.scenario.end)
    n = len(reports)
    return {
        "reports": n, "parse_s": parse_s, "run_s": stats.wall_s, "core_s": stats.core_s,
        "rps": n / (parse_s + stats.wall_s), "core_rps": n / (parse_s + stats.core_s),
        "p99_ms": 1000 * stats.step_percentile(99), "steps": stats.steps,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "alert_events": stats.alert_events, "cap": stats.cap_messages, "regions": len(regions),
        "tracks_confirmed": stats.tracks_confirmed, **{k: m.get(k) for k in KEYS},
        **{f"unneeded_{p}": parts[p] for p in UNNEEDED_PARTS},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", nargs="*", default=["night-40", "record-810"])
    ap.add_argument("--seeds", nargs="*", default=["default"], help="seeds (night-40 only; 'default' = the scenario's)")
    ap.add_argument("--no-naive", action="store_true", help="skip the naive baseline")
    ap.add_argument("--set", nargs="*", default=[], metavar="STAGE.NAME=JSON",
                    help="override a parameter, e.g. warning.cone_k=1.0 (experiments)")
    ap.add_argument("--tag", default="", help="suffix of the run directories (runs side by side)")
    ap.add_argument("--oracle", action="store_true",
                    help="a perfect tracker (bench/oracle_tracks.py): what prediction and policy do alone")
    ap.add_argument("--regions", default=None, metavar="FILE", help="alert areas of your own (default: the oblasts)")
    args = ap.parse_args()
    core_config("airshield", args.set)  # fail early on a bad override
    print(f"machine: {platform.machine()}, {__import__('os').cpu_count()} cores, CPython "
          f"{platform.python_version()}" + (f"; overrides {' '.join(args.set)}" if args.set else "")
          + ("; ORACLE tracks (the truth from each threat's first report)" if args.oracle else "")
          + (f"; areas {args.regions}" if args.regions else ""))
    rows = []
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=ctx, max_tasks_per_child=1) as pool:
        for name in args.scenario:
            for seed in (args.seeds if name == "night-40" else ["default"]):
                d = night_dir(name, None if seed == "default" else int(seed))
                for policy in ("airshield",) if args.no_naive else ("airshield", "naive"):
                    r = pool.submit(night, d, policy, args.set, args.tag + ("-oracle" if args.oracle else ""),
                                    args.oracle, args.regions).result()
                    rows.append({"night": f"{name} ({seed})", "policy": policy, **r})
                    print(f"  {name} seed {seed} {policy}: {r['rps']:,.0f} reports/s "
                          f"(core {r['core_rps']:,.0f}), unneeded {r['unneeded_alert_minutes']:,.0f} min",
                          flush=True)
    cols = ["night", "policy", "regions", "reports", "rps", "core_rps", "p99_ms", "peak_mib", "alert_events", *KEYS]
    print("\t".join(cols))
    for r in rows:
        print("\t".join(fmt(r[c]) for c in cols))
    print("\nunneeded alert-minutes by part (false alert / > 30 min before entry / after the threats left / "
          "between threats):")
    for r in rows:
        print(f"  {r['night']} {r['policy']}: " + " / ".join(f"{r['unneeded_' + p]:,.0f}" for p in
                                                          ("false", "early", "after", "between")))
    print("\nunneeded alert-minutes, airshield / naive:")
    for r in rows:
        if r["policy"] != "airshield":
            continue
        base = next((b for b in rows if b["night"] == r["night"] and b["policy"] == "naive"), None)
        if base and base["unneeded_alert_minutes"]:
            print(f"  {r['night']}: {r['unneeded_alert_minutes']:,.0f} / {base['unneeded_alert_minutes']:,.0f} = "
                  f"{r['unneeded_alert_minutes'] / base['unneeded_alert_minutes']:.2f} (bar <= 0.50)")


if __name__ == "__main__":
    main()
