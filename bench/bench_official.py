"""Benchmark: our alerts against today's official ones (real history), with the same statistics.

Usage:
    .venv/bin/python bench/bench_official.py [RUNDIR ...] [--plot bench/out/official.png]

With no RUNDIR it takes every run that ``bench_alerts.py`` left under
``bench/out/runs`` (``*-alerts-airshield`` and ``*-alerts-naive``) and pools
them by policy. For each source it prints: alerts; their median and 90th
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
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from airshield.evaluation import AlertInterval, alert_intervals, read_alerts
from airshield.evaluation.official import (
    alert_statistics,
    history_path,
    in_nights,
    night_of,
    place_nights,
    raid_nights,
    read_official_alerts,
)

OUT = Path(__file__).resolve().parent / "out"


def run_alerts(run_dir: Path) -> dict[str, list[AlertInterval]]:
    ev = read_alerts(run_dir / "alerts.ndjson")
    return alert_intervals(ev.region, ev.t, ev.state, ev.alert_id)


def row(label: str, alerts: Mapping[str, Sequence[AlertInterval]], nights: int) -> dict:
    s = alert_statistics(alerts)
    n, minutes = place_nights(alerts)
    return {
        "source": label, "nights": nights, "alerts": s["alerts"],
        "median_min": s["duration_median_min"], "p90_min": s["duration_p90_min"],
        "restart_share": s["restart_share"],
        "places": n.size / max(nights, 1),
        "total_min": float(minutes.sum()) / max(nights, 1),
        "per_night": float(np.median(n)) if n.size else None,
        "night_min": float(np.median(minutes)) if minutes.size else None,
        "night_p90_min": float(np.percentile(minutes, 90)) if minutes.size else None,
        "_durations": np.array([(a.end - a.start) / 60.0 for v in alerts.values() for a in v if a.end is not None]),
        "_night_minutes": minutes,
    }


def n_nights(alerts: Mapping[str, Sequence[AlertInterval]]) -> int:
    return len({night_of(a.start) for v in alerts.values() for a in v})


def fmt(v, pct: bool = False) -> str:
    if v is None:
        return "-"
    if pct:
        return f"{100 * v:.1f} %"
    return f"{v:,.0f}" if isinstance(v, int) or abs(v) >= 10 else f"{v:.1f}"


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
    rows = [row("official oblast alerts, 2022-24", official.alerts, n_nights(official.alerts))]
    big = in_nights(official.alerts, raid_nights(min_drones=args.raid))
    rows.append(row(f"official, nights of >= {args.raid} Shaheds", big, n_nights(big)))
    for y in sorted({datetime.fromtimestamp(a.start, UTC).year for v in official.alerts.values() for a in v}):
        sel = {p: [a for a in v if datetime.fromtimestamp(a.start, UTC).year == y] for p, v in official.alerts.items()}
        rows.append(row(f"official, {y}", sel, n_nights(sel)))
    if args.runs:
        for d in args.runs:
            rows.append(row(d.name, run_alerts(d), 1))
    else:
        for policy in ("airshield", "naive"):
            runs = sorted(p for p in (OUT / "runs").glob(f"*-alerts-{policy}") if (p / "alerts.ndjson").exists())
            if runs:
                names = ", ".join(p.name.split("-alerts-")[0].rsplit("-", 2)[0] for p in runs)
                rows.append(row(f"{policy} ({names})", pooled(runs), len(runs)))
    heads = ("source", "nights", "alerts", "median min", "p90 min", "restart ≤ 10 min", "places per night",
             "alert-min per night", "alerts per place-night", "min per place-night", "p90")
    print("| " + " | ".join(heads) + " |")
    print("|---" * len(heads) + "|")
    for r in rows:
        print(f"| {r['source']} | {r['nights']:,} | {r['alerts']:,} | {fmt(r['median_min'])} | {fmt(r['p90_min'])} | "
              f"{fmt(r['restart_share'], pct=True)} | {fmt(r['places'])} | {fmt(r['total_min'])} | "
              f"{fmt(r['per_night'])} | {fmt(r['night_min'])} | "
              f"{fmt(r['night_p90_min'])} |")
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
