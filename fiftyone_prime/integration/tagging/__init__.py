"""Tags: images tagged with concepts by a model, objects tagged from their
boxes, and the audit of tags against labels. Imports ``reading``, ``runs``,
the models (lazily) and the core.

``integration.tagging`` was the module that tags images, now
:mod:`~fiftyone_prime.integration.tagging.images`; this package forwards that
module's names.
"""

from .. import forward_names

__getattr__ = forward_names(__name__, "images")
