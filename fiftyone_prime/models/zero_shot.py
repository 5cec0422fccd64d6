"""Zero-shot tagging with an image-text encoder over a tag vocabulary: scoring
per model family (sigmoid, calibrated, softmax) and cached text features."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from typing import Optional

import numpy as np

from fiftyone_prime.core.defaults import SCORINGS, TOP_K

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


#: How a zero-shot tagger turns image-tag similarities into tags:
#: ``"sigmoid"`` (sigmoid-trained models such as SigLIP: each tag's own
#: probability from the model's logit scale and bias, kept above a threshold),
#: ``"calibrated"`` (softmax-trained CLIP: each tag's similarity standardized
#: against its own distribution over calibration images, kept above a
#: z-score), ``"softmax"`` (a softmax over the vocabulary and the ``top_k``
#: most probable tags, the behaviour of version 0.1); ``"auto"`` picks
#: ``"sigmoid"`` when the model has a logit bias, else ``"calibrated"``.
# SCORINGS lives in core/defaults.py (the form and the CLI offer it too).

#: A tag is present under ``"sigmoid"`` scoring when the model gives it at
#: least this probability (the model's own decision boundary).
DEFAULT_SIGMOID_THRESHOLD = 0.5

#: A tag is present under ``"calibrated"`` scoring when its standardized
#: similarity (z-score) is at least this. Under a normal model of the
#: images that do not show the tag, 3.5 lets about 2 in 10,000 of them
#: through per tag (about one false tag per image over 4,600 tags).
DEFAULT_CALIBRATED_THRESHOLD = 3.5

#: Images drawn (at random, with a fixed seed) from the view to calibrate
#: ``"calibrated"`` scoring; they are tagged like the others.
DEFAULT_CALIBRATION_SIZE = 2048

#: Fewer calibration images than this give noisy per-tag statistics (a
#: warning is logged).
MIN_CALIBRATION_IMAGES = 100

#: Text encodings of at least this many prompts are logged (the large
#: vocabulary's 37,000 prompts take minutes on a CPU, seconds on a GPU).
_LOG_PROMPTS = 2000

#: Bumped when the layout of cached text features changes.
_CACHE_VERSION = 1


def cache_dir() -> str:
    """Where text features are cached: ``$FIFTYONE_PRIME_CACHE_DIR``, else
    ``~/.cache/fiftyone_prime``."""
    return os.environ.get("FIFTYONE_PRIME_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "fiftyone_prime"
    )


def text_cache_path(encoder: ImageTextEncoder, texts, templates) -> Optional[str]:
    """The cache file of a vocabulary's text features, or ``None`` when the
    encoder's weights cannot be identified (random weights)."""
    key = getattr(encoder, "cache_key", None)
    if not key:
        return None
    blob = json.dumps(
        {"v": _CACHE_VERSION, "model": key, "templates": list(templates), "texts": list(texts)},
        ensure_ascii=False,
    ).encode("utf-8")
    digest = hashlib.sha256(blob).hexdigest()
    return os.path.join(cache_dir(), "text_features", f"{digest}.npy")


def text_features(
    encoder: ImageTextEncoder, texts: Sequence[str], templates: Sequence[str] = ("{}",)
):
    """Embeds each text through every template, averaged and normalized.

    Results are cached on the encoder per ``(texts, templates)`` and, when
    the encoder identifies its weights (:attr:`ImageTextEncoder.cache_key`),
    on disk under :func:`cache_dir` keyed by model, weights, templates and
    texts: a 5,000-tag vocabulary is encoded once per model, and tagging
    then costs one matrix product per batch.

    Returns:
        a ``(len(texts), D)`` float32 torch tensor on the encoder's device
    """
    import torch

    cache = encoder.__dict__.setdefault("_text_cache", {})
    key = (tuple(texts), tuple(templates))
    if key in cache:
        return cache[key]
    path = text_cache_path(encoder, texts, templates)
    emb = _read_cached(path, len(texts)) if path else None
    if emb is not None:
        logger.debug("Text features of %d texts read from %s", len(texts), path)
        emb = torch.from_numpy(emb).to(encoder.device)
    else:
        prompts = [tpl.format(t) for t in texts for tpl in templates]
        if len(prompts) >= _LOG_PROMPTS:
            logger.info(
                "Encoding %d prompts (%d tags x %d templates) for %s, once per model%s",
                len(prompts),
                len(texts),
                len(templates),
                encoder.name,
                f"; cached in {path}" if path else " (random weights: not cached)",
            )
        emb = encoder.encode_texts(prompts).reshape(len(texts), len(templates), -1).mean(dim=1)
        emb = torch.nn.functional.normalize(emb, dim=-1)
        if path:
            _write_cached(path, emb.cpu().numpy().astype(np.float32))
    cache[key] = emb
    return emb


def _read_cached(path: str, rows: int) -> Optional[np.ndarray]:
    try:
        emb = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if emb.ndim != 2 or emb.shape[0] != rows or emb.dtype != np.float32:
        logger.warning("Ignoring the malformed text-feature cache file %s", path)
        return None
    return emb


def _write_cached(path: str, emb: np.ndarray) -> None:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".npy.tmp")
        with os.fdopen(fd, "wb") as f:
            np.save(f, emb)
        os.replace(tmp, path)  # atomic: concurrent writers leave one whole file
    except OSError as e:
        logger.warning("Could not cache text features in %s (%s)", path, e)


def resolve_scoring(scoring: str, encoder: ImageTextEncoder) -> str:
    """``"auto"`` -> ``"sigmoid"`` for models with a logit bias, else
    ``"calibrated"``; other values are checked and returned."""
    if scoring not in SCORINGS:
        raise ValueError(f"`scoring` must be one of {SCORINGS}; got {scoring!r}")
    if scoring == "auto":
        return "sigmoid" if getattr(encoder, "logit_bias", None) is not None else "calibrated"
    if scoring == "sigmoid" and getattr(encoder, "logit_bias", None) is None:
        raise ValueError(
            f"scoring='sigmoid' needs a sigmoid-trained model with a logit bias (SigLIP); "
            f"{encoder.name} has none. Use scoring='calibrated' or 'softmax'"
        )
    return scoring


class ZeroShotTagger:
    """Tags images with the vocabulary concepts a CLIP-like model finds in them.

    How similarities become tags depends on how the model was trained
    (``scoring``, see :data:`SCORINGS`):

    - ``"sigmoid"`` (SigLIP): each tag's probability is
      ``sigmoid(logit_scale * cosine + logit_bias)`` with the model's own
      scale and bias, independent of the other tags. A tag is kept when its
      probability reaches its threshold (default
      :data:`DEFAULT_SIGMOID_THRESHOLD`); confidence is that probability.
    - ``"calibrated"`` (CLIP, trained with a softmax, whose raw similarities
      are comparable neither across tags nor across images): each
      similarity is standardized over the vocabulary per image (the image's
      mean and spread removed), then with the tag's own mean and standard
      deviation over calibration images (:meth:`calibrate`). A tag is kept
      when that z-score reaches its threshold (default
      :data:`DEFAULT_CALIBRATED_THRESHOLD`); confidence is the z-score.
      The thresholds can be replaced by per-tag ones learned from labelled
      images (:func:`fiftyone_prime.evaluate_tags` suggests them).
    - ``"softmax"``: probabilities of a softmax over the vocabulary and the
      ``top_k`` most probable tags per image (version 0.1's rule: every
      image gets exactly ``top_k`` tags unless thresholds drop some).

    Under ``"sigmoid"`` and ``"calibrated"`` the number of tags varies per
    image (it can be zero); ``top_k``, when given, caps it.

    Args:
        encoder: an :class:`ImageTextEncoder`
        vocabulary: the tags
        templates (DEFAULT_TEMPLATES): prompt templates, averaged per tag
        top_k (None): the most tags kept per image (required for
            ``"softmax"``, where ``None`` means 5)
        thresholds (None): a per-tag list of least confidences, in the units
            of the scoring; ``None`` for the scoring's default
        scoring ("auto"): see :data:`SCORINGS`
        calibration (None): for ``"calibrated"``, statistics from an earlier
            :attr:`calibration` (to tag several views or shards alike)
    """

    def __init__(
        self,
        encoder: ImageTextEncoder,
        vocabulary: Sequence[str],
        templates: Sequence[str] = DEFAULT_TEMPLATES,
        top_k: Optional[int] = None,
        thresholds: Optional[Sequence[float]] = None,
        scoring: str = "auto",
        calibration: Optional[dict] = None,
    ):
        if top_k is not None and (
            isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1
        ):
            raise ValueError(f"`top_k` must be a positive integer or None; got {top_k!r}")
        if not templates or any("{}" not in t for t in templates):
            raise ValueError("Every prompt template must contain '{}' where the tag goes")
        self.encoder = encoder
        self.vocabulary = list(vocabulary)
        if not self.vocabulary:
            raise ValueError("The vocabulary is empty")
        self.templates = tuple(templates)
        self.scoring = resolve_scoring(scoring, encoder)
        if self.scoring == "softmax" and top_k is None:
            top_k = TOP_K
        self.top_k = min(top_k, len(self.vocabulary)) if top_k else None
        if thresholds is not None:
            thresholds = np.asarray(thresholds, dtype=np.float64)
            if thresholds.shape != (len(self.vocabulary),):
                raise ValueError(
                    f"`thresholds` must hold one value per tag ({len(self.vocabulary)}); got "
                    f"shape {thresholds.shape}"
                )
        elif self.scoring == "sigmoid":
            thresholds = np.full(len(self.vocabulary), DEFAULT_SIGMOID_THRESHOLD)
        elif self.scoring == "calibrated":
            thresholds = np.full(len(self.vocabulary), DEFAULT_CALIBRATED_THRESHOLD)
        self.thresholds = thresholds
        self.name = encoder.name
        self._text = text_features(encoder, self.vocabulary, self.templates)
        self._mean = self._std = None
        self.calibration: Optional[dict] = None
        if calibration is not None:
            self.set_calibration(calibration)

    def set_thresholds(self, threshold) -> None:
        """Replaces thresholds: a number for every tag, a ``{tag: value}``
        dict (``"*"`` for the rest; tags it leaves out keep their current
        threshold), or a list with one value per tag."""
        from fiftyone_prime.core.vocab import resolve_thresholds

        if threshold is None:
            return
        if isinstance(threshold, (list, tuple, np.ndarray)):
            values = np.asarray(threshold, dtype=np.float64)
        else:
            current = None if self.thresholds is None else self.thresholds.tolist()
            values = np.asarray(
                resolve_thresholds(threshold, self.vocabulary, current), dtype=np.float64
            )
        if values.shape != (len(self.vocabulary),):
            raise ValueError(
                f"`thresholds` must hold one value per tag ({len(self.vocabulary)}); got "
                f"shape {values.shape}"
            )
        self.thresholds = values

    @property
    def image_transform(self):
        return self.encoder.image_transform

    @property
    def image_size(self):
        return self.encoder.image_size

    @property
    def needs_calibration(self) -> bool:
        """Whether :meth:`calibrate` must run before images can be tagged."""
        return self.scoring == "calibrated" and self._mean is None

    def similarities(self, embeddings):
        """Cosine similarities of images and tags, ``(B, V)`` torch."""
        return embeddings @ self._text.T

    def _centered(self, embeddings):
        """Similarities standardized per image over the vocabulary (each
        image's mean and spread removed)."""
        sim = self.similarities(embeddings)
        sim = sim - sim.mean(dim=1, keepdim=True)
        return sim / sim.std(dim=1, keepdim=True).clamp_min(1e-6)

    def calibrate(self, embeddings) -> dict:
        """Estimates each tag's similarity distribution for ``"calibrated"``
        scoring from image embeddings (``(N, D)``, N images of the
        collection to tag), and returns it as :attr:`calibration`."""
        import torch

        n = int(embeddings.shape[0])
        if n < 2:
            raise ValueError(f"Calibration needs at least 2 images; got {n}")
        if n < MIN_CALIBRATION_IMAGES:
            logger.warning(
                "Calibrating on %d images (fewer than %d): the per-tag statistics are noisy",
                n,
                MIN_CALIBRATION_IMAGES,
            )
        centered = self._centered(torch.as_tensor(embeddings, device=self._text.device))
        self.set_calibration(
            {
                "images": n,
                "num_tags": len(self.vocabulary),
                "mean": centered.mean(dim=0).cpu().numpy().astype(float).tolist(),
                "std": centered.std(dim=0).cpu().numpy().astype(float).tolist(),
            }
        )
        return self.calibration

    def set_calibration(self, calibration: dict) -> None:
        """Uses statistics returned by :meth:`calibrate` (e.g. of another view)."""
        import torch

        mean = np.asarray(calibration["mean"], dtype=np.float32)
        std = np.asarray(calibration["std"], dtype=np.float32)
        if mean.shape != (len(self.vocabulary),) or std.shape != mean.shape:
            raise ValueError(
                f"The calibration holds {mean.shape[0]} tags; this vocabulary has "
                f"{len(self.vocabulary)}. Calibrate with the same vocabulary"
            )
        device = self._text.device
        self._mean = torch.from_numpy(mean).to(device)
        self._std = torch.from_numpy(np.maximum(std, 1e-6)).to(device)
        self.calibration = dict(calibration)

    def scores(self, embeddings):
        """Per-tag scores of the scoring, ``(B, V)`` numpy: probabilities
        (sigmoid, softmax) or z-scores (calibrated)."""
        return self._score_tensor(embeddings).cpu().numpy()

    def _score_tensor(self, embeddings):
        """:meth:`scores` as a torch tensor on the embeddings' device."""
        import torch

        if self.scoring == "softmax":
            logits = self.encoder.logit_scale * self.similarities(embeddings)
            return torch.softmax(logits, dim=-1)
        if self.scoring == "sigmoid":
            logits = self.encoder.logit_scale * self.similarities(embeddings)
            return torch.sigmoid(logits + self.encoder.logit_bias)
        if self._mean is None:
            raise RuntimeError(
                "scoring='calibrated' needs per-tag statistics first: call calibrate() with "
                "embeddings of images of the collection (compute_tags does this)"
            )
        return (self._centered(embeddings) - self._mean) / self._std

    def embed(self, pixels):
        """Image embeddings of a batch, ``(B, D)`` float32 torch.

        When ``precision="auto"`` chose bf16 on a CPU, the first batch is also
        encoded in fp32: bf16 is kept only if the image-tag similarities agree
        (:data:`~fiftyone_prime.models.base.BF16_MIN_TOP1_AGREEMENT`,
        :data:`~fiftyone_prime.models.base.BF16_MAX_SIMILARITY_DIFF`), and the
        agreement is stored as ``encoder.precision_check``.
        """
        if self._needs_precision_check():
            return check_bf16(self.encoder, pixels, self._text)
        return self.encoder.encode_images(pixels)

    def tag_embeddings(self, embeddings) -> list[list[tuple[str, float]]]:
        """Tags of images given their embeddings: the same as
        ``select(scores(embeddings))``, with the selection made where the
        scores are (on the GPU, only the kept tags travel to the host)."""
        return self._select_tensor(self._score_tensor(embeddings))

    def _select_tensor(self, scores) -> list[list[tuple[str, float]]]:
        """:meth:`select` of a ``(B, V)`` torch tensor, on its device."""
        import torch

        n = scores.shape[0]
        if self.scoring == "softmax":
            values, columns = torch.topk(scores, self.top_k, dim=1)
            values, columns = values.cpu().numpy(), columns.cpu().numpy()
            if self.thresholds is not None:
                keep = values >= self.thresholds[columns]
            else:
                keep = np.ones(values.shape, dtype=bool)
            rows = np.repeat(np.arange(n), self.top_k)[keep.ravel()]
            return self._tag_lists(n, rows, columns[keep], values[keep], presorted=True)
        # Compared in float64, as numpy compares the float32 scores with the
        # float64 thresholds (MPS has no float64: float32 there).
        dtype = torch.float32 if scores.device.type == "mps" else torch.float64
        thresholds = torch.as_tensor(self.thresholds, dtype=dtype, device=scores.device)
        mask = scores.to(dtype) >= thresholds
        where = mask.nonzero().cpu().numpy()
        values = scores[mask].cpu().numpy()
        return self._tag_lists(n, where[:, 0], where[:, 1], values)

    def _tag_lists(self, n, rows, columns, values, presorted=False):
        """Per image, its ``(tag, score)`` pairs sorted by score (ties by
        column), at most ``top_k`` of them."""
        if not presorted:  # rows ascending, columns ascending within a row
            order = np.lexsort((columns, -values, rows))
            rows, columns, values = rows[order], columns[order], values[order]
        starts = np.searchsorted(rows, np.arange(n + 1))
        vocabulary, k, out = self.vocabulary, self.top_k, []
        for i in range(n):
            stop = starts[i + 1] if k is None else min(starts[i + 1], starts[i] + k)
            out.append(
                [
                    (vocabulary[j], float(v))
                    for j, v in zip(
                        columns[starts[i] : stop].tolist(), values[starts[i] : stop].tolist()
                    )
                ]
            )
        return out

    def tag_batch(self, pixels):
        """Returns ``(tags per image as [(tag, confidence)], embeddings)``."""
        embeddings = self.embed(pixels)
        return self.tag_embeddings(embeddings), embeddings

    def _needs_precision_check(self) -> bool:
        e = self.encoder
        return (
            getattr(e, "precision_auto", False)
            and e.precision == "bf16"
            and str(e.device).startswith("cpu")
            and e.precision_check is None
        )

    def select(self, scores: np.ndarray) -> list[list[tuple[str, float]]]:
        """Applies the rule of the scoring to a ``(B, V)`` score matrix:
        ``"softmax"`` keeps the ``top_k`` then drops those under their
        threshold; the others keep the tags at or over their threshold, the
        ``top_k`` best when a cap is set. Tags are sorted by score."""
        k = self.top_k
        out = []
        if self.scoring == "softmax":
            top = (
                np.argpartition(-scores, k - 1, axis=1)[:, :k]
                if k < scores.shape[1]
                else np.tile(np.arange(scores.shape[1]), (len(scores), 1))
            )
            for row, idx in zip(scores, top):
                idx = idx[np.argsort(-row[idx], kind="stable")]
                if self.thresholds is not None:
                    idx = idx[row[idx] >= self.thresholds[idx]]
                out.append([(self.vocabulary[j], float(row[j])) for j in idx])
            return out
        rows, cols = np.nonzero(scores >= self.thresholds[None, :])
        kept = [[] for _ in range(len(scores))]
        for i, j in zip(rows.tolist(), cols.tolist()):
            kept[i].append(j)
        for row, idx in zip(scores, kept):
            idx = np.asarray(idx, dtype=np.int64)
            idx = idx[np.argsort(-row[idx], kind="stable")]
            if k is not None:
                idx = idx[:k]
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
