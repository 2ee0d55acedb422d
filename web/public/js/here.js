// "Is there an alert where I am?": the public's page. One question to the service
// (GET /v1/concern) for the person's place, every 15 s and at once when its area's alert state
// changes (GET /v1/status, polled every 5 s, an ETag's 304 when nothing changed), answered
// large: the state, what to do, and how soon a threat may come near.
//
// What it must never do: say "no alert" or "no threat" when it does not know. An answer that
// failed, that is older than STALE_MS, or that was asked for another place is not shown as
// current: the page says the status is not known, and to follow the sirens.
import { t, getLang, setLang, onLangChange, applyStatic, placeName, fmtTime, fmtDurationFloor, fmtNumber } from './i18n.js';

const $ = (sel) => document.querySelector(sel);
const PLACE_KEY = 'airshield.here';
const ASK_MS = 15000;
const STATUS_MS = 5000;
const TIMEOUT_MS = 10000;
const STALE_MS = 45000;
const CLASSES = ['drone', 'jet', 'cruise', 'ballistic', 'aircraft', 'unknown'];

const st = {
  place: null, // {lat, lon, label}: rounded to 0.01° (~1 km) before it leaves the page
  answer: null, // the latest good answer for this place
  answeredAt: 0, // Date.now() when it came
  failedSince: 0, // Date.now() of the first failure since the last good answer (0: none)
  seq: 0, // the newest question asked; replies to older ones are dropped
  order: null, // the region ids in /v1/status order
  statusChar: null,
  shown: '', // what the banner says (written only when it changes: a screen reader repeats it)
};

function cls(c) { return t(`cls_${CLASSES.includes(c) ? c : 'unknown'}`); }
function cap(s) { return s ? s[0].toUpperCase() + s.slice(1) : s; }

/**
 * GET with a time limit (a hanging request must not freeze an old answer). `cache: 'no-cache'`:
 * the browser revalidates (If-None-Match) and takes a 304 as the same body.
 */
async function fetchWithin(path, read, headers = {}) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), TIMEOUT_MS);
  try {
    const r = await fetch(path, { headers, signal: ctrl.signal, cache: 'no-cache' });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    return await read(r); // the body too, within the limit
  } finally { clearTimeout(timer); }
}

function getJSON(path) { return fetchWithin(path, (r) => r.json(), { Accept: 'application/json' }); }

function savedCity() {
  try {
    const p = JSON.parse(localStorage.getItem(PLACE_KEY) || 'null');
    if (p && Number.isFinite(p.lat) && Number.isFinite(p.lon) && p.label) return p;
  } catch { /* none */ }
  return null;
}

function setPlace(lat, lon, label) {
  // ~1 km is finer than any answer (a 5 km radius, oblast-sized areas) and coarser than a home.
  st.place = { lat: Math.round(lat * 100) / 100, lon: Math.round(lon * 100) / 100, label };
  // A chosen city is remembered; a located position is not (it is located again next time).
  try {
    if (label) localStorage.setItem(PLACE_KEY, JSON.stringify(st.place)); else localStorage.removeItem(PLACE_KEY);
  } catch { /* storage off */ }
  st.answer = null; // the other place's answer is not this one's
  st.answeredAt = 0;
  st.failedSince = 0;
  st.statusChar = null;
  $('#where-error').hidden = true;
  render();
  ask();
}

async function ask() {
  if (!st.place) { render(); return; }
  const seq = ++st.seq;
  const place = st.place;
  const q = new URLSearchParams({ lat: place.lat.toFixed(2), lon: place.lon.toFixed(2) });
  try {
    const a = await getJSON(`/v1/concern?${q}`);
    if (seq !== st.seq || place !== st.place) return; // a newer question, or another place
    st.answer = a;
    st.answeredAt = Date.now();
    st.failedSince = 0;
  } catch (e) {
    if (seq !== st.seq || place !== st.place) return;
    if (!st.failedSince) st.failedSince = Date.now();
  }
  render();
}

/** The area's state in GET /v1/status (one character per region): ask again when it changes. */
async function watchStatus() {
  const id = st.answer?.region?.id;
  if (!id) return;
  try {
    if (!st.order) st.order = await getJSON('/v1/status/regions');
    const ch = (await fetchWithin('/v1/status', (r) => r.text()))[st.order.indexOf(id)];
    if (st.statusChar != null && ch !== st.statusChar) ask();
    st.statusChar = ch;
  } catch { /* the next concern question says whether the service is there */ }
}

function unknown() {
  if (!st.place) return false;
  if (!st.answer) return st.failedSince > 0;
  return Date.now() - st.answeredAt > STALE_MS;
}

function render() {
  const body = document.body;
  const a = st.answer;
  let state;
  let title;
  let advice;
  if (!st.place) {
    state = 'unknown';
    title = t('here_choose');
    advice = '';
  } else if (unknown()) {
    state = 'unknown';
    title = t('here_unknown');
    advice = t('here_unknown_advice', { s: Math.round((Date.now() - (st.answeredAt || st.failedSince)) / 1000) });
  } else if (!a) {
    state = 'unknown';
    title = t('here_asking');
    advice = '';
  } else {
    state = a.region ? a.state : 'outside';
    title = a.region ? t(`state_${a.state}`) : t('here_outside');
    advice = a.advice?.[getLang()] ?? a.advice?.en ?? '';
  }
  body.dataset.state = state;
  const shown = `${state}|${title}|${advice}`;
  if (shown !== st.shown) { // (a live region repeats whatever is written into it)
    $('#banner').setAttribute('aria-live', state === 'alert' || state === 'unknown' ? 'assertive' : 'polite');
    $('#state').textContent = title;
    $('#advice').textContent = advice;
    st.shown = shown;
  }
  const current = a && state !== 'unknown';
  $('#place').textContent = current && a.region
    ? t('here_area', { region: placeName(a.region) }) + (st.place.label ? ` — ${st.place.label}` : '') : '';
  const th = current ? a.threat : null;
  $('#threat').textContent = !th ? '' : th.inside
    ? t('here_area_inside', { cls: cls(th.class) })
    : t('here_area_threat', { lo: fmtDurationFloor(th.lo_s), cls: cls(th.class) });
  let near = '';
  const h = current ? a.here : null;
  if (current && a.region) {
    const km = fmtNumber(a.radius_km ?? 5);
    if (h?.inside) near = t('here_now', { km, cls: cls(h.class) });
    else if (h && h.lo_s < 60) near = t('here_soon', { km, cls: cls(h.class) });
    else if (h) near = t('here_eta', { km, cls: cls(h.class), lo: fmtDurationFloor(h.lo_s) });
    // "No threat expected" only where there is no alert: the public picture is a minute old,
    // and in an alert the threat may simply not be in it yet.
    else if (a.state === 'quiet') near = t('here_none', { km });
    near = cap(near);
  }
  $('#near').textContent = near;
  $('#near').dataset.lo = h ? String(h.lo_s) : '';
  $('#as-of').textContent = current && a.as_of != null ? t('here_as_of', { t: fmtTime(a.as_of, true) }) : '';
  document.title = `${title} — ${t('here_title')}`;
}

async function loadCities() {
  let cities = [];
  try { cities = await getJSON('/map/cities.json'); } catch (e) { console.warn(e); return; }
  const box = $('#city');
  const keep = box.value;
  box.length = 1;
  cities.sort((x, y) => placeName(x).localeCompare(placeName(y), getLang() === 'uk' ? 'uk' : 'en'));
  for (const c of cities) {
    const o = document.createElement('option');
    o.value = `${c.lat},${c.lon}`;
    o.textContent = placeName(c);
    box.append(o);
  }
  box.value = keep;
}

function locate() {
  const err = $('#where-error');
  if (!navigator.geolocation) {
    err.hidden = false;
    err.textContent = t('here_locate_failed', { why: 'no geolocation' });
    return;
  }
  navigator.geolocation.getCurrentPosition(
    (pos) => setPlace(pos.coords.latitude, pos.coords.longitude, ''),
    (e) => { err.hidden = false; err.textContent = t('here_locate_failed', { why: e.message || e.code }); },
    { enableHighAccuracy: false, maximumAge: 60000, timeout: 15000 },
  );
}

function wire() {
  $('#lang').addEventListener('click', () => setLang(getLang() === 'en' ? 'uk' : 'en'));
  onLangChange(() => { document.documentElement.lang = getLang(); st.shown = ''; loadCities(); render(); });
  $('#locate').addEventListener('click', locate);
  $('#city').addEventListener('change', (e) => {
    const v = e.target.value;
    if (!v) return;
    const [lat, lon] = v.split(',').map(Number);
    setPlace(lat, lon, e.target.selectedOptions[0].textContent);
  });
  // Back from the background: the answer may be minutes old.
  document.addEventListener('visibilitychange', () => { if (!document.hidden) ask(); });
}

async function boot() {
  document.documentElement.lang = getLang();
  applyStatic();
  wire();
  loadCities();
  st.place = savedCity();
  if (!st.place) {
    // Located last time and allowed to: located again, not taken from memory (people move).
    try {
      const p = await navigator.permissions?.query({ name: 'geolocation' });
      if (p?.state === 'granted') locate();
    } catch { /* no Permissions API: the person presses the button */ }
  }
  ask();
  setInterval(ask, ASK_MS);
  setInterval(watchStatus, STATUS_MS);
  setInterval(render, 1000); // an answer turns "not known" when it gets too old
  document.body.dataset.ready = '1';
}

window.airshieldHere = { st, ask };
boot();
