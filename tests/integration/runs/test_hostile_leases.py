"""Issue 34 item 3: a writer that lost its lease stops and removes what it
wrote; a live local holder keeps its lease; a lease's TTL is bounded; users
can clear a lease; repair removes the unowned views a run wrote. Each test
fails on the code before the fix (the paused-process race itself is
``test_hostile_probe.py``)."""

import datetime
import socket
import subprocess
import sys

import pytest

import fiftyone.core.odm as foo

import fiftyone_prime as fp
from fiftyone_prime.integration.runs import leases, view_list
from fiftyone_prime.integration.runs import views as fpv


def _lease_doc(dataset, run_key, holder, age=3600.0, ttl=leases.TTL):
    old = datetime.datetime.utcnow() - datetime.timedelta(seconds=age)
    return dict(
        _id=leases.lease_id(dataset, run_key),
        token="theirs",
        holder=holder,
        action="search",
        dataset=dataset.name,
        run_key=run_key,
        acquired_at=old,
        heartbeat_at=old,
        ttl=ttl,
    )


@pytest.fixture
def lease_docs():
    coll = foo.get_db_conn()[leases.COLLECTION]
    written = []

    def put(doc):
        coll.insert_one(doc)
        written.append(doc["_id"])

    yield put
    coll.delete_many({"_id": {"$in": written}})


def test_a_writer_that_lost_its_lease_stops_and_removes_its_views(planted, monkeypatch):
    monkeypatch.setattr(view_list, "chunk_size", lambda n: 1)  # one view per chunk
    coll = foo.get_db_conn()[leases.COLLECTION]
    write = fpv._view_documents
    chunks = []

    def write_then_lose(*args, **kwargs):
        chunks.append(1)
        if len(chunks) == 1:  # another writer takes the lease after the first chunk
            coll.update_one({"_id": leases.lease_id(planted, "prime")}, {"$set": {"token": "b"}})
        return write(*args, **kwargs)

    monkeypatch.setattr(fpv, "_view_documents", write_then_lose)
    with pytest.raises(RuntimeError, match="another writer took over"):
        fp.find_failure_modes(planted, run_key="prime")
    assert len(chunks) == 1  # the second chunk was never written
    assert planted.list_saved_views() == []
    assert view_list.listed_ids(planted._doc.id) == []
    owned = fp.load_failure_modes(planted, "prime").view_ids
    assert view_list.existing_ids(planted._doc.id, owned) == set()
    coll.delete_one({"_id": leases.lease_id(planted, "prime")})


def test_a_live_local_holder_keeps_its_lease_whatever_its_heartbeat(planted, lease_docs):
    paused = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        holder = f"{socket.gethostname()}:{paused.pid}"
        lease_docs(_lease_doc(planted, "prime", holder, age=3600))
        with pytest.raises(fp.RunBusyError, match=f"process {holder}"):
            leases.acquire(planted, "prime", "search", wait=0)
    finally:
        paused.kill()
        paused.wait()
    taken = leases.acquire(planted, "prime", "search", wait=0)  # its process is gone
    leases.release(taken)


def test_a_huge_ttl_is_bounded(planted, lease_docs):
    lease_docs(_lease_doc(planted, "prime", "otherhost:1", age=3600, ttl=1e12))
    taken = leases.acquire(planted, "prime", "search", wait=0)
    assert taken.token != "theirs"
    leases.release(taken)


def test_users_can_clear_a_lease(planted, lease_docs):
    lease_docs(_lease_doc(planted, "prime", "otherhost:1", age=0))
    with pytest.raises(fp.RunBusyError):
        leases.acquire(planted, "prime", "search", wait=0)
    assert fp.clear_run_lease(planted, "prime")["holder"] == "otherhost:1"
    assert fp.clear_run_lease(planted, "prime") is None
    fp.find_failure_modes(planted, run_key="prime")  # not busy any more


def test_repair_removes_the_unowned_views_a_run_wrote(planted):
    fp.find_failure_modes(planted, run_key="prime")
    results = fp.load_failure_modes(planted, "prime")
    mode = results.failure_modes[0]
    # What a writer that lost its lease left: listed, named and described
    # like the run's views, owned by no run.
    [stray] = fpv.new_view_ids(1)
    view = planted.limit(3)
    fpv.save_views(planted, [(stray, "prime stray: x", view, fpv.view_description(mode, "prime"))])
    planted.save_view("prime mine", planted.limit(2), description="my own view")
    out = fp.repair_failure_mode_views(planted)
    assert out["deleted_unowned"] == 1 and out["unowned_listed"] == ["prime mine"]
    assert sorted(planted.list_saved_views()) == sorted(
        [m.view_name for m in results.failure_modes] + ["prime mine"]
    )
    assert view_list.dangling_ids(planted._doc.id) == []
