"""One way to show a failure mode: the columns every table uses.

``results.summary()``, the find operator's output table, the App panel and
the HTML report all render failure modes through :func:`mode_row`, so a
column added here (or a change of format) shows up everywhere at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional


def error_rate_name(significance: dict) -> str:
    """What a run's ``alpha`` bounded, in words, from its significance
    record: ``"false-discovery rate"`` or ``"family-wise error rate"`` (runs
    stored before the choice existed used family-wise control)."""
    control = significance.get("error_control", "fwer")
    return "family-wise error rate" if control == "fwer" else "false-discovery rate"


def format_p(p: Optional[float]) -> str:
    """A p-value for people: ``0.012``, ``3.4e-09``; ``<1e-300`` when it underflows."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "–"
    if p == 0.0:
        return "<1e-300"
    return f"{p:.3f}" if p >= 1e-3 else f"{p:.1e}"


def format_percent(x: Optional[float]) -> str:
    """``0.1234`` as ``12.3%``; a dash when undefined."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.1%}"


def format_interval(ci) -> str:
    """An accuracy interval as ``11.5–26.0%``; a dash when undefined."""
    if not ci:
        return "–"
    return f"{ci[0] * 100:.1f}–{ci[1] * 100:.1f}%"


def _metric(name: str) -> Callable[[Any], str]:
    def fmt(mode) -> str:
        value = (getattr(mode, "metrics", None) or {}).get(name)
        return f"{value:.3f}" if isinstance(value, (int, float)) and not math.isnan(value) else "–"

    return fmt


@dataclass(frozen=True)
class Column:
    """A column of the failure-mode tables.

    Attributes:
        key: the row key
        label: the header
        width: the width in the plain-text table
        render: mode -> text
        numeric: right-aligned in tables
        metric: shown only once a run has CLIP metrics
    """

    key: str
    label: str
    width: int
    render: Callable[[Any], str]
    numeric: bool = True
    metric: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("class", "class", 20, lambda m: str(m.group), numeric=False),
    Column("tags", "tags", 36, lambda m: " + ".join(m.tags), numeric=False),
    Column("size", "size", 6, lambda m: str(m.size)),
    Column("accuracy", "acc", 7, lambda m: format_percent(m.accuracy)),
    Column("accuracy_ci", "acc 95% CI", 12, lambda m: format_interval(m.accuracy_ci)),
    Column("class_accuracy", "class acc", 9, lambda m: format_percent(m.group_accuracy)),
    Column(
        "drop", "drop (pts)", 10, lambda m: "–" if math.isnan(m.drop) else f"{m.drop * 100:.1f}"
    ),
    Column("p_value", "p", 8, lambda m: format_p(m.p_value)),
    Column("adjusted_p_value", "adj. p", 8, lambda m: format_p(m.adjusted_p_value)),
    Column("similarity", "sim", 6, _metric("similarity_mean"), metric=True),
    Column("similarity_std", "sim sd", 6, _metric("similarity_std"), metric=True),
    Column("auroc", "AUROC", 6, _metric("auroc"), metric=True),
)


def format_score(x: Optional[float]) -> str:
    """A mean score for people, four significant digits; a dash when undefined."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.4g}"


def format_score_interval(ci) -> str:
    """A mean score's interval as ``1.2–3.4``; a dash when undefined."""
    if not ci:
        return "–"
    return f"{ci[0]:.3g}–{ci[1]:.3g}"


#: The columns of score modes (:class:`fiftyone_prime.core.ScoreMode`): the
#: mean score and its interval, the group's mean and how much worse the mode
#: is, in the score's units, in place of accuracies.
SCORE_COLUMNS: tuple[Column, ...] = (
    COLUMNS[0],
    COLUMNS[1],
    COLUMNS[2],
    Column("mean_score", "mean", 9, lambda m: format_score(m.mean)),
    Column("mean_ci", "mean 95% CI", 15, lambda m: format_score_interval(m.mean_ci)),
    Column("group_mean", "group mean", 10, lambda m: format_score(m.group_mean)),
    Column("drop", "worse by", 9, lambda m: format_score(m.drop)),
    *COLUMNS[7:],
)


def columns(with_metrics: bool, base: tuple[Column, ...] = COLUMNS) -> list[Column]:
    """The columns to show, with or without the CLIP metrics (``base``:
    :data:`COLUMNS`, or :data:`SCORE_COLUMNS` for score modes)."""
    return [c for c in base if with_metrics or not c.metric]


def columns_of(modes) -> tuple[Column, ...]:
    """The column set that shows ``modes``: :data:`SCORE_COLUMNS` for score
    modes (they have a mean score), else :data:`COLUMNS`."""
    first = next(iter(modes), None)
    return SCORE_COLUMNS if hasattr(first, "group_mean") else COLUMNS


def mode_row(mode, with_metrics: bool = True, base: Optional[tuple] = None) -> dict[str, str]:
    """A failure mode as display strings by column key, plus its ``view`` name
    (``base``: the column set; by default the one that shows ``mode``)."""
    base = columns_of([mode]) if base is None else base
    row = {c.key: c.render(mode) for c in columns(with_metrics, base)}
    row["view"] = getattr(mode, "view_name", None) or ""
    return row


def text_table(modes, with_metrics: bool, base: Optional[tuple] = None) -> list[str]:
    """The modes as a fixed-width plain-text table (header, rule, rows);
    ``base``: the column set, by default the one that shows ``modes``."""
    base = columns_of(modes) if base is None else base
    cols = columns(with_metrics, base)

    def cell(c: Column, text: str) -> str:
        text = text[: c.width]
        return f"{text:>{c.width}}" if c.numeric else f"{text:<{c.width}}"

    header = " ".join(cell(c, c.label) for c in cols)
    lines = [header, "-" * len(header)]
    for mode in modes:
        row = mode_row(mode, with_metrics, base)
        lines.append(" ".join(cell(c, row[c.key]) for c in cols))
    return lines


def describe(mode, run_key: str) -> str:
    """A one-paragraph description of a failure mode, for its saved view."""
    tags = ", ".join(mode.tags)
    text = (
        f"PRIME failure mode of class '{mode.group}' with tags {{{tags}}}: accuracy "
        f"{format_percent(mode.accuracy)} ({mode.num_correct}/{mode.size}; 95% CI "
        f"{format_interval(mode.accuracy_ci)}) vs {format_percent(mode.group_accuracy)} for "
        f"the class (n={mode.group_size}), a drop of {mode.drop * 100:.1f} points"
    )
    if mode.p_value is not None:
        text += f"; p = {format_p(mode.p_value)}, adjusted p = {format_p(mode.adjusted_p_value)}"
    text += "."
    metrics = getattr(mode, "metrics", None)
    if metrics:
        parts = [f"{k} {v:.3f}" for k, v in metrics.items() if isinstance(v, (int, float))]
        if parts:
            text += " CLIP metrics: " + ", ".join(parts) + "."
    return text + f" Run '{run_key}'."
