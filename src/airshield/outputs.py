"""The run directory's files, and the NDJSON lines the event log stores (shell).

Every event becomes one NDJSON line, and the same bytes go to the event log
and to the output file, so that a run directory can always be rebuilt from
its log (after a crash, or by ``airshield replay``):

* ``tracks.ndjson``: track states (docs/formats.md, "Tracks");
* ``alerts.ndjson``: alert events with their machine-readable reason
  (docs/formats.md, "Alerts");
* ``audit.ndjson``: what happened to each operator command;
* ``cap/``: one CAP 1.2 XML file per alert message, and ``alerts.atom``, the
  Atom feed of the alerts running at the end (written when CAP is enabled).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from airshield.alerting.events import AlertEvent, AlertReason, OperatorCommand
from airshield.alerting.policy import AuditRecord
from airshield.model import UtcTime, from_epoch
from airshield.pipeline import encode_events
from airshield.tracking import TrackEvent

#: Where the Atom feed says the alerts are served: a placeholder in the documentation domain
#: example.org; a deployment sets its own (``airshield run --cap-base-url``, ``serve --base-url``).
DEFAULT_BASE_URL = "https://alerts.example.org/"

_enc = msgspec.json.Encoder()


class AlertLine(msgspec.Struct):
    """One line of alerts.ndjson (docs/formats.md)."""

    type: str
    t: UtcTime
    region: str
    event: str
    state: str
    alert_id: str
    seq: int
    kind: str
    expires: UtcTime
    reason: AlertReason


class AuditLine(msgspec.Struct):
    """One line of audit.ndjson: an operator command and what the policy did with it."""

    type: str
    t: object
    region: str
    action: str
    user: str
    note: str
    duration_s: float
    given: object
    outcome: str
    detail: str
    alert_id: str | None


def _time(s: float):
    return from_epoch(round(s, 3))


def alert_line(e: AlertEvent) -> bytes:
    """The alerts.ndjson line of an alert event (no newline)."""
    return _enc.encode(AlertLine("alert", _time(e.t), e.region, e.event, e.state, e.alert_id, e.seq, e.kind,
                                 _time(e.expires), e.reason))


_alert_dec = msgspec.json.Decoder(AlertLine)


def decode_alert_line(line: bytes) -> AlertEvent:
    """The alert event back from its alerts.ndjson line (times to the millisecond, as written)."""
    d = _alert_dec.decode(line)
    return AlertEvent(t=d.t.timestamp(), region=d.region, event=d.event, state=d.state, alert_id=d.alert_id,
                      seq=d.seq, kind=d.kind, expires=d.expires.timestamp(), reason=d.reason)


def audit_line(a: AuditRecord) -> bytes:
    c = a.command
    return _enc.encode(AuditLine("audit", _time(a.t), c.region, c.action, c.user, c.note, c.duration_s,
                                 _time(c.t), a.outcome, a.detail, a.alert_id))


class CommandLine(msgspec.Struct, forbid_unknown_fields=True):
    """One operator command in a file (docs/formats.md, "Operator commands")."""

    t: UtcTime
    region: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    action: Literal["raise", "extend", "cancel"]
    user: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    note: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    duration_s: Annotated[float, msgspec.Meta(ge=0.0, le=7 * 86400.0)] = 0.0


def read_commands(path: str | Path) -> tuple[list[OperatorCommand], list]:
    """Operator commands of an NDJSON file, sorted by time, and one LineError per bad line."""
    from airshield.sources.ndjson import LINE_ERRORS, explain, iter_lines

    path = Path(path)
    out, errors = [], []
    dec = msgspec.json.Decoder(CommandLine)
    with path.open("rb") as f:
        for n, line in iter_lines(f):
            try:
                c = dec.decode(line)
            except LINE_ERRORS as exc:
                errors.append(explain(exc, path.name, n))
                continue
            out.append(OperatorCommand(t=c.t.timestamp(), region=c.region, action=c.action, user=c.user,
                                       note=c.note, duration_s=c.duration_s))
    return sorted(out, key=lambda c: c.t), errors


def command_body(c: OperatorCommand) -> bytes:
    return _enc.encode(c)


def decode_command(body: bytes) -> OperatorCommand:
    return msgspec.json.decode(body, type=OperatorCommand)


def track_lines(events: Sequence[TrackEvent], theatre, north=None) -> list[tuple[TrackEvent, bytes]]:
    """(event, tracks.ndjson line) of the non-tentative track events, in order."""
    buf = bytearray()
    encode_events(list(events), theatre, _enc, buf, north)
    lines = bytes(buf).split(b"\n")[:-1] if buf else []
    keep = [e for e in events if e.state.status != "tentative"]
    return list(zip(keep, lines, strict=True))


class Outputs:
    """The files of a run directory, appended to as events come (or rebuilt from a log).

    Args:
        out_dir: the run directory (created).
        cap: a CAP writer (``airshield.alerting.cap_files.CapFiles``-like object with
            ``add(event)`` and ``close()``), or None for no CAP output.
    """

    FILES = {"track": "tracks.ndjson", "alert": "alerts.ndjson", "audit": "audit.ndjson"}

    def __init__(self, out_dir: str | Path, cap=None):
        self.dir = Path(out_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._files = {k: (self.dir / name).open("wb") for k, name in self.FILES.items()}
        self.cap = cap
        self.counts = dict.fromkeys(self.FILES, 0)

    def write(self, kind: str, lines: Sequence[bytes]) -> None:
        if lines:
            self._files[kind].write(b"\n".join(lines) + b"\n")
            self.counts[kind] += len(lines)

    def alerts(self, events: Sequence[AlertEvent]) -> None:
        """Hand alert events to the CAP writer (the lines are written with :meth:`write`)."""
        if self.cap is not None:
            for e in events:
                self.cap.add(e)

    def flush(self) -> None:
        for f in self._files.values():
            f.flush()

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        if self.cap is not None:
            self.cap.close()


class CapFiles:
    """CAP 1.2 files of a run: ``cap/<identifier>.xml`` per message and ``alerts.atom`` (the feed).

    Args:
        out_dir: the run directory.
        regions: the region set the alerts are given for (polygons, names).
        status: CAP ``status``: ``Actual``, or ``Exercise`` for a simulated night.
        sender: CAP ``sender``.
        base_url: where the run directory is served (the feed's links).
    """

    def __init__(self, out_dir: str | Path, regions, status: str = "Actual",
                 sender: str | None = None, base_url: str = DEFAULT_BASE_URL, tag_authority: str | None = None):
        from airshield.alerting.atom import AtomFeed
        from airshield.alerting.cap import DEFAULT_SENDER, CapEncoder

        self.dir = Path(out_dir)
        (self.dir / "cap").mkdir(parents=True, exist_ok=True)
        self.encoder = CapEncoder(regions, sender=sender or DEFAULT_SENDER, status=status)
        self.feed = AtomFeed(base_url=base_url, tag_authority=tag_authority)
        self.count = 0
        self.last_t = None

    def add(self, event: AlertEvent) -> None:
        from airshield.alerting.cap import cap_path

        msg = self.encoder.encode(event)
        (self.dir / cap_path(msg.identifier)).write_bytes(msg.xml)
        self.feed.add(msg)
        self.count += 1
        self.last_t = event.t

    def close(self) -> None:
        (self.dir / "alerts.atom").write_bytes(self.feed.to_xml())
