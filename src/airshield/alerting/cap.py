"""CAP 1.2 encoding of alert events: one CAP message per :class:`AlertEvent`.

The encoder is part of the pure core: same events in, same bytes out. It reads
no clock (every time comes from the event), draws no random numbers and writes
no files; the caller stores ``CapMessage.xml`` (e.g. under ``RUNDIR/cap/``,
see :func:`cap_path`) and publishes it.

A region's alert life (see :mod:`airshield.alerting.events`) becomes CAP
*chains*, one per ``alert_id``::

    alert / pre_alert (seq 0)     -> msgType Alert
    update                        -> msgType Update, references every earlier message
    all_clear / pre_alert_end     -> msgType Cancel, references every earlier message

Section numbers below (``CAP 3.2.1`` ...) are those of the OASIS standard
"Common Alerting Protocol Version 1.2" (1 July 2010). docs/cap.md gives the
whole mapping with the reasons for each choice.

Example::

    encoder = CapEncoder(load_regions(), sender="alerts@example.org")
    for event in events:                    # in order, as the policy emits them
        message = encoder.encode(event)
        (rundir / cap_path(message.identifier)).write_bytes(message.xml)
"""

from __future__ import annotations

import math
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import msgspec
import shapely
from lxml import etree
from shapely.geometry import LineString, MultiPolygon, Polygon
from shapely.geometry.polygon import orient
from shapely.ops import split

from airshield.alerting.events import HEARD_TEXT, SIGHTING_TEXT, AlertEvent, AlertReason, ago_text
from airshield.geo.region_sources import BAD_ID_CHARS
from airshield.geo.regions import Region, RegionSet
from airshield.model import from_epoch

#: The CAP 1.2 XML namespace (CAP 3.3.1).
CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
#: MIME type of a CAP message (IANA registration, used for Atom links).
CAP_MIME = "application/cap+xml"
#: Values of <status> (CAP 3.2.1).
STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
#: The info blocks of every message, in this order (CAP 3.2.2 <language>, RFC 3066 tags).
LANGUAGES = ("uk-UA", "en-US")
#: Default <sender>: a placeholder in the documentation domain example.org; a
#: deployment sets its own (CAP 3.2.1: globally unique, e.g. based on a domain name).
DEFAULT_SENDER = "airshield@example.org"
#: Default <code> (CAP 3.2.1, "special handling"): names the airshield profile.
DEFAULT_CODE = "airshield:air-raid"
#: Default <senderName> per language (CAP 3.2.2).
DEFAULT_SENDER_NAME = {
    "uk-UA": "airshield: система раннього попередження про повітряні загрози",
    "en-US": "airshield early warning of air threats",
}
#: Budget of polygon points per region (all its <polygon>s together): keeps a
#: message to a few tens of kB with two info blocks (docs/cap.md, "Size").
DEFAULT_MAX_POINTS = 500
#: Coordinates are written with this many decimals: 1e-4 deg is ~11 m of latitude,
#: finer than any simplification below, so rounding adds no visible error.
POLYGON_DECIMALS = 4
#: Simplification tolerances tried in turn (degrees, Douglas-Peucker) until a
#: region fits the point budget; 0.001 deg ~ 100 m, 0.05 deg ~ 5 km.
SIMPLIFY_TOLERANCES = (0.0, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05)
#: Expiry of a Cancel whose event has no expiry after its time, s: how long the
#: all-clear stays current for a client that polls (an estimate: Google Public
#: Alerts polls feeds every few minutes; an hour covers slow pollers).
DEFAULT_CANCEL_EXPIRES_S = 3600.0

# CAP 3.2.1 <identifier>, <sender>: "MUST NOT include spaces, commas or restricted
# characters (< and &)": BAD_ID_CHARS, which region files are held to when they are read.
_SAFE_PATH_CHARS = "-._~"

# Classes in order of danger: the order in which texts and parameters list them.
_CLASS_ORDER = ("ballistic", "cruise", "jet", "drone", "aircraft", "unknown")
# Classes that make a message Extreme rather than Severe (CAP 3.2.2 <severity>):
# missiles carry 400-500 kg warheads and leave minutes (ballistic) or about an
# hour (cruise) of warning; a Shahed-type drone carries ~50 kg (domain.md).
_EXTREME_CLASSES = frozenset({"ballistic", "cruise"})


class CapEncodingError(ValueError):
    """An event the encoder cannot turn into a correct CAP message (names the event)."""


class CapMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One encoded CAP message and what a publisher needs to know about it.

    Attributes:
        identifier: CAP <identifier>: ``<alert_id>.<seq>``.
        sender: CAP <sender>.
        sent: CAP <sent>, e.g. ``2025-09-07T21:04:05-00:00``.
        status: CAP <status>.
        msg_type: ``Alert``, ``Update`` or ``Cancel``.
        alert_id: the chain (the event's ``alert_id``).
        seq: the event's number within its chain.
        region: region id.
        event: the airshield event kind (``alert``, ``update``, ``all_clear``, ...).
        t: the event time, s since the epoch (``sent`` is it rounded down to a second).
        expires: CAP <expires> (same format as ``sent``).
        references: the ``sender,identifier,sent`` triples this message references.
        headline: language -> CAP <headline> of that info block.
        description: language -> CAP <description>.
        xml: the message, UTF-8 XML bytes.
    """

    identifier: str
    sender: str
    sent: str
    status: str
    msg_type: str
    alert_id: str
    seq: int
    region: str
    event: str
    t: float
    expires: str
    references: tuple[str, ...]
    headline: dict[str, str]
    description: dict[str, str]
    xml: bytes


def cap_time(t: float) -> str:
    """CAP date-time of `t` (s since the epoch), rounded down to the second.

    CAP 3.3.2: "2002-05-24T16:49:00-07:00"; alphabetic time zone designators
    such as "Z" MUST NOT be used, and UTC MUST be written "-00:00". The schema's
    pattern allows no fraction of a second.
    """
    return from_epoch(t).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%S") + "-00:00"


def cap_time_ceil(t: float) -> str:
    """CAP date-time of `t`, rounded up to the second (for expiry times)."""
    dt = from_epoch(t)
    if dt.microsecond:
        dt = dt.replace(microsecond=0) + timedelta(seconds=1)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + "-00:00"


def message_identifier(alert_id: str, seq: int) -> str:
    """CAP <identifier> of event `seq` of chain `alert_id`: ``<alert_id>.<seq>``.

    Unique per sender because ``alert_id`` is and ``seq`` is unique in a chain;
    stable, so a replayed night gives the same identifiers.

    Raises:
        CapEncodingError: `alert_id` holds a character CAP 3.2.1 forbids.
    """
    if not alert_id or BAD_ID_CHARS.search(alert_id):
        raise CapEncodingError(
            f"alert_id {alert_id!r} cannot make a CAP identifier: CAP 1.2 3.2.1 forbids "
            "spaces, commas, '<' and '&' in it"
        )
    return f"{alert_id}.{seq}"


def cap_path(identifier: str) -> str:
    """Relative path of a message's file: ``cap/<identifier>.xml``.

    Used for ``RUNDIR/cap/`` and, joined to a base URL, for the Atom feed's
    links. Characters other than letters, digits and ``-._~`` are percent-encoded,
    so any identifier gives one safe path segment.
    """
    return "cap/" + urllib.parse.quote(identifier, safe=_SAFE_PATH_CHARS) + ".xml"


# -- area --------------------------------------------------------------------


def _polygons_of(geom: Polygon | MultiPolygon) -> list[Polygon]:
    """The non-empty polygons of a (Multi)Polygon or of a set_precision result."""
    return [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and not p.is_empty]


def _without_holes(poly: Polygon) -> list[Polygon]:
    """`poly` cut into pieces without holes that cover exactly the same area.

    A CAP <polygon> has no holes (CAP 3.2.4: one ring of points), but regions
    do: Kyiv Oblast surrounds Kyiv, Chernihiv Oblast surrounds Slavutych (Kyiv
    Oblast). Drawn as its outer ring, a Kyiv Oblast alert would also cover Kyiv.
    A north-south line through a point of the first hole cuts that hole open;
    the pieces are cut again until no hole is left.
    """
    if not poly.interiors:
        return [poly]
    x = Polygon(poly.interiors[0]).representative_point().x
    _, miny, _, maxy = poly.bounds
    pieces = split(poly, LineString([(x, miny - 1.0), (x, maxy + 1.0)])).geoms
    return [q for piece in pieces if isinstance(piece, Polygon) for q in _without_holes(piece)]


def _pieces(geometry: Polygon | MultiPolygon, tolerance: float) -> list[Polygon]:
    """Hole-free polygons on the 1e-4 degree grid covering `geometry` simplified by `tolerance`."""
    grid = 10.0**-POLYGON_DECIMALS
    out: list[Polygon] = []
    simplified = geometry.simplify(tolerance, preserve_topology=True) if tolerance else geometry
    for poly in _polygons_of(simplified):
        for piece in _without_holes(poly):
            # set_precision snaps to the grid and keeps the result valid (it may
            # split a pinched piece or drop a sliver); snapping each hole-free
            # piece alone keeps it hole-free.
            for snapped in _polygons_of(shapely.set_precision(piece, grid)):
                if snapped.area > 0 and not snapped.interiors:
                    out.append(orient(snapped, sign=1.0))
    # Largest first; ties by coordinates, so the order never depends on GEOS internals.
    out.sort(key=lambda p: (-round(p.area, 12), p.exterior.coords[0]))
    return out


def area_polygons(
    geometry: Polygon | MultiPolygon, max_points: int = DEFAULT_MAX_POINTS
) -> list[str]:
    """CAP <polygon> strings outlining `geometry` (WGS84 lon/lat degrees).

    Each polygon of a MultiPolygon, and each hole-free piece of a polygon with
    holes (see `_without_holes`), is its own <polygon>. The outline is
    simplified with the smallest tolerance of `SIMPLIFY_TOLERANCES` that brings
    the total number of points to `max_points` or fewer; if even the largest
    does not (a region of many islands), the smallest pieces are left out, but
    never the largest.

    Returns:
        Strings of space-separated ``lat,lon`` pairs (CAP 3.2.4 <polygon>:
        WGS 84, latitude first, at least 4 pairs, the first equal to the last),
        with `POLYGON_DECIMALS` decimals, largest piece first.
    """
    for tolerance in SIMPLIFY_TOLERANCES:
        pieces = _pieces(geometry, tolerance)
        if sum(len(p.exterior.coords) for p in pieces) <= max_points:
            break
    kept, used = [], 0
    for i, piece in enumerate(pieces):
        n = len(piece.exterior.coords)
        if i == 0 or used + n <= max_points:
            kept.append(piece)
            used += n
    return [
        " ".join(
            f"{lat:.{POLYGON_DECIMALS}f},{lon:.{POLYGON_DECIMALS}f}"
            for lon, lat in p.exterior.coords
        )
        for p in kept
    ]


def sender_problem(sender: str) -> str | None:
    """Why ``sender`` cannot be a CAP <sender>, or None."""
    if not sender or BAD_ID_CHARS.search(sender):
        return f"sender {sender!r}: CAP 1.2 3.2.1 forbids spaces, commas, '<' and '&' in it"
    return None


def geocode(region_id: str) -> tuple[str, str]:
    """CAP <geocode> (valueName, value) for a region id (CAP 3.2.4).

    ISO 3166-2 codes (``UA-32``) are named "ISO 3166-2"; Ukraine's KATOTTG
    codes (``UA`` and 17 digits, the codifier of administrative-territorial
    units, Ministry of Communities and Territories Development order No. 290 of
    26 November 2020) "KATOTTG"; any other id "airshield-region".
    """
    if re.fullmatch(r"[A-Z]{2}-[A-Z0-9]{1,3}", region_id):
        return "ISO 3166-2", region_id
    if re.fullmatch(r"UA\d{17}", region_id):
        return "KATOTTG", region_id
    return "airshield-region", region_id


# -- texts -------------------------------------------------------------------

# Ukrainian nouns after a numeral: (1, 21, 31 ...; 2-4, 22-24 ...; 0, 5-20, 25-30 ...).
_UK_CLASS = {
    "drone": ("дрон", "дрони", "дронів"),
    "jet": ("реактивний дрон", "реактивні дрони", "реактивних дронів"),
    "cruise": ("крилата ракета", "крилаті ракети", "крилатих ракет"),
    "ballistic": ("балістична ракета", "балістичні ракети", "балістичних ракет"),
    "aircraft": ("літак", "літаки", "літаків"),
    "unknown": ("невідома ціль", "невідомі цілі", "невідомих цілей"),
}
_UK_OTHER = ("інша ціль", "інші цілі", "інших цілей")
_EN_CLASS = {
    "drone": ("drone", "drones"),
    "jet": ("jet drone", "jet drones"),
    "cruise": ("cruise missile", "cruise missiles"),
    "ballistic": ("ballistic missile", "ballistic missiles"),
    "aircraft": ("aircraft", "aircraft"),
    "unknown": ("unknown target", "unknown targets"),
}
_EN_OTHER = ("other target", "other targets")
_UK_TARGETS = ("ціль", "цілі", "цілей")
# "через N хвилин": the accusative after "через".
_UK_MINUTES_AFTER_CHEREZ = ("хвилину", "хвилини", "хвилин")
_UK_SENSORS = {
    "acoustic": "акустичні датчики",
    "radar": "радари",
    "observer": "спостерігачі",
    "position": "дані партнерів",
    "adsb": "ADS-B",
}
_EN_SENSORS = {
    "acoustic": "acoustic sensors",
    "radar": "radars",
    "observer": "observers",
    "position": "partner systems",
    "adsb": "ADS-B",
}
# Headline prefix and opening line of a message that is not an Actual alert.
_NOT_ACTUAL = {
    "Exercise": (
        ("НАВЧАННЯ", "Це навчальне повідомлення, а не справжня тривога."),
        ("EXERCISE", "This is an exercise message, not a real alert."),
    ),
    "Test": (
        ("ТЕСТ", "Це тестове повідомлення, а не справжня тривога."),
        ("TEST", "This is a test message, not a real alert."),
    ),
    "System": (
        ("СЛУЖБОВЕ", "Це службове повідомлення, а не тривога."),
        ("SYSTEM", "This is a system message, not an alert."),
    ),
    "Draft": (
        ("ЧЕРНЕТКА", "Це чернетка, а не справжня тривога."),
        ("DRAFT", "This is a draft, not a real alert."),
    ),
}


def uk_plural(n: int, forms: tuple[str, str, str]) -> str:
    """The Ukrainian form of a noun after the numeral `n`.

    `forms` are the forms after 1, after 2 and after 5 ("дрон", "дрони",
    "дронів"): 1, 21, 101 take the first; 2-4, 22-24 the second; 0, 5-20,
    25-30, 111-114 the third.
    """
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return forms[0]
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return forms[1]
    return forms[2]


def class_name(cls: str, uk: bool) -> str:
    """One threat of class ``cls`` in words, e.g. "крилата ракета" / "cruise missile"."""
    return (_UK_CLASS.get(cls, _UK_OTHER) if uk else _EN_CLASS.get(cls, _EN_OTHER))[0]


def en_plural(n: int, forms: tuple[str, str]) -> str:
    """The English form of a noun after the numeral `n` (singular only for 1)."""
    return forms[0] if n == 1 else forms[1]


def _ordered_counts(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """(class, count) with count > 0, most dangerous class first, unknown classes last."""
    rank = {c: i for i, c in enumerate(_CLASS_ORDER)}
    return sorted(
        ((c, n) for c, n in counts.items() if n > 0),
        key=lambda cn: (rank.get(cn[0], len(rank)), cn[0]),
    )


def _counts_of(reason: AlertReason) -> dict[str, int]:
    """Threats per class: the reason's `counts`, or counted from its threats."""
    if reason.counts:
        return dict(reason.counts)
    counts: dict[str, int] = {}
    for threat in reason.threats:
        counts[threat.cls] = counts.get(threat.cls, 0) + 1
    return counts


def counts_uk(counts: Mapping[str, int]) -> str:
    """E.g. "2 балістичні ракети, 5 дронів"."""
    return ", ".join(
        f"{n} {uk_plural(n, _UK_CLASS.get(c, _UK_OTHER))}" for c, n in _ordered_counts(counts)
    )


def counts_en(counts: Mapping[str, int]) -> str:
    """E.g. "2 ballistic missiles, 5 drones"."""
    return ", ".join(
        f"{n} {en_plural(n, _EN_CLASS.get(c, _EN_OTHER))}" for c, n in _ordered_counts(counts)
    )


def whole_minutes_of(eta_s: float | None, rounding: str) -> int | None:
    """Seconds -> whole minutes ('nearest', 'floor' for early bounds, 'ceil' for late ones)."""
    if eta_s is None or not math.isfinite(eta_s):
        return None
    m = max(eta_s, 0.0) / 60.0
    return {"nearest": round(m), "floor": math.floor(m), "ceil": math.ceil(m)}[rounding]


@dataclass(frozen=True)
class _Eta:
    """The nearest threat's ETA in whole minutes (nominal, earliest, latest)."""

    nominal: int | None
    lo: int | None
    hi: int | None

    @classmethod
    def of(cls, reason: AlertReason) -> _Eta:
        # The nominal ETA to the nearest minute; the bounds widened outwards, so
        # the written interval always holds the computed one.
        return cls(
            whole_minutes_of(reason.eta_s, "nearest"),
            whole_minutes_of(reason.eta_lo_s, "floor"),
            whole_minutes_of(reason.eta_hi_s, "ceil"),
        )

    def uk(self) -> str | None:
        if self.nominal is None and self.lo is None:
            return None
        if self.nominal is None:
            return f"Найближча ціль може прибути не раніше ніж через {self.lo} хв."
        when = (
            "менш ніж за хвилину"
            if self.nominal == 0
            else f"приблизно через {self.nominal} {uk_plural(self.nominal, _UK_MINUTES_AFTER_CHEREZ)}"
        )
        bounds = ""
        if self.lo is not None and self.hi is not None:
            bounds = f" (від {self.lo} до {self.hi} хв)"
        elif self.lo is not None:
            bounds = f" (не раніше ніж через {self.lo} хв)"
        return f"Найближча ціль очікується {when}{bounds}."

    def en(self) -> str | None:
        if self.nominal is None and self.lo is None:
            return None
        if self.nominal is None:
            return f"The nearest threat may arrive in {self.lo} min at the earliest."
        when = (
            "in less than a minute"
            if self.nominal == 0
            else f"in about {self.nominal} {en_plural(self.nominal, ('minute', 'minutes'))}"
        )
        bounds = ""
        if self.lo is not None and self.hi is not None:
            bounds = f" ({self.lo} to {self.hi} min)"
        elif self.lo is not None:
            bounds = f" (not before {self.lo} min)"
        return f"The nearest threat is expected {when}{bounds}."


def _places_sentence(places, uk: bool) -> str:
    """"May reach: Hadyach (possibly in 29 min), ..." from the reason's places (soonest first): the
    time is the earliest plausible arrival."""
    parts = []
    for p in places:
        m = whole_minutes_of(p.eta_lo_s, "floor")
        name = p.name_uk if uk else p.name
        if m is None or m <= 0:
            parts.append(f"{name} ({'зараз' if uk else 'now'})")
        elif uk:
            parts.append(f"{name} (можливо, вже через {m} {uk_plural(m, _UK_MINUTES_AFTER_CHEREZ)})")
        else:
            parts.append(f"{name} (possibly in {m} min)")
    return ("Можуть досягти: " if uk else "May reach: ") + ", ".join(parts) + "."


def _sensor_list(sensors: Mapping[str, int], names: Mapping[str, str]) -> str:
    """Report kinds, most threats supported first, e.g. "radars, acoustic sensors"."""
    kinds = sorted((k for k, n in sensors.items() if n > 0), key=lambda k: (-sensors[k], k))
    return ", ".join(names.get(k, k) for k in kinds)


# What a message says and asks, by situation (the event, and for a chain's end
# the region's state after it). Fields: event name, headline, opening sentence
# of the description (None: the threat summary), instruction.
@dataclass(frozen=True)
class _Wording:
    event: tuple[str, str]
    headline: tuple[str, str]
    opening: tuple[str, str] | None
    instruction: tuple[str, str]


_ALERT_EVENT = ("Повітряна тривога", "Air raid alert")
_PRE_ALERT_EVENT = ("Загроза повітряної атаки", "Air threat pre-alert")
_SHELTER_NOW = (
    "Негайно прямуйте до найближчого укриття і залишайтеся там до відбою тривоги.",
    "Go to the nearest shelter now and stay there until the all-clear.",
)
#: The description of a running alert (False) or pre-alert (True) with no threat in sight.
_HELD = {
    False: ("Зараз загроз над регіоном і поблизу не видно, але тривога триває до відбою: "
            "загроза може повернутися.",
            "No threat is seen over or near the region right now, but the alert stays until the "
            "all-clear: a threat may still come back."),
    True: ("Зараз загроз поблизу не видно; будьте готові, доки загрозу повітряної атаки не скасовано.",
           "No threat is seen near the region right now; stay ready until the pre-alert is lifted."),
}
_WORDING = {
    "alert": _Wording(_ALERT_EVENT, _ALERT_EVENT, None, _SHELTER_NOW),
    "alert-update": _Wording(
        _ALERT_EVENT, ("Повітряна тривога триває", "Air raid alert continues"), None, _SHELTER_NOW
    ),
    "pre_alert": _Wording(
        _PRE_ALERT_EVENT,
        _PRE_ALERT_EVENT,
        None,
        (
            "Будьте готові негайно перейти в укриття. Стежте за сигналами повітряної тривоги.",
            "Be ready to go to a shelter at once. Watch for an air raid alert.",
        ),
    ),
    "pre_alert-update": _Wording(
        _PRE_ALERT_EVENT,
        ("Загроза повітряної атаки зберігається", "Air threat pre-alert continues"),
        None,
        (
            "Будьте готові негайно перейти в укриття. Стежте за сигналами повітряної тривоги.",
            "Be ready to go to a shelter at once. Watch for an air raid alert.",
        ),
    ),
    "all_clear": _Wording(
        _ALERT_EVENT,
        ("Відбій повітряної тривоги", "All clear"),
        (
            "Загроза минула: цілей над регіоном немає і не очікується.",
            "The threat has passed: no threats are over the region or expected.",
        ),
        ("Можна залишити укриття.", "You may leave the shelter."),
    ),
    "all_clear-to-pre_alert": _Wording(
        _ALERT_EVENT,
        ("Відбій повітряної тривоги", "All clear"),
        (
            "Цілі залишили регіон, але загроза повітряної атаки зберігається: "
            "діє попередження про загрозу.",
            "The threats have left the region, but more may come: an air threat pre-alert "
            "is in effect.",
        ),
        (
            "Можна залишити укриття, але будьте готові повернутися до нього.",
            "You may leave the shelter, but be ready to return to it.",
        ),
    ),
    "pre_alert_end": _Wording(
        _PRE_ALERT_EVENT,
        ("Відбій загрози повітряної атаки", "Air threat pre-alert ended"),
        (
            "Загрозу знято: цілі більше не очікуються в регіоні.",
            "The threat is no longer expected in the region.",
        ),
        ("Додаткових дій не потрібно.", "No action is needed."),
    ),
    "pre_alert_end-to-alert": _Wording(
        _PRE_ALERT_EVENT,
        (
            "Замість попередження оголошено повітряну тривогу",
            "Pre-alert superseded by an air raid alert",
        ),
        (
            "Попередження про загрозу замінено повітряною тривогою.",
            "This pre-alert is replaced by an air raid alert.",
        ),
        _SHELTER_NOW,
    ),
}
_BALLISTIC_INSTRUCTION = (
    "Балістична загроза: удар можливий за лічені хвилини.",
    "Ballistic threat: impact can come within minutes.",
)
_OPERATOR_ACTION = {
    "raise": ("Тривогу оголосив черговий вручну.", "Raised by hand by the duty officer."),
    "extend": ("Тривогу продовжив черговий.", "Extended by the duty officer."),
    "cancel": ("Тривогу скасував черговий вручну.", "Cancelled by hand by the duty officer."),
}


# -- the encoder -------------------------------------------------------------


@dataclass
class _Chain:
    """What the encoder keeps of an open chain: enough to reference its messages."""

    kind: str
    region: str
    references: list[str] = field(default_factory=list)  # sender,identifier,sent


_END_EVENT = {"alert": "all_clear", "pre_alert": "pre_alert_end"}


class CapEncoder:
    """Turns a sequence of :class:`AlertEvent`s into CAP 1.2 messages.

    Stateful only in what ``references`` needs: per open chain, the
    ``sender,identifier,sent`` of its messages so far. Feed it every event, in
    order; a chain is forgotten once its Cancel is encoded. Pure otherwise.

    Args:
        regions: the regions events refer to (names, outlines).
        sender: CAP <sender> (CAP 3.2.1: globally unique, no spaces, commas, < or &).
        status: CAP <status>: "Actual"; a simulated night is an "Exercise".
        code: CAP <code> values (the profile), or () for none.
        sender_name: language -> CAP <senderName>.
        max_points: polygon points per region, all polygons together.
        cancel_expires_s: expiry of a Cancel after its time when the event's own
            `expires` is not later than the event, s.
        web: CAP <web>, a URL with more information, or None.
    """

    def __init__(
        self,
        regions: RegionSet,
        sender: str = DEFAULT_SENDER,
        status: str = "Actual",
        *,
        code: Iterable[str] = (DEFAULT_CODE,),
        sender_name: Mapping[str, str] | None = None,
        max_points: int = DEFAULT_MAX_POINTS,
        cancel_expires_s: float = DEFAULT_CANCEL_EXPIRES_S,
        web: str | None = None,
    ) -> None:
        problem = sender_problem(sender)
        if problem:
            raise ValueError(problem)
        if status not in STATUSES:
            raise ValueError(f"status {status!r}: expected one of {STATUSES}")
        if max_points < 4:
            raise ValueError(f"max_points {max_points}: a CAP polygon needs at least 4 points")
        if not cancel_expires_s > 0:
            raise ValueError(f"cancel_expires_s {cancel_expires_s}: must be > 0")
        self.regions = regions
        self.sender = sender
        self.status = status
        self.code = tuple(code)
        self.sender_name = dict(sender_name or DEFAULT_SENDER_NAME)
        self.max_points = max_points
        self.cancel_expires_s = cancel_expires_s
        self.web = web
        self._chains: dict[str, _Chain] = {}
        self._closed: set[str] = set()
        self._polygons: dict[str, list[str]] = {}

    @property
    def open_chains(self) -> list[str]:
        """alert_ids of the chains encoded so far and not yet cancelled, sorted."""
        return sorted(self._chains)

    def encode_all(self, events: Iterable[AlertEvent]) -> list[CapMessage]:
        """`encode` each event in turn."""
        return [self.encode(e) for e in events]

    def encode(self, event: AlertEvent) -> CapMessage:
        """The CAP message for `event` (the next event of the night, in order).

        Raises:
            CapEncodingError: the event's region is not in the region set; or the
                event does not continue its chain (an update before its alert,
                a seq out of order, anything after the chain's end, an alert or
                update that has already expired); the message names the event.
        """
        where = f"event {event.event!r} of chain {event.alert_id!r} (seq {event.seq})"
        if event.region not in self.regions:
            raise CapEncodingError(
                f"{where}: region {event.region!r} is not in the region set "
                f"{self.regions.source!r} ({len(self.regions)} regions)"
            )
        region = self.regions[event.region]
        msg_type = self._msg_type(event, where)
        if msg_type != "Cancel" and not event.expires > event.t:
            raise CapEncodingError(
                f"{where}: expires ({event.expires}) is not after the event time ({event.t}); "
                "CAP <expires> must follow <sent>"
            )
        identifier = message_identifier(event.alert_id, event.seq)
        sent = cap_time(event.t)
        chain = self._chains.get(event.alert_id)
        references = tuple(chain.references) if chain is not None else ()
        expires_t = event.expires if event.expires > event.t else event.t + self.cancel_expires_s
        expires = cap_time_ceil(expires_t)
        if expires <= sent:  # same second after rounding: CAP <expires> must be later
            expires = cap_time(event.t + 1.0)

        situation = self._situation(event, msg_type)
        texts = self._texts(event, region, situation)
        root = self._alert_xml(
            event, region, identifier, sent, expires, msg_type, references, situation, texts
        )
        xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

        # Only now, with the message made, does the chain move on.
        if chain is None:
            chain = self._chains[event.alert_id] = _Chain(kind=event.kind, region=event.region)
        chain.references.append(f"{self.sender},{identifier},{sent}")
        if msg_type == "Cancel":
            del self._chains[event.alert_id]
            self._closed.add(event.alert_id)
        return CapMessage(
            identifier=identifier,
            sender=self.sender,
            sent=sent,
            status=self.status,
            msg_type=msg_type,
            alert_id=event.alert_id,
            seq=event.seq,
            region=event.region,
            event=event.event,
            t=event.t,
            expires=expires,
            references=references,
            headline={lang: t["headline"] for lang, t in texts.items()},
            description={lang: t["description"] for lang, t in texts.items()},
            xml=xml,
        )

    # -- chain rules -------------------------------------------------------

    def _msg_type(self, event: AlertEvent, where: str) -> str:
        """CAP <msgType> of `event` (CAP 3.2.1), checking it continues its chain."""
        if event.kind not in _END_EVENT:
            raise CapEncodingError(f"{where}: kind {event.kind!r}: expected 'alert' or 'pre_alert'")
        if event.alert_id in self._closed:
            raise CapEncodingError(f"{where}: chain {event.alert_id!r} has already ended (Cancel)")
        chain = self._chains.get(event.alert_id)
        if chain is None:
            if event.seq != 0 or event.event != event.kind:
                raise CapEncodingError(
                    f"{where}: a chain must start with seq 0 and event {event.kind!r}; "
                    "was an earlier event of this chain not encoded?"
                )
            return "Alert"
        expected_seq = len(chain.references)
        if event.seq != expected_seq:
            raise CapEncodingError(f"{where}: expected seq {expected_seq} in this chain")
        if event.kind != chain.kind or event.region != chain.region:
            raise CapEncodingError(
                f"{where}: the chain is a {chain.kind!r} chain of region {chain.region!r}"
            )
        if event.event == "update":
            return "Update"
        if event.event == _END_EVENT[event.kind]:
            return "Cancel"
        raise CapEncodingError(
            f"{where}: a {event.kind!r} chain continues with 'update' or ends with "
            f"{_END_EVENT[event.kind]!r}"
        )

    @staticmethod
    def _situation(event: AlertEvent, msg_type: str) -> str:
        """Key of `_WORDING` for the event."""
        if msg_type == "Alert":
            return event.kind
        if msg_type == "Update":
            return f"{event.kind}-update"
        if event.event == "all_clear" and event.state == "pre_alert":
            return "all_clear-to-pre_alert"
        if event.event == "pre_alert_end" and event.state == "alert":
            return "pre_alert_end-to-alert"
        return event.event

    # -- info fields -------------------------------------------------------

    @staticmethod
    def _assessment(event: AlertEvent, situation: str) -> tuple[list[str], str, str, str]:
        """(responseTypes, urgency, severity, certainty) for the event (CAP 3.2.2)."""
        reason = event.reason
        classes = {c for c, n in _counts_of(reason).items() if n > 0}
        severity = "Extreme" if classes & _EXTREME_CLASSES else "Severe"
        inside = reason.inside > 0 or any(t.inside for t in reason.threats)
        if situation in ("all_clear", "pre_alert_end"):
            # Nothing left to do or fear: "Past - responsive action is no longer
            # required", "Minor - minimal to no known threat".
            return ["AllClear"], "Past", "Minor", "Observed"
        if situation == "all_clear-to-pre_alert":
            # The alert is over, but threats are still expected: all clear, and
            # keep watching (the new pre-alert chain says how much).
            return ["AllClear", "Monitor"], "Past", "Minor", "Observed"
        if situation == "pre_alert_end-to-alert":
            # Not an all-clear: the pre-alert ends because an alert replaces it.
            # Shelter, as the alert that comes with it says; never AllClear.
            certainty = "Observed" if inside else "Likely"
            return ["Shelter"], "Immediate", severity, certainty
        if event.kind == "alert":
            # A threat is inside, or may arrive within its class's lead time.
            return ["Shelter"], "Immediate", severity, "Observed" if inside else "Likely"
        # A pre-alert: a threat may arrive within the horizon ("Possible": p <= ~50 %).
        return ["Prepare", "Monitor"], "Expected", severity, "Observed" if inside else "Possible"

    def _texts(
        self, event: AlertEvent, region: Region, situation: str
    ) -> dict[str, dict[str, str]]:
        """language -> {event, headline, description, instruction, areaDesc}."""
        wording = _WORDING[situation]
        reason = event.reason
        counts = _counts_of(reason)
        eta = _Eta.of(reason)
        inside = max(reason.inside, sum(1 for t in reason.threats if t.inside))
        ballistic = counts.get("ballistic", 0) > 0 and situation in (
            "alert",
            "alert-update",
            "pre_alert_end-to-alert",
        )
        out: dict[str, dict[str, str]] = {}
        for i, lang in enumerate(LANGUAGES):
            uk = i == 0
            lines: list[str] = []
            prefix = ""
            if self.status in _NOT_ACTUAL:
                label, line = _NOT_ACTUAL[self.status][i]
                prefix = f"{label}. "
                lines.append(line)
            area = region.name_uk if uk else region.name
            headline = f"{prefix}{wording.headline[i]}: {area}"
            if wording.opening is not None:
                lines.append(wording.opening[i])
            if counts and wording.opening is None:
                summary = counts_uk(counts) if uk else counts_en(counts)
                headline += f" ({summary})"
                lines.append(f"Загроза: {summary}." if uk else f"Threats: {summary}.")
            if inside and situation != "all_clear" and situation != "pre_alert_end":
                if uk:
                    lines.append(f"Над регіоном зараз {inside} {uk_plural(inside, _UK_TARGETS)}.")
                else:
                    verb = "threat is" if inside == 1 else "threats are"
                    lines.append(f"{inside} {verb} over the region now.")
            elif wording.opening is None:
                sentence = eta.uk() if uk else eta.en()
                if sentence:
                    lines.append(sentence)
            if reason.places and wording.opening is None:
                lines.append(_places_sentence(reason.places, uk))
            if reason.sensors and wording.opening is None:
                names = _sensor_list(reason.sensors, _UK_SENSORS if uk else _EN_SENSORS)
                lines.append(f"Джерела даних: {names}." if uk else f"Detected by: {names}.")
            for age_s, texts in ((reason.sighting_age_s, SIGHTING_TEXT), (reason.heard_age_s, HEARD_TEXT)):
                if age_s is not None and wording.opening is None:
                    lines.append(texts[i].format(ago=ago_text(age_s, uk)))
            if (wording.opening is None and not counts and not inside and reason.sighting_age_s is None
                    and reason.heard_age_s is None and reason.operator is None):
                # Held with no threat in sight (R4's hold-off, a lost threat's hold): say so,
                # never send an empty description.
                lines.append(_HELD[situation.startswith("pre_alert")][i])
            if reason.operator is not None:
                action = _OPERATOR_ACTION.get(reason.operator.action)
                if action:
                    lines.append(action[i])
                # The duty officer's note is not published: written in haste, it may name a
                # source or a request ("drill: MoD request"); it stays in the audit trail, as
                # in the service's public API (server/public.py).
            instruction = wording.instruction[i]
            if ballistic:
                instruction = f"{_BALLISTIC_INSTRUCTION[i]} {instruction}"
            out[lang] = {
                "event": wording.event[i],
                "headline": headline,
                "description": " ".join(lines),
                "instruction": instruction,
                "areaDesc": area,
            }
        return out

    @staticmethod
    def _parameters(event: AlertEvent) -> list[tuple[str, str]]:
        """CAP <parameter> (valueName, value) pairs: the machine-readable reason (CAP 3.2.2)."""
        reason = event.reason
        counts = _ordered_counts(_counts_of(reason))
        params = [
            ("alert_id", event.alert_id),
            ("seq", str(event.seq)),
            ("event", event.event),
            ("state", event.state),
            ("rule", reason.rule),
            ("confidence", f"{reason.confidence:.2f}"),
            ("threat_count", str(sum(n for _, n in counts))),
        ]
        if counts:
            params.append(("threat_classes", " ".join(c for c, _ in counts)))
            params.extend((f"threat_count_{c}", str(n)) for c, n in counts)
        params.append(("threats_inside", str(max(reason.inside, sum(1 for t in reason.threats if t.inside)))))
        for name, value, rounding in (
            ("eta_minutes", reason.eta_s, "nearest"),
            ("eta_lo_minutes", reason.eta_lo_s, "floor"),
            ("eta_hi_minutes", reason.eta_hi_s, "ceil"),
        ):
            minutes = whole_minutes_of(value, rounding)
            if minutes is not None:
                params.append((name, str(minutes)))
        if reason.threats:
            params.append(("threat_ids", " ".join(t.id for t in reason.threats)))
        if reason.sensors:
            params.append(
                ("sensors", " ".join(f"{k}:{n}" for k, n in sorted(reason.sensors.items())))
            )
        if reason.sighting_age_s is not None:
            params.append(("sighting_age_minutes", str(int(reason.sighting_age_s // 60))))
        if reason.heard_age_s is not None:
            params.append(("heard_age_minutes", str(int(reason.heard_age_s // 60))))
        if reason.operator is not None:
            # The action only: the operator's id stays in the audit trail, not in a
            # public message.
            params.append(("operator_action", reason.operator.action))
        return params

    def _area_polygons(self, region: Region) -> list[str]:
        """`area_polygons` of the region, computed once per region."""
        if region.id not in self._polygons:
            self._polygons[region.id] = area_polygons(region.geometry, self.max_points)
        return self._polygons[region.id]

    # -- XML ---------------------------------------------------------------

    def _alert_xml(
        self,
        event: AlertEvent,
        region: Region,
        identifier: str,
        sent: str,
        expires: str,
        msg_type: str,
        references: tuple[str, ...],
        situation: str,
        texts: dict[str, dict[str, str]],
    ) -> etree._Element:
        """The <alert> element (CAP 3.2.1), in the schema's element order."""
        root = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})
        _sub(root, "identifier", identifier)
        _sub(root, "sender", self.sender)
        _sub(root, "sent", sent)
        _sub(root, "status", self.status)
        _sub(root, "msgType", msg_type)
        _sub(root, "scope", "Public")
        for code in self.code:
            _sub(root, "code", code)
        if self.status in _NOT_ACTUAL:
            # CAP 3.2.1 <note>: "primarily intended for use with status Exercise".
            _sub(root, "note", _NOT_ACTUAL[self.status][1][1])
        if references:
            # CAP 3.2.1 <references>: sender,identifier,sent of each earlier
            # message, separated by whitespace.
            _sub(root, "references", " ".join(references))
        # CAP 3.2.1 <incidents>: groups the messages of one chain.
        _sub(root, "incidents", event.alert_id)

        response_types, urgency, severity, certainty = self._assessment(event, situation)
        onset = None
        if msg_type != "Cancel" or situation == "pre_alert_end-to-alert":
            # Onset: the earliest the threat may arrive (now when it is inside, or
            # when no finite earliest arrival is known).
            lo = event.reason.eta_lo_s
            onset = cap_time(
                event.t + (max(lo, 0.0) if lo is not None and math.isfinite(lo) else 0.0)
            )
        polygons = self._area_polygons(region)
        geocode_pair = geocode(region.id)
        parameters = self._parameters(event)
        for lang in LANGUAGES:
            text = texts[lang]
            info = _sub(root, "info")
            _sub(info, "language", lang)
            # Security: "law enforcement, military, homeland and local/private
            # security" (CAP 3.2.2): an air attack is a military threat.
            _sub(info, "category", "Security")
            _sub(info, "event", text["event"])
            for response in response_types:
                _sub(info, "responseType", response)
            _sub(info, "urgency", urgency)
            _sub(info, "severity", severity)
            _sub(info, "certainty", certainty)
            _sub(info, "eventCode", None, valueName="airshield", value=event.kind)
            _sub(info, "effective", sent)
            if onset is not None:
                _sub(info, "onset", onset)
            _sub(info, "expires", expires)
            _sub(info, "senderName", self.sender_name.get(lang, self.sender))
            _sub(info, "headline", text["headline"])
            _sub(info, "description", text["description"])
            _sub(info, "instruction", text["instruction"])
            if self.web:
                _sub(info, "web", self.web)
            for name, value in parameters:
                _sub(info, "parameter", None, valueName=name, value=value)
            area = _sub(info, "area")
            _sub(area, "areaDesc", text["areaDesc"])
            for polygon in polygons:
                _sub(area, "polygon", polygon)
            _sub(area, "geocode", None, valueName=geocode_pair[0], value=geocode_pair[1])
        return root


# Characters XML 1.0 does not allow (section 2.2): C0 controls other than tab,
# newline and carriage return, lone surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """`text` without the characters XML 1.0 cannot carry (an operator's note
    pasted with a control character must not stop the alert)."""
    return _NOT_XML.sub("", text)


def _sub(parent: etree._Element, tag: str, text: str | None = None, **pairs: str) -> etree._Element:
    """Append a CAP element; `pairs` (valueName, value) become child elements in that order."""
    element = etree.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        element.text = xml_text(text)
    for name, value in pairs.items():
        etree.SubElement(element, f"{{{CAP_NS}}}{name}").text = xml_text(value)
    return element
