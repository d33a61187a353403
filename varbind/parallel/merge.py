"""The ordered merge of shards into one VCF (bgzipped and tabix-indexed) and one table,
keeping only the records each partition owns; ``##varbind_run`` header lines are replaced."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from varbind.errors import VarbindError
from varbind.files import atomic_output
from varbind.parallel.bgzf import BgzfWriter, PlainWriter, open_binary, shard_reader

if TYPE_CHECKING:
    from varbind.parallel.partitions import Partition


RUN_HEADER_PREFIX = "##varbind_run"


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
    with open_binary(vcf) as fh:
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
            out = BgzfWriter(raw) if compressed else PlainWriter(raw)
            for partition, path in shards:
                with shard_reader(path) as reader:
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
                with open_binary(path) as fh:
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
