"""Datasets and helpers for the tests of issue 22 (runs written by several
processes at once)."""

import itertools
import os
import subprocess
import sys
import time

from tests.fo_env import REPO_ROOT

#: Search arguments under which every tag of :func:`many_modes_samples` is
#: exactly one failure mode.
MANY_MODES_SEARCH = dict(min_size=5, max_tags=1, alpha=None, max_views=100_000)


def many_modes_samples(num_classes=100, tags_per_class=50):
    """Samples with exactly ``num_classes * tags_per_class`` failure modes
    under :data:`MANY_MODES_SEARCH`: per class, 10 wrong and 10 right
    samples; each tag marks a different 5 of the 10 wrong ones (accuracy 0
    against 0.5 for the class), and no two tags share 5 samples."""
    import fiftyone as fo

    subsets = list(itertools.combinations(range(10), 5))[:tags_per_class]
    samples = []
    for c in range(num_classes):
        label = f"class{c:03d}"
        for i in range(20):
            wrong = i < 10
            tags = [f"t{j:02d}" for j, subset in enumerate(subsets) if wrong and i in subset]
            samples.append(
                fo.Sample(
                    filepath=f"/nonexistent/{label}/{i}.png",
                    ground_truth=fo.Classification(label=label),
                    predictions=fo.Classification(label="other" if wrong else label),
                    prime_tags=fo.Classifications(
                        classifications=[fo.Classification(label=t) for t in tags]
                    ),
                )
            )
    return samples


def start_python(code: str, log_path, *args) -> subprocess.Popen:
    """Runs ``code`` in a new Python process on the test database, with this
    worktree's package first on its path; ``sys.argv[1:]`` are ``args``."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(REPO_ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])
        ),
    }
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=str(REPO_ROOT),
    )
    proc.log_path = log_path
    return proc


def finish(proc, timeout=300) -> str:
    """Waits for a process this test started; returns its output."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise
    return proc.log_path.read_text()


def wait_for_file(path, proc=None, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists():
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited:\n{proc.log_path.read_text()[-3000:]}")
        time.sleep(0.05)
    raise TimeoutError(f"{path} did not appear")


def view_state(dataset):
    """``(listed ids, view document ids of the dataset, ids owned by its
    failure-mode runs)`` read from the database."""
    import fiftyone.core.odm as foo

    import fiftyone_prime as fp

    db = foo.get_db_conn()
    doc = db.datasets.find_one({"_id": dataset._doc.id}, {"saved_views": 1})
    listed = [str(i) for i in doc.get("saved_views") or []]
    docs = {str(d["_id"]) for d in db.views.find({"_dataset_id": dataset._doc.id}, {"_id": 1})}
    dataset.reload()
    owned = set()
    for key in fp.list_failure_mode_runs(dataset):
        results = dataset.load_run_results(key, cache=False, load_view=False)
        owned.update(results.view_ids)
    return listed, docs, owned


def assert_consistent(dataset, user_views=()):
    """Every listed id has a document, is listed once, and belongs to a run
    (or is one of ``user_views``, by name); every document of the dataset is
    listed; every id a run owns is listed."""
    listed, docs, owned = view_state(dataset)
    assert len(listed) == len(set(listed)), "an id is listed twice"
    assert set(listed) <= docs, f"{len(set(listed) - docs)} listed ids have no document"
    assert docs <= set(listed), f"{len(docs - set(listed))} view documents are not listed"
    user_ids = {str(d.id) for d in dataset._doc.get_saved_views() if d.name in set(user_views)}
    assert set(listed) - user_ids == owned, (
        f"{len(set(listed) - user_ids - owned)} listed views no run owns, "
        f"{len(owned - set(listed))} owned views not listed"
    )
