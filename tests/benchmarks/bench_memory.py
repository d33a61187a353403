"""Benchmark: peak memory of ``varbind score`` does not grow with allele length (issue 13).

Scores two VCFs on the same random genome and model, each in fresh child processes:

- SNV: ``--snvs`` SNVs (default 100,000) spread over a 4-Mb contig inside one gene;
- SNV + long: the same SNVs plus, for each length of ``--lengths`` (default 10 kb, 100 kb,
  1 Mb), one deletion with a REF that long and one insertion with an ALT that long, all in
  the first chunk.

It prints the peak RSS (``ru_maxrss``) of each run, median and range over ``--repeats``
runs, and the ratio of the medians (target <= 1.2).

Usage::

    python tests/benchmarks/bench_memory.py                      # 100k SNVs, 3 runs each
    python tests/benchmarks/bench_memory.py --snvs 20000 --repeats 1

The model is a small random CNN on 150-nt windows (see ``bench_score.light_model``): the
figure is about the input pipeline, not the model. Before the fix, one 1-Mb REF in a
1,024-record chunk needed a ~8 GB position matrix; do not run the old code with 1 Mb.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402

CONTIG_LENGTH = 4_000_000


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def make_inputs(folder: Path, n_snvs: int, lengths: list[int], seed: int) -> dict:
    """Genome, one-gene GTF, light model, and the two VCFs (plain text)."""
    from bench_score import light_model

    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, CONTIG_LENGTH)
    seq = np.array(list("ACGT"))[codes]
    text = "".join(seq)
    with open(folder / "genome.fa", "w") as fh:
        fh.write(">chr1\n")
        for i in range(0, CONTIG_LENGTH, 80):
            fh.write(text[i:i + 80] + "\n")
    (folder / "genes.gtf").write_text("\t".join(
        ["chr1", "bench", "exon", "1", str(CONTIG_LENGTH), ".", "+", ".",
         'gene_id "G1"; transcript_id "T1"; gene_name "G1";']) + "\n")
    light_model(folder / "models", ["R1", "R2"])
    positions = np.sort(rng.choice(np.arange(1000, CONTIG_LENGTH - 1000), n_snvs,
                                   replace=False)) + 1
    snvs = [(int(p), text[p - 1], "ACGT"[(codes[p - 1] + 1) % 4]) for p in positions]
    longs = []
    start = 2000
    for length in lengths:  # one deletion and one insertion per length, near the start
        longs.append((start, text[start - 1:start + length], text[start - 1]))
        longs.append((start + 1, text[start], text[start] + text[start + 1:start + 1 + length]))
    header = (f"##fileformat=VCFv4.2\n##contig=<ID=chr1,length={CONTIG_LENGTH}>\n"
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")

    def write(name: str, rows) -> Path:
        with open(folder / name, "w") as fh:
            fh.write(header)
            for p, ref, alt in sorted(rows):
                fh.write(f"chr1\t{p}\t.\t{ref}\t{alt}\t.\tPASS\t.\n")
        return folder / name

    return {"fasta": folder / "genome.fa", "gtf": folder / "genes.gtf",
            "models": folder / "models", "snv": write("snv.vcf", snvs),
            "long": write("long.vcf", snvs + longs)}


def child(args) -> None:
    """Child process: score one VCF, print records, peak RSS (MiB) and seconds as JSON."""
    from varbind.score import ScoreOptions, score_vcf

    folder = Path(args.child_dir)
    t0 = time.perf_counter()
    summary = score_vcf(ScoreOptions(
        vcf=args.child, fasta=folder / "genome.fa", gtf=folder / "genes.gtf",
        models=folder / "models", output=Path(args.child_out), annotation_cache=folder))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"records": summary.records, "peak_mib": peak,
                      "seconds": time.perf_counter() - t0, "flags": summary.flags}))


def run_child(folder: Path, vcf: Path, out: Path) -> dict:
    cmd = [sys.executable, __file__, "--child", str(vcf), "--child-dir", str(folder),
           "--child-out", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"child failed on {vcf}:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--snvs", type=int, default=100_000)
    p.add_argument("--lengths", default="10000,100000,1000000",
                   help="comma-separated REF/ALT lengths of the long records")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--results", default=None,
                   help="docs results file (default docs/results/bench_memory.json)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--child-dir", help=argparse.SUPPRESS)
    p.add_argument("--child-out", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args)
        return
    lengths = [int(x) for x in args.lengths.split(",") if x]
    with tempfile.TemporaryDirectory(prefix="varbind-bench-memory-") as tmp:
        folder = Path(tmp)
        files = make_inputs(folder, args.snvs, lengths, args.seed)
        runs: dict[str, list[dict]] = {"snv": [], "long": []}
        for r in range(args.repeats):
            for kind in ("snv", "long"):  # alternate, so machine load hits both alike
                res = run_child(folder, files[kind], folder / f"{kind}{r}.vcf.gz")
                runs[kind].append(res)
                log(f"run {r + 1} {kind}: {res['records']} records, peak {res['peak_mib']:.0f}"
                    f" MiB, {res['seconds']:.1f} s")
    med = {k: statistics.median(x["peak_mib"] for x in v) for k, v in runs.items()}
    for kind, label in (("snv", f"{args.snvs} SNVs"),
                        ("long", f"{args.snvs} SNVs + deletions/insertions of "
                                 f"{', '.join(f'{n:,}' for n in lengths)} nt")):
        peaks = [x["peak_mib"] for x in runs[kind]]
        print(f"peak RSS, {label}: median {med[kind]:.0f} MiB (range {min(peaks):.0f}-"
              f"{max(peaks):.0f}, {len(peaks)} runs)")
    ratio = med["long"] / med["snv"]
    print(f"ratio (SNV + long / SNV only): {ratio:.3f} (target <= 1.2: "
          f"{'meets' if ratio <= 1.2 else 'MISSES'})")
    print(f"long-record statuses: {runs['long'][0]['flags']}")
    from results import figure, write_results  # tests/benchmarks/results.py

    pairs = [lg["peak_mib"] / sn["peak_mib"] for sn, lg in zip(runs["snv"], runs["long"],
                                                               strict=True)]
    write_results("bench_memory", [
        figure("long_vs_snv_peak", pairs, target=("<=", 1.2),
               label="peak RSS, SNVs + long indels / SNVs only (paired runs)",
               note=f"{args.snvs} SNVs; lengths {args.lengths}"),
        figure("snv_peak_mib", [x["peak_mib"] for x in runs["snv"]], unit="MiB", digits=0,
               label=f"peak RSS, {args.snvs} SNVs"),
    ], path=args.results)


if __name__ == "__main__":
    main()
