"""Regions of a theatre (oblasts, raions, hromadas, ...) and point-in-region lookup.

`RegionSet.locate_xy` answers "which region is each of these points in" for
whole arrays at once: one shapely STRtree query finds the regions whose bounding
box holds each point, `shapely.intersects_xy` tests those pairs exactly against
prepared polygons, and numpy picks one region per point; no Python loop runs per
point (100,000 points in about 0.1 s plus the projection).

Overlaps are resolved by a fixed rank, so the answer never depends on the order
of the input:

1. the deepest region in the parent chain (where regions nest, the finest);
2. then the smaller area: sources may also overlap without saying so (a city
   with special status drawn on top of its oblast instead of cut out of it);
3. then the smaller id.

A point on a border shared by two regions lies in both, and the same rank
decides.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from airshield.geo.theatre import Theatre


def polygonal(geom: BaseGeometry, what: str = "geometry") -> Polygon | MultiPolygon:
    """A valid (Multi)Polygon for `geom`, repaired with `shapely.make_valid` if needed.

    make_valid may split an invalid polygon into polygons plus stray lines or
    points; only the polygons are kept. Raises ValueError for geometries with
    no area (points, lines, empty).
    """
    if not isinstance(geom, BaseGeometry):
        raise TypeError(f"{what}: expected a shapely geometry, got {type(geom).__name__}")
    given = "empty" if geom.is_empty else geom.geom_type
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if not isinstance(geom, Polygon | MultiPolygon):
        parts = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon | MultiPolygon)]
        geom = shapely.union_all(parts) if parts else Polygon()
    if geom.is_empty or not isinstance(geom, Polygon | MultiPolygon):
        raise ValueError(
            f"{what}: expected a polygon or multipolygon with area, got {given}"
            + (" (with no area)" if given in ("Polygon", "MultiPolygon") else "")
        )
    return geom


@dataclass(frozen=True)
class Region:
    """An area alerts are given for.

    Attributes:
        id: stable identifier: ISO 3166-2 ("UA-32") for first-level regions,
            KATOTTG or another stable code for lower levels.
        name: English name.
        name_uk: Ukrainian (Cyrillic) name where known, else the English name.
        level: "oblast", "raion", "hromada", "city", ...: a label; no code
            depends on its value.
        parent: id of the enclosing region, or None.
        geometry: valid Polygon or MultiPolygon in WGS84 lon/lat degrees
            (repaired on construction if invalid).
    """

    id: str
    name: str
    name_uk: str
    level: str
    parent: str | None
    geometry: Polygon | MultiPolygon = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"Region: id must be a non-empty string, got {self.id!r}")
        if self.parent == self.id:
            raise ValueError(f"Region {self.id}: a region cannot be its own parent")
        object.__setattr__(self, "geometry", polygonal(self.geometry, f"region {self.id}"))


class RegionSet:
    """The regions of a theatre, with a fast point-in-region lookup.

    Attributes:
        regions: the regions, sorted by id.
        theatre: the metric frame used for `geometry_xy` and `locate_xy`.
        source: where the regions came from ("natural-earth", "geoboundaries",
            or the path of the file).
        attribution: the credit line the data's licence asks for.
        data: the bytes of the region file the set was read from (None for the
            built-in sources), so that an event log can keep them.

    Immutable in use: build a new set rather than editing `regions`.
    """

    def __init__(
        self, regions: Iterable[Region], theatre: Theatre, source: str, attribution: str
    ) -> None:
        self.regions: list[Region] = sorted(regions, key=lambda r: r.id)
        self.theatre = theatre
        self.source = source
        self.attribution = attribution
        self.data: bytes | None = None
        self._index = {r.id: i for i, r in enumerate(self.regions)}
        if len(self._index) != len(self.regions):
            ids = [r.id for r in self.regions]
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"RegionSet from {source}: duplicate region ids {dupes}")

        n = len(self.regions)
        geoms = np.empty(n, dtype=object)
        geoms[:] = [r.geometry for r in self.regions]
        self._geoms_xy: np.ndarray = theatre.geometry_to_xy(geoms)
        shapely.prepare(self._geoms_xy)
        self._tree = shapely.STRtree(self._geoms_xy)
        self._levels = np.array([r.level for r in self.regions], dtype=object)
        self._depth = np.array([self._depth_of(r) for r in self.regions], dtype=np.int64)

        # Rank 0 wins: deepest, then smallest area, then smallest id (the list order).
        areas = shapely.area(self._geoms_xy) if n else np.zeros(0)
        order = np.lexsort((np.arange(n), areas, -self._depth))
        self._rank = np.empty(n, dtype=np.int64)
        self._rank[order] = np.arange(n)
        self._ids_by_rank = np.array([self.regions[i].id for i in order] + [None], dtype=object)

        self._outline: Any = None
        self._outline_lock = threading.Lock()

    def _depth_of(self, region: Region) -> int:
        """Number of ancestors present in this set (parents outside it are not followed)."""
        depth, seen, parent = 0, {region.id}, region.parent
        while parent is not None and parent in self._index:
            if parent in seen:
                raise ValueError(f"RegionSet from {self.source}: parent cycle through {parent}")
            seen.add(parent)
            depth += 1
            parent = self.regions[self._index[parent]].parent
        return depth

    # -- container ---------------------------------------------------------

    def __getitem__(self, region_id: str) -> Region:
        return self.regions[self._position(region_id)]

    def __contains__(self, region_id: object) -> bool:
        return region_id in self._index

    def __len__(self) -> int:
        return len(self.regions)

    def __iter__(self) -> Iterator[Region]:
        return iter(self.regions)

    def __repr__(self) -> str:
        return f"<RegionSet {self.source!r}: {len(self)} regions, levels {self.levels}>"

    def _position(self, region_id: str) -> int:
        try:
            return self._index[region_id]
        except KeyError:
            raise KeyError(f"no region {region_id!r} in {self.source}") from None

    @property
    def ids(self) -> list[str]:
        """Region ids, sorted."""
        return [r.id for r in self.regions]

    @property
    def levels(self) -> list[str]:
        """The distinct levels present, sorted alphabetically."""
        return sorted(set(self._levels.tolist()))

    def children(self, region_id: str) -> list[Region]:
        """The regions whose parent is `region_id`, sorted by id (KeyError if unknown)."""
        self._position(region_id)
        return [r for r in self.regions if r.parent == region_id]

    # -- geometry ----------------------------------------------------------

    def geometry_xy(self, region_id: str) -> Polygon | MultiPolygon:
        """The region's geometry in the theatre's metric frame (metres; computed once)."""
        return self._geoms_xy[self._position(region_id)]

    def outline_xy(self) -> BaseGeometry:
        """The union of the top-level regions (those with no parent in the set), metres.

        The country, for "is this point inside it" (`shapely.contains_xy`);
        computed on first use and prepared.
        """
        with self._outline_lock:
            if self._outline is None:
                outline = shapely.union_all(self._geoms_xy[self._depth == 0])
                shapely.prepare(outline)
                self._outline = outline
            return self._outline

    # -- lookup ------------------------------------------------------------

    def locate_xy(self, x: Any, y: Any, level: str | None = None) -> Any:
        """The region containing each point.

        Args:
            x, y: metres in the theatre frame; scalars or array-likes of
                broadcastable shapes (say (n,)).
            level: only consider regions of this level; None means the finest
                region containing the point (see the module docstring).

        Returns:
            An object array of the broadcast shape holding region ids, None
            where no region contains the point (outside, or NaN). For scalar
            x and y, a single id or None.

        Raises:
            ValueError: `level` is not one of `levels`.
        """
        if level is not None and level not in self.levels:
            raise ValueError(
                f"no regions of level {level!r} in {self.source}; levels: {self.levels}"
            )
        scalar = np.ndim(x) == 0 and np.ndim(y) == 0
        xa, ya = np.broadcast_arrays(
            np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        )
        xf, yf = xa.ravel(), ya.ravel()
        # Bounding boxes first (STRtree), then an exact test of each candidate
        # pair against the prepared polygon. (A predicate query on the tree
        # would prepare the points instead of the polygons: 30 times slower.)
        point_idx, region_idx = self._tree.query(shapely.points(xf, yf))
        if level is not None:
            keep = self._levels[region_idx] == level
            point_idx, region_idx = point_idx[keep], region_idx[keep]
        inside = shapely.intersects_xy(self._geoms_xy[region_idx], xf[point_idx], yf[point_idx])
        point_idx, region_idx = point_idx[inside], region_idx[inside]
        best = np.full(xf.shape, len(self.regions), dtype=np.int64)  # = "none" rank
        np.minimum.at(best, point_idx, self._rank[region_idx])
        found = self._ids_by_rank[best].reshape(xa.shape)
        return found.item() if scalar else found

    def locate(self, lat: Any, lon: Any, level: str | None = None) -> Any:
        """`locate_xy` for WGS84 degrees (latitude, longitude)."""
        x, y = self.theatre.to_xy(lat, lon)
        return self.locate_xy(x, y, level=level)
