"""How much data a tabix (``.tbi``) or CSI index says each stretch of a contig holds.

A bgzipped VCF's index lists, per contig, *bins* (genomic spans on a fixed hierarchy) and for
each bin the chunks of the file (virtual-offset ranges) holding the records that fall in it,
plus a pseudo-bin with the contig's number of records. :func:`read_index_bins` turns that into
uncompressed bytes per bin without reading the VCF itself: only the index and the 18-byte
BGZF block headers (each block's size and uncompressed length) are read.

Virtual offsets are ``compressed block offset << 16 | offset inside the block``.
Coordinates are 0-based, end-exclusive, as in the index.
"""

from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Smallest bin width (2**14 = 16,384 nt) and number of levels of a tabix index.
TBI_MIN_SHIFT, TBI_DEPTH = 14, 5


@dataclass(frozen=True)
class ContigBins:
    """The bins of one contig that hold records.

    records : records of the contig (the index's pseudo-bin), or None when it has none
    start, end : (B,) 0-based span of each bin
    nbytes : (B,) uncompressed bytes of the bin's chunks
    leaf : width of the smallest bins (16,384 nt in a tabix index)
    """

    records: int | None
    start: np.ndarray
    end: np.ndarray
    nbytes: np.ndarray
    leaf: int


class IndexFormatError(ValueError):
    """The index is not a tabix/CSI index this module reads."""


def index_path(vcf: str | os.PathLike) -> Path | None:
    """The ``.tbi`` or ``.csi`` beside ``vcf``, or None."""
    for suffix in (".tbi", ".csi"):
        candidate = Path(str(vcf) + suffix)
        if candidate.exists():
            return candidate
    return None


def read_index_bins(vcf: str | os.PathLike, names: list[str] | None = None
                    ) -> dict[str, ContigBins]:
    """Bins with their uncompressed bytes for each contig of ``vcf``'s index.

    Parameters
    ----------
    vcf : bgzipped VCF (``.tbi``/``.csi``) or BCF (``.csi``)
    names : contig names in the order of the file's header, for a CSI index that does not
        name its contigs (the index of a BCF)

    Returns
    -------
    dict contig -> :class:`ContigBins` (contigs without records are left out).
    """
    path = index_path(vcf)
    if path is None:
        raise IndexFormatError(f"{vcf} has no .tbi/.csi index")
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    reader = _Reader(data)
    magic = reader.take(4)
    if magic == b"TBI\x01":
        min_shift, depth = TBI_MIN_SHIFT, TBI_DEPTH
        n_ref = reader.int32()
        index_names = _tabix_names(reader)
        if len(index_names) != n_ref:
            raise IndexFormatError(f"{path}: {n_ref} contigs but {len(index_names)} names")
        raw = [_read_tbi_ref(reader) for _ in range(n_ref)]
    elif magic == b"CSI\x01":
        min_shift, depth, l_aux = reader.int32(), reader.int32(), reader.int32()
        aux = _Reader(reader.take(l_aux))
        index_names = _tabix_names(aux) if l_aux >= 28 else list(names or [])
        n_ref = reader.int32()
        if len(index_names) < n_ref:
            raise IndexFormatError(f"{path}: contig names unknown for {n_ref} contigs")
        raw = [_read_csi_ref(reader) for _ in range(n_ref)]
    else:
        raise IndexFormatError(f"{path} is not a tabix or CSI index")
    blocks = BlockMap.of(vcf)
    pseudo = ((1 << (3 * (depth + 1))) - 1) // 7 + 1
    out = {}
    for name, bins in zip(index_names, raw, strict=False):
        contig = _contig_bins(bins, pseudo, min_shift, depth, blocks)
        if contig is not None:
            out[name] = contig
    return out


def _contig_bins(bins: dict[int, list[tuple[int, int]]], pseudo: int, min_shift: int,
                 depth: int, blocks: BlockMap) -> ContigBins | None:
    records = None
    if pseudo in bins and len(bins[pseudo]) == 2:
        records = int(bins[pseudo][1][0])  # (n_mapped, n_unmapped)
    real = sorted(b for b in bins if b != pseudo)
    if not real:
        return None
    start, end = bin_spans(np.array(real, dtype=np.int64), min_shift, depth)
    nbytes = np.array([sum(blocks.uncompressed(e) - blocks.uncompressed(b)
                           for b, e in bins[k]) for k in real], dtype=np.float64)
    return ContigBins(records=records, start=start, end=end, nbytes=nbytes, leaf=1 << min_shift)


def bin_spans(bins: np.ndarray, min_shift: int, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """0-based (start, end) of each bin number (the UCSC binning scheme of SAM/tabix/CSI).

    Level ``l`` bins are numbered from ``((1 << 3l) - 1) // 7`` and are
    ``1 << (min_shift + 3 (depth - l))`` bases wide.
    """
    firsts = np.array([((1 << (3 * level)) - 1) // 7 for level in range(depth + 1)])
    level = np.searchsorted(firsts, bins, side="right") - 1
    width = np.left_shift(np.int64(1), min_shift + 3 * (depth - level))
    start = (bins - firsts[level]) * width
    return start, start + width


class BlockMap:
    """Compressed offset -> uncompressed offset of every BGZF block of a file."""

    def __init__(self, coffsets: np.ndarray, uoffsets: np.ndarray):
        self.coffsets = coffsets
        self.uoffsets = uoffsets

    @classmethod
    def of(cls, path: str | os.PathLike) -> BlockMap:
        """Walk the block headers of a BGZF file (two small reads per block)."""
        coffsets, uoffsets = [], []
        position = total = 0
        size = os.path.getsize(path)
        with open(path, "rb", buffering=1 << 16) as fh:
            while position < size:
                fh.seek(position)
                head = fh.read(18)
                if len(head) < 18 or head[:4] != b"\x1f\x8b\x08\x04" or head[12:14] != b"BC":
                    raise IndexFormatError(f"{path} is not BGZF at byte {position}")
                block_size = struct.unpack("<H", head[16:18])[0] + 1
                fh.seek(position + block_size - 4)
                (isize,) = struct.unpack("<I", fh.read(4))
                coffsets.append(position)
                uoffsets.append(total)
                position += block_size
                total += isize
        return cls(np.array(coffsets, dtype=np.int64), np.array(uoffsets, dtype=np.int64))

    def uncompressed(self, voffset: int) -> int:
        """Uncompressed byte position of a virtual offset."""
        block = int(np.searchsorted(self.coffsets, voffset >> 16, side="right")) - 1
        return int(self.uoffsets[max(block, 0)]) + (voffset & 0xFFFF)


class _Reader:
    """Little-endian fields from a bytes buffer."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise IndexFormatError("index ends early")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def int32(self) -> int:
        return struct.unpack("<i", self.take(4))[0]

    def uint64s(self, n: int) -> tuple[int, ...]:
        return struct.unpack(f"<{n}Q", self.take(8 * n))


def _tabix_names(reader: _Reader) -> list[str]:
    """The tabix header (format, columns, meta, skip) and the contig names that follow."""
    reader.take(24)
    names = reader.take(reader.int32())
    return [n.decode() for n in names.split(b"\0") if n]


def _read_tbi_ref(reader: _Reader) -> dict[int, list[tuple[int, int]]]:
    bins = {}
    for _ in range(reader.int32()):
        number = struct.unpack("<I", reader.take(4))[0]
        bins[number] = _chunks(reader)
    reader.take(8 * reader.int32())  # the linear index: not needed, the bins say more
    return bins


def _read_csi_ref(reader: _Reader) -> dict[int, list[tuple[int, int]]]:
    bins = {}
    for _ in range(reader.int32()):
        number = struct.unpack("<I", reader.take(4))[0]
        reader.take(8)  # loffset
        bins[number] = _chunks(reader)
    return bins


def _chunks(reader: _Reader) -> list[tuple[int, int]]:
    n = reader.int32()
    flat = reader.uint64s(2 * n)
    return list(zip(flat[::2], flat[1::2], strict=True))
