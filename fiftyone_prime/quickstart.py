"""The quickstart: the whole method on real images, offline, in a few minutes.

Builds a persistent FiftyOne dataset from the Fashion-MNIST test set (shipped
with the package, MIT license), trains a small CNN with two-fold
cross-fitting so every image gets an honest out-of-sample prediction, tags
the images (CLIP when weights are given or cached, else the weight-free image
properties), finds the failure modes on one fold (saving the views, with CLIP
metrics when a CLIP model is available), confirms them on the other fold with
:func:`fiftyone_prime.validate_failure_modes`, and writes the HTML report
(its held-out columns filled).
"""

from __future__ import annotations

import gzip
import logging
import os
import time
from collections.abc import Callable
from importlib import resources
from typing import Optional

import numpy as np

from fiftyone_prime.core.defaults import LABEL_FIELD, PRED_FIELD, TAGS_FIELD
from fiftyone_prime.core.types import DEFAULT_PARAMS

logger = logging.getLogger(__name__)

CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
DATASET_NAME = "prime-quickstart"
_MARKER = "fiftyone-prime quickstart"
_OPEN_CLIP_CACHE = ("laion/CLIP-ViT-B-32-laion2B-s34B-b79K", "open_clip_pytorch_model.bin")


def load_fashion_mnist(max_samples: Optional[int] = None):
    """Returns ``(images (N, 28, 28) uint8, labels (N,) int)`` of the test set."""
    root = resources.files("fiftyone_prime").joinpath("data/fashion_mnist")
    with gzip.open(root.joinpath("t10k-images-idx3-ubyte.gz").open("rb")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(root.joinpath("t10k-labels-idx1-ubyte.gz").open("rb")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    if max_samples is not None:
        rng = np.random.default_rng(0)
        keep = np.sort(rng.choice(len(images), min(max_samples, len(images)), replace=False))
        images, labels = images[keep], labels[keep]
    return images, labels


def fold_ids(n: int, seed: int = 0) -> np.ndarray:
    """The two-fold split of :func:`cross_fitted_predictions`: 0 or 1 per image."""
    return np.random.default_rng(seed).permutation(n) % 2


def cross_fitted_predictions(images, labels, *, epochs: int = 4, seed: int = 0):
    """Trains a small CNN on each half and predicts the other half.

    Returns:
        ``(predicted class ids, confidences)``; every prediction is made by a
        model that never saw the image
    """
    import torch
    from torch import nn

    torch.manual_seed(seed)
    x = torch.from_numpy(np.array(images, dtype=np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(labels)
    fold = fold_ids(len(x), seed)
    preds = np.zeros(len(x), dtype=np.int64)
    conf = np.zeros(len(x), dtype=np.float32)
    for k in (0, 1):
        train, test = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        model = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * 7 * 7, 10),
        )
        opt = torch.optim.Adam(model.parameters(), lr=2e-3)
        for _ in range(epochs):
            order = torch.from_numpy(np.random.default_rng(seed + k).permutation(train))
            for start in range(0, len(order), 128):
                idx = order[start : start + 128]
                opt.zero_grad()
                loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
                loss.backward()
                opt.step()
        with torch.no_grad():
            probs = torch.softmax(model(x[test]), dim=1)
        conf[test], preds[test] = (t.numpy() for t in probs.max(dim=1))
    return preds, conf


def clip_available(checkpoint: Optional[str]) -> Optional[str]:
    """The open_clip weights to use: a given checkpoint, the cached default, or None."""
    if checkpoint:
        if not os.path.exists(os.path.expanduser(checkpoint)):
            raise ValueError(f"CLIP checkpoint '{checkpoint}' does not exist")
        return os.path.expanduser(checkpoint)
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(*_OPEN_CLIP_CACHE)
        return "default" if isinstance(cached, str) else None
    except Exception:
        return None


def build_dataset(name, images, labels, preds, conf, image_dir, folds=None):
    """Writes the images as PNGs and creates the persistent dataset (with each
    image's cross-fitting ``fold`` when given)."""
    from PIL import Image

    import fiftyone as fo

    if fo.dataset_exists(name):
        existing = fo.load_dataset(name)
        if existing.info.get("created_by") != _MARKER:
            raise ValueError(
                f"A dataset named '{name}' exists and was not made by the quickstart; it is left "
                "alone. Pass another dataset name"
            )
        existing.delete()
    os.makedirs(image_dir, exist_ok=True)
    paths = []
    for i, img in enumerate(images):
        path = os.path.join(image_dir, f"{i:05d}.png")
        Image.fromarray(img).save(path)
        paths.append(path)
    dataset = fo.Dataset(name)
    dataset.persistent = True
    dataset.info["created_by"] = _MARKER
    dataset.save()
    dataset.add_samples([fo.Sample(filepath=p) for p in paths], progress=False)
    dataset.set_values(LABEL_FIELD, [fo.Classification(label=CLASSES[c]) for c in labels])
    dataset.set_values(
        PRED_FIELD,
        [fo.Classification(label=CLASSES[c], confidence=float(s)) for c, s in zip(preds, conf)],
    )
    if folds is not None:
        dataset.set_values("fold", [int(f) for f in folds])
    return dataset


def _validate_max_samples(max_samples) -> None:
    """Refuses a subset size that is not a whole number >= 2, before anything is made."""
    if max_samples is None:
        return
    if isinstance(max_samples, bool) or not isinstance(max_samples, int) or max_samples < 2:
        raise ValueError(
            "`max_samples` must be a whole number >= 2 (two-fold cross-fitting needs an image "
            f"per fold), or None for all 10,000; got {max_samples!r}"
        )


def run_quickstart(
    *,
    max_samples: Optional[int] = None,
    dataset_name: str = DATASET_NAME,
    image_dir: Optional[str] = None,
    report_dir: str = "prime_report",
    clip_checkpoint: Optional[str] = None,
    clip_model: str = "ViT-B-32",
    min_size: int = DEFAULT_PARAMS.min_size,
    say: Callable[[str], None] = print,
    progress=None,
) -> dict:
    """Runs the whole pipeline on Fashion-MNIST; returns what it made.

    Args:
        max_samples (None): use a random subset of this size, at least 2 (all
            10,000 by default)
        dataset_name ("prime-quickstart"): the persistent dataset to (re)create
        image_dir (None): where to write the PNGs; defaults to a folder in
            FiftyOne's default dataset directory
        report_dir ("prime_report"): the HTML report folder
        clip_checkpoint (None): a local open_clip checkpoint of ``clip_model``
        clip_model ("ViT-B-32"): the open_clip architecture of that checkpoint
        min_size (30): the search's smallest failure mode
        say (print): where progress lines go
        progress (None): a FiftyOne ``progress`` argument for long steps

    Returns:
        a dict with the dataset name, run key, tagger, counts, report path and timings
    """
    _validate_max_samples(max_samples)
    import fiftyone as fo
    from fiftyone import ViewField as F

    from fiftyone_prime.integration.failure_modes.holdout import validate_failure_modes
    from fiftyone_prime.integration.pipeline import EMBEDDINGS_FIELD, run_pipeline
    from fiftyone_prime.integration.reports.report import export_report
    from fiftyone_prime.integration.runs.run_store import load_failure_modes
    from fiftyone_prime.integration.tagging.images import compute_tags

    timings = {}
    start = time.perf_counter()

    def step(name):
        timings[name] = round(time.perf_counter() - start - sum(timings.values()), 2)

    images, labels = load_fashion_mnist(max_samples)
    say(f"[1/7] Loaded {len(images):,} Fashion-MNIST test images (MIT license)")
    preds, conf = cross_fitted_predictions(images, labels)
    folds = fold_ids(len(images))
    step("classifier")
    say(
        f"[2/7] Trained a small CNN with 2-fold cross-fitting: accuracy "
        f"{(preds == labels).mean():.1%} on images it never saw ({timings['classifier']}s)"
    )
    image_dir = image_dir or os.path.join(fo.config.default_dataset_dir, dataset_name)
    dataset = build_dataset(dataset_name, images, labels, preds, conf, image_dir, folds)
    step("dataset")
    say(f"[3/7] Created the persistent FiftyOne dataset '{dataset_name}' ({timings['dataset']}s)")

    weights = clip_available(clip_checkpoint)
    model = f"open_clip:{clip_model}" if weights else "properties"
    tags_field = TAGS_FIELD if weights else "prime_properties"
    embeddings = EMBEDDINGS_FIELD if weights else None

    # Every image is tagged once; the search sees fold 0 only, and fold 1 is
    # the held-out data its failure modes are confirmed on.
    tagging = compute_tags(
        dataset,
        model=model,
        pretrained=weights,
        tags_field=tags_field,
        embeddings_field=embeddings,
        progress=progress,
    )
    step("tagging")
    say(
        f"[4/7] Tagged {tagging.num_tagged:,} images with {tagging.tagger}"
        + (
            ""
            if weights
            else " (no CLIP weights given or cached: the weight-free "
            "image-property tagger; pass --clip-checkpoint FILE for CLIP tags)"
        )
        + f" ({timings['tagging']}s)"
    )
    find_fold, confirm_fold = dataset.match(F("fold") == 0), dataset.match(F("fold") == 1)

    def on_step(name, value):
        if name == "search":
            step("search")
            say(
                f"[5/7] Found {len(value)} failure modes on fold 1 of 2 "
                f"({len(find_fold):,} images) and saved them as views ({timings['search']}s)"
            )

    outcome = run_pipeline(
        find_fold,
        model=model,
        pretrained=weights,
        tags_field=tags_field,
        run_key="quickstart",
        params=DEFAULT_PARAMS.replace(min_size=min_size),
        overwrite=True,
        report_dir=None,
        progress=progress,
        on_step=on_step,
    )
    results = outcome.results
    validation = validate_failure_modes(results, confirm_fold)
    step("confirm")
    say(
        f"[6/7] Confirmed {validation['num_confirmed']} of {len(validation['modes'])} failure "
        f"modes on fold 2 ({validation['holdout_samples']:,} held-out images, "
        f"{validation['procedure']}) ({timings['confirm']}s)"
    )
    report = export_report(dataset, "quickstart", report_dir, overwrite=True)
    step("report")
    say(f"[7/7] Wrote the report to {report} ({timings['report']}s)")
    results = load_failure_modes(dataset, "quickstart")
    return {
        "dataset": dataset_name,
        "run_key": "quickstart",
        "tagger": tagging.tagger,
        "accuracy": float((preds == labels).mean()),
        "num_samples": len(images),
        "num_failure_modes": len(results),
        "num_confirmed": validation["num_confirmed"],
        "report": report,
        "timings": timings,
        "summary": results.summary(),
        "clip_metrics": bool(weights),
    }
