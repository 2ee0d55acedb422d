"""Benchmark: how long the simulator takes for a whole night.

Usage:
    .venv/bin/python bench/bench_simulator.py [SCENARIO ...] [--seed N] [--keep DIR]

Prints, per scenario: objects, sensors, reports, wall time of simulation and
of writing the files, reports per second, file sizes and peak memory. The
issue's bar: record-810 under 60 s on this 2-core machine.
"""

from __future__ import annotations

import argparse
import platform
import resource
import tempfile
import time
from pathlib import Path

from airshield.sim import load_scenario, simulate, write_night


def run(name: str, seed: int | None, out: Path) -> dict:
    sc = load_scenario(name)
    t0 = time.perf_counter()
    night = simulate(sc, seed)
    t1 = time.perf_counter()
    write_night(night, out)
    t2 = time.perf_counter()
    sizes = {f: (out / f).stat().st_size for f in ("reports.ndjson", "truth.ndjson", "sensors.ndjson")}
    return {
        "scenario": name, "seed": night.seed, "objects": len(night.objects), "sensors": len(night.sensors),
        "reports": night.n_reports, "simulate_s": t1 - t0, "write_s": t2 - t1, "total_s": t2 - t0,
        "reports_per_s": night.n_reports / (t2 - t0), "mb": {k: v / 1e6 for k, v in sizes.items()},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenarios", nargs="*", default=["night-40", "record-810"])
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", type=Path, default=None, help="write the files here instead of a temp dir")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{__import__('os').cpu_count()} cores")
    print(f"{'scenario':<12}{'objects':>8}{'sensors':>9}{'reports':>10}{'sim s':>8}{'write s':>9}"
          f"{'total s':>9}{'reports/s':>11}  files (MB)")
    for name in args.scenarios:
        with tempfile.TemporaryDirectory() as tmp:
            out = (args.keep / name) if args.keep else Path(tmp)
            r = run(name, args.seed, out)
        mb = ", ".join(f"{k.split('.')[0]} {v:.0f}" for k, v in r["mb"].items())
        print(f"{r['scenario']:<12}{r['objects']:>8}{r['sensors']:>9,}{r['reports']:>10,}{r['simulate_s']:>8.1f}"
              f"{r['write_s']:>9.1f}{r['total_s']:>9.1f}{r['reports_per_s']:>11,.0f}  {mb}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS): {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
