"""Today's official alerts, read from their history, and the alert statistics that compare them with ours.

Issue #4 starts from what people live with: "Today's alert systems alarm whole
regions for ~40 minutes, ... flap". This module reads the official air-raid
alert history and measures, on it and on any run's alerts with the same code:

* how long alerts last (median and 90th percentile, minutes);
* how often an alert at a place starts within 10 min of the previous
  all-clear there (domain.md's flapping share: "3.6 % of repeat alerts at the
  same place start within 10 min of the previous all-clear"; the window is
  metrics.md's ``FLAPPING_WITHIN_S``).

Data: ``../shared/data/alerts/official_air_raid_alerts_en_2024-04-23.csv``
(columns ``oblast, raion, hromada, level, started_at, finished_at, source``,
UTC), from the MIT-licensed "ukrainian-air-raid-sirens-dataset" (as
../shared/docs/domain.md cites it). Oblast alerts get their ISO 3166-2 code
(:data:`OFFICIAL_OBLAST_ISO`) so that they line up with our regions; raion and
hromada alerts keep the dataset's names, joined with " / ".

The statistics are for one night against two years, so they say what kind of
alerts each system gives, not which is right: the official alerts answer real
raids, ours a simulated night.
"""

from __future__ import annotations

import csv
import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from airshield.geo.paths import shared_dir

from .intervals import AlertInterval, closed
from .io import EvaluationInputError
from .warning import FLAPPING_WITHIN_S

#: The dataset's oblast names (transliterated adjectives) -> ISO 3166-2:UA.
#: The dataset has no Crimea or Sevastopol (no official alerts there since 2014).
OFFICIAL_OBLAST_ISO: dict[str, str] = {
    "Vinnytska oblast": "UA-05",
    "Volynska oblast": "UA-07",
    "Luhanska oblast": "UA-09",
    "Dnipropetrovska oblast": "UA-12",
    "Donetska oblast": "UA-14",
    "Zhytomyrska oblast": "UA-18",
    "Zakarpatska oblast": "UA-21",
    "Zaporizka oblast": "UA-23",
    "Ivano-Frankivska oblast": "UA-26",
    "Kyiv City": "UA-30",
    "Kyivska oblast": "UA-32",
    "Kirovohradska oblast": "UA-35",
    "Lvivska oblast": "UA-46",
    "Mykolaivska oblast": "UA-48",
    "Odeska oblast": "UA-51",
    "Poltavska oblast": "UA-53",
    "Rivnenska oblast": "UA-56",
    "Sumska oblast": "UA-59",
    "Ternopilska oblast": "UA-61",
    "Kharkivska oblast": "UA-63",
    "Khersonska oblast": "UA-65",
    "Khmelnytska oblast": "UA-68",
    "Cherkaska oblast": "UA-71",
    "Chernihivska oblast": "UA-74",
    "Chernivetska oblast": "UA-77",
}

#: The history's place in the shared folder (../shared).
HISTORY = "data/alerts/official_air_raid_alerts_en_2024-04-23.csv"


def history_path() -> Path:
    """The official alert history in the shared folder (``$AIRSHIELD_SHARED`` overrides it)."""
    return shared_dir() / HISTORY


_COLUMNS = ("oblast", "raion", "hromada", "level", "started_at", "finished_at")
LEVELS = ("oblast", "raion", "hromada")


class _BadLine(ValueError):
    pass


def _time(value: str | None, column: str) -> float:
    if value is None:
        raise _BadLine(f"the line ends before {column}")
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise _BadLine(f"{column} {value!r} is not an ISO 8601 time") from None
    if t.tzinfo is None:
        raise _BadLine(f"{column} {value!r} has no UTC offset")
    return t.timestamp()


@dataclass(frozen=True)
class OfficialAlerts:
    """The official alert history, as read.

    Attributes:
        alerts: place -> its alerts in time order, places sorted. An oblast's
            place is its ISO code; a raion's or hromada's is
            ``oblast / raion[ / hromada]`` as written.
        open_ended: alerts left out because they have no end.
        problems: lines left out, each as ``path:line: what was wrong``.
    """

    alerts: dict[str, list[AlertInterval]]
    open_ended: int
    problems: list[str]


def read_official_alerts(path: str | Path, levels: Sequence[str] = ("oblast",)) -> OfficialAlerts:
    """Read the official alert history, keeping every line that can be read.

    Args:
        path: the CSV (see the module doc).
        levels: which alert levels to keep (``oblast``, ``raion``, ``hromada``).

    A line with an unknown level or oblast, a time that cannot be read or an
    alert that ends before it starts is left out and named in ``problems`` (the
    history has one: a hromada alert with its oblast and raion swapped).

    Raises:
        EvaluationInputError: the file lacks a column.
        ValueError: an unknown level asked for.
    """
    path = Path(path)
    unknown = set(levels) - set(LEVELS)
    if unknown:
        raise ValueError(f"unknown alert levels {sorted(unknown)} (known: {', '.join(LEVELS)})")
    out: dict[str, list[AlertInterval]] = {}
    open_ended = 0
    problems: list[str] = []
    with path.open(newline="", encoding="utf-8") as f:
        rows = csv.DictReader(f)
        missing = [c for c in _COLUMNS if c not in (rows.fieldnames or ())]
        if missing:
            raise EvaluationInputError(f"{path}: missing columns {missing} (expected {', '.join(_COLUMNS)})")
        for line, row in enumerate(rows, start=2):
            try:
                if None in row.values() or None in row:
                    raise _BadLine(f"{len([v for v in row.values() if v is not None])} fields, "
                                   f"{len(rows.fieldnames or ())} expected")
                level = row["level"]
                if level not in LEVELS:
                    raise _BadLine(f"unknown level {level!r} (known: {', '.join(LEVELS)})")
                if level not in levels:
                    continue
                if row["oblast"] not in OFFICIAL_OBLAST_ISO:
                    raise _BadLine(f"unknown oblast {row['oblast']!r}")
                start = _time(row["started_at"], "started_at")
                if not row["finished_at"]:
                    open_ended += 1
                    continue
                end = _time(row["finished_at"], "finished_at")
                if end < start:
                    raise _BadLine(f"the alert ends ({row['finished_at']}) before it starts ({row['started_at']})")
            except _BadLine as e:
                problems.append(f"{path}:{line}: {e}")
                continue
            if level == "oblast":
                place = OFFICIAL_OBLAST_ISO[row["oblast"]]
            else:
                place = " / ".join(p for p in (row["oblast"], row["raion"], row["hromada"]) if p)
            out.setdefault(place, []).append(AlertInterval(place, start, end))
    for alerts in out.values():
        alerts.sort(key=lambda a: (a.start, a.end))
    return OfficialAlerts({p: out[p] for p in sorted(out)}, open_ended, problems)


def alert_statistics(alerts: Mapping[str, Sequence[AlertInterval]], t_end: float | None = None,
                     within_s: float = FLAPPING_WITHIN_S) -> dict[str, float | int | None]:
    """How long alerts last and how often they restart soon after an all-clear.

    Args:
        alerts: place -> its alerts in time order (open ones are clipped at ``t_end``,
            or left out of the durations, not of the counts, when ``t_end`` is None).
        t_end: the end of the run, s.
        within_s: a repeat alert at the same place that starts at most this long
            after the previous all-clear is a restart (flapping).

    Returns:
        ``alerts``; ``duration_median_min`` and ``duration_p90_min`` (None when no
        alert ended); ``repeats`` (alerts that follow an earlier one at the same
        place); ``restarts`` and ``restart_share`` (restarts / repeats, None when
        no repeats).
    """
    durations = []
    repeats = restarts = n = 0
    for place_alerts in alerts.values():
        prev_end: float | None = None
        for i, a in enumerate(place_alerts):
            n += 1
            if a.end is not None or t_end is not None:
                s, e = closed(a.start, a.end, t_end if t_end is not None else a.start)
                durations.append(e - s)
            if i > 0:
                repeats += 1
                restarts += prev_end is not None and a.start - prev_end <= within_s
            prev_end = a.end
    d = np.asarray(durations) / 60.0
    return {
        "alerts": n,
        "duration_median_min": float(np.median(d)) if d.size else None,
        "duration_p90_min": float(np.percentile(d, 90)) if d.size else None,
        "repeats": repeats,
        "restarts": restarts,
        "restart_share": restarts / repeats if repeats else None,
    }



#: Nights run from local noon to local noon; Kyiv is UTC+2 (UTC+3 in summer: an
#: hour either way does not move a night's alerts, which cluster around midnight).
_NOON_UTC_S = 10 * 3600.0


def night_of(t: float) -> int:
    """The night (days since 1970-01-01 of its evening) that time ``t`` (s, UTC) belongs to."""
    return int((t - _NOON_UTC_S) // 86400.0)


def place_nights(alerts: Mapping[str, Sequence[AlertInterval]]) -> tuple[np.ndarray, np.ndarray]:
    """Per place and night with an alert (the alert's start decides its night):
    (alerts that night, minutes in alert that night), both (n_place_nights,).
    Open alerts are left out."""
    count: dict[tuple[str, int], int] = {}
    minutes: dict[tuple[str, int], float] = {}
    for place, place_alerts in alerts.items():
        for a in place_alerts:
            if a.end is None:
                continue
            key = (place, night_of(a.start))
            count[key] = count.get(key, 0) + 1
            minutes[key] = minutes.get(key, 0.0) + (a.end - a.start) / 60.0
    keys = sorted(count)
    return np.array([count[k] for k in keys], dtype=int), np.array([minutes[k] for k in keys])


def in_nights(alerts: Mapping[str, Sequence[AlertInterval]], nights: set[int]) -> dict[str, list[AlertInterval]]:
    """The alerts that start in one of ``nights`` (:func:`night_of`); places without any are left out."""
    out = {p: [a for a in v if night_of(a.start) in nights] for p, v in alerts.items()}
    return {p: v for p, v in out.items() if v}


#: The attack record in the shared folder: "Massive Missile Attacks on Ukraine"
#: (Petro Ivaniuk, Kaggle), the Air Force's daily reports digitised (domain.md).
ATTACKS = "data/attacks/missile_attacks_daily.csv"


def _kyiv_time(value: str) -> float:
    """``time_start`` of the attack record (Kyiv time: ``2023-05-16 21:00``, ``2023-05-16 3:30``,
    ``2023-05-16``), as s UTC taken at UTC+2 (an hour's error does not move a night)."""
    value = value.strip()
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        t = datetime.strptime(value, "%Y-%m-%d %H:%M")  # a one-digit hour
    return t.replace(tzinfo=UTC).timestamp() - 2 * 3600.0


def raid_nights(path: str | Path | None = None, min_drones: int = 40,
                model: str = "Shahed") -> tuple[set[int], list[str]]:
    """Nights (:func:`night_of`) on which at least ``min_drones`` drones whose model
    names ``model`` were launched, by the attack record (``launched`` summed over the
    night's rows of that model); and the rows of that model left out, each as
    ``path:line: what was wrong``.

    Raises:
        EvaluationInputError: the file lacks a column.
    """
    path = Path(path) if path is not None else shared_dir() / ATTACKS
    launched: dict[int, float] = {}
    problems: list[str] = []
    with path.open(newline="", encoding="utf-8") as f:
        rows = csv.DictReader(f)
        missing = [c for c in ("time_start", "model", "launched") if c not in (rows.fieldnames or ())]
        if missing:
            raise EvaluationInputError(f"{path}: missing columns {missing}")
        for line, row in enumerate(rows, start=2):
            if model not in (row["model"] or ""):
                continue
            try:
                utc = _kyiv_time(row["time_start"] or "")
                n = float(row["launched"] or "nan")
            except ValueError:
                problems.append(f"{path}:{line}: time_start {row['time_start']!r} or launched "
                                f"{row['launched']!r} cannot be read")
                continue
            if math.isnan(n):
                continue  # the record leaves the count out on some days: no size to judge by
            night = night_of(utc)
            launched[night] = launched.get(night, 0.0) + n
    return {k for k, n in launched.items() if n >= min_drones}, problems



def summary(alerts: Mapping[str, Sequence[AlertInterval]], t_end: float | None = None,
            nights: int | None = None) -> dict[str, float | int | None]:
    """What kind of alerts a source gives: :func:`alert_statistics` and, per night,
    the places alerted and their minutes in alert (all values per :data:`SUMMARY_COLUMNS`).

    Open alerts are clipped at ``t_end`` (a run's end); when it is None they count as
    alerts but are left out of the durations and the place-nights.
    ``nights``: how many nights the alerts cover (default: the distinct nights their
    starts fall in; give it for runs of one date pooled, their places kept apart).
    """
    if t_end is not None:
        alerts = {p: [AlertInterval(a.region, *closed(a.start, a.end, t_end), a.alert_id) for a in v]
                  for p, v in alerts.items()}
    s = alert_statistics(alerts)
    n, minutes = place_nights(alerts)
    if nights is None:
        nights = len({night_of(a.start) for v in alerts.values() for a in v})
    return {
        "nights": nights, "alerts": s["alerts"], "duration_median_min": s["duration_median_min"],
        "duration_p90_min": s["duration_p90_min"], "restart_share": s["restart_share"],
        "places_per_night": n.size / nights if nights else None,
        "alert_min_per_night": float(minutes.sum()) / nights if nights else None,
        "alerts_per_place_night": float(np.median(n)) if n.size else None,
        "min_per_place_night": float(np.median(minutes)) if minutes.size else None,
        "min_per_place_night_p90": float(np.percentile(minutes, 90)) if minutes.size else None,
    }


#: (key of :func:`summary`, column header, unit: "%" for shares, "" otherwise).
SUMMARY_COLUMNS = (
    ("nights", "nights", ""), ("alerts", "alerts", ""), ("duration_median_min", "alert, median min", ""),
    ("duration_p90_min", "alert, p90 min", ""), ("restart_share", "restart ≤ 10 min", "%"),
    ("places_per_night", "places per night", ""), ("alert_min_per_night", "alert-min per night", ""),
    ("alerts_per_place_night", "alerts per place-night, median", ""),
    ("min_per_place_night", "min per place-night, median", ""), ("min_per_place_night_p90", "… p90", ""),
)


def summary_cell(value: float | int | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "%":
        return f"{100 * value:.1f} %"
    return f"{value:,.0f}" if isinstance(value, int) or abs(value) >= 10 else f"{value:.1f}"


def summary_table(rows: Sequence[tuple[str, Mapping]]) -> list[str]:
    """Markdown table lines: one row per (label, :func:`summary`)."""
    lines = ["| source | " + " | ".join(h for _, h, _ in SUMMARY_COLUMNS) + " |",
             "|---" * (len(SUMMARY_COLUMNS) + 1) + "|"]
    for label, s in rows:
        lines.append(f"| {label} | " + " | ".join(summary_cell(s[k], u) for k, _, u in SUMMARY_COLUMNS) + " |")
    return lines


def official_summaries(min_drones: int = 40) -> list[tuple[str, dict]]:
    """(label, :func:`summary`) of the official oblast alerts: all of them, and those of the
    nights with at least ``min_drones`` Shaheds launched (:func:`raid_nights`). Read once per
    process and files (the report and the demo's last line both ask)."""
    return _official_summaries(history_path(), shared_dir() / ATTACKS, min_drones)


@functools.lru_cache(maxsize=4)
def _official_summaries(history: Path, attacks: Path, min_drones: int) -> list[tuple[str, dict]]:
    official = read_official_alerts(history).alerts
    big = in_nights(official, raid_nights(attacks, min_drones=min_drones)[0])
    return [("official oblast alerts, 2022-24", summary(official)),
            (f"official, nights of ≥ {min_drones} Shaheds", summary(big))]
