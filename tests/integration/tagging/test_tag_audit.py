"""fp.evaluate_tags on planted datasets: exact precision and recall, and
suggested thresholds that hold on held-out planted data."""

import numpy as np
import pytest

import fiftyone as fo

import fiftyone_prime as fp
from fiftyone_prime.integration.tagging.tag_audit import suggest_threshold, wilson_lower_bound
from tests.integration.planted import tag_confidences as tags


def test_exact_precision_recall_and_support(planted_audit):
    audit = fp.evaluate_tags(planted_audit, mapping={"puppy": "dog"})
    rows = {r["tag"]: r for r in audit.table()}
    assert set(rows) == {"dog", "couch", "puppy"}
    dog = rows["dog"]
    assert (dog["support"], dog["num_tagged"], dog["true_positives"]) == (40, 40, 30)
    assert dog["precision"] == 0.75 and dog["recall"] == 0.75
    couch = rows["couch"]
    assert couch["classes"] == ["sofa"]  # through the alias couch|sofa
    assert (couch["support"], couch["precision"], couch["recall"]) == (30, 1.0, 1.0)
    puppy = rows["puppy"]
    assert (puppy["support"], puppy["precision"], puppy["recall"]) == (40, 1.0, 0.25)
    # dog at 0.9 keeps the 30 true dogs only: precision 1, recall 0.75.
    assert dog["suggested_threshold"] == 0.9
    assert (dog["precision_at_threshold"], dog["recall_at_threshold"]) == (1.0, 0.75)
    assert [r["tag"] for r in audit.table()] == ["dog", "puppy", "couch"]  # by support
    assert audit.unmatched_tags == ["grass"] and audit.classes_without_tag == ["cat"]
    assert (audit.num_samples, audit.num_evaluated) == (110, 100)
    assert (audit.num_untagged, audit.num_without_reference) == (5, 5)
    # puppy is right 10 times out of 10, but the 95% lower bound of 10/10 is
    # 0.79 < 0.9: too few images to promise the precision. 30/30 give 0.92.
    assert puppy["suggested_threshold"] is None
    assert audit.thresholds() == {"dog": 0.9, "couch": 0.8}
    assert audit.thresholds(min_support=35) == {"dog": 0.9}
    text = audit.summary()
    assert "dog" in text and "0.750" in text and "cat" in text


def test_the_audit_is_a_run(planted_audit):
    fp.evaluate_tags(planted_audit, audit_key="audit")
    assert fp.list_tag_audits(planted_audit) == ["audit"]
    loaded = fp.load_tag_audit(fo.load_dataset(planted_audit.name), "audit")
    assert isinstance(loaded, fp.TagAuditResults)
    assert loaded.table() == fp.evaluate_tags(planted_audit, audit_key=None).table()
    with pytest.raises(ValueError, match=r"already has a run with key 'audit'.*overwrite=True"):
        fp.evaluate_tags(planted_audit, audit_key="audit", overwrite=False)
    fp.evaluate_tags(planted_audit, audit_key="audit", target_precision=0.5)
    assert fp.load_tag_audit(planted_audit, "audit").config.target_precision == 0.5
    planted_audit.delete_run("audit")
    assert fp.list_tag_audits(planted_audit) == []


def test_another_kind_of_run_is_never_overwritten(planted_audit):
    planted_audit.add_sample_field(
        "predictions", fo.EmbeddedDocumentField, embedded_doc_type=fo.Classification
    )
    planted_audit.set_values("predictions", [fo.Classification(label="dog")] * len(planted_audit))
    fp.find_failure_modes(planted_audit, run_key="prime", min_size=1000, save_views=False)
    with pytest.raises(ValueError, match="is not a tag audit"):
        fp.evaluate_tags(planted_audit, audit_key="prime")
    assert "prime" in planted_audit.list_runs()


def test_detections_count_the_classes_present(make_dataset):
    dataset = make_dataset()
    box = [0.1, 0.1, 0.2, 0.2]
    dets = [["dog", "car"], ["car"], [], ["dog"]]
    tagged = [[("dog", 1.0)], [("dog", 1.0), ("car", 1.0)], [("car", 1.0)], []]
    dataset.add_samples(
        [
            fo.Sample(
                filepath=f"/d/{i}.jpg",
                ground_truth=fo.Detections(
                    detections=[fo.Detection(label=d, bounding_box=box) for d in ds]
                ),
                prime_tags=tags(*t),
            )
            for i, (ds, t) in enumerate(zip(dets, tagged))
        ]
    )
    rows = {r["tag"]: r for r in fp.evaluate_tags(dataset, audit_key=None).table()}
    assert (rows["dog"]["support"], rows["dog"]["precision"], rows["dog"]["recall"]) == (
        2,
        0.5,
        0.5,
    )
    assert (rows["car"]["support"], rows["car"]["precision"], rows["car"]["recall"]) == (
        2,
        0.5,
        0.5,
    )


def planted_scores(n, seed, separation):
    """n images; a third show each class; every image carries every tag with a
    confidence drawn from N(separation, 1) when it shows the class, else N(0, 1)."""
    rng = np.random.default_rng(seed)
    classes = rng.choice(["dog", "car", "tree"], size=n)
    conf = {
        t: np.where(classes == t, rng.normal(separation[t], 1.0, n), rng.normal(0.0, 1.0, n))
        for t in separation
    }
    return classes, conf


@pytest.mark.slow  # a 3,000-sample dataset; the exact tests above and test_threshold_helpers are fast
def test_suggested_thresholds_reach_the_precision_on_held_out_data(make_dataset):
    separation = {"dog": 3.0, "car": 2.0, "tree": 1.0}
    classes, conf = planted_scores(3000, 0, separation)
    dataset = make_dataset()
    dataset.add_samples(
        [
            fo.Sample(
                filepath=f"/p/{i}.jpg",
                ground_truth=fo.Classification(label=c),
                prime_tags=tags(*[(t, float(conf[t][i])) for t in separation]),
            )
            for i, c in enumerate(classes)
        ]
    )
    for target in (0.8, 0.9):
        audit = fp.evaluate_tags(dataset, target_precision=target, audit_key=None)
        thresholds = audit.thresholds()
        held_classes, held_conf = planted_scores(20000, 1, separation)
        assert set(thresholds) >= {"dog", "car"}
        for tag, thr in thresholds.items():
            kept = held_conf[tag] >= thr
            precision = float((held_classes[kept] == tag).mean())
            assert precision >= target, (tag, target, thr, precision)


def test_threshold_helpers():
    # Wilson bounds: 0 without trials, below the proportion, rising with n.
    lb = wilson_lower_bound(np.array([0, 9, 90]), np.array([0, 10, 100]), 0.95)
    assert lb[0] == 0.0 and lb[1] < 0.9 and lb[1] < lb[2] < 0.9
    conf = np.array([0.9, 0.8, 0.8, 0.2])
    hit = np.array([True, True, True, False])
    s = suggest_threshold(conf, hit, 3, 0.8, 0.5)  # confidence 0.5: the plain precision
    assert s["threshold"] == 0.8 and s["num_kept"] == 3 and s["recall"] == 1.0
    assert suggest_threshold(conf, ~hit, 1, 0.9) is None
    assert suggest_threshold(np.array([]), np.array([], bool), 0, 0.9) is None


def test_bad_arguments(planted_audit):
    with pytest.raises(ValueError, match="target_precision"):
        fp.evaluate_tags(planted_audit, target_precision=0)
    with pytest.raises(ValueError, match="no field 'nope'"):
        fp.evaluate_tags(planted_audit, reference_field="nope")
    with pytest.raises(TypeError, match="must be a Classifications field"):
        fp.evaluate_tags(planted_audit, tags_field="ground_truth")
    with pytest.raises(TypeError, match="must be a Classification, Classifications or Detections"):
        fp.evaluate_tags(planted_audit, reference_field="filepath")
