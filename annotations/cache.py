"""The on-disk cache of parsed annotation indexes, keyed by the file's absolute path,
size and modification time and the varbind version."""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
from glob import escape as glob_escape
from pathlib import Path

from varbind import __version__
from varbind.files import atomic_output

log = logging.getLogger(__name__)


#: Bumped whenever the cached layout or the class rules change.
INDEX_FORMAT = 2


def default_cache_dir() -> Path:
    """``$VARBIND_CACHE/annotations`` or ``~/.cache/varbind/annotations``."""
    root = os.environ.get("VARBIND_CACHE") or Path.home() / ".cache" / "varbind"
    return Path(root) / "annotations"


def cache_path(path: str | os.PathLike, cache_dir: str | os.PathLike) -> Path:
    """Cache file for an annotation: keyed by absolute path, size, mtime and versions.

    Named ``<file name>.<path hash>.<key hash>.idx.pkl``, so that the entries of older
    versions of the same file can be found (and are removed when a new one is written).
    """
    path = Path(path).resolve()
    st = path.stat()
    key = f"{path}|{st.st_size}|{st.st_mtime_ns}|{__version__}|{INDEX_FORMAT}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    where = hashlib.sha256(str(path).encode()).hexdigest()[:8]
    return Path(cache_dir) / f"{path.name}.{where}.{digest}.idx.pkl"


def load_cache(path: Path) -> dict | None:
    if not path.exists():
        return None
    try:
        with open(path, "rb") as fh:
            tables = pickle.load(fh)
        if tables.get("format") != INDEX_FORMAT:
            return None
        return tables
    except Exception as exc:  # a stale or damaged cache is rebuilt, never fatal
        log.warning("annotation cache %s unreadable (%s); parsing again", path, exc)
        return None


def save_cache(path: Path, tables: dict) -> None:
    try:
        with atomic_output(path) as tmp, open(tmp, "wb") as fh:
            pickle.dump(tables, fh, protocol=pickle.HIGHEST_PROTOCOL)
        log.debug("annotation index cached at %s", path)
        stem = path.name.rsplit(".", 3)[0]  # <file name>.<path hash>
        for stale in path.parent.glob(f"{glob_escape(stem)}.*.idx.pkl"):
            if stale != path:
                stale.unlink(missing_ok=True)
                log.debug("removed stale annotation cache %s", stale)
    except OSError as exc:
        log.warning("could not write annotation cache %s (%s); set VARBIND_CACHE to a "
                    "writable folder to avoid parsing again", path, exc)
