"""The shape and surface properties of the weight-free tagger, each on an
image drawn to trigger it, and the tagger in a process without torch."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from fiftyone_prime.models.properties import (
    DEFAULT_THRESHOLDS,
    MEASURES,
    TAGS,
    measure,
    tags_from_measures,
)
from tests.fo_env import REPO_ROOT

SHAPE_TAGS = {
    "wide silhouette",
    "narrow silhouette",
    "filled shape",
    "sparse shape",
    "symmetric",
    "asymmetric",
    "textured object",
    "uniform object",
}


def shape_tags(array):
    tags = tags_from_measures(measure(Image.fromarray(array.astype(np.uint8))))
    return [t for t in tags if t in SHAPE_TAGS]


def canvas():
    return np.zeros((96, 96, 3))


def test_every_tag_and_threshold_is_documented():
    from fiftyone_prime.models import properties

    for tag in TAGS:
        assert tag in properties.__doc__, tag
    for key in DEFAULT_THRESHOLDS:
        assert f"``{key}``" in properties.__doc__, key
    assert len(MEASURES) == len(measure(np.zeros((8, 8, 3))))


def test_wide_and_narrow_silhouettes_in_a_square_image():
    wide = canvas()
    wide[40:56, 8:88] = 255  # a bar 80 wide, 16 high
    assert shape_tags(wide) == ["wide silhouette", "filled shape", "symmetric", "uniform object"]
    narrow = canvas()
    narrow[8:88, 40:56] = 255
    assert shape_tags(narrow) == [
        "narrow silhouette",
        "filled shape",
        "symmetric",
        "uniform object",
    ]


def test_sparse_asymmetric_shape():
    img = canvas()
    img[10:80, 10:14] = 255  # an L: a vertical stroke and a foot to the right
    img[76:80, 10:80] = 255
    tags = shape_tags(img)
    assert "sparse shape" in tags and "asymmetric" in tags
    assert "filled shape" not in tags and "symmetric" not in tags


def test_disc_is_filled_enough_and_symmetric():
    yy, xx = np.mgrid[:96, :96]
    img = canvas()
    img[(yy - 48) ** 2 + (xx - 48) ** 2 < 30**2] = 255
    m = dict(zip(MEASURES, measure(Image.fromarray(img.astype(np.uint8)))))
    assert m["fill"] == pytest.approx(np.pi / 4, abs=0.03)
    assert m["symmetry"] > 0.95
    tags = shape_tags(img)
    assert "symmetric" in tags and "uniform object" in tags and "sparse shape" not in tags


def test_textured_object_on_a_plain_background():
    rng = np.random.default_rng(0)
    img = np.full((96, 96, 3), 20.0)
    img[16:80, 16:80] = rng.integers(120, 256, (64, 64, 1))  # a noisy square
    tags = shape_tags(img)
    assert "textured object" in tags and "uniform object" not in tags


def test_no_shape_tags_without_an_object_or_when_it_fills_the_frame():
    assert shape_tags(np.full((64, 64, 3), 90)) == []
    full = np.zeros((128, 128, 3))
    full[1:-1, 1:-1] = 200  # the foreground is 97% of the image: no silhouette
    assert shape_tags(full) == []


_NO_TORCH = r"""
import importlib.abc, json, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchvision", "open_clip", "transformers"):
            raise ImportError(f"blocked for this test: {name}")
        return None

sys.meta_path.insert(0, Block())
sys.path.insert(0, sys.argv[1])
try:
    import torch
    raise SystemExit("torch imported")
except ImportError:
    pass

import numpy as np
from PIL import Image
import fiftyone as fo
import fiftyone_prime as fp

folder = sys.argv[2]
samples = []
for i in range(6):
    img = np.zeros((48, 48, 3), np.uint8)
    img[8:40, 20:28] = 255 if i % 2 else 60
    path = f"{folder}/{i}.png"
    Image.fromarray(img).save(path)
    samples.append(fo.Sample(filepath=path, ground_truth=fo.Classification(label="a")))
samples.append(fo.Sample(filepath=f"{folder}/missing.png"))
dataset = fo.Dataset()
dataset.add_samples(samples)
summary = fp.compute_tags(dataset, model="properties", tags_field="props")
tags = dataset.values("props.classifications.label")
print(json.dumps({"tagged": summary.num_tagged, "failed": summary.num_failed,
                  "tags": tags[0], "torch": "torch" in sys.modules,
                  "package": fp.__file__}))
"""


@pytest.mark.slow
def test_properties_tagger_runs_where_torch_cannot_be_imported(tmp_path):
    run = subprocess.run(
        [sys.executable, "-c", _NO_TORCH, str(REPO_ROOT), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ},
        cwd=str(tmp_path),
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["package"].startswith(str(REPO_ROOT))
    assert out["torch"] is False
    assert out["tagged"] == 6 and out["failed"] == 1
    assert "narrow silhouette" in out["tags"] and "filled shape" in out["tags"]
