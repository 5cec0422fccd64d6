"""Issue 34 item 7: the input cache stamps folders with the database's
identity, a fresh read replaces a stale entry, and a tampered file is not
trusted. Each test fails on the code before the fix."""

import numpy as np

import fiftyone as fo
import fiftyone.core.odm as foo

from fiftyone_prime.integration.reading import input_cache as ic
from tests.integration.reading.test_input_cache import load, private_cache  # noqa: F401 (autouse)


def test_folders_are_stamped_with_the_database_not_its_address(planted, make_dataset, monkeypatch):
    from tests.integration.planted import add_planted

    other = add_planted(make_dataset())
    load(other)
    gone = ic.cache_dir() / str(other._doc.id)
    other.delete()
    # The same database reached by another address (localhost vs 127.0.0.1, another port)
    uri = fo.config.database_uri or "mongodb://localhost:27017"
    monkeypatch.setattr(fo.config, "database_uri", uri.replace("127.0.0.1", "localhost") + "/?x=1")
    load(planted)
    assert not gone.exists()  # its folder is known to be this database's


def test_a_fresh_read_replaces_a_stale_entry(planted):
    first, _ = load(planted)
    sample_id = planted.first().id
    # A write FiftyOne's check cannot see: a raw update that keeps last_modified_at
    collection = planted._sample_collection
    doc = collection.find_one({"_id": planted.first()._id})
    label = doc["predictions"]["label"]
    flipped = "dog" if label == "cat" else "cat"
    collection.update_one({"_id": doc["_id"]}, {"$set": {"predictions.label": flipped}})
    _stale, how = load(planted)
    assert how.reused  # the documented limit: the check cannot see it
    fresh, how = load(planted, reuse=False)
    assert how.source == "read"
    row = list(map(bytes, fresh.extra["_id"])).index(bytes.fromhex(sample_id))
    assert fresh.correct[row] != first.correct[row]
    ic._memory.clear()  # a new process, e.g. the panel: the entry was replaced
    again, how = load(planted)
    assert how.source == "disk" and again.correct[row] == fresh.correct[row]


def test_a_tampered_cache_file_is_read_afresh(planted):
    first, how = load(planted)
    ic._memory.clear()
    with np.load(how.path) as z:
        arrays = {name: z[name] for name in z.files}
    arrays["correct"] = ~arrays["correct"]  # a valid file with other contents
    with open(how.path, "wb") as f:
        np.savez(f, **arrays)
    again, how = load(planted)
    assert how.source == "read" and "checksum" in how.reason
    assert again.correct.tolist() == first.correct.tolist()


def test_the_database_identity_is_its_config_document():
    config = foo.get_db_conn().config.find_one({}, sort=[("_id", 1)])
    assert ic._database() == f"db:{config['_id']} {foo.get_db_conn().name}"
