"""The report's interactive page in a real browser: headless Chromium (Debian's, as .ci/run installs it) driven by
Playwright, on the session's real results folder (`drawn_report` in tests/conftest.py). The mouse hovers a point and
the tooltip is read, a scenario is switched off from the legend, and every request the page makes is recorded: only
the file itself may load. Expected numbers are recomputed here from the Parquet tables with plain pandas."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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

    def point_on_screen(self, chart: str, trace: int, x: Any, y: float) -> tuple[float, float]:
        """Where (x, y) of a figure's data is drawn, in page coordinates (the chart scrolled into view)."""
        self.page.locator(f"#ichart-{chart}").scroll_into_view_if_needed()
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
    browser.page.locator(chart).scroll_into_view_if_needed()

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
    drawn = browser.page.evaluate(
        "Array.from(document.querySelectorAll('.ichart')).filter(e => e.querySelector('.main-svg')).map(e => e.id)")
    assert sorted(drawn) == sorted(f"ichart-{name}" for name in payload["figures"])
    assert {"cumulative_delivered", "daily_output_by_kind", "bottleneck_timeline", "fill_rates",
            "levers_days_gained"} <= set(payload["figures"])
