"""Every name the README and the docs tell users to call exists where they say."""

import re

import fiftyone_prime as fp
from tests.fo_env import REPO_ROOT


def test_every_fp_name_in_the_readme_and_docs_exists_and_is_documented():
    pages = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
    text = "\n".join(page.read_text() for page in pages)
    names = sorted(set(re.findall(r"\bfp\.([A-Za-z_]\w*)", text)))
    assert len(names) >= 10
    for name in names:
        assert name in fp.__all__, name
        assert callable(getattr(fp, name)), name
        assert getattr(fp, name).__doc__, name


def test_every_public_name_resolves_to_the_module_that_defines_it():
    for name in fp.__all__:
        value = getattr(fp, name)
        assert value.__module__ == fp._DEFINED_IN[name], name
