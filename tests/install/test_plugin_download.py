"""The plugin installed the way `fiftyone plugins download` leaves it: a plain
copy of the repository in a plugins folder, with fiftyone_prime not installed.

`fiftyone plugins download` needs GitHub, so the test makes the copy itself
(what the command leaves behind) and runs FiftyOne in a fresh process from
which the editable install of fiftyone_prime is removed.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.fo_env import REPO_ROOT

pytestmark = pytest.mark.slow

# Runs in the fresh process: hides any pip install of fiftyone_prime, then uses
# only FiftyOne's plugin machinery.
_SCRIPT = r"""
import importlib.util, json, sys

sys.meta_path[:] = [f for f in sys.meta_path if "fiftyone_prime" not in repr(f)]
# The checkout itself, not the virtual environment that may live inside it.
sys.path[:] = [p for p in sys.path if p not in ("", ".", sys.argv[1])]
assert importlib.util.find_spec("fiftyone_prime") is None, "fiftyone_prime is still importable"

import fiftyone as fo
import fiftyone.operators as foo

PLUGIN = "@fiftyone-prime/prime"
names = sorted(op.name for op in foo.list_operators() if op.plugin_name == PLUGIN)

dataset = fo.Dataset()
samples = []
for i in range(60):
    night = i < 30
    wrong = (i < 25) or (i >= 55)
    samples.append(fo.Sample(
        filepath=f"/tmp/prime-download-{i}.png",
        ground_truth=fo.Classification(label="cat"),
        predictions=fo.Classification(label="dog" if wrong else "cat"),
        tag_list=["night"] if night else ["day"],
    ))
dataset.add_samples(samples)
result = foo.execute_operator(
    f"{PLUGIN}/find_failure_modes", dict(view=dataset.view()),
    params={"label_field": "ground_truth", "pred_field": "predictions",
            "tags_field": ["tag_list"], "run_key": "download"},
)
import fiftyone_prime
print(json.dumps({
    "operators": names,
    "modes": [r["tags"] for r in result.result["failure_modes"]],
    "package": fiftyone_prime.__file__,
}))
"""


def _copy_repository(dest):
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True)
    if tracked.returncode == 0 and tracked.stdout.strip():
        files = tracked.stdout.splitlines()
        # files added since the last commit count too
        untracked = subprocess.run(
            ["git", "ls-files", "--others", "--exclude-standard"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
        ).stdout
        files += untracked.splitlines()
        for name in files:
            src = REPO_ROOT / name
            if src.is_file():
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest / name)
    else:
        shutil.copytree(
            REPO_ROOT,
            dest,
            ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info"),
            dirs_exist_ok=True,
        )


def test_downloaded_plugin_registers_and_runs_without_pip_install(tmp_path):
    plugins = tmp_path / "plugins"
    plugin_dir = plugins / "fiftyone-prime"
    plugin_dir.mkdir(parents=True)
    _copy_repository(plugin_dir)
    assert (plugin_dir / "requirements.txt").exists()

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["FIFTYONE_PLUGINS_DIR"] = str(plugins)
    run = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(REPO_ROOT)],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(tmp_path),
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    manifest = yaml.safe_load((REPO_ROOT / "fiftyone.yml").read_text())
    assert out["operators"] == sorted(manifest["operators"] + manifest["panels"])
    assert out["modes"] == ["night"]
    # the package came from the plugin folder, not from an install
    assert out["package"].startswith(str(plugin_dir))


def test_requirements_file_lists_the_package_dependencies():
    lines = [
        line.split("#")[0].strip()
        for line in (REPO_ROOT / "requirements.txt").read_text().splitlines()
    ]
    names = {line.split(">")[0].split("=")[0].split("<")[0] for line in lines if line}
    assert {"numpy", "scipy"} <= names
    assert "torch" not in names  # an unpinned torch pulls a multi-GB CUDA build
