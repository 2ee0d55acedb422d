"""The whole pipeline on a night: replay and kill-and-restart give the same outputs, byte for byte."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import pytest
from typer.testing import CliRunner

from airshield.cli import app
from airshield.runtime import ReplayMismatch, replay
from airshield.sim import load_scenario, simulate, write_night
from airshield.store import EventLog, LogError

OUTPUTS = ("tracks.ndjson", "alerts.ndjson", "audit.ndjson", "alerts.atom")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    write_night(simulate(load_scenario("tiny")), out)
    return out


@pytest.fixture(scope="module")
def tiny_run(tiny, tmp_path_factory):
    run = tmp_path_factory.mktemp("tiny-run") / "run"
    _cli("run", str(tiny / "reports.ndjson"), "--out", str(run), "-q", "--cap-status", "Exercise")
    return run


def _cli(*args, code=0):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result


def _same_outputs(a: Path, b: Path) -> None:
    for name in OUTPUTS:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    caps_a = sorted(p.name for p in (a / "cap").iterdir())
    assert caps_a == sorted(p.name for p in (b / "cap").iterdir())
    for name in caps_a:
        assert (a / "cap" / name).read_bytes() == (b / "cap" / name).read_bytes(), name


def test_a_run_writes_tracks_alerts_cap_and_its_event_log(tiny, tiny_run):
    for name in (*OUTPUTS, "events.sqlite"):
        assert (tiny_run / name).is_file(), name
    alerts = (tiny_run / "alerts.ndjson").read_bytes().splitlines()
    assert alerts and len(list((tiny_run / "cap").iterdir())) == len(alerts)
    log = EventLog(tiny_run / "events.sqlite", readonly=True)
    n_lines = sum(len((tiny_run / f).read_bytes().splitlines()) for f in ("tracks.ndjson", "alerts.ndjson"))
    assert log.count("events") == n_lines
    assert log.count("reports") == len((tiny / "reports.ndjson").read_bytes().splitlines())


def test_replay_reproduces_every_output_byte_for_byte(tiny_run, tmp_path):
    _cli("replay", str(tiny_run / "events.sqlite"), "--out", str(tmp_path / "again"), "-q")  # the log's CAP status
    _same_outputs(tiny_run, tmp_path / "again")


def test_replay_notices_a_log_that_does_not_match_the_core(tiny_run, tmp_path):
    # A copy of the log with one alert event changed (written below SQLite's triggers: a
    # forged or corrupted log, or a core that changed since).
    forged = tmp_path / "forged.sqlite"
    src = sqlite3.connect(tiny_run / "events.sqlite")
    src.execute("PRAGMA wal_checkpoint(FULL)")
    src.backup(dst := sqlite3.connect(forged))
    dst.execute("DROP TRIGGER events_no_update")
    seq = dst.execute("SELECT seq FROM events WHERE kind = 'alert' ORDER BY seq LIMIT 1").fetchone()[0]
    dst.execute("UPDATE events SET body = replace(body, '\"alert\"', '\"alert \"') WHERE seq = ?", (seq,))
    dst.commit()
    dst.close()
    with pytest.raises(ReplayMismatch, match="step"):
        replay(forged, tmp_path / "out", cap=False)
    result = _cli("replay", str(forged), "--out", str(tmp_path / "out2"), "-q", code=1)
    assert "differs from the log" in result.output and "made by core" not in result.output
    # Made by another core (an upgrade mid-night): the difference says so.
    dst = sqlite3.connect(forged)
    dst.execute("DROP TRIGGER meta_no_update")
    dst.execute("UPDATE meta SET value = '000000000000' WHERE key = 'core_version'")
    dst.commit()
    dst.close()
    result = _cli("replay", str(forged), "--out", str(tmp_path / "out3"), "-q", code=1)
    assert "the log was made by core 000000000000" in " ".join(result.output.split())


def test_a_night_killed_mid_way_and_resumed_gives_the_same_alerts(tiny, tiny_run, tmp_path):
    run = tmp_path / "killed"
    cmd = [sys.executable, "-m", "airshield.cli", "run", str(tiny / "reports.ndjson"), "--out", str(run), "-q",
           "--cap-status", "Exercise", "--pace", "2400"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONHASHSEED": "0"})
    log = run / "events.sqlite"
    deadline = time.time() + 60
    steps = 0
    while time.time() < deadline and steps < 600:  # ~50 min of the 4 h night
        time.sleep(0.2)
        if log.exists():
            try:
                steps = EventLog(log, readonly=True).count("steps")
            except (LogError, sqlite3.DatabaseError):
                steps = 0
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    killed_at = EventLog(log, readonly=True).count("steps")
    assert 0 < killed_at < EventLog(tiny_run / "events.sqlite", readonly=True).count("steps")
    result = _cli("run", str(tiny / "reports.ndjson"), "--out", str(run), "-q", "--resume")
    assert "recovered from the log" in result.output
    _same_outputs(tiny_run, run)


def test_resuming_needs_the_same_input_and_a_new_run_needs_a_new_directory(tiny, tiny_run, tmp_path):
    result = _cli("run", str(tiny / "reports.ndjson"), "--out", str(tiny_run), "-q", code=2)
    assert "use --resume" in result.output
    other = tmp_path / "other.ndjson"
    other.write_bytes(b"".join((tiny / "reports.ndjson").read_bytes().splitlines(keepends=True)[5:]))
    copy = tmp_path / "copy"
    _cli("run", str(other), "--out", str(copy), "-q", "--no-cap")
    result = _cli("run", str(tiny / "reports.ndjson"), "--out", str(copy), "-q", "--resume", code=2)
    assert "another input" in result.output


def test_operator_commands_from_a_file_are_applied_and_audited(tiny, tmp_path):
    cmds = tmp_path / "commands.ndjson"
    cmds.write_text(
        '{"t":"2025-10-01T18:10:00Z","region":"UA-46","action":"raise","user":"duty-1",'
        '"note":"exercise: western alert","duration_s":1200}\n'
        '{"t":"2025-10-01T18:12:00Z","region":"UA-46","action":"extend","user":"duty-1","note":"",'
        '"duration_s":3600}\n'
        '{"t":"2025-10-01T18:40:00Z","region":"UA-46","action":"cancel","user":"duty-2","note":"done"}\n')
    _cli("run", str(tiny / "reports.ndjson"), "--out", str(tmp_path / "r"), "-q", "--commands", str(cmds),
         code=2)  # the empty note is refused before anything runs
    cmds.write_text(cmds.read_text().replace('"note":""', '"note":"keep it"'))
    _cli("run", str(tiny / "reports.ndjson"), "--out", str(tmp_path / "r"), "-q", "--commands", str(cmds))
    audit = (tmp_path / "r" / "audit.ndjson").read_text().splitlines()
    assert len(audit) == 3 and all('"outcome":"applied"' in a for a in audit)
    west = [line for line in (tmp_path / "r" / "alerts.ndjson").read_text().splitlines() if '"UA-46"' in line]
    assert '"operator-raise"' in west[0] and '"operator-cancel"' in west[-1]
    assert '"all_clear"' in west[-1]
    # Who acted, and in which words, stays in the audit trail: the public CAP messages say only
    # what the duty officer did.
    caps = [p.read_bytes() for p in (tmp_path / "r" / "cap").glob("UA-46.*.xml")]
    assert any(b"Raised by hand by the duty officer." in c for c in caps)
    assert not any(b"exercise: western alert" in c for c in caps)
    assert not any(b"duty-1" in c or b"duty-2" in c for c in caps)


@pytest.mark.parametrize(("when", "region", "says"), [
    # a typo in its date
    ("2030-01-01T00:00:00Z", "UA-46", ["command 1 (raise UA-46 at 2030-01-01T00:00:00Z)",
                                       "more than 4 h after the night's last report"]),
    ("2020-01-01T00:00:00Z", "UA-46", ["more than a day before the night's first report"]),
    # a typo in its region
    ("2025-10-01T18:10:00Z", "UA-99", ["command 1 (raise at 2025-10-01T18:10:00Z) is for region 'UA-99'"]),
])
def test_an_operator_command_that_would_never_apply_is_refused_by_name(tiny, tmp_path, when, region, says):
    # It would silently never apply: it is refused before the night runs.
    cmds = tmp_path / "ops.ndjson"
    cmds.write_text(f'{{"t":"{when}","region":"{region}","action":"raise","user":"duty-1",'
                    '"note":"a typo","duration_s":600}\n')
    result = _cli("run", str(tiny / "reports.ndjson"), "--out", str(tmp_path / "r"), "-q", "--commands", str(cmds),
                  code=2)
    assert all(words in result.output for words in says), result.output
    assert not (tmp_path / "r" / "events.sqlite").exists()


def test_an_alert_raised_by_hand_after_the_last_report_still_applies(tiny, tmp_path):
    last = json.loads((tiny / "reports.ndjson").read_bytes().splitlines()[-1])["arrival"]
    from airshield.model import format_time, parse_time

    cmds = tmp_path / "ops.ndjson"
    cmds.write_text(f'{{"t":"{format_time(parse_time(last).timestamp() + 120)}","region":"UA-46",'
                    '"action":"raise","user":"duty-1","note":"morning check","duration_s":600}\n')
    _cli("run", str(tiny / "reports.ndjson"), "--out", str(tmp_path / "r"), "-q", "--commands", str(cmds))
    audit = (tmp_path / "r" / "audit.ndjson").read_text().splitlines()
    assert len(audit) == 1 and '"outcome":"applied"' in audit[0] and '"raise"' in audit[0]


def test_bad_report_lines_and_bad_options_are_clear_errors(tiny, tmp_path):
    result = _cli("run", str(tmp_path / "nope.ndjson"), "--out", str(tmp_path / "r"), code=2)
    assert "no such file" in result.output
    result = _cli("run", str(tiny / "reports.ndjson"), "--out", str(tmp_path / "r"), "--policy", "magic", code=2)
    assert "unknown policy" in result.output
    result = _cli("run", str(tiny / "reports.ndjson"), "--out", str(tmp_path / "r"), "--cap-status", "Live",
                  code=2)
    assert "CAP 1.2 status" in result.output
    result = _cli("replay", str(tmp_path / "missing.sqlite"), "--out", str(tmp_path / "x"), code=2)
    assert "no such event log" in result.output
    (tmp_path / "rundir").mkdir()
    (tmp_path / "rundir" / "events.sqlite").write_bytes(b"")
    result = _cli("replay", str(tmp_path / "rundir"), "--out", str(tmp_path / "x"), code=2)
    assert "is a directory" in result.output and "events.sqlite" in result.output
    result = _cli("run", str(tiny), "--out", str(tmp_path / "r"), code=2)
    assert "is a directory" in result.output
    (tmp_path / "empty.ndjson").write_bytes(b"")
    result = _cli("run", str(tmp_path / "empty.ndjson"), "--out", str(tmp_path / "r"), code=2)
    assert "no valid report" in result.output and not (tmp_path / "r" / "events.sqlite").exists()
    (tmp_path / "junk.ndjson").write_bytes(b"\x00\x01 not json\n")
    result = _cli("run", str(tmp_path / "junk.ndjson"), "--out", str(tmp_path / "r"), code=2)
    assert "no valid report (1 lines rejected)" in result.output


def test_a_new_run_or_a_replay_never_mixes_its_outputs_with_another_runs(tiny, tiny_run, tmp_path):
    # Another night's CAP files would stay beside this one's: a directory with outputs is refused.
    old = tmp_path / "old"
    (old / "cap").mkdir(parents=True)
    (old / "cap" / "UA-46.A.20250101T000000Z.0.xml").write_bytes(b"<alert/>")
    result = _cli("replay", str(tiny_run / "events.sqlite"), "--out", str(old), "-q", code=2)
    assert "holds another run's outputs (cap)" in result.output
    result = _cli("run", str(tiny / "reports.ndjson"), "--out", str(old), "-q", code=2)
    assert "holds another run's outputs (cap)" in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    _cli("replay", str(tiny_run / "events.sqlite"), "--out", str(empty), "-q")  # an empty directory is fine


def test_a_deployment_sets_its_own_cap_sender_and_feed_address_and_replay_keeps_them(tiny, tmp_path):
    run = tmp_path / "run"
    _cli("run", str(tiny / "reports.ndjson"), "--out", str(run), "-q", "--cap-sender", "alerts@dsns.example.ua",
         "--cap-base-url", "https://alerts.dsns.example.ua/night")
    cap = next((run / "cap").iterdir()).read_bytes()
    assert b"<sender>alerts@dsns.example.ua</sender>" in cap and b"example.org" not in cap
    assert b"https://alerts.dsns.example.ua/night/alerts.atom" in (run / "alerts.atom").read_bytes()
    _cli("replay", str(run / "events.sqlite"), "--out", str(tmp_path / "again"), "-q")
    _same_outputs(run, tmp_path / "again")
    result = _cli("run", str(tiny / "reports.ndjson"), "--out", str(tmp_path / "r2"), "--cap-sender", "dsns ua",
                  code=2)
    assert "forbids spaces" in result.output and not (tmp_path / "r2" / "events.sqlite").exists()
    result = _cli("run", str(tiny / "reports.ndjson"), "--out", str(tmp_path / "r3"), "--no-cap",
                  "--cap-sender", "dsns ua", code=2)  # a log's sender is used on every replay
    assert "forbids spaces" in result.output and not (tmp_path / "r3" / "events.sqlite").exists()


def test_a_core_parameter_set_for_a_run_is_kept_in_its_log_and_a_bad_one_is_named(tiny, tmp_path):
    run = tmp_path / "run"
    _cli("run", str(tiny / "reports.ndjson"), "--out", str(run), "-q", "--no-cap",
         "--set", "warning.lost_max_radius_m=100000", "--set", 'policy.lead_s={"drone": 1200}')
    config = json.loads(EventLog(run / "events.sqlite", readonly=True).meta()["config"])
    assert config["warning"]["lost_max_radius_m"] == 100000
    assert config["policy"]["lead_s"]["drone"] == 1200 and config["policy"]["lead_s"]["cruise"] == 600
    _cli("replay", str(run / "events.sqlite"), "--out", str(tmp_path / "again"), "-q", "--no-cap")
    for bad, says in (("warning.nope=1", "no parameter 'nope'"), ("warning.cone_k=\"wide\"", "Expected `float`"),
                      ("cone_k=1", "STAGE.NAME=JSON"), ("warning.lost_max_radius_m=-5", "must not be negative, got -5"),
                      ("warning.lost_max_radius_m=NaN", "not a finite number"),
                      ('policy.lead_s={"drone": -60}', "must not be negative, got -60"),
                      ('policy.lead_s={"dron": 60}', "unknown key(s) 'dron'; known: ballistic"),
                      ("warning.region_res_m=0", "region_res_m must be >= 250"),
                      ('warning.models={"drone": {"step_s": 0}}', "step_s must be >= 1")):
        result = _cli("run", str(tiny / "reports.ndjson"), "--out", str(tmp_path / "bad"), "--set", bad, code=2)
        assert says in result.output and not (tmp_path / "bad" / "events.sqlite").exists()


def test_resuming_with_another_policy_or_other_commands_is_refused(tiny, tmp_path):
    run = tmp_path / "run"
    _cli("run", str(tiny / "reports.ndjson"), "--out", str(run), "-q", "--no-cap")
    result = _cli("run", str(tiny / "reports.ndjson"), "--out", str(run), "-q", "--no-cap", "--resume",
                  "--policy", "naive", code=2)
    assert "policy airshield, not naive" in result.output
    cmds = tmp_path / "commands.ndjson"
    cmds.write_text('{"t":"2025-10-01T18:10:00Z","region":"UA-46","action":"raise","user":"duty-1",'
                    '"note":"western alert","duration_s":1200}\n')
    result = _cli("run", str(tiny / "reports.ndjson"), "--out", str(run), "-q", "--no-cap", "--resume",
                  "--commands", str(cmds), code=2)
    assert "other operator commands" in result.output


def test_a_report_stamped_decades_off_costs_no_empty_steps_and_changes_no_alert(tiny, tmp_path):
    # A sensor with a wrong clock: one report from 1970 and one from 2099 among the
    # night's. Stepping every 5 s from 1970 to 2099 would never end; the quiet clock
    # jumps over the silence, says so, and the night's alerts are those without them.
    import re

    import msgspec

    lines = (tiny / "reports.ndjson").read_bytes().splitlines()
    stray = [msgspec.json.decode(lines[0]) | {"time": f"{y}-01-01T00:00:00Z", "arrival": f"{y}-01-01T00:00:01Z"}
             for y in (1970, 2099)]
    bad = tmp_path / "stray.ndjson"
    bad.write_bytes(b"\n".join([msgspec.json.encode(stray[0]), *lines, msgspec.json.encode(stray[1])]) + b"\n")
    t0 = time.perf_counter()
    result = _cli("run", str(bad), "--out", str(tmp_path / "stray"), "-q")
    assert time.perf_counter() - t0 < 120  # (stepping through 129 years would take days)
    assert result.output.count("the clock jumped") == 2 and "from 1970-01-01T" in result.output
    _cli("run", str(tiny / "reports.ndjson"), "--out", str(tmp_path / "clean"), "-q")

    def alerts(run: Path) -> bytes:  # track ids differ by the stray reports' tentative tracks
        return re.sub(rb'"T\d{6}"', b'"T"', (run / "alerts.ndjson").read_bytes())

    assert alerts(tmp_path / "stray") == alerts(tmp_path / "clean") != b""
    _cli("replay", str(tmp_path / "stray" / "events.sqlite"), "--out", str(tmp_path / "again"), "-q")
    _same_outputs(tmp_path / "stray", tmp_path / "again")


def test_the_naive_baseline_runs_through_the_same_pipeline(tiny, tmp_path):
    _cli("run", str(tiny / "reports.ndjson"), "--out", str(tmp_path / "naive"), "-q", "--policy", "naive",
         "--no-cap")
    lines = (tmp_path / "naive" / "alerts.ndjson").read_text().splitlines()
    assert lines and all('"rule":"threat-within-50km"' in x or '"rule":"no-threat-within-50km"' in x
                         for x in lines)
    assert sum('"event":"alert"' in x for x in lines) == sum('"event":"all_clear"' in x for x in lines)


def test_an_alert_line_reads_back_as_the_event_it_was_written_from(tiny_run):
    from airshield.outputs import alert_line, decode_alert_line

    lines = (tiny_run / "alerts.ndjson").read_bytes().splitlines()
    assert lines
    for line in lines:
        assert alert_line(decode_alert_line(line)) == line


def test_your_own_alert_areas_are_alerted_kept_in_the_log_and_replayed_without_the_file(tiny, own_areas, tmp_path):
    import json

    from airshield.alerting.cap_check import validate

    areas = own_areas
    run = tmp_path / "run"
    _cli("run", str(tiny / "reports.ndjson"), "--out", str(run), "-q", "--regions", str(areas))
    alerted = {json.loads(line)["region"] for line in (run / "alerts.ndjson").read_bytes().splitlines()}
    # The oblast, the raion inside it and the site inside that: each has its own alert.
    assert {"UA-59", "UA59080000000000000", "sumy-substation"} <= alerted <= {
        "UA-53", "UA-59", "UA59080000000000000", "sumy-substation"}
    site = sorted((run / "cap").glob("sumy-substation.A.*.xml"))
    assert site
    assert b"<valueName>airshield-region</valueName>" in site[0].read_bytes()
    assert all(validate(p.read_bytes()) == [] for p in (run / "cap").iterdir())

    # The log keeps the file: replay needs neither it nor that it is unchanged.
    areas.write_text("{}", encoding="utf-8")
    _cli("replay", str(run / "events.sqlite"), "--out", str(tmp_path / "again"), "-q")
    _same_outputs(run, tmp_path / "again")

    # Resuming with other regions than the log's is refused; without --regions, the log's are used.
    result = _cli("run", str(tiny / "reports.ndjson"), "--out", str(run), "-q", "--resume")
    assert "steps recovered from the log" in result.output
    result = _cli("run", str(tiny / "reports.ndjson"), "--out", str(run), "-q", "--resume",
                  "--regions", "default", code=2)
    assert "was made with the alert areas of" in result.output

    # The evaluation scores the run's own areas, not the scenario's oblasts.
    result = _cli("evaluate", "--truth", str(tiny / "truth.ndjson"), "--run", str(run), "--json", "--no-report")
    assert json.loads(result.output)["regions"] == 4


def test_a_log_whose_copy_of_its_region_file_was_altered_is_refused(tiny, own_areas, tmp_path):
    areas = own_areas
    run = tmp_path / "run"
    _cli("run", str(tiny / "reports.ndjson"), "--out", str(run), "-q", "--no-cap", "--regions", str(areas))
    db = sqlite3.connect(run / "events.sqlite")  # a corrupted log (below SQLite's triggers)
    with db:
        db.execute("DROP TRIGGER meta_no_update")
        db.execute("UPDATE meta SET value = replace(value, '\"sha256\": \"', '\"sha256\": \"0') "
                   "WHERE key = 'regions_file'")
    db.close()
    result = _cli("replay", str(run / "events.sqlite"), "--out", str(tmp_path / "again"), "-q", code=2)
    assert "region file does not match its hash" in result.output


def test_a_step_whose_core_fails_is_taken_without_events_and_the_night_and_its_replay_go_on(tiny, tmp_path,
                                                                                            monkeypatch):
    # A fault in the core (never an input's: those are refused on the way in) must not end the
    # night, nor leave a log that cannot be replayed: the step is taken without events, counted
    # and named, and a replay fails at the same step and goes on the same way.
    import airshield.core

    real = airshield.core.Core.step
    calls = {"n": 0}

    def faulty(self, reports, now, commands=()):
        calls["n"] += 1
        if commands and not getattr(self, "_failed_once", False):
            self._failed_once = True
            self.tracker.process(list(reports), now)  # the tracker has stepped; the picture, the policy not
            raise FloatingPointError("a variance went negative")
        return real(self, reports, now, commands)

    monkeypatch.setattr(airshield.core.Core, "step", faulty)
    # A duty officer's raise falls in the failing step, a second one later: the first is not
    # applied and the audit trail says so (she must not believe a siren sounds); the second is.
    cmds = tmp_path / "commands.ndjson"
    cmds.write_text(
        '{"t":"2025-10-01T18:10:00Z","region":"UA-46","action":"raise","user":"duty-1","note":"west"}\n'
        '{"t":"2025-10-01T18:20:00Z","region":"UA-46","action":"raise","user":"duty-1","note":"again"}\n')
    run = tmp_path / "run"
    out = _cli("run", str(tiny / "reports.ndjson"), "--out", str(run), "--cap-status", "Exercise",
               "--commands", str(cmds))
    assert "1 step(s) failed" in out.output and "a variance went negative" in out.output
    assert (run / "alerts.ndjson").read_bytes(), "the rest of the night was warned"
    first, second = (msgspec.json.decode(line) for line in (run / "audit.ndjson").read_bytes().splitlines())
    assert first["outcome"] == "rejected" and first["note"] == "west"
    assert "not applied" in first["detail"] and "a variance went negative" in first["detail"]
    assert second["outcome"] == "applied" and second["note"] == "again"
    n = len((tiny / "reports.ndjson").read_bytes().splitlines())
    assert EventLog(run / "events.sqlite", readonly=True).count("reports") == n, "nothing accepted is lost"
    _cli("replay", str(run / "events.sqlite"), "--out", str(tmp_path / "again"), "-q")
    _same_outputs(run, tmp_path / "again")


def test_reports_read_from_a_pipe_are_run_as_from_a_file(tiny, tmp_path):
    # `airshield run <(zcat night.ndjson.gz) --out DIR`: the shell gives a pipe's path, no file.
    fifo = tmp_path / "reports.pipe"
    os.mkfifo(fifo)
    import threading

    feeder = threading.Thread(target=lambda: fifo.write_bytes((tiny / "reports.ndjson").read_bytes()))
    feeder.start()
    _cli("run", str(fifo), "--out", str(tmp_path / "piped"), "-q", "--cap-status", "Exercise")
    feeder.join()
    _cli("run", str(tiny / "reports.ndjson"), "--out", str(tmp_path / "filed"), "-q", "--cap-status", "Exercise")
    _same_outputs(tmp_path / "piped", tmp_path / "filed")


def test_a_damaged_event_log_is_named_not_a_traceback(tiny_run, tmp_path):
    import shutil

    log = tmp_path / "events.sqlite"
    shutil.copy(tiny_run / "events.sqlite", log)
    data = bytearray(log.read_bytes())
    page = 4096
    mid = (len(data) // page // 2) * page
    data[mid:mid + page] = bytes(page)  # one page in the middle zeroed (a bad disk, a bad copy)
    log.write_bytes(bytes(data))
    result = CliRunner().invoke(app, ["replay", str(log), "--out", str(tmp_path / "again"), "-q"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert str(log) in " ".join(result.output.split()), result.output


def test_a_fault_of_the_machine_in_a_step_stops_the_run_rather_than_leave_a_log_no_replay_matches(tiny, tmp_path,
                                                                                                  monkeypatch):
    import airshield.core
    from airshield.geo import load_regions
    from airshield.runtime import run_file
    from airshield.sources.ndjson import read_reports

    real = airshield.core.Core.step

    def out_of_memory_once(self, reports, now, commands=()):
        if reports and not getattr(self, "_failed_once", False):
            self._failed_once = True
            raise MemoryError
        return real(self, reports, now, commands)

    monkeypatch.setattr(airshield.core.Core, "step", out_of_memory_once)
    reports, _ = read_reports(tiny / "reports.ndjson")
    with pytest.raises(MemoryError):
        run_file(reports, load_regions("default"), tmp_path / "run")


def test_a_log_holding_a_report_this_airshield_refuses_says_so(tiny_run, tmp_path):
    import shutil

    log = tmp_path / "events.sqlite"
    shutil.copy(tiny_run / "events.sqlite", log)
    con = sqlite3.connect(log)
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'reports'"):
        con.execute(f'DROP TRIGGER "{name}"')  # the log is append-only; this test edits it behind its back
    seq, body = con.execute("SELECT seq, body FROM reports ORDER BY seq LIMIT 1").fetchone()
    bad = json.loads(body)
    bad["sensor"] = "has a space"  # as if an older airshield had taken it
    con.execute("UPDATE reports SET body = ? WHERE seq = ?", (json.dumps(bad).encode(), seq))
    con.commit()
    con.close()
    result = _cli("replay", str(log), "--out", str(tmp_path / "again"), "-q", code=1)
    said = " ".join(result.output.split())
    assert "refuses a report the log accepted" in said and "`sensor`" in said
