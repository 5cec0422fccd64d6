"""Generated detection datasets with object-level failure modes planted.

The planted blocks of :mod:`tests.integration.planted` are reused with
objects as the units: each ``(count, class, tags, correct)`` block becomes
``count`` objects of that class carrying the tags as an attribute.

-   :func:`missed_objects`: ground-truth objects; a "correct" object is found
    by the simulated detector (a prediction on the same box and class), a
    wrong one is missed. ``units="gt"`` must find :data:`PLANTED_MODES`.
-   :func:`false_positives`: predicted objects; a "correct" one sits on a
    ground-truth object of its class, a wrong one on nothing (a false
    positive). ``units="pred"`` must find :data:`PLANTED_MODES`.

Objects are laid out side by side (no two overlap), at most
:data:`PER_IMAGE` per image and one block per image, so the same tags can
also be given at image level (``image_tags``) and every object inherits
them. The tag ``blur`` also goes to an image-level field ``image_blur``
(and only there), for searches over object and image tags together.
"""

import fiftyone as fo

from tests.integration.planted import PLANTED_BLOCKS, PLANTED_MODES, template  # noqa: F401

PER_IMAGE = 5


def _box(k):
    return [0.02 + 0.19 * k, 0.3, 0.15, 0.3]


def _chunks(count):
    for start in range(0, count, PER_IMAGE):
        yield min(PER_IMAGE, count - start)


def planted_object_samples(units="gt", blocks=PLANTED_BLOCKS, crowd=True):
    """Samples of a detection dataset whose ``units`` carry the planted blocks.

    Attributes of each planted object: ``attrs`` (list of strings),
    ``attrs_no_blur`` (the tags except ``blur``), ``weather`` (its first tag,
    a string) and ``snowy`` (a bool, True when it carries ``snow``).
    """
    samples = []
    i = 0
    for count, label, tags, correct in blocks:
        for n in _chunks(count):
            gts, preds = [], []
            for k in range(n):
                box = _box(k)
                planted = fo.Detection(
                    label=label,
                    bounding_box=box,
                    attrs=list(tags),
                    attrs_no_blur=[t for t in tags if t != "blur"],
                    weather=tags[0] if tags else None,
                    snowy="snow" in tags,
                )
                if units == "gt":
                    gts.append(planted)
                    if correct:
                        preds.append(fo.Detection(label=label, bounding_box=box, confidence=0.9))
                else:
                    planted.confidence = 0.9
                    preds.append(planted)
                    if correct:
                        gts.append(fo.Detection(label=label, bounding_box=box))
            samples.append(
                fo.Sample(
                    filepath=f"/nonexistent/det{i:06d}.jpg",
                    ground_truth=fo.Detections(detections=gts),
                    predictions=fo.Detections(detections=preds),
                    image_tags=list(tags),
                    image_blur=["blur"] if "blur" in tags else None,
                )
            )
            i += 1
    if crowd and units == "gt":
        # An unmatched crowd region: FiftyOne marks it "fn"; COCO never counts it.
        samples.append(
            fo.Sample(
                filepath=f"/nonexistent/det{i:06d}.jpg",
                ground_truth=fo.Detections(
                    detections=[
                        fo.Detection(
                            label="cat",
                            bounding_box=[0.1, 0.1, 0.8, 0.8],
                            attrs=["snow", "night"],
                            iscrowd=1,
                        )
                    ]
                ),
                predictions=fo.Detections(detections=[]),
                image_tags=None,
                image_blur=None,
            )
        )
    return samples


def add_evaluated(dataset, units="gt", eval_key="eval", **kwargs):
    """Adds the planted objects to ``dataset`` and evaluates them with
    FiftyOne's ``evaluate_detections`` (COCO-style, IoU 0.5)."""
    dataset.add_samples(planted_object_samples(units, **kwargs))
    dataset.evaluate_detections("predictions", gt_field="ground_truth", eval_key=eval_key)
    return dataset


def evaluated(make_dataset, units="gt", eval_key="eval", persistent=False):
    """A new dataset like :func:`add_evaluated` gives, copied in the database
    from one built and evaluated once per process (the evaluation is most of
    the cost)."""
    built = template(("evaluated", units, eval_key), lambda d: add_evaluated(d, units, eval_key))
    return make_dataset(persistent=persistent, like=built)
