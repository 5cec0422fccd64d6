"""Text hypotheses: a phrase matched to images by the tests' tiny random-weight
image-text model, then tested and stored as any hypothesis is. Mechanics only:
random weights say nothing about what the phrase means."""

import numpy as np
import pytest

import fiftyone as fo

import fiftyone_prime as fp
from tests.integration.planted import planted_with_images


@pytest.fixture
def planted_images(make_dataset, tmp_path):
    return planted_with_images(make_dataset, tmp_path, persistent=True)


def test_a_phrase_is_matched_tested_and_stored_with_its_view(planted_images, tiny_encoder):
    # with stored embeddings (no image encoded), the threshold is exactly as stated:
    # the phrase's mean similarity plus 2 standard deviations
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(planted_images), 32))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    planted_images.set_values("emb", [v.tolist() for v in vectors])
    phrase = "a cat at night in the snow"
    match = fp.match_text(planted_images, phrase, model=tiny_encoder, embeddings_field="emb")
    assert tiny_encoder.encoded == 0 and match.num_samples == 350
    text = tiny_encoder.encode_texts([phrase]).numpy()[0].astype(np.float64)
    stored = vectors.astype(np.float32).astype(np.float64)  # as the field's floats are read
    stored /= np.linalg.norm(stored, axis=1, keepdims=True)
    similarity = stored @ (text / np.linalg.norm(text))
    assert match.threshold == pytest.approx(similarity.mean() + 2 * similarity.std(), rel=1e-9)
    ids = planted_images.values("id")
    expected = {ids[i] for i in np.flatnonzero(similarity >= match.threshold)}
    assert set(match.ids) == expected and 0 < len(match.ids) < 350
    assert "similarity >=" in match.name and "mean + 2 sd" in match.name

    got = fp.test_hypotheses(planted_images, [match], run_key="text")
    labels = dict(zip(ids, planted_images.values("ground_truth.label")))
    assert {r.group: r.size for r in got.results} == {
        c: sum(labels[i] == c for i in match.ids) for c in ("cat", "dog")
    }
    assert all(r.tags == (match.name,) for r in got.results)
    # stored: each class's matched images can be seen as a view (a confirmed one is saved)
    loaded = fp.load_hypotheses(fo.load_dataset(planted_images.name), "text")
    view_of = loaded.kind.views(loaded.samples, loaded)
    for r in loaded.results:
        assert set(view_of(r).values("id")) == {i for i in match.ids if labels[i] == r.group}

    # without embeddings, every image is encoded once
    again = fp.match_text(planted_images, phrase, model=tiny_encoder)
    assert tiny_encoder.encoded == 350 and again.num_samples == 350


def test_an_empty_phrase_is_refused(planted_images, tiny_encoder):
    with pytest.raises(ValueError, match="a text hypothesis needs a nonempty phrase"):
        fp.match_text(planted_images, "  ", model=tiny_encoder)
