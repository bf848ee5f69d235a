"""The charts of one results folder, one family a module, each behind `render(rs, out_dir)`.

Every chart is drawn from the Parquet tables and manifest.json alone (through `ResultsSet`), in one style
(sim.report.style), with real dates on time axes and a title that states what the data show (computed, never
hard-coded); each is written as `<name>.png` (150 dpi) and `<name>.svg`. A chart whose data are absent is not
drawn: it raises `ChartSkipped` with the reason, which the report lists.

To add a chart: a `draw_<name>(rs) -> (figure, caption)` in its family's module, entered in that module's
`CHARTS`; a new family: a module with `CHARTS` and `render`, entered in `FAMILIES` below.
"""

from __future__ import annotations

from pathlib import Path

from sim.report.charts import bottlenecks, distribution, materials, quality, scenarios, throughput, workforce
from sim.report.charts.base import ChartOutcome, ChartSkipped, Draw, render_chart
from sim.results.results_set import ResultsSet, as_results

# In the report's order: the answer (deliveries), what limits it, then the detail.
FAMILIES = (throughput, bottlenecks, workforce, materials, quality, distribution, scenarios)
CHARTS: dict[str, Draw] = {name: draw for family in FAMILIES for name, draw in family.CHARTS.items()}


def render_all(results: ResultsSet | str | Path, out_dir: str | Path | None = None) -> list[ChartOutcome]:
    """Draw every chart of every family into `out_dir` (default `<results>/charts`); skipped charts carry
    their reason."""
    rs = as_results(results)
    target = Path(out_dir) if out_dir is not None else rs.dir / "charts"
    return [outcome for family in FAMILIES for outcome in family.render(rs, target)]


def draw_chart(name: str, results: ResultsSet | str | Path, out_dir: str | Path) -> Path:
    """Draw one chart by name; its PNG path, or ChartSkipped with the reason."""
    outcome = render_chart(name, CHARTS[name], as_results(results), Path(out_dir))
    if outcome.path is None:
        raise ChartSkipped(outcome.reason or "no data")
    return outcome.path


def make_all(results_dir: str | Path, out_dir: str | Path | None = None) -> dict[str, Path | None]:
    """Draw every chart; {name: PNG path, or None where the chart was skipped for lack of data}."""
    return {o.name: o.path for o in render_all(results_dir, out_dir)}


__all__ = ["CHARTS", "FAMILIES", "ChartOutcome", "ChartSkipped", "draw_chart", "make_all", "render_all"]
