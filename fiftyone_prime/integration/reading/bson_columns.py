"""Columns out of raw BSON: a search's labels and tags without a Python object per value.

The fast reader (:mod:`fiftyone_prime.integration.reading.reader`) asks MongoDB for
documents of the shape ``{_id: ObjectId, g: label, p: label, b: label, t0: tags, t1: ...}``
(``b``, a second model's prediction, only when two models are compared)
and receives them as raw BSON batches (``aggregate_raw_batches``). A compiled
kernel walks each batch and interns every string in a hash table per column
family (one for ground truth and predictions of either model, so that a match of their codes
means a correct prediction; one per tag source), comparing bytes, so the
codes are exact. Only the distinct strings ever become Python objects.

Anything outside that shape (a label that is not a string, a list where a
single label belongs, a bare string where a list belongs, a nested list)
stops the kernel with :data:`UNSUPPORTED`: the reader then reads with
``values()``, which accepts or refuses such data with its own messages.

The kernel releases the GIL, so several ranges are decoded at once while
MongoDB serves the next batches. Its output arrays and tables grow as needed:
before each document it checks that the document, whatever it holds, fits
(a document of ``d`` bytes holds fewer than ``d // 7 + 1`` strings), and
otherwise returns :data:`GROW` at that document for the caller to enlarge
them and call again.
"""

from __future__ import annotations

import secrets

import numpy as np

from ...core.jit import inline, jit

#: Kernel outcomes.
DONE, GROW, UNSUPPORTED = 0, 1, 2

# BSON element types read here.
_DOUBLE, _STRING, _DOCUMENT, _ARRAY, _OBJECT_ID, _NULL = 1, 2, 3, 4, 7, 10

# Slots of the kernel's int64 state vector.
ROWS, ENTRIES, STORE_USED, NEED = 0, 1, 2, 3

#: FNV-1a over 32 bits, so no step overflows int64 (compiled or, under
#: ``NUMBA_DISABLE_JIT``, as numpy scalars), started from a random seed per
#: process: strings built to collide (and so to make each lookup walk a long
#: probe chain) cannot be prepared in advance.
_HASH_MASK = (1 << 32) - 1
_FNV_PRIME = 16777619
HASH_SEED = secrets.randbits(32)


@inline
def _int32(buf, pos):
    value = (
        np.int64(buf[pos])
        | (np.int64(buf[pos + 1]) << 8)
        | (np.int64(buf[pos + 2]) << 16)
        | (np.int64(buf[pos + 3]) << 24)
    )
    return value - (np.int64(1) << 32) if value >= (np.int64(1) << 31) else value


@inline
def _skip_cstring(buf, pos):
    while buf[pos] != 0:
        pos += 1
    return pos + 1


@inline
def _intern(
    buf, start, length, table, slots, key_hash, key_off, key_len, n_keys, store, state, seed
):
    """The code of the string ``buf[start:start + length]`` in ``table``,
    added when new (open addressing, linear probing, bytes compared)."""
    h = seed
    for i in range(start, start + length):
        h = ((h ^ np.int64(buf[i])) * _FNV_PRIME) & _HASH_MASK
    mask = slots.shape[1] - 1
    slot = _slot(h, mask)
    while True:
        k = slots[table, slot]
        if k < 0:
            k = n_keys[table]
            n_keys[table] = k + 1
            used = state[STORE_USED]
            store[used : used + length] = buf[start : start + length]
            key_off[table, k] = used
            key_len[table, k] = length
            key_hash[table, k] = h
            state[STORE_USED] = used + length
            slots[table, slot] = k
            return k
        if key_hash[table, k] == h and key_len[table, k] == length:
            off = key_off[table, k]
            same = True
            for i in range(length):
                if store[off + i] != buf[start + i]:
                    same = False
                    break
            if same:
                return k
        slot = (slot + 1) & mask


@inline
def _slot(h, mask):
    return (h ^ (h >> 13) ^ (h >> 27)) & mask


@jit
def parse_batch(
    buf,
    pos,
    is_list,
    ids,
    gt,
    pred,
    base,
    row_end,
    entry_table,
    entry_code,
    slots,
    key_hash,
    key_off,
    key_len,
    n_keys,
    store,
    state,
    seed,
):
    """Reads the documents of one raw batch from byte ``pos`` on.

    Args:
        buf: the batch, as uint8
        pos: the first document to read
        is_list: per tag source, whether its value is a list of strings (else
            one string)
        ids, gt, pred, base: per row, its 12 id bytes and its label,
            prediction and other prediction codes (table 0; -1 when missing
            or null)
        row_end: per row, the end of its entries
        entry_table, entry_code: per tag entry, its table (1 + source) and code
        slots, key_hash, key_off, key_len, n_keys, store: the hash tables
        state: ``[rows, entries, store bytes used, bytes a GROW needs]``
        seed: the hash's seed (:data:`HASH_SEED`)

    Returns:
        ``(outcome, pos)``: :data:`DONE` with the batch's end, or
        :data:`GROW`/:data:`UNSUPPORTED` with the document to resume at
    """
    n = buf.shape[0]
    n_tables = slots.shape[0]
    while pos < n:
        doc_len = _int32(buf, pos)
        end = pos + doc_len
        most = doc_len // 7 + 1  # the most strings a document of doc_len bytes holds
        row = state[ROWS]
        entries = state[ENTRIES]
        fits = (
            row < ids.shape[0]
            and entries + most <= entry_code.shape[0]
            and state[STORE_USED] + doc_len <= store.shape[0]
        )
        for t in range(n_tables):
            if 2 * (n_keys[t] + most) > slots.shape[1] or n_keys[t] + most > key_off.shape[1]:
                fits = False
        if not fits:
            state[NEED] = doc_len
            return GROW, pos
        gt[row] = -1
        pred[row] = -1
        base[row] = -1
        p = pos + 4
        while p < end - 1:
            kind = buf[p]
            name = p + 1
            p = _skip_cstring(buf, name)
            name_len = p - 1 - name
            field = -2  # -1: _id, 0: g, 1: p, 2 + s: t<s>, -3: b
            if name_len == 3 and buf[name] == 95:  # "_id"
                field = -1
            elif name_len == 1 and buf[name] == 103:  # "g"
                field = 0
            elif name_len == 1 and buf[name] == 112:  # "p"
                field = 1
            elif name_len == 1 and buf[name] == 98:  # "b"
                field = -3
            elif name_len >= 2 and buf[name] == 116:  # "t<digits>"
                s = 0
                for i in range(name + 1, name + name_len):
                    s = 10 * s + (buf[i] - 48)
                field = 2 + s
            if field == -1:
                if kind != _OBJECT_ID:
                    return UNSUPPORTED, pos
                ids[row, :] = buf[p : p + 12]
                p += 12
            elif field == 0 or field == 1 or field == -3:
                if kind == _NULL:
                    continue
                if kind != _STRING:
                    return UNSUPPORTED, pos
                length = _int32(buf, p) - 1
                code = _intern(
                    buf,
                    p + 4,
                    length,
                    0,
                    slots,
                    key_hash,
                    key_off,
                    key_len,
                    n_keys,
                    store,
                    state,
                    seed,
                )
                if field == 0:
                    gt[row] = code
                elif field == 1:
                    pred[row] = code
                else:
                    base[row] = code
                p += 4 + length + 1
            elif field >= 2 and field - 2 < is_list.shape[0]:
                table = field - 1
                listed = is_list[field - 2]
                if kind == _NULL:
                    continue
                if kind == _STRING and not listed:
                    length = _int32(buf, p) - 1
                    code = _intern(
                        buf, p + 4, length, table, slots, key_hash, key_off, key_len, n_keys,
                        store, state, seed,
                    )  # fmt: skip
                    entry_table[entries] = table
                    entry_code[entries] = code
                    entries += 1
                    p += 4 + length + 1
                elif kind == _ARRAY and listed:
                    array_end = p + _int32(buf, p)
                    q = p + 4
                    while q < array_end - 1:
                        item = buf[q]
                        q = _skip_cstring(buf, q + 1)
                        if item == _NULL:
                            continue
                        if item != _STRING:
                            return UNSUPPORTED, pos
                        length = _int32(buf, q) - 1
                        code = _intern(
                            buf, q + 4, length, table, slots, key_hash, key_off, key_len, n_keys,
                            store, state, seed,
                        )  # fmt: skip
                        entry_table[entries] = table
                        entry_code[entries] = code
                        entries += 1
                        q += 4 + length + 1
                    p = array_end
                else:
                    return UNSUPPORTED, pos
            else:
                return UNSUPPORTED, pos
        row_end[row] = entries
        state[ROWS] = row + 1
        state[ENTRIES] = entries
        pos = end
    return DONE, pos


@jit
def _rehash(slots, key_hash, n_keys):
    for t in range(slots.shape[0]):
        mask = slots.shape[1] - 1
        for k in range(n_keys[t]):
            slot = _slot(key_hash[t, k], mask)
            while slots[t, slot] >= 0:
                slot = (slot + 1) & mask
            slots[t, slot] = k


class ColumnReader:
    """The columns of one read (one ``_id`` range): rows, tag entries and the
    distinct strings of each table, grown as batches arrive.

    Args:
        is_list: per tag source, whether its values are lists of strings
    """

    def __init__(self, is_list: list[bool], rows: int = 4096, distinct: int = 256):
        rows, distinct = max(1, rows), max(1, distinct)
        self.is_list = np.asarray(is_list, dtype=np.bool_)
        n_tables = 1 + len(is_list)
        self.ids = np.zeros((rows, 12), dtype=np.uint8)
        self.gt = np.zeros(rows, dtype=np.int32)
        self.pred = np.zeros(rows, dtype=np.int32)
        self.base = np.zeros(rows, dtype=np.int32)
        self.row_end = np.zeros(rows, dtype=np.int64)
        self.entry_table = np.zeros(16 * rows, dtype=np.int16)
        self.entry_code = np.zeros(16 * rows, dtype=np.int32)
        slots = 4
        while slots < 4 * distinct:  # a power of two: slots are hashes masked
            slots *= 2
        self.slots = np.full((n_tables, slots), -1, dtype=np.int32)
        self.key_hash = np.zeros((n_tables, distinct), dtype=np.int64)
        self.key_off = np.zeros((n_tables, distinct), dtype=np.int64)
        self.key_len = np.zeros((n_tables, distinct), dtype=np.int64)
        self.n_keys = np.zeros(n_tables, dtype=np.int64)
        self.store = np.zeros(64 * distinct, dtype=np.uint8)
        self.state = np.zeros(4, dtype=np.int64)

    def feed(self, batch: bytes) -> bool:
        """Reads one raw batch; False when it holds what the kernel does not
        read (see :data:`UNSUPPORTED`)."""
        buf = np.frombuffer(batch, dtype=np.uint8)
        pos = 0
        while True:
            outcome, pos = parse_batch(
                buf,
                pos,
                self.is_list,
                self.ids,
                self.gt,
                self.pred,
                self.base,
                self.row_end,
                self.entry_table,
                self.entry_code,
                self.slots,
                self.key_hash,
                self.key_off,
                self.key_len,
                self.n_keys,
                self.store,
                self.state,
                HASH_SEED,
            )
            if outcome == DONE:
                return True
            if outcome == UNSUPPORTED:
                return False
            self._grow(int(self.state[NEED]))

    def _grow(self, doc_len: int) -> None:
        most = doc_len // 7 + 1
        rows, entries, used = (int(x) for x in self.state[:3])
        if rows >= len(self.gt):
            size = 2 * len(self.gt)
            self.ids = _resized(self.ids, size)
            self.gt = _resized(self.gt, size)
            self.pred = _resized(self.pred, size)
            self.base = _resized(self.base, size)
            self.row_end = _resized(self.row_end, size)
        if entries + most > len(self.entry_code):
            size = max(2 * len(self.entry_code), entries + most)
            self.entry_table = _resized(self.entry_table, size)
            self.entry_code = _resized(self.entry_code, size)
        if used + doc_len > len(self.store):
            self.store = _resized(self.store, max(2 * len(self.store), used + doc_len))
        keys = int(self.n_keys.max()) + most
        if keys > self.key_off.shape[1]:
            size = max(2 * self.key_off.shape[1], keys)
            self.key_hash = _resized(self.key_hash, size, axis=1)
            self.key_off = _resized(self.key_off, size, axis=1)
            self.key_len = _resized(self.key_len, size, axis=1)
        if 2 * keys > self.slots.shape[1]:
            size = self.slots.shape[1]
            while 2 * keys > size:
                size *= 2
            self.slots = np.full((self.slots.shape[0], size), -1, dtype=np.int32)
            _rehash(self.slots, self.key_hash, self.n_keys)

    @property
    def num_rows(self) -> int:
        return int(self.state[ROWS])

    def strings(self, table: int) -> list[str]:
        """The distinct strings of ``table``, by code."""
        store = self.store
        return [
            store[off : off + n].tobytes().decode("utf-8")
            for off, n in zip(
                self.key_off[table, : self.n_keys[table]].tolist(),
                self.key_len[table, : self.n_keys[table]].tolist(),
            )
        ]

    def entry_counts(self) -> np.ndarray:
        """Per row, its number of tag entries."""
        ends = self.row_end[: self.num_rows]
        return np.diff(ends, prepend=0)


def _resized(arr: np.ndarray, size: int, axis: int = 0) -> np.ndarray:
    shape = list(arr.shape)
    shape[axis] = size
    out = np.zeros(shape, dtype=arr.dtype)
    index = tuple(slice(0, n) for n in arr.shape)
    out[index] = arr
    return out


@jit
def sorted_rows_csr(rows, starts, counts, entry_cols, n_cols):
    """The CSR structure of the given rows, in that order: each row's columns
    sorted, each once.

    Args:
        rows: the rows to take, in their output order
        starts, counts: per row, where its entries start and how many it has
        entry_cols: per entry, its column (-1 for none)
        n_cols: the number of columns

    Returns:
        ``(indptr, indices)``
    """
    total = 0
    for i in range(rows.shape[0]):
        total += counts[rows[i]]
    indptr = np.zeros(rows.shape[0] + 1, dtype=np.int64)
    indices = np.empty(total, dtype=np.int32)
    out = 0
    for i in range(rows.shape[0]):
        r = rows[i]
        first = out
        for e in range(starts[r], starts[r] + counts[r]):
            if entry_cols[e] >= 0:
                indices[out] = entry_cols[e]
                out += 1
        if out - first > 1:
            if out - first <= 32:  # a dozen tags: insertion sort
                for j in range(first + 1, out):
                    c = indices[j]
                    k = j
                    while k > first and indices[k - 1] > c:
                        indices[k] = indices[k - 1]
                        k -= 1
                    indices[k] = c
            else:  # a long row: n log n, whatever its order
                indices[first:out] = np.sort(indices[first:out])
            kept = first + 1  # each column once
            for j in range(first + 1, out):
                if indices[j] != indices[kept - 1]:
                    indices[kept] = indices[j]
                    kept += 1
            out = kept
        indptr[i + 1] = out
    return indptr, indices[:out]
