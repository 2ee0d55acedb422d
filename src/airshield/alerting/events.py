"""Alert events: what the alert policy says about a region, and why.

Value types shared by the policy (:mod:`.policy`), the CAP encoder
(:mod:`.cap`), the event log and the outputs. Frozen msgspec structs, so that
an event written to ``alerts.ndjson`` or the event log and read back is the
same value (and the same bytes).

Times are float seconds since the Unix epoch (UTC); durations are seconds.

The life of one region (docs/alerting.md):

* ``pre_alert``: a threat may arrive within its class's horizon; a new
  pre-alert *chain* starts (its own ``alert_id``).
* ``alert``: a threat is inside, or may arrive within its class's lead time;
  a new alert chain starts. A pre-alert chain running at that moment ends
  with ``pre_alert_end`` (superseded).
* ``update``: the alert (or pre-alert) goes on with a materially changed
  reason (threats, classes, ETA), or as a periodic refresh.
* ``all_clear``: the alert ends; state ``quiet``, or ``pre_alert`` if threats
  are still expected (a new pre-alert chain then starts at the same time).
* ``pre_alert_end``: a pre-alert ends without an alert, or is superseded.
"""

from __future__ import annotations

import msgspec

#: Region states, in order of severity.
STATES = ("quiet", "pre_alert", "alert")
#: Event kinds (docs/formats.md, "Alerts").
EVENTS = ("pre_alert", "alert", "update", "all_clear", "pre_alert_end")


class ThreatRef(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One threat behind a region's state, as seen at the event time.

    Attributes:
        id: track id.
        cls: most probable class (``drone``, ``jet``, ``cruise``, ``ballistic``).
        confidence: probability that the track is a threat (sum of the threat
            classes' probabilities), 0..1.
        inside: its estimated position is inside the region (within its
            position uncertainty).
        eta_s: nominal time until its predicted path enters the region, s (0
            when inside; None when the nominal path does not enter it).
        eta_lo_s: earliest plausible arrival, s (0 when inside).
        eta_hi_s: latest plausible arrival, s, or None when unknown.
        lat, lon: estimated position at the event time, WGS84 degrees.
        speed_mps: estimated ground speed, m/s. heading_deg: course over ground,
            degrees clockwise from true north.
        sensors: the report kinds behind the track (``acoustic``, ``radar``, ...).
        lost: the track has not been reported for a while (coasting).
    """

    id: str
    cls: str
    confidence: float
    inside: bool
    eta_s: float | None
    eta_lo_s: float | None
    eta_hi_s: float | None
    lat: float
    lon: float
    speed_mps: float
    heading_deg: float
    sensors: tuple[str, ...] = ()
    lost: bool = False


class PlaceEta(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A city in the region that the threats may reach, and when.

    Attributes:
        id: place id (``geonames:<id>``). name, name_uk: English and Ukrainian names.
        eta_s: nominal time until the first threat's predicted path reaches it, s
            (None: only the cone, not the nominal path, reaches it).
        eta_lo_s: earliest plausible arrival of a threat, s (0: a threat is there now).
    """

    id: str
    name: str
    name_uk: str
    eta_s: float | None
    eta_lo_s: float


class OperatorNote(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A person's action behind an event (recorded in the audit trail).

    Attributes:
        user: who acted (an operator id).
        action: ``raise``, ``extend`` or ``cancel``.
        note: why, in the operator's words (required).
        until: for ``raise`` and ``extend``: the alert is held at least until
            then, s; None otherwise.
    """

    user: str
    action: str
    note: str
    until: float | None = None


#: What holds a running alert with no threat in sight (policy rule R4), with its age:
#: (Ukrainian, English) templates, for the reason's text and the CAP messages' descriptions.
SIGHTING_TEXT = ("Очевидець повідомив про загрозу поблизу {ago}.", "A citizen observer reported a threat nearby {ago}.")
HEARD_TEXT = ("Датчики чули поблизу щось схоже на загрозу {ago}, ще не підтверджено.",
              "Sensors heard something like a threat nearby {ago}, not yet confirmed.")


def ago_text(age_s: float, uk: bool = False) -> str:
    """How long ago ``age_s`` (s) was, in whole minutes (down), for people: Ukrainian or English."""
    m = int(age_s // 60)
    if uk:
        return "щойно" if m < 1 else f"{m} хв тому"
    return "less than a minute ago" if m < 1 else f"{m} min ago"


class AlertReason(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Why a region is in its state: machine-readable, with a line for people.

    Attributes:
        rule: the policy rule that decided the event (see
            ``airshield.alerting.policy.RULES``), e.g. ``threat-inside``,
            ``eta-within-lead``, ``expected-within-horizon``,
            ``clear-after-hold-off``, ``operator-raise``.
        text: the same in one English sentence.
        threats: the threats behind the state, nearest (smallest ETA) first; at
            most the policy's ``reason_threats`` of them.
        counts: class -> number of all the threats behind the state.
        inside: how many of them are inside the region now.
        eta_s, eta_lo_s, eta_hi_s: of the nearest threat (see :class:`ThreatRef`);
            None when no threat is expected.
        sensors: report kind -> number of those threats it supports.
        confidence: the largest threat confidence among them, 0..1 (1 for an
            operator's alert).
        places: cities in the region (15,000+ people) the nearest threats may
            reach, soonest first, at most five.
        operator: the person's action, when the event came from one.
        sighting_age_s: time since the citizen observer's sighting near the
            region that holds the running alert (policy rule R4), s; None when
            no sighting holds it.
        heard_age_s: time since the last report of an undecided tentative threat
            track near the region (two sensors heard something like a threat,
            not confirmed) that holds the running alert (R4), s; None when none
            holds it.
    """

    rule: str
    text: str
    threats: tuple[ThreatRef, ...] = ()
    counts: dict[str, int] = msgspec.field(default_factory=dict)
    inside: int = 0
    eta_s: float | None = None
    eta_lo_s: float | None = None
    eta_hi_s: float | None = None
    sensors: dict[str, int] = msgspec.field(default_factory=dict)
    confidence: float = 0.0
    places: tuple[PlaceEta, ...] = ()
    operator: OperatorNote | None = None
    sighting_age_s: float | None = None
    heard_age_s: float | None = None


class AlertEvent(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One event in one region's alert life.

    Attributes:
        t: event time, s.
        region: region id (ISO 3166-2 such as ``UA-32``, or KATOTTG for lower levels).
        event: one of :data:`EVENTS`.
        state: the region's state after the event, one of :data:`STATES`.
        alert_id: the chain (one pre-alert or one alert) this event belongs to;
            unique per sender: ``<region>.<A|P>.<start time, UTC, compact>``.
        seq: number of this event within its chain (0 = the first).
        kind: ``alert`` or ``pre_alert``: which kind of chain.
        expires: after this time the chain's last message is stale unless
            updated, s (CAP ``expires``).
        reason: why.
    """

    t: float
    region: str
    event: str
    state: str
    alert_id: str
    seq: int
    kind: str
    expires: float
    reason: AlertReason


class OperatorCommand(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A duty officer's manual action on a region, fed to the policy with the reports.

    Attributes:
        t: when it was given, s (it takes effect at the first policy step at or after t).
        region: region id.
        action: ``raise`` (start or hold an alert), ``extend`` (hold a running
            alert longer) or ``cancel`` (end a running alert now).
        user: operator id.
        note: why (required, recorded in the audit trail).
        duration_s: for ``raise`` and ``extend``: hold the alert at least this
            long after ``t``; for ``cancel``: keep the automatic rules from
            re-raising the alert for the threats behind it for this long (0: not at all).
    """

    t: float
    region: str
    action: str
    user: str
    note: str
    duration_s: float = 0.0
