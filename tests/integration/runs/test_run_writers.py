"""One writer per run, and views that stay listed whoever else writes
(issue 22, findings 1, 2, 3 and 7), with real processes: a run deleted while
it saves, two overwrites of one key at once, FiftyOne's own ``save_view``
writing back a stale list in the middle of a run, and a long-lived process
that must not serve a run another process replaced."""

import pytest

import fiftyone as fo
import fiftyone.core.odm as foo

import fiftyone_prime as fp
from tests.integration.hostile_data import (
    MANY_MODES_SEARCH,
    assert_consistent,
    finish,
    many_modes_samples,
    start_python,
    wait_for_file,
)

pytestmark = pytest.mark.slow

HEADER = """
import os, sys, time
import fiftyone as fo
import fiftyone.core.odm as foo
import fiftyone_prime as fp
from tests.integration.hostile_data import MANY_MODES_SEARCH
ds = fo.load_dataset(sys.argv[1])
db = foo.get_db_conn()
"""

SEARCH = (
    HEADER
    + """
overwrite = len(sys.argv) > 3
open(sys.argv[2] + ".ready", "w").close()
while overwrite and not os.path.exists(sys.argv[3]):
    time.sleep(0.01)
r = fp.find_failure_modes(ds, overwrite=overwrite, progress=False, **MANY_MODES_SEARCH)
print("SAVED", len(r.view_ids))
"""
)

DELETE_WHILE_SAVING = (
    HEADER
    + """
open(sys.argv[2] + ".ready", "w").close()
while True:  # the run is stored and its first views are listed
    doc = db.datasets.find_one({"_id": ds._doc.id}, {"runs": 1, "saved_views": 1})
    if "prime" in (doc.get("runs") or {}) and doc.get("saved_views"):
        break
    time.sleep(0.002)
ds.reload()
try:
    fp.delete_failure_modes(ds, "prime")
    print("DELETED")
except Exception as e:
    print("REFUSED", type(e).__name__, e)
"""
)

STALE_SAVE_VIEW = (
    HEADER
    + """
# FiftyOne's save_view reloads the list, then writes it back whole; hold it
# between the two (until the run has saved its views) to make the race certain
import fiftyone.core.odm.dataset as food
original = food.DatasetDocument.reload
def reload(self, *fields, **kwargs):
    original(self, *fields, **kwargs)
    if fields == ("saved_views",):
        open(sys.argv[2] + ".reloaded", "w").close()
        while not os.path.exists(sys.argv[2] + ".go"):
            time.sleep(0.01)
food.DatasetDocument.reload = reload
ds.save_view("my view", ds.limit(3))
print("SAVED my view")
"""
)


@pytest.fixture
def many_modes(make_dataset):
    dataset = make_dataset(persistent=True)
    dataset.add_samples(many_modes_samples(num_classes=100, tags_per_class=50), progress=False)
    return dataset


def test_deleting_a_run_while_it_saves_leaves_a_consistent_dataset(many_modes, tmp_path):
    # the deleter polls (every 2 ms) before the search starts, so it catches the
    # first chunk of views being listed and deletes in the middle of the save
    b = start_python(DELETE_WHILE_SAVING, tmp_path / "delete.log", many_modes.name, tmp_path / "b")
    wait_for_file(tmp_path / "b.ready", b)
    a = start_python(SEARCH, tmp_path / "search.log", many_modes.name, tmp_path / "a")
    out_a, out_b = finish(a), finish(b)
    print(out_a[-2000:], out_b[-2000:])
    assert "SAVED 5000" in out_a
    assert "DELETED" in out_b or "RunBusyError" in out_b
    many_modes.reload()
    assert_consistent(many_modes)
    if "DELETED" in out_b:
        assert many_modes.list_runs() == [] and many_modes.list_saved_views() == []


def test_two_overwrites_at_once_leave_one_run_and_the_key_usable(many_modes, tmp_path):
    fp.find_failure_modes(many_modes, progress=False, **MANY_MODES_SEARCH)
    go = tmp_path / "go"
    procs = [
        start_python(SEARCH, tmp_path / f"{n}.log", many_modes.name, tmp_path / n, go)
        for n in ("a", "b")
    ]
    for n, proc in zip(("a", "b"), procs):
        wait_for_file(tmp_path / f"{n}.ready", proc)
    go.touch()
    outs = [finish(p) for p in procs]
    print(*[o[-2000:] for o in outs])
    assert all("SAVED 5000" in o for o in outs)
    many_modes.reload()
    assert many_modes.list_runs() == ["prime"]
    assert_consistent(many_modes)
    assert len(many_modes.list_saved_views()) == 5000
    # and the key is not stuck: a later overwrite succeeds
    results = fp.find_failure_modes(many_modes, overwrite=True, progress=False, **MANY_MODES_SEARCH)
    assert len(results.view_ids) == 5000
    assert_consistent(many_modes)


def test_a_view_saved_in_the_app_during_a_run_drops_none_of_its_views(many_modes, tmp_path):
    user = start_python(STALE_SAVE_VIEW, tmp_path / "user.log", many_modes.name, tmp_path / "u")
    wait_for_file(tmp_path / "u.reloaded", user)  # its copy of the list is now stale
    search = start_python(SEARCH, tmp_path / "search.log", many_modes.name, tmp_path / "s")
    assert "SAVED 5000" in finish(search)
    (tmp_path / "u.go").touch()  # write back the stale list
    assert "SAVED my view" in finish(user)

    # FiftyOne's save_view dropped the run's views from the list; loading the
    # run (here, in the App's panel or any process) lists them again
    results = fp.load_failure_modes(many_modes, "prime")
    assert_consistent(many_modes, user_views=["my view"])
    assert len(many_modes.list_saved_views()) == 5001
    assert len(results.load_view(0)) == 5
    # so deleting the dataset deletes them (FiftyOne deletes listed views only)
    dataset_id = many_modes._doc.id
    fo.delete_dataset(many_modes.name)
    assert foo.get_db_conn().views.count_documents({"_dataset_id": dataset_id}) == 0


OVERWRITE_SMALL = """
import sys
import fiftyone as fo
import fiftyone_prime as fp
ds = fo.load_dataset(sys.argv[1])
r = fp.find_failure_modes(ds, overwrite=True, max_tags=1, alpha=None, progress=False)
print("OVERWROTE", len(r))
"""


def test_a_long_lived_process_serves_the_run_another_process_overwrote(planted, tmp_path):
    before = fp.load_failure_modes(planted, "prime") if "prime" in planted.list_runs() else None
    if before is None:
        before = fp.find_failure_modes(planted)
        before = fp.load_failure_modes(planted, "prime")
    assert before.config.search_params["max_tags"] == 3
    proc = start_python(OVERWRITE_SMALL, tmp_path / "overwrite.log", planted.name)
    assert "OVERWROTE" in finish(proc)

    planted.reload()
    after = fp.load_failure_modes(planted, "prime")
    assert after.config.search_params["max_tags"] == 1
    assert after.config.search_params["alpha"] is None
    # also without dataset.reload(): the stored run is compared on every load
    proc = start_python(
        OVERWRITE_SMALL.replace("max_tags=1", "max_tags=2"), tmp_path / "again.log", planted.name
    )
    assert "OVERWROTE" in finish(proc)
    assert fp.load_failure_modes(planted, "prime").config.search_params["max_tags"] == 2
    assert set(planted.list_saved_views()) == set(
        fp.load_failure_modes(planted, "prime").view_names
    )


def test_ctrl_c_in_the_cli_search_is_one_line_saying_what_was_saved(many_modes, tmp_path):
    import signal
    import subprocess
    import time

    cli = "import sys; from fiftyone_prime.cli import main; sys.exit(main(sys.argv[1:]))"
    args = ["search", many_modes.name, "--min-size", "5", "--max-tags", "1", "--alpha", "none"]
    args += ["--max-views", "100000"]
    proc = start_python(cli, tmp_path / "cli.log", *args)
    db = foo.get_db_conn()
    deadline = time.time() + 240
    while time.time() < deadline:  # the run is stored and it is saving its views
        doc = db.datasets.find_one({"_id": many_modes._doc.id}, {"runs": 1, "saved_views": 1})
        if "prime" in (doc.get("runs") or {}) and doc.get("saved_views"):
            break
        assert proc.poll() is None, proc.log_path.read_text()[-3000:]
        time.sleep(0.002)
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    out = proc.log_path.read_text()
    lines = [line for line in out.splitlines() if line.strip() and "%|" not in line]
    print(out[-3000:])
    assert proc.returncode == 130
    assert "Traceback" not in out
    last = lines[-1]
    assert last.startswith("interrupted: ") and "run 'prime' is stored with" in last
    assert "fp.delete_failure_modes(dataset, 'prime')" in last
    fp.delete_failure_modes(many_modes, "prime")  # the cleanup it names works
    assert_consistent(many_modes)
    assert many_modes.list_saved_views() == []
