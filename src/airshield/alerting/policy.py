"""The alert policy: one pure state machine per region, threats and time in, alert events out.

Written to be read rule by rule, like h11's state machine: every transition
names its rule (:data:`RULES`), and every event carries that rule in its
machine-readable reason. No clock, no I/O: :meth:`AlertPolicy.step` takes the
threat picture's impact table, the time and the operators' commands, and
returns the events (and the audit records of the commands).

States and transitions of a region (docs/alerting.md has the diagram)::

    quiet ──pre-alert──► pre_alert ──alert──► alert ──all-clear──► quiet / pre_alert
      │                      ▲  │                ▲
      └────────alert─────────┼──┘                └── update (changed / refresh / operator)
                             └── pre_alert_end (lapsed, or superseded by an alert)

The rules, with their sources:

* **R1 threat-inside**: a corroborated threat's cone covers the region now
  -> alert (a ballistic missile confirmed by one radar counts as corroborated:
  ``alert_uncorroborated``). The alert must cover every entry (metrics.md: a *missed entry* is
  a threat inside a region that never alerted).
* **R2 eta-within-lead**: a corroborated threat's earliest plausible arrival
  is within its class's lead time (15 min drones, 10 min cruise missiles and
  jet drones, the whole predicted flight of a ballistic missile: issue #4)
  -> alert. Using the *earliest* plausible arrival, not the nominal one, is
  what makes the warning on time when a drone speeds up or turns.
* **R3 expected-within-horizon**: a threat (corroborated, or seen by one
  locating sensor) may arrive within its class's prediction horizon
  -> pre-alert (Israel's Home Front Command model: early warning, then alert;
  domain.md).
* **R4 clear-after-hold-off**: an alert ends (all-clear) when no R1/R2 threat
  has been present for ``clear_hold_s`` (``clear_hold_ballistic_s`` for an alert
  that only ballistic missiles ever drove) (counting, for a running alert, threats
  that may arrive within their lead time plus ``clear_margin_s``: hysteresis),
  the alert has lasted ``min_alert_s`` and no operator hold is running. The
  region falls back to pre-alert if R3 still holds. A citizen observer's
  sighting of anything but a civil aircraft within ``sighting_radius_m`` of
  the region counts like a threat inside at the sighting's time: it holds a
  running alert, never starts one (drones flying too high for acoustic nodes
  are often seen by observers alone, one at a time), and only within
  ``sighting_hold_max_s`` of the last threat behind the alert (one observer
  who keeps reporting cannot hold it for ever). The reason of a running
  alert says how long ago the sighting was (``sighting_age_s``). A tentative
  threat track that two sensors reported and that the evidence has not yet
  decided against (``heard_min_llr``) holds a running alert the same way, within
  the same bound; its reason says how long ago it was heard (``heard_age_s``).
* **R5 pre-alert-lapsed**: a pre-alert ends when no R3 threat has been present
  for ``prealert_hold_s``.
* **R6 changed**: a running alert or pre-alert whose threats changed
  materially (counts by class, a threat inside or not, the nearest ETA in
  ``eta_step_s`` steps) is updated, at most every ``update_min_s``.
* **R7 refresh**: an alert or pre-alert that did not change is re-sent every
  ``refresh_s`` so that its message never expires while it runs.
* **Operators** (issue #4: "raise, extend and cancel alerts by hand, with a
  reason, recorded in an audit trail"): ``raise`` starts an alert (or holds a
  running one) until ``t + duration``; ``extend`` holds a running alert
  longer; ``cancel`` ends a running alert now and keeps the threats behind it
  from re-raising it for ``duration``; new threats still do.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from airshield.alerting.config import PolicyConfig
from airshield.alerting.events import (
    HEARD_TEXT,
    SIGHTING_TEXT,
    AlertEvent,
    AlertReason,
    OperatorCommand,
    OperatorNote,
    ThreatRef,
    ago_text,
)
from airshield.model import format_time
from airshield.warning.config import PREDICTED
from airshield.warning.picture import Table, ThreatPicture

RULES: dict[str, str] = {
    "threat-inside": "R1: a corroborated threat is inside the region (within its position uncertainty).",
    "eta-within-lead": "R2: a corroborated threat may arrive within its class's lead time.",
    "expected-within-horizon": "R3: a threat may arrive within its class's prediction horizon.",
    "clear-after-hold-off": ("R4: no threat inside or within its lead time, and no citizen sighting near the region, "
                             "for the hold-off; minimum duration met."),
    "pre-alert-lapsed": "R5: no threat expected within the horizon for the hold-off.",
    "changed": "R6: the threats behind the alert changed materially.",
    "refresh": "R7: periodic refresh of an unchanged alert.",
    "superseded-by-alert": "A pre-alert ends because an alert started.",
    "operator-raise": "An operator raised the alert by hand.",
    "operator-extend": "An operator held the alert longer.",
    "operator-cancel": "An operator ended the alert by hand.",
}

ACTIONS = ("raise", "extend", "cancel")
_N_CLS = len(PREDICTED)
_BALLISTIC = PREDICTED.index("ballistic")


@dataclass(frozen=True)
class AuditRecord:
    """What happened to an operator's command (the audit trail).

    Attributes:
        t: when the policy took it, s. command: the command as given.
        outcome: ``applied`` or ``rejected``. detail: why it was rejected, or what it did.
        alert_id: the alert it acted on, if any.
    """

    t: float
    command: OperatorCommand
    outcome: str
    detail: str
    alert_id: str | None = None


@dataclass
class _Region:
    id: str
    state: str = "quiet"
    chain: str | None = None  # the running chain (alert or pre-alert)
    chain_kind: str = ""
    seq: int = 0
    started: float = -math.inf
    last_alert_drv: float = -math.inf
    last_pre_drv: float = -math.inf
    last_emit: float = -math.inf
    signature: tuple | None = None
    hold_until: float = -math.inf
    last_sighting: float = -math.inf  # latest citizen sighting near the region, s
    last_heard: float = -math.inf  # latest report of an undecided tentative threat track near it, s
    last_threat: float = -math.inf  # last time a threat drove the running alert (or it started), s
    ballistic_only: bool = False  # every threat behind the running alert was a ballistic missile (R4)
    suppressed: dict[str, float] = field(default_factory=dict)
    last_chain_id: dict[str, str] = field(default_factory=dict)


#: describe(impact rows of the table, now) -> the threats, as ThreatRefs
Describe = Callable[[np.ndarray, float], list[ThreatRef]]


class AlertPolicy:
    """One state machine per region (see the module doc).

    Args:
        region_ids: the regions to alert, any level; each is independent.
        config: parameters with their reasons (config.py).
        region_index: region id -> column of that region in the impact tables
            (default: the position in ``region_ids``).
    """

    def __init__(self, region_ids: Sequence[str], config: PolicyConfig | None = None,
                 region_index: dict[str, int] | None = None):
        self.cfg = config or PolicyConfig()
        self.ids = list(region_ids)
        self.col = region_index or {r: i for i, r in enumerate(self.ids)}
        self._region_of = {c: r for r, c in self.col.items()}  # column -> region id
        self.regions = {r: _Region(r) for r in self.ids}
        self._lead = np.array([self.cfg.lead_s[c] for c in PREDICTED])
        self._pre = np.array([self.cfg.prealert_s[c] for c in PREDICTED])
        self._alone = np.array([c in self.cfg.alert_uncorroborated for c in PREDICTED])
        self.now = -math.inf

    # ------------------------------------------------------------------ API

    def states(self) -> dict[str, str]:
        """Region id -> current state."""
        return {r: s.state for r, s in self.regions.items()}

    def keeping(self, picture: ThreatPicture, now: float) -> dict[str, tuple[str, tuple[str, ...]]]:
        """What keeps each running alert at ``now``: region id -> (what, track ids behind it).

        Call it after :meth:`step` at the same ``now``; it changes no region (only the
        bookkeeping of lapsed operator suppressions), for finding where alert time goes
        (bench/why_unneeded.py). ``what`` is :meth:`_keeper`'s.
        """
        drv = _Drivers(self, picture, picture.table(), now)
        out: dict[str, tuple[str, tuple[str, ...]]] = {}
        for rid, reg in self.regions.items():
            if reg.state == "alert":
                what, rows = self._keeper(reg, drv)
                out[rid] = (what, tuple(sorted({picture.track_id(k) for k in drv.table.row[rows].tolist()})))
        return out

    def _keeper(self, reg: _Region, drv: _Drivers) -> tuple[str, np.ndarray]:
        """What keeps running alert ``reg`` now, the first that applies as R4 weighs them, and the
        impact rows behind it:

        * ``threat`` / ``lost-threat``: a threat inside or within its lead time (R1, R2);
          ``lost-`` when every such threat is lost (coasting, or deleted and kept);
        * ``hysteresis`` / ``lost-hysteresis``: none, but a threat that may arrive within its
          lead time plus ``clear_margin_s`` (R4's hysteresis);
        * ``sighting``: a citizen's sighting near the region within the hold-off;
        * ``heard``: an undecided tentative threat track near it within the hold-off;
        * ``operator``: an operator's hold; ``hold-off``: the hold-off after the last of these.
        """
        for which, name in (("alert", "threat"), ("stay", "hysteresis")):
            rows = drv.rows(reg, which)
            if rows.size:
                return ("lost-" if bool(drv.table.lost[rows].all()) else "") + name, rows
        none = np.zeros(0, dtype=np.int64)
        for name, t in (("sighting", reg.last_sighting), ("heard", reg.last_heard)):
            if self._holds(reg, t) and self.now - t < self._hold_s(reg):
                return name, none
        if self.now < reg.hold_until:
            return "operator", none
        return "hold-off", none

    def step(self, picture: ThreatPicture, now: float, commands: Sequence[OperatorCommand] = (),
             track_events: Sequence = (), sightings: Mapping[str, float] | None = None,
             heard: Mapping[str, float] | None = None) -> tuple[list[AlertEvent], list[AuditRecord]]:
        """Advance every region to ``now``; returns (events, audit records), in region order.

        Args:
            picture: the threat picture (its impact table and threat descriptions).
            now: the time, s; never goes back.
            commands: operators' commands given since the last step (t <= now).
            track_events: this step's track events (unused: the picture holds what counts).
            sightings: region id -> time of this step's latest citizen sighting near it
                (:func:`airshield.warning.sightings.sightings`, ``sighting_radius_m``): holds a running alert.
            heard: region id -> time of the latest report of an undecided tentative threat track
                near it (:func:`airshield.warning.sightings.heard`): holds a running alert.
        """
        self.now = now = max(self.now, float(now))
        for rid, t in (sightings or {}).items():
            reg = self.regions.get(rid)
            if reg is not None:
                reg.last_sighting = max(reg.last_sighting, t)
        for rid, t in (heard or {}).items():
            reg = self.regions.get(rid)
            if reg is not None:
                reg.last_heard = max(reg.last_heard, t)
        table = picture.table()

        def describe(rows: np.ndarray, t: float) -> list[ThreatRef]:
            return picture.describe(rows, t, table)

        events: list[AlertEvent] = []
        audit: list[AuditRecord] = []
        drv = _Drivers(self, picture, table, now)
        for cmd in sorted(commands, key=lambda c: (c.t, c.region, c.action, c.user)):
            audit.append(self._command(cmd, drv, describe, events))
        touched = drv.active | {r for r, s in self.regions.items() if s.state != "quiet"}
        for rid in sorted(touched):
            self._advance(self.regions[rid], drv, describe, events)
        return events, audit

    # ------------------------------------------------------------ transitions

    def _advance(self, reg: _Region, drv: _Drivers, describe: Describe, events: list[AlertEvent]) -> None:
        cfg, now = self.cfg, self.now
        a_rows = drv.rows(reg, "alert")
        p_rows = drv.rows(reg, "pre")
        running = reg.state == "alert"
        s_rows = drv.rows(reg, "stay") if running and (reg.ballistic_only or not a_rows.size) else None
        if a_rows.size or (s_rows is not None and s_rows.size):
            reg.last_alert_drv = reg.last_threat = now
            if running and reg.ballistic_only:
                reg.ballistic_only = drv.ballistic_only(a_rows) and drv.ballistic_only(s_rows)
        # A citizen saw, or two sensors heard, something here: hold, as a threat inside would.
        for t in (reg.last_sighting, reg.last_heard):
            if self._holds(reg, t):
                reg.last_alert_drv = max(reg.last_alert_drv, t)
                if t >= reg.started:  # something else than what drove it (say, a ballistic missile)
                    reg.ballistic_only = False
        if p_rows.size:
            reg.last_pre_drv = now
        if reg.state != "alert" and a_rows.size:
            rule = "threat-inside" if drv.inside(a_rows) else "eta-within-lead"
            self._start(reg, "alert", rule, a_rows, drv, describe, events)
            return
        if reg.state == "alert":
            if (not a_rows.size and now - reg.last_alert_drv >= self._hold_s(reg)
                    and now - reg.started >= cfg.min_alert_s and now >= reg.hold_until):
                self._all_clear(reg, "clear-after-hold-off", p_rows, drv, describe, events, None)
                return
            self._maybe_update(reg, a_rows, drv, describe, events)
            return
        if reg.state == "quiet" and p_rows.size:
            self._start(reg, "pre_alert", "expected-within-horizon", p_rows, drv, describe, events)
            return
        if reg.state == "pre_alert":
            if not p_rows.size and now - reg.last_pre_drv >= cfg.prealert_hold_s:
                self._end_chain(reg, "pre_alert_end", "quiet", "pre-alert-lapsed", p_rows, drv, describe, events)
                return
            self._maybe_update(reg, p_rows, drv, describe, events)

    def _start(self, reg: _Region, kind: str, rule: str, rows: np.ndarray, drv: _Drivers, describe: Describe,
               events: list[AlertEvent], note: OperatorNote | None = None) -> None:
        """Start a chain of ``kind`` (``alert`` or ``pre_alert``); an open pre-alert is superseded."""
        now = self.now
        superseded = (reg.chain, reg.seq + 1) if kind == "alert" and reg.state == "pre_alert" else None
        reg.chain = self._chain_id(reg, kind)
        reg.chain_kind = kind
        reg.seq = 0
        reg.state = kind
        reg.started = now
        if kind == "alert":
            reg.last_alert_drv = reg.last_threat = now
            reg.ballistic_only = note is None and drv.ballistic_only(rows)
        self._emit(reg, kind, rule, rows, drv, describe, events, note)
        if superseded is not None:
            # The pre-alert ends as the alert starts: after it, so that the region is
            # never shown without a running chain.
            events.append(AlertEvent(
                t=now, region=reg.id, event="pre_alert_end", state=reg.state, alert_id=superseded[0],
                seq=superseded[1], kind="pre_alert", expires=now + self.cfg.expires_s,
                reason=drv.reason(rows, "superseded-by-alert", describe, "pre_alert_end", None)))

    def _all_clear(self, reg: _Region, rule: str, p_rows: np.ndarray, drv: _Drivers, describe: Describe,
                   events: list[AlertEvent], note: OperatorNote | None) -> None:
        """End the alert; fall back to a new pre-alert if threats are still expected (R4)."""
        after = "pre_alert" if p_rows.size else "quiet"
        self._end_chain(reg, "all_clear", after, rule, p_rows, drv, describe, events, note)
        reg.hold_until = -math.inf
        if p_rows.size:
            self._start(reg, "pre_alert", "expected-within-horizon", p_rows, drv, describe, events)

    def _hold_s(self, reg: _Region) -> float:
        """R4's hold-off of ``reg``'s running alert, s."""
        return self.cfg.clear_hold_ballistic_s if reg.ballistic_only else self.cfg.clear_hold_s

    def _holds(self, reg: _Region, t: float) -> bool:
        """R4: evidence too weak to raise an alert (a sighting, an undecided track) from time ``t``
        holds ``reg``'s running alert: not later than ``sighting_hold_max_s`` after the last
        threat behind it."""
        return (reg.state == "alert" and self.cfg.sighting_radius_m is not None
                and t - reg.last_threat <= self.cfg.sighting_hold_max_s)

    def _age(self, reg: _Region, t: float) -> float | None:
        """Seconds since evidence from time ``t`` (the sighting, the undecided track heard) that
        holds ``reg``'s running alert now, or None. Evidence from before the alert started is not
        named: it cannot have held it (nor started it)."""
        age = self.now - t
        return max(age, 0.0) if self._holds(reg, t) and t >= reg.started and age < self._hold_s(reg) else None

    def _end_chain(self, reg: _Region, event: str, after: str, rule: str, rows: np.ndarray, drv: _Drivers,
                   describe: Describe, events: list[AlertEvent], note: OperatorNote | None = None) -> None:
        reg.seq += 1
        reg.state = after
        self._emit(reg, event, rule, rows, drv, describe, events, note)
        reg.chain = None
        reg.signature = None

    def _maybe_update(self, reg: _Region, rows: np.ndarray, drv: _Drivers, describe: Describe,
                      events: list[AlertEvent]) -> None:
        """R6 (changed, rate-limited) and R7 (refresh)."""
        now, cfg = self.now, self.cfg
        if now - reg.last_emit < cfg.update_min_s:
            return  # neither rule may fire yet (refresh_s > update_min_s)
        if rows.size and drv.signature(rows) != reg.signature:
            rule = "changed"
        elif now - reg.last_emit >= cfg.refresh_s:
            rule = "refresh"
        else:
            return
        reg.seq += 1
        self._emit(reg, "update", rule, rows, drv, describe, events)

    def _emit(self, reg: _Region, event: str, rule: str, rows: np.ndarray, drv: _Drivers, describe: Describe,
              events: list[AlertEvent], note: OperatorNote | None = None) -> None:
        now = self.now
        # What holds a running alert that no threat drives now (R4's hysteresis: threats, most
        # often lost ones, that may still arrive within their lead time plus the margin; an
        # operator's hold), for its reason; it decides nothing here.
        held = None
        if event == "update" and reg.state == "alert" and not rows.size:
            what, keep_rows = self._keeper(reg, drv)
            held = (-1, 0) if what == "operator" else drv.held(keep_rows)
        reason = drv.reason(rows, rule, describe, event, note, self._age(reg, reg.last_sighting), self._hold_s(reg),
                            held, self._age(reg, reg.last_heard))
        reg.signature = drv.signature(rows)
        reg.last_emit = now
        events.append(AlertEvent(
            t=now, region=reg.id, event=event, state=reg.state, alert_id=reg.chain or "", seq=reg.seq,
            kind=reg.chain_kind, expires=now + self.cfg.expires_s, reason=reason))

    def _chain_id(self, reg: _Region, kind: str) -> str:
        """``<region>.<A|P>.<UTC start, compact>``, unique per region and kind (a suffix if the second repeats)."""
        stamp = format_time(math.floor(self.now)).replace("-", "").replace(":", "")
        base = f"{reg.id}.{'A' if kind == 'alert' else 'P'}.{stamp}"
        cid, n = base, 1
        while reg.last_chain_id.get(kind, "").startswith(base) and reg.last_chain_id[kind] >= cid:
            n += 1
            cid = f"{base}-{n}"
        reg.last_chain_id[kind] = cid
        return cid

    # --------------------------------------------------------------- operators

    def _command(self, cmd: OperatorCommand, drv: _Drivers, describe: Describe,
                 events: list[AlertEvent]) -> AuditRecord:
        """Apply one operator command (validated here too: the policy never trusts its input)."""
        now = self.now
        reg = self.regions.get(cmd.region)
        problem = None
        if reg is None:
            problem = f"unknown region {cmd.region!r}"
        elif cmd.action not in ACTIONS:
            problem = f"unknown action {cmd.action!r} (known: {', '.join(ACTIONS)})"
        elif not cmd.note.strip():
            problem = "a reason (note) is required"
        elif not cmd.user.strip():
            problem = "the operator (user) is required"
        elif not (math.isfinite(cmd.duration_s) and cmd.duration_s >= 0.0):
            problem = f"duration_s must be a finite number >= 0, got {cmd.duration_s}"
        elif needs_running_alert(cmd.action, reg.state):
            problem = f"no alert is running in {cmd.region} (state {reg.state})"
        if problem is not None:
            return AuditRecord(now, cmd, "rejected", problem)
        a_rows = drv.rows(reg, "alert")
        until = None  # (a cancel holds nothing)
        if cmd.action in ("raise", "extend"):
            cfg = self.cfg
            reg.ballistic_only = False  # an operator's alert: the full hold-off (R4)
            reg.hold_until = max(reg.hold_until, cmd.t + cmd.duration_s)
            # How long the alert is held at least: an earlier, longer hold stands, and a new
            # alert lasts the hold-off (R4) whatever the command's minutes.
            if reg.state == "alert":  # as R4 decides: the hold-off after its last threat, the minimum
                until = max(reg.hold_until, reg.last_alert_drv + cfg.clear_hold_s, reg.started + cfg.min_alert_s)
            else:
                until = max(reg.hold_until, now + cfg.clear_hold_s, now + cfg.min_alert_s)
        note = OperatorNote(user=cmd.user, action=cmd.action, note=cmd.note, until=until)
        if cmd.action == "raise":
            if reg.state == "alert":
                reg.seq += 1
                self._emit(reg, "update", "operator-raise", a_rows, drv, describe, events, note)
                return AuditRecord(now, cmd, "applied", "alert already running: held", reg.chain)
            self._start(reg, "alert", "operator-raise", a_rows, drv, describe, events, note)
            return AuditRecord(now, cmd, "applied", "alert started", reg.chain)
        if cmd.action == "extend":
            reg.seq += 1
            self._emit(reg, "update", "operator-extend", a_rows, drv, describe, events, note)
            return AuditRecord(now, cmd, "applied", f"held until {format_time(reg.hold_until)}", reg.chain)
        # cancel
        chain = reg.chain
        until = cmd.t + cmd.duration_s
        for i in drv.track_ids(a_rows):
            reg.suppressed[i] = max(reg.suppressed.get(i, -math.inf), until)
        reg.hold_until = -math.inf
        self._all_clear(reg, "operator-cancel", drv.rows(reg, "pre"), drv, describe, events, note)
        # The threats behind the cancelled alert do not raise it again at once: the operator
        # judged them (e.g. a false track); new threats still do.
        reg.last_alert_drv = -math.inf
        return AuditRecord(now, cmd, "applied", "alert ended", chain)


def needs_running_alert(action: str, state: str) -> bool:
    """Operators: ``extend`` and ``cancel`` act on a running alert; in ``state`` (not ``alert``)
    they can do nothing (the policy's audit rejects them; the service refuses them at once)."""
    return action in ("extend", "cancel") and state != "alert"


class _Drivers:
    """The impact table seen from each region at one step (vectorised once per step)."""

    def __init__(self, policy: AlertPolicy, picture: ThreatPicture, table: Table, now: float):
        self.policy = policy
        self.picture = picture
        self.table = table
        self.now = now
        cfg = policy.cfg
        valid = (table.expires >= now) & (table.t_last >= now)
        dt = table.t_lo - now
        trusted = table.corroborated | policy._alone[table.cls]
        self.alert = valid & trusted & (dt <= policy._lead[table.cls])
        # Hysteresis (R4): a running alert stays while a threat may arrive within its lead
        # time plus the clear margin, so that a threat skirting the lead-time line does not
        # end and restart the alert (flapping).
        holding = (table.hold >= now) & (table.t_last >= now)
        self.stay = holding & trusted & (dt <= policy._lead[table.cls] + cfg.clear_margin_s)
        pre_ok = table.corroborated | cfg.prealert_uncorroborated
        self.pre = valid & pre_ok & (dt <= policy._pre[table.cls])
        self.inside_now = table.t_lo <= now
        # The table is sorted by region: each region's driving rows are one slice.
        n_reg = max(len(policy.col), int(table.region.max()) + 1 if table.region.size else 0)
        self._rows = {}
        for which, mask in (("alert", self.alert), ("pre", self.pre), ("stay", self.stay)):
            idx = np.flatnonzero(mask)
            self._rows[which] = (idx, np.searchsorted(table.region[idx], np.arange(n_reg + 1)))
        hit = np.zeros(n_reg, dtype=bool)
        hit[table.region[self.alert | self.pre]] = True
        inv = policy._region_of
        self.active = {inv[c] for c in np.flatnonzero(hit).tolist() if c in inv}

    def rows(self, reg: _Region, which: str) -> np.ndarray:
        """Impact rows of region ``reg`` that drive ``which`` (``alert`` or ``pre``), suppression applied."""
        c = self.policy.col[reg.id]
        rows, bounds = self._rows[which]
        if c + 1 >= bounds.size:
            return np.zeros(0, dtype=np.int64)
        idx = rows[bounds[c]:bounds[c + 1]]
        if reg.suppressed and idx.size:
            now = self.now
            for k in [k for k, u in reg.suppressed.items() if u < now]:
                del reg.suppressed[k]
            if reg.suppressed:
                tid = self.picture.track_id
                idx = np.array([i for i in idx.tolist() if tid(self.table.row[i]) not in reg.suppressed],
                               dtype=np.int64)
        return idx

    def inside(self, rows: np.ndarray) -> bool:
        return bool(self.inside_now[rows].any())

    def ballistic_only(self, rows: np.ndarray) -> bool:
        """True when every impact row of ``rows`` is a ballistic missile's (True for none)."""
        return bool(np.all(self.table.cls[rows] == _BALLISTIC))

    def track_ids(self, rows: np.ndarray) -> list[str]:
        return sorted({self.picture.track_id(k) for k in self.table.row[rows].tolist()})

    def signature(self, rows: np.ndarray) -> tuple:
        """What counts as a material change (R6): counts by class (in steps that grow with the
        count: 7 drones instead of 6 is not news, 2 instead of 1 is), a threat inside or not,
        the nearest ETA in ``eta_step_s`` steps."""
        if rows.size == 0:
            return ((0,) * _N_CLS, False, -1)
        counts = tuple(_count_bucket(n) for n in np.bincount(self.table.cls[rows], minlength=_N_CLS).tolist())
        eta = max(float(self.table.t_lo[rows].min()) - self.now, 0.0)
        return counts, self.inside(rows), int(eta // self.policy.cfg.eta_step_s)

    def held(self, rows: np.ndarray) -> tuple[int, int]:
        """(threats, of them lost) behind impact rows ``rows`` (for a reason's text; (-1, 0): an
        operator's hold)."""
        return int(rows.size), int(self.table.lost[rows].sum()) if rows.size else 0

    def reason(self, rows: np.ndarray, rule: str, describe: Describe, event: str,
               note: OperatorNote | None, sighting_age_s: float | None = None,
               hold_s: float | None = None, held: tuple[int, int] | None = None,
               heard_age_s: float | None = None) -> AlertReason:
        """The machine-readable reason of an event, threats nearest first; ``sighting_age_s``:
        the citizen sighting that holds the running alert (R4), if one does; ``hold_s``: the
        alert's hold-off (R4; default ``clear_hold_s``); ``held``: (threats, of them lost) that
        hold a running alert no threat drives (R4's hysteresis), for its text; ``heard_age_s``:
        the undecided tentative track that holds it (R4), if one does."""
        tab, now = self.table, self.now
        # Nearest first (earliest plausible arrival, then track id): only those are described.
        pic = self.picture
        slots = tab.row[rows].tolist()
        ids = [pic.track_id(k) for k in slots]
        order = sorted(range(len(slots)), key=lambda j: (float(tab.t_lo[rows[j]]), ids[j]))
        counts: dict[str, int] = {}
        sensors: dict[str, int] = {}
        for j in order:
            c = PREDICTED[int(tab.cls[rows[j]])]
            counts[c] = counts.get(c, 0) + 1
            for k in pic.sensors_of(slots[j]):
                sensors[k] = sensors.get(k, 0) + 1
        near_rows = rows[order[:self.policy.cfg.reason_threats]]
        refs = describe(near_rows, now) if rows.size else []
        places = (pic.places(near_rows[:3], now, tab) if rows.size and event in ("alert", "pre_alert", "update")
                  else [])
        inside = int(self.inside_now[rows].sum()) if rows.size else 0
        near = refs[0] if refs else None
        conf = 1.0 if note is not None and note.action != "cancel" and not refs else max(
            (r.confidence for r in refs), default=0.0)
        return AlertReason(
            rule=rule, text=_text(rule, event, refs, counts, inside, note, self.policy.cfg, sighting_age_s, hold_s,
                                  held, heard_age_s),
            threats=tuple(refs), counts=dict(sorted(counts.items())), inside=inside,
            eta_s=near.eta_s if near else None, eta_lo_s=near.eta_lo_s if near else None,
            eta_hi_s=near.eta_hi_s if near else None, sensors=dict(sorted(sensors.items())),
            confidence=conf, places=tuple(places), operator=note, sighting_age_s=sighting_age_s,
            heard_age_s=heard_age_s,
        )


#: Upper bounds of the count steps of :meth:`_Drivers.signature`.
_COUNT_STEPS = (0, 1, 2, 3, 5, 10, 20, 50, 100, 200, 500)


def _count_bucket(n: int) -> int:
    for i, b in enumerate(_COUNT_STEPS):
        if n <= b:
            return i
    return len(_COUNT_STEPS)


_PLURAL = {"drone": "drones", "jet": "jet drones", "cruise": "cruise missiles", "ballistic": "ballistic missiles"}
_SINGULAR = {"drone": "drone", "jet": "jet drone", "cruise": "cruise missile", "ballistic": "ballistic missile"}


def _text(rule: str, event: str, refs: list[ThreatRef], counts: dict[str, int], inside: int,
          note: OperatorNote | None, cfg: PolicyConfig, sighting_age_s: float | None = None,
          hold_s: float | None = None, held: tuple[int, int] | None = None,
          heard_age_s: float | None = None) -> str:
    """One English sentence for people (the CAP texts are made from the structured reason)."""
    what = ", ".join(f"{n} {(_SINGULAR if n == 1 else _PLURAL)[c]}" for c, n in sorted(counts.items()))
    etas = [r.eta_lo_s for r in refs if r.eta_lo_s is not None and not r.inside]
    parts = []
    if rule.startswith("operator-") and note is not None:
        parts.append(f"Duty officer: {note.note}.")  # who stays in the audit trail
    if event == "all_clear":
        seen = "" if cfg.sighting_radius_m is None else (
            " or seen by a citizen nearby" if cfg.heard_min_llr is None else
            ", seen by a citizen or heard nearby")
        parts.append(f"All clear: no threat inside, expected within its lead time{seen}"
                     f" for {(cfg.clear_hold_s if hold_s is None else hold_s) / 60:.0f} min."
                     if rule != "operator-cancel" else "All clear.")
        if refs:
            parts.append(f"Still expected within the horizon: {what}.")
    elif event == "pre_alert_end":
        parts.append("Pre-alert superseded by an alert." if rule == "superseded-by-alert"
                     else "Pre-alert ended: no threat expected any more.")
    elif refs:
        parts.append(f"{what[0].upper()}{what[1:]}.")
        if inside:
            parts.append(f"{inside} inside the region.")
        if etas:
            parts.append(f"Nearest may arrive in {min(etas) / 60:.0f} min.")
    elif note is None and sighting_age_s is None and heard_age_s is None:
        hold_min = (cfg.clear_hold_s if hold_s is None else hold_s) / 60
        if held and held[0] < 0:
            parts.append("No threat inside or within its lead time now; held by a duty officer's hold.")
        elif held and held[0]:
            n, lost = held
            who = f"{n} threat{'s' if n > 1 else ''}" + (
                " (lost: not reported for a while)" if lost == n else f" ({lost} lost)" if lost else "")
            parts.append(f"No threat inside or within its lead time now; held while {who} may still arrive "
                         f"within the lead time plus {cfg.clear_margin_s / 60:.0f} min (R4).")
        else:
            parts.append(f"No threat inside or within its lead time now; held for the {hold_min:.0f} min "
                         "hold-off after the last (R4).")
    for age_s, texts in ((sighting_age_s, SIGHTING_TEXT), (heard_age_s, HEARD_TEXT)):
        if age_s is not None and event in ("alert", "update"):
            parts.append(texts[1].format(ago=ago_text(age_s)))
    return " ".join(parts)
