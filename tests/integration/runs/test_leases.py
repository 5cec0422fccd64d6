"""The lease that makes one writer per run, and the explicit repair of older
damage (issue 22)."""

import os
import signal

import pytest
from bson import ObjectId

import fiftyone as fo
import fiftyone.core.odm as foo

import fiftyone_prime as fp
from fiftyone_prime.integration.runs import leases, view_list
from tests.integration.hostile_data import assert_consistent, start_python, wait_for_file

HOLD = """
import sys, time
import fiftyone as fo
from fiftyone_prime.integration import leases
ds = fo.load_dataset(sys.argv[1])
with leases.run_lease(ds, "prime", "search"):
    open(sys.argv[2], "w").close()
    time.sleep(600)
"""


def assert_busy(planted, monkeypatch, pid):
    """A second writer of the run waits briefly, then gets one line naming
    the holder's process ``pid`` and its action."""
    monkeypatch.setattr(leases, "DEFAULT_WAIT", 0.1)
    with pytest.raises(fp.RunBusyError) as error:
        fp.delete_failure_modes(planted, "prime")
    text = str(error.value)
    assert f":{pid}" in text and "search" in text and len(text.splitlines()) == 1
    with pytest.raises(fp.RunBusyError):
        fp.find_failure_modes(planted, overwrite=True)


def test_a_writer_in_another_thread_gets_a_clear_error_naming_the_holder(planted, monkeypatch):
    """The fast form of the next test: the holder is a thread of this process."""
    import threading

    fp.find_failure_modes(planted)
    held, done = threading.Event(), threading.Event()

    def hold():
        with leases.run_lease(planted, "prime", "search"):
            held.set()
            done.wait(60)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(60)
        assert_busy(planted, monkeypatch, os.getpid())
    finally:
        done.set()
        holder.join()
    fp.delete_failure_modes(planted, "prime")
    assert planted.list_runs() == [] and planted.list_saved_views() == []


@pytest.mark.slow  # a subprocess holds the lease (the fast form above uses a thread)
def test_a_second_writer_gets_a_clear_error_naming_the_holder(planted, tmp_path, monkeypatch):
    fp.find_failure_modes(planted)
    holder = start_python(HOLD, tmp_path / "hold.log", planted.name, tmp_path / "held")
    try:
        wait_for_file(tmp_path / "held", holder)
        assert_busy(planted, monkeypatch, holder.pid)
        # a killed writer's lease expires: its process is gone
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        fp.delete_failure_modes(planted, "prime")
        assert planted.list_runs() == [] and planted.list_saved_views() == []
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_a_silent_lease_expires_after_its_ttl(planted, monkeypatch):
    import datetime

    lease = leases.acquire(planted, "prime", "search")
    lease._stop.set()  # no more heartbeats, as if the holder hung
    coll = foo.get_db_conn()[leases.COLLECTION]
    old = datetime.datetime.utcnow() - datetime.timedelta(seconds=leases.TTL + 1)
    coll.update_one({"_id": lease.id}, {"$set": {"heartbeat_at": old, "holder": "otherhost:1"}})
    leases._held_leases().pop(lease.id)
    taken = leases.acquire(planted, "prime", "delete", wait=0)
    assert taken.token != lease.token
    leases.release(taken)
    assert coll.count_documents({"_id": lease.id}) == 0


def test_leases_are_reentrant_in_a_thread(planted):
    with leases.run_lease(planted, "prime", "search") as outer:
        with leases.run_lease(planted, "prime", "delete") as inner:
            assert inner is outer
        assert leases.holder_of(planted, "prime") is not None
    assert leases.holder_of(planted, "prime") is None


def test_repair_handles_older_damage_and_deleted_datasets(planted, make_dataset):
    results = fp.find_failure_modes(planted)
    planted.save_view("mine", planted.limit(2))
    db = foo.get_db_conn()
    owned = view_list.oids(results.view_ids)
    # older damage: the run's views dropped from the list, a dangling
    # reference, and an unlisted document no run owns
    view_list.remove(planted._doc.id, owned)
    dangling = ObjectId()
    db.datasets.update_one({"_id": planted._doc.id}, {"$push": {"saved_views": dangling}})
    stray = db.views.find_one({"_id": owned[0]})
    stray.update(_id=ObjectId(), name="stray", slug="stray")
    db.views.insert_one(stray)
    import fiftyone_prime.integration.runs.repair as repair

    repair.MIN_AGE, old_min_age = -1.0, repair.MIN_AGE
    try:
        out = fp.repair_failure_mode_views(planted)
    finally:
        repair.MIN_AGE = old_min_age
    assert out["relisted"] == len(owned)
    assert out["unlisted_dangling"] == 1
    assert out["deleted_stranded"] == 1
    assert_consistent(planted, user_views=["mine"])
    assert len(fp.load_failure_modes(planted, "prime").load_view(0)) > 0

    # documents left behind by fo.delete_dataset (it deletes listed views only)
    other = make_dataset()
    other.add_samples([fo.Sample(filepath="/nonexistent/a.png")])
    other.save_view("left", other.limit(1))
    other_id = other._doc.id
    view_list.remove(other_id, view_list.listed_ids(other_id))
    other.reload()
    fo.delete_dataset(other.name)
    assert db.views.count_documents({"_dataset_id": other_id}) == 1
    assert fp.repair_failure_mode_views(None)["deleted_of_deleted_datasets"] >= 1
    assert db.views.count_documents({"_dataset_id": other_id}) == 0
