"""The model: a network built from a scenario (`builder`), its routes (`router`), daily levels
(`snapshots`), the end-of-run checks (`conservation`) and results (`collect`, `frames`), and
`simulate(spec)` (`simulation`)."""

from sim.model.builder import CALENDAR_MARGIN_DAYS, Network, expand_groups, group_members
from sim.model.simulation import simulate

__all__ = ["CALENDAR_MARGIN_DAYS", "Network", "expand_groups", "group_members", "simulate"]
