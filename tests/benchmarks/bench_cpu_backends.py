"""Benchmark of CPU scoring throughput per Keras backend and execution mode.

On the demo models (and optionally the random 27-RBP Multi-resBind of ``bench_gpu.py``),
with the GPU hidden, prints and writes to JSON, each variant in its own process (see
``backend_runs.py``): TensorFlow's compiled predict function (varbind's default, ``tf``),
TensorFlow eager (``tf-eager``), TensorFlow with XLA ``jit_compile`` (``tf-xla``) and the JAX
backend (``jax``):

1. model-only windows/s and end-to-end variants/s (``score_vcf``, models loaded beforehand)
   as medians over ``--rounds`` rounds, the variants interleaved within each round;
2. the largest |difference| of model outputs and of deltas against ``tf``, and whether it is
   within 1e-5 (the condition for a variant to become the default);
3. the fastest variant end to end among those that agree.

Usage::

    python tests/benchmarks/bench_cpu_backends.py --json cpu_backends.json
    python tests/benchmarks/bench_cpu_backends.py --variants 2000 --rounds 1   # a check
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backend_runs import VARIANTS, log, max_difference, run_variant  # noqa: E402
from bench_gpu import BIG_MODEL, big_model, commit, demo_models, demo_world  # noqa: E402
from synthetic import snv_vcf  # noqa: E402

TOLERANCE = 1e-5


def medians(rounds: list[dict]) -> dict[str, dict]:
    """Per model: median and spread (min, max) over rounds of model-only windows/s and
    end-to-end (after the first chunk) variants/s."""
    out = {}
    for model in rounds[0]["models"]:
        entries = [r["models"][model] for r in rounds]
        batch = next(iter(entries[0]["model_only"]))
        windows = [e["model_only"][batch]["windows_per_second"] for e in entries]
        e2e = [e["end_to_end"][batch]["steady_variants_per_second"]
               or e["end_to_end"][batch]["variants_per_second"] for e in entries]
        out[model] = {"windows_per_second": statistics.median(windows),
                      "windows_spread": [min(windows), max(windows)],
                      "variants_per_second": statistics.median(e2e),
                      "variants_spread": [min(e2e), max(e2e)]}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variants", type=int, default=20_000)
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--backends", default=",".join(VARIANTS))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--model-batches", type=int, default=8)
    p.add_argument("--big", action="store_true", help="also the 27-RBP Multi-resBind")
    p.add_argument("--workdir", default=None)
    p.add_argument("--json", default=None)
    p.add_argument("--results", default=None,
                   help="docs results file (default docs/results/bench_cpu_backends.json)")
    args = p.parse_args()

    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-cpu-backends-"))
    work.mkdir(parents=True, exist_ok=True)
    world = demo_world()
    vcf = snv_vcf(world, args.variants, work / f"snv_{args.variants}.vcf.gz")
    models = demo_models()
    if args.big:
        models[BIG_MODEL] = str(big_model(work / "models"))
    config = {"models": models, "batch_sizes": [args.batch_size],
              "model_batches": args.model_batches, "vcf": str(vcf), "fasta": str(world.genome),
              "gtf": str(world.gtf), "expression": str(world.expression)}
    variants = args.backends.split(",")
    runs: dict[str, list[dict]] = {v: [] for v in variants}
    for r in range(args.rounds):  # interleaved: load from other processes hits all alike
        log(f"round {r + 1} of {args.rounds}")
        for v in variants:
            res = run_variant(v, config, work / f"round{r}", env={"CUDA_VISIBLE_DEVICES": ""})
            if "error" in res:
                raise SystemExit(f"{v}: {res['error']}")
            runs[v].append(res)
    summary = {v: medians(runs[v]) for v in variants}
    reference = "tf" if "tf" in variants else variants[0]
    diffs = {v: max_difference(runs[reference][0], runs[v][0]) for v in variants
             if v != reference}

    print(f"\nbench_cpu_backends: {args.variants:,} SNVs, batch {args.batch_size}, "
          f"{os.cpu_count()} CPUs, medians of {args.rounds} interleaved rounds (min-max), "
          f"load average {os.getloadavg()[0]:.1f}, commit {commit()}")
    agree = {}
    for model in models:
        print(f"  {model}:")
        for v in variants:
            s = summary[v][model]
            d = diffs.get(v, {}).get(model)
            ok = d is None or max(d["outputs"], d["deltas"]) <= TOLERANCE
            agree.setdefault(v, True)
            agree[v] = agree[v] and ok
            note = "reference" if d is None else (
                f"max |diff| outputs {d['outputs']:.1e}, deltas {d['deltas']:.1e}"
                f" ({'within' if ok else 'NOT within'} {TOLERANCE:g})")
            print(f"    {v:9} model {s['windows_per_second']:8,.0f} windows/s "
                  f"({s['windows_spread'][0]:,.0f}-{s['windows_spread'][1]:,.0f})  end to end "
                  f"{s['variants_per_second']:7,.0f} variants/s ({s['variants_spread'][0]:,.0f}"
                  f"-{s['variants_spread'][1]:,.0f})  {note}")
    total = {v: sum(summary[v][m]["variants_per_second"] for m in models) for v in variants}
    fastest = max((v for v in variants if agree[v]), key=total.get)
    print(f"  fastest end to end among variants within {TOLERANCE:g} of {reference} (summed "
          f"over models): {fastest} ({total[fastest] / total[reference]:.2f}x {reference})")
    from results import figure, write_results

    figs = []
    for model in models:
        for v in variants:
            per_round = [r["models"][model] for r in runs[v]]
            batch = next(iter(per_round[0]["end_to_end"]))
            e2e = [e["end_to_end"][batch]["steady_variants_per_second"]
                   or e["end_to_end"][batch]["variants_per_second"] for e in per_round]
            d = diffs.get(v, {}).get(model)
            note = "reference" if d is None else (
                f"max |diff| outputs {d['outputs']:.1e}, deltas {d['deltas']:.1e}")
            figs.append(figure(f"{v}_{model}", e2e, unit="variants/s", digits=0,
                               label=f"{model}, {v}: end-to-end variants/s", note=note))
    write_results("bench_cpu_backends", figs, path=args.results,
                  extra={"fastest": fastest, "tolerance": TOLERANCE, "agree": agree})
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"summary": summary, "differences": diffs, "agree": agree, "fastest": fastest,
             "command": " ".join(sys.argv), "commit": commit()}, indent=1))


if __name__ == "__main__":
    main()
