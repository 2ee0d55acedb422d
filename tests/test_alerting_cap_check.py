"""Checks of CAP messages (airshield.alerting.cap_check): each one must be able to fail.

Every test breaks a valid message in one way and expects exactly the problem
that names it: a check that cannot fail is a defect.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from lxml import etree
from test_alerting_cap import NS, T0, alert_life, event, reason, threat

from airshield.alerting.cap import CAP_NS, CapEncoder
from airshield.alerting.cap_check import (
    check_chains,
    polygon_problems,
    reference_problems,
    schema_path,
    validate,
)
from airshield.geo.paths import shared_dir
from airshield.geo.region_sources import load_regions


@pytest.fixture(scope="module")
def life() -> list:
    """The CAP messages of one alert's life in Kyiv Oblast (all valid)."""
    return CapEncoder(load_regions()).encode_all(alert_life())


def broken(xml: bytes, change: Callable[[etree._Element], None]) -> bytes:
    root = etree.fromstring(xml)
    change(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def first(root: etree._Element, path: str) -> etree._Element:
    found = root.find(path, NS)
    assert found is not None, path
    return found


def set_text(path: str, value: str) -> Callable[[etree._Element], None]:
    def change(root: etree._Element) -> None:
        first(root, path).text = value

    return change


def test_the_schema_is_read_from_the_shared_folder():
    assert schema_path() == shared_dir() / "spec" / "cap-1.2.xsd"
    assert schema_path().is_file()


def test_valid_messages_pass(life):
    for m in life:
        assert validate(m.xml) == []
    assert check_chains(life) == []
    assert check_chains([m.xml for m in life]) == []


def test_checks_catch_an_open_polygon(life):
    def open_polygon(root):
        polygon = first(root, "c:info/c:area/c:polygon")
        polygon.text = " ".join(polygon.text.split()[:-1])

    problems = validate(broken(life[0].xml, open_polygon))
    assert len(problems) == 1
    assert problems[0].startswith(f"{life[0].identifier}: info[1]/area[1]/polygon[1]: not closed")


@pytest.mark.parametrize(
    "polygon, problem",
    [
        ("50.1,30.1 50.2,30.2 50.1,30.1", "3 points; CAP 1.2 3.2.4 requires at least 4"),
        ("50.1,30.1 50.2,30.2 50.3,30.1 50.1,30.2", "not closed"),
        ("30.1,195.1 30.2,95.2 31.0,95.0 30.1,195.1", "longitude 195.1 outside -180..180"),
        ("95.1,30.1 50.2,30.2 50.3,30.1 95.1,30.1", "latitude 95.1 outside -90..90"),
        ("50.1;30.1 50.2,30.2 50.3,30.1 50.1;30.1", "not a 'lat,lon' pair"),
        ("50.1,30.1,0 50.2,30.2 50.3,30.1 50.1,30.1,0", "not a 'lat,lon' pair"),
        ("", "0 points"),
        (
            "50.0,30.0 51.0,31.0 51.0,30.0 50.0,31.0 50.0,30.0",
            "not a valid polygon: Self-intersection",
        ),
        ("50.0,30.0 50.0,30.0 50.0,30.0 50.0,30.0", "not a valid polygon"),
    ],
)
def test_checks_catch_a_bad_polygon(polygon, problem):
    assert any(problem in p for p in polygon_problems(polygon)), polygon_problems(polygon)


def test_a_polygon_in_lon_lat_order_fails_when_out_of_range(life):
    def swap(root):
        polygon = first(root, "c:info/c:area/c:polygon")
        polygon.text = " ".join(
            ",".join(reversed(pair.split(",")))
            for pair in ["10.0,100.0", "11.0,100.0", "11.0,101.0", "10.0,100.0"]
        )

    problems = validate(broken(life[0].xml, swap))
    assert problems and all("outside -90..90 (lat,lon order?)" in p for p in problems)


@pytest.mark.parametrize(
    "references, problem",
    [
        ("a@b.org,ID-1", "expected sender,identifier,sent"),
        ("a@b.org,ID-1,2025-09-07T21:00:00Z", "forbids 'Z'"),
        ("a@b.org,ID-1,2025-09-07T21:00:00+00:00", "as -00:00, not +00:00"),
        ("a@b.org,ID-1,2025-09-07 21:00:00-00:00", "expected sender,identifier,sent"),
        ("a@b.org,,2025-09-07T21:00:00-00:00", "empty identifier"),
        ("a@b.org,ID-1,2025-09-07T21:00:00.5-00:00", "not a CAP date-time"),
        ("a@b.org,ID-1,2025-09-07T21:00:00-00:00,extra", "got 4"),
    ],
)
def test_checks_catch_a_bad_references_format(life, references, problem):
    problems = validate(broken(life[1].xml, set_text("c:references", references)))
    assert any(
        p.startswith(f"{life[1].identifier}: references: ") and problem in p for p in problems
    ), problems
    assert any(problem in p for p in reference_problems(references))


def test_checks_catch_an_update_without_references(life):
    def drop(root):
        root.remove(first(root, "c:references"))

    problems = validate(broken(life[1].xml, drop))
    assert problems == [
        f"{life[1].identifier}: references: missing; an Update must reference the messages it acts on"
    ]


@pytest.mark.parametrize(
    "path, value, problem",
    [
        ("c:identifier", "UA-32 A.0", "identifier: 'UA-32 A.0' contains ' '"),
        ("c:identifier", "UA-32,A.0", "identifier: 'UA-32,A.0' contains ','"),
        ("c:sender", "air&shield", "sender: 'air&shield' contains '&'"),
        ("c:sender", "a<b", "sender: 'a<b' contains '<'"),
        ("c:sent", "2025-09-07T21:00:00Z", "sent: '2025-09-07T21:00:00Z': CAP 1.2 3.3.2 forbids 'Z'"),
        ("c:sent", "2025-09-07T21:00:00+00:00", "sent: '2025-09-07T21:00:00+00:00': CAP 1.2 3.3.2 writes UTC"),
        ("c:info/c:expires", "2025-09-07T20:00:00-00:00", "info[1]/expires: 2025-09-07T20:00:00-00:00 is not after sent"),
        ("c:info/c:onset", "2025-09-07T21:00:00Z", "info[1]/onset: '2025-09-07T21:00:00Z'"),
        ("c:info/c:language", "uk_UA", "info[1]/language: 'uk_UA' is not an RFC 3066 tag"),
        ("c:info/c:language", "en-US", "info: language uk-UA appears 0 times, expected once"),
        ("c:info/c:description", " ", "info[1]/description: missing or empty"),
        ("c:info/c:area/c:geocode/c:value", "", "info[1]/area[1]/geocode[1]: empty valueName or value"),
    ],
)  # fmt: skip
def test_checks_catch_what_the_schema_cannot(life, path, value, problem):
    problems = validate(broken(life[0].xml, set_text(path, value)))
    ident = value if path == "c:identifier" else life[0].identifier
    assert any(p.startswith(f"{ident}: {problem}") for p in problems), problems


def test_checks_catch_a_missing_area_and_expires(life):
    def strip(root):
        block = first(root, "c:info")
        block.remove(first(block, "c:area"))
        block.remove(first(block, "c:expires"))

    problems = validate(broken(life[0].xml, strip))
    ident = life[0].identifier
    assert f"{ident}: info[1]/area: missing (Google Public Alerts wants one)" in problems
    assert f"{ident}: info[1]/expires: missing or empty (Google Public Alerts wants it)" in problems


@pytest.mark.parametrize(
    "change, problem",
    [
        (set_text("c:msgType", "Clear"), "schema: line"),
        (set_text("c:info/c:urgency", "Now"), "urgency"),
        (set_text("c:sent", "yesterday"), "sent"),
        (lambda root: root.remove(first(root, "c:scope")), "scope"),
        (lambda root: etree.SubElement(root, f"{{{CAP_NS}}}colour").set("x", "1"), "colour"),
    ],
)
def test_the_schema_catches_what_it_can(life, change, problem):
    problems = [p for p in validate(broken(life[0].xml, change)) if ": schema: " in p]
    assert problems and problem in problems[0], problems


def test_not_well_formed_xml_is_a_problem_not_a_crash():
    assert validate(b"<alert><identifier>x</alert>")[0].startswith(
        "(unparsed): not well-formed XML"
    )
    assert "not well-formed" in check_chains([b"<alert"])[0]


def test_a_foreign_root_element_is_refused():
    problems = validate(b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.1'/>")
    assert problems and "not the CAP 1.2 <alert>" in problems[-1]


# -- chains ------------------------------------------------------------------


def test_chain_check_catches_an_update_without_its_alert(life):
    problems = check_chains(life[1:])
    assert (
        f"{life[1].identifier}: references: {life[0].identifier} from {life[0].sender} was not sent earlier"
        in problems
    )
    assert any(
        p.startswith(
            f"{life[1].identifier}: references: an Update must reference its chain's Alert"
        )
        for p in problems
    )


def test_chain_check_catches_a_repeated_identifier(life):
    assert check_chains([*life[:2], life[1]]) == [
        f"{life[1].identifier}: identifier: repeats an earlier message from {life[1].sender}"
    ]


def test_chain_check_catches_a_message_after_the_cancel(life):
    late = broken(life[2].xml, set_text("c:identifier", "UA-32.A.20250907T210000Z.9"))
    problems = check_chains([*life, late])
    assert problems == [
        f"UA-32.A.20250907T210000Z.9: Update follows Cancel {life[3].identifier} of the chain of {life[0].identifier}"
    ]


def test_chain_check_catches_a_wrong_sent_time_in_references(life):
    wrong = life[1].references[0].replace("21:00:00", "21:00:01")
    problems = check_chains([life[0], broken(life[1].xml, set_text("c:references", wrong))])
    assert problems == [
        f"{life[1].identifier}: references: {life[0].identifier} was sent {life[0].sent}, not 2025-09-07T21:00:01-00:00"
    ]


def test_chain_check_catches_an_update_that_references_only_another_update(life):
    only_update = f"{life[1].sender},{life[1].identifier},{life[1].sent}"
    problems = check_chains([*life[:2], broken(life[2].xml, set_text("c:references", only_update))])
    assert problems == []  # an Update's chain is its Alert's: referencing an Update is enough...
    other_sender = broken(life[0].xml, set_text("c:sender", "other@example.org"))
    problems = check_chains([other_sender, life[1]])
    assert any("must reference its chain's Alert" in p for p in problems)  # ...from the same sender


def test_chain_check_catches_a_message_that_mixes_chains(life):
    encoder = CapEncoder(load_regions())
    other = encoder.encode(event("alert", "alert", 0, T0, reason(threat()), region="UA-63"))
    mixed = f"{other.sender},{other.identifier},{other.sent} {life[0].sender},{life[0].identifier},{life[0].sent}"
    problems = check_chains([life[0], other, broken(life[1].xml, set_text("c:references", mixed))])
    assert len(problems) == 1 and "mixes the chains of" in problems[0]


def test_chain_check_catches_a_message_sent_before_what_it_references(life):
    early = broken(life[1].xml, set_text("c:sent", "2025-09-07T20:59:59-00:00"))
    assert check_chains([life[0], early]) == [
        f"{life[1].identifier}: sent: 2025-09-07T20:59:59-00:00 is before {life[0].identifier}, "
        "which it references"
    ]
