"""Tag vocabularies: the default one shipped with the package, user lists and files."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Optional, Union

logger = logging.getLogger(__name__)

VocabularyLike = Union[None, str, os.PathLike, Sequence[str]]

#: The vocabularies shipped with the package, by name (files under ``data/``).
#: ``"large"``: RAM's 4,585 tags plus the context list, synonyms merged
#: (4,637 concepts; see ``data/NOTICE.txt``); ``"context"``: 266 curated
#: context concepts (scenes, weather, lighting, materials, viewpoints...).
VOCABULARIES = {
    "large": "data/vocabulary_large.txt",
    "context": "data/vocabulary.txt",
}

#: The vocabulary used when none is given.
DEFAULT_VOCABULARY = "large"

#: Separates a concept from its aliases on a vocabulary line.
ALIAS_SEPARATOR = "|"


def default_vocabulary() -> list[str]:
    """Returns the concepts of the default vocabulary (:data:`DEFAULT_VOCABULARY`)."""
    return named_vocabulary(DEFAULT_VOCABULARY)


def named_vocabulary(name: str) -> list[str]:
    """Returns the concepts of a shipped vocabulary (see :data:`VOCABULARIES`)."""
    return [concept for concept, _ in named_vocabulary_entries(name)]


def named_vocabulary_entries(name: str) -> list[tuple[str, tuple[str, ...]]]:
    """Returns ``(concept, aliases)`` of a shipped vocabulary."""
    if name not in VOCABULARIES:
        raise ValueError(f"Unknown vocabulary '{name}'; shipped ones are {sorted(VOCABULARIES)}")
    text = resources.files("fiftyone_prime").joinpath(VOCABULARIES[name]).read_text()
    return parse_vocabulary_entries(text)


def parse_vocabulary_text(text: str) -> list[str]:
    """Parses one concept per line (``concept|alias|alias``) into the concepts;
    blank lines and ``#`` comments are ignored."""
    return [concept for concept, _ in parse_vocabulary_entries(text)]


def parse_vocabulary_entries(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """Parses ``concept|alias|alias`` lines into ``(concept, aliases)``.

    Blank lines and ``#`` comments are ignored; a concept repeated
    (case-insensitively) keeps its first spelling and gathers every alias.
    """
    return dedupe_entries(
        line.split("#", 1)[0] for line in text.splitlines() if line.split("#", 1)[0].strip()
    )


def split_entry(entry: str) -> tuple[str, tuple[str, ...]]:
    """``"couch|sofa"`` -> ``("couch", ("sofa",))`` (whitespace normalized)."""
    parts = [" ".join(p.split()) for p in entry.split(ALIAS_SEPARATOR)]
    parts = [p for p in parts if p]
    if not parts:
        return "", ()
    return parts[0], tuple(parts[1:])


def dedupe_entries(entries: Iterable[str]) -> list[tuple[str, tuple[str, ...]]]:
    """Splits ``concept|alias`` strings and merges repeated concepts."""
    order: list[str] = []
    found: dict[str, tuple[str, list[str]]] = {}
    for entry in entries:
        concept, aliases = split_entry(entry)
        if not concept:
            continue
        key = concept.lower()
        if key not in found:
            found[key] = (concept, [])
            order.append(key)
        kept = found[key][1]
        for alias in aliases:
            if alias.lower() != key and alias.lower() not in {a.lower() for a in kept}:
                kept.append(alias)
    return [(found[k][0], tuple(found[k][1])) for k in order]


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
    """Resolves a vocabulary argument into its concepts.

    Args:
        vocabulary (None): ``None`` for the default vocabulary
            (:data:`DEFAULT_VOCABULARY`), the name of a shipped vocabulary
            (``"large"``, ``"context"``), a list of tags (each may be
            ``"concept|alias|alias"``), or the path of a text file with one
            concept per line

    Returns:
        a list of distinct concepts

    Raises:
        ValueError: if the vocabulary is empty or the file does not exist
        TypeError: if the argument has the wrong type
    """
    return [concept for concept, _ in load_vocabulary_entries(vocabulary)]


def load_vocabulary_entries(vocabulary: VocabularyLike = None) -> list[tuple[str, tuple[str, ...]]]:
    """Like :func:`load_vocabulary`, with each concept's aliases:
    ``[(concept, (alias, ...)), ...]``."""
    if vocabulary is None:
        entries = named_vocabulary_entries(DEFAULT_VOCABULARY)
    elif isinstance(vocabulary, (str, os.PathLike)):
        path = os.fspath(vocabulary)
        if path in VOCABULARIES and not os.path.isfile(path):
            entries = named_vocabulary_entries(path)
        elif not os.path.isfile(path):
            raise ValueError(
                f"`vocabulary` file '{path}' does not exist, nor is it a shipped vocabulary "
                f"({', '.join(sorted(VOCABULARIES))}); pass a name, a list of tags or the path "
                "of a text file with one tag per line"
            )
        else:
            with open(path, encoding="utf-8") as f:
                entries = parse_vocabulary_entries(f.read())
    elif isinstance(vocabulary, Sequence) and all(isinstance(t, str) for t in vocabulary):
        entries = dedupe_entries(vocabulary)
    else:
        raise TypeError(
            "`vocabulary` must be None, a vocabulary name, a list of strings or a file path; got "
            f"{type(vocabulary).__name__}"
        )
    if not entries:
        raise ValueError("The vocabulary is empty")
    return entries


def vocabulary_name(vocabulary: VocabularyLike) -> str:
    """A short description of a vocabulary argument, for summaries and runs."""
    if vocabulary is None:
        return DEFAULT_VOCABULARY
    if isinstance(vocabulary, (str, os.PathLike)):
        return os.fspath(vocabulary)
    return "custom"


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


def exclude_classes(
    tags: Sequence[str],
    classes: Optional[Iterable[str]],
    aliases: Optional[dict] = None,
) -> list[str]:
    """Drops tags that name a class (a tag equal to the class explains nothing).

    Matching ignores case, underscores, hyphens and simple plurals, so the
    class ``golden_retriever`` removes the tag ``golden retrievers``. With
    ``aliases`` (``{tag: (alias, ...)}``), a tag is also dropped when one of
    its aliases names a class (the class ``sofa`` removes ``couch|sofa``).
    """
    if not classes:
        return list(tags)
    names = {normalize_tag(str(c)) for c in classes}
    aliases = aliases or {}
    kept = [
        t
        for t in tags
        if normalize_tag(t) not in names
        and not any(normalize_tag(a) in names for a in aliases.get(t, ()))
    ]
    dropped = len(tags) - len(kept)
    if dropped:
        logger.info("Dropped %d tags that name a class", dropped)
    return kept


def resolve_thresholds(
    threshold: Union[float, dict, None],
    tags: Sequence[str],
    default: Optional[Sequence[float]] = None,
) -> Optional[list[float]]:
    """Per-tag score thresholds from a number or a ``{tag: threshold}`` dict.

    Tags missing from a dict get the dict's ``"*"`` entry, else their value
    in ``default`` (one per tag), else no threshold (``-inf``).
    """
    if threshold is None:
        return None
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, dict)):
        raise TypeError(f"`threshold` must be a number or a dict of numbers; got {threshold!r}")
    if isinstance(threshold, dict):
        unknown = set(threshold) - set(tags) - {"*"}
        if unknown:
            raise ValueError(f"`threshold` names tags not in the vocabulary: {sorted(unknown)[:5]}")
        if "*" in threshold or default is None:
            default = [float(threshold.get("*", float("-inf")))] * len(tags)
        return [float(threshold.get(t, d)) for t, d in zip(tags, default)]
    return [float(threshold)] * len(tags)
