"""An aggregation's result as raw BSON batches, without a Python object per document.

pymongo's ``Collection.aggregate_raw_batches`` hands out each batch as raw
bytes, but on the way it inflates the server's reply, which turns every
document of the batch into a ``RawBSONDocument`` (pymongo 4.9:
``_decode_selective`` on the reply), a few microseconds per document that
the fast reader then never looks at: for a read of small documents (one per
object of a detection evaluation) that cost more than the server's own work.
Here the ``aggregate`` and ``getMore`` commands run with replies kept raw,
and the batch (the reply's ``cursor.firstBatch``/``nextBatch`` array) is cut
out of the reply's bytes, so the documents reach the kernel as they came.

The commands run in one explicit session (a cursor belongs to the session
that opened it); a cursor left before its end (the reader stops at data of
another shape) is killed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import bson
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo.errors import PyMongoError

logger = logging.getLogger(__name__)

_RAW = CodecOptions(document_class=RawBSONDocument)

# BSON element types of a cursor reply
_INT64, _STRING, _DOCUMENT, _ARRAY, _INT32 = 0x12, 0x02, 0x03, 0x04, 0x10


def aggregate_raw_batches(collection, pipeline: list, batch_size: int) -> Iterator[bytes]:
    """The documents of ``collection.aggregate(pipeline, allowDiskUse=True)``,
    batch by batch, each batch the concatenated BSON of its documents (as
    ``Collection.aggregate_raw_batches`` yields them).

    Raises:
        OperationFailure: when the server cannot run the pipeline
    """
    db = collection.database
    command = {
        "aggregate": collection.name,
        "pipeline": pipeline,
        "cursor": {"batchSize": batch_size},
        "allowDiskUse": True,
    }
    with db.client.start_session(causal_consistency=False) as session:
        reply = db.command(command, codec_options=_RAW, session=session)
        cursor_id, batch = _cursor_batch(reply["cursor"].raw)
        try:
            yield batch
            while cursor_id:
                more = {"getMore": cursor_id, "collection": collection.name}
                more["batchSize"] = batch_size
                reply = db.command(more, codec_options=_RAW, session=session)
                cursor_id, batch = _cursor_batch(reply["cursor"].raw)
                yield batch
        finally:
            if cursor_id:  # left before its end
                kill = {"killCursors": collection.name, "cursors": [cursor_id]}
                try:
                    db.command(kill, session=session)
                except PyMongoError as e:  # the server drops it when it times out
                    logger.debug("Could not kill cursor %s: %s", cursor_id, e)


def _cursor_batch(cursor: bytes) -> tuple[int, bytes]:
    """The cursor id and the batch of a reply's ``cursor`` document."""
    view = memoryview(cursor)
    pos, end = 4, len(cursor) - 1
    cursor_id, batch = 0, b""
    while pos < end:
        kind = view[pos]
        name_end = cursor.index(b"\x00", pos + 1)
        name = cursor[pos + 1 : name_end]
        pos = name_end + 1
        if kind == _INT64:
            cursor_id = int.from_bytes(view[pos : pos + 8], "little", signed=True)
            pos += 8
        elif kind == _INT32:
            pos += 4
        elif kind == _STRING:
            pos += 4 + int.from_bytes(view[pos : pos + 4], "little")
        elif kind in (_DOCUMENT, _ARRAY):
            size = int.from_bytes(view[pos : pos + 4], "little")
            if name in (b"firstBatch", b"nextBatch"):
                batch = _documents(view[pos : pos + size])
            pos += size
        else:  # another element: decoded the slow way
            return _decoded_cursor_batch(cursor)
    return cursor_id, batch


def _documents(array: memoryview) -> bytes:
    """The concatenated documents of a BSON array of documents."""
    convert = getattr(bson, "_array_of_documents_to_buffer", None)  # pymongo's C helper
    if convert is not None:
        return convert(array)
    data = bytes(array)
    out, pos, end = [], 4, len(data) - 1
    while pos < end:
        pos = data.index(b"\x00", pos + 1) + 1  # the element's type and key
        size = int.from_bytes(data[pos : pos + 4], "little")
        out.append(data[pos : pos + size])
        pos += size
    return b"".join(out)


def _decoded_cursor_batch(cursor: bytes) -> tuple[int, bytes]:
    doc = bson.decode(cursor, codec_options=_RAW)
    docs = doc.get("firstBatch", doc.get("nextBatch", []))
    return int(doc.get("id", 0)), b"".join(d.raw for d in docs)
