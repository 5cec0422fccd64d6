"""Generated images whose pixel properties carry the planted failure modes,
so that the weight-free ``properties`` tagger finds them: ``night`` images are
dark, ``snow`` images grayscale, ``blur`` images smooth, ``grass`` images wide."""

import numpy as np
from PIL import Image

from fiftyone.operators.delegated import DelegatedOperationService

import fiftyone_prime as fp
from tests import helpers
from tests.helpers import summary
from tests.integration.planted import IMAGE_FILES, PLANTED_BLOCKS, planted_samples

# The plugin's worker operators (their URIs are part of the plugin's API)
SHARD_OP = "@fiftyone-prime/prime/tag_shard"
FOLLOWUP_OP = "@fiftyone-prime/prime/search_after_tagging"


def reference(dataset, make_dataset, **search):
    """Tags and failure modes of one uninterrupted run on a copy."""
    copy = dataset.clone(f"{dataset.name}-ref")
    try:
        fp.compute_tags(copy, model="properties")
        results = fp.find_failure_modes(copy, **search)
        return tags_by_path(copy), summary(results)
    finally:
        copy.delete()


def tags_by_path(dataset):
    """``{filepath: [(tag, confidence)]}`` of the tags field."""
    return helpers.tags_by_path(dataset, confidences=True)


def run_queued(dataset):
    service = DelegatedOperationService()
    return service.execute_queued_operations(dataset_name=dataset.name)


def operations(dataset, operator):
    return DelegatedOperationService().list_operations(operator=operator, dataset_name=dataset.name)


def _blocks_tags():
    tags = []
    for count, _, block_tags, _ in PLANTED_BLOCKS:
        tags.extend([block_tags] * count)
    return tags


def property_samples(folder, size=32, seed=0, repeat=1):
    """The planted samples (``repeat`` times over) with images in ``folder``
    (written the first time a process asks, reused after); the planted tags
    are kept in ``planted_tags`` (the tagger writes ``prime_tags``)."""
    key = ("properties", size, seed, repeat)
    written = IMAGE_FILES.get(key)
    rng = np.random.default_rng(seed)
    out = []
    tags = _blocks_tags()
    for r in range(repeat):
        samples = planted_samples(tags_field="planted_tags", prefix=f"r{r}_")
        for i, (sample, block_tags) in enumerate(zip(samples, tags)):
            if written is not None:
                sample.filepath = written[len(out)]
                out.append(sample)
                continue
            width = size * 3 // 2 if "grass" in block_tags else size
            if "blur" in block_tags:
                ramp = np.linspace(90, 160, width, dtype=np.float32)
                img = np.repeat(np.tile(ramp, (size, 1))[..., None], 3, axis=2)
                img = img + rng.normal(0, 1, img.shape)
            else:
                img = rng.integers(0, 256, (size, width, 3)).astype(np.float32)
            if "snow" in block_tags:
                img = np.repeat(img.mean(axis=2, keepdims=True), 3, axis=2)
            if "night" in block_tags:
                img = img * 0.15
            path = f"{folder}/{r}_{i}.png"
            Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)
            sample.filepath = path
            out.append(sample)
    IMAGE_FILES[key] = [s.filepath for s in out]
    return out


def start_worker(log_path):
    """Starts a real ``fiftyone delegated launch`` worker on the test database
    (this worktree's package first on its path); stop it with stop_worker."""
    import os
    import subprocess
    import sys

    from tests.fo_env import REPO_ROOT

    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(REPO_ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])
        ),
    }
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from fiftyone.core.cli import main; main()", "delegated", "launch"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=str(log_path.parent),
    )
    proc.log_path = log_path
    return proc


def wait_until_ready(workers, timeout=120):
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        for w in workers:
            if w.poll() is not None:
                raise RuntimeError(f"worker {w.pid} exited:\n{w.log_path.read_text()[-3000:]}")
        if all("service running" in w.log_path.read_text() for w in workers):
            return
        time.sleep(0.2)
    raise TimeoutError("workers did not start")


def stop_worker(proc):
    """Stops a worker this test started, by its process id."""
    import subprocess

    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
