"""The command line's answer to bad files and paths: one line that says what and where, no traceback."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import airshield.cli
from airshield.cli import app


def _fails(*args: str, says: str, code: int = 2) -> None:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    assert says in result.output and "Traceback" not in result.output, result.output


def test_a_scenario_that_is_not_text_is_named_not_a_traceback(tmp_path):
    f = tmp_path / "night.toml"
    f.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)))
    _fails("simulate", str(f), "--out", str(tmp_path / "out"), "-q", says="not UTF-8 text")


def test_simulating_into_a_file_says_the_night_needs_a_directory(tmp_path):
    f = tmp_path / "a-file"
    f.write_text("x")
    _fails("simulate", "tiny", "--out", str(f), "-q", says="is a file; the night is written into a directory")


def test_a_false_alarm_rate_that_would_ask_for_terabytes_is_refused_by_its_line(tmp_path):
    from importlib.resources import files

    text = (files("airshield") / "sim/scenarios/tiny.toml").read_text()
    f = tmp_path / "fa.toml"
    f.write_text(text.replace("false_alarms_per_node_hour = 0.2", "false_alarms_per_node_hour = 1e9"))
    _fails("simulate", str(f), "--out", str(tmp_path / "out"), "-q", says="false_alarms_per_node_hour")


@pytest.mark.parametrize("case", ["data-is-a-file", "log-not-a-database", "no-regions-file"])
def test_the_service_checks_its_files_before_it_starts(tmp_path, monkeypatch, case):
    monkeypatch.setenv("AIRSHIELD_ADMIN_TOKEN", "as_" + "x" * 43)
    data = tmp_path / "data"
    args = ["serve", "--data", str(data)]
    if case == "data-is-a-file":
        data.write_text("x")
        says = "is a file; the service keeps its files in a directory"
    elif case == "log-not-a-database":
        data.mkdir()
        (data / "events.sqlite").write_bytes(b"garbage, not a database" * 10)
        says = "not a readable SQLite database"
    else:
        args += ["--regions", str(tmp_path / "areas.geojson")]
        says = "no such file"
    _fails(*args, says=says)


def test_a_fault_no_command_foresaw_is_one_line_and_the_traceback_is_there_on_request(monkeypatch, capsys):
    def broken():
        raise ZeroDivisionError("a fault")

    monkeypatch.setattr(airshield.cli, "app", broken)
    monkeypatch.delenv("AIRSHIELD_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exc:
        airshield.cli.main()
    assert exc.value.code == 1
    err = " ".join(capsys.readouterr().err.split())  # (the console wraps long lines)
    assert "ZeroDivisionError: a fault" in err and "AIRSHIELD_DEBUG=1" in err
    monkeypatch.setenv("AIRSHIELD_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        airshield.cli.main()


def test_an_empty_cap_sender_is_refused_not_replaced_by_the_placeholder(tmp_path):
    f = tmp_path / "r.ndjson"
    f.write_text("")
    _fails("run", str(f), "--out", str(tmp_path / "run"), "--cap-sender", " ", says="--cap-sender: empty")
    _fails("serve", "--data", str(tmp_path / "data"), "--cap-sender", "", says="--cap-sender: empty")


def test_a_run_whose_output_files_cannot_be_written_writes_nothing(tmp_path):
    f = tmp_path / "r.ndjson"
    f.write_text("")
    out = tmp_path / "run"
    (out / "tracks.ndjson").mkdir(parents=True)
    _fails("run", str(f), "--out", str(out), says="tracks.ndjson is a directory")
    assert sorted(p.name for p in out.iterdir()) == ["tracks.ndjson"]
