"""Moved to :mod:`varbind.model.bundle`; this import path is kept for one release."""

from varbind.model.bundle import (  # noqa: F401
    FORMAT_VERSION,
    META_FILE,
    MODEL_FILE,
    ModelBundle,
    ModelMeta,
    check_model_matches_meta,
    find_bundles,
    is_bundle,
    load_bundle,
    load_model_set,
    read_meta,
    save_bundle,
)
