"""Evaluation units read through the fast reader and the input cache.

Each read is compared with ``read_units(..., fast=False)`` (the reader with
``values()``), unit by unit: the fast reader sorts its rows by group, so
units are compared as multisets of (sample, group, right, tags).
"""

import numpy as np
import pytest

import fiftyone as fo
from fiftyone import ViewField as F

from fiftyone_prime.integration.reading import input_cache as ic
from fiftyone_prime.integration.reading import reader
from fiftyone_prime.integration.reading import units as fpu
from tests.integration.failure_modes import test_evaluation_units as evaluation_tests

# The evaluated datasets of the evaluation-unit tests
gt_dataset = evaluation_tests.gt_dataset
pred_dataset = evaluation_tests.pred_dataset
evaluated_planted = evaluation_tests.evaluated_planted


def canonical(inputs):
    tags = inputs.tags.tocsr()
    rows = sorted(
        (
            int(inputs.sample_index[r]),
            str(inputs.labels[r]),
            bool(inputs.correct[r]),
            tuple(inputs.tag_keys[j] for j in tags.indices[tags.indptr[r] : tags.indptr[r + 1]]),
        )
        for r in range(inputs.num_used)
    )
    counts = (
        inputs.num_samples,
        inputs.num_units,
        inputs.num_missing_label,
        inputs.num_missing_prediction,
        inputs.num_crowd,
    )
    return rows, list(inputs.tag_keys), counts, dict(inputs.kinds)


def read_both(samples, tags_field, monkeypatch=None, **units):
    spec = fpu.resolve_units(samples, **units)
    sources = fpu.unit_tag_sources(samples, spec, tags_field)
    calls = []
    original = reader.read_columns
    if monkeypatch is not None:
        monkeypatch.setattr(
            reader, "read_columns", lambda *a, **k: calls.append(1) or original(*a, **k)
        )
    fast = fpu.read_units(samples, spec, sources)
    slow = fpu.read_units(samples, spec, sources, fast=False)
    return fast, slow, calls


TAGS = [
    "ground_truth.detections.attrs",
    ["ground_truth.detections.attrs", "image_tags"],
    ["ground_truth.detections.weather", "ground_truth.detections.snowy", "image_blur"],
]


@pytest.mark.parametrize("tags_field", TAGS)
@pytest.mark.parametrize("range_size", [None, 7])  # 7: the view read in many _id ranges
def test_ground_truth_objects_read_fast_as_with_values(
    gt_dataset, tags_field, range_size, monkeypatch
):
    if range_size:
        monkeypatch.setattr(reader, "RANGE_SIZE", range_size)
    fast, slow, calls = read_both(gt_dataset, tags_field, monkeypatch, eval_key="eval")
    assert calls and fast.group_codes is not None  # the fast reader read them
    assert canonical(fast) == canonical(slow)
    assert fast.num_crowd == 1


def test_predicted_objects_and_a_view_read_fast_as_with_values(pred_dataset, monkeypatch):
    view = pred_dataset.match(F("image_tags").contains("snow")).filter_labels(
        "predictions", F("confidence") > -1, only_matches=False
    )
    for samples in (pred_dataset, view):
        fast, slow, calls = read_both(
            samples, ["predictions.detections.attrs", "image_tags"], monkeypatch,
            eval_key="eval", units="pred",
        )  # fmt: skip
        assert calls and fast.group_codes is not None
        assert canonical(fast) == canonical(slow)


def test_outcomes_given_as_fields_and_expressions_read_fast(gt_dataset, monkeypatch):
    gt_dataset.set_values(
        "ground_truth.detections.is_right",
        [[d.eval == "tp" for d in dets.detections] for dets in gt_dataset.values("ground_truth")],
    )
    for correct in ("ground_truth.detections.is_right", F("eval") == "tp"):
        fast, slow, calls = read_both(
            gt_dataset, "ground_truth.detections.attrs", monkeypatch,
            correct_field=correct, label_field="ground_truth",
        )  # fmt: skip
        assert calls and fast.group_codes is not None
        assert canonical(fast) == canonical(slow)


def test_sample_units_of_a_classification_evaluation_read_fast(evaluated_planted, monkeypatch):
    fast, slow, calls = read_both(evaluated_planted, "prime_tags", monkeypatch, eval_key="eval")
    assert calls and fast.group_codes is not None
    assert canonical(fast) == canonical(slow)
    assert isinstance(fast.labels[0], str)


def test_values_of_another_shape_are_read_with_values(gt_dataset):
    gt_dataset.add_sample(
        fo.Sample(
            filepath="/nonexistent/odd.jpg",
            ground_truth=fo.Detections(
                detections=[fo.Detection(label="cat", eval="tp", attrs=["snow", 3])]
            ),
        )
    )
    spec = fpu.resolve_units(gt_dataset, eval_key="eval")
    sources = fpu.unit_tag_sources(gt_dataset, spec, "ground_truth.detections.attrs")
    with pytest.raises(TypeError, match="not strings"):  # values() names the bad value
        fpu.read_units(gt_dataset, spec, sources)


def test_a_re_search_of_an_evaluation_run_reads_nothing_until_a_sample_changes(
    gt_dataset, monkeypatch, tmp_path
):
    import fiftyone_prime as fp

    monkeypatch.setenv("FIFTYONE_PRIME_CACHE_DIR", str(tmp_path))
    reads = []
    for module, name in ((fpu, "read_units"), (reader, "read_columns"), (fpu, "_read_objects")):
        original = getattr(module, name)
        monkeypatch.setattr(
            module, name, lambda *a, _o=original, _n=name, **k: reads.append(_n) or _o(*a, **k)
        )
    query = dict(eval_key="eval", tags_field="ground_truth.detections.attrs", save_views=False)
    first = fp.find_failure_modes(gt_dataset, run_key="a", **query)
    assert reads == ["read_units", "read_columns"]
    ic._memory.clear()  # from the file on disk
    again = fp.find_failure_modes(gt_dataset, run_key="b", **query)
    assert reads == ["read_units", "read_columns"]  # nothing read from MongoDB
    assert [m.tags for m in again.failure_modes] == [m.tags for m in first.failure_modes]
    assert (again.num_used, again.num_crowd, again.num_units) == (
        first.num_used, first.num_crowd, first.num_units,
    )  # fmt: skip

    # A changed sample invalidates the entry: its objects are read afresh
    sample = gt_dataset.first()
    for det in sample.ground_truth.detections:
        det["eval"] = "fn" if det["eval"] == "tp" else "tp"
    sample.save()
    changed = fp.find_failure_modes(gt_dataset, run_key="c", **query)
    assert reads == ["read_units", "read_columns"] * 2
    flipped = len(sample.ground_truth.detections)
    right_before = sum(g["accuracy"] * g["size"] for g in first.groups.values())
    right_after = sum(g["accuracy"] * g["size"] for g in changed.groups.values())
    assert abs(abs(right_after - right_before) - flipped) <= flipped  # read afresh
    assert changed.groups != first.groups


def test_the_cache_keeps_what_the_units_read(gt_dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("FIFTYONE_PRIME_CACHE_DIR", str(tmp_path))
    spec = fpu.resolve_units(gt_dataset, eval_key="eval")
    sources = fpu.unit_tag_sources(gt_dataset, spec, ["ground_truth.detections.attrs"])
    read, how = ic.load_unit_inputs(gt_dataset, spec, sources)
    assert how.source == "read"
    ic._memory.clear()
    cached, how = ic.load_unit_inputs(gt_dataset, spec, sources)
    assert how.source == "disk"
    assert canonical(cached) == canonical(read)
    assert cached.spec == spec and cached.sources == sources
    assert np.array_equal(cached.extra["_id"], read.extra["_id"])
    # Another unit kind of the same fields is another entry
    pred_spec = fpu.resolve_units(gt_dataset, eval_key="eval", units="pred")
    _, how = ic.load_unit_inputs(
        gt_dataset, pred_spec, fpu.unit_tag_sources(gt_dataset, pred_spec, "image_tags")
    )
    assert how.source == "read"
