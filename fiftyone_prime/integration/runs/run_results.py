"""The base results classes of every run this package stores.

:class:`PrimeRunResults` stores what its class lists in ``_FIELDS`` (read
by the constructor, written by :meth:`~PrimeRunResults.serialize`, in one
place); :class:`ModeRunResults` adds what every run with modes holds: the
modes, the counts of what was read, the groups, the significance record and
the saved views the run owns (by id). Failure-mode, evaluation-unit and
regression results derive from :class:`ModeRunResults`, tag audits from
:class:`PrimeRunResults`; each keeps only what is its own.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Optional, Union

import fiftyone.core.runs as focr

from fiftyone_prime.core.significance import PROCEDURE
from fiftyone_prime.core.types import ScoreParams, SearchParams

from .rows import error_rate_name

logger = logging.getLogger(__name__)


def _same(value):
    return value


def _count(value):
    return value or 0


def _dict(value):
    return dict(value or {})


def _list(value):
    return list(value or [])


#: What ``alpha`` bounds, in words, per ``error_control``.


def saved_mode(cls, mode, tag_keys):
    """A mode found by a search as its saved class ``cls`` stores it: its
    tags identified by field and label (``tag_keys``: ``(field, label)`` per
    column of the search's tag matrix)."""
    keys = [tag_keys[i] for i in mode.tag_indices]
    d = mode.to_dict()
    d["tag_fields"] = [k[0] for k in keys]
    d["tag_labels"] = [k[1] for k in keys]
    return cls.from_dict(d)


class ModeRunConfig(focr.RunConfig):
    """Configuration of a run that searches for modes: the fields read, the
    search parameters, the procedure and the saved views.

    Subclasses set ``_METHOD`` (the ``method`` FiftyOne stores).

    Args:
        label_field: the ground-truth field (the groups)
        pred_field: the predictions compared with it
        tags_fields: the fields the tags were read from
        search_params: the :class:`fiftyone_prime.core.SearchParams`, or
            its dict (as stored; validated when read)
        procedure: the multiple-testing procedure that adjusted the p-values
        save_views: whether saved views were created
        max_views: the most saved views the run creates (the modes with the
            largest drops get them)
        **kwargs: any other JSON-serializable parameters
    """

    _METHOD: ClassVar[str] = None

    def __init__(
        self,
        label_field=None,
        pred_field=None,
        tags_fields=None,
        search_params=None,
        procedure=PROCEDURE,
        save_views=True,
        max_views=None,
        **kwargs,
    ):
        kwargs.pop("method", None)
        super().__init__(method=self._METHOD, **kwargs)
        self.label_field = label_field
        self.pred_field = pred_field
        self.tags_fields = list(tags_fields or [])
        if not isinstance(search_params, SearchParams):  # read from the database
            cls = _params_cls(kwargs.get("unit_spec"))
            search_params = cls.from_dict(dict(search_params or {}))
        self.search_params = search_params.to_dict()
        self.procedure = procedure
        self.save_views = save_views
        self.max_views = max_views

    @property
    def params(self) -> SearchParams:
        """The search parameters as a :class:`fiftyone_prime.core.SearchParams`
        (:class:`fiftyone_prime.core.ScoreParams` for a score run)."""
        return _params_cls(getattr(self, "unit_spec", None)).from_dict(self.search_params)


def _params_cls(unit_spec) -> type:
    """The parameter class of a run whose config stores ``unit_spec``:
    :class:`~fiftyone_prime.core.ScoreParams` (thresholds in a score's
    units) for the units of a score, else
    :class:`~fiftyone_prime.core.SearchParams`."""
    return ScoreParams if (unit_spec or {}).get("score_field") else SearchParams


class PrimeRun(focr.Run):
    """A run of this package: :meth:`cleanup` deletes exactly the saved views
    the run created, by the ids its results recorded before writing them
    (listed views and the unlisted documents an interrupted save left
    behind); views with other ids are kept, whatever their names."""

    def cleanup(self, samples, key):
        results = self.load_run_results(samples, key, cache=False, load_view=False)
        if results is None or not results.view_ids:
            return
        from .views import delete_views

        deleted = delete_views(samples._root_dataset, results.view_ids)
        logger.debug("Deleted %d saved views of run '%s'", deleted, key)


class PrimeRunResults(focr.RunResults):
    """Results of a run of this package.

    Subclasses list what they store in ``_FIELDS``, ``{name: converter}``;
    the converter turns a stored (or passed) value, ``None`` when absent,
    into the attribute. The constructor takes those names as keywords.

    Args:
        samples: the view the run used
        config: the run's config
        key: the run key
        backend (None): the run
        **fields: the values of ``_FIELDS``
    """

    #: The run's :class:`~fiftyone_prime.integration.runs.run_kinds.RunKind`
    #: (set when the kind is registered).
    kind: ClassVar[Any] = None

    _FIELDS: ClassVar[dict] = {}

    def __init__(self, samples, config, key, backend=None, **fields):
        stored = self._stored_fields()
        unknown = sorted(set(fields) - set(stored))
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected fields {unknown}")
        super().__init__(samples, config, key, backend=backend)
        for name, convert in stored.items():
            setattr(self, name, convert(fields.get(name)))

    @classmethod
    def _stored_fields(cls) -> dict:
        fields: dict = {}
        for klass in reversed(cls.__mro__):
            fields.update(klass.__dict__.get("_FIELDS", {}))
        return fields

    @property
    def view_ids(self) -> list[str]:
        """The ids of the saved views this run created (none here)."""
        return []

    def _dump(self, name: str):
        return getattr(self, name)

    def serialize(self, reflective=False):
        return {"cls": self.cls, **{name: self._dump(name) for name in self._stored_fields()}}

    @classmethod
    def _from_dict(cls, d, samples, config, key):
        return cls(samples, config, key, **d)


class ModeRunResults(PrimeRunResults):
    """Results of a run that found modes (tag sets of a group) and saved
    views of them.

    Subclasses set ``_MODES`` (the name the modes are stored and passed
    under: ``"failure_modes"``, ``"regressions"``) and ``_MODE_CLS`` (the
    saved mode's class, with ``view_name``/``view_id`` and ``from_dict``).

    Args:
        samples: the view the run searched
        config: the run's config
        key: the run key
        groups: per group, its size and accuracies
        num_samples: the number of samples in the searched view
        num_used: the number of units searched
        num_missing_label: samples left out for lacking a label
        num_missing_prediction: samples left out for lacking a prediction
        num_tags: the number of distinct tags seen
        significance (None): how the modes were tested (a dict)
        backend (None): the run
        **fields: the modes (under ``_MODES``) and the subclass's own fields
    """

    _MODES: ClassVar[str] = "modes"
    _MODE_CLS: ClassVar[type] = None

    _FIELDS: ClassVar[dict] = {
        "groups": _dict,
        "num_samples": _count,
        "num_used": _count,
        "num_missing_label": _count,
        "num_missing_prediction": _count,
        "num_tags": _count,
        "significance": _same,
    }

    def __init__(self, samples, config, key, backend=None, **fields):
        modes = fields.pop(self._MODES, None)
        super().__init__(samples, config, key, backend=backend, **fields)
        cls = self._MODE_CLS
        self._modes = [m if isinstance(m, cls) else cls.from_dict(m) for m in (modes or [])]

    def _set_modes(self, modes) -> None:
        self._modes = list(modes)

    @property
    def view_names(self) -> list[str]:
        """The names of the saved views this run created."""
        return [m.view_name for m in self._modes if m.view_name]

    @property
    def view_ids(self) -> list[str]:
        """The ids of the saved-view documents this run created (or was about
        to create when it was interrupted)."""
        return [m.view_id for m in self._modes if m.view_id]

    def __len__(self) -> int:
        return len(self._modes)

    def mode(self, mode: Union[int, str, Any]):
        """A mode of the run, from itself, its index or its view name.

        Raises:
            ValueError: if no mode has that view name
        """
        if isinstance(mode, int):
            return self._modes[mode]
        if isinstance(mode, self._MODE_CLS):
            return mode
        for m in self._modes:
            if m.view_name == mode:
                return m
        raise ValueError(f"Run '{self.key}' has no mode with the view {mode!r}")

    def load_view(self, mode: Union[int, str, Any]):
        """Loads the saved view of a mode.

        Args:
            mode: the mode, its index, or its view name

        Returns:
            a :class:`fiftyone.core.view.DatasetView`
        """
        name = self.mode(mode).view_name
        if not name:
            raise ValueError("This mode has no saved view (save_views=False or beyond max_views)")
        return self.samples._root_dataset.load_saved_view(name)

    # ------------------------------------------------------------- summary

    #: What the run's units are called in its summary.
    unit_noun = "samples"

    def _headline(self) -> str:
        """The summary's first line."""
        return (
            f"PRIME run '{self.key}': {len(self._modes)} {self.kind.mode_noun} over "
            f"{self.num_used} {self.unit_noun} ({self.num_tags} tags)"
        )

    def _units_lines(self) -> list[str]:
        """The summary's lines on the run's units, under its headline (none
        for samples compared label to label)."""
        return []

    def _missing_prediction(self) -> str:
        return "without a prediction"

    def _table(self) -> list[str]:
        """The modes as text lines (a header, a rule and a row per mode)."""
        raise NotImplementedError

    def _significance_lines(self) -> list[str]:
        sig = self.significance or {}
        if sig.get("alpha") is not None:
            lines = [
                f"significant at alpha={sig['alpha']:g} ({sig['procedure']}, "
                f"{error_rate_name(sig)} over "
                f"<= {sig['family_size']:,.0f} tag sets); {sig['num_not_significant']} more met "
                "the definition but could be chance (alpha=None keeps them)"
            ]
            if sig.get("num_aliases"):
                lines.append(
                    f"{sig['num_aliases']} more are proxies of a stronger mode of their class, "
                    "listed as its aliases"
                )
            return lines
        if sig and sig.get("tested_family") is None:  # alpha=None adjusts nothing
            return [
                "every mode of the definition (alpha=None), with p-values; no adjusted "
                "p-values (no error control asked for)"
            ]
        if sig:
            return [
                f"every mode of the definition (alpha=None); adjusted p-values are "
                f"{sig['procedure']} over <= {sig['family_size']:,.0f} tag sets"
            ]
        return []

    def summary(self) -> str:
        """Returns a plain-text table of the modes, with how they were tested."""
        lines = [self._headline(), *self._units_lines(), *self._significance_lines()]
        if self.num_missing_label or self.num_missing_prediction:
            lines.append(
                f"left out: {self.num_missing_label} without a label, "
                f"{self.num_missing_prediction} {self._missing_prediction()}"
            )
        if self.config.save_views and len(self.view_names) < len(self):
            lines.append(
                f"{len(self) - len(self.view_names)} {self.kind.mode_noun} have no saved "
                f"view (max_views={self.config.max_views}); all are listed below"
            )
        lines += self._table()
        return "\n".join(lines)

    # ------------------------------------------------------------- storage

    def serialize(self, reflective=False):
        d = super().serialize(reflective=reflective)
        d[self._MODES] = [m.to_dict() for m in self._modes]
        return d

    def get_meta(self) -> dict[str, Optional[int]]:
        return {f"num_{self._MODES}": len(self._modes), "num_used": self.num_used}
