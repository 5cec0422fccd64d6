"""Raw BSON batches read by command: the same bytes as pymongo's raw batch cursor."""

import bson
import pytest

from fiftyone_prime.integration.reading import raw_batches as rb

PIPELINE = [{"$project": {"_id": True, "g": "$ground_truth.label", "t0": "$prime_tags.labels"}}]


def ours(collection, pipeline, batch_size):
    return list(rb.aggregate_raw_batches(collection, pipeline, batch_size))


def pymongos(collection, pipeline, batch_size):
    with collection.aggregate_raw_batches(pipeline, batchSize=batch_size) as cursor:
        return list(cursor)


@pytest.mark.parametrize("batch_size", [1, 7, 8192])
def test_batches_hold_the_same_documents_as_pymongos(planted, batch_size):
    collection = planted._sample_collection
    mine = ours(collection, PIPELINE, batch_size)
    theirs = pymongos(collection, PIPELINE, batch_size)
    assert b"".join(mine) == b"".join(theirs) and len(b"".join(mine)) > 0
    assert len(bson.decode_all(b"".join(mine))) == len(planted)


def test_an_empty_result_is_one_empty_batch(planted):
    pipeline = [{"$match": {"filepath": "nothing"}}, *PIPELINE]
    assert ours(planted._sample_collection, pipeline, 10) == [b""]


def test_a_cursor_left_early_is_killed(planted):
    collection = planted._sample_collection
    db = collection.database

    def open_cursors():
        return db.command("serverStatus")["metrics"]["cursor"]["open"]["total"]

    before = open_cursors()
    batches = rb.aggregate_raw_batches(collection, PIPELINE, 5)
    next(batches)
    assert open_cursors() == before + 1
    batches.close()
    assert open_cursors() == before


def test_the_batch_is_cut_out_without_pymongos_helper(planted, monkeypatch):
    collection = planted._sample_collection
    with_helper = ours(collection, PIPELINE, 50)
    monkeypatch.delattr(bson, "_array_of_documents_to_buffer")
    assert ours(collection, PIPELINE, 50) == with_helper


def test_a_reply_with_other_elements_is_decoded():
    docs = [{"_id": 1, "g": "cat"}, {"_id": 2, "g": "dog"}]
    cursor = bson.encode({"id": 0, "ns": "db.c", "partial": True, "firstBatch": docs})
    cursor_id, batch = rb._cursor_batch(cursor)
    assert cursor_id == 0 and bson.decode_all(batch) == docs


def test_a_failing_pipeline_raises_operation_failure(planted):
    from pymongo.errors import OperationFailure

    with pytest.raises(OperationFailure):
        ours(planted._sample_collection, [{"$project": {"x": {"$concat": [1, "a"]}}}], 10)
