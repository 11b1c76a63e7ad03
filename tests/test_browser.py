"""Run and sweep reports opened in a real headless Chromium (via Playwright).

Every image must load, the summary table must be there, and nothing on the
page may point outside its folder (no web URLs, no absolute paths).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from experiments.cli import main
from experiments.sweep import run_sweep
from experiments.sweep_report import build_sweep_report
from experiments.sweep_spec import load_sweep
from tests.conftest import ROOT, SCENARIOS

CHROMIUM = shutil.which("chromium") or next(
    (p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).is_file()), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium)")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]

PAGE_FACTS = """async () => {
  for (const img of document.images) { img.loading = "eager"; img.scrollIntoView(); }
  await Promise.all(Array.from(document.images, img => img.decode().catch(() => null)));
  return {
    images: Array.from(document.images, img => ({src: img.getAttribute("src"), width: img.naturalWidth})),
    links: Array.from(document.querySelectorAll("[src], [href]"),
                      el => el.getAttribute("src") ?? el.getAttribute("href")),
    tables: Array.from(document.querySelectorAll("table"), t => t.rows.length),
    headings: Array.from(document.querySelectorAll("h2"), h => h.textContent),
  };
}"""


def open_report(folder: Path) -> tuple[dict, list[str]]:
    """Load ``folder/index.html`` in headless Chromium: the page's facts and every URL it requested."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (extra: dev)")
    requested: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda req: requested.append(req.url))
            page.goto((folder / "index.html").resolve().as_uri(), wait_until="load")
            facts = page.evaluate(PAGE_FACTS)
        finally:
            browser.close()
    return facts, requested


def check_self_contained(folder: Path, facts: dict, requested: list[str]) -> None:
    """Every image loaded, and every reference stays inside ``folder``."""
    assert facts["images"], "the report shows no images"
    broken = [img["src"] for img in facts["images"] if img["width"] <= 0]
    assert not broken, f"images that did not load: {broken}"
    assert len(facts["images"]) == len(list((folder / "plots").glob("*.png"))), "images and plots/*.png differ"
    for link in facts["links"]:
        parsed = urlparse(link)
        assert not parsed.scheme and not parsed.netloc and not link.startswith("/"), f"non-relative link {link!r}"
    root = folder.resolve()
    for url in requested:
        parsed = urlparse(url)
        assert parsed.scheme == "file", f"the page fetched {url}"
        assert Path(unquote(parsed.path)).resolve().is_relative_to(root), f"the page fetched {url} outside its folder"


def test_run_report_in_browser(tmp_path):
    assert main(["run", str(SCENARIOS / "calm.yaml"), "--set", "duration=10m", "--set",
                 "population.noise.count=200", "--no-progress", "--out", str(tmp_path)]) == 0
    (run_dir,) = tmp_path.iterdir()
    facts, requested = open_report(run_dir)
    check_self_contained(run_dir, facts, requested)
    assert facts["tables"] and facts["tables"][0] > 2, "no summary table"


def test_sweep_report_in_browser(tmp_path):
    sweep = load_sweep(ROOT / "experiments" / "sweeps" / "leverage_vs_shock.yaml", quick=True)
    out = tmp_path / "sweep"
    outcome = run_sweep(sweep, out, jobs=2, progress=False)
    assert len(outcome.ran) == 4 and not outcome.failed
    build_sweep_report(out)
    facts, requested = open_report(out)
    check_self_contained(out, facts, requested)
    assert facts["headings"][:3] == ["Summary", "Axes", "Plots"]
    assert facts["tables"][0] >= 10, "no summary table"
    assert {Path(img["src"]).name for img in facts["images"]} >= {"cascade.png", "map_liquidations_total_usd.png"}
