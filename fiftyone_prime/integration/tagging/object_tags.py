"""Tags for objects: geometry tags computed from boxes, written to an object
attribute that ``find_failure_modes(..., tags_field="<field>.detections.<attr>")``
searches.

:func:`compute_object_tags` is resumable and kill-safe like
:func:`fiftyone_prime.compute_tags`: it writes in chunks of whole samples
(each sample's objects in one update), and ``skip_existing=True`` (the
default) leaves alone the samples whose objects all have tags, so a run
killed at any point continues where it stopped.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

import fiftyone.core.labels as fol
import fiftyone.core.utils as fou

from fiftyone_prime.core.arrays import concatenated_ranges

from .. import fiftyone_private as fop
from ..reading.crops import crop_box

logger = logging.getLogger(__name__)

#: The geometry tags :func:`compute_object_tags` may write.
GEOMETRY_TAGS = (
    "small",
    "medium",
    "large",
    "wide",
    "tall",
    "at border",
    "left",
    "right",
    "top",
    "bottom",
    "center",
    "crowded",
    "overlapped",
    "invalid box",
)

#: The only tag of an object whose box is invalid (missing, not four finite
#: numbers, of zero or negative size, or reaching outside the image by more
#: than :data:`_OUTSIDE`): its geometry is unknown, so it gets no other.
INVALID_BOX = "invalid box"

# How far (as a share of the image) a box may reach outside it and still be
# valid (rounding in converters).
_OUTSIDE = 0.01

# COCO's area thresholds in pixels, and their share of a 640x480 image (used
# when an image has no metadata).
_SMALL_PX, _LARGE_PX = 32**2, 96**2
_SMALL_REL, _LARGE_REL = _SMALL_PX / (640 * 480), _LARGE_PX / (640 * 480)

# Most object pairs compared at once when measuring overlaps.
_PAIRS_CHUNK = 4_000_000


@dataclass
class ObjectTaggingSummary:
    """What an object-tagging run did.

    Attributes:
        tags_path: the attribute written (``"<field>.detections.<attr>"``)
        num_objects_tagged: objects tagged by this run
        num_samples_tagged: samples whose objects were written
        num_skipped_existing: samples left alone because all their objects
            had tags
        num_without_metadata: tagged objects whose image had no
            ``metadata.width/height`` (relative sizes were used)
        num_invalid_boxes: objects whose box is invalid, tagged only
            ``"invalid box"``
        num_failed: samples whose image could not be read (crop tagging;
            their objects are left untagged, so a later run retries them)
        num_objects_untagged: objects of read images whose crop the tagger
            could not read (left untagged, so a later run retries them)
        failures: ``(sample id, filepath, error)`` of the first failures
        seconds: the wall time
    """

    tags_path: str
    num_objects_tagged: int = 0
    num_samples_tagged: int = 0
    num_skipped_existing: int = 0
    num_without_metadata: int = 0
    num_invalid_boxes: int = 0
    num_failed: int = 0
    num_objects_untagged: int = 0
    failures: list = field(default_factory=list)
    seconds: float = 0.0


def compute_object_tags(
    samples,
    label_field: str = "ground_truth",
    *,
    tags_attr: str = "prime_tags",
    model: str = "geometry",
    skip_existing: bool = True,
    overwrite: bool = False,
    crowded: int = 5,
    overlap: float = 0.3,
    border: float = 0.005,
    aspect: float = 2.0,
    chunk_size: int = 1000,
    crop_dir: Optional[str] = None,
    progress=None,
    **tagger_kwargs,
) -> ObjectTaggingSummary:
    """Writes geometry tags on every object of a ``Detections`` field.

    Each object gets a list of strings in its ``tags_attr`` attribute, from:

    -   size, COCO-style: ``small`` (< 32x32 px), ``medium``, ``large``
        (> 96x96 px), in pixels when the sample has ``metadata`` (compute it
        with ``samples.compute_metadata()``), otherwise as a share of the
        image equal to those thresholds on a 640x480 image;
    -   aspect ratio: ``wide`` (width/height >= ``aspect``), ``tall``
        (<= 1/``aspect``), in pixels when metadata is present;
    -   ``at border``: the box touches the image border (within ``border``);
    -   position of the box center in the image's thirds: ``left``,
        ``right``, ``top``, ``bottom``, or ``center`` when it is in the
        middle third both ways;
    -   ``crowded``: the image has at least ``crowded`` objects of the same
        label (this one included);
    -   ``overlapped``: at least ``overlap`` of the box's area is covered by
        another object's box (any label), a proxy for occlusion.

    An object whose box is missing or invalid (zero or negative size,
    outside the image) gets the one tag ``"invalid box"`` and is counted.

    With any other ``model`` (``"properties"``, ``"open_clip:ViT-B-32"``, a
    zoo model... anything :func:`fiftyone_prime.compute_tags` accepts), each
    object's crop is tagged instead, through ``compute_tags`` itself (the same
    batched tagger and backends): crops are written once as PNG files under
    ``crop_dir``, tagged in a temporary dataset (whose class field holds the
    object's label, so class names are excluded from the vocabulary as for
    images), and the tags are copied to the objects. Images that cannot be
    read are skipped and counted (their objects stay untagged, so a later
    run retries them), as :func:`fiftyone_prime.compute_tags` does. The
    temporary dataset is deleted on every exit, and so is the crop folder
    unless you gave ``crop_dir`` (then its crops are reused by a later run).

    Examples::

        fp.compute_object_tags(dataset, "ground_truth")
        fp.compute_object_tags(
            dataset, "ground_truth", tags_attr="clip_tags",
            model="open_clip:ViT-B-32", pretrained="/models/vit_b32.bin",
        )
        dataset.evaluate_detections("predictions", eval_key="eval")
        results = fp.find_failure_modes(
            dataset, eval_key="eval", tags_field="ground_truth.detections.prime_tags"
        )

    Args:
        samples: a dataset or view
        label_field ("ground_truth"): a ``Detections`` field
        tags_attr ("prime_tags"): the object attribute to write
        model ("geometry"): ``"geometry"`` (boxes only, no weights) or a
            model of :func:`fiftyone_prime.compute_tags` run on the crops
        skip_existing (True): leave alone samples whose objects all have tags
            (continue an interrupted run)
        overwrite (False): retag every object (``skip_existing`` is ignored)
        crowded (5), overlap (0.3), border (0.005), aspect (2.0): thresholds,
            as described above
        chunk_size (1000): samples written per update
        crop_dir (None): where crops are cached (crop tagging only); by
            default a folder under FiftyOne's default dataset directory,
            removed once the tags are written
        progress (None): a FiftyOne ``progress`` argument
        **tagger_kwargs: passed to :func:`fiftyone_prime.compute_tags`
            (``pretrained``, ``vocabulary``, ``top_k``, ``device``,
            ``batch_size``...), crop tagging only

    Returns:
        an :class:`ObjectTaggingSummary`

    Raises:
        ValueError: a bad threshold, or tagger arguments with ``"geometry"``
        TypeError: ``label_field`` is not a ``Detections`` field
    """
    start = time.perf_counter()
    if not isinstance(tags_attr, str) or not tags_attr.isidentifier():
        raise ValueError(f"`tags_attr` must be an attribute name; got {tags_attr!r}")
    if not (isinstance(crowded, int) and crowded >= 2):
        raise ValueError(f"`crowded` must be a whole number >= 2; got {crowded!r}")
    for name, value in (("overlap", overlap), ("border", border)):
        if not 0 <= value <= 1:
            raise ValueError(f"`{name}` must be in [0, 1]; got {value!r}")
    if aspect <= 1:
        raise ValueError(f"`aspect` must be > 1; got {aspect!r}")
    if model == "geometry" and (tagger_kwargs or crop_dir):
        raise ValueError(
            f"model='geometry' takes no tagger arguments; got {sorted(tagger_kwargs) or 'crop_dir'}"
        )
    field = samples.get_field(label_field)
    doc_type = getattr(field, "document_type", None)
    if doc_type is None or not issubclass(doc_type, fol.Detections):
        found = "nothing" if field is None else type(field).__name__
        raise TypeError(f"`label_field` '{label_field}' must be a Detections field; found {found}")
    _check_tags_attr(tags_attr, label_field)
    list_path = f"{label_field}.detections"
    tags_path = f"{list_path}.{tags_attr}"
    summary = ObjectTaggingSummary(tags_path)
    if model != "geometry":
        _crop_tags(
            samples,
            label_field,
            tags_attr,
            summary,
            model=model,
            skip_existing=skip_existing and not overwrite,
            chunk_size=chunk_size,
            progress=progress,
            crop_dir=crop_dir,
            **tagger_kwargs,
        )
        summary.seconds = time.perf_counter() - start
        return summary

    ids, boxes, labels, existing, widths, heights = samples.values(
        [
            "id",
            f"{list_path}.bounding_box",
            f"{list_path}.label",
            tags_path,
            "metadata.width",
            "metadata.height",
        ]
    )
    todo = []
    for i, dets in enumerate(boxes):
        if not dets:
            continue
        if not overwrite and skip_existing and all(t is not None for t in existing[i]):
            summary.num_skipped_existing += 1
            continue
        todo.append(i)
    with fou.ProgressBar(total=len(todo), progress=progress, iters_str="samples") as pb:
        for s in range(0, len(todo), chunk_size):
            chunk = todo[s : s + chunk_size]
            tags, no_meta, invalid = _geometry_tags(
                [boxes[i] for i in chunk],
                [labels[i] for i in chunk],
                [widths[i] for i in chunk],
                [heights[i] for i in chunk],
                crowded=crowded,
                overlap=overlap,
                border=border,
                aspect=aspect,
            )
            samples.set_values(tags_path, dict(zip([ids[i] for i in chunk], tags)), key_field="id")
            summary.num_samples_tagged += len(chunk)
            summary.num_objects_tagged += sum(len(t) for t in tags)
            summary.num_without_metadata += no_meta
            summary.num_invalid_boxes += invalid
            pb.update(len(chunk))
    summary.seconds = time.perf_counter() - start
    logger.info(
        "Tagged %d objects in %d samples (%d samples already tagged)",
        summary.num_objects_tagged,
        summary.num_samples_tagged,
        summary.num_skipped_existing,
    )
    return summary


def _check_tags_attr(tags_attr: str, label_field: str) -> None:
    """Refuses an attribute the objects need (their id, class, tags, label,
    box...) or a private one, before anything is written: overwriting it
    would lose the objects' own data or make the field unreadable."""
    declared = set(fol.Detection._fields) | {"_id"}
    if tags_attr.startswith("_") or tags_attr in declared:
        raise ValueError(
            f"`tags_attr` {tags_attr!r} is an attribute of every object of "
            f"'{label_field}' (declared by Detection, or private); writing tags "
            f"there would replace the objects' own data. Pick another name, "
            f"such as 'prime_tags'"
        )


def valid_boxes(boxes) -> tuple[np.ndarray, np.ndarray]:
    """The ``(n, 4)`` array of relative boxes (zeros where invalid) and
    whether each is valid: four finite numbers, positive width and height,
    inside the image (within :data:`_OUTSIDE`)."""
    n = len(boxes)
    box = np.zeros((n, 4))
    ok = np.zeros(n, bool)
    for i, b in enumerate(boxes):
        try:
            values = np.asarray(b, dtype=float)
        except (TypeError, ValueError):
            continue
        if values.shape == (4,) and np.isfinite(values).all():
            box[i] = values
            ok[i] = True
    x, y, w, h = box.T
    ok &= (w > 0) & (h > 0)
    ok &= (x >= -_OUTSIDE) & (y >= -_OUTSIDE)
    ok &= (x + w <= 1 + _OUTSIDE) & (y + h <= 1 + _OUTSIDE)
    box[~ok] = 0
    return box, ok


def _geometry_tags(boxes, labels, widths, heights, *, crowded, overlap, border, aspect):
    """Per sample, per object, its geometry tags; how many objects had no
    metadata; how many had an invalid box."""
    counts = np.array([len(b) for b in boxes], dtype=np.int64)
    n = int(counts.sum())
    box, valid = valid_boxes([b for dets in boxes for b in dets])
    sample_of = np.repeat(np.arange(len(boxes)), counts)
    w_img = np.array([w or 0 for w in widths], float)[sample_of]
    h_img = np.array([h or 0 for h in heights], float)[sample_of]
    has_meta = (w_img > 0) & (h_img > 0)
    x, y, w, h = box.T
    rel_area = w * h
    px_area = rel_area * w_img * h_img
    small = np.where(has_meta, px_area < _SMALL_PX, rel_area < _SMALL_REL)
    large = np.where(has_meta, px_area > _LARGE_PX, rel_area > _LARGE_REL)
    scale = np.where(has_meta, w_img / np.where(h_img > 0, h_img, 1), 1.0)
    ratio = np.divide(w * scale, h, out=np.full(n, 1.0), where=h > 0)
    cx, cy = x + w / 2, y + h / 2
    at_border = (x <= border) | (y <= border) | (x + w >= 1 - border) | (y + h >= 1 - border)
    left, right = cx < 1 / 3, cx > 2 / 3
    top, bottom = cy < 1 / 3, cy > 2 / 3

    flat_labels = np.array([str(lb) for dets in labels for lb in dets], dtype=object)
    same = _same_label_counts(sample_of, flat_labels)
    covered = _max_covered(box, sample_of, counts)

    columns = [
        ("small", small),
        ("medium", ~small & ~large),
        ("large", large),
        ("wide", ratio >= aspect),
        ("tall", ratio <= 1 / aspect),
        ("at border", at_border),
        ("left", left),
        ("right", right),
        ("top", top),
        ("bottom", bottom),
        ("center", ~left & ~right & ~top & ~bottom),
        ("crowded", same >= crowded),
        ("overlapped", covered >= overlap),
    ]
    flags = np.stack([c for _, c in columns], axis=1)
    names = [name for name, _ in columns]
    per_object = [
        [names[j] for j in np.flatnonzero(row)] if ok else [INVALID_BOX]
        for row, ok in zip(flags, valid)
    ]
    out, k = [], 0
    for c in counts:
        out.append(per_object[k : k + c])
        k += c
    return out, int((~has_meta & valid).sum()), int((~valid).sum())


def _same_label_counts(sample_of, labels) -> np.ndarray:
    """Per object, how many objects of its image share its label."""
    if len(labels) == 0:
        return np.zeros(0, np.int64)
    _, codes = np.unique(labels, return_inverse=True)
    key = sample_of * (codes.max() + 1) + codes
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    return counts[inverse]


def _max_covered(box, sample_of, counts) -> np.ndarray:
    """Per object, the largest share of its box covered by another box of
    its image (all pairs of an image, in bounded chunks)."""
    n = len(box)
    covered = np.zeros(n)
    if n == 0:
        return covered
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    first = starts[sample_of]  # per object, its image's first object
    last = first + counts[sample_of]
    per_object_pairs = counts[sample_of]
    bounds = np.concatenate([[0], np.cumsum(per_object_pairs)])
    lo = 0
    while lo < n:
        hi = int(np.searchsorted(bounds, bounds[lo] + _PAIRS_CHUNK, side="right")) - 1
        hi = max(hi, lo + 1)
        i = np.repeat(np.arange(lo, hi), per_object_pairs[lo:hi])
        j = concatenated_ranges(first[lo:hi], last[lo:hi])
        keep = i != j
        i, j = i[keep], j[keep]
        ix = np.clip(
            np.minimum(box[i, 0] + box[i, 2], box[j, 0] + box[j, 2])
            - np.maximum(box[i, 0], box[j, 0]),
            0,
            None,
        )
        iy = np.clip(
            np.minimum(box[i, 1] + box[i, 3], box[j, 1] + box[j, 3])
            - np.maximum(box[i, 1], box[j, 1]),
            0,
            None,
        )
        area = box[i, 2] * box[i, 3]
        share = np.divide(ix * iy, area, out=np.zeros(len(i)), where=area > 0)
        np.maximum.at(covered, i, share)
        lo = hi
    return covered


# ------------------------------------------------------------------ crops


def _crop_tags(
    samples,
    label_field,
    tags_attr,
    summary,
    *,
    model,
    skip_existing,
    chunk_size,
    progress,
    crop_dir,
    **tagger_kwargs,
):
    """Tags each object's crop with :func:`fiftyone_prime.compute_tags`."""
    import fiftyone as fo

    list_path = f"{label_field}.detections"
    root = samples._root_dataset
    key = hashlib.sha1(f"{fop.dataset_id(root)}:{label_field}:{tags_attr}".encode()).hexdigest()[
        :12
    ]
    name = f"prime-object-crops-{key}-{uuid.uuid4().hex[:8]}"  # one per run
    own_dir = crop_dir is None
    crop_dir = crop_dir or os.path.join(fo.config.default_dataset_dir, name)

    ids, paths, objects = samples.values(["id", "filepath", label_field])
    todo_samples = []
    for sample_id, dets in zip(ids, objects):
        dets = (dets.detections if dets is not None else None) or []
        if not dets:
            continue
        if skip_existing and all(d.get_attribute_value(tags_attr, None) is not None for d in dets):
            summary.num_skipped_existing += 1
            continue
        todo_samples.append(sample_id)
    if not todo_samples:
        return
    crops = fo.Dataset(name)  # not persistent: FiftyOne removes it if this process dies
    try:
        os.makedirs(crop_dir, exist_ok=True)
        _tag_crops(
            crops,
            samples,
            summary,
            ids=ids,
            paths=paths,
            objects=objects,
            todo_samples=todo_samples,
            tags_path=f"{list_path}.{tags_attr}",
            crop_dir=crop_dir,
            model=model,
            chunk_size=chunk_size,
            progress=progress,
            tagger_kwargs=tagger_kwargs,
        )
    finally:  # nothing is left behind, whatever happened
        crops.delete()
        if own_dir:
            shutil.rmtree(crop_dir, ignore_errors=True)


def _tag_crops(
    crops,
    samples,
    summary,
    *,
    ids,
    paths,
    objects,
    todo_samples,
    tags_path,
    crop_dir,
    model,
    chunk_size,
    progress,
    tagger_kwargs,
):
    """Writes the crops of the objects to tag into ``crops``, tags them and
    copies the tags to the objects; unreadable images are skipped and
    counted, invalid boxes tagged ``"invalid box"``."""
    from .images import _MAX_LISTED_FAILURES, compute_tags

    todo = set(todo_samples)
    new, done = [], []
    for sample_id, path, dets in zip(ids, paths, objects):
        if sample_id not in todo:
            continue
        try:
            new.extend(_write_crops(sample_id, path, dets.detections, crop_dir))
        except (OSError, ValueError, SyntaxError) as error:  # PIL's errors for bad files
            summary.num_failed += 1
            if len(summary.failures) < _MAX_LISTED_FAILURES:
                summary.failures.append((sample_id, path, str(error)))
            continue
        done.append(sample_id)
    if summary.num_failed:
        logger.warning(
            "Skipped %d samples whose image could not be read (e.g. %s); their objects "
            "stay untagged",
            summary.num_failed,
            summary.failures[0][1],
        )
    crop_summary = None
    if new:
        crops.add_samples(new, progress=False)
        crop_summary = compute_tags(
            crops,
            model=model,
            tags_field="prime_tags",
            label_field="ground_truth",
            progress=progress,
            **tagger_kwargs,
        )
    tags_of = (
        dict(zip(crops.values("object_id"), crops.values("prime_tags.classifications.label")))
        if new
        else {}
    )
    if crop_summary is not None and crop_summary.num_failed:
        logger.warning(
            "The tagger could not read %d crops (e.g. %s: %s); their objects stay untagged, "
            "so a later run retries them",
            crop_summary.num_failed,
            crop_summary.failures[0][1],
            crop_summary.failures[0][2],
        )
    per_sample = dict(zip(ids, objects))
    for s in range(0, len(done), chunk_size):
        chunk = done[s : s + chunk_size]
        values = {}
        for sample_id in chunk:
            dets = per_sample[sample_id].detections
            _, valid = valid_boxes([d.bounding_box for d in dets])
            values[sample_id] = row = [
                _tags_of_crop(tags_of, d.id) if ok else [INVALID_BOX] for d, ok in zip(dets, valid)
            ]
            summary.num_invalid_boxes += int((~valid).sum())
            untagged = sum(tags is None for tags in row)
            summary.num_objects_untagged += untagged
            summary.num_objects_tagged += len(dets) - untagged
        samples.set_values(tags_path, values, key_field="id")
        summary.num_samples_tagged += len(chunk)


def _tags_of_crop(tags_of: dict, object_id: str):
    """The tags of an object's crop: a list (maybe empty: the tagger kept no
    tag), or ``None`` where the tagger could not read the crop, so the object
    stays untagged and a later run (``skip_existing``) retries it."""
    tags = tags_of.get(object_id)
    return None if tags is None else list(tags)


def _write_crops(sample_id, path, dets, crop_dir) -> list:
    """Writes the crops of one image (atomically, once) and returns their samples."""
    from PIL import Image

    import fiftyone as fo

    out = []
    with Image.open(path) as image:
        image = image.convert("RGB")
        width, height = image.size
        _, valid = valid_boxes([d.bounding_box for d in dets])
        for det, ok in zip(dets, valid):
            if not ok:
                continue  # tagged "invalid box", never cropped
            box = crop_box(det.bounding_box, width, height)
            target = os.path.join(crop_dir, f"{det.id}.png")
            if not os.path.exists(target):
                tmp = target + ".tmp.png"
                image.crop(box).save(tmp)
                os.replace(tmp, target)
            out.append(
                fo.Sample(
                    filepath=target,
                    object_id=det.id,
                    sample_id=sample_id,
                    ground_truth=fo.Classification(label=det.label),
                )
            )
    return out
