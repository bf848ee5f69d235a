"""The archetype of each site kind, typed (sim.config.Archetype) from the plain defaults of
sim/archetype_defaults.py, with a scenario's overrides applied."""

from __future__ import annotations

from sim.archetype_defaults import ARCHETYPE_DEFAULTS
from sim.config import Archetype

ARCHETYPES: dict[str, Archetype] = {kind: Archetype(**values) for kind, values in ARCHETYPE_DEFAULTS.items()}


def archetype_for(kind: str, overrides: dict[str, dict[str, object]]) -> Archetype:
    """The archetype of `kind` with the scenario's overrides applied."""
    base = ARCHETYPES[kind]
    extra = overrides.get(kind)
    return base if not extra else Archetype(**{**base.model_dump(), **extra})
