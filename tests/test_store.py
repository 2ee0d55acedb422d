"""The event log: append-only, a step and its events in one transaction, clear errors."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys

import pytest

from airshield.store import EventLog, LogError


def test_the_log_is_append_only(tmp_path):
    log = EventLog(tmp_path / "e.sqlite")
    log.init_meta({"config": "{}"})
    log.append_reports([(1.0, b"{}"), (2.0, b"{}")])
    log.append_step(5.0, 2, 0, [("alert", 5.0, "UA-32", b'{"x":1}')])
    db = sqlite3.connect(tmp_path / "e.sqlite")
    for sql in ("UPDATE reports SET arrival = 0", "DELETE FROM reports", "DELETE FROM events",
                "UPDATE events SET body = x'00'", "DELETE FROM steps", "UPDATE meta SET value = ''"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(sql)
    assert log.count("reports") == 2 and log.count("events") == 1


def test_a_step_and_its_events_are_written_together_or_not_at_all(tmp_path):
    log = EventLog(tmp_path / "e.sqlite")

    def events():
        yield ("track", 1.0, "T1", b"{}")
        raise RuntimeError("the process dies half-way through writing a step")

    with pytest.raises(RuntimeError):
        log.append_step(5.0, 0, 0, events())
    assert log.count("steps") == 0 and log.count("events") == 0
    log.append_steps([(1.0, b"{}")], [(5.0, 1, 0, [("track", 1.0, "T1", b"{}")])])
    assert log.count("steps") == 1 and log.count("reports") == 1


def test_a_file_that_is_not_an_event_log_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(LogError, match="not an event log|not an airshield"):
        EventLog(bad)
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)")
    with pytest.raises(LogError, match="not an airshield event log"):
        EventLog(other, readonly=True)
    with pytest.raises(LogError, match="no such event log"):
        EventLog(tmp_path / "missing.sqlite", readonly=True)


def test_a_log_holds_one_night_and_is_never_relabelled(tmp_path):
    log = EventLog(tmp_path / "e.sqlite")
    log.init_meta({"config": "{}"})
    with pytest.raises(LogError, match="already holds a night"):
        log.init_meta({"config": "{}"})


def test_readers_see_committed_steps_while_the_writer_goes_on(tmp_path):
    w = EventLog(tmp_path / "e.sqlite")
    w.append_reports([(1.0, b"a")])
    r = EventLog(tmp_path / "e.sqlite", readonly=True)
    assert [b for _, _, b in r.reports()] == [b"a"]
    w.append_reports([(2.0, b"b")])
    assert [b for _, _, b in r.reports()] == [b"a", b"b"]


def _without_file_permission_override(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a Python that cannot override file permissions (as an ordinary user)."""
    return subprocess.run(["setpriv", "--bounding-set=-dac_override,-dac_read_search", sys.executable, "-c", code],
                          capture_output=True, text=True, timeout=60)


needs_setpriv = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                                   reason="needs root and setpriv to drop the permission override")


@needs_setpriv
def test_a_log_in_a_read_only_directory_can_still_be_read(tmp_path):
    # An archived night (a read-only copy): SQLite cannot make the WAL's -shm file beside it.
    src = EventLog(tmp_path / "w" / "events.sqlite")
    src.init_meta({"config": "{}"})
    src.append_step(10.0, 0, 0, [("alert", 10.0, "UA-30", b"{}")])
    src.close()
    ro = tmp_path / "archive"
    ro.mkdir()
    shutil.copy(tmp_path / "w" / "events.sqlite", ro / "events.sqlite")
    os.chmod(ro / "events.sqlite", 0o444)
    os.chmod(ro, 0o555)
    try:
        p = _without_file_permission_override(
            "from airshield.store import EventLog\n"
            f"log = EventLog({str(ro / 'events.sqlite')!r}, readonly=True)\n"
            "print(log.count('events'))")
        assert p.returncode == 0, p.stderr
        assert p.stdout.strip() == "1"
    finally:
        os.chmod(ro, 0o755)


@needs_setpriv
def test_a_log_that_cannot_be_written_says_permission_denied(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o555)
    try:
        p = _without_file_permission_override(
            "from airshield.store import EventLog\n"
            f"EventLog({str(ro / 'events.sqlite')!r})")
        assert p.returncode != 0 and "permission denied" in p.stderr
    finally:
        os.chmod(ro, 0o755)
