"""The report section "What drives the answer", as an HTML fragment (empty when the results directory holds
no study). It reads design.parquet, parameters.csv, sensitivity.parquet and the usual tables, draws its
charts into charts/ and embeds them as data URIs, like the rest of the page (templates/uncertainty.html.j2,
autoescaped)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd

from sim.report.formatting import fmt_count, stage_name
from sim.report.templating import data_uri, render
from sim.uncertainty.charts import bottleneck_agreement_chart, fan_chart, ranking_chart
from sim.uncertainty.labels import INDEX_WORDS, capitalised, fmt_effect, fmt_interval, kpi_words
from sim.uncertainty.sensitivity import ALL, RANK_INDEX, SENSITIVITY_FILE, ranking
from sim.uncertainty.study import DESIGN_FILE, NOMINAL, PARAMETERS_FILE

ROBUST_SHARE = 0.9
NEGLIGIBLE = 0.1  # below this fraction of the leading parameter's index, a parameter "hardly matters"


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


def _robustness(agreement: pd.DataFrame, runs: pd.DataFrame, targets: dict[str, Any]) -> list[dict[str, Any]]:
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
            items.append({"text": f"{when}: {stage_name(weeks['stage'].iloc[0])} limits the network in {share} of "
                                  "design points", "robust": bool(weeks["robust"].iloc[0])})
    design = runs[(runs["scenario"] != NOMINAL) & (runs["status"] == "ok")]
    for name, target in targets.items():
        column = f"reached_by_date.{name}"
        if not target.get("by") or column not in design.columns:
            continue
        share = float(design[column].mean())
        by = dt.date.fromisoformat(str(target["by"]))
        items.append({"text": f"{fmt_count(float(target['masks']))} by {by.day} {by.strftime('%B')}: reached in "
                              f"{share:.0%} of design points",
                      "robust": share >= ROBUST_SHARE or share <= 1 - ROBUST_SHARE})
    return items


def _variance_rows(table: pd.DataFrame, kpis: list[str], targets: dict[str, Any],
                   start: dt.date) -> list[dict[str, str]]:
    rows = []
    for kpi in kpis:
        share = table[(table["kpi"] == kpi) & (table["parameter"] == ALL) & (table["index"] == "parameter_share")]
        if share.empty:
            continue
        r = share.iloc[0]
        rows.append({"kpi": kpi_words(kpi, targets, start), "share": f"{r['value']:.0%}",
                     "interval": f"{r['ci_low']:.0%}–{r['ci_high']:.0%}", "noise": f"{1 - r['value']:.0%}"})
    return rows


def _other_kpis(table: pd.DataFrame, kpis: list[str], labels: dict[str, str], targets: dict[str, Any],
                start: dt.date) -> list[dict[str, str]]:
    rows = []
    for kpi in dict.fromkeys(table["kpi"]):
        if kpi in kpis:
            continue
        ranked = ranking(table, kpi).head(3)
        if ranked.empty:
            continue
        cells = "; ".join(f"{labels.get(r['parameter'], r['parameter'])} "
                          f"({INDEX_WORDS[r['index']]} {fmt_effect(r['value'], kpi, r['index'])})"
                          for _, r in ranked.iterrows())
        rows.append({"kpi": kpi_words(kpi, targets, start), "parameters": cells})
    return rows


def _chart(path: Path | None, alt: str) -> dict[str, str] | None:
    return None if path is None else {"uri": data_uri(path), "alt": alt, "file": path.name}


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
    kpis = []
    for kpi in headline_kpis(table):
        text = sentence(table, kpi, labels, targets, start)
        chart = ranking_chart(table, kpi, method, labels, targets, start, charts,
                              f"uncertainty_rank_{kpi.replace('.', '_')}")
        kpis.append({"title": capitalised(kpi_words(kpi, targets, start)), "sentence": text,
                     "chart": _chart(chart, text)})
    series = pd.read_parquet(out / "series.parquet", columns=["run_id", "day", "series", "key", "value"])
    bottlenecks = pd.read_parquet(out / "bottlenecks.parquet")
    agreement = bottleneck_agreement(bottlenecks, runs)
    return render(
        "uncertainty.html.j2", n_params=len(params), method=method, n_points=int((design["kind"] == "design").sum()),
        n_nominal=int((runs["scenario"] == NOMINAL).sum()), nominal=NOMINAL, index_words=_index_words(method),
        kpis=kpis, variance=_variance_rows(table, headline_kpis(table), targets, start),
        fan=_chart(fan_chart(series, runs, targets, start, charts), "cumulative delivered under uncertainty"),
        robust_share=f"{ROBUST_SHARE:.0%}", robustness=_robustness(agreement, runs, targets),
        agreement=_chart(bottleneck_agreement_chart(agreement, charts), "bottleneck agreement across design points"),
        others=_other_kpis(table, headline_kpis(table), labels, targets, start),
        parameters=params.to_dict("records"))


def _index_words(method: str) -> str:
    return {
        "morris": "μ* is the mean absolute change of the KPI when one assumption moves across its whole range "
                  "(Morris elementary effects); σ large beside μ* means interactions or non-linearity.",
        "sobol": "ST is the share of the KPI's variance that involves the assumption (alone or with others); "
                 "S1 the share it explains alone (Sobol indices).",
        "lhs": "ρ is the Spearman rank correlation between the assumption and the KPI over a Latin hypercube.",
    }.get(method, "")


__all__ = ["bottleneck_agreement", "headline_kpis", "section_html", "sentence"]
