"""The PRIME panel: a dataset's failure-mode runs and their modes; click to open one."""

from __future__ import annotations

import fiftyone.operators as foo
import fiftyone.operators.types as types

from fiftyone_prime.integration.evaluations import units_notice
from fiftyone_prime.integration.regressions import (
    REGRESSION_COLUMNS,
    list_regression_runs,
    load_regressions,
    regression_row,
)
from fiftyone_prime.integration.rows import columns, mode_row
from fiftyone_prime.integration.run_store import list_failure_mode_runs, load_failure_modes

#: Sort keys offered by the panel: failure-mode attributes, then CLIP metrics.
SORT_KEYS = (
    "drop",
    "adjusted_p_value",
    "size",
    "accuracy",
    "auroc",
    "similarity_mean",
    "similarity_std",
)

#: Sort keys whose best values are the smallest.
_ASCENDING = ("adjusted_p_value", "accuracy", "similarity_std")

_MAX_BUTTONS = 100


def panel_rows(dataset, run_key: str, sort_by: str = "drop") -> list[dict]:
    """The rows the panel shows for a run, sorted (modes lacking a metric last).

    Each row is :func:`fiftyone_prime.integration.rows.mode_row` plus the
    mode's ``caption`` (the text its CLIP metrics scored; empty before them).
    A regression run's rows are
    :func:`fiftyone_prime.integration.regressions.regression_row` (both
    models' accuracies), by drop.
    """
    if run_key in list_regression_runs(dataset):
        return [regression_row(m) for m in load_regressions(dataset, run_key).regressions]
    results = load_failure_modes(dataset, run_key)
    try:
        modes = results.sorted(sort_by, reverse=sort_by not in _ASCENDING)
    except ValueError:  # a metric this run does not have yet
        modes = results.sorted("drop")
    return [{**mode_row(m), "caption": (m.metrics or {}).get("caption", "")} for m in modes]


class FailureModesPanel(foo.Panel):
    """Lists the PRIME runs of the dataset and their failure modes."""

    @property
    def config(self):
        return foo.PanelConfig(
            name="prime_failure_modes",
            label="PRIME failure modes",
            help_markdown=(
                "Failure modes found by **PRIME: find failure modes**: tag combinations where "
                "the classifier's accuracy drops. Pick a run, sort, and open a mode's view."
            ),
        )

    def on_load(self, ctx):
        self._refresh(ctx)

    def on_change_dataset(self, ctx):
        self._refresh(ctx)

    def on_change_run(self, ctx):
        ctx.panel.state.run_key = ctx.params.get("value")
        self._refresh(ctx)

    def on_change_sort(self, ctx):
        ctx.panel.state.sort_by = ctx.params.get("value")
        self._refresh(ctx)

    def open_mode(self, ctx):
        name = ctx.params.get("view_name")
        if name and ctx.dataset.has_saved_view(name):
            ctx.ops.set_view(name=name)
        else:
            ctx.ops.notify(f"The saved view '{name}' no longer exists", variant="error")

    def _refresh(self, ctx):
        runs = (
            sorted(list_failure_mode_runs(ctx.dataset) + list_regression_runs(ctx.dataset))
            if ctx.dataset is not None
            else []
        )
        key = ctx.panel.state.run_key
        if key not in runs:
            key = runs[0] if runs else None
        sort_by = ctx.panel.state.sort_by or "drop"
        ctx.panel.state.runs = runs
        ctx.panel.state.run_key = key
        ctx.panel.state.sort_by = sort_by
        ctx.panel.state.rows = panel_rows(ctx.dataset, key, sort_by) if key else []
        ctx.panel.state.notice = units_notice(ctx.dataset, key) if key else ""

    def render(self, ctx):
        panel = types.Object()
        runs = ctx.panel.state.runs or []
        if not runs:
            panel.md(
                "No failure-mode runs on this dataset yet. Run **PRIME: tag samples**, "
                "then **PRIME: find failure modes** from the operator menu.",
                name="empty",
            )
            return types.Property(panel, view=types.GridView(orientation="vertical"))
        panel.enum(
            "run_key",
            runs,
            default=ctx.panel.state.run_key,
            label="Run",
            view=types.DropdownView(),
            on_change=self.on_change_run,
        )
        panel.enum(
            "sort_by",
            list(SORT_KEYS),
            default=ctx.panel.state.sort_by,
            label="Sort by",
            view=types.DropdownView(),
            on_change=self.on_change_sort,
        )
        if ctx.panel.state.notice:  # objects or an evaluation's samples, and its state
            panel.md(ctx.panel.state.notice, name="units")
        rows = ctx.panel.state.rows or []
        table = types.TableView()
        if rows and "acc (base -> new)" in rows[0]:  # a regression run: both models
            for header, _, _ in REGRESSION_COLUMNS:
                table.add_column(header, label=header)
        else:
            for column in columns(with_metrics=True):
                table.add_column(column.key, label=column.label)
            table.add_column("caption", label="caption")
        panel.list("rows", types.Object(), view=table, default=rows)
        for i, row in enumerate(rows[:_MAX_BUTTONS]):
            if row["view"]:
                panel.btn(
                    f"open_{i}",
                    label=f"Open {row['class']}: {row['tags']}",
                    on_click=self.open_mode,
                    params={"view_name": row["view"]},
                )
        return types.Property(panel, view=types.GridView(orientation="vertical", gap=1))
