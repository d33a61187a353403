"""Benchmark of genome-wide scoring on Dask (:mod:`varbind.parallel`).

Two inputs, as in issue 14:

- *dense*: ``--variants`` (default 100,000) SNVs in the genes of a simulated 3-contig,
  3.2-Mb genome (saturation mutagenesis, a deeply sequenced gene panel);
- *sparse*: ``--sparse-variants`` (default 20,000) SNVs anywhere on the 7-contig demo world
  (genome-wide-like).

Every configuration runs once per round, the configurations interleaved within a round, so
that load from other processes falls on both sides of a ratio alike; figures are medians over
``--rounds`` rounds with their spread (min-max), ratios are medians of the per-round ratios.
Printed (and written to ``--json``):

1. dense, warm clusters (models loaded): 2 single-threaded workers against 1
   (target >= 1.7x), each with its default plan;
2. dense, end to end from the command line: ``varbind score --dask local:2`` against
   ``varbind score`` in one process (target >= 0.95x), and the start-up the Dask run reports
   (cluster, plan, per worker backend import and model loading);
3. the number of partitions; the scheduler overhead per partition (a no-op scoring function
   through the same plan, tasks, shards, markers and merge) and as a share of the warm
   2-worker run (target < 5%); worker time outside scoring per partition;
4. the old plan (fixed 2-Mb windows: one partition per contig here) on the same warm 2-worker
   cluster, dense and sparse: the balanced plan must not be slower on the sparse VCF;
5. peak memory (``ru_maxrss``) of each worker of the warm 2-worker run;
   what bounds the 2-vs-1 speed-up on this machine: the cores one single-threaded worker
   keeps busy while scoring (its model thread, plus the threads that read and build windows
   and that format and write: CPU seconds of its tasks over their seconds), the model alone
   on 2 workers at once vs 1, the bound those two give (:func:`speedup_bound`) and the tail
   of the 2-worker run (one worker idle, the other finishing);
6. whether the Dask outputs (VCF and TSV) equal the single-process outputs byte for byte
   outside the ``##varbind_run`` lines.

Usage::

    nice python tests/benchmarks/bench_dask.py --json bench_dask.json      # the issue's case
    python tests/benchmarks/bench_dask.py --variants 5000 --sparse-variants 2000 --rounds 1

``--models``: ``multiresbind`` (default: a random 6-RBP Multi-resBind, sequence + region),
``light`` (a small random CNN), ``demo`` (the bundled demo set) or a bundle / model-set path.
Speed figures only.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
sys.path.insert(0, str(Path(__file__).resolve().parent))

#: The dense case's genome: three contigs, 3.2 Mb (cut in fixed 2-Mb windows: one partition
#: per contig, the largest holding half the records).
DENSE_CONTIGS = (1_600_000, 1_000_000, 600_000)
OLD_PARTITION_SIZE = 2_000_000
TARGETS = {"workers_2_vs_1": 1.7, "dask_vs_single": 0.95, "overhead_share": 0.05}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- inputs


def dense_world(folder: Path, seed: int):
    """A simulated world on :data:`DENSE_CONTIGS` (the simulator's ``full`` densities)."""
    from varbind.simulate import SIZES, World, simulate_world
    from varbind.simulate.panel import SizeSpec

    if (folder / "world.json").exists():
        return World.at(folder)
    full = SIZES["full"]
    SIZES["bench-dense"] = SizeSpec(DENSE_CONTIGS, full.scale, full.n_gap, full.variant_counts)
    log(f"simulating a {len(DENSE_CONTIGS)}-contig world in {folder} ...")
    return simulate_world(folder, seed=seed, size="bench-dense")


def demo_world() -> SimpleNamespace:
    from varbind.demo import demo_file

    return SimpleNamespace(genome=demo_file("fasta"), gtf=demo_file("gtf"),
                           expression=demo_file("expression"))


def make_models(folder: Path, models: str, n_rbps: int) -> Path:
    """``multiresbind`` (random, sequence + region), ``light`` (random CNN on 150 nt),
    ``demo`` (the bundled set) or a path; ``n_rbps`` outputs for the random ones."""
    if models not in ("light", "multiresbind", "demo"):
        return Path(models)
    if models == "demo":
        from varbind.demo import demo_file

        return demo_file("models")
    target = folder / f"{models}_{n_rbps}"
    if (target / "model.json").exists():
        return target
    import keras

    from varbind.model.bundle import ModelMeta, save_bundle
    from varbind.model.inputs import Component, InputSpec

    keras.utils.set_random_seed(0)
    rbps = [f"RBP{i}" for i in range(n_rbps)]
    if models == "multiresbind":
        from varbind.training.models import build_model, input_specs

        specs = input_specs("multiresbind", ["sequence", "region"])
        model = build_model("multiresbind", specs, n_outputs=n_rbps)
    else:
        x = keras.Input((150, 4), name="sequence")
        h = keras.layers.GlobalMaxPooling1D()(keras.layers.Conv1D(32, 11, activation="relu")(x))
        model = keras.Model(x, keras.layers.Dense(n_rbps, activation="sigmoid")(h))
        specs = [InputSpec("sequence", "per_position", (Component("sequence", tuple("ACGT")),),
                           150)]
    save_bundle(model, ModelMeta(name=target.name, architecture="imported", rbps=rbps,
                                 inputs=specs), target)
    return target


@dataclasses.dataclass
class Case:
    """One input: its world, VCF and the options of a run writing into ``out``."""

    name: str
    world: object
    vcf: Path
    records: int

    def options(self, models: Path, out: Path, batch_size: int):
        from varbind.scoring.options import ScoreOptions

        out.mkdir(parents=True, exist_ok=True)
        return ScoreOptions(vcf=self.vcf, fasta=self.world.genome, gtf=self.world.gtf,
                            expression=self.world.expression, models=models,
                            output=out / "out.vcf.gz", table=out / "out.tsv",
                            batch_size=batch_size)

    def cli_inputs(self, models: Path, batch_size: int) -> list[str]:
        return [str(self.vcf), "--fasta", str(self.world.genome), "--gtf", str(self.world.gtf),
                "--expression", str(self.world.expression), "--models", str(models),
                "--batch-size", str(batch_size)]


# ----------------------------------------------------------------------------- measurements


def cli_run(args: list[str]) -> float:
    """Wall seconds of ``varbind -q ARGS`` in a child process."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "varbind", "-q", *args], check=True)
    return time.perf_counter() - t0


@contextlib.contextmanager
def warm_cluster(options, n_workers: int):
    """A LocalCluster of ``n_workers`` single-threaded workers, each with TensorFlow imported,
    the models loaded and the first predictions traced (one small run)."""
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
        first = first_contig(options.vcf)
        warm = dataclasses.replace(options, region=f"{first}:1-60000",
                                   output=scratch / "w.vcf.gz", table=scratch / "w.tsv")
        client.wait_for_workers(n_workers)
        score_parallel(warm, client=client, progress=False, min_records=1)
        yield client
    finally:
        client.close()
        cluster.close()


def timed_run(client, options, **plan) -> object:
    """A sharded run on a warm cluster; ``plan``: ``partition_size`` / ``min_records``."""
    from varbind.parallel.run import score_parallel

    t0 = time.perf_counter()
    result = score_parallel(options, client=client, progress=False, **plan)
    result.seconds = time.perf_counter() - t0
    return result


def model_only(options, batches: int) -> dict:
    """Seconds and CPU seconds of ``batches`` forward passes of the first model on one
    batch of random inputs (runs on a worker, with its loaded models): the model alone,
    without reading, windows or writing."""
    import numpy as np

    from varbind.parallel.shards import cached_scorer

    model = cached_scorer(options).bundles[0].model
    rng = np.random.default_rng(0)
    inputs = [rng.random((options.batch_size, *x.shape[1:])).astype("float32")
              for x in model.inputs]
    model.predict_on_batch(inputs)
    t0, c0 = time.perf_counter(), os.times()
    for _ in range(batches):
        model.predict_on_batch(inputs)
    c1 = os.times()
    return {"seconds": time.perf_counter() - t0,
            "cpu": c1.user + c1.system - c0.user - c0.system}


def model_scaling(client, options, batches: int) -> dict:
    """The model alone on one worker of ``client``, then on two at once: the speed-up two
    single-threaded workers can reach on this machine at best (1 worker: 1 x)."""
    workers = list(client.scheduler_info()["workers"])[:2]

    def run(on: list[str]) -> list[dict]:
        futures = [client.submit(model_only, options, batches, workers=[w], pure=False,
                                 allow_other_workers=False) for w in on]
        return [f.result() for f in futures]

    alone = run(workers[:1])[0]
    pair = run(workers)
    return {"alone": alone["seconds"], "pair": [r["seconds"] for r in pair],
            "scaling": 2 * alone["seconds"] / max(r["seconds"] for r in pair)}


#: The plan before issue 14: fixed 2-Mb windows (no record balancing).
OLD_PLAN = {"partition_size": OLD_PARTITION_SIZE, "min_records": 10**12}


def noop_score(options) -> dict:
    """A scoring function that does nothing but write a header-only VCF shard."""
    from varbind.files import atomic_output

    with atomic_output(options.output) as tmp, gzip.open(tmp, "wt") as fh:
        fh.write("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    return {"records": 0}


def noop_overhead(client, options, partitions: int) -> float:
    """Seconds per partition of the machinery alone (plan, task, shard, marker, merge), with
    about ``partitions`` partitions of the VCF."""
    from varbind.parallel.run import score_parallel

    scratch = Path(tempfile.mkdtemp(prefix="bd-noop-"))
    noop = dataclasses.replace(options, output=scratch / "noop.vcf", table=None)
    t0 = time.perf_counter()
    result = score_parallel(noop, client=client, score_fn=noop_score, progress=False,
                            slots=max(1, partitions // 4), min_records=1)
    return (time.perf_counter() - t0) / result.partitions


def body(path: Path) -> bytes:
    """A VCF or TSV without its ``##varbind_run`` lines."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        return b"".join(line for line in fh if not line.startswith(b"##varbind_run"))


def first_contig(vcf: Path) -> str:
    import pysam

    with pysam.VariantFile(str(vcf)) as vf:
        return next(iter(vf)).chrom


# ----------------------------------------------------------------------------- report


def median_spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "values": values}


def fmt(stat: dict, unit: str = "s", digits: int = 1) -> str:
    return (f"{stat['median']:.{digits}f} {unit} ({stat['min']:.{digits}f}-"
            f"{stat['max']:.{digits}f})")


def verdict(value: float, target: float, higher: bool = True) -> str:
    ok = value >= target if higher else value < target
    return f"target {'>=' if higher else '<'} {target:g}: {'met' if ok else 'MISSED'}"


def report(args, figures: dict) -> None:
    d, s = figures["dense"], figures["sparse"]
    print(f"\nbench_dask: dense {args.variants:,} SNVs on {len(DENSE_CONTIGS)} contigs "
          f"({sum(DENSE_CONTIGS) / 1e6:.1f} Mb), sparse {args.sparse_variants:,} SNVs on the "
          f"demo world; models {args.models} ({args.rbps} RBPs), batch {args.batch_size}; "
          f"{os.cpu_count()} CPUs; medians of {args.rounds} paired rounds (min-max); load "
          f"average {figures['load'][0]:.1f} at start, {figures['load'][1]:.1f} at end; commit "
          f"{figures['commit']}")
    print("  dense:")
    print(f"    warm 1 worker x 1 thread  : {fmt(d['warm1'])}, {d['partitions1']} partitions")
    print(f"    warm 2 workers x 1 thread : {fmt(d['warm2'])}, {d['partitions2']} partitions")
    print(f"    speed-up 2 vs 1 worker    : {fmt(d['speedup'], 'x', 2)}  "
          f"{verdict(d['speedup']['median'], TARGETS['workers_2_vs_1'])}")
    cores = median_spread(d["worker_cores"])
    print(f"    one worker keeps {fmt(cores, 'cores', 2)} busy while scoring (model thread + "
          f"reading/windows + writing threads); in the 2-worker run "
          f"{fmt(median_spread(d['worker_cores2']), 'cores', 2)} each")
    print(f"    the model alone, on 2 workers at once vs 1: {fmt(d['model_scaling'], 'x', 2)}")
    print(f"    => most 2 workers can reach on 2 cores: {fmt(d['bound'], 'x', 2)} (2 / (cores "
          f"per worker - 1 + 2 / model scaling)); tail of the 2-worker run (one worker idle) "
          f"{d['tail_seconds']:.1f} s")
    print(f"    one process (CLI)         : {fmt(d['single'])}")
    print(f"    --dask local:2 (CLI)      : {fmt(d['dask2'])}")
    print(f"    speed ratio dask / single : {fmt(d['cli_ratio'], 'x', 2)}  "
          f"{verdict(d['cli_ratio']['median'], TARGETS['dask_vs_single'])}")
    st = d["startup"]
    print(f"    start-up of the --dask run: cluster {st.get('cluster_seconds') or 0:.1f} s, plan "
          f"{st.get('plan_seconds', 0):.2f} s, per worker backend import "
          f"{st.get('median_import_seconds', 0):.1f} s and models "
          f"{st.get('median_load_seconds', 0):.1f} s (medians)")
    print(f"    old plan (2-Mb windows), warm 2 workers: {fmt(d['old2'])}, {d['partitions_old']} "
          f"partitions; balanced / old speed {fmt(d['balanced_vs_old'], 'x', 2)}"
          + (" (identical plans)" if d["same_plan"] else ""))
    print(f"    scheduler overhead: {d['noop_ms']:.0f} ms per partition (no-op scoring); "
          f"x {d['partitions2']} partitions = {100 * d['overhead_share']:.1f}% of the warm "
          f"2-worker run ({verdict(d['overhead_share'], TARGETS['overhead_share'], False)}); "
          f"worker time outside scoring {d['idle_per_partition']:.2f} s per partition")
    print(f"    peak memory per worker (warm 2-worker run): "
          f"{', '.join(f'{m:.0f}' for m in d['peak_rss_mib'])} MiB")
    print(f"    outputs byte-identical outside ##varbind_run: VCF {d['identical_vcf']}, "
          f"TSV {d['identical_tsv']}")
    print("  sparse:")
    print(f"    warm 2 workers, balanced plan: {fmt(s['new2'])}, {s['partitions_new']} "
          f"partitions; old plan {fmt(s['old2'])}, {s['partitions_old']} partitions")
    same = " (the two plans are identical here: the ratio is noise)" if s["same_plan"] else ""
    print(f"    balanced / old speed: {fmt(s['balanced_vs_old'], 'x', 2)} (must not be worse: "
          f"{'ok' if s['balanced_vs_old']['median'] >= 0.95 else 'WORSE'}){same}")


def results_figures(args, figures: dict) -> list[dict]:
    """The figures in the docs' results schema (``results.py``): medians of paired rounds."""
    from results import figure

    d, s = figures["dense"], figures["sparse"]
    dense = f"dense {args.variants:,} SNVs, models {args.models}"
    return [
        figure("workers_2_vs_1", d["speedup"]["values"], unit="x",
               target=(">=", TARGETS["workers_2_vs_1"]),
               label=f"2 single-threaded warm workers vs 1, {dense}"),
        figure("worker_cores", d["worker_cores"], unit="cores", digits=2,
               label=f"cores one single-threaded worker keeps busy while scoring, {dense}"),
        figure("model_scaling_2", d["model_scaling"]["values"], unit="x", digits=2,
               label="the model alone (forward passes), 2 workers at once vs 1"),
        figure("workers_2_vs_1_bound", d["bound"]["values"], unit="x", digits=2,
               label="most 2 single-threaded workers can gain over 1 on this machine "
                     "(from the two figures above)"),
        figure("dask_vs_single", d["cli_ratio"]["values"], unit="x",
               target=(">=", TARGETS["dask_vs_single"]),
               label=f"varbind score --dask local:2 vs one process, end to end, {dense}"),
        figure("overhead_share", d["overhead_share"], target=("<", TARGETS["overhead_share"]),
               label="scheduler overhead, share of the warm 2-worker run",
               note=f"{d['noop_ms']:.1f} ms per partition x {d['partitions2']} partitions"),
        figure("identical_outputs", float(d["identical_vcf"] and d["identical_tsv"]),
               target=(">=", 1), label="outputs byte-identical outside ##varbind_run (1 = yes)"),
        figure("sparse_balanced_vs_old", s["balanced_vs_old"]["values"], unit="x",
               target=(">=", 0.95),
               label=f"sparse {args.sparse_variants:,} SNVs: balanced vs old plan speed"),
        figure("peak_rss_per_worker", max(d["peak_rss_mib"]), unit="MiB", digits=0,
               label="peak memory per worker, warm 2-worker run (largest)"),
    ]


# ----------------------------------------------------------------------------- main


def run_rounds(args, cases: dict, models: Path, work: Path) -> dict:
    """Every configuration once per round, interleaved; returns the raw figures."""
    dense, sparse = cases["dense"], cases["sparse"]
    opts = {k: dense.options(models, work / k, args.batch_size) for k in ("w1", "w2", "old")}
    sparse_opts = {k: sparse.options(models, work / f"sparse-{k}", args.batch_size)
                   for k in ("new", "old")}
    raw: dict[str, list] = {k: [] for k in ("single", "dask2", "warm1", "warm2", "old2",
                                            "sparse_new", "sparse_old", "model_scaling")}
    cli = dense.cli_inputs(models, args.batch_size)
    log("warm LocalClusters of 1 and 2 single-threaded workers ...")
    with warm_cluster(opts["w1"], 1) as one, warm_cluster(opts["w2"], 2) as two:
        for r in range(args.rounds):
            log(f"round {r + 1} of {args.rounds}: CLI one process, CLI --dask local:2, warm 1 "
                "and 2 workers, old plan, sparse balanced and old ...")
            for name, extra in (("single", []), ("dask2", ["--dask", "local:2",
                                                           "--dashboard", ":0"])):
                out = work / f"cli-{name}"
                out.mkdir(exist_ok=True)
                raw[name].append(cli_run(["score", *cli, "-o", str(out / "out.vcf.gz"),
                                          "--tsv", str(out / "out.tsv"), *extra]))
            raw["warm1"].append(timed_run(one, opts["w1"]))
            raw["warm2"].append(timed_run(two, opts["w2"]))
            raw["old2"].append(timed_run(two, opts["old"], **OLD_PLAN))
            raw["sparse_new"].append(timed_run(two, sparse_opts["new"]))
            raw["sparse_old"].append(timed_run(two, sparse_opts["old"], **OLD_PLAN))
            raw["model_scaling"].append(model_scaling(two, opts["w2"], args.model_batches))
        noop = noop_overhead(two, opts["w2"], raw["warm2"][-1].partitions)
    raw["noop"] = noop
    return raw


def raw_cores(results: list) -> list[float]:
    """Cores a worker kept busy in each run: CPU seconds of its tasks over their seconds."""
    return [sum(r.task_cpu_seconds) / sum(r.task_seconds) for r in results]


def speedup_bound(cores: float, model_scaling: float) -> float:
    """Most 2 single-threaded workers can gain over 1 on 2 cores. Alone, a worker's run
    time T is its model thread's (~1 core); the reading and writing threads use the other
    core, ``cores - 1`` of it. Two workers on 2 cores must fit 2 x (cores - 1) T of those
    plus two model threads, each slower by 2 / ``model_scaling`` (the model alone on 2
    workers at once vs 1: shared caches, memory, other processes), so each takes at least
    (cores - 1 + 2 / model_scaling) T for what one worker does in T."""
    return 2 / (max(cores - 1, 0) + 2 / model_scaling)


def tail_seconds(result) -> float:
    """Seconds from the first worker running out of partitions to the second (list
    scheduling of the task times in file order, as the queued tasks run)."""
    import heapq

    free = [0.0, 0.0]
    for seconds in result.task_seconds:
        heapq.heapreplace(free, free[0] + seconds)
    return max(free) - min(free)


def same_plan(vcf: Path) -> bool:
    """Whether the balanced plan (2 slots) equals the old one on ``vcf``."""
    from varbind.parallel.partitions import plan_partitions

    return plan_partitions(vcf, slots=2) == plan_partitions(vcf, slots=2, **OLD_PLAN)


def figures_of(raw: dict, work: Path, cases: dict) -> dict:
    secs = {k: [r.seconds if hasattr(r, "seconds") else r for r in v]
            for k, v in raw.items() if isinstance(v, list) and k != "model_scaling"}
    two = raw["warm2"][-1]
    busy = sum(two.task_seconds)
    dask_summary = json.loads((work / "cli-dask2" / "out.vcf.gz.summary.json").read_text())

    def ratio(a: str, b: str) -> dict:
        return median_spread([x / y for x, y in zip(secs[a], secs[b], strict=True)])

    single, dask2 = work / "cli-single", work / "cli-dask2"
    dense = {
        "warm1": median_spread(secs["warm1"]), "warm2": median_spread(secs["warm2"]),
        "old2": median_spread(secs["old2"]), "single": median_spread(secs["single"]),
        "dask2": median_spread(secs["dask2"]), "speedup": ratio("warm1", "warm2"),
        "cli_ratio": ratio("single", "dask2"), "balanced_vs_old": ratio("old2", "warm2"),
        "partitions1": raw["warm1"][-1].partitions, "partitions2": two.partitions,
        "partitions_old": raw["old2"][-1].partitions,
        "task_seconds2": two.task_seconds, "task_seconds_old": raw["old2"][-1].task_seconds,
        "task_seconds1": raw["warm1"][-1].task_seconds,
        # cores one single-threaded worker keeps busy while scoring (the model's thread plus
        # the reading and writing threads), per round: two such workers need 2 x that
        "worker_cores": raw_cores(raw["warm1"]), "worker_cores2": raw_cores(raw["warm2"]),
        "model_scaling": median_spread([m["scaling"] for m in raw["model_scaling"]]),
        "model_scaling_raw": raw["model_scaling"],
        "bound": median_spread([speedup_bound(c, m["scaling"]) for c, m in
                                zip(raw_cores(raw["warm1"]), raw["model_scaling"],
                                    strict=True)]),
        "noop_ms": raw["noop"] * 1000,
        "overhead_share": raw["noop"] * two.partitions / statistics.median(secs["warm2"]),
        "idle_per_partition": (two.seconds * 2 - busy) / two.partitions,
        "tail_seconds": tail_seconds(two),
        "startup": dask_summary.get("parallel", {}).get("startup", {}),
        "same_plan": same_plan(cases["dense"].vcf),
        "peak_rss_mib": sorted(v / 2**20 for v in two.peak_rss_per_worker.values()),
        "identical_vcf": body(single / "out.vcf.gz") == body(dask2 / "out.vcf.gz"),
        "identical_tsv": body(single / "out.tsv") == body(dask2 / "out.tsv"),
    }
    sparse = {"new2": median_spread(secs["sparse_new"]),
              "old2": median_spread(secs["sparse_old"]),
              "balanced_vs_old": ratio("sparse_old", "sparse_new"),
              "partitions_new": raw["sparse_new"][-1].partitions,
              "partitions_old": raw["sparse_old"][-1].partitions,
              "same_plan": same_plan(cases["sparse"].vcf)}
    return {"dense": dense, "sparse": sparse}


def main() -> None:
    import logging

    logging.basicConfig(level=logging.ERROR)  # distributed's shutdown warnings are not figures
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variants", type=int, default=100_000, help="dense VCF size")
    p.add_argument("--sparse-variants", type=int, default=20_000)
    p.add_argument("--workdir", default=None, help="reuse worlds, models and VCFs from here")
    p.add_argument("--models", default="multiresbind",
                   help="multiresbind (default), light, demo, or a bundle / model-set path")
    p.add_argument("--rbps", type=int, default=6, help="outputs of the random models")
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rounds", type=int, default=3, help="paired rounds (medians reported)")
    p.add_argument("--model-batches", type=int, default=20,
                   help="forward passes per worker when timing the model alone")
    p.add_argument("--json", default=None, help="write the figures here")
    p.add_argument("--results", default=None,
                   help="docs results file (default docs/results/bench_dask.json)")
    args = p.parse_args()

    from bench_gpu import commit
    from synthetic import snv_vcf

    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-dask-"))
    work.mkdir(parents=True, exist_ok=True)
    dense_w, sparse_w = dense_world(work / "dense-world", args.seed), demo_world()
    cases = {
        "dense": Case("dense", dense_w, snv_vcf(dense_w, args.variants,
                                                work / f"dense_{args.variants}.vcf.gz"),
                      args.variants),
        "sparse": Case("sparse", sparse_w, snv_vcf(sparse_w, args.sparse_variants,
                                                   work / f"sparse_{args.sparse_variants}"
                                                   ".vcf.gz", anywhere=True),
                       args.sparse_variants),
    }
    models = make_models(work / "models", args.models, args.rbps)
    log(f"inputs in {work}: models {models}")
    load_start = os.getloadavg()[0]
    raw = run_rounds(args, cases, models, work)
    figures = figures_of(raw, work, cases)
    figures.update({"load": [load_start, os.getloadavg()[0]], "commit": commit(),
                    "command": " ".join(sys.argv), "targets": TARGETS,
                    "settings": vars(args)})
    report(args, figures)
    from results import write_results

    write_results("bench_dask", results_figures(args, figures), path=args.results)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1, default=str))
        log(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
