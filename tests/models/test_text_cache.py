"""Text features cached on disk, keyed by model, weights, templates and texts."""

import os

import numpy as np
import pytest
import torch

from fiftyone_prime.models.base import ImageTextEncoder
from fiftyone_prime.models.zero_shot import text_cache_path, text_features
from tests.tiny_models import register_tiny_open_clip


class CountingEncoder(ImageTextEncoder):
    """Deterministic text features (a hash of each text) that counts calls."""

    def __init__(self, cache_key="fake:model@v1"):
        self.name = "fake"
        self.cache_key = cache_key
        self.calls = []

    def encode_texts(self, texts, batch_size=256):
        self.calls.append(len(texts))
        rows = [np.random.default_rng(abs(hash(t)) % 2**32).normal(size=8) for t in texts]
        return torch.nn.functional.normalize(torch.tensor(np.array(rows), dtype=torch.float32))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FIFTYONE_PRIME_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_miss_then_hit_across_encoder_instances(cache):
    tags, templates = ["snow", "night", "grass"], ("a photo of {}.", "{}")
    first = CountingEncoder()
    a = text_features(first, tags, templates)
    assert first.calls == [6]
    path = text_cache_path(first, tags, templates)
    assert os.path.isfile(path) and path.startswith(str(cache))
    second = CountingEncoder()  # a new process would build a new encoder
    b = text_features(second, tags, templates)
    assert second.calls == []  # read from disk
    torch.testing.assert_close(a, b)
    np.testing.assert_allclose(b.norm(dim=-1).numpy(), 1.0, rtol=1e-5)


def test_any_change_of_key_is_a_miss(cache):
    tags = ["snow", "night"]
    text_features(CountingEncoder(), tags, ("{}",))
    for encoder, texts, templates in [
        (CountingEncoder(), tags, ("a photo of {}.",)),  # another template
        (CountingEncoder(), ["snow", "fog"], ("{}",)),  # another vocabulary
        (CountingEncoder("fake:model@v2"), tags, ("{}",)),  # other weights
    ]:
        text_features(encoder, texts, templates)
        assert encoder.calls == [len(texts) * len(templates)]
    assert len(list((cache / "text_features").iterdir())) == 4


def test_random_weights_and_bad_files_are_never_trusted(cache, tmp_path):
    random = CountingEncoder(cache_key=None)
    text_features(random, ["snow"], ("{}",))
    assert text_cache_path(random, ["snow"], ("{}",)) is None and not cache.exists()
    enc = CountingEncoder()
    path = text_cache_path(enc, ["snow", "night"], ("{}",))
    os.makedirs(os.path.dirname(path))
    np.save(path, np.zeros((5, 8), np.float32))  # wrong shape: recomputed
    text_features(enc, ["snow", "night"], ("{}",))
    assert enc.calls == [2] and np.load(path).shape == (2, 8)


def test_open_clip_cache_keys_name_the_weights(tmp_path):
    from fiftyone_prime.models import load_encoder

    name = register_tiny_open_clip(tmp_path)
    torch.manual_seed(0)
    random = load_encoder(f"open_clip:{name}", pretrained=None, device="cpu")
    assert random.cache_key is None
    weights = tmp_path / "w.pt"
    torch.save(random._model.state_dict(), weights)
    loaded = load_encoder(f"open_clip:{name}", pretrained=str(weights), device="cpu")
    assert loaded.cache_key.startswith(f"open_clip:{name}@{weights}:")
