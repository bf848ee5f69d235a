"""Reading a scenario: the YAML file, validation with one-line errors, overrides, and the plain data a run
records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.config.messages import format_validation_error
from sim.config.overrides import parse_assignment, set_path
from sim.config.scenario import Scenario
from sim.errors import ConfigError
from sim.yamlsafe import load_yaml_text, read_text


def read_yaml(path: Path) -> dict[str, Any]:
    """Safe-load a YAML mapping within size, depth and alias limits (sim.yamlsafe); any problem is a
    one-line ConfigError naming the file."""
    file = str(path)
    data = load_yaml_text(read_text(path), file)
    if data is None:
        raise ConfigError.at(file, "", "", "the file is empty; a scenario is a YAML mapping")
    if not isinstance(data, dict):
        raise ConfigError.at(file, "", data, "the top level must be a YAML mapping of fields")
    return data


def validate_scenario(data: dict[str, Any], file: str) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, file, data)) from None


def apply_overrides(data: dict[str, Any], overrides: list[str] | dict[str, Any], file: str = "--set") -> None:
    items = overrides.items() if isinstance(overrides, dict) else (parse_assignment(o) for o in overrides)
    for path, value in items:
        set_path(data, path, value, file)


def scenario_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario as plain JSON-able data (what travels in a RunSpec and into the manifest)."""
    return scenario.model_dump(mode="json", by_alias=True, exclude_none=False)

