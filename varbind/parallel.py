"""Genome-wide scoring on Dask: partitions, shards, ordered merge and resume.

The scoring core (:func:`varbind.score.score_vcf`) stays the one function that does the
work. This module cuts the VCF into partitions through its index, runs that function once
per partition on Dask workers (each partition's output is a *shard*, finished by a
completion marker that records the shards' digests), and merges the shards in order into one
bgzipped, tabix-indexed VCF and one TSV that equal the single-process output outside the
``##varbind_run`` header lines.

It is the only core module that imports dask, and it imports it inside functions, so that
``varbind --help`` stays fast.

Coordinates: partitions are 1-based, inclusive, as in VCF ``POS`` and region strings.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from varbind.errors import InputFileError, VarbindError
from varbind.files import atomic_output, file_digest

log = logging.getLogger(__name__)

#: Default partition width in bases. The plan depends only on the VCF and this width (not
#: on the number of workers), so that ``--resume`` finds the same partitions again.
DEFAULT_PARTITION_SIZE = 2_000_000
#: End of the last partition of a contig: past any real contig, so no record is left out.
OPEN_END = 2**31 - 2
RUN_HEADER_PREFIX = "##varbind_run"
SHARD_PREFIX = "part-"
MARKER_SUFFIX = ".done.json"
SHARD_MANIFEST = "plan.json"
#: Options that name this run's outputs or its display; they do not change a shard's content.
RUN_SPECIFIC_FIELDS = frozenset({"output", "table", "summary", "region", "progress", "command"})
#: Environment variables that bound the threads of numerical libraries and TensorFlow.
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                   "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "TF_NUM_INTRAOP_THREADS")

ScoreFunction = Callable[[object], object]


# --------------------------------------------------------------------------- partitions


@dataclass(frozen=True)
class Partition:
    """One piece of the VCF: the records of ``contig`` whose POS lies in ``[start, end]``.

    ``first`` marks the first partition of a contig (or of the user's region): it owns
    every record its region query returns, including those that start before ``start``.
    """

    index: int
    contig: str
    start: int
    end: int
    first: bool = True

    @property
    def name(self) -> str:
        return f"{SHARD_PREFIX}{self.index:05d}"

    @property
    def region(self) -> str:
        contig = f"{{{self.contig}}}" if ":" in self.contig else self.contig
        return f"{contig}:{self.start}-{self.end}"

    def owns(self, pos: int) -> bool:
        """Whether a record at 1-based ``pos`` returned by this partition's query is its own."""
        return self.first or pos >= self.start

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


_REGION_PATTERN = r"\{(?P<braced>[^}]+)\}(?::(?P<bspan>.*))?|(?P<plain>[^:]+)(?::(?P<span>.*))?"


def parse_region(region: str) -> tuple[str, int, int]:
    """``chr1``, ``chr1:100``, ``chr1:100-``, ``chr1:100-2,000``, ``{HLA:1}:5-9`` -> (contig,
    start, end), 1-based inclusive; open ends become 1 and :data:`OPEN_END`."""
    text = region.strip()
    match = re.fullmatch(_REGION_PATTERN, text)
    if not match or not text:
        raise VarbindError(f"cannot read region {region!r}",
                           fix="write it as CONTIG, CONTIG:START-END or CONTIG:START-")
    contig = match["braced"] or match["plain"]
    span = (match["bspan"] if match["braced"] else match["span"]) or ""
    span = span.replace(",", "")
    if not span:
        return contig, 1, OPEN_END
    bounds = re.fullmatch(r"(\d+)(?:-(\d*))?", span)
    if not bounds:
        raise VarbindError(f"cannot read region {region!r}",
                           fix="write it as CONTIG, CONTIG:START-END or CONTIG:START-")
    start = int(bounds[1])
    end = int(bounds[2]) if bounds[2] else OPEN_END  # "chr1:100" and "chr1:100-" run to the end
    if end < start or start < 1:
        raise VarbindError(f"region {region!r} is empty or starts before 1",
                           fix="give START >= 1 and END >= START")
    return contig, start, end


def plan_partitions(vcf: str | os.PathLike, partition_size: int = DEFAULT_PARTITION_SIZE,
                    region: str | None = None) -> list[Partition]:
    """Cut an indexed VCF/BCF into partitions through its index.

    Windows of ``partition_size`` bases are laid over each contig that has records, in the
    order of the file; windows without records are dropped, and a boundary that a record
    spans (a deletion, a structural variant with END) is moved past that record, so that no
    record overlaps two partitions and none is scored twice. The last window of a contig is
    open-ended, so records past the contig's declared length are kept.

    Parameters
    ----------
    vcf : bgzipped VCF with a ``.tbi``/``.csi`` index, or BCF with ``.csi``
    partition_size : window width in bases
    region : restrict the plan to one region (``chr1:1-5000000``)

    Returns
    -------
    list of :class:`Partition`, in file order, indexed 0..n-1.
    """
    if partition_size < 1:
        raise VarbindError(f"partition size must be at least 1 base, got {partition_size}",
                           fix="pass --partition-size 2Mb or similar")
    with _open_indexed(vcf) as vf:
        contigs = _contigs_in_file_order(vf)
        lengths = {name: vf.header.contigs[name].length
                   for name in contigs if name in vf.header.contigs}
        bounds = None
        if region is not None:
            r_contig, r_start, r_end = parse_region(region)
            match = _match_contig(r_contig, contigs)
            if match is None:
                log.warning("region %s: contig %s has no records in %s", region, r_contig, vcf)
                return []
            contigs, bounds = [match], (r_start, r_end)
        partitions: list[Partition] = []
        for contig in contigs:
            lo, hi = bounds if bounds else (1, OPEN_END)
            length = lengths.get(contig) or 0
            cuts = list(range(lo + partition_size, min(hi, length) + 1, partition_size))
            cuts = _shift_cuts_past_spanning_records(vf, contig, cuts)
            starts = [lo] + cuts
            ends = [c - 1 for c in cuts] + [hi]
            for i, (start, end) in enumerate(zip(starts, ends, strict=True)):
                if not _has_records(vf, contig, start, end):
                    continue
                partitions.append(Partition(index=len(partitions), contig=contig, start=start,
                                            end=end, first=i == 0))
    # a dropped empty first window makes the next one first in practice: keep it exact
    fixed, seen = [], set()
    for p in partitions:
        fixed.append(dataclasses.replace(p, first=p.first or p.contig not in seen))
        seen.add(p.contig)
    return fixed


def _shift_cuts_past_spanning_records(vf, contig: str, cuts: list[int]) -> list[int]:
    """Move each cut (1-based first base of a new window) past records that span it."""
    out: list[int] = []
    for cut in cuts:
        while True:
            spanning = [rec.stop for rec in vf.fetch(contig, cut - 1, cut)
                        if rec.start < cut - 1]
            if not spanning:
                break
            cut = max(spanning) + 1  # 0-based exclusive stop -> first 1-based base after
        if not out or cut > out[-1]:
            out.append(cut)
    return out


def _has_records(vf, contig: str, start: int, end: int) -> bool:
    return next(iter(vf.fetch(contig, start - 1, end)), None) is not None


def _contigs_in_file_order(vf) -> list[str]:
    """Contigs with records, in the order the file holds them."""
    names = list(vf.index.keys())
    header_order = list(vf.header.contigs)
    if vf.is_bcf:  # CSI of a BCF lists header contigs; its records follow header order
        names = [n for n in header_order if n in set(names)]
    return [n for n in names if _has_records(vf, n, 1, OPEN_END)]


def _match_contig(name: str, contigs: Sequence[str]) -> str | None:
    from varbind.genome import ContigResolver

    return ContigResolver(contigs).resolve(name)


@contextlib.contextmanager
def _open_indexed(vcf: str | os.PathLike):
    import pysam

    try:
        vf = pysam.VariantFile(str(vcf))
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot read VCF ({exc})", path=vcf,
                             fix="check it is a VCF, VCF.gz or BCF file") from None
    try:
        if vf.index is None:
            raise InputFileError("VCF has no index", path=vcf,
                                 fix=f"run 'bcftools index -t {vcf}' (or let varbind index it)")
        yield vf
    finally:
        vf.close()


# --------------------------------------------------------------------------- the index


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


# --------------------------------------------------------------------------- shards


@dataclass(frozen=True)
class ShardPaths:
    """Where one partition's outputs go inside the shard folder."""

    vcf: Path | None
    table: Path | None
    summary: Path
    marker: Path
    attributions: Path | None = None

    @classmethod
    def for_partition(cls, shard_dir: Path, partition: Partition, vcf_suffix: str | None,
                      table_suffix: str | None, attributions: bool = False) -> ShardPaths:
        base = str(shard_dir / partition.name)
        return cls(vcf=Path(base + vcf_suffix) if vcf_suffix else None,
                   table=Path(base + table_suffix) if table_suffix else None,
                   summary=Path(base + ".summary.json"), marker=Path(base + MARKER_SUFFIX),
                   attributions=Path(base + ".attr.h5") if attributions else None)

    def files(self) -> dict[str, Path]:
        return {k: v for k, v in (("vcf", self.vcf), ("table", self.table),
                                  ("attributions", self.attributions)) if v is not None}


@dataclass
class ShardResult:
    """What a worker reports for one partition."""

    partition: Partition
    records: int
    seconds: float
    summary: dict
    worker: str = ""
    peak_rss: int = 0
    skipped: bool = False


def options_fingerprint(options, vcf: str | os.PathLike, explain=None) -> str:
    """Digest of everything that decides a shard's content: the input VCF and every other
    file an option names (path, size, modification time; folders file by file, e.g. a model
    set), every option except those that only name outputs or change the display, and the
    ``explain`` settings (:class:`varbind.explain.ExplainSettings`) when attributions are
    computed."""
    fields = {}
    if dataclasses.is_dataclass(options):
        fields = {f.name: getattr(options, f.name) for f in dataclasses.fields(options)
                  if f.name not in RUN_SPECIFIC_FIELDS}
    files = {name: _file_signature(value) for name, value in fields.items()
             if isinstance(value, str | os.PathLike) and Path(value).exists()}
    files["vcf"] = _file_signature(vcf)
    if explain is not None:
        fields["explain"] = (explain.min_delta, explain.explain_all, explain.options)
    text = json.dumps({"options": {k: repr(v) for k, v in fields.items()}, "files": files},
                      sort_keys=True)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _file_signature(path: str | os.PathLike) -> list:
    path = Path(path).resolve()
    members = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in members]


def read_marker(paths: ShardPaths, partition: Partition, fingerprint: str) -> ShardResult | None:
    """The completed shard's result if its marker matches this partition, these options and
    the shard files' digests; None if the shard must be (re)computed."""
    try:
        marker = json.loads(paths.marker.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if marker.get("partition") != partition.to_json() or marker.get("fingerprint") != fingerprint:
        return None
    digests = marker.get("files", {})
    for key, path in paths.files().items():
        if key not in digests or not path.exists() or file_digest(path) != digests[key]:
            return None
    return ShardResult(partition=partition, records=int(marker["records"]),
                       seconds=float(marker.get("seconds", 0.0)), summary=marker.get("summary", {}),
                       worker=marker.get("worker", ""), skipped=True)


def write_marker(paths: ShardPaths, result: ShardResult, fingerprint: str) -> None:
    """Write the completion marker last, atomically: its presence means the shard is whole."""
    marker = {
        "partition": result.partition.to_json(),
        "fingerprint": fingerprint,
        "files": {key: file_digest(path) for key, path in paths.files().items()},
        "records": result.records,
        "seconds": result.seconds,
        "summary": result.summary,
        "worker": result.worker,
    }
    with atomic_output(paths.marker) as tmp:
        tmp.write_text(json.dumps(marker, indent=1, default=str))


def partition_options(options, partition: Partition, paths: ShardPaths, vcf: Path):
    """The scoring options for one partition: same models and settings, this partition's
    region, the shard paths as outputs, no progress bar."""
    return dataclasses.replace(options, vcf=vcf, region=partition.region, output=paths.vcf,
                               table=paths.table, summary=paths.summary, progress=False)


def score_partition(options, partition: Partition, paths: ShardPaths, vcf: Path,
                    fingerprint: str, score_fn: ScoreFunction | None = None) -> ShardResult:
    """Score one partition and write its shards, then its completion marker (runs on a worker).

    ``score_fn(options)`` writes the VCF shard (and TSV shard) itself, atomically;
    the marker is written only after it returns. With an attribution shard in ``paths``,
    ``score_fn(options, attributions=path)`` writes that too (:class:`ExplainingScore`).
    """
    import resource

    score_fn = score_fn or default_score_function()
    started = time.perf_counter()
    shard_options = partition_options(options, partition, paths, vcf)
    if paths.attributions is not None:
        summary = score_fn(shard_options, attributions=paths.attributions)
    else:
        summary = score_fn(shard_options)
    summary = summary_to_dict(summary)
    records = summary.get("records")
    if not isinstance(records, int):  # a scoring function that does not count: read the shard
        records = count_owned_records(paths.vcf, partition) if paths.vcf is not None else 0
    result = ShardResult(
        partition=partition, records=records, seconds=time.perf_counter() - started,
        summary=summary, worker=_worker_name(),
        peak_rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    )
    write_marker(paths, result, fingerprint)
    return result


def default_score_function() -> ScoreFunction:
    return score_vcf_cached


#: Options that decide what :class:`varbind.score.Scorer` loads (genome, annotation,
#: expression, models); partitions that agree on them share one loaded Scorer per process.
LOADED_FIELDS = ("fasta", "models", "gtf", "expression", "rbps", "cell_type", "all_strands",
                 "annotation_cache")


def score_vcf_cached(options):
    """:func:`varbind.score.score_vcf` with the genome, annotation and models loaded once per
    worker process (kept in :data:`WORKER_CACHE`) rather than once per partition."""
    from varbind.score import score_vcf

    return score_vcf(options, scorer=cached_scorer(options))


def cached_scorer(options):
    """This worker process's :class:`varbind.score.Scorer` for ``options`` (loaded once)."""
    from varbind.score import Scorer

    key = ("scorer",) + tuple(repr(getattr(options, name, None)) for name in LOADED_FIELDS)
    scorer = WORKER_CACHE.get(key)
    if scorer is None:
        scorer = WORKER_CACHE[key] = Scorer(options)
        log.debug("worker %s loaded %d model(s)", os.getpid(), len(scorer.bundles))
    return scorer.with_options(options)


@dataclass(frozen=True)
class ExplainingScore:
    """The score function of a run with ``--explain``: scores a partition with the worker's
    cached Scorer and writes its attribution maps to ``attributions`` (the shard's HDF5);
    ``settings`` is the run's :class:`varbind.explain.ExplainSettings` (its ``out`` names the
    merged file in the VCF header)."""

    settings: object

    def __call__(self, options, attributions: str | os.PathLike | None = None):
        from varbind.explain import score_with_explanations

        return score_with_explanations(options, self.settings, scorer=cached_scorer(options),
                                       path=attributions)


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"pid:{os.getpid()}"


def summary_to_dict(summary) -> dict:
    """A run summary as a JSON-able dict (dataclass, ``to_json()``/``to_dict()``, dict)."""
    if summary is None:
        return {}
    if isinstance(summary, dict):
        return dict(summary)
    for method in ("to_json", "to_dict"):
        if hasattr(summary, method):
            out = getattr(summary, method)()
            return json.loads(out) if isinstance(out, str) else dict(out)
    if dataclasses.is_dataclass(summary):
        return dataclasses.asdict(summary)
    return {}


#: How run-summary fields combine across shards when they are not plain counts.
SUMMARY_RULES = {"models": "first", "rbps": "first", "outputs": "drop", "seconds": "drop",
                 "variants_per_second": "drop", "top_effects": "top"}
TOP_EFFECTS = 5


def combine_summaries(summaries: Sequence[dict]) -> dict:
    """Add up run summaries: counts add, nested dicts of counts merge by key, the model list
    is the first shard's, ``top_effects`` keeps the strongest over all shards (ties in shard
    order, as one run over the file keeps them); timings and outputs are left to the caller."""
    out: dict = {}
    tops: list = []
    for summary in summaries:
        for key, value in summary.items():
            rule = SUMMARY_RULES.get(key)
            if rule == "drop":
                continue
            if rule == "top":
                tops.extend(value)
            elif key not in out:
                out[key] = _copy_summary_value(value)
            elif rule == "first":
                continue
            elif isinstance(value, bool):
                out[key] = out[key] or value
            elif isinstance(value, int | float) and isinstance(out[key], int | float):
                out[key] = out[key] + value
            elif isinstance(value, dict) and isinstance(out[key], dict):
                out[key] = combine_summaries([out[key], value])
    if any("top_effects" in s for s in summaries):
        out["top_effects"] = sorted(tops, key=lambda e: -abs(e["delta"]))[:TOP_EFFECTS]
    for key, value in out.items():  # counts by reason in sorted order, as one run writes them
        if isinstance(value, dict) and all(isinstance(v, int) for v in value.values()):
            out[key] = dict(sorted(value.items()))
    return out


def _copy_summary_value(value):
    return combine_summaries([value]) if isinstance(value, dict) else value


# --------------------------------------------------------------------------- text shards


def _open_binary(path: Path):
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gz else open(path, "rb")


def _split_header(lines: Iterator[bytes], is_header: Callable[[bytes], bool]):
    header, first = [], None
    for line in lines:
        if is_header(line):
            header.append(line)
        else:
            first = line
            break
    return header, first


def count_owned_records(vcf: Path, partition: Partition) -> int:
    """Number of records of a VCF shard that belong to ``partition``."""
    n = 0
    with _open_binary(vcf) as fh:
        for line in fh:
            if line[:1] != b"#" and partition.owns(int(line.split(b"\t", 2)[1])):
                n += 1
    return n


def _copy_owned(first: bytes | None, rest, pos_column: int, partition: Partition,
                out) -> None:
    """Write the rows a partition owns. Rows are in POS order, so only a leading run of rows
    can start before the partition; from the first owned row on, the rest is copied in bulk."""
    line = first
    while line is not None:
        if line.strip() and partition.owns(int(line.split(b"\t", pos_column + 1)[pos_column])):
            out.write(line)
            for chunk in iter(lambda: rest.read(1 << 20), b""):
                out.write(chunk)
            return
        line = next(rest, None)


def _without_run_lines(header: list[bytes]) -> list[bytes]:
    return [h for h in header if not h.startswith(RUN_HEADER_PREFIX.encode())]


def _replace_run_lines(header: list[bytes], run_lines: Sequence[str] | None) -> list[bytes]:
    if run_lines is None:
        return header
    new = [(line.rstrip("\n") + "\n").encode() for line in run_lines]
    out, placed = [], False
    for h in header:
        if h.startswith(RUN_HEADER_PREFIX.encode()):
            if not placed:
                out.extend(new)
                placed = True
            continue
        if h.startswith(b"#CHROM") and not placed:
            out.extend(new)
            placed = True
        out.append(h)
    return out


def merge_vcf_shards(shards: Sequence[tuple[Partition, Path]], output: Path,
                     run_lines: Sequence[str] | None = None,
                     header_fix: Callable[[bytes, Partition], bytes] | None = None) -> None:
    """Concatenate VCF shards in partition order into ``output``.

    The header comes from the first shard with its ``##varbind_run`` lines replaced by
    ``run_lines``; every other shard's header must equal it outside those lines, after
    ``header_fix(line, partition)`` (which undoes what is partition-specific). Output
    ending in ``.gz`` is bgzipped and tabix-indexed; written atomically. From bgzipped
    shards, the BGZF blocks after a shard's header and first record are copied as they are,
    not decompressed and compressed again, so the merge runs at the speed of the disk.
    """
    reference = None
    compressed = _is_compressed_name(output)
    with atomic_output(output, suffixes=(".tbi",)) as tmp:
        with open(tmp, "wb") as raw:
            out = _BgzfWriter(raw) if compressed else _PlainWriter(raw)
            for partition, path in shards:
                with _shard_reader(path) as reader:
                    header, line = [], reader.readline()
                    while line[:1] == b"#":
                        header.append(line)
                        line = reader.readline()
                    if header_fix is not None:
                        header = [header_fix(h, partition) for h in header]
                    if reference is None:
                        reference = _without_run_lines(header)
                        out.write(b"".join(_replace_run_lines(header, run_lines)))
                    elif _without_run_lines(header) != reference:
                        raise VarbindError(
                            f"shard {path} has a different header from the first shard",
                            fix="delete the shard folder and run again without --resume")
                    while line and not (line.strip() and partition.owns(
                            int(line.split(b"\t", 2)[1]))):
                        line = reader.readline()  # rows that start before the partition
                    if line:
                        out.write(line)
                        reader.copy_rest(out)
            out.close()
        if compressed:
            _tabix(tmp)


#: The empty BGZF block that ends a bgzipped file.
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
_BGZF_MAX_INPUT = 0xff00  # uncompressed bytes per block, as htslib writes them


class _BgzfWriter:
    """Writes BGZF: text is deflated into blocks; :meth:`raw` appends whole blocks as they
    are (after closing the current one), so blocks copied from another BGZF file stay valid."""

    def __init__(self, fh, level: int = 6):
        self.fh = fh
        self.level = level
        self.pending = bytearray()

    def write(self, data: bytes) -> None:
        self.pending += data
        while len(self.pending) >= _BGZF_MAX_INPUT:
            self._block(bytes(self.pending[:_BGZF_MAX_INPUT]))
            del self.pending[:_BGZF_MAX_INPUT]

    def raw(self, block: bytes) -> None:
        self.flush()
        self.fh.write(block)

    def flush(self) -> None:
        if self.pending:
            self._block(bytes(self.pending))
            self.pending.clear()

    def close(self) -> None:
        self.flush()
        self.fh.write(BGZF_EOF)

    def _block(self, data: bytes) -> None:
        import struct
        import zlib

        deflate = zlib.compressobj(self.level, zlib.DEFLATED, -15)
        body = deflate.compress(data) + deflate.flush()
        header = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00"
        self.fh.write(header + struct.pack("<H", len(body) + 25) + body
                      + struct.pack("<II", zlib.crc32(data), len(data)))


class _PlainWriter:
    def __init__(self, fh):
        self.fh = fh
        self.raw = None  # blocks cannot be copied into plain text

    def write(self, data: bytes) -> None:
        self.fh.write(data)

    def close(self) -> None:
        pass


@contextlib.contextmanager
def _shard_reader(path: Path):
    with open(path, "rb") as fh:
        head = fh.read(18)
        fh.seek(0)
        bgzf = (len(head) == 18 and head[:4] == b"\x1f\x8b\x08\x04"
                and head[10:14] == b"\x06\x00BC")
        if bgzf:
            yield _BgzfReader(fh)
        else:
            with _open_binary(path) as text:
                yield _TextReader(text)


class _TextReader:
    """Lines of a plain or gzip shard, then the rest in bulk."""

    def __init__(self, fh):
        self.fh = fh

    def readline(self) -> bytes:
        return self.fh.readline()

    def copy_rest(self, out) -> None:
        for chunk in iter(lambda: self.fh.read(1 << 20), b""):
            out.write(chunk)


class _BgzfReader:
    """Lines of a bgzipped shard, decompressing block by block; :meth:`copy_rest` hands the
    rest of the current block to the writer as text and the later blocks as they are."""

    def __init__(self, fh):
        self.fh = fh
        self.buffer = b""
        self.pos = 0

    def _next_block(self) -> bytes | None:
        import struct

        head = self.fh.read(18)
        if not head:
            return None
        if len(head) < 18 or head[:4] != b"\x1f\x8b\x08\x04" or head[12:14] != b"BC":
            raise InputFileError("shard is not a valid BGZF file", path=self.fh.name,
                                 fix="delete the shard folder and run again")
        (bsize,) = struct.unpack("<H", head[16:18])
        return head + self.fh.read(bsize + 1 - 18)

    @staticmethod
    def _inflate(block: bytes) -> bytes:
        import zlib

        return zlib.decompress(block[18:-8], -15)

    def readline(self) -> bytes:
        while True:
            end = self.buffer.find(b"\n", self.pos)
            if end >= 0:
                line = self.buffer[self.pos:end + 1]
                self.pos = end + 1
                return line
            block = self._next_block()
            if block is None:
                line = self.buffer[self.pos:]
                self.buffer, self.pos = b"", 0
                return line
            self.buffer = self.buffer[self.pos:] + self._inflate(block)
            self.pos = 0

    def copy_rest(self, out) -> None:
        out.write(self.buffer[self.pos:])
        self.buffer, self.pos = b"", 0
        while (block := self._next_block()) is not None:
            if block[-4:] == b"\x00\x00\x00\x00":
                continue  # empty block (the EOF marker): the writer ends the file once
            if out.raw is None:
                out.write(self._inflate(block))
            else:
                out.raw(block)


def merge_tsv_shards(shards: Sequence[tuple[Partition, Path]], output: Path) -> int:
    """Concatenate TSV shards (text, ``.gz`` or ``.parquet``) in partition order; rows of
    records a partition does not own are dropped. Returns the number of rows written."""
    if output.suffix == ".parquet":
        return _merge_parquet(shards, output)
    rows = 0
    reference = None
    with atomic_output(output) as tmp:
        with _open_output(tmp, bgzip=output.name.endswith(".gz")) as out:
            for partition, path in shards:
                with _open_binary(path) as fh:
                    header, first = _split_header(fh, lambda b: b[:2] == b"##")
                    columns = first
                    first = next(fh, None)
                    if reference is None:
                        reference = (_without_run_lines(header), columns)
                        for line in header:
                            out.write(line)
                        if columns is not None:
                            out.write(columns)
                    elif (_without_run_lines(header), columns) != reference:
                        raise VarbindError(
                            f"shard {path} has different columns from the first shard",
                            fix="delete the shard folder and run again without --resume")
                    if columns is None:
                        continue
                    pos_column = columns.rstrip(b"\r\n").split(b"\t").index(b"pos")
                    counter = _CountingWriter(out)
                    _copy_owned(first, fh, pos_column, partition, counter)
                    rows += counter.lines
    return rows


def _merge_parquet(shards, output: Path) -> int:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    tables = []
    for partition, path in shards:
        table = pq.read_table(path)
        if not partition.first:
            table = table.filter(pc.greater_equal(table["pos"], partition.start))
        tables.append(table)
    merged = pa.concat_tables(tables) if tables else pa.table({})
    with atomic_output(output) as tmp:
        pq.write_table(merged, tmp)
    return merged.num_rows


def _is_compressed_name(path: Path) -> bool:
    return path.name.endswith((".gz", ".bgz"))


class _CountingWriter:
    """Passes bytes through and counts the lines written."""

    def __init__(self, out):
        self.out = out
        self.lines = 0

    def write(self, data: bytes) -> None:
        self.lines += data.count(b"\n")
        self.out.write(data)


@contextlib.contextmanager
def _open_output(path: Path, bgzip: bool):
    if bgzip:
        import pysam

        fh = pysam.BGZFile(str(path), "wb")
    else:
        fh = open(path, "wb")
    try:
        yield fh
    finally:
        fh.close()


def _tabix(path: Path) -> None:
    import pysam

    pysam.tabix_index(str(path), preset="vcf", force=True)


# --------------------------------------------------------------------------- Dask


def parse_dask_spec(spec: str) -> int:
    """``local`` -> one worker per core; ``local:N`` -> N workers."""
    match = re.fullmatch(r"local(?::(\d+))?", spec.strip())
    if not match:
        raise VarbindError(f"--dask {spec!r} not understood",
                           fix="use local or local:N (N workers), or --scheduler ADDRESS")
    n = int(match[1]) if match[1] else available_cores()
    if n < 1:
        raise VarbindError(f"--dask {spec!r} asks for no workers", fix="use local:N with N >= 1")
    return n


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def thread_environment(threads: int) -> dict[str, str]:
    """Environment that bounds a worker's numerical libraries and TensorFlow to ``threads``."""
    env = {name: str(threads) for name in THREAD_ENV_VARS}
    env["TF_NUM_INTEROP_THREADS"] = "1"
    return env


def worker_plugin(threads: int, gpus: int = 0, fast_exit: bool = False):
    """A Dask worker plugin that bounds the model's threads in each worker process and, when
    a job runs one worker per GPU, shows each worker only its own GPU.

    With ``fast_exit`` (workers of a cluster varbind started and is closing), a worker that
    has loaded TensorFlow ends its process as soon as it closes: TensorFlow's native shutdown
    otherwise keeps it alive until the nanny kills it seconds later.
    """
    from distributed import WorkerPlugin

    class VarbindWorkerPlugin(WorkerPlugin):
        name = "varbind-worker"

        def __init__(self, threads: int, gpus: int, fast_exit: bool):
            self.threads = threads
            self.gpus = gpus
            self.fast_exit = fast_exit

        def setup(self, worker):
            limit_threads(self.threads)
            if self.gpus > 1:
                pin_gpu(str(worker.name), self.gpus)

        def teardown(self, worker):
            import sys

            from distributed.core import Status

            closing = worker.status in (Status.closing, Status.closed,
                                        Status.closing_gracefully)
            if self.fast_exit and closing and "tensorflow" in sys.modules:
                import atexit

                atexit._run_exitfuncs()  # Python's own clean-up (multiprocessing, logging)
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(0)

    return VarbindWorkerPlugin(threads, gpus, fast_exit)


def pin_gpu(worker_name: str, gpus: int) -> str | None:
    """Show worker ``<name>-k`` of a job only GPU ``k`` of the job's GPUs (before TensorFlow
    starts in that process). Returns the device set, or None when the name has no index."""
    match = re.search(r"-(\d+)$", worker_name)
    if not match:
        return None
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    devices = visible.split(",") if visible else [str(i) for i in range(gpus)]
    device = devices[int(match[1]) % len(devices)]
    os.environ["CUDA_VISIBLE_DEVICES"] = device
    return device


#: Per-process cache of loaded inputs (see :func:`score_vcf_cached`): a worker process lives
#: across partitions, so each worker loads the models once.
WORKER_CACHE: dict = {}


def limit_threads(threads: int) -> None:
    """Bound this process's numerical threads: env vars for libraries not yet loaded, and
    TensorFlow's thread pools when TensorFlow is already imported and not yet running."""
    os.environ.update(thread_environment(threads))
    import sys

    tf = sys.modules.get("tensorflow")
    if tf is not None:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # TensorFlow already initialised in this process
            log.debug("TensorFlow already initialised; its thread pools stay as they are")


@dataclass
class ClusterSettings:
    """How to get a Dask cluster: ``dask="local:N"`` or ``scheduler="tcp://host:8786"``."""

    dask: str | None = "local"
    scheduler: str | None = None
    threads_per_worker: int | None = None
    memory_limit: str | None = "auto"
    dashboard_address: str | None = ":8787"
    local_directory: str | None = None

    def workers_and_threads(self) -> tuple[int, int]:
        n = parse_dask_spec(self.dask or "local")
        threads = self.threads_per_worker or max(1, available_cores() // n)
        if threads < 1:
            raise VarbindError(f"--threads-per-worker must be at least 1, got {threads}",
                               fix="pass a positive number")
        return n, threads


@contextlib.contextmanager
def dask_client(settings: ClusterSettings) -> Iterator[object]:
    """A ``distributed.Client``: on a new LocalCluster, or joined to ``settings.scheduler``.

    A LocalCluster runs N single-task worker processes; ``threads_per_worker`` bounds each
    worker's model threads (TensorFlow intra-op, BLAS, OpenMP) rather than running several
    partitions at once in one process, so a worker's memory holds one partition at a time.
    """
    from distributed import Client, LocalCluster

    if settings.scheduler:
        _dask_log_level(logging.WARNING)
        try:
            client = Client(settings.scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise VarbindError(f"cannot reach Dask scheduler {settings.scheduler} ({exc})",
                               fix="check the address (tcp://HOST:8786) and that it runs")\
                from None
        threads = settings.threads_per_worker
        try:
            if threads:
                client.register_plugin(worker_plugin(threads))
            log.info("joined Dask scheduler %s (%d workers); dashboard: %s",
                     settings.scheduler, len(client.scheduler_info()["workers"]),
                     client.dashboard_link)
            yield client
        finally:
            client.close()
        return
    n_workers, threads = settings.workers_and_threads()
    _dask_log_level(logging.WARNING)
    cluster = LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True,
        memory_limit=settings.memory_limit, env=thread_environment(threads),
        dashboard_address=settings.dashboard_address,
        local_directory=settings.local_directory, silence_logs=logging.ERROR,
    )
    try:
        client = Client(cluster)
        try:
            client.register_plugin(worker_plugin(threads, fast_exit=True))
            log.info("Dask LocalCluster: %d workers x %d threads; dashboard: %s",
                     n_workers, threads, client.dashboard_link)
            yield client
        finally:
            client.close()
    finally:
        _dask_log_level(logging.ERROR)  # workers slow to exit (TensorFlow) are not news
        cluster.close()


def _dask_log_level(level: int) -> None:
    """Keep distributed's own INFO chatter out of varbind's log unless asked (-vv)."""
    if log.isEnabledFor(logging.DEBUG):
        return
    names = ["distributed"] + [n for n in logging.root.manager.loggerDict
                               if n.startswith("distributed.")]
    for name in names:
        logging.getLogger(name).setLevel(level)


# --------------------------------------------------------------------------- the run


@dataclass
class ParallelSummary:
    """What a sharded run did, next to the scoring summary it adds up."""

    summary: dict
    partitions: int
    partitions_skipped: int
    records: int
    seconds: float
    merge_seconds: float
    variants_per_second: float
    peak_rss_per_worker: dict[str, int] = field(default_factory=dict)
    task_seconds: list[float] = field(default_factory=list)
    dashboard: str | None = None

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def default_shard_dir(output: Path) -> Path:
    """``<output>.shards`` beside the output."""
    return output.parent / f"{output.name}.shards"


def _suffix_of(path: Path, known: Sequence[str]) -> str:
    for suffix in known:
        if path.name.endswith(suffix):
            return suffix
    return "".join(path.suffixes) or ".out"


def score_parallel(options, *, client=None, cluster: ClusterSettings | None = None,
                   shard_dir: str | os.PathLike | None = None, resume: bool = False,
                   partition_size: int = DEFAULT_PARTITION_SIZE, keep_shards: bool = False,
                   score_fn: ScoreFunction | None = None, retries: int = 3,
                   progress: bool = True, run_lines: Sequence[str] | None = None,
                   task_resources: dict | None = None, explain=None) -> ParallelSummary:
    """Score ``options.vcf`` partition by partition on Dask and merge the shards.

    Parameters
    ----------
    options : scoring options (a dataclass with ``vcf``, ``output``, ``tsv``, ``region``);
        each partition runs ``score_fn(replace(options, region=..., output=shard, ...))``
    client : a ``distributed.Client`` to use; otherwise one is started from ``cluster``
    shard_dir : where shards and their markers go (default ``<output>.shards``)
    resume : keep shards whose marker matches (same partition, options, input and digests)
    partition_size : partition width in bases
    keep_shards : leave the shard folder after a successful merge
    score_fn : the scoring function (default :func:`varbind.score.score_vcf`)
    retries : extra attempts for a partition whose task raised; tasks of killed workers are
        rescheduled by Dask (up to ``distributed.scheduler.allowed-failures`` times)
    run_lines : ``##varbind_run`` header lines of this run, replacing the shards' own
    task_resources : Dask resources each partition holds (``{"partition": 1}`` on jobqueue
        workers started with ``--resources partition=1``: one partition per worker at a time)
    explain : :class:`varbind.explain.ExplainSettings` to also compute attributions: each
        partition writes an HDF5 shard (:class:`ExplainingScore`), merged into
        ``explain.out`` in partition order

    Returns
    -------
    :class:`ParallelSummary`
    """
    if client is None:
        with dask_client(cluster or ClusterSettings()) as own_client:
            return score_parallel(options, client=own_client, shard_dir=shard_dir,
                                  resume=resume, partition_size=partition_size,
                                  keep_shards=keep_shards, score_fn=score_fn, retries=retries,
                                  progress=progress, run_lines=run_lines,
                                  task_resources=task_resources, explain=explain)
    started = time.perf_counter()
    if explain is not None and score_fn is None:
        score_fn = ExplainingScore(explain)
    output = Path(options.output) if options.output else None
    table = Path(options.table) if options.table else None
    if output is None and table is None:
        raise VarbindError("no output given", fix="pass -o out.vcf.gz and/or --tsv out.tsv")
    shard_dir = Path(shard_dir) if shard_dir else default_shard_dir(output or table)
    shard_dir.mkdir(parents=True, exist_ok=True)
    vcf = ensure_index(options.vcf, shard_dir / "input")
    partitions = plan_partitions(vcf, partition_size, options.region)
    fingerprint = options_fingerprint(options, options.vcf, explain)
    paths = {p.index: ShardPaths.for_partition(
        shard_dir, p, _suffix_of(output, (".vcf.gz", ".vcf.bgz", ".vcf")) if output else None,
        _suffix_of(table, (".tsv.gz", ".tsv", ".parquet")) if table else None,
        attributions=explain is not None) for p in partitions}
    if not partitions:  # no records (or none in --region): one task writes the outputs
        log.warning("%s has no records%s; scoring it in one task", options.vcf,
                    f" in {options.region}" if options.region else "")
        return _score_in_one_task(client, options, score_fn, shard_dir, keep_shards, started,
                                  explain)
    _write_plan(shard_dir, partitions, fingerprint, resume)

    done: dict[int, ShardResult] = {}
    if resume:
        for p in partitions:
            result = read_marker(paths[p.index], p, fingerprint)
            if result is not None:
                done[p.index] = result
        log.info("resume: %d of %d partitions already complete", len(done), len(partitions))
    todo = [p for p in partitions if p.index not in done]
    done.update(_run_partitions(client, options, todo, paths, vcf, fingerprint, score_fn,
                                retries, progress, skipped=len(done), total=len(partitions),
                                resources=task_resources))

    merge_started = time.perf_counter()
    ordered = [done[p.index] for p in partitions]
    header_fix = _region_restorer(options.region)
    if output is not None:
        merge_vcf_shards([(p, paths[p.index].vcf) for p in partitions], output, run_lines,
                         header_fix=header_fix)
    if table is not None:
        merge_tsv_shards([(p, paths[p.index].table) for p in partitions], table)
    if explain is not None:
        from varbind.attr_store import merge_stores

        merge_stores([paths[p.index].attributions for p in partitions], explain.out)
    merge_seconds = time.perf_counter() - merge_started
    seconds = time.perf_counter() - started
    records = sum(r.records for r in ordered)
    result = ParallelSummary(
        summary=combine_summaries([r.summary for r in ordered]), partitions=len(partitions),
        partitions_skipped=sum(r.skipped for r in ordered), records=records, seconds=seconds,
        merge_seconds=merge_seconds, variants_per_second=records / seconds if seconds else 0.0,
        peak_rss_per_worker=_peaks(ordered),
        task_seconds=[r.seconds for r in ordered if not r.skipped],
        dashboard=getattr(client, "dashboard_link", None),
    )
    _write_summary(options, result, output, table, explain)
    if not keep_shards:
        shutil.rmtree(shard_dir, ignore_errors=True)
    return result


def _score_in_one_task(client, options, score_fn, shard_dir: Path, keep_shards: bool,
                       started: float, explain=None) -> ParallelSummary:
    kwargs = {} if explain is None else {"attributions": explain.out}
    summary = summary_to_dict(client.submit(score_fn or default_score_function(),
                                            dataclasses.replace(options, progress=False),
                                            pure=False, **kwargs).result())
    if not keep_shards:
        shutil.rmtree(shard_dir, ignore_errors=True)
    seconds = time.perf_counter() - started
    return ParallelSummary(summary=summary, partitions=0, partitions_skipped=0, records=0,
                           seconds=seconds, merge_seconds=0.0, variants_per_second=0.0,
                           dashboard=getattr(client, "dashboard_link", None))


def _peaks(results: Sequence[ShardResult]) -> dict[str, int]:
    peaks: dict[str, int] = {}
    for r in results:
        if not r.skipped:
            peaks[r.worker] = max(peaks.get(r.worker, 0), r.peak_rss)
    return peaks


def _region_restorer(region: str | None) -> Callable[[bytes, Partition], bytes]:
    """Header lines name the partition's region where the run named the user's (or none)."""
    def fix(line: bytes, partition: Partition) -> bytes:
        return line.replace(f"Region={partition.region}".encode(),
                            f"Region={region or '.'}".encode())
    return fix


def _write_summary(options, result: ParallelSummary, output: Path | None,
                   table: Path | None, explain=None) -> None:
    """The run summary JSON where a single-process run writes it (``<output>.summary.json``),
    with the sharded run's timings and a ``parallel`` section."""
    path = getattr(options, "summary", None) or Path(str(output or table) + ".summary.json")
    summary = dict(result.summary)
    summary["seconds"] = result.seconds
    summary["variants_per_second"] = result.variants_per_second
    summary["outputs"] = {k: str(v) for k, v in (("vcf", output), ("table", table),
                                                  ("summary", path),
                                                  ("attributions", explain and explain.out))
                          if v is not None}
    summary["parallel"] = {k: v for k, v in result.to_json().items() if k != "summary"}
    result.summary = summary
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(summary, indent=2, default=str) + "\n")


def _write_plan(shard_dir: Path, partitions: list[Partition], fingerprint: str,
                resume: bool) -> None:
    """Record the plan; without ``resume``, clear shards of earlier runs first."""
    if not resume:
        for old in shard_dir.glob(f"{SHARD_PREFIX}*"):
            old.unlink()
    with atomic_output(shard_dir / SHARD_MANIFEST) as tmp:
        tmp.write_text(json.dumps({"fingerprint": fingerprint,
                                   "partitions": [p.to_json() for p in partitions]}, indent=1))


def _run_partitions(client, options, todo: list[Partition], paths: dict[int, ShardPaths],
                    vcf: Path, fingerprint: str, score_fn, retries: int, progress: bool,
                    skipped: int, total: int, resources: dict | None = None
                    ) -> dict[int, ShardResult]:
    """Submit one task per partition and collect the results as they finish."""
    from distributed import as_completed
    from distributed.scheduler import KilledWorker
    from tqdm.auto import tqdm

    futures = {}
    for p in todo:
        future = client.submit(score_partition, options, p, paths[p.index], vcf, fingerprint,
                               score_fn, key=f"varbind-{p.name}-{fingerprint[7:19]}",
                               retries=retries, pure=False, priority=-p.index,
                               resources=resources)
        futures[future] = p
    results: dict[int, ShardResult] = {}
    started = time.perf_counter()
    records = 0
    bar = tqdm(total=total, initial=skipped, unit="partition", desc="partitions",
               disable=None if progress else True, leave=False)  # None: off when not a TTY
    try:
        for future in as_completed(futures):
            p = futures[future]
            try:
                result = future.result()
            except KilledWorker:
                raise VarbindError(
                    f"partition {p.region} killed its worker repeatedly (out of memory?)",
                    fix="lower --batch-size or --threads-per-worker, or give workers more "
                        "memory; --resume keeps the finished partitions") from None
            results[p.index] = result
            records += result.records
            rate = records / max(time.perf_counter() - started, 1e-9)
            bar.set_postfix_str(f"{rate:,.0f} variants/s")
            bar.update(1)
            log.debug("%s %s: %d records in %.1fs on %s", p.name, p.region, result.records,
                      result.seconds, result.worker)
    except BaseException:
        client.cancel(list(futures))
        raise
    finally:
        bar.close()
    elapsed = time.perf_counter() - started
    log.info("scored %d partitions (%d resumed), %d records, %.0f variants/s",
             len(results), skipped, records, records / elapsed if elapsed else 0.0)
    return results


def run_header_lines(command: str | None = None, **items) -> list[str]:
    """``##varbind_run`` lines for a sharded run, named as the scoring core names its own
    (``##varbind_runCommand``, ``##varbind_runDate``), plus the Dask settings
    (``dask="local:2"`` -> ``##varbind_runDask=local:2``)."""
    lines = []
    if command:
        lines.append(f"{RUN_HEADER_PREFIX}Command={command}")
    lines.append(f"{RUN_HEADER_PREFIX}Date={time.strftime('%Y-%m-%dT%H:%M:%S%z')}")
    for key, value in items.items():
        if value is not None:
            lines.append(f"{RUN_HEADER_PREFIX}{key[:1].upper()}{key[1:]}={value}")
    return lines


def parse_size(text: str | int) -> int:
    """``2000000``, ``500kb``, ``2Mb``, ``1.5M`` -> bases."""
    if isinstance(text, int):
        return text
    match = re.fullmatch(r"\s*([\d.]+)\s*([kKmMgG]?)[bB]?\s*", str(text))
    if not match:
        raise VarbindError(f"cannot read size {text!r}", fix="write e.g. 2000000, 500kb or 2Mb")
    scale = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}[match[2].lower()]
    value = int(float(match[1]) * scale)
    if value < 1:
        raise VarbindError(f"size {text!r} is below one base", fix="give a positive size")
    return value


def temporary_dir(prefix: str = "varbind-") -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
