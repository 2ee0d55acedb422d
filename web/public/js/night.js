// The night as the map knows it: alert events per region and track states per track, so that
// the picture at any time T can be drawn again (the timeline), and the live picture.
import { toSec } from './api.js';

// A track state older than this is not drawn (as `airshield evaluate` scores tracks, formats.md).
export const TRACK_MAX_AGE_S = 60;
// The timeline starts this long before the first thing the map knows of, so that the night's
// first alert is seen to begin (s).
export const START_MARGIN_S = 600;
// A threat known only from an alert's reason is drawn for this long after the event, moved on
// along its heading (alert events come at least every few minutes while threats move).
export const REASON_MAX_AGE_S = 600;
const M_PER_DEG = 111_320;

export class Night {
  constructor() {
    this.regions = new Map(); // id -> {id, name, name_uk, parent}
    this.live = new Map(); // id -> {state, since, reason}: GET /v1/regions (regions without events)
    this.events = new Map(); // region -> [alert event], in time order
    this.eventKeys = new Map(); // alert_id#seq -> event, to merge history and stream without doubles
    this.order = 0;
    this.tracks = new Map(); // id -> [state], in time order (polled by the page)
    this.reasonTracks = new Map(); // id -> [state], in time order (threats in alert reasons)
    this.snapshot = []; // the newest GET /v1/tracks (with cones)
    this.snapClock = null;
    this.pollGap = 0; // night seconds between two polls of /v1/tracks
    this.start = null; // earliest time seen (s)
    this.clock = null; // the service's clock (s), newest
  }

  see(t) {
    if (t == null || !Number.isFinite(t)) return;
    if (this.start == null || t - START_MARGIN_S < this.start) this.start = t - START_MARGIN_S;
    if (this.clock == null || t > this.clock) this.clock = t;
  }

  setRegions(list) {
    for (const r of list) {
      this.regions.set(r.id, { id: r.id, name: r.name, name_uk: r.name_uk, parent: r.parent });
      if (r.state) {
        this.live.set(r.id, { state: r.state, since: toSec(r.since), reason: r.reason ?? null });
      }
    }
  }

  /**
   * Add one alert event (formats.md "Alerts"); true if it was new. An event already known takes
   * the reason given now: after a sign-in the history is read again, with the full reasons the
   * token may see (after a sign-out, the public's).
   */
  addAlert(ev) {
    if (!ev || !ev.region) return false;
    const key = `${ev.alert_id}#${ev.seq}`;
    const known = this.eventKeys.get(key);
    if (known) {
      if (ev.reason !== undefined) known.reason = ev.reason;
      return false;
    }
    const e = { ...ev, t: toSec(ev.t), order: this.order++ };
    this.eventKeys.set(key, e);
    let list = this.events.get(ev.region);
    if (!list) this.events.set(ev.region, (list = []));
    // Mostly appended in order; insert by time otherwise (history fetched after some live events).
    let i = list.length;
    while (i > 0 && list[i - 1].t > e.t) i--;
    list.splice(i, 0, e);
    this.addReasonThreats(e);
    this.see(e.t);
    return true;
  }

  /**
   * The threats an alert event's reason names, with where they were (formats.md "Alerts"):
   * the night's past track states for the timeline, even for a page opened after the fact.
   */
  addReasonThreats(e) {
    for (const th of e.reason?.threats || []) {
      if (th.id == null || th.lat == null || th.lon == null) continue;
      let list = this.reasonTracks.get(th.id);
      if (!list) this.reasonTracks.set(th.id, (list = []));
      if (list.some((x) => x.t === e.t)) continue; // the same threat in several regions' events
      let i = list.length;
      while (i > 0 && list[i - 1].t > e.t) i--;
      list.splice(i, 0, {
        id: th.id, t: e.t, lat: th.lat, lon: th.lon, alt_m: null, speed: th.speed_mps ?? null,
        heading: th.heading_deg ?? 0, cls: th.cls || 'unknown', threat: true,
        status: th.lost ? 'coasting' : 'confirmed', lost: !!th.lost, cone: [], eta: [],
      });
    }
  }

  /**
   * Forget the track pictures (polled states and the threats of the alert reasons), keeping the
   * alert events: after a sign-in or sign-out the page reads them again as the new token (or
   * the public) may see them, and nothing seen before may stay on the timeline.
   */
  forgetPictures() {
    this.tracks.clear();
    this.reasonTracks.clear();
    this.snapshot = [];
    this.snapClock = null;
  }

  /** Drop every event's reason (a sign-out: the token's reasons must not stay while the
   * public's are read again). */
  forgetReasons() {
    for (const list of this.events.values()) for (const e of list) e.reason = null;
    for (const l of this.live.values()) l.reason = null;
  }

  /** The alert reasons' threats again, from every event (after the reasons were read anew). */
  rebuildReasonThreats() {
    this.reasonTracks.clear();
    for (const list of this.events.values()) for (const e of list) this.addReasonThreats(e);
  }

  /** Add one track state from the stream (formats.md "Tracks") or a GET /v1/tracks entry. */
  addTrack(s) {
    if (!s || s.id == null) return;
    const st = normaliseTrack(s);
    if (st.t == null) return;
    let list = this.tracks.get(st.id);
    if (!list) this.tracks.set(st.id, (list = []));
    if (list.length && list[list.length - 1].t >= st.t) {
      if (list[list.length - 1].t === st.t) list[list.length - 1] = { ...list[list.length - 1], ...st };
      else return; // older than what we have: the stream already gave a newer state
    } else {
      list.push(st);
    }
    this.see(st.t);
  }

  setSnapshot(list) {
    // How far the night's clock moved between two polls (s): old track states stay drawn that long.
    if (this.clock != null && this.snapClock != null && this.clock > this.snapClock) {
      this.pollGap = Math.min(Math.max(this.pollGap, this.clock - this.snapClock), 1800);
    }
    this.snapClock = this.clock;
    this.snapshot = list.map(normaliseTrack);
    for (const s of this.snapshot) this.addTrack(s);
  }

  /**
   * A region's state at time T (null: now) with the event that set it. Now is the newest alert
   * event of the region (history + stream are the whole event log, which the service writes
   * before it publishes anything); a region without events tonight has GET /v1/regions' state.
   */
  regionAt(id, T) {
    if (T == null) {
      if (this.events.get(id)?.length) return this.regionAt(id, Infinity);
      const l = this.live.get(id);
      return { state: l?.state ?? 'quiet', since: l?.since ?? null, reason: l?.reason ?? null, event: null };
    }
    const list = this.events.get(id) || [];
    let last = null;
    for (const e of list) {
      if (e.t <= T) last = e; else break;
    }
    if (!last) return { state: 'quiet', since: null, reason: null, event: null };
    // Since: the first event of the run of events that leave the region in this state.
    let since = last.t;
    for (let i = list.indexOf(last); i >= 0 && list[i].state === last.state; i--) since = list[i].t;
    return { state: last.state, since, reason: last.reason, event: last };
  }

  /**
   * Tracks to draw at time T; null: live, the newest GET /v1/tracks (the service's public view,
   * with predicted cones). A past time shows each track's latest recorded state if it is recent
   * enough: the map records the states it polled, so the gap between two polls (in the night's
   * time, which runs faster than the wall clock when a night is fed fast) is allowed too. Threats
   * the page never polled (it was opened later) come from the alerts' reasons.
   */
  tracksAt(T) {
    if (T == null) return this.snapshot.map((s) => ({ ...s, age: 0 }));
    const maxAge = Math.max(TRACK_MAX_AGE_S, 2.5 * this.pollGap);
    const out = [];
    const seen = new Set();
    for (const list of this.tracks.values()) {
      const s = latestAt(list, T);
      if (!s || s.status === 'deleted' || T - s.t > maxAge) continue;
      out.push({ ...s, cone: [], eta: [], age: T - s.t });
      seen.add(s.id);
    }
    // Threats the page did not see itself, from the alerts' reasons, moved on to T.
    for (const [id, list] of this.reasonTracks) {
      if (seen.has(id)) continue;
      const s = latestAt(list, T);
      if (!s || s.lost || T - s.t > REASON_MAX_AGE_S) continue;
      out.push({ ...moveOn(s, T - s.t), age: T - s.t });
    }
    return out;
  }

  alertHistory(id) { return this.events.get(id) || []; }

  /** Every alert event time, for the timeline's ticks. */
  eventTimes() {
    const out = [];
    for (const list of this.events.values()) {
      for (const e of list) if (e.event === 'alert' || e.event === 'all_clear') out.push(e);
    }
    return out;
  }
}

/** The latest state at or before T of a time-ordered list, or null. */
function latestAt(list, T) {
  for (let i = list.length - 1; i >= 0; i--) if (list[i].t <= T) return list[i];
  return null;
}

/** A state moved on by dt seconds along its heading at its speed (flat earth: a few km). */
function moveOn(s, dt) {
  if (!s.speed || !(dt > 0)) return s;
  const h = (s.heading * Math.PI) / 180;
  const lat = s.lat + (s.speed * Math.cos(h) * dt) / M_PER_DEG;
  const lon = s.lon + (s.speed * Math.sin(h) * dt) / (M_PER_DEG * Math.cos((s.lat * Math.PI) / 180));
  return { ...s, lat, lon };
}

function normaliseTrack(s) {
  const v = s.vel_enu_mps;
  let speed = s.speed_ms ?? s.speed_mps ?? null;
  let heading = s.heading_deg ?? null;
  if (Array.isArray(v) && v.length >= 2) {
    speed ??= Math.hypot(v[0], v[1]);
    heading ??= ((Math.atan2(v[0], v[1]) * 180) / Math.PI + 360) % 360;
  }
  return {
    id: s.id,
    t: toSec(s.t),
    lat: s.lat,
    lon: s.lon,
    alt_m: s.alt_m ?? null,
    speed,
    heading: heading ?? 0,
    cls: s.class ?? s.cls ?? 'unknown',
    threat: s.threat !== false,
    status: s.status ?? 'confirmed',
    cone: s.cone ?? [],
    eta: s.eta ?? [],
  };
}
