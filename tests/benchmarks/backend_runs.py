"""Model throughput under one Keras backend and execution mode, run in a child process.

Shared by ``bench_gpu.py`` and ``bench_cpu_backends.py``. The Keras backend is fixed when
Keras is first imported, so each *variant* runs in its own process
(``python backend_runs.py CONFIG.json``), started by :func:`run_variant`:

- ``tf``: TensorFlow, Keras's compiled predict function (``predict_on_batch``; varbind's default)
- ``tf-eager``: TensorFlow, the model called eagerly (``model(x, training=False)``)
- ``tf-xla``: TensorFlow with XLA (``model.jit_compile = True``)
- ``jax``: the JAX backend (``KERAS_BACKEND=jax``; ``predict_on_batch`` is jit-compiled)

For each model and batch size the child measures

- model-only windows/s: :func:`varbind.scoring.predict.predict` on prepared random windows;
- end-to-end variants/s: :func:`varbind.scoring.run.score_vcf` on a VCF (models loaded beforehand;
  the rate after the first chunk, so that the first graph trace is not counted, and overall);

and writes the model outputs on fixed windows and the table of deltas, so that the parent can
compare variants (:func:`max_difference`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

VARIANTS = ("tf", "tf-eager", "tf-xla", "jax")
#: Windows whose outputs every variant writes, for the comparison.
COMPARE_WINDOWS = 512


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- parent side


def run_variant(variant: str, config: dict, workdir: Path, env: dict | None = None) -> dict:
    """Run one variant in a child process; return its results (see :func:`child_main`)."""
    if variant not in VARIANTS:
        raise SystemExit(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
    folder = workdir / variant
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.json"
    path.write_text(json.dumps({**config, "variant": variant, "out": str(folder)}, indent=1))
    child_env = {**os.environ, **(env or {}), "TF_CPP_MIN_LOG_LEVEL": "2",
                 "KERAS_BACKEND": "jax" if variant == "jax" else "tensorflow"}
    log(f"  {variant}: {', '.join(config['models'])}, batch sizes {config['batch_sizes']} ...")
    done = subprocess.run([sys.executable, __file__, str(path)], env=child_env, check=False)
    result_path = folder / "result.json"
    if done.returncode != 0 or not result_path.exists():
        return {"variant": variant, "error": f"child exited with status {done.returncode}"}
    return json.loads(result_path.read_text())


def max_difference(a: dict, b: dict) -> dict[str, float]:
    """Largest |difference| between two variants' model outputs and between their deltas, per
    model (NaN where either is missing)."""
    import pandas as pd

    out = {}
    for model in a.get("models", {}):
        if model not in b.get("models", {}):
            continue
        ma, mb = a["models"][model], b["models"][model]
        outputs = np.abs(np.load(ma["outputs"]) - np.load(mb["outputs"])).max()
        deltas = float("nan")
        if ma.get("table") and mb.get("table"):
            ta = pd.read_csv(ma["table"], sep="\t", comment="#")
            tb = pd.read_csv(mb["table"], sep="\t", comment="#")
            deltas = float(np.nanmax(np.abs(ta["delta"].to_numpy() - tb["delta"].to_numpy())))
        out[model] = {"outputs": float(outputs), "deltas": deltas}
    return out


# ----------------------------------------------------------------------------- child side


def prepared_windows(bundle, n: int, seed: int = 0) -> list[np.ndarray]:
    """``n`` random one-hot windows (and random scalar inputs) in the model's input order."""
    rng = np.random.default_rng(seed)
    arrays = []
    for spec in bundle.meta.inputs:
        if spec.layout == "per_position":
            x = np.zeros((n, spec.length, spec.width), dtype=np.float32)
            x[np.arange(n)[:, None], np.arange(spec.length), rng.integers(0, 4, (n, spec.length))
              ] = 1.0
        else:
            x = rng.random((n, spec.width)).astype(np.float32)
        arrays.append(x)
    return arrays


def batch_function(variant: str):
    """The per-batch model call of a variant (see :mod:`varbind.scoring.predict`)."""
    from varbind.scoring.predict import forward

    if variant != "tf-eager":
        return forward

    def eager(model, inputs):
        out = model(inputs[0] if len(inputs) == 1 else inputs, training=False)
        return np.asarray(out, dtype=np.float32)

    return eager


def prepare_models(variant: str, bundles) -> None:
    for b in bundles:
        if variant == "tf-xla":
            b.model.jit_compile = True


def model_only(bundle, variant: str, batch_size: int, n_batches: int) -> dict:
    """Windows/s of the model alone on prepared windows, after one warm-up batch."""
    from varbind.scoring.predict import predict

    func = batch_function(variant)
    inputs = prepared_windows(bundle, batch_size * n_batches)
    predict(bundle.model, [x[:batch_size] for x in inputs], batch_size=batch_size, func=func)
    t0 = time.perf_counter()
    predict(bundle.model, inputs, batch_size=batch_size, func=func)
    seconds = time.perf_counter() - t0
    return {"windows": batch_size * n_batches, "seconds": seconds,
            "windows_per_second": batch_size * n_batches / seconds}


def end_to_end(config: dict, model_path: str, variant: str, batch_size: int, out: Path
               ) -> dict:
    """Variants/s of ``score_vcf`` with models loaded beforehand: after the first chunk, and
    overall (first trace included)."""
    from varbind.scoring.options import ScoreOptions
    from varbind.scoring.run import score_vcf
    from varbind.scoring.scorer import Scorer

    options = ScoreOptions(vcf=config["vcf"], fasta=config["fasta"], gtf=config["gtf"],
                           expression=config["expression"], models=model_path,
                           table=out, batch_size=batch_size)
    t_load = time.perf_counter()
    scorer = Scorer(options)
    prepare_models(variant, scorer.bundles)
    load = time.perf_counter() - t_load
    first = {}

    def on_chunk(result):
        first.setdefault("t", time.perf_counter())
        first.setdefault("n", len(result.records))

    t0 = time.perf_counter()
    summary = score_vcf(options, on_chunk=on_chunk, func=batch_function(variant),
                        scorer=scorer)
    t1 = time.perf_counter()
    steady = (summary.records - first["n"]) / (t1 - first["t"]) if t1 > first["t"] else 0.0
    return {"records": summary.records, "windows": summary.windows, "load_seconds": load,
            "seconds": t1 - t0, "variants_per_second": summary.records / (t1 - t0),
            "steady_variants_per_second": steady if summary.records > first["n"] else None}


def devices() -> list[str]:
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return [str(d) for d in jax.devices()]
    import tensorflow as tf

    return [d.name for d in tf.config.list_logical_devices()]


def child_main(config_path: str) -> None:
    """Measure every model and batch size of the config; write ``result.json``."""
    import keras

    from varbind.model.bundle import load_bundle

    config = json.loads(Path(config_path).read_text())
    variant, out = config["variant"], Path(config["out"])
    result = {"variant": variant, "backend": keras.backend.backend(), "devices": devices(),
              "models": {}}
    for name, path in config["models"].items():
        bundle = load_bundle(path)
        prepare_models(variant, [bundle])
        compare = prepared_windows(bundle, COMPARE_WINDOWS, seed=1)
        from varbind.scoring.predict import predict

        outputs = predict(bundle.model, compare, batch_size=config["batch_sizes"][0],
                          func=batch_function(variant))
        np.save(out / f"{name}.outputs.npy", outputs)
        entry = {"rbps": len(bundle.meta.rbps), "outputs": str(out / f"{name}.outputs.npy"),
                 "model_only": {}, "end_to_end": {}}
        for batch_size in config["batch_sizes"]:
            entry["model_only"][str(batch_size)] = model_only(bundle, variant, batch_size,
                                                              config["model_batches"])
            if config.get("vcf"):
                table = out / f"{name}.b{batch_size}.tsv"
                entry["end_to_end"][str(batch_size)] = end_to_end(config, path, variant,
                                                                  batch_size, table)
                entry.setdefault("table", str(table))  # the first batch size's, to compare
            log(f"    {variant} {name} batch {batch_size}: "
                f"{entry['model_only'][str(batch_size)]['windows_per_second']:,.0f} windows/s"
                + (f", {entry['end_to_end'][str(batch_size)]['variants_per_second']:,.0f} "
                   "variants/s end to end" if config.get("vcf") else ""))
        result["models"][name] = entry
    (out / "result.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    child_main(sys.argv[1])
