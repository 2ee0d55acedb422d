"""Simulator: scenarios, threat motion, sensor models and ground truth."""

from airshield.sim.engine import Night, simulate
from airshield.sim.output import write_night
from airshield.sim.scenario import (
           Scenario,
           ScenarioError,
           builtin_names,
           load_scenario,
           parse_scenario,
)

__all__ = ["Night", "Scenario", "ScenarioError", "builtin_names", "load_scenario", "parse_scenario",
           "simulate", "write_night"]
