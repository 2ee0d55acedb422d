"""The live map in Debian's Chromium (Playwright) during a simulated night (issue #5's must-show).

The test starts the real service (data clock, so a night can be fed faster than
real time), opens the map, feeds the small `tiny` night (six drones over the
north-east) through ``POST /v1/ingest``, and checks what a duty officer sees:

* a region turns to the alert colour (and pattern) when its alert starts, and back
  to quiet after the all-clear, pushed by the SSE stream;
* clicking a region shows its alert reason and history; the language toggles to
  Ukrainian and back;
* the timeline replays the night: scrubbed back, the region is in alert again, and
  played from the start it goes quiet -> alert -> quiet; a page opened after the night
  replays it too, threats included.

Screenshots go to the test's tmp_path (the path is printed; ``-s`` shows it).
Chromium comes from Debian (``make chromium``); Playwright never downloads a browser.
"""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import pytest
from servicekit import start_service

from airshield.server import feeder

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
# The night is fed 10 minutes at a time, the map checked in between.
BATCH_S = 600.0

needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"Debian's Chromium is not installed ({CHROMIUM}): run `make chromium` "
    "(apt-get install -y chromium)",
)


def _slices(night: feeder.Night, slice_s: float = BATCH_S):
    """The night cut into consecutive parts of `slice_s` of arrival time (aligned to the step)."""
    i, n = 0, len(night)
    while i < n:
        k = math.floor(night.arrival[i] / slice_s)
        j = i
        while j < n and math.floor(night.arrival[j] / slice_s) == k:
            j += 1
        yield feeder.Night(night.sensors, night.lines[i:j], night.arrival[i:j], night.sensor[i:j])
        i = j


def _feed_until(service, parts, done) -> dict[str, str]:
    """Feed parts of the night until `done(states)` (region -> state, GET /v1/regions) holds."""
    with service.client() as c:
        while True:
            states = {r["id"]: r["state"] for r in c.get("/v1/regions").json()}
            if done(states):
                return states
            part = next(parts, None)
            assert part is not None, f"the night ended before the condition held: {states}"
            stats = service.feed(part)
            assert stats.rejected == 0


@pytest.fixture
def map_service(service):
    """The service (conftest.py: a subprocess, data clock, the tiny night's sensors registered)."""
    if not (WEB / "node_modules" / "leaflet").is_dir():
        pytest.fail("the map's front-end packages are not installed: run `make web`")
    return service


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _open_point(page, region: str) -> tuple[float, float]:
    """A point of the page where the region's outline is the topmost element (no marker on it)."""
    xy = page.evaluate("""id => {
        const el = document.querySelector(`path[data-region='${id}']`);
        const b = el.getBoundingClientRect();
        for (let i = 1; i < 20; i++) for (let j = 1; j < 20; j++) {
            const x = b.left + b.width * i / 20, y = b.top + b.height * j / 20;
            if (document.elementFromPoint(x, y) === el) return [x, y];
        }
        return null; }""", region)
    assert xy, f"no visible point of {region} to click"
    return xy[0], xy[1]


def _state(page, region: str) -> str | None:
    return page.get_attribute(f"path[data-region='{region}']", "data-state")


def _fill(page, region: str) -> str | None:
    return page.get_attribute(f"path[data-region='{region}']", "fill")


@needs_chromium
def test_the_map_follows_a_simulated_night_and_replays_it(map_service, tiny_feed, browser, tmp_path):
    service = map_service
    shots = tmp_path / "screenshots"
    shots.mkdir()
    print(f"\nmap screenshots: {shots}")
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="en-GB")
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script("localStorage.setItem('airshield.lang', 'en')")

    # Before the night: every region quiet.
    parts = _slices(tiny_feed)
    page.goto(service.url + "/")
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=20_000)
    regions = page.eval_on_selector_all("path[data-region]", "els => els.map(e => e.dataset.region)")
    assert len(regions) >= 20, "the region outlines are drawn (one path per oblast)"
    credit = page.locator(".leaflet-control-attribution").inner_text()
    assert re.search(r"Regions: (Natural Earth|geoBoundaries)", credit) and "GeoNames" in credit, credit
    assert set(page.eval_on_selector_all("path[data-region]", "els => els.map(e => e.dataset.state)")) == {"quiet"}
    # Record every state change the page paints, to check the order later.
    page.evaluate("""() => {
        window.__changes = [];
        new MutationObserver(ms => { for (const m of ms) window.__changes.push(
            [m.target.dataset.region, m.target.dataset.state, document.body.dataset.mode]); })
          .observe(document.querySelector('#map'), {subtree: true, attributeFilter: ['data-state']});
    }""")

    # The night goes on until a region is in alert: the stream turns it to the alert colour.
    states = _feed_until(service, parts, lambda s: "alert" in s.values())
    region = sorted(r for r, s in states.items() if s == "alert")[0]
    page.wait_for_function(
        f"document.querySelector(\"path[data-region='{region}']\")?.dataset.state === 'alert'", timeout=10_000)
    assert _fill(page, region) == ALERT_FILL
    assert page.locator(f".badge[data-badge='{region}']").inner_text().strip().endswith("ALERT")
    page.screenshot(path=str(shots / "1-alert.png"))

    # Click the region: its alert reason and history.
    x, y = _open_point(page, region)
    page.mouse.click(x, y)
    body = page.locator("#region-body")
    assert body.get_attribute("data-region") == region
    assert body.locator(".state-name").inner_text() == "Air raid alert"
    rule = body.locator(".reason .rule")
    # The latest event's rule (the alert's first, or an update's "changed"), in words.
    assert rule.get_attribute("data-rule") in ("threat-inside", "eta-within-lead", "changed", "refresh")
    assert rule.inner_text() and not rule.inner_text().startswith("rule_")
    assert "Drone (Shahed type)" in body.locator(".reason").inner_text()
    assert body.locator(".hist-item.ev-alert").count() >= 1
    # The clicked point itself: when a threat may come within 5 km of it (GET /v1/concern).
    here = body.locator(".here")
    here.wait_for(timeout=10_000)
    text = here.inner_text()
    assert text.startswith("At the point you clicked: ")
    assert ("no threat is expected within 5 km" in text or "may be within 5 km now" in text
            or "may come within 5 km in less than a minute" in text
            or re.search(r"may come within 5 km in ([1-9]\d* min|[6-8]\d s) at the earliest", text)), text
    page.screenshot(path=str(shots / "2-region-reason.png"))

    # The keyboard does the same: a region outline takes focus, Enter opens it.
    page.click("#region-close")
    page.focus(f"path[data-region='{region}']")
    page.keyboard.press("Enter")
    assert body.get_attribute("data-region") == region and page.locator("#region-panel").is_visible()

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

    # The service is killed (-9) and restarted mid-night: the page's EventSource reconnects and
    # resumes after the last event id it saw (Last-Event-ID), so it misses nothing.
    alert_started = page.evaluate(f"window.airshieldMap.night.regionAt('{region}', null).since")
    seen_before = page.evaluate("window.airshieldMap.lastEventId")
    service.restart()
    # The night goes on until every region is quiet again: the all-clear reaches the map.
    _feed_until(service, parts, lambda s: set(s.values()) == {"quiet"})
    page.wait_for_function(
        f"document.querySelector(\"path[data-region='{region}']\")?.dataset.state === 'quiet'", timeout=10_000)
    assert _fill(page, region) == QUIET_FILL
    assert body.locator(".hist-item.ev-all_clear").count() >= 1
    page.screenshot(path=str(shots / "4-all-clear.png"))
    # Every alert event of the night, once: the page's (history at load + stream) is the service's.
    with service.client() as c:
        history, cursor = [], 0
        while cursor is not None:
            page_ = c.get("/v1/alerts/history", params={"cursor": cursor, "limit": 1000}).json()
            history += page_["items"]
            cursor = page_["next_cursor"]
    page.wait_for_function(f"window.airshieldMap.lastEventId >= {history[-1]['id']}", timeout=10_000)
    assert page.evaluate("window.airshieldMap.lastEventId") > seen_before
    on_page = page.evaluate("[...window.airshieldMap.night.eventKeys.keys()]")
    assert sorted(on_page) == sorted(f"{e['alert_id']}#{e['seq']}" for e in history)
    live = [(r, s) for r, s, mode in page.evaluate("window.__changes") if r == region and mode == "live"]
    assert ("alert" in [s for _, s in live]) and live[-1][1] == "quiet", live

    # The timeline: scrubbed back to a minute after the alert began, the region is in alert again.
    page.evaluate("""t => { const s = document.querySelector('#scrub');
        s.value = String(Math.round(t)); s.dispatchEvent(new Event('input')); }""", alert_started + 60)
    assert page.locator("#mode").inner_text() == "REPLAY"
    assert _state(page, region) == "alert"
    assert _fill(page, region) == ALERT_FILL
    # with the threat behind the alert where it was then (tracks the page saw, or the alert's reason)
    assert page.locator(".track-icon[data-cls='drone']").count() >= 1
    page.screenshot(path=str(shots / "5-replay.png"))

    # Scrubbed to the start of the night: quiet. Played from there at 3600x: alert, then quiet,
    # then the map is live again.
    page.evaluate("""() => { const s = document.querySelector('#scrub');
        s.value = s.min; s.dispatchEvent(new Event('input')); }""")
    assert _state(page, region) == "quiet"
    page.select_option("#speed", "3600")
    page.evaluate("window.__changes = []")
    page.click("#play")
    page.wait_for_function("document.body.dataset.mode === 'live'", timeout=30_000)
    changes = [(s, mode) for r, s, mode in page.evaluate("window.__changes") if r == region]
    # (The last step to quiet may be the replay's or the live view's, as the night ends there.)
    assert ("alert", "replay") in changes and changes[-1][0] == "quiet", changes
    assert _state(page, region) == "quiet"
    page.screenshot(path=str(shots / "6-live-again.png"))

    # A page opened after the night replays it too: the regions from the alert history, the
    # threats from the alerts' reasons.
    late = browser.new_page(viewport={"width": 1400, "height": 900}, locale="en-GB")
    late.on("pageerror", lambda e: errors.append(str(e)))
    late.goto(service.url + "/")
    late.wait_for_function("document.body.dataset.ready === '1'", timeout=20_000)
    assert _state(late, region) == "quiet"
    late.evaluate("t => window.airshieldMap.setReplayTime(t)", alert_started + 60)
    assert _state(late, region) == "alert"
    assert late.locator(".track-icon[data-cls='drone']").count() >= 1
    late.screenshot(path=str(shots / "7-opened-late-replay.png"))

    assert not errors, errors
    late.close()
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


def test_the_map_draws_cities_with_their_ukrainian_names(tmp_path):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from airshield.server import web

    app = FastAPI()
    web.mount(app)
    cities = TestClient(app).get("/map/cities.json").json()
    kyiv = next(c for c in cities if c["name"] == "Kyiv")
    assert kyiv["name_uk"] == "Київ" and abs(kyiv["lat"] - 50.45) < 0.1
    assert all(c["population"] >= web.CITY_MIN_POPULATION for c in cities)



def _drawn_over(page, upper: str, lower: str) -> bool:
    """Whether region ``upper``'s outline is drawn over ``lower``'s (later in the same SVG)."""
    return page.evaluate("""([a, b]) => {
        const q = id => document.querySelector(`path[data-region='${id}']`);
        return Boolean(q(b).compareDocumentPosition(q(a)) & Node.DOCUMENT_POSITION_FOLLOWING); }""", [upper, lower])


@needs_chromium
def test_nested_areas_of_your_own_stay_visible_and_clickable_over_their_oblast(tmp_path, tiny_night, own_areas,
                                                                              tiny_feed, browser):
    import json

    if not (WEB / "node_modules" / "leaflet").is_dir():
        pytest.fail("the map's front-end packages are not installed: run `make web`")
    # A site whose id sorts before its oblast's ("Sumy-TPP" < "UA-59"), listed first in the
    # file: the map must still draw it over the oblast, or the oblast's fill hides the site's
    # alert and takes its clicks.
    doc = json.loads(own_areas.read_text(encoding="utf-8"))
    doc["features"].reverse()
    doc["features"][0]["properties"]["id"] = site = "Sumy-TPP"
    own_areas.write_text(json.dumps(doc), encoding="utf-8")
    raion = "UA59080000000000000"
    service = start_service(tmp_path, tiny_night, "--regions", str(own_areas))
    errors: list[str] = []
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="en-GB")
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.add_init_script("localStorage.setItem('airshield.lang', 'en')")
        page.goto(service.url + "/")
        page.wait_for_function("document.body.dataset.ready === '1'", timeout=20_000)
        drawn = set(page.eval_on_selector_all("path[data-region]", "els => els.map(e => e.dataset.region)"))
        assert drawn == {"UA-53", "UA-59", raion, site}
        assert "Regions: test areas" in page.locator(".leaflet-control-attribution").inner_text()
        assert _drawn_over(page, site, raion) and _drawn_over(page, site, "UA-59")
        assert _drawn_over(page, raion, "UA-59")

        # Drones reach Sumy: the site's own alert shows, over the oblast's.
        _feed_until(service, _slices(tiny_feed), lambda s: s.get(site) == "alert")
        page.wait_for_function(
            f"document.querySelector(\"path[data-region='{site}']\")?.dataset.state === 'alert'", timeout=10_000)
        assert _fill(page, site) == ALERT_FILL

        # Selecting the oblast outlines it, and the areas inside it stay on top and clickable.
        page.mouse.click(*_open_point(page, "UA-59"))
        assert page.locator("#region-body").get_attribute("data-region") == "UA-59"
        assert _drawn_over(page, site, "UA-59") and _drawn_over(page, raion, "UA-59")
        page.mouse.click(*_open_point(page, site))
        body = page.locator("#region-body")
        assert body.get_attribute("data-region") == site
        assert body.locator(".state-name").inner_text() == "Air raid alert"
        here = body.locator(".here")
        here.wait_for(timeout=10_000)
        assert " in 0 s " not in here.inner_text()
        page.screenshot(path=str(tmp_path / "own-areas.png"))
        assert not errors, errors
        page.close()
    finally:
        service.kill()


def _step_clock(service, seconds: float = 10.0) -> None:
    """Move the data clock on (admin), so that the next step applies what a duty officer sent."""
    with service.client(service.admin) as c:
        now = c.get("/v1/clock").json()["now"]
        assert c.post("/v1/clock", json={"now": now + seconds}).status_code == 200


def _sign_in(page, token: str, role: str) -> None:
    page.fill("#token", token)
    page.click("#sign-in button[type=submit]")
    page.wait_for_function(f"document.body.dataset.role === '{role}'")


def _command(page, action: str, reason: str) -> None:
    """A duty officer's command from the region's panel, and the service's acceptance of it."""
    page.fill("#act-reason", reason)
    page.click(f"#region-act button[data-action={action}]")
    page.wait_for_selector("#act-result[data-ok=true]")


def _wait_state(page, region: str, state: str) -> None:
    page.wait_for_function(f"document.querySelector(\"path[data-region='{region}']\").dataset.state === '{state}'",
                           timeout=15_000)


@needs_chromium
def test_a_duty_officer_signs_in_on_the_map_and_raises_and_cancels_an_alert_with_a_reason(
        map_service, tiny_feed, browser, tmp_path):
    service = map_service
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="en-GB")
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script("localStorage.setItem('airshield.lang', 'en')")
    parts = _slices(tiny_feed)
    with service.client(service.viewer) as c:  # the night has begun: the data clock runs, drones fly
        while not c.get("/v1/tracks").json():
            service.feed(next(parts))
    page.goto(service.url + "/")
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=20_000)
    region = "UA-46"  # Lviv: far from the tiny night's drones, quiet all night
    assert _state(page, region) == "quiet"

    # The public page has the sign-in, and no commands in a region's panel.
    page.mouse.click(*_open_point(page, region))
    page.wait_for_selector("#region-panel:not([hidden])")
    assert page.locator("#region-act").is_hidden()
    assert page.get_attribute("body", "data-role") == "public"
    # Where the sensors listen is for duty officers (the service does not publish them).
    page.wait_for_selector("#sensor-summary li[data-hidden=true]")

    # A wrong token is refused, saying why; a viewer signs in but may not give commands.
    page.fill("#token", "as_not-a-token")
    page.click("#sign-in button[type=submit]")
    page.wait_for_selector("#sign-in-error:not([hidden])")
    assert "Not signed in" in page.inner_text("#sign-in-error")
    _sign_in(page, service.viewer, "viewer")
    assert "analyst" in page.inner_text("#signed-in-as")
    page.wait_for_selector("#sensor-summary li[data-kind=acoustic]")
    assert page.locator("#region-act").is_hidden()
    page.click("#sign-out")
    page.wait_for_function("document.body.dataset.role === 'public'")

    # A duty officer signs in; the region's panel now has the commands and the audit trail.
    _sign_in(page, service.operator, "operator")
    page.wait_for_selector("#region-act:not([hidden]) button[data-action=alert]")
    page.wait_for_selector("#region-audit:not([hidden])")
    # Enter in a field sends nothing and keeps what was typed (the form is never submitted).
    page.fill("#act-reason", "half-typed")
    page.press("#act-minutes", "Enter")
    page.wait_for_timeout(300)
    assert page.input_value("#act-reason") == "half-typed" and page.url.rstrip("/") == service.url
    page.fill("#act-reason", "")
    # A command without a reason is not sent.
    page.click("#region-act button[data-action=alert]")
    page.wait_for_selector("#act-result[data-ok=false]")
    assert "reason is required" in page.inner_text("#act-result")
    page.fill("#act-minutes", "20")
    _command(page, "alert", "drill: regional administration's request")
    _step_clock(service)
    _wait_state(page, region, "alert")
    page.wait_for_selector("#region-audit li[data-action=raise][data-outcome=applied]", timeout=20_000)
    assert "drill: regional administration" in page.inner_text("#region-audit")
    # The stream carries the alert as the token may see it: who acted and why, for an operator.
    page.wait_for_selector("#region-body .operator")
    assert "duty-officer" in page.inner_text("#region-body .operator")
    page.screenshot(path=str(tmp_path / "duty-officer.png"))

    # ... and cancels it, with a reason: the region is quiet again.
    _command(page, "cancel", "drill over")
    _step_clock(service)
    _wait_state(page, region, "quiet")
    with service.client(service.operator) as c:
        audit = c.get("/v1/audit", params={"region": region}).json()["items"]
    assert [(a["action"], a["user"], a["outcome"]) for a in audit] == [
        ("raise", "duty-officer", "applied"), ("cancel", "duty-officer", "applied")]
    # Signed out, the page is the public's again: the history's reasons without the name, and
    # no track state the token saw (exact, undelayed) left for the timeline.
    seen = page.evaluate("Math.max(0, ...[...window.airshieldMap.night.tracks.values()].map(l => l.length))")
    page.click("#sign-out")
    page.wait_for_function("document.body.dataset.role === 'public'")
    assert seen > 0
    page.wait_for_function("[...window.airshieldMap.night.tracks.values()].every(l => l.every(s => s.alt_m == null))")
    page.wait_for_function("!document.querySelector('#region-body').innerText.includes('duty-officer')")
    assert page.locator("#region-act").is_hidden()
    # A token revoked while the page is open: its stream ends, and the page signs out by itself.
    _sign_in(page, service.viewer, "viewer")
    with service.client(service.admin) as c:
        assert c.delete("/v1/operators/analyst", params={"role": "viewer"}).json()["revoked"] == 1
    page.wait_for_function("document.body.dataset.role === 'public'", timeout=40_000)
    assert not errors, errors


@needs_chromium
def test_a_person_asks_whether_there_is_an_alert_where_they_are(map_service, tiny_feed, browser, tmp_path):
    # The public's page (/here): their place by the browser's geolocation or a city, the state
    # of its area large, what to do, and how soon a threat may come near; in both languages; and
    # "not known", never an old answer, when the service does not answer.
    service = map_service
    _feed_until(service, _slices(tiny_feed), lambda states: states.get("UA-59") == "alert")
    ctx = browser.new_context(viewport={"width": 420, "height": 860}, locale="en-GB",
                              geolocation={"latitude": 50.9077, "longitude": 34.7981})
    errors: list[str] = []
    asked: list[str] = []
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: asked.append(r.url) if "/v1/concern" in r.url else None)
    page.add_init_script("localStorage.setItem('airshield.lang', 'en')")
    page.goto(service.url + "/here")
    page.wait_for_function("document.body.dataset.ready === '1'")
    assert page.inner_text("#state") == "Choose where you are"

    ctx.grant_permissions(["geolocation"])
    page.click("#locate")  # Sumy, where the tiny night's drones are
    page.wait_for_function("document.body.dataset.state === 'alert'", timeout=15_000)
    assert page.inner_text("#state") == "Air raid alert"
    assert "shelter" in page.inner_text("#advice")
    assert "Sumy" in page.inner_text("#place")
    # In an alert the page never says no threat is expected (the public picture is a minute old).
    assert not page.inner_text("#near").startswith("No threat")
    assert page.title().startswith("Air raid alert")
    # The position leaves the page rounded to ~1 km.
    assert asked and all(re.search(r"lat=\d+\.\d{2}&lon=\d+\.\d{2}$", u) for u in asked), asked
    page.screenshot(path=str(tmp_path / "here-alert.png"))

    page.click("#lang")
    page.wait_for_function("document.querySelector('#state').textContent === 'Повітряна тривога'")
    assert "укрит" in page.inner_text("#advice") and "Зона тривоги" in page.inner_text("#place")
    page.click("#lang")

    # The service stops answering: once the last answer is too old, "not known", not "alert" or
    # "no alert" from memory.
    page.route("**/v1/concern*", lambda route: route.abort())
    page.evaluate("window.airshieldHere.st.answeredAt = Date.now() - 60000; window.airshieldHere.ask()")
    page.wait_for_function("document.body.dataset.state === 'unknown'", timeout=10_000)
    assert page.inner_text("#state") == "Status not known" and "siren" in page.inner_text("#advice")
    assert page.inner_text("#place") == "" and page.inner_text("#near") == ""
    page.unroute("**/v1/concern*")

    # A city far from the drones: no alert there. The city is remembered on reload.
    lviv = page.eval_on_selector("#city", "s => [...s.options].find(o => o.textContent === 'Lviv').value")
    page.select_option("#city", lviv)
    page.wait_for_function("document.body.dataset.state === 'quiet'", timeout=15_000)
    assert page.inner_text("#state") == "No alert"
    assert "Lviv" in page.inner_text("#place")
    assert page.inner_text("#near").startswith("No threat is expected within 5 km")
    page.reload()
    page.wait_for_function("document.body.dataset.state === 'quiet'", timeout=15_000)
    assert "Lviv" in page.inner_text("#place")
    assert not errors, errors
    ctx.close()
