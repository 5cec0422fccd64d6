"""Every script in examples/ runs on the small generated dataset (``--demo``)."""

import os
import subprocess
import sys

import pytest

from tests.fo_env import REPO_ROOT

EXAMPLES = sorted(
    p.name for p in (REPO_ROOT / "examples").glob("*.py") if not p.name.startswith("_")
)

# What each example must print (beyond exiting cleanly).
EXPECTED = {
    "sdk_walkthrough.py": [
        "2 failure modes",
        "Worst mode: ",
        "Tagged 900 images with image properties",
    ],
    "operators_from_python.py": [
        "Immediate run: 2 failure modes",
        "Queued a delegated run: True",
        "Delegated run results: 2 failure modes; 900 images tagged",
    ],
    "sharing.py": ["2 saved views", "On the copy", "Saved views there"],
    "detection.py": [
        "Missed-object mode person: ground_truth.detections.attrs:night + "
        "ground_truth.detections.attrs:occluded",
        "False-positive mode dog: at border",
        "Regression mode car: ground_truth.detections.attrs:night + "
        "ground_truth.detections.attrs:rain: 81 objects in its view, size 81",
    ],
    "model_comparison.py": [
        "1 regression modes of 'predictions_v2' against 'predictions'",
        "Regression: bird: person + tree: accuracy 95% -> 34%",
        "2 passed, 0 failed, 0 not measured: PASS",
    ],
    "multilabel.py": [
        "Missed person on crowd + night: found ",
        "False alarms of dog on indoor + rain: ",
        "Regression: person: crowd + night: found ",
        "(sample, class) pairs",
        "0 failed, 0 not measured: PASS",
    ],
    "hypotheses.py": [
        "hypotheses confirmed (LORD++",
        "proposed from the 450 samples of failure-mode run 'hyp_found'",
        "Hunch ",
        "More like this: ",
    ],
    "scores.py": [
        "Score mode: night + snow: mean",
        "In indoor: night + snow: view holds exactly its samples: True",
        "In outdoor: night + snow: view holds exactly its samples: True",
    ],
    "heldout_confirmation.py": [
        "failure modes confirmed on held-out data",
        "Report with held-out columns",
    ],
}


def test_every_example_has_expectations():
    assert EXAMPLES == sorted(EXPECTED)


@pytest.mark.slow  # a subprocess each
@pytest.mark.parametrize("script", EXAMPLES)
def test_example_runs_on_the_demo_dataset(script):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    run = subprocess.run(
        [sys.executable, str(REPO_ROOT / "examples" / script), "--demo"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=str(REPO_ROOT),
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    for text in EXPECTED[script]:
        assert text in run.stdout, run.stdout[-3000:]
    import fiftyone as fo

    assert not [n for n in fo.list_datasets() if n.startswith("prime-demo-")]  # cleaned up
