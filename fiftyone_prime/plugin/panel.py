"""The PRIME panel: a dataset's failure-mode runs and their modes; click to open one."""

from __future__ import annotations

from typing import Optional

import fiftyone.operators as foo
import fiftyone.operators.types as types

from fiftyone_prime.core.types import SearchParams
from fiftyone_prime.integration.comparisons.regressions import (
    ALIASES_COLUMN,
    REGRESSION_COLUMNS,
    list_regression_runs,
    load_regressions,
    regression_row,
)
from fiftyone_prime.integration.failure_modes.evaluations import results_notice
from fiftyone_prime.integration.runs.rows import COLUMNS, SCORE_COLUMNS, columns, mode_row
from fiftyone_prime.integration.runs.run_store import list_failure_mode_runs, load_failure_modes

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

    Each row is :func:`fiftyone_prime.integration.runs.rows.mode_row` plus the
    mode's ``caption`` (the text its CLIP metrics scored; empty before them).
    A regression run's rows are
    :func:`fiftyone_prime.integration.comparisons.regressions.regression_row` (both
    models' accuracies), by drop.
    """
    if run_key in list_regression_runs(dataset):
        return [regression_row(m) for m in load_regressions(dataset, run_key).regressions]
    return _mode_rows(load_failure_modes(dataset, run_key), sort_by)


def _mode_rows(results, sort_by: str) -> list[dict]:
    """:func:`panel_rows` of loaded failure-mode results."""
    try:
        modes = results.sorted(sort_by, reverse=sort_by not in _ASCENDING)
    except ValueError:  # a metric this run does not have yet
        modes = results.sorted("drop")
    return [{**mode_row(m), "caption": (m.metrics or {}).get("caption", "")} for m in modes]


#: The search parameters the panel offers: (name, input kind, label).
EXPLORE_INPUTS = (
    ("min_size", "int", "Min size"),
    ("min_drop", "float", "Min drop"),
    ("min_gain", "float", "Min gain"),
    ("max_tags", "int", "Max tags"),
    ("alpha", "float", "Alpha (empty: keep all)"),
)


def _input_values(results) -> dict:
    """The search parameters a run used, as the panel's input values."""
    p = results.config.params
    return {name: getattr(p, name) for name, _, _ in EXPLORE_INPUTS}


def explore_params(dataset, run_key: str, values: dict) -> SearchParams:
    """The run's parameters with the panel's inputs over them (empty inputs
    keep the run's value, except alpha, where empty means None)."""
    p = load_failure_modes(dataset, run_key).config.params
    kwargs = p.to_dict() if hasattr(p, "to_dict") else dict(vars(p))
    for name, kind, _ in EXPLORE_INPUTS:
        if name not in values:
            continue
        value = values[name]
        if value in (None, ""):
            if name == "alpha":
                kwargs["alpha"] = None
            continue
        kwargs[name] = _number(name, value, kind)
    return SearchParams(**kwargs)


def _number(name: str, value, kind: str):
    """A panel input as a number, refused in one line when it is not one (or,
    for a whole-number input, has a fraction: 2.7 is not truncated to 2)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a number; got {value!r}") from None
    if kind != "int":
        return number
    if not number.is_integer():
        raise ValueError(f"`{name}` must be a whole number; got {value!r}")
    return int(number)


def explore_classes(value) -> Optional[list[str]]:
    """The panel's class filter: a list of classes, or one text of classes
    separated by commas (``None``: every class)."""
    if value is None:
        return None
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    classes = [str(c).strip() for c in items if c is not None and str(c).strip()]
    return classes or None


def _same_input(old, new) -> bool:
    if old in (None, "") or new in (None, ""):
        return old in (None, "") and new in (None, "")
    try:
        return float(old) == float(new)
    except (TypeError, ValueError):
        return str(old) == str(new)


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
        ctx.panel.state.explore = None  # another run: its own parameters
        ctx.panel.state.explore_note = None
        self._refresh(ctx)

    def on_change_sort(self, ctx):
        ctx.panel.state.sort_by = ctx.params.get("value")
        self._refresh(ctx)

    # Exploring: threshold inputs re-search the run's view from cached inputs
    # and replace the rows in place; nothing is stored until "Save as run".

    # on_explore_<name>(ctx) for each threshold input and "classes": written
    # once, below the class (_explore_handler).

    def on_save_key(self, ctx):
        ctx.panel.state.save_key = ctx.params.get("value")

    def save_exploration(self, ctx):
        from fiftyone_prime.integration.failure_modes.explore import keep_exploration

        key = ctx.panel.state.run_key
        new_key = (ctx.panel.state.save_key or "").strip() or f"{key}_explored"
        try:
            params = explore_params(ctx.dataset, key, ctx.panel.state.explore or {})
            results = keep_exploration(ctx.dataset, key, params, new_key)
        except (ValueError, TypeError) as e:
            ctx.ops.notify(str(e), variant="error")
            return
        ctx.panel.state.run_key = new_key
        ctx.panel.state.explore = None
        ctx.panel.state.explore_note = (
            f"Saved as run '{new_key}' ({len(results)} failure modes, "
            f"{len(results.view_names)} views)"
        )
        self._refresh(ctx)

    def _explore(self, ctx, name, value):
        from fiftyone_prime.integration.failure_modes.explore import explore

        key = ctx.panel.state.run_key
        if not key:
            return
        values = dict(ctx.panel.state.explore or {})
        current = {**(ctx.panel.state.explore_defaults or {}), **values}.get(name)
        if _same_input(current, value):
            return  # the App reports fields' first values too: nothing changed
        values[name] = value
        ctx.panel.state.explore = values
        try:
            params = explore_params(ctx.dataset, key, values)
            out = explore(ctx.dataset, key, params, explore_classes(values.get("classes")))
        except (ValueError, TypeError) as e:
            ctx.panel.state.explore_note = f"Not searched: {e}"
            return
        ctx.panel.state.rows = out.rows
        ctx.panel.state.explore_note = (
            f"{len(out.rows)} of {out.num_modes} failure modes shown; updated in "
            f"{out.seconds:.2f}s (search {out.search_seconds:.2f}s, inputs from "
            f"{out.inputs_source}). Not saved: **Save as run** keeps it."
        )

    def more_like(self, ctx):
        """Opens the "more like this" form for a row's failure mode."""
        ctx.prompt(
            f"{self.plugin_name}/find_more_like",
            params={"run_key": ctx.panel.state.run_key, "view_name": ctx.params.get("view_name")},
        )

    def test_hypothesis(self, ctx):
        """Opens the "test a hypothesis" form, the selected run as the source
        of its hypotheses."""
        key = ctx.panel.state.run_key
        params = {"proposed_from": key} if key in list_failure_mode_runs(ctx.dataset) else {}
        ctx.prompt(f"{self.plugin_name}/test_hypotheses", params=params)

    def open_mode(self, ctx):
        name = ctx.params.get("view_name")
        if name and ctx.dataset.has_saved_view(name):
            ctx.ops.set_view(name=name)
        else:
            ctx.ops.notify(f"The saved view '{name}' no longer exists", variant="error")

    def _refresh(self, ctx):
        # The run lists and the selected run are read once per refresh.
        mode_runs = list_failure_mode_runs(ctx.dataset) if ctx.dataset is not None else []
        regression_runs = list_regression_runs(ctx.dataset) if ctx.dataset is not None else []
        runs = sorted(mode_runs + regression_runs)
        key = ctx.panel.state.run_key
        if key not in runs:
            key = runs[0] if runs else None
        sort_by = ctx.panel.state.sort_by or "drop"
        ctx.panel.state.runs = runs
        ctx.panel.state.run_key = key
        ctx.panel.state.sort_by = sort_by
        rows, notice, explore_defaults = [], "", None
        if key in regression_runs:
            results = load_regressions(ctx.dataset, key)
            rows = [regression_row(m) for m in results.regressions]
            notice = results_notice(results)  # objects compared, for an object-level run
        elif key is not None:
            results = load_failure_modes(ctx.dataset, key)
            rows = _mode_rows(results, sort_by)
            notice = results_notice(results)
            # Thresholds are explored on runs over label and prediction
            # fields (not over an evaluation's units).
            explore_defaults = None if notice else _input_values(results)
        ctx.panel.state.rows = rows
        ctx.panel.state.notice = notice
        ctx.panel.state.explore_defaults = explore_defaults

    def render(self, ctx):
        panel = types.Object()
        runs = ctx.panel.state.runs or []
        if not runs:
            panel.md(
                "No failure-mode runs on this dataset yet. Run **PRIME: tag samples**, "
                "then **PRIME: find failure modes** from the operator menu.",
                name="empty",
            )
            panel.btn("test_hypothesis", label="Test a hypothesis", on_click=self.test_hypothesis)
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
        if ctx.panel.state.explore_defaults:
            self._render_explore(ctx, panel)
        rows = ctx.panel.state.rows or []
        table = types.TableView()
        if rows and "acc (base -> new)" in rows[0]:  # a regression run: both models
            for header, _, _ in REGRESSION_COLUMNS:
                table.add_column(header, label=header)
            table.add_column(ALIASES_COLUMN, label=ALIASES_COLUMN)
        else:
            base = SCORE_COLUMNS if rows and "mean_score" in rows[0] else COLUMNS  # a score run
            for column in columns(with_metrics=True, base=base):
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
                if "caption" in row:  # a failure mode (not a regression): more data like it
                    panel.btn(
                        f"more_like_{i}",
                        label=f"More like {row['class']}: {row['tags']}",
                        on_click=self.more_like,
                        params={"view_name": row["view"]},
                    )
        panel.md(
            "### Test a hypothesis\nA hunch ('cat: snow + night'), or this run's failure modes "
            "on the samples it did not search, tested exactly with online FDR control.",
            name="hypotheses_header",
        )
        panel.btn("test_hypothesis", label="Test a hypothesis", on_click=self.test_hypothesis)
        return types.Property(panel, view=types.GridView(orientation="vertical", gap=1))

    def _render_explore(self, ctx, panel):
        d = {**(ctx.panel.state.explore_defaults or {}), **(ctx.panel.state.explore or {})}
        for name, kind, label in EXPLORE_INPUTS:
            getattr(panel, kind)(
                f"explore_{name}",
                default=d.get(name),
                label=label,
                on_change=getattr(self, f"on_explore_{name}"),
            )
        panel.str(
            "explore_classes",
            default=d.get("classes") or "",
            label="Classes (comma-separated; empty: all)",
            on_change=self.on_explore_classes,
        )
        if ctx.panel.state.explore_note:
            panel.md(ctx.panel.state.explore_note, name="explore_note")
        if ctx.panel.state.explore:
            panel.str(
                "save_key",
                default=ctx.panel.state.save_key or "",
                label="New run key",
                on_change=self.on_save_key,
            )
            panel.btn("save_exploration", label="Save as run", on_click=self.save_exploration)


def _explore_handler(name: str):
    """The panel's handler of the explore input ``name``: re-searches with it."""

    def handler(self, ctx):
        self._explore(ctx, name, ctx.params.get("value"))

    # FiftyOne calls a panel's handlers by their name
    handler.__name__ = f"on_explore_{name}"
    handler.__qualname__ = f"FailureModesPanel.{handler.__name__}"
    return handler


for _name in (*(name for name, _, _ in EXPLORE_INPUTS), "classes"):
    setattr(FailureModesPanel, f"on_explore_{_name}", _explore_handler(_name))
