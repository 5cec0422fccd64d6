"""Fixtures of the core tests (no database)."""

import pytest

from tests.core.engines import ENGINES


@pytest.fixture(params=sorted(ENGINES), scope="session")
def engine(request):
    """Each engine in turn: the compiled one that ships, and the levelwise
    numpy oracle. Session-scoped, so hypothesis tests may use it."""
    return ENGINES[request.param]
