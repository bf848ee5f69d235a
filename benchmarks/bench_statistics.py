"""Every statistical claim the tool prints, measured on problems with a known truth.

    python benchmarks/bench_statistics.py [--quick] [--only SUBSTRING] [--out FILE]

Discovers every benchmarks/stat_*.py, imports it by path and calls its `checks(quick) -> list[dict]` (one
dict per claim: method, claim, kind "error" or "coverage", stated, measured, n, mc_se, exact, detail; see
the section files). Prints one table: per claim the stated rate, the measured one ± its Monte Carlo
standard error, the number of problems behind it and a verdict: "holds" when measured ≤ stated + 2·mc_se
(an error rate) or measured ≥ stated − 2·mc_se (a coverage), else "FAILS". Writes the rows to
results/statistics/bench_statistics.json (atomically) and exits 1 if any claim fails or a section raises.
--quick runs each section's quick mode (a few minutes in all); --only runs the sections whose file name
contains SUBSTRING.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from sim.runs.atomic import atomic_write_json  # noqa: E402

OUT = ROOT / "results" / "statistics" / "bench_statistics.json"
FIELDS = ("method", "claim", "kind", "stated", "measured", "n", "mc_se", "exact", "detail")


def sections(only: str | None) -> list[Path]:
    return [p for p in sorted(HERE.glob("stat_*.py")) if only is None or only in p.name]


def load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def verdict(row: dict[str, Any]) -> str:
    margin = 2 * float(row["mc_se"])
    if row["kind"] == "error":
        return "holds" if row["measured"] <= row["stated"] + margin else "FAILS"
    if row["kind"] == "coverage":
        return "holds" if row["measured"] >= row["stated"] - margin else "FAILS"
    raise ValueError(f"kind must be 'error' or 'coverage', got {row['kind']!r}")


def check_row(row: dict[str, Any], where: str) -> dict[str, Any]:
    missing = [f for f in FIELDS if f not in row]
    if missing:
        raise ValueError(f"{where}: a row lacks {', '.join(missing)}: {row}")
    return {f: row[f] for f in FIELDS}


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a plain-text table, the claim wrapped in its column."""
    lines = [f"{'method':<22} {'claim':<62} {'kind':<8} {'stated':>7} {'measured':>17} {'n':>7}  verdict",
             "-" * 140]
    for row in rows:
        measured = (f"{row['measured']:.4f} (exact)" if row["exact"] else
                    f"{row['measured']:.4f} ± {row['mc_se']:.4f}")
        claim = row["claim"] if len(row["claim"]) <= 62 else row["claim"][:59] + "..."
        lines.append(f"{row['method']:<22} {claim:<62} {row['kind']:<8} {row['stated']:>7.4f} {measured:>17} "
                     f"{row['n']:>7}  {row['verdict']}")
        lines.append(f"{'':<22}   {row['detail']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="each section's quick mode")
    parser.add_argument("--only", help="run the sections whose file name contains this")
    parser.add_argument("--out", type=Path, default=OUT, help=f"where the rows go (default {OUT.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    found = sections(args.only)
    if not found:
        print(f"error: no benchmarks/stat_*.py matches {args.only!r}", file=sys.stderr)
        return 2
    rows: list[dict[str, Any]] = []
    broken = []
    for path in found:
        started = time.perf_counter()
        try:
            got = [check_row(r, path.name) for r in load(path).checks(args.quick)]
        except Exception:  # a broken section is reported and fails the run; the others still run
            broken.append(path.name)
            print(f"{path.name} raised:\n{traceback.format_exc()}", file=sys.stderr)
            continue
        for row in got:
            row["section"], row["verdict"] = path.name, verdict(row)
        rows += got
        print(f"{path.name}: {len(got)} claims in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    print(table(rows))
    failed = [r for r in rows if r["verdict"] != "holds"]
    print(f"\n{len(rows)} claims, {len(rows) - len(failed)} hold, {len(failed)} fail"
          + (f"; sections that raised: {', '.join(broken)}" if broken else ""))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out, {"quick": args.quick, "only": args.only, "rows": rows, "broken_sections": broken})
    print(f"wrote {args.out}")
    return 1 if failed or broken else 0


def run_alone(section_file: str) -> int:
    """A section run as a script (`python benchmarks/stat_x.py [--quick]`): this driver on that section alone, so
    the table and verdicts are the driver's; its rows go to results/statistics/<section>.json."""
    stem = Path(section_file).stem
    return main(["--only", f"{stem}.py", "--out", str(OUT.with_name(f"{stem}.json")), *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
