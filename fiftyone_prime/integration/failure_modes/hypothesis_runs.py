"""Hypothesis runs: hunches tested on a dataset, stored as a run with a view
per confirmed hypothesis.

A run of this kind (:data:`HYPOTHESES`) holds what one
:func:`fiftyone_prime.test_hypotheses` call tested: a
:class:`SavedHypothesis` per ``(class, hypothesis)`` pair, in the order the
online procedure tested them, with its measurement, p-value, level and
decision. Each confirmed hypothesis gets a saved view holding exactly the
samples it was tested on (its class, with a prediction, carrying its tags or
matching its expression). The run is stored, listed, loaded, deleted and its
views saved by the one run store
(:mod:`fiftyone_prime.integration.runs.run_store`), as every kind is.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Optional

from fiftyone_prime.core import hypotheses as fch
from fiftyone_prime.core.online_fdr import ALPHA, PROCEDURE

from ..reading.fields import tag_sources
from ..runs.rows import format_p, format_percent
from ..runs.run_kinds import RunKind, register
from ..runs.run_results import ModeRunConfig, ModeRunResults, PrimeRun, _count, _dict, _same
from ..runs.run_store import delete_run, list_runs, load_run
from ..runs.views import failure_mode_view

#: The ``method`` of hypothesis runs.
METHOD = "prime_hypotheses"


@dataclass(frozen=True)
class SavedHypothesis(fch.HypothesisResult):
    """A :class:`fiftyone_prime.core.hypotheses.HypothesisResult` stored in a run.

    Attributes:
        view_name, view_id: its saved view (confirmed hypotheses only); the
            run owns the view with this id
        tag_fields, tag_labels: per tag, the field it was read from and its
            label there
        expression (None): for a hypothesis given as a view expression, its
            MongoDB aggregation expression (``tags`` then holds its text)
    """

    view_name: Optional[str] = None
    view_id: Optional[str] = None
    tag_fields: tuple[str, ...] = ()
    tag_labels: tuple[str, ...] = ()
    expression: Optional[dict] = None

    @property
    def decision(self) -> str:
        """``"confirmed"``, ``"not confirmed"``, or why it was not tested."""
        if self.rejected:
            return "confirmed"
        if self.tested:
            return "not confirmed"
        if self.size == 0:
            return "not tested (no samples)"
        return "not tested (too few samples to reach the level)"

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["tags"] = list(self.tags)
        d["tag_fields"] = list(self.tag_fields)
        d["tag_labels"] = list(self.tag_labels)
        d["accuracy_ci"] = list(self.accuracy_ci) if self.accuracy_ci else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SavedHypothesis:
        d = dict(d)
        for name in ("tags", "tag_fields", "tag_labels"):
            d[name] = tuple(d.get(name) or ())
        d["accuracy_ci"] = tuple(d["accuracy_ci"]) if d.get("accuracy_ci") else None
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


class HypothesisRunConfig(ModeRunConfig):
    """Configuration of a hypothesis run.

    Args:
        label_field: the ground-truth ``Classification`` field
        pred_field: the predicted ``Classification`` field
        tags_fields: the fields the tags were read from
        alpha (0.05): the online false-discovery level of the dataset's budget
        held_out (None): where the hypotheses came from and what they were
            tested on (a dict with ``"proposed_from"`` and ``"tested_on"``),
            ``None`` for hunches tested on the samples given
        **kwargs: ``search_params`` (the definition's thresholds, for
            ``holds``), ``save_views``, ``max_views`` as in
            :class:`fiftyone_prime.integration.runs.run_results.ModeRunConfig`
    """

    _METHOD = METHOD

    def __init__(
        self,
        label_field=None,
        pred_field=None,
        tags_fields=None,
        alpha=ALPHA,
        held_out=None,
        **kwargs,
    ):
        kwargs.setdefault("procedure", PROCEDURE)
        super().__init__(label_field, pred_field, tags_fields, **kwargs)
        self.alpha = alpha
        self.held_out = held_out


class HypothesisRun(PrimeRun):
    """A hypothesis run; :meth:`cleanup` deletes the views it saved (by id)."""

    def get_fields(self, samples, key):
        c = self.config
        return [c.label_field, c.pred_field, *c.tags_fields]


class HypothesisResults(ModeRunResults):
    """The hypotheses of one :func:`fiftyone_prime.test_hypotheses` call, tested.

    Args:
        samples: the view they were tested on
        config: the :class:`HypothesisRunConfig`
        key: the run key (``None`` when not stored)
        hypotheses: :class:`SavedHypothesis` records or their dicts, one
            per ``(class, hypothesis)`` pair, in the order tested
        groups, num_samples, num_used, num_missing_label,
            num_missing_prediction, num_tags: as in
            :class:`fiftyone_prime.FailureModeResults`
        alpha: the online false-discovery level
        num_tested: how many hypotheses the dataset's budget has tested in
            all, these included
        state: the online procedure's state as stored after these tests
        backend (None): a :class:`HypothesisRun`
    """

    _MODES = "hypotheses"
    _MODE_CLS = SavedHypothesis
    _FIELDS: ClassVar[dict] = {"alpha": _same, "num_tested": _count, "state": _dict}

    @property
    def results(self) -> list[SavedHypothesis]:
        """Every ``(class, hypothesis)`` pair, in the order tested."""
        return list(self._modes)

    @property
    def rejected(self) -> list[SavedHypothesis]:
        """The findings: the hypotheses the online procedure rejected."""
        return [r for r in self._modes if r.rejected]

    @property
    def label_field(self) -> str:
        return self.config.label_field

    @property
    def pred_field(self) -> str:
        return self.config.pred_field

    @property
    def held_out(self) -> Optional[dict]:
        """Where the hypotheses came from and what they were tested on."""
        return self.config.held_out

    def summary(self) -> str:
        """A table of the results, one line per ``(class, hypothesis)`` pair."""
        lines = [
            f"{len(self.rejected)} of {len(self._modes)} hypotheses confirmed "
            f"({PROCEDURE.upper()}, online FDR <= {self.alpha}; {self.num_tested} tested on "
            "this dataset in all)" + (f"; run '{self.key}'" if self.key else ""),
            tested_on_line(self.held_out),
            f"{'class':16s} {'hypothesis':28s} {'size':>6s} {'acc':>6s} {'class':>6s} "
            f"{'drop':>6s} {'p':>9s} {'level':>9s}  decision",
        ]
        for r in self._modes:
            level = "-" if r.level is None else f"{r.level:.3g}"
            lines.append(
                f"{r.group!s:16.16s} {' + '.join(r.tags):28.28s} {r.size:6d} "
                f"{format_percent(r.accuracy):>6s} {format_percent(r.group_accuracy):>6s} "
                f"{format_percent(r.drop):>6s} {format_p(r.p_value):>9s} {level:>9s}  "
                f"{r.decision}" + (f"  [view '{r.view_name}']" if r.view_name else "")
            )
        return "\n".join(lines)

    @classmethod
    def from_inputs(cls, samples, config, key, records, inputs, state):
        """Results of the hypotheses ``records`` tested on ``inputs`` (a
        :class:`fiftyone_prime.integration.reading.fields.SearchInputs`),
        with the online procedure's ``state`` after them."""
        from ..runs.classes import group_stats, input_counts

        return cls(
            samples,
            config,
            key,
            hypotheses=records,
            groups=group_stats(inputs.groups, inputs.correct),
            **input_counts(inputs),
            alpha=state.alpha,
            num_tested=state.num_tested,
            state=state.to_dict(),
        )


def tested_on_line(held_out: Optional[dict]) -> str:
    """Where hypotheses came from and what they were tested on, in words."""
    if not held_out:
        return "tested on the samples given (hunches: not proposed from these samples)"
    return (
        f"proposed from {held_out['proposed_from']}; tested on {held_out['tested_on']} (held out)"
    )


def hypothesis_view(samples, config, mode, sources):
    """The samples a hypothesis was tested on: its class, with a
    prediction, carrying every tag (or matching its expression)."""
    keys = list(zip(mode.tag_fields, mode.tag_labels))
    view = failure_mode_view(
        samples, config.label_field, config.pred_field, mode.group, sources, keys
    )
    return view if mode.expression is None else view.match(mode.expression)


def _hypothesis_views(samples, results, sources=None):
    config = results.config
    if sources is None:
        sources = tag_sources(samples, config.tags_fields)
    return lambda mode: hypothesis_view(samples, config, mode, sources)


def describe_hypothesis(results, mode) -> str:
    """A one-paragraph description of a confirmed hypothesis, for its saved view."""
    where = tested_on_line(results.held_out)
    return (
        f"PRIME hypothesis of class '{mode.group}', {' + '.join(mode.tags)}: accuracy "
        f"{format_percent(mode.accuracy)} ({mode.num_correct} of {mode.size}) vs "
        f"{format_percent(mode.group_accuracy)} on the class (n={mode.group_size}); "
        f"p = {format_p(mode.p_value)}, {mode.decision} by {PROCEDURE.upper()} at level "
        f"{mode.level:.3g} (hypothesis {mode.position} tested on this dataset). "
        f"{where[0].upper()}{where[1:]}. "
        f"Run '{results.key}'."
    )


#: Hypothesis runs: hunches (tag sets, expressions) tested with online error control.
HYPOTHESES = register(
    RunKind(
        name="hypotheses",
        label="hypothesis run",
        config_cls=HypothesisRunConfig,
        results_cls=HypothesisResults,
        mode_noun="hypotheses",
        views=_hypothesis_views,
        describe=describe_hypothesis,
        delete_call="fp.delete_hypotheses(dataset, '{key}')",
    )
)


def load_hypotheses(dataset, run_key: str) -> HypothesisResults:
    """Loads the results of a hypothesis run (validated, and reloaded when
    another process changed the run since they were cached)."""
    return load_run(dataset, run_key, HYPOTHESES)


def list_hypothesis_runs(dataset) -> list[str]:
    """The keys of the dataset's hypothesis runs, sorted."""
    return list_runs(dataset, HYPOTHESES)


def delete_hypotheses(dataset, run_key: str) -> None:
    """Deletes a hypothesis run and exactly the saved views it created.

    The dataset's online false-discovery budget is kept: the hypotheses
    were tested, whether or not their run is kept.
    """
    delete_run(dataset, run_key, HYPOTHESES)
