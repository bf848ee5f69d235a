"""The results contract (sim/results/tables.py): the writer follows it, readers can rely on it, the doc is current."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim.results import tables
from sim.results.tables import ContractError, kpi_family, kpi_key, kpi_name, read_manifest, validate


def test_the_results_doc_is_generated_from_the_contract() -> None:
    text = tables.DOC.read_text(encoding="utf-8")
    assert tables.render(text) == text, "docs/results.md is stale: run `python -m sim.results.tables`"


@pytest.mark.parametrize("name", ["runs", "daily", "series", "cohorts", "bottlenecks"])
def test_every_table_of_a_real_run_follows_its_schema(results_dir: Path, name: str) -> None:
    frame = pd.read_parquet(results_dir / f"{name}.parquet")
    assert list(frame.columns[: len(tables.TABLES[name].columns)]) == list(tables.TABLES[name].column_names)
    validate(name, frame)


def test_the_summary_and_manifest_follow_the_contract(results_dir: Path) -> None:
    validate("summary", pd.read_parquet(results_dir / "summary.parquet"))
    manifest = read_manifest(results_dir / "manifest.json")
    assert [r.status for r in manifest.runs].count("failed") == 1
    assert set(manifest.scenarios) == {"base", "more_smes"} and manifest.targets


def test_every_kpi_of_a_real_run_is_registered(results_dir: Path) -> None:
    runs = pd.read_parquet(results_dir / "runs.parquet")
    fixed = set(tables.TABLES["runs"].column_names)
    kpis = [c for c in runs.columns if c not in fixed]
    assert len(kpis) > 40 and all(kpi_family(c) is not None for c in kpis)
    # families with a key really have one key per entity
    assert {kpi_key(tables.FILL_RATE, c) for c in kpis if c.startswith("fill_rate.")} == {"charities",
                                                                                            "public_services"}


def test_validation_names_what_is_wrong() -> None:
    good = pd.DataFrame({"run_id": ["a/p0/r000"], "scenario": ["a"], "replication": [0], "day": [0],
                         "date": pd.to_datetime(["2020-03-30"]), "series": ["held"], "key": ["all"],
                         "value": [1.0]})
    validate("series", good)
    with pytest.raises(ContractError, match=r"lacks column.*value"):
        validate("series", good.drop(columns="value"))
    with pytest.raises(ContractError, match=r"wrong type: value \(\w+, expected float64"):
        validate("series", good.assign(value=["x"]))
    with pytest.raises(ContractError, match="not in its schema: surprise"):
        validate("series", good.assign(surprise=1.0))
    runs = pd.DataFrame({"run_id": ["a"], "scenario": ["a"], "replication": [0], "seed": [1], "status": ["ok"],
                         "error": [None], "wall_seconds": [1.0], "masks_delivered": [1.0], "param.x": [1],
                         "mystery_kpi": [2.0]})
    with pytest.raises(ContractError, match="not in the KPI registry: mystery_kpi"):
        validate("runs", runs)


def test_kpi_registry_resolves_names_and_prefixes() -> None:
    assert kpi_name(tables.DAY_TARGET, "first_goal") == "day_target.first_goal"
    assert kpi_family("day_target.first_goal").unit == "days"
    assert kpi_family("day_target.first_goal").higher_is_better is False
    assert kpi_family("masks_scrapped_on_audit").name == "masks_scrapped_on_audit"  # not the masks_scrapped entry
    assert kpi_family("P(reached_by_date.first_goal)").name == "reached_by_date."
    assert tables.is_share("fill_rate.charities") and not tables.is_share("masks_delivered")
    assert kpi_family("no_such_kpi") is None
    with pytest.raises(KeyError):
        kpi_name("nope.", "x")


def test_the_flow_stages_hold_the_site_stages_in_their_order():
    """`stage` values of the tables (sim.results.tables) and a site's stages (sim.config) are declared apart, so
    that the contract needs no import of the schema: they must agree."""
    from sim.config import STAGE_ORDER

    start = tables.FLOW_STAGES.index(STAGE_ORDER[0])
    assert tables.FLOW_STAGES[start:start + len(STAGE_ORDER)] == STAGE_ORDER
