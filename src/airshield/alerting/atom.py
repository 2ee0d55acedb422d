"""An Atom 1.0 feed (RFC 4287) of the current alerts, linking to their CAP messages.

CAP feeds are published as Atom: one entry per alert still in force, whose
``alternate`` link points at the alert's latest CAP message (Google Public
Alerts and most CAP aggregators poll such a feed). A chain is *current* from
its Alert until its Cancel; its entry always points at its latest message.

Pure, like the encoder: the feed's ``updated`` time is the latest ``sent`` of
the messages it was given, never the clock (the caller may pass its clock as
``now`` to leave out expired alerts), so the same messages give the same
bytes. The caller writes the file (e.g. ``RUNDIR/alerts.atom``) next to the CAP
files (``RUNDIR/cap/<identifier>.xml``, see :func:`airshield.alerting.cap.cap_path`).

Example::

    feed = AtomFeed(base_url="https://alerts.example.org/")
    for message in messages:
        feed.add(message)
    (rundir / "alerts.atom").write_bytes(feed.to_xml())
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from lxml import etree

from airshield.alerting.cap import CAP_MIME, LANGUAGES, CapMessage, cap_path, cap_time

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_MIME = "application/atom+xml"
#: Tag URI authority and date (RFC 4151: ``tag:<authority>,<date>:``) when the base URL
#: names no host; otherwise the authority is the base URL's host.
DEFAULT_TAG_AUTHORITY = "airshield.example.org,2026"
#: The date of a tag URI's authority (RFC 4151 2.1: a date on which the domain was the
#: feed owner's): the year the feed format was fixed, the same for every deployment.
TAG_DATE = "2026"
#: The feed's own path, relative to the base URL (its ``self`` link).
FEED_PATH = "alerts.atom"
#: Before any message, the feed's ``updated`` (RFC 4287 4.2.15 requires one):
#: the Unix epoch, so that an empty feed is deterministic too.
_EPOCH_TEXT = "1970-01-01T00:00:00Z"


_DNS_NAME = re.compile(r"(?=.*[a-z])[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")


def tag_authority_for(base_url: str) -> str:
    """``<authority>,<date>`` of the tag URIs of a feed served at ``base_url``: its host and
    ``TAG_DATE``, or the placeholder when the host is no public domain name (an IP address,
    ``localhost``, a single-label intranet name, none).

    A log keeps the authority it was made with (meta ``atom_tag_authority``), so that an
    entry's id never changes (RFC 4287 4.2.6) when a restart is given another base URL.
    """
    host = (urlsplit(base_url).hostname or "").rstrip(".")
    if (not _DNS_NAME.fullmatch(host) or "." not in host or host.endswith(".localhost")
            or host.replace(".", "").isdigit()):
        return DEFAULT_TAG_AUTHORITY
    return f"{host},{TAG_DATE}"


def atom_time(cap_sent: str) -> str:
    """A CAP date-time (``...-00:00``) as an RFC 3339 UTC time with ``Z`` (RFC 4287 3.3).

    RFC 3339 section 4.3 reads "-00:00" as "UTC, local offset unknown"; Atom
    readers expect "Z" or "+00:00", so the time is converted.
    """
    return datetime.fromisoformat(cap_sent).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class AtomFeed:
    """The current alerts, fed CAP messages in the order they were sent.

    Args:
        base_url: where the feed and the ``cap/`` folder are served, e.g.
            ``https://alerts.example.org/`` (a trailing slash is added if missing).
        title: the feed's title.
        language: which info block of the messages gives entry titles and
            summaries (one of `LANGUAGES`).
        tag_authority: ``<authority>,<date>`` of the tag: URIs (RFC 4151) used as
            feed and entry ids; default the base URL's host and ``TAG_DATE`` (a
            deployment's ids are then its own domain's, not a placeholder's).
        author: the feed's author name (RFC 4287 4.2.1: required, from the feed
            when entries have none).
    """

    def __init__(
        self,
        base_url: str,
        *,
        title: str = "airshield: поточні повітряні тривоги / current air raid alerts",
        language: str = "uk-UA",
        tag_authority: str | None = None,
        author: str = "airshield",
    ) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"language {language!r}: expected one of {LANGUAGES}")
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.title = title
        self.language = language
        self.tag_authority = tag_authority or tag_authority_for(self.base_url)
        self.author = author
        self._current: dict[str, tuple[CapMessage, CapMessage]] = {}  # alert_id -> (first, latest)
        self._updated: str | None = None  # latest CAP sent seen

    def add(self, message: CapMessage) -> None:
        """Take the next message: an Alert opens an entry, an Update replaces its
        link, a Cancel removes it. Messages of a chain not in the feed (an Update
        whose Alert was never added, a message after the Cancel) change nothing
        but the feed's ``updated`` time."""
        if self._updated is None or message.sent > self._updated:
            self._updated = message.sent
        if message.msg_type == "Alert":
            self._current[message.alert_id] = (message, message)
        elif message.alert_id in self._current:
            if message.msg_type == "Cancel":
                del self._current[message.alert_id]
            else:
                first, _ = self._current[message.alert_id]
                self._current[message.alert_id] = (first, message)

    @property
    def current(self) -> list[CapMessage]:
        """The latest message of each current chain, by alert_id."""
        return [latest for _, (_, latest) in sorted(self._current.items())]

    def entry_id(self, alert_id: str) -> str:
        """An entry's id: ``tag:<authority>:alert/<alert_id>``, stable over the chain's life."""
        return f"tag:{self.tag_authority}:alert/{alert_id}"

    def to_xml(self, now: float | None = None) -> bytes:
        """The feed: UTF-8 XML bytes, entries ordered by alert_id.

        Args:
            now: the caller's clock, s since the epoch; when given, chains whose
                latest message has expired by then (CAP <expires>: its policy
                stopped updating it without a Cancel) are left out, and the
                feed's ``updated`` is the latest of the messages' ``sent`` and
                those expiry times. None: every chain not cancelled is listed.
        """
        current = sorted(self._current.items())
        updated = self._updated
        if now is not None:
            cutoff = cap_time(now)
            expired = [latest.expires for _, (_, latest) in current if latest.expires <= cutoff]
            current = [(a, fl) for a, fl in current if fl[1].expires > cutoff]
            updated = max([updated or "", *expired]) or None
        feed = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS})
        feed.set("{http://www.w3.org/XML/1998/namespace}lang", self.language)
        _sub(feed, "id", f"tag:{self.tag_authority}:feed/alerts")
        _sub(feed, "title", self.title)
        _sub(feed, "updated", atom_time(updated) if updated else _EPOCH_TEXT)
        author = _sub(feed, "author")
        _sub(author, "name", self.author)
        _sub(feed, "link", rel="self", type=ATOM_MIME, href=self.base_url + FEED_PATH)
        for alert_id, (first, latest) in current:
            entry = _sub(feed, "entry")
            _sub(entry, "id", self.entry_id(alert_id))
            _sub(entry, "title", latest.headline.get(self.language, latest.identifier))
            _sub(entry, "published", atom_time(first.sent))
            _sub(entry, "updated", atom_time(latest.sent))
            _sub(
                entry,
                "link",
                rel="alternate",
                type=CAP_MIME,
                href=self.base_url + cap_path(latest.identifier),
            )
            _sub(entry, "summary", latest.description.get(self.language, ""))
        return etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def atom_feed(messages: Iterable[CapMessage], base_url: str, **options: str) -> bytes:
    """The Atom feed after `messages` (in the order sent); `options` go to `AtomFeed`."""
    feed = AtomFeed(base_url, **options)
    for message in messages:
        feed.add(message)
    return feed.to_xml()


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element
