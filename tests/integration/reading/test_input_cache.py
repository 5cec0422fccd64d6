"""Cached search inputs: reused while nothing changed, never stale."""

import numpy as np
import pytest

import fiftyone as fo
from fiftyone import ViewField as F

import fiftyone_prime as fp
from fiftyone_prime.integration.reading import input_cache as ic
from fiftyone_prime.integration.reading import reader

ARGS = ("ground_truth", "predictions", "prime_tags")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FIFTYONE_PRIME_CACHE_DIR", str(tmp_path / "cache"))
    ic._memory.clear()
    yield
    ic._memory.clear()


def load(samples, *args, **kwargs):
    return ic.load_search_inputs(samples, *(args or ARGS), **kwargs)


def same_inputs(a, b):
    assert a.tag_keys == b.tag_keys
    assert (a.tags != b.tags).nnz == 0
    assert a.labels.tolist() == b.labels.tolist()
    assert a.correct.tolist() == b.correct.tolist()
    assert (a.num_samples, a.num_missing_label, a.num_missing_prediction) == (
        b.num_samples,
        b.num_missing_label,
        b.num_missing_prediction,
    )
    assert np.array_equal(a.extra["_id"], b.extra["_id"])


def test_second_load_reuses_from_memory_then_disk_and_equals_a_fresh_read(planted):
    _first, how = load(planted)
    assert how.source == "read" and how.reason == "not cached"
    again, how = load(planted)
    assert how.source == "memory"
    ic._memory.clear()  # a new process: from the file
    from_disk, how = load(planted)
    assert how.source == "disk"
    fresh = reader.read_inputs_fast(planted, *ARGS)
    same_inputs(from_disk, fresh)
    same_inputs(again, fresh)
    assert [s.field for s in from_disk.sources] == ["prime_tags"]


def _edit_tag(ds):
    s = ds.first()
    s.prime_tags.classifications[0].label = "edited"
    s.save()


def _edit_prediction(ds):
    s = ds.last()
    s.predictions.label = "bird"
    s.save()


def _set_values(ds):
    view = ds.limit(3)
    view.set_values("predictions.label", ["cat", "cat", "cat"])


def _add(ds):
    ds.add_sample(
        fo.Sample(
            filepath="/nonexistent/new.jpg",
            ground_truth=fo.Classification(label="cat"),
            predictions=fo.Classification(label="cat"),
        )
    )


def _delete(ds):
    ds.delete_samples(ds.first())


def _tag_samples(ds):
    ds.limit(2).tag_samples("reviewed")


@pytest.mark.parametrize(
    "change", [_edit_tag, _edit_prediction, _set_values, _add, _delete, _tag_samples]
)
@pytest.mark.parametrize("from_disk", [False, True])
def test_every_change_to_samples_reads_afresh(planted, change, from_disk):
    load(planted)
    change(planted)
    if from_disk:
        ic._memory.clear()
    inputs, how = load(planted)
    assert how.source == "read"
    assert how.reason == "samples changed since they were cached"
    same_inputs(inputs, reader.read_inputs_fast(planted, *ARGS))
    _, how = load(planted)
    assert how.reused


def test_a_change_outside_the_view_also_reads_afresh_and_one_inside_is_seen(planted):
    cats = planted.match(F("ground_truth.label") == "cat")
    before, _ = load(cats)
    dog = planted.match(F("ground_truth.label") == "dog").first()
    dog.ground_truth.label = "cat"  # the view gains a sample
    dog.save()
    after, how = load(cats)
    assert how.source == "read"
    assert after.num_samples == before.num_samples + 1


def test_another_view_or_field_is_another_entry(planted):
    load(planted)
    _, how = load(planted.match(F("ground_truth.label") == "cat"))
    assert how.source == "read" and how.reason == "not cached"
    _, how = load(planted.match(F("ground_truth.label") == "dog"))
    assert how.source == "read"
    _, how = load(planted, "ground_truth", "predictions", "tag_list")
    assert how.source == "read"
    _, how = load(planted, "ground_truth", "predictions", ["prime_tags", "tag_list"])
    assert how.source == "read"
    _, how = load(planted)  # the first is still there
    assert how.reused
    _, how = load(planted.match(F("ground_truth.label") == "cat"))
    assert how.reused


def test_uncacheable_views_and_reuse_off_always_read(planted):
    _, how = load(planted.shuffle())
    assert how.source == "read" and "seed" in how.reason
    _, how = load(planted.shuffle())
    assert how.source == "read"
    _, how = load(planted, reuse=False)
    assert how.reason == "reuse is off"
    assert not list(ic.cache_dir().rglob("*.npz"))


def test_damaged_file_is_read_afresh(planted):
    _, how = load(planted)
    ic._memory.clear()
    with open(how.path, "wb") as f:
        f.write(b"not a cache file")
    _, how = load(planted)
    assert how.source == "read" and how.reason.startswith("unreadable")
    ic._memory.clear()
    _, how = load(planted)
    assert how.source == "disk"


def test_clear_input_cache(planted):
    load(planted)
    assert ic.clear_input_cache(planted) == 1
    _, how = load(planted)
    assert how.source == "read"


def test_a_cached_search_equals_a_fresh_one(planted):
    fresh = fp.find_failure_modes(planted, run_key="fresh", reuse_inputs=False, save_views=False)
    fp.find_failure_modes(planted, run_key="first", save_views=False)
    ic._memory.clear()
    cached = fp.find_failure_modes(planted, run_key="cached", min_drop=0.3, save_views=False)
    assert ic.cache_dir().exists()
    again = fp.find_failure_modes(planted, run_key="again", save_views=False)

    def key(results):
        return [m.to_dict() for m in results.failure_modes]

    assert key(again) == key(fresh) and len(fresh.failure_modes) == 2
    assert again.groups == fresh.groups and again.num_used == fresh.num_used
    assert [m.drop for m in cached.failure_modes] == [
        m.drop for m in fresh.failure_modes if m.drop >= 0.3
    ]


def test_the_cli_reuses_inputs_unless_told_not_to(planted, monkeypatch):
    from fiftyone_prime import cli
    from fiftyone_prime.integration.failure_modes import search

    seen = []
    real = search.load_search_inputs

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        seen.append(out[1].source)
        return out

    monkeypatch.setattr(search, "load_search_inputs", spy)
    base = ["search", planted.name, "--max-views", "0"]
    assert cli.main([*base, "--run-key", "a"]) == 0
    assert cli.main([*base, "--run-key", "b", "--min-drop", "0.3"]) == 0
    assert cli.main([*base, "--run-key", "c", "--no-reuse-inputs"]) == 0
    assert seen == ["read", "memory", "read"]


def test_a_deleted_datasets_files_go_when_another_search_caches(planted, make_dataset):
    from tests.integration.planted import add_planted

    other = add_planted(make_dataset())
    load(other)
    gone = ic.cache_dir() / str(other._doc.id)
    assert (gone / ic.OWNER_FILE).exists() and list(gone.glob("*.npz"))
    foreign = ic.cache_dir() / "0123456789abcdef01234567"  # another database's dataset
    foreign.mkdir()
    (foreign / ic.OWNER_FILE).write_text('{"database": "mongodb://elsewhere fiftyone"}')
    unstamped = ic.cache_dir() / "76543210fedcba9876543210"
    unstamped.mkdir()
    other.delete()
    load(planted)  # a fresh read caches, and forgets the deleted dataset's files
    assert not gone.exists()
    assert foreign.exists() and unstamped.exists()
    assert (ic.cache_dir() / str(planted._doc.id) / ic.OWNER_FILE).exists()
