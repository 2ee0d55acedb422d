"""`airshield run`: a report stream through the tracker into tracks.ndjson, deterministically."""

from __future__ import annotations

import collections
import json
from datetime import datetime, timedelta

import msgspec
import numpy as np
import pytest
from typer.testing import CliRunner

from airshield.cli import app
from airshield.evaluation import evaluate_files, geo_regions_loader, read_truth
from airshield.sim import load_scenario, simulate, write_night


@pytest.fixture(scope="module")
def tiny_night(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    write_night(simulate(load_scenario("tiny")), out)
    return out


def _run(night_dir, run_dir, *extra):
    result = CliRunner().invoke(app, ["run", str(night_dir / "reports.ndjson"), "--out", str(run_dir), "-q", *extra])
    assert result.exit_code == 0, result.output
    return result


def test_the_same_reports_give_byte_identical_tracks(tiny_night, tmp_path):
    _run(tiny_night, tmp_path / "a")
    _run(tiny_night, tmp_path / "b")
    a = (tmp_path / "a" / "tracks.ndjson").read_bytes()
    assert a == (tmp_path / "b" / "tracks.ndjson").read_bytes()
    assert a.count(b"\n") > 50


def test_every_drone_two_sensors_report_is_tracked_and_civil_flights_are_no_threat(tiny_night, tmp_path):
    _run(tiny_night, tmp_path / "r")
    truth = read_truth(tiny_night / "truth.ndjson")
    regions, to_xy = geo_regions_loader(truth.scenario)
    ev = evaluate_files(truth, tmp_path / "r", regions, to_xy)
    sensors = collections.defaultdict(set)
    for line in (tiny_night / "truth.ndjson").read_bytes().splitlines():
        rec = msgspec.json.decode(line)
        if rec["type"] == "detect":
            sensors[rec["id"]].add(rec["sensor"])
    corroborated = {tid for tid, s in sensors.items() if len(s) >= 2 and tid.startswith("D")}
    tracked = {truth.ids[i] for i in np.unique(ev.association.obj)}
    assert len(corroborated) >= 3
    # Issue #3 asks for every one; today a drone heard by one node at a time, with
    # minutes between nodes, can still be lost (BENCHMARKS.md).
    assert len(corroborated & tracked) >= 0.75 * len(corroborated)
    m = ev.metrics
    assert m["threats"] == 6
    assert m["false_confirmed_tracks"] <= 1
    assert m["civil_tracks_as_threat"] == 0
    assert m["class_accuracy"] > 0.9


def test_an_ablation_keeps_only_the_named_kinds(tiny_night, tmp_path):
    result = _run(tiny_night, tmp_path / "r", "--kinds", "radar")
    assert "reports" in result.output
    bad = CliRunner().invoke(app, ["run", str(tiny_night / "reports.ndjson"), "--out", str(tmp_path / "x"),
                                   "--kinds", "sonar"])
    assert bad.exit_code == 2 and "sonar" in bad.output


def test_bad_report_lines_are_named_and_the_valid_ones_still_tracked(tiny_night, tmp_path):
    lines = (tiny_night / "reports.ndjson").read_bytes().splitlines()
    not_utf8 = lines[0].replace(b'"sensor":"', b'"sensor":"\xff', 1)
    deep = b'{"a":' * 100_000 + b"1" + b"}" * 100_000  # msgspec recurses while it skips an unknown field
    broken = lines[:10] + [b'{"kind":"radar","sensor":"R"}', b"not json", not_utf8, deep] + lines[10:]
    src = tmp_path / "reports.ndjson"
    src.write_bytes(b"\n".join(broken) + b"\n")
    result = CliRunner().invoke(app, ["run", str(src), "--out", str(tmp_path / "r"), "-q"])
    assert result.exit_code == 0, result.output
    # Named by the path as given, as the error of a file with no valid line is.
    assert f"{src}:11:" in result.output and f"{src}:12:" in result.output
    assert "reports.ndjson:13: not valid UTF-8 (a string holds byte 0xff)" in result.output
    assert "reports.ndjson:14: nested too deeply" in result.output
    assert f"{len(lines):,} reports (4 rejected)" in result.output


def test_a_report_far_outside_the_theatre_is_named_and_the_night_still_tracked(tiny_night, tmp_path):
    # A broken GPS at "null island", and a BOM a Windows editor put before the first line.
    lines = (tiny_night / "reports.ndjson").read_bytes().splitlines()
    first = json.loads(lines[0])
    broken = json.dumps({**first, "lat": 0.0, "lon": 0.0}).encode()
    # and a sensor whose clock says 1970, arriving on the night: too old to warn with, as the service says
    stale = json.dumps({**first, "time": "1970-01-01T00:00:00Z"}).encode()
    src = tmp_path / "reports.ndjson"
    src.write_bytes(b"\xef\xbb\xbf" + b"\n".join(lines[:5] + [broken, stale] + lines[5:]) + b"\n")
    result = CliRunner().invoke(app, ["run", str(src), "--out", str(tmp_path / "r"), "-q"])
    assert result.exit_code == 0, result.output
    # Named by their file lines (the BOM's line is the first), and by the field that is wrong.
    assert "reports.ndjson:6: field `lat`: sensor" in result.output
    assert "lies 6,160 km from the theatre's centre" in result.output
    assert "reports.ndjson:7: field `time`: sensor" in result.output and "too old to warn with" in result.output
    assert f"{len(lines):,} reports (2 rejected)" in result.output  # the BOM cost no report


def test_reports_out_of_arrival_order_are_sorted_and_the_first_misplaced_line_named(tiny_night, tmp_path):
    lines = (tiny_night / "reports.ndjson").read_bytes().splitlines()
    arrival = [json.loads(x)["arrival"] for x in lines]
    i = next(i for i in range(20, len(lines)) if arrival[i] > arrival[i - 1])
    lines[i - 1], lines[i] = lines[i], lines[i - 1]  # line i + 1 now arrives before line i
    src = tmp_path / "reports.ndjson"
    src.write_bytes(b"# a comment line counts as a line\n" + b"\n".join(lines) + b"\n")
    result = CliRunner().invoke(app, ["run", str(src), "--out", str(tmp_path / "r"), "-q"])
    assert result.exit_code == 0, result.output
    assert f"reports.ndjson:{i + 2}: sensor" in result.output and "sorted by arrival" in result.output


def test_a_compressed_input_says_so(tiny_night, tmp_path):
    import gzip

    src = tmp_path / "reports.ndjson.gz"
    src.write_bytes(gzip.compress((tiny_night / "reports.ndjson").read_bytes()))
    result = CliRunner().invoke(app, ["run", str(src), "--out", str(tmp_path / "r"), "-q"])
    assert result.exit_code == 2 and "gzip-compressed" in result.output


def _evaluate(truth, run_dir):
    """`airshield evaluate` of a run against a truth file, without the report."""
    return CliRunner().invoke(app, ["evaluate", "--truth", str(truth), "--run", str(run_dir), "--no-report"])


def test_evaluate_warns_when_the_run_lies_outside_the_truths_night(tiny_night, tmp_path):
    _run(tiny_night, tmp_path / "r")
    lines = (tiny_night / "truth.ndjson").read_text(encoding="utf-8").splitlines()
    head = json.loads(lines[0])
    head["start"], head["end"] = "2030-01-01T00:00:00Z", "2030-01-01T06:00:00Z"  # another night's truth
    other = tmp_path / "other-truth.ndjson"
    other.write_text("\n".join([json.dumps(head), *lines[1:]]) + "\n", encoding="utf-8")
    result = _evaluate(other, tmp_path / "r")
    assert "lies outside the truth's night" in result.output and "is " in result.output
    fine = _evaluate(tiny_night / "truth.ndjson", tmp_path / "r")
    assert fine.exit_code == 0 and "outside the truth's night" not in fine.output


def test_evaluate_warns_when_the_truth_is_of_the_same_scenario_but_another_seed(tiny_night, tmp_path):
    # Same scenario, times and sensors: only that the run's tracks follow none of its threats tells.
    from airshield.sim import load_scenario, simulate, write_night

    _run(tiny_night, tmp_path / "r")
    write_night(simulate(load_scenario("tiny"), seed=12345), tmp_path / "seed-12345")
    result = _evaluate(tmp_path / "seed-12345" / "truth.ndjson", tmp_path / "r")
    assert "follow no threat of the truth" in result.output and "same scenario and seed" in result.output
    fine = _evaluate(tiny_night / "truth.ndjson", tmp_path / "r")
    assert fine.exit_code == 0 and "follow no threat" not in fine.output


def test_a_report_given_twice_is_taken_once_as_the_service_takes_it(tiny_night, tmp_path):
    # A gateway that resends after a timeout logs the same report again, arriving later. Taken
    # twice, an acoustic node's report would count as two looks.
    _run(tiny_night, tmp_path / "once")
    lines = (tiny_night / "reports.ndjson").read_text(encoding="utf-8").splitlines()
    again = []
    for line in lines[100:140]:
        d = json.loads(line)
        arrival = datetime.fromisoformat(d["arrival"].replace("Z", "+00:00")) + timedelta(seconds=30)
        d["arrival"] = arrival.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        again.append(json.dumps(d))
    twice = tmp_path / "twice.ndjson"
    twice.write_text("\n".join(lines + lines[100:140] + again) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(twice), "--out", str(tmp_path / "twice"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "80 report(s) given again" in result.output
    assert (tmp_path / "twice" / "tracks.ndjson").read_bytes() == (tmp_path / "once" / "tracks.ndjson").read_bytes()
