"""A Server-Sent Events parser for clients of ``/v1/stream`` (the tests, the benchmark).

Follows the WHATWG HTML standard, "Server-sent events", section "Event stream
interpretation": lines end in LF (or CR / CRLF), a blank line dispatches the
event, a line starting with ``:`` is a comment, ``field: value`` with one
optional space after the colon. The server's ``: published=<s>`` comment is kept
as :attr:`SSEEvent.published` (the benchmark's clock).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SSEEvent:
    """One dispatched event (``id`` None: the frame had no id, e.g. ``overflow``)."""

    event: str
    data: str
    id: int | None = None
    published: float | None = None
    comments: tuple[str, ...] = ()


class SSEParser:
    """Incremental: :meth:`feed` bytes as they arrive, get the events completed by them."""

    def __init__(self) -> None:
        self._buf = b""
        self._reset()
        self.comments: list[str] = []  # every comment seen (heartbeats included)
        self.last_id: int | None = None

    def _reset(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._id: int | None = None
        self._published: float | None = None
        self._comments: list[str] = []

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        self._buf += chunk
        out: list[SSEEvent] = []
        while True:
            i = self._buf.find(b"\n")
            if i < 0:
                break
            line, self._buf = self._buf[:i].rstrip(b"\r").decode(), self._buf[i + 1:]
            ev = self._line(line)
            if ev is not None:
                out.append(ev)
        return out

    def _line(self, line: str) -> SSEEvent | None:
        if not line:
            if not self._data and not self._event:
                self._reset()
                return None
            ev = SSEEvent(self._event or "message", "\n".join(self._data), self._id, self._published,
                          tuple(self._comments))
            if self._id is not None:
                self.last_id = self._id
            self._reset()
            return ev
        if line.startswith(":"):
            text = line[1:].lstrip(" ")
            self.comments.append(text)
            self._comments.append(text)
            if text.startswith("published="):
                self._published = float(text.split("=", 1)[1])
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            self._id = int(value) if value.isdigit() else None
        return None
