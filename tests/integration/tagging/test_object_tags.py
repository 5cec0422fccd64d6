"""Geometry tags of objects: known boxes give known tags; resumable."""

import pytest

import fiftyone as fo

from fiftyone_prime.integration.tagging.object_tags import compute_object_tags


def _det(label, box):
    return fo.Detection(label=label, bounding_box=box)


@pytest.fixture
def boxes(make_dataset):
    dataset = make_dataset()
    a = fo.Sample(
        filepath="/nonexistent/a.jpg",
        metadata=fo.ImageMetadata(width=640, height=480),
        ground_truth=fo.Detections(
            detections=[
                _det("cat", [0.0, 0.0, 0.02, 0.02]),
                _det("dog", [0.4, 0.4, 0.2, 0.2]),
                _det("cat", [0.45, 0.45, 0.1, 0.1]),
                _det("car", [0.7, 0.7, 0.25, 0.05]),
            ]
        ),
    )
    b = fo.Sample(
        filepath="/nonexistent/b.jpg",
        ground_truth=fo.Detections(
            detections=[_det("car", [0.1 + 0.15 * k, 0.1, 0.05, 0.05]) for k in range(5)]
            + [_det("cat", [0.4, 0.5, 0.05, 0.3])]
        ),
    )
    empty = fo.Sample(filepath="/nonexistent/c.jpg", ground_truth=fo.Detections())
    dataset.add_samples([a, b, empty])
    return dataset


def tags_of(dataset, name):
    sample = dataset[f"/nonexistent/{name}.jpg"]
    return [d["prime_tags"] for d in sample.ground_truth.detections]


def test_geometry_tags_of_known_boxes(boxes):
    summary = compute_object_tags(boxes, "ground_truth")
    assert summary.num_objects_tagged == 10 and summary.num_samples_tagged == 2
    assert summary.num_without_metadata == 6
    assert tags_of(boxes, "a") == [
        ["small", "at border", "left", "top"],
        ["large", "center"],
        ["medium", "center", "overlapped"],
        ["medium", "wide", "right", "bottom"],
    ]
    b = tags_of(boxes, "b")
    assert all("crowded" in t and "small" in t for t in b[:5])
    assert b[0] == ["small", "left", "top", "crowded"]
    assert b[5] == ["medium", "tall", "center"]  # 0.05 x 0.3 of an unknown-size image


def test_resumes_where_it_stopped_and_overwrites_on_request(boxes):
    compute_object_tags(boxes, "ground_truth")
    b = boxes["/nonexistent/b.jpg"]
    for det in b.ground_truth.detections:
        det["prime_tags"] = None
    b.save()
    again = compute_object_tags(boxes, "ground_truth")
    assert again.num_samples_tagged == 1 and again.num_skipped_existing == 1
    assert all(t for t in tags_of(boxes, "b"))
    everything = compute_object_tags(boxes, "ground_truth", overwrite=True)
    assert everything.num_samples_tagged == 2


def test_bad_arguments(boxes):
    with pytest.raises(ValueError, match="takes no tagger arguments"):
        compute_object_tags(boxes, "ground_truth", pretrained="x")
    boxes.add_sample_field("label", fo.EmbeddedDocumentField, embedded_doc_type=fo.Classification)
    with pytest.raises(TypeError, match="must be a Detections field"):
        compute_object_tags(boxes, "label")
    with pytest.raises(TypeError, match="must be a Detections field"):
        compute_object_tags(boxes, "nope")
    with pytest.raises(ValueError, match="crowded"):
        compute_object_tags(boxes, "ground_truth", crowded=1)


def test_crops_tagged_by_the_properties_tagger(make_dataset, tmp_path):
    import numpy as np
    from PIL import Image

    pixels = np.zeros((64, 64, 3), np.uint8)
    pixels[:, 32:] = 255
    paths = []
    for i in range(2):
        path = tmp_path / f"img{i}.png"
        Image.fromarray(pixels).save(path)
        paths.append(str(path))
    dataset = make_dataset()
    dataset.add_samples(
        [
            fo.Sample(
                filepath=p,
                ground_truth=fo.Detections(
                    detections=[
                        _det("left", [0.05, 0.1, 0.35, 0.8]),
                        _det("right", [0.6, 0.1, 0.35, 0.8]),
                    ]
                ),
            )
            for p in paths
        ]
    )
    summary = compute_object_tags(
        dataset, "ground_truth", tags_attr="looks", model="properties", batch_size=4
    )
    assert summary.num_objects_tagged == 4 and summary.num_samples_tagged == 2
    for dets in dataset.values("ground_truth.detections"):
        left, right = dets
        assert "dark" in left["looks"] and "bright" not in left["looks"]
        assert "bright" in right["looks"] and "dark" not in right["looks"]
    again = compute_object_tags(dataset, "ground_truth", tags_attr="looks", model="properties")
    assert again.num_skipped_existing == 2 and again.num_objects_tagged == 0
    assert not [n for n in fo.list_datasets() if n.startswith("prime-object-crops-")]


def test_a_crop_the_tagger_cannot_read_leaves_its_object_untagged_for_a_retry(
    make_dataset, tmp_path
):
    """Before, such an object was written with no tags ([]), which
    skip_existing took for done: it was never tagged. Now it stays None."""
    import numpy as np
    from PIL import Image

    path = tmp_path / "img.png"
    Image.fromarray(np.full((64, 64, 3), 200, np.uint8)).save(path)
    dataset = make_dataset()
    dataset.add_sample(
        fo.Sample(
            filepath=str(path),
            ground_truth=fo.Detections(
                detections=[_det("a", [0.05, 0.1, 0.35, 0.8]), _det("b", [0.6, 0.1, 0.35, 0.8])]
            ),
        )
    )
    broken = dataset.first().ground_truth.detections[1].id
    crop_dir = tmp_path / "crops"
    crop_dir.mkdir()
    (crop_dir / f"{broken}.png").write_bytes(b"not a png")  # left by a damaged disk

    summary = compute_object_tags(
        dataset, "ground_truth", tags_attr="looks", model="properties", crop_dir=str(crop_dir)
    )
    assert summary.num_objects_tagged == 1 and summary.num_objects_untagged == 1
    good, bad = dataset.first().ground_truth.detections
    assert good["looks"] and bad["looks"] is None

    (crop_dir / f"{broken}.png").unlink()
    again = compute_object_tags(
        dataset, "ground_truth", tags_attr="looks", model="properties", crop_dir=str(crop_dir)
    )
    assert again.num_skipped_existing == 0 and again.num_objects_untagged == 0
    assert all(d["looks"] for d in dataset.first().ground_truth.detections)
