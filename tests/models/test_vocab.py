"""Vocabularies: the shipped default, user lists and files, class exclusion, thresholds."""

import pytest

from fiftyone_prime.core import vocab


def test_default_vocabulary_is_curated_and_distinct():
    tags = vocab.default_vocabulary()
    assert len(tags) == len({t.lower() for t in tags}) >= 200
    for expected in ("snow", "night", "close-up", "underexposed", "grass", "striped"):
        assert expected in tags


def test_lists_and_files(tmp_path):
    assert vocab.load_vocabulary(["snow", "Snow ", "night"]) == ["snow", "night"]
    path = tmp_path / "tags.txt"
    path.write_text("# weather\nsnow\n\nfog  # comment\nsnow\n")
    assert vocab.load_vocabulary(str(path)) == ["snow", "fog"]
    with pytest.raises(ValueError, match="does not exist"):
        vocab.load_vocabulary(str(tmp_path / "missing.txt"))
    with pytest.raises(ValueError, match="empty"):
        vocab.load_vocabulary([])
    with pytest.raises(TypeError, match="list of strings"):
        vocab.load_vocabulary([1, 2])


def test_class_names_are_excluded_despite_case_plural_and_underscores():
    tags = ["dog", "Dogs", "golden retrievers", "grass", "bus", "buses", "butterflies"]
    kept = vocab.exclude_classes(tags, ["dog", "golden_retriever", "bus", "butterfly"])
    assert kept == ["grass"]
    assert vocab.exclude_classes(tags, None) == tags


def test_thresholds():
    tags = ["a", "b", "c"]
    assert vocab.resolve_thresholds(None, tags) is None
    assert vocab.resolve_thresholds(0.2, tags) == [0.2, 0.2, 0.2]
    assert vocab.resolve_thresholds({"a": 0.5, "*": 0.1}, tags) == [0.5, 0.1, 0.1]
    assert vocab.resolve_thresholds({"b": 0.3}, tags) == [float("-inf"), 0.3, float("-inf")]
    with pytest.raises(ValueError, match="not in the vocabulary"):
        vocab.resolve_thresholds({"z": 0.3}, tags)
    with pytest.raises(TypeError):
        vocab.resolve_thresholds("0.3", tags)
