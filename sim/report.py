"""One self-contained HTML page answering the experiment's questions, for readers who never see the code.

`write_report(results_dir)` draws the charts (sim.charts) and writes `report.html` into the results
directory: the headline answers first (targets: median date and probability of reaching them by their date;
the bottleneck of each week in plain words; the scenario ranking), then the charts with one-sentence
captions, the assumptions table (every parameter with its source, or "assumption"), and a reproducibility
box (config hash, seeds, versions, git commit, the command to rerun).

The page has no external resource of any kind: charts are PNG data URIs, the CSS is inline, fonts are the
reader's system fonts, there is no script. It can be mailed, archived and opened offline, and it prints
(an @media print block). Every piece of text from the results is escaped with html.escape.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.charts import (
    MAIN_KPI,
    ChartOutcome,
    ResultsSet,
    fmt_approx,
    fmt_count,
    fmt_date,
    fmt_date_long,
    fmt_pct,
    fmt_signed_approx,
    median_with_unreached,
    render_all,
    stage_name,
)
from sim.first_screen import first_screen_html
from sim.labels import words
from sim.report_data import (
    assumption_counts,
    assumption_rows,
    base_scenario_config,
    data_uri,
    headline_drivers,
)
from sim.runs.atomic import atomic_write_bytes

REPORT_NAME = "report.html"

CSS = """
:root { --ink: #1b1b1b; --muted: #5a5a5a; --line: #d9dde3; --accent: #0072B2; --warn: #D55E00;
        --panel: #f4f6f9; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
       font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "DejaVu Sans",
             sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 1.5rem 2rem 4rem; }
h1 { font-size: 1.8rem; margin: 0 0 .25rem; }
h2 { font-size: 1.35rem; margin: 2.5rem 0 .75rem; padding-bottom: .25rem;
     border-bottom: 2px solid var(--accent); }
h3 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
p.meta { color: var(--muted); margin: 0 0 1rem; }
nav { font-size: .95rem; margin: .5rem 0 1rem; }
nav a { margin-right: 1rem; color: var(--accent); }
table { border-collapse: collapse; width: 100%; font-size: .93rem; margin: .5rem 0 1rem; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td code, dd code { font-size: .88rem; word-break: break-all; }
.answer { font-size: 1.05rem; }
ul.weeks { columns: 2 22rem; padding-left: 1.2rem; margin: .25rem 0; }
ul.weeks li { break-inside: avoid; }
.second { color: var(--muted); }
ol.ranking li { margin: .2rem 0; }
.warn { border-left: 5px solid var(--warn); background: #fdf1ea; padding: .75rem 1rem; margin: 1rem 0; }
.warn table { background: #fff; }
figure { margin: 2rem 0 2.5rem; break-inside: avoid; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); margin-top: .4rem; font-size: .95rem; }
figcaption b { color: var(--ink); }
.skipped { color: var(--muted); }
.quad { display: grid; grid-template-columns: 1fr 1fr; gap: .6rem 1.5rem; }
.q { border-top: 3px solid var(--accent); padding-top: .2rem; }
.q h3 { margin: .3rem 0; }
.q ul, .q ol { padding-left: 1.2rem; margin: .3rem 0; }
.id { color: var(--muted); font-size: .85em; }
details.scenarios { margin: .8rem 0; }
@media (max-width: 900px) { .quad { grid-template-columns: 1fr; } }
.source-assumption { color: var(--warn); font-weight: 600; }
.source-guess { background: var(--warn); color: #fff; font-weight: 700; padding: 0 .3rem; border-radius: 3px; }
tr.guess td { background: #fdf1ea; }
.repro { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 1rem 1.25rem; }
.repro dl { display: grid; grid-template-columns: 11rem 1fr; gap: .35rem 1rem; margin: 0; }
.repro dt { font-weight: 600; }
.repro dd { margin: 0; }
.repro pre { white-space: pre-wrap; word-break: break-all; background: #fff; border: 1px solid var(--line);
             padding: .5rem .75rem; margin: 0; font-size: .88rem; }
.seeds { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .82rem; }
footer { margin-top: 3rem; color: var(--muted); font-size: .85rem; }
@media (max-width: 700px) { main { padding: 1rem; } .repro dl { grid-template-columns: 1fr; } }
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  nav { display: none; }
  h2 { break-after: avoid; margin-top: 1.2rem; }
  h3 { break-after: avoid; }
  figure, table, .repro, .warn { break-inside: avoid; }
  figure img { max-height: 23cm; width: auto; margin: 0 auto; border: none; }
  a { color: inherit; text-decoration: none; }
  #charts { break-before: page; }
}
"""


def _e(value: Any) -> str:
    """Escape any value for HTML text and attributes (quotes too)."""
    return html.escape("" if value is None else str(value), quote=True)


def _interval(low: float, high: float, fmt: Any) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return "interval needs ≥ 2 runs"
    return f"95 % CI {fmt(low)}–{fmt(high)}"


# --------------------------------------------------------------------------------------------------
# Headline answers
# --------------------------------------------------------------------------------------------------


def _target_rows(rs: ResultsSet) -> tuple[str, str]:
    """(sentences for the base scenario, table over all scenarios) answering 'when are targets reached?'."""
    targets = sorted(rs.targets.items(), key=lambda kv: float(kv[1].get("masks", 0)))
    if not targets:
        return ("<p>The experiment sets no targets.</p>", "")
    end = rs.end_date
    base = rs.base_variant
    sentences: list[str] = []
    rows: list[str] = []
    for variant in rs.variants:
        for name, target in targets:
            masks = float(target["masks"])
            by = rs.target_by(name)
            days = rs.target_reach_days(variant, name)
            reached = int(np.isfinite(days).sum())
            median_day = median_with_unreached(days)
            if days.size == 0:
                when = "no finished run"
            elif math.isfinite(median_day):
                when = f"{fmt_date(rs.day_to_date(median_day))} (median; {reached}/{days.size} runs reach it)"
            else:
                when = (
                    f"not reached by {fmt_date(end)} in any run"
                    if reached == 0
                    else f"not reached by {fmt_date(end)} in most runs ({reached}/{days.size} reach it)"
                )
            prob = rs.target_probability(variant, name)
            if prob is None:
                chance = "no date set"
            else:
                share, low, high, k, n = prob
                chance = (
                    f"{fmt_pct(share)} ({k}/{n} runs; {_interval(low, high, fmt_pct)})" if n else "no run"
                )
            by_text = fmt_date(by) if by is not None else "—"
            rows.append(
                f"<tr><td title='{_e(name)}'>{_e(words(name))}</td><td class=num>{_e(fmt_count(masks))}</td>"
                f"<td>{_e(by_text)}</td><td title='{_e(variant)}'>{_e(words(variant))}</td><td>{_e(when)}</td>"
                f"<td>{_e(chance)}</td></tr>"
            )
            if variant == base:
                text = f"<b title='{_e(name)}'>{_e(words(name))}</b> ({_e(fmt_count(masks))} masks"
                text += f" by {_e(fmt_date_long(by))})" if by is not None else ", no date)"
                if math.isfinite(median_day):
                    text += f": reached on <b>{_e(fmt_date_long(rs.day_to_date(median_day)))}</b> (median)"
                else:
                    runs_word = "any run" if reached == 0 else f"most runs ({reached}/{days.size} reach it)"
                    text += f": <b>not reached</b> by {_e(fmt_date_long(end))} in {_e(runs_word)}"
                if prob is not None and prob[4]:
                    text += (
                        f"; probability of reaching it by {_e(fmt_date_long(by))}: <b>{_e(fmt_pct(prob[0]))}"
                        f"</b> ({_e(_interval(prob[1], prob[2], fmt_pct))}, {prob[4]} runs)"
                    )
                sentences.append(f"<li>{text}.</li>")
    scenario_note = f" in scenario {_e(base)}" if len(rs.variants) > 1 else ""
    lead = f"<p>Targets{scenario_note}:</p><ul class=answer>{''.join(sentences)}</ul>"
    table = (
        "<table class=targets><thead><tr><th>Target</th><th>Masks</th><th>By</th><th>Scenario</th>"
        "<th>Date reached</th><th>P(reached by its date)</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    return lead, table


def _bottleneck_list(rs: ResultsSet) -> str:
    from sim.branches import stage_spread

    spread = stage_spread(rs)
    if spread.empty:
        return "<p class=skipped>No network bottleneck data (bottlenecks.parquet absent or empty).</p>"
    items = []
    for r in spread.itertuples():
        text = (f"week of {fmt_date_long(r.week_start)}: <b>{_e(stage_name(r.stage))}, {_e(fmt_pct(r.mean))}</b> "
                f"<span class=second>({_e(fmt_pct(r.low))}–{_e(fmt_pct(r.high))} across {r.runs} runs; the main "
                f"bottleneck in {r.top_runs} of {r.runs}")
        others = "; ".join(f"{stage_name(k)} in {v}" for k, v in r.other_tops.items())
        text += (f", {_e(others)}" if others else "") + ")</span>"
        items.append(f"<li>{text}</li>")
    note = f" in scenario {_e(words(rs.base_variant))}" if len(rs.variants) > 1 else ""
    return (
        f"<p>The stage that limited the whole network's output most of each week{note} (share of the week it was "
        "the bottleneck: mean over replications, then the lowest and highest replication, and in how many "
        f"replications it was the week's main bottleneck):</p><ul class=weeks>{''.join(items)}</ul>"
    )


def _branches(rs: ResultsSet) -> str:
    """Per branch (sites fed by one upstream site) and per site: the share of shift time waiting for input."""
    from sim.branches import branch_table, feeder_loads, site_shares

    scenario = base_scenario_config(rs)
    table = branch_table(rs, scenario)
    if table.empty:
        return "<p class=skipped>No per-site data (daily.parquet absent or empty).</p>"
    loads = feeder_loads(scenario)
    rows = []
    for r in table.itertuples():
        feeders = str(r.feeder).split(" + ")
        rows.append(
            f"<tr><td><span title='{_e(r.unit)}'>{_e(words(r.unit))}</span></td><td class=num>{r.sites}</td>"
            f"<td><span title='{_e(r.feeder)}'>{_e(' and '.join(words(f) for f in feeders))}</span> "
            f"<span class=second>(feeds {sum(loads.get(f, 0) for f in feeders)})</span></td>"
            f"<td class=num>{_e(fmt_pct(r.starved))}</td><td class=num>{_e(fmt_pct(r.starved_low))}–"
            f"{_e(fmt_pct(r.starved_high))}</td><td class=num>{_e(fmt_pct(r.blocked))}</td>"
            f"<td class=num>{_e(fmt_approx(r.starved_hours))}</td></tr>")
    shares = site_shares(rs)
    per_site = (shares.groupby(["site", "stage"])["starved_share"].agg(["mean", "min", "max", "count"])
                .sort_values("mean", ascending=False).head(12).reset_index())
    site_rows = "".join(
        f"<tr><td><span title='{_e(r.site)}'>{_e(words(r.site))}</span></td><td>{_e(stage_name(r.stage))}</td>"
        f"<td class=num>{_e(fmt_pct(r.mean))}</td><td class=num>{_e(fmt_pct(r.min))}–{_e(fmt_pct(r.max))}</td></tr>"
        for r in per_site.itertuples())
    return (
        "<p>The network view above names one stage group a week; a branch can be held back by its own supplier "
        "meanwhile. Each row is a set of sewing sites fed by the same upstream site (the scenario's routes): the "
        "share of their shift time spent waiting for input (kits, fabric), the mean over replications and the "
        "lowest–highest replication, the share blocked (no room downstream), and the hours lost waiting (mean "
        "per replication, over the whole run).</p>"
        "<table class=branches><thead><tr><th>Sites</th><th>Number</th><th>Fed by</th><th>Waiting for input</th>"
        "<th>Range across runs</th><th>Blocked</th><th>Hours waiting</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        "<p>The twelve sites (any stage) waiting most for input:</p><table class=sites><thead><tr><th>Site</th>"
        f"<th>Stage</th><th>Waiting for input</th><th>Range across runs</th></tr></thead><tbody>{site_rows}</tbody>"
        "</table>"
    )


def _ranking(rs: ResultsSet) -> str:
    runs = rs.table("runs")
    if runs is None or MAIN_KPI not in runs.columns:
        return "<p class=skipped>No masks_delivered KPI in runs.parquet: no ranking.</p>"
    stats = {v: rs.kpi_interval(v, MAIN_KPI) for v in rs.variants}
    ranked = sorted(
        stats, key=lambda v: stats[v][0] if math.isfinite(stats[v][0]) else -math.inf, reverse=True
    )
    base = rs.base_variant
    base_mean = stats[base][0] if base in stats else math.nan
    items = []
    for variant in ranked:
        mean, low, high, n = stats[variant]
        text = (
            f"<b title='{_e(variant)}'>{_e(words(variant))}</b>: {_e(fmt_approx(mean))} masks delivered by "
            f"{_e(fmt_date(rs.end_date))} "
            f"({_e(_interval(low, high, fmt_approx))}, {n} runs)"
        )
        if variant == base:
            text += " — base"
        elif math.isfinite(base_mean):
            text += f", {_e(fmt_signed_approx(mean - base_mean))} vs base"
        items.append(f"<li>{text}</li>")
    if len(ranked) == 1:
        return f"<p>One scenario only: {items[0][4:-5]}.</p>"
    return (
        "<p>Scenarios ranked by masks delivered (mean over replications):</p>"
        f"<ol class=ranking>{''.join(items)}</ol>"
    )


def _failed_runs(rs: ResultsSet) -> str:
    failed = rs.failed_runs
    if failed.empty:
        return ""
    rows = "".join(
        f"<tr><td><code>{_e(r.get('run_id'))}</code></td><td>{_e(r.get('scenario'))}</td>"
        f"<td class=num>{_e(r.get('replication'))}</td><td>{_e(r.get('status'))}</td>"
        f"<td>{_e(r.get('error') if pd.notna(r.get('error')) else '')}</td></tr>"
        for r in failed.to_dict("records")
    )
    total = len(rs.runs)
    return (
        f"<div class=warn id=failed-runs><b>{len(failed)} of {total} runs did not finish</b> and are left "
        "out of every number and chart in this report:<table><thead><tr><th>Run</th><th>Scenario</th>"
        "<th>Replication"
        f"</th><th>Status</th><th>Error</th></tr></thead><tbody>{rows}</tbody></table></div>"
    )


# --------------------------------------------------------------------------------------------------
# Charts, assumptions, reproducibility
# --------------------------------------------------------------------------------------------------


def _charts(outcomes: Iterable[ChartOutcome]) -> str:
    figures, skipped = [], []
    for outcome in outcomes:
        if outcome.path is None:
            skipped.append(f"<li><b>{_e(outcome.name)}</b>: {_e(outcome.reason)}</li>")
            continue
        figures.append(
            f"<figure id=chart-{_e(outcome.name)}>"
            f'<img src="{data_uri(outcome.path)}" alt="{_e(outcome.title)}">'
            f"<figcaption>{_e(outcome.caption)} <span class=file>(charts/{_e(outcome.path.name)}, "
            f"SVG alongside)</span></figcaption></figure>"
        )
    body = "".join(figures)
    if skipped:
        body += (
            "<p class=skipped>Charts not drawn, for lack of data:</p>"
            f"<ul class=skipped>{''.join(skipped)}</ul>"
        )
    return body


def _format_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _source_cell(row: dict[str, Any]) -> str:
    text = str(row.get("source") or "").strip()
    if row["guess"]:
        cell = f"<span class=source-guess>GUESS</span> {_e(text)}"
    elif row["assumed"]:
        cell = f"<span class=source-assumption>{_e(text or 'assumption')}</span>"
    else:
        cell = _e(text)
    if row.get("note"):  # e.g. the speed cap of declared operators (sim.assumptions)
        cell += f"<br><span class=note>{_e(row['note'])}</span>"
    return cell


def _assumption_table(rows: list[dict[str, Any]], why: bool = False) -> str:
    head = "<th>Why it matters</th>" if why else ""
    body = "".join(
        f"<tr{' class=guess' if r['guess'] else ''}><td><code>{_e(r.get('path'))}</code></td>"
        f"<td>{_e(_format_value(r.get('value')))}</td><td>{_source_cell(r)}</td>"
        + (f"<td>{_e(r.get('why'))}</td>" if why else "") + "</tr>"
        for r in rows)
    return (f"<table class=assumptions><thead><tr><th>Parameter</th><th>Value</th><th>Source</th>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


def _assumptions(rs: ResultsSet) -> str:
    rows = assumption_rows(rs)
    if not rows:
        return "<p class=skipped>The manifest lists no parameters with sources.</p>"
    n = assumption_counts(rows)
    drivers, how = headline_drivers(rs, rows)
    scenario_rows = [r for r in rows if not r["default"]]
    defaults = [r for r in rows if r["default"]]
    return (
        f"<p class=answer>{n['total']} parameters ({n['total'] - n['defaults']} in the scenario file, "
        f"{n['defaults']} site-kind defaults): <b>{n['assumed']} rest on an assumption</b> rather than a source "
        f"({n['guess']} of them marked GUESS); {n['total'] - n['assumed']} cite a source. A source counts as an "
        "assumption when it says \"assumption\" or \"GUESS\" anywhere, or says nothing.</p>"
        f"<h3>Behind the headline</h3><p>The parameters that drive the answer ({_e(how)}):</p>"
        + (_assumption_table(drivers, why=True) if drivers else "<p class=skipped>none found.</p>")
        + f"<h3>Scenario file ({len(scenario_rows)})</h3>{_assumption_table(scenario_rows)}"
        + f"<h3>Site-kind defaults ({len(defaults)}, sim/entities/archetypes.py)</h3><p>Speed caps (ceiling: "
        "share of the standard rate a trained person reaches), learning curves (first mask, Wright rate), "
        f"defects and absence factors of each kind of site the scenario uses.</p>{_assumption_table(defaults)}"
    )


def _reproducibility(rs: ResultsSet) -> str:
    m = rs.manifest
    git = m.get("git") if isinstance(m.get("git"), dict) else {}
    commit = m.get("git_commit")
    if isinstance(commit, dict):  # tolerate the runner's {"commit", "dirty"} form under this key too
        git, commit = commit, commit.get("commit")
    commit_text = str(commit) if commit else "not recorded (not a git checkout?)"
    if git.get("dirty"):
        commit_text += " (with uncommitted changes: the code may differ from this commit)"
    versions = m.get("versions") or {}
    version_text = (
        " · ".join(f"{k} {v}" for k, v in versions.items()) if isinstance(versions, dict) else versions
    )
    runs = rs.table("runs")
    seeds = ""
    if runs is not None and "seed" in runs.columns:
        seeds = ", ".join(f"{r}: {s}" for r, s in zip(runs["run_id"], runs["seed"], strict=True))
    items = [
        ("Experiment", _e(rs.experiment)),
        ("Config hash", f"<code>{_e(m.get('config_hash') or 'not recorded')}</code>"),
        ("Root seed", f"<code>{_e(m.get('root_seed'))}</code>"),
        ("Run seeds", f"<span class=seeds>{_e(seeds or 'not recorded')}</span>"),
        ("Versions", _e(version_text or "not recorded")),
        ("Git commit", f"<code>{_e(commit_text)}</code>"),
    ]
    if m.get("started_at") or m.get("finished_at"):
        items.append(
            (
                "Run",
                _e(
                    f"{m.get('started_at') or '?'} → {m.get('finished_at') or '?'}"
                    f" ({m.get('status') or 'status not recorded'})"
                ),
            )
        )
    command = m.get("command")
    items.append(("Command to rerun", f"<pre>{_e(command)}</pre>" if command else "not recorded"))
    body = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items)
    return f"<div class=repro><dl>{body}</dl></div>"


# --------------------------------------------------------------------------------------------------
# Page
# --------------------------------------------------------------------------------------------------


def build_html(rs: ResultsSet, outcomes: list[ChartOutcome]) -> str:
    """The whole page as a string (no I/O besides reading the chart PNGs)."""
    ok, failed = len(rs.ok_runs), len(rs.failed_runs)
    lead, target_table = _target_rows(rs)
    scenarios = ", ".join(rs.variants)
    meta = (
        f"Start {fmt_date_long(rs.start_date)} {rs.start_date.year} · "
        f"simulated to {fmt_date_long(rs.end_date)} · "
        f"{ok} runs finished" + (f", {failed} failed" if failed else "") + f" · scenarios: {scenarios}"
    )
    drawn = sum(1 for o in outcomes if o.path is not None)
    main_mean = rs.kpi_interval(rs.base_variant, MAIN_KPI)[0] if MAIN_KPI in rs.ok_runs.columns else math.nan
    delivered = (
        f"<p class=answer>Scenario {_e(rs.base_variant)} delivers <b>{_e(fmt_approx(main_mean))} masks</b> "
        f"by {_e(fmt_date_long(rs.end_date))} (mean over {len(rs.kpi_values(rs.base_variant, MAIN_KPI))} "
        f"replications).</p>"
        if math.isfinite(main_mean)
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(rs.experiment)} — simulation report</title>
<style>{CSS}</style>
</head>
<body>
<main>
<header>
<h1>{_e(rs.experiment)}: simulation report</h1>
<p class=meta>{_e(meta)}</p>
<nav><a href="#first-screen">In five minutes</a><a href="#headline">Answers</a><a href="#charts">Charts ({drawn})</a>
<a href="#assumptions">Assumptions</a>
<a href="#reproducibility">Reproducibility</a>
<span class=second>· printable two-page summary: summary.html (summary.pdf) beside this file</span></nav>
</header>
{first_screen_html(rs)}
{_decisions(rs)}
<section id="headline">
<h2>Headline answers</h2>
{_failed_runs(rs)}
<h3>When are the targets reached?</h3>
{delivered}
{lead}
{target_table}
<h3>What limits output, week by week?</h3>
{_bottleneck_list(rs)}
<h3>Which branches and sites wait, and for whom?</h3>
{_branches(rs)}
<h3>Which scenario delivers most masks by the horizon?</h3>
{_ranking(rs)}
</section>
{_uncertainty(rs)}
<section id="charts">
<h2>Charts</h2>
{_charts(outcomes)}
</section>
<section id="assumptions">
<h2>Assumptions and sources</h2>
{_assumptions(rs)}
</section>
<section id="reproducibility">
<h2>Reproducibility</h2>
{_reproducibility(rs)}
</section>
<footer>Generated by resilience-sim from {_e(rs.dir.name)}/. Intervals are 95 % confidence intervals over
independent replications (Student t for means, Wilson for probabilities); they cover simulation noise, not
errors in the assumptions above.</footer>
</main>
</body>
</html>
"""


def _decisions(rs: ResultsSet) -> str:
    """The decision page (sim.decisions) when the results hold levers, stress or what-it-takes answers."""
    from sim.decisions.report_section import decision_section

    return decision_section(rs)


def _uncertainty(rs: ResultsSet) -> str:
    """The section "What drives the answer" of an uncertainty study (sim.uncertainty); empty otherwise."""
    from sim.uncertainty.report_section import section_html

    return section_html(rs.dir)


def write_report(results_dir: str | Path) -> Path:
    """Draw the charts into `<results_dir>/charts/` and write `<results_dir>/report.html`; return its path."""
    rs = ResultsSet(results_dir)
    outcomes = render_all(rs, rs.dir / "charts")
    page = build_html(rs, outcomes)
    final = rs.dir / REPORT_NAME
    # Write then rename, so a reader (or a browser left open) never sees half a page.
    atomic_write_bytes(final, page.encode("utf-8"))
    from sim.summary import write_summary_page

    write_summary_page(rs, outcomes)  # the printable two-page form, beside the long one
    return final


__all__ = ["build_html", "write_report"]
