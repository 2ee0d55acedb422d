// The API the map reads (docs/map.md lists it), the SSE stream, and a duty officer's commands.

/** Seconds since the epoch from an API time: a number already, or an RFC 3339 string. */
export function toSec(t) {
  if (t == null) return null;
  if (typeof t === 'number') return t;
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? ms / 1000 : null;
}

// A person's token (viewer, operator or admin), when a duty officer signs in. Kept in this
// tab's sessionStorage only: it goes when the tab closes, and no other site can read it.
const TOKEN_KEY = 'airshield.token';

export function getToken() {
  try { return sessionStorage.getItem(TOKEN_KEY); } catch { return null; }
}

/** The token the service has confirmed (GET /v1/me), sent with every request from now on. */
export function setToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token); else sessionStorage.removeItem(TOKEN_KEY);
  } catch { /* storage disabled: the sign-in lasts until the page reloads */ }
  memToken = token || null;
}

// Only a confirmed token is sent: one kept from an earlier visit, while the service cannot say
// whom it is (a restart), would bring a person's picture into a page that shows "public".
let memToken = null;

function headers(extra = {}) {
  const h = { Accept: 'application/json', ...extra };
  if (memToken) h.Authorization = `Bearer ${memToken}`;
  return h;
}

export async function getJSON(path) {
  const r = await fetch(path, { headers: headers() });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
}

/**
 * POST a JSON body with the signed-in token; resolves to {ok, status, body}. The service's
 * refusal says what was wrong (`detail`: a string, or a list of {loc, msg}).
 */
export async function postJSON(path, body) {
  const r = await fetch(path, {
    method: 'POST', headers: headers({ 'Content-Type': 'application/json' }), body: JSON.stringify(body),
  });
  let data = null;
  try { data = await r.json(); } catch { /* no body */ }
  return { ok: r.ok, status: r.status, body: data };
}

/** Who ``token`` is (GET /v1/me): {id, role}, or throws with the service's reason. */
export async function whoIs(token) {
  const r = await fetch('/v1/me', { headers: { Accept: 'application/json', Authorization: `Bearer ${token}` } });
  if (!r.ok) {
    let why = `HTTP ${r.status}`;
    try { const d = await r.json(); if (typeof d.detail === 'string') why = d.detail; } catch { /* none */ }
    throw Object.assign(new Error(why), { status: r.status });
  }
  return r.json();
}

/** A refusal's detail as one line of text. */
export function detailText(body) {
  const d = body?.detail;
  if (typeof d === 'string') return d;
  if (Array.isArray(d)) return d.map((e) => `${(e.loc || []).slice(1).join('.')}: ${e.msg}`).join('; ');
  return '';
}

/** Items of a paginated reply, whatever the list is called. */
function pageItems(page) {
  if (Array.isArray(page)) return page;
  for (const k of ['items', 'alerts', 'events', 'results', 'data']) {
    if (Array.isArray(page?.[k])) return page[k];
  }
  return [];
}

/** Every alert event of the night from GET /v1/alerts/history, following next_cursor. */
export async function fetchAlertHistory() {
  const all = [];
  let cursor = null;
  let limit = 500;
  for (let pages = 0; pages < 1000; pages++) {
    const q = new URLSearchParams({ limit: String(limit) });
    if (cursor != null) q.set('cursor', cursor);
    const r = await fetch(`/v1/alerts/history?${q}`, { headers: headers() });
    if (r.status === 422 && limit > 100) { limit = 100; pages--; continue; } // a smaller page cap
    if (!r.ok) throw new Error(`/v1/alerts/history: HTTP ${r.status}`);
    const page = await r.json();
    all.push(...pageItems(page));
    cursor = Array.isArray(page) ? null : page.next_cursor ?? null;
    if (cursor == null) break;
  }
  return all;
}

// The events a page takes (an EventSource's listeners); other frames are the server's own.
const EVENT_TYPES = new Set(['message', 'alert', 'track', 'audit']);

/**
 * The SSE stream GET /v1/stream, replayed from `fromId` (0: the whole night) and then live.
 *
 * Without a token: the browser's EventSource. On a dropped connection it reconnects by itself
 * and sends the last id it saw as Last-Event-ID, so the server resumes without losses; if it
 * gives up (CLOSED), a new one is opened from the newest id. With a signed-in person's token,
 * which an EventSource cannot send: fetch() with the Authorization header, read as a stream
 * and parsed here, reconnecting from the newest id the same way. Either way, events at or
 * below the newest id already handled are dropped, so a replay never counts one twice.
 * `onAuthLost` is called when the service refuses the token (revoked): the caller signs out.
 */
export function openStream({ kinds, fromId = 0, onEvent, onStatus, onAuthLost = () => {} }) {
  let lastId = fromId;
  let es = null;
  let ctrl = null;
  let closed = false;
  const handle = (e) => {
    const id = Number(e.lastEventId);
    if (Number.isFinite(id) && id > 0) {
      if (id <= lastId) return;
      lastId = id;
    }
    let d;
    try { d = JSON.parse(e.data); } catch { return; }
    // The event's own NDJSON line, or an envelope around it.
    if (d && !d.type && d.data && typeof d.data === 'object') d = d.data;
    onEvent(d, id, e.type);
  };
  const query = () => new URLSearchParams({ kinds, last_event_id: String(lastId) });
  // An EventSource cannot read a refusal's Retry-After (the service's 503 when its streams are
  // full, in a raid): a new one waits twice as long each time it is refused, up to a minute.
  let backoff = 2000;
  const connectEventSource = () => {
    if (closed) return;
    es = new EventSource(`/v1/stream?${query()}`);
    onStatus('connecting');
    es.onopen = () => { backoff = 2000; onStatus('open'); };
    es.onmessage = handle;
    for (const k of ['alert', 'track', 'audit']) es.addEventListener(k, handle);
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) {
        onStatus('closed');
        setTimeout(connectEventSource, backoff);
        backoff = Math.min(backoff * 2, 60000);
      } else {
        onStatus('reconnecting');
      }
    };
  };
  const connectFetch = async (token) => {
    while (!closed) {
      onStatus('connecting');
      try {
        ctrl = new AbortController();
        const r = await fetch(`/v1/stream?${query()}`, {
          headers: { Accept: 'text/event-stream', Authorization: `Bearer ${token}` }, signal: ctrl.signal,
        });
        if (r.status === 401 || r.status === 403) { onStatus('closed'); onAuthLost(); return; }
        if (r.status === 503) { // too many open streams: as long as the service asks
          const wait = Math.min(Math.max(Number(r.headers.get('Retry-After')) || 30, 2), 300);
          onStatus('reconnecting');
          await new Promise((res) => setTimeout(res, wait * 1000));
          continue;
        }
        if (!r.ok || !r.body) throw new Error(`HTTP ${r.status}`);
        onStatus('open');
        const reader = r.body.getReader();
        const dec = new TextDecoder();
        let buf = '';
        let revoked = false;
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let end;
          while ((end = /\r?\n\r?\n/.exec(buf)) !== null) {
            const block = buf.slice(0, end.index);
            buf = buf.slice(end.index + end[0].length);
            const msg = { type: 'message', lastEventId: '', data: [] };
            for (const line of block.split(/\r?\n/)) {
              if (!line || line.startsWith(':')) continue; // a comment: a heartbeat
              const i = line.indexOf(':');
              const field = i < 0 ? line : line.slice(0, i);
              const val = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
              if (field === 'data') msg.data.push(val);
              else if (field === 'event') msg.type = val;
              else if (field === 'id') msg.lastEventId = val;
            }
            if (msg.type === 'revoked') revoked = true;
            else if (EVENT_TYPES.has(msg.type) && msg.data.length) handle({ ...msg, data: msg.data.join('\n') });
          }
        }
        if (revoked) { onStatus('closed'); onAuthLost(); return; }
      } catch (e) {
        if (closed) return;
      }
      onStatus('reconnecting');
      await new Promise((res) => setTimeout(res, 2000));
    }
  };
  const token = memToken;
  if (token) connectFetch(token); else connectEventSource();
  return {
    get lastId() { return lastId; },
    close() { closed = true; es?.close(); ctrl?.abort(); },
  };
}
