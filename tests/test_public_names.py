"""Every name the README tells users to call exists where it says."""

import re

import fiftyone_prime as fp
from tests.fo_env import REPO_ROOT


def test_every_fp_name_in_the_readme_exists_and_is_documented():
    readme = (REPO_ROOT / "README.md").read_text()
    names = sorted(set(re.findall(r"\bfp\.([A-Za-z_]\w*)", readme)))
    assert len(names) >= 10
    for name in names:
        assert name in fp.__all__, name
        assert callable(getattr(fp, name)), name
        assert getattr(fp, name).__doc__, name


def test_every_public_name_resolves_to_the_module_that_defines_it():
    for name in fp.__all__:
        value = getattr(fp, name)
        assert value.__module__ == fp._DEFINED_IN[name], name
