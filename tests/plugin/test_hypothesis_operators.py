"""The test_hypotheses and find_more_like operators, through FiftyOne's operator machinery."""

import pytest

import fiftyone.operators as foo

import fiftyone_prime as fp
from fiftyone_prime.plugin.hypothesis_operators import NO_RUN
from tests.integration.failure_modes.test_more_like import _pool
from tests.integration.failure_modes.test_proposals import FakeChat
from tests.plugin.test_operators import PLUGIN, resolve_inputs

TEST = f"{PLUGIN}/test_hypotheses"
MORE = f"{PLUGIN}/find_more_like"


def test_the_hypothesis_form_reads_lines_and_offers_runs_to_hold_out(planted):
    props = resolve_inputs(TEST, planted, {"hypotheses": "cat: snow + \n"})
    assert props["hypotheses"].invalid and "has an empty tag" in props["hypotheses"].error_message
    fp.find_failure_modes(planted, run_key="found", alpha=None)
    props = resolve_inputs(TEST, planted, {"hypotheses": "cat: snow + night"})
    assert not props["hypotheses"].invalid
    assert props["proposed_from"].type.values == [NO_RUN, "found"]
    assert props["run_key"].default == "prime_hypotheses"


def test_executing_tests_the_lines_and_stores_a_run(planted):
    result = foo.execute_operator(
        TEST,
        dict(view=planted.view()),
        params={
            "label_field": "ground_truth",
            "pred_field": "predictions",
            "tags_field": ["prime_tags"],
            "hypotheses": "cat: snow + night\ngrass",
            "run_key": "hunch",
        },
    )
    out = result.result
    assert result.error is None, result.error
    assert out["run_key"] == "hunch" and out["num_confirmed"] == 1 and out["num_tested"] == 3
    assert [r["decision"] for r in out["rows"]] == ["confirmed", "not confirmed", "not confirmed"]
    assert out["rows"][0]["view"] == "hunch cat: snow + night"
    assert fp.load_hypotheses(planted, "hunch").rejected[0].size == 40


def test_more_like_this_saves_the_pools_top_samples(planted, make_dataset):
    run = fp.find_failure_modes(planted, run_key="found", alpha=None)
    mode = next(m for m in run.failure_modes if m.tags == ("night", "snow"))
    pool, relevant = _pool(make_dataset())
    props = resolve_inputs(MORE, planted, {"run_key": "found"})
    assert mode.view_name in props["view_name"].type.values
    result = foo.execute_operator(
        MORE,
        dict(view=planted.view()),
        params={
            "run_key": "found",
            "view_name": mode.view_name,
            "pool": pool.name,
            "k": 15,
            "save_view": "to label",
            "tag": "label_me",
        },
    )
    assert result.error is None, result.error
    assert result.result == {"num_found": 15, "view_name": "to label"}
    assert set(pool.load_saved_view("to label").values("id")) == set(relevant)
    assert pool.count_sample_tags() == {"label_me": 15}


@pytest.fixture
def chat():
    server = FakeChat()
    yield server
    server.close()


def test_proposals_are_offered_only_when_configured_and_tested_held_out(planted, chat, monkeypatch):
    from fiftyone_prime.integration.failure_modes import proposals as fpp

    propose = f"{PLUGIN}/propose_hypotheses"
    for name in (fpp.BASE_URL_ENV, fpp.MODEL_ENV, fpp.API_KEY_ENV):
        monkeypatch.delenv(name, raising=False)
    props = resolve_inputs(propose, planted, {})
    assert props["not_configured"].invalid and "No language model is configured" in (
        props["not_configured"].error_message
    )
    monkeypatch.setenv(fpp.BASE_URL_ENV, chat.endpoint.base_url)
    monkeypatch.setenv(fpp.MODEL_ENV, "tiny")
    planted.set_values("split", ["a" if i % 2 == 0 else "b" for i in range(len(planted))])
    fp.find_failure_modes(planted.match({"split": "a"}), run_key="found", min_size=10)
    chat.answer({"hypotheses": [{"class": "cat", "tags": ["snow", "night"]}]})
    result = foo.execute_operator(
        propose, dict(view=planted.view()), params={"run_key": "found", "hypotheses_key": "llm"}
    )
    assert result.error is None, result.error
    out = result.result
    assert (out["num_proposed"], out["num_confirmed"]) == (1, 1)
    assert "tested on the other 175 samples (held out)" in out["tested_on"]
    assert fp.list_hypothesis_runs(planted) == ["llm"]
