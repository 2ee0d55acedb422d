"""Warning metrics: lead times, missed entries, on-time share, over-warning.

Definitions from metrics.md ("Warning"); the choices made where it leaves
room are marked **[choice]**. All times are float seconds since the epoch.

Per entry (see :mod:`airshield.evaluation.crossings` for what an entry is):

* **lead** = t_entry − start of the alert covering the region at entry
  (start ≤ t_entry < end); if none covers it, the first alert that starts
  while the threat is still inside (t_entry < start ≤ t_exit) gives a negative
  lead (late). No alert at any time while inside → no lead.
* **oracle lead** = t_entry − first report of the threat. **[choice]** "first
  report" is the earliest ``first_arrival`` over the truth ``detect`` lines:
  the first moment any software could know.
* **detected**: the threat has a first report. Threats never reported are
  ``threats_undetected``; their entries are counted apart
  (``entries_of_undetected_threats``), in neither the warnable nor the
  unwarnable count, and never as missed.
* **warnable**: drones, jets, cruise missiles and every other non-ballistic
  class: oracle lead ≥ 300 s. Ballistic: "all" — **[choice]** all that were
  reported before they left the region (nothing can warn of an entry that is
  over before the first report). Detected entries that are not warnable are
  ``entries_unwarnable``.
* **on time** (warnable entries only): non-ballistic: lead ≥ 300 s.
  Ballistic: an alert covers the region at entry (lead ≥ 0) and it started no
  later than 30 s after the threat's first report (an alert already running
  for another threat qualifies).
* **missed entry**: no lead, and the threat was reported no later than it
  left the region (any entry, warnable or not, of a detected threat).

``lead_time_median_s`` is the median over entries that have a lead.
``lead_ratio_vs_oracle`` **[choice]** = Σ min(max(lead, 0), 900) /
Σ min(oracle, 900) over warnable entries with oracle > 0, a missing lead
counting 0 (a ratio of sums, so long-lead entries weigh more).

Per alert (regions with an alert interval):

* **premature all-clear**: an alert end (all-clear) at time e in a region
  where a detected threat is inside (t_entry ≤ e < t_exit). **[choice]**
  threats no sensor ever reported are left out (the software cannot know of
  them); ``premature_all_clears_incl_undetected`` counts them too.
* **needed time** of a region = union over entries of every true threat
  (detected or not) of [t_entry − 1800, t_exit]: inside, or entering within
  30 min.
* **unneeded alert-minutes** = alert time outside the needed time, minutes;
  an alert still open at the end of the run is clipped at ``t_end``.
* **false alert**: an alert whose interval [start, end] does not meet the
  needed time at all.
* **flapping**: an alert starting ≤ 600 s after that region's previous
  all-clear; ``flapping_fraction`` = flapping alerts / alerts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from shapely.geometry.base import BaseGeometry

from .crossings import DEFAULT_TOL_S, Entry, Samples, find_entries
from .intervals import AlertInterval, closed, intersects, overlap_seconds, union

#: metrics.md: on time = lead ≥ 5 min (drones, cruise missiles).
ON_TIME_LEAD_S = 300.0
#: metrics.md: warnable = oracle lead ≥ 5 min (ballistic: all).
WARNABLE_ORACLE_S = 300.0
#: metrics.md: ballistic on time = alert within 30 s of the first detection.
BALLISTIC_ALERT_WITHIN_S = 30.0
#: metrics.md: lead and oracle lead capped at 15 min for the ratio.
LEAD_CAP_S = 900.0
#: metrics.md: unneeded / false = no threat inside or entering within 30 min.
NEEDED_BEFORE_ENTRY_S = 1800.0
#: metrics.md: flapping = new alert within 10 min of the previous all-clear.
FLAPPING_WITHIN_S = 600.0

BALLISTIC = "ballistic"

AlertLike = AlertInterval | tuple[float, float | None]


@dataclass(frozen=True)
class EntryOutcome:
    """How one entry was warned.

    Attributes:
        entry: the entry.
        cls: true class of the threat.
        first_report: time of the threat's first report, s, or None.
        oracle_lead_s: t_entry − first_report, s, or None if never reported.
        lead_s: achieved lead, s (negative = late), or None (no alert while
            inside, or alerts unknown).
        alert_start: start of the alert that gave ``lead_s``, s, or None.
        detected: the threat was reported at some time.
        warnable: counted in the on-time share.
        on_time: True/False for warnable entries when alerts are known, else None.
        missed: True/False when alerts are known, else None.
    """

    entry: Entry
    cls: str
    first_report: float | None
    oracle_lead_s: float | None
    lead_s: float | None
    alert_start: float | None
    detected: bool
    warnable: bool
    on_time: bool | None
    missed: bool | None


def _as_intervals(region: str, alerts: Sequence[AlertLike]) -> list[AlertInterval]:
    out = [a if isinstance(a, AlertInterval) else AlertInterval(region, a[0], a[1]) for a in alerts]
    return sorted(out, key=lambda a: a.start)


def _lead(e: Entry, alerts: list[AlertInterval]) -> tuple[float | None, float | None]:
    """(lead, alert start) for an entry: covering alert first, else the first late one."""
    for a in alerts:
        if a.start <= e.t_entry and (a.end is None or a.end > e.t_entry):
            return e.t_entry - a.start, a.start
    for a in alerts:
        if e.t_entry < a.start <= e.t_exit:
            return e.t_entry - a.start, a.start
    return None, None


def score_entry(
    e: Entry,
    cls: str,
    first_report: float | None,
    alerts: list[AlertInterval] | None,
) -> EntryOutcome:
    """Lead, oracle lead, warnability, on-time and missed for one entry.

    Args:
        e: the entry.
        cls: the threat's true class.
        first_report: time of its first report, s, or None.
        alerts: the region's alerts sorted by start, or None if alerts are unknown.
    """
    detected = first_report is not None
    oracle = e.t_entry - first_report if detected else None
    if not detected:
        warnable = False
    elif cls == BALLISTIC:
        warnable = first_report <= e.t_exit  # [choice] "ballistic: all" that were reported in time
    else:
        warnable = oracle >= WARNABLE_ORACLE_S
    if alerts is None:
        return EntryOutcome(
            e, cls, first_report, oracle, None, None, detected, warnable, None, None
        )
    lead, start = _lead(e, alerts)
    missed = lead is None and detected and first_report <= e.t_exit
    on_time: bool | None = None
    if warnable:
        if cls == BALLISTIC:
            # metrics.md: only "the alert starts within 30 s of the first detection";
            # a missile may enter before any alert could start, so the lead may be < 0.
            on_time = lead is not None and start <= first_report + BALLISTIC_ALERT_WITHIN_S
        else:
            on_time = lead is not None and lead >= ON_TIME_LEAD_S
    return EntryOutcome(
        e, cls, first_report, oracle, lead, start, detected, warnable, on_time, missed
    )


def _median(values: Sequence[float]) -> float | None:
    return float(np.median(values)) if len(values) else None


def _fraction(num: int, den: int) -> float | None:
    return num / den if den else None


@dataclass(frozen=True)
class WarningResult:
    """Warning metrics.

    Attributes:
        outcomes: one :class:`EntryOutcome` per entry, sorted by (region, threat, t_entry).
        metrics: metrics.md keys (and more); None where not computable.
        per_region: region id → the same counts for that region.
        alerts: region id → its alerts (clipped nowhere; ``end`` None = open).
    """

    outcomes: list[EntryOutcome]
    metrics: dict[str, float | int | None | dict]
    per_region: dict[str, dict[str, float | int | None]]
    alerts: dict[str, list[AlertInterval]] | None


def _needed(outcomes: Sequence[EntryOutcome]) -> np.ndarray:
    """(k, 2) the needed time of one region's entries: inside, or entering within 30 min, s."""
    return union((o.entry.t_entry - NEEDED_BEFORE_ENTRY_S, o.entry.t_exit) for o in outcomes)


def _alert_counts(
    region_alerts: list[AlertInterval],
    outcomes: list[EntryOutcome],
    t_end: float,
) -> dict[str, float | int]:
    """Over-warning and all-clear counts for one region."""
    needed = _needed(outcomes)
    spans = np.asarray([closed(a.start, a.end, t_end) for a in region_alerts]).reshape(-1, 2)
    unneeded_s = float(np.sum((spans[:, 1] - spans[:, 0]) - overlap_seconds(spans, needed)))
    false_alerts = int(np.sum(~intersects(spans, needed)))
    flapping = sum(
        1
        for prev, cur in zip(region_alerts, region_alerts[1:], strict=False)
        if prev.end is not None and cur.start - prev.end <= FLAPPING_WITHIN_S
    )
    premature = premature_all = 0
    for a in region_alerts:
        if a.end is None:
            continue
        inside = [o for o in outcomes if o.entry.t_entry <= a.end < o.entry.t_exit]
        premature += any(o.detected for o in inside)
        premature_all += bool(inside)
    return {
        "alerts": len(region_alerts),
        "false_alerts": false_alerts,
        "flapping_alerts": flapping,
        "unneeded_alert_minutes": unneeded_s / 60.0,
        "premature_all_clears": premature,
        "premature_all_clears_incl_undetected": premature_all,
    }


#: The parts of unneeded alert time (:func:`unneeded_parts`).
UNNEEDED_PARTS = ("false", "early", "after", "between")


def unneeded_parts(result: WarningResult, t_end: float) -> dict[str, float]:
    """Where the unneeded alert-minutes lie, for finding what to improve.

    Every unneeded second of an alert falls in one part:

    * ``false``: in an alert that meets no needed time (a false alert);
    * ``early``: before the alert's first needed time (more than 30 min before an entry);
    * ``after``: after its last needed time (the threats left or ended, the alert ran on);
    * ``between``: in a gap between needed times inside the alert.

    Returns part -> minutes (their sum is ``unneeded_alert_minutes``); zeros when
    the run has no alerts.
    """
    out = dict.fromkeys(UNNEEDED_PARTS, 0.0)
    for r, region_alerts in (result.alerts or {}).items():
        outs = [o for o in result.outcomes if o.entry.region == r]
        needed = _needed(outs)
        for a in region_alerts:
            s, e = closed(a.start, a.end, t_end)
            span = np.array([[s, e]])
            unneeded = (e - s) - float(overlap_seconds(span, needed)[0])
            met = needed[(needed[:, 1] > s) & (needed[:, 0] < e)] if len(needed) else needed
            if len(met) == 0:
                out["false"] += unneeded / 60.0
                continue
            early = max(0.0, min(float(met[0, 0]), e) - s)
            after = max(0.0, e - max(float(met[-1, 1]), s))
            out["early"] += early / 60.0
            out["after"] += after / 60.0
            out["between"] += max(unneeded - early - after, 0.0) / 60.0
    return out


def score_warning(
    entries: Sequence[Entry],
    classes: Mapping[str, str],
    first_report: Mapping[str, float | None],
    alerts: Mapping[str, Sequence[AlertLike]] | None,
    t_end: float,
    region_ids: Sequence[str] | None = None,
) -> WarningResult:
    """Warning metrics from entries and alert intervals.

    Args:
        entries: entries of true threats (not civil aircraft) into regions.
        classes: threat id → true class, for *every* true threat (also those
            with no entry: they count in ``threats`` / ``threats_undetected``).
        first_report: threat id → first report time, s (missing or None =
            never reported).
        alerts: region id → alert intervals (:class:`AlertInterval` or
            ``(start, end or None)``), or None when the run has no alerts file
            (alert metrics are then None).
        t_end: end of the run, s (open alerts are clipped here).
        region_ids: regions to report per region (default: those in entries
            and alerts); alerts in other regions are counted in
            ``alerts_unknown_region`` only.
    """
    known = set(region_ids) if region_ids is not None else None
    regs = sorted(known if known is not None else {e.region for e in entries} | set(alerts or {}))
    by_region: dict[str, list[AlertInterval]] | None = None
    unknown_alerts = 0
    if alerts is not None:
        by_region = {r: _as_intervals(r, alerts.get(r, ())) for r in regs}
        unknown_alerts = sum(len(v) for r, v in alerts.items() if r not in by_region)

    outcomes = [
        score_entry(
            e,
            classes.get(e.threat, "unknown"),
            first_report.get(e.threat),
            None if by_region is None else by_region.get(e.region, []),
        )
        for e in sorted(entries, key=lambda e: (e.region, e.threat, e.t_entry))
    ]
    m = _summarise(outcomes, classes, first_report, by_region, t_end)
    m["alerts_unknown_region"] = unknown_alerts if alerts is not None else None
    per_region = {}
    for r in regs:
        ro = [o for o in outcomes if o.entry.region == r]
        row = _summarise(ro, {}, {}, None if by_region is None else {r: by_region[r]}, t_end)
        per_region[r] = {k: row[k] for k in _PER_REGION_KEYS}
    return WarningResult(outcomes, m, per_region, by_region)


_PER_REGION_KEYS = (
    "entries",
    "entries_unwarnable",
    "missed_entries",
    "on_time_fraction",
    "lead_time_median_s",
    "alerts",
    "false_alerts",
    "flapping_alerts",
    "unneeded_alert_minutes",
    "premature_all_clears",
)


def _summarise(
    outcomes: list[EntryOutcome],
    classes: Mapping[str, str],
    first_report: Mapping[str, float | None],
    by_region: Mapping[str, list[AlertInterval]] | None,
    t_end: float,
) -> dict:
    detected = [o for o in outcomes if o.detected]
    warnable = [o for o in outcomes if o.warnable]
    oracles = [o.oracle_lead_s for o in detected]
    m: dict = {
        "threats": len(classes),
        "threats_undetected": sum(1 for t in classes if first_report.get(t) is None),
        "entries": len(outcomes),
        "entries_of_undetected_threats": len(outcomes) - len(detected),
        "entries_warnable": len(warnable),
        "entries_unwarnable": len(detected) - len(warnable),
        "oracle_lead_median_s": _median(oracles),
    }
    keys = (
        "missed_entries", "on_time_entries", "on_time_fraction", "on_time_fraction_by_class",
        "lead_time_median_s", "lead_ratio_vs_oracle", "premature_all_clears",
        "premature_all_clears_incl_undetected", "unneeded_alert_minutes", "false_alerts",
        "alerts", "flapping_alerts", "flapping_fraction",
    )  # fmt: skip
    if by_region is None:
        return m | dict.fromkeys(keys)

    on_time = sum(1 for o in warnable if o.on_time)
    by_class: dict[str, float | None] = {}
    for cls in sorted({o.cls for o in warnable}):
        wc = [o for o in warnable if o.cls == cls]
        by_class[cls] = _fraction(sum(1 for o in wc if o.on_time), len(wc))
    ratio_set = [o for o in warnable if o.oracle_lead_s > 0]
    achieved = sum(min(max(o.lead_s or 0.0, 0.0), LEAD_CAP_S) for o in ratio_set)
    possible = sum(min(o.oracle_lead_s, LEAD_CAP_S) for o in ratio_set)
    counts = {
        "alerts": 0, "false_alerts": 0, "flapping_alerts": 0, "unneeded_alert_minutes": 0.0,
        "premature_all_clears": 0, "premature_all_clears_incl_undetected": 0,
    }  # fmt: skip
    for r, region_alerts in by_region.items():
        c = _alert_counts(region_alerts, [o for o in outcomes if o.entry.region == r], t_end)
        for k in counts:
            counts[k] += c[k]
    return (
        m
        | counts
        | {
            "missed_entries": sum(1 for o in outcomes if o.missed),
            "on_time_entries": on_time,
            "on_time_fraction": _fraction(on_time, len(warnable)),
            "on_time_fraction_by_class": by_class,
            "lead_time_median_s": _median([o.lead_s for o in outcomes if o.lead_s is not None]),
            "lead_ratio_vs_oracle": achieved / possible if possible > 0 else None,
            "flapping_fraction": _fraction(counts["flapping_alerts"], counts["alerts"]),
        }
    )


def warning_metrics(
    trajectories: Mapping[str, np.ndarray] | Samples,
    regions: Mapping[str, BaseGeometry],
    alerts: Mapping[str, Sequence[AlertLike]] | None,
    first_report: Mapping[str, float | None],
    classes: Mapping[str, str],
    t_end: float,
    tol_s: float = DEFAULT_TOL_S,
) -> WarningResult:
    """Entries of true threats into regions, then :func:`score_warning`.

    Args:
        trajectories: threat id → (k, ≥3) array, columns t (s), x (m), y (m),
            of true threats only (no civil aircraft).
        regions: region id → shapely geometry in the same metric frame.
        alerts: region id → alert intervals, or None if unknown.
        first_report: threat id → first report time, s, or None.
        classes: threat id → true class, for every true threat.
        t_end: end of the run, s.
        tol_s: crossing-time tolerance, s.
    """
    entries = find_entries(trajectories, regions, tol_s)
    return score_warning(entries, classes, first_report, alerts, t_end, sorted(regions))
