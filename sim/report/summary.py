"""The printable summary: at most two A4 pages, the first screen and the key charts (summary.html, and
summary.pdf printed by headless Chromium). The full report (report.html) stays the long form."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from markupsafe import Markup

from sim.report.data import interval_words, levers_table
from sim.report.first_screen import first_screen_html
from sim.report.labels import words
from sim.report.screenshot import CHROMIUM_FLAGS, find_chromium
from sim.report.templating import data_uri, render
from sim.runs.atomic import atomic_write_bytes

if TYPE_CHECKING:
    from sim.report.charts.base import ChartOutcome
    from sim.results.results_set import ResultsSet

SUMMARY_NAME = "summary.html"
SUMMARY_PDF = "summary.pdf"
MAX_PAGES = 2
# The charts that answer the first two questions, plus the lever ranking when the decision layer drew it.
KEY_CHARTS = ("cumulative_delivered", "bottleneck_timeline")


def build_summary(rs: ResultsSet, outcomes: list[ChartOutcome]) -> str:

    charts = [{"name": o.name, "uri": data_uri(o.path), "title": o.title, "caption": o.caption}
              for o in outcomes if o.name in KEY_CHARTS and o.path is not None]
    levers = rs.dir / "charts" / "levers_ranked.png"
    found = levers_table(rs)
    if levers.exists() and found is not None:
        charts.append({"name": "levers_ranked", "uri": data_uri(levers), "title": "Levers ranked by days gained",
                       "caption": f"Days gained on the first target by each lever (paired with the base, "
                                  f"{interval_words(found[0])})."})
    meta = (f"Start {rs.start_date:%d %B %Y}, simulated to {rs.end_date:%d %B %Y}, "
            f"{len(rs.ok_runs)} runs finished")
    return render(
        "summary.html.j2",
        title=words(rs.experiment), meta=meta, first_screen=Markup(first_screen_html(rs)), charts=charts,
        folder=rs.dir.name)


def write_summary_page(rs: ResultsSet, outcomes: list[ChartOutcome]) -> Path:
    path = rs.dir / SUMMARY_NAME
    atomic_write_bytes(path, build_summary(rs, outcomes).encode("utf-8"))
    return path


def print_pdf(html: Path, pdf: Path, timeout_s: float = 120.0) -> Path:
    """Print `html` to `pdf` with headless Chromium (A4 from the page's @page rule, no header or footer)."""
    browser = find_chromium()
    if browser is None:
        raise RuntimeError("no Chromium found: install the Debian package 'chromium' to print the summary")
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--no-pdf-header-footer",
             f"--print-to-pdf={pdf.resolve()}", html.resolve().as_uri()],
            capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0 or not pdf.exists():
        raise RuntimeError(f"Chromium could not print {html}: {done.stderr.strip()[-300:]}")
    return pdf


def pdf_pages(pdf: Path) -> int:
    """Pages of a PDF: its `/Type /Page` objects (not `/Pages`, the page tree)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf.read_bytes()))
