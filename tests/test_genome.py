"""Reference FASTA access: a missing .fai index is written to a temporary file and renamed into
place, so processes that open the same unindexed FASTA at once (Dask workers) never read a
half-written one (which gave one shard's header ``Contigs=0`` in a Dask test run)."""

from pathlib import Path

from varbind.genomics import genome as gm

CONTIGS = {f"chr{i}": "ACGT" * (20 + i % 7) for i in range(1, 201)}


def _write_fasta(path: Path) -> Path:
    path.write_text("".join(f">{name}\n{seq}\n" for name, seq in CONTIGS.items()))
    return path


def test_a_missing_index_is_renamed_into_place_from_a_temporary_file(tmp_path, monkeypatch):
    fasta = _write_fasta(tmp_path / "g.fa")
    moves, rename = [], gm.os.replace

    def recording_rename(src, dst):
        moves.append((Path(src).parent, Path(dst), Path(dst).exists()))
        rename(src, dst)

    monkeypatch.setattr(gm.os, "replace", recording_rename)
    genome = gm.Genome(fasta)
    assert genome.lengths == {name: len(seq) for name, seq in CONTIGS.items()}
    [(folder, target, existed)] = moves
    assert target == tmp_path / "g.fa.fai" and not existed and folder != tmp_path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.fa", "g.fa.fai"]  # no temp left
    moves.clear()
    assert len(gm.Genome(fasta).lengths) == len(CONTIGS) and moves == []  # reused as it is

