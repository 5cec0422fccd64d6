"""The tag form's "split into N delegated jobs" choice and the status and
re-queue operators, through FiftyOne's operator machinery."""

import fiftyone.operators as foo
from fiftyone.operators.delegated import DelegatedOperationService

import fiftyone_prime as fp
from fiftyone_prime.core.defaults import RUN_KEY, TAGS_FIELD
from tests.plugin.test_operators import PLUGIN, resolve_inputs

TAG = f"{PLUGIN}/tag_samples"


IMAGE_DATASET = {"size": 16, "count": 60}  # the conftest's image_dataset


def test_tag_form_offers_the_split_and_the_search_after(image_dataset):
    props = resolve_inputs(TAG, image_dataset, {"model": "properties"})
    assert props["num_shards"].default == 1 and "delegate" in props
    assert "search_after" not in props
    props = resolve_inputs(TAG, image_dataset, {"model": "properties", "num_shards": 3})
    assert "delegate" not in props and props["search_after"].default is False
    props = resolve_inputs(
        TAG, image_dataset, {"model": "properties", "num_shards": 3, "search_after": True}
    )
    assert props["run_key"].default == RUN_KEY and "metrics_after" not in props
    props = resolve_inputs(TAG, image_dataset, {"num_shards": 3, "search_after": True})
    assert "metrics_after" in props


def test_tag_operator_queues_the_split_job_and_status_reports_it(image_dataset):
    op = foo.get_operator(TAG)
    result = op(
        image_dataset, model="properties", num_shards=3, search_after=True, run_key="sharded"
    )
    assert not result.delegated and result.result["num_shards"] == 3
    service = DelegatedOperationService()
    queued = service.list_operations(
        operator=f"{PLUGIN}/tag_shard", dataset_name=image_dataset.name
    )
    assert len(queued) == 3

    props = resolve_inputs(f"{PLUGIN}/tagging_status", image_dataset, {})
    assert props["job_key"].default == TAGS_FIELD
    res = foo.execute_operator(
        f"{PLUGIN}/tagging_status",
        dict(view=image_dataset.view()),
        params={"job_key": TAGS_FIELD},
    )
    assert [r["state"] for r in res.result["parts"]] == ["queued"] * 3 + ["waiting"]

    service.execute_queued_operations(dataset_name=image_dataset.name)
    service.execute_queued_operations(dataset_name=image_dataset.name)
    status = fp.tagging_status(image_dataset)
    assert status.done, str(status)
    image_dataset.reload()
    assert "sharded" in image_dataset.list_runs()
    res = foo.execute_operator(
        f"{PLUGIN}/requeue_tagging",
        dict(view=image_dataset.view()),
        params={"job_key": TAGS_FIELD},
    )
    assert res.result["done"] is True
