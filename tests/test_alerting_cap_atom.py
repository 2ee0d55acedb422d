"""The Atom feed of current alerts (airshield.alerting.atom)."""

from __future__ import annotations

import re

import pytest
from lxml import etree
from test_alerting_cap import alert_life, pre_alert_then_alert, sort_key

from airshield.alerting.atom import ATOM_NS, AtomFeed, atom_feed, atom_time
from airshield.alerting.cap import CAP_MIME, CapEncoder
from airshield.geo.region_sources import load_regions

A = {"a": ATOM_NS}
BASE = "https://alerts.example.org/ua"
RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture(scope="module")
def night() -> list:
    """Messages of a night: Kyiv Oblast's alert life (ends), Kharkiv's pre-alert
    -> alert -> new pre-alert (its last pre-alert stays current)."""
    events = sorted(alert_life("UA-32") + pre_alert_then_alert("UA-63"), key=sort_key)
    return CapEncoder(load_regions()).encode_all(events)


def feed_of(xml: bytes) -> etree._Element:
    root = etree.fromstring(xml)
    assert root.tag == f"{{{ATOM_NS}}}feed"
    return root


def assert_valid_atom(root: etree._Element) -> None:
    """RFC 4287's required elements: feed id, title, updated, author (4.1.1);
    entry id, title, updated, and a summary or content (4.1.2)."""
    for tag in ("id", "title", "updated"):
        assert len(root.findall(f"a:{tag}", A)) == 1, tag
    assert root.findtext("a:author/a:name", None, A)
    assert RFC3339_UTC.fullmatch(root.findtext("a:updated", None, A))
    ids = []
    for entry in root.findall("a:entry", A):
        for tag in ("id", "title", "updated", "summary"):
            assert (entry.findtext(f"a:{tag}", None, A) or "").strip(), tag
        assert RFC3339_UTC.fullmatch(entry.findtext("a:updated", None, A))
        links = entry.findall("a:link[@rel='alternate']", A)
        assert len(links) == 1 and links[0].get("type") == CAP_MIME
        ids.append(entry.findtext("a:id", None, A))
    assert len(ids) == len(set(ids))


def test_feed_holds_one_entry_per_current_alert(night):
    root = feed_of(atom_feed(night, BASE))
    assert_valid_atom(root)
    entries = root.findall("a:entry", A)
    # Kyiv Oblast's alert ended, and so did Kharkiv's first pre-alert and its alert.
    assert [e.findtext("a:id", None, A) for e in entries] == [
        "tag:alerts.example.org,2026:alert/UA-63.P.20250907T213000Z"
    ]
    (entry,) = entries
    assert entry.findtext("a:title", None, A).startswith("Загроза повітряної атаки: Харківська")
    assert entry.find("a:link", A).get("href") == (
        "https://alerts.example.org/ua/cap/UA-63.P.20250907T213000Z.0.xml"
    )
    assert root.findtext("a:updated", None, A) == "2025-09-07T21:30:00Z"


def test_an_entry_links_to_the_latest_message_of_its_chain(night):
    feed = AtomFeed(BASE, language="en-US")
    for m in night[:3]:  # Kyiv Oblast's Alert and Update, Kharkiv's pre-alert
        feed.add(m)
    root = feed_of(feed.to_xml())
    assert_valid_atom(root)
    links = [e.find("a:link", A).get("href") for e in root.findall("a:entry", A)]
    assert links == [
        f"{BASE}/cap/UA-32.A.20250907T210000Z.1.xml",
        f"{BASE}/cap/UA-63.P.20250907T210000Z.0.xml",
    ]
    (kyiv, _) = root.findall("a:entry", A)
    assert kyiv.findtext("a:published", None, A) == "2025-09-07T21:00:00Z"
    assert kyiv.findtext("a:updated", None, A) == "2025-09-07T21:05:00Z"
    assert kyiv.findtext("a:title", None, A).startswith("Air raid alert continues: Kyiv Oblast")
    assert "Threats: 1 ballistic missile, 1 drone." in kyiv.findtext("a:summary", None, A)
    assert [m.alert_id for m in feed.current] == [
        "UA-32.A.20250907T210000Z",
        "UA-63.P.20250907T210000Z",
    ]


def test_empty_feed_is_valid_and_deterministic():
    xml = AtomFeed(BASE).to_xml()
    root = feed_of(xml)
    assert_valid_atom(root)
    assert root.findall("a:entry", A) == []
    assert root.findtext("a:updated", None, A) == "1970-01-01T00:00:00Z"
    assert xml == AtomFeed(BASE).to_xml()
    self_link = root.find("a:link[@rel='self']", A)
    assert self_link.get("href") == f"{BASE}/alerts.atom"


def test_same_messages_give_identical_feed_bytes(night):
    assert atom_feed(night, BASE) == atom_feed(list(night), BASE)
    assert atom_feed(night[:4], BASE) != atom_feed(night, BASE)


def test_atom_times_are_utc_with_z():
    assert atom_time("2025-09-07T21:00:00-00:00") == "2025-09-07T21:00:00Z"
    assert atom_time("2025-09-08T00:30:00+03:00") == "2025-09-07T21:30:00Z"


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="language"):
        AtomFeed(BASE, language="ru-RU")


def test_an_alert_past_its_expiry_leaves_the_feed_when_the_caller_says_so(night):
    feed = AtomFeed(BASE)
    feed.add(night[0])  # Kyiv Oblast's Alert, expires 21:30:01; never updated nor cancelled
    t = 1757278800.0  # 21:00:00
    assert len(feed_of(feed.to_xml(now=t + 1800.0)).findall("a:entry", A)) == 1
    gone = feed_of(feed.to_xml(now=t + 1801.0))
    assert gone.findall("a:entry", A) == []
    assert gone.findtext("a:updated", None, A) == "2025-09-07T21:30:01Z"
    assert len(feed_of(feed.to_xml()).findall("a:entry", A)) == 1


def test_entry_ids_are_the_deployments_own_tag_uris():
    # RFC 4151: the authority is a domain the feed's owner holds: the base URL's host.
    assert AtomFeed("https://alerts.oblast.gov.ua/feeds/").tag_authority == "alerts.oblast.gov.ua,2026"
    assert AtomFeed("https://Alerts.Oblast.gov.ua./").tag_authority == "alerts.oblast.gov.ua,2026"
    assert AtomFeed("https://x.example/", tag_authority="example.net,2025").tag_authority == "example.net,2025"
    # No domain name (none, an IP address, IPv6): the placeholder, not an invalid tag URI.
    for url in ("/relative/", "http://127.0.0.1:8000/", "http://[::1]:8000/", "http://localhost:8000/",
                "http://alerts/", "http://app.localhost/"):
        assert AtomFeed(url).tag_authority == "airshield.example.org,2026", url
