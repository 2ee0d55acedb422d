"""The official alert history (real data, ../shared/data/alerts) and the alert statistics shared with our runs."""

from __future__ import annotations

import pytest

from airshield.evaluation import AlertInterval, EvaluationInputError
from airshield.evaluation.official import (
    OFFICIAL_OBLAST_ISO,
    alert_statistics,
    history_path,
    in_nights,
    night_of,
    place_nights,
    raid_nights,
    read_official_alerts,
)
from airshield.geo.names_uk import OBLASTS

HEADER = "oblast,raion,hromada,level,started_at,finished_at,source\n"


@pytest.fixture(scope="module")
def oblast_alerts():
    return read_official_alerts(history_path())


def test_official_oblast_alerts_last_a_median_40_min_and_restart_within_10_min_in_under_4_percent(oblast_alerts):
    # domain.md: "Oblast alerts last a median ~40 min (90th percentile ~128-145 min);
    # 3.6 % of repeat alerts at the same place start within 10 min of the previous all-clear".
    s = alert_statistics(oblast_alerts.alerts)
    assert s["alerts"] == 36_537 - oblast_alerts.open_ended
    assert oblast_alerts.problems == []
    assert 38.0 <= s["duration_median_min"] <= 41.0
    assert 125.0 <= s["duration_p90_min"] <= 145.0
    assert 0.03 <= s["restart_share"] <= 0.04


def test_every_official_oblast_is_one_of_our_regions(oblast_alerts):
    alerts = oblast_alerts.alerts
    assert set(alerts) <= set(OBLASTS)
    assert set(OFFICIAL_OBLAST_ISO.values()) <= set(OBLASTS)
    assert len(alerts) == 25  # every oblast and Kyiv; no alerts in occupied Crimea and Sevastopol


def test_raion_and_hromada_alerts_keep_their_names_and_the_one_swapped_line_is_named():
    got = read_official_alerts(history_path(), levels=("raion", "hromada"))
    assert all(" / " in place for place in got.alerts)
    assert len(got.problems) == 1 and ":18: unknown oblast 'Lubenskyi raion'" in got.problems[0]
    assert sum(len(v) for v in got.alerts.values()) + got.open_ended == 897 + 5597 - 1


def test_restarts_count_repeat_alerts_that_start_soon_after_the_all_clear():
    a = {"X": [AlertInterval("X", 0, 600), AlertInterval("X", 900, 1500), AlertInterval("X", 3000, 3600)],
         "Y": [AlertInterval("Y", 0, 1200)]}
    s = alert_statistics(a)
    assert s["alerts"] == 4 and s["repeats"] == 2 and s["restarts"] == 1 and s["restart_share"] == 0.5
    assert s["duration_median_min"] == 10.0
    # an open alert counts in the durations only when the run's end is known
    open_ = {"X": [AlertInterval("X", 0, None)]}
    assert alert_statistics(open_)["duration_median_min"] is None
    assert alert_statistics(open_, t_end=1800)["duration_median_min"] == 30.0
    assert alert_statistics({})["restart_share"] is None


@pytest.mark.parametrize("row, problem", [
    ("Kyivska oblast,,,oblast,2024-01-01 10:00:00,2024-01-01 11:00:00+00:00,official", "has no UTC offset"),
    ("Kyivska oblast,,,oblast,yesterday,2024-01-01 11:00:00+00:00,official", "is not an ISO 8601 time"),
    ("Atlantis,,,oblast,2024-01-01 10:00:00+00:00,2024-01-01 11:00:00+00:00,official", "unknown oblast"),
    ("Kyivska oblast,,,village,2024-01-01 10:00:00+00:00,2024-01-01 11:00:00+00:00,official", "unknown level"),
    ("Kyivska oblast,,,oblast,2024-01-01 12:00:00+00:00,2024-01-01 11:00:00+00:00,official", "before it starts"),
])
def test_a_bad_history_line_is_named_and_the_good_lines_are_kept(tmp_path, row, problem):
    good = "Kyivska oblast,,,oblast,2024-01-01 08:00:00+00:00,2024-01-01 09:00:00+00:00,official\n"
    f = tmp_path / "alerts.csv"
    f.write_text(HEADER + good + row + "\n" + good.replace("Kyivska", "Lvivska"), encoding="utf-8")
    got = read_official_alerts(f)
    assert list(got.alerts) == ["UA-32", "UA-46"]
    assert len(got.problems) == 1 and "alerts.csv:3: " in got.problems[0] and problem in got.problems[0]


def test_an_alert_without_an_end_is_left_out_and_counted(tmp_path):
    f = tmp_path / "alerts.csv"
    f.write_text(HEADER + "Kyivska oblast,,,oblast,2024-01-01 08:00:00+00:00,2024-01-01 09:00:00+00:00,official\n"
                 "Lvivska oblast,,,oblast,2024-01-01 08:00:00+00:00,,official\n", encoding="utf-8")
    got = read_official_alerts(f)
    assert list(got.alerts) == ["UA-32"] and got.open_ended == 1 and got.problems == []


def test_a_truncated_history_line_is_named_not_counted_as_open(tmp_path):
    f = tmp_path / "alerts.csv"
    f.write_text(HEADER + "Kyivska oblast,,,oblast,2024-01-01 08:00:00+00:00\n"
                 "Kyivska oblast,,,oblast\n"
                 "Lvivska oblast,,,oblast,2024-01-01 08:00:00+00:00,2024-01-01 09:00:00+00:00,official\n",
                 encoding="utf-8")
    got = read_official_alerts(f)
    assert list(got.alerts) == ["UA-46"] and got.open_ended == 0
    assert [p.split(": ", 1)[0].rsplit("/", 1)[-1] for p in got.problems] == ["alerts.csv:2", "alerts.csv:3"]
    assert got.problems[0].endswith("5 fields, 7 expected")


def test_a_history_without_its_columns_is_refused(tmp_path):
    f = tmp_path / "alerts.csv"
    f.write_text("region,start\nX,1\n", encoding="utf-8")
    with pytest.raises(EvaluationInputError, match="missing columns"):
        read_official_alerts(f)


def test_a_night_begins_at_noon_kyiv_time():
    day = 86400.0 * 20000  # 2024-10-04 00:00 UTC; noon in Kyiv (UTC+2) is 10:00 UTC
    assert night_of(day + 10 * 3600 - 1) == 19999 and night_of(day + 10 * 3600) == 20000


def test_a_place_night_runs_from_noon_to_noon_and_sums_its_alerts():
    day = 86400.0 * 20000  # 2024-10-04 00:00 UTC
    a = {"X": [AlertInterval("X", day - 7200, day - 3600),    # 22:00-23:00 UTC: the night before day
               AlertInterval("X", day + 3600, day + 5400),    # 01:00-01:30: the same night
               AlertInterval("X", day + 13 * 3600, day + 14 * 3600),  # 13:00: the next night
               AlertInterval("X", day + 20 * 3600, None)],    # open: left out
         "Y": [AlertInterval("Y", day, day + 600)]}
    n, minutes = place_nights(a)
    assert n.tolist() == [2, 1, 1] and minutes.tolist() == [90.0, 60.0, 10.0]


def test_big_raid_nights_come_from_the_attack_record():
    # domain.md counts "504 nights with >= 40" Shahed-type drones; summing every
    # Shahed-136/131 row of a night (noon to noon) gives 515. The record, 810, was launched
    # on the evening of 2025-09-06 (Kyiv time). Rows with a trailing space or a one-digit
    # hour ("2023-05-16 3:30") are read, not dropped.
    nights, problems = raid_nights(min_drones=40)
    assert len(nights) == 515 and problems == []
    assert night_of(1_757_196_000.0) in nights  # 2025-09-06 22:00 UTC
    assert raid_nights(min_drones=800)[0] == {night_of(1_757_196_000.0)}


def test_an_attack_record_row_that_cannot_be_read_is_named(tmp_path):
    f = tmp_path / "attacks.csv"
    f.write_text("time_start,model,launched\n2024-01-01 20:00,Shahed-136/131,50\n"
                 "sometime,Shahed-136/131,70\n2024-01-02 3:30 ,Shahed-136/131,45\n"
                 "2024-01-03 20:00,Iskander-M,90\n2024-01-04 20:00,Shahed-136/131,\n", encoding="utf-8")
    nights, problems = raid_nights(f)
    # 01-01 20:00 and 01-02 3:30 Kyiv time are one night (50 + 45); the Iskander row and the
    # row without a count add nothing
    assert nights == {night_of(1_704_132_000.0)}
    assert len(problems) == 1 and "attacks.csv:3: time_start 'sometime'" in problems[0]
    with pytest.raises(EvaluationInputError, match="missing columns"):
        raid_nights(_write(tmp_path / "bad.csv", "when,model\n"))


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_alerts_of_chosen_nights_are_kept_and_empty_places_dropped():
    a = {"X": [AlertInterval("X", 86400.0 * 100 + 72000, 86400.0 * 100 + 75600)],
         "Y": [AlertInterval("Y", 86400.0 * 300, 86400.0 * 300 + 60)]}
    assert in_nights(a, {100}) == {"X": a["X"]}
