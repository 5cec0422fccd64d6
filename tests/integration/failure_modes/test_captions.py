"""Captions written elsewhere (a language model, a person) for the CLIP metrics:
a callable or a {view name: text} dict; the caption used is stored on the mode
and shown in the panel and the report. The encoder is a tiny random open_clip
model: the test checks which text is scored and stored, not the scores."""

import numpy as np
import pytest
import torch

import fiftyone_prime as fp
from fiftyone_prime.core.captions import resolve_captions
from fiftyone_prime.models import load_encoder
from fiftyone_prime.plugin.panel import panel_rows
from tests.integration.planted import planted_with_images
from tests.tiny_models import register_tiny_open_clip


@pytest.fixture
def encoder(tmp_path):
    name = register_tiny_open_clip(tmp_path)
    torch.manual_seed(0)
    enc = load_encoder(f"open_clip:{name}", pretrained=None, device="cpu")
    enc.texts_seen = []
    original = enc.encode_texts

    def recording(texts, *args, **kwargs):
        enc.texts_seen.extend(texts)
        return original(texts, *args, **kwargs)

    enc.encode_texts = recording
    return enc


@pytest.fixture
def planted_run(make_dataset, tmp_path):
    dataset = planted_with_images(make_dataset, tmp_path)
    fp.find_failure_modes(dataset)
    return dataset


def test_callable_captions_are_scored_stored_and_shown(planted_run, encoder, tmp_path):
    seen = []

    def llm(mode):  # stands in for a language model
        seen.append(mode.view_name)
        return f"{mode.group} photographed with {' and '.join(mode.caption_tags)}"

    results = fp.compute_failure_mode_metrics(
        planted_run, "prime", model=encoder, captions=llm, num_workers=0
    )
    cat, dog = results.failure_modes
    assert cat.metrics["caption"] == "cat photographed with night and snow"
    assert dog.metrics["caption"] == "dog photographed with blur"
    assert {m.metrics["caption_source"] for m in results.failure_modes} == {"callable"}
    assert encoder.texts_seen == [cat.metrics["caption"], dog.metrics["caption"]]
    assert seen == [cat.view_name, dog.view_name]
    assert results.metrics_info["captions"] == ["callable"]

    # stored: a fresh load has them; the panel and the report show them
    loaded = fp.load_failure_modes(planted_run, "prime")
    assert loaded.failure_modes[0].metrics["caption"] == cat.metrics["caption"]
    rows = panel_rows(planted_run, "prime")
    assert [r["caption"] for r in rows] == [cat.metrics["caption"], dog.metrics["caption"]]
    page = open(fp.export_report(planted_run, "prime", str(tmp_path / "report"))).read()
    assert "<th class=l>caption</th>" in page
    assert "cat photographed with night and snow" in page
    assert "written by your captions function" in page


def test_dict_captions_fall_back_to_the_template_and_reject_unknown_views(planted_run, encoder):
    modes = fp.load_failure_modes(planted_run, "prime").failure_modes
    cat_view = modes[0].view_name
    results = fp.compute_failure_mode_metrics(
        planted_run,
        "prime",
        model=encoder,
        captions={cat_view: "a cat at night in the snow"},
        num_workers=0,
    )
    cat, dog = results.failure_modes
    assert (cat.metrics["caption"], cat.metrics["caption_source"]) == (
        "a cat at night in the snow",
        "dict",
    )
    assert (dog.metrics["caption"], dog.metrics["caption_source"]) == (
        "a photo of a dog with blur",
        "template",
    )

    with pytest.raises(ValueError, match="not failure modes of this run"):
        fp.compute_failure_mode_metrics(
            planted_run, "prime", model=encoder, captions={"prime-no-such-view": "x"}, num_workers=0
        )
    with pytest.raises(TypeError, match="must be None, a callable"):
        fp.compute_failure_mode_metrics(
            planted_run, "prime", model=encoder, captions=["a", "b"], num_workers=0
        )


class _Mode:
    def __init__(self, group, tags, view):
        self.group, self.caption_tags, self.view_name = group, tags, view


def test_resolve_captions_rules():
    modes = [_Mode("red_fox", ["snow"], "v1"), _Mode("dog", ["blur", "night"], "v2")]
    assert resolve_captions(modes) == [
        ("a photo of a red fox with snow", "template"),
        ("a photo of a dog with blur and night", "template"),
    ]
    # a callable may decline (None or ""): the template is used for that mode
    out = resolve_captions(modes, lambda m: "" if m.group == "dog" else "a fox in snow")
    assert out == [
        ("a fox in snow", "callable"),
        ("a photo of a dog with blur and night", "template"),
    ]
    with pytest.raises(TypeError, match="must be text"):
        resolve_captions(modes, lambda m: 3)
    assert np.asarray(resolve_captions(modes, {"v2": "x"}))[:, 1].tolist() == ["template", "dict"]
