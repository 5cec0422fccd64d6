"""Saved views of failure-mode runs: ownership by id, odd labels, the view cap.

Real FiftyOne and its real MongoDB; the subprocess tests (concurrent writers,
kill -9 while saving) are marked slow.
"""

import os
import signal
import subprocess
import sys

import pytest
from bson import ObjectId

import fiftyone as fo
import fiftyone.core.odm as foo

import fiftyone_prime as fp
from fiftyone_prime.integration.runs import views as fpv
from tests.fo_env import REPO_ROOT
from tests.integration.planted import PLANTED_MODES, add_planted, planted_samples, template


def view_docs(dataset):
    """Every saved-view document of the dataset in the database, listed or not."""
    return list(foo.get_db_conn().views.find({"_dataset_id": dataset._doc.id}))


def listed_ids(dataset):
    doc = foo.get_db_conn().datasets.find_one({"_id": dataset._doc.id}, {"saved_views": 1})
    return [str(i) for i in doc.get("saved_views", [])]


# ------------------------------------------------------------ ownership by id


def test_run_records_the_ids_of_its_views(planted):
    results = fp.find_failure_modes(planted)
    assert len(results.view_ids) == 2
    assert set(listed_ids(planted)) == set(results.view_ids)
    assert {str(d["_id"]) for d in view_docs(planted)} == set(results.view_ids)


def _replace_with_users_view(dataset, name):
    """The user replaces a run's view with their own under the same name."""
    dataset.save_view(name, dataset.limit(5), description="mine", overwrite=True)


def test_users_same_named_view_survives_delete(planted):
    results = fp.find_failure_modes(planted)
    _replace_with_users_view(planted, "prime dog: blur")
    fp.delete_failure_modes(planted, "prime")
    assert planted.list_saved_views() == ["prime dog: blur"]
    assert len(planted.load_saved_view("prime dog: blur")) == 5
    assert planted.get_saved_view_info("prime dog: blur")["description"] == "mine"
    assert not {str(d["_id"]) for d in view_docs(planted)} & set(results.view_ids)


def test_users_same_named_view_survives_overwrite(planted):
    fp.find_failure_modes(planted)
    _replace_with_users_view(planted, "prime dog: blur")
    with pytest.raises(ValueError, match="never overwritten"):
        fp.find_failure_modes(planted, overwrite=True)
    # Nothing was written or deleted: the old run and the user's view are intact.
    assert planted.list_saved_views() == ["prime cat: night + snow", "prime dog: blur"]
    assert len(planted.load_saved_view("prime dog: blur")) == 5
    assert len(fp.load_failure_modes(planted, "prime")) == 2
    # Renamed out of the way, the user's view is kept by an overwrite too.
    planted.update_saved_view_info("prime dog: blur", {"name": "my dogs"})
    results = fp.find_failure_modes(planted, overwrite=True)
    assert sorted(planted.list_saved_views()) == sorted(["my dogs", *results.view_names])
    assert len(planted.load_saved_view("my dogs")) == 5


def test_a_clash_appearing_mid_run_never_makes_the_run_claim_the_other_view(planted, monkeypatch):
    monkeypatch.setattr(fpv, "_CHUNK", 1)
    other = []

    def another_writer(pb):
        if not other:  # after the first view: someone saves the second one's name
            other.append(planted.save_view("prime dog: blur", planted.limit(3)))

    results = fp.find_failure_modes(planted, progress=another_writer)
    assert [m.view_name for m in results.failure_modes] == ["prime cat: night + snow", None]
    stored = fp.load_failure_modes(planted, "prime")
    assert stored.view_names == ["prime cat: night + snow"] and len(stored.view_ids) == 1
    assert "1 failure modes have no saved view" in stored.summary()
    fp.delete_failure_modes(planted, "prime")
    assert planted.list_saved_views() == ["prime dog: blur"]
    assert len(planted.load_saved_view("prime dog: blur")) == 3
    assert len(view_docs(planted)) == 1


def test_orphans_of_an_interrupted_save_are_deleted_by_delete_and_overwrite(planted, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # after the documents, before the list update

    for cleanup in ("delete", "overwrite"):
        with monkeypatch.context() as m:
            m.setattr(fpv, "_add_to_list", interrupted)
            with pytest.raises(KeyboardInterrupt):
                fp.find_failure_modes(planted)
        assert planted.list_saved_views() == []  # documents written, not listed
        loaded = fp.load_failure_modes(planted, "prime")
        assert {str(d["_id"]) for d in view_docs(planted)} == set(loaded.view_ids)
        # loading the run re-lists the views it owns (issue 22)
        assert sorted(planted.list_saved_views()) == sorted(loaded.view_names)
        if cleanup == "delete":
            fp.delete_failure_modes(planted, "prime")
            assert view_docs(planted) == []
        else:
            results = fp.find_failure_modes(planted, overwrite=True)
            assert {str(d["_id"]) for d in view_docs(planted)} == set(results.view_ids)
            assert planted.list_saved_views() == results.view_names
            fp.delete_failure_modes(planted, "prime")
            assert view_docs(planted) == []


def test_saving_reads_the_saved_view_list_a_fixed_number_of_times(planted, monkeypatch):
    calls = []
    original = fpv.listed_views
    monkeypatch.setattr(fpv, "listed_views", lambda ds: calls.append(1) or original(ds))
    monkeypatch.setattr(fpv, "_CHUNK", 7)
    items = [(i, f"v{k}", planted.limit(k + 1), None) for k, i in enumerate(fpv.new_view_ids(100))]
    fpv.save_views(planted, items)
    assert len(calls) == 2  # once before, once after: not per chunk
    assert planted.list_saved_views() == [f"v{k}" for k in range(100)]
    assert fpv.delete_views(planted, [i for i, *_ in items]) == 100
    assert planted.list_saved_views() == []


def test_view_documents_are_fiftyones_own_saved_view_documents(planted):
    results = fp.find_failure_modes(planted)
    planted.save_view("mine", planted.limit(3), description="by FiftyOne")
    docs = {d["name"]: d for d in view_docs(planted)}
    ours, theirs = docs[results.view_names[0]], docs["mine"]
    assert set(ours) - {"description"} == set(theirs) - {"description"}
    loaded = foo.SavedViewDocument._from_son(ours)
    assert loaded.to_mongo().to_dict() == ours  # exactly what the class writes
    assert str(loaded.id) == results.failure_modes[0].view_id
    assert loaded.dataset_id == str(planted._doc.id) and loaded.slug == fpv.view_slug(loaded.name)
    assert loaded.description == fpv.view_description(results.failure_modes[0], "prime")


# ------------------------------------------------------------ $-labels


DOLLAR = {"cat": "$cat", "snow": "$snow", "night": "$ground_truth.label"}


def _dollar_samples():
    samples = planted_samples()
    for s in samples:
        for field in ("ground_truth", "predictions"):
            s[field].label = DOLLAR.get(s[field].label, s[field].label)
        s.tag_list = [DOLLAR.get(t, t) for t in s.tag_list]
        for c in s.prime_tags.classifications:
            c.label = DOLLAR.get(c.label, c.label)
        for d in s.objects.detections:
            d.label = DOLLAR.get(d.label, d.label)
        s["weather"] = fo.Classification(label="$snow") if "$snow" in s.tag_list else None
    return samples


@pytest.fixture
def dollar_dataset(make_dataset):
    """The planted samples with "$" in their labels and tags."""
    return make_dataset(like=template("dollar", lambda d: d.add_samples(_dollar_samples())))


@pytest.mark.parametrize("tags_field", ["prime_tags", "tag_list", "objects"])
def test_dollar_labels_give_views_of_the_modes_sizes(dollar_dataset, tags_field):
    dataset = dollar_dataset
    results = fp.find_failure_modes(dataset, tags_field=tags_field)
    expected = [
        (DOLLAR.get(g, g), tuple(sorted(DOLLAR.get(t, t) for t in tags)), n, k)
        for g, tags, n, k in PLANTED_MODES
    ]
    got = [(m.group, tuple(sorted(m.tags)), m.size, m.num_correct) for m in results.failure_modes]
    assert got == expected
    for mode in results.failure_modes:
        view = dataset.load_saved_view(mode.view_name)
        assert len(view) == mode.size
        assert set(view.values("ground_truth.label")) == {mode.group}


def test_dollar_label_in_a_classification_tag_field(dollar_dataset):
    dataset = dollar_dataset
    view = fpv.failure_mode_view(
        dataset,
        "ground_truth",
        "predictions",
        "$cat",
        fp.integration.fields.tag_sources(dataset, "weather"),
        [("weather", "$snow")],
    )
    assert len(view) == 95  # 40 + 55 $cat samples with $snow


# ------------------------------------------------------------ max_views


def test_max_views_saves_the_top_modes_by_drop_and_keeps_all_modes(planted):
    results = fp.find_failure_modes(planted, max_views=1)
    assert len(results) == 2
    # cat drops 55 points, dog 50: only cat gets a view.
    assert [m.view_name for m in results.failure_modes] == ["prime cat: night + snow", None]
    assert planted.list_saved_views() == ["prime cat: night + snow"]
    stored = fp.load_failure_modes(planted, "prime")
    assert stored.config.max_views == 1
    assert "1 failure modes have no saved view (max_views=1)" in stored.summary()
    assert "no saved view" not in fp.find_failure_modes(planted, run_key="all").summary()


def test_max_views_zero_saves_none(planted):
    results = fp.find_failure_modes(planted, max_views=0)
    assert len(results) == 2 and planted.list_saved_views() == []


@pytest.mark.parametrize("bad", [-1, 1.5, "10", True, None])
def test_bad_max_views_is_refused_before_anything_is_written(planted, bad):
    with pytest.raises(ValueError, match="`max_views` must be a whole number"):
        fp.find_failure_modes(planted, max_views=bad)
    assert planted.list_runs() == [] and planted.list_saved_views() == []


def test_default_max_views_is_one_constant():
    import inspect

    from fiftyone_prime.plugin.operators import FindFailureModes

    for fn in (fp.find_failure_modes, fp.apply_failure_modes, FindFailureModes.__call__):
        assert inspect.signature(fn).parameters["max_views"].default == fpv.DEFAULT_MAX_VIEWS
    assert 1000 <= fpv.DEFAULT_MAX_VIEWS <= 5000


def test_apply_failure_modes_respects_max_views(planted, make_dataset):
    results = fp.find_failure_modes(planted)
    holdout = add_planted(make_dataset())
    applied = fp.apply_failure_modes(results, holdout, max_views=1)
    assert len(applied) == 2 and len(applied.view_names) == 1
    assert holdout.list_saved_views() == applied.view_names


# ------------------------------------------------------------ subprocesses

_SAVER = """
import sys, time, pathlib
import fiftyone as fo
from fiftyone_prime.integration import views as fpv
ds = fo.load_dataset({name!r})
flag = pathlib.Path({flag!r})
original = fpv._unlisted
def after_user(*args):
    while not flag.exists():
        time.sleep(0.05)
    return original(*args)
fpv._unlisted = after_user
ids = fpv.new_view_ids({n})
print(",".join(ids), flush=True)
items = [(i, f"{tag} view {{k}}", ds.limit(k + 1), None) for k, i in enumerate(ids)]
fpv.save_views(ds, items)
print("done", flush=True)
"""

_USER = """
import pathlib
import fiftyone as fo
ds = fo.load_dataset({name!r})
for k in range({n}):
    ds.save_view(f"user view {{k}}", ds.limit(k + 1))
pathlib.Path({flag!r}).touch()
"""


def _popen(code):
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
        cwd=str(REPO_ROOT),
    )


@pytest.mark.slow
def test_two_processes_saving_thousands_of_views_keep_every_view(make_dataset, tmp_path):
    dataset = make_dataset(persistent=True)
    dataset.add_samples(planted_samples()[:50])
    flag = str(tmp_path / "user-done")
    n, n_user = 2500, 40
    procs = {
        tag: _popen(_SAVER.format(name=dataset.name, flag=flag, n=n, tag=tag)) for tag in ("a", "b")
    }
    user = _popen(_USER.format(name=dataset.name, flag=flag, n=n_user))
    ids = {}
    try:
        for tag, p in procs.items():
            out, err = p.communicate(timeout=600)
            assert p.returncode == 0, err[-3000:]
            ids[tag] = out.splitlines()[0].split(",")
        _, err = user.communicate(timeout=600)
        assert user.returncode == 0, err[-3000:]
    finally:
        for p in (*procs.values(), user):
            if p.poll() is None:
                p.kill()
                p.wait()
    dataset.reload()
    names = dataset.list_saved_views()
    assert len(names) == 2 * n + n_user
    assert {f"user view {k}" for k in range(n_user)} <= set(names)
    docs = {str(d["_id"]) for d in view_docs(dataset)}
    assert docs == set(listed_ids(dataset))  # no orphan, no dangling reference
    assert set(ids["a"]) | set(ids["b"]) <= docs
    assert fpv.delete_views(dataset, ids["a"]) == n
    assert len(dataset.list_saved_views()) == n + n_user


_KILLED_RUN = """
import time
import fiftyone as fo
import fiftyone_prime as fp
from fiftyone_prime.integration import view_list, views as fpv
view_list.MIN_CHUNK = 1  # one view per append
original = fpv._add_to_list
calls = []
def add_slowly(*args):
    calls.append(1)
    if len(calls) == 2:  # the second view's document is written, not yet listed
        print("inserted", flush=True)
        time.sleep(600)
    original(*args)
fpv._add_to_list = add_slowly
ds = fo.load_dataset({name!r})
fp.find_failure_modes(ds, run_key="killed")
"""


@pytest.mark.slow
def test_kill_9_while_saving_views_then_delete_leaves_no_view_document(make_dataset):
    dataset = make_dataset(persistent=True)
    add_planted(dataset)
    dataset.save_view("killed dog: blur 2", dataset.limit(2))  # the user's, similar name
    proc = _popen(_KILLED_RUN.format(name=dataset.name))
    try:
        line = proc.stdout.readline()  # the first view is listed, the second not yet
        assert line.strip() == "inserted", proc.stderr.read()[-3000:]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    dataset.reload()
    unlisted = {str(d["_id"]) for d in view_docs(dataset)} - set(listed_ids(dataset))
    assert len(unlisted) == 1  # the kill left the second view's document off the list
    ids = set(fp.load_failure_modes(dataset, "killed").view_ids)
    assert len(ids) == 2 and unlisted <= ids
    assert ids <= set(listed_ids(dataset))  # loading the run listed it again
    fp.delete_failure_modes(dataset, "killed")
    docs = view_docs(dataset)
    assert [d["name"] for d in docs] == ["killed dog: blur 2"]
    assert not {str(d["_id"]) for d in docs} & ids
    assert dataset.list_saved_views() == ["killed dog: blur 2"]
    assert (
        foo.get_db_conn().views.count_documents({"_id": {"$in": [ObjectId(i) for i in ids]}}) == 0
    )
