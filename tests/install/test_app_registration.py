"""The README's App step as a new user meets it: after ``scripts/setup.sh``,
FiftyOne lists the plugin and the App shows the PRIME panel.

A new user has no ``FIFTYONE_PLUGINS_DIR``: FiftyOne's plugins folder is
``~/fiftyone/__plugins__``. Each test gives the processes it starts a fresh
HOME and runs the registration command ``scripts/setup.sh`` runs (the lines
are read from the script itself, so a change there is what is tested; the
pip installs before them are not rerun).
"""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fiftyone_prime.plugin.registration import LINK_NAME, PLUGIN_NAME, app_lines
from tests.app.browser import DISMISS_ENTERPRISE_POPUP, AppServer, DevTools, chromium
from tests.fo_env import REPO_ROOT

pytestmark = pytest.mark.slow  # subprocesses, and an App server

# The App's "+" beside the Samples tab, and the PRIME panel in its menu.
NEW_PANEL = "[data-cy=new-panel-btn]"
PRIME_OPTION = "[data-cy=new-panel-option-prime_failure_modes]"

SETUP = REPO_ROOT / "scripts" / "setup.sh"

_OPERATORS = f"""
import json
import fiftyone.operators as foo
ours = lambda ops: sorted(op.name for op in ops if op.plugin_name == {PLUGIN_NAME!r})
print(json.dumps({{"all": ours(foo.list_operators()),
                  "panels": ours(foo.list_operators(type="panel"))}}))
"""


def _setup_command(marker):
    """The command of ``setup.sh``'s line ending in ``marker``, with the
    virtual environment's python replaced by this one."""
    lines = [line.strip() for line in SETUP.read_text().splitlines()]
    lines = [line for line in lines if line.endswith(marker)]
    commands = [line for line in lines if not line.startswith("#")]
    assert len(commands) == 1, f"setup.sh should run {marker!r} once: {commands}"
    words = shlex.split(commands[0])
    if words[0] == "exec":
        words = words[1:]
    assert words[0] == ".venv/bin/python"
    return [sys.executable, *words[1:]]


def _new_user_env(home):
    env = {k: v for k, v in os.environ.items() if k != "FIFTYONE_PLUGINS_DIR"}
    env["HOME"] = str(home)
    return env


def _run(command, env):
    proc = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=str(REPO_ROOT), timeout=300
    )
    return proc


def _plugins_list(env):
    fiftyone = Path(sys.executable).parent / "fiftyone"
    command = (
        [str(fiftyone)]
        if fiftyone.exists()
        else [sys.executable, "-c", "import sys, fiftyone.core.cli as c; sys.exit(c.main())"]
    )
    proc = _run([*command, "plugins", "list"], env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_setup_registers_the_plugin_for_a_new_user_and_unlinks_only_its_link(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = _new_user_env(home)
    plugins = home / "fiftyone" / "__plugins__"
    link = plugins / LINK_NAME

    assert PLUGIN_NAME not in _plugins_list(env)  # what a new user saw before

    register = _setup_command("fiftyone_prime.plugin.registration")
    proc = _run(register, env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"{link} -> {REPO_ROOT}" in proc.stdout
    assert "bash scripts/setup.sh --unlink-plugin" in proc.stdout  # said how to undo it
    assert link.is_symlink() and link.resolve() == REPO_ROOT

    listed = _plugins_list(env)
    row = next(line for line in listed.splitlines() if line.startswith(PLUGIN_NAME))
    assert str(link) in row and "✓" in row  # enabled, from the link

    proc = _run([sys.executable, "-c", _OPERATORS], env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    manifest = yaml.safe_load((REPO_ROOT / "fiftyone.yml").read_text())
    assert found["all"] == sorted(manifest["operators"] + manifest["panels"])
    assert found["panels"] == ["prime_failure_modes"]

    # A second set-up changes nothing.
    again = _run(register, env)
    assert again.returncode == 0 and "is registered" in again.stdout
    assert sorted(p.name for p in plugins.iterdir()) == [LINK_NAME]

    # Unlinking removes that link and nothing beside it.
    (plugins / "other-plugin").mkdir()
    (plugins / "other-plugin" / "fiftyone.yml").write_text("name: '@someone/other'\n")
    unlink = _setup_command("registration --remove")
    proc = _run(unlink, env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not link.exists() and not link.is_symlink()
    assert (plugins / "other-plugin" / "fiftyone.yml").exists()
    assert REPO_ROOT.joinpath("fiftyone.yml").exists()  # the link, not its target
    assert PLUGIN_NAME not in _plugins_list(env)
    assert "--unlink-plugin" in SETUP.read_text()


def test_registration_never_replaces_a_users_folder_of_that_name(tmp_path):
    home = tmp_path / "home"
    taken = home / "fiftyone" / "__plugins__" / LINK_NAME
    taken.mkdir(parents=True)
    (taken / "notes.txt").write_text("mine")
    env = _new_user_env(home)
    for command in (
        _setup_command("fiftyone_prime.plugin.registration"),
        _setup_command("registration --remove"),
    ):
        proc = _run(command, env)
        assert proc.returncode == 1
        assert str(taken) in proc.stderr and "left as it is" in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1  # one line, no traceback
        assert (taken / "notes.txt").read_text() == "mine" and not taken.is_symlink()


@pytest.mark.skipif(chromium() is None, reason="Debian's chromium is not installed")
def test_the_app_opened_as_the_quickstart_says_offers_and_shows_the_prime_panel(planted, tmp_path):
    """``fiftyone app launch <dataset>``, then "+" beside the Samples tab and
    "PRIME failure modes", in headless Chromium, for a new user whose only
    set-up step was setup.sh's registration."""
    import fiftyone_prime as fp

    fp.find_failure_modes(planted)
    home = tmp_path / "home"
    home.mkdir()
    env = _new_user_env(home)
    proc = _run(_setup_command("fiftyone_prime.plugin.registration"), env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = "\n".join(app_lines(planted.name))
    assert '"+" beside the Samples tab' in lines and 'pick "PRIME failure modes"' in lines

    with AppServer.launched(planted.name, env=env) as app, DevTools() as page:
        page.before_each_page(DISMISS_ENTERPRISE_POPUP)
        page.open(app.url + "/")
        page.wait_for(f"!!document.querySelector({json.dumps(NEW_PANEL)})", timeout=120)
        page.evaluate(f"document.querySelector({json.dumps(NEW_PANEL)}).click()")
        option = page.wait_for(
            f"document.querySelector({json.dumps(PRIME_OPTION)})?.innerText", timeout=60
        )
        assert "PRIME failure modes" in option  # the label the quickstart names
        page.evaluate(f"document.querySelector({json.dumps(PRIME_OPTION)}).click()")
        text = page.wait_for(
            "document.body.innerText.includes('Open dog: blur') && document.body.innerText",
            timeout=90,
        )
    assert "Open cat: night + snow" in text  # the panel's rows, one per mode
