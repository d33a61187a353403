"""Cost of attribution relative to scoring, and explained variants per second.

    python tests/benchmarks/bench_explain.py [--arch multiresbind,polaris] [--variants 64]
        [--steps 50] [--models DIR]
    python tests/benchmarks/bench_explain.py --demo [--world DIR] [--models DIR]

For each architecture (random weights: cost does not depend on training) or each bundle of
``--models``, on the same windows and in one run:

- forward: ``model.predict_on_batch`` (what ``varbind score`` runs), seconds per window;
- GradCAM: one forward and one backward pass per RBP (:func:`varbind.attribution.gradcam`);
- IG: ``steps`` path points (+2 end points) per window (:func:`integrated_gradients`);

printed as ratios to one forward pass per window (the issue's target: GradCAM <= 3x), plus
explained variants per second for ``explain_variants`` with IG + GradCAM and with GradCAM only
(ref and alt windows of each variant, one RBP, motif clustering and calls included). Figures
are ratios measured in one run because the machines are noisy. Runs on the GPU when
TensorFlow sees one.

``--demo`` instead checks attributions against the simulated world's truth (default: the
bundled demo world and models; ``--world`` a ``varbind simulate`` folder):

- GIA: the top 6-mer of each RBP (dinucleotide-shuffled genome backgrounds) and the known
  motif it matches best, against the RBP's planted motif;
- GradCAM: motif clusters of each RBP's top-scoring windows (among windows centred on the
  planted bound sites when the world ships ``sites.tsv``, else 3,000 random gene-body
  windows); the best-matching known motif of all their spans is the right RBP for >= 80 % of RBPs
  (the issue's target); and each RBP's GradCAM diffusion (POLARIS eq. 3) over those windows;
- motif calls: among the simulator's loss variants whose |delta| >= 0.1 for the planted RBP,
  the fraction called LOST (and LOST or WEAKENED).
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from pathlib import Path

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
    cam_only = ExplainOptions(methods=("gradcam",), batch_size=batch_size * 4)
    t_cam_only = _timed(lambda: explain_variants(bundle, ref, alt, sites, pairs, cam_only),
                        repeat=1)
    return {"forward_ms": t_fwd * 1e3, "gradcam_ms": t_cam * 1e3, "ig_ms": t_ig * 1e3,
            "gradcam_x": t_cam / t_fwd, "ig_x": t_ig / t_fwd,
            "explained_per_s": half / t_explain, "gradcam_only_per_s": half / t_cam_only}


# ----------------------------------------------------------------------------- demo checks


def _world_file(world, names):
    from pathlib import Path

    for folder in (Path(world), Path(world) / "world"):
        for name in names:
            if (folder / name).exists():
                return folder / name
    raise SystemExit(f"{world}: none of {', '.join(names)}")


def _site_windows(bundle, sites, genome, index, table, cell_type):
    """WindowBatch of windows centred on ``sites`` (DataFrame rows), with the model's inputs."""
    import numpy as np

    from varbind.genome import window_start
    from varbind.inputs import WindowBatch, required_lengths

    need = required_lengths(bundle.meta.inputs)
    seqs, regions, genes = [], [], []
    for chrom, part in sites.groupby("chrom", sort=False):
        centres = ((part["start"] + part["end"]) // 2).to_numpy()
        strands = part["strand"].to_numpy()
        seqs.append(genome.window_codes(chrom, centres, need["sequence"], strands))
        if "region" in need:
            starts = window_start(centres, need["region"], strands)
            regions.append(index.region_codes(chrom, np.asarray(starts), need["region"],
                                              strands))
        genes += part["gene_id"].tolist()
    expression = table.lookup(genes, cell_type=cell_type) if table is not None else None
    return WindowBatch(seq=np.concatenate(seqs),
                       region=np.concatenate(regions) if regions else None,
                       expression=expression)


def _candidate_sites(world, index, rng, n: int = 3000):
    """Windows to rank by score: the planted bound sites of ``sites.tsv`` when the world has
    it, else ``n`` random positions in gene bodies on the gene's strand (rbp ``*``)."""
    import pandas as pd

    try:
        sites = pd.read_csv(_world_file(world, ["sites.tsv", "sites.tsv.gz"]), sep="\t")
        return sites[(sites["kind"] == "site") & (sites["bound"] == 1)]
    except SystemExit:
        pass
    genes = index.genes
    lengths = (genes["end"] - genes["start"]).to_numpy(dtype=float)
    pick = rng.choice(len(genes), size=n, p=lengths / lengths.sum())
    offset = (rng.random(n) * lengths[pick]).astype(int)
    starts = genes["start"].to_numpy()[pick] + offset
    return pd.DataFrame({"rbp": "*", "chrom": genes["chrom"].to_numpy()[pick],
                         "start": starts, "end": starts + 1,
                         "strand": genes["strand"].to_numpy()[pick],
                         "gene_id": genes["gene_id"].to_numpy()[pick]})


def demo_checks(args) -> None:
    import json

    import numpy as np
    from varbind.annotations.expression import ExpressionTable
    from varbind.annotations.index import AnnotationIndex

    from varbind import gia
    from varbind.attribution import MATCH_WIDTH, gradcam, predict_arrays, sequence_slot
    from varbind.bundle import load_model_set
    from varbind.gradcam_motifs import (
        gradcam_diffusion,
        rank_known_motifs,
        span_sequences,
        strongest_motif,
    )
    from varbind.inputs import build_inputs, required_lengths
    from varbind.motifs import read_meme

    world = args.world
    if world is None:
        from varbind.demo import DEMO_DIR

        world = DEMO_DIR
    models = args.models or str(_world_file(world, ["models"]))
    info = json.loads(_world_file(world, ["world.json"]).read_text())
    planted = {r["name"]: r for r in info["rbps"]}
    fasta = _world_file(world, ["genome.fa", "genome.fa.gz"])
    from varbind.genome import Genome

    genome = Genome(fasta)
    index = AnnotationIndex.from_gtf(_world_file(world, ["genes.gtf", "genes.gtf.gz"]))
    table = ExpressionTable.read(_world_file(world, ["expression.tsv"]))
    rng = np.random.default_rng(0)
    sites = _candidate_sites(world, index, rng)
    known = read_meme()
    gia_hits = gia_in = cam_hits = cam_top3 = total = 0
    print(f"{'RBP':<10}{'planted':>10}{'GIA top 6-mer':>15}{'in it':>6}{'-> known':>12}"
          f"{'GradCAM spans':>15}{'-> known':>12}{'diffusion':>11}")
    for bundle in load_model_set(models):
        rbps = [r for r in bundle.meta.rbps if r in planted]
        if not rbps:
            continue
        targets = [bundle.meta.rbps.index(r) for r in rbps]
        length = required_lengths(bundle.meta.inputs)["sequence"]
        observed = gia.read_observed(fasta, length, 400, rng)
        background = gia.make_background(bundle.meta.inputs, "dinuc", args.gia_n, rng,
                                         observed)
        found = {t: [gia.Importance("-", np.zeros(1))] for t in targets}
        if not args.skip_gia:
            found = gia.importance_many(bundle, background, targets,
                                        gia.kmer_arrangements(length, 6), args.batch_size * 4)
        cell = (bundle.meta.cell_line if bundle.meta.cell_line in table.cell_types
                else table.cell_types[0])
        slot = sequence_slot(bundle.meta.inputs)
        for rbp, target in zip(rbps, targets, strict=True):
            total += 1
            top = max(found[target], key=lambda r: r.global_).label
            gia_known = rank_known_motifs([top], known)[0][0] if len(top) >= 3 else "-"
            mine = sites[sites["rbp"].isin([rbp, "*"])].head(3000)
            batch = _site_windows(bundle, mine, genome, index, table, cell)
            arrays = build_inputs(bundle.meta.inputs, batch)
            score = predict_arrays(bundle.model, arrays)[:, target]
            best = np.argsort(-score)[:args.top_windows]
            cam = gradcam(bundle.model, [a[best] for a in arrays], [target], slot.length,
                          seq_index=slot.input_index, arch=bundle.meta.architecture,
                          rbps=bundle.meta.rbps, logit=bundle.meta.output == "sigmoid")
            seqs = batch.seq[best]
            offset = seqs.shape[1] // 2 - slot.length // 2
            spans = []  # the strongest motif cluster of each map, on MATCH_WIDTH nt
            for m, codes in zip(cam.maps[0], seqs[:, offset:offset + slot.length], strict=True):
                c = strongest_motif(m)
                if c is not None:
                    lo = max(0, (c.start + c.end) // 2 - MATCH_WIDTH // 2)
                    spans += span_sequences(codes, [replace(c, start=lo, end=lo + MATCH_WIDTH)])
            ranked = rank_known_motifs(spans, known) if spans else []
            cam_known = ranked[0][0] if ranked else "-"
            cam_top3 += rbp in [r[0] for r in ranked[:3]]
            gia_hits += gia_known == rbp
            cam_hits += cam_known == rbp
            diffusion = gradcam_diffusion(cam.maps[0])
            inside = "yes" if top in planted[rbp]["consensus"] else "no"
            gia_in += inside == "yes"
            print(f"{rbp:<10}{planted[rbp]['consensus']:>10}{top:>15}{inside:>6}{gia_known:>12}"
                  f"{len(spans):>15}{cam_known:>12}{diffusion:>11.2f}")
    print(f"GIA top 6-mer inside the planted consensus: {gia_in}/{total}; its best-matching "
          f"known motif is the planted RBP's: {gia_hits}/{total}")
    print(f"GradCAM clusters of top windows best match the planted RBP: {cam_hits}/{total} "
          f"({cam_hits / max(total, 1):.0%}; target >= 80%); the planted RBP among the 3 "
          f"best-matching known motifs: {cam_top3}/{total}")
    if not args.skip_lost:
        lost_fraction(world, models, args)


def lost_fraction(world, models, args) -> None:
    """Motif calls on the truth VCF's loss variants with |delta| >= 0.1 for the planted RBP."""
    import cyvcf2
    import pandas as pd

    from varbind.attribution import ExplainOptions
    from varbind.explain import ChunkExplainer, ExplainSettings
    from varbind.score import ChunkScorer, ScoreOptions, Scorer, effect_table
    from varbind.variants import Record

    truth = pd.read_csv(_world_file(world, ["truth.tsv", "truth.tsv.gz"]), sep="\t")
    loss = truth[truth["effect"] == "loss"]
    wanted = set(zip(loss["chrom"], loss["pos"], strict=True))
    vcf_path = _world_file(world, ["variants.vcf.gz"])
    records = [Record.from_cyvcf(r) for r in cyvcf2.VCF(str(vcf_path))
               if (r.CHROM, r.POS) in wanted]
    import tempfile

    tmp = Path(tempfile.mkdtemp())
    options = ScoreOptions(vcf=vcf_path, fasta=_world_file(world, ["genome.fa", "genome.fa.gz"]),
                           models=models, gtf=_world_file(world, ["genes.gtf", "genes.gtf.gz"]),
                           expression=_world_file(world, ["expression.tsv"]),
                           table=tmp / "t.tsv")
    scorer = Scorer(options)
    chunker = ChunkScorer(scorer)
    settings = ExplainSettings(out=tmp / "attr.h5", min_delta=0.1,
                               options=ExplainOptions(methods=("gradcam",)))
    calls = []
    with ChunkExplainer(scorer, settings) as explainer:
        for lo in range(0, len(records), 256):
            result = chunker(records[lo:lo + 256])
            explained = explainer(result)
            effects = effect_table(scorer, result)
            units = result.units
            for row in explained.itertuples(index=False):
                u = units.iloc[int(row.unit)]
                rec = result.records[int(u["record"])]
                alt = result.alleles.loc[u["allele"], "alt"]
                delta = effects[(effects["unit"] == row.unit) & (effects["label"] == row.rbp)
                                & (effects["model"] == row.model)]["delta"].iloc[0]
                calls.append((rec.chrom, rec.pos, rec.ref, alt, u["strand"],
                              row.rbp.split("@")[0], delta, row.motif_call))
    got = pd.DataFrame(calls, columns=["chrom", "pos", "ref", "alt", "strand", "rbp", "delta",
                                       "motif_call"])
    merged = got.merge(loss, on=["chrom", "pos", "ref", "alt", "strand", "rbp"])
    n = len(merged)
    lost = (merged["motif_call"] == "LOST").sum()
    weak = merged["motif_call"].isin(["LOST", "WEAKENED"]).sum()
    print(f"loss variants with |delta| >= 0.1 for the planted RBP: {n}; called LOST "
          f"{lost} ({lost / max(n, 1):.0%}), LOST or WEAKENED {weak} ({weak / max(n, 1):.0%}); "
          f"calls: {dict(merged['motif_call'].value_counts())}")


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
    p.add_argument("--demo", action="store_true", help="check against the simulated truth")
    p.add_argument("--world", help="a 'varbind simulate' folder (default: the bundled demo)")
    p.add_argument("--gia-n", type=int, default=24, help="GIA background sequences")
    p.add_argument("--top-windows", type=int, default=50, help="GradCAM windows per RBP")
    p.add_argument("--skip-gia", action="store_true", help="--demo without the GIA scan")
    p.add_argument("--skip-lost", action="store_true", help="--demo without the motif calls")
    args = p.parse_args()
    if args.demo:
        demo_checks(args)
        return
    rng = np.random.default_rng(0)
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    print(f"device {device}; {args.variants} windows; IG {args.steps} steps; one RBP; "
          f"TF threads intra={tf.config.threading.get_intra_op_parallelism_threads()}")
    print(f"{'model':<16}{'window':>7}{'fwd ms/win':>11}{'GradCAM x':>10}{'IG x':>8}"
          f"{'IG+CAM var/s':>13}{'CAM var/s':>10}")
    for bundle in _bundles(args):
        r = bench(bundle, args.variants, args.steps, args.batch_size, rng)
        print(f"{bundle.name:<16}{bundle.meta.window:>7}{r['forward_ms']:>11.3f}"
              f"{r['gradcam_x']:>10.2f}{r['ig_x']:>8.1f}{r['explained_per_s']:>13.1f}"
              f"{r['gradcam_only_per_s']:>10.1f}")


if __name__ == "__main__":
    main()
