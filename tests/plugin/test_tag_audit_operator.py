"""The evaluate_tags operator, through FiftyOne's operator machinery."""

import fiftyone.operators as foo

import fiftyone_prime as fp
from tests.plugin.test_operators import PLUGIN, resolve_inputs

EVALUATE = f"{PLUGIN}/evaluate_tags"


def test_form_offers_fitting_fields_and_checks_the_target(planted_audit):
    props = resolve_inputs(EVALUATE, planted_audit, {})
    assert props["tags_field"].type.values == ["prime_tags"]
    assert props["reference_field"].type.values == ["ground_truth", "prime_tags"]
    assert props["reference_field"].default == "ground_truth"
    props = resolve_inputs(EVALUATE, planted_audit, {"target_precision": 1.5})
    assert props["target_precision"].invalid and "1.5" in props["target_precision"].error_message


def test_execute_stores_the_audit_and_returns_its_table(planted_audit):
    result = foo.execute_operator(
        EVALUATE,
        dict(view=planted_audit.view()),
        params={"tags_field": "prime_tags", "reference_field": "ground_truth", "audit_key": "ops"},
    )
    out = result.result
    assert out["audit_key"] == "ops" and out["num_evaluated"] == 100 and out["num_tags"] == 2
    dog = next(r for r in out["tags"] if r["tag"] == "dog")
    assert dog["precision"] == 0.75 and dog["classes"] == "dog" and dog["support"] == 40
    assert fp.load_tag_audit(planted_audit, "ops").table()[0]["tag"] == "dog"
