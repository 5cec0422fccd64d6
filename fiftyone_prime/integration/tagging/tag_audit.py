"""How good are the tags? Tags measured against labels a dataset already has.

:func:`evaluate_tags` compares a tags field (written by
:func:`fiftyone_prime.compute_tags` or any ``Classifications`` field) with a
reference field: image-level labels (``Classification``,
``Classifications``) or the classes of a detection field present in an image
(``Detections``). Per tag that names a reference class it reports precision,
recall and support, and suggests the least confidence at which the tag
reaches a target precision. The audit is stored as a FiftyOne run
(:class:`TagAuditRun`), listed, loaded, renamed and deleted like brain runs.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from statistics import NormalDist
from typing import ClassVar, Optional, Union

import numpy as np

import fiftyone as fo
import fiftyone.core.runs as focr

from fiftyone_prime.core import vocab as fpvocab
from fiftyone_prime.core.defaults import LABEL_FIELD, TAGS_FIELD

from ..reading import fields as fpf
from ..runs.run_kinds import RunKind, register
from ..runs.run_results import PrimeRun, PrimeRunResults, _count, _list, _same
from ..runs.run_store import list_runs, load_run, start_run

logger = logging.getLogger(__name__)

#: The ``method`` of tag-audit runs.
METHOD = "prime_tag_audit"

#: The run key an audit is stored under by default.
AUDIT_KEY = "prime_tag_audit"

#: The precision a suggested threshold aims for by default.
DEFAULT_TARGET_PRECISION = 0.9

#: The one-sided confidence of the lower bound a suggested threshold's
#: precision must clear.
DEFAULT_CONFIDENCE = 0.95

#: Where each kind of reference field keeps its labels.
_LABEL_PATHS = {
    fo.Classification: "{}.label",
    fo.Classifications: "{}.classifications.label",
    fo.Detections: "{}.detections.label",
}

#: The columns of :meth:`TagAuditResults.table`, in order, with labels.
COLUMNS = (
    ("tag", "Tag"),
    ("classes", "Reference classes"),
    ("support", "Support"),
    ("num_tagged", "Tagged"),
    ("true_positives", "TP"),
    ("precision", "Precision"),
    ("recall", "Recall"),
    ("suggested_threshold", "Threshold"),
    ("precision_at_threshold", "Precision @thr"),
    ("recall_at_threshold", "Recall @thr"),
)


def wilson_lower_bound(successes: np.ndarray, trials: np.ndarray, confidence: float) -> np.ndarray:
    """One-sided Wilson score lower bounds of proportions (0 where no trials)."""
    z = NormalDist().inv_cdf(confidence)
    n = np.asarray(trials, dtype=np.float64)
    p = np.divide(successes, n, out=np.zeros_like(n), where=n > 0)
    denom = 1.0 + z * z / np.maximum(n, 1)
    centre = p + z * z / (2 * np.maximum(n, 1))
    margin = z * np.sqrt(p * (1 - p) / np.maximum(n, 1) + z * z / (4 * np.maximum(n, 1) ** 2))
    return np.where(n > 0, (centre - margin) / denom, 0.0)


def suggest_threshold(
    confidences: np.ndarray,
    correct: np.ndarray,
    support: int,
    target_precision: float,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Optional[dict]:
    """The least confidence whose tagged set reaches a precision.

    Among the images carrying the tag (their ``confidences``, and whether the
    reference agrees, ``correct``), every distinct confidence ``c`` defines
    the set kept by the threshold ``c`` (confidence ``>= c``). The suggestion
    is the lowest ``c`` (the most recall) whose set's precision has a
    one-sided Wilson lower bound at ``confidence`` of at least
    ``target_precision``, so that the precision holds on new images, not just
    on the audited ones.

    Returns:
        ``{"threshold", "precision", "recall", "precision_lower_bound",
        "num_kept"}`` or ``None`` when no threshold reaches the target
    """
    if len(confidences) == 0:
        return None
    order = np.argsort(-confidences, kind="stable")
    conf, hit = confidences[order], correct[order].astype(np.int64)
    tp, n = np.cumsum(hit), np.arange(1, len(conf) + 1)
    last = np.r_[conf[1:] != conf[:-1], True]  # the end of each run of equal confidences
    tp, n, conf = tp[last], n[last], conf[last]
    lower = wilson_lower_bound(tp, n, confidence)
    feasible = np.flatnonzero(lower >= target_precision - 1e-12)
    if not len(feasible):
        return None
    i = feasible[-1]  # the lowest confidence, the largest set
    return {
        "threshold": float(conf[i]),
        "precision": float(tp[i] / n[i]),
        "recall": float(tp[i] / support) if support else None,
        "precision_lower_bound": float(lower[i]),
        "num_kept": int(n[i]),
    }


class TagAuditRunConfig(focr.RunConfig):
    """Configuration of a tag audit.

    Args:
        tags_field: the ``Classifications`` field of tags
        reference_field: the field of reference labels
        reference_type: ``"Classification"``, ``"Classifications"`` or
            ``"Detections"``
        target_precision: the precision the suggested thresholds aim for
        confidence: the one-sided confidence of the precision's lower bound
        mapping: explicit ``{tag: [classes]}`` matches, if any
        **kwargs: other JSON-serializable parameters
    """

    def __init__(
        self,
        tags_field=None,
        reference_field=None,
        reference_type=None,
        target_precision=DEFAULT_TARGET_PRECISION,
        confidence=DEFAULT_CONFIDENCE,
        mapping=None,
        **kwargs,
    ):
        kwargs.pop("method", None)
        super().__init__(method=METHOD, **kwargs)
        self.tags_field = tags_field
        self.reference_field = reference_field
        self.reference_type = reference_type
        self.target_precision = target_precision
        self.confidence = confidence
        self.mapping = mapping


class TagAuditRun(PrimeRun):
    """A tag audit; it creates nothing but its results."""

    def get_fields(self, samples, key):
        return [self.config.tags_field, self.config.reference_field]


class TagAuditResults(PrimeRunResults):
    """Per-tag precision, recall, support and suggested thresholds.

    Args:
        samples: the audited view
        config: the :class:`TagAuditRunConfig`
        key: the run key
        rows: one dict per evaluated tag (see :data:`COLUMNS`), sorted by
            support (descending), then tag
        num_samples: samples in the view
        num_evaluated: samples with both tags and a reference
        num_untagged: samples left out for lacking tags
        num_without_reference: samples left out for lacking a reference
        num_tags_seen: distinct tags in the tags field
        unmatched_tags: tags naming no reference class (not evaluated), up
            to 100, most frequent first
        classes_without_tag: reference classes no tag names
        tagger (None): how the tags were made, as noted on the field by
            ``compute_tags`` (scoring, vocabulary, threshold)
        backend (None): a :class:`TagAuditRun`
    """

    _FIELDS: ClassVar[dict] = {
        "rows": lambda rows: [dict(r) for r in rows or []],
        "num_samples": _count,
        "num_evaluated": _count,
        "num_untagged": _count,
        "num_without_reference": _count,
        "num_tags_seen": _count,
        "unmatched_tags": _list,
        "classes_without_tag": _list,
        "tagger": _same,
    }

    def __len__(self) -> int:
        return len(self.rows)

    def table(self) -> list[dict]:
        """The per-tag rows, as dicts keyed by the names of :data:`COLUMNS`
        (for a report or a panel's table; ``None`` where undefined)."""
        return [{k: r.get(k) for k, _ in COLUMNS} for r in self.rows]

    def thresholds(self, min_support: int = 1) -> dict[str, float]:
        """The suggested thresholds, as ``{tag: threshold}`` for
        ``compute_tags(threshold=...)``, of tags with at least
        ``min_support`` reference images and a suggestion."""
        return {
            r["tag"]: r["suggested_threshold"]
            for r in self.rows
            if r["suggested_threshold"] is not None and r["support"] >= min_support
        }

    def summary(self) -> str:
        """A plain-text table of the audit."""
        cfg = self.config
        lines = [
            f"Tag audit '{self.key}': '{cfg.tags_field}' against '{cfg.reference_field}' "
            f"({cfg.reference_type}) on {self.num_evaluated} of {self.num_samples} samples; "
            f"{len(self.rows)} tags name a reference class ({self.num_tags_seen} tags seen)",
            f"thresholds suggested for precision >= {cfg.target_precision:g} "
            f"({cfg.confidence:.0%} one-sided lower bound)",
        ]
        if self.num_untagged or self.num_without_reference:
            lines.append(
                f"left out: {self.num_untagged} without tags, "
                f"{self.num_without_reference} without a reference"
            )
        if self.classes_without_tag:
            shown = ", ".join(self.classes_without_tag[:10])
            more = len(self.classes_without_tag) - 10
            lines.append(
                f"reference classes no tag names: {shown}" + (f" (+{more})" if more > 0 else "")
            )
        widths = [max(len(label), 8) for _, label in COLUMNS]
        lines.append("  ".join(label.ljust(w) for (_, label), w in zip(COLUMNS, widths)))
        for row in self.table():
            cells = [_cell(row[k]) for k, _ in COLUMNS]
            lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths)))
        return "\n".join(lines)

    def get_meta(self):
        return {"num_tags": len(self.rows), "num_evaluated": self.num_evaluated}


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, (list, tuple)):
        return ",".join(value)
    return str(value)


def evaluate_tags(
    samples,
    tags_field: str = TAGS_FIELD,
    reference_field: str = LABEL_FIELD,
    *,
    audit_key: Optional[str] = AUDIT_KEY,
    target_precision: float = DEFAULT_TARGET_PRECISION,
    confidence: float = DEFAULT_CONFIDENCE,
    mapping: Optional[Mapping[str, Union[str, Sequence[str]]]] = None,
    vocabulary=None,
    overwrite: bool = True,
) -> TagAuditResults:
    """Measures tags against labels the dataset already has.

    A tag is matched to the reference classes it names: equal up to case,
    underscores, hyphens and simple plurals, directly or through one of its
    aliases in ``vocabulary`` (the shipped ``"large"`` vocabulary by
    default: the tag ``couch`` matches the class ``sofa``), or as
    ``mapping`` says. An image is a positive of the tag when its reference
    holds one of those classes (for detections: an object of that class is in
    the image). Per matched tag:

    - ``support``: positive images; ``num_tagged``: images carrying the tag;
      ``true_positives``: both;
    - ``precision = TP / num_tagged``, ``recall = TP / support`` (``None``
      when undefined);
    - ``suggested_threshold``: the lowest confidence at which the images
      keeping the tag reach ``target_precision`` with a one-sided
      ``confidence`` lower bound (see :func:`suggest_threshold`), with the
      precision and recall at that threshold. Only confidences the tags
      field holds can be suggested: tag with a low threshold first (e.g.
      ``compute_tags(threshold=0.0)``) to audit the whole range.

    Pass the suggestions back with ``compute_tags(...,
    threshold=results.thresholds())``; they are in the units of the stored
    confidences (probabilities, or z-scores for calibrated CLIP).

    ``compute_tags`` removes the tags that name a class of its
    ``label_field``, so a tags field made with the defaults names no class
    of that field: audit against another field (detections, attributes such
    as weather or time of day), or tag a field for the audit with
    ``exclude_classes=False``. Thresholds for tags that name classes are
    ignored (with a log line) when passed back to ``compute_tags``.

    Examples::

        import fiftyone_prime as fp

        fp.compute_tags(dataset, tags_field="audit_tags", exclude_classes=False,
                        threshold=0.0)  # keep low scores too, to audit the range
        audit = fp.evaluate_tags(dataset, "audit_tags", "ground_truth")
        print(audit.summary())
        fp.compute_tags(dataset, threshold=audit.thresholds(min_support=20),
                        tags_field="prime_tags_tuned")

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`
        tags_field ("prime_tags"): the ``Classifications`` field of tags
        reference_field ("ground_truth"): a ``Classification``,
            ``Classifications`` or ``Detections`` field
        audit_key ("prime_tag_audit"): the run key to store the audit under
            (``None``: not stored)
        target_precision (0.9): the precision the suggested thresholds aim for
        confidence (0.95): the one-sided confidence of the precision's lower
            bound
        mapping (None): ``{tag: class or [classes]}`` matches that replace
            the name-and-alias matching for those tags
        vocabulary (None): the vocabulary whose aliases match tags to
            classes (a name, list or file as in ``compute_tags``)
        overwrite (True): whether to replace an audit stored under
            ``audit_key``

    Returns:
        a :class:`TagAuditResults`
    """
    if not 0.0 < target_precision <= 1.0:
        raise ValueError(f"`target_precision` must be in (0, 1]; got {target_precision!r}")
    if not 0.5 <= confidence < 1.0:
        raise ValueError(f"`confidence` must be in [0.5, 1); got {confidence!r}")
    fpf.check_sample_collection(samples, "evaluate_tags")
    _check_tags_field(samples, tags_field)
    ref_type = _reference_type(samples, reference_field)
    run = None
    if audit_key is not None:  # refused now, before anything is read
        run = start_run(samples, audit_key, TAG_AUDIT, overwrite=overwrite)

    tag_lists, conf_lists, ref_values = samples.values(
        [
            f"{tags_field}.classifications.label",
            f"{tags_field}.classifications.confidence",
            _LABEL_PATHS[ref_type].format(reference_field),
        ]
    )
    num_samples = len(tag_lists)
    fpf.check_string_values(tag_lists, tags_field, "tags_field")
    fpf.check_string_values(
        [[r] if not isinstance(r, list) else r for r in ref_values],
        reference_field,
        "reference_field",
    )
    evaluated, untagged, no_ref = [], 0, 0
    for i, (tags, ref) in enumerate(zip(tag_lists, ref_values)):
        if tags is None:
            untagged += 1
        elif ref is None:
            no_ref += 1
        else:
            evaluated.append(i)
    ref_sets = [
        {fpvocab.normalize_tag(c) for c in ([ref] if isinstance(ref, str) else ref) if c}
        for ref in (ref_values[i] for i in evaluated)
    ]
    class_names: dict[str, str] = {}
    for i in evaluated:
        ref = ref_values[i]
        for c in [ref] if isinstance(ref, str) else ref:
            if c:
                class_names.setdefault(fpvocab.normalize_tag(c), c)

    # Per tag: the images carrying it, with their confidences.
    carried: dict[str, list[tuple[int, float]]] = {}
    for row, i in enumerate(evaluated):
        confs = conf_lists[i] or [None] * len(tag_lists[i])
        best: dict[str, float] = {}
        for tag, conf in zip(tag_lists[i], confs):
            if tag is None:  # a label without a name carries no tag
                continue
            value = -math.inf if conf is None else float(conf)
            best[tag] = max(best.get(tag, -math.inf), value)
        for tag, value in best.items():
            carried.setdefault(tag, []).append((row, value))

    matches = _match_tags(sorted(carried), class_names, mapping, vocabulary)
    rows, unmatched = [], []
    positives_by_class: dict[str, np.ndarray] = {
        key: np.array([key in s for s in ref_sets], dtype=bool) for key in class_names
    }
    for tag in sorted(carried):
        keys = matches.get(tag)
        if not keys:
            unmatched.append(tag)
            continue
        positive = np.zeros(len(evaluated), dtype=bool)
        for key in keys:
            positive |= positives_by_class[key]
        idx = np.array([r for r, _ in carried[tag]], dtype=np.int64)
        conf = np.array([c for _, c in carried[tag]], dtype=np.float64)
        hit = positive[idx]
        support, n_tagged, tp = int(positive.sum()), len(idx), int(hit.sum())
        suggestion = suggest_threshold(conf, hit, support, target_precision, confidence)
        rows.append(
            {
                "tag": tag,
                "classes": sorted(class_names[k] for k in keys),
                "support": support,
                "num_tagged": n_tagged,
                "true_positives": tp,
                "precision": tp / n_tagged if n_tagged else None,
                "recall": tp / support if support else None,
                "suggested_threshold": suggestion and suggestion["threshold"],
                "precision_at_threshold": suggestion and suggestion["precision"],
                "recall_at_threshold": suggestion and suggestion["recall"],
                "precision_lower_bound": suggestion and suggestion["precision_lower_bound"],
            }
        )
    rows.sort(key=lambda r: (-r["support"], r["tag"]))
    matched_keys = {k for keys in matches.values() for k in keys}
    unmatched.sort(key=lambda t: (-len(carried[t]), t))

    field_ = samples.get_field(tags_field)
    tagger = (getattr(field_, "info", None) or {}).get("prime_tagger")
    config = TagAuditRunConfig(
        tags_field=tags_field,
        reference_field=reference_field,
        reference_type=ref_type.__name__,
        target_precision=target_precision,
        confidence=confidence,
        mapping={k: _as_list(v) for k, v in mapping.items()} if mapping else None,
    )
    results = TagAuditResults(
        samples,
        config,
        audit_key,
        rows=rows,
        num_samples=num_samples,
        num_evaluated=len(evaluated),
        num_untagged=untagged,
        num_without_reference=no_ref,
        num_tags_seen=len(carried),
        unmatched_tags=unmatched[:100],
        classes_without_tag=sorted(class_names[k] for k in class_names if k not in matched_keys),
        tagger=tagger,
    )
    if run is not None:
        run.store(results)
    return results


def load_tag_audit(samples, audit_key: str = AUDIT_KEY) -> TagAuditResults:
    """Loads an audit stored by :func:`evaluate_tags`."""
    return load_run(samples, audit_key, TAG_AUDIT)


def list_tag_audits(samples) -> list[str]:
    """The keys of the tag audits stored on the dataset."""
    return list_runs(samples, TAG_AUDIT)


def _as_list(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _match_tags(tags, class_names, mapping, vocabulary) -> dict[str, set[str]]:
    """``{tag: normalized classes it names}`` (only tags naming one)."""
    aliases: dict[str, tuple] = {}
    try:
        for concept, als in fpvocab.load_vocabulary_entries(vocabulary):
            aliases[concept.lower()] = als
    except ValueError as e:
        raise ValueError(f"`vocabulary`: {e}") from e
    out = {}
    for tag in tags:
        if mapping and tag in mapping:
            keys = {fpvocab.normalize_tag(c) for c in _as_list(mapping[tag])}
            missing = keys - set(class_names)
            if missing:
                logger.warning("`mapping` of tag '%s' names classes never seen", tag)
            out[tag] = keys & set(class_names)
            continue
        names = [tag, *aliases.get(tag.lower(), ())]
        keys = {fpvocab.normalize_tag(n) for n in names} & set(class_names)
        if keys:
            out[tag] = keys
    return out


def _check_tags_field(samples, tags_field):
    field_ = samples.get_field(tags_field)
    if field_ is None:
        raise ValueError(f"The view has no field '{tags_field}'; tag it with compute_tags first")
    if not (
        isinstance(field_, fo.EmbeddedDocumentField)
        and issubclass(field_.document_type, fo.Classifications)
    ):
        raise TypeError(f"`tags_field` '{tags_field}' must be a Classifications field")


def _reference_type(samples, reference_field):
    field_ = samples.get_field(reference_field)
    if field_ is None:
        raise ValueError(f"The view has no field '{reference_field}'")
    if isinstance(field_, fo.EmbeddedDocumentField):
        for cls in _LABEL_PATHS:
            if issubclass(field_.document_type, cls):
                return cls
    raise TypeError(
        f"`reference_field` '{reference_field}' must be a Classification, Classifications or "
        f"Detections field; found {type(field_).__name__}"
    )


#: Tag audits: tags measured against reference labels.
TAG_AUDIT = register(
    RunKind(
        name="tag_audit",
        label="tag audit",
        config_cls=TagAuditRunConfig,
        results_cls=TagAuditResults,
    )
)
