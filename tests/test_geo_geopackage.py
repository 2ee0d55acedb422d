"""Reading GeoPackages with sqlite3: the GeoPackageBinary header and layer access."""

import sqlite3
import struct

import pytest
import shapely
from shapely.geometry import box

from airshield.geo import load_regions, natural_earth_path
from airshield.geo.geopackage import list_layers, parse_geometry_blob, read_layer

ENVELOPE_DOUBLES = {0: 0, 1: 4, 2: 6, 3: 6, 4: 8}


def gpkg_blob(geom, srs_id=4326, envelope=1, little_endian=True, flags_extra=0):
    """A GeoPackageBinary blob (OGC 12-128r18, 2.1.3) around the WKB of `geom`."""
    order = "<" if little_endian else ">"
    flags = (envelope << 1) | int(little_endian) | flags_extra
    minx, miny, maxx, maxy = geom.bounds
    values = [minx, maxx, miny, maxy, 0.0, 0.0, 0.0, 0.0][: ENVELOPE_DOUBLES.get(envelope, 0)]
    header = b"GP" + bytes([0, flags]) + struct.pack(order + "i", srs_id)
    envelope_bytes = struct.pack(order + "d" * len(values), *values)
    return header + envelope_bytes + shapely.to_wkb(geom, byte_order=int(little_endian))


def write_gpkg(path, layer, columns, rows, srs_id=4326, envelope=1, little_endian=True):
    """A minimal GeoPackage with one feature layer; rows are (geometry, *column values)."""
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT, srs_id INTEGER PRIMARY KEY,
            organization TEXT, organization_coordsys_id INTEGER, definition TEXT, description TEXT);
        CREATE TABLE gpkg_contents (table_name TEXT PRIMARY KEY, data_type TEXT, identifier TEXT,
            description TEXT, last_change TEXT, min_x REAL, min_y REAL, max_x REAL, max_y REAL,
            srs_id INTEGER);
        CREATE TABLE gpkg_geometry_columns (table_name TEXT, column_name TEXT,
            geometry_type_name TEXT, srs_id INTEGER, z INTEGER, m INTEGER);
        INSERT INTO gpkg_spatial_ref_sys VALUES ('WGS 84', 4326, 'EPSG', 4326, '', '');
        INSERT INTO gpkg_spatial_ref_sys VALUES ('Web Mercator', 3857, 'EPSG', 3857, '', '');
        """
    )
    conn.execute(
        "INSERT INTO gpkg_contents (table_name, data_type) VALUES (?, 'features')", (layer,)
    )
    conn.execute(
        "INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', 'GEOMETRY', ?, 0, 0)", (layer, srs_id)
    )
    column_sql = "".join(f", {c} TEXT" for c in columns)
    conn.execute(f"CREATE TABLE {layer} (fid INTEGER PRIMARY KEY, geom BLOB{column_sql})")
    marks = ", ".join("?" * (len(columns) + 1))
    for geom, *values in rows:
        blob = gpkg_blob(geom, srs_id, envelope, little_endian)
        conn.execute(
            f"INSERT INTO {layer} (geom, {', '.join(columns)}) VALUES ({marks})", (blob, *values)
        )
    conn.commit()
    conn.close()
    return path


@pytest.mark.parametrize("envelope", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("little_endian", [True, False])
def test_blob_header_of_every_envelope_size_and_byte_order_parses(envelope, little_endian):
    polygon = box(30.0, 49.0, 31.0, 50.0)
    srs_id, wkb = parse_geometry_blob(gpkg_blob(polygon, 4326, envelope, little_endian))
    assert srs_id == 4326
    assert shapely.from_wkb(wkb).equals(polygon)


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"XX\x00\x03\xe6\x10\x00\x00", "not a GeoPackage geometry blob"),
        (b"GP\x00\x0b\xe6\x10\x00\x00" + bytes(40), "envelope contents indicator 5"),
        (b"GP\x00\x23\xe6\x10\x00\x00" + bytes(40), "extended"),
        (b"GP\x01\x03\xe6\x10\x00\x00" + bytes(40), "version 1"),
        (b"GP\x00\x03\xe6\x10\x00\x00" + bytes(32), "ends inside its header"),
    ],
)
def test_malformed_blobs_are_refused(blob, message):
    with pytest.raises(ValueError, match=message):
        parse_geometry_blob(blob)


def test_read_layer_filters_by_column_and_keeps_row_order(tmp_path):
    rows = [(box(i, 49, i + 1, 50), f"r{i}", "UA" if i % 2 else "PL") for i in range(6)]
    path = write_gpkg(tmp_path / "t.gpkg", "things", ["name", "iso_a2"], rows, little_endian=False)
    assert list_layers(path) == ["things"]
    features = read_layer(path, "things", columns=["name"], where={"iso_a2": "UA"})
    assert [props for props, _ in features] == [{"name": "r1"}, {"name": "r3"}, {"name": "r5"}]
    assert features[0][1].equals(box(1, 49, 2, 50))
    everything = read_layer(path)  # the only layer, all columns
    assert everything[0][0] == {"fid": 1, "name": "r0", "iso_a2": "PL"}


def test_a_missing_layer_or_column_is_named_with_the_file(tmp_path):
    path = write_gpkg(tmp_path / "t.gpkg", "things", ["name"], [(box(0, 0, 1, 1), "a")])
    with pytest.raises(
        ValueError, match=r"t\.gpkg: no feature layer 'states_provinces'; layers: \['things'\]"
    ):
        read_layer(path, "states_provinces")
    with pytest.raises(ValueError, match=r"t\.gpkg: layer 'things' has no column\(s\) \['fips'\]"):
        read_layer(path, "things", columns=["fips"])
    with pytest.raises(ValueError, match=r"no column\(s\) \['iso_a2'\]"):
        read_layer(path, "things", where={"iso_a2": "UA"})


def test_a_missing_file_or_a_file_that_is_not_a_geopackage_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.gpkg"):
        read_layer(tmp_path / "absent.gpkg")
    text = tmp_path / "text.gpkg"
    text.write_text("not a database at all, just some text " * 20)
    with pytest.raises(ValueError, match="not a GeoPackage"):
        read_layer(text)
    empty_db = tmp_path / "empty.gpkg"
    sqlite3.connect(empty_db).close()
    with pytest.raises(ValueError, match="not a GeoPackage"):
        read_layer(empty_db)


def test_a_projected_layer_is_refused(tmp_path):
    path = write_gpkg(
        tmp_path / "merc.gpkg", "things", ["name"], [(box(0, 0, 1, 1), "a")], srs_id=3857
    )
    with pytest.raises(ValueError, match="srs_id 3857.*EPSG:4326"):
        read_layer(path)


def test_regions_load_from_a_geopackage_with_id_columns(tmp_path):
    columns = ["id", "name", "name_uk", "level", "parent"]
    rows = [
        (box(28.0, 49.0, 30.0, 50.0), "X-1", "Test Oblast", "Тестова область", "oblast", None),
        (box(28.0, 49.0, 29.0, 50.0), "X-1-01", "West Raion", None, "raion", "X-1"),
    ]
    path = write_gpkg(tmp_path / "regions.gpkg", "regions", columns, rows)
    regions = load_regions(str(path))
    assert regions.ids == ["X-1", "X-1-01"]
    assert regions.locate(49.5, 28.5) == "X-1-01" and regions.locate(49.5, 29.5) == "X-1"
    assert regions["X-1-01"].name_uk == "West Raion"


def test_a_geopackage_open_for_editing_is_refused_not_read_without_its_latest_edits(tmp_path):
    # QGIS edits in WAL mode: an area added a moment ago is in the -wal file, not in the file.
    columns = ["id", "name", "level"]
    path = write_gpkg(tmp_path / "areas.gpkg", "areas", columns, [(box(28, 49, 29, 50), "A1", "Area 1", "site")])
    editor = sqlite3.connect(path)
    editor.execute("PRAGMA journal_mode=WAL")
    editor.execute("INSERT INTO areas (geom, id, name, level) VALUES (?, 'A2', 'Area 2', 'site')",
                   (gpkg_blob(box(29, 49, 30, 50), 4326, 1, True),))
    editor.commit()  # the editor keeps the file open: the edit stays in areas.gpkg-wal
    try:
        with pytest.raises(ValueError, match=r"areas\.gpkg: it is open for editing"):
            load_regions(str(path))
    finally:
        editor.close()  # the last connection closed: the edit is written into the file
    assert load_regions(str(path)).ids == ["A1", "A2"]


def test_a_geopackage_without_id_columns_is_refused(tmp_path):
    path = write_gpkg(tmp_path / "anon.gpkg", "things", ["label"], [(box(28, 49, 29, 50), "a")])
    with pytest.raises(ValueError, match=r"anon\.gpkg: feature 0 has no 'id'.*\['fid', 'label'\]"):
        load_regions(str(path))


def test_the_natural_earth_file_has_the_layer_we_read():
    path = natural_earth_path()
    if not path.is_file():
        pytest.skip(f"{path} absent (run `make data`)")
    assert "states_provinces" in list_layers(path)
    features = read_layer(
        path, "states_provinces", columns=["fips", "name"], where={"iso_a2": "UA"}
    )
    assert len(features) == 25
    assert all(geom.is_valid and geom.geom_type == "MultiPolygon" for _, geom in features)
