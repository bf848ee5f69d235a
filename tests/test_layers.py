"""Imports go one way, from the front doors down: a lower layer never imports a higher one.

Every import statement counts, deferred and TYPE_CHECKING ones included (the walker of test_import_cycles).
Layers, lowest first: the base modules (errors, YAML reading, distributions, seeds, time) < config < entities
< processes < model (with the run's own tables, metrics, conservation) < runs < results readers and analysis <
the studies (experiment, uncertainty, calibration, decisions, regression) < charts and report < cli and api.
`sim.results.tables`, the contract, is read by every layer and imports nothing of the package.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import test_import_cycles

graph = functools.cache(test_import_cycles.graph)  # parsing every module once is enough

BASE = ("sim.errors", "sim.yamlsafe", "sim.distributions", "sim.public_holidays", "sim.archetype_defaults",
        "sim.rng", "sim.timebase", "sim.spec", "sim.heap")
FRONT_DOORS = ("sim.cli", "sim.api", "sim.__main__")
STUDIES = ("sim.experiment", "sim.studies", "sim.uncertainty", "sim.calibration", "sim.decisions", "sim.regress")
PRESENTATION = ("sim.report",)
RESULT_READERS = ("sim.results.analysis", "sim.results.folder")
CORE = ("sim.model", "sim.metrics", "sim.allocation", "sim.results.bottleneck")

# module prefix -> prefixes it must never import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "sim.config": ("sim.entities", "sim.processes", *CORE, "sim.runs", "sim.results", *STUDIES, *PRESENTATION,
                   *FRONT_DOORS),
    "sim.entities": ("sim.model", "sim.results", "sim.runs", *STUDIES, *PRESENTATION, *FRONT_DOORS),
    "sim.processes": ("sim.model", "sim.results", "sim.runs", *STUDIES, *PRESENTATION, *FRONT_DOORS),
    **{core: ("sim.runs", *RESULT_READERS, *STUDIES, *PRESENTATION, *FRONT_DOORS) for core in CORE},
    "sim.runs": (*RESULT_READERS, *STUDIES, *PRESENTATION, *FRONT_DOORS),
    **{reader: (*STUDIES, *PRESENTATION, *FRONT_DOORS) for reader in RESULT_READERS},
    **{study: FRONT_DOORS for study in STUDIES},
    **{page: FRONT_DOORS for page in PRESENTATION},
    "sim.api": ("sim.cli",),
}
# The config package reads only these of the rest of the package.
CONFIG_MAY_IMPORT = BASE


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_config_imports_only_the_base_modules() -> None:
    edges = graph()
    wrong = sorted((a, b) for a, targets in edges.items() if _within(a, "sim.config") for b in targets
                   if not _within(b, "sim.config") and b not in CONFIG_MAY_IMPORT)
    assert not wrong, f"sim.config imports beyond {CONFIG_MAY_IMPORT}: {wrong}"


def test_the_results_contract_imports_nothing_of_the_package() -> None:
    assert graph()["sim.results.tables"] <= {"sim.errors"}


def test_base_modules_import_only_base_modules() -> None:
    edges = graph()
    wrong = sorted((a, b) for a in BASE for b in edges.get(a, ()) if b not in BASE)
    assert not wrong, f"a base module imports a higher layer: {wrong}"


def violations(edges: dict[str, set[str]]) -> list[str]:
    """`module -> target` for every import against the layer order."""
    wrong = []
    for module, targets in edges.items():
        for prefix, forbidden in FORBIDDEN.items():
            if not _within(module, prefix):
                continue
            for target in targets:
                if any(_within(target, f) for f in forbidden):
                    wrong.append(f"{module} -> {target}")
    return sorted(set(wrong))


def test_the_rules_catch_an_import_upwards() -> None:
    edges = {"sim.entities.site": {"sim.runs.driver", "sim.config"}, "sim.cli": {"sim.entities.site"},
             "sim.api": {"sim.cli"}, "sim.model": {"sim.processes.stage"}}
    assert violations(edges) == ["sim.api -> sim.cli", "sim.entities.site -> sim.runs.driver"]


def test_no_lower_layer_imports_a_higher_one() -> None:
    wrong = violations(graph())
    assert not wrong, "imports against the layer order:\n" + "\n".join(wrong)


ANALYSIS_PACKAGES = ("sim.uncertainty", "sim.calibration", "sim.decisions")
# the experiment layer: its own keys (sim.experiment) and the whole file, blocks put together (sim.studies)
EXPERIMENT_CORE, EXPERIMENT_FILE = "sim.experiment", "sim.studies"


def tangled_with_the_experiment(edges: dict[str, set[str]]) -> list[str]:
    """`module -> target` for every import between the experiment layer and the analysis packages that own its
    blocks (issue 25): sim.experiment imports none of them, and none of them imports sim.experiment or
    sim.studies (the commands receive `load_experiment` from the CLI). Only sim.studies knows both."""
    wrong = [f"{module} -> {target}" for module, targets in edges.items() if _within(module, EXPERIMENT_CORE)
             for target in targets if any(_within(target, p) for p in ANALYSIS_PACKAGES)]
    wrong += [f"{module} -> {target}" for module, targets in edges.items()
              if any(_within(module, p) for p in ANALYSIS_PACKAGES)
              for target in targets if _within(target, EXPERIMENT_CORE) or _within(target, EXPERIMENT_FILE)]
    return sorted(wrong)


def test_the_experiment_rule_catches_both_directions() -> None:
    edges = {"sim.calibration.command": {"sim.experiment", "sim.calibration.space"},
             "sim.decisions.adding": {"sim.studies"},
             "sim.experiment": {"sim.config", "sim.uncertainty.study"},
             "sim.studies": {"sim.experiment", "sim.decisions.block"},
             "sim.cli": {"sim.studies", "sim.calibration.command"}}
    assert tangled_with_the_experiment(edges) == ["sim.calibration.command -> sim.experiment",
                                                  "sim.decisions.adding -> sim.studies",
                                                  "sim.experiment -> sim.uncertainty.study"]


def test_the_experiment_and_the_analysis_packages_do_not_import_each_other() -> None:
    wrong = tangled_with_the_experiment(graph())
    assert not wrong, "imports between sim.experiment and the analysis packages:\n" + "\n".join(wrong)


def test_the_rules_name_modules_that_exist() -> None:
    """A rule about a renamed or moved module would silently check nothing."""
    modules = set(graph())
    named = {*BASE, *FRONT_DOORS, *STUDIES, *RESULT_READERS, *CORE, *ANALYSIS_PACKAGES, EXPERIMENT_FILE, "sim.config",
             "sim.entities", "sim.processes", "sim.runs"}
    missing = sorted(n for n in named if not any(_within(m, n) for m in modules))
    assert not missing, f"layer rules name modules that do not exist: {missing}"
