"""Reference genome access through pyfaidx, with contig-name aliasing and padding.

Contig names are matched across files as :mod:`varbind.contig_names` describes
(``contig_aliases`` is re-exported here).

Coordinates here are 0-based, half-open ``[start, end)``. Windows on the transcript strand
put their center base at index ``L // 2`` (see :func:`window_start`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from varbind.contig_names import contig_aliases
from varbind.encoding import N_CODE, encode, reverse_complement_codes
from varbind.errors import InputFileError


class ContigResolver:
    """Maps contig names from other files onto the names one file uses."""

    def __init__(self, names: Iterable[str]):
        self.names = list(names)
        self._lookup: dict[str, str] = {}
        for name in self.names:
            for alias in contig_aliases(name):
                self._lookup.setdefault(alias, name)
        for name in self.names:  # exact names always win over aliases
            self._lookup[name] = name

    def resolve(self, name: str) -> str | None:
        """This file's name for ``name``, or None if the contig is unknown."""
        found = self._lookup.get(name)
        if found is None:
            for alias in contig_aliases(name):
                found = self._lookup.get(alias)
                if found is not None:
                    break
        return found


def window_start(center: np.ndarray | int, length: int, strand: np.ndarray | str):
    """Genomic start of a window of ``length`` whose transcript-strand index ``length // 2``
    is the base at ``center`` (0-based).

    On ``+`` the window is ``[center - L//2, center - L//2 + L)``; on ``-`` it is shifted so
    that after reverse complementing the center base still lands at index ``L // 2``.
    """
    center = np.asarray(center)
    minus = np.asarray(strand) == "-"
    left = np.where(minus, length - 1 - length // 2, length // 2)
    out = center - left
    return int(out) if out.ndim == 0 else out


def build_index(path: Path) -> None:
    """Write ``path``'s ``.fai`` (and ``.gzi`` for a bgzipped FASTA) through temporary files
    renamed into place, so that processes opening the same unindexed FASTA at once (Dask
    workers) never read a half-written index; each writes the same bytes."""
    import tempfile

    import pyfaidx

    final = {"fai": Path(str(path) + ".fai"), "gzi": Path(str(path) + ".gzi")}
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.name}.") as tmp:
        temp = {k: Path(tmp) / v.name for k, v in final.items()}
        pyfaidx.Faidx(str(path), indexname=str(temp["fai"]), gzi_indexname=str(temp["gzi"]),
                      rebuild=True).close()
        if temp["gzi"].exists() and not final["gzi"].exists():
            os.replace(temp["gzi"], final["gzi"])
        os.replace(temp["fai"], final["fai"])


class Genome:
    """A FASTA file (plain or bgzipped, indexed with ``.fai``) read through pyfaidx.

    Parameters
    ----------
    path : FASTA path. A missing ``.fai`` is built next to it; a read-only folder gives a
        clear error.
    """

    def __init__(self, path: str | os.PathLike):
        import pyfaidx

        self.path = Path(path)
        if not self.path.exists():
            raise InputFileError("FASTA file not found", path=self.path,
                                 fix="pass --fasta with an existing file")
        fai = Path(str(self.path) + ".fai")
        if not fai.exists() and not os.access(self.path.parent, os.W_OK):
            raise InputFileError("FASTA has no .fai index and its folder is read-only",
                                 path=self.path,
                                 fix=f"run 'samtools faidx {self.path}' where you can write, "
                                     "or copy the FASTA to a writable folder")
        try:
            if not fai.exists():
                build_index(self.path)
            self._fasta = pyfaidx.Fasta(str(self.path), as_raw=True,
                                        sequence_always_upper=True, rebuild=False)
        except ImportError as exc:
            raise InputFileError(str(exc), path=self.path,
                                 fix="install biopython, or decompress the FASTA") from None
        except Exception as exc:  # pyfaidx raises several kinds for bad files
            raise InputFileError(f"cannot read FASTA ({exc})", path=self.path,
                                 fix="check it is FASTA, plain or bgzip-compressed") from None
        self.lengths = {name: len(rec) for name, rec in self._fasta.records.items()}
        self.resolver = ContigResolver(self.lengths)

    @property
    def contigs(self) -> list[str]:
        return list(self.lengths)

    def resolve(self, chrom: str) -> str | None:
        """This FASTA's name for ``chrom`` (aliases allowed), or None."""
        return self.resolver.resolve(chrom)

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """Upper-case sequence of ``[start, end)``; positions off the contig read as ``N``."""
        return "".join("ACGTN"[c] for c in self.fetch_codes(chrom, start, end))

    def fetch_codes(self, chrom: str, start: int, end: int) -> np.ndarray:
        """Codes ``(end - start,)`` uint8 of ``[start, end)``, N-padded off the contig ends."""
        name = self.resolve(chrom)
        out = np.full(end - start, N_CODE, dtype=np.uint8)
        if name is None:
            return out
        lo, hi = max(start, 0), min(end, self.lengths[name])
        if hi > lo:
            out[lo - start:hi - start] = encode(self._fasta[name][lo:hi])
        return out

    def window_codes(self, chrom: str, centers: np.ndarray, length: int,
                     strands: np.ndarray) -> np.ndarray:
        """Transcript-strand windows around ``centers`` on one contig.

        Parameters
        ----------
        chrom : contig (aliases allowed)
        centers : (N,) 0-based center positions
        length : window length L
        strands : (N,) ``'+'`` or ``'-'``

        Returns
        -------
        np.ndarray, shape (N, L), uint8 codes; minus-strand rows reverse complemented, center
        base at index ``L // 2``.
        """
        centers = np.asarray(centers, dtype=np.int64)
        strands = np.asarray(strands)
        if len(centers) == 0:
            return np.zeros((0, length), dtype=np.uint8)
        starts = window_start(centers, length, strands)
        span_lo, span_hi = int(starts.min()), int(starts.max()) + length
        span = self.fetch_codes(chrom, span_lo, span_hi)
        idx = (starts - span_lo)[:, None] + np.arange(length)[None, :]
        windows = span[idx]
        minus = strands == "-"
        windows[minus] = reverse_complement_codes(windows[minus])
        return windows
