"""Read feature layers of an OGC GeoPackage with nothing but sqlite3 and shapely.

A GeoPackage is an SQLite database (OGC 12-128r18, http://www.geopackage.org/spec/).
Feature layers are listed in ``gpkg_contents`` (data_type 'features'), their
geometry column and spatial reference system in ``gpkg_geometry_columns``.
Each geometry is a GeoPackageBinary blob (spec section 2.1.3):

====== ======== =============================================================
offset bytes    content
====== ======== =============================================================
0      2        magic ``b"GP"``
2      1        version (0 = version 1)
3      1        flags: bit 0 byte order of the header (1 = little endian);
                bits 1-3 envelope contents indicator: 0 none, 1 [minx, maxx,
                miny, maxy] (32 bytes), 2 + [minz, maxz] (48), 3 + [minm,
                maxm] (48), 4 xyzm (64), 5-7 invalid; bit 4 empty geometry;
                bit 5 GeoPackageBinary type (0 standard, 1 extended)
4      4        srs_id (int32, in the header byte order)
8      0-64     envelope (doubles)
...             the geometry as (ISO) WKB, which carries its own byte order
====== ======== =============================================================

No GDAL or fiona: only what airshield needs (read-only, standard blobs).
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Mapping, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import shapely

# Bytes of envelope for each envelope contents indicator (flags bits 1-3).
ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}
HEADER_BYTES = 8  # magic, version, flags, srs_id


def parse_geometry_blob(blob: bytes) -> tuple[int, bytes]:
    """Split a GeoPackageBinary blob into (srs_id, WKB).

    Raises:
        ValueError: not a standard GeoPackageBinary blob (bad magic, unknown
            version, invalid envelope indicator, extended type, or too short).
    """
    blob = bytes(blob)
    if len(blob) < HEADER_BYTES or blob[:2] != b"GP":
        raise ValueError(f"not a GeoPackage geometry blob (starts with {blob[:4]!r})")
    version, flags = blob[2], blob[3]
    if version != 0:
        raise ValueError(f"unsupported GeoPackageBinary version {version} (only 0, i.e. 1.x)")
    if flags & 0b0010_0000:
        raise ValueError("extended GeoPackageBinary geometries are not supported")
    indicator = (flags >> 1) & 0b111
    if indicator not in ENVELOPE_BYTES:
        raise ValueError(f"invalid envelope contents indicator {indicator} in GeoPackage blob")
    byte_order = "<" if flags & 1 else ">"
    (srs_id,) = struct.unpack(byte_order + "i", blob[4:8])
    start = HEADER_BYTES + ENVELOPE_BYTES[indicator]
    if len(blob) <= start:
        raise ValueError("GeoPackage geometry blob ends inside its header")
    return srs_id, blob[start:]


def geometries_from_blobs(blobs: Sequence[bytes | None]) -> np.ndarray:
    """Shapely geometries (object array, None for NULL) from GeoPackageBinary blobs."""
    wkbs = [None if b is None else parse_geometry_blob(b)[1] for b in blobs]
    return shapely.from_wkb(np.array(wkbs, dtype=object))


def _quote(identifier: str) -> str:
    """An SQL identifier in double quotes (names are checked against the schema first)."""
    return '"' + identifier.replace('"', '""') + '"'


def _connect(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such GeoPackage file")
    # Read-only: never create or modify the file.
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def _feature_layers(conn: sqlite3.Connection, path: Path) -> dict[str, tuple[str, int]]:
    """{layer: (geometry column, srs_id)} of the feature layers, in name order."""
    try:
        rows = conn.execute(
            "SELECT c.table_name, g.column_name, g.srs_id FROM gpkg_contents c "
            "JOIN gpkg_geometry_columns g ON g.table_name = c.table_name "
            "WHERE c.data_type = 'features' ORDER BY c.table_name"
        ).fetchall()
    except sqlite3.DatabaseError as exc:  # not SQLite, or no GeoPackage tables
        raise ValueError(f"{path}: not a GeoPackage ({exc})") from exc
    return {name: (column, srs_id) for name, column, srs_id in rows}


def list_layers(path: str | Path) -> list[str]:
    """Names of the feature layers in a GeoPackage, sorted."""
    path = Path(path)
    with closing(_connect(path)) as conn:
        return list(_feature_layers(conn, path))


def _is_wgs84_degrees(conn: sqlite3.Connection, srs_id: int) -> bool:
    if srs_id == 4326:
        return True
    row = conn.execute(
        "SELECT organization, organization_coordsys_id FROM gpkg_spatial_ref_sys WHERE srs_id = ?",
        (srs_id,),
    ).fetchone()
    return row is not None and str(row[0]).upper() == "EPSG" and row[1] == 4326


def read_layer(
    path: str | Path,
    layer: str | None = None,
    columns: Sequence[str] | None = None,
    where: Mapping[str, Any] | None = None,
) -> list[tuple[dict[str, Any], Any]]:
    """Read the features of a layer as (properties, shapely geometry) pairs.

    Args:
        path: the .gpkg file.
        layer: the feature layer; None means the only one (an error if several).
        columns: the attribute columns to read (default: all but the geometry).
        where: equality filters, ``{"iso_a2": "UA"}`` -> ``WHERE iso_a2 = 'UA'``.

    Returns:
        One (properties dict, geometry in lon/lat degrees) per row, in rowid
        order, so the result is deterministic.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: not a GeoPackage; the layer or a column is missing; the layer
            is not in WGS84 degrees (EPSG:4326); a geometry blob is malformed.
            The message names the file and what is wrong.
    """
    path = Path(path)
    with closing(_connect(path)) as conn:
        layers = _feature_layers(conn, path)
        if layer is None:
            if len(layers) != 1:
                raise ValueError(
                    f"{path}: expected exactly one feature layer, found {sorted(layers) or 'none'}"
                )
            (layer,) = layers
        if layer not in layers:
            raise ValueError(f"{path}: no feature layer {layer!r}; layers: {sorted(layers)}")
        geom_column, srs_id = layers[layer]
        if not _is_wgs84_degrees(conn, srs_id):
            raise ValueError(
                f"{path}: layer {layer!r} uses srs_id {srs_id}; expected WGS84 lon/lat (EPSG:4326)"
            )
        available = [row[1] for row in conn.execute(f"PRAGMA table_info({_quote(layer)})")]
        wanted = [c for c in available if c != geom_column] if columns is None else list(columns)
        filters = dict(where or {})
        missing = [c for c in [*wanted, *filters] if c not in available]
        if missing:
            raise ValueError(
                f"{path}: layer {layer!r} has no column(s) {missing}; columns: {available}"
            )
        sql = "SELECT " + ", ".join(_quote(c) for c in [geom_column, *wanted])
        sql += f" FROM {_quote(layer)}"
        if filters:
            sql += " WHERE " + " AND ".join(f"{_quote(c)} = ?" for c in filters)
        sql += " ORDER BY rowid"
        rows = conn.execute(sql, tuple(filters.values())).fetchall()
    try:
        geometries = geometries_from_blobs([row[0] for row in rows])
    except (ValueError, shapely.errors.GEOSException) as exc:
        raise ValueError(f"{path}: layer {layer!r}: bad geometry: {exc}") from exc
    return [
        (dict(zip(wanted, row[1:], strict=True)), geom)
        for row, geom in zip(rows, geometries, strict=True)
    ]
