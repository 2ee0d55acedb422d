"""The event log: append-only, a step and its events in one transaction, clear errors."""

from __future__ import annotations

import sqlite3

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
