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


def test_aliases_map_to_one_concept(tmp_path):
    path = tmp_path / "tags.txt"
    path.write_text("couch|sofa\nSofa bed\ncouch | lounge  # a comment\n\nsnow\n")
    assert vocab.load_vocabulary_entries(str(path)) == [
        ("couch", ("sofa", "lounge")),
        ("Sofa bed", ()),
        ("snow", ()),
    ]
    assert vocab.load_vocabulary(str(path)) == ["couch", "Sofa bed", "snow"]
    assert vocab.load_vocabulary(["dog|puppy", "Dog|hound"]) == ["dog"]
    assert vocab.load_vocabulary_entries(["dog|puppy", "Dog|hound"]) == [
        ("dog", ("puppy", "hound"))
    ]


def test_shipped_vocabularies():
    large = vocab.load_vocabulary_entries("large")
    names = [c for c, _ in large]
    assert vocab.load_vocabulary(None) == names == vocab.default_vocabulary()
    assert len(names) >= 3000 and len({normalize(c) for c in names}) == len(names)
    aliases = dict(large)
    assert "sofa" in aliases["couch"]  # WordNet synonyms merged into one concept
    assert "airplane" in aliases["plane"] and "birdbath" in aliases["bird bath"]
    assert "sofa" not in aliases and "airplane" not in aliases
    # Every alias names one concept only.
    seen = {}
    for concept, als in large:
        for a in als:
            assert seen.setdefault(vocab.normalize_tag(a), concept) == concept, a
    context = vocab.load_vocabulary("context")
    assert len(context) == 265  # version 0.1's default, kept by name
    covered = {normalize(c) for c in names} | {normalize(a) for _, als in large for a in als}
    assert {normalize(c) for c in context} <= covered  # merged into the large one
    with pytest.raises(ValueError, match="Unknown vocabulary"):
        vocab.named_vocabulary("huge")


def normalize(tag):
    return vocab.normalize_tag(tag)


def test_class_names_exclude_concepts_through_aliases():
    entries = vocab.load_vocabulary_entries(["couch|sofa", "car|automobile", "grass"])
    tags = [c for c, _ in entries]
    assert vocab.exclude_classes(tags, ["Sofas", "automobile"], aliases=dict(entries)) == ["grass"]
    assert vocab.exclude_classes(tags, ["sofa"]) == tags  # without aliases: names only
