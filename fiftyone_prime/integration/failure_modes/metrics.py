"""CLIP metrics of a run's failure modes: how well each caption describes its images."""

from __future__ import annotations

import dataclasses
import logging
from typing import Optional

import numpy as np

import fiftyone.core.utils as fou

from fiftyone_prime.core.captions import DEFAULT_CAPTION_TEMPLATE, check_template, resolve_captions
from fiftyone_prime.core.measure import TagSetCounter
from fiftyone_prime.core.metrics import score_failure_modes
from fiftyone_prime.models import DEFAULT_MODEL

from ..runs import views as fpv
from ..runs.classes import FailureModeResults
from ..runs.run_guard import writes_run
from ..runs.run_store import load_failure_modes

logger = logging.getLogger(__name__)


@writes_run("metrics")
def compute_failure_mode_metrics(
    samples,
    run_key: str,
    *,
    model=DEFAULT_MODEL,
    pretrained: Optional[str] = "default",
    caption_template: str = DEFAULT_CAPTION_TEMPLATE,
    captions=None,
    embeddings_field: Optional[str] = None,
    num_random: int = 20,
    seed: int = 0,
    batch_size: Optional[int] = None,
    num_workers: Optional[int] = None,
    device: Optional[str] = None,
    precision: str = "auto",
    progress=None,
) -> FailureModeResults:
    """Scores every failure mode of a run with a CLIP model.

    For each failure mode, its caption (e.g. "a photo of a fox with black,
    branch and hang") is compared with the images of its class: the mean and
    standard deviation of the image-caption similarity inside the group, and
    the AUROC of that similarity for telling the group from the class's
    other images, plus the same scores for random same-size groups of the
    class. Every image involved is encoded once (or read from
    ``embeddings_field``), the captions in one text pass; the rest is matrix
    products. Scores are stored in the run results (``mode.metrics``,
    sortable with ``results.sorted("auroc")``) and in each saved view's
    description.

    Args:
        samples: the dataset (or a view of it) holding the run
        run_key: the failure-mode run
        model ("open_clip:ViT-B-32"): as in :func:`fiftyone_prime.compute_tags`
            (``"open_clip:..."``, ``"transformers:..."``, ``"zoo:<name>"``, a
            FiftyOne model that embeds images and prompts, or an encoder object)
        pretrained ("default"): open_clip weights: tag, local path or ``"default"``
        caption_template ("a photo of a {cls} with {tags}"): the caption,
            with ``{cls}`` and ``{tags}``
        captions (None): captions written elsewhere, e.g. by a language model
            or a person: a callable ``failure mode -> text`` (it gets each
            :class:`fiftyone_prime.SavedFailureMode`; ``None`` or ``""`` falls
            back to ``caption_template``), or a ``{saved view name: text}``
            dict (modes without an entry use the template). The caption used
            is stored as ``mode.metrics["caption"]`` and its origin as
            ``mode.metrics["caption_source"]`` (``"template"``,
            ``"callable"`` or ``"dict"``), and shown in the panel and report
        embeddings_field (None): a field of normalized image embeddings made
            by the same model (e.g. by ``compute_tags(embeddings_field=...)``);
            samples without one are encoded
        num_random (20): random groups per failure mode for the baseline
        seed (0): the seed of those draws
        batch_size (None), num_workers (None), device (None), precision ("auto"):
            as in :func:`fiftyone_prime.compute_tags`
        progress (None): a FiftyOne ``progress`` argument

    Returns:
        the updated :class:`fiftyone_prime.FailureModeResults`
    """
    from fiftyone_prime.models import load_encoder

    check_template(caption_template)
    results = load_failure_modes(samples, run_key)
    modes = results.failure_modes
    if not modes:
        logger.info("Run '%s' has no failure modes to score", run_key)
        return results
    resolved = resolve_captions(modes, captions, caption_template)
    config = results.config
    run_view = results.samples
    extra = ["id", "filepath"] + ([embeddings_field] if embeddings_field else [])
    inputs = results.kind.read_inputs(run_view, config, extra_paths=extra)
    classes = sorted({m.group for m in modes}, key=str)
    involved = np.flatnonzero(np.isin(inputs.labels, np.asarray(classes, dtype=object)))

    encoder = load_encoder(model, pretrained=pretrained, device=device, precision=precision)
    embeddings, ok = _image_embeddings(
        encoder, inputs, involved, embeddings_field, batch_size, num_workers, progress
    )
    if len(involved) and not ok[involved].any():
        paths = inputs.extra["filepath"]
        raise ValueError(
            f"None of the {len(involved)} images of the run's classes could be read (e.g. "
            f"'{paths[involved[0]]}'); the metrics compare captions with the images"
        )
    texts = [t for t, _ in resolved]
    text = encoder.encode_texts(texts).cpu().numpy()

    usable = involved[ok[involved]]
    counter = TagSetCounter(inputs.tags[usable], inputs.correct[usable], inputs.labels[usable])
    members = [counter.members(m.group, inputs.query_of(m).columns) for m in modes]
    scores = score_failure_modes(
        embeddings[usable],
        inputs.labels[usable],
        text,
        np.asarray([m.group for m in modes], dtype=object),
        members,
        num_random=num_random,
        rng=np.random.default_rng(seed),
    )
    scored = []
    for mode, score, (text_, source) in zip(modes, scores, resolved):
        metrics = dict(mode.metrics or {})
        if score is not None:
            metrics.update(score.to_dict())
        metrics["caption"] = text_
        metrics["caption_source"] = source
        scored.append(dataclasses.replace(mode, metrics=metrics))

    results._set_failure_modes(scored)
    results.metrics_info = {
        "model": encoder.name,
        "caption_template": caption_template,
        "captions": sorted({source for _, source in resolved}),
        "num_images_encoded": int(ok[involved].sum()),
        "num_images_unreadable": int((~ok[involved]).sum()),
        "num_random": num_random,
    }
    results.save()
    fpv.update_descriptions(
        run_view._root_dataset,
        {mode.view_id: fpv.view_description(mode, run_key) for mode in scored if mode.view_id},
    )
    return results


def _image_embeddings(
    encoder, inputs, involved, embeddings_field, batch_size, num_workers, progress
):
    """Embeddings ``(n_used, D)`` for the involved rows, each image encoded at most once."""
    from fiftyone_prime.models.images import image_loader

    n = inputs.num_used
    ok = np.zeros(n, dtype=bool)
    stored = inputs.extra.get(embeddings_field) if embeddings_field else None
    todo = []
    vectors = {}
    for r in involved:
        v = stored[r] if stored is not None else None
        if v is not None:
            vectors[r] = np.asarray(v, dtype=np.float32)
        else:
            todo.append(r)
    on_gpu = encoder.device.startswith("cuda")
    if todo:
        paths = [inputs.extra["filepath"][r] for r in todo]
        loader = image_loader(
            paths,
            encoder.image_transform,
            encoder.image_size,
            batch_size=batch_size,
            num_workers=num_workers,
            on_gpu=on_gpu,
        )
        with fou.ProgressBar(total=len(todo), progress=progress) as pb:
            for indices, batch, failed in loader:
                if indices:
                    emb = encoder.encode_images(batch).cpu().numpy()
                    for j, e in zip(indices, emb):
                        vectors[todo[j]] = e
                for j, error in failed:
                    logger.warning("Skipping unreadable image '%s': %s", paths[j], error)
                pb.update(len(indices) + len(failed))
    dim = len(next(iter(vectors.values()))) if vectors else 1
    embeddings = np.zeros((n, dim), dtype=np.float32)
    for r, v in vectors.items():
        if v.shape != (dim,):
            raise ValueError(
                f"`embeddings_field` '{embeddings_field}' holds vectors of shape {v.shape}; "
                f"expected ({dim},) like the rest"
            )
        embeddings[r] = v
        ok[r] = True
    return embeddings, ok
