"""resilience-sim: discrete-event simulation of an improvised emergency mask production network."""

__version__ = "0.1.0"
