"""Scenario files (TOML): schema, loading and errors that name the line and field.

A scenario says *what* happens in a night (waves of threats from launch areas
towards targets) and *who* is listening (acoustic nodes, radars, observers,
ADS-B); the seed makes it one deterministic night. See
``src/airshield/sim/scenarios/*.toml`` for the built-in ones and
docs/scenarios.md for every key.
"""

from __future__ import annotations

import re
import tomllib
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from airshield.model import Lat, Lon, SigmaDeg

Model = Literal["shahed", "gerbera", "geran3", "kh101", "kalibr", "iskander-k", "iskander"]
Positive = Annotated[float, msgspec.Meta(gt=0.0)]
NonNeg = Annotated[float, msgspec.Meta(ge=0.0)]
Fraction = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]


class _S(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    pass


class LaunchArea(_S):
    """A launch area (outside the theatre's regions), ``radius_km`` of scatter."""

    id: str
    lat: Lat
    lon: Lon
    name: str = ""
    radius_km: NonNeg = 15.0


class Wave(_S):
    """A wave of one threat model.

    ``count`` objects launched from ``launch_areas`` (round robin over groups)
    between ``start_min`` and ``start_min + duration_min`` after the scenario
    start, in groups of ``group_size`` flying a shared route in a column
    (``spacing_s`` apart), towards ``targets`` (city names; default: the
    scenario's targets). ``shot_down`` is the share destroyed en route.
    """

    model: Model
    count: Annotated[int, msgspec.Meta(ge=1, le=5000)]
    launch_areas: Annotated[list[str], msgspec.Meta(min_length=1)]
    start_min: NonNeg = 0.0
    duration_min: NonNeg = 60.0
    group_size: tuple[int, int] = (1, 1)
    spacing_s: tuple[float, float] = (30.0, 90.0)
    targets: list[str] | None = None
    shot_down: Fraction = 0.0


class Acoustic(_S):
    """Acoustic node network (domain.md, Sensors; values marked [est] there).

    Nodes are placed uniformly at random over ``regions`` (default: the whole
    theatre) at ``km2_per_node``, or read from ``file`` (NDJSON lines with
    ``id``, ``lat``, ``lon`` and optionally ``array``).
    """

    # At least 1 km² a node: ~600,000 nodes over the whole country, 14× the ~43 km² of
    # domain.md's network; a smaller figure by mistake (0.001) would be 600 million nodes.
    km2_per_node: Annotated[float, msgspec.Meta(ge=1.0)] = 43.0
    file: str | None = None
    regions: list[str] | None = None
    array_fraction: Fraction = 0.05
    sigma_bearing_deg: tuple[float, float] = (3.0, 8.0)
    range_50_m: Positive = 2000.0
    range_width_m: Positive = 346.0
    pd_max: Fraction = 0.95
    loud_range_factor: Positive = 1.75
    city_range_factor: Positive = 0.5
    blind_above_m: tuple[float, float] = (1500.0, 2000.0)
    # At most 100 per node-hour (500x domain.md's 0.2): more is no network, and a typo (1e9)
    # would ask for terabytes.
    false_alarms_per_node_hour: Annotated[float, msgspec.Meta(ge=0.0, le=100.0)] = 0.2
    report_period_s: Positive = 5.0
    latency_s: tuple[float, float] = (1.0, 5.0)


class RadarSite(_S):
    id: str
    lat: Lat
    lon: Lon
    height_m: NonNeg = 20.0


class Radar(_S):
    """Radars for low-altitude targets (domain.md: horizon, 10-25 km for a Shahed)."""

    sites: list[RadarSite] = []
    period_s: Positive = 2.0
    # The report format's bounds (model.py): a plot the tracker would refuse is never made.
    sigma_range_m: Annotated[float, msgspec.Meta(ge=1.0, le=100_000.0)] = 20.0
    sigma_azimuth_deg: SigmaDeg = 0.7
    sigma_elevation_deg: SigmaDeg = 1.0
    sigma_radial_speed_mps: Annotated[float, msgspec.Meta(ge=0.01, le=1_000.0)] = 1.0
    pd: Fraction = 0.9
    range_drone_m: Positive = 20_000.0
    range_jet_m: Positive = 35_000.0
    range_cruise_m: Positive = 40_000.0
    range_ballistic_m: Positive = 100_000.0
    range_aircraft_m: Positive = 100_000.0
    false_plots_per_scan: Annotated[float, msgspec.Meta(ge=0.0, le=1000.0)] = 0.1
    latency_s: tuple[float, float] = (0.2, 1.0)


class Observers(_S):
    """Citizen observers (domain.md: bearing sigma ~15 deg, latency 10-60 s, 20-30 % misclassified)."""

    count: Annotated[int, msgspec.Meta(ge=0, le=10_000_000)] = 0
    near_cities: Fraction = 0.7
    hear_range_m: Positive = 3000.0
    report_p: Fraction = 0.3
    duplicates_mean: NonNeg = 0.5
    sigma_bearing_deg: SigmaDeg = 15.0
    misclassified: Fraction = 0.25
    latency_s: tuple[float, float] = (10.0, 60.0)
    false_reports_per_observer_hour: Annotated[float, msgspec.Meta(ge=0.0, le=100.0)] = 0.0005


class Adsb(_S):
    """Civil traffic broadcasting ADS-B, received by a ground network."""

    flights: Annotated[int, msgspec.Meta(ge=0)] = 0
    period_s: Positive = 5.0
    sigma_m: Positive = 30.0
    latency_s: tuple[float, float] = (0.5, 2.0)
    # Default: a corridor over the western regions (Warsaw area -> Chisinau area), so
    # that civil flights cross regions under alert and must still never alert.
    corridor: tuple[tuple[float, float], ...] = ((51.8, 22.8), (47.0, 28.9))
    corridor_width_km: Positive = 100.0


class Partner(_S):
    """A partner system sending located targets (position reports) in its coverage."""

    sites: list[RadarSite] = []
    range_m: Positive = 150_000.0
    period_s: Positive = 20.0
    sigma_m: Positive = 500.0
    pd: Fraction = 0.8
    latency_s: tuple[float, float] = (2.0, 10.0)


class Sensors(_S):
    acoustic: Acoustic | None = None
    radar: Radar | None = None
    observers: Observers | None = None
    adsb: Adsb | None = None
    partner: Partner | None = None


class Scenario(_S):
    """A whole scenario file."""

    name: str
    start: datetime
    duration_h: Annotated[float, msgspec.Meta(gt=0.0, le=48.0)]
    waves: list[Wave]
    description: str = ""
    seed: Annotated[int, msgspec.Meta(ge=0)] = 1
    regions: str = "default"
    truth_step_s: Positive = 10.0
    targets: list[str] = []
    launch_areas: list[LaunchArea] = []
    sensors: Sensors = Sensors()


class ScenarioError(ValueError):
    """A scenario file is malformed; the message names the file, line and field."""

    def __init__(self, source: str, line: int | None, field: str | None, reason: str):
        where = f"{source}:{line}" if line else source
        what = f" field `{field}`:" if field else ""
        super().__init__(f"{where}:{what} {reason}")
        self.source, self.line, self.field, self.reason = source, line, field, reason


BUILTIN_DIR = "scenarios"


def builtin_names() -> list[str]:
    """Names of the built-in scenarios."""
    root = resources.files("airshield.sim") / BUILTIN_DIR
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml"))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a built-in scenario by name, a TOML file by path, or a reported night from the
    attack record as ``attack:YYYY-MM-DD`` (:mod:`airshield.sim.attack_record`)."""
    if isinstance(name_or_path, str) and name_or_path.startswith("attack:"):
        return parse_scenario(attack_scenario_text(name_or_path)[0], name_or_path)
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.is_file():
        if not p.is_file():
            raise ScenarioError(str(p), None, None, "no such file")
        try:
            text = p.read_text(encoding="utf-8-sig")  # a byte-order mark is no part of the TOML
        except UnicodeDecodeError as exc:
            raise ScenarioError(str(p), None, None, f"not UTF-8 text (byte {exc.start}): is it a scenario "
                                "TOML file?") from None
        except OSError as exc:
            raise ScenarioError(str(p), None, None, exc.strerror or str(exc)) from None
        return parse_scenario(text, str(p))
    root = resources.files("airshield.sim") / BUILTIN_DIR / f"{name_or_path}.toml"
    if not root.is_file():
        raise ScenarioError(
            str(name_or_path), None, None,
            f"no such scenario; built-in ones are {', '.join(builtin_names())}, or give a .toml path",
        )
    return parse_scenario(root.read_text(encoding="utf-8"), f"{name_or_path}.toml")


def attack_scenario_text(name: str) -> tuple[str, list[str]]:
    """The TOML of ``attack:YYYY-MM-DD`` and notes on what the record's night holds that the
    simulator leaves out; raises :class:`ScenarioError` for a bad date or a night without data."""
    import datetime as dt

    from airshield.sim import attack_record

    day = name.removeprefix("attack:")
    try:
        date = dt.date.fromisoformat(day)
    except ValueError:
        raise ScenarioError(name, None, None, f"{day!r} is not a date; give attack:YYYY-MM-DD") from None
    try:
        return attack_record.night_scenario(date)
    except (LookupError, OSError) as exc:
        raise ScenarioError(name, None, None, str(exc)) from None


_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Parse and validate scenario TOML; raises :class:`ScenarioError`."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = _TOML_POS.search(msg)
        raise ScenarioError(source, int(m.group(1)) if m else None, None,
                            f"not valid TOML: {_TOML_POS.sub('', msg).strip()}") from None
    try:
        sc = msgspec.convert(raw, Scenario, strict=False)
    except msgspec.ValidationError as exc:
        msg = str(exc)
        path = _path_of(msg)
        line = locate_line(text, path) if path else None
        reason = re.sub(r" - at `[^`]*`$", "", msg)
        m = re.search(r"unknown field `([^`]*)`", msg)
        if m:
            path = (path or []) + [m.group(1)]
            line = locate_line(text, path)
            reason = "unknown key (a typo?)"
        raise ScenarioError(source, line, _dotted(path) if path else None, reason) from None
    _check_references(sc, text, source)
    return sc


def _path_of(msg: str) -> list[str | int] | None:
    m = re.search(r"`\$((?:\.[A-Za-z_0-9]+|\[\d+\])*)`", msg)
    if not m:
        return None
    return [int(a) if a else b for a, b in re.findall(r"\[(\d+)\]|\.([A-Za-z_0-9]+)", m.group(1))]


def _dotted(path: list[str | int]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def locate_line(text: str, path: list[str | int]) -> int | None:
    """1-based line of the key at ``path`` (e.g. ["waves", 2, "count"]) in TOML text.

    A small scanner for the TOML subset scenarios use (tables, arrays of
    tables, ``key = value``); it falls back to the closest enclosing table.
    """
    names = [p for p in path if isinstance(p, str)]
    # Walk the lines, tracking the current table path with array indices.
    counters: dict[tuple, int] = {}
    current: list[str | int] = []
    best: int | None = None
    header = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?")
    keyline = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")
    for n, line in enumerate(text.splitlines(), start=1):
        m = header.match(line)
        if m:
            parts = m.group(2).split(".")
            cur: list[str | int] = []
            for part in parts[:-1]:
                cur.append(part)
                k = tuple(cur)
                if k in counters:
                    cur.append(counters[k])
            cur.append(parts[-1])
            if m.group(1) == "[[":
                k = tuple(cur)
                counters[k] = counters.get(k, -1) + 1
                cur.append(counters[k])
            current = cur
            if current == path[: len(current)] and len(current) <= len(path):
                best = n
            continue
        m = keyline.match(line)
        if m:
            full = current + [m.group(1)]
            if full == path[: len(full)]:
                return n
    if best is None and names:
        for n, line in enumerate(text.splitlines(), start=1):
            if re.match(rf"^\s*{re.escape(names[-1])}\s*=", line):
                return n
    return best


def _check_references(sc: Scenario, text: str, source: str) -> None:
    """Checks the schema cannot make: ranges given as (low, high), known launch areas."""
    from airshield.sim.places import LAUNCH_AREAS

    known = set(LAUNCH_AREAS) | {a.id for a in sc.launch_areas}
    for i, w in enumerate(sc.waves):
        for a in w.launch_areas:
            if a not in known:
                path: list[str | int] = ["waves", i, "launch_areas"]
                raise ScenarioError(source, locate_line(text, path), _dotted(path),
                                    f"unknown launch area {a!r}; known: {', '.join(sorted(known))}")
        for name, pair in (("group_size", w.group_size), ("spacing_s", w.spacing_s)):
            if pair[0] > pair[1] or pair[0] < 0 or (name == "group_size" and pair[0] < 1):
                path = ["waves", i, name]
                raise ScenarioError(source, locate_line(text, path), _dotted(path),
                                    f"expected [low, high] with 0 < low <= high, got {list(pair)}")
    # Every other (low, high) range of the file: latencies, sigmas, altitudes.
    s = sc.sensors
    for section, cfg in (("acoustic", s.acoustic), ("radar", s.radar), ("observers", s.observers),
                         ("adsb", s.adsb), ("partner", s.partner)):
        if cfg is None:
            continue
        for name in cfg.__struct_fields__:
            pair = getattr(cfg, name)
            if not (isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(v, float | int) for v in pair)):
                continue
            low_ok = pair[0] > 0 if name.startswith("sigma") else pair[0] >= 0
            if not low_ok or pair[0] > pair[1]:
                path = ["sensors", section, name]
                need = "0 < low <= high" if name.startswith("sigma") else "0 <= low <= high"
                raise ScenarioError(source, locate_line(text, path), _dotted(path),
                                    f"expected [low, high] with {need}, got {list(pair)}")
    # Sensor ids name a sensor everywhere (its reports, corroboration by independent sensors):
    # two radars both called R1 would count as one.
    seen: dict[str, list[str | int]] = {}
    for section, cfg in (("radar", s.radar), ("partner", s.partner)):
        for j, site in enumerate(cfg.sites if cfg is not None else []):
            path = ["sensors", section, "sites", j]
            if site.id in seen:
                raise ScenarioError(source, locate_line(text, path) or locate_line(text, ["sensors", section]),
                                    _dotted(path) + ".id",
                                    f"sensor id {site.id!r} is used twice (also {_dotted(seen[site.id])})")
            seen[site.id] = path
    for i, w in enumerate(sc.waves):
        if w.start_min * 60.0 >= sc.duration_h * 3600.0:
            path = ["waves", i, "start_min"]
            raise ScenarioError(source, locate_line(text, path) or locate_line(text, ["waves", i]), _dotted(path),
                                f"the wave starts at {w.start_min:g} min, after the {sc.duration_h:g} h scenario")
    if sc.start.tzinfo is None:
        raise ScenarioError(source, locate_line(text, ["start"]), "start",
                            "the start time needs a UTC offset, e.g. 2025-09-06T17:00:00Z")
