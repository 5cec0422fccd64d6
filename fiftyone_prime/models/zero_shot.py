"""Zero-shot tagging with an image-text encoder over a tag vocabulary."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Optional

import numpy as np

from .base import ImageTextEncoder

logger = logging.getLogger(__name__)

#: Prompt templates whose text embeddings are averaged per tag.
DEFAULT_TEMPLATES = (
    "a photo of {}.",
    "a photo showing {}.",
    "a picture with {}.",
    "an image of {}.",
    "a cropped photo of {}.",
    "a close-up photo of {}.",
    "a bright photo of {}.",
    "a dark photo of {}.",
)


def text_features(
    encoder: ImageTextEncoder, texts: Sequence[str], templates: Sequence[str] = ("{}",)
):
    """Embeds each text through every template, averaged and normalized.

    Results are cached on the encoder per ``(texts, templates)``, so a
    vocabulary or a set of captions is encoded once per model.

    Returns:
        a ``(len(texts), D)`` float32 torch tensor on the encoder's device
    """
    import torch

    cache = encoder.__dict__.setdefault("_text_cache", {})
    key = (tuple(texts), tuple(templates))
    if key not in cache:
        prompts = [tpl.format(t) for t in texts for tpl in templates]
        emb = encoder.encode_texts(prompts).reshape(len(texts), len(templates), -1).mean(dim=1)
        cache[key] = torch.nn.functional.normalize(emb, dim=-1)
    return cache[key]


class ZeroShotTagger:
    """Keeps, per image, the vocabulary tags a CLIP-like model scores highest.

    A tag's confidence is its softmax probability over the vocabulary (image
    -tag cosine similarities times the model's logit scale). Per image, the
    ``top_k`` tags are kept, then those under their threshold are dropped.

    Args:
        encoder: an :class:`ImageTextEncoder`
        vocabulary: the tags
        templates (DEFAULT_TEMPLATES): prompt templates, averaged per tag
        top_k (5): the most tags kept per image
        thresholds (None): a per-tag list of least confidences, or None
    """

    def __init__(
        self,
        encoder: ImageTextEncoder,
        vocabulary: Sequence[str],
        templates: Sequence[str] = DEFAULT_TEMPLATES,
        top_k: Optional[int] = 5,
        thresholds: Optional[Sequence[float]] = None,
    ):
        if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
            raise ValueError(f"`top_k` must be a positive integer or None; got {top_k!r}")
        if not templates or any("{}" not in t for t in templates):
            raise ValueError("Every prompt template must contain '{}' where the tag goes")
        self.encoder = encoder
        self.vocabulary = list(vocabulary)
        self.templates = tuple(templates)
        self.top_k = min(top_k, len(self.vocabulary)) if top_k else len(self.vocabulary)
        self.thresholds = None if thresholds is None else np.asarray(thresholds, dtype=np.float64)
        self.name = encoder.name
        self._text = text_features(encoder, self.vocabulary, self.templates)

    @property
    def image_transform(self):
        return self.encoder.image_transform

    @property
    def image_size(self):
        return self.encoder.image_size

    def scores(self, embeddings):
        """Softmax probabilities over the vocabulary, ``(B, V)`` numpy."""
        import torch

        logits = self.encoder.logit_scale * embeddings @ self._text.T
        return torch.softmax(logits, dim=-1).cpu().numpy()

    def tag_batch(self, pixels):
        """Returns ``(tags per image as [(tag, confidence)], embeddings)``.

        When ``precision="auto"`` chose bf16 on a CPU, the first batch is also
        encoded in fp32: bf16 is kept only if the image-tag similarities agree
        (:data:`~fiftyone_prime.models.base.BF16_MIN_TOP1_AGREEMENT`,
        :data:`~fiftyone_prime.models.base.BF16_MAX_SIMILARITY_DIFF`), and the
        agreement is stored as ``encoder.precision_check``.
        """
        if self._needs_precision_check():
            embeddings = check_bf16(self.encoder, pixels, self._text)
        else:
            embeddings = self.encoder.encode_images(pixels)
        probs = self.scores(embeddings)
        return self.select(probs), embeddings

    def _needs_precision_check(self) -> bool:
        e = self.encoder
        return (
            getattr(e, "precision_auto", False)
            and e.precision == "bf16"
            and str(e.device).startswith("cpu")
            and e.precision_check is None
        )

    def select(self, probs: np.ndarray) -> list[list[tuple[str, float]]]:
        """Applies top-k and the thresholds to a ``(B, V)`` probability matrix."""
        k = self.top_k
        top = (
            np.argpartition(-probs, k - 1, axis=1)[:, :k]
            if k < probs.shape[1]
            else np.tile(np.arange(probs.shape[1]), (len(probs), 1))
        )
        out = []
        for row, idx in zip(probs, top):
            idx = idx[np.argsort(-row[idx], kind="stable")]
            if self.thresholds is not None:
                idx = idx[row[idx] >= self.thresholds[idx]]
            out.append([(self.vocabulary[j], float(row[j])) for j in idx])
        return out


def check_bf16(encoder: ImageTextEncoder, pixels, text):
    """Encodes a batch in bf16 and in fp32 and keeps bf16 only if they agree.

    Sets ``encoder.precision_check`` to ``{"candidate": "bf16", "chosen":
    "bf16" or "fp32", "images": n, "top1_agreement": share of images whose
    most similar tag is the same, "max_similarity_diff": largest change of an
    image-tag cosine similarity}``, switches the encoder to fp32 when they
    disagree, and returns the embeddings of the chosen precision.
    """
    from .base import BF16_MAX_SIMILARITY_DIFF, BF16_MIN_TOP1_AGREEMENT

    low = encoder.encode_images(pixels)
    encoder.precision = "fp32"
    full = encoder.encode_images(pixels)
    sim_low, sim_full = (low @ text.T).cpu().numpy(), (full @ text.T).cpu().numpy()
    agreement = float((sim_low.argmax(axis=1) == sim_full.argmax(axis=1)).mean())
    max_diff = float(np.abs(sim_low - sim_full).max()) if sim_low.size else 0.0
    keep = agreement >= BF16_MIN_TOP1_AGREEMENT and max_diff <= BF16_MAX_SIMILARITY_DIFF
    encoder.precision = "bf16" if keep else "fp32"
    encoder.precision_check = {
        "candidate": "bf16",
        "chosen": encoder.precision,
        "images": len(sim_low),
        "top1_agreement": agreement,
        "max_similarity_diff": max_diff,
    }
    log = logger.info if keep else logger.warning
    log(
        "precision='auto': bf16 %s fp32 on the first %d images (top tag agreement %.1f%%, "
        "largest similarity change %.4f); using %s",
        "agrees with" if keep else "disagrees with",
        len(sim_low),
        100 * agreement,
        max_diff,
        encoder.precision,
    )
    return low if keep else full
