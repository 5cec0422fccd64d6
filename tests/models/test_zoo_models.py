"""FiftyOne zoo models as taggers and CLIP-metric encoders.

No CLIP weights can be had here, so the zoo model is FiftyOne's own open_clip
wrapper (``fiftyone.utils.open_clip.TorchOpenClipModel``) around a tiny
open_clip architecture with random weights: built directly from its config,
and through a zoo manifest entry whose weights file is (or is not) in the zoo
cache. Random weights test the mechanics, never tag quality.
"""

import json

import numpy as np
import pytest
import torch

import fiftyone as fo
import fiftyone.utils.open_clip as fouoc

import fiftyone_prime as fp
from fiftyone_prime.models import load_encoder
from fiftyone_prime.models.fiftyone_zoo import FiftyOneModelEncoder
from tests.integration.planted import planted_with_images
from tests.tiny_models import register_tiny_open_clip

_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
_CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def zoo_config(arch, pretrained=""):
    """The config of FiftyOne's open_clip zoo entry, for a tiny architecture."""
    return {
        "entrypoint_fcn": "",
        "clip_model": arch,
        "pretrained": pretrained,
        "classes": ["thing", "other"],
        "text_prompt": "A photo of",
        "output_processor_cls": "fiftyone.utils.torch.ClassifierOutputProcessor",
        "image_size": [32, 32],
        "image_mean": _CLIP_MEAN,
        "image_std": _CLIP_STD,
        "embeddings_layer": "visual",
    }


@pytest.fixture
def tiny_arch(tmp_path):
    return register_tiny_open_clip(tmp_path)


@pytest.fixture
def zoo_model(tiny_arch):
    torch.manual_seed(0)
    return fouoc.TorchOpenClipModel(fouoc.TorchOpenClipModelConfig(zoo_config(tiny_arch)))


@pytest.fixture
def planted_images(make_dataset, tmp_path):
    return planted_with_images(make_dataset, tmp_path)


def test_a_loaded_fiftyone_model_is_an_encoder(zoo_model):
    encoder = load_encoder(zoo_model)
    assert isinstance(encoder, FiftyOneModelEncoder)
    assert encoder.image_size == 32 and encoder.device == "cpu"
    assert encoder.logit_scale == pytest.approx(float(zoo_model._model.logit_scale.detach().exp()))

    # texts: the model's own text tower, without FiftyOne's "A photo of" prefix
    texts = encoder.encode_texts(["a photo of snow.", "a photo of night."])
    tokens = zoo_model._tokenizer(["a photo of snow.", "a photo of night."])
    with torch.no_grad():
        direct = torch.nn.functional.normalize(zoo_model._model.encode_text(tokens), dim=-1)
    np.testing.assert_allclose(texts.numpy(), direct.numpy(), atol=1e-5)
    assert zoo_model.config.text_prompt == "A photo of"  # restored

    # images: FiftyOne's transforms and forward pass, normalized
    from PIL import Image

    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 50, 3), np.uint8))
    pixels = torch.stack([encoder.image_transform(image)] * 2)
    emb = encoder.encode_images(pixels)
    with torch.no_grad():
        direct = torch.nn.functional.normalize(zoo_model._model.encode_image(pixels), dim=-1)
    np.testing.assert_allclose(emb.numpy(), direct.numpy(), atol=1e-5)
    assert zoo_model.preprocess is True  # restored


def test_tags_and_metrics_with_a_loaded_zoo_model(planted_images, zoo_model):
    summary = fp.compute_tags(
        planted_images,
        model=zoo_model,
        vocabulary=["snow", "night", "blur"],
        scoring="softmax",  # version 0.1's rule: exactly top_k tags per image
        top_k=2,
        tags_field="zoo_tags",
        embeddings_field="emb",
        num_workers=0,
    )
    assert summary.num_tagged == len(planted_images) and summary.tagger.startswith("fiftyone:")
    labels = planted_images.values("zoo_tags.classifications.label")
    assert all(len(t) == 2 and set(t) <= {"snow", "night", "blur"} for t in labels)
    assert len(planted_images.first()["emb"]) == 32

    # metrics of the planted failure modes (random tags find nothing to score)
    fp.find_failure_modes(planted_images, tags_field="prime_tags", run_key="zoo")
    results = fp.compute_failure_mode_metrics(planted_images, "zoo", model=zoo_model, num_workers=0)
    assert len(results.failure_modes) == 2
    for m in results.failure_modes:
        assert 0.0 <= m.metrics["auroc"] <= 1.0 and m.metrics["caption"]
    assert results.metrics_info["model"].startswith("fiftyone:")


@pytest.fixture
def tiny_zoo(tmp_path, tiny_arch, monkeypatch):
    """A zoo manifest entry 'prime-tiny-clip-torch' whose weights file lies in
    a private zoo cache (its URL is unreachable: the cache is the only source)."""
    import open_clip

    zoo_dir = tmp_path / "zoo"
    zoo_dir.mkdir()
    weights = zoo_dir / "prime-tiny-clip.pt"
    torch.manual_seed(0)
    torch.save(open_clip.create_model(tiny_arch).state_dict(), weights)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "models": [
                    {
                        "base_name": "prime-tiny-clip-torch",
                        "base_filename": weights.name,
                        "version": None,
                        "description": "a tiny random open_clip model for tests",
                        "source": "tests",
                        "author": "tests",
                        "license": "MIT",
                        "size_bytes": weights.stat().st_size,
                        "manager": {
                            "type": "fiftyone.core.models.ModelManager",
                            "config": {"url": "http://127.0.0.1:9/prime-tiny-clip.pt"},
                        },
                        "default_deployment_config_dict": {
                            "type": "fiftyone.utils.open_clip.TorchOpenClipModel",
                            "config": zoo_config(tiny_arch, pretrained=str(weights)),
                        },
                        "requirements": {
                            "packages": ["torch", "open_clip_torch"],
                            "cpu": {"support": True},
                            "gpu": {"support": True},
                        },
                        "tags": ["embeddings", "zero-shot", "torch", "clip"],
                        "date_added": "2026-01-01 00:00:00",
                    }
                ]
            }
        )
    )
    monkeypatch.setattr(fo.config, "model_zoo_dir", str(zoo_dir))
    monkeypatch.setattr(fo.config, "model_zoo_manifest_paths", [str(manifest)])
    return weights


def test_zoo_model_by_name_from_the_zoo_cache(planted_images, tiny_zoo):
    encoder = load_encoder("zoo:prime-tiny-clip-torch")
    assert encoder.name == "zoo:prime-tiny-clip-torch"
    summary = fp.compute_tags(
        planted_images,
        model="zoo:prime-tiny-clip-torch",
        vocabulary=["snow", "night", "blur"],
        top_k=1,
        tags_field="zoo_tags",
        num_workers=0,
    )
    assert summary.tagger == "zoo:prime-tiny-clip-torch"
    assert summary.num_tagged == len(planted_images)


def test_zoo_model_missing_from_the_cache_fails_clearly(tiny_zoo):
    tiny_zoo.unlink()  # not cached, and its URL cannot be reached
    with pytest.raises(RuntimeError) as info:
        load_encoder("zoo:prime-tiny-clip-torch")
    message = str(info.value)
    assert "not in the zoo cache" in message and "could not be downloaded" in message
    assert "fiftyone zoo models download prime-tiny-clip-torch" in message
    assert "model='properties'" in message


def test_unknown_zoo_model_and_models_without_prompts_fail_clearly(tiny_zoo):
    with pytest.raises(ValueError, match="not a FiftyOne zoo model"):
        load_encoder("zoo:no-such-model-anywhere")

    class ImagesOnly:
        has_embeddings = True
        can_embed_prompts = False

        def embed_all(self, x):
            return x

        def embed_prompts(self, x):
            raise NotImplementedError

    with pytest.raises(ValueError, match="does not embed both images and prompts"):
        load_encoder(ImagesOnly())


def test_forms_suggest_zoo_models():
    from fiftyone_prime.plugin.forms import MODEL_SUGGESTIONS

    assert "zoo:clip-vit-base32-torch" in MODEL_SUGGESTIONS
