"""The one conftest: a private MongoDB, started only when a test needs it.

``ensure_database()`` starts FiftyOne's bundled mongod in a temporary folder
and points ``FIFTYONE_DATABASE_URI``, ``HOME`` and the plugins folder at
temporary places; it must run before fiftyone is imported. The hook below
calls it just before pytest imports the first test module outside
``tests/core`` (the core imports neither fiftyone nor torch), so
``pytest tests/core`` starts no database and runs where FiftyOne is not even
installed. The mongod is stopped by its process id when the session ends.
"""

import os
import sys
import uuid
from pathlib import Path

import pytest

from tests.fo_env import ensure_database

# Bytecode caches (ignored by git) are written even where
# PYTHONDONTWRITEBYTECODE is set: without them every run recompiles the
# package and pytest rewrites the asserts of every test module again (about
# 5 of the 10 s a process spends collecting, paid by each xdist worker).
sys.dont_write_bytecode = False


def _share_the_cores_between_xdist_workers():
    """Under ``pytest -n N`` each worker gets its share of the cores for
    OpenMP and BLAS threads (torch, numpy): left alone, every worker starts a
    thread per core and they spin against each other (on 2 cores,
    ``-n 2`` took 77 s of wall time and 126 s of CPU; with a share, 61 s and
    100 s). Set before torch or numpy is imported; a value the user set wins."""
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if not workers:
        return
    share = str(max(1, (os.cpu_count() or 1) // int(workers)))
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, share)


_share_the_cores_between_xdist_workers()


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

    def _make(name=None, persistent=False, like=None):
        """A new empty dataset, or with ``like`` a copy of that dataset made
        in the database (samples, fields and runs; far faster than adding
        the samples again)."""
        name = name or f"prime-test-{uuid.uuid4().hex[:10]}"
        dataset = fo.Dataset(name) if like is None else like.clone(name)
        if like is not None:
            # A clone's run infos in memory carry fresh timestamps in
            # microseconds; the database keeps milliseconds. Reloaded, the
            # copy is what a later process sees (as an evaluated dataset is).
            dataset.reload()
        if persistent:  # a new dataset and a clone are not persistent
            dataset.persistent = True
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


@pytest.fixture
def planted_audit(make_dataset):
    """The tag-audit dataset of ``tests/integration/planted.py`` (exact
    precision and recall per tag; see ``add_planted_audit``)."""
    from tests.integration.planted import add_planted_audit

    return add_planted_audit(make_dataset())


@pytest.fixture
def image_dataset(request, make_dataset, tmp_path):
    """A persistent dataset of the planted samples with images whose pixel
    properties carry the planted tags (``tests/integration/workers_data.py``).
    A test module sets ``IMAGE_DATASET = {"size": 16, "count": 60}`` for
    smaller images or fewer samples (default: 32 pixels, all 350)."""
    from tests.integration.planted import template
    from tests.integration.workers_data import property_samples

    config = {"size": 32, "count": None, **getattr(request.module, "IMAGE_DATASET", {})}
    size, count = config["size"], config["count"]
    images = template(
        ("properties", size, count),
        lambda d: d.add_samples(property_samples(tmp_path, size=size)[:count]),
    )
    return make_dataset(persistent=True, like=images)


@pytest.fixture
def tiny_encoder(tmp_path):
    """The tiny random open_clip encoder (seeded), counting the images it encodes."""
    import torch

    from fiftyone_prime.models import load_encoder
    from tests.tiny_models import register_tiny_open_clip

    name = register_tiny_open_clip(tmp_path)
    torch.manual_seed(0)
    encoder = load_encoder(f"open_clip:{name}", pretrained=None, device="cpu")
    encoder.encoded = 0
    original = encoder.encode_images

    def counting(pixels):
        encoder.encoded += len(pixels)
        return original(pixels)

    encoder.encode_images = counting
    return encoder
