"""What the simulator makes at each size: genes, peaks and variant records over several seeds.

    python tests/benchmarks/bench_world.py [--sizes tiny,mini,small,medium,full] [--seeds 0,1,2,3,4]

Simulates each (size, seed) world into a temporary folder and reads its ``world.json``:
contigs and genome length (fixed by the size), genes and transcripts, peaks over all RBPs
(false positives included), variant records and the gain / loss / neutral ALT alleles of the
truth table. Each figure is the median over the seeds with its range, so the docs'
simulated-world page quotes what the code makes rather than a hand-typed count.

The figures are also written to ``docs/results/bench_world.json`` (``--results PATH``)
through ``results.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from results import figure, write_results  # noqa: E402  (tests/benchmarks/results.py)

COUNTS = {  # figure stem -> (label, how to read it from world.json)
    "contigs": ("contigs", lambda w: len(w["contigs"])),
    "genome_kb": ("genome length (kb)", lambda w: sum(w["contigs"].values()) / 1000),
    "genes": ("genes", lambda w: w["genes"]),
    "transcripts": ("transcripts", lambda w: w["transcripts"]),
    "rbps": ("RBPs", lambda w: len(w["rbps"])),
    "peaks": ("peaks, all RBPs", lambda w: sum(r["peaks"] for r in w["rbps"])),
    "records": ("variant records", lambda w: w["variants"]["records"]),
    "gain": ("gain ALT alleles", lambda w: w["variants"]["alleles_by_effect"]["gain"]),
    "loss": ("loss ALT alleles", lambda w: w["variants"]["alleles_by_effect"]["loss"]),
    "neutral": ("neutral ALT alleles", lambda w: w["variants"]["alleles_by_effect"]["neutral"]),
}


def world_counts(size: str, seed: int) -> dict[str, float]:
    """The counts of one simulated world, by figure stem."""
    from varbind.simulate import simulate_world

    with tempfile.TemporaryDirectory(prefix="vb-world-") as tmp:
        simulate_world(Path(tmp) / "world", seed=seed, size=size)
        world = json.loads((Path(tmp) / "world" / "world.json").read_text())
    return {stem: float(read(world)) for stem, (_, read) in COUNTS.items()}


def size_figures(size: str, seeds: list[int]) -> list[dict]:
    """One figure per count for ``size``: its values over ``seeds``."""
    rows = [world_counts(size, seed) for seed in seeds]
    seed_text = ",".join(map(str, seeds))
    figures = []
    for stem, (label, _) in COUNTS.items():
        values = [row[stem] for row in rows]
        figures.append(figure(f"{stem}_{size}", values, digits=0,
                              label=f"{label}, `{size}` world, seeds {seed_text}"))
        print(f"{size:6s} {label:24s} median {figures[-1]['median']:>8g} "
              f"range {min(values):g}-{max(values):g}")
    return figures


def main(argv: list[str] | None = None) -> int:
    from varbind.simulate import SIZES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(SIZES))
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--results", default=None, help="results JSON (default docs/results)")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    figures = [fig for size in args.sizes.split(",") for fig in size_figures(size, seeds)]
    write_results("bench_world", figures, path=args.results, argv=argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
