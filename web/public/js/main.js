// The live map's page: loads the night, follows the SSE stream, replays it on a timeline.
import {
  getJSON, fetchAlertHistory, openStream, postJSON, whoIs, getToken, setToken, detailText, toSec,
} from './api.js';
import {
  t, getLang, setLang, onLangChange, applyStatic, placeName, fmtTime, fmtDateTime, fmtDuration,
  fmtDurationFloor, fmtNumber,
} from './i18n.js';
import { Night } from './night.js';
import { MapView, STATES, CLASSES, STATE_STYLE, symbolSvg } from './layers.js';

const $ = (sel) => document.querySelector(sel);
const night = new Night();
const ui = {
  replayT: null, // null: live; else the time shown (s since epoch)
  playing: false,
  speed: 300, // replay seconds per wall second
  selected: null,
  here: null, // {id, lat, lon, answer, at}: "how long do I have here?" for the clicked point (live only)
  layers: { tracks: true, cones: true, sensors: true, cities: true },
  conn: 'connecting',
  who: null, // {id, role} of the signed-in person (GET /v1/me), or null: the public view
};
let view;
let stream;

function shownTime() { return ui.replayT ?? night.clock; }

// ---------------------------------------------------------------- drawing

function render() {
  const T = ui.replayT;
  const states = new Map();
  for (const id of night.regions.keys()) states.set(id, night.regionAt(id, T).state);
  view.paintRegions(states);
  if (ui.layers.tracks) view.drawTracks(night.tracksAt(T), { showCones: ui.layers.cones });
  renderClock();
  renderSummary(states);
  if (ui.selected) { renderPanel(ui.selected); renderAct(); refreshHere(); }
  document.body.dataset.mode = T == null ? 'live' : 'replay';
  const inAlert = [...states].filter(([, s]) => s === 'alert').map(([id]) => id);
  document.body.dataset.alertRegions = inAlert.join(',');
}

function renderClock() {
  const T = shownTime();
  $('#clock').textContent = T != null ? fmtDateTime(T) : '—';
  const live = ui.replayT == null;
  const badge = $('#mode');
  badge.textContent = live ? t('live') : t('replay');
  badge.className = live ? 'mode live' : 'mode replay';
  const slider = $('#scrub');
  const start = night.start ?? night.clock ?? 0;
  const end = night.clock ?? start;
  slider.min = String(Math.floor(start));
  slider.max = String(Math.ceil(end));
  slider.value = String(Math.round(T ?? end));
  slider.setAttribute('aria-valuetext', T != null ? fmtDateTime(T) : '');
  $('#t-start').textContent = fmtTime(start);
  $('#t-end').textContent = fmtTime(end);
  $('#play').textContent = ui.playing ? `⏸ ${t('pause')}` : `▶ ${t('play')}`;
  $('#play').setAttribute('aria-pressed', String(ui.playing));
  renderTicks(start, end);
}

let ticksKey = '';
function renderTicks(start, end) {
  // Marks on the timeline where alerts started (and ended), so the night's shape is visible.
  const evs = night.eventTimes();
  const key = `${start}|${end}|${evs.length}`;
  if (key === ticksKey) return;
  ticksKey = key;
  const box = $('#ticks');
  box.replaceChildren();
  if (!(end > start)) return;
  for (const e of evs) {
    const d = document.createElement('span');
    d.className = `tick tick-${e.event}`;
    d.style.left = `${(100 * (e.t - start)) / (end - start)}%`;
    box.append(d);
  }
}

let summaryKey = '';
function renderSummary(states) {
  const box = $('#summary-list');
  const rows = [...states].filter(([, s]) => s !== 'quiet')
    .sort((a, b) => (a[1] === b[1] ? a[0].localeCompare(b[0]) : a[1] === 'alert' ? -1 : 1));
  // Rebuilt only when it changes, so that keyboard focus and clicks are not lost.
  const key = `${getLang()}|${rows.map((r) => r.join(':')).join(',')}`;
  if (key === summaryKey) return;
  summaryKey = key;
  box.replaceChildren();
  if (!rows.length) {
    const li = document.createElement('li');
    li.textContent = t('none_in_alert');
    li.className = 'muted';
    box.append(li);
    return;
  }
  for (const [id, s] of rows) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.className = `region-row state-${s}`;
    b.dataset.region = id;
    b.dataset.state = s;
    b.innerHTML = `${swatch(s)} <span>${esc(placeName(night.regions.get(id)))}</span> <small>${esc(t(`state_${s}`))}</small>`;
    b.addEventListener('click', () => selectRegion(id));
    li.append(b);
    box.append(li);
  }
}

function swatch(state) {
  return `<svg class="swatch" width="18" height="14" aria-hidden="true"><rect width="18" height="14" fill="${STATE_STYLE[state].pattern || STATE_STYLE[state].fill}" stroke="${STATE_STYLE[state].stroke}"/></svg>`;
}

function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

// ---------------------------------------------------------------- region panel

function selectRegion(id, latlng = null) {
  ui.selected = id;
  view.select(id);
  ui.here = latlng ? { id, lat: latlng.lat, lon: latlng.lng, answer: null, at: 0 } : null;
  renderPanel(id, true);
  renderAct();
  refreshAudit();
  refreshHere();
  $('#region-panel').hidden = false;
  $('#region-panel').focus({ preventScroll: true });
}

function reasonHtml(reason) {
  if (!reason) return '';
  const parts = [];
  const rule = reason.rule ? t(`rule_${reason.rule}`) : '';
  parts.push(`<p class="rule" data-rule="${esc(reason.rule)}">${esc(rule)}</p>`);
  if (getLang() === 'en' && reason.text) parts.push(`<p class="reason-text">${esc(reason.text)}</p>`);
  const counts = Object.entries(reason.counts || {}).filter(([, n]) => n > 0);
  if (counts.length) {
    parts.push(`<p>${esc(t('threats'))}: ${counts.map(([c, n]) => `${symbolSvg(c, 0, { size: 16 })} ${n} × ${esc(t(`cls_${CLASSES.includes(c) ? c : 'unknown'}`))}`).join(', ')}`
      + (reason.inside ? `; ${esc(t('inside', { n: reason.inside }))}` : '') + '</p>');
  }
  // A threat already inside has no arrival time worth showing (ETA 0).
  if ((reason.eta_s != null || reason.eta_lo_s != null) && !(reason.inside > 0 && !reason.eta_s)) {
    let s;
    if (reason.eta_s != null && reason.eta_lo_s != null && reason.eta_hi_s != null) {
      s = t('eta_bounds', { eta: fmtDuration(reason.eta_s), lo: fmtDuration(reason.eta_lo_s), hi: fmtDuration(reason.eta_hi_s) });
    } else if (reason.eta_s != null) {
      s = t('eta', { eta: fmtDuration(reason.eta_s) });
    } else {
      s = t('eta_lo_only', { lo: fmtDuration(reason.eta_lo_s) });
    }
    parts.push(`<p>${esc(s)}</p>`);
  }
  const sensors = Object.keys(reason.sensors || {});
  if (sensors.length) parts.push(`<p>${esc(t('sensors_behind'))}: ${sensors.map((k) => esc(t(`kind_${k}`))).join(', ')}</p>`);
  if (reason.confidence) parts.push(`<p>${esc(t('confidence'))}: ${Math.round(reason.confidence * 100)} %</p>`);
  if (reason.sighting_age_s != null) parts.push(`<p class="sighting">${esc(t('sighting', { ago: fmtDuration(reason.sighting_age_s) }))}</p>`);
  if (reason.heard_age_s != null) parts.push(`<p class="sighting">${esc(t('heard', { ago: fmtDuration(reason.heard_age_s) }))}</p>`);
  if (reason.operator) {
    // Who and in which words only reach an operator's token; others see that a duty officer acted.
    const op = reason.operator;
    if (op.user != null) parts.push(`<p class="operator">${esc(t('operator', { user: op.user, note: op.note ?? '' }))}</p>`);
    // (In English the reason's text already says that a duty officer acted.)
    else if (!(getLang() === 'en' && reason.text)) {
      parts.push(`<p class="operator">${esc(t('operator_public', { action: t(`action_${op.action}`) }))}</p>`);
    }
  }
  return parts.join('');
}

/** GET /v1/concern for the clicked point: when a threat may come within 5 km of it (live only). */
async function refreshHere() {
  const h = ui.here;
  if (!h || ui.replayT != null || Date.now() - h.at < 15000) return;
  h.at = Date.now();
  try {
    const q = new URLSearchParams({ lat: h.lat.toFixed(5), lon: h.lon.toFixed(5) });
    h.answer = await getJSON(`/v1/concern?${q}`);
  } catch { h.answer = null; }
  if (ui.here === h && ui.selected === h.id) renderPanel(h.id, true);
}

function hereHtml() {
  const h = ui.here;
  if (!h || h.id !== ui.selected || ui.replayT != null || !h.answer) return '';
  const a = h.answer.here;
  const km = fmtNumber(h.answer.radius_km ?? 5);
  const cls = a ? t(`cls_${CLASSES.includes(a.class) ? a.class : 'unknown'}`) : '';
  let s;
  if (!a) s = t('here_none', { km });
  else if (a.inside) s = t('here_now', { km, cls });
  // Under a minute (the public's answer, in whole minutes, then says 0): not "in 0 s".
  else if (a.lo_s < 60) s = t('here_soon', { km, cls });
  else s = t('here_eta', { km, cls, lo: fmtDurationFloor(a.lo_s) });
  return `<p class="here" data-lo="${a ? a.lo_s : ''}">${esc(t('here'))}: ${esc(s)}</p>`;
}

let panelKey = '';
function renderPanel(id, force = false) {
  const r = night.regions.get(id) || { id };
  const now = night.regionAt(id, ui.replayT);
  const box = $('#region-body');
  // Rebuilt only when what it shows changes (keeps the history's scroll position and focus).
  const key = `${id}|${getLang()}|${ui.replayT == null}|${now.state}|${now.since}|${now.event?.alert_id}#${now.event?.seq}|${night.alertHistory(id).length}`;
  if (key === panelKey && !force) return;
  panelKey = key;
  box.dataset.region = id;
  box.dataset.state = now.state;
  const hist = night.alertHistory(id).slice().reverse();
  box.innerHTML = `
    <h2 id="region-title">${esc(placeName(r))} <small>${esc(id)}</small></h2>
    <p class="state-line">${swatch(now.state)} <b class="state-name">${esc(t(`state_${now.state}`))}</b>
      ${now.since != null ? `— ${esc(t('since'))} ${esc(fmtTime(now.since))}` : ''}</p>
    ${hereHtml()}
    ${now.reason ? `<h3>${esc(t('reason'))}</h3><div class="reason">${reasonHtml(now.reason)}</div>` : ''}
    <h3>${esc(t('history'))}</h3>
    ${hist.length ? `<ol class="history">${hist.map((e) => `
      <li><button class="hist-item ev-${esc(e.event)}${ui.replayT != null && e.t > ui.replayT ? ' future' : ''}${e === now.event ? ' current' : ''}" data-t="${e.t}" title="${esc(e.reason?.text || '')}">
        <time>${esc(fmtTime(e.t))}</time> <b>${esc(t(`ev_${e.event}`))}</b>
        <span>${esc(e.reason?.rule ? t(`rule_${e.reason.rule}`) : '')}</span></button></li>`).join('')}</ol>`
      : `<p class="muted">${esc(t('no_history'))}</p>`}`;
  for (const b of box.querySelectorAll('.hist-item')) {
    b.addEventListener('click', () => { pause(); ui.replayT = Number(b.dataset.t); render(); });
  }
}

// ---------------------------------------------------------------- duty officer

const isOperator = () => ui.who != null && (ui.who.role === 'operator' || ui.who.role === 'admin');

function renderOfficer() {
  const who = ui.who;
  $('#sign-in').hidden = who != null;
  $('#signed-in').hidden = who == null;
  $('#signed-in-as').textContent = who ? t('signed_in_as', { id: who.id, role: t(`role_${who.role}`) }) : '';
  document.body.dataset.role = who ? who.role : 'public';
}

let actFor = '';
/** The command form of the selected region: built when the region, the person or the language
 * changes, never on an alert update (a reason being typed is kept). Live view only. */
function renderAct(force = false) {
  const form = $('#region-act');
  const id = ui.selected;
  const key = `${id}|${ui.who?.role}|${getLang()}|${ui.replayT == null}`;
  if (!id || !isOperator()) { form.hidden = true; actFor = ''; form.replaceChildren(); return; }
  if (key === actFor && !force) return;
  // What the officer typed survives a rebuild for the same region (a language switch).
  const kept = actFor.split('|')[0] === String(id)
    ? { reason: $('#act-reason')?.value ?? '', minutes: $('#act-minutes')?.value ?? '30' } : null;
  actFor = key;
  form.hidden = false;
  if (ui.replayT != null) {
    form.innerHTML = `<h3>${esc(t('act_title'))}</h3><p class="muted">${esc(t('act_live_only'))}</p>`;
    return;
  }
  form.innerHTML = `
    <h3>${esc(t('act_title'))}</h3>
    <label><span>${esc(t('act_reason'))}</span><textarea id="act-reason" rows="2" maxlength="2000"></textarea></label>
    <label><span>${esc(t('act_minutes'))}</span><input id="act-minutes" type="number" min="0" max="10080" step="1" value="30"></label>
    <div class="buttons">
      <button type="button" data-action="alert">${esc(t('act_raise'))}</button>
      <button type="button" data-action="extend">${esc(t('act_extend'))}</button>
      <button type="button" data-action="cancel">${esc(t('act_cancel'))}</button>
    </div>
    <p id="act-result" role="status" aria-live="polite"></p>`;
  if (kept) { $('#act-reason').value = kept.reason; $('#act-minutes').value = kept.minutes; }
  for (const b of form.querySelectorAll('button[data-action]')) {
    b.addEventListener('click', () => command(id, b.dataset.action));
  }
}

// (The form is never submitted: Enter in a field would reload the page and lose the reason.)
function preventSubmit(e) { e.preventDefault(); }

async function command(id, action) {
  const out = $('#act-result');
  const reason = $('#act-reason').value.trim();
  if (!reason) {
    out.className = 'error';
    out.dataset.ok = 'false';
    out.textContent = t('act_need_reason');
    $('#act-reason').focus();
    return;
  }
  const minutes = Number($('#act-minutes').value || 0);
  // One command per click: the buttons wait for the reply (a double click raised twice).
  const buttons = [...document.querySelectorAll('#region-act button[data-action]')];
  for (const b of buttons) b.disabled = true;
  let r;
  try {
    r = await postJSON(`/v1/regions/${encodeURIComponent(id)}/${action}`, { reason, minutes });
  } catch (e) {
    r = { ok: false, status: 0, body: { detail: e.message } }; // the service cannot be reached
  } finally {
    for (const b of buttons) b.disabled = false;
  }
  if (ui.selected !== id) return;
  out.dataset.ok = String(r.ok);
  if (r.ok) {
    out.className = 'ok';
    out.textContent = t('act_sent', { action: t(`action_${r.body.action}`), t: fmtTime(r.body.applies_at, true) });
    $('#act-reason').value = '';
    setTimeout(refreshAudit, 1500); // the outcome is in the log after the next step
  } else {
    out.className = 'error';
    out.textContent = t('act_refused', { why: detailText(r.body) || `HTTP ${r.status}` });
  }
}

let auditFor = null;
/** The selected region's audit trail, newest first (operators only). */
async function refreshAudit() {
  const box = $('#region-audit');
  const id = ui.selected;
  if (!id || !isOperator()) { box.hidden = true; box.replaceChildren(); return; }
  let items = [];
  try {
    // Oldest first, a page at a time: the newest 20 are on the last page.
    let cursor = 0;
    for (let pages = 0; pages < 100; pages++) {
      const q = new URLSearchParams({ region: id, limit: '1000', cursor: String(cursor) });
      const page = await getJSON(`/v1/audit?${q}`);
      items = items.concat(page.items || []).slice(-20);
      if (page.next_cursor == null) break;
      cursor = page.next_cursor;
    }
    items.reverse();
  } catch (e) { console.warn(e); return; }
  if (ui.selected !== id) return;
  auditFor = id;
  box.hidden = false;
  box.innerHTML = `<h3>${esc(t('audit_title'))}</h3>` + (items.length
    ? `<ol class="audit">${items.map((a) => `<li data-action="${esc(a.action)}" data-outcome="${esc(a.outcome)}">
        <time>${esc(fmtTime(toSec(a.t), true))}</time> <b>${esc(a.user)}</b>: ${esc(t(`action_${a.action}`))}
        (${esc(t(`outcome_${a.outcome}`))}${a.outcome === 'rejected' && a.detail ? `: ${esc(a.detail)}` : ''}) — ${esc(a.note)}</li>`).join('')}</ol>`
    : `<p class="muted">${esc(t('audit_none'))}</p>`);
}

function startStream(fromId) {
  stream?.close();
  stream = openStream({
    kinds: 'alert',
    fromId,
    onStatus: setConn,
    onAuthLost: () => { if (ui.who) { ui.who = null; setToken(null); afterSignIn(); } },
    onEvent: (d) => {
      if (d.type === 'alert') night.addAlert(d);
      else if (d.type === 'track') night.addTrack(d);
      window.airshieldMap.events++;
      scheduleRender();
    },
  });
}

/**
 * A token kept from this tab's earlier page: confirmed with the service before it is used.
 * Revoked: dropped (the public view). The service unreachable (a restart): kept, not used, and
 * asked about again every 30 s, since a person's token is shown only once.
 */
async function resumeSignIn() {
  const saved = getToken();
  if (!saved || ui.who) return false;
  try {
    ui.who = await whoIs(saved);
    setToken(saved);
    return true;
  } catch (e) {
    if (e.status === 401 || e.status === 403) { try { sessionStorage.removeItem('airshield.token'); } catch { /* */ } }
    return false;
  }
}

async function signIn(token) {
  const err = $('#sign-in-error');
  try {
    ui.who = await whoIs(token);
    setToken(token);
    err.hidden = true;
  } catch (e) {
    ui.who = null;
    setToken(null);
    err.hidden = false;
    err.textContent = t('sign_in_failed', { why: e.message });
  }
  await afterSignIn();
}

let authEpoch = 0; // one per sign-in or sign-out: replies asked for under an earlier one are dropped
async function afterSignIn() {
  const epoch = ++authEpoch;
  renderOfficer();
  // The picture as the token may see it (or the public's again): nothing seen before stays
  // (a signed-out console shows the public's picture only, on the timeline too), then the
  // stream and the night's alert reasons anew, the tracks, the sensors.
  night.forgetPictures();
  if (!ui.who) night.forgetReasons(); // until the public's are read again
  view.drawSensors([]);
  scheduleRender();
  startStream(stream?.lastId ?? 0);
  try {
    const history = await fetchAlertHistory();
    if (epoch !== authEpoch) return; // signed in or out again meanwhile: that call reads anew
    for (const ev of history) night.addAlert(ev);
  } catch (e) { console.warn(e); }
  night.rebuildReasonThreats();
  if (ui.here) ui.here.at = 0;
  await Promise.all([refreshTracks(), refreshSensors(), refreshRegions()]);
  panelKey = '';
  renderAct(true);
  refreshAudit();
  scheduleRender();
}

// ---------------------------------------------------------------- timeline

let lastFrame = null;
function frame(now) {
  if (!ui.playing) { lastFrame = null; return; }
  if (lastFrame != null && ui.replayT != null) {
    ui.replayT += ((now - lastFrame) / 1000) * ui.speed;
    if (night.clock != null && ui.replayT >= night.clock) { ui.replayT = null; ui.playing = false; }
    render();
  }
  lastFrame = now;
  requestAnimationFrame(frame);
}

function play() {
  if (ui.replayT == null) ui.replayT = night.start ?? night.clock; // from the start of the night
  ui.playing = true;
  lastFrame = null;
  requestAnimationFrame(frame);
  render();
}

function pause() { ui.playing = false; render(); }

function goLive() { ui.playing = false; ui.replayT = null; render(); }

// ---------------------------------------------------------------- data

async function refreshTracks() {
  const epoch = authEpoch;
  try {
    const list = await getJSON('/v1/tracks');
    if (epoch !== authEpoch) return; // asked with another token than the page's now
    night.setSnapshot(Array.isArray(list) ? list : list.items || []);
  } catch (e) { console.warn(e); }
}

let sensorsHidden = false; // the service shows its sensors to viewers only (a 401 without a token)
async function refreshSensors() {
  try {
    const list = await getJSON('/v1/sensors');
    sensorsHidden = false;
    view.drawSensors(Array.isArray(list) ? list : list.items || []);
  } catch (e) {
    if (!/HTTP 401/.test(e.message)) { console.warn(e); return; }
    sensorsHidden = true;
    view.drawSensors([]);
  }
  renderSensorSummary();
}

function renderSensorSummary() {
  // Fixed sensors by kind: how many report, how many are silent (observers' phones left out).
  const byKind = new Map();
  for (const s of view.sensors) {
    if (s.kind === 'observer') continue;
    const k = byKind.get(s.kind) || { n: 0, silent: 0 };
    k.n++;
    if (s.silent) k.silent++;
    byKind.set(s.kind, k);
  }
  const box = $('#sensor-summary');
  box.replaceChildren();
  if (sensorsHidden) {
    const li = document.createElement('li');
    li.className = 'muted';
    li.dataset.hidden = 'true';
    li.textContent = t('sensors_sign_in');
    box.append(li);
    return;
  }
  for (const [kind, k] of [...byKind].sort()) {
    const li = document.createElement('li');
    li.dataset.kind = kind;
    li.dataset.silent = String(k.silent);
    li.innerHTML = `${esc(t(`kind_${kind}`))}: ${esc(t('sensors_count', { n: fmtNumber(k.n) }))}`
      + (k.silent ? ` — <b class="silent-count">${esc(t('silent_count', { n: fmtNumber(k.silent) }))}</b>` : '');
    box.append(li);
  }
}

async function refreshClock() {
  try {
    const c = await getJSON('/v1/clock');
    if (c.now != null) night.see(Number(c.now));
  } catch (e) { console.warn(e); }
}

async function refreshRegions() {
  try {
    const list = await getJSON('/v1/regions');
    night.setRegions(list);
  } catch (e) { console.warn(e); }
}

let renderPending = false;
function scheduleRender() {
  if (renderPending) return;
  renderPending = true;
  setTimeout(() => { renderPending = false; if (!ui.playing) render(); }, 150);
}

function setConn(state) {
  ui.conn = state;
  const el = $('#conn');
  el.dataset.state = state;
  el.textContent = t(`conn_${state}`);
}

async function boot() {
  document.documentElement.lang = getLang();
  applyStatic();
  buildLegend();
  view = new MapView($('#map'), { onRegionClick: selectRegion });
  await resumeSignIn();
  renderOfficer();

  const [geo, regions] = await Promise.all([getJSON('/v1/regions.geojson'), getJSON('/v1/regions')]);
  night.setRegions(regions);
  for (const f of geo.features || []) {
    const p = f.properties || {};
    const id = p.id ?? f.id;
    if (!night.regions.has(id)) night.regions.set(id, { id, name: p.name, name_uk: p.name_uk });
  }
  view.setRegions(geo, night.regions);
  await refreshClock();
  // The night so far from the alert history (paginated), then the stream from the newest
  // event id of that history: no gap between the two, and nothing twice.
  let fromId = 0;
  try {
    for (const ev of await fetchAlertHistory()) {
      night.addAlert(ev);
      if (Number.isFinite(ev.id)) fromId = Math.max(fromId, ev.id);
    }
  } catch (e) { console.warn(e); }
  getJSON('/map/cities.json').then((c) => view.drawCities(c)).catch((e) => console.warn(e));
  await Promise.all([refreshTracks(), refreshSensors()]);

  // Alerts on the stream (public, or as the signed-in token may see them); tracks are polled
  // from GET /v1/tracks (for the public delayed and coarsened).
  startStream(fromId);
  setInterval(refreshClock, 2000);
  setInterval(refreshTracks, 2000);
  setInterval(refreshSensors, 30000);
  setInterval(async () => { await refreshRegions(); scheduleRender(); }, 10000);
  setInterval(() => { if (!ui.playing) render(); }, 1000);
  setInterval(() => { if (ui.selected && isOperator()) refreshAudit(); }, 10000);
  setInterval(async () => { if (!ui.who && getToken() && await resumeSignIn()) afterSignIn(); }, 30000);

  render();
  document.body.dataset.ready = '1';
}

function buildLegend() {
  const box = $('#legend-body');
  box.innerHTML = `
    <ul class="legend-list">
      ${STATES.map((s) => `<li>${swatch(s)} <span>${esc(t(`state_${s}`))}</span></li>`).join('')}
    </ul>
    <ul class="legend-list">
      ${CLASSES.map((c) => `<li>${symbolSvg(c, 0, { size: 20, threat: c !== 'aircraft' })} <span>${esc(t(`cls_${c}`))}</span></li>`).join('')}
      <li><svg width="20" height="14" aria-hidden="true"><path d="M1,7 L19,1 L19,13 Z" fill="rgba(255,159,28,.15)" stroke="#ff9f1c" stroke-dasharray="3 2"/></svg> <span>${esc(t('cone'))}</span></li>
      <li><svg width="20" height="14" aria-hidden="true"><circle cx="10" cy="7" r="3" fill="#7fd1b9"/></svg> <span>${esc(t('sensor_ok'))}</span></li>
      <li><span class="sensor-silent inline"><span>✕</span></span> <span>${esc(t('sensor_silent'))}</span></li>
      <li><svg width="20" height="14" aria-hidden="true"><circle cx="10" cy="7" r="3.5" fill="#e6edf3"/></svg> <span>${esc(t('city'))}</span></li>
    </ul>`;
}

function wire() {
  $('#lang').addEventListener('click', () => setLang(getLang() === 'en' ? 'uk' : 'en'));
  $('#sign-in').addEventListener('submit', (e) => {
    e.preventDefault();
    const box = $('#token');
    const token = box.value.trim();
    box.value = '';
    if (token) signIn(token);
  });
  $('#sign-out').addEventListener('click', () => { ui.who = null; setToken(null); afterSignIn(); });
  $('#region-act').addEventListener('submit', preventSubmit);
  onLangChange(() => {
    renderOfficer();
    renderAct();
    if (auditFor) refreshAudit();
    buildLegend();
    view.relabel();
    renderSensorSummary();
    setConn(ui.conn);
    render();
  });
  $('#play').addEventListener('click', () => (ui.playing ? pause() : play()));
  $('#live').addEventListener('click', goLive);
  $('#speed').addEventListener('change', (e) => { ui.speed = Number(e.target.value); });
  $('#scrub').addEventListener('input', (e) => {
    const v = Number(e.target.value);
    ui.replayT = night.clock != null && v >= Math.floor(night.clock) ? null : v;
    render();
  });
  $('#region-close').addEventListener('click', () => {
    ui.selected = null;
    view.select(null);
    renderAct();
    refreshAudit();
    $('#region-panel').hidden = true;
  });
  for (const name of Object.keys(ui.layers)) {
    const box = $(`#layer-${name}`);
    box.checked = ui.layers[name];
    box.addEventListener('change', () => {
      ui.layers[name] = box.checked;
      view.show(name, box.checked);
      render();
    });
  }
  document.addEventListener('keydown', (e) => {
    if (e.target.closest('input, select, button, textarea')) return;
    if (e.key === ' ') { e.preventDefault(); ui.playing ? pause() : play(); }
  });
}

// For tests and for a curious duty officer's console.
window.airshieldMap = {
  night, ui, events: 0,
  get lastEventId() { return stream?.lastId ?? 0; },
  regionState: (id) => night.regionAt(id, ui.replayT).state,
  setReplayTime: (sec) => { ui.playing = false; ui.replayT = sec; render(); },
  goLive,
};

wire();
boot().catch((e) => {
  console.error(e);
  const el = $('#fatal');
  el.hidden = false;
  el.textContent = t('not_installed', { error: e.message });
  document.body.dataset.ready = 'error';
});
