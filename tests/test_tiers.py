"""The test tiers: the core's tests need neither FiftyOne nor its database."""

import subprocess
import sys

import pytest

from tests.fo_env import REPO_ROOT

# Runs pytest on tests/core in a process where importing fiftyone, torch or
# pymongo fails: the conftest's database hook calls find_spec("fiftyone"), so
# starting a database would fail the run too.
_BLOCKED_RUN = """
import sys

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("fiftyone", "torch", "pymongo"):
            raise ImportError(f"{name} is blocked in this run")
        return None

sys.meta_path.insert(0, Block())
import pytest
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "tests/core"]))
"""


@pytest.mark.slow
def test_core_tests_pass_without_fiftyone_and_start_no_database():
    result = subprocess.run(
        [sys.executable, "-c", _BLOCKED_RUN],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=str(REPO_ROOT),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout
