"""Alert-policy parameters, each with its reason. Units: s."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PolicyConfig:
    """Parameters of the per-region alert policy (policy.py).

    Attributes:
        lead_s: per class, a region goes into alert when a threat may arrive
            within this time (its earliest plausible arrival). Issue #4: "15 min
            for drones, 10 for cruise missiles, at once for a ballistic
            missile's predicted impact area" (infinite: the whole predicted
            flight); jet drones fly like cruise missiles (domain.md: radar
            operators confuse them).
        prealert_s: per class, a region is pre-alerted when a threat may arrive
            within this time (the prediction horizon: issue #4, ~60 min for
            drones, ~30 min for cruise missiles).
        clear_hold_s: an alert ends only after no threat has been inside or
            expected within its lead time for this long: tracks blink (a missed
            look, a new track id for the same drone) and the next drone of a
            stream is often confirmed minutes after the last one left; an
            all-clear followed minutes later by a new alert is the flapping
            people complain about (domain.md: 3.6 % of official alerts re-start
            within 10 min of their all-clear). On night-40 (seeds default, 7, 11)
            15 min cut flapping from 8-15 % to 0-9 % and premature all-clears to
            0, for ~30 % more unneeded alert-minutes than 5 min [measured].
        clear_hold_ballistic_s: the hold-off of an alert that only ballistic missiles
            ever drove (no other threat, no citizen's sighting, not raised by an
            operator). Until the radar has followed some seconds of a missile's arc, its
            time to impact is known only as free fall's (the longest), so its first
            forecast may run hundreds of km past where it lands and alert the regions on
            that line (R2: the ballistic lead is its whole flight), for the full hold-off.
            A shorter hold ends those alerts sooner, but a salvo's next missile, minutes
            later, alerts them again: on two 18-Iskander salvo nights 120 s cut unneeded
            alert-minutes by 70 % and raised flapping from 5 / 24 % to 26 / 37 % (600 s:
            -30 %, flapping 25 / 26 %). The default is the drones' hold [measured,
            BENCHMARKS.md "Warning", twelfth session].
        clear_margin_s: hysteresis: a running alert ends only when no threat may arrive
            within its lead time plus this margin; a threat flying along the lead-time
            line (a drone skirting a region) would otherwise end and restart the alert.
            10 min matches the flapping window of metrics.md; on night-40 it cut
            flapping from 15-25 % to 8-12 % [measured].
        min_alert_s: an alert lasts at least this long [est]: people need a few
            minutes to reach a shelter; an alert shorter than that is noise.
        prealert_hold_s: the same hold for pre-alerts.
        update_min_s: an alert's reason changes (more threats, another class, a
            nearer ETA) are sent at most this often: an update per batch would
            flood phones and sirens [est].
        reason_threats: a reason lists at most this many threats, the nearest
            first (its counts cover all of them): on a night of hundreds of
            drones a message must stay readable and small.
        eta_step_s: the nearest ETA is compared in steps of this size for
            "changed" (a new minute-level ETA every 5 s is not news) [est].
        refresh_s: an alert that has not changed is refreshed this often, so
            its CAP message never expires while it is running.
        expires_s: how long a message stays valid without a refresh (CAP
            ``expires``): twice the refresh, so one lost refresh does not expire it.
        prealert_uncorroborated: threats seen by one sensor only may pre-alert
            (never alert) a region.
        alert_uncorroborated: classes that may alert a region when seen by one
            locating sensor only (a radar whose several plots confirmed the track):
            a ballistic missile flies for a couple of minutes ("under 2 min Belgorod
            -> Kharkiv", domain.md), and often only one radar sees it; waiting for a
            second sensor would mean no warning at all. Issue #3 allows it:
            "several reports, or two independent sensors".
        levels: region levels the policy runs for (None: every region given).
        sighting_radius_m: a citizen observer's report of anything but a civil
            aircraft holds a running alert in every region within this distance
            of the observer, as a threat inside would: the all-clear waits
            ``clear_hold_s`` after the sighting. It never starts or extends a
            pre-alert or starts an alert: one person's report is not
            corroboration (issue #3). Why: the drones that acoustic nodes cannot
            hear (above ~2 km) are often seen by observers alone, one at a
            time, and no track follows them; on fifteen night-40 seeds 6 of 7
            premature all-clears had such a sighting in the region in the 15 min
            before them [measured, BENCHMARKS.md "Warning", fifth session]. A
            drone is heard or seen at night within a few km [est]. None: off.
        sighting_hold_max_s: sightings hold a running alert only this long after
            the last threat that drove it (R1, R2 or the hysteresis) or its
            start: one observer who keeps reporting (a mistaken or malicious
            one) cannot hold a region in alert for ever. An hour, as a lost
            drone's own hold (``WarningConfig.lost_keep_s``): a drone that no
            sensor follows for longer than that is no longer placed by the
            picture either [est].
        heard_min_sensors, heard_min_llr: a tentative threat track (not confirmed)
            that at least ``heard_min_sensors`` independent sensors reported and
            whose score is at least ``heard_min_llr`` holds a running alert in
            every region within ``sighting_radius_m`` of it, as a sighting does
            (bounded by ``sighting_hold_max_s`` the same way). It never starts or
            extends a pre-alert or starts an alert. Why: a drone the sensors hear
            only now and then (acoustic nodes kilometres apart, a citizen between
            them) leaves tentative tracks that time out before they can confirm,
            and the alert of the region it is flying through used to end while it
            was still inside, heard minutes before. The default is the lower bound
            of Wald's sequential test whose upper bound confirms a track
            (``TrackerConfig.confirm_score`` = ln 1e4 = 9.2): a track is "no
            target" once its evidence against one is as strong as the evidence
            a confirmation needs for one; until then it is undecided and holds
            [choice; measured: BENCHMARKS.md, "Warning", fourteenth session].
            None: off.
    """

    lead_s: dict[str, float] = field(default_factory=lambda: {
        "drone": 900.0, "jet": 600.0, "cruise": 600.0, "ballistic": math.inf})
    prealert_s: dict[str, float] = field(default_factory=lambda: {
        "drone": 3600.0, "jet": 1800.0, "cruise": 1800.0, "ballistic": math.inf})
    clear_hold_s: float = 900.0
    clear_hold_ballistic_s: float = 900.0
    clear_margin_s: float = 600.0
    min_alert_s: float = 300.0
    prealert_hold_s: float = 300.0
    update_min_s: float = 300.0
    reason_threats: int = 20
    eta_step_s: float = 300.0
    refresh_s: float = 1800.0
    expires_s: float = 3600.0
    prealert_uncorroborated: bool = True
    alert_uncorroborated: tuple[str, ...] = ("ballistic",)
    levels: tuple[str, ...] | None = None
    sighting_radius_m: float | None = 3000.0
    sighting_hold_max_s: float = 3600.0
    heard_min_sensors: int = 2
    heard_min_llr: float | None = -9.2

    def __post_init__(self) -> None:
        from airshield.warning.config import PREDICTED

        for name in ("clear_hold_s", "clear_hold_ballistic_s", "clear_margin_s", "min_alert_s", "prealert_hold_s", "update_min_s", "eta_step_s", "refresh_s",
                     "expires_s", "sighting_hold_max_s"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0.0):
                raise ValueError(f"PolicyConfig.{name} must be a finite number >= 0, got {v}")
        if self.refresh_s < self.update_min_s:
            raise ValueError(f"PolicyConfig.refresh_s ({self.refresh_s}) must be at least update_min_s "
                             f"({self.update_min_s})")
        if self.expires_s <= self.refresh_s:
            raise ValueError(f"PolicyConfig.expires_s ({self.expires_s}) must exceed refresh_s ({self.refresh_s}): "
                             "a running alert would expire between refreshes")
        for name in ("lead_s", "prealert_s"):
            missing = set(PREDICTED) - set(getattr(self, name))
            if missing:
                raise ValueError(f"PolicyConfig.{name} lacks the classes {sorted(missing)}")
        unknown = set(self.alert_uncorroborated) - set(PREDICTED)
        if unknown:
            raise ValueError(f"PolicyConfig.alert_uncorroborated names unknown classes {sorted(unknown)}")
        if self.eta_step_s <= 0:
            raise ValueError("PolicyConfig.eta_step_s must be > 0")
        if self.heard_min_sensors < 2:
            raise ValueError(f"PolicyConfig.heard_min_sensors must be at least 2, got {self.heard_min_sensors}: "
                             "one sensor alone is no evidence of a threat (issue #3)")
        if self.heard_min_llr is not None and not math.isfinite(self.heard_min_llr):
            raise ValueError(f"PolicyConfig.heard_min_llr must be a finite number or None, got {self.heard_min_llr}")
        r = self.sighting_radius_m
        if r is not None and not (math.isfinite(r) and r >= 0.0):
            raise ValueError(f"PolicyConfig.sighting_radius_m must be a finite number >= 0 or None, got {r}")
