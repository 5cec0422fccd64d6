"""The CLI's hypotheses and more-like commands, in-process (main() with arguments)."""

import fiftyone_prime as fp
from fiftyone_prime.cli import main
from tests.integration.failure_modes.test_more_like import _pool


def test_cli_tests_hypotheses_from_arguments_and_a_file(planted, tmp_path, capsys):
    hunches = tmp_path / "hunches.txt"
    hunches.write_text("# my hunches\ndog: blur\n")
    args = ["hypotheses", planted.name, "cat: snow + night", "grass", "--file", str(hunches)]
    code = main([*args, "--run-key", "cli_hunches"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "2 of 4 hypotheses confirmed" in out and "run 'cli_hunches'" in out
    results = fp.load_hypotheses(planted, "cli_hunches")
    assert [(r.group, r.tags) for r in results.rejected] == [
        ("cat", ("snow", "night")),
        ("dog", ("blur",)),
    ]
    # a fold, and a one-line error for a bad line or a missing fold field (exit 2)
    planted.set_values("split", ["a" if i % 2 else "b" for i in range(len(planted))])
    assert main(["hypotheses", planted.name, "cat: snow + night", "--fold", "split", "a"]) == 0
    assert "tested on the other 175 samples (held out)" in capsys.readouterr().out
    assert main(["hypotheses", planted.name, "cat: snow +"]) == 2
    assert "has an empty tag" in capsys.readouterr().err
    assert main(["hypotheses", planted.name, "snow", "--fold", "nope", "a"]) == 2


def test_cli_more_like_saves_and_tags_the_pools_top_samples(planted, make_dataset, capsys):
    run = fp.find_failure_modes(planted, run_key="found", alpha=None)
    mode = next(m for m in run.failure_modes if m.tags == ("night", "snow"))
    pool, relevant = _pool(make_dataset(persistent=True))
    args = ["more-like", planted.name, "--run-key", "found", "--mode", mode.view_name]
    code = main([*args, "--pool", pool.name, "--k", "15", "--save-view", "next", "--tag", "x"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"15 samples of '{pool.name}' like cat: night + snow" in out
    assert set(pool.load_saved_view("next").values("id")) == set(relevant)
    assert pool.count_sample_tags() == {"x": 15}


def test_cli_proposals_from_the_configured_model_are_tested_held_out(planted, monkeypatch, capsys):
    from fiftyone_prime.integration.failure_modes import proposals as fpp
    from tests.integration.failure_modes.test_proposals import FakeChat

    chat = FakeChat()
    try:
        monkeypatch.setenv(fpp.BASE_URL_ENV, chat.endpoint.base_url)
        monkeypatch.setenv(fpp.MODEL_ENV, "tiny")
        planted.set_values("split", ["a" if i % 2 == 0 else "b" for i in range(len(planted))])
        fp.find_failure_modes(planted.match({"split": "a"}), run_key="found", min_size=10)
        chat.answer({"hypotheses": [{"class": "cat", "tags": ["snow", "night"], "rationale": "r"}]})
        assert main(["hypotheses", planted.name, "--propose-from", "found"]) == 0
        out = capsys.readouterr().out
        assert "proposed: cat: snow + night (r)" in out
        assert "1 of 1 hypotheses confirmed" in out and "(held out)" in out
        monkeypatch.delenv(fpp.BASE_URL_ENV)
        assert main(["hypotheses", planted.name, "--propose-from", "found"]) == 2
        assert "No language model is configured" in capsys.readouterr().err
    finally:
        chat.close()
