"""Training-data benchmark on the full simulated world.

    python tests/benchmarks/bench_datasets.py [--size full] [--seed 0] [--world DIR]
        [--lookups 200000] [--center 100]

Simulates a world into a temporary folder (or uses ``--world``), then prints:

- seconds to build the multilabel and the per-RBP dataset (each cold: the annotation is
  parsed, not read from the cache; target: both together under 60 s on 2 cores);
- annotation lookups: rows per second of ``AnnotationIndex.region_codes`` over batches of
  random windows (250 nt, DeepRiPe's region window, and 1 kb), both strands, all contigs;
- per RBP, the planted motif's hit rate in positive and negative windows and their ratio
  (target >= 5x). A hit is a window whose best log2-odds score (the RBP's RNAcompete PWM,
  transcript strand) reaches the score every planted site reaches (``score_site_min`` in
  ``world.json``). Per-RBP windows are scored on their central ``--center`` nt (the peak;
  the 1-kb flanks hold background), multilabel windows on the 50-nt bin plus 25 nt each side
  (100 nt), with each RBP's negatives being the bins where it is 0;
- per RBP, the GC difference between per-RBP positives and negatives (whole windows; target:
  means within 0.01);
- with ``--gencode-genes N`` (e.g. 25000): writes a GENCODE-style gzipped GTF of N genes (6
  transcripts each, about 127 lines per gene, GENCODE's attributes) and prints the seconds to
  parse it cold and to load it again from the cache.

The figures are also written to ``docs/results/bench_datasets.json`` (``--results PATH``)
through ``results.py``, from which the docs render them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from results import figure, write_results  # noqa: E402  (tests/benchmarks/results.py)


def best_scores(codes: np.ndarray, log_odds: np.ndarray) -> np.ndarray:
    """Best PWM score over all positions of each row, (N,) from codes (N, L)."""
    width = log_odds.shape[0]
    table = np.concatenate([log_odds, np.full((width, 1), -20.0)], axis=1)  # N scores badly
    n = codes.shape[1] - width + 1
    acc = table[0][codes[:, :n]].copy()
    for k in range(1, width):
        acc += table[k][codes[:, k:k + n]]
    return acc.max(axis=1)


def crop(codes: np.ndarray, length: int) -> np.ndarray:
    start = codes.shape[1] // 2 - length // 2
    return codes[:, start:start + length]


def gencode_like_gtf(path: Path, n_genes: int, seed: int = 0) -> int:
    """A GENCODE-style gzipped GTF (gene, transcript, exon, CDS, UTR, codon lines); line count."""
    import gzip

    rng = np.random.default_rng(seed)
    lines = 0
    with gzip.open(path, "wt", compresslevel=6) as out:
        out.write("##description: evidence-based annotation (synthetic, GENCODE layout)\n")
        for g in range(n_genes):
            chrom, strand = f"chr{g % 22 + 1}", "+-"[g % 2]
            start = (g // 22) * 150_000 + 1001
            gid = f"ENSG{g:011d}.{g % 20 + 1}"
            ga = (f'gene_id "{gid}"; gene_type "protein_coding"; gene_name "GENE{g}"; level 2; '
                  f'hgnc_id "HGNC:{g}"; havana_gene "OTTHUMG{g:011d}.2";')
            out.write(f"{chrom}\tHAVANA\tgene\t{start}\t{start + 50_000}\t.\t{strand}\t.\t{ga}\n")
            lines += 1
            for t in range(6):
                ex = np.sort(rng.choice(np.arange(start, start + 49_900, 100), 10, replace=False))
                ta = (f'gene_id "{gid}"; transcript_id "ENST{g:09d}{t}.1"; gene_type '
                      f'"protein_coding"; gene_name "GENE{g}"; transcript_type "protein_coding"; '
                      f'transcript_name "GENE{g}-20{t}"; level 2; protein_id "ENSP{g:09d}{t}.1"; '
                      f'transcript_support_level "1"; tag "basic"; tag "CCDS";')
                out.write(f"{chrom}\tHAVANA\ttranscript\t{ex[0]}\t{ex[-1] + 79}\t.\t{strand}"
                          f"\t.\t{ta}\n")
                lines += 1
                for i, e in enumerate(ex):
                    ea = f'{ta} exon_number {i + 1}; exon_id "ENSE{g:08d}{t}{i}.1";'
                    out.write(f"{chrom}\tHAVANA\texon\t{e}\t{e + 79}\t.\t{strand}\t.\t{ea}\n")
                    kind = "CDS" if 2 <= i <= 7 else "UTR"
                    out.write(f"{chrom}\tHAVANA\t{kind}\t{e}\t{e + 79}\t.\t{strand}\t0\t{ea}\n")
                    lines += 2
                for codon, e in (("start_codon", ex[2]), ("stop_codon", ex[7] + 77)):
                    out.write(f"{chrom}\tHAVANA\t{codon}\t{e}\t{e + 2}\t.\t{strand}\t0\t{ta}\n")
                    lines += 1
    return lines


def lookup_rate(index, genome, n: int, length: int, rng) -> float:
    from varbind.genomics.genome import window_start

    contigs = [c for c in genome.contigs if index.resolve(c)]
    lengths = np.array([genome.lengths[c] for c in contigs], dtype=np.float64)
    which = rng.choice(len(contigs), n, p=lengths / lengths.sum())
    centers = (rng.random(n) * lengths[which]).astype(np.int64)
    strands = np.where(rng.random(n) < 0.5, "+", "-")
    batch = 4096
    t0 = time.perf_counter()
    for k, chrom in enumerate(contigs):
        rows = np.flatnonzero(which == k)
        for lo in range(0, rows.size, batch):
            sel = rows[lo:lo + batch]
            index.region_codes(chrom, window_start(centers[sel], length, strands[sel]), length,
                               strands[sel])
    return n / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="full")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--world", type=Path, help="use this simulated world instead")
    parser.add_argument("--lookups", type=int, default=200_000)
    parser.add_argument("--center", "--centre", type=int, default=100)
    parser.add_argument("--results", type=Path, default=None,
                        help="results JSON (default docs/results/bench_datasets.json)")
    parser.add_argument("--gencode-genes", type=int, default=0,
                        help="also time parsing a GENCODE-style GTF of this many genes")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")

    import h5py

    from varbind.annotations.index import AnnotationIndex
    from varbind.genomics.genome import Genome
    from varbind.genomics.motifs import read_meme
    from varbind.simulate import simulate_world
    from varbind.training.datasets import DatasetOptions, build_dataset

    with tempfile.TemporaryDirectory(prefix="bench_datasets.") as tmp:
        tmp = Path(tmp)
        if args.world:
            world_dir = args.world
        else:
            t0 = time.perf_counter()
            simulate_world(tmp / "world", seed=args.seed, size=args.size)
            world_dir = tmp / "world"
            print(f"simulated {args.size} world (seed {args.seed}) in "
                  f"{time.perf_counter() - t0:.1f} s")
        info = json.loads((world_dir / "world.json").read_text())
        inputs = dict(peaks=world_dir / "peaks" / "manifest.tsv", fasta=world_dir / "genome.fa",
                      gtf=world_dir / "genes.gtf", expression=world_dir / "expression.tsv")
        genome_mb = sum(info["contigs"].values()) / 1e6
        print(f"world: {genome_mb:.1f} Mb, {len(info['contigs'])} contigs, {info['genes']} "
              f"genes, {len(info['rbps'])} RBPs, {sum(r['peaks'] for r in info['rbps'])} peaks")
        print(f"cores available: {len(os.sched_getaffinity(0))}")

        times = {}
        files = {}
        for kind in ("multilabel", "per-rbp"):
            out = tmp / f"{kind}.h5"
            t0 = time.perf_counter()
            summary = build_dataset(out, **inputs, options=DatasetOptions(kind=kind),
                                    cache_dir=tmp / f"cache-{kind}")
            times[kind] = time.perf_counter() - t0
            files[kind] = out
            rows = sum(sum(c.values()) for c in summary.rows.values())
            print(f"build {kind:10s}: {times[kind]:6.2f} s  ({rows} windows, "
                  f"{out.stat().st_size / 1e6:.1f} MB)")
        total = sum(times.values())
        figures = [figure("build_seconds", total, unit="s", target=("<", 60),
                          label="build multilabel + per-RBP datasets, full world")]
        print(f"build both kinds   : {total:6.2f} s  (target < 60 s) "
              f"{'PASS' if total < 60 else 'FAIL'}")

        index = AnnotationIndex.from_gtf(inputs["gtf"], cache_dir=tmp / "cache-multilabel")
        genome = Genome(inputs["fasta"])
        rng = np.random.default_rng(args.seed)
        for length in (250, 1000):
            rate = lookup_rate(index, genome, args.lookups, length, rng)
            print(f"annotation lookups : {rate:12,.0f} rows/s of region_codes at {length} nt "
                  f"({rate * length / 1e6:,.0f} M bases/s)")
            figures.append(figure(f"lookups_{length}", rate, unit="rows/s", digits=0,
                                  label=f"region-class lookups at {length} nt"))

        motifs = {m.id: m for m in read_meme()}
        rbps = {r["name"]: r for r in info["rbps"]}
        print("\nplanted-motif hit rate (hit: best log2-odds >= the planted-site minimum)")
        print(f"{'RBP':10s} {'kind':10s} {'pos':>7s} {'neg':>7s} {'hit+':>7s} {'hit-':>7s} "
              f"{'ratio':>7s}")
        ratios = {"multilabel": [], "per-rbp": []}
        with h5py.File(files["multilabel"], "r") as h5:
            order = json.loads(h5.attrs["rbps"])
            labels = h5["labels"][...]
            seq = crop(h5["seq"][...], 100)
        for k, name in enumerate(order):
            r = rbps[name]
            hits = best_scores(seq, motifs[r["motif_id"]].log_odds()) >= r["score_site_min"]
            pos, neg = labels[:, k] == 1, labels[:, k] == 0
            ratio = hits[pos].mean() / max(hits[neg].mean(), 1e-9)
            ratios["multilabel"].append(ratio)
            print(f"{name:10s} {'multilabel':10s} {pos.sum():7d} {neg.sum():7d} "
                  f"{hits[pos].mean():7.3f} {hits[neg].mean():7.3f} {ratio:7.1f}")
        gc_rows = []
        with h5py.File(files["per-rbp"], "r") as h5:
            for name in json.loads(h5.attrs["rbps"]):
                g = h5[name]
                r = rbps[name]
                lab = g["labels"][...][:, 0]
                seq = crop(g["seq"][...], args.center)
                hits = best_scores(seq, motifs[r["motif_id"]].log_odds()) >= r["score_site_min"]
                pos, neg = lab == 1, lab == 0
                ratio = hits[pos].mean() / max(hits[neg].mean(), 1e-9)
                ratios["per-rbp"].append(ratio)
                print(f"{name:10s} {'per-rbp':10s} {pos.sum():7d} {neg.sum():7d} "
                      f"{hits[pos].mean():7.3f} {hits[neg].mean():7.3f} {ratio:7.1f}")
                gc = g["gc"][...]
                strand = g["strand"][...].astype(str)
                gc_rows.append((name, gc[pos].mean(), gc[neg].mean(),
                                (strand[pos] == "+").mean(), (strand[neg] == "+").mean()))
        for kind, values in ratios.items():
            values = np.array(values)
            print(f"motif enrichment {kind:10s}: median {np.median(values):.1f}x, min "
                  f"{values.min():.1f}x; RBPs >= 5x: {(values >= 5).sum()}/{len(values)}")
            figures.append(figure(f"enrichment_min_{kind}", values.min(), unit="x",
                                  target=(">=", 5),
                                  label=f"planted-motif enrichment, {kind}, lowest RBP",
                                  note=f"median over RBPs {np.median(values):.1f}x"))

        print("\nper-RBP GC and strand balance (positives vs negatives)")
        print(f"{'RBP':10s} {'GC+':>7s} {'GC-':>7s} {'|diff|':>7s} {'plus+':>7s} {'plus-':>7s}")
        for name, gp, gn, sp, sn in gc_rows:
            print(f"{name:10s} {gp:7.4f} {gn:7.4f} {abs(gp - gn):7.4f} {sp:7.3f} {sn:7.3f}")
        worst = max(abs(gp - gn) for _, gp, gn, _, _ in gc_rows)
        print(f"GC mean difference: max {worst:.4f} (target <= 0.01) "
              f"{'PASS' if worst <= 0.01 else 'FAIL'}")
        figures.append(figure("gc_difference_max", worst, target=("<=", 0.01), digits=4,
                              label="GC mean difference, per-RBP positives vs negatives, "
                                    "worst RBP"))

        if args.gencode_genes:
            gtf = tmp / "gencode_like.gtf.gz"
            n_lines = gencode_like_gtf(gtf, args.gencode_genes, args.seed)
            t0, c0 = time.perf_counter(), time.process_time()
            big = AnnotationIndex.from_gtf(gtf, cache_dir=tmp / "cache-gencode")
            cold, cold_cpu = time.perf_counter() - t0, time.process_time() - c0
            t0 = time.perf_counter()
            AnnotationIndex.from_gtf(gtf, cache_dir=tmp / "cache-gencode")
            warm = time.perf_counter() - t0
            print(f"\nGENCODE-style GTF: {n_lines:,} lines, {gtf.stat().st_size / 1e6:.0f} MB "
                  f"gzipped, {len(big.genes):,} genes, {len(big.transcripts):,} transcripts")
            print(f"parse (cold)       : {cold:6.1f} s wall, {cold_cpu:.1f} s CPU (all threads)")
            print(f"load from cache    : {warm:6.2f} s  ({cold / warm:.0f}x faster)")
            figures += [figure("gencode_parse_seconds", cold, unit="s",
                               label=f"parse a GENCODE-style GTF ({n_lines:,} lines), cold"),
                        figure("gencode_cache_seconds", warm, unit="s",
                               label="load the same annotation from the cache")]
        write_results("bench_datasets", figures, path=args.results)


if __name__ == "__main__":
    main()
