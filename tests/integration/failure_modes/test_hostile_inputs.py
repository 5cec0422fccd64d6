"""Hostile inputs get one clear line naming the parameter (issue 22,
findings 8 and 9)."""

import subprocess
import sys

import pytest

import fiftyone_prime as fp
from fiftyone_prime.core import defaults
from fiftyone_prime.core.captions import caption, check_template
from tests.fo_env import REPO_ROOT

MAX_CAPTION_CHARS = getattr(defaults, "MAX_CAPTION_CHARS", 1000)  # (absent before issue 22)


def one_line(error) -> str:
    text = str(error.value)
    assert len(text.splitlines()) == 1, text
    assert len(text) < 400, text
    return text


@pytest.mark.parametrize("name", ["min_size", "max_views", "max_tags"])
@pytest.mark.parametrize("value", [2**63, 2**64 + 7, 10**100])
def test_huge_integers_are_refused_by_the_sdk(planted, name, value):
    with pytest.raises(ValueError) as error:
        fp.find_failure_modes(planted, **{name: value})
    assert f"`{name}`" in one_line(error)
    assert "prime" not in planted.list_runs()


def test_huge_integers_are_one_line_in_the_cli_in_process(planted, capsys):
    """The fast form of the next test: the CLI's ``main`` in this process."""
    from fiftyone_prime.cli import main

    code = main(["search", planted.name, "--min-size", str(2**63)])
    err = capsys.readouterr().err
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) <= 3 and "min_size" in lines[-1].replace("-", "_"), err[-3000:]


@pytest.mark.slow  # a subprocess: ``python -m fiftyone_prime`` exits without a traceback
def test_huge_integers_are_one_line_in_the_cli(planted):
    out = subprocess.run(
        [sys.executable, "-m", "fiftyone_prime", "search", planted.name, "--min-size", str(2**63)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=300,
    )
    assert out.returncode != 0
    assert "Traceback" not in out.stderr, out.stderr[-3000:]
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) <= 3 and "min_size" in lines[-1].replace("-", "_"), out.stderr[-3000:]


@pytest.mark.parametrize(
    "template, message",
    [
        ("{cls:>10000000} with {tags}", "without a format spec"),
        ("{cls:>10000000}", "without a format spec"),
        ("{cls!r} with {tags}", "without a format spec"),
        ("a {0} {cls}", "may only use {cls} and {tags}; got {0}"),
        ("a { {cls}", "is not a valid template"),
        ("a } {cls}", "is not a valid template"),
        ("{cls} " + "x" * (MAX_CAPTION_CHARS + 1), f"at most {MAX_CAPTION_CHARS} characters"),
        ("{klass}", "may only use {cls} and {tags}; got {klass}"),
        ("a photo", "must contain {cls} and/or {tags}"),
    ],
)
def test_bad_caption_templates_are_one_clear_line(template, message):
    with pytest.raises(ValueError) as error:
        check_template(template)
    assert message in one_line(error) and "caption_template" in str(error.value)


def test_captions_are_bounded_and_literal_braces_still_work():
    assert caption("cat", ["a", "b"], "{{{cls}}} with {tags}") == "{cat} with a and b"
    assert len(caption("c" * 5000, ["a"], "{cls}")) == MAX_CAPTION_CHARS


def test_a_list_of_samples_is_refused_naming_samples(planted):
    with pytest.raises(TypeError) as error:
        fp.find_failure_modes(list(planted.limit(3)))
    assert "`samples`" in one_line(error)


def test_tags_field_none_is_refused_naming_it(planted):
    with pytest.raises((TypeError, ValueError)) as error:
        fp.find_failure_modes(planted, tags_field=None)
    assert "`tags_field`" in one_line(error)


def test_interrupting_a_search_says_what_was_saved(planted, monkeypatch):
    from fiftyone_prime.integration.runs import views as fpv

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(fpv, "_add_to_list", interrupted)
    with pytest.raises(KeyboardInterrupt) as error:
        fp.find_failure_modes(planted)
    text = one_line(error)
    assert "run 'prime' is stored with 0 of its" in text
    assert "fp.delete_failure_modes(dataset, 'prime')" in text


def test_status_and_requeue_of_a_missing_job_are_one_line(make_dataset):
    dataset = make_dataset(persistent=True)
    for call in (fp.tagging_status, fp.requeue_tagging):
        with pytest.raises(ValueError) as error:
            call(dataset, "nope")
        assert "no tagging job 'nope'" in one_line(error)


def _raw(dataset):
    import fiftyone.core.odm as foo

    return foo.get_db_conn()[dataset._sample_collection_name]


def test_int_labels_among_string_labels_name_the_field(planted):
    _raw(planted).update_one({}, {"$set": {"ground_truth.label": 3}})
    with pytest.raises(TypeError) as error:
        fp.find_failure_modes(planted)
    text = one_line(error)
    assert "`label_field`" in text and "'ground_truth'" in text and "3 (int)" in text


def test_a_list_field_holding_a_bare_string_names_the_field(planted):
    import fiftyone as fo

    planted.add_sample_field("keywords", fo.ListField, subfield=fo.StringField)
    planted.set_values("keywords", [["dark", "night"]] * len(planted))
    _raw(planted).update_one({}, {"$set": {"keywords": "nightmare"}})
    with pytest.raises(ValueError) as error:
        fp.find_failure_modes(planted, tags_field="keywords", min_size=5, alpha=None)
    text = one_line(error)
    assert "`tags_field`" in text and "'keywords'" in text and "'nightmare'" in text
    assert planted.list_saved_views() == []


def test_metrics_when_no_image_can_be_read_is_one_line(planted, tmp_path):
    from tests.tiny_models import register_tiny_open_clip

    name = register_tiny_open_clip(tmp_path)
    planted.set_values("filepath", [f"/nonexistent/{i}.png" for i in range(len(planted))])
    fp.find_failure_modes(planted)
    with pytest.raises(ValueError) as error:
        fp.compute_failure_mode_metrics(
            planted, "prime", model=f"open_clip:{name}", pretrained=None, device="cpu"
        )
    assert "could be read" in one_line(error) and "/nonexistent/" in str(error.value)
