// The public API the map reads (docs/map.md lists it) and the SSE stream.

/** Seconds since the epoch from an API time: a number already, or an RFC 3339 string. */
export function toSec(t) {
  if (t == null) return null;
  if (typeof t === 'number') return t;
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? ms / 1000 : null;
}

export async function getJSON(path) {
  const r = await fetch(path, { headers: { Accept: 'application/json' } });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
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
    const r = await fetch(`/v1/alerts/history?${q}`, { headers: { Accept: 'application/json' } });
    if (r.status === 422 && limit > 100) { limit = 100; pages--; continue; } // a smaller page cap
    if (!r.ok) throw new Error(`/v1/alerts/history: HTTP ${r.status}`);
    const page = await r.json();
    all.push(...pageItems(page));
    cursor = Array.isArray(page) ? null : page.next_cursor ?? null;
    if (cursor == null) break;
  }
  return all;
}

/**
 * The SSE stream GET /v1/stream, replayed from `fromId` (0: the whole night) and then live.
 *
 * On a dropped connection the browser's EventSource reconnects by itself and sends the last
 * id it saw as Last-Event-ID, so the server resumes without losses; events at or below the
 * newest id already handled are dropped here, so a replay never counts an event twice. If the
 * EventSource gives up (CLOSED), a new one is opened from the newest id.
 */
export function openStream({ kinds, fromId = 0, onEvent, onStatus }) {
  let lastId = fromId;
  let es = null;
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
  const connect = () => {
    if (closed) return;
    const q = new URLSearchParams({ kinds, last_event_id: String(lastId) });
    es = new EventSource(`/v1/stream?${q}`);
    onStatus('connecting');
    es.onopen = () => onStatus('open');
    es.onmessage = handle;
    for (const k of ['alert', 'track', 'audit']) es.addEventListener(k, handle);
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) {
        onStatus('closed');
        setTimeout(connect, 2000);
      } else {
        onStatus('reconnecting');
      }
    };
  };
  connect();
  return {
    get lastId() { return lastId; },
    close() { closed = true; es?.close(); },
  };
}
