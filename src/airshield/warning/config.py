"""Prediction parameters per threat class, each with its reason. Units: m, s, m/s, rad.

The predicted path of a threat is its current course at its current speed
(no route is known), with an uncertainty that grows with time because threats
change speed and course. Sources: ../shared/docs/domain.md (cited per value);
[est] marks engineering estimates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

#: Threat classes that are predicted (``aircraft`` and ``unknown`` are not threats).
PREDICTED = ("drone", "jet", "cruise", "ballistic")


@dataclass(frozen=True)
class ClassModel:
    """How one class flies, for prediction.

    Attributes:
        horizon_s: how far ahead the path is predicted, s.
        step_s: time step of the predicted path, s (arrival times are
            interpolated between steps).
        speed_change_mps: 1-sigma change of along-track speed over the
            prediction, m/s (loiters and speed changes).
        heading_diffusion: variance growth of the course, rad^2/s (a random
            walk of the heading: dog-legs and course changes).
        heading_max_rad: the course uncertainty never exceeds this (1-sigma).
        manoeuvre_m: an extra 1-sigma position spread that the course model
            does not cover (terminal manoeuvres), m, reached at the horizon.
        max_speed_mps: the fastest the class flies. A track estimated faster
            has a velocity that cannot be trusted (a presence-only acoustic track
            jumping between nodes, two targets mixed up): it is predicted at this
            speed, and the excess is added to its velocity uncertainty.
        min_cruise_mps: the slowest the class cruises. A moving track (at least
            ``WarningConfig.min_speed_mps``) estimated slower (an
            acoustic track's speed from nodes heard minutes apart is often a half or a
            third of the drone's) gets the shortfall as a further 1-sigma of along-track
            spread, so its earliest arrival is that of a drone at cruise speed. On
            attack:2026-01-26 such tracks, lost at 5-15 m/s, cleared a region "may arrive
            in 53 min"; their drones (44-46 m/s) entered 30 min later [measured,
            BENCHMARKS.md "Warning", twelfth session]. 0: off.
    """

    horizon_s: float
    step_s: float
    speed_change_mps: float
    heading_diffusion: float
    heading_max_rad: float
    manoeuvre_m: float = 0.0
    max_speed_mps: float = float("inf")
    min_cruise_mps: float = 0.0


def _default_models() -> dict[str, ClassModel]:
    return {
        # Shahed-type drones (domain.md): 120-185 km/h (60 m/s allows for dives and wind), "dog-legs, unusual directions,
        # follows rivers, loiters", 2.3-6.5 h flights with routes +30 % longer than the
        # straight line. [est] a dog-leg of ~60 deg every ~30 min: heading variance grows
        # by (1.05 rad)^2 / 1800 s = 6e-4 rad^2/s; loiters and speed changes ~8 m/s.
        # Horizon: the issue's ~60 min.
        "drone": ClassModel(horizon_s=3600.0, step_s=60.0, speed_change_mps=8.0,
                            heading_diffusion=6e-4, heading_max_rad=1.2, max_speed_mps=60.0,
                            min_cruise_mps=33.3),
        # Jet drones (Geran-3, > 500 km/h): routes like a Shahed's at three times the speed,
        # so the same turns come three times as often [est]; up to ~800 km/h [est].
        "jet": ClassModel(horizon_s=1800.0, step_s=20.0, speed_change_mps=20.0,
                          heading_diffusion=1.8e-3, heading_max_rad=1.2, max_speed_mps=220.0,
                          min_cruise_mps=139.0),
        # Cruise missiles (Kh-101, Kalibr; ~700-800 km/h, "several entry directions,
        # repeated course changes"): a turn of ~45 deg every ~10 min [est]. Horizon: the
        # issue's ~30 min.
        "cruise": ClassModel(horizon_s=1800.0, step_s=20.0, speed_change_mps=15.0,
                             heading_diffusion=1e-3, heading_max_rad=1.0, max_speed_mps=280.0),
        # Ballistic (Iskander-M, KN-23; ~2 km/s, a few minutes of flight): predicted to
        # impact (the horizon is only a ceiling); quasi-ballistic terminal manoeuvres of
        # some km [est].
        "ballistic": ClassModel(horizon_s=600.0, step_s=5.0, speed_change_mps=150.0,
                                heading_diffusion=2e-4, heading_max_rad=0.5, manoeuvre_m=5000.0,
                                max_speed_mps=3000.0),
    }


@dataclass(frozen=True)
class WarningConfig:
    """Prediction parameters.

    Attributes:
        models: per predicted class, how it flies.
        cone_k: the predicted area at each time is the disc of radius
            ``cone_k`` x the larger 1-sigma axis around the predicted point. The
            course model's sigma is wide (it must cover dog-legs); its errors are
            heavy-tailed (most minutes a drone flies straight): with a perfect
            state, k = 1.5 holds the simulated drones' true positions 5-10 min
            ahead >= 95 % of the time, 15 min ahead ~95 % (tests/test_warning.py); on night-40 (seeds
            default, 7, 11) k = 1.5 gave 20-30 % fewer unneeded alert-minutes
            than 2.5 with the same on-time share [measured, BENCHMARKS.md].
        min_speed_mps: below this a track is treated as hovering/loitering: its
            course is unknown, so the cone grows in all directions at the class's
            speed change.
        region_res_m, region_margin_m: the signed-distance raster of the regions
            (region_field.py): cell size, and how far outside a region distances
            are known (a cone wider than this is cut to it).
        site_radius_m: a city counts as reached when the cone comes this close
            to its centre [est: the built-up area of a city of 15,000+ people].
        lost_keep_s: after a track is deleted (not reported for long), its
            forecast is kept, as a *lost* threat, until this long after its last
            state or its horizon, whichever is first: the threat has not gone
            away because the sensors stopped hearing it.
        lost_max_radius_m, lost_wide_holds: a lost threat whose cone has grown wider
            than this no longer starts alerts or pre-alerts; with ``lost_wide_holds`` it
            still holds a running alert (its hysteresis, ``PolicyConfig.clear_margin_s``)
            until ``lost_keep_s``, unless it was lost in a dive. The
            sensors lose drones for tens of minutes; a region cleared while one of
            them may still be coming is a premature all-clear, or a new alert minutes
            later. On eleven night-40 seeds (default, 1-9, 11) premature all-clears 16 ->
            5, missed entries 13 -> 11, nights flapping above 1 % 8 -> 8, unneeded
            alert-minutes +24 % [measured, BENCHMARKS.md "Warning", fourth session].
        target_population, target_radius_m, target_end_s, target_end_holds: a threat
            lost within ``target_radius_m`` of a city of at least ``target_population``
            has most likely reached its target (or been shot down over it): its
            forecast ends ``target_end_s`` after its last state, so it starts nothing
            more. With ``target_end_holds`` (and ``lost_wide_holds``) it still holds
            running alerts until ``lost_keep_s``: drones circle a city before they
            dive, and the sensors lose them there too. On nineteen night-40 seeds
            (default, 1-9, 11-19) premature all-clears 7 -> 4, missed entries
            unchanged, unneeded alert-minutes +14 %; on four further seeds (20-23)
            premature 3 -> 2, +12 % [measured, BENCHMARKS.md "Warning", fifth session].
        dive_vz_mps, dive_max_s, dive_after_s: a drone lost while descending faster
            than ``dive_vz_mps`` is let go (forecast and hold) once it would have
            reached the ground (at most ``dive_max_s``) plus ``dive_after_s``
            (domain.md: Shaheds end in a terminal dive).
        supersede_lost, supersede_every_s, superseded_holds: every ``supersede_every_s`` a
            lost threat with a live threat of its class inside its cone is taken to be
            that threat (the tracker lost the drone and picked it up again under a new
            id, or a neighbour in its column goes the same way). With
            ``superseded_holds`` (and ``lost_wide_holds``) it then starts nothing but
            still holds running alerts, as a too-wide cone does: the live threat may be
            a column neighbour. On eleven night-40 seeds, against dropping it: premature
            all-clears 5 -> 4, nights flapping above 1 % 8 -> 7 (the default seed 4.2 ->
            0 %), missed entries 11 -> 11, unneeded alert-minutes +10 % [measured,
            BENCHMARKS.md "Warning", fourth session].
        fall_sigma_k: a ballistic missile comes down with the vertical acceleration the
            tracker fitted to its own arc (TrackState.az_mps2), taken at its slow end
            (the fit + ``fall_sigma_k`` sigma: the farther reach), and never slower than
            free fall; free fall where the arc is not yet known. Over a short range the
            arc is steep: the simulator's 73 km shot falls at ~11 g, and with g alone its
            first radar state was predicted to land 500 km on, putting the oblasts on the
            way in alert for 15 min (BENCHMARKS.md, "Warning", twelfth session). None:
            always free fall. ``max_fall_mps2``: the fit is never taken steeper than this
            (25 g): a fit pulled by a mis-associated plot or a radar's height bias would
            otherwise bring the forecast down short of the missile's real reach.
    """

    models: dict[str, ClassModel] = field(default_factory=_default_models)
    fall_sigma_k: float | None = 2.0
    max_fall_mps2: float = 250.0
    cone_k: float = 1.5
    min_speed_mps: float = 5.0
    region_res_m: float = 1000.0
    region_margin_m: float = 100_000.0
    site_radius_m: float = 5000.0
    lost_keep_s: float = 3600.0
    lost_max_radius_m: float = 50_000.0
    lost_wide_holds: bool = True
    repredict_s: float = 30.0
    supersede_lost: bool = True
    supersede_every_s: float = 30.0
    superseded_holds: bool = True
    target_population: int = 100_000
    target_radius_m: float = 10_000.0
    target_end_s: float | None = 600.0
    target_end_holds: bool = True
    dive_vz_mps: float = 5.0
    dive_max_s: float = 300.0
    dive_after_s: float = 60.0

    def __post_init__(self) -> None:
        # Bounds that keep the rasters and paths finite: 250 m cells are 16x the default's
        # (~0.6 GB for the oblasts); a path point a second is 5x the finest class step.
        if not self.region_res_m >= 250.0:
            raise ValueError(f"WarningConfig.region_res_m must be >= 250 (the raster's cell, m), got "
                             f"{self.region_res_m}")
        for cls, m in self.models.items():
            if not m.step_s >= 1.0 or not m.horizon_s > 0.0:
                raise ValueError(f"WarningConfig.models[{cls!r}]: step_s must be >= 1 and horizon_s > 0, got "
                                 f"{m.step_s} and {m.horizon_s}")
        if self.fall_sigma_k is not None and not (math.isfinite(self.fall_sigma_k) and self.fall_sigma_k >= 0.0):
            raise ValueError(f"WarningConfig.fall_sigma_k must be a finite number >= 0 or None, got {self.fall_sigma_k}")
        if not (math.isfinite(self.max_fall_mps2) and self.max_fall_mps2 >= 9.80665):
            raise ValueError(f"WarningConfig.max_fall_mps2 must be at least g (9.80665 m/s^2), got {self.max_fall_mps2}")
        missing = set(PREDICTED) - set(self.models)
        if missing:
            raise ValueError(f"WarningConfig.models lacks the classes {sorted(missing)}")
