"""Registering the clone with FiftyOne: the link is made once, said, removed
alone, and never replaces what a user has (the new-user path, through
``scripts/setup.sh``'s lines in fresh processes, is in
``tests/install/test_app_registration.py``)."""

import pytest

import fiftyone as fo

from fiftyone_prime.plugin import registration as reg
from tests.fo_env import REPO_ROOT


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    folder = tmp_path / "plugins"  # not there yet: the link step creates it
    monkeypatch.setattr(fo.config, "plugins_dir", str(folder))
    return folder


def test_link_is_made_once_and_removed_alone(plugins):
    line = reg.link_plugin()
    link = plugins / reg.LINK_NAME
    assert link.resolve() == REPO_ROOT and line.startswith("Registered")
    assert reg.REMOVE_COMMAND in line
    assert reg.link_plugin().startswith("The FiftyOne plugin")  # idempotent
    assert [p.name for p in plugins.iterdir()] == [reg.LINK_NAME]
    assert reg.unlink_plugin().startswith("Removed")
    assert list(plugins.iterdir()) == [] and (REPO_ROOT / "fiftyone.yml").exists()
    assert reg.unlink_plugin().endswith("nothing to remove")


def test_a_downloaded_copy_is_not_shadowed_by_a_second_one(plugins):
    copy = plugins / "fiftyone-prime-download"
    copy.mkdir(parents=True)
    (copy / "fiftyone.yml").write_text(f"name: '{reg.PLUGIN_NAME}'\ntype: plugin\n")
    line = reg.link_plugin()
    assert str(copy) in line and "no link" in line
    assert sorted(p.name for p in plugins.iterdir()) == ["fiftyone-prime-download"]


def test_a_link_elsewhere_of_that_name_is_left_alone(plugins, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    plugins.mkdir()
    (plugins / reg.LINK_NAME).symlink_to(elsewhere)
    for step in (reg.link_plugin, reg.unlink_plugin):
        with pytest.raises(reg.RegistrationError, match="left as it is"):
            step()
        assert (plugins / reg.LINK_NAME).resolve() == elsewhere


def test_the_quickstart_lines_say_how_to_open_the_panel(plugins):
    lines = "\n".join(reg.app_lines("prime-quickstart"))
    assert "app launch prime-quickstart" in lines
    assert 'pick "PRIME failure modes"' in lines
    assert "registration" in lines  # not registered yet: says how
    reg.link_plugin()
    lines = "\n".join(reg.app_lines("prime-quickstart"))
    assert "registration" not in lines


def test_a_link_to_a_clone_since_moved_is_replaced(plugins, tmp_path):
    """After the clone moved, its old link points to nothing: set-up links
    the clone again (it stopped with an error on its last line) and says
    what it replaced; an unlink removes such a link too."""
    plugins.mkdir()
    link = plugins / reg.LINK_NAME
    link.symlink_to(tmp_path / "moved-away-clone")
    line = reg.link_plugin()
    assert link.resolve() == REPO_ROOT and "no longer exists" in line
    link.unlink()
    link.symlink_to(tmp_path / "moved-away-clone")
    assert "pointed to nothing" in reg.unlink_plugin()
    assert list(plugins.iterdir()) == []


def test_the_launch_line_quotes_a_dataset_name_with_spaces(plugins):
    assert "app launch 'my data'" in "\n".join(reg.app_lines("my data"))
