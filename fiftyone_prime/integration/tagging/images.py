"""Tagging every image of a view with concepts, written to a field in batches."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional, Union

import numpy as np

import fiftyone as fo
import fiftyone.core.utils as fou

from fiftyone_prime.core import vocab as fpvocab
from fiftyone_prime.core.defaults import LABEL_FIELD, TAGS_FIELD
from fiftyone_prime.models import DEFAULT_MODEL

#: Calibration images are drawn with this seed, so a view is calibrated the
#: same way every time.
CALIBRATION_SEED = 0

#: The default number of calibration images (see ``compute_tags``).
DEFAULT_CALIBRATION_SIZE = 2048

logger = logging.getLogger(__name__)

#: Most failures listed in a summary (all are counted).
_MAX_LISTED_FAILURES = 50


@dataclass
class TaggingSummary:
    """What a tagging run did.

    Attributes:
        tagger: the tagger's name (e.g. ``open_clip:ViT-B-32@laion2b_s34b_b79k``)
        tags_field: the field written
        vocabulary_size: the number of tags the tagger chose from
        num_tagged: samples tagged by this run
        num_skipped_existing: samples left alone because they had tags
        num_failed: samples whose image could not be read
        failures: ``(sample id, filepath, error)`` of the first failures
        seconds: the wall time of the tagging loop
        precision: the precision the model ran in (``None`` for taggers
            without one)
        precision_check: with ``precision="auto"`` on a CPU with native
            bf16, the agreement of bf16 with fp32 on the first batch (see
            :func:`fiftyone_prime.models.zero_shot.check_bf16`)
        scoring: how similarities became tags (``"sigmoid"``,
            ``"calibrated"``, ``"softmax"``; ``None`` for taggers without one)
        vocabulary: the vocabulary's name (``"large"``, ``"context"``, a
            path, or ``"custom"``)
        num_tags_written: the tags written in all (see
            :attr:`tags_per_image`)
        calibration: for ``"calibrated"`` scoring, the per-tag statistics
            (pass them as ``compute_tags(calibration=...)`` to tag another
            view or shard identically)
    """

    tagger: str
    tags_field: str
    vocabulary_size: int
    num_tagged: int = 0
    num_skipped_existing: int = 0
    num_failed: int = 0
    failures: list = field(default_factory=list)
    seconds: float = 0.0
    precision: Optional[str] = None
    precision_check: Optional[dict] = None
    scoring: Optional[str] = None
    vocabulary: Optional[str] = None
    num_tags_written: int = 0
    calibration: Optional[dict] = field(default=None, repr=False)

    @property
    def images_per_second(self) -> float:
        return self.num_tagged / self.seconds if self.seconds else 0.0

    @property
    def tags_per_image(self) -> float:
        """The mean number of tags written per tagged image."""
        return self.num_tags_written / self.num_tagged if self.num_tagged else 0.0


def compute_tags(
    samples,
    *,
    vocabulary: Union[str, Sequence[str], None] = None,
    tags_field: str = TAGS_FIELD,
    model=DEFAULT_MODEL,
    pretrained: Optional[str] = "default",
    top_k: Optional[int] = None,
    threshold: Union[float, dict, None] = None,
    scoring: str = "auto",
    calibration_size: int = DEFAULT_CALIBRATION_SIZE,
    calibration: Optional[dict] = None,
    templates: Optional[Sequence[str]] = None,
    label_field: Optional[str] = LABEL_FIELD,
    exclude_classes: bool = True,
    embeddings_field: Optional[str] = None,
    batch_size: Optional[int] = None,
    num_workers: Optional[int] = None,
    device: Optional[str] = None,
    precision: str = "auto",
    skip_existing: bool = False,
    overwrite: bool = False,
    skip_failures: bool = True,
    progress=None,
) -> TaggingSummary:
    """Tags every image of a collection with human-readable concepts.

    Writes a :class:`fiftyone.core.labels.Classifications` field with one
    :class:`fiftyone.core.labels.Classification` per kept tag (its score as
    ``confidence``), in batches as it goes: an interrupted run loses at most
    the batch in flight, and ``skip_existing=True`` continues where it stopped.

    Zero-shot tagging scores every concept of the vocabulary (by default the
    ``"large"`` one: 4,637 concepts from RAM's tag list, synonyms merged) and
    keeps those present, by a rule that depends on how the model was trained
    (``scoring``):

    - sigmoid-trained models (SigLIP, in open_clip or transformers): each
      tag's own probability ``sigmoid(scale * cosine + bias)`` with the
      model's learned scale and bias; kept when at least ``threshold``
      (default 0.5). Confidence: that probability.
    - softmax-trained CLIP (``"calibrated"``): each image-tag similarity is
      standardized per image over the vocabulary (the image's mean and
      spread removed), then with the tag's mean and spread over ``calibration_size`` images drawn from the
      view; kept when that z-score is at least ``threshold`` (default 3.5).
      Confidence: the z-score.
    - ``scoring="softmax"``: version 0.1's rule, a softmax over the
      vocabulary and the ``top_k`` (default 5) most probable tags.

    The number of tags per image varies (it can be zero); ``top_k`` caps it.
    :func:`fiftyone_prime.evaluate_tags` measures the tags against labels a
    dataset already has and suggests per-tag thresholds, which can be passed
    back as ``threshold={tag: value}``.

    Examples::

        import fiftyone_prime as fp

        # CLIP zero-shot over the default vocabulary (weights by name or file)
        fp.compute_tags(dataset, model="open_clip:ViT-B-32",
                        pretrained="/models/open_clip_vit_b32.bin")

        # A FiftyOne zoo model, by name or loaded
        fp.compute_tags(dataset, model="zoo:clip-vit-base32-torch")

        # No weights needed: pixel properties (dark, blurry, small object...)
        fp.compute_tags(dataset, model="properties", tags_field="properties")

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection` of images
        vocabulary (None): the tags to choose from: ``None`` for the shipped
            ``"large"`` vocabulary, ``"context"`` (the 266 context concepts of
            version 0.1), a list, or a text file with one concept per line
            (``concept|alias|alias``; aliases count as class names when
            classes are excluded). Ignored by ``model="properties"``
        tags_field ("prime_tags"): the ``Classifications`` field to write
        model ("open_clip:ViT-B-32"): ``"open_clip:<architecture>"``,
            ``"transformers:<model id or directory>"``, ``"zoo:<FiftyOne zoo
            model>"`` (e.g. ``"zoo:clip-vit-base32-torch"``, from the zoo
            cache), ``"properties"``, a loaded FiftyOne model that embeds
            images and prompts (e.g. from ``foz.load_zoo_model``), or a
            tagger / encoder object
        pretrained ("default"): open_clip weights: a tag, a local checkpoint
            path, or ``"default"`` (the architecture's usual tag)
        top_k (None): the most tags kept per image (zero-shot); ``None``
            keeps every tag over its threshold (5 under ``"softmax"``)
        threshold (None): the least confidence to keep a tag, in the units
            of the scoring (probability, or z-score for ``"calibrated"``); a
            number or ``{tag: value}`` (``"*"`` for the rest; other tags keep
            the default). ``None``: 0.5 (sigmoid), 3.5 (calibrated), none
            (softmax)
        scoring ("auto"): ``"sigmoid"``, ``"calibrated"``, ``"softmax"``, or
            ``"auto"`` (sigmoid for models with a logit bias, else
            calibrated)
        calibration_size (2048): for ``"calibrated"``, the images drawn at
            random (seed 0) from those to tag to estimate each tag's
            distribution; they are tagged once it is known (an interruption
            before then loses them)
        calibration (None): per-tag statistics of an earlier run
            (``TaggingSummary.calibration``) to use instead, e.g. to tag
            shards or a second view identically
        templates (None): prompt templates with ``{}`` for the tag; defaults to
            an ensemble of photo templates
        label_field ("ground_truth"): a Classification field whose classes are
            removed from the vocabulary (a tag equal to the class, or with
            the class among its aliases, explains nothing); ignored when
            absent
        exclude_classes (True): whether to remove those classes
        embeddings_field (None): a field in which to also store each image's
            normalized embedding (reused by the CLIP metrics)
        batch_size (None): images per batch; 128 on GPU, 32 on CPU
        num_workers (None): image-decoding worker processes; defaults to the
            number of CPU cores (at most 8) on GPU, and 1 on CPU, where the
            model needs the cores
        device (None): the torch device; CUDA when available by default
        precision ("auto"): fp16 autocast on GPU; on CPU, bf16 autocast where
            the CPU runs it natively (AMX, AVX512-BF16) and it agrees with
            fp32 on the first batch (reported in the summary), else fp32; or
            ``"fp32"``, ``"fp16"``, ``"bf16"``
        skip_existing (False): only tag samples whose ``tags_field`` is empty
        overwrite (False): whether to re-tag samples that already have tags
        skip_failures (True): whether to skip (and count) images that cannot
            be read instead of raising
        progress (None): a FiftyOne ``progress`` argument (bool or callback)

    Returns:
        a :class:`TaggingSummary`
    """
    from fiftyone_prime.models.images import image_loader

    if not isinstance(calibration_size, int) or isinstance(calibration_size, bool):
        raise TypeError(f"`calibration_size` must be an integer; got {calibration_size!r}")
    if calibration_size < 2:
        raise ValueError(f"`calibration_size` must be at least 2; got {calibration_size}")
    dataset = samples._root_dataset
    _check_field(samples, tags_field, fo.Classifications, "tags_field")
    if embeddings_field is not None:
        _check_vector_field(samples, embeddings_field)
    if samples.media_type != "image":
        raise ValueError(f"Tagging needs an image collection; this one holds {samples.media_type}")
    total = samples.count()
    if total == 0:
        raise ValueError("The view is empty; there is nothing to tag")

    has_tags = samples.exists(tags_field) if samples.has_field(tags_field) else None
    num_existing = has_tags.count() if has_tags is not None else 0
    if num_existing and not (skip_existing or overwrite):
        raise ValueError(
            f"{num_existing} of the {total} samples already have '{tags_field}' tags. Pass "
            "skip_existing=True to tag only the others (e.g. to continue an interrupted run), "
            "overwrite=True to re-tag them, or choose another tags_field"
        )
    target = samples.exists(tags_field, False) if (skip_existing and num_existing) else samples

    tagger = _build_tagger(
        samples,
        model,
        vocabulary,
        pretrained,
        top_k,
        threshold,
        templates,
        label_field,
        exclude_classes,
        device,
        precision,
        scoring,
        calibration,
    )
    summary = TaggingSummary(
        tagger.name,
        tags_field,
        len(tagger.vocabulary),
        num_skipped_existing=num_existing if skip_existing else 0,
        scoring=getattr(tagger, "scoring", None),
        vocabulary=None if not hasattr(tagger, "scoring") else fpvocab.vocabulary_name(vocabulary),
    )
    ids, filepaths = target.values(["id", "filepath"])
    if not ids:
        logger.info("Every sample already has '%s' tags", tags_field)
        return summary
    if not samples.has_field(tags_field):
        dataset.add_sample_field(
            tags_field, fo.EmbeddedDocumentField, embedded_doc_type=fo.Classifications
        )
    num_calibration = 0
    if getattr(tagger, "needs_calibration", False):
        ids, filepaths, num_calibration = _calibration_first(ids, filepaths, calibration_size)

    on_gpu = str(getattr(getattr(tagger, "encoder", None), "device", "cpu")).startswith("cuda")
    loader = image_loader(
        filepaths,
        tagger.image_transform,
        getattr(tagger, "image_size", None),
        batch_size=batch_size,
        num_workers=num_workers,
        on_gpu=on_gpu,
        needs_torch=getattr(tagger, "needs_torch", True),
    )
    logger.info(
        "Tagging %d images with %s (%d tags)...", len(ids), tagger.name, len(tagger.vocabulary)
    )
    pending = []  # (sample ids, embeddings) held until the calibration is known

    def write(batch_ids, tags, embeddings):
        _write_batch(dataset, batch_ids, tags, tags_field, embeddings, embeddings_field)
        summary.num_tagged += len(batch_ids)
        summary.num_tags_written += sum(len(t) for t in tags)

    def calibrate_and_flush():
        import torch

        if not pending:
            raise ValueError("No image could be read to calibrate the tagger")
        tagger.calibrate(torch.cat([emb for _, emb in pending]))
        logger.info(
            "Calibrated %d tags on %d images", len(tagger.vocabulary), tagger.calibration["images"]
        )
        for batch_ids, emb in pending:
            write(batch_ids, tagger.tag_embeddings(emb), emb)
        pending.clear()

    start = time.perf_counter()
    try:
        with fou.ProgressBar(total=len(ids), progress=progress) as pb:
            for indices, batch, failed in loader:
                _record_failures(summary, failed, ids, filepaths, skip_failures)
                if indices:
                    batch_ids = [ids[i] for i in indices]
                    if num_calibration and tagger.needs_calibration:
                        pending.append((batch_ids, tagger.embed(batch)))
                        if sum(len(b) for b, _ in pending) >= num_calibration:
                            calibrate_and_flush()
                    else:
                        tags, embeddings = tagger.tag_batch(batch)
                        write(batch_ids, tags, embeddings)
                pb.update(len(indices) + len(failed))
            if pending:
                calibrate_and_flush()  # fewer readable images than calibration_size
    except KeyboardInterrupt:
        logger.warning(
            "Interrupted after tagging %d samples; they are saved%s. Run again with "
            "skip_existing=True to continue",
            summary.num_tagged,
            f" ({sum(len(b) for b, _ in pending)} awaiting calibration are not)" if pending else "",
        )
        raise
    finally:
        summary.seconds = time.perf_counter() - start
        encoder = getattr(tagger, "encoder", None)
        summary.precision = getattr(encoder, "precision", None)
        summary.precision_check = getattr(encoder, "precision_check", None)
        summary.calibration = getattr(tagger, "calibration", None)
    _record_tagger(samples, tags_field, tagger, summary)
    if summary.num_failed:
        logger.warning(
            "Skipped %d images that could not be read, e.g. %s: %s",
            summary.num_failed,
            summary.failures[0][1],
            summary.failures[0][2],
        )
    return summary


def _build_tagger(
    samples,
    model,
    vocabulary,
    pretrained,
    top_k,
    threshold,
    templates,
    label_field,
    exclude_classes,
    device,
    precision,
    scoring="auto",
    calibration=None,
):
    from fiftyone_prime.models import load_tagger

    if model == "properties" or hasattr(model, "tag_batch"):
        return load_tagger(model, device=device)
    entries = fpvocab.load_vocabulary_entries(vocabulary)
    all_tags = [concept for concept, _ in entries]
    tags = all_tags
    if exclude_classes and label_field and samples.has_field(label_field):
        tags = fpvocab.exclude_classes(
            tags, samples.distinct(f"{label_field}.label"), aliases=dict(entries)
        )
    if not tags:
        raise ValueError("No tags are left once the class names are removed from the vocabulary")
    if isinstance(threshold, dict):
        unknown = set(threshold) - set(all_tags) - {"*"}
        if unknown:
            raise ValueError(f"`threshold` names tags not in the vocabulary: {sorted(unknown)[:5]}")
        removed = set(threshold) - set(tags) - {"*"}
        if removed:  # e.g. thresholds an audit suggested for tags that name classes
            logger.info(
                "`threshold` names %d tags removed as class names (e.g. %s); ignored",
                len(removed),
                sorted(removed)[:3],
            )
            threshold = {k: v for k, v in threshold.items() if k not in removed}
    tagger = load_tagger(
        model,
        vocabulary=tags,
        pretrained=pretrained,
        device=device,
        precision=precision,
        top_k=top_k,
        templates=templates,
        scoring=scoring,
        calibration=calibration,
    )
    tagger.set_thresholds(threshold)
    return tagger


def _calibration_first(ids, filepaths, size):
    """Reorders the samples so that ``size`` drawn at random come first."""
    n = min(size, len(ids))
    chosen = np.sort(np.random.default_rng(CALIBRATION_SEED).choice(len(ids), n, replace=False))
    rest = np.ones(len(ids), dtype=bool)
    rest[chosen] = False
    order = chosen.tolist() + np.flatnonzero(rest).tolist()
    return [ids[i] for i in order], [filepaths[i] for i in order], n


def _record_tagger(samples, tags_field, tagger, summary):
    """Notes on the tags field how its tags were made (``field.info``)."""
    if not summary.num_tagged or not hasattr(tagger, "scoring"):
        return
    try:
        field_ = samples._root_dataset.get_field(tags_field)
        thresholds = tagger.thresholds
        uniform = thresholds is not None and bool(np.all(thresholds == thresholds[0]))
        field_.info = {
            **(field_.info or {}),
            "prime_tagger": {
                "tagger": summary.tagger,
                "scoring": tagger.scoring,
                "vocabulary": summary.vocabulary,
                "vocabulary_size": summary.vocabulary_size,
                "top_k": tagger.top_k,
                "threshold": (float(thresholds[0]) if uniform else "per tag")
                if thresholds is not None
                else None,
            },
        }
        field_.save()
    except Exception as e:  # a note only: never fail a finished tagging run
        logger.debug("Could not record the tagger on field '%s': %s", tags_field, e)


def _check_field(samples, name, label_cls, role):
    if not isinstance(name, str) or not name:
        raise TypeError(f"`{role}` must be a field name; got {name!r}")
    field_ = samples.get_field(name)
    if field_ is None:
        return
    ok = isinstance(field_, fo.EmbeddedDocumentField) and issubclass(
        field_.document_type, label_cls
    )
    if not ok:
        raise TypeError(
            f"`{role}`: the field '{name}' exists and is not a {label_cls.__name__} field "
            f"(found {type(field_).__name__}); it is left untouched. Choose another field name"
        )


def _check_vector_field(samples, name):
    field_ = samples.get_field(name)
    if field_ is not None and not isinstance(field_, (fo.VectorField, fo.ArrayField, fo.ListField)):
        raise TypeError(
            f"`embeddings_field`: the field '{name}' exists and does not hold vectors "
            f"(found {type(field_).__name__}); choose another field name"
        )


def _record_failures(summary, failed, ids, filepaths, skip_failures):
    for i, error in failed:
        if not skip_failures:
            raise RuntimeError(f"Could not read image '{filepaths[i]}' (sample {ids[i]}): {error}")
        summary.num_failed += 1
        if len(summary.failures) < _MAX_LISTED_FAILURES:
            summary.failures.append((ids[i], filepaths[i], error))


def _write_batch(dataset, ids, tags, tags_field, embeddings, embeddings_field):
    values = {
        sample_id: fo.Classifications(
            classifications=[fo.Classification(label=t, confidence=c) for t, c in sample_tags]
        )
        for sample_id, sample_tags in zip(ids, tags)
    }
    dataset.set_values(tags_field, values, key_field="id")
    if embeddings_field is not None and embeddings is not None:
        vectors = embeddings.cpu().numpy().astype(np.float32)
        dataset.set_values(embeddings_field, dict(zip(ids, vectors)), key_field="id")
