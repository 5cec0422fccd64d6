"""Registering a clone of this repository with FiftyOne, so the App finds the plugin.

The repository root is the plugin folder (``fiftyone.yml`` + ``__init__.py``).
FiftyOne finds plugins in its plugins folder (``fo.config.plugins_dir``:
``FIFTYONE_PLUGINS_DIR``, else ``plugins_dir`` in ``~/.fiftyone/config.json``,
else ``~/fiftyone/__plugins__``). Registering puts one symbolic link there,
named :data:`LINK_NAME`, pointing at the clone; removing it removes that link
and nothing else. ``scripts/setup.sh`` runs::

    python -m fiftyone_prime.plugin.registration            # link (idempotent)
    python -m fiftyone_prime.plugin.registration --remove   # unlink

A file or folder of that name that is not a link to this clone is never
touched, and no link is made when FiftyOne already finds the plugin elsewhere
(a ``fiftyone plugins download`` copy): two copies would shadow each other.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Optional

#: The plugin's name in ``fiftyone.yml``.
PLUGIN_NAME = "@fiftyone-prime/prime"

#: The link's name in FiftyOne's plugins folder.
LINK_NAME = "fiftyone-prime"

#: How a user removes the link again (said when it is made).
REMOVE_COMMAND = "bash scripts/setup.sh --unlink-plugin"


class RegistrationError(RuntimeError):
    """The link cannot be made or removed without touching something else."""


def checkout_root() -> Path:
    """The clone this package runs from: the folder holding ``fiftyone.yml``.

    Raises:
        RegistrationError: the package is installed from a wheel (no plugin
            folder to link; ``fiftyone plugins download`` installs the plugin)
    """
    root = Path(__file__).resolve().parents[2]
    if not (root / "fiftyone.yml").is_file() or not (root / "__init__.py").is_file():
        raise RegistrationError(
            f"fiftyone_prime runs from '{root}', which is not a clone of the repository "
            "(no fiftyone.yml beside it); install the plugin with `fiftyone plugins download "
            "https://github.com/fiftyone-prime/fiftyone-prime` instead"
        )
    return root


def plugins_dir() -> Path:
    """FiftyOne's plugins folder, as configured."""
    import fiftyone as fo

    return Path(os.path.expanduser(fo.config.plugins_dir))


def _is_our_link(path: Path, root: Path) -> bool:
    return path.is_symlink() and path.resolve() == root


def _other_copies(root: Path) -> list:
    """Folders other than this clone where FiftyOne finds the plugin."""
    import fiftyone.plugins as fop

    found = fop.list_plugins(enabled="all", builtin=False, shadowed="all")
    return [
        p.directory for p in found if p.name == PLUGIN_NAME and Path(p.directory).resolve() != root
    ]


def link_plugin() -> str:
    """Links this clone into FiftyOne's plugins folder (created if missing);
    idempotent.

    Returns:
        a line saying what was done

    Raises:
        RegistrationError: the link's name is taken by something else, which
            is left as it is
    """
    root = checkout_root()
    directory = plugins_dir()
    link = directory / LINK_NAME
    if _is_our_link(link, root):
        return f"The FiftyOne plugin {PLUGIN_NAME} is registered: {link} -> {root}"
    others = _other_copies(root)
    if others:
        return (
            f"FiftyOne already finds the plugin {PLUGIN_NAME} in {others[0]}; the App uses that "
            f"copy, and no link to {root} was made (remove that folder and run this again to "
            "use this clone)"
        )
    replaced = ""
    if _is_dangling(link):  # e.g. to a clone since moved or deleted: it holds nothing
        replaced = f" (replacing a link to {os.readlink(link)}, which no longer exists)"
        link.unlink()
    if link.exists() or link.is_symlink():
        raise RegistrationError(
            f"'{link}' exists and is not a link to {root}; it was left as it is. Move it away "
            "and run this again, or point FIFTYONE_PLUGINS_DIR at another plugins folder"
        )
    directory.mkdir(parents=True, exist_ok=True)
    link.symlink_to(root, target_is_directory=True)
    return (
        f"Registered the FiftyOne plugin {PLUGIN_NAME}: {link} -> {root}{replaced} "
        f"(remove the link with `{REMOVE_COMMAND}`)"
    )


def _is_dangling(path: Path) -> bool:
    """Whether ``path`` is a link to nothing."""
    return path.is_symlink() and not path.exists()


def unlink_plugin() -> str:
    """Removes the link :func:`link_plugin` made, and nothing else.

    Returns:
        a line saying what was done

    Raises:
        RegistrationError: something else has the link's name; it is left
    """
    root = checkout_root()
    link = plugins_dir() / LINK_NAME
    if _is_our_link(link, root):
        link.unlink()
        return f"Removed the link {link} -> {root}; FiftyOne no longer lists {PLUGIN_NAME} from it"
    if _is_dangling(link):
        target = os.readlink(link)
        link.unlink()
        return f"Removed the link {link} -> {target}, which pointed to nothing"
    if link.exists() or link.is_symlink():
        raise RegistrationError(
            f"'{link}' is not a link to {root}; it was left as it is (nothing removed)"
        )
    return f"No link {link}: nothing to remove"


def app_lines(dataset_name: str) -> list:
    """The lines that say how to open a dataset's failure modes in the App."""
    from .panel import FailureModesPanel

    label = FailureModesPanel().config.label  # as the App's "+" menu shows it
    fiftyone = Path(sys.executable).parent / "fiftyone"
    command = "fiftyone"
    if fiftyone.exists() and _which("fiftyone") != fiftyone:
        command = _short(fiftyone)  # this environment's, not another on PATH
    lines = [
        "Open the failure modes in the App:",
        f"  {command} app launch {shlex.quote(dataset_name)}",
        f'  then click "+" beside the Samples tab and pick "{label}" (one row per mode,',
        "  a button opens its view), or pick a saved view in the view bar",
    ]
    if not _registered():
        lines += [
            f"  FiftyOne does not list the plugin {PLUGIN_NAME} yet, so the App has no PRIME",
            f"  panel; register it: {_short(Path(sys.executable))} -m "
            "fiftyone_prime.plugin.registration",
        ]
    return lines


def _short(path: Path) -> str:
    """``path`` relative to the working folder when it lies inside it."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def _which(name: str) -> Optional[Path]:
    import shutil

    found = shutil.which(name)
    return Path(found) if found else None


def _registered() -> bool:
    import fiftyone.plugins as fop

    return any(p.name == PLUGIN_NAME for p in fop.list_plugins(enabled=True, builtin=False))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fiftyone_prime.plugin.registration",
        description=(
            "Links this clone into FiftyOne's plugins folder so the App shows the PRIME panel "
            "and operators; --remove removes that link and nothing else. The folder is "
            "FiftyOne's fo.config.plugins_dir (FIFTYONE_PLUGINS_DIR, else "
            "~/fiftyone/__plugins__)."
        ),
    )
    parser.add_argument("--remove", action="store_true", help="remove the link")
    args = parser.parse_args(argv)
    try:
        line = (unlink_plugin if args.remove else link_plugin)()
    except RegistrationError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
