"""The `uncertain:` and `design:` blocks of an experiment file: their fields, and the checks `Experiment` calls
(sim.experiment.Block; put together in sim.studies). A study's design points replace the experiment's sweep."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from sim.config import parse_path, paths_overlap, scenario_dict
from sim.errors import ConfigError

# validated by sim.uncertainty.study when the study is built, with the base scenario at hand
FIELDS: dict[str, tuple[Any, Any]] = {
    "uncertain": (dict[str, Any] | None, Field(None, description="dotted path -> distribution, label, source")),
    "design": (dict[str, Any] | None, Field(None, description="{method: lhs | sobol | morris, samples: N, ...}")),
}


def _inside(path: str, outer: str) -> bool:
    """`path` sets `outer` or a value inside it (setting a section that holds `outer` is not inside it)."""
    try:
        return paths_overlap(path, outer) and len(parse_path(path)) >= len(parse_path(outer))
    except ValueError:
        return path == outer


def _uncertain_targets(uncertain: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(parameter, path it varies) for every uncertain parameter and its `also:` paths (as written)."""
    out = []
    for param, raw in (uncertain or {}).items():
        choice = raw.get("choice") if isinstance(raw, dict) else None
        if isinstance(choice, dict):  # a structural choice varies the paths its alternatives set
            paths = {path: None for alt in choice.values() if isinstance(alt, dict)
                     for path in (alt.get("set") if isinstance(alt.get("set"), dict) else {})}
            out += [(param, target) for target in paths if isinstance(target, str)]
            continue
        also = raw.get("also") if isinstance(raw, dict) else None
        out += [(param, target) for target in [param, *(also if isinstance(also, list) else [])]
                if isinstance(target, str)]
    return out


def check_conflicts(exp: Any) -> None:
    """Refuse a scenario's `set` or a `--set` on a path an uncertain parameter varies: the design's points are
    applied last and would silently replace it."""
    spec, file = exp.spec, exp.file
    uncertain = _uncertain_targets(spec.uncertain)
    for name, variant in spec.scenarios.items():
        for path in variant.set:
            for param, target in uncertain:
                if _inside(path, target):
                    raise ConfigError.at(file, f"scenarios.{name}.set.{path}", variant.set[path],
                                         f"uncertain.{param} varies {target} and its design points would silently "
                                         "replace this value: set it in one place (the base value is the nominal "
                                         "point)")
    for path in exp.set_paths:
        for param, target in uncertain:
            if _inside(path, target):
                raise ConfigError.at("--set", path, path, f"uncertain.{param} of {file} varies {target} and its design "
                                     "points would override it")


def build(exp: Any) -> None:
    """The study's design points replace the sweep (unless a calibration designs its own waves)."""
    from sim.uncertainty.study import build_study

    check_conflicts(exp)
    spec = exp.spec
    if getattr(spec, "calibration", None) is not None or not (spec.uncertain or spec.design):
        return
    base_set = spec.scenarios[spec.base_scenario].set
    exp.study = build_study(exp.file, spec.uncertain, spec.design, scenario_dict(exp.base), base_set, exp.seed)
    exp.points = exp.study.points
