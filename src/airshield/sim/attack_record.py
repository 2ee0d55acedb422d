"""Scenarios of real nights, from the attack record.

``airshield simulate attack:2026-02-21`` simulates the night the Ukrainian Air
Force reported for that date: how many of each model were launched, from where,
over which hours, and what share did not reach its target, as digitised in the
attack dataset (../shared/data/attacks/missile_attacks_daily.csv, "Massive
Missile Attacks on Ukraine", Petro Ivaniuk, Kaggle). The sensors are the typical
night's (``night-40.toml``); routes, targets, groups and the moments of launch
within the reported hours are the simulator's. The real night gives the raid's
size, mix and timing, not its tracks.

The night of date D holds the rows whose ``time_start`` (Kyiv time) falls between
D 12:00 and D+1 12:00. Rows without a time of day are daily tallies of front-line
UAVs (Orlan, ZALA, Lancet, "Unknown UAV") or of single missiles, and are left out,
as are models the simulator does not have (Kh-59/69, Kh-22, Kh-31, Zircon, Oniks):
:func:`night_scenario` says which, so a user knows what the night lacks.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from airshield.geo.paths import shared_dir

#: The Air Force reports' times are Kyiv time (named "Europe/Kiev" in time-zone data before 2022b).
try:
    KYIV = ZoneInfo("Europe/Kyiv")
except ZoneInfoNotFoundError:  # pragma: no cover (old tzdata)
    KYIV = ZoneInfo("Europe/Kiev")
ATTRIBUTION = ('attack dataset "Massive Missile Attacks on Ukraine" (Petro Ivaniuk, Kaggle), '
               "from the Ukrainian Air Force's reports")
PREFIX = "attack:"

#: Report model -> simulator model. A row naming several ("X-101/X-555 and Kalibr and
#: X-59/X-69") is split evenly between them; the share of a model the simulator lacks is
#: left out and said.
MODELS: dict[str, str] = {
    "Shahed-136/131": "shahed",
    "X-101/X-555": "kh101",
    "Kalibr": "kalibr",
    "Iskander-K": "iskander-k",
    # Ballistic and aeroballistic: the simulator's one ballistic model. S-300/S-400 missiles
    # fired at ground targets fly a ballistic path too (domain.md).
    "Iskander-M": "iskander",
    "Iskander-M/KN-23": "iskander",
    "KN-23": "iskander",
    "Ballistic Missile": "iskander",
    "X-47 Kinzhal": "iskander",
    "C-300": "iskander",
    "C-400": "iskander",
    "C-300/C-400": "iskander",
}


def _model_shares(name: str, launched: int) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(simulator model, count) of a row's models, and (report model, count) of those left out."""
    parts = [p.strip() for p in (name or "").split(" and ") if p.strip()] or [name]
    counts = _split(launched, len(parts))
    flown: dict[str, int] = {}
    left: list[tuple[str, int]] = []
    for part, n in zip(parts, counts, strict=True):
        if n <= 0:
            continue
        if part in MODELS:
            flown[MODELS[part]] = flown.get(MODELS[part], 0) + n
        elif n > 0:
            left.append((part, n))
    return list(flown.items()), left


#: Report launch place (lower case) -> the simulator's launch areas (sim/places.py).
PLACES: dict[str, tuple[str, ...]] = {
    "primorsko-akhtarsk": ("primorsko-akhtarsk",),
    "kursk oblast": ("kursk",),
    "bryansk oblast": ("bryansk",),
    "oryol oblast": ("oryol",),
    "millerovo": ("millerovo",),
    "shatalovo": ("shatalovo",),
    "navlya": ("navlya",),
    "hvardiiske": ("hvardiiske",),
    "chauda": ("chauda",),
    "donetsk oblast": ("donetsk",),
    "yeysk": ("yeysk",),
    "volgodonsk": ("volgodonsk",),
    "black sea": ("black-sea",),
    "belgorod oblast": ("belgorod",),
    "voronezh oblast": ("voronezh",),
    "dzhankoi": ("dzhankoi",),
    "crimea": ("hvardiiske", "chauda", "dzhankoi"),
    "rostov oblast": ("millerovo", "volgodonsk"),
}

#: Where a model comes from when the report names no place the simulator knows.
DEFAULT_AREAS: dict[str, tuple[str, ...]] = {
    "shahed": ("kursk", "primorsko-akhtarsk", "hvardiiske"),
    "gerbera": ("kursk", "primorsko-akhtarsk", "hvardiiske"),
    "geran3": ("kursk", "primorsko-akhtarsk"),
    "kh101": ("volgodonsk",),
    "kalibr": ("black-sea",),
    "iskander-k": ("kursk", "belgorod"),
    "iskander": ("belgorod", "voronezh", "dzhankoi"),
}
#: Areas fit for a model: air- and sea-launched cruise missiles come from the bombers' and
#: ships' areas; nothing else is launched there.
ONLY_AREAS = {"kh101": {"volgodonsk"}, "kalibr": {"black-sea"}}
NOT_AREAS = {"volgodonsk", "black-sea"}

#: Groups flying one route as a column, per model, as in the built-in nights.
GROUPS = {"shahed": (2, 6), "gerbera": (2, 5), "geran3": (1, 3), "kh101": (1, 4), "kalibr": (1, 4),
          "iskander-k": (1, 3), "iskander": (1, 2)}

#: The cities a real night is aimed at (the simulator picks among them per group) [est]:
#: the oblast centres and industrial cities most often named in the reports.
TARGETS = ["Kyiv", "Kharkiv", "Odesa", "Dnipro", "Zaporizhzhia", "Mykolaiv", "Poltava", "Sumy",
           "Chernihiv", "Kryvyi Rih", "Kremenchuk", "Lviv", "Zhytomyr", "Khmelnytskyi", "Vinnytsia"]


def record_path() -> Path:
    """The attack dataset in the shared folder (``$AIRSHIELD_SHARED`` overrides it)."""
    return shared_dir() / "data" / "attacks" / "missile_attacks_daily.csv"


@dataclass
class Night:
    """One reported night: its rows (Kyiv time) and what was left out, in words."""

    date: dt.date
    rows: list[dict[str, str]] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)


def _num(v: str) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return 0.0
    return x if math.isfinite(x) and x > 0 else 0.0


def _time(v: str) -> dt.datetime | None:
    """A row's time (Kyiv), or None when it has no time of day."""
    try:
        t = dt.datetime.strptime(v.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        return None
    return t.replace(tzinfo=KYIV)


def read_night(date: dt.date, path: Path | None = None) -> Night:
    """The rows of the night of ``date`` (12:00 that day to 12:00 the next, Kyiv time)."""
    path = path or record_path()
    if not path.is_file():
        raise FileNotFoundError(f"the attack record is not at {path} (set AIRSHIELD_SHARED to the shared folder)")
    lo = dt.datetime.combine(date, dt.time(12), KYIV)
    hi = lo + dt.timedelta(days=1)
    night = Night(date)
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            t = _time(row.get("time_start", ""))
            day = row.get("time_start", "")[:10]
            if t is None:
                if day == date.isoformat() and _num(row.get("launched", "")) > 0:
                    night.left_out.append(f"{row['model']}: {_num(row['launched']):g} (a daily tally, no time of day)")
                continue
            if lo <= t < hi:
                night.rows.append(row)
    return night


def nights_with_data(path: Path | None = None) -> list[dt.date]:
    """Dates of the nights with at least one timed row the simulator can fly, newest first."""
    out = set()
    with (path or record_path()).open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            t = _time(row.get("time_start", ""))
            launched = round(_num(row.get("launched", "")))
            if t is not None and launched > 0 and _model_shares(row.get("model", ""), launched)[0]:
                out.add((t - dt.timedelta(hours=12)).date())
    return sorted(out, reverse=True)


def _no_night(date: dt.date, path: Path | None) -> str:
    """Why ``date`` has no night to fly, and which nights nearest to it have one.

    A raid reported "on" a date is often the night before it (the drones fly in
    the evening, the missiles before dawn), so the night into ``date``'s morning is
    named first when it has data.
    """
    have = nights_with_data(path)
    msg = f"the attack record has no night on {date.isoformat()} with drones or missiles the simulator can fly"
    before = date - dt.timedelta(days=1)
    if before in have:
        msg += (f"; its morning belongs to the night of {before.isoformat()} (a night runs from 12:00 to "
                f"12:00 the next day, Kyiv time): attack:{before.isoformat()}")
    near = sorted(have, key=lambda d: (abs((d - date).days), d))[:5]
    return msg + f"; the nearest nights with data are {', '.join(d.isoformat() for d in sorted(near))}"


def _place(name: str) -> tuple[str, ...] | None:
    """The launch areas of one place name (lower case), or None if the simulator has none."""
    return PLACES.get(name) or next((v for k, v in PLACES.items() if k in name), None)


def _areas(place: str, model: str) -> tuple[list[str], list[str]]:
    """(launch areas, place names not known) of a report's launch place for ``model``."""
    only = ONLY_AREAS.get(model)
    areas: list[str] = []
    unknown: list[str] = []
    for part in (place or "").split(" and "):
        # "Chauda, Crimea": the first field the simulator knows names the place; the rest
        # qualifies it (Crimea alone stands for its three launch sites).
        fields = [f.strip().lower() for f in part.split(",") if f.strip()]
        if not fields:
            continue
        ids = next((found for f in fields if (found := _place(f)) is not None), None)
        if ids is None:
            unknown.append(part.strip())
            continue
        for a in ids:
            if (a in only if only is not None else a not in NOT_AREAS) and a not in areas:
                areas.append(a)
    return (areas or list(DEFAULT_AREAS[model])), unknown


def night_scenario(date: dt.date, path: Path | None = None) -> tuple[str, list[str]]:
    """The scenario TOML of the night of ``date`` and notes on what it leaves out.

    Raises LookupError when the record holds no night the simulator can fly on that date.
    """
    night = read_night(date, path)
    waves: list[dict] = []
    notes = list(night.left_out)
    starts = [_time(r["time_start"]) for r in night.rows]
    ends = [_time(r["time_end"]) or _time(r["time_start"]) for r in night.rows]
    usable = []
    for r, s, e in zip(night.rows, starts, ends, strict=True):
        flown, left = _model_shares(r["model"], round(_num(r["launched"])))
        for part, n in left:
            share = "" if part == r["model"] else f" of {r['model']} {_num(r['launched']):g}"
            notes.append(f"{part}: {n}{share} (no such model in the simulator)")
        if flown:
            usable.append((r, s, e, flown))
    if not usable:
        raise LookupError(_no_night(date, path))
    t0 = min(u[1] for u in usable)
    t_end = max(max(u[1], u[2]) for u in usable)
    for r, s, e, flown in usable:
        launched = _num(r["launched"])  # > 0: a row without any is not usable
        lost = min(1.0, (_num(r["destroyed"]) + _num(r.get("not_reach_goal", ""))) / launched)
        # (In UTC: Kyiv times a daylight-saving change apart subtract wrongly.)
        window = max((e.astimezone(dt.UTC) - s.astimezone(dt.UTC)).total_seconds() / 60.0, 0.0)
        start_min = (s.astimezone(dt.UTC) - t0.astimezone(dt.UTC)).total_seconds() / 60.0
        if [m for m, _ in flown] == ["shahed"]:
            # `is_shahed`: the real Shaheds among the drones launched; the rest are decoys
            # (Gerbera and others), which the simulator flies as `gerbera`. `turbojet`: jet drones.
            drones = flown[0][1]
            jets = min(round(_num(r.get("turbojet", ""))), drones)
            real = min(round(_num(r.get("is_shahed", ""))) or drones - jets, drones - jets)
            flown = [("shahed", real), ("gerbera", drones - jets - real), ("geran3", jets)]
        for model, n in flown:
            if n <= 0:
                continue
            areas, unknown = _areas(r.get("launch_place", ""), model)
            if unknown:
                notes.append(f"{r['model']}: launch place {', '.join(unknown)} not in the simulator; "
                             f"flown from {', '.join(areas)}")
            # Drones are launched over the first half of the reported hours (they fly 3-8 h);
            # missiles over the reported window.
            dur = min(max(window / 2.0, 60.0), 480.0) if model in ("shahed", "gerbera", "geran3") else max(window, 10.0)
            waves.append({"model": model, "count": int(n), "launch_areas": areas, "start_min": round(start_min, 1),
                          "duration_min": round(dur, 1), "group_size": list(GROUPS[model]),
                          "shot_down": round(lost, 3), "row": f"{r['time_start']} to {r['time_end']}: "
                          f"{r['model']} {launched:g} launched, {_num(r['destroyed']):g} destroyed, "
                          f"from {r.get('launch_place') or 'an unnamed place'}"})
    hours = (t_end.astimezone(dt.UTC) - t0.astimezone(dt.UTC)).total_seconds() / 3600.0
    duration_h = min(48.0, max(6.0, math.ceil(hours + 3.0)))  # the last drones still fly after the report ends
    return _toml(date, t0, duration_h, waves), list(dict.fromkeys(notes))  # (a split row notes once)


def _split(n: int, k: int) -> list[int]:
    """``n`` split into ``k`` near-equal parts, the first ones larger."""
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def _sensors_toml() -> str:
    """The typical night's sensor sections (night-40.toml), verbatim."""
    from importlib import resources

    text = (resources.files("airshield.sim") / "scenarios" / "night-40.toml").read_text(encoding="utf-8")
    return text[text.index("[sensors."):]


def _toml(date: dt.date, t0: dt.datetime, duration_h: float, waves: list[dict]) -> str:
    def q(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    def arr(xs) -> str:
        return "[" + ", ".join(q(x) if isinstance(x, str) else f"{x:g}" for x in xs) + "]"

    n = sum(w["count"] for w in waves)
    lines = [
        f"# The night of {date.isoformat()} as the Ukrainian Air Force reported it: {n} drones and",
        "# missiles the simulator can fly, with their launch areas, hours and the share that did",
        f"# not reach its target. Source: {ATTRIBUTION}.",
        "# Routes, targets, groups and launch moments are simulated; the sensors are night-40's.",
        f"name = {q('attack-' + date.isoformat())}",
        f"description = {q(f'The reported night of {date.isoformat()}: {n} drones and missiles')}",
        f"start = {t0.astimezone(dt.UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}",
        f"duration_h = {duration_h:g}",
        f"seed = {int(date.strftime('%Y%m%d'))}",
        'regions = "default"',
        f"targets = {arr(TARGETS)}",
    ]
    for w in waves:
        lines += ["", f"# {w['row']}", "[[waves]]", f"model = {q(w['model'])}", f"count = {w['count']}",
                  f"launch_areas = {arr(w['launch_areas'])}", f"start_min = {w['start_min']:g}",
                  f"duration_min = {w['duration_min']:g}", f"group_size = {arr(w['group_size'])}",
                  f"shot_down = {w['shot_down']:g}"]
    return "\n".join(lines) + "\n\n" + _sensors_toml()
