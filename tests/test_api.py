"""The notebook API (sim/api.py): the example of docs/api.md runs as written; tables do not depend on the
executor nor on whether files are written; loading from a dict and overrides work like files and --set."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_the_documented_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 1
    monkeypatch.chdir(ROOT)
    exec(compile(blocks[0], "docs/api.md", "exec"), {"__name__": "docs_api_example"})


def _small() -> sim.api.Experiment:
    return sim.load(ROOT / "experiments" / "ci_regression.yaml", {"horizon_days": 14}, seed=5)


@pytest.fixture(scope="module")
def in_memory() -> sim.Results:
    return sim.run(_small(), replications=2)


@pytest.mark.slow
def test_tables_do_not_depend_on_the_executor_or_on_writing(in_memory: sim.Results, tmp_path: Path) -> None:
    written = sim.run(_small(), replications=2, out=tmp_path / "out")
    on_dask = sim.run(_small(), replications=2, executor="dask", workers=2)
    assert (tmp_path / "out" / "daily.parquet").is_file() and written.out_dir == tmp_path / "out"
    for name in ("runs", "daily", "series", "cohorts", "bottlenecks"):
        a = getattr(in_memory, name).drop(columns=["wall_seconds"], errors="ignore")
        for other in (written, on_dask):
            b = getattr(other, name).drop(columns=["wall_seconds"], errors="ignore")
            pd.testing.assert_frame_equal(a, b, check_dtype=False, check_exact=True)
    pd.testing.assert_frame_equal(in_memory.summary, written.summary, check_dtype=False)


def test_a_dict_with_overrides_is_the_file_with_set(in_memory: sim.Results) -> None:
    data = sim.config.read_yaml(ROOT / "experiments" / "ci_regression.yaml")
    from_dict = sim.load(data, ["horizon_days=14"], seed=5)
    assert from_dict.run_specs(2)[1].scenario == _small().run_specs(2)[1].scenario
    assert in_memory.kpi("masks_delivered").index.tolist() == ["base/p0/r000", "base/p0/r001"]


def test_bad_input_raises_the_one_line_config_error() -> None:
    with pytest.raises(ConfigError, match="horizon_days"):
        sim.load(ROOT / "experiments" / "ci_regression.yaml", {"horizon_days": -3})
    with pytest.raises(ValueError, match="executor"):
        sim.run(_small(), executor="threads")  # type: ignore[arg-type]
