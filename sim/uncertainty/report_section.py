"""The report section "What drives the answer", as an HTML fragment (empty when the results directory holds
no study). It reads design.parquet, parameters.csv, sensitivity.parquet and the usual tables, draws its
charts into charts/ and embeds them as data URIs, like the rest of the page (templates/uncertainty.html.j2,
autoescaped)."""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.report.formatting import fmt_count, stage_name
from sim.report.templating import data_uri, render
from sim.uncertainty.charts import bottleneck_agreement_chart, fan_chart, ranking_chart
from sim.uncertainty.design import DesignSpec, design_words
from sim.uncertainty.labels import INDEX_WORDS, capitalised, fmt_effect, fmt_interval, kpi_words, parameter_words
from sim.uncertainty.sensitivity import ALL, RANK_INDEX, SENSITIVITY_FILE, random_points, ranking
from sim.uncertainty.study import DESIGN_FILE, NOMINAL, PARAMETERS_FILE

ROBUST_SHARE = 0.9
NEGLIGIBLE = 0.1  # below this fraction of the leading parameter's index, a parameter "hardly matters"


@dataclass
class DesignFacts:
    """A finished study's design, read back from its tables (older folders included): the manifest keeps only
    the method, so the size comes from design.parquet and runs.parquet."""

    spec: DesignSpec
    n_points: int
    dimensions: int
    replications: int
    random: list[int]  # the design points drawn at random (none for a Morris grid)

    @property
    def words(self) -> str:
        return design_words(self.spec, self.dimensions, self.n_points, self.replications)

    @property
    def noun(self) -> str:
        """What the shares and counts of the section are over."""
        return "points drawn at random" if self.random else "grid points"


def design_facts(out: Path, method: str, design: pd.DataFrame, runs: pd.DataFrame) -> DesignFacts:
    names = [c for c in design.columns if c.startswith("u.")]
    points = design[design["kind"] == "design"]
    n_points, d = len(points), len(names)
    nominal = max(2, int((runs["scenario"] == NOMINAL).sum()))
    design_runs = runs[runs["scenario"] != NOMINAL]
    replications = int(design_runs.groupby("scenario")["replication"].nunique().max()) if len(design_runs) else 1
    if method == "morris":
        levels = max(2, len({round(float(v), 9) for v in points[names].to_numpy().ravel()}))
        spec = DesignSpec(method="morris", samples=max(2, n_points // (d + 1)), levels=levels + levels % 2,
                          noise_replications=nominal)
    elif method == "sobol":
        spec = DesignSpec(method="sobol", samples=max(2, n_points // (d + 2)), noise_replications=nominal)
    else:
        spec = DesignSpec(method="lhs", samples=max(2, n_points), noise_replications=nominal)
    return DesignFacts(spec, n_points, d, replications, random_points(design, method))


def study_line(results_dir: str | Path) -> str | None:
    """The first screen's line for a study: its design in words and whose answers follow; None otherwise."""
    out = Path(results_dir)
    if not (out / DESIGN_FILE).exists() or not (out / "runs.parquet").exists():
        return None
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    method = ((manifest.get("config") or {}).get("design") or {}).get("method", "morris")
    runs = pd.read_parquet(out / "runs.parquet", columns=["run_id", "scenario", "replication", "status"])
    facts = design_facts(out, method, pd.read_parquet(out / DESIGN_FILE), runs)
    nominal = int(((runs["scenario"] == NOMINAL) & (runs["status"] == "ok")).sum())
    return (f"{facts.words}. The answers below are the nominal point's (every uncertain parameter at its base "
            f"value), over its {nominal} replications; what the ranges change is under \u201cWhat drives the "
            "answer\u201d.")


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
    if len(strong) < 2 and len(ranked) > 1 and ranked["strength"].iloc[1] > 0:
        strong = ranked.head(2)  # a second parameter that moves the KPI at all, not one with no effect
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
    """Per week and stage: the share of the given design runs in which that stage is the network's main
    bottleneck (the nominal point's runs are left out)."""
    design_ids = set(runs.loc[(runs["scenario"] != NOMINAL) & (runs["status"] == "ok"), "run_id"])
    rows = bottlenecks[(bottlenecks["level"] == "network") & bottlenecks["run_id"].isin(design_ids)]
    if rows.empty:
        return pd.DataFrame(columns=["week_start", "stage", "share_of_points"])
    top = rows.loc[rows.groupby(["run_id", "week_start"])["share"].idxmax()]
    counts = top.groupby(["week_start", "stage"]).size()
    per_week = top.groupby("week_start").size()
    out = (counts / per_week.reindex(counts.index.get_level_values(0)).to_numpy()).rename("share_of_points")
    return out.reset_index()


def _held(share: float, n: int, facts: DesignFacts) -> str:
    """'in 43 % of the 30 points drawn at random (95 % CI 26–61 %)' or 'at 13 of the 30 grid points'."""
    from sim.results.analysis import wilson_interval

    hits = round(share * n)
    if not facts.random:
        return f"at {hits} of the {n} grid points"
    _, low, high = wilson_interval(hits, n)
    return f"in {share:.0%} of the {n} points drawn at random (95 % CI {low:.0%}–{high:.0%})"


def _robustness(agreement: pd.DataFrame, runs: pd.DataFrame, targets: dict[str, Any],
                facts: DesignFacts) -> list[dict[str, Any]]:
    design = runs[(runs["scenario"] != NOMINAL) & (runs["status"] == "ok")]
    n = len(design)
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
            if round(low * n) == round(high * n):
                held = _held(low, n, facts)
            elif facts.random:
                held = f"in {low:.0%}–{high:.0%} of the {n} points drawn at random"
            else:
                held = f"at {round(low * n)}–{round(high * n)} of the {n} grid points"
            items.append({"text": f"{when}: {stage_name(weeks['stage'].iloc[0])} limits the network {held}",
                          "robust": bool(weeks["robust"].iloc[0])})
    for name, target in targets.items():
        column = f"reached_by_date.{name}"
        if not target.get("by") or column not in design.columns:
            continue
        share = float(design[column].mean())
        by = dt.date.fromisoformat(str(target["by"]))
        items.append({"text": f"{fmt_count(float(target['masks']))} by {by.day} {by.strftime('%B')}: reached "
                              f"{_held(share, n, facts)}",
                      "robust": share >= ROBUST_SHARE or share <= 1 - ROBUST_SHARE})
    return items


def _sd(variance: float, kpi: str) -> str:
    sd = math.sqrt(max(variance, 0.0))
    return fmt_effect(sd, kpi, "sigma")


def _variance_rows(table: pd.DataFrame, kpis: list[str], targets: dict[str, Any],
                   start: dt.date) -> list[dict[str, str]]:
    """Per headline KPI: the noise's standard deviation with its χ² interval and degrees of freedom, and with
    random points the share of the variance due to the parameters (at least: see sensitivity.variance_split)."""
    rows = []
    for kpi in kpis:
        split = table[(table["kpi"] == kpi) & (table["parameter"] == ALL)].set_index("index")
        if "noise_variance" not in split.index:
            continue
        noise = split.loc["noise_variance"]
        row = {"kpi": kpi_words(kpi, targets, start), "noise": _sd(noise["value"], kpi),
               "noise_interval": f"{_sd(noise['ci_low'], kpi)} to {_sd(noise['ci_high'], kpi)}",
               "df": f"{split.loc['noise_degrees_of_freedom', 'value']:.0f}"}
        if "parameter_share" in split.index:
            share = split.loc["parameter_share"]
            row |= {"share": f"{share['value']:.0%}", "interval": f"{share['ci_low']:.0%}–{share['ci_high']:.0%}"}
        rows.append(row)
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


def _parameter_rows(params: pd.DataFrame, design: pd.DataFrame) -> list[dict[str, Any]]:
    nominal = design[design["kind"] == NOMINAL].iloc[0] if (design["kind"] == NOMINAL).any() else None
    rows = []
    for r in params.to_dict("records"):
        base = None if nominal is None or r["parameter"] not in nominal.index else nominal[r["parameter"]]
        # a structural choice's nominal point is the scenario as written (no alternative's index: NaN)
        rows.append(r | {"base": "" if base is None else "as in the scenario file"
                         if isinstance(base, float) and math.isnan(base) else parameter_words(base)})
    return rows


def driver_labels(results_dir: str | Path) -> dict[str, str]:
    """path -> 'packers per packing centre: 40 (range 20–60)': a study's parameters in words, with their base
    value and range, for the report's "behind the headline" (empty when the folder holds no study)."""
    out = Path(results_dir)
    if not (out / DESIGN_FILE).exists() or not (out / PARAMETERS_FILE).exists():
        return {}
    params = pd.read_csv(out / PARAMETERS_FILE)
    return {r["parameter"]: f"{r['label']}: {r['base']}" + (f" ({r['range']})" if isinstance(r.get("range"), str)
                                                             else "")
            for r in _parameter_rows(params, pd.read_parquet(out / DESIGN_FILE))}


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
    facts = design_facts(out, method, design, runs)
    if facts.random:  # distributions over the points drawn at random only (each once), never over a grid
        from sim.results.analysis import design_point_numbers

        is_nominal = runs["scenario"] == NOMINAL
        points = design_point_numbers(runs)
        keep = is_nominal | (points.isin(facts.random) & (runs["replication"] == runs["replication"].min()))
        described = runs[keep.to_numpy()]
    else:
        described = runs
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
    agreement = bottleneck_agreement(bottlenecks, described)
    fan = fan_chart(series, described, targets, start, charts) if facts.random else None
    return render(
        "uncertainty.html.j2", n_params=len(params), method=method, design_words=facts.words,
        warnings=facts.spec.warnings(), random=bool(facts.random), n_random=len(facts.random), noun=facts.noun,
        n_nominal=int((runs["scenario"] == NOMINAL).sum()), nominal=NOMINAL, index_words=_index_words(method),
        kpis=kpis, variance=_variance_rows(table, headline_kpis(table), targets, start),
        fan=_chart(fan, "cumulative delivered under uncertainty"),
        robust_share=f"{ROBUST_SHARE:.0%}", robustness=_robustness(agreement, described, targets, facts),
        agreement=_chart(bottleneck_agreement_chart(agreement, charts, noun=facts.noun),
                         f"bottleneck agreement across the {facts.noun}"),
        others=_other_kpis(table, headline_kpis(table), labels, targets, start),
        parameters=_parameter_rows(params, design))


def _index_words(method: str) -> str:
    return {
        "morris": "μ* is the mean absolute change of the KPI when one assumption moves across its whole range "
                  "(Morris elementary effects); σ large beside μ* means interactions or non-linearity.",
        "sobol": "ST is the share of the KPI's variance that involves the assumption (alone or with others); "
                 "S1 the share it explains alone (Sobol indices).",
        "lhs": "ρ is the Spearman rank correlation between the assumption and the KPI over a Latin hypercube.",
    }.get(method, "")


__all__ = ["bottleneck_agreement", "driver_labels", "headline_kpis", "section_html", "sentence", "study_line"]
