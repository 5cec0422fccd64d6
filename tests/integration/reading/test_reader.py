"""The fast reader gives what ``read_inputs`` gives (rows aligned by sample id)."""

import functools

import numpy as np
import pytest

import fiftyone as fo
from fiftyone import ViewField as F

from fiftyone_prime.integration.reading import fields as fpf
from fiftyone_prime.integration.reading import reader
from fiftyone_prime.integration.reading.bson_columns import ColumnReader
from tests.integration.planted import template


def _ids_of(samples, inputs_slow, label_field="ground_truth", pred_field="predictions"):
    """The used samples' ids, in ``read_inputs`` row order, as bytes."""
    ids, gt, pr = samples.values(["id", f"{label_field}.label", f"{pred_field}.label"])
    return [bytes.fromhex(i) for i, g, p in zip(ids, gt, pr) if g is not None and p is not None]


def assert_same(samples, label_field, pred_field, tags_field, **kwargs):
    slow = fpf.read_inputs(samples, label_field, pred_field, tags_field)
    fast = reader.read_inputs_fast(samples, label_field, pred_field, tags_field, **kwargs)
    assert fast.tag_keys == slow.tag_keys
    assert fast.num_samples == slow.num_samples
    assert fast.num_missing_label == slow.num_missing_label
    assert fast.num_missing_prediction == slow.num_missing_prediction
    slow_ids = _ids_of(samples, slow, label_field, pred_field)
    fast_ids = [row.tobytes() for row in fast.extra["_id"]]
    assert sorted(slow_ids) == sorted(fast_ids)
    row_of = {b: i for i, b in enumerate(fast_ids)}
    order = np.array([row_of[b] for b in slow_ids], dtype=np.int64)
    assert (fast.tags[order] != slow.tags).nnz == 0
    assert fast.labels[order].tolist() == slow.labels.tolist()
    assert fast.correct[order].tolist() == slow.correct.tolist()
    assert [s.field for s in fast.sources] == [s.field for s in slow.sources]
    codes = fast.group_codes
    assert codes is not None  # read by the column kernel, not the values() fallback
    assert fast.labels.tolist() == [codes.labels[c] for c in codes.codes]
    assert np.all(np.diff(codes.codes) >= 0)  # rows sorted by class
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


def test_tables_and_arrays_grow_from_tiny(odd, monkeypatch):
    """Every array and hash table starts at two entries, so each grows many
    times mid-batch; the read is still exact."""
    monkeypatch.setattr(reader, "ColumnReader", functools.partial(ColumnReader, rows=2, distinct=2))
    assert_same(odd, "ground_truth", "predictions", ["prime_tags", "tag_list"], connections=1)


@pytest.fixture
def wide(make_dataset):
    """Unicode and look-alike names, repeats within a sample, 3,000 distinct tags."""
    return make_dataset(like=template("reader-wide", _add_wide))


def _add_wide(ds):
    classes = ["café", "cafe\u0301", "Ünïcode 🐱", "", "a\x00b"]
    rng = np.random.default_rng(0)
    samples = []
    for i in range(300):
        tags = [f"t{j}-é" for j in rng.choice(3000, 12)] + ["dup", "dup"]
        samples.append(
            fo.Sample(
                filepath=f"/nonexistent/{i}.jpg",
                ground_truth=fo.Classification(label=classes[i % 5]),
                predictions=fo.Classification(label=classes[(i // 2) % 5]),
                prime_tags=fo.Classifications(
                    classifications=[fo.Classification(label=t) for t in tags]
                ),
                objects=fo.Detections(
                    detections=[fo.Detection(label=t, bounding_box=[0, 0, 1, 1]) for t in tags[:3]]
                ),
            )
        )
    ds.add_samples(samples)


def test_unicode_repeats_and_many_distinct_tags(wide, monkeypatch):
    monkeypatch.setattr(reader, "RANGE_SIZE", 40)
    fast = assert_same(
        wide, "ground_truth", "predictions", ["prime_tags", "objects"], connections=3
    )
    assert set(fast.group_codes.labels) == {"café", "cafe\u0301", "Ünïcode 🐱", "", "a\x00b"}
    assert fast.tags.shape[1] > 2000


def test_labels_of_another_type_take_the_values_read_and_its_errors(odd):
    # Written past FiftyOne's validation, as another tool could.
    odd._sample_collection.update_many({}, {"$set": {"weather.label": 7}})  # every label an int
    fast = reader.read_inputs_fast(odd, "ground_truth", "predictions", ["prime_tags", "weather"])
    slow = fpf.read_inputs(odd, "ground_truth", "predictions", ["prime_tags", "weather"])
    assert fast.group_codes is None and fast.tag_keys == slow.tag_keys
    first = odd._sample_collection.find_one({"ground_truth": {"$ne": None}})
    odd._sample_collection.update_one(
        {"_id": first["_id"]}, {"$set": {"ground_truth.label": 3}}
    )  # an int among strings
    with pytest.raises(TypeError, match="several types") as fast_error:
        reader.read_inputs_fast(odd, "ground_truth", "predictions", "prime_tags")
    with pytest.raises(TypeError, match="several types") as slow_error:
        fpf.read_inputs(odd, "ground_truth", "predictions", "prime_tags")
    assert str(fast_error.value) == str(slow_error.value)


def test_a_bare_string_in_a_list_field_is_refused_as_by_values(odd):
    used = {f: {"$ne": None} for f in ("tag_list", "ground_truth", "predictions")}
    first = odd._sample_collection.find_one(used)
    odd._sample_collection.update_one({"_id": first["_id"]}, {"$set": {"tag_list": "night"}})
    with pytest.raises(ValueError, match="bare string"):
        reader.read_inputs_fast(odd, "ground_truth", "predictions", "tag_list")


def test_a_second_models_labels_are_read_as_values_reads_them(odd, monkeypatch):
    monkeypatch.setattr(reader, "RANGE_SIZE", 17)
    labels = odd.values("predictions.label")
    odd.set_values(
        "baseline",
        [None if i % 7 == 0 else fo.Classification(label=x or "cat") for i, x in enumerate(labels)],
    )
    path = "baseline.label"
    slow = fpf.read_inputs(odd, "ground_truth", "predictions", "prime_tags", extra_paths=[path])
    fast = reader.read_inputs_fast(
        odd, "ground_truth", "predictions", "prime_tags", baseline_field="baseline", connections=2
    )
    assert fast.group_codes is not None
    slow_ids = _ids_of(odd, slow)
    row_of = {row.tobytes(): i for i, row in enumerate(fast.extra["_id"])}
    order = np.array([row_of[b] for b in slow_ids], dtype=np.int64)
    assert fast.extra[path][order].tolist() == slow.extra[path].tolist()
    assert None in slow.extra[path].tolist()


def test_nested_fields_are_read_where_they_are_not_at_a_top_level_namesake(make_dataset):
    """``models.gt`` is read at ``models.gt``, not at a top-level ``gt``."""
    ds = make_dataset()
    samples = []
    for i in range(60):
        s = fo.Sample(filepath=f"/nonexistent/{i}.jpg")
        s["models"] = fo.DynamicEmbeddedDocument(
            gt=fo.Classification(label="cat" if i % 2 else "dog"),
            pr=fo.Classification(label="cat" if i % 3 else "dog"),
            tl=fo.Classifications(classifications=[fo.Classification(label=f"n{i % 4}")]),
        )
        s["gt"] = fo.Classification(label="decoy")  # top-level namesakes
        s["pr"] = fo.Classification(label="decoy")
        s["tl"] = fo.Classifications(classifications=[fo.Classification(label="top_tag")])
        samples.append(s)
    ds.add_samples(samples)
    ds.add_dynamic_sample_fields()
    fast = assert_same(ds, "models.gt", "models.pr", "models.tl")
    assert set(fast.group_codes.labels) == {"cat", "dog"}
    assert {k[1] for k in fast.tag_keys} == {"n0", "n1", "n2", "n3"}


@pytest.mark.parametrize("how", ["fast", "values", "cached", "regressions"])
def test_a_search_resolves_its_tag_fields_once(planted, monkeypatch, how):
    """Each tag field is checked once per search, whichever reader serves it
    (the fast one, its values() fallback, the input cache) and however many
    views are saved (issue 29: it was resolved two or three times, and once
    more per saved view of a regression run)."""
    import fiftyone_prime as fp

    resolved = []
    original = fpf.tag_source

    def counting(samples, name):
        resolved.append(name)
        return original(samples, name)

    if how == "regressions":
        planted.clone_sample_field("predictions", "predictions_v2")
        planted.clone_sample_field("ground_truth", "predictions_v1")
    if how == "cached":
        fp.find_failure_modes(planted, run_key="first", alpha=None)
    if how == "values":  # the kernel refuses the data: the values() read serves it
        monkeypatch.setattr(ColumnReader, "feed", lambda self, batch: False)
    monkeypatch.setattr(fpf, "tag_source", counting)
    if how == "regressions":
        results = fp.find_regressions(planted, tags_field=["prime_tags"], alpha=None, min_drop=0.1)
    else:
        results = fp.find_failure_modes(planted, tags_field=["prime_tags"], alpha=None)
    assert len(results.view_ids) >= 1  # views were saved with the same sources
    assert resolved == ["prime_tags"]
