"""The keyword entry points build their SearchParams positionally (one line
instead of a keyword list repeated four times): their search keywords must be
SearchParams' fields, all of them, in its field order."""

import inspect
from dataclasses import fields

import pytest

from fiftyone_prime.core import regression as core_regression
from fiftyone_prime.core import search as core_search
from fiftyone_prime.core.types import SearchParams
from fiftyone_prime.integration.comparisons import regressions
from fiftyone_prime.integration.failure_modes import search


@pytest.mark.parametrize(
    "entry",
    [
        core_search.find_failure_modes,
        core_regression.find_regressions,
        search.find_failure_modes,
        regressions.find_regressions,
    ],
    ids=lambda f: f"{f.__module__}.{f.__name__}",
)
def test_the_search_keywords_are_the_params_fields_in_their_order(entry):
    names = [f.name for f in fields(SearchParams)]
    keywords = [p for p in inspect.signature(entry).parameters if p in names]
    assert keywords == names
