"""The tag operator reads vocabulary files only from folders the plugin
allows (issue 22, finding 4): a free path in the App form would copy any
file the server can read into labels every App user sees. Also (finding 9):
tagging into an existing field of another type is one line."""

import os

import pytest

import fiftyone.operators as foo

from tests.plugin.test_operators import PLUGIN, resolve_inputs

TAG = f"{PLUGIN}/tag_samples"
SECRET = "FIFTYONE_PRIME_VOCABULARY_DIRS"
SECRET_LINES = ["hunter2-password", "aws-secret-key-line", "private-token-xyz"]


@pytest.fixture
def tiny_model(tmp_path):
    from tests.tiny_models import register_tiny_open_clip

    return f"open_clip:{register_tiny_open_clip(tmp_path)}"


IMAGE_DATASET = {"size": 16, "count": 8}  # the conftest's image_dataset


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "server-secrets.txt"
    path.write_text("\n".join(SECRET_LINES) + "\n")
    return path


def _tag(dataset, model, path):
    return foo.execute_operator(
        TAG,
        dict(view=dataset.view()),
        params=dict(
            model=model,
            pretrained="none",
            vocabulary_source="file",
            vocabulary=str(path),
            tags_field="leak",
            top_k=3,
            scoring="softmax",  # random weights: keep the top 3 whatever their scores
            label_field=None,
        ),
    )


def _labels(dataset):
    if not dataset.has_field("leak"):
        return set()
    return set(dataset.distinct("leak.classifications.label"))


def test_no_file_is_read_unless_the_plugin_allows_a_folder(
    image_dataset, tiny_model, secret_file, monkeypatch
):
    monkeypatch.delenv(SECRET, raising=False)
    props = resolve_inputs(TAG, image_dataset, {"model": tiny_model, "vocabulary_source": "file"})
    assert "file" not in props["vocabulary_source"].type.values
    with pytest.raises(Exception) as error:
        result = _tag(image_dataset, tiny_model, secret_file)
        result.raise_exceptions()
    # refused by the form's choices (no "file" source), or by the operator
    assert "vocabulary" in str(error.value)
    from fiftyone_prime.plugin import vocab_files

    with pytest.raises(ValueError) as error:  # what execute() says if the form is bypassed
        vocab_files.resolve_file(str(secret_file), vocab_files.allowed_folders())
    assert vocab_files.SECRET in str(error.value)
    image_dataset.reload()
    assert not _labels(image_dataset) & set(SECRET_LINES)


def test_files_only_from_the_allowed_folder(
    image_dataset, tiny_model, secret_file, tmp_path, monkeypatch
):
    allowed = tmp_path / "vocabularies"
    allowed.mkdir()
    (allowed / "animals.txt").write_text("striped\nspotted\nfurry\nscaly\n")
    os.symlink(secret_file, allowed / "link.txt")
    monkeypatch.setenv(SECRET, str(allowed))

    props = resolve_inputs(TAG, image_dataset, {"model": tiny_model, "vocabulary_source": "file"})
    assert props["vocabulary"].type.values == [
        str(allowed / "animals.txt"),
        str(allowed / "link.txt"),
    ]
    for path in (secret_file, allowed / ".." / secret_file.name, allowed / "link.txt"):
        with pytest.raises(Exception) as error:
            _tag(image_dataset, tiny_model, path).raise_exceptions()
        assert "vocabulary" in str(error.value)  # not a choice, or refused by execute()
        from fiftyone_prime.plugin import vocab_files

        with pytest.raises(ValueError) as error:
            vocab_files.resolve_file(str(path), vocab_files.allowed_folders())
        assert "not a .txt file in an allowed vocabulary folder" in str(error.value)
    image_dataset.reload()
    assert not _labels(image_dataset) & set(SECRET_LINES)

    _tag(image_dataset, tiny_model, allowed / "animals.txt").raise_exceptions()
    image_dataset.reload()
    assert _labels(image_dataset) <= {"striped", "spotted", "furry", "scaly"}
    assert _labels(image_dataset)


def test_tagging_into_an_existing_field_of_another_type_is_one_line(image_dataset):
    import fiftyone.operators as foo

    with pytest.raises(Exception) as error:
        foo.execute_operator(
            TAG,
            dict(view=image_dataset.view()),
            params=dict(model="properties", tags_field="filepath"),
        ).raise_exceptions()
    text = str(error.value)
    assert "tags_field" in text and "not a Classifications field" in text
    assert len(text.splitlines()) == 1, text
