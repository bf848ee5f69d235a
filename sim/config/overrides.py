"""Dotted-path overrides (`--set sites.a.cohorts[0].size=40`): parsing a path, setting a value in the raw
data, creating a missing section where the schema has one."""

from __future__ import annotations

import re
import typing
from typing import Any

from pydantic import BaseModel

from sim.config.common import known_names, render_path
from sim.config.scenario import Scenario
from sim.errors import ConfigError
from sim.yamlsafe import load_yaml_text

_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_path(path: str) -> list[str | int]:
    """'sites.a.cohorts[0].size' -> ['sites', 'a', 'cohorts', 0, 'size']."""
    tokens: list[str | int] = []
    pos = 0
    for match in _PATH_TOKEN.finditer(path):
        between = path[pos:match.start()]
        if between not in ("", "."):
            raise ValueError(f"cannot parse {path!r}")
        tokens.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        pos = match.end()
    if pos != len(path) or not tokens:
        raise ValueError(f"cannot parse {path!r}")
    return tokens


def set_path(data: dict[str, Any], path: str, value: Any, file: str = "--set") -> None:
    """Set `value` at a dotted path. Missing mapping keys at the leaf are created (the schema then
    decides whether they are allowed). A missing (or null) intermediate key is created when the schema
    puts a section there (`certification.lab`, `quality`, `archetypes.esat`); a missing site, group or
    list index is an error naming what exists."""
    try:
        tokens = parse_path(path)
    except ValueError:
        raise ConfigError.at(file, path, value, "a dotted path like sites.NAME.cohorts[0].size") from None
    node: Any = data
    annotation: Any = Scenario
    for depth, token in enumerate(tokens[:-1]):
        here = render_path(tokens[: depth + 1])
        child = _child_annotation(annotation, token)
        if isinstance(token, int):
            if not isinstance(node, list) or token >= len(node):
                raise ConfigError.at(file, here, token, "no such list item")
        elif isinstance(node, dict) and node.get(token) is None and _creatable(annotation, child):
            node[token] = {}
        elif not isinstance(node, dict) or token not in node:
            known = sorted(node) if isinstance(node, dict) else []
            raise ConfigError.at(file, here, token, known_names("field", known))
        node = node[token]
        annotation = child
    last = tokens[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise ConfigError.at(file, path, last, "no such list item")
    elif not isinstance(node, dict):
        raise ConfigError.at(file, path, value, "the parent of this field is not a mapping")
    node[last] = value


def _sections(annotation: Any) -> list[Any]:
    """The mapping-like alternatives of an annotation (models and dicts), None and scalars dropped."""

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (dict, list):
        return [annotation]
    return [m for a in typing.get_args(annotation) for m in _sections(a)]


def _child_annotation(annotation: Any, token: str | int) -> Any:
    """The schema type found under `token` of a value of type `annotation` (None when unknown)."""

    for option in _sections(annotation):
        if isinstance(option, type) and issubclass(option, BaseModel):
            if isinstance(token, str):
                for name, field in option.model_fields.items():
                    if token in (name, field.alias):
                        return field.annotation
        elif typing.get_origin(option) is dict and isinstance(token, str):
            return typing.get_args(option)[1]
        elif typing.get_origin(option) is list and isinstance(token, int):
            return typing.get_args(option)[0]
    return None


def _creatable(parent: Any, child: Any) -> bool:
    """A missing key may be created as {} when it is a section of a model, or an entry of a mapping of
    plain mappings (`archetypes.<kind>`); never a new site or group made from a dotted path."""

    parent_options = _sections(parent)
    child_options = _sections(child)
    if not child_options:
        return False
    if any(isinstance(p, type) and issubclass(p, BaseModel) for p in parent_options):
        return True
    return any(typing.get_origin(p) is dict and typing.get_origin(typing.get_args(p)[1]) is dict
               for p in parent_options)


def parse_assignment(text: str) -> tuple[str, Any]:
    """'PATH=VALUE' with VALUE read as YAML (so numbers, dates, lists and mappings work)."""
    if "=" not in text:
        raise ConfigError.at("--set", text, text, "write PATH=VALUE")
    path, raw = text.split("=", 1)
    try:
        value = load_yaml_text(raw, "--set")
    except ConfigError as exc:
        reason = re.sub(r"^--set: (line \d+, column \d+: )?", "", exc.problems[0])
        raise ConfigError.at("--set", path.strip(), raw, f"not a valid YAML value ({reason})") from None
    return path.strip(), value

