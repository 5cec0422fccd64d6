"""The README's App screenshot: the quickstart's failure modes in the App, the
PRIME panel whole beside the samples, and no "Explore Enterprise" pop-up.

Run with PRIME_UPDATE_SCREENSHOT=1 to also copy the PNG to
docs/images/app-quickstart.png (look at it before committing it).
"""

import os
import shutil
import time

import numpy as np
import pytest

from tests.app.browser import DISMISS_ENTERPRISE_POPUP, AppServer, DevTools, chromium
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


def test_readme_screenshot_shows_the_panel_whole_without_the_popup(tmp_path):
    import fiftyone as fo

    import fiftyone_prime as fp
    from fiftyone_prime.quickstart import run_quickstart

    run_quickstart(
        max_samples=4000,
        min_size=20,
        dataset_name="prime-qs-screenshot",
        report_dir=str(tmp_path / "report"),
        say=lambda s: None,
    )
    dataset = fo.load_dataset("prime-qs-screenshot")
    try:
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
        from PIL import Image

        pixels = np.asarray(Image.open(png).convert("L"), dtype=float)
        assert pixels.shape == (HEIGHT, WIDTH) and pixels.std() > 20
        if os.environ.get("PRIME_UPDATE_SCREENSHOT"):
            shutil.copy(png, REPO_ROOT / "docs" / "images" / "app-quickstart.png")
    finally:
        fo.delete_dataset("prime-qs-screenshot")
