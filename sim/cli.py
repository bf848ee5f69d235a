"""The command line: `resilience run | validate | report | regress | compare | calibrate` (also `python -m sim`).

Exit status: 0 success, 1 a regression, a failed run or a failure of the machine (a full disk), 2 bad input
(one line: the first problem, naming the file, the field path, the value and what is allowed, and how many
more there are; never a traceback).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from sim.errors import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, BadInput, ConfigError, ResultsError
from sim.results.folder import check_out_dir
from sim.results.tables import is_share

HEADLINE_KPIS = ("masks_delivered", "masks_sewn", "masks_free", "first_pass_yield", "mean_lead_time_days",
                 "masks_scrapped", "revenue_eur")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="resilience",
        description="Discrete-event simulation of an emergency mask production network (Projet Résilience).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run an experiment or scenario file and write results, charts, report")
    run.add_argument("file", help="experiment or scenario YAML file")
    run.add_argument("--replications", type=int, help="replications per scenario (default: from the file)")
    run.add_argument("--seed", type=int, help="root seed (default: from the file)")
    run.add_argument("--out", help="results directory (default: results/<experiment name>)")
    run.add_argument("--workers", type=int, help="worker processes (default: all cores; 1 = in this process)")
    run.add_argument("--scheduler", help="'local' for a Dask LocalCluster, or a Dask scheduler address")
    run.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                     help="override a scenario field by dotted path (repeatable)")
    run.add_argument("--no-report", action="store_true", help="skip charts and report.html")
    run.add_argument("--screenshot", action="store_true", help="also render report.png with headless Chromium")
    run.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="show a progress bar (default: on a terminal outside CI)")

    val = sub.add_parser("validate", help="check a file; print 'ok' or the problems")
    val.add_argument("file")
    val.add_argument("--set", action="append", default=[], metavar="PATH=VALUE")

    rep = sub.add_parser("report", help="(re)write the charts and report.html of a results directory")
    rep.add_argument("results_dir")
    rep.add_argument("--screenshot", action="store_true", help="also render report.png with headless Chromium")
    rep.add_argument("--static", action="store_true",
                     help="report.html without its interactive charts, map and what-if panel (no script)")

    reg = sub.add_parser("regress", help="run the CI experiment and compare its KPIs with the baseline")
    reg.add_argument("--baseline", default=None,
                     help="baseline directory (default: results/baseline of the repository holding this package)")
    reg.add_argument("--experiment", default=None,
                     help="experiment file (default: experiments/ci_regression.yaml of the repository)")
    reg.add_argument("--update-baseline", action="store_true", help="rewrite the baseline from this run")
    reg.add_argument("--workers", type=int)
    reg.add_argument("--seed", type=int, help="root seed of the new run (default: the baseline's + 1)")
    reg.add_argument("--set", action="append", default=[], metavar="PATH=VALUE")
    reg.add_argument("--out", default=None,
                     help="where to write the new run (default: results/regress/seed<N> of the repository)")

    cal = sub.add_parser("calibrate", help="history-match the uncertain parameters of an experiment to its "
                                           "observations (docs/calibration.md)")
    cal.add_argument("file", help="experiment YAML file with uncertain, observations and calibration blocks")
    cal.add_argument("--out", help="results directory (default: results/<experiment name>); writes calibration/")
    cal.add_argument("--workers", type=int, help="worker processes (default: all cores; 1 = in this process)")
    cal.add_argument("--scheduler", help="'local' for a Dask LocalCluster, or a Dask scheduler address")
    cal.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                     help="override a scenario field by dotted path (repeatable)")
    cal.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="show a progress bar (default: on a terminal outside CI)")

    cmp_ = sub.add_parser("compare", help="compare the KPIs of two results directories")
    cmp_.add_argument("a")
    cmp_.add_argument("b")

    from sim.decisions.command import add_parser as add_what_it_takes

    add_what_it_takes(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if getattr(args, "scheduler", None) not in (None, "local"):  # before any command writes anything
            from sim.runs.executors import check_scheduler

            check_scheduler(args.scheduler)
        if args.command == "validate":
            return cmd_validate(args)
        if args.command == "run":
            return cmd_run(args)
        if args.command == "report":
            return cmd_report(args)
        if args.command == "regress":
            from sim.regress import cmd_regress

            return cmd_regress(args)
        if args.command == "compare":
            return cmd_compare(args)
        if args.command == "calibrate":
            from sim.calibration.command import cmd_calibrate
            from sim.decisions.command import check_out_arg

            if args.workers is not None and args.workers < 1:
                raise BadInput(f"--workers: {args.workers}: a whole number >= 1")
            check_out_arg(args.out)
            from sim.studies import load_experiment

            return cmd_calibrate(args, load_experiment)
        if args.command == "what-it-takes":
            from sim.decisions.command import cmd_what_it_takes
            from sim.studies import load_experiment

            return cmd_what_it_takes(args, load_experiment)
    except ConfigError as exc:  # one line: the first problem, and how many more there are
        more = len(exc.problems) - 1
        plural = "s" if more > 1 else ""
        suffix = f" (and {more} more problem{plural}: validate again once this is fixed)" if more else ""
        print(f"error: {exc.problems[0]}{suffix}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (BadInput, ResultsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted: finished runs are kept; run the same command again to resume", file=sys.stderr)
        return 130
    except OSError as exc:  # the machine failed us (disk full, permission, device): not the input
        if os.environ.get("RESILIENCE_DEBUG"):
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc} (errno {exc.errno}): the machine could not write or read "
              "this; nothing half-written was kept: free space or fix permissions, then run the same command "
              "again to resume", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # a bug: one line, the details on request
        if os.environ.get("RESILIENCE_DEBUG"):
            raise
        print(f"error: internal error {type(exc).__name__}: {str(exc)[:200]}: a bug in resilience-sim, not in "
              "your input: please report it (set RESILIENCE_DEBUG=1 for the traceback)", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_FAILED


def _failure_lines(outcome: Any, specs: list[Any], out: Path) -> list[str]:
    from sim.runs.manifest import run_seed

    seeds = {s.run_id: run_seed(s) for s in specs}
    lines = [f"failed: {run_id} (seed {seeds.get(run_id)}): {error}" for run_id, error in outcome.failed]
    lines.append(f"{len(outcome.failed)} of {len(specs)} runs failed. This is a model error, not a problem with "
                 f"your input (it passed validation): please report it with {out / 'manifest.json'}; each failed "
                 "run's seed, error and traceback are in its runs/<id>/run.json")
    return lines


def cmd_validate(args: argparse.Namespace) -> int:
    from sim.studies import load_experiment

    exp = load_experiment(args.file, args.set)
    if exp.space is not None:
        print(f"ok: {exp.name} (calibration over {exp.space.dim} uncertain parameters against "
              f"{len(exp.spec.observations)} observations)")
        return EXIT_OK
    if exp.study is not None:  # design points, not scenarios (and the design's size warnings)
        print(f"ok: {exp.name}: {exp.study.headline(exp.replications)}")
        return EXIT_OK
    n = len(exp.resolved)
    print(f"ok: {exp.name} ({n} scenario{'s' if n != 1 else ''} × {exp.replications} replications)")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from sim.results.analysis import write_summary
    from sim.runs.driver import RunInterrupted, run_specs
    from sim.runs.storage import OutputBusy
    from sim.studies import load_experiment, manifest_extra

    if args.replications is not None and args.replications < 1:
        raise BadInput(f"--replications: {args.replications}: a whole number >= 1")
    if args.workers is not None and args.workers < 1:
        raise BadInput(f"--workers: {args.workers}: a whole number >= 1")
    exp = load_experiment(args.file, args.set, seed=args.seed)
    out = Path(args.out) if args.out else Path("results") / exp.name
    check_out_dir(out)
    specs = exp.run_specs(args.replications)
    command = "resilience " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else "resilience run"
    if exp.study is None:
        print(f"{exp.name}: {len(exp.resolved)} scenario(s) × {len(specs) // len(exp.resolved)} replications "
              f"-> {out}", flush=True)
    else:  # design points are points, not scenarios (their line follows)
        print(f"{exp.name}: {len(specs)} runs -> {out}", flush=True)
    if exp.calibrated is not None:
        print(f"parameters from {exp.calibrated.folder}: each replication runs at its own point of the "
              f"{len(exp.calibrated.values)} non-implausible points kept", flush=True)
        if exp.calibrated.discrepancy_share > 0:
            print(f"the intervals of counts (masks, euros) include the model discrepancy assumed in calibration "
                  f"(sd {exp.calibrated.discrepancy_share:.0%} of the value); dates, shares and probabilities are "
                  "the runs' own", flush=True)
    if exp.study is not None:  # uncertainty study: design.parquet first (sim.uncertainty)
        from sim.uncertainty.study import before_run

        print(exp.study.headline(args.replications or exp.replications), flush=True)
        before_run(exp.study, out)
    try:
        outcome = run_specs(specs, out, workers=args.workers, scheduler=args.scheduler, progress=args.progress,
                            manifest_extra=manifest_extra(exp, command))
    except RunInterrupted:
        raise KeyboardInterrupt from None
    except OutputBusy as exc:
        raise BadInput(str(exc)) from None
    if len(outcome.failed) == len(specs):
        for line in _failure_lines(outcome, specs, out):
            print(line, file=sys.stderr)
        return EXIT_FAILED
    summary = write_summary(out, exp)
    print_summary(summary, exp, out)
    if exp.study is not None:
        from sim.uncertainty.sensitivity import after_run

        after_run(exp.study, out, exp.base.horizon_days)
    from sim.decisions.tables import write_decision_tables

    for table in write_decision_tables(out, exp, args.workers, args.scheduler):
        print(f"wrote {table}")
    if not args.no_report:
        write_charts_and_report(out, args.screenshot)
    if outcome.failed:
        for line in _failure_lines(outcome, specs, out):
            print(line, file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _fmt_value(kpi: str, mean: float, start: dt.date) -> str:
    if math.isnan(mean):
        return "not reached"
    if kpi.startswith("day_target."):
        # the day a run reaches a target is the date of that day (floor), as in the report
        return f"day {mean:.1f} ({(start + dt.timedelta(days=math.floor(mean))).strftime('%d %b')})"
    if is_share(kpi):
        return f"{mean:.1%}"
    if abs(mean) >= 1e6:
        return f"{mean / 1e6:,.2f} M"
    if abs(mean) >= 1e3:
        return f"{mean:,.0f}"
    return f"{mean:.2f}"


def _signed(value: float, kpi: str = "") -> str:
    """A difference: a share's in percentage points ('+5.6 pts', as its values print as percentages)."""
    if math.isnan(value):
        return "nan"
    if is_share(kpi):
        return f"{value * 100:+.1f} pts"
    return f"{value:+,.0f}" if abs(value) >= 1000 else f"{value:+.2f}"


def _target_medians(out: Path | None) -> dict[tuple[str, str, str], tuple[float, int, int]]:
    """(scenario, point, day_target KPI) -> (median day counting runs that never reach it as later than any,
    runs reaching it, runs): the statistic the report states for a date, so the two always agree."""
    if out is None or not (out / "runs.parquet").exists():
        return {}
    import numpy as np

    from sim.results.folder import read_results_table
    from sim.results.results_set import median_with_unreached
    from sim.results.tables import PARAM_PREFIX, point_labels

    runs = read_results_table(out / "runs.parquet")
    ok = runs[runs["status"] == "ok"].copy() if "status" in runs.columns else runs.copy()
    ok["point"] = point_labels(ok, sorted(c for c in ok.columns if c.startswith(PARAM_PREFIX)))
    medians = {}
    for (scenario, point), rows in ok.groupby(["scenario", "point"], sort=False):
        for kpi in (c for c in rows.columns if c.startswith("day_target.")):
            days = rows[kpi].to_numpy(dtype=float)
            medians[(str(scenario), str(point), kpi)] = (median_with_unreached(days), int(np.isfinite(days).sum()),
                                                         len(days))
    return medians


def print_summary(summary: Any, exp: Any, out: Path | None = None) -> None:
    """A short table: per scenario, the targets (median date, as the report), headline KPIs and fill rates
    (mean) with 95 % intervals."""
    start = exp.base.start
    medians = _target_medians(out)
    wanted = [k for k in summary["kpi"].unique() if k.startswith(("day_target.", "P(reached", "fill_rate."))
              or k in HEADLINE_KPIS]
    study = getattr(exp, "study", None)
    if study is not None:  # an uncertainty study: the design points by what the design supports (sim.uncertainty)
        from sim.uncertainty.summary import NOMINAL, nominal_words, print_design_summary

        print_design_summary(summary, study, exp.replications, start, wanted, _fmt_value, out)
        summary = summary[summary["scenario"] == NOMINAL]
    for (scenario, point), rows in summary.groupby(["scenario", "point"], sort=False):
        label = nominal_words() if study is not None else scenario + (f" [{point}]" if point else "")
        print(f"\n{label}  (n = {int(rows['n'].max())} replications; dates: median over replications, a run that "
              "never reaches a target counting as later than any; other figures: mean; [95 % interval of the mean])")
        for kpi in wanted:
            row = rows[rows["kpi"] == kpi]
            if row.empty:
                continue
            r = row.iloc[0]
            mean = float(r["mean"])
            low, high = float(r["ci_low"]), float(r["ci_high"])
            reached = ""
            if kpi.startswith("day_target."):
                n_reached = int(r["n"])
                total = int(rows["n"].max())
                reached = f"  reached in {n_reached}/{total} runs" if n_reached < total else ""
                median = medians.get((str(scenario), str(point), kpi))
                if median is not None:
                    when = (_fmt_value(kpi, median[0], start) if math.isfinite(median[0])
                            else "not reached in most runs")
                    print(f"  {kpi:<36} {'median ' + when:>22}  reached in {median[1]}/{median[2]} runs")
                    continue
            interval = "" if math.isnan(low) else f"  [{_fmt_value(kpi, low, start)} .. {_fmt_value(kpi, high, start)}]"
            diff = float(r.get("diff_vs_base", math.nan))
            versus = "" if math.isnan(diff) else (f"  vs base {_signed(diff, kpi)} ["
                                                  f"{_signed(float(r['diff_ci_low']), kpi)} .. "
                                                  f"{_signed(float(r['diff_ci_high']), kpi)}]")
            print(f"  {kpi:<36} {_fmt_value(kpi, mean, start):>22}{interval}{reached}{versus}")


def write_charts_and_report(out: Path, screenshot: bool = False, static: bool = False) -> None:
    from sim.report import write_report

    report = write_report(out, static)  # draws the charts into out/charts as well, and writes summary.html
    made = len(list((out / "charts").glob("*.png")))
    print(f"\n{made} charts in {out / 'charts'}; report: {report}; printable summary: {out / 'summary.html'}")
    if screenshot:
        from sim.report.screenshot import screenshot as render
        from sim.report.summary import MAX_PAGES, SUMMARY_NAME, SUMMARY_PDF, pdf_pages, print_pdf

        try:
            # the first screen as a reader's browser shows it, then the printed summary (A4 at 96 dpi)
            print(f"screenshot of the first screen: {render(report, out / 'report.png', height=1000)}")
            pdf = print_pdf(out / SUMMARY_NAME, out / SUMMARY_PDF)
            pages = pdf_pages(pdf)
            print(f"printed summary: {pdf} ({pages} A4 page{'s' if pages != 1 else ''}"
                  + (f", more than {MAX_PAGES}!" if pages > MAX_PAGES else "") + ")")
            shot = render(out / SUMMARY_NAME, out / "summary.png", width=794, height=1123 * MAX_PAGES)
            print(f"screenshot of the printed summary: {shot}")
        except RuntimeError as exc:
            print(f"no screenshot: {exc}", file=sys.stderr)


def cmd_report(args: argparse.Namespace) -> int:
    from sim.results.folder import check_results_folder

    out = Path(args.results_dir)
    if not (out / "runs.parquet").exists():
        raise BadInput(f"{out}: no runs.parquet here; give a directory written by 'resilience run'")
    check_results_folder(out)
    write_charts_and_report(out, args.screenshot, args.static)
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    """KPIs of folder B against folder A, scenario by scenario: runs are matched by scenario name and sweep
    point, never pooled across scenarios; what exists in one folder only is named."""
    from sim.results.folder import check_results_folder, read_results_table

    tables = []
    for d in (args.a, args.b):
        path = Path(d) / "runs.parquet"
        if not path.exists():
            raise BadInput(f"{d}: no runs.parquet here; give a directory written by 'resilience run'")
        check_results_folder(Path(d))
        table = read_results_table(path)
        if "status" not in table.columns:
            raise ResultsError(f"{path}: no 'status' column: not a runs table written by 'resilience run'")
        tables.append(table)
    from sim.results.analysis import match_scenarios, runs_of, scenario_label, t_interval, unpaired_difference

    a, b = tables
    both, only_a, only_b = match_scenarios(a, b)
    if only_a:
        print(f"only in A ({args.a}): {', '.join(only_a)}")
    if only_b:
        print(f"only in B ({args.b}): {', '.join(only_b)}")
    if not both:
        raise BadInput(f"{args.a} and {args.b} share no scenario (by name and sweep point): nothing to compare")
    from sim.results.tables import DAY_TARGET, FILL_RATE

    kpis = [c for c in a.columns if c in b.columns and c.startswith(("masks_", DAY_TARGET, FILL_RATE, "mean_lead_time",
                                                                      "first_pass_yield", "revenue_eur"))]
    for scenario, point in both:
        ra, rb = runs_of(a, scenario, point), runs_of(b, scenario, point)
        print(f"\n{scenario_label(scenario, point)}  (A: n = {len(ra)}, B: n = {len(rb)})")
        print(f"{'KPI':<36} {'A':>14} {'B':>14} {'B - A':>14}  95 % interval")
        for kpi in kpis:
            xa, xb = ra[kpi].to_numpy(dtype=float), rb[kpi].to_numpy(dtype=float)
            ma, mb = t_interval(xa)[0], t_interval(xb)[0]
            diff = unpaired_difference(xa, xb)
            print(f"{kpi:<36} {ma:>14,.2f} {mb:>14,.2f} {diff[0]:>14,.2f}  [{diff[2]:,.2f} .. {diff[3]:,.2f}]")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
