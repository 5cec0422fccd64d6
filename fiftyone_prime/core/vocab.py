"""Tag vocabularies: the default one shipped with the package, user lists and files."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Optional, Union

logger = logging.getLogger(__name__)

VocabularyLike = Union[None, str, os.PathLike, Sequence[str]]


def default_vocabulary() -> list[str]:
    """Returns the curated default vocabulary (scenes, materials, weather,
    lighting, colors, textures, viewpoints, people and common objects)."""
    text = resources.files("fiftyone_prime").joinpath("data/vocabulary.txt").read_text()
    return parse_vocabulary_text(text)


def parse_vocabulary_text(text: str) -> list[str]:
    """Parses one tag per line; blank lines and ``#`` comments are ignored."""
    tags = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            tags.append(line)
    return dedupe(tags)


def dedupe(tags: Iterable[str]) -> list[str]:
    """Removes repeated tags (case-insensitively), keeping the first spelling."""
    seen: set[str] = set()
    out = []
    for tag in tags:
        key = " ".join(tag.lower().split())
        if key and key not in seen:
            seen.add(key)
            out.append(" ".join(tag.split()))
    return out


def load_vocabulary(vocabulary: VocabularyLike = None) -> list[str]:
    """Resolves a vocabulary argument.

    Args:
        vocabulary (None): ``None`` for the default vocabulary, a list of
            tags, or the path of a text file with one tag per line

    Returns:
        a list of distinct tags

    Raises:
        ValueError: if the vocabulary is empty or the file does not exist
        TypeError: if the argument has the wrong type
    """
    if vocabulary is None:
        tags = default_vocabulary()
    elif isinstance(vocabulary, (str, os.PathLike)):
        path = os.fspath(vocabulary)
        if not os.path.isfile(path):
            raise ValueError(
                f"`vocabulary` file '{path}' does not exist; pass a list of tags or the path "
                "of a text file with one tag per line"
            )
        with open(path, encoding="utf-8") as f:
            tags = parse_vocabulary_text(f.read())
    elif isinstance(vocabulary, Sequence) and all(isinstance(t, str) for t in vocabulary):
        tags = dedupe(vocabulary)
    else:
        raise TypeError(
            "`vocabulary` must be None, a list of strings or a file path; got "
            f"{type(vocabulary).__name__}"
        )
    if not tags:
        raise ValueError("The vocabulary is empty")
    return tags


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("es") and word[:-2].endswith(("s", "x", "ch", "sh")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def normalize_tag(tag: str) -> str:
    """Lower-cased, underscores as spaces, each word made singular."""
    words = tag.replace("_", " ").replace("-", " ").lower().split()
    return " ".join(_singular(w) for w in words)


def exclude_classes(tags: Sequence[str], classes: Optional[Iterable[str]]) -> list[str]:
    """Drops tags that name a class (a tag equal to the class explains nothing).

    Matching ignores case, underscores, hyphens and simple plurals, so the
    class ``golden_retriever`` removes the tag ``golden retrievers``.
    """
    if not classes:
        return list(tags)
    names = {normalize_tag(str(c)) for c in classes}
    kept = [t for t in tags if normalize_tag(t) not in names]
    dropped = len(tags) - len(kept)
    if dropped:
        logger.info("Dropped %d tags that name a class", dropped)
    return kept


def resolve_thresholds(
    threshold: Union[float, dict, None], tags: Sequence[str]
) -> Optional[list[float]]:
    """Per-tag score thresholds from a number or a ``{tag: threshold}`` dict.

    Tags missing from a dict get the dict's ``"*"`` entry, or no threshold.
    """
    if threshold is None:
        return None
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, dict)):
        raise TypeError(f"`threshold` must be a number or a dict of numbers; got {threshold!r}")
    if isinstance(threshold, dict):
        unknown = set(threshold) - set(tags) - {"*"}
        if unknown:
            raise ValueError(f"`threshold` names tags not in the vocabulary: {sorted(unknown)[:5]}")
        default = float(threshold.get("*", float("-inf")))
        return [float(threshold.get(t, default)) for t in tags]
    return [float(threshold)] * len(tags)
