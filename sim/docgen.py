"""Generates the config reference in docs/experiments.md from the schema, so the two cannot drift.

`python -m sim.docgen` rewrites the generated section; the test suite fails when it is stale.
"""

from __future__ import annotations

import sys
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from sim.config import Scenario
from sim.distributions import Dist
from sim.results.tables import splice_generated
from sim.studies import ExperimentSpec
from sim.uncertainty.design import DesignSpec
from sim.uncertainty.parameters import UncertainParameter

BEGIN = "<!-- BEGIN GENERATED REFERENCE (python -m sim.docgen) -->"
END = "<!-- END GENERATED REFERENCE -->"
DOC = Path(__file__).resolve().parent.parent / "docs" / "experiments.md"


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        bounds = _range(types.SimpleNamespace(metadata=[m for a in annotation.__metadata__
                                                        for m in getattr(a, "metadata", [a])]))
        return _type_name(args[0]) + (f" ({bounds})" if bounds else "")
    if annotation is type(None):
        return "null"
    if origin is typing.Annotated:  # e.g. a discriminated union: the union itself
        return _type_name(args[0])
    if origin is typing.Literal:
        return " \\| ".join(repr(a).replace("'", '"') for a in args)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in args)
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is tuple:
        return "[" + ", ".join(_type_name(a) for a in args) + "]"
    if origin is dict:
        return f"map of {_type_name(args[0])} → {_type_name(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    return getattr(annotation, "__name__", str(annotation)).replace("date", "date (YYYY-MM-DD)")


def _default(field: Any) -> str:
    if field.default is not PydanticUndefined:
        value = field.default
        if isinstance(value, BaseModel):
            return "(defaults)"
        return "null" if value is None else f"`{value}`"
    if field.default_factory is not None:
        value = field.default_factory()
        if isinstance(value, BaseModel):
            return "(defaults)"
        return f"`{value}`" if value not in ({}, []) else "empty"
    return "**required**"


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []

    def visit(model: type[BaseModel]) -> None:
        if model in seen:
            return
        seen.append(model)
        for field in model.model_fields.values():
            for sub in _nested(field.annotation):
                visit(sub)

    visit(root)
    return seen


def _nested(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for a in typing.get_args(annotation) for m in _nested(a)]


def _range(field: Any) -> str:
    """The allowed range from the field's constraints (ge/gt/le/lt), e.g. `0 < x ≤ 600`."""
    low = high = ""
    for item in field.metadata:
        for attr, sign in (("ge", "≤"), ("gt", "<")):
            value = getattr(item, attr, None)
            if value is not None:
                low = f"{value:g} {sign} " if isinstance(value, float) else f"{value:,} {sign} "
        for attr, sign in (("le", "≤"), ("lt", "<")):
            value = getattr(item, attr, None)
            if value is not None:
                high = f" {sign} {value:g}" if isinstance(value, float) else f" {sign} {value:,}"
    return f"{low}x{high}" if low or high else ""


def _table(model: type[BaseModel]) -> str:
    doc = " ".join((model.__doc__ or "").split())
    lines = [f"### {model.__name__}", ""]
    if doc:
        lines += [doc, ""]
    lines += ["| field | type | default | allowed | meaning |", "|---|---|---|---|---|"]
    for name, field in model.model_fields.items():
        meaning = " ".join((field.description or "").split())
        lines.append(f"| `{field.alias or name}` | {_type_name(field.annotation)} | {_default(field)} | "
                     f"{_range(field)} | {meaning} |")
    return "\n".join(lines) + "\n"


def reference() -> str:
    parts = [BEGIN, "", "## Reference: every field", "",
             "Generated from the schema (`sim/config/`, `sim/experiment.py`). A distribution (`Dist`) is "
             "written as a plain number or one of the keys below; a schedule is a number or "
             "`[[date, value], ...]`. Every number must be finite; `allowed` states its range (x is the value), and "
             "a whole number is never taken from `true`/`false` or from text.", ""]
    done: list[type[BaseModel]] = []
    for root in (ExperimentSpec, Scenario, Dist, UncertainParameter, DesignSpec):
        for model in _models(root):
            if model not in done:
                done.append(model)
                parts.append(_table(model))
    parts.append(END)
    return "\n".join(parts) + "\n"


def render(text: str) -> str:
    """`text` with its generated section replaced by the current reference."""
    return splice_generated(text, BEGIN, END, reference())


def main() -> int:
    text = DOC.read_text(encoding="utf-8")
    DOC.write_text(render(text), encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
