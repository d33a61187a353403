"""Benchmark of ``varbind score``: throughput, the input pipeline against the model, memory,
and accuracy on the simulator's truth.

Prints, in one run on the same model and batch size (1-3 in ``--repeats`` paired rounds, each
ratio taken within a round and reported as the median over rounds with the spread):

1. end-to-end variants/s of :func:`varbind.scoring.run.score_vcf` (VCF in, annotated VCF.gz out),
   with and without start-up (model loading, first graph trace);
2. model-only forward throughput on the same number of windows (prepared inputs,
   :func:`varbind.scoring.predict.predict`): the ratio end-to-end / model-only (target >= 0.8 on
   CPU);
3. a one-variant-per-call loop as in the seed papers' notebooks (pyfaidx fetch, one-hot,
   ``model.predict`` on the ref/alt pair), ``--loop`` variants in every round: speed-up
   (target >= 100x);
4. peak memory (``ru_maxrss`` of a child process) scoring SMALL vs BIG variants
   (target BIG/SMALL <= 1.3);
5. with the demo models (or ``--models``): AUROC of |delta| for the simulator's loss and gain
   variants against neutral ones, per strand (targets 0.9 and 0.85).

Usage::

    python tests/benchmarks/bench_score.py                  # everything (1M-variant memory run)
    python tests/benchmarks/bench_score.py --big 200000     # quicker memory comparison
    python tests/benchmarks/bench_score.py --skip-memory --models varbind/data/demo/models

Without ``--models`` (and no demo model set installed) a randomly initialised Multi-resBind
(sequence + region, 150 nt, one output per simulated RBP) is used for the speed figures;
AUROC needs trained models.
"""

from __future__ import annotations

import argparse
import json
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
from results import figure, write_results  # noqa: E402  (tests/benchmarks/results.py)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- inputs


def make_world(folder: Path, size: str, seed: int):
    from varbind.simulate import simulate_world

    if (folder / "world.json").exists():
        from varbind.simulate import World

        return World.at(folder)
    log(f"simulating a {size} world in {folder} ...")
    return simulate_world(folder, seed=seed, size=size)


def random_multiresbind(folder: Path, rbps: list[str]) -> Path:
    """A randomly initialised Multi-resBind bundle (speed figures only)."""
    from varbind.model.bundle import ModelMeta, save_bundle
    from varbind.training.models import build_model, input_specs

    specs = input_specs("multiresbind", ["sequence", "region"])
    model = build_model("multiresbind", specs, n_outputs=len(rbps))
    save_bundle(model, ModelMeta(name="multiresbind_random", architecture="multiresbind",
                                 rbps=rbps, inputs=specs), folder / "multiresbind_random")
    return folder


def light_model(folder: Path, rbps: list[str]) -> Path:
    """A small random CNN bundle (sequence, 150 nt) for the long memory runs."""
    import keras

    from varbind.model.bundle import ModelMeta, save_bundle
    from varbind.model.inputs import Component, InputSpec

    x = keras.Input((150, 4), name="sequence")
    h = keras.layers.Conv1D(16, 11, activation="relu")(x)
    h = keras.layers.GlobalMaxPooling1D()(h)
    y = keras.layers.Dense(len(rbps), activation="sigmoid")(h)
    spec = InputSpec("sequence", "per_position", (Component("sequence", tuple("ACGT")),), 150)
    save_bundle(keras.Model(x, y), ModelMeta(name="light_cnn", architecture="imported",
                                             rbps=rbps, inputs=[spec]), folder / "light_cnn")
    return folder


def synthetic_vcf(world, n: int, path: Path, seed: int = 1) -> Path:
    """``n`` SNVs at random positions inside the world's genes, sorted, bgzipped, indexed."""
    from synthetic import snv_vcf

    return snv_vcf(world, n, path, seed=seed)


def options_for(world, models, vcf, out, batch_size, **kw):
    from varbind.scoring.options import ScoreOptions

    return ScoreOptions(vcf=vcf, fasta=world.genome, gtf=world.gtf, expression=world.expression,
                        models=models, output=out, batch_size=batch_size, **kw)


# ----------------------------------------------------------------------------- figures


def end_to_end(world, models, vcf, out, batch_size):
    """score_vcf on ``vcf``: (summary, total seconds, steady-state seconds, records after the
    first chunk)."""
    from varbind.scoring.run import score_vcf

    first = {}

    def on_chunk(result):
        if "t" not in first:
            first["t"] = time.perf_counter()
            first["n"] = len(result.records)

    t0 = time.perf_counter()
    summary = score_vcf(options_for(world, models, vcf, out, batch_size), on_chunk=on_chunk)
    t1 = time.perf_counter()
    return summary, t1 - t0, t1 - first["t"], summary.records - first["n"]


def model_only(bundles, n_windows: int, batch_size: int) -> float:
    """Seconds to run every model on ``n_windows`` prepared random windows."""
    from varbind.encoding import one_hot
    from varbind.scoring.predict import predict

    rng = np.random.default_rng(0)
    total = 0.0
    for b in bundles:
        inputs = []
        for spec in b.meta.inputs:
            if spec.layout == "per_position":
                x = np.zeros((n_windows, spec.length, spec.width), dtype=np.float32)
                x[..., :4] = one_hot(rng.integers(0, 4, size=(n_windows, spec.length)))
            else:
                x = rng.random((n_windows, spec.width)).astype(np.float32)
            inputs.append(x)
        predict(b.model, [x[:batch_size] for x in inputs], batch_size=batch_size)  # warm up
        t0 = time.perf_counter()
        predict(b.model, inputs, batch_size=batch_size)
        total += time.perf_counter() - t0
    return total


def one_per_call(files: dict, bundles, vcf, n: int) -> float:
    """Seconds for ``n`` variants scored one at a time, notebook style: per variant, look up
    the gene, fetch and one-hot the windows, and call ``model.predict`` on the ref/alt pair."""
    from cyvcf2 import VCF

    from varbind.annotations.expression import ExpressionTable
    from varbind.annotations.index import AnnotationIndex
    from varbind.encoding import encode, one_hot, one_hot_regions, reverse_complement
    from varbind.genomics.genome import Genome

    genome = Genome(files["fasta"])
    index = AnnotationIndex.from_gtf(files["gtf"])
    table = ExpressionTable.read(files["expression"])
    records = []
    for rec in VCF(str(vcf)):
        records.append((rec.CHROM, rec.POS, rec.REF, rec.ALT[0]))
        if len(records) == n:
            break
    t0 = time.perf_counter()
    for chrom, pos, _ref, alt in records:
        genes = index.genes_at(chrom, np.array([pos - 1]))
        strand = genes["strand"].iloc[0] if len(genes) else "+"
        gene = genes["gene_id"].iloc[0] if len(genes) else ""
        for b in bundles:
            xs = [[], []]
            for spec in b.meta.inputs:
                if spec.layout == "side":
                    parts = []
                    for comp in spec.components:
                        if comp.kind == "region":
                            code = index.region_codes(chrom, np.array([pos - 1]), 1,
                                                      np.array([strand]))[:, 0]
                            parts.append(one_hot_regions(code, comp.channels))
                        else:
                            parts.append(table.lookup([gene], cell_type=table.cell_types[0])
                                         .reshape(1, 1))
                    x = np.concatenate(parts, axis=-1)
                    xs[0].append(x)
                    xs[1].append(x)
                    continue
                length = spec.length
                half = length // 2
                start = pos - 1 - half if strand == "+" else pos - 1 - (length - 1 - half)
                ref_seq = genome.fetch(chrom, start, start + length)
                alt_seq = ref_seq[:pos - 1 - start] + alt + ref_seq[pos - start:]
                region = index.region_codes(chrom, np.array([start]), length,
                                            np.array([strand]))[0]
                for k, seq in enumerate((ref_seq, alt_seq)):
                    if strand == "-":
                        seq = reverse_complement(seq)
                    parts = [one_hot(encode(seq))]
                    for comp in spec.components[1:]:
                        parts.append(one_hot_regions(region[::-1] if strand == "-" else region,
                                                     comp.channels))
                    xs[k].append(np.concatenate(parts, axis=-1)[None])
            pair = [np.concatenate([r, a]) for r, a in zip(xs[0], xs[1], strict=True)]
            b.model.predict(pair[0] if len(pair) == 1 else pair, verbose=0)
    return time.perf_counter() - t0


def child_memory(args) -> None:
    """Child process: score one VCF and print the peak RSS in MiB as JSON."""
    from varbind.simulate import World

    world = World.at(args.world)
    t0 = time.perf_counter()
    summary, *_ = end_to_end(world, args.models, Path(args.child_memory), args.child_out,
                             args.batch_size)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"records": summary.records, "peak_mib": peak,
                      "seconds": time.perf_counter() - t0}))


def memory(world_dir: Path, models, vcf: Path, out: Path, batch_size: int) -> dict:
    cmd = [sys.executable, __file__, "--child-memory", str(vcf), "--child-out", str(out),
           "--world", str(world_dir), "--models", str(models), "--batch-size", str(batch_size)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def truth_world(world, use_demo: bool) -> dict:
    """The files of the world whose truth.tsv the AUROC uses: the demo world for the demo
    models (they were trained on it), else the benchmark's world."""
    if use_demo:
        from varbind.demo import demo_file

        return {k: demo_file(k) for k in ("fasta", "gtf", "expression", "vcf", "truth")}
    return {"fasta": world.genome, "gtf": world.gtf, "expression": world.expression,
            "vcf": world.vcf, "truth": world.truth}


def default_held_out(files: dict) -> list[str]:
    """The contigs ``varbind dataset`` holds out for test by default for this world's peaks
    (the last contigs holding 10 % of them), i.e. those the demo models never trained on."""
    import pandas as pd

    from varbind.genomics.peaks import load_peaks
    from varbind.training.splits import choose_test_chroms

    world = Path(files["truth"]).parent
    peaks = pd.concat([ps.peaks for ps in load_peaks(world / "peaks")])
    order = [line.split("\t")[0] for line in (Path(str(files["fasta"]) + ".fai")
                                               .read_text().splitlines())]
    return choose_test_chroms(peaks["chrom"].value_counts(), order, 0.1)


def auroc(files: dict, models, out_dir: Path, batch_size: int, held_out: list[str]):
    """AUROC of |delta| for truth loss / gain vs neutral variants, per strand, on all contigs
    and on the held-out contigs only. Yields ``(line, figure or None)``."""
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    from varbind.scoring.options import ScoreOptions
    from varbind.scoring.run import score_vcf

    table = out_dir / "truth_scores.tsv"
    score_vcf(ScoreOptions(vcf=files["vcf"], fasta=files["fasta"], gtf=files["gtf"],
                           expression=files["expression"], models=models, table=table,
                           batch_size=batch_size))
    scores = pd.read_csv(table, sep="\t", keep_default_na=False, low_memory=False, comment="#")
    scores = scores[scores["rbp"] != ""].copy()
    scores["abs_delta"] = pd.to_numeric(scores["delta"]).abs()
    truth = pd.read_csv(files["truth"], sep="\t", keep_default_na=False)
    key = ["chrom", "pos", "ref", "alt"]
    scores["pos"] = scores["pos"].astype(int)
    truth["pos"] = truth["pos"].astype(int)
    merged = scores.merge(truth[key + ["effect", "rbp", "strand"]].rename(
        columns={"rbp": "truth_rbp", "strand": "truth_strand"}), on=key)
    merged["rbp_name"] = merged["rbp"].str.split("@").str[0]  # "HuR@model" -> "HuR"
    subsets = [("held-out contigs " + ",".join(held_out), "held_out",
                merged[merged["chrom"].isin(held_out)]),
               ("all contigs, training contigs included", "all", merged)]
    for where, tag, part in subsets:
        for model, rows in part.groupby("model", sort=True):
            yield f"  model {model}, {where}:", None
            for strand in "+-":
                on = rows[rows["strand"] == strand]
                neutral = on[on["effect"] == "neutral"]
                for effect, target in (("loss", 0.9), ("gain", 0.85)):
                    pos = on[(on["effect"] == effect) & (on["rbp_name"] == on["truth_rbp"])
                             & (on["truth_strand"] == strand)]
                    if len(pos) < 3 or len(neutral) < 3:
                        yield (f"    {effect} vs neutral, strand {strand}: too few variants "
                               f"({len(pos)} {effect}, {len(neutral)} neutral rows)"), None
                        continue
                    y = np.r_[np.ones(len(pos)), np.zeros(len(neutral))]
                    auc = roc_auc_score(y, np.r_[pos["abs_delta"], neutral["abs_delta"]])
                    yield (f"    {effect} vs neutral, strand {strand}: AUROC {auc:.3f} "
                           f"({len(pos)} {effect} variant x RBP, {len(neutral)} neutral "
                           f"variant x RBP rows; target {target}: "
                           f"{'meets' if auc >= target else 'BELOW'})"), figure(
                        f"auroc_{effect}_{strand}_{model}_{tag}".replace("+", "plus")
                        .replace("-", "minus"), auc, target=(">=", target),
                        label=f"AUROC of |delta|, {effect} vs neutral, strand {strand}, "
                              f"{model}, {where}",
                        note=f"{len(pos)} {effect} / {len(neutral)} neutral rows")


# ----------------------------------------------------------------------------- main


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--world", help="simulated world folder (default: simulate one)")
    p.add_argument("--size", default="small", help="world size when simulating")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--models", help="model bundle or set (default: demo set, else random "
                                    "Multi-resBind)")
    p.add_argument("--n", type=int, default=10_000, help="variants for the speed figures")
    p.add_argument("--big", type=int, default=1_000_000, help="variants for the memory run")
    p.add_argument("--loop", type=int, default=100,
                   help="variants in the one-per-call loop (run in every round)")
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--repeats", type=int, default=3,
                   help="paired rounds (end-to-end then model-only on the same windows); "
                        "the median of the per-round ratios is reported, with the spread")
    p.add_argument("--held-out-chroms", default=None,
                   help="contigs the models were not trained on, for the held-out AUROC "
                        "(default: the ones varbind dataset holds out for the world's peaks)")
    p.add_argument("--results", default=None,
                   help="results JSON (default docs/results/bench_score.json)")
    p.add_argument("--skip-memory", action="store_true")
    p.add_argument("--memory-model", choices=["light", "same"], default="light",
                   help="model for the memory runs: a small CNN (default; 1M variants through "
                        "Multi-resBind take an hour on 2 CPUs) or the same as above")
    p.add_argument("--skip-auroc", action="store_true")
    p.add_argument("--auroc-world", choices=["auto", "demo", "bench"], default="auto",
                   help="truth for the AUROC: the demo world (where the demo models were "
                        "trained), the benchmark's world, or auto (demo for the demo models)")
    p.add_argument("--child-memory", help=argparse.SUPPRESS)
    p.add_argument("--child-out", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child_memory:
        child_memory(args)
        return

    from varbind.demo import demo_file
    from varbind.model.bundle import load_model_set

    tmp = Path(tempfile.mkdtemp(prefix="bench_score_"))
    world_dir = Path(args.world) if args.world else tmp / "world"
    world = make_world(world_dir, args.size, args.seed)
    rbps = json.loads(Path(world.world_json).read_text()).get("rbps")
    rbps = [r["name"] if isinstance(r, dict) else r for r in rbps] if rbps else \
        sorted(world.peaks)
    trained = args.models or demo_file("models", required=False)
    models = Path(trained) if trained else random_multiresbind(tmp / "models", rbps)
    bundles = load_model_set(models)
    print(f"models: {models} ({', '.join(b.name for b in bundles)}; "
          f"{sum(len(b.meta.rbps) for b in bundles)} outputs)")
    print(f"batch size {args.batch_size}; threads: TF intra-op "
          f"{os.environ.get('TF_NUM_INTRAOP_THREADS', 'default')}, {os.cpu_count()} CPUs")

    vcf = synthetic_vcf(world, args.n, tmp / f"snv_{args.n}.vcf.gz")
    one_per_call(truth_world(world, False), bundles, vcf, 2)  # warm up the per-call path
    rounds = []  # paired rounds: end-to-end, model-only and the loop in turn, then ratios
    for _ in range(max(args.repeats, 1)):
        summary, total_s, steady_s, steady_n = end_to_end(world, models, vcf,
                                                          tmp / "e2e.vcf.gz", args.batch_size)
        model_s = model_only(bundles, summary.windows, args.batch_size)
        loop_s = one_per_call(truth_world(world, False), bundles, vcf, args.loop)
        loop_rate = args.loop / loop_s
        e2e_rate = summary.records / total_s
        steady_rate = steady_n / steady_s if steady_n > 0 else e2e_rate  # one chunk: no steady
        model_rate = summary.records / model_s
        rounds.append({"ratio": steady_rate / model_rate, "ratio_startup": e2e_rate / model_rate,
                       "speedup": e2e_rate / loop_rate, "speedup_steady": steady_rate / loop_rate,
                       "e2e_rate": e2e_rate, "loop_rate": loop_rate})
        print(f"end-to-end: {summary.records} SNVs in {total_s:.1f} s = {e2e_rate:.0f} "
              f"variants/s ({steady_rate:.0f} after start-up); model-only on the same "
              f"{summary.windows} windows {model_rate:.0f} variants/s; ratio "
              f"{steady_rate / model_rate:.2f} after start-up, {e2e_rate / model_rate:.2f} "
              f"with it (target >= 0.8); one-variant-per-call loop: {args.loop} variants in "
              f"{loop_s:.1f} s = {loop_rate:.1f} variants/s, batched {e2e_rate / loop_rate:.0f}x "
              f"faster including start-up")
    print(f"batched vs one-variant-per-call: "
          f"{np.median([r['speedup'] for r in rounds]):.0f}x including start-up "
          f"(median of {len(rounds)} paired rounds; target >= 100x)")
    col = lambda key: [r[key] for r in rounds]  # noqa: E731
    figures = [
        figure("end_to_end_vs_model", col("ratio"), target=(">=", 0.8),
               label="end-to-end / model-only variants/s, after start-up",
               note=f"{args.n} SNVs, batch {args.batch_size}"),
        figure("end_to_end_vs_model_startup", col("ratio_startup"),
               label="end-to-end / model-only variants/s, including start-up"),
        figure("batched_vs_loop", col("speedup"), unit="x", target=(">=", 100),
               label="batched vs one-variant-per-call loop, including start-up"),
        figure("batched_vs_loop_steady", col("speedup_steady"), unit="x",
               label="batched vs one-variant-per-call loop, after start-up"),
        figure("variants_per_s", col("e2e_rate"), unit="variants/s", digits=0,
               label="end-to-end variants/s including start-up"),
    ]

    if not args.skip_memory:
        mem_models = models if args.memory_model == "same" else light_model(tmp / "light", rbps)
        small = memory(world_dir, mem_models, vcf, tmp / "m_small.vcf.gz", args.batch_size)
        big_vcf = synthetic_vcf(world, args.big, tmp / f"snv_{args.big}.vcf.gz", seed=2)
        big = memory(world_dir, mem_models, big_vcf, tmp / "m_big.vcf.gz", args.batch_size)
        ratio = big["peak_mib"] / small["peak_mib"]
        print(f"peak memory ({Path(mem_models).name} model): "
              f"{small['records']} variants {small['peak_mib']:.0f} MiB, "
              f"{big['records']} variants {big['peak_mib']:.0f} MiB "
              f"({big['records'] / big['seconds']:.0f} variants/s): ratio "
              f"{ratio:.2f} (target <= 1.3)")
        figures.append(figure("memory_ratio", ratio, target=("<=", 1.3),
                              label=f"peak memory, {big['records']:,} vs {small['records']:,} "
                                    "variants (SNV-only input)",
                              note=f"{Path(mem_models).name} model"))

    if not args.skip_auroc:
        if trained:
            demo_models = demo_file("models", required=False)
            use_demo = args.auroc_world == "demo" or (
                args.auroc_world == "auto" and demo_models is not None
                and Path(models).resolve() == Path(demo_models).resolve())
            files = truth_world(world, use_demo)
            print(f"AUROC of |delta| on the simulator's truth VCF ({files['vcf']}), per strand:")
            held_out = (args.held_out_chroms.split(",") if args.held_out_chroms
                        else default_held_out(files))
            for line, fig in auroc(files, models, tmp, args.batch_size, held_out):
                print(line)
                if fig is not None:
                    figures.append(fig)
        else:
            print("AUROC: skipped (no trained models: pass --models or install the demo set)")
    write_results("bench_score", figures, path=args.results)
    print(f"(work files in {tmp})")


if __name__ == "__main__":
    main()
