"""Benchmark diagnostic: what kept each alert running while it was not needed.

Usage:
    .venv/bin/python bench/why_unneeded.py [--scenario night-40] [--seeds default 7 11]
        [--set warning.lost_keep_s=1800 ...]

Runs the core (tracker, threat picture, alert policy) over a cached night of
``bench/out/`` (bench_tracker's key; simulated when missing) and asks the policy
at every step what keeps each running alert (``AlertPolicy.keeping``: a threat
inside or within its lead time, the same for lost threats only, R4's hysteresis,
a citizen's sighting, an undecided track heard nearby, an operator, the hold-off). Each alert-second is then
scored against the truth as ``airshield evaluate`` does (metrics.md: needed while
a true threat is inside or enters within 30 min), so the table says how many
alert-minutes, and how many unneeded ones, each cause kept.

For lost threats it also says whether the threat behind the lost track was
still flying: the true object nearest the track's last state (within 5 km)
has truth states after the moment (``alive``) or none (``ended``: shot down
or at its target). Unneeded time behind lost threats that had ended is time
only a report of the threat's end could save; behind ones still flying, it is
where their cones put them and they did not go.

Prints one table per night; where the unneeded minutes lie is BENCHMARKS.md,
"Warning and alerts".
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

#: A lost track is taken to be the true object nearest its last state within this, m.
MATCH_M = 5000.0


def night(d: Path, overrides: list[str]) -> dict[str, tuple[float, float]]:
    """cause -> (alert-minutes, unneeded alert-minutes) over one night."""
    from scipy.spatial import cKDTree

    from airshield.core import Core, CoreConfig, with_overrides
    from airshield.evaluation.evaluate import evaluate_files, geo_regions_loader
    from airshield.evaluation.intervals import overlap_seconds, union
    from airshield.evaluation.io import read_truth
    from airshield.evaluation.warning import NEEDED_BEFORE_ENTRY_S
    from airshield.geo import load_cities, load_regions
    from airshield.pipeline import BATCH_S, batches
    from airshield.sources.ndjson import read_reports

    reports, _ = read_reports(d / "reports.ndjson")
    # The places too, as `airshield run` has them: a threat lost near a big city ends there.
    core = Core(load_regions("default"), load_cities(), with_overrides(CoreConfig(), overrides))
    core.register_sensors(reports)
    truth = read_truth(d / "truth.ndjson")
    ev = evaluate_files(truth, None, *geo_regions_loader(truth.scenario))
    # The truth at its own sample times, in the core's frame, for matching lost tracks.
    tx, ty = core.theatre.to_xy(truth.lat, truth.lon)
    t_end = {int(o): float(truth.t[truth.obj == o].max()) for o in np.unique(truth.obj)}
    needed = {r: union((o.entry.t_entry - NEEDED_BEFORE_ENTRY_S, o.entry.t_exit)
                       for o in ev.warning.outcomes if o.entry.region == r) for r in core.region_ids}
    match: dict[str, int | None] = {}

    def truth_of(track: str) -> int | None:
        if track not in match:
            f = core.picture.forecast(track)
            near = np.abs(truth.t - f.t0) <= 10.0  # truth states every 10 s
            obj = None
            if near.any():
                idx = np.flatnonzero(near)
                d_m, j = cKDTree(np.column_stack([tx[idx], ty[idx]])).query(f.x[:2])
                obj = int(truth.obj[idx[j]]) if d_m <= MATCH_M else None
            match[track] = obj
        return match[track]

    spans = collections.defaultdict(list)  # (cause, region) -> [(t0, t1)], one per step
    last = None
    for batch, now in batches(reports, BATCH_S):
        core.step(batch, now)
        for rid, (what, tracks) in core.policy.keeping(core.picture, now).items():
            if what.startswith("lost-") and last is not None:
                objs = [truth_of(t) for t in tracks]
                what += (" (no true object near)" if any(o is None for o in objs) else
                         " (all ended)" if all(t_end[o] < last for o in objs) else " (one still flying)")
            if last is not None:
                spans[what, rid].append((last, now))
        last = now
    out: dict[str, tuple[float, float]] = {}
    for (what, r), sp in spans.items():
        a = np.asarray(sp, dtype=float)
        total = float(np.sum(a[:, 1] - a[:, 0]))
        used = float(np.sum(overlap_seconds(a, needed[r]))) if len(needed[r]) else 0.0
        tot0, unn0 = out.get(what, (0.0, 0.0))
        out[what] = (tot0 + total / 60.0, unn0 + (total - used) / 60.0)
    return out


def main() -> None:
    from bench_tracker import night_dir

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default="night-40")
    ap.add_argument("--seeds", nargs="*", default=["default"])
    ap.add_argument("--set", nargs="*", default=[], metavar="STAGE.NAME=JSON")
    args = ap.parse_args()
    for seed in args.seeds:
        d = night_dir(args.scenario, None if seed == "default" else int(seed))
        rows = night(d, args.set)
        print(f"\n{args.scenario} (seed {seed}){' with ' + ' '.join(args.set) if args.set else ''}")
        print(f"  {'what kept the alert':44s} {'alert-min':>10s} {'unneeded':>10s}")
        for what, (tot, unn) in sorted(rows.items(), key=lambda kv: -kv[1][1]):
            print(f"  {what:44s} {tot:10,.0f} {unn:10,.0f}")
        print(f"  {'all':44s} {sum(v[0] for v in rows.values()):10,.0f} {sum(v[1] for v in rows.values()):10,.0f}")


if __name__ == "__main__":
    main()
