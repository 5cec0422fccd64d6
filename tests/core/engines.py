"""Every engine the tests run the searches on, and a search with a given engine.

The product ships the compiled engine; the levelwise numpy engine of
:mod:`tests.core.levelwise` is a second oracle. The ``engine`` fixture
(``tests/core/conftest.py``) runs a test on each.
"""

from __future__ import annotations

from typing import Any, Optional

from fiftyone_prime.core import FailureMode, RegressionMode, SearchParams, run_search
from fiftyone_prime.core.engine import CompiledEngine, Engine
from fiftyone_prime.core.regression import run_regression_search
from tests.core.levelwise import LevelwiseEngine

ENGINES: dict[str, Engine] = {"compiled": CompiledEngine(), "levelwise": LevelwiseEngine()}


def find(
    engine: Engine,
    tags: Any,
    correct: Any,
    groups: Any = None,
    *,
    tag_names: Optional[list[str]] = None,
    alpha: Optional[float] = None,
    **kwargs: Any,
) -> list[FailureMode]:
    """:func:`fiftyone_prime.core.find_failure_modes` on ``engine``; every
    mode of the definition by default (``alpha=None``)."""
    params = SearchParams(alpha=alpha, **kwargs)
    outcome = run_search(tags, correct, groups, tag_names=tag_names, params=params, engine=engine)
    return outcome.failure_modes


def find_regressions(
    engine: Engine,
    tags: Any,
    baseline_correct: Any,
    correct: Any,
    groups: Any = None,
    *,
    tag_names: Optional[list[str]] = None,
    alpha: Optional[float] = None,
    **kwargs: Any,
) -> list[RegressionMode]:
    """:func:`fiftyone_prime.core.find_regressions` on ``engine``; every
    mode of the definition by default (``alpha=None``)."""
    params = SearchParams(alpha=alpha, **kwargs)
    outcome = run_regression_search(
        tags, baseline_correct, correct, groups, tag_names=tag_names, params=params, engine=engine
    )
    return outcome.regressions
