"""Saved failure modes as checks: re-measure a run's modes on another model.

:func:`check_failure_modes` takes the modes of a failure-mode run (or a
regression run) and measures each one on another model's predictions of the
same samples (same tags): its accuracy there, the 95% interval, whether it
still holds as a failure mode, and pass or fail against a threshold the user
gives. A CI job runs ``fiftyone-prime check`` and fails the build when a
check fails. Nothing is written to the dataset.

Runs over objects (an object-level failure-mode or regression run) are
checked on a detection evaluation of the same ground truth (``eval_key``):
their units are read from it as the run read its own
(:mod:`fiftyone_prime.integration.reading.units`), with the run's tag paths.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from typing import Any, Optional

from fiftyone_prime.core.definition import TOLERANCE
from fiftyone_prime.core.measure import measure_tag_sets

from ..reading import fields as fpf
from ..reading import units as fpu
from ..reading.input_cache import load_search_inputs, load_unit_inputs
from ..runs.rows import format_interval, format_percent

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModeCheck:
    """One saved mode re-measured on another model's predictions.

    Attributes:
        group, tags: the mode's class and tags
        run_accuracy: its accuracy in the run (the model the run measured)
        size, num_correct: its samples here, and how many the model gets right
        accuracy: ``num_correct / size`` (NaN without samples)
        accuracy_ci: its 95% Clopper-Pearson interval (``None`` without samples)
        group_accuracy: the model's accuracy on the class
        drop: ``group_accuracy - accuracy``
        holds: whether it is still a failure mode by the run's definition
        passed: whether the check passed; ``None`` when the mode has no
            samples here (not measured: neither pass nor fail)
        reason: why it failed (or was not measured), else ``""``
    """

    group: Any
    tags: tuple[str, ...]
    run_accuracy: float
    size: int
    num_correct: int
    accuracy: float
    accuracy_ci: Optional[tuple[float, float]]
    group_accuracy: float
    drop: float
    holds: bool
    passed: Optional[bool]
    reason: str

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["tags"] = list(self.tags)
        d["accuracy_ci"] = list(self.accuracy_ci) if self.accuracy_ci else None
        for key in ("accuracy", "group_accuracy", "drop", "run_accuracy"):
            if isinstance(d[key], float) and math.isnan(d[key]):
                d[key] = None
        return d


@dataclass(frozen=True)
class CheckResults:
    """The checks of a run's modes on a model.

    Attributes:
        run_key: the run whose modes were checked
        pred_field: the predictions measured
        min_accuracy, max_drop: the thresholds (``None``: not used)
        checks: a :class:`ModeCheck` per mode, in the run's order
        allow_not_measured: whether a check that measured none of its modes
            passes (by default it fails: re-tagged data, where no mode's tags
            are found any more, checks nothing)
    """

    run_key: str
    pred_field: str
    min_accuracy: Optional[float]
    max_drop: Optional[float]
    checks: list
    allow_not_measured: bool = False

    @property
    def num_failed(self) -> int:
        """Checks that failed."""
        return sum(c.passed is False for c in self.checks)

    @property
    def num_not_measured(self) -> int:
        """Modes without samples here."""
        return sum(c.passed is None for c in self.checks)

    @property
    def nothing_measured(self) -> bool:
        """Whether there were modes and none of them was measured."""
        return bool(self.checks) and self.num_not_measured == len(self.checks)

    @property
    def passed(self) -> bool:
        """Whether no check failed, and something was measured (unless
        ``allow_not_measured``)."""
        return self.num_failed == 0 and (self.allow_not_measured or not self.nothing_measured)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict (``passed``, counts and every check)."""
        return {
            "run_key": self.run_key,
            "pred_field": self.pred_field,
            "min_accuracy": self.min_accuracy,
            "max_drop": self.max_drop,
            "passed": self.passed,
            "num_checks": len(self.checks),
            "num_failed": self.num_failed,
            "num_not_measured": self.num_not_measured,
            "allow_not_measured": self.allow_not_measured,
            "checks": [c.to_dict() for c in self.checks],
        }

    def table(self) -> str:
        """A plain-text table, one row per mode, and a verdict line."""
        rules = []
        if self.min_accuracy is not None:
            rules.append(f"accuracy >= {format_percent(self.min_accuracy)}")
        if self.max_drop is not None:
            rules.append(f"drop vs class <= {self.max_drop * 100:.1f} pts")
        head = (
            f"{'':4} {'class':16} {'tags':30} {'size':>6} {'run acc':>8} {'acc':>7} "
            f"{'acc 95% CI':>12} {'class acc':>9} {'drop':>6} {'holds':>5}"
        )
        lines = [
            f"Checks of run '{self.run_key}' on '{self.pred_field}' ({' and '.join(rules)})",
            head,
            "-" * len(head),
        ]
        for c in self.checks:
            verdict = {True: "PASS", False: "FAIL", None: "N/A"}[c.passed]
            drop = "–" if math.isnan(c.drop) else f"{c.drop * 100:.1f}"
            lines.append(
                f"{verdict:4} {str(c.group)[:16]:16} {' + '.join(c.tags)[:30]:30} {c.size:>6} "
                f"{format_percent(c.run_accuracy):>8} {format_percent(c.accuracy):>7} "
                f"{format_interval(c.accuracy_ci):>12} {format_percent(c.group_accuracy):>9} "
                f"{drop:>6} {'yes' if c.holds else 'no':>5}"
            )
        lines.append(
            f"{len(self.checks) - self.num_failed - self.num_not_measured} passed, "
            f"{self.num_failed} failed, {self.num_not_measured} not measured: "
            + ("PASS" if self.passed else "FAIL")
            + (
                " (no mode was measured: its tags are on none of the class's samples here, "
                "e.g. after re-tagging; pass allow_not_measured / --allow-not-measured "
                "to accept that)"
                if self.nothing_measured and not self.passed
                else ""
            )
        )
        return "\n".join(lines)


def _load_run(samples, run_key):
    """A failure-mode or regression run's results and config."""
    from ..runs.classes import FAILURE_MODES
    from ..runs.run_store import load_run
    from .regressions import REGRESSIONS

    results = load_run(samples, run_key, FAILURE_MODES, REGRESSIONS)
    return results, results.config


def _unit_spec(config) -> Optional[fpu.UnitSpec]:
    """The run's unit spec, or ``None`` for a run over label and prediction fields."""
    unit_spec = getattr(config, "unit_spec", None)
    return fpu.UnitSpec.from_dict(unit_spec) if unit_spec else None


def _object_spec(spec: Optional[fpu.UnitSpec]) -> Optional[fpu.UnitSpec]:
    """``spec`` when its units are objects (not a multilabel classifier's
    classes), else ``None``."""
    return spec if spec is not None and spec.is_objects and not spec.is_multilabel else None


def _object_inputs(samples, run_key: str, run_spec: fpu.UnitSpec, config, eval_key, pred_field):
    """The units of the detection evaluation ``eval_key``, read as the run
    read its own (same units and tag paths), to check an object-level run.

    Raises:
        ValueError: no ``eval_key``, or an evaluation of another ground truth
    """
    if eval_key is None:
        raise ValueError(
            f"The run '{run_key}' is over objects (units={run_spec.units!r}); check it on a "
            f"detection evaluation of '{run_spec.gt_field}' with `eval_key` (evaluate the "
            f"model with evaluate_detections(...) first), not on `pred_field` '{pred_field}'"
        )
    spec = fpu.resolve_units(samples, eval_key=eval_key, units=run_spec.units)
    if spec.gt_field != run_spec.gt_field:
        raise ValueError(
            f"Evaluation '{eval_key}' evaluates '{spec.gt_field}', but run '{run_key}' read "
            f"the ground truth '{run_spec.gt_field}'"
        )
    sources = fpu.unit_tag_sources(samples, spec, config.tags_fields)
    return fpu.read_units(samples, spec, sources), spec.pred_field


def check_failure_modes(
    samples,
    run_key: str,
    *,
    pred_field: Optional[str] = None,
    eval_key: Optional[str] = None,
    min_accuracy: Optional[float] = None,
    max_drop: Optional[float] = None,
    allow_not_measured: bool = False,
    reuse_inputs: bool = True,
) -> CheckResults:
    """Re-measures a run's saved failure modes on another model's predictions.

    Each mode keeps its class and tags (the run's tag fields, read again
    from ``samples``); on the predictions of ``pred_field`` (or those of the
    classification evaluation ``eval_key``) it gets its accuracy, the 95%
    interval, the class's accuracy, its drop, whether it still holds as a
    failure mode with the run's thresholds, and a verdict:

    -   ``min_accuracy``: passes when the mode's accuracy is at least this;
    -   ``max_drop``: passes when the mode's accuracy is no worse than its
        class's by more than this (``class accuracy - accuracy <= max_drop``);
    -   both: both must hold; neither: ``max_drop`` is the run's ``min_drop``,
        i.e. the check fails while the mode still drops as far as the run
        required of a failure mode.

    A mode whose tags no sample of its class carries here is *not measured*
    (neither pass nor fail); when no mode at all is measured the results do
    not pass unless ``allow_not_measured``. A run over objects is checked on
    a detection evaluation of the same ground truth (``eval_key``): its units
    are that evaluation's, read as the run read its own. Nothing is written.

    Examples::

        results = fp.check_failure_modes(dataset, "prime", pred_field="model_v2",
                                         min_accuracy=0.6)
        print(results.table())
        assert results.passed

    Args:
        samples: the collection to measure on (the run's dataset or a view)
        run_key: a failure-mode run (or regression run) of the dataset
        pred_field (None): the ``Classification`` predictions to check
        eval_key (None): a classification evaluation whose predictions to
            check, instead of ``pred_field``; for a run over objects, the
            detection evaluation to check (required)
        min_accuracy (None): the least accuracy a mode must have
        max_drop (None): the most a mode's accuracy may fall below its class's
        allow_not_measured (False): pass even when none of the modes was
            measured
        reuse_inputs (True): whether to reuse the inputs cached by an earlier
            read of the same view and fields while no sample changed
            (``False`` reads afresh and replaces the cached entry)

    Returns:
        a :class:`CheckResults`

    Raises:
        ValueError: an unknown or foreign run key, both or neither of
            ``pred_field`` and ``eval_key``, a threshold out of ``[0, 1]``
        TypeError: a field of the wrong type
    """
    fpf.check_sample_collection(samples, "check_failure_modes")
    if (pred_field is None) == (eval_key is None):
        raise ValueError("Pass exactly one of `pred_field` and `eval_key`")
    for name, value in (("min_accuracy", min_accuracy), ("max_drop", max_drop)):
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not 0.0 <= value <= 1.0
        ):
            raise ValueError(f"`{name}` must be a number in [0, 1]; got {value!r}")
    results, config = _load_run(samples, run_key)
    label_field = config.label_field
    spec = _unit_spec(config)
    run_spec = _object_spec(spec)
    if run_spec is not None:
        inputs, pred_field = _object_inputs(
            samples, run_key, run_spec, config, eval_key, pred_field
        )
    elif eval_key is not None:
        gt, pred_field = fpf.resolve_eval_key(samples, eval_key)
        if gt != label_field:
            raise ValueError(
                f"Evaluation '{eval_key}' compares with '{gt}', but run '{run_key}' used the "
                f"ground truth '{label_field}'"
            )
    if max_drop is None and min_accuracy is None:
        max_drop = config.params.min_drop
    if run_spec is None and spec is not None and spec.is_multilabel:
        # The run's (sample, class) units, judged on the other model's predictions.
        spec = fpu.multilabel_spec(
            samples, spec.gt_field, pred_field, spec.units, spec.confidence_thresh
        )
        sources = fpu.unit_tag_sources(samples, spec, config.tags_fields)
        inputs, _ = load_unit_inputs(samples, spec, sources, reuse=reuse_inputs)
    elif run_spec is None:
        inputs, _ = load_search_inputs(
            samples, label_field, pred_field, config.tags_fields, reuse=reuse_inputs
        )
    modes = results.failure_modes
    queries = [inputs.query_of(m) for m in modes]
    measured = measure_tag_sets(inputs.tags, inputs.correct, inputs.labels, queries, config.params)
    checks = []
    for mode, m in zip(modes, measured):
        reasons = []
        if m.size == 0:
            passed, reasons = None, ["no samples of the class carry these tags here"]
        else:
            if min_accuracy is not None and m.accuracy < min_accuracy - TOLERANCE:
                reasons.append(
                    f"accuracy {format_percent(m.accuracy)} < {format_percent(min_accuracy)}"
                )
            if max_drop is not None and m.drop > max_drop + TOLERANCE:
                reasons.append(
                    f"drop {m.drop * 100:.1f} pts > {max_drop * 100:.1f} pts below the class"
                )
            passed = not reasons
        checks.append(
            ModeCheck(
                group=mode.group,
                tags=tuple(mode.tags),
                run_accuracy=float(mode.accuracy),
                size=m.size,
                num_correct=m.num_correct,
                accuracy=m.accuracy,
                accuracy_ci=m.accuracy_ci,
                group_accuracy=m.group_accuracy,
                drop=m.drop,
                holds=m.holds,
                passed=passed,
                reason="; ".join(reasons),
            )
        )
    return CheckResults(
        run_key, pred_field, min_accuracy, max_drop, checks, bool(allow_not_measured)
    )
