"""fiftyone-prime plugin entry point.

The operators live in the installed ``fiftyone_prime`` package (``pip install
-e .``), so run classes and results load the same way from the App, delegated
workers and Python. The import happens inside :func:`register`, so importing
this folder as a package (test runners do) does not import FiftyOne.
"""


def register(p):
    """Registers the plugin's operators with FiftyOne."""
    from fiftyone_prime.plugin import register as register_operators

    register_operators(p)
