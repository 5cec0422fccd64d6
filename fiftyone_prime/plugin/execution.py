"""What every operator does around its one SDK call, written once.

An operator's ``execute()`` unpacks ``ctx.params``, resolves
``ctx.target_view()`` and hands one SDK function to :func:`call`, which
reports the SDK's progress on a delegated operation's status and reloads the
App when the operation ran immediately (as the brain operators of
``voxel51/fiftyone-plugins`` do). :class:`FormOperator` holds the config a
form operator shares and runs the operator from Python through FiftyOne's
operator machinery.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

import fiftyone.core.utils as fou
import fiftyone.operators as foo


def progress(ctx, label: str):
    """A FiftyOne ``progress`` argument that reports to a delegated
    operation's status as ``"label (i/n)"``; None when run immediately (the
    App waits for the result)."""
    if not ctx.delegated:
        return None

    def report(pb):
        ctx.set_progress(progress=pb.progress, label=f"{label} ({pb.iteration}/{pb.total})")

    return fou.report_progress(report, dt=1.0)


def call(
    ctx,
    function: Callable,
    *args,
    start: Optional[str] = None,
    progress_label: Optional[str] = None,
    reload: bool = True,
    **kwargs,
):
    """Calls one SDK function for an operator's ``execute()``.

    Args:
        ctx: the operator's execution context
        function: the SDK function
        *args: its positional arguments
        start (None): a status line a delegated operation shows before the
            first progress report
        progress_label (None): passes ``progress=`` a callback that reports
            under this label (:func:`progress`); None passes none
        reload (True): whether to reload the App's dataset afterwards when
            run immediately (a delegated run's App reloads on its own)
        **kwargs: its keyword arguments

    Returns:
        what ``function`` returns
    """
    if start is not None and ctx.delegated:
        ctx.set_progress(progress=0.0, label=start)
    if progress_label is not None:
        kwargs["progress"] = progress(ctx, progress_label)
    result = function(*args, **kwargs)
    if reload and not ctx.delegated:
        ctx.trigger("reload_dataset")
    return result


def as_list(value) -> list:
    """A field name or a list of them, as a list."""
    return [value] if isinstance(value, str) else list(value)


class FormOperator(foo.Operator):
    """A listed, dynamic form over one SDK function.

    Subclasses set :attr:`NAME`, :attr:`LABEL`, :attr:`DESCRIPTION` and, for
    a form with the "Delegate execution?" choice
    (:func:`fiftyone_prime.plugin.forms.delegation`), :attr:`DELEGABLE`.
    """

    NAME = LABEL = DESCRIPTION = ""
    DELEGABLE = False

    @property
    def config(self):
        return foo.OperatorConfig(
            name=self.NAME,
            label=self.LABEL,
            description=self.DESCRIPTION,
            dynamic=True,
            allow_immediate_execution=True,
            allow_delegated_execution=self.DELEGABLE,
        )

    def resolve_delegation(self, ctx):
        return self.DELEGABLE and ctx.params.get("delegate", False)

    def run_from_python(self, sample_collection, params: dict, delegate: bool = False):
        """Runs the operator through FiftyOne's operator machinery, as the App
        does; parameters left as ``None`` take the form's defaults.

        Returns:
            an :class:`fiftyone.operators.executor.ExecutionResult`
        """
        params = {k: v for k, v in params.items() if v is not None}
        return foo.execute_operator(
            self.uri,
            dict(view=sample_collection.view()),
            params=params,
            request_delegation=delegate,
        )
