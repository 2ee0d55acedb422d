"""Shared fixtures: simulated nights are made once per test session."""

from __future__ import annotations

import pytest

from airshield.sim import load_scenario, simulate


@pytest.fixture(scope="session")
def night40():
    """The night-40 scenario with its own seed (not written to disk)."""
    return simulate(load_scenario("night-40"))


@pytest.fixture(scope="session")
def missiles():
    """The missiles scenario: Iskander-M at Kharkiv, Kalibr at Odesa."""
    return simulate(load_scenario("missiles"))
