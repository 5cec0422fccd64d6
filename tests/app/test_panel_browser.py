"""The PRIME panel: its rows, its events through FiftyOne's machinery, and the real App
rendered in headless Chromium (Debian's chromium; .ci/run installs it)."""

import json
import re
import urllib.request

import numpy as np
import pytest

import fiftyone.operators as foo

import fiftyone_prime as fp
from fiftyone_prime.plugin.panel import panel_rows
from tests.app.browser import AppServer, chromium, rendered_dom, screenshot
from tests.integration.planted import add_planted

PANEL = "@fiftyone-prime/prime/prime_failure_modes"


@pytest.fixture
def planted(make_dataset):
    return add_planted(make_dataset(persistent=True))


def test_panel_is_registered():
    assert PANEL in [op.uri for op in foo.list_operators(type="panel")]


def test_panel_rows_sort_by_attributes_and_metrics(planted):
    fp.find_failure_modes(planted)
    rows = panel_rows(planted, "prime")
    assert [(r["class"], r["tags"], r["drop"], r["view"]) for r in rows] == [
        ("cat", "night + snow", "55.0", "prime cat: night + snow"),
        ("dog", "blur", "50.0", "prime dog: blur"),
    ]
    assert [r["class"] for r in panel_rows(planted, "prime", "accuracy")] == ["cat", "dog"]
    by_p = sorted(fp.load_failure_modes(planted, "prime").failure_modes,
                  key=lambda m: m.adjusted_p_value)
    assert by_p[0].adjusted_p_value < by_p[1].adjusted_p_value
    rows = panel_rows(planted, "prime", "adjusted_p_value")
    assert [r["class"] for r in rows] == [m.group for m in by_p]
    assert all(r["adjusted_p_value"] != "–" and r["accuracy_ci"] != "–" for r in rows)
    # No metrics yet: sorting by AUROC falls back to the drop order.
    assert [r["auroc"] for r in panel_rows(planted, "prime", "auroc")] == ["–", "–"]


def test_panel_events_run_through_the_operator_machinery(planted):
    fp.find_failure_modes(planted)
    for method, params in (("on_load", {}), ("on_change_sort", {"value": "size"}),
                           ("open_mode", {"view_name": "prime dog: blur"})):
        result = foo.execute_operator(
            PANEL, dict(view=planted.view()),
            params={"__method__": method, "panel_id": "test", "state": {}, "event_args": {},
                    **params},
        )
        assert result.error is None, result.error


@pytest.mark.slow  # a browser and an App server
@pytest.mark.skipif(chromium() is None, reason="Debian's chromium is not installed")
def test_the_app_renders_a_failure_mode_view_and_the_panel(planted, tmp_path):
    results = fp.find_failure_modes(planted)
    with AppServer(planted.name, results.failure_modes[0].view_name) as app:
        query = {"query": f'query {{ savedViews(datasetName: "{planted.name}") {{ name slug }} }}'}
        request = urllib.request.Request(app.url + "/graphql", data=json.dumps(query).encode(),
                                         headers={"Content-Type": "application/json"})
        views = json.loads(urllib.request.urlopen(request, timeout=30).read())["data"]["savedViews"]
        assert [v["name"] for v in views] == ["prime cat: night + snow", "prime dog: blur"]

        dom = rendered_dom(app.url + "/")
        text = " ".join(re.sub(r"<[^>]+>", " ", dom).split())
        assert "40 samples" in text  # the failure-mode view, not the whole dataset's 350
        assert "Open cat: night + snow" in dom and "Open dog: blur" in dom  # the panel
        png = screenshot(app.url + "/", str(tmp_path / "app.png"))

    from PIL import Image

    pixels = np.asarray(Image.open(png).convert("L"), dtype=float)
    assert pixels.shape == (900, 1400)
    assert pixels.std() > 20  # not a blank page
