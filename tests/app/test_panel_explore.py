"""The panel's threshold inputs: re-search from cached inputs, rows replaced in
place, nothing saved until "Save as run"; and the same driven in Chromium."""

import pytest

import fiftyone.operators as foo

import fiftyone_prime as fp
from fiftyone_prime.core.types import SearchParams
from fiftyone_prime.integration.failure_modes.explore import explore
from fiftyone_prime.integration.reading import input_cache
from fiftyone_prime.plugin.panel import explore_params
from tests.app.browser import (
    DISMISS_ENTERPRISE_POPUP,
    AppServer,
    DevTools,
    chromium,
    type_into,
)

PANEL = "@fiftyone-prime/prime/prime_failure_modes"


def _event(dataset, method, state, **params):
    result = foo.execute_operator(
        PANEL,
        dict(view=dataset.view()),
        params={
            "__method__": method,
            "panel_id": "test",
            "state": state,
            "panel_state": state,
            "event_args": {},
            **params,
        },
    )
    assert result.error is None, result.error
    patched = {}
    for r in result.executor._requests:
        if r.operator_uri == "patch_panel_state":
            patched.update(r.params["state"])
    return patched


def test_explore_re_searches_from_the_cache_and_saves_nothing(planted):
    fp.find_failure_modes(planted)
    views_before = planted.list_saved_views()
    out = explore(planted, "prime", SearchParams(min_drop=0.52))
    assert [(r["class"], r["tags"]) for r in out.rows] == [("cat", "night + snow")]
    assert out.rows[0]["view"] == "prime cat: night + snow"  # the run's own mode keeps its view
    assert out.num_modes == 1 and out.inputs_source in ("memory", "disk")
    out = explore(planted, "prime", SearchParams(), classes=["dog"])
    assert [r["class"] for r in out.rows] == ["dog"] and out.num_modes == 2
    assert planted.list_saved_views() == views_before
    assert planted.list_runs() == ["prime"]


def test_explore_params_keep_the_runs_values_under_empty_inputs(planted):
    fp.find_failure_modes(planted, min_size=20, error_control="fwer")
    p = explore_params(planted, "prime", {"min_drop": 0.3, "min_size": "", "alpha": ""})
    assert (p.min_size, p.min_drop, p.alpha, p.error_control) == (20, 0.3, None, "fwer")


def test_an_input_event_replaces_the_rows_and_save_as_run_keeps_them(planted):
    fp.find_failure_modes(planted)
    state = {"run_key": "prime"}
    patched = _event(planted, "on_explore_min_drop", state, value=0.52)
    assert [r["class"] for r in patched["rows"]] == ["cat"]
    assert "updated in" in patched["explore_note"] and "Not saved" in patched["explore_note"]
    assert planted.list_runs() == ["prime"]
    state = {**state, "explore": patched["explore"], "save_key": "kept"}
    patched = _event(planted, "save_exploration", state)
    assert patched["run_key"] == "kept"
    kept = fp.load_failure_modes(planted, "kept")
    assert [m.group for m in kept.failure_modes] == ["cat"]
    assert kept.config.params.min_drop == 0.52
    assert kept.view_names == ["kept cat: night + snow"]


def test_a_fields_first_value_searches_nothing(planted):
    fp.find_failure_modes(planted)
    state = {"run_key": "prime", "explore_defaults": {"min_drop": 0.2}}
    assert "rows" not in _event(planted, "on_explore_min_drop", state, value=0.2)


def test_bad_input_is_reported_not_raised(planted):
    fp.find_failure_modes(planted)
    patched = _event(planted, "on_explore_min_drop", {"run_key": "prime"}, value=7)
    assert patched["explore_note"].startswith("Not searched")


@pytest.mark.slow  # a browser and an App server
@pytest.mark.skipif(chromium() is None, reason="Debian's chromium is not installed")
def test_typing_a_threshold_in_chromium_updates_the_table(planted, tmp_path):
    input_cache._memory.clear()
    results = fp.find_failure_modes(planted)
    with AppServer(planted.name, results.failure_modes[0].view_name) as app, DevTools() as page:
        page.before_each_page(DISMISS_ENTERPRISE_POPUP)
        page.open(app.url + "/")
        page.wait_for("document.body.innerText.includes('Open dog: blur')", timeout=120)
        page.wait_for("document.body.innerText.includes('Min drop')", timeout=60)
        assert page.evaluate("document.body.innerText.includes('50.0')")
        assert page.wait_for(type_into("Min drop", 0.52), timeout=30)
        page.wait_for("document.body.innerText.includes('1 of 1 failure modes')", timeout=120)
        text = page.evaluate("document.body.innerText")
        page.screenshot(str(tmp_path / "explore.png"))
        assert "1 of 1 failure modes shown" in text, text[-2000:]
        assert "55.0" in text and "50.0" not in text  # dog's row left the table
    assert fp.list_failure_mode_runs(planted) == ["prime"]
