"""Benchmark of ``varbind score`` on a GPU: variants/s per model, backend and batch size.

For each demo model and a 27-RBP Multi-resBind (the size of the published 27-RBP model,
random weights: speed only), under the TensorFlow and JAX Keras backends (each in its own
process, see ``backend_runs.py``) and batch sizes 1k-16k, prints and writes to JSON:

1. model-only throughput: windows/s of the model on prepared windows, and the variants/s it
   would give (windows/s divided by the windows per variant of the end-to-end run);
2. end-to-end variants/s of :func:`varbind.scoring.run.score_vcf` on a synthetic VCF of SNVs in the
   demo world's genes (VCF read, windows built, models, deltas, TSV written; models loaded
   beforehand), after the first chunk and overall;
3. the largest |difference| of model outputs and deltas between the backends;
4. the issue's goal: >= 50,000 variants/s end to end for the 27-RBP Multi-resBind on one
   H100-class GPU.

Usage (on the GPU machine; every figure comes from one run)::

    python tests/benchmarks/bench_gpu.py --json gpu.json             # full: 200k variants
    python tests/benchmarks/bench_gpu.py --quick                     # a CPU check in ~2 min

``--quick`` runs everything at a toy size (2,000 variants, batch sizes 256 and 1024) so that
the script itself can be checked without a GPU; its figures mean nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backend_runs import log, max_difference, run_variant  # noqa: E402
from synthetic import snv_vcf  # noqa: E402

#: The issue's goal for the 27-RBP Multi-resBind, end to end on one H100-class GPU.
GOAL_VARIANTS_PER_SECOND = 50_000
BIG_MODEL = "multiresbind27"


def demo_world() -> SimpleNamespace:
    from varbind.demo import demo_file

    return SimpleNamespace(genome=demo_file("fasta"), gtf=demo_file("gtf"),
                           expression=demo_file("expression"))


BUILD_BIG_MODEL = """
import sys
from varbind.model.bundle import ModelMeta, save_bundle
from varbind.training.models import build_model, input_specs
specs = input_specs("multiresbind", ["sequence", "region"])
rbps = [f"RBP{i:02d}" for i in range(27)]
model = build_model("multiresbind", specs, n_outputs=len(rbps))
save_bundle(model, ModelMeta(name="multiresbind27", architecture="multiresbind", rbps=rbps,
                             inputs=specs), sys.argv[1])
"""


def big_model(folder: Path) -> Path:
    """A random 27-RBP Multi-resBind bundle, built in a CPU-only child (the GPU stays free)."""
    target = folder / BIG_MODEL
    if not (target / "model.json").exists():
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2",
               "KERAS_BACKEND": "tensorflow"}
        subprocess.run([sys.executable, "-c", BUILD_BIG_MODEL, str(target)], env=env,
                       check=True)
    return target


def demo_models() -> dict[str, str]:
    from varbind.demo import demo_file

    root = demo_file("models")
    return {p.name: str(p) for p in sorted(root.iterdir()) if (p / "model.json").exists()}


# ----------------------------------------------------------------------------- report


def rows(results: list[dict]) -> list[dict]:
    """One row per variant, model and batch size, with model-only variants/s derived."""
    out = []
    for res in results:
        for model, entry in res.get("models", {}).items():
            for batch, mo in entry["model_only"].items():
                e2e = entry["end_to_end"].get(batch, {})
                per_variant = e2e["windows"] / e2e["records"] if e2e.get("records") else None
                out.append({
                    "backend": res["variant"], "model": model, "rbps": entry["rbps"],
                    "batch_size": int(batch),
                    "model_windows_per_second": mo["windows_per_second"],
                    "windows_per_variant": per_variant,
                    "model_variants_per_second": (mo["windows_per_second"] / per_variant
                                                  if per_variant else None),
                    "variants_per_second": e2e.get("variants_per_second"),
                    "steady_variants_per_second": e2e.get("steady_variants_per_second"),
                })
    return out


def _num(value, width: int = 10) -> str:
    return f"{value:>{width},.0f}" if value is not None else f"{'-':>{width}}"


def print_report(table: list[dict], diffs: dict, meta: dict) -> None:
    print(f"\nbench_gpu: {meta['variants']:,} SNVs, devices {meta['devices']}, "
          f"{meta['host']}, commit {meta['commit']}")
    print(f"{'model':16} {'RBPs':>4} {'backend':8} {'batch':>6} {'model w/s':>10} "
          f"{'model v/s':>10} {'e2e v/s':>10} {'e2e steady':>10}")
    for r in table:
        print(f"{r['model']:16} {r['rbps']:>4} {r['backend']:8} {r['batch_size']:>6} "
              f"{_num(r['model_windows_per_second'])} {_num(r['model_variants_per_second'])} "
              f"{_num(r['variants_per_second'])} {_num(r['steady_variants_per_second'])}")
    for pair, per_model in diffs.items():
        for model, d in per_model.items():
            print(f"  max |difference| {pair}, {model}: outputs {d['outputs']:.2e}, deltas "
                  f"{d['deltas']:.2e}")
    big = [r["steady_variants_per_second"] or 0 for r in table if r["model"] == BIG_MODEL]
    if big:
        best = max(big)
        on_gpu = any("GPU" in d.upper() or "CUDA" in d.upper() for d in meta["devices"])
        verdict = ("met" if best >= GOAL_VARIANTS_PER_SECOND else "missed") if on_gpu else \
            "not judged (no GPU in this run)"
        print(f"  goal >= {GOAL_VARIANTS_PER_SECOND:,} variants/s end to end for {BIG_MODEL}: "
              f"best {best:,.0f} over backends and batch sizes: {verdict}")


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True, cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variants", type=int, default=200_000)
    p.add_argument("--batch-sizes", default="1024,2048,4096,8192,16384")
    p.add_argument("--backends", default="tf,jax",
                   help="comma-separated: tf, jax, tf-xla, tf-eager (default tf,jax)")
    p.add_argument("--model-batches", type=int, default=20,
                   help="batches per model-only measurement")
    p.add_argument("--models", default="demo,big", help="demo, big or both (default)")
    p.add_argument("--workdir", default=None)
    p.add_argument("--json", default=None, help="write the figures here")
    p.add_argument("--results", default=None,
                   help="docs results file (default docs/results/bench_gpu.json; not with "
                        "--quick)")
    p.add_argument("--quick", action="store_true",
                   help="toy sizes, to check the script on a CPU")
    args = p.parse_args()
    if args.quick:
        args.variants, args.batch_sizes, args.model_batches = 2_000, "256,1024", 2

    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-gpu-"))
    work.mkdir(parents=True, exist_ok=True)
    world = demo_world()
    t0 = time.perf_counter()
    vcf = snv_vcf(world, args.variants, work / f"snv_{args.variants}.vcf.gz")
    models = demo_models() if "demo" in args.models else {}
    if "big" in args.models:
        models[BIG_MODEL] = str(big_model(work / "models"))
    log(f"inputs ready in {time.perf_counter() - t0:.0f} s: {vcf}, models {list(models)}")
    config = {"models": models, "batch_sizes": [int(b) for b in args.batch_sizes.split(",")],
              "model_batches": args.model_batches, "vcf": str(vcf),
              "fasta": str(world.genome), "gtf": str(world.gtf),
              "expression": str(world.expression)}
    results = [run_variant(v, config, work) for v in args.backends.split(",")]
    for res in results:
        if "error" in res:
            log(f"  {res['variant']}: {res['error']}")
    ok = [r for r in results if "error" not in r]
    diffs = {f"{a['variant']} vs {b['variant']}": max_difference(a, b)
             for a, b in zip(ok[:1] * (len(ok) - 1), ok[1:], strict=True)}
    meta = {"variants": args.variants, "commit": commit(), "host": platform.node(),
            "devices": sorted({d for r in ok for d in r["devices"]}), "quick": args.quick,
            "command": " ".join(sys.argv)}
    table = rows(ok)
    print_report(table, diffs, meta)
    if not args.quick:
        from results import figure, write_results

        best = {}
        for row in table:  # the best batch size of each backend and model
            key = (row["backend"], row["model"])
            if row["variants_per_second"] and row["variants_per_second"] > best.get(
                    key, {}).get("variants_per_second", 0):
                best[key] = row
        figs = [figure(f"{b}_{m}", r["variants_per_second"], unit="variants/s", digits=0,
                       target=(">=", 50_000) if m == BIG_MODEL else None,
                       label=f"{m} ({r['rbps']} RBPs), {b}: end-to-end variants/s",
                       note=f"batch {r['batch_size']}; devices {', '.join(meta['devices'])}")
                for (b, m), r in best.items()]
        write_results("bench_gpu", figs, path=args.results,
                      extra={"rows": table, "differences": diffs})
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "rows": table, "differences": diffs,
                                               "errors": [r for r in results if "error" in r]},
                                              indent=1))
        log(f"figures written to {args.json}")
    if len(ok) < len(results):
        sys.exit(1)


if __name__ == "__main__":
    main()
