"""Benchmark: our alerts against today's official ones (real history), with the same statistics.

Usage:
    .venv/bin/python bench/bench_official.py [RUNDIR ...] [--plot bench/out/official.png]

With no RUNDIR it takes every untagged run that ``bench_alerts.py`` left under
``bench/out/runs`` (``*-alerts-airshield`` and ``*-alerts-naive``) and pools
them by scenario and policy. For each source it prints: alerts; their median and 90th
percentile duration; the share of repeat alerts at a place that start within
10 min of the previous all-clear there (domain.md's flapping share); and per
alerted place and night, the alerts and the minutes in alert (median and 90th
percentile). The official rows are oblast alerts of 2022-03-15 … 2024-04-22
(``../shared/data/alerts``, MIT-licensed "ukrainian-air-raid-sirens-dataset"),
in all and per year. It draws the durations and the minutes per place-night
as distributions (``--plot``).

The official alerts answer real raids, ours simulated nights: this shows what
kind of alerts each gives (how long, how often, how much of a night), not
which is right (``bench_alerts.py`` scores that against the truth).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from airshield.evaluation import AlertInterval, alert_intervals, read_alerts
from airshield.evaluation.official import (
    history_path,
    in_nights,
    place_nights,
    raid_nights,
    read_official_alerts,
    summary,
    summary_table,
)

OUT = Path(__file__).resolve().parent / "out"
#: bench_alerts.py's run folders: <scenario>-<seed>-<sim hash>-<regions hash>-alerts-<policy> (untagged)
RUN_NAME = re.compile(r"^(?P<scenario>.+)-(?P<seed>[^-]+)-[0-9a-f]{6}-[0-9a-f]{8}-alerts-(?P<policy>airshield|naive)$")


def run_alerts(run_dir: Path) -> dict[str, list[AlertInterval]]:
    ev = read_alerts(run_dir / "alerts.ndjson")
    return alert_intervals(ev.region, ev.t, ev.state, ev.alert_id)


def row(label: str, alerts: Mapping[str, Sequence[AlertInterval]], nights: int | None = None) -> dict:
    """The summary of ``alerts``, with the raw distributions for the plot."""
    _, minutes = place_nights(alerts)
    return {
        "source": label, **summary(alerts, nights=nights),
        "_durations": np.array([(a.end - a.start) / 60.0 for v in alerts.values() for a in v if a.end is not None]),
        "_night_minutes": minutes,
    }


def pooled(runs: list[Path]) -> dict[str, list[AlertInterval]]:
    """Every run's alerts, each run's places kept apart (a place-night per run)."""
    out: dict[str, list[AlertInterval]] = {}
    for i, d in enumerate(runs):
        for place, alerts in run_alerts(d).items():
            out[f"{place}#{i}"] = alerts
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="*", type=Path, help="run folders (default: bench_alerts.py's runs)")
    ap.add_argument("--plot", type=Path, default=OUT / "official.png")
    ap.add_argument("--raid", type=int, default=40, help="a big raid: at least this many Shaheds launched that night")
    args = ap.parse_args()

    official = read_official_alerts(history_path())
    for p in official.problems:
        print(f"note: left out {p}")
    rows = [row("official oblast alerts, 2022-24", official.alerts)]
    nights, problems = raid_nights(min_drones=args.raid)
    for p in problems:
        print(f"note: left out {p}")
    big = in_nights(official.alerts, nights)
    rows.append(row(f"official, nights of ≥ {args.raid} Shaheds", big))
    for y in sorted({datetime.fromtimestamp(a.start, UTC).year for v in official.alerts.values() for a in v}):
        sel = {p: [a for a in v if datetime.fromtimestamp(a.start, UTC).year == y] for p, v in official.alerts.items()}
        rows.append(row(f"official, {y}", sel))
    if args.runs:
        for d in args.runs:
            rows.append(row(d.name, run_alerts(d)))
    else:
        groups: dict[tuple[str, str], list[tuple[str, Path]]] = {}
        for p in sorted((OUT / "runs").glob("*-alerts-*")):
            m = RUN_NAME.match(p.name)
            if m and (p / "alerts.ndjson").exists():
                groups.setdefault((m["scenario"], m["policy"]), []).append((m["seed"], p))
        for (scenario, policy), runs in sorted(groups.items(), key=lambda g: (g[0][0], g[0][1] != "airshield")):
            seeds = ", ".join(seed for seed, _ in runs)
            rows.append(row(f"{policy}, {scenario} ({seeds})", pooled([p for _, p in runs]), nights=len(runs)))
    print("\n".join(summary_table([(r["source"], r) for r in rows])))
    plot(rows, args.plot)
    print(f"plot: {args.plot}")


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for r in rows:
        if r["source"].startswith("official, 20"):
            continue  # the years are in the table; the plot compares the pooled history
        for ax, key in zip(axes, ("_durations", "_night_minutes"), strict=True):
            v = np.sort(r[key])
            if v.size:
                ax.step(v, np.arange(1, v.size + 1) / v.size, where="post", label=r["source"])
    axes[0].set(xlabel="alert duration, min", ylabel="share of alerts", xlim=(0, 300),
                title="How long one alert lasts")
    axes[1].set(xlabel="minutes in alert per alerted place and night", ylabel="share of place-nights",
                xlim=(0, 720), title="How much of a night a place is in alert")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("Official oblast alerts 2022-24 (ukrainian-air-raid-sirens-dataset, MIT) against simulated nights",
                 fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
