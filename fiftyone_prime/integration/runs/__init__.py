"""Runs on a dataset: the run classes, storing and loading them, one writer
per run (leases, the run guard), the saved views a run owns and the
dataset's saved-view list, repair; the rows every table shows. Imports
``reading`` and the core.

``integration.runs`` was the module of the run classes, now
:mod:`~fiftyone_prime.integration.runs.classes`; FiftyOne stores runs by
class path (``integration.runs.FailureModeRunConfig``), so
this package forwards that module's names.
"""

from .. import forward_names

__getattr__ = forward_names(__name__, "classes")
