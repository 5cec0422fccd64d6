"""The fast reader gives what ``read_inputs`` gives (rows aligned by sample id)."""

import numpy as np
import pytest

import fiftyone as fo
from fiftyone import ViewField as F

from fiftyone_prime.integration import fields as fpf
from fiftyone_prime.integration import reader


def _ids_of(samples, inputs_slow):
    """The used samples' ids, in ``read_inputs`` row order, as bytes."""
    ids, gt, pr = samples.values(["id", "ground_truth.label", "predictions.label"])
    return [bytes.fromhex(i) for i, g, p in zip(ids, gt, pr) if g is not None and p is not None]


def assert_same(samples, label_field, pred_field, tags_field, **kwargs):
    slow = fpf.read_inputs(samples, label_field, pred_field, tags_field)
    fast = reader.read_inputs_fast(samples, label_field, pred_field, tags_field, **kwargs)
    assert fast.tag_keys == slow.tag_keys
    assert fast.num_samples == slow.num_samples
    assert fast.num_missing_label == slow.num_missing_label
    assert fast.num_missing_prediction == slow.num_missing_prediction
    slow_ids = _ids_of(samples, slow)
    fast_ids = [row.tobytes() for row in fast.extra["_id"]]
    assert sorted(slow_ids) == sorted(fast_ids)
    row_of = {b: i for i, b in enumerate(fast_ids)}
    order = np.array([row_of[b] for b in slow_ids], dtype=np.int64)
    assert (fast.tags[order] != slow.tags).nnz == 0
    assert fast.labels[order].tolist() == slow.labels.tolist()
    assert fast.correct[order].tolist() == slow.correct.tolist()
    assert [s.field for s in fast.sources] == [s.field for s in slow.sources]
    return fast


@pytest.fixture
def odd(make_dataset):
    """Names that look like MongoDB expressions, missing labels, predictions
    and tags, unnamed tag labels, a classification tag field."""
    ds = make_dataset()
    samples = []
    classes = ["$cat", "$ground_truth.label", "dog", "{x}"]
    tags = [["$snow", "night"], ["$$ROOT"], [], None, ["night", None], ["a.b", "$snow"]]
    for i in range(120):
        label = None if i % 17 == 0 else classes[i % 4]
        pred = None if i % 13 == 0 else classes[(i + (i % 3 == 0)) % 4]
        tag = tags[i % len(tags)]
        s = fo.Sample(filepath=f"/nonexistent/{i}.jpg")
        if label is not None:
            s["ground_truth"] = fo.Classification(label=label)
        if pred is not None:
            s["predictions"] = fo.Classification(label=pred)
        if tag is not None:
            s["prime_tags"] = fo.Classifications(
                classifications=[fo.Classification(label=t) for t in tag]
            )
            s["tag_list"] = [t for t in tag if t is not None]
        s["weather"] = fo.Classification(label="$rain" if i % 2 else "sun")
        samples.append(s)
    ds.add_samples(samples)
    return ds


@pytest.mark.parametrize("connections", [1, 3])
def test_fast_read_equals_values_read_on_odd_names(odd, connections, monkeypatch):
    monkeypatch.setattr(reader, "RANGE_SIZE", 17)
    fast = assert_same(odd, "ground_truth", "predictions", "prime_tags", connections=connections)
    assert ("prime_tags", "$snow") in fast.tag_keys and ("prime_tags", "$$ROOT") in fast.tag_keys
    assert "$ground_truth.label" in set(fast.labels)


def test_several_sources_and_kinds(odd, monkeypatch):
    monkeypatch.setattr(reader, "RANGE_SIZE", 17)
    assert_same(
        odd, "ground_truth", "predictions", ["prime_tags", "tag_list", "weather"], connections=2
    )


def test_views_split_and_unsplit(planted, monkeypatch):
    monkeypatch.setattr(reader, "RANGE_SIZE", 17)
    filtered = planted.filter_labels("prime_tags", F("label") != "snow").match(
        F("ground_truth.label") == "cat"
    )
    assert reader.splittable(filtered)
    assert_same(filtered, "ground_truth", "predictions", "prime_tags", connections=4)
    limited = planted.sort_by("filepath", reverse=True).limit(200)
    assert not reader.splittable(limited)
    assert_same(limited, "ground_truth", "predictions", "objects", connections=4)
    assert_same(planted, "ground_truth", "predictions", "tag_list", connections=2)


def test_same_errors_as_the_values_read(planted):
    with pytest.raises(ValueError, match="empty"):
        reader.read_inputs_fast(
            planted.match(F("filepath") == "nope"), "ground_truth", "predictions", "prime_tags"
        )
    with pytest.raises(ValueError, match="does not exist"):
        reader.read_inputs_fast(planted, "nope", "predictions", "prime_tags")
