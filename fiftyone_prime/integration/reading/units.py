"""Units and outcomes: what a failure-mode search counts, read from FiftyOne.

The search's definition speaks of *units* in *groups*, each right or wrong
(see "Units and outcomes" in the design). This module decides what the units
are and reads them into the arrays the core searches:

-   a **classification evaluation** (``evaluate_classifications``: simple,
    top-k, binary): units are samples, the group is the ground-truth label,
    right or wrong is the per-sample ``<eval_key>`` field the evaluation wrote
    (``True``/``False``; ``"TP"``/``"TN"`` against ``"FP"``/``"FN"`` for
    binary evaluations);
-   a **detection evaluation** (``evaluate_detections`` on boxes, instance
    masks, polylines or keypoints): units are objects. ``units="gt"``: each
    ground-truth object, wrong when missed (``fn``), grouped by its label;
    ``units="pred"``: each predicted object, wrong when a false positive
    (``fp``), grouped by its label. Objects without an ``<eval_key>`` value
    (not evaluated) and crowd ground truth (COCO's ``iscrowd``, which COCO
    never counts as a miss) are left out;
-   a **multilabel classifier** (``Classifications`` ground truth and
    predictions, no evaluation): units are (sample, class) pairs, each pair
    once however often its sample lists the class. ``units="gt"`` (the
    default, misses): each class present in the ground truth, right when the
    model predicts it; ``units="pred"`` (false alarms): each class the model
    predicts, right when it is present in the ground truth (with a regression,
    each class either model predicts, right under a model when its
    prediction of the class's presence is right). The group is the class; a
    prediction counts when its confidence is at least ``confidence_thresh``
    (when one is given; a prediction without a confidence then does not
    count). Tags are the image's;
-   a **boolean outcome** (``correct_field``): any boolean field or attribute,
    or a ``ViewExpression`` evaluated on the sample (sample units) or on the
    object (object units), instead of the evaluation's own outcome.

Tags belong to the unit (object attributes named by their FiftyOne path,
``"ground_truth.detections.attrs"``) or are inherited from its image (any
field :func:`fiftyone_prime.integration.reading.fields.tag_source` accepts).

Nothing here writes to the database: every check runs before a run stores
anything.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from itertools import chain
from typing import Any, Optional, Union

import numpy as np
import scipy.sparse as sp

import fiftyone as fo
import fiftyone.core.labels as fol
from fiftyone import ViewField as F
from fiftyone.core.expressions import ViewExpression

from ...core.groups import CodedGroups
from .. import fiftyone_private as fop
from . import fields as fpf
from . import reader

logger = logging.getLogger(__name__)

#: Sample units (classification evaluations, or a sample-level outcome).
SAMPLES = "samples"
#: Ground-truth objects of a detection evaluation; wrong when missed.
GT = "gt"
#: Predicted objects of a detection evaluation; wrong when a false positive.
PRED = "pred"
UNITS = (SAMPLES, GT, PRED)

#: Evaluation types whose units this module reads.
CLASSIFICATION = "classification"
DETECTION = "detection"
#: The units of a multilabel classifier (``Classifications`` in and out).
MULTILABEL = "multilabel"
#: Evaluation types whose units carry a score (a number per unit) instead of
#: right or wrong: ``evaluate_regressions`` (each sample's error, higher is
#: worse) and ``evaluate_segmentations`` (each sample's accuracy, precision
#: and recall, lower is worse).
REGRESSION = "regression"
SEGMENTATION = "segmentation"

#: The per-sample fields a segmentation evaluation writes (``<eval_key>_<name>``);
#: the first is read when ``score_field`` is not given. Lower is worse.
SEGMENTATION_SCORES = ("accuracy", "precision", "recall")

#: What an object of a detection evaluation scores when its score is its IoU
#: (``<eval_key>_iou``, which FiftyOne writes on matched objects only) and it
#: was not matched (a missed ground-truth object, a false positive): no
#: overlap, 0.
UNMATCHED_IOU = 0.0

# A finite number lies between these (NaN, None, infinities, booleans and
# strings do not, in MongoDB's ordering as in numpy's).
_MAX_FLOAT = float(np.finfo(np.float64).max)

# Per kind of units: the evaluation values that make a unit, and the right one.
_DETECTION_OUTCOMES = {GT: (("tp", "fn"), "tp"), PRED: (("tp", "fp"), "tp")}
_BINARY_RIGHT = ("TP", "TN")
# What the reader puts in place of a crowd object's outcome.
_CROWD = "__crowd__"
_CROWD_CODE = 2
# An object-level correct_field expression is stored against this variable.
_UNIT_VAR = "$$unit"

#: Kinds of object attributes that can hold tags, and how each is read.
OBJECT_TAG_KINDS = {
    "strings": "{path}",  # a list of strings
    "string": "{path}",
    "bool": "{path}",  # the tag is the attribute's name, when True
    "classification": "{path}.label",
    "classifications": "{path}.classifications.label",
    "infer": "{path}",  # undeclared (dynamic) attribute: read as it comes
}


@dataclass(frozen=True)
class UnitSpec:
    """What the units of a search are and how right/wrong is read.

    Attributes:
        units: ``"samples"``, ``"gt"`` or ``"pred"``
        group_field: the label field whose labels are the groups (the field
            holding the objects, for object units)
        list_path: the objects' list path (``"ground_truth.detections"``), or
            ``None`` for sample units
        eval_key: the evaluation read, or ``None``
        eval_type: ``"classification"`` or ``"detection"`` (``None`` without
            an evaluation)
        eval_method: the evaluation method (``"simple"``, ``"top-k"``,
            ``"binary"``, ``"coco"``, ...)
        eval_timestamp: when the evaluation ran (ISO text), to detect a
            re-run
        gt_field, pred_field: the evaluation's fields (or the ones given)
        correct_field: a boolean path, or a serialized ``ViewExpression``
            (``{"$expr": ...}``), overriding the evaluation's outcome
        crowd_attr: the crowd attribute of ground-truth objects, or ``None``
        confidence_thresh: multilabel units: the least confidence of a
            prediction that counts, or ``None`` (every prediction counts)
        baseline_field: multilabel units of a regression: the baseline
            model's ``Classifications`` (a second outcome per unit)
        score_field: for a search of a score, the path of each unit's
            number (a sample field, or an object attribute by its full
            path), or a serialized ``ViewExpression`` (``{"$expr": ...}``);
            ``None`` for right/wrong outcomes
        higher_is_worse: for a score, its direction (``True``: an error or
            loss; ``False``: an accuracy or IoU)
        score_fill: for a score, what a unit without one scores (``None``:
            such units are left out and counted); see :data:`UNMATCHED_IOU`
        group_attr ("label"): the attribute of ``group_field`` holding the
            group (``None``: the field itself is the group, a string field)
    """

    units: str
    group_field: str
    list_path: Optional[str] = None
    eval_key: Optional[str] = None
    eval_type: Optional[str] = None
    eval_method: Optional[str] = None
    eval_timestamp: Optional[str] = None
    gt_field: Optional[str] = None
    pred_field: Optional[str] = None
    correct_field: Union[str, dict, None] = None
    crowd_attr: Optional[str] = None
    confidence_thresh: Optional[float] = None
    baseline_field: Optional[str] = None
    score_field: Union[str, dict, None] = None
    higher_is_worse: Optional[bool] = None
    score_fill: Optional[float] = None
    group_attr: Optional[str] = "label"

    @property
    def is_scored(self) -> bool:
        """Whether each unit carries a score instead of right or wrong."""
        return self.score_field is not None

    @property
    def is_grouped(self) -> bool:
        """Whether the units have groups (else they form one group)."""
        return self.group_field is not None

    @property
    def is_objects(self) -> bool:
        """Whether the units are read as the items of a label list (objects,
        or a multilabel classifier's classes)."""
        return self.list_path is not None

    @property
    def is_multilabel(self) -> bool:
        """Whether the units are a multilabel classifier's (sample, class) pairs."""
        return self.eval_type == MULTILABEL

    @property
    def noun(self) -> str:
        """``"samples"``, ``"objects"`` or ``"(sample, class) pairs"``, for messages."""
        if self.is_multilabel:
            return "(sample, class) pairs"
        return "objects" if self.is_objects else "samples"

    @property
    def group_path(self) -> Optional[str]:
        """The path of each unit's group label (``None``: one group)."""
        if self.is_objects:
            return f"{self.list_path}.label"
        if self.group_field is None:
            return None
        return f"{self.group_field}.{self.group_attr}" if self.group_attr else self.group_field

    @property
    def correct_expression(self) -> Optional[ViewExpression]:
        """``correct_field`` as an expression, when it is one."""
        return self._unit_expression(self.correct_field)

    @property
    def score_expression(self) -> Optional[ViewExpression]:
        """The unit's score as an expression on the unit (the sample, or
        the object), with :attr:`score_fill` in place of a missing one;
        ``None`` for right/wrong outcomes."""
        if self.score_field is None:
            return None
        if isinstance(self.score_field, dict):
            expr = self._unit_expression(self.score_field)
        else:
            expr = F(self._relative(self.score_field))
        if self.score_fill is not None:
            expr = expr.if_null(self.score_fill)
        return expr

    def _unit_expression(self, value) -> Optional[ViewExpression]:
        if not isinstance(value, dict):
            return None
        raw = value["$expr"]
        if self.is_objects:
            # Serialized against the variable "unit": bind it to the object at hand
            # (the element of a $map, or the label filter_labels is testing).
            return ViewExpression({"$let": {"vars": {"unit": F()}, "in": raw}})
        return ViewExpression(raw)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> UnitSpec:
        return cls(**{k: d.get(k) for k in cls.__dataclass_fields__ if k in d})

    def unit_filter(self) -> ViewExpression:
        """An expression true exactly for the objects that are units
        (evaluated, not crowd, with an outcome), applied to an object."""
        expr = F("label") != None  # noqa: E711
        expr &= self._has_outcome()
        if self.eval_type == DETECTION and self.correct_field is None:
            values, _ = _DETECTION_OUTCOMES[self.units]
            expr &= F(self.eval_key).is_in(list(values))
        if self.crowd_attr:
            expr &= ~F(self.crowd_attr)
        return expr

    def sample_filter(self) -> ViewExpression:
        """An expression true exactly for the samples that are units."""
        if self.group_path is None:
            return self._has_outcome()
        expr = F(self.group_path) != None  # noqa: E711
        return expr & self._has_outcome()

    def _has_outcome(self) -> ViewExpression:
        """True for a unit with an outcome: a finite score, for a score."""
        expr = self._outcome_expression()
        if self.is_scored:
            return (expr >= -_MAX_FLOAT) & (expr <= _MAX_FLOAT)
        return expr != None  # noqa: E711

    def _outcome_expression(self) -> ViewExpression:
        expr = self.score_expression
        if expr is not None:
            return expr
        expr = self.correct_expression
        if expr is not None:
            return expr
        if isinstance(self.correct_field, str):
            return F(self._relative(self.correct_field))
        return F(self.eval_key)

    def _relative(self, path: str) -> str:
        if self.is_objects:
            return path[len(self.list_path) + 1 :]
        return path


# ------------------------------------------------------------------ resolve


def evaluation_stamp(info) -> Optional[str]:
    """When an evaluation ran, to the millisecond (as MongoDB keeps it: a
    clone's run info in memory has microseconds until it is reloaded)."""
    if not info.timestamp:
        return None
    stamp = info.timestamp
    return stamp.replace(microsecond=stamp.microsecond // 1000 * 1000).isoformat()


def resolve_units(
    samples,
    *,
    eval_key: Optional[str] = None,
    units: Optional[str] = None,
    correct_field=None,
    label_field: Optional[str] = None,
    pred_field: Optional[str] = None,
    confidence_thresh: Optional[float] = None,
    baseline_field: Optional[str] = None,
    score_field=None,
    higher_is_worse: Optional[bool] = None,
    group_field: Optional[str] = None,
) -> UnitSpec:
    """Checks the arguments that choose the units and returns their spec.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`
        eval_key (None): an evaluation of the dataset
        units (None): ``"samples"``, ``"gt"`` or ``"pred"``; by default
            samples for classification evaluations and ``"gt"`` for
            detection evaluations
        correct_field (None): a boolean field (sample units), a boolean
            object attribute by its full path (object units), or a
            ``ViewExpression`` evaluated on the unit
        label_field (None): without ``eval_key``, the label field whose
            labels group the units (a ``Classification`` field for sample
            units, a ``Detections``-like field for object units); with
            ``eval_key`` it must be the evaluation's ground truth if given
        pred_field (None): with ``eval_key``, must be the evaluation's
            predictions if given. Without ``eval_key``, ``correct_field`` and
            ``score_field``, ``label_field`` and ``pred_field`` both
            ``Classifications`` make the units a multilabel classifier's (see
            :func:`multilabel_spec`)
        score_field (None): a number per unit instead of right or wrong: a
            numeric sample field, a numeric object attribute by its full
            path (``"ground_truth.detections.eval_iou"``: object units), or
            a ``ViewExpression`` on the unit. With a regression evaluation it
            defaults to the evaluation's per-sample error (``eval_key``);
            with a segmentation evaluation to ``<eval_key>_accuracy``
            (``"precision"`` or ``"recall"`` name the others). A detection
            evaluation's IoU attribute (``<list path>.<eval_key>_iou``)
            scores unmatched units :data:`UNMATCHED_IOU`; other units
            without a finite score are left out and counted
        higher_is_worse (None): the score's direction; by default ``False``
            for segmentation evaluations and IoUs, else ``True`` (an error
            or a loss)
        group_field (None): for scores of samples, a ``Classification`` (or
            string) field whose values group them; without it they form one
            group (a classification evaluation's samples are grouped by
            its ground truth, objects by their labels)
        confidence_thresh (None), baseline_field (None): multilabel units
            only, see :func:`multilabel_spec`

    Returns:
        a :class:`UnitSpec`

    Raises:
        ValueError: a missing evaluation key or field, units that do not fit
        TypeError: an unsupported evaluation type or a field of the wrong type
    """
    if units is not None and units not in UNITS:
        raise ValueError(f"`units` must be one of {list(UNITS)} (or None); got {units!r}")
    multilabel = False
    if eval_key is None and correct_field is None and score_field is None:
        fields = {"label_field": label_field, "pred_field": pred_field}
        if baseline_field is not None:
            fields["baseline_field"] = baseline_field
        multilabel = is_multilabel(samples, **fields)
    if not multilabel and (confidence_thresh is not None or baseline_field is not None):
        what = "confidence_thresh" if confidence_thresh is not None else "baseline_field"
        raise ValueError(
            f"`{what}` applies to multilabel classifiers only (label_field and pred_field "
            "both Classifications fields, no eval_key, correct_field or score_field)"
        )
    if score_field is not None or scored_evaluation(samples, eval_key):
        if correct_field is not None:
            raise ValueError(
                "`correct_field` (right or wrong) and `score_field` (a number) are two "
                "outcomes; give one"
            )
        return _scored_spec(
            samples, eval_key, units, score_field, higher_is_worse, group_field, label_field,
            pred_field,
        )  # fmt: skip
    if higher_is_worse is not None or group_field is not None:
        raise ValueError(
            "`higher_is_worse` and `group_field` go with a score (`score_field`, or a "
            "regression or segmentation evaluation); right/wrong outcomes are grouped by "
            "their labels"
        )
    if multilabel:
        return multilabel_spec(
            samples, label_field, pred_field, units, confidence_thresh, baseline_field
        )
    if eval_key is None:
        if correct_field is None:
            raise ValueError("Give `eval_key` (an evaluation run) or `correct_field` (an outcome)")
        if label_field is None:
            raise ValueError("`correct_field` without `eval_key` needs `label_field` (the groups)")
        return _spec_from_field(samples, label_field, units, correct_field)
    return _spec_from_evaluation(samples, eval_key, units, correct_field, label_field, pred_field)


def is_multilabel(samples, **fields: Optional[str]) -> bool:
    """Whether the fields given by role (``label_field="ground_truth",
    pred_field="predictions"``) are all ``Classifications`` fields: a
    multilabel classifier's labels and predictions.

    Returns:
        False when none of them is a ``Classifications`` field (or a field
        is not given), True when all are

    Raises:
        ValueError: one is ``Classifications`` and another does not exist
        TypeError: one is ``Classifications`` and another is not (mixed label
            types); the message names both
    """
    if any(not isinstance(name, str) or not name for name in fields.values()):
        return False
    found = {role: samples.get_field(name) for role, name in fields.items()}
    multi = {role: _is_classifications(f) for role, f in found.items()}
    if not any(multi.values()):
        return False
    if all(multi.values()):
        return True
    first = next(iter(fields))  # named first: the ground truth
    fpf._field_or_raise(samples, fields[first], first)  # raises when missing
    for role, is_multi in multi.items():
        if is_multi == multi[first]:
            continue
        field = fpf._field_or_raise(samples, fields[role], role)  # raises when missing
        raise TypeError(
            f"`{first}`: the field '{fields[first]}' is "
            f"{fpf._describe_field(found[first])} but `{role}` '{fields[role]}' is "
            f"{fpf._describe_field(field)}; compare Classification fields (a classifier) or "
            "Classifications fields (a multilabel classifier), not one with the other"
        )
    return True


def _is_classifications(field) -> bool:
    return isinstance(field, fo.EmbeddedDocumentField) and issubclass(
        field.document_type, fol.Classifications
    )


def multilabel_spec(
    samples,
    label_field: str,
    pred_field: str,
    units: Optional[str] = None,
    confidence_thresh: Optional[float] = None,
    baseline_field: Optional[str] = None,
) -> UnitSpec:
    """The units of a multilabel classifier: (sample, class) pairs.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`
        label_field: the ground-truth ``Classifications`` field
        pred_field: the predicted ``Classifications`` field
        units (None): ``"gt"`` (the default: misses; each class present in
            the ground truth, right when predicted) or ``"pred"`` (false
            alarms; each class predicted, right when present)
        confidence_thresh (None): the least confidence of a prediction that
            counts; ``None`` counts every prediction
        baseline_field (None): a regression's baseline ``Classifications``:
            each unit then has its outcome under both models (with
            ``"pred"``, the units are the classes either model predicts)

    Returns:
        a :class:`UnitSpec`

    Raises:
        ValueError: units that do not fit, the same field twice, a threshold
            that is not a number
        TypeError: a field that is not ``Classifications``
    """
    fields = {"label_field": label_field, "pred_field": pred_field}
    if baseline_field is not None:
        fields["baseline_field"] = baseline_field
    if not is_multilabel(samples, **fields):
        raise TypeError(
            f"A multilabel search compares Classifications fields; {fields} are not (pass "
            "Classification fields to the single-label search)"
        )
    units = GT if units is None else units
    if units not in (GT, PRED):
        raise ValueError(
            f"`units='{units}'` does not fit a multilabel classifier ('{label_field}' and "
            f"'{pred_field}' are Classifications): its units are (sample, class) pairs; use "
            "units='gt' (misses of present classes, the default) or units='pred' (false "
            "alarms of predicted classes)"
        )
    named = [label_field, pred_field] + ([baseline_field] if baseline_field else [])
    if len(set(named)) != len(named):
        raise ValueError(f"A multilabel search compares different fields; got {named}")
    if confidence_thresh is not None and (
        isinstance(confidence_thresh, bool)
        or not isinstance(confidence_thresh, (int, float))
        or confidence_thresh != confidence_thresh
    ):
        raise ValueError(f"`confidence_thresh` must be a number or None; got {confidence_thresh!r}")
    for name in named:
        if samples._is_frame_field(name):
            raise TypeError(f"'{name}' holds frame labels; video datasets are not supported")
    field = label_field if units == GT else pred_field
    return UnitSpec(
        units,
        field,
        f"{field}.classifications",
        eval_type=MULTILABEL,
        gt_field=label_field,
        pred_field=pred_field,
        confidence_thresh=None if confidence_thresh is None else float(confidence_thresh),
        baseline_field=baseline_field,
    )


def _spec_from_evaluation(samples, eval_key, units, correct_field, label_field, pred_field):
    root = samples._root_dataset
    if not isinstance(eval_key, str):
        raise TypeError(f"`eval_key` must be an evaluation key (a string); got {eval_key!r}")
    keys = root.list_evaluations()
    if eval_key not in keys:
        raise ValueError(
            f"Dataset '{root.name}' has no evaluation with key '{eval_key}'. "
            f"Evaluations: {keys or 'none'}"
        )
    info = root.get_evaluation_info(eval_key)
    config = info.config
    eval_type = getattr(config, "type", None)
    method = getattr(config, "method", None)
    gt, pred = config.gt_field, config.pred_field
    for given, actual, role in ((label_field, gt, "label_field"), (pred_field, pred, "pred_field")):
        if given is not None and given != actual:
            raise ValueError(
                f"`{role}` is '{given}' but evaluation '{eval_key}' compared '{pred}' "
                f"against '{gt}'; leave `{role}` out to use the evaluation's fields"
            )
    if samples._is_frame_field(gt):
        raise TypeError(
            f"Evaluation '{eval_key}' evaluates frame labels ('{gt}'); video evaluations are "
            "not supported"
        )
    timestamp = evaluation_stamp(info)
    common = dict(
        eval_key=eval_key,
        eval_type=eval_type,
        eval_method=method,
        eval_timestamp=timestamp,
        gt_field=gt,
        pred_field=pred,
    )
    if eval_type == CLASSIFICATION:
        if units not in (None, SAMPLES):
            raise ValueError(
                f"`units='{units}'` does not fit evaluation '{eval_key}': it is a classification "
                f"evaluation ({method}), whose units are samples; use units='samples' or leave "
                "it out"
            )
        fpf.validate_classification_field(samples, gt, "the evaluation's gt_field")
        correct = _correct_field(samples, correct_field, None)
        return UnitSpec(SAMPLES, gt, correct_field=correct, **common)
    if eval_type == DETECTION:
        units = GT if units is None else units
        if units == SAMPLES:
            raise ValueError(
                f"`units='samples'` does not fit evaluation '{eval_key}': it is a detection "
                "evaluation, whose units are objects; use units='gt' (ground-truth objects, "
                "wrong when missed) or units='pred' (predicted objects, wrong when false "
                "positives)"
            )
        field = gt if units == GT else pred
        list_path = _list_path(samples, field, "the evaluation's field")
        crowd = None
        if units == GT:
            crowd = getattr(config, "iscrowd", None) or None
        correct = _correct_field(samples, correct_field, list_path)
        return UnitSpec(units, field, list_path, correct_field=correct, crowd_attr=crowd, **common)
    if eval_type in (REGRESSION, SEGMENTATION):
        if units not in (None, SAMPLES):
            raise ValueError(
                f"`units='{units}'` does not fit evaluation '{eval_key}': it is a {eval_type} "
                "evaluation, whose units are samples; use units='samples' or leave it out"
            )
        return UnitSpec(SAMPLES, gt, **common)
    raise TypeError(
        f"Evaluation '{eval_key}' is a {eval_type or type(config).__name__} evaluation "
        f"(method {method!r}); failure modes read classification, detection, regression and "
        "segmentation evaluations (evaluate_classifications, evaluate_detections, "
        "evaluate_regressions, evaluate_segmentations)"
    )


def scored_evaluation(samples, eval_key) -> bool:
    """Whether ``eval_key`` is an evaluation whose units carry a score."""
    root = getattr(samples, "_root_dataset", None)
    if not isinstance(eval_key, str) or root is None:  # refused where they are checked
        return False
    if eval_key not in root.list_evaluations():
        return False
    return getattr(root.get_evaluation_info(eval_key).config, "type", None) in (
        REGRESSION,
        SEGMENTATION,
    )


def _scored_spec(
    samples, eval_key, units, score_field, higher_is_worse, group_field, label_field, pred_field
) -> UnitSpec:
    """The spec of units that carry a score (see :func:`resolve_units`)."""
    if higher_is_worse is not None and not isinstance(higher_is_worse, bool):
        raise TypeError(f"`higher_is_worse` must be True or False; got {higher_is_worse!r}")
    worse = True  # an error or a loss
    fill = None
    if eval_key is not None:
        spec = _spec_from_evaluation(samples, eval_key, units, None, label_field, pred_field)
        if spec.eval_type == REGRESSION:
            score_field = eval_key if score_field is None else score_field
        elif spec.eval_type == SEGMENTATION:
            worse = False
            score_field = SEGMENTATION_SCORES[0] if score_field is None else score_field
            if score_field in SEGMENTATION_SCORES:
                score_field = f"{eval_key}_{score_field}"
        elif score_field is None:
            raise ValueError(
                f"Evaluation '{eval_key}' is a {spec.eval_type} evaluation, whose units are "
                "right or wrong; `score_field` names a number per unit to search instead"
            )
        if spec.is_objects and score_field == f"{spec.list_path}.{eval_key}_iou":
            worse, fill = False, UNMATCHED_IOU
    elif isinstance(score_field, str) and _label_list_owner(samples, score_field):
        list_field = score_field.split(".", 1)[0]
        spec = _spec_from_field(samples, list_field, units, None)
    elif isinstance(score_field, ViewExpression) and units == GT:
        if label_field is None:
            raise ValueError("`score_field` on objects (units='gt') needs `label_field`")
        spec = _spec_from_field(samples, label_field, units, None)
    else:
        if units not in (None, SAMPLES):
            raise ValueError(
                f"`units='{units}'` does not fit `score_field` {score_field!r}: a sample field "
                "scores samples; name an object attribute by its full path "
                "('ground_truth.detections.<attribute>') to score objects"
            )
        spec = UnitSpec(SAMPLES, None)
    if group_field is not None:
        if spec.is_objects or spec.eval_type in (CLASSIFICATION, DETECTION):
            raise ValueError(
                "`group_field` groups samples of a regression or segmentation evaluation or "
                "of a sample score; objects are grouped by their labels and classification "
                "samples by their ground truth"
            )
        spec = dataclasses.replace(
            spec, group_field=group_field, group_attr=_group_attr(samples, group_field)
        )
    elif spec.eval_type in (REGRESSION, SEGMENTATION):
        spec = dataclasses.replace(spec, group_field=None)
    return dataclasses.replace(
        spec,
        score_field=_score_path(samples, score_field, spec.list_path),
        higher_is_worse=worse if higher_is_worse is None else higher_is_worse,
        score_fill=fill,
    )


def _group_attr(samples, group_field) -> Optional[str]:
    """The attribute of ``group_field`` holding the group: ``"label"`` for a
    ``Classification`` field, ``None`` for a string field."""
    field = samples.get_field(group_field) if isinstance(group_field, str) else None
    if field is None:
        raise ValueError(f"`group_field`: the field {group_field!r} does not exist")
    doc_type = getattr(field, "document_type", None)
    if doc_type is not None and issubclass(doc_type, fol.Classification):
        return "label"
    if isinstance(field, fo.StringField):
        return None
    raise TypeError(
        f"`group_field` '{group_field}' must be a Classification or string field; found "
        f"{type(field).__name__}"
    )


def _score_path(samples, score_field, list_path):
    """Validates ``score_field``; returns a path or a serialized expression."""
    if isinstance(score_field, ViewExpression):
        prefix = _UNIT_VAR if list_path is not None else None
        return {"$expr": score_field.to_mongo(prefix=prefix)}
    if not isinstance(score_field, str) or not score_field:
        raise TypeError(
            f"`score_field` must be a numeric field path or a ViewExpression; got {score_field!r}"
        )
    if list_path is not None and not score_field.startswith(list_path + "."):
        raise ValueError(
            f"`score_field` '{score_field}' must be an attribute of the units, the objects of "
            f"'{list_path}' (e.g. '{list_path}.iou')"
        )
    field = samples.get_field(score_field)
    if field is None and list_path is None:
        raise ValueError(
            f"`score_field`: the field '{score_field}' does not exist; name a numeric sample "
            "field (or an object attribute by its full path)"
        )
    if field is not None and not isinstance(field, (fo.FloatField, fo.IntField)):
        raise TypeError(
            f"`score_field` '{score_field}' must be a numeric (float or int) field; found "
            f"{type(field).__name__}"
        )
    return score_field


def _spec_from_field(samples, label_field, units, correct_field):
    field = samples.get_field(label_field) if isinstance(label_field, str) else None
    doc_type = getattr(field, "document_type", None) if field is not None else None
    if doc_type is not None and issubclass(doc_type, fol._HasLabelList):
        if units not in (None, GT):
            raise ValueError(
                f"`units='{units}'` does not fit '{label_field}' without an evaluation: its "
                "objects are the units (units='gt')"
            )
        list_path = _list_path(samples, label_field, "label_field")
        correct = _correct_field(samples, correct_field, list_path)
        return UnitSpec(GT, label_field, list_path, gt_field=label_field, correct_field=correct)
    if units not in (None, SAMPLES):
        raise ValueError(
            f"`units='{units}'` does not fit '{label_field}' without an evaluation: "
            "units='gt'/'pred' need a detection evaluation (eval_key) or a Detections field"
        )
    fpf.validate_classification_field(samples, label_field, "label_field")
    correct = _correct_field(samples, correct_field, None)
    return UnitSpec(SAMPLES, label_field, gt_field=label_field, correct_field=correct)


def _list_path(samples, field_name, role) -> str:
    field = samples.get_field(field_name)
    doc_type = getattr(field, "document_type", None)
    if field is None or doc_type is None or not issubclass(doc_type, fol._HasLabelList):
        found = "nothing" if field is None else type(field).__name__
        raise TypeError(
            f"{role} '{field_name}' must be a Detections, Polylines or Keypoints field; "
            f"found {found}"
        )
    return f"{field_name}.{doc_type._LABEL_LIST_FIELD}"


def _correct_field(samples, correct_field, list_path):
    """Validates ``correct_field``; returns a path or a serialized expression."""
    if correct_field is None:
        return None
    if isinstance(correct_field, ViewExpression):
        prefix = _UNIT_VAR if list_path is not None else None
        return {"$expr": correct_field.to_mongo(prefix=prefix)}
    if not isinstance(correct_field, str) or not correct_field:
        raise TypeError(
            "`correct_field` must be a boolean field path or a ViewExpression; got "
            f"{correct_field!r}"
        )
    if list_path is not None and not correct_field.startswith(list_path + "."):
        raise ValueError(
            f"`correct_field` '{correct_field}' must be an attribute of the units, the "
            f"objects of '{list_path}' (e.g. '{list_path}.is_right')"
        )
    field = samples.get_field(correct_field)
    if field is None and list_path is None:
        raise ValueError(f"`correct_field`: the field '{correct_field}' does not exist")
    if field is not None and not isinstance(field, fo.BooleanField):
        raise TypeError(
            f"`correct_field` '{correct_field}' must be a boolean field; found "
            f"{type(field).__name__}"
        )
    return correct_field


# ------------------------------------------------------------------- tags


@dataclass(frozen=True)
class UnitTagSource:
    """A field or object attribute whose values serve as tags of the units.

    Attributes:
        field: the path as given (the tag key's first part)
        kind: a kind of :data:`fiftyone_prime.integration.reading.fields.TAG_KINDS`
            (image-level fields) or of :data:`OBJECT_TAG_KINDS` (object
            attributes)
        level: ``"image"`` or ``"object"``
        attr: for object attributes, the path within the object
    """

    field: str
    kind: str
    level: str
    attr: Optional[str] = None

    @property
    def read_path(self) -> str:
        """The path to read with ``values()``."""
        if self.level == "image":
            return fpf.TagSource(self.field, self.kind).label_path
        return OBJECT_TAG_KINDS[self.kind].format(path=self.field)

    @property
    def tag_source(self) -> fpf.TagSource:
        """The image-level :class:`fiftyone_prime.integration.reading.fields.TagSource`."""
        return fpf.TagSource(self.field, self.kind)

    def object_expression(self, labels: Sequence[str], kind: Optional[str] = None):
        """An expression, on an object, true when it carries every label."""
        kind = kind or self.kind
        labels = list(labels)
        attr = self.attr
        if kind == "bool":
            return F(attr) == True  # noqa: E712
        if kind in ("string", "classification"):
            path = attr if kind == "string" else f"{attr}.label"
            expr = F(path) == F.literal(labels[0])
            for label in labels[1:]:
                expr &= F(path) == F.literal(label)
            return expr
        if kind == "mixed":
            expr = _mixed_carries(attr, labels[0])
            for label in labels[1:]:
                expr &= _mixed_carries(attr, label)
            return expr
        path = attr if kind == "strings" else f"{attr}.classifications.label"
        return F(path).if_null([]).contains(F.literal(labels), all=True)


def _mixed_carries(attr: str, label: str):
    """An expression, on an object, true when its undeclared attribute of
    mixed values carries ``label`` as :func:`_as_labels` reads it: the
    string itself, an item of a list, a Classification's label, a label of
    a Classifications, or the attribute's name when it is True."""
    value = F(attr)
    literal = F.literal(label)
    name = attr.rsplit(".", 1)[-1]
    expr = (value.is_string() & (value == literal)) | (
        value.is_array() & value.contains(F.literal([label]))
    )
    is_doc = value.type() == "object"
    expr |= is_doc & (F(f"{attr}.label") == literal)
    expr |= is_doc & F(f"{attr}.classifications.label").if_null([]).contains(F.literal([label]))
    if label == name:
        expr |= value == True  # noqa: E712
    return expr


def unit_tag_sources(samples, spec: UnitSpec, tags_field) -> list[UnitTagSource]:
    """Validates the tag fields for the units: object attributes by their path
    (object units only), image-level fields for either.

    Raises:
        ValueError: an attribute path that does not exist or belongs to other
            objects than the units
        TypeError: a field of a kind that cannot hold tags
    """
    names = [tags_field] if isinstance(tags_field, str) else list(tags_field or [])
    if not names:
        raise ValueError("`tags_field` must name at least one field")
    if len(set(names)) != len(names):
        raise ValueError(f"`tags_field` names a field twice: {names}")
    return [_unit_tag_source(samples, spec, name) for name in names]


def _unit_tag_source(samples, spec, name) -> UnitTagSource:
    if not isinstance(name, str) or not name:
        raise TypeError(f"`tags_field` must be a field name or path; got {name!r}")
    owner = _label_list_owner(samples, name)
    if owner is not None and spec.is_multilabel:
        raise ValueError(
            f"`tags_field` '{name}' is an attribute of labels; a multilabel classifier's "
            "units take the tags of their image: name image-level fields"
        )
    if owner is not None:
        list_path, attr = owner
        if list_path != spec.list_path:
            units = f"the objects of '{spec.list_path}'" if spec.is_objects else "samples"
            raise ValueError(
                f"`tags_field` '{name}' is an attribute of the objects of '{list_path}', but "
                f"the units are {units}; object attributes tag only their own objects "
                "(units='gt' reads the ground truth's attributes, units='pred' the "
                "predictions')"
            )
        if not attr:
            raise ValueError(f"`tags_field` '{name}' names no attribute of the objects")
        return UnitTagSource(name, _object_kind(samples, name), "object", attr)
    source = fpf.tag_source(samples, name)
    return UnitTagSource(source.field, source.kind, "image")


def _label_list_owner(samples, path):
    """``(list path, attribute)`` when ``path`` lies inside a label list field."""
    parts = path.split(".")
    for i in range(1, len(parts)):
        field = samples.get_field(".".join(parts[:i]))
        doc_type = getattr(field, "document_type", None)
        if doc_type is not None and issubclass(doc_type, fol._HasLabelList):
            list_name = doc_type._LABEL_LIST_FIELD
            list_path = ".".join(parts[:i]) + "." + list_name
            if i < len(parts) and parts[i] == list_name:
                return list_path, ".".join(parts[i + 1 :])
            return list_path, ".".join(parts[i:])
    return None


def _object_kind(samples, path) -> str:
    field = samples.get_field(path)
    if field is None:
        return "infer"  # dynamic attribute; checked when read
    if isinstance(field, fo.ListField) and isinstance(field.field, fo.StringField):
        return "strings"
    if isinstance(field, fo.StringField):
        return "string"
    if isinstance(field, fo.BooleanField):
        return "bool"
    doc_type = getattr(field, "document_type", None)
    if doc_type is not None and issubclass(doc_type, fol.Classifications):
        return "classifications"
    if doc_type is not None and issubclass(doc_type, fol.Classification):
        return "classification"
    raise TypeError(
        f"`tags_field` '{path}' must be an object attribute holding a list of strings, a "
        f"string, a bool, or a Classification(s); found {type(field).__name__}"
    )


# ------------------------------------------------------------------- read


@dataclass
class UnitInputs(fpf.TagColumns):
    """The arrays read for a search over units (the attributes of
    :class:`fiftyone_prime.integration.reading.fields.SearchInputs`, for units).

    Attributes:
        spec: the :class:`UnitSpec`
        tags: a CSR matrix of shape ``(num_used, len(tag_keys))``
        tag_keys: ``(field, label)`` per tag column
        labels: the group of each used unit
        correct: whether each used unit is right
        num_samples: how many samples the view has
        num_units: how many candidate units (objects, or samples) it has
        num_missing_label: units left out for lacking a label
        num_missing_prediction: units left out for lacking an outcome (not
            evaluated, or ``correct_field`` missing)
        num_crowd: crowd ground-truth objects left out
        sample_index: per used unit, the index of its sample in the view
        extra: values of the sample-level ``extra_paths`` asked for, per used unit
        sources: the :class:`UnitTagSource` of each tag field read
        kinds: per tag field, the kind read (undeclared attributes resolved)
        object_extra: values of the ``object_paths`` asked for, per used unit
        baseline_correct: multilabel units of a regression: whether each
            used unit is right under the baseline (else ``None``)
        group_codes: the labels as :class:`~fiftyone_prime.core.CodedGroups`,
            when the fast reader factorized them (rows sorted by group)
    """

    spec: UnitSpec
    tags: sp.csr_matrix
    tag_keys: list
    labels: np.ndarray
    correct: np.ndarray
    num_samples: int
    num_units: int
    num_missing_label: int
    num_missing_prediction: int
    num_crowd: int
    sample_index: np.ndarray
    extra: dict = dc_field(default_factory=dict)
    sources: list = dc_field(default_factory=list)
    kinds: dict = dc_field(default_factory=dict)
    object_extra: dict = dc_field(default_factory=dict)
    group_codes: Optional[CodedGroups] = None
    baseline_correct: Optional[np.ndarray] = None
    scores: Optional[np.ndarray] = None


def _score_array(values: np.ndarray, spec: UnitSpec) -> np.ndarray:
    """The units' scores as floats, NaN where missing.

    Raises:
        TypeError: naming the score and a value that is not a number
    """
    missing = values == None  # noqa: E711
    present = values[~missing]
    kinds = set(map(type, present.tolist()))
    bad = [k for k in kinds if k is bool or not issubclass(k, (int, float))]
    if bad:
        example = next(v for v in present.tolist() if type(v) in bad)
        raise TypeError(
            f"`score_field` {_describe_score(spec)}: a unit's value {example!r} is not a "
            "number; the score must be numeric (float or int) on every unit that has one"
        )
    out = np.full(len(values), np.nan)
    out[~missing] = present.astype(float)
    return out


def _describe_score(spec: UnitSpec) -> str:
    return repr(spec.score_field) if isinstance(spec.score_field, str) else "(an expression)"


def read_units(
    samples,
    spec: UnitSpec,
    sources: list[UnitTagSource],
    extra_paths: Sequence[str] = (),
    object_paths: Sequence[str] = (),
    *,
    fast: bool = True,
) -> UnitInputs:
    """Reads groups, outcomes and tags of the units in one pass.

    Without ``extra_paths`` and ``object_paths``, through the fast reader
    (:func:`fiftyone_prime.integration.reading.reader.read_columns`: each
    unit projected server-side to the reader's row of label, outcome and
    tags, as raw BSON), with the rows sorted by group and the groups coded;
    data outside the fast reader's shape (labels or tags that are not
    strings, an outcome that is not a boolean, an undeclared object
    attribute, a sample-level expression) and reads asking for other paths
    are read with ``values()`` (one aggregation for objects, one
    ``values()`` call otherwise, rows in the view's order), which accepts or
    refuses them with its own messages. Both give the same units, tags and
    counts.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`
        spec: the :class:`UnitSpec` from :func:`resolve_units`
        sources: the tag sources from :func:`unit_tag_sources`
        extra_paths (()): sample-level paths to read as well (``"id"``,
            ``"filepath"``), returned per used unit
        object_paths (()): object attributes to read as well (``"id"``,
            ``"bounding_box"``), object units only
        fast (True): False reads with ``values()`` whatever the data

    Returns:
        a :class:`UnitInputs`

    Raises:
        ValueError: if the view is empty, no unit is left, or an object
            attribute named as tags exists on no object
    """
    if fast and not extra_paths and not object_paths:
        inputs = _read_fast(samples, spec, sources)
        if inputs is not None:
            return inputs
    if spec.is_objects:
        cols = _read_objects(samples, spec, sources, extra_paths, object_paths)
        tag_start, extra_start = 2, 2 + len(sources)
    else:
        if object_paths:
            raise ValueError("`object_paths` need object units")
        paths: list[Any] = [spec.group_path, _outcome_path(spec)]
        tag_start = len(paths)
        paths += [s.read_path for s in sources]
        extra_start = len(paths)
        paths += list(extra_paths)
        if spec.is_grouped:
            cols = _Columns(samples.values(paths))
        else:  # one group: the outcome's column stands in for the groups'
            per_sample = samples.values(paths[1:])
            cols = _Columns([per_sample[0], *per_sample])
    num_samples = cols.num_samples
    if num_samples == 0:
        raise ValueError("The view is empty; there is nothing to search. Check the view's filters")

    if spec.is_objects:
        flat = [cols.flat(i) for i in range(tag_start)]
        sample_of = np.repeat(np.arange(num_samples), cols.lengths)
    else:
        flat = [cols.sample(i) for i in range(tag_start)]
        sample_of = np.arange(num_samples)
    num_units = len(flat[0])
    groups = np.asarray(flat[0], dtype=object) if num_units else np.zeros(0, object)
    if not (spec.is_objects or spec.is_grouped):
        groups = np.full(num_units, None, dtype=object)
    has_label = (groups != None) | (not (spec.is_objects or spec.is_grouped))  # noqa: E711
    scores = None
    baseline_correct = None
    if spec.is_scored:
        outcome = np.asarray(flat[1], dtype=object) if num_units else np.zeros(0, object)
        crowd = outcome == _CROWD if spec.crowd_attr else np.zeros(num_units, bool)
        scores = _score_array(np.where(crowd, None, outcome), spec)
        is_unit = np.isfinite(scores)
        correct = np.zeros(num_units, bool)
        num_not_finite = int((has_label & ~is_unit & ~crowd & ~np.isnan(scores)).sum())
        num_nan = int(sum(isinstance(v, float) and v != v for v in outcome[~crowd].tolist()))
        if num_not_finite or num_nan:
            logger.warning(
                "Leaving out %d %s whose score is NaN and %d whose score is infinite "
                "(counted with those without a score)",
                num_nan,
                spec.noun,
                num_not_finite,
            )
    elif spec.is_objects and _coded(spec):
        codes = np.fromiter(flat[1], np.int8, num_units)
        crowd = codes == _CROWD_CODE
        is_unit, correct = (codes == 0) | (codes == 1), codes == 0
        if spec.is_multilabel:  # a class listed again in a sample is the same unit
            crowd = codes == _REPEATED_CODE
            if spec.baseline_field is not None:
                baseline_correct = np.fromiter(cols.baseline, np.int8, num_units) == 0
            if has_label.any():
                fpf.check_label_types(groups[has_label], spec.group_field, _ROLES[spec.units])
    else:
        outcome = np.asarray(flat[1], dtype=object) if num_units else np.zeros(0, object)
        crowd = outcome == _CROWD if spec.crowd_attr else np.zeros(num_units, bool)
        is_unit, correct = _outcomes(spec, outcome)
    used, counts = _unit_counts(spec, num_samples, has_label, is_unit, crowd)
    used_idx = np.flatnonzero(used)
    blocks, keys, kinds = [], [], {}
    for i, source in enumerate(sources):
        if source.level == "image" or not spec.is_objects:
            lists = _image_lists(cols.sample(tag_start + i), source)
            matrix, labels = _csr(lists, num_samples, source.field)
            matrix = matrix[sample_of[used_idx]]
            kinds[source.field] = source.kind
        else:
            kind, lists = _object_lists(cols.flat(tag_start + i), source, num_units)
            matrix, labels = _csr(lists, num_units, source.field)
            matrix = matrix[used_idx]
            kinds[source.field] = kind
        blocks.append(matrix)
        keys.extend((source.field, label) for label in labels)
    tags = sp.hstack(blocks, format="csr") if blocks else sp.csr_matrix((len(used_idx), 0), bool)
    tags.sum_duplicates()
    extra = {
        path: np.asarray(cols.sample(extra_start + i), dtype=object)[sample_of[used_idx]]
        for i, path in enumerate(extra_paths)
    }
    return UnitInputs(
        spec=spec,
        tags=tags.astype(bool),
        tag_keys=keys,
        labels=_label_array(groups[used_idx].tolist()),
        correct=correct[used_idx],
        scores=None if scores is None else scores[used_idx],
        sample_index=sample_of[used_idx],
        **counts,
        extra=extra,
        sources=list(sources),
        kinds=kinds,
        object_extra={
            path: np.asarray(cols.flat(extra_start + len(extra_paths) + k), dtype=object)[used_idx]
            for k, path in enumerate(object_paths)
        },
        baseline_correct=None if baseline_correct is None else baseline_correct[used_idx],
    )


# The fast read: each unit is a row of the reader's shape ({_id, g, p, b, t0...}):
# g its group, p its outcome as text (the evaluation's value, or "true"/"false"),
# b a mark on the rows that are not units (a crowd object, a sample without objects).
_CROWD_MARK = "crowd"
_EMPTY_MARK = "empty"


def _read_fast(samples, spec: UnitSpec, sources, connections=None) -> Optional[UnitInputs]:
    """:func:`read_units` through the fast reader, or None when the data or
    the outcome lie outside its shape (read with values() then)."""
    from pymongo.errors import OperationFailure

    stages, read = _fast_stages(samples, spec, sources)
    if stages is None:
        return None
    try:
        is_list = [s.kind not in ("classification", "string") for s in read]
        parts = reader.read_columns(samples, stages, is_list, connections=connections)
    except OperationFailure as e:
        logger.debug("The projected read of the units failed (%s); reading with values()", e)
        return None
    if parts is None:
        logger.debug("Labels, outcomes or tags of another shape; reading with values()")
        return None
    classes, _ = reader.label_table(parts)
    gt, pred = reader.label_codes(parts, "gt"), reader.label_codes(parts, "pred")
    ids = np.concatenate([part.ids[: part.num_rows] for part in parts])
    n_rows = len(ids)

    def marked(values) -> np.ndarray:  # per code (and -1: none), whether it is one of values
        return np.array([c in values for c in classes] + [False])

    if spec.is_objects:
        mark = reader.label_codes(parts, "base")
        empty, crowd = marked({_EMPTY_MARK})[mark], marked({_CROWD_MARK})[mark]
        starts = np.ones(n_rows, dtype=bool)  # a unit's sample: rows of one sample are adjacent
        starts[1:] = (ids[1:] != ids[:-1]).any(axis=1)
        sample_of = np.cumsum(starts) - 1
    else:
        empty = crowd = np.zeros(n_rows, dtype=bool)
        sample_of = np.arange(n_rows)
    num_samples = int(sample_of[-1]) + 1 if n_rows else 0
    if num_samples == 0:
        raise ValueError("The view is empty; there is nothing to search. Check the view's filters")
    right_values, wrong_values = _fast_outcome_values(spec)
    right = marked(right_values)[pred]
    is_unit = right | marked(wrong_values)[pred]
    baseline_right = None
    if spec.is_multilabel and spec.baseline_field is not None:  # p: "<new><baseline>"
        baseline_right = marked({v for v in right_values | wrong_values if v[1] == "r"})[pred]
    units = np.flatnonzero(~empty)  # rows that are units
    used, counts = _unit_counts(spec, num_samples, gt[units] >= 0, is_unit[units], crowd[units])
    entries = reader.tag_entries(parts, [source.field for source in sources])
    rows, tags, keys, groups = reader.rows_by_class(
        units[used], gt, classes, entries, keep_unused_tags=True
    )
    return UnitInputs(
        spec=spec,
        tags=tags,
        tag_keys=keys,
        labels=coded_labels(groups),
        correct=right[rows],
        sample_index=sample_of[rows],
        **counts,
        extra={"_id": ids[rows]},
        sources=list(sources),
        kinds={source.field: source.kind for source in read},
        group_codes=groups,
        baseline_correct=None if baseline_right is None else baseline_right[rows],
    )


def _fast_stages(samples, spec: UnitSpec, sources):
    """The stages that turn each unit into a row of the reader's shape, and
    the tag sources as read (undeclared attributes' kinds probed);
    ``(None, None)`` when the fast reader cannot read these units (a score
    per unit, which its text outcomes do not carry, is read with values())."""
    if spec.is_scored or (not spec.is_objects and spec.correct_expression is not None):
        return None, None
    sources = [_probed(samples, spec, s) for s in sources]
    if any(s.kind is None for s in sources):
        return None, None
    image_tags = {
        f"t{i}": "$" + fpf.TAG_KINDS[s.kind].format(field=samples._handle_db_field(s.field))
        for i, s in enumerate(sources)
        if s.level == "image"
    }
    if spec.is_multilabel:
        return _multilabel_stages(spec, image_tags), sources
    if not spec.is_objects:
        group = f"${samples._handle_db_field(spec.group_field)}.label"
        if isinstance(spec.correct_field, str):
            value = "$" + samples._handle_db_field(spec.correct_field)
        else:
            value = "$" + spec.eval_key
        project = {"_id": True, "g": group, "p": _fast_outcome(spec, value), **image_tags}
        return [{"$project": project}], sources
    var = "$$u."
    if spec.correct_expression is not None:
        value = {"$let": {"vars": {"unit": "$$u"}, "in": spec.correct_field["$expr"]}}
    elif isinstance(spec.correct_field, str):
        value = var + spec._relative(spec.correct_field)
    else:
        value = var + spec.eval_key
    unit: dict[str, Any] = {"_id": "$_id", "g": var + "label", "p": _fast_outcome(spec, value)}
    if spec.crowd_attr:
        crowd = {"$ifNull": [var + spec.crowd_attr, False]}
        unit["p"] = {"$cond": [crowd, None, unit["p"]]}
        unit["b"] = {"$cond": [crowd, _CROWD_MARK, None]}
    for i, s in enumerate(sources):
        unit[f"t{i}"] = image_tags[f"t{i}"] if s.level == "image" else _fast_object_tags(s)
    # A sample without objects is one row marked empty (it counts, and so do its tags)
    empty = {"_id": "$_id", "b": _EMPTY_MARK, **image_tags}
    each = {"$map": {"input": {"$ifNull": ["$" + spec.list_path, []]}, "as": "u", "in": unit}}
    rows = {"$let": {"vars": {"m": each}, "in": {"$cond": [{"$size": "$$m"}, "$$m", [empty]]}}}
    return [
        {"$project": {"_id": False, "u": rows}},
        {"$unwind": "$u"},
        {"$replaceRoot": {"newRoot": "$u"}},
    ], sources


def _probe_kind(samples, spec: UnitSpec, source) -> Optional[str]:
    """The kind of an undeclared attribute as its first value shows it
    (``"strings"``, ``"string"`` or ``"bool"``), or None (read with values()).
    The fast reader checks every other value against it: a value of another
    shape sends the read to values(), which resolves the kind from them all."""
    path = "$" + spec.list_path + "." + source.attr
    pipeline = [
        *samples._pipeline(),
        {"$project": {"_id": False, "v": path}},
        {"$unwind": "$v"},
        {"$match": {"v": {"$ne": None}}},
        {"$limit": 1},
        {"$project": {"t": {"$type": "$v"}}},
    ]
    first = next(samples._dataset._sample_collection.aggregate(pipeline), None)
    return {"array": "strings", "string": "string", "bool": "bool"}.get(first and first["t"])


def _probed(samples, spec: UnitSpec, source):
    """``source`` with an undeclared attribute's kind as probed."""
    if source.kind != "infer":
        return source
    return UnitTagSource(
        source.field, _probe_kind(samples, spec, source), source.level, source.attr
    )


def _fast_outcome(spec: UnitSpec, value):
    """``p`` of a unit: the evaluation's value as it is (a string), or a
    boolean outcome as ``"true"``/``"false"`` (null when missing; 0, which
    the reader does not read, for another value: :func:`_outcomes` reads
    those)."""
    if _coded(spec) or (spec.eval_method == "binary" and spec.correct_field is None):
        return value
    branches = [
        {"case": {"$eq": [value, True]}, "then": "true"},
        {"case": {"$eq": [value, False]}, "then": "false"},
        {"case": {"$eq": [{"$ifNull": [value, None]}, None]}, "then": None},
    ]
    return {"$switch": {"branches": branches, "default": 0}}


def _fast_outcome_values(spec: UnitSpec) -> tuple[set, set]:
    """The values of ``p`` (:func:`_fast_outcome`) that make a right and a
    wrong unit, as :func:`_outcomes` reads them."""
    if spec.is_multilabel:  # :func:`_multilabel_stages`: "r"/"w", per model compared
        models = ("r", "w") if spec.baseline_field is None else ("rr", "rw", "wr", "ww")
        return {m for m in models if m[0] == "r"}, {m for m in models if m[0] == "w"}
    if _coded(spec):
        values, right = _DETECTION_OUTCOMES[spec.units]
        return {right}, set(values) - {right}
    if spec.eval_method == "binary" and spec.correct_field is None:
        return set(_BINARY_RIGHT), {"TP", "TN", "FP", "FN"} - set(_BINARY_RIGHT)
    return {"true"}, {"false"}


def _fast_object_tags(source: UnitTagSource):
    """The tags of an object attribute, as the fast reader reads them."""
    value = "$$u." + source.attr
    if source.kind == "bool":  # another value (of an undeclared attribute) goes to values()
        name = source.attr.rsplit(".", 1)[-1]
        other = {"$cond": [{"$in": [{"$type": value}, ["bool", "null", "missing"]]}, None, 0]}
        return {"$cond": [{"$eq": [value, True]}, [name], other]}
    return "$$u." + OBJECT_TAG_KINDS[source.kind].format(path=source.attr)


def _unit_counts(spec: UnitSpec, num_samples: int, has_label, is_unit, crowd):
    """Which units are used (a label, an outcome, not a crowd), and the
    counts of :class:`UnitInputs`; logs what is left out.

    Raises:
        ValueError: if no unit is left
    """
    used = has_label & is_unit & ~crowd
    num_units = len(used)
    if not used.any():
        raise ValueError(
            f"None of the {num_units} {spec.noun} in the view is a unit with a group and an "
            f"outcome ({_describe_outcome(spec)}); nothing to search"
        )
    counts = dict(
        num_samples=num_samples,
        num_units=num_units,
        num_missing_label=int((~has_label).sum()),
        num_missing_prediction=int((has_label & ~is_unit & ~crowd).sum()),
        num_crowd=int((has_label & crowd).sum()),
    )
    if spec.is_multilabel:  # "crowd" marks a class listed again in its sample: the same unit
        repeated, counts["num_crowd"] = counts["num_crowd"], 0
        if repeated:
            logger.info("%d classes listed again in their sample are counted once", repeated)
    if counts["num_missing_label"] or counts["num_missing_prediction"] or counts["num_crowd"]:
        logger.info(
            "Leaving out %d %s without a label, %d without an outcome and %d crowd objects",
            counts["num_missing_label"],
            spec.noun,
            counts["num_missing_prediction"],
            counts["num_crowd"],
        )
    return used, counts


class _Columns:
    """The values read, per path: per sample (as ``values()`` returns them)
    and, for object paths, flat over the objects."""

    def __init__(self, per_sample: list, flat=None, lengths=None, baseline=None):
        self._per_sample = per_sample
        self._flat = dict(flat or {})
        self.lengths = lengths
        self.baseline = baseline  # multilabel regressions: the baseline's outcome codes

    @property
    def num_samples(self) -> int:
        if self.lengths is not None:
            return len(self.lengths)
        return len(self._per_sample[0])

    def sample(self, i: int) -> list:
        """Column ``i`` per sample (a sample-level path)."""
        return self._per_sample[i]

    def flat(self, i: int) -> list:
        """Column ``i`` per object, over all samples in order."""
        return self._flat[i]


def _read_objects(samples, spec: UnitSpec, sources, extra_paths, object_paths=()) -> _Columns:
    """Reads the objects' group, outcome and tags (and the samples' image
    tags and ``extra_paths``) in one aggregation.

    Columns: 0 the group, 1 the outcome (:data:`_CROWD` for crowd objects),
    then one per tag source, then one per extra path. Each object column is
    projected server-side as one array per sample (a missing attribute stays
    ``None`` in its place) and flattened here; the crowd test runs
    server-side too. Faster than ``values()``, which pays for its own field
    handling on every nested value.
    """
    var = "$$u."

    def each(expr):
        return {"$map": {"input": {"$ifNull": ["$" + spec.list_path, []]}, "as": "u", "in": expr}}

    outcome = spec.correct_expression
    crowd_value = _CROWD
    if spec.is_multilabel:
        pass  # its columns are multilabel_columns'
    elif spec.is_scored:
        outcome = _unit_score(spec, var)
    elif outcome is not None:
        outcome = {"$let": {"vars": {"unit": "$$u"}, "in": spec.correct_field["$expr"]}}
    elif _coded(spec):
        # 0 right, 1 wrong, -1 not a unit (not evaluated): small ints decode fast
        values, right = _DETECTION_OUTCOMES[spec.units]
        wrong = next(v for v in values if v != right)
        outcome = {"$indexOfArray": [[right, wrong], var + spec.eval_key]}
        crowd_value = _CROWD_CODE
    else:
        outcome = var + spec._relative(_outcome_path(spec))
    if spec.crowd_attr:
        crowd = {"$ifNull": [var + spec.crowd_attr, False]}
        outcome = {"$cond": [crowd, crowd_value, outcome]}
    if spec.is_multilabel:
        project: dict[str, Any] = {"_id": 0, **multilabel_columns(spec)}
    else:
        project = {"_id": 0, "c0": each(var + "label"), "c1": each(outcome)}
    object_cols = [0, 1]
    for i, source in enumerate(sources):
        if source.level == "object":
            path = source.read_path[len(spec.list_path) + 1 :]
            project[f"c{2 + i}"] = each(var + path)
            object_cols.append(2 + i)
        else:
            project[f"c{2 + i}"] = "$" + source.read_path
    for k, path in enumerate(extra_paths):
        value = {"$toString": "$_id"} if path == "id" else "$" + path
        project[f"c{2 + len(sources) + k}"] = value
    first_object_extra = 2 + len(sources) + len(extra_paths)
    for k, path in enumerate(object_paths):
        value = {"$toString": "$$u._id"} if path == "id" else var + path
        project[f"c{first_object_extra + k}"] = each(value)
        object_cols.append(first_object_extra + k)
    num_cols = first_object_extra + len(object_paths)
    docs = _aggregate_in_parts(samples, {"$project": project})
    per_sample = [[d.get(f"c{i}") for d in docs] for i in range(num_cols)]
    lengths = np.fromiter(map(len, per_sample[0]), np.int64, len(docs))
    flat = {i: list(chain.from_iterable(per_sample[i])) for i in object_cols}
    baseline = None
    if spec.is_multilabel and spec.baseline_field is not None:
        baseline = list(chain.from_iterable(d["cb"] for d in docs))
    return _Columns(per_sample, flat, lengths, baseline)


#: Multilabel units: the outcome code of a class listed again in its sample
#: (the same unit, counted once).
_REPEATED_CODE = 3
#: The argument that names a multilabel run's group field, by units.
_ROLES = {GT: "label_field", PRED: "pred_field"}


def multilabel_units(spec: UnitSpec, per_unit) -> dict:
    """An expression, per sample, of the list ``[per_unit(codes) for each
    unit]`` of a multilabel classifier's units, where ``$$u`` is the unit's
    class and ``codes`` (``{"p": ...}``, and ``"b"`` with a baseline) its
    outcome code under each model compared: 0 right, 1 wrong, -1 none (the
    sample lacks the ground truth or a prediction), :data:`_REPEATED_CODE`
    (a class listed again: the same unit).

    A unit is right under a model when the model's prediction of the class's
    presence (a prediction counts when its confidence is at least the
    threshold) is the ground truth's. The units are the ground truth's
    classes (``"gt"``) or the classes the compared models predict
    (``"pred"``), each once per sample.
    """

    def listed(field):
        return {"$ifNull": [f"${field}.classifications", []]}

    def predicted(field):
        items = listed(field)
        if spec.confidence_thresh is not None:
            cond = {"$gte": ["$$c.confidence", spec.confidence_thresh]}
            items = {"$filter": {"input": items, "as": "c", "cond": cond}}
        return {"$map": {"input": items, "as": "c", "in": "$$c.label"}}

    models = {"p": spec.pred_field}
    if spec.baseline_field is not None:
        models["b"] = spec.baseline_field
    labels = {"g": {"$map": {"input": listed(spec.gt_field), "as": "c", "in": "$$c.label"}}}
    labels.update({k: predicted(f) for k, f in models.items()})
    units = "$$g" if spec.units == GT else {"$concatArrays": [f"$${k}" for k in models]}
    present = {"$in": ["$$u", "$$g"]}
    has_all = {
        "$and": [
            {"$not": [{"$in": [{"$type": f"${f}"}, ["missing", "null"]]}]}
            for f in (spec.gt_field, *models.values())
        ]
    }
    first = {"$eq": [{"$indexOfArray": ["$$units", "$$u"]}, "$$i"]}

    def code(model):
        right = {"$eq": [{"$in": ["$$u", f"$${model}"]}, present]}
        code = {"$cond": [first, {"$cond": [right, 0, 1]}, _REPEATED_CODE]}
        return {"$cond": [has_all, code, -1]}

    each = {
        "$map": {
            "input": {"$range": [0, {"$size": "$$units"}]},
            "as": "i",
            "in": {
                "$let": {
                    "vars": {"u": {"$arrayElemAt": ["$$units", "$$i"]}},
                    "in": per_unit({k: code(k) for k in models}),
                }
            },
        }
    }
    return {"$let": {"vars": labels, "in": {"$let": {"vars": {"units": units}, "in": each}}}}


def multilabel_columns(spec: UnitSpec) -> dict:
    """The projection of a multilabel classifier's units for
    :func:`_read_objects`, one array per sample: ``c0`` each unit's class,
    ``c1`` its outcome code and, with a baseline, ``cb`` its code under the
    baseline (see :func:`multilabel_units`)."""
    out = {
        "c0": multilabel_units(spec, lambda codes: "$$u"),
        "c1": multilabel_units(spec, lambda codes: codes["p"]),
    }
    if spec.baseline_field is not None:
        out["cb"] = multilabel_units(spec, lambda codes: codes["b"])
    return out


def _multilabel_stages(spec: UnitSpec, image_tags: dict) -> list:
    """The fast reader's stages for a multilabel classifier: a row per unit,
    ``g`` its class, ``p`` its outcome as ``"r"``/``"w"`` under the model (a
    second letter for the baseline; null without an outcome), ``b`` the
    crowd mark on a class listed again; a sample without units is one row
    marked empty (it counts, and so do its tags)."""

    def letter(code):
        return {"$switch": {"branches": [
            {"case": {"$eq": [code, 0]}, "then": "r"},
            {"case": {"$eq": [code, 1]}, "then": "w"},
        ], "default": None}}  # fmt: skip

    def row(codes):
        outcome = letter(codes["p"])
        if "b" in codes:  # null when either is
            outcome = {"$concat": [outcome, letter(codes["b"])]}
        repeated = {"$eq": [codes["p"], _REPEATED_CODE]}
        return {
            "_id": "$_id",
            "g": "$$u",
            "p": outcome,
            "b": {"$cond": [repeated, _CROWD_MARK, None]},
            **image_tags,
        }

    empty = {"_id": "$_id", "b": _EMPTY_MARK, **image_tags}
    rows = {
        "$let": {
            "vars": {"m": multilabel_units(spec, row)},
            "in": {"$cond": [{"$size": "$$m"}, "$$m", [empty]]},
        }
    }
    return [
        {"$project": {"_id": False, "u": rows}},
        {"$unwind": "$u"},
        {"$replaceRoot": {"newRoot": "$u"}},
    ]


#: Samples per part when a whole dataset is read in parallel ``_id`` ranges.
_PART_SIZE = 100_000
_MAX_PARTS = 2


def _aggregate_in_parts(samples, stage: dict) -> list:
    """The documents of ``samples`` passed through ``stage``, in ``_id`` order.

    A whole dataset (no view stages) of more than :data:`_PART_SIZE`
    samples is read as up to :data:`_MAX_PARTS` ``_id`` ranges at once
    (mongod scans and encodes them in parallel; the index finds each range);
    anything else in one aggregation.
    """
    from bson import ObjectId

    dataset = samples._root_dataset
    n = len(samples) if samples is dataset else 0
    parts = min(_MAX_PARTS, n // _PART_SIZE)
    if parts < 2:
        return fop.aggregate(samples, post_pipeline=[stage])
    coll = dataset._sample_collection
    ends = [
        next(iter(coll.find({}, {"_id": 1}).sort("_id", order).limit(1)))["_id"]
        for order in (1, -1)
    ]
    lo, hi = (int.from_bytes(e.binary, "big") for e in ends)
    cuts = [ObjectId((lo + (hi - lo) * k // parts).to_bytes(12, "big")) for k in range(1, parts)]
    ranges = list(zip([None, *cuts], [*cuts, None]))

    def read(bounds):
        pipeline = [*reader.id_range_match(bounds), {"$sort": {"_id": 1}}, stage]
        return fop.aggregate(samples, pipeline=pipeline)

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(ranges)) as pool:
        return list(chain.from_iterable(pool.map(read, ranges)))


def _unit_score(spec: UnitSpec, var: str) -> Any:
    """The aggregation expression of an object's score (``var``: the object's
    variable, ``"$$u."``): ``None`` for objects that are no units of the
    evaluation, :attr:`UnitSpec.score_fill` where the score is missing."""
    if isinstance(spec.score_field, dict):
        score = {"$let": {"vars": {"unit": var[:-1]}, "in": spec.score_field["$expr"]}}
    else:
        score = var + spec._relative(spec.score_field)
    if spec.score_fill is not None:
        score = {"$ifNull": [score, spec.score_fill]}
    if spec.eval_type == DETECTION:
        values, _ = _DETECTION_OUTCOMES[spec.units]
        score = {"$cond": [{"$in": [var + spec.eval_key, list(values)]}, score, None]}
    return score


def _outcome_path(spec: UnitSpec):
    if spec.is_scored:
        if isinstance(spec.score_field, str) and spec.score_fill is None:
            return spec.score_field
        expr = spec.score_expression
        return F(spec.list_path).map(expr) if spec.is_objects else expr
    expr = spec.correct_expression
    if expr is not None:
        if spec.is_objects:
            return F(spec.list_path).map(expr)
        return expr
    if isinstance(spec.correct_field, str):
        return spec.correct_field
    if spec.is_objects:
        return f"{spec.list_path}.{spec.eval_key}"
    return spec.eval_key


def _describe_outcome(spec: UnitSpec) -> str:
    if spec.is_multilabel:
        return f"'{spec.gt_field}' against '{spec.pred_field}'"
    if spec.correct_field is not None:
        return "correct_field"
    return f"evaluation '{spec.eval_key}'"


def _coded(spec: UnitSpec) -> bool:
    """Whether the reader codes the outcomes as small ints (detection
    evaluations, multilabel classifiers)."""
    return (
        spec.eval_type in (DETECTION, MULTILABEL)
        and spec.correct_field is None
        and not spec.is_scored
    )


def _outcomes(spec: UnitSpec, outcome: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which values make a unit, and which of those are right."""
    if spec.correct_field is not None or spec.eval_type == CLASSIFICATION:
        if spec.eval_method == "binary" and spec.correct_field is None:
            is_unit = np.isin(outcome, ["TP", "TN", "FP", "FN"])
            return is_unit, np.isin(outcome, list(_BINARY_RIGHT))
        is_unit = outcome != None  # noqa: E711
        return is_unit, np.fromiter((bool(v) for v in outcome), bool, len(outcome))
    values, right = _DETECTION_OUTCOMES[spec.units]
    return np.isin(outcome, list(values)), outcome == right


def _flatten(per_sample) -> list:
    return list(chain.from_iterable(x for x in per_sample if x))


def _image_lists(per_sample, source: UnitTagSource) -> list:
    if source.kind == "classification":
        return [None if x is None else (x,) for x in per_sample]
    return per_sample


def _object_lists(flat: list, source: UnitTagSource, n: int) -> tuple[str, list]:
    """Per object, its tags from an attribute; resolves undeclared kinds."""
    kind = source.kind
    if kind == "infer":
        kind = _infer_kind(flat, source.field)
        if kind in ("classification", "classifications"):  # undeclared: read as dicts
            return kind, [_as_labels(v, source) for v in flat]
    if kind in ("strings", "classifications"):
        return kind, flat
    if kind in ("string", "classification"):
        return kind, [None if v is None else (v,) for v in flat]
    if kind == "bool":
        name = source.attr.rsplit(".", 1)[-1]
        return kind, [(name,) if v is True else None for v in flat]
    # mixed undeclared values
    return kind, [_as_labels(v, source) for v in flat]


def _infer_kind(flat: list, path: str) -> str:
    first = next((v for v in flat if v is not None), None)
    if first is None:
        raise ValueError(
            f"`tags_field` '{path}': no object in the view has this attribute; check the "
            "path (object attributes are named '<field>.detections.<attribute>')"
        )
    kinds = set(map(type, flat))
    kinds.discard(type(None))
    if kinds <= {str}:
        return "string"
    if kinds <= {bool}:
        return "bool"
    if kinds <= {list, tuple}:
        return "strings"  # _csr checks that the distinct items are strings
    if kinds <= {dict, fol.Classification, fol.Classifications}:
        # An undeclared Classification(s) reads as its document (a dict)
        docs = [v for v in flat if v is not None]
        if all(_doc_kind(v) == "classification" for v in docs):
            return "classification"
        if all(_doc_kind(v) == "classifications" for v in docs):
            return "classifications"
    return "mixed"


def _doc_kind(value) -> Optional[str]:
    """``"classification"`` or ``"classifications"`` for a label document
    (or its dict), else ``None``."""
    if isinstance(value, fol.Classifications):
        return "classifications"
    if isinstance(value, fol.Classification):
        return "classification"
    cls = value.get("_cls")
    if cls == "Classifications" or (cls is None and "classifications" in value):
        return "classifications"
    if cls == "Classification" or (cls is None and "label" in value):
        return "classification"
    return None


def _as_labels(value, source):
    if value is None or value is False:
        return None
    if value is True:
        return (source.attr.rsplit(".", 1)[-1],)
    if isinstance(value, str):
        return (value,)
    if isinstance(value, fol.Classifications):
        return tuple(c.label for c in value.classifications if c.label)
    if isinstance(value, fol.Classification):
        return (value.label,) if value.label else None
    if isinstance(value, dict):
        if "classifications" in value:
            return tuple(c.get("label") for c in value["classifications"] if c.get("label"))
        return (value["label"],) if value.get("label") else None
    if isinstance(value, (list, tuple)):
        return tuple(str(x) for x in value if x is not None)
    raise TypeError(
        f"`tags_field` '{source.field}': an object's value {value!r} is not a list of "
        "strings, a string, a bool or a Classification(s)"
    )


#: The tag matrix of per-row label lists (one builder for every reader).
_csr = fpf.label_lists_csr


def coded_labels(groups: CodedGroups) -> np.ndarray:
    """The labels of coded groups as :func:`_label_array` gives them."""
    return _label_array(list(groups.labels), groups.codes)


def _label_array(values: list, codes: Optional[np.ndarray] = None) -> np.ndarray:
    """Group labels as a fixed-width string array when they are all strings
    (as the core turns them anyway, skipping its per-label checks), else as
    objects. Built from the distinct labels (a dict pass), not per label;
    given ``codes``, ``values`` are the distinct labels and ``codes`` each
    row's index into them."""
    if codes is None:
        index: dict = {}
        codes = np.fromiter(
            (index.setdefault(g, len(index)) for g in values), np.int64, len(values)
        )
        uniques = list(index)
    else:
        uniques = values
    # Fixed-width numpy strings drop trailing NULs ('cat\x00' would become 'cat')
    if set(map(type, uniques)) <= {str} and not any(u.endswith("\x00") for u in uniques):
        return np.array(uniques, dtype=str)[codes] if uniques else np.zeros(0, str)
    out = np.empty(len(uniques), dtype=object)
    out[:] = uniques
    return out[codes]
