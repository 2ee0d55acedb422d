"""The simulator: a scenario and a seed in, one deterministic night out.

Every random draw comes from a generator seeded by (seed, component name),
so that, for example, changing the radar layout does not move a single drone.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import msgspec
import numpy as np

from airshield.geo import RegionSet, Theatre, load_cities, load_regions
from airshield.model import Lat, Lon, SensorId
from airshield.sim import acoustic, adsb, observers, partner, radar
from airshield.sim.emitted import Emitted
from airshield.sim.raid import SimObject, build_civil, build_threats
from airshield.sim.scenario import Scenario

Progress = Callable[[str, float], None]
KIND_ORDER = {"radar": 0, "adsb": 1, "position": 2, "acoustic": 3, "observer": 4}


def rng_for(seed: int, component: str) -> np.random.Generator:
    """An independent random stream per component (stable across Python runs)."""
    return np.random.default_rng([seed, zlib.crc32(component.encode())])


@dataclass
class Night:
    """A simulated night.

    Attributes:
        scenario, seed, theatre, regions: what it was made from.
        objects: true objects (threats and civil flights).
        emitted: reports per sensor model, as columns.
        sensors: sensor layout records (dicts, one per sensor).
        t_start, t_end: the scenario's time span, s since the epoch.
    """

    scenario: Scenario
    seed: int
    theatre: Theatre
    regions: RegionSet
    objects: list[SimObject]
    emitted: list[Emitted]
    sensors: list[dict]
    t_start: float
    t_end: float

    @property
    def n_reports(self) -> int:
        return sum(len(e) for e in self.emitted)

    def merged_order(self) -> tuple[np.ndarray, np.ndarray]:
        """(source index, row index) of every report in arrival order.

        Ties are broken by measurement time, kind, sensor id and row, so the
        order never depends on anything but the data.
        """
        if not self.emitted:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        all_ids = sorted({s for e in self.emitted for s in e.sensor_ids})
        rank = {s: i for i, s in enumerate(all_ids)}
        arr, tim, kind, sens, src, row = [], [], [], [], [], []
        for si, e in enumerate(self.emitted):
            n = len(e)
            ranks = np.array([rank[s] for s in e.sensor_ids], dtype=np.int64)
            arr.append(e.arrival)
            tim.append(e.time)
            kind.append(np.full(n, KIND_ORDER[e.kind]))
            sens.append(ranks[e.sensor] if n else np.zeros(0, dtype=np.int64))
            src.append(np.full(n, si))
            row.append(np.arange(n))
        cat = [np.concatenate(x) for x in (arr, tim, kind, sens, src, row)]
        order = np.lexsort((cat[5], cat[4], cat[3], cat[2], cat[1], cat[0]))
        return cat[4][order], cat[5][order]


def simulate(sc: Scenario, seed: int | None = None, progress: Progress | None = None) -> Night:
    """Simulate scenario ``sc`` with ``seed`` (default: the scenario's own)."""
    seed = sc.seed if seed is None else seed
    say = progress or (lambda stage, frac: None)
    theatre = Theatre.ukraine()
    regions = load_regions(sc.regions, theatre)
    cities = load_cities()
    t_start = sc.start.timestamp()
    t_end = t_start + sc.duration_h * 3600.0
    say("threats", 0.0)
    objects = build_threats(sc, theatre, rng_for(seed, "threats"), cities)
    objects += build_civil(sc, theatre, rng_for(seed, "civil"))
    # The night ends at the scenario's end: so do the truth and every sensor's reports.
    objects = [o if o.trajectory.end <= t_end else
               dataclasses.replace(o, trajectory=o.trajectory.truncated(t_end), end_how="scenario_end")
               for o in objects if o.trajectory.start < t_end]
    say("threats", 1.0)
    area = regions.outline_xy()
    emitted: list[Emitted] = []
    sensors: list[dict] = []
    s = sc.sensors
    if s.acoustic is not None:
        cfg = s.acoustic
        if cfg.regions:
            import shapely

            unknown = [r for r in cfg.regions if r not in set(regions.ids)]
            if unknown:
                raise ValueError(f"sensors.acoustic.regions: unknown region(s) {', '.join(unknown)}; "
                                 f"the {regions.source} regions are {', '.join(regions.ids)}")

            area_a = shapely.union_all([regions.geometry_xy(r) for r in cfg.regions])
        else:
            area_a = area
        rng = rng_for(seed, "acoustic")
        net = acoustic.place_nodes(cfg, rng, area_a, theatre, cities, cfg.report_period_s,
                                   _read_nodes(cfg.file) if cfg.file else None)
        sensors += [
            {"type": "sensor", "id": net.ids[i], "kind": "acoustic", "lat": round(float(net.lat[i]), 6),
             "lon": round(float(net.lon[i]), 6), "alt_m": float(net.alt_m[i]), "array": bool(net.array[i]),
             "urban": bool(net.urban[i])}
            for i in range(len(net.ids))
        ]
        emitted.append(acoustic.detect(cfg, net, objects, rng, t_start, t_end,
                                       lambda f: say("acoustic", f)))
    if s.radar is not None and s.radar.sites:
        sites_xy = np.array([theatre.to_xy(x.lat, x.lon) for x in s.radar.sites], dtype=float)
        north = np.array([theatre.north_angle(x.lat, x.lon) for x in s.radar.sites])
        emitted.append(radar.detect(s.radar, sites_xy, north, objects, rng_for(seed, "radar"), t_start, t_end))
        sensors += [{"type": "sensor", "id": x.id, "kind": "radar", "lat": x.lat, "lon": x.lon,
                     "alt_m": x.height_m} for x in s.radar.sites]
        say("radar", 1.0)
    if s.observers is not None and s.observers.count:
        rng = rng_for(seed, "observers")
        ids, xy = observers.place(s.observers, rng, area, theatre, cities)
        emitted.append(observers.detect(s.observers, ids, xy, theatre, objects, rng, t_start, t_end))
        lat, lon = theatre.to_latlon(xy[:, 0], xy[:, 1])
        sensors += [{"type": "sensor", "id": ids[i], "kind": "observer", "lat": round(float(lat[i]), 6),
                     "lon": round(float(lon[i]), 6), "alt_m": 1.5} for i in range(len(ids))]
        say("observers", 1.0)
    if s.adsb is not None and s.adsb.flights:
        emitted.append(adsb.detect(s.adsb, theatre, objects, rng_for(seed, "adsb")))
        sensors.append({"type": "sensor", "id": adsb.SENSOR_ID, "kind": "adsb"})
        say("adsb", 1.0)
    if s.partner is not None and s.partner.sites:
        sites_xy = np.array([theatre.to_xy(x.lat, x.lon) for x in s.partner.sites], dtype=float)
        emitted.append(partner.detect(s.partner, sites_xy, theatre, objects, rng_for(seed, "partner")))
        sensors += [{"type": "sensor", "id": x.id, "kind": "position", "lat": x.lat, "lon": x.lon,
                     "alt_m": x.height_m} for x in s.partner.sites]
        say("partner", 1.0)
    return Night(sc, seed, theatre, regions, objects, emitted, sensors, t_start, t_end)


class _Node(msgspec.Struct, forbid_unknown_fields=True):
    """One line of an acoustic node file."""

    id: SensorId
    lat: Lat
    lon: Lon
    array: bool = False


def _read_nodes(path: str):
    """Acoustic nodes from an NDJSON file of ``{"id", "lat", "lon", "array"?}`` lines."""
    ids, lat, lon, arr = [], [], [], []
    line_of: dict[str, int] = {}
    with open(path, "rb") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip() or line.startswith(b"#"):
                continue
            try:
                d = msgspec.json.decode(line, type=_Node)
            except msgspec.ValidationError as exc:
                raise ValueError(f"{path}:{n}: bad acoustic node line: {exc}") from None
            except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
                why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
                raise ValueError(f"{path}:{n}: not valid JSON ({why})") from None
            if d.id in line_of:  # two nodes of one id would count as one sensor
                raise ValueError(f"{path}:{n}: acoustic node id {d.id!r} is used twice (also line {line_of[d.id]})")
            line_of[d.id] = n
            ids.append(d.id)
            lat.append(d.lat)
            lon.append(d.lon)
            arr.append(d.array)
    return ids, np.array(lat), np.array(lon), np.array(arr)
