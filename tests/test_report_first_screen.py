"""Issue 18: the first screen, the assumptions count, bottlenecks per branch and site, one statistic per date,
and the report in a real browser (every image loaded, no text past the viewport's edge, the printed summary
on at most two A4 pages). Built on tests/results_factory.py (a small results folder written like the runner's)
with routes and site-kind defaults added; numbers are recomputed here with plain pandas."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sim.charts import ResultsSet, fmt_date_long, fmt_pct

from sim.assumptions import archetype_rows, is_assumption, is_guess
from sim.cli import _target_medians
from sim.report import write_report
from sim.report.branches import branch_table, feeders, group_of
from sim.report.first_screen import first_screen_context
from sim.report.summary import MAX_PAGES, SUMMARY_NAME, pdf_pages, print_pdf

try:
    from tests.results_factory import build_results
except ImportError:  # pragma: no cover - depends on how pytest puts tests/ on sys.path
    from results_factory import build_results

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = build_results(tmp_path_factory.mktemp("results") / "projet")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    daily = pd.read_parquet(out / "daily.parquet")
    sew_sites = sorted(daily.loc[daily["stage"] == "sew", "site"].unique())
    # Every sewing site is fed by one cutting centre; the assumptions hold a GUESS in the middle of a comment.
    manifest["config"] = {"scenarios": {"base/p0": {
        "routes": [{"from": "cutting_north", "to": sew_sites}],
        "sites": {s: {"kind": "textile"} for s in sew_sites}, "groups": {}, "archetypes": {}}}}
    manifest["assumptions"].append({"path": "sites.roubaix_pilot.ceiling", "value": 0.9,
                                    "source": "0.8-1.0 of the standard rate (GUESS: no figure in the sources)"})
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    # Two levers as the decision layer writes them: the first screen ranks them by days gained, not by masks.
    lever = {"target": "first_goal", "amount": 1.0, "unit": "", "from": "2020-04-06", "people": 10.0,
             "lead_time_days": 3.0, "cost_source": "assumption", "n": 3, "censored_pairs": 0}
    from sim.decisions.ranking import LEVER_COLUMNS

    pd.DataFrame([
        {**lever, "rank": 1, "lever": "cheap_small", "description": "a cheap lever", "euros": 1e5,
         "days_gained": 1.0, "days_gained_low": 0.5, "days_gained_high": 1.5, "masks_gained": 9e5},
        {**lever, "rank": 2, "lever": "dear_big", "description": "a dear lever", "euros": 2e6,
         "days_gained": 4.0, "days_gained_low": 3.0, "days_gained_high": 5.0, "masks_gained": 1e5},
    ]).assign(days_per_meur=lambda t: t["days_gained"] / t["euros"] * 1e6, days_per_100_people=lambda t:
              t["days_gained"] / t["people"] * 100, p_base=0.0, p_lever=0.0, dp=0.0, dp_low=0.0, dp_high=0.0,
              masks_by="2020-04-20", masks_gained_low=0.0, masks_gained_high=1e6,
              ).reindex(columns=list(LEVER_COLUMNS)).to_csv(out / "levers.csv", index=False)
    write_report(out)
    return out


def test_assumption_words_anywhere_in_the_source() -> None:
    assert is_assumption("1-2 days (GUESS)") and is_guess("1-2 days (GUESS)")
    assert is_assumption("ceiling 0.8 (assumption), curve from docs/sources.md")
    assert is_assumption("") and is_assumption(None) and is_assumption("not stated")
    assert not is_assumption("tutorials (H)") and not is_guess("derived from 100 sewers (M)")


def test_site_kind_defaults_are_rows_with_their_comment() -> None:
    rows = {r["path"]: r for r in archetype_rows({"esat", "packaging"}, {"esat": {"ceiling": 0.3}})}
    assert "archetypes.esat.ceiling" not in rows  # the scenario overrides it: its own row holds it
    assert rows["archetypes.esat.first_mask_min"]["value"] == "120"
    assert "GUESS" in rows["archetypes.esat.wright_rate"]["source"]
    assert "assumptions" in rows["archetypes.packaging.ceiling"]["source"]
    assert not any(p.startswith("archetypes.textile.") for p in rows)


def test_assumptions_counted_and_drivers_first(results_dir: Path) -> None:
    page = (results_dir / "report.html").read_text(encoding="utf-8")
    manifest = json.loads((results_dir / "manifest.json").read_text(encoding="utf-8"))
    own = manifest["assumptions"]
    defaults = archetype_rows({"textile"})
    assumed = sum(is_assumption(r["source"]) for r in own + defaults)
    assert assumed == 3 + sum(is_assumption(r["source"]) for r in defaults)  # None, "assumption", the GUESS
    total = len(own) + len(defaults)
    assert f"<b>{assumed} rest on an assumption</b>" in page and f"{total} parameters" in page
    assert f"<b>{assumed} of {total}</b> parameters rest on an assumption" in page  # first screen, same count
    # sewing binds the factory's network most: its GUESS leads the drivers, on the first screen and in the table
    first = page[page.index('id="first-screen"'):page.index('id="headline"')]
    assert first.index("Roubaix pilot: ceiling") < first.index("</ul>", first.index("4. What did we assume"))
    assert page.count("<span class=source-guess>GUESS</span>") >= 3


def test_dates_are_one_statistic_in_cli_and_page(results_dir: Path) -> None:
    runs = pd.read_parquet(results_dir / "runs.parquet")
    base = runs[(runs["scenario"] == "base") & (runs["status"] == "ok")]
    days = np.where(np.isnan(base["day_target.first_goal"]), np.inf, base["day_target.first_goal"])
    median = float(np.median(days))
    expected = fmt_date_long(pd.Timestamp("2020-03-30") + pd.Timedelta(days=int(np.floor(median))))
    cli = _target_medians(results_dir)[("base", "", "day_target.first_goal")]
    assert cli[0] == pytest.approx(median) and cli[1:] == (int(np.isfinite(days).sum()), len(days))
    answers = {t["id"]: t for t in first_screen_context(ResultsSet(results_dir))["targets"]}
    assert answers["first_goal"]["median"] == expected
    assert not answers["national"]["ok"] and answers["national"]["p_horizon"].startswith("0 %")


def test_levers_ranked_by_days_gained(results_dir: Path) -> None:
    page = (results_dir / "report.html").read_text(encoding="utf-8")
    first = page[page.index("id=q-levers"):page.index("id=q-assumed")]
    assert first.index("a dear lever") < first.index("a cheap lever")
    assert "+4.0 days (95 % CI +3.0 to +5.0), €2.00 M" in first


def test_branches_name_the_feeder_and_spread(results_dir: Path) -> None:
    manifest = json.loads((results_dir / "manifest.json").read_text(encoding="utf-8"))
    scenario = manifest["config"]["scenarios"]["base/p0"]
    table = branch_table(ResultsSet(results_dir), scenario)
    daily = pd.read_parquet(results_dir / "daily.parquet")
    sew = daily[(daily["scenario"] == "base") & (daily["stage"] == "sew")]
    site = table.iloc[0]["unit"]
    per_run = sew[sew["site"] == site].groupby("run_id")[["working_h", "starved_h", "blocked_h"]].sum()
    shares = per_run["starved_h"] / per_run.sum(axis=1)
    assert table.iloc[0]["feeder"] == "cutting_north"
    assert table.iloc[0]["starved"] == pytest.approx(shares.mean())
    assert table.iloc[0]["starved_low"] == pytest.approx(shares.min())
    assert table.iloc[0]["starved_high"] == pytest.approx(shares.max())
    assert group_of("insertion_workshops_07", {"insertion_workshops"}) == "insertion_workshops"
    assert feeders({"routes": [{"from": "a", "to": "b"}, {"from": "c", "to": ["b", "d"]}]}) == {
        "b": ["a", "c"], "d": ["c"]}
    page = (results_dir / "report.html").read_text(encoding="utf-8")
    assert f"{fmt_pct(shares.mean())}</b> ({fmt_pct(shares.min())}–{fmt_pct(shares.max())}) for input" in page


# ------------------------------------------------------------------------------------------ browser
_PROBE = """<script>window.addEventListener('load', () => {
  const imgs = [...document.images];
  const broken = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).length;
  const width = document.documentElement.clientWidth;
  const over = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.textContent.trim() || node.parentElement.closest('details:not([open])')) continue;
    const range = document.createRange(); range.selectNodeContents(node);
    for (const r of range.getClientRects()) {
      if (r.width > 0 && (r.left < 0 || r.right > width + 0.5)) {
        over.push(node.textContent.trim().slice(0, 40)); break;
      }
    }
  }
  const out = document.createElement('pre'); out.id = 'probe';
  out.textContent = JSON.stringify({images: imgs.length, broken, over: over.slice(0, 5), overflow: over.length,
                                    scroll: document.documentElement.scrollWidth, width});
  document.body.appendChild(out);
});</script>"""


def _chromium(*args: str, user_dir: Path) -> subprocess.CompletedProcess[str]:
    command = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={user_dir}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("width", [1280, 800])
def test_report_in_a_browser_loads_every_image_and_stays_inside(results_dir: Path, tmp_path: Path,
                                                                width: int) -> None:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed (.ci/run installs it)")
    page = (results_dir / "report.html").read_text(encoding="utf-8")
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    done = _chromium("--dump-dom", "--virtual-time-budget=10000", f"--window-size={width},2000", probed.as_uri(),
                     user_dir=tmp_path / "u")
    dom = done.stdout
    assert '<pre id="probe">' in dom, done.stderr[-2000:]
    probe = json.loads(dom.split('<pre id="probe">')[1].split("</pre>")[0].replace("&quot;", '"'))
    assert probe["images"] == page.count("<img ") and probe["broken"] == 0
    assert probe["overflow"] == 0, f"text past the viewport's edge at {width} px: {probe['over']}"
    assert probe["scroll"] <= probe["width"], "the page scrolls sideways"


def test_printed_summary_fits_two_pages(results_dir: Path, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed (.ci/run installs it)")
    summary = tmp_path / SUMMARY_NAME
    shutil.copy(results_dir / SUMMARY_NAME, summary)
    text = summary.read_text(encoding="utf-8")
    assert 'id="first-screen"' in text and text.count("<img ") >= 2
    pages = pdf_pages(print_pdf(summary, tmp_path / "summary.pdf"))
    assert 1 <= pages <= MAX_PAGES
