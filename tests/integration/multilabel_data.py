"""A planted multilabel dataset: ``Classifications`` in and out.

Each sample lists some of :data:`CLASSES` in ``ground_truth`` and carries
image tags in ``prime_tags``, each drawn independently. The models predict
each present class with probability ``HIT`` and each absent one with
probability ``FALSE_ALARM`` (confidences in ``[0.6, 1]``), and also list a
few classes with confidences below :data:`THRESH` (they count only without
a threshold). Planted:

- ``predictions`` (and ``model_v2``) miss ``'person'`` on images tagged
  {night, crowd} (predicted with probability ``PLANTED_HIT``);
- ``predictions`` (and ``model_v2``) predict ``'dog'`` where it is absent
  on images tagged {indoor, rain} (probability ``PLANTED_ALARM``);
- ``model_v1`` has neither: the baseline of a regression.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager

import numpy as np

import fiftyone as fo

CLASSES = ("car", "dog", "person", "tree")
TAGS = ("night", "crowd", "indoor", "rain", "snow", "street", "blurry", "beach")
THRESH = 0.5
HIT, FALSE_ALARM = 0.95, 0.03
PLANTED_HIT, PLANTED_ALARM = 0.15, 0.7
MISS_TAGS = ("crowd", "night")
ALARM_TAGS = ("indoor", "rain")


def _predict(rng, present, tags, planted: bool):
    """A model's Classifications for one sample."""
    out = []
    for c in CLASSES:
        if c in present:
            p = PLANTED_HIT if planted and c == "person" and set(MISS_TAGS) <= tags else HIT
        else:
            p = PLANTED_ALARM if planted and c == "dog" and set(ALARM_TAGS) <= tags else FALSE_ALARM
        if rng.random() < p:
            out.append(fo.Classification(label=c, confidence=float(rng.uniform(0.6, 1.0))))
        elif rng.random() < 0.3:  # a low-confidence guess: not a prediction at THRESH
            out.append(fo.Classification(label=c, confidence=float(rng.uniform(0.05, 0.4))))
    return fo.Classifications(classifications=out)


def multilabel_dataset(make_dataset, n: int = 1200, seed: int = 0):
    """The planted dataset (see the module)."""
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(n):
        present = {c for c in CLASSES if rng.random() < 0.5}
        tags = {t for t in TAGS if rng.random() < 0.3}
        gt = [fo.Classification(label=c) for c in sorted(present)]
        if "person" in present and i % 97 == 0:  # a class listed twice is one unit
            gt.append(fo.Classification(label="person"))
        samples.append(
            fo.Sample(
                filepath=f"/tmp/multilabel/{i}.jpg",
                ground_truth=fo.Classifications(classifications=gt),
                prime_tags=fo.Classifications(
                    classifications=[fo.Classification(label=t) for t in sorted(tags)]
                ),
                predictions=_predict(rng, present, tags, planted=True),
                model_v1=_predict(rng, present, tags, planted=False),
            )
        )
    dataset = make_dataset()
    dataset.add_samples(samples)
    dataset.clone_sample_field("predictions", "model_v2")
    return dataset


@contextmanager
def planted_template(persistent: bool = False):
    """The planted dataset for a test module's fixture (copied per test with
    ``make_dataset(like=...)``), deleted on exit."""
    dataset = multilabel_dataset(lambda: fo.Dataset(f"prime-test-ml-{uuid.uuid4().hex[:8]}"))
    dataset.persistent = persistent
    try:
        yield dataset
    finally:
        dataset.delete()


def find(dataset, **kwargs):
    """``fp.find_failure_modes`` on the planted fields, predictions counted
    at :data:`THRESH` (``kwargs`` override)."""
    import fiftyone_prime as fp

    kwargs = {
        "label_field": "ground_truth",
        "pred_field": "predictions",
        "confidence_thresh": THRESH,
        **kwargs,
    }
    return fp.find_failure_modes(dataset, **kwargs)


def truth(dataset, pred_field="predictions", units="gt", thresh=THRESH):
    """Per (sample id, class) unit: whether it is right, computed here in
    Python from the labels (the oracle of the tests)."""
    out = {}
    ids, gts, preds, tags = dataset.values(
        ["id", "ground_truth", pred_field, "prime_tags.classifications.label"]
    )
    for sid, g, p, t in zip(ids, gts, preds, tags):
        present = {c.label for c in g.classifications}
        predicted = {
            c.label
            for c in p.classifications
            if thresh is None or (c.confidence is not None and c.confidence >= thresh)
        }
        for c in present if units == "gt" else predicted:
            out[(sid, c)] = ((c in predicted) == (c in present), set(t or []))
    return out
