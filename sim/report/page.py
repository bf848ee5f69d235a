"""One self-contained HTML page answering the experiment's questions, for readers who never see the code.

`write_report(results_dir)` draws the charts (sim.report.charts) and writes `report.html` into the results
directory: the first screen (four answers in five minutes), the decision page when the results hold levers or
shocks, the headline answers (targets: median date and probability of reaching them by their date; the
bottleneck of each week; the branches and sites waiting for input; the scenario ranking), then the charts with
one-sentence captions, the assumptions table (every parameter with its source, or "assumption"), and a
reproducibility box (config hash, seeds, versions, git commit, the command to rerun).

The page has no external resource of any kind: charts are PNG data URIs, the CSS is inline, fonts are the
reader's system fonts. It can be mailed, archived and opened offline, and it prints (an @media print block).
Above the static charts, "Explore the results" holds the same numbers as interactive plotly figures
(sim.report.interactive) with plotly.js inlined once: the page's only script, which requests nothing;
`write_report(..., static=True)` (`resilience report --static`) leaves it out and writes the
page without script. It is a Jinja2 template (templates/report.html.j2) with autoescaping: no HTML is built in
Python and nothing is escaped by hand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from markupsafe import Markup

from sim.report import answers
from sim.report.charts import ChartOutcome, render_all
from sim.report.data import assumption_counts, assumption_rows, headline_drivers
from sim.report.first_screen import first_screen_html, parameter_label
from sim.report.formatting import fmt_date_long
from sim.report.labels import words
from sim.report.templating import data_uri, render
from sim.results.results_set import ResultsSet

REPORT_NAME = "report.html"
# The columns of series.parquet that the charts and sections read, identifiers read as categories (a thousand
# runs' series are millions of rows). daily and cohorts are never read as frames: the charts and sections
# aggregate them while they are read (ResultsSet.rows, sim.results.scan).
REPORT_COLUMNS = {"series": ("run_id", "scenario", "day", "date", "series", "key", "value")}
# What the charts and sections read of the big tables, in the order they need it: read ahead in a background
# thread while the first charts are drawn (ResultsSet.prefetch). (table, identifier and date columns, numbers)
READ_AHEAD = (
    ("daily", ("date",), ()),  # the horizon, on the first chart
    ("bottlenecks", ("level", "week_start", "stage"), ("share",)),
    ("cohorts", ("site", "cohort", "stage", "date", "group", "role"),
     ("standard_share", "present", "efficiency", "size")),
    ("daily", ("site", "kind", "stage"), ()),
)


def _charts(outcomes: list[ChartOutcome]) -> dict[str, Any]:
    drawn = [{"name": o.name, "uri": data_uri(o.path), "title": o.title, "caption": o.caption, "file": o.path.name}
             for o in outcomes if o.path is not None]
    skipped = [{"name": o.name, "reason": o.reason} for o in outcomes if o.path is None]
    return {"drawn": drawn, "skipped": skipped}


def _format_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _assumption_row(row: dict[str, Any]) -> dict[str, Any]:
    path = str(row.get("path"))
    return {"label": row.get("label") or parameter_label(path), "path": path, "value": _format_value(row.get("value")),
            "source": str(row.get("source") or "").strip(), "guess": row["guess"], "assumed": row["assumed"],
            "note": row.get("note"), "why": row.get("why"), "drawn": row.get("drawn")}


def _assumptions(rs: ResultsSet) -> dict[str, Any] | None:
    rows = assumption_rows(rs)
    if not rows:
        return None
    drivers, how = headline_drivers(rs, rows)
    return {"counts": assumption_counts(rows), "how": how, "drivers": [_assumption_row(r) for r in drivers],
            "scenario": [_assumption_row(r) for r in rows if not r["default"]],
            "defaults": [_assumption_row(r) for r in rows if r["default"]]}


def _reproducibility(rs: ResultsSet) -> list[dict[str, Any]]:
    """(term, value, how to show it) rows of the reproducibility box."""
    m = rs.manifest
    git = m.get("git") if isinstance(m.get("git"), dict) else {}
    commit = m.get("git_commit")
    if isinstance(commit, dict):  # tolerate the runner's {"commit", "dirty"} form under this key too
        git, commit = commit, commit.get("commit")
    commit_text = str(commit) if commit else "not recorded (not a git checkout?)"
    if git.get("dirty"):
        commit_text += " (with uncommitted changes: the code may differ from this commit)"
    versions = m.get("versions") or {}
    version_text = " · ".join(f"{k} {v}" for k, v in versions.items()) if isinstance(versions, dict) else versions
    runs = rs.table("runs")
    seeds = ""
    if runs is not None and "seed" in runs.columns:
        seeds = ", ".join(f"{r}: {s}" for r, s in zip(runs["run_id"], runs["seed"], strict=True))
    items = [
        {"term": "Experiment", "value": rs.experiment},
        {"term": "Config hash", "value": m.get("config_hash") or "not recorded", "code": True},
        {"term": "Root seed", "value": m.get("root_seed"), "code": True},
        {"term": "Run seeds", "value": seeds or "not recorded", "seeds": True},
        {"term": "Versions", "value": version_text or "not recorded"},
        {"term": "Git commit", "value": commit_text, "code": True},
    ]
    if m.get("started_at") or m.get("finished_at"):
        items.append({"term": "Run", "value": f"{m.get('started_at') or '?'} → {m.get('finished_at') or '?'} "
                                              f"({m.get('status') or 'status not recorded'})"})
    command = m.get("command")
    items.append({"term": "Command to rerun", "value": command or "not recorded", "pre": bool(command)})
    return items


def _explore(rs: ResultsSet) -> dict[str, Any]:
    """The interactive section's HTML and the scripts that draw it (plotly.js inlined once, then the figures)."""
    from sim.report.charts.base import ChartSkipped
    from sim.report.interactive import build_figures, figures_payload, plotly_js
    from sim.report.network_map import network_map
    from sim.report.templating import TEMPLATES
    from sim.report.whatif import SLIDER_STEPS, describe_check, whatif_panel
    from sim.results.results_set import TableMissing

    figures, skipped = build_figures(rs)
    try:
        the_map = network_map(rs)
    except (ChartSkipped, TableMissing) as why:
        the_map = None
        skipped.append({"name": "network_map", "reason": why.reason})
    panel = whatif_panel(rs)
    whatif = None if panel is None else Markup(render(
        "whatif.html.j2", sliders=panel["sliders"], steps=SLIDER_STEPS, command=panel["command"],
        others=panel["others"], choices=panel["choices"], points=panel["emulators"][0]["check"]["points"],
        emulators=[{"label": e["label"], "check": describe_check(e["check"], e["unit"])} for e in panel["emulators"]]))
    section = render("interactive.html.j2", figures=figures, skipped=skipped, network_map=the_map, whatif=whatif)
    drawn = figures + ([the_map] if the_map is not None else [])
    exported = None if panel is None else {k: v for k, v in panel.items() if k != "fitted"}
    scripts = ["interactive.js"] + (["whatif.js"] if panel is not None else [])
    return {"section": Markup(section), "plotly_js": Markup(plotly_js()),
            "payload": Markup(figures_payload(drawn, whatif=exported)),
            "draw_js": Markup("\n".join((TEMPLATES / name).read_text(encoding="utf-8") for name in scripts))}


def build_html(rs: ResultsSet, outcomes: list[ChartOutcome], static: bool = False) -> str:
    """The whole page as a string (no I/O besides reading the chart PNGs); `static`: without the interactive
    section and its script."""
    from sim.decisions.report_section import decision_section
    from sim.uncertainty.report_section import section_html

    failed = len(rs.failed_runs)
    meta = (f"Start {fmt_date_long(rs.start_date)} {rs.start_date.year} · simulated to {fmt_date_long(rs.end_date)}"
            f" · {len(rs.ok_runs)} runs finished" + (f", {failed} failed" if failed else "")
            + " · scenarios: " + ", ".join(words(v) for v in rs.variants))
    return render(
        "report.html.j2", title=words(rs.experiment), experiment_id=rs.experiment, meta=meta,
        first_screen=Markup(first_screen_html(rs)), decisions=Markup(decision_section(rs)),
        uncertainty=Markup(section_html(rs.dir)), failed=answers.failed_runs(rs), delivered=answers.delivered(rs),
        targets=answers.targets(rs), weeks=answers.bottleneck_weeks(rs), weeks_scenario=(
            words(rs.base_variant) if len(rs.variants) > 1 else None),
        branches=answers.branches(rs), ranking=answers.ranking(rs), charts=_charts(outcomes),
        assumptions=_assumptions(rs), reproducibility=_reproducibility(rs), folder=rs.dir.name,
        explore=None if static else _explore(rs))


def write_report(results_dir: str | Path, static: bool = False) -> Path:
    """Draw the charts into `<results_dir>/charts/` and write `<results_dir>/report.html`; return its path.
    `static`: the page without its interactive section (no script), as before the interactive charts."""
    from sim.report.summary import write_summary_page
    from sim.runs.atomic import atomic_write_bytes

    rs = ResultsSet(results_dir, columns=REPORT_COLUMNS)
    rs.prefetch(READ_AHEAD)
    try:
        outcomes = render_all(rs, rs.dir / "charts")
        final = rs.dir / REPORT_NAME
        # Write then rename, so a reader (or a browser left open) never sees half a page.
        atomic_write_bytes(final, build_html(rs, outcomes, static).encode("utf-8"))
        write_summary_page(rs, outcomes)  # the printable two-page form, beside the long one
    finally:
        rs.close()
    return final


__all__ = ["REPORT_NAME", "build_html", "write_report"]
