"""A reported night of the attack record becomes a scenario: its raid's size, mix, launch
areas, hours and losses, with what the simulator cannot fly said, not dropped silently.

The record is the shared attack dataset ("Massive Missile Attacks on Ukraine", Petro
Ivaniuk, Kaggle); two tests read it where it lies, the others a small file of its format."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from airshield.cli import app
from airshield.sim import ScenarioError, load_scenario
from airshield.sim.attack_record import night_scenario, record_path
from airshield.sim.scenario import parse_scenario

HEADER = ("time_start,time_end,model,launch_place,target,target_main,launched,destroyed,not_reach_goal,"
          "still_attacking,border_crossing,is_shahed,num_hit_location,num_fall_fragment_location,carrier,"
          "turbojet,turbojet_destroyed,affected region,destroyed_details,launched_details,"
          "launch_place_details,source\n")


def _record(tmp_path, rows: list[str]):
    path = tmp_path / "data" / "attacks" / "missile_attacks_daily.csv"
    path.parent.mkdir(parents=True)
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


needs_record = pytest.mark.skipif(not record_path().is_file(), reason=f"no attack record at {record_path()}")


@needs_record
def test_a_reported_night_keeps_its_counts_mix_hours_and_losses():
    # 2026-02-21, 19:00 Kyiv: 297 Shahed-type drones (200 real Shaheds), 274 destroyed; at
    # 04:00 the next morning 18 Kh-101, 2 Iskander-K, 22 S-400/Iskander-M, plus models the
    # simulator does not have.
    text, notes = night_scenario(dt.date(2026, 2, 21))
    sc = parse_scenario(text, "attack:2026-02-21")
    assert sc.name == "attack-2026-02-21"
    assert sc.start == dt.datetime(2026, 2, 21, 17, 0, tzinfo=dt.UTC)  # 19:00 Kyiv is UTC+2 in winter
    counts = {w.model: w.count for w in sc.waves}
    assert counts == {"shahed": 200, "gerbera": 97, "kh101": 18, "iskander-k": 2, "iskander": 22}
    shahed = next(w for w in sc.waves if w.model == "shahed")
    assert shahed.shot_down == pytest.approx(274 / 297, abs=1e-3)
    assert shahed.launch_areas[:2] == ["primorsko-akhtarsk", "kursk"]
    kh101 = next(w for w in sc.waves if w.model == "kh101")
    assert kh101.launch_areas == ["volgodonsk"] and kh101.start_min == 9 * 60  # 04:00, 9 h after 19:00
    assert any("Zircon" in n for n in notes) and any("X-59/X-69" in n for n in notes)
    assert any("Unknown UAV" in n and "daily tally" in n for n in notes)
    assert any("Vologda" in n for n in notes)
    assert "Ivaniuk" in text  # the source is credited in the scenario itself


@needs_record
def test_a_date_without_a_reported_night_names_the_nearest_ones():
    with pytest.raises(ScenarioError, match="no night on 2019-01-01.*the nearest nights with data are 2022-"):
        load_scenario("attack:2019-01-01")
    with pytest.raises(ScenarioError, match="'2026-13-01' is not a date"):
        load_scenario("attack:2026-13-01")


def test_a_date_whose_raid_came_before_dawn_points_at_the_night_before(tmp_path):
    # The missiles of "the attack of 2 March" flew in the small hours: that is the
    # night of 1 March, which runs from 12:00 on 1 March to 12:00 on 2 March.
    path = _record(tmp_path, [
        "2025-03-02 04:00,2025-03-02 06:00,Iskander-M,Rostov oblast,Ukraine,,3,1,0,0,{},,,,,,,,,,,src",
        "2025-03-20 20:00,2025-03-21 06:00,Shahed-136/131,Kursk oblast,Ukraine,,50,40,0,0,{},,,,,,,,,,,src",
    ])
    with pytest.raises(LookupError) as err:
        night_scenario(dt.date(2025, 3, 2), path)
    assert "belongs to the night of 2025-03-01" in str(err.value) and "attack:2025-03-01" in str(err.value)
    assert "nearest nights with data are 2025-03-01, 2025-03-20" in str(err.value)
    text, _ = night_scenario(dt.date(2025, 3, 1), path)
    assert "iskander" in text


def test_mixed_rows_are_split_and_missiles_come_from_their_own_launch_areas(tmp_path):
    path = _record(tmp_path, [
        '2025-03-01 20:00,2025-03-02 07:00,Shahed-136/131,"Kursk oblast and Crimea",Ukraine,,100,80,10,0,{},,,,,,,,,,,src',
        "2025-03-02 03:00,2025-03-02 06:00,X-101/X-555 and Kalibr,Caspian Sea,Ukraine,,9,7,0,0,{},,,,,,,,,,,src",
        "2025-03-02 04:00,2025-03-02 05:00,Iskander-M,Rostov oblast,Ukraine,,3,1,0,0,{},,,,,,,,,,,src",
        "2025-03-02 05:00,2025-03-02 06:00,Orlan-10,,Ukraine,,2,2,0,0,{},,,,,,,,,,,src",
        "2025-03-01,2025-03-01,Unknown UAV,,Ukraine,,40,40,0,0,{},,,,,,,,,,,src",
        # another night: before 12:00 Kyiv on the date, and the next day's evening
        "2025-03-01 08:00,2025-03-01 09:00,Kalibr,Black Sea,Ukraine,,5,5,0,0,{},,,,,,,,,,,src",
        "2025-03-02 19:00,2025-03-03 07:00,Shahed-136/131,Kursk oblast,Ukraine,,50,40,0,0,{},,,,,,,,,,,src",
    ])
    text, notes = night_scenario(dt.date(2025, 3, 1), path)
    sc = parse_scenario(text)
    waves = {w.model: w for w in sc.waves}
    assert {m: w.count for m, w in waves.items()} == {"shahed": 100, "kh101": 5, "kalibr": 4, "iskander": 3}
    # (80 destroyed + 10 lost to jamming) of 100 did not reach their targets
    assert waves["shahed"].shot_down == pytest.approx(0.9)
    assert waves["shahed"].launch_areas == ["kursk", "hvardiiske", "chauda", "dzhankoi"]
    assert waves["kh101"].launch_areas == ["volgodonsk"] and waves["kalibr"].launch_areas == ["black-sea"]
    assert waves["iskander"].launch_areas == ["millerovo"]  # Rostov oblast, not the bombers' area
    assert any("Orlan-10: 2" in n for n in notes) and any("Unknown UAV: 40" in n for n in notes)
    assert any("Caspian Sea" in n and "volgodonsk" in n for n in notes)
    # Drones launch over the first half of the reported 11 h; the night lasts past the report.
    assert waves["shahed"].duration_min == pytest.approx(330)
    assert sc.duration_h >= 11 + 3


def test_a_row_of_several_models_is_shared_and_the_share_the_simulator_lacks_is_said(tmp_path):
    path = _record(tmp_path, [
        "2024-08-26 04:00,2024-08-26 09:00,X-101/X-555 and Kalibr and X-59/X-69,,Ukraine,,115,102,0,0,{},,,,,,,,,,,src",
        "2024-08-26 05:00,2024-08-26 06:00,C-300 and Iskander-M,,Ukraine,,7,0,0,0,{},,,,,,,,,,,src",
    ])
    text, notes = night_scenario(dt.date(2024, 8, 25), path)
    counts = {w.model: w.count for w in parse_scenario(text).waves}
    assert counts == {"kh101": 39, "kalibr": 38, "iskander": 7}
    assert notes == ["X-59/X-69: 38 of X-101/X-555 and Kalibr and X-59/X-69 115 (no such model in the simulator)"]


def test_a_place_qualified_by_its_region_is_that_place_and_a_row_with_none_launched_is_skipped(tmp_path):
    path = _record(tmp_path, [
        '2025-03-01 20:00,2025-03-02 07:00,Shahed-136/131,"Primorsko-Akhtarsk and Chauda, Crimea",Ukraine,,10,8,0,0,{},,,,,,,,,,,src',
        "2025-03-01 21:00,2025-03-01 22:00,Kalibr,Black Sea,Ukraine,,,,0,0,{},,,,,,,,,,,src",
    ])
    text, notes = night_scenario(dt.date(2025, 3, 1), path)
    (wave,) = parse_scenario(text).waves
    assert wave.launch_areas == ["primorsko-akhtarsk", "chauda"]  # not all of Crimea's sites
    assert notes == []


def test_hours_across_a_daylight_saving_change_are_counted_in_utc(tmp_path):
    # 2024-10-27 03:00 Kyiv summer time became 02:00 winter time: 21:00 to 09:30 is 13.5 h.
    path = _record(tmp_path, [
        "2024-10-26 21:00,2024-10-27 09:30,Shahed-136/131,Kursk oblast,Ukraine,,10,8,0,0,{},,,,,,,,,,,src",
    ])
    (wave,) = parse_scenario(night_scenario(dt.date(2024, 10, 26), path)[0]).waves
    assert wave.duration_min == pytest.approx(13.5 * 60 / 2)


def test_simulate_writes_the_reported_nights_scenario_beside_it_and_says_what_it_left_out(tmp_path, monkeypatch):
    _record(tmp_path / "shared", [
        "2025-03-01 20:00,2025-03-01 21:00,Iskander-M,Belgorod oblast,Ukraine,,2,0,0,0,{},,,,,,,,,,,src",
        "2025-03-01 20:00,2025-03-01 21:00,X-22,,Ukraine,,3,0,0,0,{},,,,,,,,,,,src",
    ])
    monkeypatch.setenv("AIRSHIELD_SHARED", str(tmp_path / "shared"))
    out = tmp_path / "night"
    result = CliRunner().invoke(app, ["simulate", "attack:2025-03-01", "--out", str(out), "--seed", "123"])
    assert result.exit_code == 0, result.output
    assert "left out" in result.output and "X-22: 3" in result.output
    sc = parse_scenario((out / "scenario.toml").read_text(encoding="utf-8"))
    assert sc.seed == 123  # the file simulates this night again
    assert [(w.model, w.count, w.launch_areas) for w in sc.waves] == [("iskander", 2, ["belgorod"])]
    first = json.loads((out / "truth.ndjson").read_text(encoding="utf-8").splitlines()[0])
    assert first["name"] == "attack-2025-03-01"
    # Another scenario simulated into the same directory leaves no stale scenario beside it.
    result = CliRunner().invoke(app, ["simulate", "tiny", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert not (out / "scenario.toml").exists()
