"""Warning metrics per metrics.md ("Warning"), on hand-made cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import box

from airshield.evaluation.crossings import Entry, find_entries
from airshield.evaluation.intervals import AlertInterval, alert_intervals
from airshield.evaluation.warning import score_warning, unneeded_parts, warning_metrics

T_END = 100_000.0
REGION = box(0.0, -5000.0, 10_000.0, 5000.0)  # 10 km × 10 km square, metres


def line(
    t0: float, t1: float, x0: float, vx: float, step: float = 10.0, y: float = 0.0
) -> np.ndarray:
    """(k, 3) samples t, x, y of a straight flight along +x."""
    t = np.arange(t0, t1 + 1e-9, step)
    return np.column_stack([t, x0 + vx * (t - t0), np.full(len(t), y)])


def score(entries, alerts, first_report, cls="drone", classes=None):
    classes = classes or {e.threat: cls for e in entries}
    return score_warning(entries, classes, first_report, alerts, T_END, ["A"])


def entry(t_entry=1000.0, t_exit=2000.0, threat="T1"):
    return Entry(threat, "A", t_entry, t_exit)


# --- entries (geometry) ---


def test_entry_and_exit_times_are_refined_between_samples():
    # x = -10050 + 100 t: crosses x = 0 at t = 100.5 and x = 10000 at t = 200.5
    traj = {"T1": line(0.0, 400.0, -10_050.0, 100.0)}
    (e,) = find_entries(traj, {"A": REGION}, tol_s=0.5)
    assert (e.threat, e.region, e.at_launch) == ("T1", "A", False)
    assert e.t_entry == pytest.approx(100.5, abs=0.25)
    assert e.t_exit == pytest.approx(200.5, abs=0.25)


def test_launch_inside_a_region_is_an_entry_at_launch():
    traj = {"T1": line(50.0, 400.0, 5000.0, 100.0)}  # starts at x = 5 km, inside
    (e,) = find_entries(traj, {"A": REGION})
    assert e.at_launch and e.t_entry == 50.0
    assert e.t_exit == pytest.approx(100.0, abs=0.25)


def test_threat_ending_inside_leaves_at_its_last_sample():
    traj = {"T1": line(0.0, 150.0, -10_050.0, 100.0)}
    (e,) = find_entries(traj, {"A": REGION})
    assert e.t_exit == 150.0


def test_every_crossing_into_a_region_is_an_entry():
    out_and_back = np.vstack(
        [line(0, 300, -10_050, 100.0), line(310, 600, 20_950 - 100 * 10, -100.0)]
    )
    entries = find_entries(
        {"T1": out_and_back}, {"A": REGION, "B": box(-1e6, 1e6, -1e6 + 1, 1e6 + 1)}
    )
    assert [e.region for e in entries] == ["A", "A"]
    assert entries[0].t_entry < entries[0].t_exit < entries[1].t_entry < entries[1].t_exit


def test_crossing_a_hole_in_a_region_is_an_exit_and_a_new_entry():
    ring = box(0.0, -5000.0, 10_000.0, 5000.0).difference(box(4000.0, -1000.0, 6000.0, 1000.0))
    entries = find_entries({"T1": line(0.0, 400.0, -10_050.0, 100.0)}, {"A": ring}, tol_s=0.1)
    assert [e.t_entry for e in entries] == pytest.approx([100.5, 160.5], abs=0.05)
    assert [e.t_exit for e in entries] == pytest.approx([140.5, 200.5], abs=0.05)


def test_trajectories_that_never_enter_have_no_entries():
    assert find_entries({"T1": line(0, 400, -10_050, 100.0, y=9000.0)}, {"A": REGION}) == []


# --- lead time ---


def test_lead_time_is_entry_minus_alert_start():
    r = score([entry()], {"A": [(400.0, 2500.0)]}, {"T1": 0.0})
    (o,) = r.outcomes
    assert o.lead_s == 600.0
    assert o.oracle_lead_s == 1000.0
    assert r.metrics["lead_time_median_s"] == 600.0
    assert r.metrics["missed_entries"] == 0
    assert r.metrics["on_time_fraction"] == 1.0


def test_alert_after_entry_gives_negative_lead():
    r = score([entry()], {"A": [(1100.0, 2500.0)]}, {"T1": 0.0})
    (o,) = r.outcomes
    assert o.lead_s == -100.0
    assert o.missed is False and o.on_time is False
    assert r.metrics["on_time_fraction"] == 0.0


def test_alert_that_ended_before_entry_does_not_cover_it():
    r = score([entry()], {"A": [(100.0, 900.0)]}, {"T1": 0.0})
    assert r.outcomes[0].lead_s is None
    assert r.metrics["missed_entries"] == 1


def test_on_time_needs_5_min_lead_for_drones_and_cruise():
    on = score([entry()], {"A": [(700.0, 2500.0)]}, {"T1": 0.0}, cls="cruise")
    off = score([entry()], {"A": [(701.0, 2500.0)]}, {"T1": 0.0}, cls="cruise")
    assert on.outcomes[0].on_time is True
    assert off.outcomes[0].on_time is False


# --- missed, undetected, unwarnable ---


def test_missed_entry_requires_a_prior_report():
    reported_inside = score([entry()], {"A": []}, {"T1": 1500.0})
    reported_after_exit = score([entry()], {"A": []}, {"T1": 2500.0})
    assert reported_inside.metrics["missed_entries"] == 1
    assert reported_after_exit.metrics["missed_entries"] == 0


def test_undetected_threats_counted_apart():
    classes = {"T1": "drone", "T2": "drone"}
    r = score_warning(
        [entry(threat="T1"), entry(threat="T2")], classes, {"T1": 0.0}, {"A": []}, T_END, ["A"]
    )
    m = r.metrics
    assert m["threats"] == 2 and m["threats_undetected"] == 1
    assert m["entries"] == 2 and m["entries_of_undetected_threats"] == 1
    assert m["missed_entries"] == 1  # only T1
    assert m["entries_warnable"] == 1 and m["entries_unwarnable"] == 0


def test_threats_without_any_entry_still_count_as_undetected():
    r = score_warning([], {"T1": "drone"}, {}, None, T_END, ["A"])
    assert r.metrics["threats_undetected"] == 1 and r.metrics["entries"] == 0


def test_border_entry_before_detection_is_unwarnable():
    # reported 100 s before entry: oracle lead < 5 min → unwarnable, not in the on-time share
    r = score([entry()], {"A": [(950.0, 2500.0)]}, {"T1": 900.0})
    m = r.metrics
    assert r.outcomes[0].oracle_lead_s == 100.0
    assert m["entries_unwarnable"] == 1 and m["entries_warnable"] == 0
    assert m["on_time_fraction"] is None
    assert m["lead_time_median_s"] == 50.0  # its lead still counts in the median


def test_ballistic_on_time_within_30_s_of_detection():
    e = entry(t_entry=120.0, t_exit=200.0)
    on = score([e], {"A": [(30.0, 300.0)]}, {"T1": 0.0}, cls="ballistic")
    late = score([e], {"A": [(31.0, 300.0)]}, {"T1": 0.0}, cls="ballistic")
    already = score([e], {"A": [(-600.0, 300.0)]}, {"T1": 0.0}, cls="ballistic")
    assert on.metrics["on_time_fraction"] == 1.0
    assert late.metrics["on_time_fraction"] == 0.0  # lead 89 s, but alert 31 s after detection
    assert already.metrics["on_time_fraction"] == 1.0  # region already in alert
    assert on.metrics["entries_warnable"] == 1  # ballistic: warnable although oracle < 5 min


def test_ballistic_alert_within_30_s_of_detection_is_on_time_even_after_entry():
    # metrics.md: ballistic on time = the alert starts within 30 s of the first detection.
    r = score([entry(120.0, 200.0)], {"A": [(130.0, 300.0)]}, {"T1": 125.0}, cls="ballistic")
    assert r.outcomes[0].lead_s == -10.0 and r.outcomes[0].on_time is True


def test_ballistic_alert_later_than_30_s_after_detection_is_not_on_time():
    r = score([entry(120.0, 200.0)], {"A": [(160.0, 300.0)]}, {"T1": 125.0}, cls="ballistic")
    assert r.outcomes[0].on_time is False


def test_lead_ratio_vs_oracle_caps_both_at_15_min():
    # oracle 2000 s → 900; lead 450 → 450; ratio 0.5
    r = score([entry(3000.0, 4000.0)], {"A": [(2550.0, 4500.0)]}, {"T1": 1000.0})
    assert r.metrics["lead_ratio_vs_oracle"] == pytest.approx(0.5)
    # lead longer than 15 min and than the oracle: capped at 900 / 900
    r = score([entry(3000.0, 4000.0)], {"A": [(0.0, 4500.0)]}, {"T1": 1000.0})
    assert r.metrics["lead_ratio_vs_oracle"] == pytest.approx(1.0)
    # a missed warnable entry contributes 0
    r = score([entry(3000.0, 4000.0)], {"A": []}, {"T1": 1000.0})
    assert r.metrics["lead_ratio_vs_oracle"] == 0.0


# --- all-clears and over-warning ---


def test_premature_all_clear_counted_when_threat_inside():
    r = score([entry(1000.0, 2000.0)], {"A": [(500.0, 1500.0)]}, {"T1": 0.0})
    assert r.metrics["premature_all_clears"] == 1
    ok = score([entry(1000.0, 2000.0)], {"A": [(500.0, 2000.0)]}, {"T1": 0.0})
    assert ok.metrics["premature_all_clears"] == 0


def test_premature_all_clear_ignores_threats_never_reported():
    r = score([entry(1000.0, 2000.0)], {"A": [(500.0, 1500.0)]}, {})
    assert r.metrics["premature_all_clears"] == 0
    assert r.metrics["premature_all_clears_incl_undetected"] == 1


def test_flapping_alert_starts_within_10_min_of_previous_all_clear():
    alerts = {"A": [(0.0, 100.0), (700.0, 800.0), (1401.0, 1500.0)]}
    r = score([], alerts, {})
    assert r.metrics["alerts"] == 3
    assert r.metrics["flapping_alerts"] == 1  # 600 s gap flaps, 601 s does not
    assert r.metrics["flapping_fraction"] == pytest.approx(1 / 3)


def test_unneeded_minutes_exclude_30_min_before_entry():
    # needed = [4000 - 1800, 5000]; alert [0, 6000] → unneeded 2200 + 1000 s
    r = score([entry(4000.0, 5000.0)], {"A": [(0.0, 6000.0)]}, {"T1": 0.0})
    assert r.metrics["unneeded_alert_minutes"] == pytest.approx(3200 / 60)
    assert r.metrics["false_alerts"] == 0


def test_unneeded_minutes_split_into_false_early_after_and_between():
    # Needed in A: [4000 - 1800, 5000] and [9000 - 1800, 9500]. The first alert runs
    # [0, 10_000]: 2200 s early, 2200 s between (5000 -> 7200), 500 s after; the
    # second, [20_000, 20_600], meets nothing: false.
    entries = [entry(4000.0, 5000.0, "T1"), entry(9000.0, 9500.0, "T2")]
    r = score(entries, {"A": [(0.0, 10_000.0), (20_000.0, 20_600.0)]}, {"T1": 0.0, "T2": 0.0})
    parts = unneeded_parts(r, T_END)
    assert parts == pytest.approx({"early": 2200 / 60, "between": 2200 / 60, "after": 500 / 60, "false": 10.0})
    assert sum(parts.values()) == pytest.approx(r.metrics["unneeded_alert_minutes"])


def test_open_alert_is_clipped_at_end_of_run():
    r = score([], {"A": [(T_END - 600.0, None)]}, {})
    assert r.metrics["unneeded_alert_minutes"] == pytest.approx(10.0)
    assert r.metrics["false_alerts"] == 1 and r.metrics["premature_all_clears"] == 0


def test_false_alert_when_no_threat_enters_within_30_min():
    far = score([entry(2000.0, 2500.0)], {"A": [(0.0, 199.0)]}, {"T1": 0.0})
    near = score([entry(2000.0, 2500.0)], {"A": [(0.0, 200.0)]}, {"T1": 0.0})
    assert far.metrics["false_alerts"] == 1
    assert near.metrics["false_alerts"] == 0


def test_alert_metrics_are_none_without_alerts():
    r = score([entry()], None, {"T1": 0.0})
    m = r.metrics
    assert m["entries"] == 1 and m["entries_warnable"] == 1
    for key in ("missed_entries", "on_time_fraction", "lead_time_median_s", "alerts",
                "false_alerts", "flapping_fraction", "premature_all_clears",
                "unneeded_alert_minutes", "lead_ratio_vs_oracle"):  # fmt: skip
        assert m[key] is None, key


def test_per_region_breakdown():
    entries = [entry(), Entry("T1", "B", 3000.0, 3100.0)]
    r = score_warning(
        entries, {"T1": "drone"}, {"T1": 0.0}, {"A": [(400.0, 2500.0)]}, T_END, ["A", "B"]
    )
    assert r.per_region["A"]["entries"] == 1 and r.per_region["A"]["missed_entries"] == 0
    assert r.per_region["B"]["missed_entries"] == 1 and r.per_region["B"]["alerts"] == 0


def test_alert_intervals_from_events():
    events = [
        ("A", 0.0, "pre_alert"), ("A", 10.0, "alert"), ("A", 20.0, "alert"),
        ("B", 15.0, "alert"), ("A", 30.0, "quiet"), ("A", 40.0, "alert"),
    ]  # fmt: skip
    reg, t, state = zip(*events, strict=True)
    iv = alert_intervals(reg, t, state, ["a1", "a1", "a1", "b1", "a1", "a2"])
    assert iv["A"] == [AlertInterval("A", 10.0, 30.0, "a1"), AlertInterval("A", 40.0, None, "a2")]
    assert iv["B"] == [AlertInterval("B", 15.0, None, "b1")]


def test_warning_metrics_end_to_end_on_arrays():
    traj = {"T1": line(0.0, 400.0, -10_050.0, 100.0)}  # enters A at 100.5
    r = warning_metrics(
        traj, {"A": REGION}, {"A": [(-300.0, 300.0)]}, {"T1": -500.0}, {"T1": "drone"}, T_END
    )
    assert r.metrics["entries"] == 1
    assert r.outcomes[0].lead_s == pytest.approx(400.5, abs=0.25)
    assert r.metrics["on_time_fraction"] == 1.0
