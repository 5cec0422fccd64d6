"""Fixtures for tests against real FiftyOne with a private MongoDB."""

from tests.fo_env import ensure_database

ensure_database()  # before fiftyone is imported anywhere

import uuid  # noqa: E402

import pytest  # noqa: E402

import fiftyone as fo  # noqa: E402


@pytest.fixture
def make_dataset():
    """Creates uniquely named datasets and deletes only those it created."""
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
