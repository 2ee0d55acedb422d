"""CAP 1.2 encoding of alert events (airshield.alerting.cap): what a message must say.

The helpers at the top (`threat`, `reason`, `alert_life`, ...) build events by
hand; test_alerting_cap_check.py and test_alerting_cap_atom.py import them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from shapely.geometry import MultiPolygon, Point, Polygon, box

from airshield.alerting.cap import (
    CAP_NS,
    CapEncoder,
    CapEncodingError,
    area_polygons,
    cap_path,
    cap_time,
    cap_time_ceil,
    counts_en,
    counts_uk,
    geocode,
    uk_plural,
)
from airshield.alerting.cap_check import check_chains, validate
from airshield.alerting.events import AlertEvent, AlertReason, OperatorNote, ThreatRef
from airshield.geo.region_sources import load_regions
from airshield.geo.regions import Region, RegionSet
from airshield.geo.theatre import Theatre

NS = {"c": CAP_NS}
T0 = 1757278800.25  # 2025-09-07T21:00:00.25Z


# -- helpers (also used by the other test_alerting_cap_* files) ---------------


def threat(
    id: str = "T1", cls: str = "drone", inside: bool = False, eta: float | None = 754.0
) -> ThreatRef:
    """A threat `eta` seconds away (bounds -30 % / +35 %), or inside."""
    if inside:
        eta = 0.0
    return ThreatRef(
        id=id,
        cls=cls,
        confidence=0.9,
        inside=inside,
        eta_s=eta,
        eta_lo_s=None if eta is None else 0.7 * eta,
        eta_hi_s=None if eta is None else 1.35 * eta,
        lat=50.1,
        lon=31.0,
        speed_mps=45.0,
        heading_deg=270.0,
        sensors=("acoustic",),
    )


def reason(*threats: ThreatRef, rule: str = "eta-within-lead", **kw) -> AlertReason:
    """The reason the policy would give for `threats` (nearest first)."""
    counts: dict[str, int] = {}
    for t in threats:
        counts[t.cls] = counts.get(t.cls, 0) + 1
    nearest = threats[0] if threats else None
    defaults = dict(
        rule=rule,
        text=f"{len(threats)} threat(s); rule {rule}.",
        threats=threats,
        counts=counts,
        eta_s=nearest.eta_s if nearest else None,
        eta_lo_s=nearest.eta_lo_s if nearest else None,
        eta_hi_s=nearest.eta_hi_s if nearest else None,
        sensors={"acoustic": len(threats)} if threats else {},
        confidence=0.9 if threats else 0.0,
    )
    defaults.update(kw)
    return AlertReason(**defaults)


def event(
    kind: str, name: str, seq: int, t: float, why: AlertReason, region: str = "UA-32", **kw
) -> AlertEvent:
    """An event of the chain that `kind` started at T0 in `region`."""
    state = {"alert": "alert", "pre_alert": "pre_alert", "update": kind}.get(name, "quiet")
    fields = dict(
        t=t,
        region=region,
        event=name,
        state=state,
        alert_id=f"{region}.{'A' if kind == 'alert' else 'P'}.20250907T210000Z",
        seq=seq,
        kind=kind,
        expires=t + 1800.0,
        reason=why,
    )
    fields.update(kw)
    return AlertEvent(**fields)


def alert_life(region: str = "UA-32") -> list[AlertEvent]:
    """alert (a drone 12.5 min away) -> update (a ballistic missile inside) -> update -> all_clear."""
    drone = threat("T12", "drone", eta=754.0)
    missile = threat("B3", "ballistic", inside=True)
    clear = reason(rule="clear-after-hold-off")
    return [
        event("alert", "alert", 0, T0, reason(drone), region),
        event(
            "alert", "update", 1, T0 + 300.0, reason(missile, drone, rule="threat-inside"), region
        ),
        event("alert", "update", 2, T0 + 600.0, reason(drone), region),
        event("alert", "all_clear", 3, T0 + 1500.0, clear, region, expires=T0 + 1500.0),
    ]


def pre_alert_then_alert(region: str = "UA-32") -> list[AlertEvent]:
    """A pre-alert superseded by an alert, whose all-clear leaves a new pre-alert."""
    far = threat("T7", "drone", eta=2400.0)
    near = threat("T7", "drone", eta=600.0)
    alert = f"{region}.A.20250907T211000Z"
    pre2 = f"{region}.P.20250907T213000Z"
    t1, t2 = T0 + 600.0, T0 + 1800.0
    return [
        event("pre_alert", "pre_alert", 0, T0, reason(far, rule="expected-within-horizon"), region),
        event("alert", "alert", 0, t1, reason(near), region, alert_id=alert),
        event("pre_alert", "pre_alert_end", 1, t1, reason(near), region, state="alert", expires=t1),
        event(
            "alert", "all_clear", 1, t2, reason(rule="clear-after-hold-off"), region,
            alert_id=alert, state="pre_alert", expires=t2,
        ),
        event(
            "pre_alert", "pre_alert", 0, t2, reason(far, rule="expected-within-horizon"), region,
            alert_id=pre2,
        ),
    ]  # fmt: skip


def sort_key(e: AlertEvent) -> tuple[float, int]:
    return (e.t, 0 if e.event in ("all_clear", "pre_alert_end") else 1)


def info(xml: bytes, lang: str) -> etree._Element:
    root = etree.fromstring(xml)
    (block,) = [i for i in root.findall("c:info", NS) if i.findtext("c:language", None, NS) == lang]
    return block


def text(element: etree._Element, path: str) -> str | None:
    return element.findtext(path, None, NS)


def parameters(block: etree._Element) -> dict[str, str]:
    return {
        p.findtext("c:valueName", None, NS): p.findtext("c:value", None, NS)
        for p in block.findall("c:parameter", NS)
    }


@pytest.fixture(scope="module")
def natural_earth() -> RegionSet:
    return load_regions()


@pytest.fixture(scope="module")
def geoboundaries() -> RegionSet:
    return load_regions("geoboundaries")


# -- chains, references, message types ---------------------------------------


@pytest.mark.parametrize("source", ["natural-earth", "geoboundaries"])
def test_every_message_of_an_alert_life_validates_against_the_schema(source, request):
    regions = request.getfixturevalue(source.replace("-", "_"))
    encoder = CapEncoder(regions)
    messages = []
    for region in regions.ids:  # every region's outline, in both region sources
        events = alert_life(region) + pre_alert_then_alert(region)
        events.sort(key=sort_key)
        messages += encoder.encode_all(events)
    for message in messages:
        assert validate(message.xml) == [], message.identifier
    assert check_chains(messages) == []
    assert encoder.open_chains == [f"{r}.P.20250907T213000Z" for r in regions.ids]


def test_alert_update_cancel_message_types(natural_earth):
    messages = CapEncoder(natural_earth).encode_all(alert_life())
    assert [m.msg_type for m in messages] == ["Alert", "Update", "Update", "Cancel"]
    for m in messages:
        root = etree.fromstring(m.xml)
        assert text(root, "c:msgType") == m.msg_type
        assert text(root, "c:identifier") == m.identifier == f"{m.alert_id}.{m.seq}"
        assert text(root, "c:incidents") == m.alert_id
        assert text(root, "c:scope") == "Public"
        assert text(root, "c:status") == "Actual"
        assert text(root, "c:code") == "airshield:air-raid"


def test_update_and_cancel_reference_the_alert(natural_earth):
    messages = CapEncoder(natural_earth).encode_all(alert_life())
    triples = [f"{m.sender},{m.identifier},{m.sent}" for m in messages]
    assert messages[0].references == ()
    assert etree.fromstring(messages[0].xml).find("c:references", NS) is None
    for i, m in enumerate(messages[1:], 1):
        # Every earlier message of the chain, the Alert first.
        assert m.references == tuple(triples[:i])
        assert text(etree.fromstring(m.xml), "c:references") == " ".join(triples[:i])


def test_cancel_is_the_all_clear(natural_earth):
    cancel = CapEncoder(natural_earth).encode_all(alert_life())[-1]
    assert cancel.msg_type == "Cancel"
    uk, en = info(cancel.xml, "uk-UA"), info(cancel.xml, "en-US")
    for block in (uk, en):
        assert [r.text for r in block.findall("c:responseType", NS)] == ["AllClear"]
        assert text(block, "c:urgency") == "Past"
        assert text(block, "c:severity") == "Minor"
        assert block.find("c:onset", NS) is None
    assert text(uk, "c:headline") == "Відбій повітряної тривоги: Київська область"
    assert text(uk, "c:instruction") == "Можна залишити укриття."
    assert text(en, "c:headline") == "All clear: Kyiv Oblast"
    assert "You may leave the shelter" in text(en, "c:instruction")
    assert "passed" in text(en, "c:description")


def test_a_superseded_pre_alert_is_cancelled_but_never_all_clear(natural_earth):
    events = sorted(pre_alert_then_alert(), key=sort_key)
    messages = {(m.alert_id, m.seq): m for m in CapEncoder(natural_earth).encode_all(events)}
    ended = messages[("UA-32.P.20250907T210000Z", 1)]
    assert ended.msg_type == "Cancel"
    en = info(ended.xml, "en-US")
    assert [r.text for r in en.findall("c:responseType", NS)] == ["Shelter"]
    assert text(en, "c:urgency") == "Immediate"
    assert "shelter now" in text(en, "c:instruction")
    # The alert's all-clear hands over to a new pre-alert: leave, but be ready.
    clear = messages[("UA-32.A.20250907T211000Z", 1)]
    en = info(clear.xml, "en-US")
    assert [r.text for r in en.findall("c:responseType", NS)] == ["AllClear", "Monitor"]
    assert "be ready to return" in text(en, "c:instruction")
    assert "pre-alert is in effect" in text(en, "c:description")


def test_pre_alert_is_a_distinct_event_that_asks_to_prepare(natural_earth):
    pre = CapEncoder(natural_earth).encode(pre_alert_then_alert()[0])
    assert pre.msg_type == "Alert"
    uk, en = info(pre.xml, "uk-UA"), info(pre.xml, "en-US")
    assert text(uk, "c:event") == "Загроза повітряної атаки"
    assert text(en, "c:event") == "Air threat pre-alert"
    assert [r.text for r in en.findall("c:responseType", NS)] == ["Prepare", "Monitor"]
    assert (text(en, "c:urgency"), text(en, "c:certainty")) == ("Expected", "Possible")
    assert "Be ready" in text(en, "c:instruction")


def test_severity_urgency_and_certainty_follow_the_threats(natural_earth):
    def assessment(*threats: ThreatRef) -> tuple[str | None, ...]:
        m = CapEncoder(natural_earth).encode(event("alert", "alert", 0, T0, reason(*threats)))
        block = info(m.xml, "en-US")
        return tuple(text(block, f"c:{k}") for k in ("urgency", "severity", "certainty"))

    assert assessment(threat(cls="drone")) == ("Immediate", "Severe", "Likely")
    assert assessment(threat(cls="drone", inside=True)) == ("Immediate", "Severe", "Observed")
    assert assessment(threat(cls="ballistic", eta=90.0)) == ("Immediate", "Extreme", "Likely")
    assert assessment(threat(cls="cruise"), threat("T2")) == ("Immediate", "Extreme", "Likely")


@pytest.mark.parametrize(
    "events, problem",
    [
        ([alert_life()[1]], "must start with seq 0"),
        ([alert_life()[0], alert_life()[2]], "expected seq 1"),
        (alert_life() + [event("alert", "update", 4, T0 + 2000.0, reason())], "already ended"),
        ([event("alert", "pre_alert_end", 0, T0, reason())], "must start with seq 0"),
        ([alert_life()[0], event("alert", "pre_alert_end", 1, T0 + 9, reason())], "ends with"),
        ([event("alert", "alert", 0, T0, reason(), expires=T0)], "expires"),
        ([event("alert", "alert", 0, T0, reason(), alert_id="UA-32 A")], "forbids spaces"),
        ([event("storm", "alert", 0, T0, reason())], "kind 'storm'"),
    ],
)
def test_events_that_break_a_chain_are_clear_errors(natural_earth, events, problem):
    encoder = CapEncoder(natural_earth)
    with pytest.raises(CapEncodingError, match=problem):
        encoder.encode_all(events)


def test_unknown_region_is_a_clear_error(natural_earth):
    encoder = CapEncoder(natural_earth)
    # A raion's id in an oblast-level region set.
    with pytest.raises(CapEncodingError, match=r"region 'UA-32-01' is not in the region set"):
        encoder.encode(event("alert", "alert", 0, T0, reason(threat()), region="UA-32-01"))
    assert encoder.open_chains == []  # nothing half-encoded is left behind


def test_a_failed_event_leaves_the_chain_as_it_was(natural_earth):
    encoder = CapEncoder(natural_earth)
    life = alert_life()
    encoder.encode(life[0])
    with pytest.raises(CapEncodingError):
        encoder.encode(life[2])
    assert [encoder.encode(e).seq for e in life[1:]] == [1, 2, 3]


# -- times -------------------------------------------------------------------


def test_times_are_cap_date_times_with_minus_zero_offset():
    assert cap_time(T0) == "2025-09-07T21:00:00-00:00"
    assert cap_time_ceil(T0) == "2025-09-07T21:00:01-00:00"
    assert cap_time_ceil(T0 - 0.25) == "2025-09-07T21:00:00-00:00"
    assert cap_time(0.0) == "1970-01-01T00:00:00-00:00"


def test_sent_effective_onset_expires(natural_earth):
    messages = CapEncoder(natural_earth).encode_all(alert_life())
    alert, cancel = messages[0], messages[-1]
    block = info(alert.xml, "en-US")
    assert alert.sent == "2025-09-07T21:00:00-00:00" == text(block, "c:effective")
    # onset: the earliest arrival (0.7 * 754 s = 8.8 min after the event).
    assert text(block, "c:onset") == "2025-09-07T21:08:48-00:00"
    assert text(block, "c:expires") == alert.expires == "2025-09-07T21:30:01-00:00"
    # The all-clear event expires when it happens: the Cancel stays current an hour.
    assert cancel.expires == "2025-09-07T22:25:01-00:00"
    for m in messages:
        root = etree.fromstring(m.xml)
        times = [text(root, "c:sent")] + [
            e.text
            for tag in ("effective", "onset", "expires")
            for e in root.iterfind(f".//c:{tag}", NS)
        ]
        assert len(times) >= 5
        for t in times:  # no "Z", no "+00:00", no fraction of a second
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-00:00", t), t


# -- texts -------------------------------------------------------------------


def test_messages_carry_ukrainian_and_english_info(natural_earth):
    for m in CapEncoder(natural_earth).encode_all(alert_life() + pre_alert_then_alert()[:1]):
        root = etree.fromstring(m.xml)
        assert [text(i, "c:language") for i in root.findall("c:info", NS)] == ["uk-UA", "en-US"]
        uk, en = info(m.xml, "uk-UA"), info(m.xml, "en-US")
        uk_texts = []
        for tag in ("event", "headline", "description", "instruction", "senderName"):
            uk_text, en_text = text(uk, f"c:{tag}"), text(en, f"c:{tag}")
            assert re.search("[а-яґєії]", uk_text.lower()), (tag, uk_text)  # Cyrillic
            assert re.fullmatch(r"[\x20-\x7e]+", en_text), (tag, en_text)  # plain English
            uk_texts.append(uk_text.lower())
        # Ukrainian, not Russian: letters only Ukrainian has, none only Russian has.
        assert re.search("[ґєії]", " ".join(uk_texts))
        assert not re.search("[ыэёъ]", " ".join(uk_texts))
        assert text(uk, "c:area/c:areaDesc") == "Київська область"
        assert text(en, "c:area/c:areaDesc") == "Kyiv Oblast"
        # The machine-readable parameters are the same in both languages.
        assert parameters(uk) == parameters(en)
        assert text(uk, "c:category") == "Security"


def test_alert_texts_say_what_is_coming_and_when(natural_earth):
    alert = CapEncoder(natural_earth).encode(alert_life()[0])
    uk, en = info(alert.xml, "uk-UA"), info(alert.xml, "en-US")
    assert text(uk, "c:event") == "Повітряна тривога"
    assert text(uk, "c:headline") == "Повітряна тривога: Київська область (1 дрон)"
    assert text(en, "c:headline") == "Air raid alert: Kyiv Oblast (1 drone)"
    # 754 s: about 13 min, between 0.7*754 s (8 min, rounded down) and 1.35*754 s (17 min, up).
    assert "Найближча ціль очікується приблизно через 13 хвилин (від 8 до 17 хв)." in text(
        uk, "c:description"
    )
    assert "expected in about 13 minutes (8 to 17 min)" in text(en, "c:description")
    assert "Джерела даних: акустичні датчики." in text(uk, "c:description")
    assert text(uk, "c:instruction").startswith("Негайно прямуйте до найближчого укриття")
    assert text(en, "c:instruction").startswith("Go to the nearest shelter now")

    update = CapEncoder(natural_earth).encode_all(alert_life()[:2])[1]
    uk, en = info(update.xml, "uk-UA"), info(update.xml, "en-US")
    assert "Загроза: 1 балістична ракета, 1 дрон." in text(uk, "c:description")
    assert "Над регіоном зараз 1 ціль." in text(uk, "c:description")
    assert "1 threat is over the region now." in text(en, "c:description")
    assert text(en, "c:instruction").startswith("Ballistic threat")
    assert text(uk, "c:headline").startswith("Повітряна тривога триває")


@pytest.mark.parametrize(
    "n, drones, minutes",
    [
        (1, "1 дрон", "через 1 хвилину"),
        (2, "2 дрони", "через 2 хвилини"),
        (4, "4 дрони", "через 4 хвилини"),
        (5, "5 дронів", "через 5 хвилин"),
        (11, "11 дронів", "через 11 хвилин"),
        (12, "12 дронів", "через 12 хвилин"),
        (21, "21 дрон", "через 21 хвилину"),
        (22, "22 дрони", "через 22 хвилини"),
        (111, "111 дронів", "через 111 хвилин"),
        (104, "104 дрони", "через 104 хвилини"),
    ],
)
def test_ukrainian_numerals_take_the_right_plural(natural_earth, n, drones, minutes):
    assert counts_uk({"drone": n}) == drones
    m = CapEncoder(natural_earth).encode(
        event("alert", "alert", 0, T0, reason(threat(eta=n * 60.0)))
    )
    assert f"приблизно {minutes} (" in text(info(m.xml, "uk-UA"), "c:description")


def test_counts_in_words_list_the_most_dangerous_class_first():
    counts = {"drone": 5, "ballistic": 2, "cruise": 1, "jet": 3, "unknown": 1}
    assert counts_uk(counts) == (
        "2 балістичні ракети, 1 крилата ракета, 3 реактивні дрони, 5 дронів, 1 невідома ціль"
    )
    assert counts_en(counts) == (
        "2 ballistic missiles, 1 cruise missile, 3 jet drones, 5 drones, 1 unknown target"
    )
    assert uk_plural(14, ("ціль", "цілі", "цілей")) == "цілей"
    assert counts_uk({"balloon": 2}) == "2 інші цілі"


def test_an_imminent_threat_is_less_than_a_minute_away(natural_earth):
    m = CapEncoder(natural_earth).encode(
        event("alert", "alert", 0, T0, reason(threat(cls="ballistic", eta=20.0)))
    )
    assert "менш ніж за хвилину" in text(info(m.xml, "uk-UA"), "c:description")
    assert "in less than a minute" in text(info(m.xml, "en-US"), "c:description")


def test_a_duty_officers_action_is_told_but_neither_who_nor_their_note(natural_earth):
    note = OperatorNote(user="duty-7", action="raise", note="Розвідка: пуски з Брянська.")
    why = reason(rule="operator-raise", operator=note, confidence=1.0)
    m = CapEncoder(natural_earth).encode(event("alert", "alert", 0, T0, why))
    uk, en = info(m.xml, "uk-UA"), info(m.xml, "en-US")
    assert "Брянськ" not in m.xml.decode() and "Розвідка" not in m.xml.decode()
    assert "Тривогу оголосив черговий вручну." in text(uk, "c:description")
    assert "Raised by hand by the duty officer." in text(en, "c:description")
    assert parameters(en)["operator_action"] == "raise"
    assert b"duty-7" not in m.xml
    assert validate(m.xml) == []


def test_an_alert_held_by_a_citizen_sighting_tells_how_long_ago_it_was(natural_earth):
    why = reason(rule="refresh", sighting_age_s=250.0)
    m = CapEncoder(natural_earth).encode_all([event("alert", "alert", 0, T0, reason(threat())),
                                              event("alert", "update", 1, T0 + 1800.0, why)])[1]
    uk, en = info(m.xml, "uk-UA"), info(m.xml, "en-US")
    assert "Очевидець повідомив про загрозу поблизу 4 хв тому." in text(uk, "c:description")
    assert "A citizen observer reported a threat nearby 4 min ago." in text(en, "c:description")
    assert parameters(en)["sighting_age_minutes"] == "4"
    assert validate(m.xml) == []


@pytest.mark.parametrize("kind", ["alert", "pre_alert"])
def test_a_chain_held_with_no_threat_in_sight_still_says_so(natural_earth, kind):
    # Found on a real night: R7 refreshes an alert in its hold-off, when the threats have
    # gone; the message of an Actual alert had an empty description (the reason's text
    # was empty too, and nothing else filled it).
    why = reason(rule="refresh", text="")
    m = CapEncoder(natural_earth).encode_all([event(kind, kind, 0, T0, reason(threat())),
                                              event(kind, "update", 1, T0 + 1800.0, why)])[1]
    uk, en = info(m.xml, "uk-UA"), info(m.xml, "en-US")
    assert "не видно" in text(uk, "c:description")
    assert "No threat is seen" in text(en, "c:description")
    assert validate(m.xml) == []


def test_parameters_carry_the_machine_readable_reason(natural_earth):
    m = CapEncoder(natural_earth).encode_all(alert_life()[:2])[1]
    assert parameters(info(m.xml, "en-US")) == {
        "alert_id": "UA-32.A.20250907T210000Z",
        "seq": "1",
        "event": "update",
        "state": "alert",
        "rule": "threat-inside",
        "confidence": "0.90",
        "threat_count": "2",
        "threat_classes": "ballistic drone",
        "threat_count_ballistic": "1",
        "threat_count_drone": "1",
        "threats_inside": "1",
        "eta_minutes": "0",
        "eta_lo_minutes": "0",
        "eta_hi_minutes": "0",
        "threat_ids": "B3 T12",
        "sensors": "acoustic:2",
    }


def test_an_exercise_says_so_everywhere(natural_earth):
    m = CapEncoder(natural_earth, status="Exercise").encode(alert_life()[0])
    root = etree.fromstring(m.xml)
    assert text(root, "c:status") == "Exercise"
    assert "exercise" in text(root, "c:note")
    assert text(info(m.xml, "uk-UA"), "c:headline").startswith("НАВЧАННЯ. Повітряна тривога")
    assert text(info(m.xml, "en-US"), "c:description").startswith("This is an exercise")
    assert validate(m.xml) == []


def test_bad_encoder_settings_are_refused(natural_earth):
    with pytest.raises(ValueError, match="status"):
        CapEncoder(natural_earth, status="Real")
    with pytest.raises(ValueError, match="sender"):
        CapEncoder(natural_earth, sender="air shield")


# -- area --------------------------------------------------------------------


def polygons_of(xml: bytes) -> list[Polygon]:
    """The <polygon>s of the first info block, as shapely polygons in lon/lat."""
    out = []
    for p in info(xml, "uk-UA").findall("c:area/c:polygon", NS):
        pairs = [tuple(map(float, pair.split(","))) for pair in p.text.split()]
        out.append(Polygon([(lon, lat) for lat, lon in pairs]))
    return out


@pytest.mark.parametrize("source", ["natural-earth", "geoboundaries"])
def test_polygons_are_closed_and_in_lat_lon_order(source, request):
    regions = request.getfixturevalue(source.replace("-", "_"))
    encoder = CapEncoder(regions)
    for region in regions:
        m = encoder.encode(event("alert", "alert", 0, T0, reason(threat()), region.id))
        polygon_texts = [p.text for p in info(m.xml, "en-US").findall("c:area/c:polygon", NS)]
        assert polygon_texts, region.id
        total = 0
        for p in polygon_texts:
            pairs = p.split()
            total += len(pairs)
            assert len(pairs) >= 4 and pairs[0] == pairs[-1], region.id
            for pair in pairs:
                lat, lon = map(float, pair.split(","))
                # Ukraine lies within 44-53 N, 22-41 E: latitude first.
                assert 44.0 <= lat <= 52.6 and 22.0 <= lon <= 40.3, (region.id, pair)
                assert re.fullmatch(r"\d+\.\d{4},\d+\.\d{4}", pair)
        assert total <= 500, region.id
        # The pieces together are the region, up to the simplification (a few %).
        outline = shapely.union_all(polygons_of(m.xml))
        assert outline.symmetric_difference(region.geometry).area < 0.03 * region.geometry.area
        # The same in both blocks.
        assert polygon_texts == [
            p.text for p in info(m.xml, "uk-UA").findall("c:area/c:polygon", NS)
        ]


@pytest.mark.parametrize("source", ["natural-earth", "geoboundaries"])
def test_kyiv_oblast_alert_does_not_cover_kyiv(source, request):
    regions = request.getfixturevalue(source.replace("-", "_"))
    encoder = CapEncoder(regions)
    oblast = polygons_of(encoder.encode(alert_life("UA-32")[0]).xml)
    city = polygons_of(encoder.encode(alert_life("UA-30")[0]).xml)
    maidan, bila_tserkva = Point(30.5234, 50.4501), Point(30.1217, 49.7968)
    assert not any(p.contains(maidan) for p in oblast)
    assert any(p.contains(maidan) for p in city)
    assert any(p.contains(bila_tserkva) for p in oblast)
    for p in oblast + city:
        assert not p.interiors  # CAP polygons cannot have holes


def synthetic_regions() -> RegionSet:
    """An island region (a MultiPolygon: a mainland with a lake, and two islands)."""
    mainland = Polygon(
        box(30.0, 46.0, 31.0, 47.0).exterior.coords, [box(30.4, 46.4, 30.6, 46.6).exterior.coords]
    )
    islands = MultiPolygon([mainland, box(31.2, 46.0, 31.3, 46.1), box(31.4, 46.0, 31.45, 46.05)])
    return RegionSet(
        [
            Region("UA-99", "Island Oblast", "Острівна область", "oblast", None, islands),
            Region("UA12345678901234567", "Some Hromada", "Якась громада", "hromada", "UA-99",
                   box(30.1, 46.1, 30.2, 46.2)),
            Region("lake-3", "Lake", "Озеро", "city", None, box(30.45, 46.45, 30.55, 46.55)),
        ],
        Theatre.ukraine(),
        "synthetic",
        "test",
    )  # fmt: skip


def test_each_polygon_of_a_multipolygon_is_its_own_polygon_element():
    encoder = CapEncoder(synthetic_regions())
    m = encoder.encode(event("alert", "alert", 0, T0, reason(threat()), "UA-99"))
    assert validate(m.xml) == []
    polygons = polygons_of(m.xml)
    # The mainland is cut in two around its lake, plus two islands.
    assert len(polygons) == 4
    assert shapely.union_all(polygons).equals(encoder.regions["UA-99"].geometry)
    assert not any(p.contains(Point(30.5, 46.5)) for p in polygons)  # the lake


def test_a_region_with_too_many_islands_keeps_its_largest_parts():
    archipelago = MultiPolygon(
        [box(30 + i * 0.01, 46.0, 30.005 + i * 0.01, 46.005) for i in range(300)]
    )
    polygons = area_polygons(MultiPolygon([box(28.0, 45.0, 29.0, 46.0), *archipelago.geoms]), 100)
    assert sum(len(p.split()) for p in polygons) <= 100
    assert (
        polygons[0]
        == "45.0000,28.0000 45.0000,29.0000 46.0000,29.0000 46.0000,28.0000 45.0000,28.0000"
    )


def test_geocodes_name_the_code_system():
    assert geocode("UA-32") == ("ISO 3166-2", "UA-32")
    assert geocode("UA12345678901234567") == ("KATOTTG", "UA12345678901234567")
    assert geocode("lake-3") == ("airshield-region", "lake-3")
    encoder = CapEncoder(synthetic_regions())
    m = encoder.encode(event("alert", "alert", 0, T0, reason(), "UA12345678901234567"))
    block = info(m.xml, "en-US")
    assert text(block, "c:area/c:geocode/c:valueName") == "KATOTTG"
    assert text(block, "c:area/c:areaDesc") == "Some Hromada"


# -- bytes -------------------------------------------------------------------


def test_same_events_give_identical_bytes(natural_earth, geoboundaries):
    events = sorted(alert_life() + pre_alert_then_alert("UA-63"), key=sort_key)
    for regions in (natural_earth, geoboundaries):
        first = [m.xml for m in CapEncoder(regions).encode_all(events)]
        again = [m.xml for m in CapEncoder(load_regions(regions.source)).encode_all(events)]
        assert first == again  # a fresh region set, a fresh encoder: nothing hidden carries over


_DIGEST_SCRIPT = """
import hashlib, sys
sys.path.insert(0, sys.argv[1])
from test_alerting_cap import alert_life, pre_alert_then_alert, sort_key
from airshield.alerting.atom import atom_feed
from airshield.alerting.cap import CapEncoder
from airshield.geo.region_sources import load_regions
events = sorted(alert_life() + pre_alert_then_alert("UA-63"), key=sort_key)
messages = CapEncoder(load_regions("geoboundaries")).encode_all(events)
digest = hashlib.sha256(b"".join(m.xml for m in messages))
digest.update(atom_feed(messages, "https://example.org/"))
print(digest.hexdigest())
"""


def test_bytes_do_not_depend_on_the_process():
    """Two processes with different hash seeds (set and dict order) give the same bytes."""
    tests = str(Path(__file__).parent)
    digests = {
        subprocess.run(
            [sys.executable, "-c", _DIGEST_SCRIPT, tests],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(digests) == 1


def test_messages_are_utf8_pretty_printed_cap_xml(natural_earth):
    m = CapEncoder(natural_earth).encode(alert_life()[0])
    assert m.xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<alert xmlns=")
    assert "Київська".encode() in m.xml  # UTF-8, not character references
    assert b"\n  <info>\n    <language>uk-UA</language>" in m.xml
    assert etree.fromstring(m.xml).tag == f"{{{CAP_NS}}}alert"


@pytest.mark.parametrize("source", ["natural-earth", "geoboundaries"])
def test_messages_stay_small(source, request):
    regions = request.getfixturevalue(source.replace("-", "_"))
    encoder = CapEncoder(regions)
    sizes = [len(encoder.encode(alert_life(r)[0]).xml) for r in regions.ids]
    assert max(sizes) < 40_000  # bytes: two info blocks of <= 500 polygon points each


def test_cap_path_is_one_safe_segment():
    assert cap_path("UA-32.A.20250907T210000Z.0") == "cap/UA-32.A.20250907T210000Z.0.xml"
    assert cap_path("a/b:c") == "cap/a%2Fb%3Ac.xml"


# -- any reason the policy may give ------------------------------------------

_classes = st.sampled_from(
    ["drone", "jet", "cruise", "ballistic", "aircraft", "unknown", "balloon"]
)
_eta = st.one_of(st.none(), st.floats(0.0, 6 * 3600.0), st.just(float("inf")))


@st.composite
def _reasons(draw) -> AlertReason:
    threats = tuple(
        ThreatRef(
            id=f"T{i}",
            cls=draw(_classes),
            confidence=draw(st.floats(0.0, 1.0)),
            inside=draw(st.booleans()),
            eta_s=draw(_eta),
            eta_lo_s=draw(_eta),
            eta_hi_s=draw(_eta),
            lat=50.0,
            lon=30.0,
            speed_mps=40.0,
            heading_deg=0.0,
        )
        for i in range(draw(st.integers(0, 4)))
    )
    note = draw(
        st.one_of(
            st.none(),
            st.builds(
                OperatorNote,
                user=st.just("op"),
                action=st.sampled_from(["raise", "extend", "cancel", "other"]),
                note=st.text(max_size=40),
            ),
        )
    )
    return reason(
        *threats,
        rule=draw(st.sampled_from(["threat-inside", "eta-within-lead", "operator-raise", "x"])),
        eta_s=draw(_eta),
        eta_lo_s=draw(_eta),
        eta_hi_s=draw(_eta),
        operator=note,
        sighting_age_s=draw(st.one_of(st.none(), st.floats(0.0, 900.0))),
        text=draw(st.text(max_size=60)),
    )


@settings(
    max_examples=60, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    why=st.lists(_reasons(), min_size=3, max_size=3), kind=st.sampled_from(["alert", "pre_alert"])
)
def test_any_reason_gives_valid_messages(natural_earth, why, kind):
    end = "all_clear" if kind == "alert" else "pre_alert_end"
    events = [
        event(kind, kind, 0, T0, why[0]),
        event(kind, "update", 1, T0 + 60.0, why[1]),
        event(kind, end, 2, T0 + 120.0, why[2], expires=T0 + 120.0),
    ]
    messages = CapEncoder(natural_earth, status="Exercise").encode_all(events)
    for m in messages:
        assert validate(m.xml) == [], m.xml.decode()[:3000]
    assert check_chains(messages) == []


def test_a_long_alert_references_every_earlier_message(natural_earth):
    drone = threat()
    events = [event("alert", "alert", 0, T0, reason(drone))]
    events += [event("alert", "update", i, T0 + 60.0 * i, reason(drone)) for i in range(1, 60)]
    events.append(event("alert", "all_clear", 60, T0 + 3600.0, reason(), expires=T0 + 3600.0))
    messages = CapEncoder(natural_earth).encode_all(events)
    assert len(messages[-1].references) == 60
    assert all(validate(m.xml) == [] for m in messages[::10] + messages[-1:])
    assert check_chains(messages) == []
