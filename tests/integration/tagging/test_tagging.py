"""compute_tags on real image files in a real FiftyOne dataset."""

import numpy as np
import pytest
import torch
from PIL import Image

import fiftyone as fo

import fiftyone_prime as fp
from fiftyone_prime.models.properties import ImagePropertyTagger
from tests.helpers import tags_by_path
from tests.tiny_models import register_tiny_open_clip

FLAT_DARK = ["dark", "low contrast", "grayscale", "blurry", "plain"]
FLAT_BRIGHT = ["bright", "low contrast", "grayscale", "blurry", "plain"]


def write_images(folder, n, kind="mixed"):
    """Writes n PNGs: even ones black, odd ones white (64x64)."""
    paths = []
    for i in range(n):
        arr = np.full((64, 64, 3), 0 if i % 2 == 0 else 255, np.uint8)
        path = folder / f"img{i:03d}.png"
        Image.fromarray(arr).save(path)
        paths.append(str(path))
    return paths


@pytest.fixture
def black_white_dataset(make_dataset, tmp_path):
    """20 images, even ones black, odd ones white (not the planted images of
    the conftest's ``image_dataset``: these tests read tags off the colour)."""
    dataset = make_dataset()
    paths = write_images(tmp_path, 20)
    dataset.add_samples(
        [
            fo.Sample(filepath=p, ground_truth=fo.Classification(label="night" if i % 2 else "cat"))
            for i, p in enumerate(paths)
        ]
    )
    return dataset


def test_property_tags_are_written_as_classifications(black_white_dataset):
    summary = fp.compute_tags(black_white_dataset, model="properties", num_workers=0, batch_size=6)
    assert summary.num_tagged == 20 and summary.num_failed == 0
    field = black_white_dataset.get_field("prime_tags")
    assert field.document_type is fo.Classifications
    for path, tags in tags_by_path(black_white_dataset).items():
        index = int(path[-7:-4])
        assert tags == (FLAT_DARK if index % 2 == 0 else FLAT_BRIGHT)
    confidences = black_white_dataset.values("prime_tags.classifications.confidence", unwind=True)
    assert set(confidences) == {1.0}


def test_worker_processes_give_the_same_tags(black_white_dataset, make_dataset):
    """Worker processes decode out of order; each sample must still get the
    tags of its own image (even files are black, odd ones white)."""
    fp.compute_tags(black_white_dataset, model="properties", num_workers=2, batch_size=4)
    for path, tags in tags_by_path(black_white_dataset).items():
        assert tags == (FLAT_DARK if int(path[-7:-4]) % 2 == 0 else FLAT_BRIGHT), path


def test_corrupt_and_missing_images_are_skipped_and_counted(black_white_dataset, tmp_path):
    bad = tmp_path / "corrupt.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    black_white_dataset.add_samples(
        [fo.Sample(filepath=str(bad)), fo.Sample(filepath=str(tmp_path / "missing.png"))]
    )
    summary = fp.compute_tags(black_white_dataset, model="properties", num_workers=0)
    assert (summary.num_tagged, summary.num_failed) == (20, 2)
    assert {f[1] for f in summary.failures} == {str(bad), str(tmp_path / "missing.png")}
    assert black_white_dataset.exists("prime_tags").count() == 20
    with pytest.raises(RuntimeError, match="Could not read image"):
        fp.compute_tags(
            black_white_dataset,
            model="properties",
            num_workers=0,
            tags_field="again",
            skip_failures=False,
        )


class InterruptingTagger(ImagePropertyTagger):
    """Raises KeyboardInterrupt on its third batch, like a Ctrl-C."""

    def __init__(self):
        super().__init__()
        self.calls = 0
        self.tagged = 0

    def tag_batch(self, batch):
        self.calls += 1
        if self.calls == 3:
            raise KeyboardInterrupt
        self.tagged += len(batch)
        return super().tag_batch(batch)


def test_an_interrupted_run_keeps_its_batches_and_resumes(black_white_dataset):
    tagger = InterruptingTagger()
    with pytest.raises(KeyboardInterrupt):
        fp.compute_tags(black_white_dataset, model=tagger, batch_size=4, num_workers=0)
    assert black_white_dataset.exists("prime_tags").count() == 8  # two batches written
    with pytest.raises(ValueError, match="8 of the 20 samples already have 'prime_tags'"):
        fp.compute_tags(black_white_dataset, model="properties", num_workers=0)
    resumed = InterruptingTagger()
    resumed.calls = -100  # no interruption this time
    summary = fp.compute_tags(
        black_white_dataset, model=resumed, batch_size=4, num_workers=0, skip_existing=True
    )
    assert (summary.num_tagged, summary.num_skipped_existing, resumed.tagged) == (12, 8, 12)
    assert black_white_dataset.exists("prime_tags").count() == 20
    again = fp.compute_tags(
        black_white_dataset, model="properties", num_workers=0, skip_existing=True
    )
    assert again.num_tagged == 0 and again.num_skipped_existing == 20


def test_overwrite_retags(black_white_dataset):
    fp.compute_tags(black_white_dataset, model="properties", num_workers=0)
    summary = fp.compute_tags(
        black_white_dataset, model="properties", num_workers=0, overwrite=True
    )
    assert summary.num_tagged == 20


def test_existing_field_of_another_type_is_never_touched(black_white_dataset):
    with pytest.raises(TypeError, match="'ground_truth' exists and is not a Classifications"):
        fp.compute_tags(black_white_dataset, model="properties", tags_field="ground_truth")
    assert black_white_dataset.count_values("ground_truth.label") == {"cat": 10, "night": 10}


def test_empty_view(black_white_dataset):
    with pytest.raises(ValueError, match="view is empty"):
        fp.compute_tags(black_white_dataset.limit(0), model="properties")


def test_zero_shot_with_random_weights_writes_top_k_and_embeddings(black_white_dataset, tmp_path):
    name = register_tiny_open_clip(tmp_path)
    torch.manual_seed(0)
    summary = fp.compute_tags(
        black_white_dataset,
        model=f"open_clip:{name}",
        pretrained=None,
        device="cpu",
        vocabulary=["snow", "night", "grass", "indoors", "beach"],
        scoring="softmax",  # version 0.1's rule: exactly top_k tags per image
        top_k=3,
        embeddings_field="prime_embedding",
        num_workers=0,
        batch_size=8,
    )
    # "night" is a class of the dataset, so it is not a tag.
    assert summary.vocabulary_size == 4 and summary.num_tagged == 20
    assert summary.tagger == f"open_clip:{name}@random"
    for tags in tags_by_path(black_white_dataset).values():
        assert len(tags) == 3 and set(tags) <= {"snow", "grass", "indoors", "beach"}
    for confs in black_white_dataset.values("prime_tags.classifications.confidence"):
        assert all(0 < c <= 1 for c in confs) and confs == sorted(confs, reverse=True)
    emb = np.stack(black_white_dataset.values("prime_embedding"))
    assert emb.shape == (20, 32)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)


def test_property_tags_feed_the_search(make_dataset, tmp_path):
    # Class "cat": 10 dark images all misclassified, 10 bright ones all right.
    dataset = make_dataset()
    paths = write_images(tmp_path, 20)  # even: black, odd: white
    dataset.add_samples(
        [
            fo.Sample(
                filepath=p,
                ground_truth=fo.Classification(label="cat"),
                predictions=fo.Classification(label="cat" if i % 2 else "dog"),
            )
            for i, p in enumerate(paths)
        ]
    )
    fp.compute_tags(dataset, model="properties", num_workers=0)
    results = fp.find_failure_modes(dataset, min_size=5)
    assert [(m.group, m.tags, m.size, m.num_correct) for m in results.failure_modes] == [
        ("cat", ("dark",), 10, 0)
    ]


def test_calibrated_scoring_tags_every_image_once(black_white_dataset, tmp_path):
    """Default scoring for CLIP: the calibration images are drawn from the
    view, held until the statistics are known, then written like the rest."""
    name = register_tiny_open_clip(tmp_path)
    torch.manual_seed(0)
    summary = fp.compute_tags(
        black_white_dataset,
        model=f"open_clip:{name}",
        pretrained=None,
        device="cpu",
        vocabulary=["snow", "grass", "indoors", "beach", "fog", "dog|puppy", "cat|kitty"],
        threshold=0.0,
        calibration_size=8,
        num_workers=0,
        batch_size=3,
    )
    # "cat" is a class (dropped); "dog" is not.
    assert summary.scoring == "calibrated" and summary.vocabulary == "custom"
    assert summary.vocabulary_size == 6 and summary.num_tagged == 20
    assert summary.calibration["images"] == 9  # whole batches of 3 until >= 8
    assert black_white_dataset.exists("prime_tags").count() == 20
    confs = black_white_dataset.values("prime_tags.classifications.confidence", unwind=True)
    assert summary.num_tags_written == len(confs) and min(confs) >= 0.0
    assert summary.tags_per_image == pytest.approx(len(confs) / 20)
    info = black_white_dataset.get_field("prime_tags").info["prime_tagger"]
    assert info["scoring"] == "calibrated" and info["threshold"] == 0.0

    # The statistics carry over to another field: the same tags.
    torch.manual_seed(0)  # the same random weights
    again = fp.compute_tags(
        black_white_dataset,
        model=f"open_clip:{name}",
        pretrained=None,
        device="cpu",
        vocabulary=["snow", "grass", "indoors", "beach", "fog", "dog|puppy", "cat|kitty"],
        threshold=0.0,
        calibration=summary.calibration,
        tags_field="again",
        num_workers=0,
    )
    assert again.calibration["images"] == 9

    # The same tags per image; their order is by score, and the random weights
    # give near-ties that another batch size may order differently.
    def tag_sets(field):
        return {p: sorted(t) for p, t in tags_by_path(black_white_dataset, field).items()}

    assert tag_sets("again") == tag_sets("prime_tags")
    with pytest.raises(ValueError, match="`calibration_size` must be at least 2"):
        fp.compute_tags(black_white_dataset, model=f"open_clip:{name}", calibration_size=1)


def test_thresholds_of_tags_removed_as_classes_are_ignored_typos_are_not(
    black_white_dataset, tmp_path
):
    from fiftyone_prime.integration.tagging.images import _build_tagger

    name = register_tiny_open_clip(tmp_path)
    vocab = ["snow", "night", "grass"]  # "night" is a class of the dataset
    args = (f"open_clip:{name}", vocab, None, None)
    rest = (None, "ground_truth", True, "cpu", "fp32", "calibrated", None)
    tagger = _build_tagger(black_white_dataset, *args, {"night": 9.0, "snow": 1.0}, *rest)
    assert tagger.vocabulary == ["snow", "grass"] and list(tagger.thresholds) == [1.0, 3.5]
    with pytest.raises(ValueError, match="not in the vocabulary: \\['snwo'\\]"):
        _build_tagger(black_white_dataset, *args, {"snwo": 1.0}, *rest)
