// "Is there an alert where I am?": the public's page. One question to the service
// (GET /v1/concern) for the person's place, every 15 s and at every alert event of its area
// (the SSE stream), answered large: the state, what to do, and how long they may have.
import { getJSON } from './api.js';
import { t, getLang, setLang, onLangChange, applyStatic, placeName, fmtTime, fmtDuration, fmtNumber } from './i18n.js';

const $ = (sel) => document.querySelector(sel);
const PLACE_KEY = 'airshield.here';
const REFRESH_MS = 15000;
const CLASSES = ['drone', 'jet', 'cruise', 'ballistic', 'aircraft', 'unknown'];

const st = {
  place: null, // {lat, lon, label}: rounded to 0.01° (~1 km) before it leaves the page
  answer: null,
  error: null,
  region: null, // the alert area whose stream is open
  stream: null,
};

function cls(c) { return t(`cls_${CLASSES.includes(c) ? c : 'unknown'}`); }
function cap(s) { return s ? s[0].toUpperCase() + s.slice(1) : s; }

function savedPlace() {
  try {
    const p = JSON.parse(localStorage.getItem(PLACE_KEY) || 'null');
    if (p && Number.isFinite(p.lat) && Number.isFinite(p.lon)) return p;
  } catch { /* none */ }
  return null;
}

function setPlace(lat, lon, label) {
  // ~1 km is finer than any answer (a 5 km radius, oblast-sized areas) and coarser than a home.
  st.place = { lat: Math.round(lat * 100) / 100, lon: Math.round(lon * 100) / 100, label };
  try { localStorage.setItem(PLACE_KEY, JSON.stringify(st.place)); } catch { /* storage off */ }
  $('#where-error').hidden = true;
  ask();
}

async function ask() {
  if (!st.place) { render(); return; }
  const q = new URLSearchParams({ lat: st.place.lat.toFixed(2), lon: st.place.lon.toFixed(2) });
  try {
    st.answer = await getJSON(`/v1/concern?${q}`);
    st.error = null;
  } catch (e) {
    st.error = e.message; // the last answer stays shown, marked as not current
  }
  follow(st.answer?.region?.id ?? null);
  render();
}

/** The area's alert events on the stream: the page asks again as soon as one comes. */
function follow(region) {
  if (region === st.region) return;
  st.stream?.close();
  st.region = region;
  st.stream = null;
  if (!region) return;
  const es = new EventSource(`/v1/stream?${new URLSearchParams({ kinds: 'alert', regions: region })}`);
  es.addEventListener('alert', () => ask());
  st.stream = es;
}

function render() {
  const a = st.answer;
  const body = document.body;
  if (!st.place || !a) {
    body.dataset.state = 'unknown';
    $('#state').textContent = st.place ? '…' : t('here_choose');
    $('#advice').textContent = st.error ? t('here_unreachable', { why: st.error }) : '';
    for (const id of ['#place', '#threat', '#near', '#as-of']) $(id).textContent = '';
    document.title = t('here_title');
    return;
  }
  const lang = getLang();
  const state = a.region ? a.state : 'outside';
  body.dataset.state = state;
  $('#state').textContent = a.region ? t(`state_${a.state}`) : t('here_outside');
  $('#advice').textContent = st.error ? t('here_unreachable', { why: st.error }) : (a.advice?.[lang] ?? a.advice?.en ?? '');
  $('#place').textContent = a.region
    ? t('here_area', { region: placeName(a.region) }) + (st.place.label ? ` — ${st.place.label}` : '') : '';
  const th = a.threat;
  $('#threat').textContent = !th ? '' : th.inside
    ? t('here_area_inside', { cls: cls(th.class) })
    : t('here_area_threat', { lo: fmtDuration(th.lo_s), cls: cls(th.class) });
  const h = a.here;
  const km = fmtNumber(a.radius_km ?? 5);
  let near = '';
  if (a.region) {
    if (!h) near = t('here_none', { km });
    else if (h.inside) near = t('here_now', { km, cls: cls(h.class) });
    else if (h.lo_s < 60) near = t('here_soon', { km, cls: cls(h.class) });
    else near = t('here_eta', { km, cls: cls(h.class), lo: fmtDuration(h.lo_s) });
    near = cap(near);
  }
  $('#near').textContent = near;
  $('#near').dataset.lo = h ? String(h.lo_s) : '';
  $('#as-of').textContent = a.as_of != null ? t('here_as_of', { t: fmtTime(a.as_of, true) }) : '';
  document.title = `${a.region ? t(`state_${a.state}`) : t('here_outside')} — ${t('here_title')}`;
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
  st.cities = cities;
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
    { enableHighAccuracy: false, maximumAge: 300000, timeout: 15000 },
  );
}

function wire() {
  $('#lang').addEventListener('click', () => setLang(getLang() === 'en' ? 'uk' : 'en'));
  onLangChange(() => { document.documentElement.lang = getLang(); loadCities(); render(); });
  $('#locate').addEventListener('click', locate);
  $('#city').addEventListener('change', (e) => {
    const v = e.target.value;
    if (!v) return;
    const [lat, lon] = v.split(',').map(Number);
    setPlace(lat, lon, e.target.selectedOptions[0].textContent);
  });
}

function boot() {
  document.documentElement.lang = getLang();
  applyStatic();
  document.title = t('here_title');
  wire();
  loadCities();
  st.place = savedPlace();
  ask();
  setInterval(ask, REFRESH_MS);
  document.body.dataset.ready = '1';
}

window.airshieldHere = { st, ask };
boot();
