"""Failure-mode runs: the search over a view (label fields or evaluation
units), held-out validation and re-measuring on other data, re-searching
from cached inputs, CLIP metrics. Imports ``reading``, ``runs`` and the
core."""
