"""The README's App screenshots: the quickstart's failure modes in the App, the
PRIME panel whole beside the samples, and no "Explore Enterprise" pop-up; then
the panel after a threshold was typed into its inputs, the table re-searched
in place.

Run with PRIME_UPDATE_SCREENSHOT=1 to also copy the PNGs to
docs/images/app-quickstart.png and docs/images/app-explore.png (look at them
before committing them). The quickstart runs once for both tests.
"""

import os
import shutil
import time

import numpy as np
import pytest

from tests.app.browser import (
    DISMISS_ENTERPRISE_POPUP,
    AppServer,
    DevTools,
    chromium,
    type_into,
)
from tests.fo_env import REPO_ROOT

pytestmark = [
    pytest.mark.slow,  # a classifier, an App server and a browser
    pytest.mark.skipif(chromium() is None, reason="Debian's chromium is not installed"),
]

WIDTH, HEIGHT = 1800, 1000

# The right edge of the panel's table and of the panel's own box (in page
# pixels), and whether the table's container scrolls sideways.
_PANEL_GEOMETRY = """
(() => {
  const cells = [...document.querySelectorAll('th, td, [role=columnheader]')]
    .filter(e => e.innerText.trim() === 'caption');
  if (!cells.length) return null;
  const table = cells[0].closest('table');
  let box = table.parentElement;
  while (box && box.scrollWidth <= box.clientWidth + 1 && box !== document.body) box = box.parentElement;
  const scrolls = box && box !== document.body && box.scrollWidth > box.clientWidth + 1;
  return {tableRight: table.getBoundingClientRect().right, scrolls: !!scrolls,
          innerWidth: window.innerWidth};
})()
"""


DATASET = "prime-qs-screenshot"


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    """The quickstart's dataset (4,000 images), made once for the module."""
    import fiftyone as fo

    from fiftyone_prime.quickstart import run_quickstart

    run_quickstart(
        max_samples=4000,
        min_size=20,
        dataset_name=DATASET,
        report_dir=str(tmp_path_factory.mktemp("report")),
        say=lambda s: None,
    )
    dataset = fo.load_dataset(DATASET)
    try:
        yield dataset
    finally:
        fo.delete_dataset(DATASET)


def _update(png, name):
    if os.environ.get("PRIME_UPDATE_SCREENSHOT"):
        shutil.copy(png, REPO_ROOT / "docs" / "images" / name)


def _check_png(png):
    from PIL import Image

    pixels = np.asarray(Image.open(png).convert("L"), dtype=float)
    assert pixels.shape == (HEIGHT, WIDTH) and pixels.std() > 20


def test_readme_screenshot_shows_the_panel_whole_without_the_popup(quickstart, tmp_path):
    import fiftyone_prime as fp

    dataset = quickstart
    results = fp.load_failure_modes(dataset, "quickstart")
    assert len(results) >= 1 and results.validation is not None
    view = results.failure_modes[0].view_name
    png = str(tmp_path / "app.png")
    with (
        AppServer(dataset.name, view, sizes=[0.36, 0.64]) as app,
        DevTools(WIDTH, HEIGHT) as browser,
    ):
        browser.before_each_page(DISMISS_ENTERPRISE_POPUP)
        browser.open(app.url + "/")
        browser.wait_for("document.body.innerText.includes('Open ')", timeout=90)
        browser.wait_for("/\\d+ samples/.test(document.body.innerText)", timeout=60)
        time.sleep(8)  # the grid's thumbnails
        text = browser.evaluate("document.body.innerText")
        assert "Accelerate your workflow" not in text  # the pop-up is not shown
        for header in ("acc 95% CI", "adj. p", "drop (pts)", "caption"):
            assert header in text, header  # the significance columns and the caption
        geometry = browser.wait_for(_PANEL_GEOMETRY)
        browser.screenshot(png)
        if os.environ.get("PRIME_KEEP_PNG"):
            shutil.copy(png, "/tmp/prime-app-screenshot.png")
        assert not geometry["scrolls"], geometry  # the whole table is in view
        assert geometry["tableRight"] <= geometry["innerWidth"], geometry
    _check_png(png)
    _update(png, "app-quickstart.png")


# The panel's table rows, as [class, tags] (null while the table is absent).
_TABLE_ROWS = """
(() => {
  const cells = [...document.querySelectorAll('th, td, [role=columnheader]')]
    .filter(e => e.innerText.trim() === 'caption');
  if (!cells.length) return null;
  const rows = [...cells[0].closest('table').querySelectorAll('tbody tr')];
  return rows.map(r => [...r.querySelectorAll('td')].slice(0, 2).map(c => c.innerText.trim()));
})()
"""

# Where the first threshold input's label, the explore note and the table lie
# in the window (page pixels), for a picture that shows all three.
_EXPLORE_GEOMETRY = """
(() => {
  const find = (test) => {
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode())) if (test(node.textContent)) return node.parentElement;
    return null;
  };
  const label = find(t => t.trim() === 'Min size');
  const note = find(t => t.includes('updated in'));
  const header = [...document.querySelectorAll('th, td, [role=columnheader]')]
    .find(e => e.innerText.trim() === 'caption');
  if (!label || !note || !header) return null;
  const table = header.closest('table');
  return {labelTop: label.getBoundingClientRect().top,
          noteBottom: note.getBoundingClientRect().bottom,
          tableBottom: table.getBoundingClientRect().bottom,
          tableRight: table.getBoundingClientRect().right,
          innerWidth: window.innerWidth, innerHeight: window.innerHeight};
})()
"""


def _a_threshold_that_drops_rows(dataset, run_rows):
    """A "Min drop" that keeps some of the run's modes but not all, and the
    rows the panel should then show (the same re-search, in this process)."""
    from fiftyone_prime.integration.failure_modes.explore import explore
    from fiftyone_prime.plugin.panel import explore_params

    for min_drop in (0.3, 0.35, 0.4, 0.25, 0.5, 0.6):
        out = explore(
            dataset, "quickstart", explore_params(dataset, "quickstart", {"min_drop": min_drop})
        )
        if 0 < len(out.rows) < len(run_rows):
            return min_drop, out
    raise AssertionError(f"no threshold drops some of {run_rows}")


def test_readme_screenshot_of_a_threshold_re_searching_the_table(quickstart, tmp_path):
    import fiftyone_prime as fp
    from fiftyone_prime.plugin.panel import panel_rows

    dataset = quickstart
    results = fp.load_failure_modes(dataset, "quickstart")
    run_rows = panel_rows(dataset, "quickstart")
    min_drop, expected = _a_threshold_that_drops_rows(dataset, run_rows)
    png = str(tmp_path / "explore.png")
    with (
        AppServer(dataset.name, results.failure_modes[0].view_name, sizes=[0.34, 0.66]) as app,
        DevTools(WIDTH, HEIGHT) as browser,
    ):
        browser.before_each_page(DISMISS_ENTERPRISE_POPUP)
        browser.open(app.url + "/")
        browser.wait_for("document.body.innerText.includes('Min drop')", timeout=120)
        before = browser.wait_for(_TABLE_ROWS, timeout=60)
        assert len(before) == len(run_rows), before
        assert browser.wait_for(type_into("Min drop", min_drop), timeout=30)
        shown = f"{len(expected.rows)} of {expected.num_modes} failure modes shown"
        browser.wait_for(
            f"document.body.innerText.includes({shown!r})"
            " && document.body.innerText.includes('updated in')"
            " && document.body.innerText.includes('Not saved')",
            timeout=120,
        )
        after = browser.wait_for(_TABLE_ROWS)
        assert after == [[r["class"], r["tags"]] for r in expected.rows], after
        assert len(after) < len(before)  # the table really changed
        time.sleep(8)  # the grid's thumbnails
        text = browser.evaluate("document.body.innerText")
        assert "Accelerate your workflow" not in text  # the pop-up is not shown
        geometry = browser.wait_for(_EXPLORE_GEOMETRY)
        browser.screenshot(png)
        # the inputs, the note with its timing and the whole table are in view
        assert geometry["labelTop"] >= 0, geometry
        assert geometry["noteBottom"] <= geometry["tableBottom"] <= geometry["innerHeight"], (
            geometry
        )
        assert geometry["tableRight"] <= geometry["innerWidth"], geometry
    assert fp.list_failure_mode_runs(dataset) == ["quickstart"]  # nothing was saved
    _check_png(png)
    _update(png, "app-explore.png")
