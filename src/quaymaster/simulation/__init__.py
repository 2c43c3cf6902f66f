"""``quaymaster simulate``: scenarios of timed API calls and fleets, run on a region."""

from quaymaster.simulation.scenario import Scenario, ScenarioError, load_scenario
from quaymaster.simulation.run import Simulation, simulate

__all__ = ["Scenario", "ScenarioError", "Simulation", "load_scenario", "simulate"]
