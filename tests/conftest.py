"""The one conftest: a private MongoDB for every test that touches FiftyOne.

``ensure_database()`` starts FiftyOne's bundled mongod in a temporary folder
and points ``FIFTYONE_DATABASE_URI``, ``HOME`` and the plugins folder at
temporary places before any test module imports fiftyone; the mongod is
stopped by its process id when the session ends. The core tests do not use
it (the core imports neither fiftyone nor torch).
"""

from tests.fo_env import ensure_database

ensure_database()  # before fiftyone is imported anywhere

import uuid  # noqa: E402

import pytest  # noqa: E402


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
