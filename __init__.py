"""fiftyone-prime plugin entry point.

Two installs work:

-   ``pip install -e .`` (or a wheel): ``fiftyone_prime`` is importable
    everywhere, and run results load the same way from the App, delegated
    workers and Python.
-   ``fiftyone plugins download <repository url>`` followed by
    ``fiftyone plugins requirements @fiftyone-prime/prime --install``: the
    package is not installed, and :func:`register` imports it from this
    plugin folder (it puts the folder first on ``sys.path``).

The import happens inside :func:`register`, so importing this folder as a
package (test runners do) does not import FiftyOne.
"""

import os
import sys

_PLUGIN_DIR = os.path.dirname(os.path.abspath(__file__))


def _import_package():
    """Imports ``fiftyone_prime``: installed if it is, else from this folder."""
    try:
        import fiftyone_prime
    except ModuleNotFoundError as e:
        if e.name != "fiftyone_prime":
            raise  # the package is there and one of its requirements is missing
        if not os.path.isdir(os.path.join(_PLUGIN_DIR, "fiftyone_prime")):
            raise
        sys.path.insert(0, _PLUGIN_DIR)
        import fiftyone_prime  # noqa: F401


def register(p):
    """Registers the plugin's operators with FiftyOne."""
    _import_package()
    from fiftyone_prime.plugin import register as register_operators

    register_operators(p)
