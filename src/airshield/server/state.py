"""The service's own state (not the night's): ``server.sqlite``.

Tables (the event log holds the night; this file holds who may do what):

``tokens``
    bearer tokens as sha256 hex digests (a token is 32 random bytes: a slow
    hash would add nothing), with the role and subject (operator id, sensor
    gateway name) they stand for. The token itself is shown once, at creation.
``sensors``
    the sensor registry: id, kind, position, nominal coverage radius, the
    token that may report for it, when it was registered and last heard from.
``dedup``
    a 16-byte hash of every accepted report (sensor, kind, measurement time and
    content, without the arrival time) with its log seq and measurement time: a
    report sent twice is recognised, also after a restart. The event log is the
    truth: at start the hashes of reports logged after the newest one here are
    added again (the engine's recovery), so a crash between the two writes loses
    none. Hashes of reports measured more than ``max_report_age_s`` (and a
    queue margin, Engine.prune) before the service clock are pruned
    (:meth:`ServerState.prune`): ingest refuses such reports anyway, so the
    memory and the table stay the size of the last hours, not of every night
    the service has run.
``idempotency``
    ``Idempotency-Key`` of each ingest request per token, with its reply: the
    same key again is refused with 409 and the first reply. Keys are kept for
    ``idempotency_keep_s`` of wall time (a client retries within minutes).

Other modules (webhooks) may add their own tables with :meth:`ServerState.connect`.
One connection per use site, WAL mode: readers never block the writer.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    hash TEXT PRIMARY KEY, role TEXT NOT NULL, subject TEXT NOT NULL, created REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS sensors (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, lat REAL, lon REAL, alt_m REAL,
    range_m REAL NOT NULL, token TEXT NOT NULL, registered REAL NOT NULL, last_seen REAL,
    last_heartbeat REAL);
CREATE INDEX IF NOT EXISTS sensors_token ON sensors (token);
CREATE TABLE IF NOT EXISTS dedup (hash BLOB PRIMARY KEY, seq INTEGER NOT NULL, t REAL);
CREATE INDEX IF NOT EXISTS dedup_t ON dedup (t);
CREATE TABLE IF NOT EXISTS idempotency (
    token TEXT NOT NULL, key TEXT NOT NULL, reply TEXT NOT NULL, t REAL NOT NULL,
    PRIMARY KEY (token, key));
CREATE INDEX IF NOT EXISTS idempotency_t ON idempotency (t);
"""

ROLES = ("sensor", "viewer", "operator", "admin")
#: Nominal coverage radius by sensor kind when none is given, m (shared/docs/domain.md:
#: an acoustic node hears a drone at ~3-5 km; a surveillance radar sees low drones to ~30-50 km).
#: Sensor kinds that stand at one place: registered with a position, and their reports must
#: come from there (ingest). An observer's phone moves; ADS-B and partner feeds report the
#: target's position.
FIXED_KINDS = ("acoustic", "radar")
DEFAULT_RANGE_M = {"acoustic": 4_000.0, "radar": 40_000.0, "observer": 5_000.0, "position": 0.0, "adsb": 0.0}


def hash_token(token: str) -> str:
    """The stored form of a token: sha256 hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(prefix: str = "as") -> str:
    """A fresh bearer token: ``<prefix>_`` and 32 random bytes, URL-safe base64."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


@dataclass(frozen=True)
class Principal:
    """Who a request is: role, subject (operator id / sensor token name), token hash."""

    role: str
    subject: str
    token_hash: str


@dataclass
class Sensor:
    """A registered sensor (the registry's row). Times s since the epoch."""

    id: str
    kind: str
    lat: float | None  # None: a network feed without one position (ADS-B, a partner system)
    lon: float | None
    alt_m: float | None
    range_m: float
    token: str
    registered: float
    last_seen: float | None = None
    last_heartbeat: float | None = None


def connect(path: Path) -> sqlite3.Connection:
    """An autocommit WAL connection to ``server.sqlite`` usable from any thread (callers lock)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


class ServerState:
    """Tokens, sensors, duplicate hashes and idempotency keys (see module doc); thread-safe."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._db = connect(self.path)
        cols = [c[1] for c in self._db.execute("PRAGMA table_info(dedup)")]
        if cols and "t" not in cols:  # a state file from before pruning: its hashes go at the first prune
            self._db.execute("ALTER TABLE dedup ADD COLUMN t REAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._tokens: dict[str, Principal] = {}
        for h, role, subject in self._db.execute("SELECT hash, role, subject FROM tokens WHERE revoked = 0"):
            self._tokens[h] = Principal(role, subject, h)
        self.sensors: dict[str, Sensor] = {}
        for row in self._db.execute("SELECT id, kind, lat, lon, alt_m, range_m, token, registered, last_seen, "
                                    "last_heartbeat FROM sensors"):
            self.sensors[row[0]] = Sensor(*row)
        self._dirty_seen: set[str] = set()
        self._seen_lock = threading.Lock()  # touch (request threads) against flush_seen (the engine)
        # hash -> measurement time (s; -inf: unknown, from a state file before pruning)
        self._dedup: dict[bytes, float] = {
            bytes(h): (-math.inf if t is None else t) for h, t in self._db.execute("SELECT hash, t FROM dedup")}

    def connect(self) -> sqlite3.Connection:
        """Another connection to the same file (for modules with their own tables)."""
        return connect(self.path)

    def close(self) -> None:
        self.flush_seen()
        self._db.close()

    # ------------------------------------------------------------------ tokens

    def add_token(self, role: str, subject: str, token: str | None = None, t: float = 0.0) -> str:
        """Store a token for ``role``/``subject`` (a new random one unless given); returns the token."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {role!r}")
        token = token or new_token()
        h = hash_token(token)
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO tokens (hash, role, subject, created, revoked) "
                             "VALUES (?, ?, ?, ?, 0)", (h, role, subject, t))
            self._tokens[h] = Principal(role, subject, h)
        return token

    def revoke(self, subject: str, role: str) -> int:
        """Revoke every token of ``subject`` in ``role``; returns how many."""
        with self._lock:
            cur = self._db.execute("UPDATE tokens SET revoked = 1 WHERE subject = ? AND role = ? AND revoked = 0",
                                   (subject, role))
            for h in [h for h, p in self._tokens.items() if p.subject == subject and p.role == role]:
                del self._tokens[h]
        return cur.rowcount

    def revoke_sensor_token(self, sensor_id: str) -> list[str]:
        """Revoke the token sensor ``sensor_id`` reports with (a leaked or lost one); returns the
        ids of every sensor that shared it (they report with it no more: register them again)."""
        with self._lock:
            s = self.sensors.get(sensor_id)
            if s is None or s.token not in self._tokens:
                return []
            self._db.execute("UPDATE tokens SET revoked = 1 WHERE hash = ? AND revoked = 0", (s.token,))
            del self._tokens[s.token]
            return sorted(k for k, v in self.sensors.items() if v.token == s.token)

    def is_live(self, token_hash: str) -> bool:
        """Whether the token with this digest is still valid (not revoked)."""
        return token_hash in self._tokens

    def principal(self, token: str) -> Principal | None:
        return self._tokens.get(hash_token(token))

    def operators(self) -> list[dict]:
        with self._lock:
            rows = self._db.execute("SELECT subject, role, created FROM tokens WHERE role IN ('operator', 'viewer', "
                                    "'admin') AND revoked = 0 ORDER BY subject").fetchall()
        return [{"id": s, "role": r, "created": c} for s, r, c in rows]

    # ----------------------------------------------------------------- sensors

    def add_sensors(self, sensors: Iterable[Sensor]) -> None:
        sensors = list(sensors)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT OR REPLACE INTO sensors (id, kind, lat, lon, alt_m, range_m, token, registered, "
                    "last_seen, last_heartbeat) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(s.id, s.kind, s.lat, s.lon, s.alt_m, s.range_m, s.token, s.registered, s.last_seen,
                      s.last_heartbeat) for s in sensors])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            for s in sensors:
                self.sensors[s.id] = s

    def may_report(self, principal: Principal, sensor_id: str) -> bool:
        s = self.sensors.get(sensor_id)
        return s is not None and s.token == principal.token_hash

    def touch(self, sensor_ids: Iterable[str], t: float, heartbeat: bool = False) -> None:
        """The sensors were heard from at ``t`` (persisted by :meth:`flush_seen`).

        Called from request threads while the engine thread flushes: the set of
        changed ids is swapped and filled under ``_seen_lock``.
        """
        with self._seen_lock:
            for sid in sensor_ids:
                s = self.sensors.get(sid)
                if s is None:
                    continue
                if s.last_seen is None or t > s.last_seen:
                    s.last_seen = t
                if heartbeat:
                    s.last_heartbeat = t
                self._dirty_seen.add(sid)

    def flush_seen(self) -> None:
        """Write the last-seen times changed since the last call."""
        with self._seen_lock:
            if not self._dirty_seen:
                return
            ids, self._dirty_seen = self._dirty_seen, set()
            rows = [(self.sensors[i].last_seen, self.sensors[i].last_heartbeat, i) for i in ids if i in self.sensors]
        with self._lock:
            self._db.executemany("UPDATE sensors SET last_seen = ?, last_heartbeat = ? WHERE id = ?", rows)

    # ------------------------------------------------------------- duplicates

    def is_duplicate(self, h: bytes) -> bool:
        return h in self._dedup

    def add_hashes(self, rows: list[tuple[bytes, int, float]]) -> None:
        """Remember accepted reports' (hash, log seq, measurement time in s) (called by the engine
        after the log append)."""
        if not rows:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("INSERT OR IGNORE INTO dedup (hash, seq, t) VALUES (?, ?, ?)", rows)
            self._db.execute("COMMIT")
            for h, _, t in rows:
                self._dedup.setdefault(h, t)

    def prune(self, reports_before: float, keys_before: float) -> tuple[int, int]:
        """Forget the hashes of reports measured before ``reports_before`` and the idempotency
        keys stored before ``keys_before`` (both s since the epoch); returns how many of each."""
        with self._lock:
            old = [h for h, t in self._dedup.items() if t < reports_before]
            for h in old:
                del self._dedup[h]
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM dedup WHERE t IS NULL OR t < ?", (reports_before,))
            keys = self._db.execute("DELETE FROM idempotency WHERE t < ?", (keys_before,)).rowcount
            self._db.execute("COMMIT")
        return len(old), keys

    def hashes_held(self) -> int:
        """How many report hashes are held (memory and table alike)."""
        return len(self._dedup)

    def last_hashed_seq(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM dedup").fetchone()[0])

    # ------------------------------------------------------------ idempotency

    def idempotent_reply(self, token_hash: str, key: str) -> dict | None:
        with self._lock:
            row = self._db.execute("SELECT reply FROM idempotency WHERE token = ? AND key = ?",
                                   (token_hash, key)).fetchone()
        return json.loads(row[0]) if row else None

    def store_reply(self, token_hash: str, key: str, reply: dict, t: float) -> None:
        """Remember a taken request's key and reply (the first one stays)."""
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO idempotency (token, key, reply, t) VALUES (?, ?, ?, ?)",
                             (token_hash, key, json.dumps(reply), t))
