"""Pydantic's validation errors as one line each: file, field path (as the user wrote it), value, and what
is allowed; typos get a "did you mean"."""

from __future__ import annotations

import difflib
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.config.common import FieldProblem, ReferenceError_, render_path
from sim.config.scenario import Scenario
from sim.errors import problem_line


def format_validation_error(exc: ValidationError, file: str, data: Any) -> list[str]:
    """One line per problem. The alternatives of a union (`a number or a schedule`, `a distribution`)
    that all failed on the same value are one problem: their messages are joined on one line."""
    lines: list[str] = []
    by_path: dict[str, tuple[Any, list[str]]] = {}
    errors = exc.errors()
    # A misspelt required key is reported twice by pydantic (unknown 'namex', missing 'name'): once here.
    missing = {(tuple(e["loc"][:-1]), e["loc"][-1]) for e in errors if e["type"] == "missing"}
    typo_of: dict[tuple, str] = {}
    for e in errors:
        if e["type"] == "extra_forbidden" and isinstance(e["loc"][-1], str):
            parent = tuple(e["loc"][:-1])
            names = [str(m) for p, m in missing if p == parent]
            close = difflib.get_close_matches(e["loc"][-1], names, n=1, cutoff=0.6)
            if close:
                typo_of[tuple(e["loc"])] = close[0]
    for err in errors:
        if err["type"] == "missing" and any(k[:-1] == tuple(err["loc"][:-1]) and v == err["loc"][-1]
                                            for k, v in typo_of.items()):
            continue
        ctx = err.get("ctx") or {}
        if err["type"] == "union_tag_invalid":  # a discriminated union: name the tag field, not the whole entry
            field = str(ctx.get("discriminator", "")).strip("'")
            where = _data_loc(data, err["loc"], keep_last=False)
            lines.append(problem_line(file, render_path([*where, field]), ctx.get("tag"),
                                      f"one of {ctx.get('expected_tags')}"))
            continue
        inner = ctx.get("error")
        if isinstance(inner, ReferenceError_):
            lines.append(problem_line(file, inner.path, inner.value, inner.allowed))
            continue
        if isinstance(inner, FieldProblem):
            where = render_path(_data_loc(data, err["loc"], keep_last=False))
            lines.append(problem_line(file, f"{where}.{inner.field}" if where else inner.field, inner.value,
                                      inner.allowed))
            continue
        loc = _data_loc(data, err["loc"], keep_last=err["type"] in ("missing", "extra_forbidden"))
        path = render_path(loc)
        value = err.get("input")
        if err["type"] == "extra_forbidden":
            allowed = _allowed_fields(exc, loc)
            meant = typo_of.get(tuple(err["loc"])) or next(iter(difflib.get_close_matches(
                str(loc[-1]), allowed.removeprefix("; allowed: ").split(", "), n=1, cutoff=0.75)), None)
            hint = f"; did you mean {meant!r}?" if meant else ""
            lines.append(problem_line(file, path, loc[-1], f"unknown field{hint}{allowed}"))
            continue
        if err["type"] == "missing":
            lines.append(problem_line(file, path, None, "this field is required"))
            continue
        message = err["msg"].removeprefix("Value error, ")
        if isinstance(value, dict | list) and len(repr(value)) > 80:
            value = _lookup(data, loc)
        if path in by_path:
            messages = by_path[path][1]
            short = message.removeprefix("Input should be ")
            if message not in messages and short not in messages:
                messages.append(short)
        else:
            by_path[path] = (value, [message])
            lines.append(path)  # placeholder keeps the order of problems
    # The alternatives of a union may fail at different depths ('a date' at start, 'a valid tuple' at
    # start.uniform): a path that another error's path extends is the same problem, told less precisely.
    deeper = [p for p in by_path if any(q != p and _extends(q, p) for q in by_path)]
    return [problem_line(file, line, by_path[line][0], ", or ".join(by_path[line][1])) if line in by_path else line
            for line in lines if line not in deeper]


def _extends(path: str, prefix: str) -> bool:
    return path.startswith(prefix) and path[len(prefix):][:1] in (".", "[") if prefix else bool(path)


def _data_loc(data: Any, loc: Any, keep_last: bool) -> list[str | int]:
    """The error location as a path into the data: steps that are not keys or indices of the data
    (pydantic's names of union alternatives and validators, such as 'float' or 'function-after[...]')
    are dropped. The last step of a missing or unknown field is kept: it names that field."""
    out: list[str | int] = []
    node = data
    for i, step in enumerate(loc):
        last = i == len(loc) - 1
        indexes = (isinstance(node, dict) and step in node) or (
            isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node))
        if indexes:
            out.append(step)
            node = node[step]
        elif last and keep_last:
            out.append(step)
        elif data == {} and isinstance(step, str | int) and not _is_tag(step):
            out.append(step)  # no data to walk (a model built in code): keep the schema's own names
    return out


def _is_tag(step: Any) -> bool:
    return isinstance(step, str) and (step.startswith(("function-", "tagged-", "constrained-", "list[", "dict["))
                                      or "[" in step or step in ("float", "int", "str", "bool", "date", "Dist"))


def _lookup(data: Any, loc: Any) -> Any:
    node = data
    for p in loc:
        try:
            node = node[p]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _allowed_fields(exc: ValidationError, loc: Any) -> str:
    model = _model_at(Scenario, list(loc[:-1]))
    if model is None:
        return ""
    return "; allowed: " + ", ".join(_aliases(model))


def _aliases(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _model_at(model: Any, loc: list[Any]) -> type[BaseModel] | None:
    """Walk the schema along an error location to the model whose field was unknown."""

    current: Any = model
    for p in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next((f for n, f in current.model_fields.items() if (f.alias or n) == p or n == p), None)
            if field is None:
                return None
            current = field.annotation
            continue
        args = [a for a in typing.get_args(current) if a is not type(None)]
        origin = typing.get_origin(current)
        if origin in (list, dict) or (origin is None and args):
            current = args[-1] if args else None
        elif args:
            current = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), args[-1])
        else:
            return None
        if isinstance(p, int | str) and isinstance(current, type) and issubclass(current, BaseModel):
            continue
    while not (isinstance(current, type) and issubclass(current, BaseModel)):
        args = [a for a in typing.get_args(current) if a is not type(None)]
        if not args:
            return None
        current = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), args[-1])
    return current

