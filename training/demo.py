"""The packaged demo model set, rebuilt from a seed by ``varbind models build-demo``.

Steps: simulate the demo world (``varbind simulate --size full --seed 0``), build its
multi-label and per-RBP training datasets, train

* ``multiresbind/``: Multi-resBind (sequence + region) over all simulated RBPs, the paper's
  architecture;
* ``polaris/``: one POLARIS model per RBP (sequence + region + expression), joined into one
  bundle. Its window (400 nt) and its convolution and dense widths are smaller than the
  paper's (:data:`POLARIS_DEMO_HPARAMS`) so that the whole set stays under 5 MB; the layer
  structure and dropout are the paper's.

Both are trained with ``varbind train``'s default recipe (:mod:`varbind.training.recipes`),
health check included: there is no demo-only recipe.

and write them with ``build.json`` (the command, seeds, times and metrics) into the set. The
same seeds give the same weights on the same machine type (deterministic kernels).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

MULTIRESBIND_CELL_LINE = "SIM1"
#: Model size only (the set must stay small); how it is trained is the default recipe's.
POLARIS_DEMO_HPARAMS = {"filters": 32, "dense_units": (32, 16, 8)}
POLARIS_SEQ_LENGTH = 400


@dataclass(frozen=True)
class DemoSettings:
    """What the demo trains; the defaults are the shipped set's. ``epochs`` and
    ``max_tries`` (None / 3: the recipe's) exist to make test builds quick."""

    multiresbind_hparams: dict = field(default_factory=dict)
    polaris_hparams: dict = field(default_factory=lambda: dict(POLARIS_DEMO_HPARAMS))
    polaris_seq_length: int = POLARIS_SEQ_LENGTH
    min_positives: int = 50
    epochs: int | None = None
    max_tries: int = 3


DEMO_SETTINGS = DemoSettings()


def _demo_models_dir() -> Path:
    """The package's demo model folder (works for editable and regular installs)."""
    import varbind

    return Path(varbind.__file__).resolve().parent / "data" / "demo" / "models"


DEMO_MODELS = _demo_models_dir()


def build_demo(out: str | os.PathLike = DEMO_MODELS, seed: int = 0, world_seed: int = 0,
               size: str = "full", workdir: str | os.PathLike | None = None,
               progress: bool = False, settings: DemoSettings = DEMO_SETTINGS) -> str:
    """Rebuild the demo model set into ``out``; returns a printable summary."""
    from varbind.simulate import simulate_world

    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="varbind-demo-") as tmp:
        work = Path(workdir) if workdir else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        world = work / "world"
        simulate_world(world, seed=world_seed, size=size)
        ml, pr = _datasets(world, work, seed, progress, settings)
        t_data = time.perf_counter() - start
        mrb, t_mrb = _train_multiresbind(ml, seed, progress, settings)
        pol, t_pol = _train_polaris(pr, seed, progress, settings)
        from varbind.training.train import write_bundle

        out.mkdir(parents=True, exist_ok=True)
        write_bundle(mrb, out / "multiresbind")
        write_bundle(pol, out / "polaris")
    build = {
        "command": f"varbind models build-demo --seed {seed} --world-seed {world_seed} "
                   f"--size {size}",
        "seed": seed, "world_seed": world_seed, "size": size,
        "settings": {k: list(v) if isinstance(v, tuple) else v
                     for k, v in asdict(settings).items()},
        "seconds": {"world_and_datasets": round(t_data, 1), "multiresbind": round(t_mrb, 1),
                    "polaris": round(t_pol, 1)},
        "metrics": {b.meta.name: {"mean_auroc": b.meta.metrics.get("mean_auroc"),
                                  "mean_ap": b.meta.metrics.get("mean_ap")}
                    for b in (mrb, pol)},
    }
    (out / "build.json").write_text(json.dumps(build, indent=2) + "\n")
    return _summary(out, mrb, pol, build)


def _datasets(world: Path, work: Path, seed: int, progress: bool,
              settings: DemoSettings) -> tuple[Path, Path]:
    from varbind.training.train import build_training_dataset

    args = (world / "peaks" / "manifest.tsv", world / "genome.fa", world / "genes.gtf",
            world / "expression.tsv")
    ml = build_training_dataset(work / "multilabel.h5", *args, per_rbp=False,
                                cell_line=MULTIRESBIND_CELL_LINE, seed=seed, progress=progress)
    pr = build_training_dataset(work / "per_rbp.h5", *args, per_rbp=True,
                                seq_length=settings.polaris_seq_length,
                                region_length=settings.polaris_seq_length,
                                seed=seed, progress=progress)
    return ml, pr


def _train_multiresbind(path: Path, seed: int, progress: bool, settings: DemoSettings):
    from varbind.training.train import TrainConfig, load_dataset, train_multilabel

    start = time.perf_counter()
    config = TrainConfig(arch="multiresbind", inputs=("sequence", "region"),
                         epochs=settings.epochs, max_tries=settings.max_tries, seed=seed,
                         hparams=settings.multiresbind_hparams,
                         min_positives=settings.min_positives,
                         name="demo_multiresbind", genome_build="simulated",
                         cell_line=MULTIRESBIND_CELL_LINE, progress=progress)
    result = train_multilabel(load_dataset(path), config)
    return result, time.perf_counter() - start


def _train_polaris(path: Path, seed: int, progress: bool, settings: DemoSettings):
    from varbind.training.train import TrainConfig, dataset_kind, load_dataset, train_per_rbp

    start = time.perf_counter()
    _, rbps = dataset_kind(path)
    datasets = {r: load_dataset(path, rbp=r) for r in rbps}
    config = TrainConfig(arch="polaris", inputs=("sequence", "region", "expression"),
                         epochs=settings.epochs, max_tries=settings.max_tries, seed=seed,
                         hparams=settings.polaris_hparams,
                         seq_length=settings.polaris_seq_length, name="demo_polaris",
                         min_positives=settings.min_positives,
                         genome_build="simulated", cell_line="per-RBP (SIM1/SIM2)",
                         progress=progress)
    result = train_per_rbp(datasets, config, join=True)
    return result, time.perf_counter() - start


def _summary(out: Path, mrb, pol, build: dict) -> str:
    from varbind.training.evaluate import format_table

    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    lines = [format_table(mrb.meta.metrics, title="demo_multiresbind (test windows)"), "",
             format_table(pol.meta.metrics, title="demo_polaris (test windows, per RBP)"), "",
             f"training seconds: {json.dumps(build['seconds'])}",
             f"demo model set: {out} ({size / 1e6:.2f} MB)"]
    return "\n".join(lines)
