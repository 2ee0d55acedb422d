"""Tracking: fuse acoustic, radar, observer, partner and ADS-B reports into classified tracks.

Stone Soup's vocabulary, as small modules: measurement models
(:mod:`.measurement`), motion models (:mod:`.motion`), the predictor/updater
(:mod:`.kernels`, compiled), data association (:mod:`.association`), classification
(:mod:`.classification`) and the tracker that initiates, confirms and deletes
tracks (:mod:`.tracker`), configured in :mod:`.config`.
"""

from airshield.tracking.config import TrackerConfig
from airshield.tracking.measurement import MeasurementConfig
from airshield.tracking.tracker import Tracker, TrackEvent, TrackState

__all__ = ["MeasurementConfig", "TrackEvent", "TrackState", "Tracker", "TrackerConfig"]
