"""VCFs as users bring them: long alleles, long indels, contig naming, symbolic records,
odd gene names, strands, summary counts, cell types, bcftools and global options (issue 13).

Windows are worked out by hand on the scoring world (see scoring_world.py); the frac model
reports the A and G fractions of its 11-nt window on the transcript strand.
"""

import json
import os
import shutil
import stat
import subprocess
import tracemalloc
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pytest
import scoring_world as sw
from external_tools import bcftools

from varbind.cli import build_parser, main
from varbind.scoring.options import ScoreOptions
from varbind.scoring.run import score_vcf

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

C = sw.CHR1
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return sw.build_world(tmp_path_factory.mktemp("edges"))


def revcomp(seq: str) -> str:
    return seq[::-1].translate(str.maketrans("ACGTN", "TGCAN"))


def score(world, tmp_path, records, name="o", **kw):
    """Score ``records`` on the world; returns (summary, table, VCF path)."""
    vcf = sw.write_vcf(tmp_path / f"{name}.in.vcf", records)
    opts = dict(vcf=vcf, fasta=world["fasta"], models=world["models"], gtf=world["gtf"],
                expression=world["expression"], output=tmp_path / f"{name}.vcf",
                table=tmp_path / f"{name}.tsv", annotation_cache=tmp_path / "cache")
    opts.update(kw)
    summary = score_vcf(ScoreOptions(**opts))
    table = pd.read_csv(opts["table"], sep="\t", keep_default_na=False, dtype={"pos": int})
    for col in ("ref_score", "alt_score", "delta"):
        table[col] = pd.to_numeric(table[col].replace("", np.nan))
    return summary, table, opts["output"]


def info_of(vcf_path, record_id, key):
    from cyvcf2 import VCF

    rec = next(r for r in VCF(str(vcf_path)) if r.ID == record_id)
    return rec.INFO.get(key)


def frac_row(table, record_id, rbp):
    sel = table[(table["id"] == record_id) & (table["rbp"] == rbp)]
    assert len(sel) == 1, sel
    return sel.iloc[0]


# ----------------------------------------------------------- 1. memory flat in REF length


def _long_allele_world(folder: Path, n_snvs: int, long_length: int) -> dict:
    """A random 3 x long_length contig with one '+' gene over it, the frac model alone."""
    rng = np.random.default_rng(0)
    size = 3 * long_length
    seq = "".join(rng.choice(list("ACGT"), size))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "g.fa").write_text(">chr1\n" + "\n".join(seq[i:i + 80]
                                                      for i in range(0, size, 80)) + "\n")
    (folder / "g.gtf").write_text("\t".join(
        ["chr1", "t", "exon", "1", str(size), ".", "+", ".",
         'gene_id "G"; transcript_id "T"; gene_name "G";']) + "\n")
    sw.save_models(folder / "models")
    header = f"##fileformat=VCFv4.2\n##contig=<ID=chr1,length={size}>\n" \
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    snvs = [(p, seq[p - 1], sw.other(seq[p - 1]))
            for p in np.linspace(100, size - 100, n_snvs).astype(int)]
    a = long_length // 2  # a deletion of long_length bases and an insertion as long
    longs = [(a, seq[a - 1:a + long_length], seq[a - 1]),
             (2 * a, seq[2 * a - 1], seq[2 * a - 1] + seq[10:10 + long_length])]

    def write(name, rows):
        rows = sorted(rows)
        (folder / name).write_text(header + "".join(
            f"chr1\t{p}\t.\t{r}\t{x}\t.\tPASS\t.\n" for p, r, x in rows))
        return folder / name

    return {"fasta": folder / "g.fa", "gtf": folder / "g.gtf",
            "models": folder / "models" / "frac", "snv": write("snv.vcf", snvs),
            "long": write("long.vcf", snvs + longs)}


def _traced_peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_long_ref_and_alt_alleles_do_not_grow_memory_with_the_chunk(tmp_path):
    # 200 SNVs and one 100-kb deletion and insertion in one chunk: before, the REF check
    # built a (records x longest REF) int64 matrix (~160 MB) and the inserted bases a
    # (alleles x longest ALT) one.
    w = _long_allele_world(tmp_path / "w", n_snvs=200, long_length=100_000)

    def run(vcf, name):
        return lambda: score_vcf(ScoreOptions(
            vcf=vcf, fasta=w["fasta"], models=w["models"], gtf=w["gtf"],
            table=tmp_path / f"{name}.tsv", annotation_cache=tmp_path / "cache"))

    run(w["snv"], "warm")()  # first-call costs (model load, annotation cache) out of the way
    snv = _traced_peak(run(w["snv"], "snv"))
    long = _traced_peak(run(w["long"], "long"))
    assert long - snv < 8e6, (snv, long)
    table = pd.read_csv(tmp_path / "long.tsv", sep="\t", keep_default_na=False)
    assert len(table[table["status"].str.startswith("ok")]) == 2 * 202


# ----------------------------------------------------------- 2. indel windows


def test_deletion_windows_share_the_5prime_flank_on_the_plus_strand(world, tmp_path):
    # chr1:40 deletes 0-based [40, 44) in G1 (+). The first deleted base sits at the window
    # center (index 5 of 11): REF [35, 46); ALT [35, 40) + [44, 50).
    assert C[39] != C[43]  # not shifted by left-alignment
    rec = f"chr1\t40\tdel4\t{C[39:44]}\t{C[39]}\t.\tPASS\t."
    _, t, _ = score(world, tmp_path, [rec])
    ref_w, alt_w = C[35:46], C[35:40] + C[44:50]
    for k, rbp in enumerate(("AFRAC", "GFRAC")):
        row = frac_row(t, "del4", rbp)
        assert (row["ref_score"], row["alt_score"]) == pytest.approx(
            (sw.frac(ref_w)[k], sw.frac(alt_w)[k]), abs=1e-5), rbp


def test_deletion_windows_share_the_5prime_flank_on_the_minus_strand(world, tmp_path):
    # chr1:181 deletes [181, 185) in G2 (-). On the transcript strand the 5' flank is the
    # genomic right side: REF = rc([179, 190)); ALT = rc([175, 181) + [185, 190)).
    assert C[180] != C[184]
    rec = f"chr1\t181\tdel4m\t{C[180:185]}\t{C[180]}\t.\tPASS\t."
    _, t, _ = score(world, tmp_path, [rec])
    ref_w, alt_w = revcomp(C[179:190]), revcomp(C[175:181] + C[185:190])
    assert ref_w[:5] == alt_w[:5]  # the shared 5' flank
    for k, rbp in enumerate(("AFRAC", "GFRAC")):
        row = frac_row(t, "del4m", rbp)
        assert row["strand"] == "-"
        assert (row["ref_score"], row["alt_score"]) == pytest.approx(
            (sw.frac(ref_w)[k], sw.frac(alt_w)[k]), abs=1e-5), rbp


def test_insertion_windows_share_the_5prime_flank_on_the_minus_strand(world, tmp_path):
    # chr1:186 inserts GGA after 0-based 185 in G2 (-): the 5'-most inserted base on the
    # transcript (genomic A, the last one) at the center. ALT = rc([183, 186) + GGA +
    # [186, 191)); REF = rc([180, 191)) with the first base 3' of the junction (185) at
    # the center.
    assert C[185] != "A"
    rec = f"chr1\t186\tins3m\t{C[185]}\t{C[185]}GGA\t.\tPASS\t."
    _, t, _ = score(world, tmp_path, [rec])
    ref_w, alt_w = revcomp(C[180:191]), revcomp(C[183:186] + "GGA" + C[186:191])
    assert ref_w[:5] == alt_w[:5]
    for k, rbp in enumerate(("AFRAC", "GFRAC")):
        row = frac_row(t, "ins3m", rbp)
        assert (row["ref_score"], row["alt_score"]) == pytest.approx(
            (sw.frac(ref_w)[k], sw.frac(alt_w)[k]), abs=1e-5), rbp


def test_indels_longer_than_half_the_smallest_window_are_flagged(world, tmp_path):
    # The set's smallest window is 7 (ctx): a 4-nt deletion is long, a 2-nt one is not;
    # a 4-nt substitution (MNV) is not an indel.
    recs = [f"chr1\t31\tdel2\t{C[30:33]}\t{C[30]}\t.\tPASS\t.",
            f"chr1\t40\tdel4\t{C[39:44]}\t{C[39]}\t.\tPASS\t.",
            f"chr1\t45\tmnv4\t{C[44:48]}\t{C[44:48][::-1]}\t.\tPASS\t."]
    summary, t, out = score(world, tmp_path, recs)
    assert set(t[t["id"] == "del2"]["status"]) == {"ok"}
    assert set(t[t["id"] == "del4"]["status"]) == {"ok&long_indel"}
    assert set(t[t["id"] == "mnv4"]["status"]) == {"ok"}
    assert info_of(out, "del4", "VARBIND_STATUS") == "ok&long_indel"
    assert summary.flags == {"long_indel": 1}
    assert "long_indel" in (tmp_path / "o.vcf").read_text().split("#CHROM")[0]


# ----------------------------------------------------------- 3. contig names


def _renamed_world(world, folder: Path, fasta_names=None, gtf_names=None) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    fasta_names = fasta_names or {"chr1": "chr1", "2": "2"}
    text = Path(world["fasta"]).read_text()
    for old, new in fasta_names.items():
        text = text.replace(f">{old}\n", f">{new}\n")
    (folder / "g.fa").write_text(text)
    gtf = Path(world["gtf"]).read_text()
    for old, new in (gtf_names or {}).items():
        gtf = "\n".join(new + line[len(old):] if line.startswith(old + "\t") else line
                        for line in gtf.split("\n"))
    (folder / "g.gtf").write_text(gtf)
    return {**world, "fasta": folder / "g.fa", "gtf": folder / "g.gtf"}


@pytest.mark.parametrize("fasta_names,gtf_names", [
    ({"chr1": "NC_000001.11", "2": "NC_000002.12"}, None),        # RefSeq GRCh38 FASTA
    ({"chr1": "NC_000001.10", "2": "NC_000002.11"}, None),        # RefSeq GRCh37 FASTA
    (None, {"chr1": "NC_000001.11", "chr2": "NC_000002.12"}),     # RefSeq GTF, UCSC FASTA
    (None, {"chr1": "1", "chr2": "2"}),                           # Ensembl GTF
])
def test_refseq_ucsc_and_ensembl_contig_names_are_matched(world, tmp_path, fasta_names,
                                                           gtf_names):
    w = _renamed_world(world, tmp_path / "w", fasta_names, gtf_names)
    recs = [r for r in sw.vcf_records() if r.split("\t")[2] in ("snv_plus", "chr2_alias")]
    _, t, _ = score(w, tmp_path, recs)
    assert set(t["status"]) == {"ok"}
    assert set(t["gene_id"]) == {"G1", "G3"}


def test_annotation_without_the_genome_contigs_is_a_one_line_error(world, tmp_path, capsys):
    w = _renamed_world(world, tmp_path / "w", None, {"chr1": "scaffold_1", "chr2": "scaffold_2"})
    vcf = sw.write_vcf(tmp_path / "in.vcf")
    args = ["score", str(vcf), "--fasta", str(w["fasta"]), "--gtf", str(w["gtf"]),
            "--expression", str(w["expression"]), "--models", str(w["models"]),
            "-o", str(tmp_path / "o.vcf")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "chr1" in err and "--all-strands" in err and str(w["gtf"]) in err
    assert not (tmp_path / "o.vcf").exists()
    models = tmp_path / "frac_only"
    sw.save_models(models)
    ok = main(["score", str(vcf), "--fasta", str(w["fasta"]), "--gtf", str(w["gtf"]),
               "--models", str(models / "frac"), "-o", str(tmp_path / "o.vcf"),
               "--all-strands"])
    assert ok == 0, capsys.readouterr().err


# ----------------------------------------------------------- 4. symbolic records, REF=N


def test_symbolic_records_with_ref_n_are_not_ref_mismatches(world, tmp_path):
    recs = ["chr1\t70\tsv_del\tN\t<DEL>\t.\tPASS\t.",
            "chr1\t72\tsv_ins\tN\t<INS>,*\t.\tPASS\t.",
            "chr1\t74\tsv_bnd\tN\tN[chr2:20[\t.\tPASS\t.",
            f"chr1\t51\tsnv_plus\t{C[50]}\t{sw.other(C[50])}\t.\tPASS\t."]
    summary, t, out = score(world, tmp_path, recs, strict=True)
    assert info_of(out, "sv_del", "VARBIND_STATUS") == "symbolic_allele"
    assert info_of(out, "sv_ins", "VARBIND_STATUS") == "symbolic_allele,spanning_deletion"
    assert info_of(out, "sv_bnd", "VARBIND_STATUS") == "symbolic_allele"
    assert "ref_mismatch" not in summary.alleles_not_scored
    # a sequence ALT still has its REF checked
    bad = ["chr1\t70\tseq_n\tN\tA\t.\tPASS\t."]
    summary, _, out = score(world, tmp_path, bad, name="b")
    assert info_of(out, "seq_n", "VARBIND_STATUS") == "ref_mismatch"


# ----------------------------------------------------------- 5. INFO escaping

ODD_NAMES = {"G1": "GENE,1;x=y", "G2": "GENE|2 two", "G3": "GÈNE%3"}
ODD_RBPS = ["A FRAC,1", "G|FRAC=é"]


def test_gene_and_rbp_names_are_percent_encoded_in_info(world, tmp_path):
    from cyvcf2 import VCF

    from varbind.model.bundle import ModelMeta, save_bundle
    from varbind.model.inputs import Component, InputSpec

    gtf = Path(world["gtf"]).read_text()
    for gene, name in ODD_NAMES.items():
        gtf = gtf.replace(f'gene_name "GENE{gene[1]}"', f'gene_name "{name}"')
    (tmp_path / "odd.gtf").write_text(gtf, encoding="utf-8")
    seq = Component("sequence", tuple("ACGT"))
    save_bundle(sw.frac_model(), ModelMeta(
        name="frac", architecture="imported", rbps=ODD_RBPS,
        inputs=[InputSpec("seq", "per_position", (seq,), length=11)]), tmp_path / "m" / "frac")
    recs = [r for r in sw.vcf_records() if r.split("\t")[2] in ("snv_plus", "snv_minus",
                                                                  "chr2_alias")]
    _, t, out = score(world, tmp_path, recs, gtf=tmp_path / "odd.gtf", models=tmp_path / "m")
    assert set(t["gene_name"]) == set(ODD_NAMES.values())  # the table keeps them as they are
    assert set(t["rbp"]) == set(ODD_RBPS)
    genes = {}
    for rec in VCF(str(out)):
        entries = [e.split("|") for e in rec.INFO["VARBIND"].split(",")]
        assert [len(e) for e in entries] == [10, 10]
        assert [unquote(e[5]) for e in entries] == ODD_RBPS
        genes[rec.ID] = {unquote(e[3]) for e in entries}
        assert unquote(rec.INFO["VARBIND_MAX_GAIN_RBP"]) in ODD_RBPS + ["."]
    assert genes == {"snv_plus": {ODD_NAMES["G1"]}, "snv_minus": {ODD_NAMES["G2"]},
                     "chr2_alias": {ODD_NAMES["G3"]}}
    records = Path(out).read_bytes().split(b"\n#CHROM")[1]
    assert all(b < 128 for b in records)  # non-ASCII is percent-encoded too
    tool = bcftools()
    lines = subprocess.run([tool, "+split-vep", "-a", "VARBIND", "-d", "-f",
                            "%ID\t%GENE\t%RBP\n", str(out)], capture_output=True, text=True,
                           check=True).stdout
    rows = [line.split("\t") for line in lines.strip().splitlines()]
    assert {(r[0], unquote(r[1]), unquote(r[2])) for r in rows} == {
        (rid, gene, rbp) for rid, names in genes.items() for gene in names for rbp in ODD_RBPS}


# ----------------------------------------------------------- 6. strands with --all-strands


def test_all_strands_marks_outside_transcript_only_when_no_strand_is_transcribed(world,
                                                                                 tmp_path):
    recs = [r for r in sw.vcf_records() if r.split("\t")[2] in ("snv_plus", "outside")]
    summary, t, out = score(world, tmp_path, recs, all_strands=True)
    assert info_of(out, "snv_plus", "VARBIND_STATUS") == "ok"
    assert info_of(out, "outside", "VARBIND_STATUS") == "ok&outside_transcript"
    # the table row of the untranscribed strand still says so
    snv = t[(t["id"] == "snv_plus") & (t["rbp"] == "AFRAC")]
    assert list(snv["status"]) == ["ok", "ok&outside_transcript"]
    assert summary.flags == {"outside_transcript": 1}


# ----------------------------------------------------------- 7. summary counts


def test_summary_allele_counts_add_up(world, tmp_path):
    recs = sw.vcf_records() + ["chr1\t76\tnoalt2\tA\t.\t.\tPASS\t."]
    summary, t, _ = score(world, tmp_path, recs, batch_size=3)
    not_scored = sum(summary.alleles_not_scored.values())
    assert summary.alleles_scored + not_scored == summary.alleles
    assert summary.alleles_not_scored["no_alt"] == 2
    # one table row per allele not scored; the scored ones are the rest
    per_allele = t.drop_duplicates(["id", "alt"])
    assert len(per_allele) == summary.alleles
    data = json.loads((tmp_path / "o.vcf.summary.json").read_text())
    assert data["alleles_scored"] + sum(data["alleles_not_scored"].values()) == data["alleles"]


# ----------------------------------------------------------- 8. cell types per RBP


def _two_cell_world(world, folder: Path) -> dict:
    """G2 and a nested '-' gene G4 (high in K562, low in HepG2) and one model whose two RBPs
    come from different cell lines and report the expression input."""
    import keras

    from varbind.model.bundle import ModelMeta, save_bundle
    from varbind.model.inputs import Component, InputSpec

    folder.mkdir(parents=True, exist_ok=True)
    gtf = Path(world["gtf"]).read_text() + "\t".join(
        ["chr1", "test", "exon", "136", "142", ".", "-", ".",
         'gene_id "G4"; transcript_id "T4"; gene_name "GENE4"; gene_type "lncRNA";']) + "\n"
    (folder / "g.gtf").write_text(gtf)
    (folder / "e.tsv").write_text("gene_id\tgene_name\tHepG2\tK562\n"
                                  "G1\tGENE1\t9\t1\nG2\tGENE2\t99\t3\nG3\tGENE3\t0\t1\n"
                                  "G4\tGENE4\t1\t999\n")
    x = keras.Input((5, 4), name="seq")
    e = keras.Input((1,), name="expression")
    dense = keras.layers.Dense(1, use_bias=False)
    h = dense(keras.layers.GlobalAveragePooling1D()(x))
    dense.set_weights([np.zeros((4, 1), dtype=np.float32)])  # sequence ignored
    out = keras.layers.Add()([e, h])
    y = keras.layers.Concatenate()([out, out])
    seq = Component("sequence", tuple("ACGT"))
    save_bundle(keras.Model([x, e], y), ModelMeta(
        name="expr", architecture="imported", rbps=["R_HEPG2", "R_K562"], output="linear",
        cell_line="per-RBP (HepG2/K562)", rbp_cell_lines={"R_HEPG2": "HepG2", "R_K562": "K562"},
        inputs=[InputSpec("seq", "per_position", (seq,), length=5),
                InputSpec("expression", "side", (Component("expression", ("log1p_tpm",)),))]),
        folder / "models" / "expr")
    return {**world, "gtf": folder / "g.gtf", "expression": folder / "e.tsv",
            "models": folder / "models"}


def test_each_rbp_gets_its_own_cell_lines_expression_and_gene(world, tmp_path, caplog):
    w = _two_cell_world(world, tmp_path / "w")
    recs = [r for r in sw.vcf_records() if r.split("\t")[2] == "snv_minus"]  # chr1:140
    caplog.set_level("WARNING")
    _, t, _ = score(w, tmp_path, recs)
    assert not [r for r in caplog.records if "lacks" in r.getMessage()]
    hep = frac_row(t, "snv_minus", "R_HEPG2")
    k562 = frac_row(t, "snv_minus", "R_K562")
    assert hep["ref_score"] == pytest.approx(np.log1p(99.0), abs=1e-5)  # G2 in HepG2
    assert k562["ref_score"] == pytest.approx(np.log1p(999.0), abs=1e-5)  # G4 in K562
    assert (hep["gene_id"], k562["gene_id"]) == ("G2", "G4")


@pytest.mark.slow
def test_demo_run_prints_no_warning(tmp_path, caplog, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VARBIND_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    caplog.set_level("WARNING")
    assert main(["score", "demo", "--genome", "demo", "-o", str(tmp_path / "d.vcf.gz")]) == 0
    warnings = [r.getMessage() for r in caplog.records
                if r.levelname == "WARNING" and r.name.startswith("varbind")]
    assert warnings == []


# ----------------------------------------------------------- 9. bcftools optional, CI hard


def _failing_apt_path(folder: Path) -> str:
    """A PATH whose apt-get always fails (and without bcftools)."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "apt-get"
    script.write_text("#!/bin/sh\nexit 1\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(folder)


def test_ci_fails_when_bcftools_cannot_be_installed(tmp_path):
    script = REPO / ".ci" / "install-bcftools"
    env = {**os.environ, "PATH": _failing_apt_path(tmp_path / "bin")}
    res = subprocess.run([shutil.which("bash"), str(script)], env=env, capture_output=True,
                         text=True)
    assert res.returncode != 0
    assert "bcftools" in res.stderr
    assert "VARBIND_REQUIRE_BCFTOOLS=1" in (REPO / ".ci" / "run").read_text()


def test_bcftools_checks_skip_without_bcftools_and_fail_when_required(monkeypatch, tmp_path):
    import external_tools

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(external_tools.REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception):
        external_tools.bcftools()
    monkeypatch.setenv(external_tools.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception):
        external_tools.bcftools()


# ----------------------------------------------------------- 10. global options anywhere


@pytest.mark.parametrize("argv,verbose,quiet", [
    (["train", "--arch", "polaris", "--out", "b", "-q"], 0, True),
    (["score", "x.vcf", "-v"], 1, False),
    (["score", "x.vcf", "-vv"], 2, False),
    (["-q", "score", "x.vcf"], 0, True),
    (["-v", "score", "x.vcf"], 1, False),
    (["workflow", "genome-wide", "x.vcf", "-o", "o.vcf.gz", "--cluster", "slurm", "-q"],
     0, True),
])
def test_quiet_and_verbose_are_accepted_before_and_after_the_subcommand(argv, verbose, quiet):
    args = build_parser().parse_args(argv)
    assert (args.verbose, args.quiet) == (verbose, quiet)
