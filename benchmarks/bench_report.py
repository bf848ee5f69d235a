"""The interactive report's weight and speed (targets: under 10 MB and under 2 s to interactive for 7 scenarios ×
30 replications; see docs/results.md).

    python benchmarks/bench_report.py [--replications 30] [--workers 2]     # run the experiment, then measure
    python benchmarks/bench_report.py --from DIR                            # measure a results folder's report

Runs a 7-scenario experiment on the CI network (experiments/ci_regression.yaml and six variants of it: more or
fewer workshops, a second shift at the plant, more elastic, more cutters, a faster lab) with `python -m sim run`
(report included) into a fresh folder unless --from is given. Then opens report.html in headless Chromium (Debian's,
through Playwright) --loads times, each in a new page, and prints: the file's size, the time from navigation to
the page's "ready" mark (its script run and the figures in view drawn: the reader can scroll, hover and click),
the time to draw every figure (as a reader scrolling through would make it), every request other than the file
(none expected) and the machine's load average (other processes share the cores: read the times with it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
VARIANTS = {  # assumptions: changes big enough to tell the scenarios apart on the charts
    "more_smes": {"groups.smes.count": 6},
    "fewer_smes": {"groups.smes.count": 1},
    "plant_two_shifts": {"sites.plant.calendar": "two_shifts"},
    "more_elastic": {"suppliers.elastic_maker.fill_rate": 1.0},
    "more_cutters": {"sites.cutting_centre.stages.cut.operators": 12},
    "fast_lab": {"certification.lab.benches": 4},
}


def write_experiment(folder: Path, replications: int) -> Path:
    lines = ["name: bench_report", f"base: {ROOT / 'experiments' / 'ci_regression.yaml'}", "base_scenario: base",
             f"replications: {replications}", "seed: 7", "scenarios:", "  base: {}"]
    for name, changes in VARIANTS.items():
        lines += [f"  {name}:", "    set:"] + [f"      {path}: {json.dumps(value)}" for path, value in changes.items()]
    path = folder / "bench_report.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def measure(html: Path, loads: int) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT))
    from sim.report.screenshot import CHROMIUM_FLAGS

    ready, draw_all, requests = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[f for f in CHROMIUM_FLAGS if f != "--headless"])
        for _ in range(loads):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda r: requests.append(r.url) if r.url != html.resolve().as_uri() else None)
            page.goto(html.resolve().as_uri())
            page.wait_for_function("document.body.dataset.interactive === 'ready'", timeout=120_000)
            ready.append(float(page.evaluate("window.reportReadyMs")))
            draw_all.append(float(page.evaluate(
                "(async () => { const t = performance.now(); await window.reportDrawAll(); "
                "return performance.now() - t; })()")))
            page.close()
        browser.close()
    return {"ready_ms": [round(v) for v in ready], "ready_ms_median": round(statistics.median(ready)),
            "draw_all_figures_ms": [round(v) for v in draw_all],
            "draw_all_figures_ms_median": round(statistics.median(draw_all)), "other_requests": requests}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--from", dest="source", help="a results folder whose report.html to measure")
    args = parser.parse_args()
    load_before = os.getloadavg()
    if args.source:
        out = Path(args.source)
        run_seconds = None
    else:
        out = Path(tempfile.mkdtemp(prefix="bench_report_")) / "results"
        experiment = write_experiment(out.parent, args.replications)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sim", "run", str(experiment), "--out", str(out), "--workers",
                        str(args.workers), "--no-progress"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        run_seconds = round(time.perf_counter() - started, 1)
    html = out / "report.html"
    runs = json.loads((out / "manifest.json").read_text(encoding="utf-8")).get("counts")
    figures = measure(html, args.loads)
    print(json.dumps({"results": str(out), "runs": runs, "run_and_report_seconds": run_seconds,
                      "report_mb": round(html.stat().st_size / 1e6, 2), **figures,
                      "load_average_before": [round(v, 2) for v in load_before],
                      "load_average_after": [round(v, 2) for v in os.getloadavg()]}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
