// Drawing: regions by alert state (colour + pattern + label), tracks by class symbol with
// predicted cones, sensors and their health, cities. Leaflet, SVG renderer, no tiles.
import * as L from '../vendor/leaflet/leaflet-src.esm.js';
import { t, placeName, fmtNumber, fmtTime } from './i18n.js';

export const STATES = ['quiet', 'pre_alert', 'alert'];

// Colours for a dark map, told apart by lightness as well as hue (so not by red/green alone),
// and each alert state also has its own pattern (svg defs in index.html) and a text badge.
export const STATE_STYLE = {
  quiet: { fill: '#1b2733', pattern: null, stroke: '#6b7d90' },
  pre_alert: { fill: '#d9a21b', pattern: 'url(#pat-pre-alert)', stroke: '#f5d36b' },
  alert: { fill: '#c2185b', pattern: 'url(#pat-alert)', stroke: '#ff8fb8' },
};

export const CLASSES = ['drone', 'jet', 'cruise', 'ballistic', 'aircraft', 'unknown'];
export const CLASS_COLOUR = {
  drone: '#ff9f1c', jet: '#ffd166', cruise: '#ef476f', ballistic: '#ff4d4d',
  aircraft: '#4ea8de', unknown: '#b0b8c1',
};

// One distinct shape per class (pointing north, rotated by heading), plus a letter.
const SHAPES = {
  drone: '<path d="M0,-10 L9,8 L0,4 L-9,8 Z"/>', // delta wing
  jet: '<path d="M0,-11 L5,6 L0,3 L-5,6 Z"/>', // narrow dart
  cruise: '<path d="M-3,-11 L3,-11 L3,6 L7,10 L-7,10 L-3,6 Z"/>', // long body, tail fins
  ballistic: '<path d="M0,-11 L8,0 L0,11 L-8,0 Z"/>', // diamond
  aircraft: '<circle r="8"/>', // round: a manned aircraft, not a threat
  unknown: '<rect x="-7" y="-7" width="14" height="14"/>',
};

/** A feature's area on the map, in square degrees scaled by cos(latitude): only to order
 * regions, larger first, so that nested ones (a site in a raion in an oblast) lie on top. */
export function roughArea(geometry) {
  const ring = (r) => {
    let a = 0;
    for (let i = 0, j = r.length - 1; i < r.length; j = i++) a += (r[j][0] - r[i][0]) * (r[j][1] + r[i][1]);
    const lat = r.length ? r[0][1] : 0;
    return Math.abs(a / 2) * Math.cos((lat * Math.PI) / 180);
  };
  const polygon = (p) => p.reduce((s, r, i) => s + (i === 0 ? ring(r) : -ring(r)), 0);
  if (!geometry) return 0;
  if (geometry.type === 'Polygon') return polygon(geometry.coordinates);
  if (geometry.type === 'MultiPolygon') return geometry.coordinates.reduce((s, p) => s + polygon(p), 0);
  return 0;
}

export function symbolSvg(cls, heading = 0, { threat = true, size = 26 } = {}) {
  const c = CLASS_COLOUR[cls] ? cls : 'unknown';
  const letter = t(`letter_${c}`);
  const stroke = threat ? '#ffffff' : '#0b1016';
  return `<svg class="sym sym-${c}" viewBox="-13 -13 26 26" width="${size}" height="${size}" aria-hidden="true">`
    + `<g transform="rotate(${Math.round(heading)})" fill="${CLASS_COLOUR[c]}" stroke="${stroke}" stroke-width="1.5">${SHAPES[c]}</g>`
    + `<text y="4" text-anchor="middle" font-size="10" font-weight="700" fill="#0b1016">${letter}</text></svg>`;
}

export class MapView {
  constructor(el, { onRegionClick }) {
    this.map = L.map(el, {
      zoomSnap: 0.25, preferCanvas: false, attributionControl: true, worldCopyJump: false,
    });
    this.map.attributionControl.setPrefix('Leaflet');
    this.map.attributionControl.addAttribution('Cities: GeoNames (CC BY 4.0)');
    this.canvas = L.canvas({ padding: 0.2 }); // thousands of sensors
    // Region labels under the tracks (markers) but over the outlines.
    this.map.createPane('badges').style.zIndex = 450;
    this.regionLayers = new Map(); // id -> L.Path
    this.regionArea = new Map(); // id -> roughArea, to keep nested regions on top
    this.badges = new Map(); // id -> L.Marker
    this.regionState = new Map();
    this.selected = null;
    this.onRegionClick = onRegionClick;
    this.trackLayer = L.layerGroup().addTo(this.map);
    this.coneLayer = L.layerGroup().addTo(this.map);
    this.sensorLayer = L.layerGroup().addTo(this.map);
    this.cityLayer = L.layerGroup().addTo(this.map);
    this.badgeLayer = L.layerGroup().addTo(this.map);
    this.trackMarkers = new Map();
    this.cities = [];
    this.sensors = [];
  }

  setRegions(geojson, regionsById) {
    this.regionsById = regionsById;
    // The regions' own credit line (the service's region file: Natural Earth, or a user's areas).
    const credit = document.createElement('span');
    credit.textContent = `Regions: ${geojson.attribution || 'Natural Earth / geoBoundaries'}`;
    this.map.attributionControl.addAttribution(credit.outerHTML);
    // Larger regions first, so that nested ones (raions in an oblast, a site in a raion) are
    // drawn over them and stay visible and clickable, whatever order the file or ids have.
    const features = [...(geojson.features || [])]
      .map((f) => [roughArea(f.geometry), f])
      .sort((a, b) => b[0] - a[0])
      .map(([area, f]) => { this.regionArea.set(f.properties?.id ?? f.id, area); return f; });
    const layer = L.geoJSON({ ...geojson, features }, {
      style: () => this.styleFor('quiet'),
      onEachFeature: (f, lyr) => {
        const id = f.properties?.id ?? f.id;
        this.regionLayers.set(id, lyr);
        lyr.feature.properties.id = id;
        lyr.on('click', (e) => { L.DomEvent.stopPropagation(e); this.onRegionClick(id, e.latlng); });
        lyr.on('add', () => this.tagRegion(id));
      },
    });
    layer.addTo(this.map);
    this.coneLayer.bringToFront?.();
    const b = layer.getBounds();
    if (b.isValid()) this.map.fitBounds(b, { padding: [10, 10] });
    for (const id of this.regionLayers.keys()) this.tagRegion(id);
  }

  styleFor(state, selected = false) {
    const s = STATE_STYLE[state] || STATE_STYLE.quiet;
    return {
      color: selected ? '#ffffff' : s.stroke,
      weight: selected ? 3 : 1,
      opacity: 0.9,
      fillColor: s.pattern || s.fill,
      fillOpacity: state === 'quiet' ? 0.85 : 0.9,
      className: `region state-${state}`,
    };
  }

  tagRegion(id) {
    const el = this.regionLayers.get(id)?.getElement?.();
    if (!el) return;
    const state = this.regionState.get(id) || 'quiet';
    el.setAttribute('data-region', id);
    el.setAttribute('data-state', state);
    el.setAttribute('role', 'button');
    el.setAttribute('tabindex', '0');
    el.setAttribute('aria-label', `${placeName(this.regionsById.get(id) || { id })}: ${t(`state_${state}`)}`);
    el.classList.remove(...STATES.map((s) => `state-${s}`));
    el.classList.add(`state-${state}`);
    if (!el.dataset.keyed) {
      el.dataset.keyed = '1';
      el.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); this.onRegionClick(id); }
      });
    }
  }

  /** Colour each region by its state: `states` maps id -> 'quiet' | 'pre_alert' | 'alert'. */
  paintRegions(states, force = false) {
    for (const [id, lyr] of this.regionLayers) {
      const state = states.get(id) || 'quiet';
      if (!force && this.regionState.get(id) === state) continue;
      this.regionState.set(id, state);
      lyr.setStyle(this.styleFor(state, id === this.selected));
      this.tagRegion(id);
      this.updateBadge(id, state, lyr);
    }
  }

  updateBadge(id, state, lyr) {
    const old = this.badges.get(id);
    if (old) { this.badgeLayer.removeLayer(old); this.badges.delete(id); }
    if (state === 'quiet') return;
    const at = lyr.getBounds().getCenter();
    const icon = L.divIcon({
      className: 'badge-icon',
      html: `<span class="badge badge-${state}" data-badge="${id}">${state === 'alert' ? '⚠ ' : '◔ '}${t(`badge_${state}`)}</span>`,
      iconSize: null,
    });
    const m = L.marker(at, { icon, interactive: false, keyboard: false, pane: 'badges' });
    this.badges.set(id, m);
    this.badgeLayer.addLayer(m);
  }

  select(id) {
    const prev = this.selected;
    this.selected = id;
    for (const r of [prev, id]) {
      if (r && this.regionLayers.has(r)) {
        this.regionLayers.get(r).setStyle(this.styleFor(this.regionState.get(r) || 'quiet', r === id));
        if (r === id) this.raise(r);
        this.tagRegion(r);
      }
    }
  }

  /** Bring region `id` to the front (its outline shows whole), then the regions inside it
   * over it again, larger first: they stay visible and clickable. Inside: its descendants by
   * `parent`, or smaller regions whose box lies in its box (padded: outlines are simplified
   * one by one, so a child along the edge may stick out a little). */
  raise(id) {
    const lyr = this.regionLayers.get(id);
    lyr.bringToFront();
    const box = lyr.getBounds().pad(0.02);
    const area = this.regionArea.get(id) ?? Infinity;
    const inside = [];
    for (const [r, l] of this.regionLayers) {
      const a = this.regionArea.get(r) ?? 0;
      if (r !== id && a < area && (this.descends(r, id) || box.contains(l.getBounds()))) inside.push([a, l]);
    }
    inside.sort((x, y) => y[0] - x[0]);
    for (const [, l] of inside) l.bringToFront();
  }

  /** Whether region `r` lies under `id` in the regions' `parent` tree. */
  descends(r, id) {
    let p = this.regionsById?.get(r)?.parent;
    for (let depth = 0; p && depth < 16; depth++) {
      if (p === id) return true;
      p = this.regionsById?.get(p)?.parent;
    }
    return false;
  }

  relabel() {
    for (const [id, lyr] of this.regionLayers) {
      this.tagRegion(id);
      this.updateBadge(id, this.regionState.get(id) || 'quiet', lyr);
    }
    this.drawCities(this.cities);
    this.drawSensors(this.sensors);
    for (const m of this.trackMarkers.values()) m.remove();
    this.trackMarkers.clear();
  }

  drawTracks(tracks, { showCones = true } = {}) {
    const seen = new Set();
    for (const s of tracks) {
      seen.add(s.id);
      const html = symbolSvg(s.cls, s.heading, { threat: s.threat });
      let m = this.trackMarkers.get(s.id);
      const tip = [
        `<b>${t('track', { id: s.id })}</b> — ${t(`cls_${CLASS_COLOUR[s.cls] ? s.cls : 'unknown'}`)}`,
        s.threat ? '' : ` (${t('track_not_threat')})`,
        s.speed != null ? `<br>${t('speed_kmh', { n: Math.round(s.speed * 3.6) })}` : '',
        s.alt_m != null ? `, ${t('altitude_m', { n: Math.round(s.alt_m) })}` : '',
        `<br>${fmtTime(s.t, true)}`,
      ].join('');
      if (!m) {
        m = L.marker([s.lat, s.lon], {
          icon: L.divIcon({ className: 'track-icon', html, iconSize: [26, 26], iconAnchor: [13, 13] }),
          keyboard: false,
        }).bindTooltip(tip);
        m._html = html;
        this.trackMarkers.set(s.id, m);
        this.trackLayer.addLayer(m);
      } else {
        m.setLatLng([s.lat, s.lon]);
        if (m._html !== html) {
          m.setIcon(L.divIcon({ className: 'track-icon', html, iconSize: [26, 26], iconAnchor: [13, 13] }));
          m._html = html;
        }
        m.setTooltipContent(tip);
      }
      const el = m.getElement();
      if (el) {
        el.dataset.track = s.id;
        el.dataset.cls = s.cls;
        el.style.opacity = s.age > 20 ? '0.6' : '1';
      }
    }
    for (const [id, m] of this.trackMarkers) {
      if (!seen.has(id)) { this.trackLayer.removeLayer(m); this.trackMarkers.delete(id); }
    }
    this.coneLayer.clearLayers();
    if (showCones) {
      for (const s of tracks) {
        if (!s.threat || !Array.isArray(s.cone) || s.cone.length < 3) continue;
        L.polygon(s.cone, {
          color: CLASS_COLOUR[s.cls] || CLASS_COLOUR.unknown, weight: 1.2, opacity: 0.8,
          dashArray: '5 4', fillOpacity: 0.05, interactive: false, className: 'cone',
        }).addTo(this.coneLayer);
      }
    }
  }

  /**
   * Sensors and their health. Fixed sensors only: observers are citizens' phones, whose
   * places are not for a public map and which are "silent" whenever they see nothing.
   */
  drawSensors(sensors) {
    this.sensors = sensors;
    this.sensorLayer.clearLayers();
    const fixed = sensors.filter((s) => s.kind !== 'observer' && s.lat != null && s.lon != null);
    const silent = fixed.filter((s) => s.silent);
    for (const s of fixed) {
      if (s.silent) continue;
      L.circleMarker([s.lat, s.lon], {
        renderer: this.canvas, radius: s.kind === 'radar' ? 4 : 1.5, stroke: false,
        fillColor: '#7fd1b9', fillOpacity: 0.55, interactive: false,
      }).addTo(this.sensorLayer);
    }
    // The coverage gap: each silent sensor's nominal coverage, dashed (when there are few
    // enough to tell apart; a whole network gone silent is said in the side panel instead).
    const many = silent.length > 300;
    if (!many) {
      for (const s of silent) {
        const r = s.gap?.radius_m ?? s.range_m ?? NOMINAL_RANGE_M[s.kind] ?? 0;
        if (r > 0) {
          L.circle(s.gap ? [s.gap.lat, s.gap.lon] : [s.lat, s.lon], {
            radius: r, color: '#ffb000', weight: 1.5, dashArray: '3 4', fillColor: '#ffb000',
            fillOpacity: 0.08, interactive: false, className: 'coverage-gap',
          }).addTo(this.sensorLayer);
        }
      }
    }
    // Silent sensors flagged on top: a ✕ with a tooltip, or amber dots on the canvas when
    // there are too many for one DOM element each.
    for (const s of silent) {
      if (many) {
        L.circleMarker([s.lat, s.lon], {
          renderer: this.canvas, radius: 1.5, stroke: false, fillColor: '#ffb000',
          fillOpacity: 0.45, interactive: false,
        }).addTo(this.sensorLayer);
        continue;
      }
      const last = s.last_seen ?? s.last_heartbeat;
      L.marker([s.lat, s.lon], {
        icon: L.divIcon({ className: 'sensor-silent', html: '<span>✕</span>', iconSize: [14, 14] }),
        keyboard: false,
      }).bindTooltip(`<b>${s.id}</b> — ${t(`kind_${s.kind}`)}<br><b>${t('silent_flag')}</b>`
        + (last != null ? `, ${t('sensor_last_seen', { time: fmtTime(Number(last)) })}` : ''))
        .addTo(this.sensorLayer);
    }
  }

  drawCities(cities) {
    this.cities = cities;
    this.cityLayer.clearLayers();
    const labelled = [];
    for (const c of cities) { // largest first
      const big = c.population >= 400000;
      // A big city's suburbs are listed as cities too: label only the first within ~20 km.
      const label = big && !labelled.some((o) => Math.abs(o.lat - c.lat) < 0.2 && Math.abs(o.lon - c.lon) < 0.3);
      if (label) labelled.push(c);
      const m = L.circleMarker([c.lat, c.lon], {
        radius: big ? 3.5 : 2, color: '#e6edf3', weight: 1, fillColor: '#e6edf3', fillOpacity: 1,
        className: 'city',
      });
      m.bindTooltip(label ? placeName(c) : `${placeName(c)} — ${t('population', { n: fmtNumber(c.population) })}`,
        label ? { permanent: true, direction: 'right', className: 'city-label', offset: [4, 0] } : {});
      m.addTo(this.cityLayer);
    }
  }

  show(layerName, on) {
    const layer = { tracks: this.trackLayer, cones: this.coneLayer, sensors: this.sensorLayer,
      cities: this.cityLayer }[layerName];
    if (!layer) return;
    if (on && !this.map.hasLayer(layer)) layer.addTo(this.map);
    if (!on && this.map.hasLayer(layer)) this.map.removeLayer(layer);
  }
}

// Nominal detection ranges of the simulator's sensor models (m), for a silent sensor's gap
// when the API does not give its range: acoustic 3.5 km (50 % range for a Shahed), radar
// 150 km, observers ~3 km by eye at night.
export const NOMINAL_RANGE_M = { acoustic: 3500, radar: 150000, observer: 3000, position: 0, adsb: 0 };
