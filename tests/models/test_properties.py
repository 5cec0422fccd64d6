"""The weight-free image-property tagger: each rule on images built to trigger it."""

import numpy as np
import pytest
from PIL import Image

from fiftyone_prime.models.images import load_image
from fiftyone_prime.models.properties import (
    DEFAULT_THRESHOLDS,
    ImagePropertyTagger,
    measure,
    tags_from_measures,
)


def tags_of(array, **thresholds):
    return tags_from_measures(measure(Image.fromarray(array.astype(np.uint8))), thresholds)


def test_flat_images():
    assert tags_of(np.zeros((64, 64, 3))) == [
        "dark",
        "low contrast",
        "grayscale",
        "blurry",
        "plain",
    ]
    assert tags_of(np.full((64, 64, 3), 255)) == [
        "bright",
        "low contrast",
        "grayscale",
        "blurry",
        "plain",
    ]


def test_small_off_center_object():
    img = np.zeros((64, 64, 3))
    img[2:12, 2:12] = 255
    assert tags_of(img) == [
        "dark",
        "grayscale",
        "sharp",
        "plain",
        "small object",
        "off-center object",
        "filled shape",
        "symmetric",
        "uniform object",
    ]


def test_large_colorful_object():
    img = np.full((64, 64, 3), 128)
    img[4:60, 4:60] = [200, 30, 30]
    assert tags_of(img) == [
        "low contrast",
        "colorful",
        "plain",
        "large object",
        "filled shape",
        "symmetric",
        "uniform object",
    ]


def test_noise_is_sharp_and_textured_and_split_image_is_high_contrast():
    rng = np.random.default_rng(0)
    gray = np.repeat(rng.integers(0, 256, (64, 64, 1)), 3, axis=2)
    assert tags_of(gray) == [
        "grayscale",
        "sharp",
        "textured",
        "large object",
        "asymmetric",
        "textured object",
    ]
    half = np.zeros((64, 64, 3))
    half[:, 32:] = 255
    assert "high contrast" in tags_of(half)


def test_aspect_ratio():
    assert "wide" in tags_of(np.full((40, 100, 3), 100))
    assert "tall" in tags_of(np.full((100, 40, 3), 100))
    assert not {"wide", "tall"} & set(tags_of(np.full((50, 60, 3), 100)))


def test_thresholds_can_be_overridden_and_are_checked():
    img = np.full((64, 64, 3), 90)  # luminance 0.353
    assert "dark" not in tags_of(img)
    assert "dark" in tags_of(img, dark=0.4)
    with pytest.raises(ValueError, match="Unknown property thresholds"):
        ImagePropertyTagger({"darkness": 0.3})
    assert set(DEFAULT_THRESHOLDS) >= {"dark", "bright", "blurry", "small", "wide"}


def test_measures_do_not_depend_on_resolution(tmp_path):
    img = np.zeros((1200, 1600, 3), np.uint8)
    img[200:1000, 400:1200] = [30, 160, 60]
    big = tmp_path / "big.jpg"
    Image.fromarray(img).save(big, quality=95)
    small = Image.fromarray(img).resize((200, 150))
    loaded = load_image(str(big), draft_size=256)
    assert loaded.size == (800, 600)  # JPEG decoded at half size
    np.testing.assert_allclose(measure(loaded)[[0, 6, 8]], measure(small)[[0, 6, 8]], atol=0.02)
    assert tags_from_measures(measure(loaded)) == tags_from_measures(measure(small))


def test_corrupt_files_raise_oserror(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(OSError):
        load_image(str(bad))
