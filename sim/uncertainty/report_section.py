"""The report section "What drives the answer", as an HTML fragment (empty when the results directory holds
no study). It reads design.parquet, parameters.csv, sensitivity.parquet and the usual tables, draws its
charts into charts/ and embeds them as data URIs, like the rest of the page."""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
from pathlib import Path
from typing import Any

import pandas as pd

from sim.charts import fmt_count, stage_name
from sim.uncertainty.charts import bottleneck_agreement_chart, fan_chart, ranking_chart
from sim.uncertainty.labels import INDEX_WORDS, capitalised, fmt_effect, fmt_interval, kpi_words
from sim.uncertainty.sensitivity import ALL, RANK_INDEX, SENSITIVITY_FILE, ranking
from sim.uncertainty.study import DESIGN_FILE, NOMINAL, PARAMETERS_FILE

ROBUST_SHARE = 0.9
NEGLIGIBLE = 0.1  # below this fraction of the leading parameter's index, a parameter "hardly matters"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _img(path: Path | None, alt: str) -> str:
    if path is None:
        return ""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{_e(alt)}">'
            f"<figcaption><span class=file>(charts/{_e(path.name)}, SVG alongside)</span></figcaption></figure>")


def headline_kpis(table: pd.DataFrame) -> list[str]:
    """The KPIs the section discusses one by one: target days, checkpoints, masks delivered, target odds."""
    kpis = list(dict.fromkeys(table["kpi"]))
    order = ("day_target.", "delivered_by_day.", "masks_delivered", "reached_by_date.")
    return [k for prefix in order for k in kpis if k.startswith(prefix)
            and not table[(table["kpi"] == k) & (table["index"].isin(RANK_INDEX.values()))].empty]


def sentence(table: pd.DataFrame, kpi: str, labels: dict[str, str], targets: dict[str, Any], start: dt.date) -> str:
    """'The day 2 M masks delivered is reached depends mostly on A (μ* 4.2 days, 95 % 3.1–5.3) and B (...);
    C, D and E hardly matter (μ* < 0.4 days).'"""
    ranked = ranking(table, kpi)
    if ranked.empty:
        return ""
    index = ranked["index"].iloc[0]
    symbol = INDEX_WORDS[index]

    def cite(row: pd.Series) -> str:
        return (f"{labels.get(row['parameter'], row['parameter'])} ({symbol} {fmt_effect(row['value'], kpi, index)}, "
                f"95 % {fmt_interval(row['ci_low'], row['ci_high'], kpi, index)})")

    lead = ranked["strength"].iloc[0]
    strong = ranked[ranked["strength"] >= 0.5 * lead].head(3)
    if len(strong) < 2 and len(ranked) > 1:
        strong = ranked.head(2)
    weak = ranked[(ranked["strength"] < NEGLIGIBLE * lead) & ~ranked["parameter"].isin(strong["parameter"])]
    text = f"{capitalised(kpi_words(kpi, targets, start))} depends mostly on " + " and ".join(
        cite(r) for _, r in strong.iterrows())
    if len(weak):
        names = [labels.get(p, p) for p in weak["parameter"]]
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        text += (f"; {shown} hardly matter{'s' if len(names) == 1 else ''} "
                 f"({symbol} below {fmt_effect(NEGLIGIBLE * lead, kpi, index)})")
    return text + "."


def bottleneck_agreement(bottlenecks: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Per week and stage: the share of design runs in which that stage is the network's main bottleneck."""
    design_ids = set(runs.loc[(runs["scenario"] != NOMINAL) & (runs["status"] == "ok"), "run_id"])
    rows = bottlenecks[(bottlenecks["level"] == "network") & bottlenecks["run_id"].isin(design_ids)]
    if rows.empty:
        return pd.DataFrame(columns=["week_start", "stage", "share_of_points"])
    top = rows.loc[rows.groupby(["run_id", "week_start"])["share"].idxmax()]
    counts = top.groupby(["week_start", "stage"]).size()
    per_week = top.groupby("week_start").size()
    out = (counts / per_week.reindex(counts.index.get_level_values(0)).to_numpy()).rename("share_of_points")
    return out.reset_index()


def _robustness(agreement: pd.DataFrame, runs: pd.DataFrame, targets: dict[str, Any]) -> str:
    items = []
    if not agreement.empty:
        lead = agreement.loc[agreement.groupby("week_start")["share_of_points"].idxmax()].sort_values("week_start")
        lead = lead.assign(robust=lead["share_of_points"] >= ROBUST_SHARE)
        run_id = (lead[["stage", "robust"]] != lead[["stage", "robust"]].shift()).any(axis=1).cumsum()
        for _, weeks in lead.groupby(run_id, sort=True):
            first, last = pd.Timestamp(weeks["week_start"].iloc[0]), pd.Timestamp(weeks["week_start"].iloc[-1])
            when = (f"Week of {first.day} {first.strftime('%B')}" if first == last else
                    f"Weeks of {first.day} {first.strftime('%B')} to {last.day} {last.strftime('%B')}")
            low, high = weeks["share_of_points"].min(), weeks["share_of_points"].max()
            share = f"{low:.0%}" if round(low, 2) == round(high, 2) else f"{low:.0%}–{high:.0%}"
            robust = bool(weeks["robust"].iloc[0])
            items.append(f"<li>{when}: {_e(stage_name(weeks['stage'].iloc[0]))} limits the network in {share} of "
                         f"design points — <b>{'robust' if robust else 'not robust'}</b></li>")
    design = runs[(runs["scenario"] != NOMINAL) & (runs["status"] == "ok")]
    for name, target in targets.items():
        column = f"reached_by_date.{name}"
        if not target.get("by") or column not in design.columns:
            continue
        share = float(design[column].mean())
        verdict = "robust" if share >= ROBUST_SHARE or share <= 1 - ROBUST_SHARE else "not robust"
        by = dt.date.fromisoformat(str(target["by"]))
        items.append(f"<li>{_e(fmt_count(float(target['masks'])))} by {by.day} {by.strftime('%B')}: reached in "
                     f"{share:.0%} of design points — <b>{verdict}</b></li>")
    return f"<ul>{''.join(items)}</ul>" if items else "<p>No bottleneck or dated target to judge.</p>"


def _variance_table(table: pd.DataFrame, kpis: list[str], targets: dict[str, Any], start: dt.date) -> str:
    rows = []
    for kpi in kpis:
        share = table[(table["kpi"] == kpi) & (table["parameter"] == ALL) & (table["index"] == "parameter_share")]
        if share.empty:
            continue
        r = share.iloc[0]
        rows.append(f"<tr><td>{_e(kpi_words(kpi, targets, start))}</td><td class=num>{r['value']:.0%}</td>"
                    f"<td class=num>{r['ci_low']:.0%}–{r['ci_high']:.0%}</td>"
                    f"<td class=num>{1 - r['value']:.0%}</td></tr>")
    if not rows:
        return ""
    return ("<table><thead><tr><th>KPI</th><th>variance due to the parameters</th><th>95 % interval</th>"
            f"<th>due to replication noise</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _other_kpis(table: pd.DataFrame, kpis: list[str], labels: dict[str, str], targets: dict[str, Any],
                start: dt.date) -> str:
    rows = []
    for kpi in dict.fromkeys(table["kpi"]):
        if kpi in kpis:
            continue
        ranked = ranking(table, kpi).head(3)
        if ranked.empty:
            continue
        cells = "; ".join(f"{_e(labels.get(r['parameter'], r['parameter']))} "
                          f"({INDEX_WORDS[r['index']]} {_e(fmt_effect(r['value'], kpi, r['index']))})"
                          for _, r in ranked.iterrows())
        rows.append(f"<tr><td>{_e(kpi_words(kpi, targets, start))}</td><td>{cells}</td></tr>")
    if not rows:
        return ""
    return ("<h3>Other KPIs: the three leading parameters</h3><table><thead><tr><th>KPI</th><th>parameters</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _parameters(params: pd.DataFrame) -> str:
    rows = "".join(f"<tr><td>{_e(r['label'])}</td><td><code>{_e(r['parameter'])}</code></td>"
                   f"<td>{_e(r['distribution'])}</td><td>{_e(r['source'])}</td></tr>" for _, r in params.iterrows())
    return (f"<details><summary>The {len(params)} uncertain parameters, their ranges and sources</summary><table>"
            f"<thead><tr><th>parameter</th><th>path</th><th>range</th><th>source</th></tr></thead><tbody>{rows}"
            "</tbody></table></details>")


def section_html(results_dir: str | Path) -> str:
    """The section, or "" when `results_dir` holds no study (no design.parquet or sensitivity.parquet)."""
    out = Path(results_dir)
    if not (out / DESIGN_FILE).exists() or not (out / f"{SENSITIVITY_FILE}.parquet").exists():
        return ""
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    start = dt.date.fromisoformat(str(manifest["start_date"]))
    targets = dict(manifest.get("targets") or {})
    method = ((manifest.get("config") or {}).get("design") or {}).get("method", "morris")
    table = pd.read_parquet(out / f"{SENSITIVITY_FILE}.parquet")
    params = pd.read_csv(out / PARAMETERS_FILE)
    labels = dict(zip(params["parameter"], params["label"], strict=True))
    design = pd.read_parquet(out / DESIGN_FILE)
    runs = pd.read_parquet(out / "runs.parquet")
    charts = out / "charts"
    kpis = headline_kpis(table)
    n_points = int((design["kind"] == "design").sum())
    n_nominal = int((runs["scenario"] == NOMINAL).sum())
    parts = [
        "<section id=uncertainty><h2>What drives the answer</h2>",
        f"<p>{len(params)} assumptions were varied over their plausible ranges in a {_e(method)} design of {n_points} "
        f"points (plus the nominal point, every assumption at its base value, run {n_nominal} times for the noise "
        "alone). Elsewhere in this report, scenario <i>base</i> pools every design point and scenario "
        f"<i>{NOMINAL}</i> is the nominal point. Index: {_e(_index_words(method))}</p>",
    ]
    for kpi in kpis:
        text = sentence(table, kpi, labels, targets, start)
        chart = ranking_chart(table, kpi, method, labels, targets, start, charts,
                              f"uncertainty_rank_{kpi.replace('.', '_')}")
        parts.append(f"<h3>{_e(capitalised(kpi_words(kpi, targets, start)))}</h3><p class=answer>{_e(text)}</p>"
                     + _img(chart, text))
    parts.append("<h3>How much is the assumptions, how much is chance?</h3>")
    parts.append(_variance_table(table, kpis, targets, start))
    series = pd.read_parquet(out / "series.parquet", columns=["run_id", "day", "series", "key", "value"])
    parts.append(_img(fan_chart(series, runs, targets, start, charts), "cumulative delivered under uncertainty"))
    parts.append("<h3>Which conclusions hold across the ranges?</h3><p>A conclusion is called robust when it holds "
                 f"in at least {ROBUST_SHARE:.0%} of the design points.</p>")
    bottlenecks = pd.read_parquet(out / "bottlenecks.parquet")
    agreement = bottleneck_agreement(bottlenecks, runs)
    parts.append(_robustness(agreement, runs, targets))
    parts.append(_img(bottleneck_agreement_chart(agreement, charts), "bottleneck agreement across design points"))
    parts.append(_other_kpis(table, kpis, labels, targets, start))
    parts.append(_parameters(params))
    parts.append("<p class=meta>Full table: sensitivity.csv (kpi, parameter, method, index, value, ci_low, ci_high); "
                 "design points: design.parquet. See docs/uncertainty.md.</p></section>")
    return "\n".join(p for p in parts if p)


def _index_words(method: str) -> str:
    return {
        "morris": "μ* is the mean absolute change of the KPI when one assumption moves across its whole range "
                  "(Morris elementary effects); σ large beside μ* means interactions or non-linearity.",
        "sobol": "ST is the share of the KPI's variance that involves the assumption (alone or with others); "
                 "S1 the share it explains alone (Sobol indices).",
        "lhs": "ρ is the Spearman rank correlation between the assumption and the KPI over a Latin hypercube.",
    }.get(method, "")


__all__ = ["bottleneck_agreement", "headline_kpis", "section_html", "sentence"]
