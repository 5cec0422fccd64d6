"""Vocabulary files in the App: only from folders the plugin allows.

The tag operator runs on the FiftyOne server (or a delegated worker), and its
tags are written into labels that everyone with App access can read. A free
file path in its form would let any App user read any file the server can
read (``/etc/passwd``, credentials) into labels. So the App form takes a
vocabulary as text, or a ``.txt`` file from a folder the plugin is configured
to allow: the plugin secret (environment variable)
``FIFTYONE_PRIME_VOCABULARY_DIRS``, folders separated by ``os.pathsep``.
Without it, the form offers no file option. The SDK
(:func:`fiftyone_prime.compute_tags`) keeps taking local paths: its caller
already runs with its own file access.
"""

from __future__ import annotations

import os
from typing import Optional

import fiftyone.operators.types as types

#: The plugin secret (environment variable) naming the allowed folders.
SECRET = "FIFTYONE_PRIME_VOCABULARY_DIRS"

#: The largest vocabulary file the App reads.
MAX_BYTES = 1_000_000

#: The most files a folder lists in the form.
MAX_LISTED = 500


def allowed_folders(ctx=None) -> list[str]:
    """The real paths of the folders vocabulary files may come from."""
    value = None
    secrets = getattr(ctx, "secrets", None) if ctx is not None else None
    if secrets is not None:
        try:
            value = secrets.get(SECRET)
        except Exception:
            value = None
    if not value:
        value = os.environ.get(SECRET, "")
    folders = []
    for folder in str(value).split(os.pathsep):
        folder = folder.strip()
        if folder and os.path.isdir(folder):
            folders.append(os.path.realpath(folder))
    return folders


def listed_files(folders) -> list[str]:
    """The ``.txt`` files directly inside the allowed folders."""
    out = []
    for folder in folders:
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names[:MAX_LISTED]:
            path = os.path.join(folder, name)
            if name.endswith(".txt") and os.path.isfile(path):
                out.append(path)
    return out


def resolve_file(path: str, folders) -> str:
    """The real path of an allowed vocabulary file.

    Raises:
        ValueError: one line, when the file is not a ``.txt`` file inside an
            allowed folder (after resolving ``..`` and links), or too large
    """
    if not folders:
        raise ValueError(
            "`vocabulary`: the App reads vocabulary files only from folders the plugin allows "
            f"(set the plugin secret {SECRET}); paste the tags as text instead"
        )
    if not isinstance(path, str) or not path:
        raise ValueError("`vocabulary`: choose a vocabulary file")
    real = os.path.realpath(path)
    inside = any(os.path.commonpath([real, folder]) == folder for folder in folders)
    if not inside or not real.endswith(".txt") or not os.path.isfile(real):
        raise ValueError(
            f"`vocabulary`: '{os.path.basename(path)}' is not a .txt file in an allowed "
            f"vocabulary folder ({SECRET})"
        )
    if os.path.getsize(real) > MAX_BYTES:
        raise ValueError(f"`vocabulary`: the file is larger than {MAX_BYTES:,} bytes")
    return real


def vocabulary_choice(ctx, inputs) -> None:
    """The tag form's vocabulary: the shipped default, text, or (when the
    plugin allows folders) a file from them."""
    from .forms import dropdown

    folders = allowed_folders(ctx)
    sources = {"default": "Default vocabulary (shipped)", "list": "My tags"}
    if folders:
        sources["file"] = "A text file from the allowed folders"
    inputs.enum(
        "vocabulary_source",
        list(sources),
        default="default",
        label="Vocabulary",
        view=dropdown(list(sources), sources),
    )
    source = ctx.params.get("vocabulary_source", "default")
    if source == "list":
        inputs.str(
            "vocabulary",
            required=True,
            label="Tags",
            description="One tag per line, or comma separated",
            view=types.TextFieldView(multiline=True),
        )
    elif source == "file" and folders:
        files = listed_files(folders)
        if not files:
            inputs.view("no_files", types.Warning(label="The allowed folders hold no .txt files"))
            return
        labels = {f: os.path.relpath(f, os.path.dirname(os.path.dirname(f))) for f in files}
        inputs.enum(
            "vocabulary",
            files,
            required=True,
            label="Vocabulary file",
            view=dropdown(files, labels),
        )


def vocabulary_param(ctx) -> Optional[list]:
    """The ``vocabulary`` argument of ``compute_tags`` from the form: ``None``,
    or a list of tags (a file is read here, after the checks)."""
    params = ctx.params
    source = params.get("vocabulary_source", "default")
    text = params.get("vocabulary")
    if source == "list" and text:
        return [t.strip() for t in str(text).replace(",", "\n").splitlines() if t.strip()]
    if source == "file":
        from fiftyone_prime.core.vocab import load_vocabulary

        return load_vocabulary(resolve_file(text, allowed_folders(ctx)))
    return None
