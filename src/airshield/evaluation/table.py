"""The metrics as a rich table, for ``airshield evaluate`` without ``--json``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

#: (section, key, label, unit) in display order; keys from metrics.md.
ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("Scenario", "threats", "true threats", ""),
    ("Scenario", "civil_aircraft", "civil aircraft", ""),
    ("Scenario", "threats_undetected", "threats no sensor reported", ""),
    ("Scenario", "regions", "regions", ""),
    ("Scenario", "evaluation_times", "evaluation times", ""),
    ("Tracking", "gospa_mean_m", "GOSPA, mean over time", "m"),
    ("Tracking", "gospa_per_threat_m", "GOSPA per true threat present", "m"),
    ("Tracking", "gospa_localisation_m", "  localisation part", "m"),
    ("Tracking", "gospa_missed_mean", "  missed threats (mean)", ""),
    ("Tracking", "gospa_false_mean", "  false tracks (mean)", ""),
    ("Tracking", "position_rmse_m", "position RMSE", "m"),
    ("Tracking", "track_ids_per_threat", "track ids per threat", ""),
    ("Tracking", "id_switches", "id switches", ""),
    ("Tracking", "false_confirmed_tracks", "false confirmed tracks", ""),
    ("Tracking", "civil_tracks_as_threat", "civil aircraft shown as threat", ""),
    ("Tracking", "time_to_confirm_p95_s", "time to confirm, p95", "s"),
    ("Tracking", "class_accuracy", "class accuracy", "%"),
    ("Warning", "entries", "region entries", ""),
    ("Warning", "entries_unwarnable", "  unwarnable (oracle < 5 min)", ""),
    ("Warning", "entries_of_undetected_threats", "  of undetected threats", ""),
    ("Warning", "missed_entries", "missed entries", ""),
    ("Warning", "on_time_fraction", "on time (of warnable)", "%"),
    ("Warning", "lead_time_median_s", "lead time, median", "s"),
    ("Warning", "oracle_lead_median_s", "oracle lead, median", "s"),
    ("Warning", "lead_ratio_vs_oracle", "lead / oracle (capped 15 min)", "%"),
    ("Warning", "premature_all_clears", "premature all-clears", ""),
    ("Over-warning", "alerts", "alerts", ""),
    ("Over-warning", "false_alerts", "false alerts", ""),
    ("Over-warning", "unneeded_alert_minutes", "unneeded alert-minutes", "min"),
    ("Over-warning", "flapping_fraction", "flapping alerts", "%"),
    ("Over-warning", "alert_duration_median_min", "alert duration, median", "min"),
    ("Over-warning", "alert_minutes_per_region_night", "minutes in alert per alerted region-night, median", "min"),
)


def format_value(value: Any, unit: str = "") -> str:
    """A metric value for display: None → "—", shares as percent."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if unit == "%":
        return f"{100.0 * value:.1f} %"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
        return f"{text} {unit}".rstrip()
    return str(value)


def metrics_table(metrics: Mapping[str, Any], title: str | None = None) -> Table:
    """A rich Table of the metrics; skipped parts are named in the caption."""
    name = metrics.get("scenario") or ""
    table = Table(title=title or f"airshield evaluation {name}".rstrip(), show_lines=False)
    table.add_column("section", style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    last = None
    for section, key, label, unit in ROWS:
        if key not in metrics:
            continue
        table.add_row(section if section != last else "", label, format_value(metrics[key], unit))
        last = section
    skipped = metrics.get("skipped") or {}
    if skipped:
        table.caption = "skipped: " + "; ".join(f"{k}: {v}" for k, v in sorted(skipped.items()))
    return table


def print_metrics(metrics: Mapping[str, Any], console: Console | None = None) -> None:
    """Print :func:`metrics_table` to a console (default: stdout)."""
    (console or Console()).print(metrics_table(metrics))
