"""The naive policy issue #4 compares against: alert a whole region whenever any
confirmed threat is within 50 km of it.

It reads the tracker's events directly, not the threat picture (it has no
prediction, no lost-threat reasoning, no hold-off and no minimum duration): a
*confirmed threat* is a track the tracker shows as a threat (confirmed or
coasting, flag ``threat``) and has not deleted, at the position of its latest
state. A region is in alert exactly while such a track lies within
``radius_m`` of it (inside counts as distance 0). It produces the same
:class:`AlertEvent` stream as :class:`AlertPolicy`, so the same evaluation
scores both (``bench/bench_alerts.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from airshield.alerting.events import AlertEvent, AlertReason, OperatorCommand
from airshield.model import format_time
from airshield.warning.picture import ThreatPicture


class NaivePolicy:
    """Alert while a confirmed threat is within ``radius_m`` of the region (issue #4's baseline)."""

    def __init__(self, region_ids: Sequence[str], radius_m: float = 50_000.0, expires_s: float = 3600.0,
                 region_index: dict[str, int] | None = None):
        self.ids = list(region_ids)
        self.col = region_index or {r: i for i, r in enumerate(self.ids)}
        self.radius = radius_m
        self.expires_s = expires_s
        self.state = dict.fromkeys(self.ids, "quiet")
        self.chain: dict[str, str] = {}
        self.tracks: dict[str, tuple[float, float]] = {}  # confirmed threats: id -> (x, y), m
        self.now = -math.inf

    def states(self) -> dict[str, str]:
        return dict(self.state)

    def step(self, picture: ThreatPicture, now: float, commands: Sequence[OperatorCommand] = (),
             track_events: Sequence = (), sightings: Mapping[str, float] | None = None,
             heard: Mapping[str, float] | None = None) -> tuple[list[AlertEvent], list]:
        """Advance to ``now`` with this step's track events; operators' commands, sightings and
        undecided tracks are ignored."""
        self.now = now = max(self.now, float(now))
        for e in track_events:
            st = e.state
            if e.kind == "deleted" or not st.threat:
                self.tracks.pop(st.id, None)
            elif st.status in ("confirmed", "coasting"):
                self.tracks[st.id] = (st.x[0], st.x[1])
        ids = sorted(self.tracks)
        near: dict[int, list[str]] = {}
        if ids:
            xy = np.array([self.tracks[i] for i in ids])
            pi, ri, d = picture.field.near(xy[:, 0], xy[:, 1])
            close = d <= self.radius
            for p, r in zip(pi[close].tolist(), ri[close].tolist(), strict=True):
                near.setdefault(r, []).append(ids[p])
        events = []
        for rid in self.ids:
            tracks = sorted(near.get(self.col[rid], []))
            if tracks and self.state[rid] == "quiet":
                stamp = format_time(math.floor(now)).replace("-", "").replace(":", "")
                self.chain[rid] = f"{rid}.A.{stamp}"
                self.state[rid] = "alert"
                events.append(self._event(rid, "alert", "threat-within-50km", tracks))
            elif not tracks and self.state[rid] == "alert":
                self.state[rid] = "quiet"
                events.append(self._event(rid, "all_clear", "no-threat-within-50km", tracks))
        return events, []

    def _event(self, rid: str, event: str, rule: str, tracks: list[str]) -> AlertEvent:
        text = (f"{len(tracks)} confirmed threat(s) within {self.radius / 1000:.0f} km." if tracks
                else f"No confirmed threat within {self.radius / 1000:.0f} km.")
        return AlertEvent(t=self.now, region=rid, event=event, state=self.state[rid], alert_id=self.chain[rid],
                          seq=0 if event == "alert" else 1, kind="alert", expires=self.now + self.expires_s,
                          reason=AlertReason(rule=rule, text=text, counts={"threat": len(tracks)} if tracks else {}))
