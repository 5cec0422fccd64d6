"""16-bit images are scaled to 8 bits, not clipped (which tagged them all 'bright')."""

import numpy as np
import pytest
from PIL import Image

from fiftyone_prime.models.images import load_image, to_rgb
from fiftyone_prime.models.properties import ImagePropertyTagger, measure


@pytest.fixture
def dim_16bit_png(tmp_path):
    # A dark 16-bit grayscale gradient: 0..12% of the 16-bit range.
    values = np.tile(np.linspace(0, 8000, 64), (64, 1)).astype(np.uint16)
    path = tmp_path / "dim16.png"
    Image.fromarray(values).save(path)
    return path, values


def test_sixteen_bit_png_is_scaled_not_saturated(dim_16bit_png):
    path, values = dim_16bit_png
    with Image.open(path) as img:
        assert img.mode.startswith("I")
    rgb = np.asarray(load_image(str(path)))
    assert rgb.shape == (64, 64, 3) and rgb.dtype == np.uint8
    assert rgb.max() == round(8000 / 257) and rgb.min() == 0
    np.testing.assert_array_equal(rgb[..., 0], np.round(values / 257).astype(np.uint8))


def test_sixteen_bit_png_is_not_tagged_bright(dim_16bit_png):
    path, _ = dim_16bit_png
    tagger = ImagePropertyTagger()
    with Image.open(path) as img:
        tags, _ = tagger.tag_batch(np.stack([measure(img)]))
        eight_bit = measure(to_rgb(img))
    assert "bright" not in [t for t, _ in tags[0]]
    np.testing.assert_allclose(measure(Image.open(path)), eight_bit)


def test_eight_bit_images_are_unchanged():
    img = Image.fromarray(np.arange(48, dtype=np.uint8).reshape(4, 4, 3))
    np.testing.assert_array_equal(np.asarray(to_rgb(img)), np.asarray(img))
    gray = Image.fromarray(np.arange(16, dtype=np.uint8).reshape(4, 4))
    np.testing.assert_array_equal(np.asarray(to_rgb(gray))[..., 1], np.asarray(gray))
