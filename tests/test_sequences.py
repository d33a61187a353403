"""Sequence datasets (``varbind dataset --positives/--negatives``): FASTA reading, viewpoint
centering, splits, one-line errors, and training every architecture from one."""

import gzip
import re

import h5py
import numpy as np
import pytest
from planted import TINY

from varbind.cli import main
from varbind.encoding import decode
from varbind.errors import InputFileError
from varbind.training.models import ARCHITECTURES
from varbind.training.sequences import (
    FastaRecord,
    SequenceOptions,
    SequenceSources,
    build_sequence_dataset,
    centered_codes,
    read_fasta,
    viewpoint_center,
)

MOTIF = "TGCATG"


def _write(path, records):
    text = "".join(f">{name};chr1,1,2,+\n{seq}\n" for name, seq in records)
    if str(path).endswith(".gz"):
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def _planted(tmp_path, n=60, seed=0):
    """GraphProt-style files: lower-case flanks around an upper-case viewpoint; positives
    carry MOTIF in the viewpoint. Lengths vary (60-76 nt)."""
    rng = np.random.default_rng(seed)

    def record(i, positive):
        flank = [decode(rng.integers(0, 4, int(rng.integers(25, 33)))).lower() for _ in "lr"]
        core = list(decode(rng.integers(0, 4, 10)))
        if positive:
            core[2:8] = MOTIF
        return f"r{i}", (flank[0] + "".join(core) + flank[1]).replace("t", "u")

    pos = _write(tmp_path / "RBPX.train.positives.fa.gz", [record(i, True) for i in range(n)])
    neg = _write(tmp_path / "RBPX.train.negatives.fa", [record(i, False) for i in range(n)])
    return pos, neg


def test_viewpoint_centering_and_rna_letters(tmp_path):
    path = _write(tmp_path / "a.fa", [("vp", "aaaaCCGGuuuuuuuuuu"), ("plain", "ACGUACGUA"),
                                      ("lower", "acgu")])
    recs = read_fasta(path)
    assert [r.name for r in recs] == ["vp;chr1,1,2,+", "plain;chr1,1,2,+", "lower;chr1,1,2,+"]
    assert viewpoint_center(recs[0].seq) == 6  # middle of CCGG at [4, 8)
    assert viewpoint_center(recs[1].seq) == 4  # no case difference: the whole sequence
    codes = centered_codes(recs, 11)
    # the viewpoint's middle lands on index 5; U reads as T; padding is N
    assert decode(codes[0]) == "AAACCGGTTTT"
    assert decode(codes[1]) == "NACGTACGTAN"
    assert decode(codes[2]) == "NNNACGTNNNN"
    # crop: a long record keeps the window around its viewpoint
    long = FastaRecord("x", "a" * 50 + "GC" + "c" * 50, 1)
    assert decode(centered_codes([long], 6)[0]) == "AAGCCC"


@pytest.mark.parametrize("text, message", [
    ("", "no FASTA records"),
    (">a\nACGT\n>b\n>c\nAC\n", "line 3: record 'b' has no sequence"),
    (">a\nACGT\n>b\nACXT\n", "line 4: record 'b' has the letter 'X' (column 3)"),
    ("ACGT\n", "line 1: sequence before the first '>' header"),
])
def test_bad_records_name_file_line_and_record(tmp_path, text, message):
    path = tmp_path / "bad.fa"
    path.write_text(text)
    with pytest.raises(InputFileError, match=re.escape(message)) as err:
        read_fasta(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_cli_errors_are_one_line(tmp_path, capsys):
    pos, neg = _planted(tmp_path, n=5)
    bad = tmp_path / "bad.fa"
    bad.write_text(">x\nAC-GT\n")
    code = main(["dataset", "--kind", "per-rbp", "--positives", str(pos), "--negatives",
                 str(bad), "-o", str(tmp_path / "x.h5")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "bad.fa, line 2: record 'x' has the letter '-'" in err
    plain = _write(tmp_path / "plain.fa", [("p", "acgtacgtac")])
    code = main(["dataset", "--positives", str(pos), "--negatives", str(plain), "-o",
                 str(tmp_path / "x.h5")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "marks viewpoints in upper case" in err and "plain.fa" in err
    assert not (tmp_path / "x.h5").exists()


def test_dataset_splits_name_and_window(tmp_path):
    pos, neg = _planted(tmp_path)
    summary = build_sequence_dataset(tmp_path / "x.h5", SequenceSources(pos, neg))
    assert summary.name == "RBPX"  # the positives file name up to its first dot
    assert summary.rows == {"train": 97, "validation": 11, "test": 12}
    with h5py.File(tmp_path / "x.h5") as h5:
        g = h5["RBPX"]
        width = h5.attrs["seq_length"]
        assert width == g["length"][:].max() and h5.attrs["source"] == "sequences"
        seq, labels = g["seq"][:], g["labels"][:, 0]
        center = [decode(s[width // 2 - 5:width // 2 + 5]) for s in seq]
    # the viewpoint (10 nt) is centered in every window; positives carry the motif there
    assert all(c[2:8] == MOTIF for c, y in zip(center, labels, strict=True) if y)
    # test files given: they are the test split
    tpos, tneg = _planted(tmp_path / "t" if (tmp_path / "t").mkdir() is None else None, n=7,
                          seed=1)
    s2 = build_sequence_dataset(tmp_path / "y.h5", SequenceSources(pos, neg, tpos, tneg),
                                SequenceOptions(name="Q", seq_length=50))
    assert s2.rows["test"] == 14 and s2.positives["test"] == 7 and s2.seq_length == 50
    assert s2.rows["train"] + s2.rows["validation"] == 120


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_every_architecture_trains_from_a_sequence_dataset(tmp_path, arch):
    import json

    pos, neg = _planted(tmp_path, n=40)
    data = tmp_path / "x.h5"
    assert main(["dataset", "--kind", "per-rbp", "--positives", str(pos), "--negatives",
                 str(neg), "-o", str(data)]) == 0
    hp = [f"--hparam={k}={','.join(map(str, v)) if isinstance(v, tuple) else v}"
          for k, v in TINY[arch].items()]
    out = tmp_path / "bundle"
    assert main(["-q", "train", "--arch", arch, "--dataset", str(data), "--out", str(out),
                 "--epochs", "1", "--batch-size", "32", "--min-positives", "5",
                 "--max-tries", "1", "--allow-weak", *hp]) == 0  # 1 epoch: inputs, not quality
    meta = json.loads((out / "model.json").read_text())
    with h5py.File(data) as h5:
        width = int(h5.attrs["seq_length"])
    assert meta["window"] == width and meta["rbps"] == ["RBPX"]
    # records are centred on their viewpoint: the default recipe does not shift them
    assert meta["training"]["config"]["recipe_settings"]["jitter"] == 0.0
    kinds = {c["kind"] for spec in meta["inputs"] for c in spec["components"]}
    # the records mark viewpoints: every architecture reads them as a channel
    assert kinds == {"sequence", "viewpoint"} | ({"pairs"} if arch == "rnassr" else set())
    spans = [c["span"] for spec in meta["inputs"] for c in spec["components"]
             if c["kind"] == "viewpoint"]
    assert spans == [10]  # the planted viewpoints are 10 nt
