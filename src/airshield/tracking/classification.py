"""Class probabilities: report evidence fused with kinematics (the model's constants).

Each report contributes log P(report | class) (see measurement.py); the
evidence fades with a time constant so that a track can be reclassified.
Kinematics enter as soft band memberships of speed and altitude from
../shared/docs/domain.md: a 700 km/h target is not a Shahed; 2 km/s is
ballistic. The posterior itself is computed in kernels.posterior.
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
