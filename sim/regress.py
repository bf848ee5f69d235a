"""The CI regression of throughput KPIs: a statistical comparison with a committed baseline.

Choice of test (and why): golden numbers break on every harmless change of random-number use, so the
comparison is statistical. The new run uses a different root seed from the baseline's (independent
samples), and each tracked KPI's mean is compared by Welch's two-sample t-test. With K tracked KPIs the
per-KPI level is 0.01 / K (Bonferroni), so the chance of any false alarm in a CI run is at most 1 %
whatever the correlation between KPIs. Welch's test is a t-test on means of independent replications,
which are close to normal here (each is a sum over thousands of lots). A KPI constant in both samples
(zero variance) must be equal. For days-to-target KPIs, the share of runs that reach the target is
compared first (Fisher's exact test at the same level), then the days among runs that reached it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.results.folder import read_results_table
from sim.results.tables import kpi_family
from sim.runs.atomic import atomic_write, atomic_write_json
from sim.runs.manifest import config_hash, git_commit

FAMILY_ALPHA = 0.01
BASELINE_FILE = "baseline.json"


class BaselineMismatch(Exception):
    """The baseline was made from another configuration: comparing would be meaningless."""


def tracked_kpis(runs: pd.DataFrame) -> list[str]:
    cols = [c for c in runs.columns if (family := kpi_family(c)) is not None and family.regress]
    # KPIs that are zero in every run (a site kind with no output) carry no information
    return [c for c in cols if not (runs[c].fillna(0) == 0).all()]


def regression_hash(exp: Any) -> str:
    """What must match between baseline and run: the resolved scenarios, not the seed or replications."""
    return config_hash(exp.config()["scenarios"])


def make_baseline(runs: pd.DataFrame, exp: Any) -> dict[str, Any]:
    ok = runs[runs["status"] == "ok"]
    kpis = {}
    for kpi in tracked_kpis(ok):
        values = ok[kpi].to_numpy(dtype=float)
        reached = values[~np.isnan(values)]
        kpis[kpi] = {"mean": float(reached.mean()) if len(reached) else None,
                     "std": float(reached.std(ddof=1)) if len(reached) > 1 else None,
                     "n": len(values), "n_valid": len(reached),
                     "values": [None if math.isnan(v) else v for v in values.tolist()]}
    commit = git_commit()
    return {"experiment": exp.name, "config_hash": regression_hash(exp), "root_seed": exp.seed,
            "replications": len(ok), "commit": commit.get("commit") if isinstance(commit, dict) else commit,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "family_alpha": FAMILY_ALPHA,
            "kpis": kpis}


def compare(baseline: dict[str, Any], runs: pd.DataFrame) -> pd.DataFrame:
    """One row per tracked KPI: baseline, now, change, p-value, verdict ('ok' or 'MOVED')."""
    ok = runs[runs["status"] == "ok"]
    names = sorted(set(baseline["kpis"]) | set(tracked_kpis(ok)))
    alpha = FAMILY_ALPHA / max(1, len(names))
    rows = []
    for kpi in names:
        base = np.array([np.nan if v is None else v for v in baseline["kpis"].get(kpi, {}).get("values", [])],
                        dtype=float)
        now = ok[kpi].to_numpy(dtype=float) if kpi in ok else np.array([], dtype=float)
        rows.append({"kpi": kpi, **_test(base, now, alpha)})
    return pd.DataFrame(rows)


def _test(base: np.ndarray, now: np.ndarray, alpha: float) -> dict[str, Any]:
    if len(base) == 0 or len(now) == 0:
        return {"baseline": _mean(base), "now": _mean(now), "change": np.nan, "p_value": 0.0,
                "verdict": "MOVED (new KPI)" if len(base) == 0 else "MOVED (KPI gone)"}
    b, n = base[~np.isnan(base)], now[~np.isnan(now)]
    out: dict[str, Any] = {"baseline": _mean(b), "now": _mean(n)}
    out["change"] = (out["now"] - out["baseline"]) / abs(out["baseline"]) if out["baseline"] else np.nan
    if len(b) != len(base) or len(n) != len(now):  # a target some runs never reach
        table = [[len(b), len(base) - len(b)], [len(n), len(now) - len(n)]]
        p_reach = float(stats.fisher_exact(table).pvalue)
        if p_reach < alpha:
            return {**out, "p_value": p_reach, "verdict": "MOVED (share reaching it)"}
        if len(b) < 2 or len(n) < 2:
            return {**out, "p_value": p_reach, "verdict": "ok"}
    sb, sn = b.std(ddof=1), n.std(ddof=1)
    if sb == 0 and sn == 0:
        same = math.isclose(out["baseline"], out["now"], rel_tol=1e-9, abs_tol=1e-12)
        return {**out, "p_value": 1.0 if same else 0.0, "verdict": "ok" if same else "MOVED"}
    p = float(stats.ttest_ind(b, n, equal_var=False).pvalue)
    return {**out, "p_value": p, "verdict": "ok" if p >= alpha else "MOVED"}


def _mean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)] if len(values) else values
    return float(values.mean()) if len(values) else float("nan")


def format_table(table: pd.DataFrame) -> str:
    lines = [f"{'KPI':<40} {'baseline':>14} {'now':>14} {'change':>8} {'p':>9}  verdict"]
    for r in table.itertuples():
        change = "" if not np.isfinite(r.change) else f"{r.change:+.1%}"
        lines.append(f"{r.kpi:<40} {r.baseline:>14,.2f} {r.now:>14,.2f} {change:>8} {r.p_value:>9.2g}  {r.verdict}")
    return "\n".join(lines)


REPO_ROOT = Path(__file__).resolve().parent.parent
"""The repository holding this package: the defaults of `regress` are found here, from any directory."""


def read_baseline_file(path: Path) -> dict[str, Any]:
    """baseline.json, checked for the fields the comparison reads; a corrupted file is a BaselineMismatch
    (bad input, exit 2), never a regression (exit 1)."""
    fix = ("restore it (git checkout -- " + str(path) + ") or rebuild it with `resilience regress "
           "--update-baseline`")
    try:
        baseline = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BaselineMismatch(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}): {fix}")\
            from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineMismatch(f"{path}: cannot be read ({exc.__class__.__name__}): {fix}") from None
    kpis = baseline.get("kpis") if isinstance(baseline, dict) else None
    if (not isinstance(kpis, dict) or not isinstance(baseline.get("root_seed"), int)
            or not all(isinstance(v, dict) and isinstance(v.get("values"), list) for v in kpis.values())):
        raise BaselineMismatch(f"{path}: not a baseline (needs root_seed and kpis with their values): {fix}")
    return baseline


def load_baseline(directory: Path, exp: Any) -> dict[str, Any]:
    path = directory / BASELINE_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path}: no baseline; create one with `resilience regress --update-baseline`")
    baseline = read_baseline_file(path)
    if baseline.get("config_hash") != regression_hash(exp):
        raise BaselineMismatch(
            f"{path}: the baseline was made from another configuration (config hash {baseline.get('config_hash')},"
            f" this experiment has {regression_hash(exp)}); if the change is meant, rerun with --update-baseline")
    return baseline


def model_source_hash(package: Path | None = None) -> str:
    """A digest of the simulator's source files (`sim/**/*.py`, by relative path and content).

    The runner reuses a stored run whose spec matches, whatever code made it; the regression's default
    results folder is named after this digest so that, after a model change, `regress` (and
    `--update-baseline`) simulate again instead of resuming runs made by the old code."""
    root = package or Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def cmd_regress(args: argparse.Namespace) -> int:
    from sim.errors import EXIT_FAILED, EXIT_OK, BadInput
    from sim.results.folder import check_out_dir
    from sim.runs.driver import run_specs
    from sim.runs.storage import OutputBusy
    from sim.studies import load_experiment

    experiment = Path(args.experiment) if args.experiment else REPO_ROOT / "experiments" / "ci_regression.yaml"
    baseline_dir = Path(args.baseline) if args.baseline else REPO_ROOT / "results" / "baseline"
    if not experiment.is_file():
        raise BadInput(f"{experiment}: the regression experiment is not there: run from a checkout of the "
                       "repository, or give --experiment FILE and --baseline DIR")
    exp = load_experiment(experiment, args.set)
    baseline = None
    if not args.update_baseline:
        try:
            baseline = load_baseline(baseline_dir, exp)
        except (FileNotFoundError, BaselineMismatch) as exc:
            raise BadInput(str(exc)) from None
    seed = args.seed if args.seed is not None else (exp.seed if baseline is None else baseline["root_seed"] + 1)
    exp = load_experiment(experiment, args.set, seed=seed)
    out = (Path(args.out) if args.out
           else REPO_ROOT / "results" / "regress" / f"seed{seed}-code{model_source_hash()}")
    check_out_dir(out)
    started = time.perf_counter()
    try:
        outcome = run_specs(exp.run_specs(), out, workers=args.workers, progress=False,
                            manifest_extra={"experiment": exp.name, "config_hash": config_hash(exp.config()),
                                            "config": exp.config(), "purpose": "regression"})
    except OutputBusy as exc:
        raise BadInput(str(exc)) from None
    wall = time.perf_counter() - started
    if outcome.failed:
        for run_id, error in outcome.failed:
            print(f"failed: {run_id}: {error}")
        return EXIT_FAILED
    runs = read_results_table(out / "runs.parquet")
    if args.update_baseline:
        old = None
        if (baseline_dir / BASELINE_FILE).exists():
            try:
                old = read_baseline_file(baseline_dir / BASELINE_FILE)
            except BaselineMismatch as exc:
                print(f"replacing an unreadable baseline: {exc}")
        new = make_baseline(runs, exp)
        baseline_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(baseline_dir / BASELINE_FILE, new)
        summary = pd.DataFrame([{"kpi": k, "mean": v["mean"], "std": v["std"], "n": v["n"]}
                                for k, v in new["kpis"].items()])
        atomic_write(baseline_dir / "summary.csv", lambda p: summary.to_csv(p, index=False))
        print(f"baseline written to {baseline_dir} ({len(runs)} runs, seed {seed}, {wall:.1f} s)")
        if old is not None and old.get("kpis"):
            if old.get("config_hash") != new["config_hash"]:
                print("the configuration changed since the previous baseline")
            print(format_table(compare(old, runs)))
        return EXIT_OK
    assert baseline is not None
    table = compare(baseline, runs)
    print(f"regression: {exp.name}, {len(runs)} runs (seed {seed}) vs baseline (seed {baseline['root_seed']}, "
          f"commit {str(baseline.get('commit'))[:10]}), family false-alarm rate <= {FAMILY_ALPHA:.0%}, "
          f"{wall:.1f} s")
    print(format_table(table))
    moved = table[table["verdict"] != "ok"]
    if len(moved):
        print(f"\nREGRESSION: {len(moved)} KPI(s) moved beyond noise: {', '.join(moved['kpi'])}")
        print("If the change is meant, update the baseline in the same commit: resilience regress --update-baseline")
        return EXIT_FAILED
    print("\nno KPI moved beyond noise")
    return EXIT_OK
