"""Benchmark: "when may a threat come near this point?" against a record night's threats.

Usage:
    .venv/bin/python bench/bench_point.py [--threats 800] [--queries 200] [--radius-km 5]

Builds ``--threats`` drone forecasts spread over the theatre (the record night had
810 drones, most of them at once), the way ``/v1/concern`` sees them (one
:class:`~airshield.warning.point.PointIndex` per snapshot), and times point
queries at random places in the theatre and at its centre. Prints the
index build time and the query time (median, p99), against answering every
threat one by one with :func:`~airshield.warning.point.point_eta`.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from airshield.warning import WarningConfig
from airshield.warning.point import PointIndex, point_eta
from airshield.warning.prediction import Paths, predict, split_tracks


def forecasts(n: int, seed: int = 1) -> list[Paths]:
    cfg = WarningConfig()
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.uniform(-600e3, 600e3, n), rng.uniform(-400e3, 400e3, n), np.full(n, 500.0)])
    v = np.column_stack([rng.normal(0, 45, n), rng.normal(0, 45, n), np.zeros(n)])
    return split_tracks(predict(cfg, np.zeros(n), x, v, np.full(n, 500.0), np.full(n, 3.0), np.zeros(n, dtype=int)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threats", type=int, default=800)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--radius-km", type=float, default=5.0)
    args = ap.parse_args()
    cfg = WarningConfig()
    paths = forecasts(args.threats)
    t = time.perf_counter()
    index = PointIndex(paths)
    build = time.perf_counter() - t
    rng = np.random.default_rng(2)
    pts = np.column_stack([rng.uniform(-600e3, 600e3, args.queries), rng.uniform(-400e3, 400e3, args.queries)])
    pts[0] = 0.0  # the theatre's centre: many cones cross it
    r = args.radius_km * 1000.0
    times, hits = [], []
    for x, y in pts:
        t = time.perf_counter()
        hits.append(len(index.etas(float(x), float(y), r, cfg.cone_k, 100e3)))
        times.append(time.perf_counter() - t)
    one_by_one = []
    for x, y in pts[:20]:
        t = time.perf_counter()
        for p in paths:
            point_eta(p, float(x), float(y), r, cfg.cone_k, 100e3)
        one_by_one.append(time.perf_counter() - t)
    ms = np.array(times) * 1e3
    print(f"{args.threats} threats, {sum(p.t.size for p in paths):,} predicted points; index built in {build * 1e3:.1f} ms")
    print(f"query (PointIndex): median {np.median(ms):.2f} ms, p99 {np.percentile(ms, 99):.2f} ms, "
          f"at the centre {ms[0]:.2f} ms with {hits[0]} threats near; median {np.median(hits):.0f} near")
    print(f"one by one (point_eta per threat): median {np.median(one_by_one) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
