"""CLIP peaks: BED6 and ENCODE narrowPeak files, manifests, and the papers' filters.

Inputs
------
- a **peak file**: BED6 (``chrom start end name score strand``, more columns ignored) or
  ENCODE narrowPeak (BED6 + ``signalValue pValue qValue peak``; p and q as -log10, -1 for
  unknown; ``peak`` the summit offset from ``start``, -1 for unknown); plain or gzip;
  ``track``/``browser``/``#`` lines skipped; 0-based half-open; strand must be ``+`` or ``-``;
- a **manifest** TSV with a header and columns ``rbp``, ``path`` (relative to the manifest's
  folder) and optionally ``cell_line``;
- or a **directory** of ``<RBP>.bed``, ``<RBP>.narrowPeak`` (optionally ``.gz``) files.

Filters (:class:`PeakFilters`)
------------------------------
- ``max_p``: drop every peak with p above it (needs p-values);
- POLARIS singleton filter: drop peaks that have no other peak of the same RBP within
  ``singleton_distance`` (500 nt) on the same strand *and* whose p is above
  ``singleton_max_p`` (0.01). Peaks without a p-value (BED6) count as not significant, so
  there every isolated peak is dropped;
- ``min_peaks``: RBPs left with fewer peaks are skipped with a warning naming them.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from varbind.errors import InputFileError, VarbindError
from varbind.files import open_text
from varbind.genomics.genome import ContigResolver

log = logging.getLogger(__name__)

PEAK_SUFFIXES = (".narrowPeak.gz", ".narrowPeak", ".bed.gz", ".bed")
PEAK_COLUMNS = ["chrom", "start", "end", "strand", "name", "score", "signal", "neglog10_p",
                "summit", "line"]


@dataclass
class PeakSet:
    """The peaks of one RBP in one cell line.

    peaks : DataFrame[chrom, start, end, strand, name, score, signal, neglog10_p, summit,
        line]; 0-based half-open; ``neglog10_p`` NaN where unknown; ``summit`` absolute
        0-based position of the summit (the midpoint where the file gives none); ``line``
        the 1-based line in ``path``.
    """

    rbp: str
    path: Path
    peaks: pd.DataFrame
    cell_line: str = ""
    label: str = ""
    n_read: int = 0
    dropped: dict = field(default_factory=dict)

    def __post_init__(self):
        self.label = self.label or self.rbp

    def __len__(self) -> int:
        return len(self.peaks)


@dataclass(frozen=True)
class PeakFilters:
    """Peak filters (see the module docstring); None switches a filter off."""

    max_p: float | None = None
    singleton_distance: int | None = None
    singleton_max_p: float = 0.01
    min_peaks: int = 1

    @classmethod
    def polaris(cls, min_peaks: int = 1) -> PeakFilters:
        """POLARIS: isolated peaks (none within 500 nt) with p > 0.01 dropped."""
        return cls(singleton_distance=500, singleton_max_p=0.01, min_peaks=min_peaks)


# ----------------------------------------------------------------------------- one file


def _data_lines(path: Path) -> tuple[list[str], np.ndarray]:
    try:
        with open_text(path) as fh:
            text = fh.read()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputFileError(f"cannot read peak file ({exc})", path=path,
                             fix="pass BED6 or narrowPeak, plain or gzip") from None
    lines = text.splitlines()
    keep = [i for i, line in enumerate(lines)
            if line.strip() and not line.startswith(("#", "track", "browser"))]
    return [lines[i] for i in keep], np.asarray(keep, dtype=np.int64) + 1


def read_peak_file(path: str | os.PathLike, rbp: str | None = None,
                   cell_line: str = "") -> PeakSet:
    """Read one BED6 or narrowPeak file.

    Raises
    ------
    InputFileError : missing, empty or malformed file, or a peak with strand ``.``
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError("peak file not found", path=path,
                             fix="check the path (manifest paths are relative to the manifest)")
    rbp = rbp or peak_file_rbp(path)
    lines, numbers = _data_lines(path)
    if not lines:
        raise InputFileError("peak file has no peaks", path=path,
                             fix="remove it from the manifest or pass a non-empty file")
    cols = pd.Series(lines).str.split("\t", expand=True)
    ncol = cols.notna().sum(axis=1).to_numpy()
    if (ncol < 6).any():
        i = int(np.flatnonzero(ncol < 6)[0])
        raise InputFileError(f"expected BED6 or narrowPeak (6 or 10 tab-separated columns), "
                             f"found {ncol[i]}", path=path, line=int(numbers[i]),
                             fix="peaks need chrom, start, end, name, score, strand")
    start = pd.to_numeric(cols[1], errors="coerce")
    end = pd.to_numeric(cols[2], errors="coerce")
    bad = start.isna() | end.isna() | (start < 0) | (end <= start)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputFileError(f"bad coordinates start={cols[1][i]!r} end={cols[2][i]!r}",
                             path=path, line=int(numbers[i]),
                             fix="start and end must be integers with 0 <= start < end")
    strand = cols[5].str.strip()
    bad = ~strand.isin(["+", "-"])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputFileError(f"peak strand {strand[i]!r}", path=path, line=int(numbers[i]),
                             fix="RNA peaks need strand '+' or '-'; use stranded peak calls "
                                 "(e.g. ENCODE eCLIP narrowPeak)")
    start, end = start.to_numpy(np.int64), end.to_numpy(np.int64)
    narrow = cols.shape[1] >= 10 and (ncol >= 10).all()
    neglog_p = np.full(len(lines), np.nan)
    summit = (start + end) // 2
    signal = np.full(len(lines), np.nan)
    if narrow:
        signal = pd.to_numeric(cols[6], errors="coerce").to_numpy(np.float64)
        neglog_p = np.array(pd.to_numeric(cols[7], errors="coerce"), dtype=np.float64)
        neglog_p[neglog_p < 0] = np.nan  # ENCODE: -1 = unknown
        offset = pd.to_numeric(cols[9], errors="coerce").to_numpy(np.float64)
        ok = (offset >= 0) & (offset < end - start)
        summit = np.where(ok, start + np.nan_to_num(offset).astype(np.int64), summit)
    peaks = pd.DataFrame({
        "chrom": cols[0].str.strip().to_numpy(), "start": start, "end": end,
        "strand": strand.to_numpy(), "name": cols[3].to_numpy(),
        "score": pd.to_numeric(cols[4], errors="coerce").to_numpy(np.float64),
        "signal": signal, "neglog10_p": neglog_p, "summit": summit, "line": numbers,
    })
    return PeakSet(rbp=rbp, path=path, peaks=peaks, cell_line=cell_line, n_read=len(peaks))


def peak_file_rbp(path: Path) -> str:
    """RBP name from a peak file name: ``QKI.narrowPeak.gz`` -> ``QKI``."""
    name = path.name
    for suffix in PEAK_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name.split(".")[0]


# ----------------------------------------------------------------------------- filters


def isolated(peaks: pd.DataFrame, distance: int) -> np.ndarray:
    """True for peaks with no other peak within ``distance`` nt on the same contig and strand.

    The distance between two peaks is the gap between them (0 when they overlap).

    Returns
    -------
    np.ndarray, shape (P,), bool, in the order of ``peaks``
    """
    out = np.ones(len(peaks), dtype=bool)
    for _, grp in peaks.groupby(["chrom", "strand"], sort=False):
        order = np.argsort(grp["start"].to_numpy(), kind="stable")
        s = grp["start"].to_numpy()[order]
        e = grp["end"].to_numpy()[order]
        reach = np.maximum.accumulate(e)  # furthest end among peaks up to i
        gap_left = np.r_[np.inf, s[1:] - reach[:-1]]  # gap to the nearest earlier peak
        # the nearest later peak is the next one by start (later peaks start at or after it)
        gap_right = np.r_[s[1:] - e[:-1], np.inf]
        alone = (gap_left > distance) & (gap_right > distance)
        out[grp.index.to_numpy()[order]] = alone
    return out


def apply_filters(peakset: PeakSet, filters: PeakFilters) -> PeakSet:
    """Apply ``max_p`` and the singleton filter; counts of dropped peaks in ``dropped``."""
    peaks = peakset.peaks.reset_index(drop=True)
    dropped = dict(peakset.dropped)
    p = 10.0 ** -peaks["neglog10_p"].to_numpy()  # NaN where unknown
    if filters.max_p is not None:
        if np.isnan(p).all():
            raise VarbindError(f"--max-p needs p-values, but {peakset.path} has none "
                               "(BED6); use narrowPeak files or drop --max-p")
        keep = ~(p > filters.max_p)
        if not keep.all():
            dropped["max_p"] = int((~keep).sum())
        peaks, p = peaks[keep].reset_index(drop=True), p[keep]
    if filters.singleton_distance is not None:
        alone = isolated(peaks, filters.singleton_distance)
        weak = ~(p <= filters.singleton_max_p)  # unknown p counts as weak
        drop = alone & weak
        if drop.any():
            dropped["singleton"] = int(drop.sum())
        peaks = peaks[~drop].reset_index(drop=True)
    return PeakSet(rbp=peakset.rbp, path=peakset.path, peaks=peaks, cell_line=peakset.cell_line,
                   label=peakset.label, n_read=peakset.n_read, dropped=dropped)


def match_contigs(peakset: PeakSet, contigs, on_missing: str = "warn") -> PeakSet:
    """Rename peak contigs to the FASTA's names (aliases allowed); drop or refuse the rest.

    Parameters
    ----------
    contigs : the FASTA's contig names
    on_missing : ``"warn"`` (drop those peaks, warn with their count) or ``"error"``
    """
    resolver = ContigResolver(contigs)
    peaks = peakset.peaks
    names = {c: resolver.resolve(c) for c in pd.unique(peaks["chrom"])}
    mapped = peaks["chrom"].map(names)
    missing = mapped.isna().to_numpy()
    if missing.any():
        first = peaks[missing].iloc[0]
        unknown = sorted({c for c, n in names.items() if n is None})
        if on_missing == "error":
            raise InputFileError(
                f"{int(missing.sum())} peaks on contigs missing from the FASTA "
                f"({', '.join(unknown[:5])})", path=peakset.path, line=int(first["line"]),
                fix="use the FASTA the peaks were called on, or pass --unknown-contigs warn")
        log.warning("%s: %d of %d peaks are on contigs missing from the FASTA (%s); "
                    "they are skipped (line %d is the first)", peakset.path, int(missing.sum()),
                    len(peaks), ", ".join(unknown[:5]), int(first["line"]))
    peaks = peaks.assign(chrom=mapped)[~missing].reset_index(drop=True)
    dropped = dict(peakset.dropped)
    if missing.any():
        dropped["unknown_contig"] = int(missing.sum())
    return PeakSet(rbp=peakset.rbp, path=peakset.path, peaks=peaks, cell_line=peakset.cell_line,
                   label=peakset.label, n_read=peakset.n_read, dropped=dropped)


# ----------------------------------------------------------------------------- many RBPs


def peak_sources(source: str | os.PathLike) -> list[tuple[str, Path, str]]:
    """``(rbp, path, cell_line)`` for a manifest TSV or a directory of peak files."""
    source = Path(source)
    if not source.exists():
        raise InputFileError("peaks not found", path=source,
                             fix="pass --peaks with a manifest TSV or a folder of peak files")
    if source.is_dir():
        files = sorted(p for p in source.iterdir()
                       if p.is_file() and p.name.endswith(PEAK_SUFFIXES))
        if not files:
            raise InputFileError("folder has no <RBP>.bed or <RBP>.narrowPeak[.gz] files",
                                 path=source, fix="pass a manifest TSV or a folder of peak files")
        return [(peak_file_rbp(p), p, "") for p in files]
    return _read_manifest(source)


def _read_manifest(path: Path) -> list[tuple[str, Path, str]]:
    with open_text(path) as fh:
        lines = fh.read().splitlines()
    rows = [(n, line) for n, line in enumerate(lines, start=1)
            if line.strip() and not line.startswith("##")]
    if not rows:
        raise InputFileError("manifest is empty", path=path,
                             fix="add a header 'rbp<TAB>path<TAB>cell_line' and one row per file")
    header = [c.strip().lstrip("#").lower() for c in rows[0][1].split("\t")]
    if "rbp" not in header or "path" not in header:
        raise InputFileError(f"manifest header {rows[0][1]!r} lacks 'rbp' and 'path' columns",
                             path=path, line=rows[0][0],
                             fix="header must name the columns: rbp, path, cell_line "
                                 "(tab-separated)")
    i_rbp, i_path = header.index("rbp"), header.index("path")
    i_cell = header.index("cell_line") if "cell_line" in header else None
    out = []
    for n, line in rows[1:]:
        fields = line.split("\t")
        if len(fields) <= max(i_rbp, i_path):
            raise InputFileError(f"expected {len(header)} tab-separated columns", path=path,
                                 line=n, fix="each row needs rbp, path and cell_line")
        file = Path(fields[i_path].strip())
        file = file if file.is_absolute() else path.parent / file
        if not file.exists():
            raise InputFileError(f"peak file {fields[i_path].strip()} not found", path=path,
                                 line=n, fix="paths are relative to the manifest's folder")
        cell = fields[i_cell].strip() if i_cell is not None and i_cell < len(fields) else ""
        out.append((fields[i_rbp].strip(), file, cell))
    if not out:
        raise InputFileError("manifest lists no peak files", path=path,
                             fix="add one row per RBP: rbp, path, cell_line")
    return out


def load_peaks(source: str | os.PathLike, filters: PeakFilters = PeakFilters(),
               contigs=None, on_missing_contig: str = "warn",
               rbps: list[str] | None = None) -> list[PeakSet]:
    """Read, check and filter the peaks of every RBP in a manifest or folder.

    Parameters
    ----------
    source : manifest TSV or folder
    filters : :class:`PeakFilters`
    contigs : FASTA contig names; peaks are renamed onto them (None: no check)
    on_missing_contig : ``"warn"`` or ``"error"`` for peaks on contigs not in ``contigs``
    rbps : keep only these RBPs (labels or names)

    Returns
    -------
    list of :class:`PeakSet`, in manifest order; RBPs with fewer than ``filters.min_peaks``
    peaks after filtering are left out with a warning. Labels are the RBP names, or
    ``RBP_cellline`` where an RBP has several cell lines.
    """
    sources = peak_sources(source)
    counts = pd.Series([s[0] for s in sources]).value_counts()
    out = []
    for rbp, path, cell in sources:
        label = f"{rbp}_{cell}" if counts[rbp] > 1 and cell else rbp
        if rbps is not None and label not in rbps and rbp not in rbps:
            continue
        peakset = read_peak_file(path, rbp=rbp, cell_line=cell)
        peakset.label = label
        if contigs is not None:
            peakset = match_contigs(peakset, contigs, on_missing_contig)
        peakset = apply_filters(peakset, filters)
        if len(peakset) < filters.min_peaks:
            log.warning("skipping RBP %s: %d peaks after filtering (%s), fewer than "
                        "--min-peaks %d", label, len(peakset),
                        ", ".join(f"{k} -{v}" for k, v in peakset.dropped.items()) or "none",
                        filters.min_peaks)
            continue
        log.info("peaks %s: %d of %d kept (%s)", label, len(peakset), peakset.n_read,
                 ", ".join(f"{k} -{v}" for k, v in peakset.dropped.items()) or "none dropped")
        out.append(peakset)
    labels = [p.label for p in out]
    if len(set(labels)) != len(labels):
        dup = sorted({x for x in labels if labels.count(x) > 1})
        raise InputFileError(f"RBP {dup[0]} is listed twice", path=source,
                             fix="give each row a distinct rbp or cell_line")
    if rbps is not None:
        unknown = [r for r in rbps if r not in labels and r not in {p.rbp for p in out}]
        if unknown:
            raise VarbindError(f"--rbps: {', '.join(unknown)} not among the peaks in {source} "
                               f"(or skipped by the filters); known: {', '.join(labels)}")
    if not out:
        raise VarbindError(f"no RBP in {source} has at least --min-peaks {filters.min_peaks} "
                           "peaks after filtering; lower --min-peaks or relax the filters")
    return out


#: DeepRiPe's peak-count groups (PAR-CLIP): low < 15,000 <= medium < 100,000 <= high.
DEEPRIPE_GROUP_THRESHOLDS = (15_000, 100_000)


def rbp_groups(counts: dict[str, int], thresholds: tuple[int, int] | str = DEEPRIPE_GROUP_THRESHOLDS
               ) -> dict[str, str]:
    """low / medium / high group of each RBP by its number of peaks.

    Parameters
    ----------
    counts : {rbp: number of peaks}
    thresholds : ``(a, b)``: low ``< a`` <= medium ``< b`` <= high (DeepRiPe: 15,000 and
        100,000), or ``"tertiles"`` to split the given RBPs into three groups of similar size
    """
    if isinstance(thresholds, str):
        if thresholds != "tertiles":
            raise ValueError(f"thresholds must be two numbers or 'tertiles', got {thresholds!r}")
        values = np.array(sorted(counts.values()))
        cut = np.quantile(values, [1 / 3, 2 / 3]) if len(values) else (0, 0)
        a, b = cut[0], cut[1]
        return {r: ("low" if c <= a else "medium" if c <= b else "high")
                for r, c in counts.items()}
    a, b = thresholds
    return {r: ("low" if c < a else "medium" if c < b else "high") for r, c in counts.items()}


def parse_thresholds(text: str) -> tuple[int, int] | str:
    """``"15000,100000"`` or ``"tertiles"`` (the ``--group-thresholds`` option)."""
    if text.strip().lower() == "tertiles":
        return "tertiles"
    parts = re.split(r"[,\s]+", text.strip())
    try:
        a, b = (int(float(p)) for p in parts)
    except ValueError:
        raise VarbindError(f"--group-thresholds {text!r}: expected two peak counts such as "
                           "15000,100000, or 'tertiles'") from None
    if not 0 < a < b:
        raise VarbindError(f"--group-thresholds {text!r}: need 0 < low < high")
    return a, b
