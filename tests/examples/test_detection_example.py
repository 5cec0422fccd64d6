"""examples/detection.py on its generated dataset: the planted detector
failures are found, and every mode's view holds exactly its objects."""

import os
import re
import subprocess
import sys

import pytest

from tests.fo_env import REPO_ROOT


@pytest.mark.slow  # a subprocess
def test_detection_example_finds_the_planted_failures():
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    run = subprocess.run(
        [sys.executable, str(REPO_ROOT / "examples" / "detection.py"), "--demo"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=str(REPO_ROOT),
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    out = run.stdout
    assert (
        "Missed-object mode person: ground_truth.detections.attrs:night + "
        "ground_truth.detections.attrs:occluded" in out
    )
    assert "Missed-object mode car: ground_truth.detections.prime_tags:small" in out
    assert "False-positive mode dog: at border" in out
    regressions = re.findall(r"Regression mode (.*?): (.*?): \d+ objects", out)
    assert regressions == [
        ("car", "ground_truth.detections.attrs:night + ground_truth.detections.attrs:rain")
    ]
    sizes = re.findall(r"(\d+) objects in its view, size (\d+)", out)
    assert len(sizes) >= 3 and all(a == b for a, b in sizes), sizes
