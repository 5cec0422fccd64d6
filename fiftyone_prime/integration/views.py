"""Saved views of failure modes: names, descriptions and the matching view."""

from __future__ import annotations

from typing import Iterable

import fiftyone.core.utils as fou
from fiftyone import ViewField as F

from .fields import TagSource

# FiftyOne's limit on saved view names.
_MAX_NAME = 1500


def view_name(run_key: str, group, tags: Iterable[str]) -> str:
    """A readable, stable saved-view name: ``"<run key> <class>: <tag> + <tag>"``."""
    name = f"{run_key} {group}: " + " + ".join(tags)
    return name[:_MAX_NAME]


def view_slug(name: str) -> str:
    """The URL slug FiftyOne derives from a saved view name (names collide by slug)."""
    return fou.to_slug(name)


def view_description(mode, run_key: str) -> str:
    """A one-paragraph description of a failure mode, stored on its saved view."""
    tags = ", ".join(mode.tags)
    text = (
        f"PRIME failure mode of class '{mode.group}' with tags {{{tags}}}: accuracy "
        f"{mode.accuracy:.1%} ({mode.num_correct}/{mode.size}) vs {mode.group_accuracy:.1%} "
        f"for the class (n={mode.group_size}), a drop of {mode.drop * 100:.1f} points."
    )
    metrics = getattr(mode, "metrics", None)
    if metrics:
        parts = [f"{k} {v:.3f}" for k, v in metrics.items() if isinstance(v, (int, float))]
        if parts:
            text += " CLIP metrics: " + ", ".join(parts) + "."
    return text + f" Run '{run_key}'."


def failure_mode_view(samples, label_field: str, pred_field: str, group, sources, tag_keys):
    """The samples of ``group`` carrying every tag, correct and incorrect.

    Args:
        samples: the view the run searched
        label_field: the ground-truth field
        pred_field: the prediction field (samples without one were not
            searched, so they are left out here too)
        group: the class label
        sources: the :class:`TagSource` per tag field
        tag_keys: ``(field, label)`` per tag of the failure mode

    Returns:
        a :class:`fiftyone.core.view.DatasetView`
    """
    by_field: dict[str, list[str]] = {}
    for field, label in tag_keys:
        by_field.setdefault(field, []).append(label)
    source_of = {s.field: s for s in sources}
    expr = (F(f"{label_field}.label") == group) & (F(f"{pred_field}.label") != None)  # noqa: E711
    for field, labels in by_field.items():
        expr &= source_of[field].match_expression(labels)
    return samples.match(expr)


def source_from_config(field: str, kind: str) -> TagSource:
    """Rebuilds a :class:`TagSource` stored in a run config."""
    return TagSource(field, kind)
