"""Training datasets from labelled sequences (GraphProt / RNAProt / iDeepE style FASTA).

``varbind dataset --kind per-rbp --positives pos.fa.gz --negatives neg.fa.gz`` writes the
per-RBP HDF5 layout (one group named after the RBP, labels (N, 1)) from FASTA records instead
of genomic peaks, so every architecture trains from it through the same path.

- FASTA or gzipped FASTA; DNA or RNA letters (``U`` reads as ``T``); ``N`` allowed.
- GraphProt marks the binding site (the "viewpoint") in upper case inside lower-case flanks;
  each record's window is centered on its viewpoint, or on the whole sequence when the record
  has no case difference. The viewpoint is kept as a per-base mask: under the varbind recipe
  models read it as an input channel (``viewpoint``), so they know which bases the CLIP site
  covers and which are flank.
- Records are padded with ``N`` (or cropped) to one window, by default the longest record
  (the published methods see the whole ~375-nt sequence).
- With test files, they are the test split; without, a random ``test_fraction`` of the
  training records is held out. Validation is a random ``val_fraction`` of the rest.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from varbind import __version__
from varbind.encoding import N_CODE, encode
from varbind.errors import InputFileError, VarbindError
from varbind.files import atomic_output, file_digest, open_text

log = logging.getLogger(__name__)

SPLITS = {"train": 0, "validation": 1, "test": 2}
_ALLOWED = re.compile(r"[^ACGTUNacgtun]")


@dataclass
class FastaRecord:
    """One record: ``name`` (header up to the first space), ``seq`` as written, ``line``
    (1-based line of its header)."""

    name: str
    seq: str
    line: int

    @property
    def has_viewpoint(self) -> bool:
        """True when the record mixes upper and lower case (GraphProt's viewpoint)."""
        return any(c.isupper() for c in self.seq) and any(c.islower() for c in self.seq)


def read_fasta(path: str | os.PathLike) -> list[FastaRecord]:
    """Read a FASTA (plain or gzip) and check every record.

    Raises :class:`InputFileError` naming the file, line and record for a missing or empty
    file, a record without sequence, or letters other than ``ACGTUN`` (either case).
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError("FASTA file not found", path=path, fix="check the path")
    records: list[FastaRecord] = []
    name, line_no, parts = None, 0, []

    def close():
        if name is None:
            return
        seq = "".join(parts)
        if not seq:
            raise InputFileError(f"record {name!r} has no sequence", path=path, line=line_no,
                                 fix="remove the record or add its sequence")
        records.append(FastaRecord(name, seq, line_no))

    try:
        with open_text(path) as fh:
            for i, raw in enumerate(fh, start=1):
                text = raw.strip()
                if not text:
                    continue
                if text.startswith(">"):
                    close()
                    header = text[1:].split()
                    name = header[0] if header else f"record_{len(records) + 1}"
                    line_no, parts = i, []
                    continue
                if name is None:
                    raise InputFileError("sequence before the first '>' header", path=path,
                                         line=i, fix="is this a FASTA file?")
                bad = _ALLOWED.search(text)
                if bad:
                    raise InputFileError(f"record {name!r} has the letter {bad.group()!r} "
                                         f"(column {bad.start() + 1})", path=path, line=i,
                                         fix="use only A, C, G, T/U and N")
                parts.append(text)
            close()
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise InputFileError(f"cannot read FASTA ({exc})", path=path,
                             fix="pass a plain or gzipped FASTA file") from None
    if not records:
        raise InputFileError("no FASTA records", path=path, fix="pass a non-empty FASTA file")
    return records


def viewpoint_center(seq: str) -> int:
    """Index of the window center for a record: the middle of its upper-case span when it
    mixes cases (GraphProt's viewpoint), else the middle of the whole sequence."""
    upper = [i for i, c in enumerate(seq) if c.isupper()]
    if upper and len(upper) < len(seq):
        return (upper[0] + upper[-1] + 1) // 2
    return len(seq) // 2


def _placement(rec: FastaRecord, width: int) -> tuple[int, int, int]:
    """``(start, lo, hi)``: the window index of the record's base 0 when its center lands
    on ``width // 2``, and the window span ``[lo, hi)`` the record covers."""
    start = width // 2 - viewpoint_center(rec.seq)
    return start, max(0, start), min(width, start + len(rec.seq))


def centered_codes(records: list[FastaRecord], width: int) -> np.ndarray:
    """Codes of each record placed so that its center lands on index ``width // 2``.

    Returns
    -------
    np.ndarray, shape (N, width) uint8; positions outside a record are ``N`` (4), a record
    longer than the window on either side of its center is cropped there.
    """
    out = np.full((len(records), width), N_CODE, dtype=np.uint8)
    for row, rec in enumerate(records):
        start, lo, hi = _placement(rec, width)
        if hi > lo:
            out[row, lo:hi] = encode(rec.seq)[lo - start:hi - start]
    return out


def viewpoint_length(rec: FastaRecord) -> int:
    """Bases of the record's viewpoint: its upper-case span, or the whole record."""
    return sum(c.isupper() for c in rec.seq) if rec.has_viewpoint else len(rec.seq)


def centered_viewpoints(records: list[FastaRecord], width: int) -> np.ndarray:
    """Each record's viewpoint, placed as :func:`centered_codes` places its bases.

    Returns
    -------
    np.ndarray, shape (N, width) uint8: 1 on the record's upper-case bases (every base of a
    record with no case difference), 0 on its flanks and outside it.
    """
    out = np.zeros((len(records), width), dtype=np.uint8)
    for row, rec in enumerate(records):
        start, lo, hi = _placement(rec, width)
        marked = np.fromiter((c.isupper() or not rec.has_viewpoint for c in rec.seq),
                             dtype=np.uint8, count=len(rec.seq))
        if hi > lo:
            out[row, lo:hi] = marked[lo - start:hi - start]
    return out


@dataclass
class SequenceSources:
    """The FASTA files of one sequence dataset (``test_*`` optional, both or neither)."""

    positives: Path
    negatives: Path
    test_positives: Path | None = None
    test_negatives: Path | None = None

    def __post_init__(self):
        for name in ("positives", "negatives", "test_positives", "test_negatives"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, Path(value))
        if (self.test_positives is None) != (self.test_negatives is None):
            raise VarbindError("give both --test-positives and --test-negatives, or neither",
                               fix="add the missing test file")

    def files(self) -> dict[str, Path]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class SequenceOptions:
    """name : the RBP (default: the positives file name up to its first dot);
    seq_length : window (None: the longest record); test_fraction (without test files) and
    val_fraction : shares of the training records; seed : the split's random seed."""

    name: str | None = None
    seq_length: int | None = None
    test_fraction: float = 0.1
    val_fraction: float = 0.1
    seed: int = 0
    extra: dict = field(default_factory=dict)

    def check(self) -> None:
        if self.seq_length is not None and self.seq_length <= 0:
            raise VarbindError(f"--seq-length must be positive, got {self.seq_length}")
        for key in ("test_fraction", "val_fraction"):
            if not 0 < float(getattr(self, key)) < 1:
                raise VarbindError(f"--{key.replace('_', '-')} must be in (0, 1), "
                                   f"got {getattr(self, key)}")


def default_name(path: Path) -> str:
    """``PARCLIP_PUM2.train.positives.fa.gz`` -> ``PARCLIP_PUM2``."""
    return path.name.split(".")[0] or path.name


def _check_same_format(pos: list[FastaRecord], neg: list[FastaRecord], pos_path: Path,
                       neg_path: Path) -> None:
    """Positives and negatives must both mark viewpoints, or neither (else the window
    centering alone would tell the classes apart)."""
    pos_vp = any(r.has_viewpoint for r in pos)
    neg_vp = any(r.has_viewpoint for r in neg)
    if pos_vp != neg_vp:
        marked, plain = (pos_path, neg_path) if pos_vp else (neg_path, pos_path)
        first = next(r for r in (pos if pos_vp else neg) if r.has_viewpoint)
        raise InputFileError(f"{marked} marks viewpoints in upper case (record {first.name!r}"
                             f", line {first.line}) but {plain} has no case difference in any "
                             "record", path=plain,
                             fix="give both files in the same format (GraphProt viewpoints in "
                                 "both, or plain sequences in both)")


def _split_codes(n_train: int, n_test: int, options: SequenceOptions) -> np.ndarray:
    """Split codes for ``n_train`` training records followed by ``n_test`` test records."""
    rng = np.random.default_rng([options.seed, 12])
    codes = np.zeros(n_train + n_test, dtype=np.uint8)
    codes[n_train:] = SPLITS["test"]
    order = rng.permutation(n_train)
    n_test_drawn = 0 if n_test else max(1, round(options.test_fraction * n_train))
    codes[order[:n_test_drawn]] = SPLITS["test"]
    n_val = max(1, round(options.val_fraction * (n_train - n_test_drawn)))
    codes[order[n_test_drawn:n_test_drawn + n_val]] = SPLITS["validation"]
    return codes


@dataclass
class SequenceSummary:
    path: Path
    name: str
    seq_length: int
    rows: dict[str, int]
    positives: dict[str, int]


def build_sequence_dataset(output: str | os.PathLike, sources: SequenceSources,
                           options: SequenceOptions | None = None) -> SequenceSummary:
    """Write a per-RBP training HDF5 (one group, labels (N, 1)) from FASTA files.

    The group holds ``seq`` (N, L) u1, ``labels`` (N, 1) u1, ``split`` (N,) u1, ``record``
    (the FASTA names) and ``length`` (each record's length); when the records mark
    GraphProt viewpoints also ``viewpoint`` (N, L) u1 (1 on upper-case bases) and the
    attribute ``viewpoint_span`` (the training records' median viewpoint length). The root's
    ``source`` attribute is ``"sequences"``. Written atomically.
    """
    options = options or SequenceOptions()
    options.check()
    name = options.name or default_name(sources.positives)
    pos, neg = read_fasta(sources.positives), read_fasta(sources.negatives)
    _check_same_format(pos, neg, sources.positives, sources.negatives)
    tpos = tneg = []
    if sources.test_positives is not None:
        tpos, tneg = read_fasta(sources.test_positives), read_fasta(sources.test_negatives)
        _check_same_format(tpos, tneg, sources.test_positives, sources.test_negatives)
        _check_same_format(pos, tpos, sources.positives, sources.test_positives)
    train, test = pos + neg, tpos + tneg
    records = train + test
    width = options.seq_length or max(len(r.seq) for r in records)
    labels = np.array([1] * len(pos) + [0] * len(neg) + [1] * len(tpos) + [0] * len(tneg),
                      dtype=np.uint8)[:, None]
    split = _split_codes(len(train), len(test), options)
    if not (labels[split == SPLITS["validation"]].any() and labels[split == 2].any()):
        log.warning("%s: the validation or test split has no positive record", name)
    seq = centered_codes(records, width)
    viewpoints = any(r.has_viewpoint for r in records)
    output = Path(output)
    with atomic_output(output) as tmp:
        import h5py

        with h5py.File(tmp, "w") as h5:
            g = h5.create_group(name)
            g.create_dataset("seq", data=seq, compression="gzip", compression_opts=4,
                             chunks=(min(len(seq), 4096), width))
            g.create_dataset("labels", data=labels)
            g.create_dataset("split", data=split)
            g.create_dataset("record", data=np.array([r.name.encode() for r in records]))
            g.create_dataset("length", data=np.array([len(r.seq) for r in records], np.int32))
            if viewpoints:
                g.create_dataset("viewpoint", data=centered_viewpoints(records, width),
                                 compression="gzip", compression_opts=4,
                                 chunks=(min(len(seq), 4096), width))
                g.attrs["viewpoint_span"] = int(np.median([viewpoint_length(r) for r in train]))
            g.attrs["rbp"] = name
            _root_attrs(h5, name, width, sources, options)
    rows = {k: int((split == v).sum()) for k, v in SPLITS.items()}
    positives = {k: int(labels[split == v].sum()) for k, v in SPLITS.items()}
    log.info("%s: %d records in %d-nt windows (%s)", name, len(records), width,
             ", ".join(f"{k} {v}" for k, v in rows.items()))
    return SequenceSummary(output, name, width, rows, positives)


def _root_attrs(h5, name: str, width: int, sources: SequenceSources,
                options: SequenceOptions) -> None:
    files = {k: {"path": str(p), "digest": file_digest(p)} for k, p in sources.files().items()}
    params = {**asdict(options), "name": name, "seq_length": width}
    h5.attrs["kind"] = "per-rbp"
    h5.attrs["source"] = "sequences"
    h5.attrs["rbps"] = json.dumps([name])
    h5.attrs["rbp_groups"] = json.dumps({})
    h5.attrs["seq_length"] = int(width)
    h5.attrs["region_length"] = 0
    h5.attrs["split_codes"] = json.dumps(SPLITS)
    h5.attrs["varbind_version"] = __version__
    h5.attrs["provenance"] = json.dumps({"varbind_version": __version__, "inputs": files,
                                         "parameters": params})


def is_sequence_dataset(path: str | os.PathLike) -> bool:
    """True for a training HDF5 written by :func:`build_sequence_dataset`."""
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            return str(h5.attrs.get("source", "")) == "sequences"
    except OSError:
        return False


def dataset_defaults(config, data):
    """A TrainConfig with the defaults a dataset implies.

    Inputs not chosen (``config.inputs`` None): the architecture's default kinds that the
    dataset provides (sequence and structure always; region and expression when it holds
    them); under the varbind recipe an architecture's ``varbind_inputs`` where it has them
    (ResidualBind: sequence and region, not the paper's sequence only), and the viewpoint
    when the dataset's records mark one (GraphProt). The window (``config.seq_length``
    None) of a sequence dataset, and of any dataset for an architecture with
    ``varbind_inputs`` under the varbind recipe: the dataset's full width (ResidualBind's
    paper window of 41 nt would not even cover a 50-nt CLIP bin); of a peaks dataset for an
    architecture with ``varbind_seq_length`` under the varbind recipe: that window, or the
    dataset's if narrower (POLARIS: the central 500 nt of its 1-kb windows).
    """
    from dataclasses import replace

    from varbind.training.models import check_architecture

    info = check_architecture(config.arch)
    varbind_recipe = config.recipe == "varbind"
    own = info.varbind_inputs if varbind_recipe else None
    batch = data.splits["train"].batch
    changes = {"viewpoint_span": data.viewpoint_span}
    if config.inputs is None:
        have = {"region": batch.region is not None, "expression": batch.expression is not None}
        kinds = tuple(k for k in (own or info.default_inputs) if have.get(k, True))
        if varbind_recipe and data.viewpoint_span:
            kinds = ("sequence", "viewpoint") + tuple(k for k in kinds if k != "sequence")
        changes["inputs"] = kinds
    if "viewpoint" in (config.inputs or ()) and not data.viewpoint_span:
        raise VarbindError("--inputs viewpoint needs binding-site viewpoints but the dataset "
                           "has none", fix="build the dataset from FASTA records with "
                                           "GraphProt's upper-case viewpoints, or drop "
                                           "'viewpoint' from --inputs")
    if config.seq_length is None and (data.sequences or own):
        changes["seq_length"] = data.seq_length
    elif config.seq_length is None and varbind_recipe and info.varbind_seq_length:
        changes["seq_length"] = min(info.varbind_seq_length, data.seq_length)
    return replace(config, **changes)
