"""Benchmark of genome-wide scoring on Dask (:mod:`varbind.parallel`).

Prints, from one run on the same VCF, models and batch size (each measurement repeated
``--rounds`` times, interleaved, so that load from other processes falls on both sides of a
ratio alike; the best of each is reported, with the per-round ratios):

1. parallel efficiency: the speed-up of 2 single-threaded workers over 1 single-threaded
   worker, both clusters warm (models loaded) (target >= 1.6x);
2. ``varbind score --dask local:2`` against ``varbind score`` (one process, TensorFlow on every
   core), both end to end from the command line as a user runs them, start-up included
   (target: speed ratio >= 0.9);
3. scheduler overhead per partition: a no-op scoring function through the same machinery
   (plan, task, shard, marker, merge) per partition, and, in the real 2-worker run, worker
   time not spent scoring per partition;
4. peak memory (``ru_maxrss``) of each worker against the single process;
5. a check that the merged output equals the single-process output outside ``##varbind_run``.

The VCF (default 50,000 variants: SNVs, deletions, insertions, some multi-allelic records)
is drawn inside the genes of the simulator's full world, over its seven contigs.

Usage::

    python tests/benchmarks/bench_dask.py                       # 50k variants
    python tests/benchmarks/bench_dask.py --variants 10000 --workdir /tmp/bd
    python tests/benchmarks/bench_dask.py --models multiresbind --variants 20000

``--models``: ``light`` (default; a random CNN on 150 nt of sequence, one output per simulated
RBP, so that the run takes minutes on 2 cores), ``multiresbind`` (random Multi-resBind,
sequence + region), ``demo`` (the bundled demo set) or a path. Speed figures only.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gzip
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- inputs


def make_world(folder: Path, seed: int):
    from varbind.simulate import World, simulate_world

    if (folder / "world.json").exists():
        return World.at(folder)
    log(f"simulating the full world in {folder} ...")
    return simulate_world(folder, seed=seed, size="full")


def make_models(folder: Path, world, models: str) -> Path:
    """``light`` (default: a small random CNN, sequence 150 nt, so that 50k variants take
    minutes), ``multiresbind`` (random Multi-resBind, sequence + region), ``demo`` (the
    bundled demo set) or a path; one output per simulated RBP."""
    if models not in ("light", "multiresbind", "demo"):
        return Path(models)
    if models == "demo":
        from varbind.demo import demo_file

        return demo_file("models")
    import json

    from varbind.model.bundle import ModelMeta, save_bundle

    target = folder / models
    if (target / f"{models}_random" / "model.json").exists():
        return target
    rbps = [r["name"] for r in json.loads(Path(world.world_json).read_text())["rbps"]]
    if models == "multiresbind":
        from varbind.training.models import build_model, input_specs

        specs = input_specs("multiresbind", ["sequence", "region"])
        model = build_model("multiresbind", specs, n_outputs=len(rbps))
    else:
        import keras

        from varbind.model.inputs import Component, InputSpec

        keras.utils.set_random_seed(0)
        x = keras.Input((150, 4), name="sequence")
        h = keras.layers.Conv1D(32, 11, activation="relu")(x)
        h = keras.layers.GlobalMaxPooling1D()(h)
        model = keras.Model(x, keras.layers.Dense(len(rbps), activation="sigmoid")(h))
        specs = [InputSpec("sequence", "per_position", (Component("sequence", tuple("ACGT")),),
                           150)]
    save_bundle(model, ModelMeta(name=f"{models}_random", architecture="imported", rbps=rbps,
                                 inputs=specs), target / f"{models}_random")
    return target


def make_vcf(world, n: int, path: Path, seed: int = 7) -> Path:
    """``n`` records inside the world's genes: 93% SNVs (2% of all with two ALTs), 4%
    deletions of 1-6 nt, 3% insertions of 1-4 nt; REF from the genome; sorted, indexed."""
    from synthetic import gene_positions, write_indexed_vcf

    if Path(str(path) + ".tbi").exists():
        return path
    rng = np.random.default_rng(seed)
    genome, chrom, pos0 = gene_positions(world, n, rng)
    kind = rng.choice(["snv", "multi", "del", "ins"], size=n, p=[0.91, 0.02, 0.04, 0.03])

    def lines():
        for c in genome.contigs:
            sel = np.flatnonzero(chrom == c)
            sel = sel[np.argsort(pos0[sel], kind="stable")]
            for k, i in enumerate(sel):
                yield _record(genome, c, int(pos0[i]), kind[i], rng, f"bd{c}_{k}")

    return write_indexed_vcf(path, genome, lines())


def _record(genome, chrom: str, p: int, kind: str, rng, vid: str) -> str:
    others = {b: [x for x in "ACGT" if x != b] for b in "ACGTN"}
    if kind == "del":
        ref = genome.fetch(chrom, p, p + 1 + int(rng.integers(1, 7)))
        alt = ref[0]
    elif kind == "ins":
        ref = genome.fetch(chrom, p, p + 1)
        alt = ref + "".join(rng.choice(list("ACGT"), size=int(rng.integers(1, 5))))
    else:
        ref = genome.fetch(chrom, p, p + 1)
        choices = others[ref]
        alt = ",".join(rng.choice(choices, size=2 if kind == "multi" else 1, replace=False))
    return f"{chrom}\t{p + 1}\t{vid}\t{ref}\t{alt}\t.\tPASS\t.\n"


def score_options(world, models: Path, vcf: Path, out: Path, batch_size: int):
    from varbind.scoring.options import ScoreOptions

    return ScoreOptions(vcf=vcf, fasta=world.genome, gtf=world.gtf, expression=world.expression,
                        models=models, output=out / "out.vcf.gz", table=out / "out.tsv",
                        batch_size=batch_size)


# ----------------------------------------------------------------------------- measurements


def cli_run(args: list[str]) -> tuple[float, int]:
    """Wall seconds of ``varbind ARGS`` in a child process, and the largest ``ru_maxrss``
    (bytes) of any process it ran (the CLI itself, or a Dask worker)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "varbind", "-q", *args], check=True)
    seconds = time.perf_counter() - t0
    return seconds, max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) * 1024


@contextlib.contextmanager
def warm_cluster(options, n_workers: int, warm_region: str):
    """A LocalCluster of ``n_workers`` single-threaded workers, every worker warm
    (TensorFlow imported, models loaded, first predictions traced on ``warm_region``)."""
    import logging

    from distributed import Client, LocalCluster

    from varbind.parallel.cluster import dask_log_level, thread_environment
    from varbind.parallel.run import score_parallel

    dask_log_level(logging.ERROR)
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                           env=thread_environment(1), dashboard_address=None, memory_limit=0)
    client = Client(cluster)
    try:
        scratch = Path(tempfile.mkdtemp(prefix="bench-dask-warm-"))
        warm = dataclasses.replace(options, region=warm_region, output=scratch / "w.vcf.gz",
                                   table=scratch / "w.tsv")
        client.wait_for_workers(n_workers)
        client.run(_load_scorer, warm)
        score_parallel(warm, client=client, partition_size=max(1, 60_000 // n_workers),
                       progress=False)
        yield client
    finally:
        client.close()
        cluster.close()


def timed_run(client, options, partition_size: int):
    from varbind.parallel.run import score_parallel

    t0 = time.perf_counter()
    result = score_parallel(options, client=client, partition_size=partition_size,
                            progress=False)
    result.seconds = time.perf_counter() - t0
    return result


def _load_scorer(options) -> None:
    from varbind.parallel.shards import LOADED_FIELDS, WORKER_CACHE
    from varbind.scoring.scorer import Scorer

    key = ("scorer",) + tuple(repr(getattr(options, n, None)) for n in LOADED_FIELDS)
    if key not in WORKER_CACHE:
        WORKER_CACHE[key] = Scorer(options)


def noop_score(options) -> dict:
    """A scoring function that does nothing but write a header-only VCF shard."""
    from varbind.files import atomic_output

    with atomic_output(options.output) as tmp, gzip.open(tmp, "wt") as fh:
        fh.write("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    return {"records": 0}


def noop_overhead(client, options, scratch: Path) -> tuple[int, float]:
    """(partitions, seconds per partition) of the machinery alone, 10 kb partitions."""
    from varbind.parallel.run import score_parallel

    noop = dataclasses.replace(options, output=scratch / "noop.vcf", table=None)
    t0 = time.perf_counter()
    result = score_parallel(noop, client=client, partition_size=10_000, score_fn=noop_score,
                            progress=False)
    return result.partitions, (time.perf_counter() - t0) / result.partitions


def same_output(a: Path, b: Path) -> bool:
    def body(path):
        with gzip.open(path, "rt") as fh:
            return [line for line in fh if not line.startswith("##varbind_run")]

    return body(a) == body(b)


# ----------------------------------------------------------------------------- main


def main() -> None:
    import logging

    logging.basicConfig(level=logging.ERROR)  # distributed's shutdown warnings are not figures
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variants", type=int, default=50_000)
    p.add_argument("--workdir", default=None, help="reuse world, models and VCF from here")
    p.add_argument("--models", default="light",
                   help="light (default), multiresbind, demo, or a bundle / model set path")
    p.add_argument("--partition-size", default="200kb")
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rounds", type=int, default=3,
                   help="interleaved repetitions of each measurement (best one reported)")
    args = p.parse_args()

    from varbind.parallel.run import parse_size

    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-dask-"))
    work.mkdir(parents=True, exist_ok=True)
    world = make_world(work / "world", args.seed)
    models = make_models(work / "models", world, args.models)
    vcf = make_vcf(world, args.variants, work / f"variants_{args.variants}.vcf.gz")
    partition_size = parse_size(args.partition_size)
    log(f"world {work / 'world'}, models {models}, VCF {vcf} ({args.variants} records)")

    load_start = os.getloadavg()[0]
    common = [str(vcf), "--fasta", str(world.genome), "--gtf", str(world.gtf), "--expression",
              str(world.expression), "--models", str(models), "--batch-size",
              str(args.batch_size)]
    cli = {"single": [], "dask2": []}
    for r in range(args.rounds):  # interleaved, so that the other load hits both alike
        for name, extra in (("single", []),
                            ("dask2", ["--dask", "local:2", "--threads-per-worker", "1",
                                       "--partition-size", args.partition_size,
                                       "--dashboard", ":0"])):
            out = work / name
            out.mkdir(exist_ok=True)
            log(f"round {r + 1}: varbind score {' '.join(extra) or '(one process)'} ...")
            cli[name].append(cli_run(["score", *common, "-o", str(out / "out.vcf.gz"),
                                      "--tsv", str(out / "out.tsv"), *extra]))
    identical = same_output(work / "single" / "out.vcf.gz", work / "dask2" / "out.vcf.gz")

    warm_region = f"{world_contig(vcf)}:1-60000"
    runs: dict[int, list] = {1: [], 2: []}
    options = {n: score_options(world, models, vcf, work / f"warm{n}", args.batch_size)
               for n in (1, 2)}
    for n in (1, 2):
        (work / f"warm{n}").mkdir(exist_ok=True)
    log("warm LocalClusters of 1 and 2 single-threaded workers ...")
    with warm_cluster(options[1], 1, warm_region) as one_client, \
            warm_cluster(options[2], 2, warm_region) as two_client:
        for r in range(args.rounds):
            log(f"round {r + 1}: warm 1 worker, warm 2 workers ...")
            runs[1].append(timed_run(one_client, options[1], partition_size))
            runs[2].append(timed_run(two_client, options[2], partition_size))
        noop_parts, noop_per_part = noop_overhead(two_client, options[2],
                                                  Path(tempfile.mkdtemp(prefix="bd-noop-")))

    one = min(runs[1], key=lambda r: r.seconds)
    two = min(runs[2], key=lambda r: r.seconds)
    speedups = [a.seconds / b.seconds for a, b in zip(runs[1], runs[2], strict=True)]
    single = min(t for t, _ in cli["single"])
    dask2 = min(t for t, _ in cli["dask2"])
    cli_ratios = [a[0] / b[0] for a, b in zip(cli["single"], cli["dask2"], strict=True)]
    busy = sum(two.task_seconds)
    idle_per_part = (two.seconds * 2 - busy) / two.partitions
    print(f"\nbench_dask: {args.variants} variants, models {args.models}, {two.partitions} "
          f"partitions of {partition_size:,} nt, batch {args.batch_size}, {os.cpu_count()} "
          f"CPUs, {args.rounds} interleaved rounds (best of each reported), load average "
          f"{load_start:.1f} at start, {os.getloadavg()[0]:.1f} at end")
    print(f"  warm, 1 worker x 1 thread : {one.seconds:7.1f} s  "
          f"{args.variants / one.seconds:7.0f} variants/s")
    print(f"  warm, 2 workers x 1 thread: {two.seconds:7.1f} s  "
          f"{args.variants / two.seconds:7.0f} variants/s  (merge {two.merge_seconds:.1f} s)")
    print(f"  parallel efficiency: speed-up 2 vs 1 worker = {one.seconds / two.seconds:.2f}x "
          f"(target >= 1.6); per round {', '.join(f'{x:.2f}' for x in speedups)}")
    print(f"  CLI end to end: one process {single:.1f} s, --dask local:2 {dask2:.1f} s: speed "
          f"ratio {single / dask2:.2f} (target >= 0.9); per round "
          f"{', '.join(f'{x:.2f}' for x in cli_ratios)}")
    print(f"  scheduler overhead: {noop_per_part * 1000:.1f} ms per partition (no-op scoring, "
          f"{noop_parts} partitions); in the best 2-worker run {idle_per_part:.2f} worker-s "
          f"per partition outside scoring ({two.partitions} partitions, mean task "
          f"{busy / two.partitions:.1f} s)")
    peaks = sorted(two.peak_rss_per_worker.values())
    single_rss = max(m for _, m in cli["single"])
    print(f"  peak memory: workers {', '.join(f'{b / 2**20:.0f}' for b in peaks)} MiB "
          f"(2-worker run); one process {single_rss / 2**20:.0f} MiB; worker/process "
          f"{max(peaks) / single_rss:.2f}")
    print(f"  merged output equals the single-process output: {identical}")


def world_contig(vcf: Path) -> str:
    import pysam

    with pysam.VariantFile(str(vcf)) as vf:
        return next(iter(vf)).chrom


if __name__ == "__main__":
    main()
