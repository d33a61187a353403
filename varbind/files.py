"""File helpers: atomic outputs, digests, gzip-aware opening."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, suffixes: tuple[str, ...] = ()) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    ``suffixes`` lists companion files (e.g. ``(".tbi",)``) written next to the temporary
    file that are renamed along with it. On any exception the temporaries are removed, so an
    interrupted run never leaves a half-written file at the output path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part" + "".join(path.suffixes),
                               dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; outputs get the usual mode
    try:
        yield tmp_path
        for suffix in suffixes:
            companion = Path(str(tmp_path) + suffix)
            if companion.exists():
                os.replace(companion, str(path) + suffix)
        os.replace(tmp_path, path)
    except BaseException:
        for p in [tmp_path] + [Path(str(tmp_path) + s) for s in suffixes]:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        raise


def file_digest(path: str | os.PathLike, algorithm: str = "sha256", chunk: int = 1 << 20) -> str:
    """Hex digest of a file's bytes, ``"<algorithm>:<hex>"``."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return f"{algorithm}:{h.hexdigest()}"


def open_text(path: str | os.PathLike):
    """Open a plain or gzip/bgzip-compressed text file for reading."""
    path = Path(path)
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt")
    return open(path)
