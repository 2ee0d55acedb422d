"""A service run for alert areas of its own (a raion, a site around a substation): its regions
are those areas, and a restart uses the copy its event log keeps."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient
from servicekit import ADMIN, make_api

from airshield.server import feeder
from airshield.server.app import create_app
from airshield.server.settings import Settings

MID = datetime.fromisoformat("2025-10-01T19:30:00+00:00").timestamp()


def test_a_service_alerts_its_own_areas_and_keeps_them_across_a_restart(tmp_path, tiny_night, own_areas):
    client, api = make_api(tmp_path, tiny_night, regions=str(own_areas))
    try:
        feeder.feed(client, feeder.load_night(tiny_night), api.sensor_tokens, until=MID, heartbeat_s=None)
        rows = {r["id"]: r for r in client.get("/v1/regions").json()}
        geo = client.get("/v1/regions.geojson").json()
    finally:
        client.__exit__(None, None, None)
    assert set(rows) == {"UA-53", "UA-59", "UA59080000000000000", "sumy-substation"}
    assert (rows["sumy-substation"]["level"], rows["sumy-substation"]["parent"]) == ("site", "UA59080000000000000")
    assert rows["UA-59"]["state"] == "alert"  # drones over Sumy oblast at 19:30
    assert {f["properties"]["id"] for f in geo["features"]} == set(rows)

    # The file is gone, and the restart names the default regions: the log's areas are kept.
    own_areas.unlink()
    app = create_app(Settings(data_dir=tmp_path / "data", admin_token=ADMIN, clock="data", regions="default",
                              rate_per_s=None))
    with TestClient(app) as again:
        after = {r["id"]: r for r in again.get("/v1/regions").json()}
    assert {rid: (r["state"], r["alert_id"]) for rid, r in after.items()} == {
        rid: (r["state"], r["alert_id"]) for rid, r in rows.items()}


def test_a_service_runs_a_new_log_with_the_core_parameters_it_was_given(tmp_path, tiny_night):
    import json

    import pytest

    with pytest.raises(ValueError, match="no parameter 'nope'"):
        Settings(data_dir=tmp_path / "bad", config_overrides=("warning.nope=1",))
    client, api = make_api(tmp_path, tiny_night, config_overrides=("warning.lost_max_radius_m=100000",))
    try:
        meta = api.engine.call(lambda rt: rt.log.meta())  # on the engine's thread
    finally:
        client.__exit__(None, None, None)
    assert json.loads(meta["config"])["warning"]["lost_max_radius_m"] == 100000
