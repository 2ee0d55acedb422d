"""A malformed scenario file gives an error that names the line and the field."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from airshield.cli import app
from airshield.sim import ScenarioError, parse_scenario

GOOD = """\
name = "t"
start = 2025-10-01T18:00:00Z
duration_h = 2
targets = ["Sumy"]

[[waves]]
model = "shahed"
count = 2
launch_areas = ["kursk"]

[[waves]]
model = "gerbera"
count = 3
launch_areas = ["kursk"]

[sensors.acoustic]
regions = ["UA-59"]
"""


def _error(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(text, "bad.toml")
    return exc.value


def test_the_good_scenario_parses():
    sc = parse_scenario(GOOD)
    assert [w.count for w in sc.waves] == [2, 3]


def test_a_wrong_type_names_the_line_and_field_of_the_second_wave():
    e = _error(GOOD.replace("count = 3", 'count = "many"'))
    assert (e.line, e.field) == (13, "waves[1].count")
    assert "Expected `int`" in e.reason
    assert str(e).startswith("bad.toml:13: field `waves[1].count`: Expected `int`")


def test_a_misspelt_key_is_named_with_its_line():
    e = _error(GOOD.replace('regions = ["UA-59"]', 'regons = ["UA-59"]'))
    assert (e.line, e.field) == (17, "sensors.acoustic.regons")
    assert "unknown key" in e.reason


def test_an_out_of_range_value_is_named():
    e = _error(GOOD.replace("duration_h = 2", "duration_h = -2"))
    assert (e.line, e.field) == (3, "duration_h")
    assert "> 0" in e.reason


def test_an_unknown_launch_area_is_named():
    e = _error(GOOD.replace('launch_areas = ["kursk"]\n\n[sensors', 'launch_areas = ["atlantis"]\n\n[sensors'))
    assert (e.line, e.field) == (14, "waves[1].launch_areas")
    assert "atlantis" in e.reason


def test_a_reversed_range_is_refused():
    e = _error(GOOD.replace('model = "gerbera"', 'model = "gerbera"\ngroup_size = [5, 2]'))
    assert e.field == "waves[1].group_size"
    assert e.line == 13


def test_toml_syntax_errors_give_the_line():
    e = _error(GOOD.replace("count = 2", "count = = 2"))
    assert e.line == 8
    assert "not valid TOML" in e.reason


def test_a_missing_required_key_is_named():
    e = _error(GOOD.replace("duration_h = 2\n", ""))
    assert "duration_h" in e.reason


def test_the_cli_reports_a_bad_scenario_without_a_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace("count = 3", 'count = "many"'))
    result = CliRunner().invoke(app, ["simulate", str(bad), "--out", str(tmp_path / "o"), "-q"])
    assert result.exit_code == 2
    assert "bad.toml:13: field `waves[1].count`" in result.output
    assert "Traceback" not in result.output


def test_an_unknown_target_city_is_named(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace('targets = ["Sumy"]', 'targets = ["Gotham"]'))
    result = CliRunner().invoke(app, ["simulate", str(bad), "--out", str(tmp_path / "o"), "-q"])
    assert result.exit_code == 2
    assert "Gotham" in result.output


def test_a_wave_after_the_end_of_the_scenario_is_refused():
    e = _error(GOOD.replace('model = "gerbera"', 'model = "gerbera"\nstart_min = 500'))
    assert e.field == "waves[1].start_min"
    assert "after the 2 h scenario" in e.reason


def test_a_reversed_or_negative_sensor_range_is_refused():
    e = _error(GOOD + "latency_s = [5, 1]\n")
    assert (e.line, e.field) == (18, "sensors.acoustic.latency_s")
    e = _error(GOOD + "sigma_bearing_deg = [0, 3]\n")
    assert e.field == "sensors.acoustic.sigma_bearing_deg"


def test_an_unknown_acoustic_region_is_named_without_a_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace('regions = ["UA-59"]', 'regions = ["UA-99"]'))
    result = CliRunner().invoke(app, ["simulate", str(bad), "--out", str(tmp_path / "o"), "-q"])
    assert result.exit_code == 2
    assert "UA-99" in result.output and "Traceback" not in result.output


def test_a_scenario_without_sensors_gives_truth_and_no_reports(tmp_path):
    src = tmp_path / "quiet.toml"
    src.write_text(GOOD.split("[sensors.acoustic]")[0])
    result = CliRunner().invoke(app, ["simulate", str(src), "--out", str(tmp_path / "o"), "-q"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o" / "reports.ndjson").read_bytes() == b""
    assert b'"type":"state"' in (tmp_path / "o" / "truth.ndjson").read_bytes()


def test_two_sensors_with_one_id_are_refused_they_would_count_as_one():
    e = _error(GOOD + '\n[sensors.radar]\nsites = [\n  { id = "R1", lat = 50.9, lon = 34.8 },\n'
                      '  { id = "R1", lat = 50.0, lon = 34.0 },\n]\n')
    assert e.field == "sensors.radar.sites[1].id" and "used twice" in e.reason


def test_an_acoustic_network_denser_than_a_node_per_km2_is_refused_before_it_eats_the_memory():
    e = _error(GOOD.replace('regions = ["UA-59"]', 'regions = ["UA-59"]\nkm2_per_node = 0.001'))
    assert (e.line, e.field) == (18, "sensors.acoustic.km2_per_node") and ">= 1.0" in e.reason


def test_an_acoustic_node_file_with_one_id_twice_is_refused_by_line(tmp_path):
    from airshield.sim import simulate

    nodes = tmp_path / "nodes.ndjson"
    nodes.write_text('{"id": "AC-1", "lat": 50.9, "lon": 34.8}\n{"id": "AC-2", "lat": 50.8, "lon": 34.7}\n'
                     '{"id": "AC-1", "lat": 50.7, "lon": 34.6}\n')
    sc = parse_scenario(GOOD.replace('regions = ["UA-59"]', f'file = "{nodes}"'))
    with pytest.raises(ValueError, match=r"nodes.ndjson:3: acoustic node id 'AC-1' is used twice \(also line 1\)"):
        simulate(sc)
