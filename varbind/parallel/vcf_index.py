"""An index for the input VCF (tabix or CSI), made in a work folder when the file has
none, bgzipping a plain VCF first."""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import shutil
from pathlib import Path

from varbind.errors import InputFileError

log = logging.getLogger(__name__)


def ensure_index(vcf: str | os.PathLike, workdir: str | os.PathLike) -> Path:
    """Return a path to ``vcf`` that has an index, indexing it on the fly when missing.

    A bgzipped VCF or a BCF without index is indexed in place when its folder is writable,
    otherwise through a link in ``workdir``; a plain or gzip-compressed VCF is bgzipped into
    ``workdir`` first. Unsorted input gives a one-line error.
    """
    import pysam

    vcf = Path(vcf)
    if not vcf.exists():
        raise InputFileError("VCF file not found", path=vcf, fix="check the path")
    if _index_of(vcf) is not None:
        return vcf
    workdir = Path(workdir)
    kind = _compression(vcf)
    is_bcf = kind == "bgzf" and _is_bcf(vcf) or kind == "bcf"
    if kind in ("bgzf", "bcf"):
        target = vcf
        if not os.access(vcf.parent, os.W_OK):
            workdir.mkdir(parents=True, exist_ok=True)
            target = workdir / vcf.name
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
            target.symlink_to(vcf.resolve())
        log.info("indexing %s (no .tbi/.csi found)", vcf)
        _index_file(pysam, target, is_bcf)
        return target
    workdir.mkdir(parents=True, exist_ok=True)
    plain = workdir / (vcf.name.removesuffix(".gz").removesuffix(".vcf") + ".vcf")
    opener = gzip.open if kind == "gzip" else open
    with opener(vcf, "rb") as src, open(plain, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    log.info("compressing and indexing %s into %s", vcf, workdir)
    _index_file(pysam, plain, False)
    return Path(str(plain) + ".gz")


def _index_file(pysam, path: Path, is_bcf: bool) -> None:
    try:
        if is_bcf:
            pysam.tabix_index(str(path), preset="bcf", csi=True, force=True)
        else:
            pysam.tabix_index(str(path), preset="vcf", force=True)
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot index VCF ({exc})", path=path,
                             fix="sort it first: 'bcftools sort -Oz -o sorted.vcf.gz IN'")\
            from None


def _index_of(vcf: Path) -> Path | None:
    for suffix in (".tbi", ".csi"):
        candidate = Path(str(vcf) + suffix)
        if candidate.exists():
            return candidate
    return None


def _compression(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(18)
    if head[:4] == b"BCF\x02":
        return "bcf"
    if head[:2] == b"\x1f\x8b":
        return "bgzf" if len(head) >= 16 and head[12:14] == b"BC" else "gzip"
    return "plain"


def _is_bcf(path: Path) -> bool:
    with gzip.open(path, "rb") as fh:
        return fh.read(3) == b"BCF"
