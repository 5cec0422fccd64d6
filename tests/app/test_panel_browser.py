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

PANEL = "@fiftyone-prime/prime/prime_failure_modes"


def test_panel_is_registered():
    assert PANEL in [op.uri for op in foo.list_operators(type="panel")]


def test_panel_rows_sort_by_attributes_and_metrics(planted):
    # Family-wise adjusted p-values differ here; the default q-values (BH)
    # of these two modes tie, which would leave the p-value order to ties.
    fp.find_failure_modes(planted, error_control="fwer")
    rows = panel_rows(planted, "prime")
    assert [(r["class"], r["tags"], r["drop"], r["view"]) for r in rows] == [
        ("cat", "night + snow", "55.0", "prime cat: night + snow"),
        ("dog", "blur", "50.0", "prime dog: blur"),
    ]
    assert [r["class"] for r in panel_rows(planted, "prime", "accuracy")] == ["cat", "dog"]
    by_p = sorted(
        fp.load_failure_modes(planted, "prime").failure_modes, key=lambda m: m.adjusted_p_value
    )
    assert by_p[0].adjusted_p_value < by_p[1].adjusted_p_value
    rows = panel_rows(planted, "prime", "adjusted_p_value")
    assert [r["class"] for r in rows] == [m.group for m in by_p]
    assert all(r["adjusted_p_value"] != "–" and r["accuracy_ci"] != "–" for r in rows)
    # No metrics yet: sorting by AUROC falls back to the drop order.
    assert [r["auroc"] for r in panel_rows(planted, "prime", "auroc")] == ["–", "–"]


def _panel_event(dataset, method, **params):
    """Runs a panel event through FiftyOne's operator machinery; returns the
    App requests it made, as ``[(operator, params)]``."""
    result = foo.execute_operator(
        PANEL,
        dict(view=dataset.view()),
        params={"__method__": method, "panel_id": "test", "state": {}, "event_args": {}, **params},
    )
    assert result.error is None, result.error
    return [(r.operator_uri, r.params) for r in result.executor._requests]


def test_panel_events_run_through_the_operator_machinery(planted):
    fp.find_failure_modes(planted)
    requests = _panel_event(planted, "on_load")
    states = [p["state"] for op, p in requests if op == "patch_panel_state"]
    rows = next(s["rows"] for s in states if "rows" in s)
    assert [(r["class"], r["tags"], r["view"]) for r in rows] == [
        ("cat", "night + snow", "prime cat: night + snow"),
        ("dog", "blur", "prime dog: blur"),
    ]
    output = next(p["output"] for op, p in requests if op == "show_panel_output")
    assert {"open_0", "open_1"} <= set(output["type"]["properties"])

    requests = _panel_event(planted, "on_change_sort", value="adjusted_p_value")
    assert {"sort_by": "adjusted_p_value"} in [
        p["state"] for op, p in requests if op == "patch_panel_state"
    ]

    assert ("set_view", {"name": "prime dog: blur"}) in _panel_event(
        planted, "open_mode", view_name="prime dog: blur"
    )
    gone = _panel_event(planted, "open_mode", view_name="no such view")
    assert [op for op, _ in gone if op in ("set_view", "notify")] == ["notify"]


@pytest.mark.slow  # a browser and an App server
@pytest.mark.skipif(chromium() is None, reason="Debian's chromium is not installed")
def test_the_app_renders_a_failure_mode_view_and_the_panel(planted, tmp_path):
    results = fp.find_failure_modes(planted)
    with AppServer(planted.name, results.failure_modes[0].view_name) as app:
        query = {"query": f'query {{ savedViews(datasetName: "{planted.name}") {{ name slug }} }}'}
        request = urllib.request.Request(
            app.url + "/graphql",
            data=json.dumps(query).encode(),
            headers={"Content-Type": "application/json"},
        )
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
