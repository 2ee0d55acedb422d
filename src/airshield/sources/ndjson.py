"""NDJSON codec for sensor reports: decode with line-and-field errors, encode.

A bad line never costs the good ones: :func:`read_reports` returns every
valid report and, separately, one :class:`LineError` per rejected line that
names the source, the line number, the field and the reason.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import msgspec

from airshield.model import Report, ReportValueError

_decoder = msgspec.json.Decoder(Report)
_encoder = msgspec.json.Encoder()

_PATH = re.compile(r" - at (`key` in )?`\$\.?([^`]*)`$")
_UNKNOWN = re.compile(r"unknown field `([^`]*)`")
_FIELD = re.compile(r"^field `([^`]*)`: ")

#: Longest field name or reason an error repeats, characters.
ECHO_MAX = 300

#: What decoding one line can raise: besides msgspec's own errors, a string with bytes
#: that are not UTF-8 (UnicodeDecodeError) and nesting deeper than Python's recursion
#: limit (msgspec recurses while it skips an unknown field). Each costs its line only.
LINE_ERRORS = (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError, RecursionError)


@dataclass(frozen=True)
class LineError:
    """A rejected input line.

    Attributes:
        source: file name (or another label) the line came from.
        line: 1-based line number.
        field: the offending field (``$`` for the line as a whole).
        reason: what was wrong.
    """

    source: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        where = "" if self.field == "$" else f" field `{self.field}`:"
        return f"{self.source}:{self.line}:{where} {self.reason}"


class ReportDecodeError(ValueError):
    """One line could not be decoded; carries the :class:`LineError`."""

    def __init__(self, error: LineError):
        super().__init__(str(error))
        self.error = error


def explain(exc: Exception, source: str, line: int) -> LineError:
    """Turn a msgspec / validation exception into a :class:`LineError` (its field and reason
    cut to :data:`ECHO_MAX` characters: a 4 MB value is not sent back in full)."""
    e = _explain(exc, source, line)
    if len(e.field) <= ECHO_MAX and len(e.reason) <= ECHO_MAX:
        return e
    return LineError(source, line, cut(e.field), cut(e.reason))


def cut(text: str) -> str:
    """``text`` cut to :data:`ECHO_MAX` characters, saying how long it was."""
    return text if len(text) <= ECHO_MAX else text[:ECHO_MAX] + f"… ({len(text):,} characters)"


def _explain(exc: Exception, source: str, line: int) -> LineError:
    msg = str(exc)
    if isinstance(exc, UnicodeDecodeError):
        return LineError(source, line, "$", f"not valid UTF-8 (a string holds byte "
                                            f"0x{exc.object[exc.start]:02x})")
    if isinstance(exc, RecursionError):
        return LineError(source, line, "$", "nested too deeply")
    if isinstance(exc, ReportValueError):
        return LineError(source, line, exc.field, exc.reason)
    m = _FIELD.match(msg)  # a __post_init__ check, wrapped by msgspec
    if m:
        return LineError(source, line, m.group(1), msg[m.end():])
    m = _PATH.search(msg)
    if m:
        reason = msg[: m.start()] + (" (as a key)" if m.group(1) else "")
        return LineError(source, line, m.group(2) or "$", reason)
    m = _UNKNOWN.search(msg)
    if m:
        return LineError(source, line, m.group(1), "unknown field (see docs/formats.md)")
    if not isinstance(exc, msgspec.ValidationError):
        # msgspec counts bytes from 0 ("invalid character (byte 0)" reads like a NUL byte): say
        # which byte of the line, from 1, as an editor's column would.
        msg = re.sub(r"\(byte (\d+)\)", lambda m: f"at byte {int(m.group(1)) + 1} of the line", msg)
        return LineError(source, line, "$", f"not valid JSON ({msg})")
    return LineError(source, line, "$", msg)


def decode_report(line: bytes | str, source: str = "<input>", lineno: int = 1) -> Report:
    """Decode one NDJSON line into a report; raises :class:`ReportDecodeError`."""
    try:
        return _decoder.decode(line)
    except LINE_ERRORS as exc:
        raise ReportDecodeError(explain(exc, source, lineno)) from None


def iter_lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """(line number, stripped line) for each non-blank, non-comment line."""
    for n, raw in enumerate(stream, start=1):
        line = raw.strip()
        if line and not line.startswith(b"#"):
            yield n, line


def decode_lines(
    lines: Iterable[tuple[int, bytes]], source: str
) -> tuple[list[Report], list[LineError]]:
    """Decode numbered lines; valid reports and errors, each in input order."""
    reports: list[Report] = []
    errors: list[LineError] = []
    decode = _decoder.decode
    for n, line in lines:
        try:
            reports.append(decode(line))
        except LINE_ERRORS as exc:
            errors.append(explain(exc, source, n))
    return reports, errors


def read_reports(path: str | Path) -> tuple[list[Report], list[LineError]]:
    """Read a reports NDJSON file: (valid reports in file order, errors).

    A clean file (no comment lines, no bad line, one report a line) is decoded in
    one call; otherwise line by line, so that every error names its line and every
    valid line is kept.
    """
    path = Path(path)
    data = path.read_bytes()
    if data.startswith(b"\x1f\x8b"):
        raise ValueError(f"{path}: the file is gzip-compressed; decompress it first (gunzip, or zcat > reports.ndjson)")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValueError(f"{path}: the file is UTF-16 text; save it as UTF-8 (iconv -f UTF-16 -t UTF-8)")
    data = _normalised(data)
    if not data.startswith(b"#") and b"\n#" not in data:
        try:
            reports = _decoder.decode_lines(data)
        except LINE_ERRORS:
            reports = None  # find and name the bad lines below
        # msgspec reads a stream of JSON values: two reports on one line would pass.
        if reports is not None and len(reports) == _count_lines(data):
            return reports, []
    return decode_lines(iter_lines(io.BytesIO(data)), str(path))


def _count_lines(data: bytes) -> int:
    """The non-blank lines of LF-ended ``data`` (a count of line ends when no line is blank)."""
    if b"\n\n" in data or b"\n " in data or b"\n\t" in data or data[:1].isspace():
        return sum(1 for line in data.split(b"\n") if line.strip())
    return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


def _normalised(data: bytes) -> bytes:
    """A file's bytes without a byte-order mark (Windows editors write one; it is no part of
    the first report; nor of a line after a line end: files joined with ``cat``), with CR LF
    and CR line ends as LF (a raw CR is never inside JSON)."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    if b"\n\xef\xbb\xbf" in data:  # files joined with cat: each may begin with its own mark
        data = data.replace(b"\n\xef\xbb\xbf", b"\n")
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n") if b"\r" in data else data


def report_lines(path: str | Path, errors: Iterable[LineError]) -> list[int]:
    """The file line numbers of the valid reports :func:`read_reports` gave for ``path`` (with
    its ``errors``), in the same order: to name a report that a later check refuses by its line."""
    bad = {e.line for e in errors}
    data = _normalised(Path(path).read_bytes())
    return [n for n, _ in iter_lines(io.BytesIO(data)) if n not in bad]


def encode_report(report: Report) -> bytes:
    """One report as a JSON line, without the newline."""
    return _encoder.encode(report)


def report_hash(r: Report) -> bytes:
    """A report's identity for duplicate detection: 16 bytes of sha256 over its canonical
    encoding with the arrival time left out (a resent report arrives again, later). The
    service refuses a report it has by this identity; ``airshield run`` drops it too."""
    return hashlib.sha256(encode_report(msgspec.structs.replace(r, arrival=r.time))).digest()[:16]


def write_reports(reports: Iterable[Report], stream: IO[bytes]) -> int:
    """Write reports as NDJSON; returns the count."""
    n = 0
    buf = bytearray()
    for r in reports:
        _encoder.encode_into(r, buf, len(buf))
        buf += b"\n"
        n += 1
        if len(buf) > 1 << 20:
            stream.write(buf)
            buf.clear()
    stream.write(buf)
    return n
