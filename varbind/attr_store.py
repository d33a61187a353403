"""Moved to :mod:`varbind.interpret.store`; this import path is kept for one release."""

from varbind.interpret.store import (  # noqa: F401
    CHUNK_ROWS,
    FORMAT,
    FORMAT_VERSION,
    AttributionWriter,
    StoredExplanation,
    h5py_is_string,
    list_rows,
    merge_stores,
    open_store,
    read_explanation,
)
