"""The event log: every accepted report, every operator command, every step and every event.

One SQLite file in WAL mode (docs/decisions/0011-event-log.md). Append-only:
triggers refuse UPDATE and DELETE on every table, so a night's record cannot
be rewritten by accident. What it holds:

``meta``
    what the log was made with: the schema version, the core's configuration
    (JSON), the region source, the batch length, the package version.
``reports``
    every accepted report, in acceptance order (``seq``), as its canonical
    NDJSON bytes (msgspec round-trips them exactly).
``commands``
    every operator command, in acceptance order.
``registry``
    sensors made known to the core in advance (a sensor registry), each as
    one of its reports, with the step after which it was registered: the
    tracker uses the positions of silent acoustic nodes (negative
    information), so replay must know them at the same moment.
``steps``
    every step the core took: its time and the last report and command it
    consumed. Replay feeds the core exactly these steps, which is why a replay
    gives the same events bit for bit however irregular the live clock was.
``events``
    every event the core emitted (track, alert, audit), as the NDJSON line the
    outputs hold, with the step that made it.

A step and its events are written in one transaction: after a crash, either
the whole step is in the log or none of it, and the reports it would have
consumed are still there, waiting for the next step.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reports (
    seq INTEGER PRIMARY KEY, arrival REAL NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS commands (
    seq INTEGER PRIMARY KEY, t REAL NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS registry (
    seq INTEGER PRIMARY KEY, after_step INTEGER NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS steps (
    step INTEGER PRIMARY KEY, now REAL NOT NULL, last_report INTEGER NOT NULL,
    last_command INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY, step INTEGER NOT NULL, kind TEXT NOT NULL, t REAL NOT NULL,
    key TEXT NOT NULL, body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS events_step ON events (step);
CREATE INDEX IF NOT EXISTS events_kind ON events (kind, seq);
CREATE INDEX IF NOT EXISTS events_key ON events (kind, key, t);
"""
_TABLES = ("meta", "reports", "commands", "registry", "steps", "events")


class LogError(RuntimeError):
    """The event log cannot be used as asked (wrong file, another configuration, ...)."""


@dataclass(frozen=True)
class Step:
    """One logged step: time, and the last report and command seq it consumed (0: none yet)."""

    step: int
    now: float
    last_report: int
    last_command: int


@dataclass(frozen=True)
class LoggedEvent:
    """One logged event: its seq, step, kind (``track``, ``alert``, ``audit``), time, key and line."""

    seq: int
    step: int
    kind: str
    t: float
    key: str
    body: bytes


class EventLog:
    """An append-only event log in one SQLite file.

    Args:
        path: the file (created if missing).
        readonly: open an existing log for reading only (replay).
        durability: ``process`` (default): a committed transaction survives the
            process being killed (WAL with synchronous=NORMAL: the WAL is in the
            operating system's hands at commit); ``power``: it also survives a
            power cut (synchronous=FULL: an fsync per commit, ~ms each).
    """

    def __init__(self, path: str | Path, readonly: bool = False, durability: str = "process"):
        if durability not in ("process", "power"):
            raise ValueError(f"durability must be 'process' or 'power', got {durability!r}")
        self.path = Path(path)
        if not readonly and not _writable(self.path):
            raise LogError(f"{self.path}: permission denied (the event log and its directory must be writable)")
        try:
            self._db = self._connect(readonly, durability)
            tables = self._tables()
        except sqlite3.OperationalError as exc:
            # A WAL log read where its -shm file cannot be made (a read-only copy, an archive):
            # read it as an immutable file, unless a write-ahead file says someone may write it.
            wal = self.path.with_name(self.path.name + "-wal")
            if not readonly or _writable(self.path) or (wal.exists() and wal.stat().st_size > 0):
                raise LogError(f"{self.path}: cannot read the event log ({exc})") from None
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True, isolation_level=None)
            tables = self._tables()
        except sqlite3.DatabaseError as exc:
            raise LogError(f"{self.path}: not an event log ({exc})") from None
        if not set(_TABLES) <= tables:
            raise LogError(f"{self.path}: not an airshield event log (tables {sorted(tables)})")
        v = self.meta().get("schema_version")
        if v is not None and int(v) != SCHEMA_VERSION:
            raise LogError(f"{self.path}: schema version {v}, this airshield reads {SCHEMA_VERSION}")

    def _tables(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}

    def _connect(self, readonly: bool, durability: str) -> sqlite3.Connection:
        if readonly:
            if not self.path.is_file():
                raise LogError(f"{self.path}: no such event log")
            return sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None)
        # WAL: readers (replay, the service's queries) never block the writer. In WAL mode
        # synchronous=NORMAL keeps every commit across a crash of the process, FULL also
        # across a power cut (SQLite docs, "PRAGMA synchronous", "Write-Ahead Logging").
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={'FULL' if durability == 'power' else 'NORMAL'}")
        db.executescript(_SCHEMA)
        for t in _TABLES:
            for op in ("UPDATE", "DELETE"):
                db.execute(
                    f"CREATE TRIGGER IF NOT EXISTS {t}_no_{op.lower()} BEFORE {op} ON {t} "
                    f"BEGIN SELECT RAISE(ABORT, 'the event log is append-only: no {op} on {t}'); END")
        return db

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ meta

    def meta(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT key, value FROM meta"))

    def init_meta(self, values: dict[str, object]) -> None:
        """Write the meta data of a new log (once; a log is never re-labelled)."""
        have = self.meta()
        if have:
            raise LogError(f"{self.path}: already holds a night (made {have.get('created_by', '?')})")
        rows = [("schema_version", str(SCHEMA_VERSION))]
        rows += [(k, v if isinstance(v, str) else json.dumps(v, sort_keys=True)) for k, v in values.items()]
        with self._tx():
            self._db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", rows)

    # ---------------------------------------------------------------- writing

    def _tx(self):
        return _Transaction(self._db)

    def append_reports(self, rows: Sequence[tuple[float, bytes]]) -> int:
        """Append (arrival, body) rows durably; returns the seq of the last one (0 if none)."""
        with self._tx():
            self._db.executemany("INSERT INTO reports (arrival, body) VALUES (?, ?)", rows)
        return self.last_seq("reports")

    def append_command(self, t: float, body: bytes) -> int:
        """Append one operator command durably; returns its seq."""
        with self._tx():
            cur = self._db.execute("INSERT INTO commands (t, body) VALUES (?, ?)", (t, body))
        return int(cur.lastrowid)

    def append_registry(self, after_step: int, bodies: Sequence[bytes]) -> None:
        """Register sensors (one report body each) after step ``after_step``, durably."""
        with self._tx():
            self._db.executemany("INSERT INTO registry (after_step, body) VALUES (?, ?)",
                                 ((after_step, b) for b in bodies))

    def registry(self) -> dict[int, list[bytes]]:
        """after_step -> report bodies registered then, in order."""
        out: dict[int, list[bytes]] = {}
        for step, body in self._db.execute("SELECT after_step, body FROM registry ORDER BY seq"):
            out.setdefault(int(step), []).append(body)
        return out

    def append_step(self, now: float, last_report: int, last_command: int,
                    events: Iterable[tuple[str, float, str, bytes]]) -> int:
        """Append a step and its events (kind, t, key, body) in one transaction; returns the step number."""
        return self.append_steps([], [(now, last_report, last_command, events)])

    def append_steps(self, reports: Sequence[tuple[float, bytes]],
                     steps: Sequence[tuple[float, int, int, Iterable[tuple[str, float, str, bytes]]]]) -> int:
        """Append reports (arrival, body), then steps (now, last report, last command, events), in one
        transaction; returns the last step number."""
        step = 0
        with self._tx():
            if reports:
                self._db.executemany("INSERT INTO reports (arrival, body) VALUES (?, ?)", reports)
            for now, last_report, last_command, events in steps:
                cur = self._db.execute("INSERT INTO steps (now, last_report, last_command) VALUES (?, ?, ?)",
                                       (now, last_report, last_command))
                step = int(cur.lastrowid)
                self._db.executemany("INSERT INTO events (step, kind, t, key, body) VALUES (?, ?, ?, ?, ?)",
                                     ((step, k, t, key, b) for k, t, key, b in events))
        return step

    # ---------------------------------------------------------------- reading

    def last_seq(self, table: str) -> int:
        col = "step" if table == "steps" else "seq"
        return int(self._db.execute(f"SELECT COALESCE(MAX({col}), 0) FROM {table}").fetchone()[0])

    def count(self, table: str) -> int:
        return int(self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def steps(self) -> Iterator[Step]:
        for row in self._db.execute("SELECT step, now, last_report, last_command FROM steps ORDER BY step"):
            yield Step(*row)

    def reports(self, after: int = 0, upto: int | None = None) -> list[tuple[int, float, bytes]]:
        """(seq, arrival, body) of reports with after < seq <= upto."""
        q = "SELECT seq, arrival, body FROM reports WHERE seq > ?"
        args: list = [after]
        if upto is not None:
            q += " AND seq <= ?"
            args.append(upto)
        return self._db.execute(q + " ORDER BY seq", args).fetchall()

    def iter_reports(self, chunk: int = 50_000) -> Iterator[tuple[int, float, bytes]]:
        last = 0
        while True:
            rows = self.reports(last, last + chunk)
            if not rows:
                return
            yield from rows
            last = rows[-1][0]

    def commands(self, after: int = 0, upto: int | None = None) -> list[tuple[int, float, bytes]]:
        q = "SELECT seq, t, body FROM commands WHERE seq > ?"
        args: list = [after]
        if upto is not None:
            q += " AND seq <= ?"
            args.append(upto)
        return self._db.execute(q + " ORDER BY seq", args).fetchall()

    def events(self, kind: str | None = None, after: int = 0) -> Iterator[LoggedEvent]:
        q = "SELECT seq, step, kind, t, key, body FROM events WHERE seq > ?"
        args: list = [after]
        if kind is not None:
            q += " AND kind = ?"
            args.append(kind)
        for row in self._db.execute(q + " ORDER BY seq", args):
            yield LoggedEvent(*row)

    def recent_steps(self, span_s: float) -> list[tuple[int, float]]:
        """(step, now) of the steps within ``span_s`` of the last one, in step order ([] if none)."""
        last = self._db.execute("SELECT MAX(now) FROM steps").fetchone()[0]
        if last is None:
            return []
        return self._db.execute("SELECT step, now FROM steps WHERE now >= ? ORDER BY step",
                                (float(last) - span_s,)).fetchall()

    def step_events(self, step: int) -> list[LoggedEvent]:
        return [LoggedEvent(*r) for r in self._db.execute(
            "SELECT seq, step, kind, t, key, body FROM events WHERE step = ? ORDER BY seq", (step,))]


def _writable(path: Path) -> bool:
    """Whether a log at ``path`` can be written: the file (if it is there) and its directory
    (SQLite makes the -wal and -shm files beside it)."""
    parent = path.parent if path.parent.exists() else next(
        (p for p in path.parents if p.exists()), Path("."))
    return os.access(parent, os.W_OK | os.X_OK) and (not path.exists() or os.access(path, os.W_OK))


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error) on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb):
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
        return False
