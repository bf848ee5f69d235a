"""The report of one results folder: charts (sim.report.charts, one family a module), the HTML page
(sim.report.page, Jinja2 templates in sim/report/templates with autoescaping), its first screen, the printable
two-page summary and screenshots.

This package's root stays light (no matplotlib, no pandas at import): text-only users such as
`sim.report.formatting` do not pay for the charts.
"""

from __future__ import annotations

from pathlib import Path


def write_report(results_dir: str | Path, static: bool = False) -> Path:
    """Draw the charts into `<results_dir>/charts/` and write `report.html` and `summary.html`; the report's path.
    `static`: report.html without its interactive charts (no script)."""
    from sim.report.page import write_report as write

    return write(results_dir, static)


__all__ = ["write_report"]
