"""Hostile-probe regressions (issue 34): each test fails on the code before
its fix. The worst five rerun as one script in ``test_hostile_probe.py``."""

import pytest

import fiftyone as fo

import fiftyone_prime as fp


def _detections_dataset(make_dataset, n=3):
    dataset = make_dataset()
    dataset.add_samples(
        [
            fo.Sample(
                filepath=f"/nonexistent/h{i}.jpg",
                ground_truth=fo.Detections(
                    detections=[
                        fo.Detection(label="cat", bounding_box=[0.1, 0.1, 0.2, 0.2], tags=["mine"])
                    ]
                ),
            )
            for i in range(n)
        ]
    )
    return dataset


# ------------------------------------------------ 1. compute_object_tags data loss


@pytest.mark.parametrize("attr", ["_id", "_cls", "tags", "id", "label", "bounding_box", "_x"])
def test_object_tags_refuse_the_objects_own_attributes(make_dataset, attr):
    dataset = _detections_dataset(make_dataset)
    with pytest.raises(ValueError, match=f"`tags_attr` '{attr}'.*Pick another name"):
        fp.compute_object_tags(dataset, "ground_truth", tags_attr=attr, overwrite=True)
    first = dataset.first()  # still readable, nothing written
    det = first.ground_truth.detections[0]
    assert det.label == "cat" and det.tags == ["mine"] and det.bounding_box == [0.1, 0.1, 0.2, 0.2]
