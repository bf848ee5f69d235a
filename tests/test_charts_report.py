"""Charts and the HTML report, on the results folder of a small real experiment (`results_dir` in
tests/conftest.py: two scenarios × 3 replications, one run failing for real).

Expected numbers are recomputed here from the Parquet tables with plain pandas, independently of the code
under test, so a wrong aggregation (wrong scenario, failed runs counted, NaN handling) makes a test fail.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from sim.report import charts
from sim.report.charts import ChartSkipped, draw_chart, make_all
from sim.report.formatting import fmt_count, fmt_date, fmt_date_long, fmt_pct, stage_name
from sim.report.page import build_html
from sim.results.results_set import ResultsSet, t_interval, wilson_interval
from tests.conftest import FAILED_RUN

CHROMIUM = Path("/usr/bin/chromium")
CHART_NAMES = list(charts.CHARTS)


@pytest.fixture(scope="module")
def report(drawn_report: Path) -> tuple[Path, str]:
    """What `write_report` returned and the page, on a copy of the session's results (`drawn_report` in
    tests/conftest.py, shared with the first-screen tests: that copy also holds two levers, so the page has a
    decision section with the levers' chart)."""
    return drawn_report, drawn_report.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def drawn(report: tuple[Path, str]) -> dict[str, Path]:
    """Every chart as the report drew it (`draw_chart` draws one the same way: see the missing-data test)."""
    folder = report[0].parent / "charts"
    return {name: folder / f"{name}.png" for name in CHART_NAMES}


def _not_blank(path: Path) -> None:
    """A drawn image has real contrast: many pixels far from the background colour."""
    pixels = np.asarray(Image.open(path).convert("L"), dtype=float)
    assert pixels.std() > 10, f"{path.name} looks blank (std {pixels.std():.1f})"
    assert (pixels < 128).mean() > 0.005, f"{path.name} has almost no dark pixels"


# ------------------------------------------------------------------------------------------ charts
@pytest.mark.parametrize("name", CHART_NAMES)
def test_chart_writes_readable_png_and_svg(drawn: dict[str, Path], name: str) -> None:
    png = drawn[name]
    assert png.name == f"{name}.png" and png.stat().st_size > 10_000
    with Image.open(png) as image:
        assert image.format == "PNG"
        width, height = image.size
        assert width >= 800 and height >= 400  # 150 dpi of a figure ≥ 5.3 × 2.7 in
        assert image.info.get("dpi", (0, 0))[0] == pytest.approx(150, abs=1)
    assert mpimg.imread(png).shape[:2] == (height, width)
    _not_blank(png)
    svg = png.with_suffix(".svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    # svg.fonttype 'none' keeps text as text, which papers need to restyle it
    assert any(el.tag.endswith("text") for el in root.iter())


def _title(png: Path) -> str:
    with Image.open(png) as image:
        return image.text["Title"].replace("\n", " ")


def _base_ok(results_dir: Path) -> pd.DataFrame:
    runs = pd.read_parquet(results_dir / "runs.parquet")
    return runs[(runs["scenario"] == "base") & (runs["status"] == "ok")]


def test_cumulative_title_states_median_target_dates(results_dir: Path, drawn: dict[str, Path]) -> None:
    manifest = json.loads((results_dir / "manifest.json").read_text())
    start = pd.Timestamp(manifest["start_date"])
    end = pd.read_parquet(results_dir / "series.parquet")["date"].max()
    base = _base_ok(results_dir)
    title = _title(drawn["cumulative_delivered"])
    reached = 0
    for name, target in manifest["targets"].items():
        median_day = float(np.median(base[f"day_target.{name}"].fillna(np.inf)))  # never reached counts as +inf
        masks = fmt_count(float(target["masks"]))
        if math.isfinite(median_day):
            reached += 1
            expected = fmt_date(start + pd.Timedelta(days=math.floor(median_day)))
            assert f"{masks} masks reached on {expected} (median)" in title, title
        else:  # never reached within the horizon: stated, not hidden
            assert f"{masks} not reached by {fmt_date(end)}" in title, title
    assert 0 < reached < len(manifest["targets"])  # the fixture exercises both phrasings


def test_bottleneck_title_states_the_switch(results_dir: Path, drawn: dict[str, Path]) -> None:
    runs = _base_ok(results_dir)
    bn = pd.read_parquet(results_dir / "bottlenecks.parquet")
    network = bn[bn["run_id"].isin(runs["run_id"]) & (bn["level"] == "network")]
    per_run = network.pivot_table(index=["run_id", "week_start"], columns="stage", values="share", aggfunc="sum",
                                  fill_value=0.0)
    dominant = per_run.groupby(level="week_start").mean().idxmax(axis=1)
    assert dominant.nunique() > 1  # the fixture's bottleneck moves (certification first, then sewing)
    title = _title(drawn["bottleneck_timeline"])
    first_week = fmt_date(dominant.index[0])
    assert title.startswith(f"Bottleneck moved: {stage_name(dominant.iloc[0])} (week")
    assert first_week in title and f"→ {stage_name(dominant.iloc[-1])} (week" in title, title


def test_daily_output_title_peak_matches_data(results_dir: Path, drawn: dict[str, Path]) -> None:
    series = pd.read_parquet(results_dir / "series.parquet")
    sewn = series[(series["series"] == "sewn_by_kind") & (series["scenario"] == "base")]
    med = sewn.groupby(["date", "key"])["value"].median().unstack().fillna(0)
    peak = med.rolling(7, min_periods=1).mean().sum(axis=1).max()
    title = _title(drawn["daily_output_by_kind"])
    shown = float(re.search(r"peaked at ([\d,]+) masks/day", title)[1].replace(",", ""))
    assert shown == pytest.approx(peak, rel=0.005)


def test_rampup_cohorts_names_sites_not_generated_from_groups(results_dir: Path) -> None:
    """Which curves are named comes from the tables' `group` column (the scenario's groups), not names."""
    cohorts = pd.read_parquet(results_dir / "cohorts.parquet")
    grouped = set(cohorts.loc[cohorts["group"] != "", "site"])
    base = cohorts[cohorts["scenario"] == "base"]
    assert set(base.loc[base["group"] == "smes", "site"]) == {"smes_01", "smes_02", "smes_03"}
    assert grouped == {f"smes_0{i}" for i in range(1, 7)}  # more_smes has six
    assert set(cohorts.loc[cohorts["group"] == "", "site"]).isdisjoint(grouped)


def _one_scenario_copy(results_dir: Path, out: Path) -> Path:
    """The base scenario's ok runs only, as a results folder (every table filtered the same way)."""
    shutil.copytree(results_dir, out, ignore=shutil.ignore_patterns("charts", "report.html", "summary.*"))
    runs = pd.read_parquet(out / "runs.parquet")
    keep = runs[(runs["scenario"] == "base") & (runs["status"] == "ok")]
    keep.to_parquet(out / "runs.parquet", index=False)
    for name in ("daily", "series", "cohorts", "bottlenecks"):
        table = pd.read_parquet(out / f"{name}.parquet")
        table[table["run_id"].isin(keep["run_id"])].to_parquet(out / f"{name}.parquet", index=False)
    return out


def test_missing_data_is_skipped_with_reason(results_dir: Path, tmp_path: Path) -> None:
    one = _one_scenario_copy(results_dir, tmp_path / "one")
    (one / "cohorts.parquet").unlink()
    (one / "bottlenecks.parquet").unlink()
    with pytest.raises(ChartSkipped, match="only one scenario"):
        draw_chart("scenario_comparison", one, tmp_path / "c")
    assert not (tmp_path / "c" / "scenario_comparison.png").exists()
    paths = make_all(one)
    assert {n for n, p in paths.items() if p is None} == {
        "scenario_comparison",
        "rampup_cohorts",
        "bottleneck_timeline",
    }
    assert all(p.exists() and p.with_suffix(".svg").exists() for p in paths.values() if p is not None)


def test_failed_runs_are_excluded_from_tables(results_dir: Path) -> None:
    rs = ResultsSet(results_dir)
    assert list(rs.failed_runs["run_id"]) == [FAILED_RUN]
    assert rs.table("series")["run_id"].nunique() == 5
    assert rs.variants == ["base", "more_smes"] and rs.base_variant == "base"


def test_a_summary_without_the_contract_columns_is_an_error(results_dir: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(results_dir, tmp_path / "renamed"))
    summary = pd.read_csv(copy / "summary.csv").rename(columns={"ci_low": "lower"})
    summary.to_csv(copy / "summary.csv", index=False)
    with pytest.raises(ValueError, match=r"lacks column.*ci_low"):
        ResultsSet(copy).summary()


def test_intervals() -> None:
    mean, low, high = t_interval([1.0, 2.0, 3.0])
    assert (mean, high - mean) == (2.0, pytest.approx(4.302653 / math.sqrt(3), rel=1e-5))
    share, low, high = wilson_interval(0, 3)
    assert (share, low) == (0.0, 0.0) and high == pytest.approx(0.5615, abs=1e-4)


# ------------------------------------------------------------------------------------------ report
def test_report_embeds_every_chart_and_nothing_external(report: tuple[Path, str]) -> None:
    path, page = report
    assert path.name == "report.html"
    # the scripts (plotly.js inlined once, the figures' data, the script drawing them) are the interactive
    # section's: tests/test_report_browser.py checks in Chromium that the page requests nothing
    assert page.count("<script") == 3 and page.count('<script id="report-figures" type="application/json">') == 1
    markup = re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.S)
    uris = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', markup)
    # every chart, and the one chart of the decision section (the levers: the fixture holds levers.csv)
    assert len(uris) == len(CHART_NAMES) + 1 == markup.count("<img ")
    assert page.count('alt="levers ranked by days gained"') == 1
    for name in CHART_NAMES:
        assert f'id="chart-{name}">' in page
    assert re.findall(r'<figure id="chart-(\w+)"><img src="data:image/png;base64,', markup) == CHART_NAMES
    assert not re.search(r'(src|href)="(?!data:|#)', markup), "external reference in a self-contained page"
    assert "@media print" in page
    assert (
        page.index('id="headline"')
        < page.index('id="charts"')
        < page.index('id="assumptions"')
        < page.index('id="reproducibility"')
    )


def test_report_headline_answers(results_dir: Path, report: tuple[Path, str]) -> None:
    _, page = report
    manifest = json.loads((results_dir / "manifest.json").read_text())
    runs = pd.read_parquet(results_dir / "runs.parquet")
    ok = runs[runs["status"] == "ok"]
    base = ok[ok["scenario"] == "base"]
    dated = [name for name, target in manifest["targets"].items() if target.get("by")]
    k = int(base[f"reached_by_date.{dated[0]}"].sum())
    assert f"{fmt_pct(k / len(base))} ({k}/{len(base)} runs; 95 % CI" in page
    # bottleneck of the first week, from the table: mean over base replications of the network share
    bn = pd.read_parquet(results_dir / "bottlenecks.parquet")
    week0 = bn[
        bn["run_id"].isin(base["run_id"]) & (bn["level"] == "network") & (bn["week_start"] == bn["week_start"].min())
    ]
    top = week0.groupby("stage")["share"].sum().div(len(base)).sort_values(ascending=False)
    start = pd.Timestamp(manifest["start_date"])
    assert f"week of {fmt_date_long(start)}: <b>{stage_name(top.index[0])}, {fmt_pct(top.iloc[0])}</b>" in page
    # ranking by mean masks delivered, failed run left out
    means = ok.groupby("scenario")["masks_delivered"].mean().sort_values(ascending=False)
    ranking = page[page.index("<ol class=ranking>") :]
    assert ranking.index(f'<b title="{means.index[0]}">') < ranking.index(f'<b title="{means.index[1]}">')
    failed = page[page.index("id=failed-runs") :]
    assert FAILED_RUN in failed and "ValidationError" in failed


def test_report_assumptions_and_reproducibility(results_dir: Path, report: tuple[Path, str]) -> None:
    _, page = report
    manifest = json.loads((results_dir / "manifest.json").read_text())
    n = len(manifest["assumptions"])
    table = page[page.index(f"<h3>Scenario file ({n})</h3>") : page.index("<h3>Site-kind defaults")]
    assert table.count("<tr") == 1 + n  # header + every manifest entry
    repro = page[page.index("<div class=repro>") :]
    for text in (manifest["config_hash"][:12], str(manifest["root_seed"]), manifest["versions"]["simpy"],
                 "resilience run fixture_experiment.yaml"):
        assert text in repro, text
    seeds = pd.read_parquet(results_dir / "runs.parquet")["seed"]
    assert all(str(s) in repro for s in seeds)


def test_static_report_has_no_script_and_the_same_charts(results_dir: Path, report: tuple[Path, str]) -> None:
    """`resilience report --static`: the page as before the interactive charts, without any script."""
    rs = ResultsSet(results_dir)
    outcomes = [charts.ChartOutcome(p.stem, p, p.stem, "") for p in sorted((report[0].parent / "charts").glob("*.png"))]
    static, interactive = build_html(rs, outcomes, static=True), build_html(rs, outcomes)
    assert "<script" not in static and 'id="explore"' not in static and 'href="#explore"' not in static
    assert 'id="explore"' in interactive
    images = re.findall(r'<img src="data:image/png;base64,[^"]+"', static)
    assert images and images == re.findall(r'<img src="data:image/png;base64,[^"]+"', interactive)


def test_report_escapes_text_from_the_results(results_dir: Path, tmp_path: Path) -> None:
    """Text that comes from files (a scenario name, an assumption's source) is escaped, never interpreted."""
    copy = Path(shutil.copytree(results_dir, tmp_path / "hostile"))
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["assumptions"].append({"path": "channels.x.price", "value": "<b>free & fast</b>",
                                    "source": "<script>alert('x')</script>"})
    (copy / "manifest.json").write_text(json.dumps(manifest))
    page = build_html(ResultsSet(copy), [])
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "&lt;b&gt;free &amp; fast&lt;/b&gt;" in page


def test_report_uses_summary_csv_when_present(results_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "with_summary"
    shutil.copytree(results_dir, copy, ignore=shutil.ignore_patterns("charts", "report.html"))
    pd.DataFrame(
        {
            "scenario": ["base", "more_smes"],
            "kpi": ["masks_delivered"] * 2,
            "n": [3, 2],
            "mean": [7_770_000.0, 1_230_000.0],
            "ci_low": [7_700_000.0, 1_200_000.0],
            "ci_high": [7_840_000.0, 1_260_000.0],
        }
    ).to_csv(copy / "summary.csv", index=False)
    page = build_html(ResultsSet(copy), [])
    ranking = page[page.index("<ol class=ranking>") :]
    assert "7.8 M masks delivered" in ranking and "95 % CI 7.7 M–7.8 M" in ranking
    assert ranking.index('<b title="base">') < ranking.index('<b title="more_smes">')  # order follows the summary


# ------------------------------------------------------------------------------------------ browser
def _chromium(*args: str, user_dir: Path) -> subprocess.CompletedProcess[str]:
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={user_dir}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_report_renders_in_headless_chromium(report: tuple[Path, str], tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed: cannot check the report in a browser")
    _, page = report
    # A copy with a probe: the marker is set only if every image decoded (complete and naturalWidth > 0). The
    # script changes nothing on screen, so one browser run both takes the screenshot and dumps the DOM.
    probe = (
        "<script>window.addEventListener('load', () => { const imgs = [...document.images];"
        " const ok = imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0);"
        " document.body.setAttribute('data-images-ok', ok ? 'yes' : 'no');"
        " document.body.setAttribute('data-image-count', String(imgs.length)); });</script>"
    )
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", probe + "</body>"), encoding="utf-8")
    shot = tmp_path / "report.png"
    done = _chromium(f"--screenshot={shot}", "--dump-dom", "--virtual-time-budget=10000", "--window-size=1280,2000",
                     probed.as_uri(), user_dir=tmp_path / "u")
    assert shot.exists(), done.stderr[-2000:]
    with Image.open(shot) as image:
        assert image.size == (1280, 2000)
        grey = np.asarray(image.convert("L"), dtype=float)
    assert grey.std() > 15 and (grey < 100).mean() > 0.01, "screenshot is blank"
    dom = done.stdout
    assert 'data-images-ok="yes"' in dom, done.stderr[-2000:]
    assert f'data-image-count="{len(CHART_NAMES) + 1}"' in dom  # and the levers' chart
    assert 'id="headline"' in dom and "Headline answers" in dom


def test_the_inlined_plotly_js_is_the_version_plotly_writes_figures_for() -> None:
    """The report inlines plotly.js's cartesian bundle (sim/report/vendor) only while it is the plotly.js of the
    locked Python plotly: a lock moving to another plotly.js must bring the bundle along (or the page falls back to
    the full bundle, three times heavier)."""
    from plotly.offline import get_plotlyjs_version

    from sim.report.interactive import VENDORED_PLOTLY, VENDORED_PLOTLY_VERSION, plotly_js

    head = VENDORED_PLOTLY.read_text(encoding="utf-8")[:200]
    assert f"plotly.js (cartesian - minified) v{VENDORED_PLOTLY_VERSION}" in head
    assert get_plotlyjs_version() == VENDORED_PLOTLY_VERSION, "update sim/report/vendor (see its README.md)"
    assert plotly_js().startswith(head) and "</script" not in plotly_js().lower()
