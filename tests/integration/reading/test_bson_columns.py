"""The raw-BSON column kernel against bson's own decoder, on random documents
(missing and null values, repeats, unicode, tiny starting sizes so that every
array and table grows mid-batch)."""

import bson
import numpy as np
import pytest

from fiftyone_prime.integration.reading.bson_columns import ColumnReader

WORDS = ["a", "b", "", "é", "🐱", "a\x00", "long " * 30, "$x", "0", "1"]


def _documents(rng, n):
    docs = []
    for _ in range(n):
        doc = {"_id": bson.ObjectId()}
        for key in ("g", "p"):
            r = rng.random()
            if r < 0.8:
                doc[key] = WORDS[rng.integers(len(WORDS))]
            elif r < 0.9:
                doc[key] = None
        if rng.random() < 0.9:
            doc["t0"] = [
                None if rng.random() < 0.1 else f"w{rng.integers(200)}"
                for _ in range(rng.integers(0, 15))
            ]
        if rng.random() < 0.7:
            doc["t1"] = None if rng.random() < 0.2 else WORDS[rng.integers(len(WORDS))]
        docs.append(doc)
    return docs


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_codes_decode_to_what_bson_decodes(seed):
    rng = np.random.default_rng(seed)
    docs = _documents(rng, 700)
    columns = ColumnReader([True, False], rows=1, distinct=1)
    for start in range(0, len(docs), 250):  # three batches
        assert columns.feed(b"".join(bson.encode(d) for d in docs[start : start + 250]))
    assert columns.num_rows == len(docs)
    classes = columns.strings(0)
    assert len(set(classes)) == len(classes)  # each string interned once
    tags = [columns.strings(1), columns.strings(2)]
    ends = columns.row_end[: columns.num_rows]
    for i, doc in enumerate(docs):
        assert columns.ids[i].tobytes() == doc["_id"].binary
        for key, codes in (("g", columns.gt), ("p", columns.pred)):
            want = doc.get(key)
            assert (classes[codes[i]] if codes[i] >= 0 else None) == want
        got = [
            (int(columns.entry_table[e]), tags[columns.entry_table[e] - 1][columns.entry_code[e]])
            for e in range(ends[i - 1] if i else 0, ends[i])
        ]
        want = [(1, t) for t in doc.get("t0") or [] if t is not None]
        if doc.get("t1") is not None:
            want.append((2, doc["t1"]))
        assert got == want


@pytest.mark.parametrize(
    "doc",
    [
        {"_id": bson.ObjectId(), "g": 3},  # a label that is not a string
        {"_id": bson.ObjectId(), "g": "a", "t0": "bare"},  # a string where a list belongs
        {"_id": bson.ObjectId(), "g": "a", "t1": ["x"]},  # a list where one label belongs
        {"_id": bson.ObjectId(), "g": "a", "t0": [["nested"]]},
        {"_id": bson.ObjectId(), "g": "a", "t0": [1.5]},
        {"_id": "not an ObjectId", "g": "a"},
        {"_id": bson.ObjectId(), "other": "a"},
    ],
)
def test_other_shapes_are_unsupported(doc):
    columns = ColumnReader([True, False])
    ok = {"_id": bson.ObjectId(), "g": "a", "p": "b", "t0": ["x"], "t1": "y"}
    assert columns.feed(bson.encode(ok))
    assert not columns.feed(bson.encode(ok) + bson.encode(doc))


@pytest.mark.parametrize("rows, distinct", [(0, 0), (3, 5), (1, 1)])
def test_any_starting_size_reads_whole_batches(rows, distinct):
    """Slot counts are rounded up to a power of two and sizes to at least one
    (a table of 20 slots once left keys unreachable and the probe spun)."""
    docs = [{"_id": bson.ObjectId(), "g": f"c{i % 7}", "t0": [f"w{i}", "x"]} for i in range(300)]
    columns = ColumnReader([True], rows=rows, distinct=distinct)
    assert columns.feed(b"".join(bson.encode(d) for d in docs))
    assert columns.num_rows == 300 and len(columns.strings(1)) == 301


@pytest.mark.parametrize("order", ["ascending", "descending", "shuffled"])
def test_long_rows_are_sorted_and_deduplicated(order):
    from fiftyone_prime.integration.reading.bson_columns import sorted_rows_csr

    rng = np.random.default_rng(0)
    long = np.repeat(np.arange(5000), 2)  # 10,000 entries, each column twice
    long = {"ascending": long, "descending": long[::-1], "shuffled": rng.permutation(long)}[order]
    short = np.array([5, -1, 3, 5, 0])
    cols = np.concatenate([short, long]).astype(np.int64)
    counts = np.array([len(short), len(long)])
    starts = np.array([0, len(short)])
    indptr, indices = sorted_rows_csr(np.array([1, 0]), starts, counts, cols, 5000)
    assert indptr.tolist() == [0, 5000, 5003]
    assert indices[:5000].tolist() == list(range(5000))
    assert indices[5000:].tolist() == [0, 3, 5]
