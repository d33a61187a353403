"""Read GTF and GFF3 transcript models into flat tables of exonic parts and genes.

Handles GENCODE, Ensembl and RefSeq conventions, plain or gzip/bgzip compressed:

- feature types (case-insensitive) ``exon``, ``CDS``, ``UTR``, ``five_prime_utr``,
  ``three_prime_utr`` (also ``5UTR``/``3UTR``), ``start_codon``, ``stop_codon``; ``gene`` lines
  give gene names and types where present; every other feature type is ignored;
- GTF attributes ``gene_id``, ``transcript_id`` (both required on exonic lines),
  ``gene_name`` (or ``gene``), ``gene_type`` (or ``gene_biotype``);
- GFF3 attributes ``ID`` / ``Parent`` (comma-separated parents allowed) / ``Name``; an exonic
  line's parent is its transcript and the transcript's parent its gene. An exonic line whose
  parent is a gene (no transcript level) makes that gene its own single transcript.

The file is streamed through Arrow's CSV reader (gzip and bgzip aware) and the attributes are
pulled out with vectorised regular expressions (RE2, no per-line Python dicts as in
``pyranges.read_gtf``, which is 4-5x slower here); only the attributes used are kept, chunk by
chunk. A file with irregular lines is read again with pandas so that the error can name the
line. The result is cached by :mod:`varbind.annotations.index`.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from varbind.errors import InputFileError
from varbind.files import open_text

log = logging.getLogger(__name__)

#: Exonic feature types (lower case) and the part kind each becomes.
EXONIC_FEATURES = {
    "exon": "exon",
    "cds": "cds",
    "utr": "utr",
    "five_prime_utr": "utr",
    "three_prime_utr": "utr",
    "5utr": "utr",
    "3utr": "utr",
    "start_codon": "cds",
    "stop_codon": "cds",
}
GENE_FEATURES = {"gene", "ncrna_gene", "pseudogene"}
_COLUMNS = ["chrom", "source", "feature", "start", "end", "score", "strand", "frame", "attr"]


@dataclass
class ParsedAnnotation:
    """Flat tables from one annotation file.

    parts : DataFrame[chrom, start, end, strand, kind, transcript_id, gene_id]; 0-based
        half-open exonic parts, ``kind`` one of ``exon``, ``cds`` (CDS and start/stop codons),
        ``utr``.
    genes : DataFrame[gene_id, gene_name, gene_type] from gene lines or exonic lines.
    """

    parts: pd.DataFrame
    genes: pd.DataFrame


def sniff_format(path: str | os.PathLike) -> str:
    """``"gtf"`` or ``"gff3"``, from the first attribute columns (the extension breaks ties)."""
    path = Path(path)
    with open_text(path) as fh:
        for n, line in enumerate(fh):
            if n > 2000:
                break
            if line.startswith("##gff-version 3"):
                return "gff3"
            if line.startswith("#") or not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 9:
                continue
            attr = fields[8]
            if re.search(r'(^|;)\s*\w+ "', attr):
                return "gtf"
            if re.search(r"(^|;)\s*[\w.]+=", attr):
                return "gff3"
    name = path.name.lower().removesuffix(".gz")
    return "gff3" if name.endswith((".gff3", ".gff")) else "gtf"


def _read_chunks(path: Path, chunksize: int, keep_all: bool):
    """Chunks of the feature lines we use, coordinates 0-based half-open, checked.

    ``keep_all`` keeps every feature type (GFF3 needs the transcript lines for its hierarchy).
    Chunks keep the raw attribute column; callers reduce each chunk to the attributes they
    need, so a large file never sits in memory with its attribute text. The fast path reads
    coordinates as integers; a file where that fails is read again as text so that the bad
    line can be named.
    """
    fast = {"chrom": "category", "feature": "category", "strand": "category",
            "start": "int64", "end": "int64", "attr": object}
    done = 0
    try:
        for chunk in _chunks(path, chunksize, keep_all, fast):
            yield chunk
            done += 1
    except (ValueError, TypeError, OverflowError) as exc:
        if isinstance(exc, pd.errors.ParserError):
            raise _parse_error(path, exc) from None
        for n, chunk in enumerate(_chunks(path, chunksize, keep_all, str)):
            if n >= done:  # the same chunks as the fast path; skip those already given
                yield chunk


_SEQUENCE_LINE = re.compile(r"[A-Za-z*\-]+")


class _UseTextReader(Exception):
    """The Arrow reader met something only the line-numbering text reader can report."""


def _arrow_chunks(path: Path, keep_all: bool, block_size: int = 1 << 24):
    """Fast path: Arrow's streaming CSV reader (C++, gzip/bgzip aware), same chunks as
    :func:`_chunks`. Raises :class:`_UseTextReader` on anything irregular (a line without 9
    columns, a non-integer coordinate), and the caller reads the file again the slow way,
    which names the line."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    irregular: list[str] = []

    def on_invalid(row) -> str:
        text = (row.text or "").strip()
        # comments, and the sequences of a GFF3 ##FASTA section, are not features
        if text and not text.startswith(("#", ">")) and not _SEQUENCE_LINE.fullmatch(text):
            irregular.append(text)
        return "skip"

    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    text = {c: pa.string() for c in ("chrom", "feature", "strand", "attr")}
    try:
        reader = pcsv.open_csv(
            pa.input_stream(str(path), compression="gzip" if gz else None),
            read_options=pcsv.ReadOptions(column_names=_COLUMNS, block_size=block_size),
            parse_options=pcsv.ParseOptions(delimiter="\t", quote_char=False,
                                            invalid_row_handler=on_invalid),
            convert_options=pcsv.ConvertOptions(
                include_columns=["chrom", "feature", "start", "end", "strand", "attr"],
                column_types={**text, "start": pa.int64(), "end": pa.int64()},
                strings_can_be_null=False, quoted_strings_can_be_null=False))
        wanted = pa.array(sorted(set(EXONIC_FEATURES) | GENE_FEATURES))
        for batch in reader:
            if irregular:
                raise _UseTextReader
            feature = pc.utf8_lower(batch.column("feature"))
            keep = pc.invert(pc.starts_with(batch.column("chrom"), "#"))
            if not keep_all:
                keep = pc.and_(keep, pc.is_in(feature, value_set=wanted))
            batch = batch.filter(keep)
            feature = feature.filter(keep)
            chunk = pd.DataFrame({
                "chrom": _arrow_text(batch.column("chrom")), "feature": _arrow_text(feature),
                "start": batch.column("start").to_numpy(), "end": batch.column("end").to_numpy(),
                "strand": _arrow_text(batch.column("strand")),
                "attr": batch.column("attr").to_pandas(types_mapper=pd.ArrowDtype)})
            yield _check_chunk(chunk, path)
        if irregular:
            raise _UseTextReader
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        raise _UseTextReader from None


def _arrow_text(column) -> np.ndarray:
    """A low-cardinality Arrow string column as a numpy object array (one str per value)."""
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(column)
    values = np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    return values[encoded.indices.to_numpy(zero_copy_only=False)]


def _parse_error(path: Path, exc: Exception) -> InputFileError:
    return InputFileError(f"cannot parse the annotation ({str(exc).splitlines()[0]})",
                          path=path, fix="pass a tab-separated GTF or GFF3, plain or gzip")


def _plain(values: pd.Series) -> np.ndarray:
    """A (categorical) column as a numpy object array of str."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = np.asarray(values.cat.categories.astype(str), dtype=object)
        return cats[values.cat.codes.to_numpy()]
    return values.to_numpy(dtype=object)


def _chunks(path: Path, chunksize: int, keep_all: bool, dtype):
    wanted = set(EXONIC_FEATURES) | GENE_FEATURES
    try:
        with open_text(path) as fh:
            reader = pd.read_csv(
                fh, sep="\t", header=None, names=_COLUMNS, comment="#", dtype=dtype,
                chunksize=chunksize, quoting=3, keep_default_na=False, engine="c",
                usecols=["chrom", "feature", "start", "end", "strand", "attr"],
            )
            for chunk in reader:
                feature = pd.Series(_plain(chunk["feature"]), index=chunk.index, dtype=object)
                chunk = chunk.assign(feature=feature.str.lower(), chrom=_plain(chunk["chrom"]),
                                     strand=_plain(chunk["strand"]))
                if not keep_all:
                    chunk = chunk[chunk["feature"].isin(wanted).to_numpy()]
                yield _check_chunk(chunk, path)
    except (pd.errors.ParserError, UnicodeDecodeError, EOFError, OSError) as exc:
        raise _parse_error(path, exc) from None


def _check_chunk(chunk: pd.DataFrame, path: Path) -> pd.DataFrame:
    if chunk["start"].dtype.kind == "i" and chunk["end"].dtype.kind == "i":
        starts, ends = chunk["start"], chunk["end"]
    else:
        starts = pd.to_numeric(chunk["start"], errors="coerce")
        ends = pd.to_numeric(chunk["end"], errors="coerce")
    bad = chunk["attr"].isna() | chunk["attr"].eq("") | starts.isna() | ends.isna()
    if bad.any():
        row = chunk[bad].iloc[0]
        line = _find_line(path, lambda f: f[2].lower() == row["feature"]
                          and f[3] == str(row["start"]) and f[0] == row["chrom"], min_fields=1)
        raise InputFileError("expected 9 tab-separated columns with integer start and end",
                             path=path, line=line, fix="check the file is GTF or GFF3")
    exonic = chunk["feature"].isin(EXONIC_FEATURES)
    bad = exonic & ~chunk["strand"].isin(["+", "-"])
    if bad.any():
        row = chunk[bad].iloc[0]
        line = _find_line(path, lambda f: f[2].lower() == row["feature"] and f[0] == row["chrom"]
                          and f[6] == row["strand"] and f[3] == str(row["start"]))
        raise InputFileError(f"exonic feature with strand {row['strand']!r}", path=path,
                             line=line, fix="transcript features need strand '+' or '-'")
    chunk = chunk.assign(start=starts.astype(np.int64) - 1, end=ends.astype(np.int64))
    return chunk


def _find_line(path: Path, predicate, min_fields: int = 9) -> int | None:
    """1-based number of the first line whose tab-split fields satisfy ``predicate``."""
    with open_text(path) as fh:
        for n, line in enumerate(fh, start=1):
            if line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            try:
                if len(fields) >= min_fields and predicate(_pad(fields)):
                    return n
            except ValueError:
                continue
    return None


def _pad(fields: list[str]) -> list[str]:
    return fields + [""] * (9 - len(fields))


def _attr(attrs: pd.Series, key: str, fmt: str) -> pd.Series:
    """Value of attribute ``key`` on every line (NaN where absent), via pyarrow's RE2."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if fmt == "gtf":
        pattern = rf'(?:^|;)\s*{re.escape(key)}\s+"(?P<v>[^"]*)"'
    else:
        pattern = rf"(?:^|;)\s*{re.escape(key)}=(?P<v>[^;]*)"
    arr = pa.array(attrs, type=pa.string(), from_pandas=True)
    found = pc.extract_regex(arr, pattern=pattern)
    values = pc.if_else(found.is_valid(), pc.struct_field(found, [0]), pa.scalar(None, pa.string()))
    out = values.to_pandas()
    out.index = attrs.index
    return out


def _first(*series: pd.Series) -> pd.Series:
    out = series[0]
    for s in series[1:]:
        out = out.fillna(s)
    return out


def _reduce_gtf(chunk: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One GTF chunk to (exonic parts, gene info rows)."""
    attrs = chunk["attr"]
    gene_id = _attr(attrs, "gene_id", "gtf")
    exonic = chunk["feature"].isin(EXONIC_FEATURES)
    transcript_id = _attr(attrs[exonic], "transcript_id", "gtf").reindex(chunk.index)
    missing = exonic & (gene_id.isna() | transcript_id.isna())
    if missing.any():
        row = chunk[missing].iloc[0]
        key = "gene_id" if pd.isna(gene_id[missing].iloc[0]) else "transcript_id"
        line = _find_line(path, lambda f: f[2].lower() == row["feature"] and f[0] == row["chrom"]
                          and int(f[3]) - 1 == row["start"] and f[8] == row["attr"])
        hint = ("every exon/CDS/UTR line needs gene_id \"...\"; and transcript_id \"...\";"
                " if this is GFF3 (ID=...;Parent=...), name it .gff3")
        raise InputFileError(f"{row['feature']} line has no {key} attribute", path=path,
                             line=line, fix=hint)
    parts = pd.DataFrame({
        "chrom": chunk["chrom"][exonic], "start": chunk["start"][exonic],
        "end": chunk["end"][exonic], "strand": chunk["strand"][exonic],
        "kind": chunk["feature"][exonic].map(EXONIC_FEATURES),
        "transcript_id": transcript_id[exonic], "gene_id": gene_id[exonic],
    })
    # Names and types from one line per gene (its gene line if there is one).
    first = pd.DataFrame({"gene_id": gene_id, "is_gene": chunk["feature"].isin(GENE_FEATURES)})
    first = first.dropna(subset=["gene_id"]).sort_values("is_gene", ascending=False,
                                                         kind="stable")
    first = first[~first["gene_id"].duplicated()]
    attrs = attrs.loc[first.index]
    info = pd.DataFrame({
        "gene_id": first["gene_id"],
        "gene_name": _first(_attr(attrs, "gene_name", "gtf"), _attr(attrs, "gene", "gtf")),
        "gene_type": _first(_attr(attrs, "gene_type", "gtf"), _attr(attrs, "gene_biotype", "gtf")),
        "is_gene": first["is_gene"]})
    return parts, info


def _gene_info(info: pd.DataFrame) -> pd.DataFrame:
    """One row per gene id: name and type, gene lines first, then any line that names them."""
    info = info.dropna(subset=["gene_id"]).sort_values("is_gene", ascending=False, kind="stable")
    out = info.groupby("gene_id", sort=False).agg(
        gene_name=("gene_name", "first"), gene_type=("gene_type", "first"))
    out["gene_name"] = out["gene_name"].fillna(pd.Series(out.index, index=out.index))
    out["gene_type"] = out["gene_type"].fillna("")
    return out.reset_index()


def _reduce_gff3(chunk: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One GFF3 chunk to (exonic rows with their parent, hierarchy nodes)."""
    attrs = chunk["attr"]
    exonic = chunk["feature"].isin(EXONIC_FEATURES)
    parent = _attr(attrs, "Parent", "gff3")
    orphan = exonic & parent.isna()
    if orphan.any():
        row = chunk[orphan].iloc[0]
        line = _find_line(path, lambda f: f[2].lower() == row["feature"] and f[0] == row["chrom"]
                          and int(f[3]) - 1 == row["start"] and f[8] == row["attr"])
        raise InputFileError(f"{row['feature']} line has no Parent attribute", path=path,
                             line=line, fix="GFF3 exon/CDS/UTR lines need Parent=<transcript ID>;"
                             " if this is GTF (gene_id \"...\"), name it .gtf")
    ex = chunk.loc[exonic, ["chrom", "start", "end", "strand", "feature"]]
    ex = ex.assign(parent=parent[exonic].str.split(",")).explode("parent")
    # Non-exonic lines carrying an ID form the hierarchy (genes, mRNAs, transcripts, ...).
    attrs = attrs[~exonic]
    nodes = pd.DataFrame({
        "id": _attr(attrs, "ID", "gff3"), "parent": parent[~exonic].str.split(",").str[0],
        "name": _first(_attr(attrs, "Name", "gff3"), _attr(attrs, "gene_name", "gff3"),
                       _attr(attrs, "gene", "gff3")),
        "type": _first(_attr(attrs, "gene_type", "gff3"), _attr(attrs, "gene_biotype", "gff3"),
                       _attr(attrs, "biotype", "gff3"))}).dropna(subset=["id"])
    return ex, nodes


def _resolve_gff3(ex: pd.DataFrame, nodes: pd.DataFrame) -> ParsedAnnotation:
    """Exonic rows to transcripts and genes by climbing the Parent hierarchy."""
    nodes = nodes.drop_duplicates("id").set_index("id")
    tx = ex["parent"].to_numpy(dtype=object, copy=True)
    gene = nodes["parent"].reindex(tx).to_numpy(dtype=object, copy=True)
    # A parent that is not a known node, or that has no parent itself, is a gene-level id.
    top = pd.isna(gene)
    gene[top] = tx[top]
    for _ in range(3):  # climb deeper hierarchies (gene -> transcript -> sub-transcript)
        up = nodes["parent"].reindex(gene).to_numpy(dtype=object)
        has = ~pd.isna(up)
        if not has.any():
            break
        gene[has] = up[has]
    parts = pd.DataFrame({
        "chrom": ex["chrom"].to_numpy(), "start": ex["start"].to_numpy(),
        "end": ex["end"].to_numpy(), "strand": ex["strand"].to_numpy(),
        "kind": ex["feature"].map(EXONIC_FEATURES).to_numpy(),
        "transcript_id": tx, "gene_id": gene,
    })
    gene_ids = pd.unique(parts["gene_id"])
    genes = nodes.reindex(gene_ids)
    info = pd.DataFrame({"gene_id": gene_ids, "gene_name": genes["name"].to_numpy(),
                         "gene_type": genes["type"].to_numpy(), "is_gene": True})
    info["gene_id"] = info["gene_id"].str.replace(r"^gene[:-]", "", regex=True)
    parts["gene_id"] = parts["gene_id"].str.replace(r"^gene[:-]", "", regex=True)
    parts["transcript_id"] = parts["transcript_id"].str.replace(
        r"^(transcript:|rna-)", "", regex=True)
    return ParsedAnnotation(parts, _gene_info(info))


def read_annotation(path: str | os.PathLike, fmt: str | None = None,
                    chunksize: int = 500_000, progress: bool = False) -> ParsedAnnotation:
    """Parse a GTF or GFF3 file into exonic parts and gene info.

    Parameters
    ----------
    path : GTF or GFF3, plain or gzip/bgzip
    fmt : ``"gtf"``, ``"gff3"`` or None to sniff it
    progress : show a progress bar (lines read) on stderr

    Returns
    -------
    ParsedAnnotation
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError("annotation file not found", path=path,
                             fix="pass --gtf with an existing GTF or GFF3 file")
    fmt = fmt or sniff_format(path)
    reduce = _reduce_gff3 if fmt == "gff3" else _reduce_gtf
    import sys

    from tqdm import tqdm

    def read(chunks) -> list:
        pieces = []
        with tqdm(desc=f"reading {path.name}", unit=" lines", unit_scale=True, leave=False,
                  disable=not progress, file=sys.stderr) as bar:
            for chunk in chunks:
                pieces.append(reduce(chunk, path))
                bar.update(len(chunk))
        return pieces

    try:
        pieces = read(_arrow_chunks(path, fmt == "gff3"))
    except _UseTextReader:
        log.debug("%s: irregular lines; reading it again line by line", path)
        pieces = read(_read_chunks(path, chunksize, fmt == "gff3"))
    first = pd.concat([p[0] for p in pieces], ignore_index=True) if pieces else None
    if first is None or len(first) == 0:
        raise InputFileError("annotation has no exon, CDS or UTR lines", path=path,
                             fix="pass a transcript annotation (GENCODE, Ensembl or RefSeq)")
    second = pd.concat([p[1] for p in pieces], ignore_index=True)
    if fmt == "gff3":
        parsed = _resolve_gff3(first, second)
    else:
        parsed = ParsedAnnotation(first, _gene_info(second))
    log.debug("read %d exonic parts of %d genes from %s", len(parsed.parts),
              len(parsed.genes), path)
    return parsed
