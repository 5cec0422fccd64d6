"""Validating and reading the fields a failure-mode search needs, in bulk."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from functools import cached_property
from itertools import chain, pairwise
from typing import Optional, Union

import numpy as np
import scipy.sparse as sp

import fiftyone as fo
from fiftyone import ViewField as F

from fiftyone_prime.core.groups import CodedGroups
from fiftyone_prime.core.measure import ABSENT, TagSetQuery

logger = logging.getLogger(__name__)

#: Field kinds whose labels can serve as tags, and the path of those labels.
TAG_KINDS = {
    "classifications": "{field}.classifications.label",
    "detections": "{field}.detections.label",
    "classification": "{field}.label",
    "strings": "{field}",
}


@dataclass(frozen=True)
class TagSource:
    """A field whose labels serve as tags.

    Attributes:
        field: the field name
        kind: one of :data:`TAG_KINDS`
    """

    field: str
    kind: str

    @property
    def label_path(self) -> str:
        """The path of the field's tag strings."""
        return TAG_KINDS[self.kind].format(field=self.field)

    def match_expression(self, labels: Sequence[str]):
        """An expression that matches samples carrying every label.

        The labels are MongoDB literals, so a label such as ``"$snow"`` or
        ``"$ground_truth.label"`` is compared as text, never read as a field
        path.
        """
        labels = list(labels)
        if self.kind == "classification":
            expr = F(self.label_path) == F.literal(labels[0])
            for label in labels[1:]:
                expr &= F(self.label_path) == F.literal(label)
            return expr
        return F(self.label_path).if_null([]).contains(F.literal(labels), all=True)


class TagColumns:
    """What search inputs (:class:`SearchInputs`, and units'
    :class:`~fiftyone_prime.integration.reading.units.UnitInputs`) derive
    from their ``labels`` and ``tag_keys``."""

    labels: np.ndarray
    tag_keys: list

    @property
    def num_used(self) -> int:
        """The number of samples (or units) searched."""
        return len(self.labels)

    @cached_property
    def column_of(self) -> dict:
        """The column of each ``(field, label)`` tag key."""
        return {key: j for j, key in enumerate(self.tag_keys)}

    def query_of(self, mode) -> TagSetQuery:
        """A saved failure mode's group (class) and the columns of its tags
        here (:data:`ABSENT` for tags this data lacks)."""
        columns = tuple(
            self.column_of.get(k, ABSENT) for k in zip(mode.tag_fields, mode.tag_labels)
        )
        return TagSetQuery(mode.group, columns)

    #: The labels as :class:`~fiftyone_prime.core.CodedGroups`, when the
    #: reader factorized them (the search then skips sorting them).
    group_codes: Optional[CodedGroups] = None

    @property
    def groups(self) -> Union[CodedGroups, np.ndarray]:
        """The rows' classes as the search takes them: coded when known."""
        return self.labels if self.group_codes is None else self.group_codes


@dataclass
class SearchInputs(TagColumns):
    """The arrays read from a view for a search.

    Attributes:
        tags: a CSR matrix of shape ``(num_used, len(tag_keys))``
        tag_keys: ``(field, label)`` per tag column
        labels: the ground-truth label of each used sample
        correct: whether each used sample's prediction matches its label
        num_samples: how many samples the view has
        num_missing_label: samples left out for lacking a ground-truth label
        num_missing_prediction: samples left out for lacking a prediction
        extra: values of the ``extra_paths`` asked for, for the used samples
        sources: the :class:`TagSource` of each tag field read
        group_codes: the labels as :class:`~fiftyone_prime.core.CodedGroups`,
            when the reader factorized them (the search then skips sorting them)
    """

    tags: sp.csr_matrix
    tag_keys: list
    labels: np.ndarray
    correct: np.ndarray
    num_samples: int
    num_missing_label: int
    num_missing_prediction: int
    extra: dict = dc_field(default_factory=dict)
    sources: list = dc_field(default_factory=list)
    group_codes: Optional[CodedGroups] = None

    def class_names(self) -> list[str]:
        """The distinct classes of the used samples, as sorted text."""
        if self.group_codes is not None:
            return sorted(str(x) for x in self.group_codes.labels)
        return sorted({str(x) for x in self.labels})


def class_codes(groups: Union[CodedGroups, np.ndarray]) -> tuple[list[str], np.ndarray]:
    """The class names as sorted text and each row's code into them, from
    :attr:`SearchInputs.groups` (coded classes are not sorted again)."""
    if isinstance(groups, CodedGroups):
        return [str(x) for x in groups.labels], groups.codes
    labels = np.asarray(groups)
    try:  # as Python values: fixed-width numpy strings would drop trailing NULs
        names, codes = np.unique(labels, return_inverse=True)
    except TypeError:  # labels of several types, compared as text
        names, codes = np.unique(labels.astype(str), return_inverse=True)
    text = [str(x) for x in names.tolist()]
    if any(a >= b for a, b in pairwise(text)):  # numbers ("10" < "2" as text), or 1 and "1"
        names, codes = np.unique(np.asarray(text, dtype=object)[codes.ravel()], return_inverse=True)
        text = names.tolist()
    return text, codes.ravel()


def _field_or_raise(samples, field_name: str, role: str):
    if not isinstance(field_name, str) or not field_name:
        raise TypeError(f"`{role}` must be a field name; got {field_name!r}")
    field = samples.get_field(field_name)
    if field is None:
        available = ", ".join(sorted(samples.get_field_schema().keys()))
        raise ValueError(
            f"`{role}`: the field '{field_name}' does not exist on dataset "
            f"'{samples._root_dataset.name}'. Available fields: {available}"
        )
    return field


def _describe_field(field) -> str:
    if isinstance(field, fo.EmbeddedDocumentField):
        return f"{type(field).__name__}({field.document_type.__name__})"
    if isinstance(field, fo.ListField) and field.field is not None:
        return f"ListField({type(field.field).__name__})"
    return type(field).__name__


def validate_classification_field(samples, field_name: str, role: str) -> None:
    """Raises unless ``field_name`` is a :class:`fiftyone.core.labels.Classification` field."""
    field = _field_or_raise(samples, field_name, role)
    if not (
        isinstance(field, fo.EmbeddedDocumentField)
        and issubclass(field.document_type, fo.Classification)
    ):
        raise TypeError(
            f"`{role}`: the field '{field_name}' must be a Classification field; "
            f"found {_describe_field(field)}"
        )


def resolve_eval_key(samples, eval_key: str, role: str = "eval_key") -> tuple[str, str]:
    """The ``(gt_field, pred_field)`` of a classification evaluation run.

    Raises:
        ValueError: if there is no such evaluation, it is not of
            ``Classification`` predictions, or it is a top-k evaluation (its
            outcome is not a label comparison)
    """
    root = samples._root_dataset
    if eval_key not in root.list_evaluations():
        raise ValueError(
            f"`{role}`: dataset '{root.name}' has no evaluation '{eval_key}'. "
            f"Evaluations: {root.list_evaluations() or 'none'}"
        )
    config = root.get_evaluation_info(eval_key).config
    if getattr(config, "method", None) == "top-k":
        # Its outcome (the label among the top k) is not the label comparison
        # these runs measure; reading top-1 labels instead would answer
        # another question than find_failure_modes(eval_key=...) does.
        raise ValueError(
            f"`{role}`: evaluation '{eval_key}' is a top-k evaluation, whose outcome is not "
            "a comparison of the predicted label; checks and regressions compare labels. "
            "Pass the prediction field itself (pred_field) to compare top-1 labels, or "
            "search the evaluation with find_failure_modes(eval_key=...)"
        )
    gt, pred = getattr(config, "gt_field", None), getattr(config, "pred_field", None)
    if not gt or not pred:
        raise ValueError(f"`{role}`: evaluation '{eval_key}' names no gt_field and pred_field")
    validate_classification_field(samples, pred, role)
    return gt, pred


def tag_source(samples, field_name: str) -> TagSource:
    """Returns how to read tags from a field, or raises if it cannot hold tags."""
    field = _field_or_raise(samples, field_name, "tags_field")
    if isinstance(field, fo.EmbeddedDocumentField):
        doc_type = field.document_type
        for kind, cls in (
            ("classifications", fo.Classifications),
            ("detections", fo.Detections),
            ("classification", fo.Classification),
        ):
            if issubclass(doc_type, cls):
                return TagSource(field_name, kind)
    if isinstance(field, fo.ListField) and isinstance(field.field, fo.StringField):
        return TagSource(field_name, "strings")
    raise TypeError(
        f"`tags_field`: the field '{field_name}' must be a Classifications, "
        "Classification or Detections field, or a list of strings; found "
        f"{_describe_field(field)}"
    )


def tag_sources(samples, tags_field: Union[str, Sequence[str]]) -> list[TagSource]:
    """Validates one or several tag fields.

    A search resolves its tag fields once: the readers it calls take the
    :class:`TagSource` list this returns in place of ``tags_field`` and
    return it unchanged.
    """
    if isinstance(tags_field, (list, tuple)) and tags_field:
        if all(isinstance(s, TagSource) for s in tags_field):  # resolved already
            return list(tags_field)
    if not isinstance(tags_field, (str, list, tuple)):
        raise TypeError(
            f"`tags_field` must be a field name or a list of field names; got {tags_field!r}"
        )
    names = [tags_field] if isinstance(tags_field, str) else list(tags_field)
    if not names:
        raise ValueError("`tags_field` must name at least one field")
    if len(set(names)) != len(names):
        raise ValueError(f"`tags_field` names a field twice: {names}")
    return [tag_source(samples, name) for name in names]


def tag_display_name(key: tuple[str, str], multiple_sources: bool) -> str:
    """The name of a tag in results: its label, prefixed by its field when
    tags come from several fields."""
    field, label = key
    return f"{field}:{label}" if multiple_sources else label


def read_inputs(
    samples,
    label_field: str,
    pred_field: str,
    tags_field: Union[str, Sequence[str]],
    extra_paths: Sequence[str] = (),
) -> SearchInputs:
    """Checks the fields a search needs, then reads them in one ``values()`` pass.

    The one reader of labels, predictions and tags: the search, the
    re-measurement on other data, held-out validation and the CLIP metrics
    all call it (or
    :func:`fiftyone_prime.integration.reading.run_inputs.read_run_inputs`).

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`
        label_field: the ground-truth ``Classification`` field
        pred_field: the predicted ``Classification`` field
        tags_field: one tag field or several
        extra_paths (()): other paths to read in the same pass (e.g.
            ``"id"``, ``"filepath"``), for the used samples

    Returns:
        a :class:`SearchInputs`

    Raises:
        ValueError: if a field is missing, the view is empty, or no sample
            has both a label and a prediction
        TypeError: if a field has the wrong type
    """
    validate_classification_field(samples, label_field, "label_field")
    validate_classification_field(samples, pred_field, "pred_field")
    sources = tag_sources(samples, tags_field)
    return _read(samples, label_field, pred_field, sources, extra_paths)


def check_used(
    num_used: int,
    num_samples: int,
    missing_label: np.ndarray,
    missing_pred: np.ndarray,
    label_field: str,
    pred_field: str,
    log: logging.Logger = logger,
) -> None:
    """Raises if none of the samples has both a label and a prediction;
    warns (on ``log``) how many are left out otherwise.

    Raises:
        ValueError: no sample has both
    """
    if num_used == 0:
        raise ValueError(
            f"None of the {num_samples} samples has both a '{label_field}' label and a "
            f"'{pred_field}' prediction"
        )
    if num_used < num_samples:
        log.warning(
            "Leaving out %d samples without a '%s' label and %d without a '%s' prediction",
            int(missing_label.sum()),
            label_field,
            int(missing_pred.sum()),
            pred_field,
        )


def _read(
    samples,
    label_field: str,
    pred_field: str,
    sources: list[TagSource],
    extra_paths: Sequence[str],
) -> SearchInputs:
    paths = [f"{label_field}.label", f"{pred_field}.label"]
    paths += [s.label_path for s in sources]
    paths += list(extra_paths)
    values = samples.values(paths)
    num_samples = len(values[0])
    if num_samples == 0:
        raise ValueError("The view is empty; there is nothing to search. Check the view's filters")
    labels = np.asarray(values[0], dtype=object)
    preds = np.asarray(values[1], dtype=object)

    missing_label = np.array([x is None for x in labels], dtype=bool)
    missing_pred = np.array([x is None for x in preds], dtype=bool) & ~missing_label
    used = ~(missing_label | missing_pred)
    check_used(int(used.sum()), num_samples, missing_label, missing_pred, label_field, pred_field)

    check_label_types(labels[used], label_field, "label_field")
    check_label_types(preds[used], pred_field, "pred_field")
    used_idx = np.flatnonzero(used)
    tags, keys = _tag_matrix([values[2 + i] for i in range(len(sources))], sources, used_idx)
    labels_used = labels[used]
    extra_start = 2 + len(sources)
    extra = {
        path: np.asarray(values[extra_start + i], dtype=object)[used]
        for i, path in enumerate(extra_paths)
    }
    return SearchInputs(
        tags=tags,
        tag_keys=keys,
        labels=np.asarray(labels_used.tolist(), dtype=object),
        correct=labels_used == preds[used],
        num_samples=num_samples,
        num_missing_label=int(missing_label.sum()),
        num_missing_prediction=int(missing_pred.sum()),
        extra=extra,
        sources=sources,
    )


def check_list_values(per_sample, source: TagSource) -> None:
    """Raises, naming the field, when a list-of-strings tag field holds a
    bare string (it would be read as its characters)."""
    if source.kind != "strings":
        return
    bare = [x for x in per_sample if isinstance(x, str)]
    if bare:
        raise ValueError(
            f"`tags_field`: the list field '{source.field}' holds a bare string instead "
            f"of a list on {len(bare)} samples (e.g. {bare[0][:40]!r}); make each value "
            "a list of strings"
        )


def check_sample_collection(samples, what: str) -> None:
    """Refuses patches, frames and clips views in one line: their samples
    are objects, frames or clips, not the images a run reads.

    Args:
        samples: the collection given
        what: the function's name, for the message
    """
    kinds = (("_is_patches", "patches"), ("_is_frames", "frames"), ("_is_clips", "clips"))
    for attr, kind in kinds:
        if getattr(samples, attr, False):
            raise ValueError(
                f"{what} does not support {kind} views; pass the dataset or a view of its "
                "samples (objects are searched through an evaluation: "
                "find_failure_modes(dataset, eval_key=..., units='gt'))"
            )


def check_string_values(per_sample, field: str, role: str, positions=None) -> None:
    """Raises, naming the field, the value and the sample's position, when a
    list of labels per sample holds something other than strings (a float, a
    list, a dict, bytes...); ``None`` items are allowed (they carry no tag).

    Args:
        per_sample: per sample, a list of labels (or ``None``)
        field, role: the field and the argument that named it
        positions (None): per entry of ``per_sample``, its sample's position
            in the view (default: the entry's index)
    """
    for k, items in enumerate(per_sample):
        for x in items or ():
            if x is not None and not isinstance(x, str):
                i = k if positions is None else int(positions[k])
                raise TypeError(
                    f"`{role}`: the field '{field}' holds {_short(x)} ({type(x).__name__}) on "
                    f"sample {i} of the view (view.skip({i}).first()); labels and tags must "
                    "be strings: write them as text"
                )


def _short(value, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_label_types(values, field: str, role: str) -> None:
    """Raises, naming the field, when its labels mix types (e.g. ints among strings)."""
    kinds: dict = {}
    for value in values:
        kinds.setdefault(type(value).__name__, value)
        if len(kinds) > 1:
            break
    if len(kinds) > 1:
        shown = ", ".join(f"{v!r} ({k})" for k, v in sorted(kinds.items()))
        raise TypeError(
            f"`{role}`: the field '{field}' holds labels of several types ({shown}); "
            "every label must have the same type"
        )


def _tag_matrix(per_source_values, sources, used_idx) -> tuple[sp.csr_matrix, list]:
    """Builds the sparse tag matrix of the used samples from ``values()`` output.

    Columns are ordered by source, then label, so the same data always gives
    the same matrix.
    """
    n_used = len(used_idx)
    all_used = n_used == len(per_source_values[0]) if per_source_values else True
    keys: list[tuple[str, str]] = []
    blocks = []
    for source, per_sample in zip(sources, per_source_values):
        if not all_used:
            per_sample = [per_sample[i] for i in used_idx]
        check_list_values(per_sample, source)
        if source.kind == "classification":
            per_sample = [None if x is None else (x,) for x in per_sample]
        # values() reads labels written past FiftyOne's validation as they are
        try:  # tags of one type (strings, or ints as another tool wrote them)
            matrix, labels = label_lists_csr(per_sample, n_used, source.field, strings_only=False)
        except TypeError:  # a list or dict, or types that do not compare: name it
            check_string_values(per_sample, source.field, "tags_field", used_idx)
            raise
        blocks.append(matrix)
        keys.extend((source.field, label) for label in labels)
    if not blocks:
        return sp.csr_matrix((n_used, 0), dtype=bool), keys
    return sp.csr_matrix(sp.hstack(blocks, format="csr"), dtype=bool), keys


def label_lists_csr(
    lists: list, n_rows: int, name: str = "", strings_only: bool = True
) -> tuple[sp.csr_matrix, list]:
    """A boolean CSR matrix from per-row label lists (``None`` for none; a
    ``None`` label carries no tag, a label listed twice in a row is one tag);
    columns are the sorted distinct labels, which must be strings unless
    ``strings_only`` is False (``name``: the tag field, for the error)."""
    if lists.count(None) == 0:
        lengths = np.fromiter(map(len, lists), np.int64, n_rows)
        flat = list(chain.from_iterable(lists))
    else:
        lengths = np.fromiter((len(x) if x else 0 for x in lists), np.int64, n_rows)
        flat = list(chain.from_iterable(filter(None, lists)))
    distinct = set(flat)
    distinct.discard(None)
    odd = [x for x in distinct if not isinstance(x, str)] if strings_only else []
    if odd:
        raise TypeError(
            f"`tags_field` '{name}' holds values that are not strings (e.g. {odd[0]!r}); tags "
            "must be strings"
        )
    labels = sorted(distinct)
    column_of = {label: j for j, label in enumerate(labels)}
    column_of[None] = -1
    col = np.fromiter(map(column_of.__getitem__, flat), np.int64, len(flat))
    keep = col >= 0
    if not keep.all():  # unnamed labels carry no tag: drop them from their rows
        row = np.repeat(np.arange(n_rows), lengths)[keep]
        col = col[keep]
        lengths = np.bincount(row, minlength=n_rows)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    matrix = sp.csr_matrix(
        (np.ones(len(col), dtype=bool), col, indptr), shape=(n_rows, len(labels))
    )
    matrix.sum_duplicates()  # a label listed twice in one row is one tag
    return matrix, labels
