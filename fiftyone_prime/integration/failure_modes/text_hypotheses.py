"""Hypotheses written as text: a phrase matched to images by an image-text model.

:func:`match_text` embeds the samples' images and a phrase with an
image-text encoder (the models the tagger and the CLIP metrics use) and
keeps the images whose cosine similarity to the phrase is unusually high
for that phrase: at least :data:`~fiftyone_prime.core.defaults.TEXT_MATCH_Z`
standard deviations above the phrase's mean similarity over the samples.
The threshold is calibrated per phrase (similarities of different phrases
are not on one scale) and stated with the match. The match is a
:class:`TextMatch`, which :func:`fiftyone_prime.test_hypotheses` tests as
it tests a view expression (its samples, by id), so its saved view holds
exactly the matched images of its class.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Optional

import numpy as np

from fiftyone_prime.core.defaults import TEXT_MATCH_Z

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TextMatch:
    """The images a phrase matches.

    Attributes:
        phrase: the phrase
        threshold: the cosine similarity an image needs (the phrase's mean
            plus ``z`` standard deviations over the samples)
        z: the calibration's number of standard deviations
        ids: the matched samples' ids
        num_samples: the samples whose images were scored
        model: the encoder's name
    """

    phrase: str
    threshold: float
    z: float
    ids: tuple[str, ...]
    num_samples: int
    model: str

    @property
    def name(self) -> str:
        """How the hypothesis is named in results and views."""
        return (
            f"text {self.phrase!r} (similarity >= {self.threshold:.3f}, mean + {self.z:g} sd, "
            f"{self.model})"
        )

    @property
    def filter(self) -> dict:
        """The matched samples as a MongoDB query filter (``samples.match()``),
        the ids as text so that it is stored as JSON."""
        return {"$expr": {"$in": [{"$toString": "$_id"}, list(self.ids)]}}


def match_text(
    samples,
    phrase: str,
    *,
    model="open_clip:ViT-B-32",
    pretrained: Optional[str] = "openai",
    embeddings_field: Optional[str] = None,
    z: float = TEXT_MATCH_Z,
    device: Optional[str] = None,
    batch_size: int = 64,
    num_workers: int = 0,
    progress=None,
) -> TextMatch:
    """Matches a phrase to the samples' images with an image-text model.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`
        phrase: the text (e.g. ``"a photo taken at night"``)
        model ("open_clip:ViT-B-32"): as in
            :func:`fiftyone_prime.compute_failure_mode_metrics` (a name or
            an encoder object)
        pretrained ("openai"): the weights, for open_clip names
        embeddings_field (None): a field of normalized image embeddings made
            by the same model; images without one are encoded
        z (2.0): the threshold: the phrase's mean similarity plus ``z``
            standard deviations
        device (None), batch_size (64), num_workers (0), progress (None):
            as for the CLIP metrics

    Returns:
        a :class:`TextMatch`

    Raises:
        ValueError: if the phrase is empty or no image could be scored
    """
    from fiftyone_prime.models import load_encoder

    from .metrics import _image_embeddings

    if not isinstance(phrase, str) or not phrase.strip():
        raise ValueError(f"a text hypothesis needs a nonempty phrase; got {phrase!r}")
    encoder = load_encoder(model, pretrained=pretrained, device=device)
    paths = ["id", "filepath"] + ([embeddings_field] if embeddings_field else [])
    values = samples.values(paths)
    ids = values[0]
    inputs = SimpleNamespace(num_used=len(ids), extra=dict(zip(paths, values)))
    embeddings, ok = _image_embeddings(
        encoder, inputs, range(len(ids)), embeddings_field, batch_size, num_workers, progress
    )
    if not ok.any():
        raise ValueError("no image could be read to match the phrase to")
    text = encoder.encode_texts([phrase.strip()]).cpu().numpy()[0].astype(np.float64)
    images = embeddings[ok].astype(np.float64)
    images /= np.maximum(np.linalg.norm(images, axis=1, keepdims=True), 1e-12)
    similarity = images @ (text / max(np.linalg.norm(text), 1e-12))
    threshold = float(similarity.mean() + z * similarity.std())
    kept = np.flatnonzero(ok)[similarity >= threshold - 1e-12]
    match = TextMatch(
        phrase.strip(),
        threshold,
        float(z),
        tuple(ids[i] for i in kept),
        int(ok.sum()),
        str(getattr(encoder, "name", model)),
    )
    logger.info("%s matches %d of %d images", match.name, len(match.ids), match.num_samples)
    return match
