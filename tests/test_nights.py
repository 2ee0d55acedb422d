"""Whole nights through the whole pipeline: every CAP message of night-40 and record-810 is valid.

Issue #4: "Every CAP message produced on both scenarios validates against the
schema and the extra checks". These are the slowest tests (about a minute and
a half together: record-810 is 843 objects over a night); they run the same
code as ``airshield run``.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from lxml import etree

from airshield.alerting.cap import cap_path, message_identifier
from airshield.alerting.cap_check import check_chains, validate
from airshield.geo import load_regions
from airshield.runtime import run_file
from airshield.sim import load_scenario, simulate, write_night
from airshield.sources.ndjson import read_reports


def _night(name: str, tmp: Path) -> Path:
    write_night(simulate(load_scenario(name)), tmp)
    reports, errors = read_reports(tmp / "reports.ndjson")
    assert not errors
    # Status Actual, as a user runs it: an Exercise adds a line to every description,
    # which once hid an empty one.
    run_file(reports, load_regions(), tmp / "run")
    return tmp / "run"


@pytest.fixture(scope="module", params=["night-40", "record-810"])
def night_run(request, tmp_path_factory):
    return _night(request.param, tmp_path_factory.mktemp(request.param))


def test_every_cap_message_validates_against_the_schema_and_the_extra_checks(night_run):
    alerts = [msgspec.json.decode(line) for line in (night_run / "alerts.ndjson").read_bytes().splitlines()]
    assert len(alerts) > 50
    messages = []
    for a in alerts:
        path = night_run / cap_path(message_identifier(a["alert_id"], a["seq"]))
        xml = path.read_bytes()
        problems = validate(xml)
        assert problems == [], (path.name, problems[:5])
        messages.append(xml)
    assert check_chains(messages) == []
    assert len(list((night_run / "cap").iterdir())) == len(alerts)


def test_every_alert_ends_with_an_all_clear_and_the_feed_lists_what_still_runs(night_run):
    alerts = [msgspec.json.decode(line) for line in (night_run / "alerts.ndjson").read_bytes().splitlines()]
    open_chains: dict[str, str] = {}
    for a in alerts:
        if a["seq"] == 0:
            open_chains[a["alert_id"]] = a["region"]
        if a["event"] in ("all_clear", "pre_alert_end"):
            open_chains.pop(a["alert_id"])
    # The night runs on until every region is quiet: nothing is left hanging.
    assert open_chains == {}
    feed = etree.fromstring((night_run / "alerts.atom").read_bytes())
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert feed.tag == "{http://www.w3.org/2005/Atom}feed"
    assert feed.findall("a:entry", ns) == []
