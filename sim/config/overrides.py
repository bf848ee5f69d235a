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

_NAME = re.compile(r"[^.\[\]\s][^.\[\]]*")
PATH_EXAMPLE = ("a dotted path like sites.NAME.cohorts[0].size (names joined by single dots, list items as [0], "
                "[1], ...)")


def parse_path(path: str) -> list[str | int]:
    """'sites.a.cohorts[0].size' -> ['sites', 'a', 'cohorts', 0, 'size']; a ValueError saying what is wrong
    with a malformed path (an empty name, `..`, `[-1]`, `[x]`)."""
    if not isinstance(path, str) or not path.strip():
        raise ValueError("an empty path")
    tokens: list[str | int] = []
    pos = 0
    while pos < len(path):
        if path[pos] == "[":
            close = path.find("]", pos)
            inside = path[pos + 1:close] if close > 0 else path[pos + 1:]
            if close < 0 or not inside.isdigit() or not tokens:
                raise ValueError(f"[{inside}]: list items are [0], [1], ... after a name" if close > 0
                                 else "an unclosed [")
            tokens.append(int(inside))
            pos = close + 1
            continue
        if tokens:
            if path[pos] != ".":
                raise ValueError(f"{path[pos]!r} at character {pos + 1}: a dot or [n] after {render_path(tokens)}")
            pos += 1
        match = _NAME.match(path, pos)
        if match is None:
            raise ValueError(f"an empty name at character {pos + 1}" if pos >= len(path) or path[pos] in ".[]"
                             else f"a name starting with a space at character {pos + 1}")
        tokens.append(match.group(0))
        pos = match.end()
    return tokens


def path_tokens(path: str, file: str, field: str = "") -> list[str | int]:
    """The steps of a dotted path, or one ConfigError at `file`: `field` saying what is wrong with it."""
    try:
        return parse_path(path)
    except ValueError as exc:
        raise ConfigError.at(file, field, path, f"{exc}: write {PATH_EXAMPLE}") from None


def _joined(field: str, tokens: list[str | int]) -> str:
    """The field path as the user reads it: the block's prefix (`levers.x.set`) then the path's steps."""
    rest = render_path(tokens)
    if not field:
        return rest
    return f"{field}{rest}" if rest.startswith("[") else f"{field}.{rest}"


def locate(data: Any, path: str, file: str, field: str = "", create: bool = False) -> tuple[Any, str | int]:
    """The one walker of dotted paths (`--set`, `set:` blocks, uncertain parameters, levers, shocks,
    calibrated draws): the container of the path's last step, and that step. Every step before the last must
    exist; with `create`, a missing (or null) section the schema puts there is created (`certification.lab`,
    `quality`, `archetypes.esat`), never a site, a group or a list item. A malformed path or a missing step is
    one ConfigError naming `file`, `field` + the path up to that step, and what exists there. `field` is the
    block the path was given in (`levers.x.set`), empty for `--set`."""
    tokens = path_tokens(path, file, field)
    node: Any = data
    annotation: Any = Scenario
    for depth, token in enumerate(tokens[:-1]):
        node = _step(node, token, tokens[: depth + 1], file, field, annotation if create else None)
        annotation = _child_annotation(annotation, token)
    return node, tokens[-1]


def _step(node: Any, token: str | int, here: list[str | int], file: str, field: str, annotation: Any) -> Any:
    if isinstance(token, int):
        if not isinstance(node, list) or token >= len(node):
            size = f"a list of {len(node)} item(s)" if isinstance(node, list) else "not a list"
            raise ConfigError.at(file, _joined(field, here), token, f"no such list item ({size})")
        return node[token]
    if annotation is not None and isinstance(node, dict) and node.get(token) is None \
            and _creatable(annotation, _child_annotation(annotation, token)):
        node[token] = {}
    if not isinstance(node, dict) or token not in node:
        known = sorted(map(str, node)) if isinstance(node, dict) else []
        raise ConfigError.at(file, _joined(field, here), token, known_names("field", known))
    return node[token]


def get_path(data: Any, path: str, file: str, field: str = "") -> Any:
    """The value at a dotted path (every step must exist), or a one-line ConfigError naming the first missing."""
    parent, last = locate(data, path, file, field)
    return _step(parent, last, path_tokens(path, file, field), file, field, None)


def find_path(data: Any, path: str, file: str, field: str = "") -> tuple[bool, Any]:
    """(True, value) at a dotted path, (False, None) when a step is missing; a malformed path is an error."""
    tokens = path_tokens(path, file, field)
    node: Any = data
    for token in tokens:
        if (isinstance(token, int) and isinstance(node, list) and token < len(node)) or (
                isinstance(token, str) and isinstance(node, dict) and token in node):
            node = node[token]
        else:
            return False, None
    return True, node


def set_path(data: dict[str, Any], path: str, value: Any, file: str = "--set", field: str = "",
             create: bool = True) -> None:
    """Set `value` at a dotted path. A missing mapping key at the leaf is created (the schema then decides
    whether it is allowed); a missing section is created where the schema has one (see `locate`); a missing
    site, group or list index is an error naming what exists."""
    parent, last = locate(data, path, file, field, create=create)
    tokens = path_tokens(path, file, field)
    if isinstance(last, int):
        _step(parent, last, tokens, file, field, None)
    elif not isinstance(parent, dict):
        raise ConfigError.at(file, _joined(field, tokens), value, "the parent of this field is not a mapping")
    parent[last] = value


def paths_overlap(a: str, b: str) -> bool:
    """Two dotted paths set the same value (one equals or contains the other); unparsable paths compare as text."""
    try:
        ta, tb = parse_path(a), parse_path(b)
    except ValueError:
        return a == b
    n = min(len(ta), len(tb))
    return ta[:n] == tb[:n]


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


def changed_paths(before: Any, after: Any, prefix: tuple = ()) -> list[str]:
    """The dotted paths where two versions of scenario data differ (a list that changed length: the list)."""
    if isinstance(before, dict) and isinstance(after, dict):
        return [p for key in {**before, **after}
                for p in changed_paths(before.get(key), after.get(key), (*prefix, key))]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [p for i, (a, b) in enumerate(zip(before, after, strict=True))
                for p in changed_paths(a, b, (*prefix, i))]
    return [render_path(list(prefix))] if before != after else []
