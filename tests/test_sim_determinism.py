"""The same scenario and seed give the same night, byte for byte."""

from __future__ import annotations

from airshield.sim import load_scenario, parse_scenario, simulate, write_night
from airshield.sim.scenario import builtin_names

FILES = ("reports.ndjson", "truth.ndjson", "sensors.ndjson")


def _write(tmp_path, name, scenario, seed=None):
    out = tmp_path / name
    write_night(simulate(scenario, seed), out)
    return {f: (out / f).read_bytes() for f in FILES}


def test_same_scenario_and_seed_give_byte_identical_files(tmp_path):
    sc = load_scenario("tiny")
    a = _write(tmp_path, "a", sc)
    b = _write(tmp_path, "b", sc)
    for f in FILES:
        assert a[f] == b[f], f
    assert a["reports.ndjson"].count(b"\n") > 1000


def test_another_seed_gives_another_night(tmp_path):
    sc = load_scenario("tiny")
    assert _write(tmp_path, "a", sc, 1)["truth.ndjson"] != _write(tmp_path, "b", sc, 2)["truth.ndjson"]


def test_changing_the_sensors_does_not_move_a_single_threat(tmp_path):
    text = (load_scenario.__globals__["resources"].files("airshield.sim") / "scenarios" / "tiny.toml").read_text()
    more_observers = text.replace("count = 300", "count = 900")
    assert more_observers != text
    a = _write(tmp_path, "a", parse_scenario(text))
    b = _write(tmp_path, "b", parse_scenario(more_observers))

    def states(blob: bytes) -> list[bytes]:
        return [ln for ln in blob.splitlines() if b'"type":"state"' in ln]

    assert states(a["truth.ndjson"]) == states(b["truth.ndjson"])
    assert a["reports.ndjson"] != b["reports.ndjson"]


def test_the_built_in_scenarios_all_load():
    names = builtin_names()
    assert {"night-40", "record-810", "tiny", "missiles"} <= set(names)
    for n in names:
        assert load_scenario(n).name == n
