"""Checks of CAP 1.2 messages: the OASIS schema, and the rules it cannot express.

:func:`validate` checks one message: well-formed XML, valid against
``<shared>/spec/cap-1.2.xsd`` (loaded once), then the rules of the CAP 1.2
text that the schema leaves out (date-time offsets, identifier characters,
``references`` triples, closed polygons in range, ``expires`` after ``sent``,
the info languages). :func:`check_chains` checks a sequence of messages
together: every Update and Cancel references its chain's Alert, seen earlier
from the same sender; no identifier repeats; nothing follows a Cancel.

Every problem is one string that names the message identifier and the
element, e.g. ``UA-32.A.20250907T210000Z.0: info[1]/area[1]/polygon[1]: not
closed (first point 50.1,30.2, last 50.3,30.4)``. An empty list means the
message (or the sequence) passed.

Section numbers (``CAP 3.2.1`` ...) are those of "Common Alerting Protocol
Version 1.2", OASIS Standard, 1 July 2010.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

import shapely
from lxml import etree
from shapely.geometry import Polygon

from airshield.alerting.cap import CAP_NS, LANGUAGES, CapMessage
from airshield.geo.paths import shared_dir

_NS = {"cap": CAP_NS}
# CAP 3.3.2: date-times with a numeric offset, no fraction (the schema's
# pattern), and UTC written "-00:00", never "Z" or "+00:00".
_CAP_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d")
# CAP 3.2.1: "MUST NOT include spaces, commas or restricted characters (< and &)".
_FORBIDDEN_ID_CHARS = re.compile(r"[\s,<&]")
# RFC 3066 language tags (CAP 3.2.2 <language>): primary tag and subtags of 1-8 letters/digits.
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")
_TIME_ELEMENTS = ("effective", "onset", "expires")


def schema_path() -> Path:
    """``<shared>/spec/cap-1.2.xsd``: the OASIS schema, read where it lies."""
    return shared_dir() / "spec" / "cap-1.2.xsd"


@functools.lru_cache(maxsize=4)
def _schema(path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(path)))


def cap_schema() -> etree.XMLSchema:
    """The CAP 1.2 schema, parsed on first use and kept."""
    return _schema(schema_path())


def parse_cap_time(text: str) -> datetime | None:
    """A CAP date-time (CAP 3.3.2) as an aware datetime, or None if malformed."""
    if not _CAP_TIME.fullmatch(text or ""):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _time_problem(text: str | None) -> str | None:
    """Why `text` is not a CAP date-time, or None if it is one."""
    if text is None:
        return "missing"
    if parse_cap_time(text) is None:
        if text.endswith("Z"):
            return f"{text!r}: CAP 1.2 3.3.2 forbids 'Z'; write UTC as -00:00"
        return f"{text!r}: not a CAP date-time like 2002-05-24T16:49:00-07:00"
    if text.endswith("+00:00"):
        return f"{text!r}: CAP 1.2 3.3.2 writes UTC as -00:00, not +00:00"
    return None


def _id_problem(text: str | None) -> str | None:
    """Why `text` is not a valid CAP identifier or sender (CAP 3.2.1), or None."""
    if not text:
        return "empty"
    bad = sorted(set(_FORBIDDEN_ID_CHARS.findall(text)))
    if bad:
        return f"{text!r} contains {', '.join(repr(c) for c in bad)} (CAP 1.2 3.2.1 forbids spaces, commas, < and &)"
    return None


def _text(element: etree._Element, path: str) -> str | None:
    found = element.find(path, _NS)
    return None if found is None else (found.text or "")


def _parse(xml: bytes) -> tuple[etree._Element | None, list[str]]:
    """The root element, or None and the parse error."""
    try:
        # No network, no entities: a CAP message needs neither.
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        return etree.fromstring(xml, parser), []
    except etree.XMLSyntaxError as exc:
        return None, [f"(unparsed): not well-formed XML: {exc}"]


def validate(xml: bytes, *, languages: Sequence[str] = LANGUAGES) -> list[str]:
    """Problems of one CAP 1.2 message; empty when it passes.

    Args:
        xml: the message bytes.
        languages: info languages every message must carry, each once (the
            airshield profile: Ukrainian and English); () to skip that check.

    Returns:
        One string per problem, each starting with the message identifier.
    """
    root, problems = _parse(xml)
    if root is None:
        return problems
    ident = _text(root, "cap:identifier") or "(no identifier)"
    schema = cap_schema()
    if not schema.validate(root):
        problems += [f"{ident}: schema: line {e.line}: {e.message}" for e in schema.error_log]
    if root.tag != f"{{{CAP_NS}}}alert":
        return problems + [f"{ident}: root element is {root.tag}, not the CAP 1.2 <alert>"]
    return problems + [f"{ident}: {p}" for p in _rule_problems(root, languages)]


def _rule_problems(root: etree._Element, languages: Sequence[str]) -> list[str]:
    """What the schema cannot check (the CAP 1.2 text, plus the airshield profile)."""
    problems: list[str] = []
    for tag in ("identifier", "sender"):
        why = _id_problem(_text(root, f"cap:{tag}"))
        if why:
            problems.append(f"{tag}: {why}")
    sent_text = _text(root, "cap:sent")
    why = _time_problem(sent_text)
    if why:
        problems.append(f"sent: {why}")
    sent = parse_cap_time(sent_text or "")

    msg_type = _text(root, "cap:msgType")
    references = _text(root, "cap:references")
    if references is not None:
        problems += [f"references: {p}" for p in reference_problems(references)]
    if msg_type in ("Update", "Cancel") and not (references or "").split():
        # CAP 3.2.1 <msgType>: an Update or Cancel acts on "the earlier
        # message(s) identified in <references>".
        problems.append(
            f"references: missing; an {msg_type} must reference the messages it acts on"
        )

    infos = root.findall("cap:info", _NS)
    seen_languages: list[str] = []
    for i, info in enumerate(infos, 1):
        where = f"info[{i}]"
        # CAP 3.2.2 <language>: RFC 3066 code; default "en-US" when absent.
        language = _text(info, "cap:language") or "en-US"
        if not _LANGUAGE_TAG.fullmatch(language):
            problems.append(f"{where}/language: {language!r} is not an RFC 3066 tag")
        seen_languages.append(language)
        times = {}
        for tag in _TIME_ELEMENTS:
            text = _text(info, f"cap:{tag}")
            if text is not None:
                why = _time_problem(text)
                if why:
                    problems.append(f"{where}/{tag}: {why}")
                times[tag] = parse_cap_time(text)
        expires = times.get("expires")
        if sent is not None and expires is not None and not expires > sent:
            problems.append(
                f"{where}/expires: {_text(info, 'cap:expires')} is not after sent {sent_text}"
            )
        effective = times.get("effective")
        if effective is not None and expires is not None and not expires > effective:
            problems.append(f"{where}/expires: not after effective {_text(info, 'cap:effective')}")
        # Google Public Alerts also wants expires, description and area in every info.
        for tag in ("expires", "description"):
            if not (_text(info, f"cap:{tag}") or "").strip():
                problems.append(f"{where}/{tag}: missing or empty (Google Public Alerts wants it)")
        areas = info.findall("cap:area", _NS)
        if not areas:
            problems.append(f"{where}/area: missing (Google Public Alerts wants one)")
        for j, area in enumerate(areas, 1):
            for k, polygon in enumerate(area.findall("cap:polygon", _NS), 1):
                problems += [
                    f"{where}/area[{j}]/polygon[{k}]: {p}"
                    for p in polygon_problems(polygon.text or "")
                ]
            for k, circle in enumerate(area.findall("cap:circle", _NS), 1):
                why = circle_problem(circle.text or "")
                if why:
                    problems.append(f"{where}/area[{j}]/circle[{k}]: {why}")
            for k, code in enumerate(area.findall("cap:geocode", _NS), 1):
                if (
                    not (_text(code, "cap:valueName") or "").strip()
                    or not (_text(code, "cap:value") or "").strip()
                ):
                    problems.append(f"{where}/area[{j}]/geocode[{k}]: empty valueName or value")
    for language in languages:
        n = seen_languages.count(language)
        if n != 1:
            problems.append(f"info: language {language} appears {n} times, expected once")
    return problems


def reference_problems(text: str) -> list[str]:
    """Problems of a <references> value (CAP 3.2.1).

    It is a whitespace-separated list of ``sender,identifier,sent`` triples:
    sender and identifier without spaces, commas, < or &, sent a CAP date-time.
    """
    problems = []
    triples = text.split()
    if not triples:
        return ["empty"]
    for i, triple in enumerate(triples, 1):
        parts = triple.split(",")
        if len(parts) != 3:
            problems.append(
                f"entry {i} {triple!r}: expected sender,identifier,sent (3 comma-separated parts), "
                f"got {len(parts)}"
            )
            continue
        sender, identifier, sent = parts
        for name, value in (("sender", sender), ("identifier", identifier)):
            if not value:
                problems.append(f"entry {i} {triple!r}: empty {name}")
            elif "<" in value or "&" in value:
                problems.append(f"entry {i} {triple!r}: {name} contains < or &")
        why = _time_problem(sent)
        if why:
            problems.append(f"entry {i}: sent {why}")
    return problems


def _pair(text: str) -> tuple[float, float] | None:
    """A "lat,lon" pair as floats, or None if malformed."""
    parts = text.split(",")
    if len(parts) != 2:
        return None
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    if lat != lat or lon != lon:  # NaN
        return None
    return lat, lon


def _pair_problem(index: int, pair: str, coords: tuple[float, float] | None) -> str | None:
    if coords is None:
        return f"point {index} {pair!r}: not a 'lat,lon' pair of numbers"
    lat, lon = coords
    if not -90.0 <= lat <= 90.0:
        return f"point {index} {pair!r}: latitude {lat} outside -90..90 (lat,lon order?)"
    if not -180.0 <= lon <= 180.0:
        return f"point {index} {pair!r}: longitude {lon} outside -180..180"
    return None


def polygon_problems(text: str) -> list[str]:
    """Problems of a <polygon> value (CAP 3.2.4).

    "A whitespace-delimited list of WGS 84 coordinate pairs. A minimum of 4
    coordinate pairs MUST be present and the first and last pairs of
    coordinates MUST be the same." Pairs are "latitude,longitude" (CAP 3.3.3).
    Google Public Alerts also refuses self-intersecting polygons; so does this.
    """
    pairs = text.split()
    problems = []
    coords = [_pair(p) for p in pairs]
    for i, (pair, c) in enumerate(zip(pairs, coords, strict=True), 1):
        why = _pair_problem(i, pair, c)
        if why:
            problems.append(why)
    if len(pairs) < 4:
        problems.append(f"{len(pairs)} points; CAP 1.2 3.2.4 requires at least 4")
    if pairs and coords[0] is not None and coords[0] != coords[-1]:
        problems.append(f"not closed (first point {pairs[0]}, last {pairs[-1]})")
    if not problems:
        # Google Public Alerts: "valid polygons without self-intersecting edges".
        ring = Polygon([(c[1], c[0]) for c in coords if c is not None])
        if not ring.is_valid:
            problems.append(f"not a valid polygon: {shapely.is_valid_reason(ring)}")
    return problems


def circle_problem(text: str) -> str | None:
    """Why a <circle> value is not "lat,lon radius_km" (CAP 3.2.4), or None."""
    parts = text.split()
    if len(parts) != 2:
        return f"{text!r}: expected 'lat,lon radius'"
    why = _pair_problem(1, parts[0], _pair(parts[0]))
    if why:
        return why
    try:
        radius = float(parts[1])
    except ValueError:
        return f"{text!r}: radius {parts[1]!r} is not a number"
    return None if radius >= 0 else f"{text!r}: negative radius"


def check_chains(messages: Iterable[bytes | CapMessage]) -> list[str]:
    """Problems of a sequence of CAP messages taken together, in the order sent.

    * no (sender, identifier) appears twice (CAP 3.2.1: identifiers are unique
      per sender);
    * every reference of an Update or Cancel names a message seen earlier with
      that sender, identifier and sent time;
    * every Update and Cancel references its chain's Alert: an Alert from the
      same sender (a chain is an Alert and what references it);
    * a message referencing several messages keeps to one chain, and is not
      sent before any of them;
    * nothing follows a Cancel: no message references a cancelled chain.

    Messages that do not parse are reported and skipped.
    """
    problems: list[str] = []
    Key = tuple[str, str]  # (sender, identifier)
    seen: dict[Key, tuple[str, str, Key]] = {}  # -> (sent, msgType, the chain's first message)
    cancelled: dict[Key, str] = {}  # chain -> identifier of its Cancel
    for n, message in enumerate(messages, 1):
        xml = message.xml if isinstance(message, CapMessage) else message
        root, errors = _parse(xml)
        if root is None:
            problems += [f"message {n} {e}" for e in errors]
            continue
        ident = _text(root, "cap:identifier") or f"(message {n}, no identifier)"
        sender = _text(root, "cap:sender") or ""
        sent = _text(root, "cap:sent") or ""
        msg_type = _text(root, "cap:msgType") or ""
        key = (sender, ident)
        if key in seen:
            problems.append(f"{ident}: identifier: repeats an earlier message from {sender}")
            continue
        chains: set[Key] = set()
        for triple in (_text(root, "cap:references") or "").split():
            parts = triple.split(",")
            if len(parts) != 3:
                problems.append(f"{ident}: references: {triple!r} is not sender,identifier,sent")
                continue
            ref_sender, ref_ident, ref_sent = parts
            earlier = seen.get((ref_sender, ref_ident))
            if earlier is None:
                problems.append(
                    f"{ident}: references: {ref_ident} from {ref_sender} was not sent earlier"
                )
                continue
            if earlier[0] != ref_sent:
                problems.append(
                    f"{ident}: references: {ref_ident} was sent {earlier[0]}, not {ref_sent}"
                )
            when, then = parse_cap_time(sent), parse_cap_time(earlier[0])
            if when is not None and then is not None and when < then:
                problems.append(f"{ident}: sent: {sent} is before {ref_ident}, which it references")
            chains.add(earlier[2])
        chain = key
        if msg_type in ("Update", "Cancel"):
            alerts = sorted(c for c in chains if c[0] == sender and seen[c][1] == "Alert")
            if not alerts:
                problems.append(
                    f"{ident}: references: an {msg_type} must reference its chain's Alert "
                    f"(an earlier Alert from {sender})"
                )
            if len(chains) > 1:
                names = ", ".join(c[1] for c in sorted(chains))
                problems.append(f"{ident}: references: mixes the chains of {names}")
            chain = alerts[0] if alerts else min(chains, default=key)
            if chain in cancelled:
                problems.append(
                    f"{ident}: {msg_type} follows Cancel {cancelled[chain]} of the chain of {chain[1]}"
                )
            if msg_type == "Cancel":
                cancelled.setdefault(chain, ident)
        seen[key] = (sent, msg_type, chain)
    return problems
