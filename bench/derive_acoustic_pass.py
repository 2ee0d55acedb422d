"""Derive the acoustic pass table of ``airshield.tracking.measurement`` (PASS_*).

Usage:
    .venv/bin/python bench/derive_acoustic_pass.py [--passes 40000] [--seed 1]

A presence-only acoustic node says only "I hear it". Over one pass of a drone
it says so for a while: from when the drone comes within hearing range to
when it leaves it. This script flies straight passes by one node through the
simulator's detection model (``sim.acoustic.detection_probability``, the
curve of domain.md: Pd 0.9 at 1 km, 0.5 at 2 km, ~0 beyond 3.5 km, rural,
a Shahed) and prints, for a burst that has lasted at least a chord l (m of the
drone's path), where the drone was first heard along its path relative to its
closest approach (mean and sigma) and the RMS offset of its path from the node.
These are the tracker's PASS_CHORD_M, PASS_FIRST_MEAN_M, PASS_FIRST_SIGMA_M and
PASS_OFFSET_RMS_M (docs/decisions/0019-acoustic-pass-geometry.md).

Passes: speed 40-60 m/s, 100-1,500 m above the node (below the blind
altitude), offsets 0-4 km (beyond, nothing is heard), a look every 5 s at a
random phase; a pass counts if at least one look heard it.
"""

from __future__ import annotations

import argparse

import numpy as np

from airshield.sim.acoustic import detection_probability
from airshield.sim.scenario import Acoustic

CHORDS_M = (0, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 4500, 5000)


def simulate(n: int, seed: int) -> dict[str, np.ndarray]:
    """Heard passes: first and last heard along-path position (m) and path offset (m)."""
    cfg = Acoustic()
    rng = np.random.default_rng(seed)
    b = rng.uniform(0.0, 4000.0, n)
    alt = rng.uniform(100.0, 1500.0, n)
    v = rng.uniform(40.0, 60.0, n)
    phase = rng.uniform(0.0, cfg.report_period_s, n)
    looks = np.arange(-200.0, 200.0, cfg.report_period_s)
    x = (looks[None, :] + phase[:, None]) * v[:, None]  # along the path from the closest approach
    slant = np.sqrt(x**2 + b[:, None] ** 2 + alt[:, None] ** 2)
    quiet = np.zeros_like(slant, dtype=bool)
    pd = detection_probability(cfg, slant, alt[:, None], quiet, quiet)
    heard = rng.random(pd.shape) < pd
    some = heard.any(axis=1)
    first = np.argmax(heard, axis=1)
    last = heard.shape[1] - 1 - np.argmax(heard[:, ::-1], axis=1)
    rows = np.arange(n)
    return {"first": x[rows, first][some], "last": x[rows, last][some], "offset": b[some]}


def table(p: dict[str, np.ndarray]) -> list[tuple[float, float, float, float, float]]:
    """Rows (chord, mean first, sigma first, RMS offset, share of passes at least that long)."""
    chord = p["last"] - p["first"]
    out = []
    for c in CHORDS_M:
        m = chord >= c
        out.append((c, float(p["first"][m].mean()), float(p["first"][m].std()),
                    float(np.sqrt(np.mean(p["offset"][m] ** 2))), float(m.mean())))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--passes", type=int, default=40_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    p = simulate(args.passes, args.seed)
    print(f"{len(p['first']):,} of {args.passes:,} passes heard")
    print("chord_m\tfirst_mean_m\tfirst_sigma_m\toffset_rms_m\tshare")
    for c, mu, sd, rms, share in table(p):
        print(f"{c:.0f}\t{mu:.0f}\t{sd:.0f}\t{rms:.0f}\t{share:.2f}")


if __name__ == "__main__":
    main()
