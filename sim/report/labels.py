"""Words for the identifiers a reader sees (targets, sites, scenarios, levers, parameters).

The configuration has no label fields, so a label is made from the id and what the config says about it
(a target's masks, a scenario's description, a site's kind); the id itself is kept beside it for researchers
(`<span title=id>` in the page, the id column in the CSV files).
"""

from __future__ import annotations

import re
from typing import Any

# Abbreviations and names that title-casing would spoil.
_WORDS = {"esat": "ESAT", "esats": "ESATs", "ea": "EA", "sme": "SME", "smes": "SMEs", "ppe": "PPE",
          "roubaix": "Roubaix", "amiens": "Amiens", "evreux": "Évreux", "grenoble": "Grenoble",
          "onnaing": "Onnaing", "toyota": "Toyota", "val": "Val", "de": "de", "reuil": "Reuil",
          "hauts": "Hauts", "france": "France", "n95": "N95", "ffp2": "FFP2"}


def words(identifier: str) -> str:
    """'esat_amiens' -> 'ESAT Amiens', 'insertion_workshops.03' -> 'insertion workshops no. 3'."""
    text = str(identifier)
    if "+" in text:  # a pair of shocks, 'elastic_shortage+absenteeism_wave'
        first, *rest = (words(part) for part in text.split("+"))
        return " + ".join([first, *(part[:1].lower() + part[1:] if part[1:2].islower() else part for part in rest)])
    # a member number has at most three digits: 'uncertainty_2020' is a name with a year, not member no. 2020
    member = re.fullmatch(r"(.+?)[._#-](\d{1,3})", text)
    if member:
        return f"{words(member[1])} no. {int(member[2])}"
    parts = [p for p in re.split(r"[_.\s]+", text) if p]
    out = [_WORDS.get(p.lower(), p) for p in parts]
    if out and out[0] == out[0].lower():
        out[0] = out[0][:1].upper() + out[0][1:]
    return " ".join(out)


def target_label(name: str, target: dict[str, Any]) -> str:
    """'first_goal' with 2,000,000 masks -> '2 M masks (first goal)'."""
    masks = float(target.get("masks", 0))
    amount = f"{masks / 1e6:g} M" if masks >= 1e6 else f"{masks / 1e3:g} k" if masks >= 1e3 else f"{masks:g}"
    return f"{amount} masks ({words(name).lower()})"


STAGE_PATHS: dict[str, tuple[str, ...]] = {
    # Which parameters act on a stage (for "the assumptions behind the binding stage").
    "pack": (".stages.pack", "archetypes.packaging", "packing_"),
    "sew": (".stages.sew", ".cohorts", ".ceiling", ".first_mask_min", ".wright_rate", ".learning"),
    "cut": (".stages.cut", "cutting_"),
    "inspect": (".stages.inspect",),
    "certification": ("certification.",),
    "supply": ("suppliers.", "materials."),
    "transport": ("routes", "lanes", "hubs."),
}


def acts_on(path: str, stage: str) -> bool:
    return any(key in path for key in STAGE_PATHS.get(stage, (f".stages.{stage}",)))


def variant_words(variant: str) -> str:
    """A scenario in words; a sweep point keeps its paths as they are: 'more_smes (groups.smes.count=6)' ->
    'More smes (groups.smes.count=6)'."""
    name, _, point = str(variant).partition(" (")
    return words(name) + (f" ({point}" if point else "")


def in_sentence(identifier: str) -> str:
    """words() for the middle of a sentence: 'textile' -> 'textile', 'esat' -> 'ESAT', 'roubaix_pilot' -> 'Roubaix
    pilot' (a name or an abbreviation keeps its capital)."""
    text = words(identifier)
    first = re.split(r"[_.\s]+", str(identifier))[0].lower()
    return text if first in _WORDS else text[:1].lower() + text[1:]


def readable_value(value: object) -> str:
    """A value as written in the experiment file, for a reader: a YAML flow mapping
    '{minutes_per_mask: 0.4, operators: 20}' reads 'minutes per mask 0.4, operators 20'."""
    text = str(value).strip()
    if not (text.startswith("{") and text.endswith("}")):
        return text
    items = [item.split(":", 1) for item in text[1:-1].split(",") if item.strip()]
    if not all(len(item) == 2 for item in items):
        return text  # not a flat mapping: shown as written
    return ", ".join(f"{words(key.strip()).lower()} {val.strip()}" for key, val in items)
