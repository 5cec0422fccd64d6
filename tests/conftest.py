"""The one conftest: a private MongoDB, started only when a test needs it.

``ensure_database()`` starts FiftyOne's bundled mongod in a temporary folder
and points ``FIFTYONE_DATABASE_URI``, ``HOME`` and the plugins folder at
temporary places; it must run before fiftyone is imported. The hook below
calls it just before pytest imports the first test module outside
``tests/core`` (the core imports neither fiftyone nor torch), so
``pytest tests/core`` starts no database and runs where FiftyOne is not even
installed. The mongod is stopped by its process id when the session ends.
"""

import uuid
from pathlib import Path

import pytest

from tests.fo_env import ensure_database

_DATABASE_FREE = (Path(__file__).parent / "core").resolve()


def pytest_collectstart(collector):
    """Starts the private database before the first module that may need it
    is imported (collection imports modules, so this runs before any
    ``import fiftyone`` in a test module)."""
    if not isinstance(collector, pytest.Module):
        return
    path = Path(collector.path).resolve()
    if _DATABASE_FREE not in path.parents:
        ensure_database()


@pytest.fixture
def make_dataset():
    """Creates uniquely named datasets and deletes only those it created."""
    import fiftyone as fo

    created = []

    def _make(name=None, persistent=False):
        dataset = fo.Dataset(name or f"prime-test-{uuid.uuid4().hex[:10]}")
        dataset.persistent = persistent
        created.append(dataset.name)
        return dataset

    yield _make
    for name in created:
        if fo.dataset_exists(name):
            fo.delete_dataset(name)


@pytest.fixture
def planted(make_dataset):
    """The planted dataset of ``tests/integration/planted.py`` (persistent, so
    delegated operations can run on it; deleted after the test)."""
    from tests.integration.planted import add_planted

    return add_planted(make_dataset(persistent=True))
