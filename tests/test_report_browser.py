"""The report's interactive page in a real browser: headless Chromium (Debian's, as .ci/run installs it) driven by
Playwright, on the session's real results folder (`drawn_report` in tests/conftest.py). The mouse hovers a point and
the tooltip is read, a scenario is switched off from the legend, and every request the page makes is recorded: only
the file itself may load. Expected numbers are recomputed here from the Parquet tables with plain pandas."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sim.report.screenshot import CHROMIUM_FLAGS

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Debian's chromium is not installed (.ci/run installs it)")


class Browser:
    """One headless Chromium page on a report, with every request it made."""

    def __init__(self, page: Any, requests: list[str]) -> None:
        self.page = page
        self.requests = requests

    def open(self, html: Path) -> None:
        self.requests.clear()
        self.page.goto(html.resolve().as_uri())
        self.page.wait_for_function("document.body.dataset.interactive === 'ready'", timeout=60_000)

    def show(self, chart: str) -> None:
        """Scroll a figure into view, as a reader does, and wait until the page has drawn it there."""
        self.page.locator(f"#ichart-{chart}").scroll_into_view_if_needed()
        self.page.wait_for_function(f"document.getElementById('ichart-{chart}').dataset.drawn === 'yes'",
                                    timeout=30_000)

    def point_on_screen(self, chart: str, trace: int, x: Any, y: float) -> tuple[float, float]:
        """Where (x, y) of a figure's data is drawn, in page coordinates (the chart scrolled into view)."""
        self.show(chart)
        return self.page.evaluate(
            """([id, trace, x, y]) => {
                const gd = document.getElementById(id), box = gd.getBoundingClientRect();
                const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
                return [box.left + xa._offset + xa.d2p(x), box.top + ya._offset + ya.d2p(y)];
            }""", [f"ichart-{chart}", trace, x, y])

    def hover_text(self, chart: str) -> str:
        return self.page.evaluate(
            """id => Array.from(document.querySelectorAll('#' + id + ' .hoverlayer .hovertext'))
                         .map(e => e.textContent).join(' | ')""", f"ichart-{chart}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM),
                                     args=[f for f in CHROMIUM_FLAGS if f != "--headless"])
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        requests: list[str] = []

        context.on("request", lambda request: requests.append(request.url))  # every request, whatever its fate
        # and none leaves the machine: anything but a local file is refused (and recorded above)
        context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://")
                      else route.abort())
        yield Browser(context.new_page(), requests)
        chromium.close()


def _base_median(results: Path, day: pd.Timestamp) -> tuple[float, float, float, int]:
    runs = pd.read_parquet(results / "runs.parquet")
    ok = runs.loc[(runs["scenario"] == "base") & (runs["status"] == "ok"), "run_id"]
    series = pd.read_parquet(results / "series.parquet")
    rows = series[(series["series"] == "cum_delivered") & (series["key"] == "all") & series["run_id"].isin(ok)]
    on_day = rows[pd.to_datetime(rows["date"]) == day]["value"]
    return float(on_day.median()), float(on_day.quantile(0.05)), float(on_day.quantile(0.95)), len(on_day)


def test_hover_reads_the_value_in_words_and_the_page_requests_nothing(drawn_report: Path, browser: Browser) -> None:
    browser.open(drawn_report)
    day = pd.Timestamp("2020-04-24")
    median, low, high, n = _base_median(drawn_report.parent, day)
    assert median > 1000  # a day with deliveries: the tooltip has a number with thousands separators to show
    x, y = browser.point_on_screen("cumulative_delivered", 1, day.strftime("%Y-%m-%d"), median)
    browser.page.mouse.move(x, y)
    browser.page.wait_for_selector("#ichart-cumulative_delivered .hoverlayer .hovertext", timeout=5000)
    text = browser.hover_text("cumulative_delivered")
    assert "Friday 24 April 2020" in text, text
    assert f"{median:,.0f} masks delivered (median of {n} runs)" in text, text
    assert f"90 % of runs between {low:,.0f} and {high:,.0f}" in text, text
    assert browser.requests == [drawn_report.resolve().as_uri()], browser.requests


def test_a_scenario_is_switched_off_and_on_from_the_legend(drawn_report: Path, browser: Browser) -> None:
    browser.open(drawn_report)
    chart = "#ichart-cumulative_delivered"
    browser.show("cumulative_delivered")

    def shown() -> list[str]:
        return browser.page.evaluate(
            """id => document.getElementById(id).data
                    .filter(t => t.visible !== 'legendonly' && t.showlegend !== false).map(t => t.name)""",
            chart[1:])

    def lines_drawn() -> int:
        return browser.page.locator(f"{chart} .scatterlayer .trace").count()

    def click_legend(name: str) -> None:  # where a reader clicks: on the scenario's name in the legend
        box = browser.page.locator(f"{chart} .legendtext", has_text=name).bounding_box()
        browser.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

    before, drawn = shown(), lines_drawn()
    assert "More SMEs" in before and "Base" in before
    click_legend("More SMEs")
    browser.page.wait_for_function(
        """id => document.getElementById(id).data.some(t => t.name === 'More SMEs' && t.visible === 'legendonly')""",
        arg=chart[1:])
    assert shown() == [name for name in before if name != "More SMEs"]
    assert lines_drawn() == drawn - 2  # its median line and its band left the plot
    click_legend("More SMEs")
    browser.page.wait_for_function(
        """id => document.getElementById(id).data.every(t => t.visible !== 'legendonly')""", arg=chart[1:])
    assert lines_drawn() == drawn


def test_every_interactive_chart_is_drawn_from_the_payload(drawn_report: Path, browser: Browser) -> None:
    browser.open(drawn_report)
    html = drawn_report.read_text(encoding="utf-8")
    assert html.count("<script>") == 2  # plotly.js once, the drawing script once (and the data as JSON)
    payload = json.loads(browser.page.evaluate("document.getElementById('report-figures').textContent"))
    # figures are drawn as they come near the screen: below the first screen, none is drawn yet
    assert browser.page.evaluate("document.querySelectorAll('.ichart[data-drawn]').length") == 0
    browser.page.evaluate("window.reportDrawAll()")
    drawn = browser.page.evaluate(
        "Array.from(document.querySelectorAll('.ichart')).filter(e => e.querySelector('.main-svg')).map(e => e.id)")
    assert sorted(drawn) == sorted(f"ichart-{name}" for name in payload["figures"])
    assert {"cumulative_delivered", "daily_output_by_kind", "bottleneck_timeline", "fill_rates",
            "levers_days_gained"} <= set(payload["figures"])


# ------------------------------------------------------------------------------------------ the what-if panel
SEW = "sites.workshop.stages.sew.minutes_per_mask"


@pytest.fixture(scope="module")
def study_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real uncertainty study (a one-site line, 16 design points, one dated target) and its report."""
    import yaml

    from sim.cli import main
    from tests.scenarios import line

    folder = tmp_path_factory.mktemp("whatif")
    data = line(cv=0.3, sew_min=2.0, cut_min=0.5, pack_min=0.4, horizon_days=20)
    data["channels"] = {"buyers": {"price": 1.0, "priority": 0, "weekly": 1_000_000}}
    data["targets"] = {"first_lot": {"masks": 1500, "by": "2020-04-12"}}  # reached around its date: both ways
    (folder / "line.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")

    def param(label: str, low: float, high: float) -> dict[str, Any]:
        return {"label": label, "source": "test", "uniform": [low, high]}

    study = {"name": "small_study", "base": "line.yaml", "replications": 1, "seed": 11,
             "uncertain": {SEW: param("sewing time", 1.5, 3.0),
                           "sites.workshop.stages.cut.minutes_per_mask": param("cutting time", 0.3, 0.8),
                           "sites.workshop.stages.pack.minutes_per_mask": param("packing time", 0.2, 0.6)},
             "design": {"method": "lhs", "samples": 16, "noise_replications": 2}}
    (folder / "study.yaml").write_text(yaml.safe_dump(study, sort_keys=False), encoding="utf-8")
    out = folder / "out"
    assert main(["run", str(folder / "study.yaml"), "--workers", "1", "--out", str(out)]) == 0
    return out / "report.html"


def test_a_slider_moved_gives_the_emulators_answer_as_python_computes_it(study_report: Path,
                                                                        browser: Browser) -> None:
    from sim.report.whatif import predict_emulator, whatif_panel
    from sim.results.results_set import ResultsSet

    browser.open(study_report)
    panel = whatif_panel(ResultsSet(study_report.parent))  # the same fit as the page's (same points, same seed)
    assert panel is not None and panel["sliders"][0]["path"] == SEW  # sewing time drives the line: first slider
    slider = browser.page.locator("#whatif-slider-0")
    slider.scroll_into_view_if_needed()
    start = int(slider.input_value())
    slider.focus()
    for _ in range(20):  # as a reader does it: the arrow key, step by step
        browser.page.keyboard.press("ArrowRight")
    step = int(slider.input_value())
    assert step == min(start + 20, 100)
    x = np.array(panel["fixed_u"])
    x[panel["sliders"][0]["index"]] = step / 100
    for i, fitted in enumerate(panel["fitted"]):
        mean, sd = predict_emulator(fitted.gp, fitted.mean, fitted.scale, x[None, :])
        answer = browser.page.locator(f"#whatif-answer-{i}")
        assert float(answer.get_attribute("data-mean")) == pytest.approx(mean[0], rel=1e-9, abs=1e-9)
        assert float(answer.get_attribute("data-sd")) == pytest.approx(sd[0], rel=1e-6, abs=1e-9)
        assert sd[0] > 0
    panel_text = browser.page.inner_text("#whatif")
    assert "emulated, not simulated" in panel_text and "not a simulation result" in panel_text
    assert "held back from the fit" in panel_text  # the accuracy stands beside the answers
    command = browser.page.inner_text("#whatif-command")
    value = panel["sliders"][0]["values"][step]
    assert command.startswith("resilience run ") and f"--set {SEW}={value}" in command
    assert browser.requests == [study_report.resolve().as_uri()], browser.requests


def test_the_emulators_held_back_check_is_what_it_says(study_report: Path) -> None:
    """The check the panel states, recomputed: a fit without the held-back points, errors within 1.96 sd."""
    from scipy.stats import binomtest

    from sim.report.whatif import describe_check, whatif_panel
    from sim.results.results_set import ResultsSet

    panel = whatif_panel(ResultsSet(study_report.parent))
    page = study_report.read_text(encoding="utf-8")
    for fitted in panel["fitted"]:
        check = fitted.check
        assert check["held_back"] >= 3 and 0 <= check["within_95"] <= check["held_back"]
        assert check["rmse"] < check["spread"]  # the emulator knows more than the design's mean
        assert describe_check(check, fitted.unit).replace("'", "&#39;") in page
        # failed when more points miss the 95 % band than such a band would leave (one-sided binomial test at 5 %)
        misses = check["held_back"] - check["within_95"]
        assert check["passed"] == (binomtest(misses, check["held_back"], 0.05, alternative="greater").pvalue >= 0.05)
        assert ("FAILS this check" in describe_check(check, fitted.unit)) == (not check["passed"])


# ------------------------------------------------------------------------------------------ the map
def test_the_map_places_located_sites_and_moves_through_the_weeks(tmp_path: Path, results_dir: Path,
                                                                   browser: Browser) -> None:
    import shutil

    from sim.report import write_report

    copy = Path(shutil.copytree(results_dir, tmp_path / "located"))
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    # the plant at Onnaing, as the 2020 case places it; every other site around its region's centre
    manifest["config"]["scenarios"]["base/p0"]["sites"]["plant"]["location"] = {"lat": 50.39, "lon": 3.60}
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    html = write_report(copy)
    browser.open(html)
    chart = "ichart-network_map"
    browser.show("network_map")
    sites = browser.page.evaluate(f"document.getElementById('{chart}').data.find(t => t.name === 'sites')")
    plant = sites["ids"].index("plant")
    assert (sites["x"][plant], sites["y"][plant]) == (3.60, 50.39)
    # the slider's steps restyle the sites' colours and texts: move to the last week, read a tooltip of that week
    steps = browser.page.evaluate(f"document.getElementById('{chart}').layout.sliders[0].steps.length")
    assert steps >= 5  # the fixture's 35 days
    rail = browser.page.locator(f"#{chart} .slider-rail-rect").bounding_box()
    browser.page.mouse.click(rail["x"] + rail["width"] - 2, rail["y"] + rail["height"] / 2)  # the rail's end
    browser.page.wait_for_function(f"document.getElementById('{chart}')._fullLayout.sliders[0].active === {steps - 1}")
    x, y = browser.page.evaluate(
        """([id, i]) => { const gd = document.getElementById(id), box = gd.getBoundingClientRect();
            const t = gd.data.find(t => t.name === 'sites'), xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
            return [box.left + xa._offset + xa.d2p(t.x[i]), box.top + ya._offset + ya.d2p(t.y[i])]; }""",
        [chart, plant])
    browser.page.mouse.move(x, y)
    browser.page.wait_for_selector(f"#{chart} .hoverlayer .hovertext", timeout=5000)
    text = browser.hover_text("network_map")
    last_week = browser.page.evaluate(f"document.getElementById('{chart}').layout.sliders[0].steps.at(-1).label")
    assert "Plant" in text and "week of" in text and last_week.split()[1] in text, text
    assert "placed in" not in text  # located: not placed by region
    assert browser.requests == [html.resolve().as_uri()], browser.requests
