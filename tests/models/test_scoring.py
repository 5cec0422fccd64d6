"""Multi-label scoring per model family, with random-weight tiny models.

Random weights test the mechanics (the model's own scale and bias are used,
thresholds are applied exactly, the number of tags per image varies,
calibration statistics), never tag quality.
"""

import numpy as np
import pytest
import torch
from PIL import Image

from fiftyone_prime.models import load_encoder, load_tagger
from fiftyone_prime.models.zero_shot import (
    DEFAULT_CALIBRATED_THRESHOLD,
    DEFAULT_SIGMOID_THRESHOLD,
    ZeroShotTagger,
    resolve_scoring,
)
from tests.tiny_models import (
    register_tiny_open_clip,
    register_tiny_open_clip_siglip,
    save_tiny_transformers_siglip,
)

TAGS = ["snow", "night", "grass", "dog", "beach", "fog", "street", "bridge"]


def images(n, size=40, seed=0):
    rng = np.random.default_rng(seed)
    return [
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)) for _ in range(n)
    ]


def pixels_for(tagger, n=12):
    return torch.stack([tagger.image_transform(im) for im in images(n)])


@pytest.fixture(scope="module")
def siglip_encoder(tmp_path_factory):
    name = register_tiny_open_clip_siglip(tmp_path_factory.mktemp("siglip"))
    torch.manual_seed(0)
    return load_encoder(f"open_clip:{name}", pretrained=None, device="cpu", precision="fp32")


@pytest.fixture(scope="module")
def clip_encoder(tmp_path_factory):
    name = register_tiny_open_clip(tmp_path_factory.mktemp("clip"))
    torch.manual_seed(0)
    return load_encoder(f"open_clip:{name}", pretrained=None, device="cpu", precision="fp32")


def assert_exact_thresholds(tagger, scores, tags):
    """Every tag over its threshold is kept, sorted by score; no other tag."""
    for row, kept in zip(scores, tags):
        expected = [tagger.vocabulary[j] for j in np.flatnonzero(row >= tagger.thresholds)]
        assert sorted(t for t, _ in kept) == sorted(expected)
        confs = [c for _, c in kept]
        assert confs == sorted(confs, reverse=True)
        for t, c in kept:
            assert c == pytest.approx(row[tagger.vocabulary.index(t)])


def test_open_clip_siglip_uses_the_models_scale_and_bias(siglip_encoder):
    assert siglip_encoder.logit_bias == pytest.approx(-10.0)
    assert siglip_encoder.logit_bias == pytest.approx(
        float(siglip_encoder._model.logit_bias.detach())
    )
    tagger = ZeroShotTagger(siglip_encoder, TAGS, templates=("a photo of {}.",))
    assert tagger.scoring == "sigmoid" and tagger.top_k is None
    np.testing.assert_array_equal(tagger.thresholds, DEFAULT_SIGMOID_THRESHOLD)
    pixels = pixels_for(tagger)
    emb = tagger.embed(pixels)
    scores = tagger.scores(emb)
    # The model's own logits: scale * cosine + bias, then an independent sigmoid per tag.
    with torch.no_grad():
        img = torch.nn.functional.normalize(siglip_encoder._model.encode_image(pixels), dim=-1)
        txt = torch.nn.functional.normalize(
            siglip_encoder._model.encode_text(
                siglip_encoder._tokenizer(["a photo of " + t + "." for t in TAGS])
            ),
            dim=-1,
        )
        model = siglip_encoder._model
        expected = torch.sigmoid(img @ txt.T * model.logit_scale.exp() + model.logit_bias)
    np.testing.assert_allclose(scores, expected.numpy(), rtol=1e-4, atol=1e-6)
    assert scores.shape == (12, len(TAGS))
    # Probabilities are independent: rows need not sum to one.
    assert not np.allclose(scores.sum(axis=1), 1.0)


def test_sigmoid_thresholds_are_applied_and_tag_counts_vary(siglip_encoder):
    tagger = ZeroShotTagger(siglip_encoder, TAGS, templates=("{}",))
    scores = tagger.scores(tagger.embed(pixels_for(tagger, 16)))
    # Random weights and bias -10: every probability is tiny, so the default
    # 0.5 keeps nothing ...
    assert all(t == [] for t in tagger.select(scores))
    # ... per-tag thresholds at each tag's median keep about half the images.
    tagger.set_thresholds(np.median(scores, axis=0).tolist())
    tags = tagger.select(scores)
    assert_exact_thresholds(tagger, scores, tags)
    assert len({len(t) for t in tags}) > 1  # the number of tags per image varies
    capped = ZeroShotTagger(siglip_encoder, TAGS, templates=("{}",), top_k=2)
    capped.set_thresholds(tagger.thresholds.tolist())
    assert all(len(t) <= 2 for t in capped.select(scores))
    # A dict changes only the tags it names; the rest keep their threshold.
    tagger.set_thresholds({"snow": 0.9})
    assert tagger.thresholds[0] == 0.9 and tagger.thresholds[1] == pytest.approx(
        np.median(scores[:, 1])
    )


def test_transformers_siglip_probabilities_match_the_model(tmp_path):
    prompts = [f"a photo of {t}." for t in TAGS]
    path = save_tiny_transformers_siglip(tmp_path / "siglip", prompts)
    tagger = load_tagger(
        f"transformers:{path}",
        vocabulary=TAGS,
        device="cpu",
        precision="fp32",
        templates=("a photo of {}.",),
    )
    enc = tagger.encoder
    assert tagger.scoring == "sigmoid"
    assert enc.logit_bias == pytest.approx(-2.0) and enc.logit_scale == pytest.approx(np.exp(2.3))
    pixels = pixels_for(tagger, 6)
    scores = tagger.scores(tagger.embed(pixels))
    tokens = enc._tokenizer(prompts, padding="max_length", truncation=True, return_tensors="pt")
    with torch.no_grad():
        out = enc._model(pixel_values=pixels, **tokens)
    np.testing.assert_allclose(
        scores, torch.sigmoid(out.logits_per_image).numpy(), rtol=1e-4, atol=1e-6
    )


def test_calibrated_clip_standardizes_each_tag(clip_encoder):
    assert clip_encoder.logit_bias is None
    assert resolve_scoring("auto", clip_encoder) == "calibrated"
    with pytest.raises(ValueError, match="needs a sigmoid-trained model"):
        resolve_scoring("sigmoid", clip_encoder)
    with pytest.raises(ValueError, match="`scoring` must be one of"):
        resolve_scoring("linear", clip_encoder)
    tagger = ZeroShotTagger(clip_encoder, TAGS, templates=("{}",))
    assert tagger.scoring == "calibrated" and tagger.needs_calibration
    np.testing.assert_array_equal(tagger.thresholds, DEFAULT_CALIBRATED_THRESHOLD)
    pixels = pixels_for(tagger, 40)
    with pytest.raises(RuntimeError, match="call calibrate"):
        tagger.tag_batch(pixels)
    emb = tagger.embed(pixels)
    stats = tagger.calibrate(emb)
    assert stats["images"] == 40 and len(stats["mean"]) == len(TAGS)
    assert not tagger.needs_calibration
    z = tagger.scores(emb)
    # On its calibration images each tag's z-scores have mean 0 and std 1.
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(z.std(axis=0, ddof=1), 1.0, rtol=1e-3)
    # Each image's mean and spread over the vocabulary are removed first.
    sim = (emb @ tagger._text.T).numpy()
    centered = sim - sim.mean(axis=1, keepdims=True)
    centered /= centered.std(axis=1, ddof=1, keepdims=True)
    np.testing.assert_allclose(
        z, (centered - centered.mean(0)) / centered.std(0, ddof=1), rtol=1e-3, atol=1e-4
    )
    tagger.set_thresholds(0.5)
    tags = tagger.select(z)
    assert_exact_thresholds(tagger, z, tags)
    assert len({len(t) for t in tags}) > 1
    # The statistics carry over: a second tagger tags identically.
    again = ZeroShotTagger(clip_encoder, TAGS, templates=("{}",), calibration=stats)
    again.set_thresholds(0.5)
    assert again.tag_embeddings(emb) == tags
    with pytest.raises(ValueError, match="holds 8 tags"):
        ZeroShotTagger(clip_encoder, TAGS[:3], templates=("{}",), calibration=stats)


def test_threshold_and_top_k_checks(clip_encoder):
    with pytest.raises(ValueError, match="one value per tag"):
        ZeroShotTagger(clip_encoder, TAGS, thresholds=[0.1, 0.2])
    with pytest.raises(ValueError, match="top_k"):
        ZeroShotTagger(clip_encoder, TAGS, top_k=True)
    softmax = ZeroShotTagger(clip_encoder, TAGS, scoring="softmax")
    assert softmax.top_k == 5 and softmax.thresholds is None


@pytest.mark.parametrize("scoring", ["sigmoid", "calibrated", "softmax"])
@pytest.mark.parametrize("top_k", [None, 2])
def test_selection_on_the_scores_device_equals_the_numpy_rule(
    siglip_encoder, clip_encoder, scoring, top_k
):
    encoder = siglip_encoder if scoring == "sigmoid" else clip_encoder
    tagger = ZeroShotTagger(encoder, TAGS, templates=("{}",), scoring=scoring, top_k=top_k)
    emb = tagger.embed(pixels_for(tagger, 24))
    if scoring == "calibrated":
        tagger.calibrate(emb)
    scores = tagger.scores(emb)
    if scoring != "softmax":  # thresholds that keep a varying number of tags
        tagger.set_thresholds(np.quantile(scores, 0.6, axis=0).tolist())
    expected = tagger.select(scores)
    assert tagger.tag_embeddings(emb) == expected
    if top_k is None and scoring != "softmax":
        assert len({len(t) for t in expected}) > 1  # the counts vary, as the rule says
