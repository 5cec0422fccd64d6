"""open_clip and transformers encoders and the zero-shot tagger, with random weights.

Random weights test the mechanics (shapes, normalization, caching, loading by
path, precision), not tag quality.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from fiftyone_prime.models import load_encoder, load_tagger
from fiftyone_prime.models.open_clip_encoder import OpenClipEncoder
from fiftyone_prime.models.zero_shot import ZeroShotTagger, text_features
from tests.tiny_models import register_tiny_open_clip, save_tiny_transformers_clip

TAGS = ["snow", "night", "grass", "dog"]


@pytest.fixture(scope="module")
def tiny_name(tmp_path_factory):
    return register_tiny_open_clip(tmp_path_factory.mktemp("oc"))


@pytest.fixture(scope="module")
def encoder(tiny_name):
    torch.manual_seed(0)
    return OpenClipEncoder(tiny_name, pretrained=None, device="cpu")


def images(n, size=40):
    rng = np.random.default_rng(0)
    return [
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)) for _ in range(n)
    ]


def test_open_clip_encoder_shapes_and_normalization(encoder):
    pixels = torch.stack([encoder.image_transform(im) for im in images(3)])
    assert pixels.shape == (3, 3, 32, 32)
    emb = encoder.encode_images(pixels)
    assert emb.shape == (3, 32) and emb.dtype == torch.float32
    np.testing.assert_allclose(emb.norm(dim=-1).numpy(), 1.0, rtol=1e-5)
    text = encoder.encode_texts(["a photo of snow", "night"])
    assert text.shape == (2, 32)
    assert encoder.name.endswith("@random") and encoder.image_size == 32


def test_text_features_are_computed_once_per_vocabulary(encoder, monkeypatch):
    calls = []
    original = encoder.encode_texts
    monkeypatch.setattr(
        encoder, "encode_texts", lambda texts: calls.append(len(texts)) or original(texts)
    )
    first = text_features(encoder, TAGS, ("a photo of {}.", "an image of {}."))
    again = text_features(encoder, TAGS, ("a photo of {}.", "an image of {}."))
    assert calls == [8] and first is again
    np.testing.assert_allclose(first.norm(dim=-1).numpy(), 1.0, rtol=1e-5)


def test_pretrained_weights_load_from_a_local_checkpoint(tiny_name, encoder, tmp_path):
    path = tmp_path / "tiny.pt"
    torch.save(encoder._model.state_dict(), path)
    loaded = load_encoder(f"open_clip:{tiny_name}", pretrained=str(path), device="cpu")
    pixels = torch.stack([encoder.image_transform(im) for im in images(2)])
    torch.testing.assert_close(loaded.encode_images(pixels), encoder.encode_images(pixels))
    assert loaded.name == f"open_clip:{tiny_name}@tiny.pt"


@pytest.mark.slow  # a subprocess
def test_named_weights_that_cannot_be_fetched_fail_clearly(tiny_name):
    code = (
        "from fiftyone_prime.models import load_encoder\n"
        "try:\n"
        "    load_encoder('open_clip:ViT-B-32', pretrained='laion2b_s34b_b79k', device='cpu')\n"
        "except RuntimeError as e:\n"
        "    print('ERROR', e)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    ).stdout
    assert "ERROR Could not load pretrained weights 'laion2b_s34b_b79k'" in out
    assert "pretrained='/path/to/file'" in out and "model='properties'" in out


def test_bad_model_specs():
    with pytest.raises(ValueError, match="must look like"):
        load_encoder("ViT-B-32")
    with pytest.raises(ValueError, match="Unknown model backend"):
        load_encoder("onnx:foo")
    with pytest.raises(ValueError, match="Unknown open_clip model"):
        load_encoder("open_clip:NoSuchNet", pretrained=None)
    with pytest.raises(ValueError, match="does not exist"):
        load_encoder("open_clip:ViT-B-32", pretrained="/nowhere/weights.bin")
    with pytest.raises(ValueError, match="CUDA is not available"):
        if torch.cuda.is_available():
            pytest.skip("a GPU is present")
        load_encoder("open_clip:ViT-B-32", pretrained=None, device="cuda")


def test_transformers_encoder_from_a_local_directory(tmp_path):
    prompts = [f"a photo of {t}." for t in TAGS]
    path = save_tiny_transformers_clip(tmp_path / "clip", prompts)
    enc = load_encoder(f"transformers:{path}", device="cpu")
    pixels = torch.stack([enc.image_transform(im) for im in images(2)])
    assert pixels.shape == (2, 3, 32, 32)
    emb = enc.encode_images(pixels)
    assert emb.shape == (2, 16)
    np.testing.assert_allclose(emb.norm(dim=-1).numpy(), 1.0, rtol=1e-5)
    # Version 0.1's rule (softmax over the vocabulary, top k), kept as an option.
    tagger = ZeroShotTagger(enc, TAGS, templates=("a photo of {}.",), top_k=2, scoring="softmax")
    tags, _ = tagger.tag_batch(pixels)
    assert [len(t) for t in tags] == [2, 2]
    with pytest.raises(RuntimeError, match="Could not load the transformers model from the local"):
        load_encoder(f"transformers:{tmp_path}", device="cpu")


def test_zero_shot_select_applies_top_k_then_thresholds(encoder):
    tagger = ZeroShotTagger(
        encoder, TAGS, top_k=2, thresholds=[0.3, 0.0, 0.0, 0.5], scoring="softmax"
    )
    probs = np.array([[0.40, 0.05, 0.15, 0.40], [0.10, 0.60, 0.20, 0.10], [0.2, 0.2, 0.3, 0.3]])
    assert tagger.select(probs) == [
        [("snow", 0.40)],  # dog 0.40 is in the top 2 but under its 0.5 threshold
        [("night", 0.60), ("grass", 0.20)],
        [("grass", 0.3)],  # dog ties grass but misses 0.5; snow/night are outside the top 2
    ]
    with pytest.raises(ValueError, match="top_k"):
        ZeroShotTagger(encoder, TAGS, top_k=0)
    with pytest.raises(ValueError, match=r"'\{\}'"):
        ZeroShotTagger(encoder, TAGS, templates=("a photo",))


def test_tagger_probabilities_and_bf16_on_cpu(tiny_name):
    tagger = load_tagger(
        f"open_clip:{tiny_name}",
        vocabulary=TAGS,
        pretrained=None,
        device="cpu",
        precision="bf16",
        top_k=3,
        scoring="softmax",
    )
    pixels = torch.stack([tagger.image_transform(im) for im in images(4)])
    tags, emb = tagger.tag_batch(pixels)
    assert emb.dtype == torch.float32 and emb.shape == (4, 32)
    for row in tags:
        assert len(row) == 3
        assert all(0.0 < c <= 1.0 for _, c in row)
        assert [c for _, c in row] == sorted((c for _, c in row), reverse=True)


def test_trimmed_text_encoding_matches_open_clip(encoder):
    assert encoder._trimmable
    texts = ["a photo of snow.", "night", "a close-up photo of a striped couch in dim light."]
    tokens = encoder._tokenizer(texts)
    with torch.no_grad():
        expected = encoder._model.encode_text(tokens)
        got = encoder._encode_texts(texts)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
