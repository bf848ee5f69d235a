"""The assumptions table: every parameter of a scenario file with the source or "assumption" its author
wrote beside it in a YAML comment (YAML parsers drop comments, so the file is read as text here).

Block-style YAML is read line by line: indentation gives the dotted path of each key; a comment on a
line applies to that line's key (flow mappings such as `{a: 1, b: 2}` are one row for the key that
holds them). A comment alone on the line before a key applies to that key.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.config import Scenario

_ITEM = re.compile(r"^(?P<indent>\s*)-\s+(?P<value>[^\s#].*)$")
_KEY = re.compile(r"^(?P<indent>\s*)(?P<dash>-\s+)?(?P<key>[A-Za-z_][\w\-]*)\s*:\s*(?P<value>.*)$")


def _split_comment(text: str) -> tuple[str, str]:
    """Split 'value  # comment' outside quotes."""
    quote = None
    for i, ch in enumerate(text):
        if ch in "'\"":
            quote = None if quote == ch else (quote or ch)
        elif ch == "#" and quote is None and (i == 0 or text[i - 1].isspace()):
            return text[:i].rstrip(), text[i + 1:].strip()
    return text.rstrip(), ""


def _pop_to_list(stack: list[tuple[int, str]], indent: int) -> None:
    """Leave on top of the stack the list that an item at `indent` belongs to. YAML lets a key's list sit at
    the key's own indent (`routes:` then `- from: a`, as PyYAML writes it), so an open key at the same
    indent is the list's owner; an earlier item of the same list (a path ending in `]`) is a sibling."""
    while stack and (stack[-1][0] > indent or (stack[-1][0] == indent and stack[-1][1].endswith("]"))):
        stack.pop()


def _unquoted(value: str) -> str:
    """A quoted scalar as the reader means it ('15:00' -> 15:00)."""
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"" else value


def extract(path: str | Path, numbers_only: bool = True) -> list[dict[str, str]]:
    """Rows {path, value, source}: one per key whose value holds a number (all keys if not
    `numbers_only`), with the comment on its line, or on the line above it, as the source."""
    rows: list[dict[str, str]] = []
    stack: list[tuple[int, str]] = []  # (indent, full path) of the open mappings and list items
    list_index: dict[str, int] = {}
    comment_of: dict[str, str] = {}  # key path -> its comment, inherited by list items without one
    pending_comment = ""
    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            pending_comment = stripped.lstrip("#").strip()
            continue
        match = _KEY.match(raw)
        item = _ITEM.match(raw) if not match else None
        if item:  # a list item that is a value, e.g. `- {x: 1}  # source`
            indent = len(item["indent"])
            _pop_to_list(stack, indent)
            parent = stack[-1][1] if stack else ""
            value, comment = _split_comment(item["value"])
            while value.startswith("- "):  # an item of a nested list, `- - 08:00` as PyYAML writes it
                index = list_index.get(parent, -1) + 1
                list_index[parent] = index
                parent = f"{parent}[{index}]"
                stack.append((indent, parent))
                value = value[2:].lstrip()
            value = _unquoted(value)
            index = list_index.get(parent, -1) + 1
            list_index[parent] = index
            source = comment or pending_comment or _inherited(comment_of, parent)
            pending_comment = ""
            if not numbers_only or re.search(r"\d", value):
                rows.append({"path": f"{parent}[{index}]", "value": value, "source": source or "not stated"})
            continue
        if not match:
            continue
        indent = len(match["indent"])
        if match["dash"]:
            _pop_to_list(stack, indent)
            parent = stack[-1][1] if stack else ""
            index = list_index.get(parent, -1) + 1
            list_index[parent] = index
            stack.append((indent, f"{parent}[{index}]"))
            indent += len(match["dash"])
        else:
            while stack and stack[-1][0] >= indent:
                stack.pop()
        parent = stack[-1][1] if stack else ""
        full = f"{parent}.{match['key']}" if parent else match["key"]
        value, comment = _split_comment(match["value"])
        value = _unquoted(value)
        if value.startswith("&"):  # a YAML anchor names the mapping; it is not a value
            value = value.split(None, 1)[1] if " " in value else ""
        source = comment or pending_comment
        pending_comment = ""
        if source:
            comment_of[full] = source
        if value in ("", "|", ">", ">-", "|-"):
            stack.append((indent, full))
            if value:  # a block scalar: its lines are text, not keys
                continue
        if numbers_only and not re.search(r"\d", value):
            continue
        rows.append({"path": full, "value": value, "source": source or "not stated"})
    return rows


def _inherited(comment_of: dict[str, str], path: str) -> str:
    """The comment of the nearest enclosing key that has one ('a.b[2].c' -> 'a.b[2].c', 'a.b', 'a')."""
    while path:
        if path in comment_of:
            return comment_of[path]
        path = re.sub(r"(\[\d+\]|\.?[^.\[\]]+)$", "", path)
    return ""


def operator_speed_notes(scenario: Scenario) -> dict[str, str]:
    """Path of each stage declaring `operators` -> what those operators really make an hour. They are skilled
    people working at the site's ceiling (default: its kind's archetype ceiling), so the standard time alone
    overstates them (docs/model.md, People)."""
    from sim.entities.archetypes import archetype_for

    notes: dict[str, str] = {}
    holders: list[tuple[str, Any, float | None]] = [(f"sites.{n}", s, s.ceiling) for n, s in scenario.sites.items()]
    holders += [(f"groups.{n}", g, None) for n, g in scenario.groups.items()]
    for prefix, holder, own_ceiling in holders:
        if holder.kind == "hub":
            continue
        ceiling = own_ceiling if own_ceiling is not None else archetype_for(holder.kind, scenario.archetypes).ceiling
        for stage_name, stage in holder.stages.items():
            if not stage.operators:
                continue
            standard = 60.0 / stage.minutes_per_mask
            notes[f"{prefix}.stages.{stage_name}"] = (
                f"speed cap: {stage.operators} operators at the {holder.kind} ceiling {ceiling:g} make "
                f"{ceiling * standard:,.0f} masks/h each ({standard:,.0f} at the standard time)")
    return notes


def with_operator_speeds(rows: list[dict[str, str]], scenario: Scenario) -> list[dict[str, str]]:
    """The assumptions rows, each row of a stage with `operators` (its flow mapping or its `operators` key)
    carrying a `note` with the operators' real speed."""
    notes = operator_speed_notes(scenario)
    for row in rows:
        path = row["path"]
        key = path[: -len(".operators")] if path.endswith(".operators") else path
        if key in notes:
            row["note"] = notes[key]
    return rows


_ASSUMED = re.compile(r"\b(assum\w*|guess\w*|not stated)\b", re.IGNORECASE)
_GUESS = re.compile(r"\bguess", re.IGNORECASE)


def is_assumption(source: str | None) -> bool:
    """True when a source rests on an assumption: empty, or the word "assumption"/"assumed"/"GUESS" anywhere in
    it ("1-2 days (GUESS)", "0.8 (assumption), curve from docs/sources.md" both count)."""
    text = (source or "").strip()
    return not text or bool(_ASSUMED.search(text))


def is_guess(source: str | None) -> bool:
    """A value its author marked GUESS: weaker than a reasoned assumption, shown first on the page."""
    return bool(_GUESS.search(source or ""))


_ARCHETYPE_ENTRY = re.compile(r'^\s*"(?P<kind>\w+)":\s*dict\(')


def archetype_rows(kinds: set[str] | None = None,
                   overridden: dict[str, dict[str, Any]] | None = None) -> list[dict[str, str]]:
    """The site-kind defaults (sim/entities/archetypes.py: speed caps, learning curves, defect rates, absence
    factors, written in sim/archetype_defaults.py) as assumptions rows `archetypes.<kind>.<field>`, each with its
    kind's comment as the source. Only `kinds` (default: every kind that produces). Fields a scenario overrides
    (`archetypes.<kind>.<field>` in its YAML) are left out: the scenario's own row (with its comment) holds them."""
    from sim import archetype_defaults
    from sim.entities import archetypes

    overridden = overridden or {}
    rows: list[dict[str, str]] = []
    comment: list[str] = []
    for line in Path(archetype_defaults.__file__).read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            comment.append(stripped.lstrip("#").strip())
            continue
        match = _ARCHETYPE_ENTRY.match(line)
        kind = match["kind"] if match else None
        if kind is not None and kind != "hub" and (kinds is None or kind in kinds):
            source = " ".join(comment) or "not stated"
            for field, value in archetypes.ARCHETYPES[kind].model_dump().items():
                if value is None or field in overridden.get(kind, {}):
                    continue
                rows.append({"path": f"archetypes.{kind}.{field}", "value": f"{value:g}" if isinstance(
                    value, float) else str(value), "source": f"site-kind default: {source}"})
        comment = []
    return rows
