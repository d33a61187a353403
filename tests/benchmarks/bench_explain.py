"""Cost of attribution relative to scoring, and explained variants per second.

    python tests/benchmarks/bench_explain.py [--arch multiresbind,polaris] [--variants 64]
        [--steps 50] [--models DIR]

For each architecture (random weights: cost does not depend on training) or each bundle of
``--models``, on the same windows and in one run:

- forward: ``model.predict_on_batch`` (what ``varbind score`` runs), seconds per window;
- GradCAM: one forward and one backward pass per RBP (:func:`varbind.attribution.gradcam`);
- IG: ``steps`` path points (+2 end points) per window (:func:`integrated_gradients`);

printed as ratios to one forward pass per window (the issue's target: GradCAM <= 3x), plus
explained variants per second for ``explain_variants`` with IG + GradCAM (ref and alt windows
of each variant, one RBP). Figures are ratios measured in one run because the machines are
noisy. Runs on the GPU when TensorFlow sees one.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _timed(fn, repeat: int = 3) -> float:
    fn()  # warm up (tracing, allocation)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _random_batch(specs, n: int, rng):
    import numpy as np

    from varbind.inputs import WindowBatch, required_lengths

    need = required_lengths(specs)
    seq = rng.integers(0, 4, (n, need["sequence"])).astype(np.uint8)
    region = (rng.integers(1, 6, (n, need["region"])).astype(np.int8)
              if "region" in need else None)
    expr = rng.random(n).astype(np.float32) * 3
    return WindowBatch(seq=seq, region=region, expression=expr)


def _bundles(args):
    from varbind.training.models import build_model, input_specs

    from varbind.bundle import ModelBundle, ModelMeta, load_model_set

    if args.models:
        return load_model_set(args.models)
    out = []
    for arch in args.arch.split(","):
        kinds = {"residualbind": ["sequence"], "polaris": ["sequence", "region", "expression"]}
        specs = input_specs(arch, kinds.get(arch, ["sequence", "region"]))
        k = 1 if arch == "polaris" else args.rbps
        model = build_model(arch, specs, k)
        meta = ModelMeta(name=arch, architecture=arch, rbps=[f"RBP{i}" for i in range(k)],
                         inputs=specs)
        out.append(ModelBundle(path=None, meta=meta, model=model, digest=""))
    return out


def bench(bundle, n: int, steps: int, batch_size: int, rng) -> dict:
    from varbind.attribution import (
        ExplainOptions,
        VariantSite,
        baseline_arrays,
        explain_variants,
        gradcam,
        integrated_gradients,
        sequence_slot,
    )
    from varbind.inputs import build_inputs

    specs = bundle.meta.inputs
    batch = _random_batch(specs, n, rng)
    arrays = build_inputs(specs, batch)
    model = bundle.model
    slot = sequence_slot(specs)
    x = arrays if len(arrays) > 1 else arrays[0]

    def forward():
        for lo in range(0, n, batch_size):
            model.predict_on_batch([a[lo:lo + batch_size] for a in arrays]
                                   if len(arrays) > 1 else x[lo:lo + batch_size])

    t_fwd = _timed(forward) / n
    t_cam = _timed(lambda: gradcam(model, arrays, [0], slot.length, batch_size=batch_size,
                                   seq_index=slot.input_index,
                                   arch=bundle.meta.architecture, rbps=bundle.meta.rbps),
                   repeat=2) / n
    base = baseline_arrays(specs, "zeros")
    t_ig = _timed(lambda: integrated_gradients(model, arrays, base, [0], steps=steps,
                                               batch_size=batch_size * 4), repeat=1) / n
    # explained variants per second: n/2 SNVs, ref and alt windows, IG + GradCAM, one RBP
    half = n // 2
    ref = _random_batch(specs, half, rng)
    alt = _random_batch(specs, half, rng)
    alt.seq = ref.seq.copy()
    centre = ref.seq.shape[1] // 2
    alt.seq[:, centre] = (ref.seq[:, centre] + 1) % 4
    if ref.region is not None:
        alt.region = ref.region
    sites = [VariantSite(f"chr1:{1000 + i}:A>C", "chr1", 999 + i, 1000 + i, "C", "+")
             for i in range(half)]
    pairs = [(i, bundle.meta.rbps[0]) for i in range(half)]
    options = ExplainOptions(methods=("ig", "gradcam"), ig_steps=steps,
                             batch_size=batch_size * 4)
    t_explain = _timed(lambda: explain_variants(bundle, ref, alt, sites, pairs, options),
                       repeat=1)
    return {"forward_ms": t_fwd * 1e3, "gradcam_ms": t_cam * 1e3, "ig_ms": t_ig * 1e3,
            "gradcam_x": t_cam / t_fwd, "ig_x": t_ig / t_fwd,
            "explained_per_s": half / t_explain}


def main() -> None:
    import numpy as np
    import tensorflow as tf

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="multiresbind,deepripe,polaris")
    p.add_argument("--models", help="a model set instead of random-weight architectures")
    p.add_argument("--variants", type=int, default=64, help="windows per measurement")
    p.add_argument("--rbps", type=int, default=8, help="outputs of multi-label models")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=256)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    print(f"device {device}; {args.variants} windows; IG {args.steps} steps; one RBP; "
          f"TF threads intra={tf.config.threading.get_intra_op_parallelism_threads()}")
    print(f"{'model':<16}{'window':>7}{'fwd ms/win':>11}{'GradCAM x':>10}{'IG x':>8}"
          f"{'expl. var/s':>12}")
    for bundle in _bundles(args):
        r = bench(bundle, args.variants, args.steps, args.batch_size, rng)
        print(f"{bundle.name:<16}{bundle.meta.window:>7}{r['forward_ms']:>11.3f}"
              f"{r['gradcam_x']:>10.2f}{r['ig_x']:>8.1f}{r['explained_per_s']:>12.1f}")


if __name__ == "__main__":
    main()
