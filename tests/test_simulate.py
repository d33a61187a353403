"""The simulated world: files, determinism, and that its ground truth is what it claims."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from varbind.cli import main
from varbind.errors import VarbindError
from varbind.genomics.motifs import read_meme
from varbind.simulate import RBP_PANEL, World, simulate_world

COMP = str.maketrans("ACGTN", "TGCAN")


def revcomp(seq: str) -> str:
    return seq.translate(COMP)[::-1]


def read_fasta(path: Path) -> dict[str, str]:
    seqs: dict[str, list[str]] = {}
    name = None
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
            seqs[name] = []
        else:
            seqs[name].append(line)
    return {k: "".join(v) for k, v in seqs.items()}


def file_hashes(world: World) -> dict[str, str]:
    return {str(p.relative_to(world.outdir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(world.outdir.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> World:
    return simulate_world(tmp_path_factory.mktemp("tiny0"), seed=0, size="tiny")


@pytest.fixture(scope="module")
def genome(tiny) -> dict[str, str]:
    return read_fasta(tiny.genome)


@pytest.fixture(scope="module")
def info(tiny) -> dict:
    return json.loads(tiny.world_json.read_text())


@pytest.fixture(scope="module")
def sites(tiny) -> pd.DataFrame:
    return pd.read_csv(tiny.sites, sep="\t", dtype={"chrom": str})


@pytest.fixture(scope="module")
def truth(tiny) -> pd.DataFrame:
    return pd.read_csv(tiny.truth, sep="\t", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> World:
    return simulate_world(tmp_path_factory.mktemp("small"), seed=5, size="small")


def log_odds_by_rbp() -> dict[str, np.ndarray]:
    ids = {r.motif_id: r.name for r in RBP_PANEL}
    return {ids[m.id]: m.log_odds() for m in read_meme() if m.id in ids}


def best_score(lo: np.ndarray, seq: str) -> float:
    codes = np.array(["ACGT".index(c) if c in "ACGT" else -1 for c in seq])
    w = lo.shape[0]
    best = -np.inf
    for i in range(len(codes) - w + 1):
        win = codes[i:i + w]
        if (win < 0).any():
            continue
        best = max(best, float(lo[np.arange(w), win].sum()))
    return best


# --- files --------------------------------------------------------------------------------

def test_world_writes_every_named_file(tiny, info):
    for path in [tiny.genome, tiny.fai, tiny.gtf, tiny.expression, tiny.manifest, tiny.vcf,
                 tiny.tbi, tiny.truth, tiny.sites, tiny.world_json]:
        assert path.is_file() and path.stat().st_size > 0, path
    manifest = pd.read_csv(tiny.manifest, sep="\t")
    assert list(manifest.columns) == ["rbp", "path", "cell_line"]
    assert len(manifest) == len(RBP_PANEL) >= 8
    for row in manifest.itertuples():
        assert (tiny.manifest.parent / row.path).is_file()
        assert row.cell_line in info["cell_types"]
    assert not list(tiny.outdir.rglob(".*part*"))  # no temporary files left behind


def test_same_seed_same_bytes_and_other_seed_differs(tiny, tmp_path):
    again = simulate_world(tmp_path / "again", seed=0, size="tiny")
    other = simulate_world(tmp_path / "other", seed=1, size="tiny")
    first = file_hashes(tiny)
    assert len(first) == 10 + len(RBP_PANEL)
    assert file_hashes(again) == first
    differing = {k for k, v in file_hashes(other).items() if first.get(k) != v}
    assert {"genome.fa", "genes.gtf", "variants.vcf.gz", "truth.tsv", "sites.tsv",
            "peaks/QKI.narrowPeak.gz"} <= differing


def test_genome_has_contigs_softmask_and_n_gap(tiny, genome, info):
    assert list(genome) == list(info["contigs"]) and len(genome) >= 3
    assert {k: len(v) for k, v in genome.items()} == info["contigs"]
    fai = pd.read_csv(tiny.fai, sep="\t", header=None)
    assert list(fai[0]) == list(genome) and list(fai[1]) == [len(v) for v in genome.values()]
    text = "".join(genome.values())
    lower = sum(c.islower() for c in text) / len(text)
    assert 0.02 < lower < 0.2
    assert "N" * 1000 in genome["chr1"]
    assert set(text) <= set("ACGTNacgt")
    gc = sum(c in "GCgc" for c in text) / sum(c not in "Nn" for c in text)
    assert 0.35 < gc < 0.5
    cpg = text.upper().count("CG") / len(text)
    assert cpg < 0.6 * gc / 2 * gc / 2  # CpG depleted relative to its expectation


def test_unknown_size_and_bad_seed_are_rejected(tmp_path):
    with pytest.raises(VarbindError, match="unknown world size 'huge'"):
        simulate_world(tmp_path, size="huge")
    with pytest.raises(VarbindError, match="seed must be a non-negative integer"):
        simulate_world(tmp_path, seed=-3, size="tiny")


# --- genes ------------------------------------------------------------------------------

def test_gtf_reads_with_pyranges_and_has_gencode_structure(tiny):
    import pyranges as pr

    gtf = pr.read_gtf(str(tiny.gtf)).df
    assert {"gene", "transcript", "exon", "CDS", "UTR", "start_codon", "stop_codon"} <= set(
        gtf.Feature.astype(str))
    genes = gtf[gtf.Feature == "gene"]
    assert set(genes.Strand.astype(str)) == {"+", "-"}
    assert {"protein_coding", "lncRNA"} <= set(genes.gene_type)
    tx = gtf[gtf.Feature == "transcript"]
    per_gene = tx.groupby("gene_id", observed=True).size()
    assert (per_gene >= 2).sum() >= 3
    assert {"protein_coding", "lncRNA", "retained_intron"} <= set(tx.transcript_type)
    exons = gtf[gtf.Feature == "exon"]
    n_exons = exons.groupby("transcript_id", observed=True).size()
    assert (n_exons >= 3).sum() >= 5
    # the isoforms of a multi-transcript gene disagree about their exons
    multi = per_gene[per_gene >= 2].index
    differ = 0
    for gid in multi:
        sets = {tuple(sorted(zip(g.Start, g.End, strict=True))) for _, g in
                exons[exons.gene_id == gid].groupby("transcript_id", observed=True)}
        differ += len(sets) > 1
    assert differ == len(multi)


def test_coding_sequences_are_well_formed(tiny, genome):
    import pyranges as pr

    gtf = pr.read_gtf(str(tiny.gtf)).df
    stops = {"TAA", "TAG", "TGA"}
    checked = 0
    for tid, feats in gtf.groupby("transcript_id", observed=True):
        cds = feats[feats.Feature == "CDS"]
        if cds.empty:
            continue
        strand = str(cds.Strand.iloc[0])
        chrom = str(cds.Chromosome.iloc[0])
        blocks = sorted(zip(cds.Start, cds.End, strict=True))
        parts = [genome[chrom][s:e].upper() for s, e in blocks]
        seq = "".join(parts) if strand == "+" else revcomp("".join(parts))
        assert len(seq) % 3 == 0, tid
        assert seq[:3] == "ATG", tid
        stop = feats[feats.Feature == "stop_codon"]
        s, e = int(stop.Start.iloc[0]), int(stop.End.iloc[0])
        codon = genome[chrom][s:e].upper()
        assert (codon if strand == "+" else revcomp(codon)) in stops
        if "Ensembl_canonical" in str(feats[feats.Feature == "transcript"].tag.iloc[0]):
            codons = {seq[i:i + 3] for i in range(0, len(seq), 3)}
            assert not codons & stops, tid
        checked += 1
    assert checked >= 8


def test_introns_start_gt_and_end_ag(tiny, genome):
    import pyranges as pr

    gtf = pr.read_gtf(str(tiny.gtf)).df
    exons = gtf[gtf.Feature == "exon"]
    n = 0
    for _, ex in exons.groupby("transcript_id", observed=True):
        ex = ex.sort_values("Start")
        chrom, strand = str(ex.Chromosome.iloc[0]), str(ex.Strand.iloc[0])
        for a, b in zip(ex.End.iloc[:-1], ex.Start.iloc[1:], strict=True):
            intron = genome[chrom][a:b].upper()
            if strand == "-":
                intron = revcomp(intron)
            if b - a < 40:
                continue
            assert intron[:2] == "GT" and intron[-2:] == "AG"
            n += 1
    assert n >= 20


def test_expression_table(tiny):
    import pyranges as pr

    expr = pd.read_csv(tiny.expression, sep="\t")
    assert list(expr.columns) == ["gene_id", "gene_name", "SIM1", "SIM2"]
    gtf = pr.read_gtf(str(tiny.gtf)).df
    assert set(expr.gene_id) == set(gtf.gene_id)
    values = expr[["SIM1", "SIM2"]].to_numpy()
    assert (values >= 0).all()


def test_expression_spread_includes_unexpressed_genes(small):
    expr = pd.read_csv(small.expression, sep="\t")
    for cell in ("SIM1", "SIM2"):
        v = expr[cell].to_numpy()
        assert 0.05 < (v == 0).mean() < 0.45
        assert np.percentile(v[v > 0], 90) > 20 * np.percentile(v[v > 0], 10)
    assert not np.array_equal(expr.SIM1.to_numpy(), expr.SIM2.to_numpy())


# --- sites --------------------------------------------------------------------------------

def test_every_site_reads_back_from_the_genome_on_its_strand(sites, genome, info):
    lo = log_odds_by_rbp()
    limits = {r["name"]: r for r in info["rbps"]}
    for row in sites.itertuples():
        seq = genome[row.chrom][row.start:row.end].upper()
        if row.strand == "-":
            seq = revcomp(seq)
        assert seq == row.sequence, row.site_id
        score = best_score(lo[row.rbp], seq)
        assert score == pytest.approx(row.score, abs=1e-3)
        if row.kind == "site":
            assert score >= limits[row.rbp]["score_site_min"] - 1e-9
        else:
            assert row.kind == "latent" and row.bound == 0
            assert score <= limits[row.rbp]["score_broken_max"] + 1e-9


def test_sites_read_through_varbind_genome_windows(tiny, sites):
    from varbind.encoding import decode
    from varbind.genomics.genome import Genome

    genome = Genome(tiny.genome)
    for chrom, rows in sites.groupby("chrom"):
        width = int((rows.end - rows.start).iloc[0])
        assert (rows.end - rows.start == width).all() and width % 2 == 1
        windows = genome.window_codes(chrom, (rows.start + width // 2).to_numpy(), width,
                                      rows.strand.to_numpy())
        assert [decode(w) for w in windows] == list(rows.sequence)


def test_sites_do_not_overlap_and_sit_in_their_genes(tiny, sites):
    import pyranges as pr

    for _, chrom_sites in sites.groupby("chrom"):
        s = chrom_sites.sort_values("start")
        assert (s.start.to_numpy()[1:] >= s.end.to_numpy()[:-1] + 10).all()
    gtf = pr.read_gtf(str(tiny.gtf)).df
    genes = gtf[gtf.Feature == "gene"].set_index("gene_id")
    merged = sites.join(genes[["Start", "End", "Strand"]], on="gene_id")
    assert (merged.start >= merged.Start).all() and (merged.end <= merged.End).all()
    assert (merged.strand == merged.Strand.astype(str)).all()
    assert set(sites.strand) == {"+", "-"}


def _region_of(gtf: pd.DataFrame, gene_id: str, chrom_pos: int) -> str:
    """The region class at one base from the GTF (independent re-derivation)."""
    feats = gtf[(gtf.gene_id == gene_id) & (gtf.Start <= chrom_pos) & (gtf.End > chrom_pos)]
    found = set()
    for tid, f in feats.groupby("transcript_id", observed=True):
        kinds = set(f.Feature.astype(str))
        if "CDS" in kinds:
            found.add("cds")
        elif "UTR" in kinds:
            t_cds = gtf[(gtf.transcript_id == tid) & (gtf.Feature == "CDS")]
            strand = str(f.Strand.iloc[0])
            upstream = chrom_pos < t_cds.Start.min()
            found.add("5utr" if upstream == (strand == "+") else "3utr")
        elif "exon" in kinds:
            found.add("ncrna_exon")
        elif "transcript" in kinds:
            found.add("intron")
    return found.pop() if len(found) == 1 else "ambiguous"


def test_site_region_classes_match_the_gtf(tiny, sites):
    import pyranges as pr

    gtf = pr.read_gtf(str(tiny.gtf)).df
    sample = sites.iloc[:: max(1, len(sites) // 150)]
    for row in sample.itertuples():
        for pos in (row.start, row.end - 1):
            assert _region_of(gtf, row.gene_id, pos) == row.region, row.site_id
    assert {"5utr", "cds", "3utr", "intron"} <= set(sites.region)


def test_binding_depends_on_region_preference_and_expression(small):
    sites = pd.read_csv(small.sites, sep="\t")
    sites = sites[sites.kind == "site"]
    info = json.loads(small.world_json.read_text())
    expr = pd.read_csv(small.expression, sep="\t").set_index("gene_id")
    cell = {r["name"]: r["cell_line"] for r in info["rbps"]}
    pref = {r["name"]: r["region_preference"] for r in info["rbps"]}
    tpm = np.array([expr.loc[g, cell[r]] for g, r in zip(sites.gene_id, sites.rbp, strict=True)])
    p = np.array([pref[r][c] for r, c in zip(sites.rbp, sites.region, strict=True)])
    bound = sites.bound.to_numpy()
    assert 0.25 < bound.mean() < 0.6
    assert bound[tpm == 0].mean() < 0.15
    assert bound[(tpm > 10) & (p == 1.0)].mean() > 0.7
    assert bound[(tpm > 10) & (p <= 0.2)].mean() < 0.35
    per_rbp = sites.groupby("rbp").bound.mean()
    assert len(per_rbp) == len(RBP_PANEL) and ((per_rbp > 0.1) & (per_rbp < 0.9)).all()


# --- peaks --------------------------------------------------------------------------------

def read_peaks(path: Path) -> pd.DataFrame:
    with gzip.open(path, "rt") as fh:
        return pd.read_csv(fh, sep="\t", header=None, dtype={0: str},
                           names=["chrom", "start", "end", "name", "score", "strand", "signal",
                                  "p", "q", "summit"])


def test_peaks_are_narrowpeak_and_cover_bound_sites(tiny, sites, genome):
    order = list(genome)
    counts = {}
    for rbp, path in tiny.peaks.items():
        peaks = read_peaks(path)
        counts[rbp] = len(peaks)
        assert (peaks.start < peaks.end).all() and set(peaks.strand) <= {"+", "-"}
        assert (peaks.summit >= 0).all() and (peaks.summit < peaks.end - peaks.start).all()
        assert ((peaks.end - peaks.start) <= 80).all() and (peaks.score <= 1000).all()
        assert (peaks.q <= peaks.p + 1e-9).all()
        assert list(dict.fromkeys(peaks.chrom)) == sorted(set(peaks.chrom), key=order.index)
        assert all(g.start.is_monotonic_increasing for _, g in peaks.groupby("chrom"))
        bound = sites[(sites.rbp == rbp) & (sites.bound == 1)]
        for site in bound.itertuples():
            hit = peaks[(peaks.chrom == site.chrom) & (peaks.start <= site.start)
                        & (peaks.end >= site.end) & (peaks.strand == site.strand)]
            assert len(hit) >= 1, site.site_id
        assert len(peaks) > len(bound)  # plus false positives
    assert max(counts.values()) > 4 * min(counts.values())


def test_singleton_filter_removes_mostly_false_positives(small):
    sites = pd.read_csv(small.sites, sep="\t")
    bound = sites[(sites.bound == 1)]
    removed_fp = removed_true = total_fp = 0
    for rbp, path in small.peaks.items():
        peaks = read_peaks(path)
        mine = bound[bound.rbp == rbp]
        key = set(zip(mine.chrom, mine.start, strict=True))
        is_true = np.zeros(len(peaks), dtype=bool)
        for i, pk in enumerate(peaks.itertuples()):
            is_true[i] = any((pk.chrom, s) in key for s in range(pk.start, pk.end))
        for _, grp in peaks.groupby("chrom"):
            starts = grp.start.to_numpy()
            for j, (i, pk) in enumerate(zip(grp.index, grp.itertuples(), strict=True)):
                gaps = np.abs(np.delete(starts, j) - pk.start)
                singleton = not (gaps <= 500).any() and pk.p < 2
                if singleton:
                    removed_fp += not is_true[i]
                    removed_true += is_true[i]
        total_fp += (~is_true).sum()
    assert removed_fp > 2 * removed_true
    assert removed_fp > 0.5 * total_fp


# --- variants ----------------------------------------------------------------------------

def test_vcf_reads_with_cyvcf2_and_its_index_answers_region_queries(tiny, genome):
    from cyvcf2 import VCF

    vcf = VCF(str(tiny.vcf))
    assert vcf.raw_header.startswith("##fileformat=VCFv4.2")
    assert "##reference=" in vcf.raw_header and "##contig=<ID=chr1" in vcf.raw_header
    records = [(v.CHROM, v.POS, v.ID, v.REF, tuple(v.ALT)) for v in vcf]
    ids = [r[2] for r in records]
    assert len(set(ids)) == len(ids) >= 150
    order = [(list(genome).index(c), p) for c, p, *_ in records]
    assert order == sorted(order)
    for chrom, pos, _, ref, _ in records:
        assert 1 <= pos and pos + len(ref) - 1 <= len(genome[chrom])
        assert genome[chrom][pos - 1:pos - 1 + len(ref)].upper() == ref
    region = [r for r in records if r[0] == "chr2" and 1 <= r[1] <= 40_000]
    queried = [(v.CHROM, v.POS, v.ID, v.REF, tuple(v.ALT)) for v in VCF(str(tiny.vcf))(
        "chr2:1-40000")]
    assert queried == region and len(region) > 5


def test_truth_table_matches_the_vcf(tiny, truth):
    from cyvcf2 import VCF

    assert list(truth.columns[:12]) == ["chrom", "pos", "id", "ref", "alt", "effect", "rbp",
                                        "strand", "gene_id", "region", "site_start", "site_end"]
    rows = {(v.ID, alt): (v.CHROM, str(v.POS), v.REF) for v in VCF(str(tiny.vcf)) for alt in v.ALT}
    assert len(rows) == len(truth)
    for t in truth.itertuples():
        assert rows[(t.id, t.alt)] == (t.chrom, t.pos, t.ref)
    assert set(truth.effect) == {"loss", "gain", "neutral"}
    assert set(truth[truth.effect != "neutral"].strand) == {"+", "-"}
    multi = truth.groupby("id").size()
    assert (multi >= 2).sum() >= 4
    lengths = truth.ref.str.len() - truth.alt.str.len()
    assert (lengths > 0).any() and (lengths < 0).any()  # deletions and insertions
    assert ((truth.ref.str.len() >= 2) & (lengths == 0)).any()  # MNVs
    outside = truth[truth.region == "none"]
    assert len(outside) >= 4 and set(outside.gene_id) == {"."} and set(outside.effect) == {
        "neutral"}


def _apply(genome, chrom, pos, ref, alt, lo_pos, hi_pos, strand):
    seq = genome[chrom].upper()
    p = pos - 1
    mutated = seq[:p] + alt + seq[p + len(ref):]
    shift = len(alt) - len(ref)
    before, after = seq[lo_pos:hi_pos], mutated[lo_pos:hi_pos + shift]
    if strand == "-":
        before, after = revcomp(before), revcomp(after)
    return before, after


def test_loss_and_gain_variants_change_their_sites(truth, sites, genome, info):
    lo = log_odds_by_rbp()
    limits = {r["name"]: r for r in info["rbps"]}
    site_index = sites.set_index(["chrom", "start"])
    checked = {"loss": 0, "gain": 0}
    for t in truth[truth.effect.isin(["loss", "gain"])].itertuples():
        s0, s1 = int(t.site_start), int(t.site_end)
        site = site_index.loc[(t.chrom, s0)]
        assert site.rbp == t.rbp and site.end == s1 and site.strand == t.strand
        w = lo[t.rbp].shape[0]
        before, after = _apply(genome, t.chrom, int(t.pos), t.ref, t.alt, s0 - w + 1,
                               s1 + w - 1, t.strand)
        if t.effect == "loss":
            assert site.kind == "site" and site.bound == 1
            assert best_score(lo[t.rbp], after) <= limits[t.rbp]["score_broken_max"] + 1e-9
        else:
            assert site.kind == "latent"
            assert best_score(lo[t.rbp], after) >= limits[t.rbp]["score_site_min"] - 1e-9
            assert site.p_bound >= 0.6
        checked[t.effect] += 1
    assert checked["loss"] >= 30 and checked["gain"] >= 10


def test_neutral_variants_keep_away_from_sites(truth, sites):
    neutral = truth[truth.category.isin(["neutral_snv", "neutral_indel", "neutral_mnv",
                                         "neutral_multiallelic", "neutral_intergenic"])]
    assert len(neutral) >= 50
    for t in neutral.itertuples():
        mine = sites[sites.chrom == t.chrom]
        p0 = int(t.pos) - 1
        dist = np.maximum(mine.start - (p0 + len(t.ref)), p0 - mine.end)
        assert dist.min() >= 29, t.id
        assert t.rbp == "."
    unbound = truth[truth.category == "neutral_unbound_site"]
    assert len(unbound) >= 4
    for t in unbound.itertuples():
        assert sites.set_index(["chrom", "start"]).loc[(t.chrom, int(t.site_start))].bound == 0


def test_indels_are_left_aligned(truth, genome):
    indels = truth[truth.ref.str.len() != truth.alt.str.len()]
    assert len(indels) >= 10
    for t in indels.itertuples():
        assert t.ref[0] == t.alt[0]  # one anchor base
        changed = t.ref[1:] if len(t.ref) > len(t.alt) else t.alt[1:]
        # a left-aligned indel cannot move one base left: the anchor differs from its last base
        assert genome[t.chrom][int(t.pos) - 1].upper() != changed[-1], t.id


@pytest.mark.parametrize(("seq", "pos", "ref", "alt", "expected"), [
    ("GCAAAT", 3, "AA", "A", (1, "CA", "C")),      # delete one A of AAA
    ("GCAAAT", 4, "A", "AA", (1, "C", "CA")),      # insert one more A
    ("GCACAT", 2, "ACA", "A", (0, "GCA", "G")),    # delete a CA repeat unit
    ("GCACAT", 3, "C", "CAC", (0, "G", "GCA")),    # GCAC+AC+AT == G+CA+CACAT
    ("GCATTG", 2, "AT", "A", (2, "AT", "A")),      # already left-aligned
])
def test_left_normalize_hand_worked(seq, pos, ref, alt, expected):
    from varbind.encoding import decode, encode
    from varbind.simulate.variants import left_normalize

    p, r, a = left_normalize(encode(seq), pos, encode(ref), encode(alt))
    assert (p, decode(r), decode(a)) == expected


def _pfm_similarity(a: np.ndarray, b: np.ndarray, min_overlap: int = 5) -> float:
    best = 0.0
    for off in range(-(len(b) - min_overlap), len(a) - min_overlap + 1):
        pairs = [(i, i - off) for i in range(len(a)) if 0 <= i - off < len(b)]
        if len(pairs) >= min_overlap:
            best = max(best, float(np.mean([1 - 0.5 * np.abs(a[i] - b[j]).sum()
                                            for i, j in pairs])))
    return best


def test_world_json_describes_distinct_rbps(info):
    motifs = {m.id: m for m in read_meme()}
    assert info["seed"] == 0 and info["size"] == "tiny"
    names = [r["name"] for r in info["rbps"]]
    assert len(names) >= 8 and len(set(names)) == len(names)
    pfms = []
    for r in info["rbps"]:
        assert motifs[r["motif_id"]].rbp == r["name"]
        assert set(r["region_preference"]) == {"5utr", "cds", "3utr", "ncrna_exon", "intron"}
        pfms.append(motifs[r["motif_id"]].pfm)
    consensus = [r["consensus"] for r in info["rbps"]]
    assert len(set(consensus)) == len(consensus)
    for i in range(len(pfms)):
        for j in range(i + 1, len(pfms)):
            assert _pfm_similarity(pfms[i], pfms[j]) < 0.62, (names[i], names[j])
    # the measure does flag a near-duplicate pair that was left out of the panel
    by_name = {m.rbp: m.pfm for m in read_meme()}
    assert _pfm_similarity(by_name["PCBP2"], by_name["HNRNPK"]) > 0.62


def test_the_alt_panel_draws_other_rbps_with_their_own_motifs(tmp_path):
    from varbind.simulate.panel import ALT_PANEL, PANELS

    world = simulate_world(tmp_path / "alt", seed=4, size="tiny", panel="alt")
    info = json.loads(world.world_json.read_text())
    names = [r["name"] for r in info["rbps"]]
    assert info["panel"] == "alt" and names == [r.name for r in ALT_PANEL]
    assert not set(names) & {r.name for r in PANELS["default"]}
    motifs = {m.id: m for m in read_meme()}
    assert all(motifs[r["motif_id"]].rbp == r["name"] for r in info["rbps"])
    manifest = pd.read_csv(world.manifest, sep="\t")
    assert list(manifest["rbp"]) == names and all(world.peaks[n].is_file() for n in names)
    assert World.at(world.outdir).peaks == world.peaks  # the paths of a written world
    # every planted site carries its own RBP's motif: its score (3 decimals in the sites table)
    # reaches the RBP's site threshold
    sites = pd.read_csv(world.sites, sep="\t")
    for r in info["rbps"]:
        mine = sites[(sites["rbp"] == r["name"]) & (sites["kind"] == "site")]
        assert len(mine) and (mine["score"] >= r["score_site_min"] - 1e-3).all(), r["name"]
        assert mine["bound"].any() and not mine["bound"].all()


def test_an_unknown_panel_is_a_clear_error(tmp_path):
    with pytest.raises(VarbindError, match="unknown RBP panel 'other'.*default, alt"):
        simulate_world(tmp_path, seed=1, size="tiny", panel="other")


# --- CLI ----------------------------------------------------------------------------------

def test_cli_simulate_tiny(tmp_path, capsys):
    out = tmp_path / "world"
    assert main(["simulate", str(out), "--size", "tiny", "--seed", "2"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert json.loads((out / "world.json").read_text())["seed"] == 2
    assert (out / "variants.vcf.gz.tbi").is_file()


def test_cli_offers_every_simulator_size_smallest_first(capsys):
    from varbind.simulate import SIZES

    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "{" + ",".join(SIZES) + "}" in help_text
    genome = [sum(spec.contigs) for spec in SIZES.values()]
    scales = [spec.scale for spec in SIZES.values()]
    assert genome == sorted(genome) and scales == sorted(scales)


def test_cli_offers_every_rbp_panel(tmp_path, capsys):
    from varbind.simulate.panel import PANELS

    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    assert "{" + ",".join(PANELS) + "}" in " ".join(capsys.readouterr().out.split())
    out = tmp_path / "w"
    assert main(["simulate", str(out), "--size", "tiny", "--seed", "3", "--panel", "alt"]) == 0
    assert json.loads((out / "world.json").read_text())["panel"] == "alt"


def test_cli_outdir_that_is_a_file_is_one_line_error(tmp_path, capsys):
    target = tmp_path / "afile"
    target.write_text("x")
    assert main(["simulate", str(target), "--size", "tiny"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "OUTDIR exists and is not a directory" in err


def test_cli_rejects_negative_seed(tmp_path, capsys):
    with pytest.raises(SystemExit, match="2"):
        main(["simulate", str(tmp_path), "--seed", "-1"])
    assert "invalid seed '-1'" in capsys.readouterr().err
