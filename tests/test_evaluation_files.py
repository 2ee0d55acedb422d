"""The file layer end to end: NDJSON truth / tracks / alerts → metrics, report, table."""

from __future__ import annotations

import json
import math
import sys
import types
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from rich.console import Console
from shapely.geometry import box

from airshield.evaluation import METRIC_KEYS, EvaluationInputError, evaluate_files, evaluate_run
from airshield.evaluation.report import write_report
from airshield.evaluation.table import metrics_table

START = datetime(2025, 9, 7, 21, 0, 0, tzinfo=UTC)
LAT0, LON0 = 50.0, 30.0
R = 6_371_008.8
K_LON = R * math.cos(math.radians(LAT0)) * math.pi / 180  # m per degree of longitude
K_LAT = R * math.pi / 180


def to_xy(lat, lon):
    """A local equirectangular frame; good enough for a test over tens of km."""
    return (np.asarray(lon) - LON0) * K_LON, (np.asarray(lat) - LAT0) * K_LAT


def latlon(x, y):
    return LAT0 + y / K_LAT, LON0 + x / K_LON


def iso(t: float) -> str:
    return (START + timedelta(seconds=t)).isoformat().replace("+00:00", "Z")


REGIONS = {
    "UA-A": box(0.0, -5000.0, 10_000.0, 5000.0),
    "UA-B": box(0.0, 40_000.0, 10_000.0, 50_000.0),
}


def d1_xy(t):
    """Drone D1: east along y = 0 at 50 m/s from x = -20 km: in UA-A from 400 s to 600 s."""
    return -20_000.0 + 50.0 * t, 0.0


def write_ndjson(path, rows, extra_lines=()):
    with path.open("w") as f:
        for line in extra_lines:
            f.write(line + "\n")
        for r in rows:
            f.write(json.dumps(r) + "\n")


def truth_rows():
    rows = [
        {"type": "scenario", "name": "unit", "seed": 1, "start": iso(0), "end": iso(1800),
         "regions": "test", "theatre": {"lat0": LAT0, "lon0": LON0}, "truth_step_s": 10.0},
        {"type": "threat", "id": "D1", "cls": "drone", "model": "shahed", "civil": False,
         "launch_area": "x", "target": None, "launch_time": iso(0), "group": "g", "wave": 1},
        {"type": "threat", "id": "D2", "cls": "drone", "model": "gerbera", "civil": False,
         "launch_area": "x", "target": None, "launch_time": iso(0), "group": "g", "wave": 1},
        {"type": "threat", "id": "A1", "cls": "aircraft", "model": "airliner", "civil": True,
         "launch_area": None, "target": None, "launch_time": iso(0), "group": None, "wave": None},
    ]  # fmt: skip
    for t in range(0, 1210, 10):
        for oid, (x, y) in (
            ("D1", d1_xy(t)),
            ("D2", (50.0 * t, 100_000.0)),
            ("A1", (200.0 * t, -50_000.0)),
        ):
            lat, lon = latlon(x, y)
            rows.append({"type": "state", "id": oid, "t": iso(t), "lat": lat, "lon": lon,
                         "alt_m": 500.0, "vel_enu_mps": [50.0, 0.0, 0.0]})  # fmt: skip
    rows.append({"type": "detect", "id": "D1", "sensor": "AC-1", "first_time": iso(8),
                 "first_arrival": iso(10), "last_arrival": iso(900), "n": 40})  # fmt: skip
    rows.append({"type": "detect", "id": "D1", "sensor": "AC-2", "first_time": iso(30),
                 "first_arrival": iso(31), "last_arrival": iso(700), "n": 10})  # fmt: skip
    rows += [{"type": "end", "id": i, "t": iso(1200), "how": "left"} for i in ("D1", "D2", "A1")]
    return rows


def track_row(tid, t, x, y, status="confirmed", cls="drone", threat=True, vel=(50.0, 0.0, 0.0)):
    lat, lon = latlon(x, y)
    return {"type": "track", "t": iso(t), "id": tid, "status": status, "lat": lat, "lon": lon,
            "alt_m": 500.0, "vel_enu_mps": list(vel), "pos_sigma_m": 100.0, "cls": cls,
            "probs": {cls: 0.9}, "threat": threat, "icao": None}  # fmt: skip


def track_rows():
    rows = []
    for t in range(20, 60, 10):
        rows.append(track_row("T-1", t, d1_xy(t)[0], 100.0, status="tentative"))
    for t in range(60, 1210, 10):
        rows.append(track_row("T-1", t, d1_xy(t)[0], 100.0))  # 100 m north of the truth
        rows.append(track_row("T-9", t, 200.0 * t, -50_000.0, cls="aircraft", vel=(200.0, 0, 0)))
    for t in range(300, 400, 10):
        rows.append(track_row("T-5", t, -300_000.0, 0.0, vel=(0.0, 0.0, 0.0)))
    rows.append(track_row("T-5", 400, -300_000.0, 0.0, status="deleted"))
    return rows


def alert_rows():
    return [
        {"type": "alert", "t": iso(20), "region": "UA-A", "event": "pre_alert", "state": "pre_alert",
         "alert_id": "a1", "reason": {}},
        {"type": "alert", "t": iso(50), "region": "UA-A", "event": "alert", "state": "alert",
         "alert_id": "a1", "reason": {"threats": ["T-1"]}},
        {"type": "alert", "t": iso(300), "region": "UA-A", "event": "update", "state": "alert",
         "alert_id": "a1", "reason": {}},
        {"type": "alert", "t": iso(700), "region": "UA-A", "event": "all_clear", "state": "quiet",
         "alert_id": "a1", "reason": {}},
    ]  # fmt: skip


@pytest.fixture
def files(tmp_path):
    truth = tmp_path / "truth.ndjson"
    write_ndjson(truth, truth_rows(), ["# ground truth", ""])
    run = tmp_path / "run"
    run.mkdir()
    write_ndjson(run / "tracks.ndjson", track_rows(), ['{"type":"meta","version":1}'])
    write_ndjson(run / "alerts.ndjson", alert_rows())
    return truth, run


def test_end_to_end_metrics_from_files(files):
    truth, run = files
    ev = evaluate_files(truth, run, REGIONS, to_xy)
    m = ev.metrics
    json.dumps(m)  # JSON-serialisable
    assert all(k in m for k in METRIC_KEYS)
    assert m["skipped"] == {}
    # truth
    assert m["threats"] == 2 and m["civil_aircraft"] == 1 and m["threats_undetected"] == 1
    # warning: D1 enters UA-A at 400 s, alert from 50 s to 700 s
    assert m["entries"] == 1 and m["missed_entries"] == 0
    assert m["lead_time_median_s"] == pytest.approx(350.0, abs=0.5)
    assert m["oracle_lead_median_s"] == pytest.approx(390.0, abs=0.5)
    assert m["on_time_fraction"] == 1.0 and m["entries_unwarnable"] == 0
    assert m["lead_ratio_vs_oracle"] == pytest.approx(350 / 390, abs=0.01)
    assert m["alerts"] == 1 and m["false_alerts"] == 0 and m["flapping_fraction"] == 0.0
    assert m["premature_all_clears"] == 0
    assert m["unneeded_alert_minutes"] == pytest.approx(100 / 60, abs=0.02)  # 600 → 700 s
    # what kind of alerts, comparable with today's official ones: one alert of 650 s
    assert m["alert_duration_median_min"] == pytest.approx(650 / 60)
    assert m["alert_minutes_per_region_night"] == pytest.approx(650 / 60)
    assert m["per_region"]["UA-A"]["entries"] == 1 and m["per_region"]["UA-B"]["alerts"] == 0
    # tracking
    assert m["track_ids_per_threat"] == 1.0 and m["id_switches"] == 0
    assert m["false_confirmed_tracks"] == 1  # T-5
    assert m["civil_tracks_as_threat"] == 1  # T-9 on the airliner, shown as a threat
    assert m["position_rmse_m"] == pytest.approx(100.0, abs=1.0)
    assert m["time_to_confirm_p95_s"] == pytest.approx(
        50.0
    )  # first assigned at 60 s, reported at 10 s
    assert m["class_accuracy"] == 1.0
    assert m["tracks_in_file"] == 3


def test_truth_only_run_dir_skips_tracks_and_alerts(tmp_path, files):
    truth, _ = files
    empty = tmp_path / "empty-run"
    empty.mkdir()
    m = evaluate_files(truth, empty, REGIONS, to_xy).metrics
    assert set(m["skipped"]) == {"tracks", "alerts"}
    assert "not found" in m["skipped"]["tracks"]
    assert m["entries"] == 1 and m["threats_undetected"] == 1 and m["entries_unwarnable"] == 0
    for key in ("gospa_mean_m", "position_rmse_m", "id_switches", "missed_entries", "alerts", "alert_duration_median_min",
                "on_time_fraction", "lead_time_median_s", "false_alerts"):  # fmt: skip
        assert m[key] is None, key
    json.dumps(m)


def test_empty_tracks_file_means_every_threat_missed(tmp_path, files):
    truth, run = files
    (run / "tracks.ndjson").write_text("")
    m = evaluate_files(truth, run, REGIONS, to_xy).metrics
    assert m["gospa_missed_mean"] == 2.0 and m["gospa_false_mean"] == 0.0
    assert m["gospa_mean_m"] == pytest.approx(2000.0)  # two threats present, c/2 each
    assert m["false_confirmed_tracks"] == 0


def test_bad_line_is_reported_with_file_and_line(tmp_path, files):
    truth, run = files
    with (run / "alerts.ndjson").open("a") as f:
        f.write('{"type":"alert","t":"2025-09-07T21:30:00","region":"UA-A","state":"alert"}\n')
    with pytest.raises(EvaluationInputError, match=r"alerts.ndjson:5"):
        evaluate_files(truth, run, REGIONS, to_xy)


def test_a_truth_whose_scenario_ends_before_it_starts_is_refused_not_scored_empty(tmp_path, files):
    truth, run = files
    lines = truth.read_text().splitlines()
    i = next(n for n, line in enumerate(lines) if '"scenario"' in line)
    scen = json.loads(lines[i])
    scen["start"], scen["end"] = scen["end"], scen["start"]
    lines[i] = json.dumps(scen)
    truth.write_text("\n".join(lines) + "\n")
    with pytest.raises(EvaluationInputError, match="ends .* before it starts"):
        evaluate_files(truth, run, REGIONS, to_xy)


def test_evaluate_run_with_a_regions_loader_and_report(tmp_path, files):
    truth, run = files
    out = tmp_path / "report"
    m = evaluate_run(truth, run, lambda scenario: (REGIONS, to_xy), report_dir=out, step_s=20.0)
    assert m["evaluation_step_s"] == 20.0 and m["scenario"] == "unit"
    for name in ("map.png", "timeline.png", "lead_times.png", "alert_map.png", "report.md", "metrics.json"):
        assert (out / name).stat().st_size > 0, name
    text = (out / "report.md").read_text()
    assert "![map.png](map.png)" in text and "`on_time_fraction`" in text
    # the run's alerts beside today's official ones (real history, ../shared/data/alerts)
    assert "## This run's alerts beside today's official ones" in text
    assert "| this run | 1 | 1 | 11 |" in text and "| official, nights of ≥ 40 Shaheds | 19 | 1,229 | 62 |" in text
    assert json.loads((out / "metrics.json").read_text())["entries"] == 1


def test_report_without_alerts_has_no_lead_histogram(tmp_path, files):
    truth, _ = files
    ev = evaluate_files(truth, None, REGIONS, to_xy)
    write_report(ev, tmp_path / "r")
    assert not (tmp_path / "r" / "lead_times.png").exists()
    assert not (tmp_path / "r" / "alert_map.png").exists()
    assert (tmp_path / "r" / "timeline.png").exists()


def test_rich_table_shows_values_and_skipped_parts(files):
    truth, _ = files
    m = evaluate_files(truth, None, REGIONS, to_xy).metrics
    console = Console(record=True, width=120)
    console.print(metrics_table(m))
    text = console.export_text()
    assert "region entries" in text and "GOSPA" in text and "—" in text
    assert "skipped" in text


def test_default_loader_builds_regions_and_frame_from_the_scenario_line(monkeypatch, files):
    """evaluate_run without a loader asks airshield.geo (faked here) for the theatre's regions."""
    seen = {}

    class Theatre:
        def __init__(self, lat0, lon0):
            seen["theatre"] = (lat0, lon0)

        def to_xy(self, lat, lon):
            return to_xy(lat, lon)

    class RegionSet:
        ids = sorted(REGIONS)

        def geometry_xy(self, rid):
            return REGIONS[rid]

    def load_regions(source, theatre, data=None):
        seen["source"] = source
        return RegionSet()

    fake = types.ModuleType("airshield.geo")
    fake.Theatre, fake.load_regions = Theatre, load_regions
    monkeypatch.setitem(sys.modules, "airshield.geo", fake)
    truth, run = files
    m = evaluate_run(truth, run)
    assert seen == {"theatre": (LAT0, LON0), "source": "test"}
    assert m["regions"] == 2 and m["entries"] == 1


def test_a_report_without_the_official_history_says_so_and_still_writes(tmp_path, files, monkeypatch):
    truth, run = files
    monkeypatch.setenv("AIRSHIELD_SHARED", str(tmp_path))  # a shared folder without data/alerts
    evaluate_run(truth, run, lambda scenario: (REGIONS, to_xy), report_dir=tmp_path / "r")
    text = (tmp_path / "r" / "report.md").read_text()
    assert "Today's official alerts: not compared (" in text and "official_air_raid_alerts" in text
