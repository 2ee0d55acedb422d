"""The pure core in one object: reports and time in; track, alert and audit events out.

:class:`Core` chains the three stages of the pipeline between ingest and
outputs (../shared/docs/architecture.md)::

    reports ──► Tracker ──► ThreatPicture (warning) ──► AlertPolicy ──► events

Each :meth:`Core.step` takes the reports that arrived since the last step,
the operators' commands given since then, and the time at which the step
closes; it returns everything that happened. No clock, file, socket or random
number inside: the same steps give the same events, bit for bit, which is
what replay, crash recovery and the tests rely on. The shell
(:mod:`airshield.pipeline`, later the service) owns the clock, the event log
and the outputs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec

from airshield.alerting.baseline import NaivePolicy
from airshield.alerting.config import PolicyConfig
from airshield.alerting.events import AlertEvent, OperatorCommand
from airshield.alerting.policy import AlertPolicy, AuditRecord
from airshield.model import Report
from airshield.tracking import Tracker, TrackerConfig, TrackEvent
from airshield.warning import RegionField, ThreatPicture, WarningConfig
from airshield.warning.sightings import heard, sightings

#: Alert policies by name: the product's, and issue #4's naive baseline for comparison.
POLICIES = ("airshield", "naive")


@dataclass(frozen=True)
class CoreConfig:
    """Parameters of every stage (each module cites the sources of its defaults).

    Attributes:
        tracker, warning, policy: the stages' parameters.
        policy_name: ``airshield`` (the product) or ``naive`` (issue #4's baseline:
            alert a region whenever a confirmed threat is within 50 km of it).
    """

    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    warning: WarningConfig = field(default_factory=WarningConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    policy_name: str = "airshield"


def with_overrides(cfg: CoreConfig, overrides: Sequence[str]) -> CoreConfig:
    """``cfg`` with ``STAGE.NAME=JSON`` overrides, e.g. ``warning.lost_max_radius_m=100000`` or
    ``policy.lead_s={"drone": 1200}`` (a JSON object updates a dict- or config-valued
    parameter), checked against the configuration's types.

    Raises:
        ValueError: an override that is malformed, names no parameter, or has a wrong type
            (the message names it).
    """
    data = msgspec.to_builtins(cfg)
    for item in overrides:
        name, eq, value = item.partition("=")
        stage, dot, param = name.strip().partition(".")
        if not eq or not dot:
            raise ValueError(f"{item!r}: expected STAGE.NAME=JSON, e.g. warning.lost_max_radius_m=100000")
        if stage not in ("tracker", "warning", "policy"):
            raise ValueError(f"{item!r}: unknown stage {stage!r} (tracker, warning, policy)")
        if param not in data[stage]:
            raise ValueError(f"{item!r}: {stage} has no parameter {param!r}; it has {', '.join(sorted(data[stage]))}")
        try:
            v = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{item!r}: the value is not JSON ({exc})") from None
        old = data[stage][param]
        problem = _value_problem(old, v)
        if problem:
            raise ValueError(f"{item!r}: {problem}")
        data[stage][param] = _merged(old, v)
    try:
        return msgspec.convert(data, CoreConfig)
    except msgspec.ValidationError as exc:
        raise ValueError(f"{', '.join(overrides)}: {exc}") from None


def _merged(old, new):
    """``new`` over ``old``, dicts merged key by key at every depth (``warning.models=
    {"drone": {"step_s": 10}}`` changes the drone's step only)."""
    if isinstance(old, dict) and isinstance(new, dict):
        return {**old, **{k: _merged(old.get(k), v) for k, v in new.items()}}
    return new


def _value_problem(old, new) -> str | None:
    """What is wrong with an override ``new`` of a parameter whose default is ``old``, or None:
    a number must be finite, and not negative where the default is not (a distance, a time)."""
    if isinstance(new, dict) and isinstance(old, dict):
        unknown = sorted(set(new) - set(old)) if old else []
        if unknown:  # a typo of a class or a kind would silently change nothing
            return f"unknown key(s) {', '.join(map(repr, unknown))}; known: {', '.join(sorted(old))}"
        return next((f"{k}: {p}" for k, v in new.items() if (p := _value_problem(old.get(k), v))), None)
    if isinstance(new, list):
        return next((p for v in new if (p := _value_problem(None, v))), None)
    if isinstance(new, float) and not math.isfinite(new):
        return f"{new} is not a finite number"
    if (isinstance(new, int | float) and not isinstance(new, bool) and new < 0
            and isinstance(old, int | float) and not isinstance(old, bool) and old >= 0):
        return f"must not be negative, got {new} (default {old})"
    return None


@dataclass(frozen=True)
class StepResult:
    """What one step produced: the tracker's, the policy's and the operators' events."""

    now: float
    track_events: list[TrackEvent]
    alert_events: list[AlertEvent]
    audit: list[AuditRecord]


class Core:
    """Tracker, threat picture and alert policy, stepped together (see module doc).

    Args:
        regions: the alert regions (airshield.geo.RegionSet), any level; with
            ``config.policy.levels`` set, only regions of those levels alert.
        sites: places to give ETAs for (airshield.geo.Site), or None.
        config: parameters.
    """

    def __init__(self, regions, sites: Sequence | None = None, config: CoreConfig | None = None):
        self.cfg = config or CoreConfig()
        self.regions = regions
        self.theatre = regions.theatre
        levels = self.cfg.policy.levels
        ids = [r.id for r in regions if levels is None or r.level in levels]
        if not ids:
            raise ValueError(f"no regions of levels {levels} in {regions.source}")
        self.field = RegionField({i: regions.geometry_xy(i) for i in ids}, self.cfg.warning.region_res_m,
                                 self.cfg.warning.region_margin_m)
        self.tracker = Tracker(self.theatre, self.cfg.tracker)
        self.picture = ThreatPicture(self.theatre, self.field, sites, self.cfg.warning)
        if self.cfg.policy_name == "airshield":
            self.policy = AlertPolicy(self.field.ids, self.cfg.policy)
        elif self.cfg.policy_name == "naive":
            self.policy = NaivePolicy(self.field.ids, expires_s=self.cfg.policy.expires_s)
        else:
            raise ValueError(f"unknown policy {self.cfg.policy_name!r}; known: {', '.join(POLICIES)}")
        self.now = float("-inf")

    @property
    def region_ids(self) -> list[str]:
        """The regions that alert, sorted."""
        return self.field.ids

    def register_sensors(self, reports: Sequence[Report]) -> None:
        """Tell the tracker where fixed sensors are in advance (a sensor registry; changes no output)."""
        self.tracker.register_sensors(list(reports))

    def step(self, reports: Sequence[Report], now: float,
             commands: Sequence[OperatorCommand] = ()) -> StepResult:
        """Process the reports that arrived up to ``now`` and the commands given up to ``now``."""
        self.now = now = max(self.now, float(now))
        track_events = self.tracker.process(list(reports), now)
        self.picture.update(track_events, now)
        radius = self.cfg.policy.sighting_radius_m
        seen = sightings(reports, self.theatre, self.field, radius) if radius is not None else None
        pol = self.cfg.policy
        near = None
        if pol.heard_min_llr is not None and radius is not None:
            near = heard(self.tracker, self.field, radius, pol.heard_min_sensors, pol.heard_min_llr)
        alert_events, audit = self.policy.step(self.picture, now, commands, track_events, seen, near)
        return StepResult(now, track_events, alert_events, audit)
