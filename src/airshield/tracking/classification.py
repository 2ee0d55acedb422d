"""Class probabilities: report evidence fused with kinematics.

Each report contributes log P(report | class) (see measurement.py); the
evidence fades with a time constant so that a track can be reclassified.
Kinematics enter as log P(speed | class) from the speed bands of
../shared/docs/domain.md: a 700 km/h target is not a Shahed; 2 km/s is
ballistic.
"""

from __future__ import annotations

import numpy as np

from airshield.model import CLASSES

#: log prior per class [est]: Shahed-type drones make up most of what flies at night
#: (attack dataset: median 74 drones vs 2 ballistic and ~17 cruise missiles per raid).
LOG_PRIOR = np.log(np.array([0.6, 0.05, 0.1, 0.03, 0.2, 0.02]))

#: Speed band per class, m/s: (low, high); outside the band the likelihood falls off
#: with a logistic of width SPEED_SOFT (domain.md: Shahed 120-185 km/h incl. loiter
#: and dives; jet drone > 500 km/h; cruise ~700-800 km/h; ballistic ~2 km/s).
SPEED_BAND = {
    "drone": (0.0, 62.0),
    "jet": (120.0, 200.0),
    "cruise": (170.0, 260.0),
    "ballistic": (500.0, 3500.0),
    "aircraft": (40.0, 320.0),
    "unknown": (0.0, 3500.0),
}
SPEED_SOFT = np.array([6.0, 12.0, 12.0, 60.0, 15.0, 100.0])
#: Altitude band per class, m: (low, high), soft edges ALT_SOFT. Cruise missiles fly low
#: (domain.md: "low level"); Shaheds up to ~4.9 km (record); manned aircraft (without
#: ADS-B) rarely below a few hundred metres at these speeds [est].
ALT_BAND = {
    "drone": (-200.0, 5000.0),
    "jet": (-200.0, 9000.0),
    "cruise": (-200.0, 1500.0),
    "ballistic": (-200.0, 120_000.0),
    "aircraft": (300.0, 14_000.0),
    "unknown": (-200.0, 120_000.0),
}
ALT_SOFT = np.array([400.0, 600.0, 300.0, 2000.0, 150.0, 2000.0])
_LOW = np.array([SPEED_BAND[c][0] for c in CLASSES])
_HIGH = np.array([SPEED_BAND[c][1] for c in CLASSES])
_ALT_LOW = np.array([ALT_BAND[c][0] for c in CLASSES])
_ALT_HIGH = np.array([ALT_BAND[c][1] for c in CLASSES])
#: Evidence half-life, s [est]: long enough to keep a class through a quiet stretch,
#: short enough to follow a reclassification within minutes.
EVIDENCE_TAU_S = 900.0


def speed_loglik(speed: np.ndarray, speed_sigma: np.ndarray) -> np.ndarray:
    """(k, 6) log P(speed | class) for speeds (k,) m/s known to ``speed_sigma`` (k,).

    A poorly known speed (a young track) says little: the band edges soften
    with the speed's own uncertainty.
    """
    return band_loglik(speed, speed_sigma, _LOW, _HIGH, SPEED_SOFT)


def band_loglik(value: np.ndarray, sigma: np.ndarray, low: np.ndarray, high: np.ndarray,
                soft: np.ndarray) -> np.ndarray:
    """(k, 6) log of a soft band membership: ~0 inside [low, high], falling off outside."""
    w = np.sqrt(soft[None, :] ** 2 + sigma[:, None] ** 2)
    v = value[:, None]
    return -np.logaddexp(0.0, -(v - low[None, :]) / w) - np.logaddexp(0.0, (v - high[None, :]) / w)


def posterior(evidence: np.ndarray, speed: np.ndarray, speed_sigma: np.ndarray,
              alt: np.ndarray | None = None, alt_sigma: np.ndarray | None = None) -> np.ndarray:
    """(k, 6) class probabilities from accumulated report evidence and kinematics (speed, altitude)."""
    a = LOG_PRIOR[None, :] + evidence + speed_loglik(speed, speed_sigma)
    if alt is not None:
        a = a + band_loglik(alt, alt_sigma, _ALT_LOW, _ALT_HIGH, ALT_SOFT)
    a -= a.max(axis=1, keepdims=True)
    p = np.exp(a)
    return p / p.sum(axis=1, keepdims=True)


def fade(evidence: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """Evidence (k, 6) faded over ``dt`` (k,) s."""
    return evidence * np.exp(-np.abs(dt) / EVIDENCE_TAU_S)[:, None]
