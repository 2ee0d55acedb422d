"""The live map in Debian's Chromium (Playwright) during a simulated night (issue #5's must-show).

The test starts the real service (data clock, so a night can be fed faster than
real time), opens the map, feeds the small `tiny` night (six drones over the
north-east) through ``POST /v1/ingest``, and checks what a duty officer sees:

* a region turns to the alert colour (and pattern) when its alert starts, and back
  to quiet after the all-clear, pushed by the SSE stream;
* clicking a region shows its alert reason and history; the language toggles to
  Ukrainian and back;
* the timeline replays the night: scrubbed back, the region is in alert again, and
  played from the start it goes quiet -> alert -> quiet.

Screenshots go to the test's tmp_path (the path is printed; ``-s`` shows it).
Chromium comes from Debian (``make chromium``); Playwright never downloads a browser.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
# As the machine's notes say: without the background-networking flags Chromium keeps trying
# to reach Google's hosts on a closed network.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
WEB = Path(__file__).resolve().parents[2] / "web"
ALERT_FILL = "url(#pat-alert)"
QUIET_FILL = "#1b2733"
# Reports per ingest request: 10 minutes of the night at a time.
BATCH_S = 600.0

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"Debian's Chromium is not installed ({CHROMIUM}): run `make chromium` "
    "(apt-get install -y chromium)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _epoch(s: str) -> float:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


@pytest.fixture(scope="module")
def night(tmp_path_factory) -> Path:
    """The `tiny` scenario simulated (seconds): reports.ndjson and sensors.ndjson."""
    from airshield.sim import load_scenario, simulate, write_night

    out = tmp_path_factory.mktemp("tiny")
    write_night(simulate(load_scenario("tiny")), out)
    return out


_LAUNCH = """
import sys, uvicorn
from airshield.server.app import create_app
from airshield.server.settings import Settings
port = int(sys.argv[2])
s = Settings.from_env(data_dir=sys.argv[1], clock="data", port=port, cap_status="Exercise",
                      rate_per_s=None, public_delay_s=0.0, base_url=f"http://127.0.0.1:{port}/")
uvicorn.run(create_app(s), host="127.0.0.1", port=port, log_level="warning")
"""


class Service:
    """The real service in a subprocess (data clock), with an admin token."""

    def __init__(self, data_dir: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin = secrets.token_urlsafe(32)
        env = {**os.environ, "AIRSHIELD_ADMIN_TOKEN": self.admin}
        self.log = open(data_dir.parent / "service.log", "wb")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen([sys.executable, "-c", _LAUNCH, str(data_dir), str(self.port)],
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.http = httpx.Client(base_url=self.url, timeout=60)
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.http.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the service did not start: see {self.log.name}")
            time.sleep(0.2)

    def stop(self) -> None:
        self.http.close()
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class Feeder:
    """Posts a night's reports to the service in arrival order, BATCH_S of the night at a time."""

    def __init__(self, service: Service, night_dir: Path):
        self.http = service.http
        sensors = [json.loads(line) for line in (night_dir / "sensors.ndjson").read_text().splitlines() if line]
        # A network without one position (the ADS-B feed) is registered at the theatre's centre
        # with no coverage of its own.
        body = {"name": "tiny-gateway", "sensors": [
            {"id": s["id"], "kind": s["kind"], "lat": s.get("lat") or 48.4, "lon": s.get("lon") or 31.2,
             "alt_m": s.get("alt_m") or 0.0, **({} if s.get("lat") is not None else {"range_m": 0})}
            for s in sensors]}
        r = self.http.post("/v1/sensors", json=body, headers={"Authorization": f"Bearer {service.admin}"})
        assert r.status_code == 201, r.text
        self.auth = {"Authorization": f"Bearer {r.json()['token']}"}
        lines = [line for line in (night_dir / "reports.ndjson").read_text().splitlines() if line]
        self.lines = [(_epoch(json.loads(line)["arrival"]), line) for line in lines]
        self.i = 0

    @property
    def done(self) -> bool:
        return self.i >= len(self.lines)

    def feed_batch(self) -> float:
        """Post the next BATCH_S of reports; returns the arrival time of the last one."""
        t0 = self.lines[self.i][0]
        j = self.i
        while j < len(self.lines) and self.lines[j][0] < t0 + BATCH_S:
            j += 1
        body = "\n".join(line for _, line in self.lines[self.i:j]) + "\n"
        r = self.http.post("/v1/ingest", content=body.encode(),
                           headers={**self.auth, "Content-Type": "application/x-ndjson"})
        assert r.status_code == 200, r.text
        assert not r.json()["rejected"], r.json()["rejected"][:3]
        self.i = j
        return self.lines[j - 1][0]

    def feed_until(self, done) -> dict[str, str]:
        """Feed batches until `done(states)` (region -> state, from GET /v1/regions) holds."""
        while True:
            states = {r["id"]: r["state"] for r in self.http.get("/v1/regions").json()}
            if done(states):
                return states
            assert not self.done, f"the night ended before the condition held: {states}"
            self.feed_batch()


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    if not (WEB / "node_modules" / "leaflet").is_dir():
        pytest.fail("the map's front-end packages are not installed: run `make web`")
    svc = Service(tmp_path_factory.mktemp("service") / "data")
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _state(page, region: str) -> str | None:
    return page.get_attribute(f"path[data-region='{region}']", "data-state")


def _fill(page, region: str) -> str | None:
    return page.get_attribute(f"path[data-region='{region}']", "fill")


def test_the_map_follows_a_simulated_night_and_replays_it(service, night, browser, tmp_path):
    shots = tmp_path / "screenshots"
    shots.mkdir()
    print(f"\nmap screenshots: {shots}")
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="en-GB")
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script("localStorage.setItem('airshield.lang', 'en')")

    # Before the night: every region quiet.
    feeder = Feeder(service, night)
    page.goto(service.url + "/")
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=20_000)
    regions = page.eval_on_selector_all("path[data-region]", "els => els.map(e => e.dataset.region)")
    assert len(regions) >= 20, "the region outlines are drawn (one path per oblast)"
    assert set(page.eval_on_selector_all("path[data-region]", "els => els.map(e => e.dataset.state)")) == {"quiet"}
    # Record every state change the page paints, to check the order later.
    page.evaluate("""() => {
        window.__changes = [];
        new MutationObserver(ms => { for (const m of ms) window.__changes.push(
            [m.target.dataset.region, m.target.dataset.state, document.body.dataset.mode]); })
          .observe(document.querySelector('#map'), {subtree: true, attributeFilter: ['data-state']});
    }""")

    # The night goes on until a region is in alert: the stream turns it to the alert colour.
    states = feeder.feed_until(lambda s: "alert" in s.values())
    region = sorted(r for r, s in states.items() if s == "alert")[0]
    page.wait_for_function(
        f"document.querySelector(\"path[data-region='{region}']\")?.dataset.state === 'alert'", timeout=10_000)
    assert _fill(page, region) == ALERT_FILL
    assert page.locator(f".badge[data-badge='{region}']").inner_text().strip().endswith("ALERT")
    page.screenshot(path=str(shots / "1-alert.png"))

    # Click the region: its alert reason and history.
    page.locator(f"path[data-region='{region}']").click(force=True)
    body = page.locator("#region-body")
    assert body.get_attribute("data-region") == region
    assert body.locator(".state-name").inner_text() == "Air raid alert"
    rule = body.locator(".reason .rule")
    assert rule.get_attribute("data-rule") in ("threat-inside", "eta-within-lead")
    assert "threat" in rule.inner_text().lower()
    assert body.locator(".hist-item.ev-alert").count() >= 1
    page.screenshot(path=str(shots / "2-region-reason.png"))

    # Ukrainian: every label changes, the region's too.
    page.click("#lang")
    assert page.locator("html").get_attribute("lang") == "uk"
    assert body.locator(".state-name").inner_text() == "Повітряна тривога"
    assert page.locator("#lang").inner_text() == "ENG"
    assert page.locator(f".badge[data-badge='{region}']").inner_text().strip().endswith("ТРИВОГА")
    assert page.locator("#play").inner_text().endswith("Відтворити")
    page.screenshot(path=str(shots / "3-ukrainian.png"))
    page.click("#lang")
    assert body.locator(".state-name").inner_text() == "Air raid alert"

    # The night goes on until every region is quiet again: the all-clear reaches the map.
    alert_started = page.evaluate(f"window.airshieldMap.night.regionAt('{region}', null).since")
    feeder.feed_until(lambda s: set(s.values()) == {"quiet"})
    page.wait_for_function(
        f"document.querySelector(\"path[data-region='{region}']\")?.dataset.state === 'quiet'", timeout=10_000)
    assert _fill(page, region) == QUIET_FILL
    assert body.locator(".hist-item.ev-all_clear").count() >= 1
    page.screenshot(path=str(shots / "4-all-clear.png"))
    live = [(r, s) for r, s, mode in page.evaluate("window.__changes") if r == region and mode == "live"]
    assert ("alert" in [s for _, s in live]) and live[-1][1] == "quiet", live

    # The timeline: scrubbed back to a minute after the alert began, the region is in alert again.
    page.evaluate("""t => { const s = document.querySelector('#scrub');
        s.value = String(Math.round(t)); s.dispatchEvent(new Event('input')); }""", alert_started + 60)
    assert page.locator("#mode").inner_text() == "REPLAY"
    assert _state(page, region) == "alert"
    assert _fill(page, region) == ALERT_FILL
    page.screenshot(path=str(shots / "5-replay.png"))

    # Played from the start of the night at 3600x: quiet, then alert, then quiet, then live again.
    page.click("#live")
    page.select_option("#speed", "3600")
    page.evaluate("window.__changes = []")
    page.click("#play")
    page.wait_for_function("document.body.dataset.mode === 'live'", timeout=30_000)
    replayed = [s for r, s, mode in page.evaluate("window.__changes") if r == region and mode == "replay"]
    assert replayed[:1] == ["quiet"] and "alert" in replayed, replayed
    assert _state(page, region) == "quiet"
    page.screenshot(path=str(shots / "6-live-again.png"))

    assert not errors, errors
    page.close()


def test_the_map_page_says_how_to_install_its_packages_when_they_are_missing(tmp_path, monkeypatch):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from airshield.server import web

    public = tmp_path / "web" / "public"
    public.mkdir(parents=True)
    shutil.copy(WEB / "public" / "index.html", public / "index.html")
    monkeypatch.setenv("AIRSHIELD_WEB_DIR", str(tmp_path / "web"))
    app = FastAPI()
    web.mount(app)
    r = TestClient(app).get("/")
    assert r.status_code == 503
    assert "make web" in r.text and "node_modules" in r.text
