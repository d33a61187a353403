"""Cost of attribution relative to scoring, and explained variants per second.

    python tests/benchmarks/bench_explain.py [--arch multiresbind,polaris] [--variants 1024]
        [--ig-variants 256] [--rounds 3]
        [--steps 50] [--models DIR]
    python tests/benchmarks/bench_explain.py --demo [--world DIR] [--models DIR]

For each architecture (random weights: cost does not depend on training) or each bundle of
``--models``, on the same windows and in one run:

- forward: one forward pass through GradCAM's own execution path (the compiled function of
  :func:`varbind.interpret.gradients.gradients` with no target, the same ``--batch-size``
  chunks and float32 inputs), seconds per window; ``varbind score``'s ``predict_on_batch``
  forward is timed beside it for reference;
- GradCAM: one forward and one backward pass per RBP (:func:`varbind.interpret.gradcam.gradcam`),
  timed in turn with the forward pass on the same windows;
- IG: ``steps`` path points (+2 end points) per window (:func:`integrated_gradients`);

printed as ratios to one forward pass per window (the issue's target: GradCAM <= 3x), plus
explained variants per second for ``explain_variants`` with IG + GradCAM and with GradCAM only
(ref and alt windows of each variant, one RBP, motif clustering and calls included). Figures
are ratios measured within one round because the machines are noisy; ``--rounds`` paired
rounds are run and their medians and spread written to ``docs/results/bench_explain.json``
(``--demo``: ``bench_explain_demo.json``) through ``results.py``. Runs on the GPU when
TensorFlow sees one.

``--demo`` instead checks attributions against the simulated world's truth (default: the
bundled demo world and models; ``--world`` a ``varbind simulate`` folder):

- GIA: the top 6-mer of each RBP (dinucleotide-shuffled genome backgrounds), inside the
  planted consensus or not and its rank among all 6-mers under the planted PWM; and the known
  motif with the highest GIA (``varbind gia --known``), against the RBP's planted motif;
- GradCAM: what ``varbind motifs`` reports (:mod:`varbind.interpret.discover`): the strongest motif
  cluster of each of the ``--top-windows`` best-scoring windows centered on the RBP's CLIP
  peak summits, widened to the GradCAM layer's receptive field; the best-matching known motif
  of those spans is the right RBP for >= 80 % of RBPs (the issue's target); a control ranks
  spans of the same widths at random positions of the same windows; and each RBP's GradCAM
  diffusion (POLARIS eq. 3) over those windows;
- motif calls: among the simulator's loss variants whose |delta| >= 0.1 for the planted RBP,
  the fraction called LOST (and LOST or WEAKENED).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from results import figure, write_results  # tests/benchmarks/results.py

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _timed(fn, repeat: int = 3, warm=None) -> float:
    """Median seconds of ``repeat`` calls after a warm-up call (of ``warm``, a cheaper call
    down the same path, when given)."""
    (warm or fn)()  # warm up (tracing, allocation)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _interleaved(fns, repeat: int = 3) -> list[float]:
    """Median seconds of each of ``fns`` over ``repeat`` rounds that call them in turn (after
    one warm-up call each), so load changes hit them alike."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, spent in zip(fns, times, strict=True):
            t0 = time.perf_counter()
            fn()
            spent.append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def _random_batch(specs, n: int, rng):
    import numpy as np

    from varbind.model.inputs import WindowBatch, required_lengths

    need = required_lengths(specs)
    seq = rng.integers(0, 4, (n, need["sequence"])).astype(np.uint8)
    region = (rng.integers(1, 6, (n, need["region"])).astype(np.int8)
              if "region" in need else None)
    expr = rng.random(n).astype(np.float32) * 3
    return WindowBatch(seq=seq, region=region, expression=expr)


def _bundles(args):
    from varbind.model.bundle import ModelBundle, ModelMeta, load_model_set
    from varbind.training.models import build_model, input_specs

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


def _gradcam_forward(model, arrays, batch_size: int):
    """The forward pass GradCAM's ratio is taken against, on GradCAM's own execution path:
    :func:`varbind.interpret.gradients.gradients` with no target (the same compiled function
    family, float32 input preparation and ``batch_size`` chunks as
    :func:`varbind.interpret.gradcam.gradcam`, without backward passes)."""
    from varbind.interpret.gradients import gradients

    for lo in range(0, len(arrays[0]), batch_size):
        gradients(model, [a[lo:lo + batch_size] for a in arrays], [])


def _score_forward(model, arrays, batch_size: int):
    """The forward pass ``varbind score`` runs (:func:`varbind.scoring.predict.predict`,
    ``predict_on_batch`` per batch), for reference only."""
    from varbind.scoring.predict import predict

    predict(model, list(arrays), batch_size=batch_size)


def bench(bundle, n: int, steps: int, batch_size: int, rng, n_ig: int | None = None) -> dict:
    """Seconds per window of forward, GradCAM (``n`` windows) and IG, and explained variants
    per second (``n_ig`` windows, default ``n``: IG runs ``steps + 2`` path points per window)."""
    from varbind.interpret.baselines import baseline_arrays, sequence_slot
    from varbind.interpret.gradcam import gradcam
    from varbind.interpret.ig import integrated_gradients
    from varbind.interpret.variant_maps import ExplainOptions, VariantSite, explain_variants
    from varbind.model.inputs import build_inputs

    specs = bundle.meta.inputs
    batch = _random_batch(specs, n, rng)
    arrays = build_inputs(specs, batch)
    model = bundle.model
    slot = sequence_slot(specs)

    # forward and GradCAM on the same windows, chunks and compiled path, interleaved
    t_fwd, t_cam, t_score = (t / n for t in _interleaved([
        lambda: _gradcam_forward(model, arrays, batch_size),
        lambda: gradcam(model, arrays, [0], slot.length, batch_size=batch_size,
                        seq_index=slot.input_index, arch=bundle.meta.architecture,
                        rbps=bundle.meta.rbps),
        lambda: _score_forward(model, arrays, batch_size)]))
    base = baseline_arrays(specs, "zeros")
    n_ig = min(n_ig or n, n)
    ig_arrays = [a[:n_ig] for a in arrays]
    head = [a[:batch_size // 8] for a in arrays]  # warm-up: the same calls on fewer windows
    t_ig = _timed(lambda: integrated_gradients(model, ig_arrays, base, [0], steps=steps,
                                               batch_size=batch_size * 4), repeat=1,
                  warm=lambda: integrated_gradients(model, head, base, [0], steps=steps,
                                                    batch_size=batch_size * 4)) / n_ig
    # explained variants per second: n_ig/2 SNVs, ref and alt windows, IG + GradCAM, one RBP
    half = n_ig // 2
    ref = _random_batch(specs, half, rng)
    alt = _random_batch(specs, half, rng)
    alt.seq = ref.seq.copy()
    center = ref.seq.shape[1] // 2
    alt.seq[:, center] = (ref.seq[:, center] + 1) % 4
    if ref.region is not None:
        alt.region = ref.region
    sites = [VariantSite(f"chr1:{1000 + i}:A>C", "chr1", 999 + i, 1000 + i, "C", "+")
             for i in range(half)]
    pairs = [(i, bundle.meta.rbps[0]) for i in range(half)]
    options = ExplainOptions(methods=("ig", "gradcam"), ig_steps=steps,
                             batch_size=batch_size * 4)
    few = pairs[:16]
    t_explain = _timed(lambda: explain_variants(bundle, ref, alt, sites, pairs, options),
                       repeat=1, warm=lambda: explain_variants(bundle, ref, alt, sites, few,
                                                               options))
    cam_only = ExplainOptions(methods=("gradcam",), batch_size=batch_size * 4)
    t_cam_only = _timed(lambda: explain_variants(bundle, ref, alt, sites, pairs, cam_only),
                        repeat=1, warm=lambda: explain_variants(bundle, ref, alt, sites, few,
                                                                cam_only))
    return {"forward_ms": t_fwd * 1e3, "score_forward_ms": t_score * 1e3,
            "gradcam_ms": t_cam * 1e3, "ig_ms": t_ig * 1e3,
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


def _scorer(world, models):
    from varbind.scoring.options import ScoreOptions
    from varbind.scoring.scorer import Scorer

    return Scorer(ScoreOptions(vcf="", fasta=_world_file(world, ["genome.fa", "genome.fa.gz"]),
                               models=models, gtf=_world_file(world, ["genes.gtf", "genes.gtf.gz"]),
                               expression=_world_file(world, ["expression.tsv"])))


def _carries(seqs, motif, fraction: float = 0.8) -> float:
    """Fraction of ``seqs`` holding a site of ``motif`` scoring >= ``fraction`` of its best
    log-odds."""
    import numpy as np

    lo = motif.log_odds()
    w, top = len(lo), lo.max(axis=1).sum()
    hits = 0
    for s in seqs:
        codes = np.array(["ACGTN".index(b) for b in s])
        if len(codes) < w:
            continue
        idx = np.arange(len(codes) - w + 1)[:, None] + np.arange(w)[None, :]
        score = np.where(codes[idx] < 4, lo[np.arange(w), np.minimum(codes[idx], 3)],
                         lo.min()).sum(axis=1)
        hits += score.max() >= fraction * top
    return hits / max(len(seqs), 1)


def _pwm_rank(kmer: str, motif) -> int:
    """Rank (1 = best) of ``kmer`` among all k-mers of its length by their best log-odds under
    ``motif``, the motif sliding along the k-mer (columns off it score 0, at least 4 overlap)."""
    import itertools

    import numpy as np

    k, lo = len(kmer), motif.log_odds()
    w = len(lo)
    codes = np.array(list(itertools.product(range(4), repeat=k)))  # (4^k, k)
    best = np.full(len(codes), -np.inf)
    for off in range(-(k - min(4, k)), w - min(4, w) + 1):  # motif column c <-> k-mer c - off
        cols = [c for c in range(w) if 0 <= c - off < k]
        score = sum(lo[c, codes[:, c - off]] for c in cols)
        best = np.maximum(best, score)
    mine = best[int("".join(str("ACGT".index(b)) for b in kmer), 4)]
    return int((best > mine).sum()) + 1


def _control(scorer, result, known, planted_motif, rng) -> tuple[bool, float, float]:
    """The same check without GradCAM: spans of the same widths at random positions of the
    same top windows. Returns (their best-matching known motif is the RBP's, fraction of
    GradCAM spans carrying the planted motif, the same for the random spans)."""
    import numpy as np

    from varbind.interpret.baselines import sequence_slot
    from varbind.interpret.discover import site_windows
    from varbind.interpret.gradcam_motifs import base_composition, rank_known_motifs

    spans = result.spans
    if spans.empty:
        return False, 0.0, 0.0
    bundle = next(b for b in scorer.bundles if b.name == result.model)
    batch = site_windows(scorer, bundle, spans)
    length = sequence_slot(bundle.meta.inputs).length
    codes = batch.seq[:, batch.seq.shape[1] // 2 - length // 2:][:, :length]
    width = (spans["match_end"] - spans["match_start"]).to_numpy()
    starts = (rng.random(len(spans)) * (length - width + 1)).astype(int)
    letters = np.frombuffer(b"ACGTN", np.uint8)
    seqs = [letters[c[a:a + w]].tobytes().decode()
            for c, a, w in zip(codes, starts, width, strict=True)]
    ranked = rank_known_motifs(seqs, known, background=base_composition(codes))
    return (bool(ranked) and ranked[0][0] == result.rbp,
            _carries(spans["match_sequence"], planted_motif), _carries(seqs, planted_motif))


def demo_checks(args) -> None:
    import json

    import numpy as np

    from varbind.genomics.motifs import read_meme
    from varbind.interpret import gia
    from varbind.interpret.discover import DiscoveryOptions, discover, read_sites
    from varbind.model.bundle import load_model_set
    from varbind.model.inputs import required_lengths

    world = args.world
    if world is None:
        from varbind.demo import DEMO_DIR

        world = DEMO_DIR
    models = args.models or str(_world_file(world, ["models"]))
    info = json.loads(_world_file(world, ["world.json"]).read_text())
    planted = {r["name"]: r for r in info["rbps"]}
    fasta = _world_file(world, ["genome.fa", "genome.fa.gz"])
    known = read_meme()
    rng = np.random.default_rng(0)
    # GradCAM: what `varbind motifs --sites PEAKS --top N` reports
    scorer = _scorer(world, models)
    sites = read_sites(str(_world_file(world, ["peaks"])), scorer)
    results = {(r.model, r.rbp): r for r in discover(
        scorer, sites, DiscoveryOptions(top=args.top_windows, batch_size=args.batch_size), known)
        if r.rbp in planted}
    by_id = {m.id: m for m in known}
    gia_hits = gia_in = cam_hits = cam_top3 = control_hits = total = 0
    carried, gia_ranks = [], []
    print(f"{'model':<18}{'RBP':<9}{'planted':>9}{'GIA 6-mer':>11}{'in it':>6}{'PWM rank':>9}"
          f"{'-> known':>10}"
          f"{'spans':>6}{'field':>6}{'GradCAM -> known':>18}{'rank':>5}{'control':>9}"
          f"{'site in span':>13}{'random':>7}{'diffusion':>10}")
    for bundle in load_model_set(models):
        targets = [bundle.meta.rbps.index(r) for r in bundle.meta.rbps if r in planted]
        found = {t: [gia.Importance("-", np.zeros(1))] for t in targets}
        known_gi = {t: [gia.Importance("-", np.zeros(1))] for t in targets}
        if not args.skip_gia and targets:
            length = required_lengths(bundle.meta.inputs)["sequence"]
            observed = gia.read_observed(fasta, length, 400, rng)
            background = gia.make_background(bundle.meta.inputs, "dinuc", args.gia_n, rng,
                                             observed)
            found = gia.importance_many(bundle, background, targets,
                                        gia.kmer_arrangements(length, 6), args.batch_size * 4)
            wide = gia.make_background(bundle.meta.inputs, "dinuc", args.gia_known_n, rng,
                                       observed)
            known_gi = gia.known_motif_importance(bundle, wide, targets, known, rng,
                                                  batch_size=args.batch_size * 4)
        for target in targets:
            rbp = bundle.meta.rbps[target]
            result = results[(bundle.name, rbp)]
            total += 1
            top = max(found[target], key=lambda r: r.global_).label
            gia_known = known_gi[target][0].label.split(":")[0]
            inside = top in planted[rbp]["consensus"]
            pwm_rank = (_pwm_rank(top, by_id[planted[rbp]["motif_id"]])
                        if set(top) <= set("ACGT") else 0)
            gia_ranks.append(pwm_rank)
            row = result.summary()
            control, in_cam, in_random = _control(scorer, result, known,
                                                  by_id[planted[rbp]["motif_id"]], rng)
            carried.append((in_cam, in_random))
            gia_in += inside
            gia_hits += gia_known == rbp
            cam_hits += row["rbp_rank"] == 1
            cam_top3 += 1 <= row["rbp_rank"] <= 3
            control_hits += control
            print(f"{bundle.name:<18}{rbp:<9}{planted[rbp]['consensus']:>9}{top:>11}"
                  f"{'yes' if inside else 'no':>6}{pwm_rank:>9}{gia_known:>10}{row['spans']:>6}"
                  f"{row['receptive_field']:>6}{row['known_motif'].split(':')[0]:>18}"
                  f"{row['rbp_rank']:>5}{'hit' if control else 'miss':>9}"
                  f"{in_cam:>13.0%}{in_random:>7.0%}{row['diffusion']:>10.2f}")
    n_kmers = 4 ** 6
    print(f"GIA top 6-mer inside the planted consensus: {gia_in}/{total}; among the best 1 % "
          f"of all {n_kmers} 6-mers under the planted motif's PWM: "
          f"{sum(0 < r <= n_kmers // 100 for r in gia_ranks)}/{total} (its rank there: median "
          f"{np.median(gia_ranks):.0f}, worst {max(gia_ranks)}); the known motif with the "
          f"highest GIA (sites drawn from each of the {len(known)} matrices, "
          f"n={args.gia_known_n}) is the planted RBP's: {gia_hits}/{total}")
    print(f"GradCAM clusters of the top {args.top_windows} peak windows best match the planted "
          f"RBP: {cam_hits}/{total} ({cam_hits / max(total, 1):.0%}; target >= 80%); the "
          f"planted RBP among the 3 best-matching known motifs: {cam_top3}/{total}")
    print(f"control, spans of the same width at random positions of the same windows: "
          f"{control_hits}/{total}; spans holding a planted site (>= 80 % of its best "
          f"log-odds): GradCAM median {np.median([c[0] for c in carried]):.0%}, random "
          f"median {np.median([c[1] for c in carried]):.0%}")
    where = "peak windows of all contigs, training contigs included"
    figures = [figure("gradcam_known_motif", cam_hits / max(total, 1), target=(">=", 0.8),
                      label=f"GradCAM spans' best known motif is the planted RBP's (fraction of "
                            f"RBP x model pairs; {where})", note=f"{cam_hits}/{total}"),
               figure("random_span_known_motif", control_hits / max(total, 1),
                      label=f"control: random spans of the same windows ({where})",
                      note=f"{control_hits}/{total}")]
    if not args.skip_gia:
        figures += [
            figure("gia_known_motif", gia_hits / max(total, 1),
                   label="known motif with the highest GIA is the planted RBP's",
                   note=f"{gia_hits}/{total}; n={args.gia_known_n}"),
            figure("gia_top_kmer_in_consensus", gia_in / max(total, 1),
                   label="GIA top 6-mer inside the planted consensus", note=f"{gia_in}/{total}"),
        ]
    if not args.skip_lost:
        figures += lost_fraction(world, models, args)
    return figures


def lost_fraction(world, models, args) -> None:
    """Motif calls on the truth VCF's loss and gain variants with |delta| >= 0.1 for the
    planted RBP: loss variants should be called LOST, gain variants GAINED (and not LOST)."""
    import tempfile

    import cyvcf2
    import pandas as pd

    from varbind.genomics.variants import Record
    from varbind.interpret.explain import ChunkExplainer, ExplainSettings
    from varbind.interpret.variant_maps import ExplainOptions
    from varbind.scoring.chunk import ChunkScorer
    from varbind.scoring.formatting import effect_table
    from varbind.scoring.options import ScoreOptions
    from varbind.scoring.scorer import Scorer

    truth = pd.read_csv(_world_file(world, ["truth.tsv", "truth.tsv.gz"]), sep="\t")
    truth = truth[truth["effect"].isin(["loss", "gain"])]
    wanted = set(zip(truth["chrom"], truth["pos"], strict=True))
    vcf_path = _world_file(world, ["variants.vcf.gz"])
    records = [Record.from_cyvcf(r) for r in cyvcf2.VCF(str(vcf_path))
               if (r.CHROM, r.POS) in wanted]
    tmp = Path(tempfile.mkdtemp())
    options = ScoreOptions(vcf=vcf_path, fasta=_world_file(world, ["genome.fa", "genome.fa.gz"]),
                           models=models, gtf=_world_file(world, ["genes.gtf", "genes.gtf.gz"]),
                           expression=_world_file(world, ["expression.tsv"]),
                           table=tmp / "t.tsv")
    scorer = Scorer(options)
    chunker = ChunkScorer(scorer)
    settings = ExplainSettings(out=tmp / "attr.h5", min_delta=0.1, options=ExplainOptions(
        methods=("gradcam",), motif_pad=args.motif_pad))
    calls = []
    with ChunkExplainer(scorer, settings) as explainer:
        for lo in range(0, len(records), 256):
            result = chunker(records[lo:lo + 256])
            explained = explainer(result)
            effects = effect_table(scorer, result).set_index(["unit", "label", "model"])
            units = result.units
            for row in explained.itertuples(index=False):
                unit = int(row.unit)
                rec = result.records[int(units.record[unit])]
                alt = result.alleles.alt[units.allele[unit]]
                delta = effects.loc[(row.unit, row.rbp, row.model), "delta"]
                calls.append((rec.chrom, rec.pos, rec.ref, alt, units.strand[unit],
                              row.rbp.split("@")[0], row.model, delta, row.motif_call))
    got = pd.DataFrame(calls, columns=["chrom", "pos", "ref", "alt", "strand", "rbp", "model",
                                       "delta", "motif_call"])
    merged = got.merge(truth, on=["chrom", "pos", "ref", "alt", "strand", "rbp"])
    pad = "auto" if args.motif_pad is None else args.motif_pad
    figures = []
    print(f"motif calls (--motif-pad {pad}) of the simulator's variants with |delta| >= 0.1 "
          f"for the planted RBP:")
    for effect, wanted_call in (("loss", "LOST"), ("gain", "GAINED")):
        for model, part in [("both models", merged[merged["effect"] == effect]),
                            *merged[merged["effect"] == effect].groupby("model")]:
            n = len(part)
            counts = part["motif_call"].value_counts()
            print(f"  {effect:<5}{model:<19} n={n:<5} {wanted_call} "
                  f"{counts.get(wanted_call, 0) / max(n, 1):.0%}, LOST or WEAKENED "
                  f"{counts.get('LOST', 0) / max(n, 1) + counts.get('WEAKENED', 0) / max(n, 1):.0%}"
                  f", calls {dict(sorted((k, int(v)) for k, v in counts.items()))}")
            figures.append(figure(f"{effect}_called_{wanted_call.lower()}_{model}".replace(
                " ", "_"), counts.get(wanted_call, 0) / max(n, 1),
                label=f"{effect} variants with |delta| >= 0.1 called {wanted_call}, {model} "
                      "(truth variants of all contigs, training contigs included)",
                note=f"n={n}, --motif-pad {pad}"))
    return figures


def main() -> None:
    import numpy as np
    import tensorflow as tf

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="multiresbind,deepripe,polaris")
    p.add_argument("--models", help="a model set instead of random-weight architectures")
    p.add_argument("--variants", type=int, default=1024,
                   help="windows per measurement (enough that one call's overhead does not "
                        "decide the forward time)")
    p.add_argument("--ig-variants", type=int, default=256,
                   help="windows for the IG and explained-variants figures (IG runs --steps + 2 "
                        "path points per window, each as costly as a GradCAM window)")
    p.add_argument("--rbps", type=int, default=8, help="outputs of multi-label models")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--demo", action="store_true", help="check against the simulated truth")
    p.add_argument("--world", help="a 'varbind simulate' folder (default: the bundled demo)")
    p.add_argument("--gia-n", type=int, default=24, help="GIA background sequences")
    p.add_argument("--gia-known-n", type=int, default=100,
                   help="GIA backgrounds for the known-motif experiment")
    p.add_argument("--top-windows", type=int, default=50, help="GradCAM windows per RBP")
    p.add_argument("--skip-gia", action="store_true", help="--demo without the GIA scan")
    p.add_argument("--skip-lost", action="store_true", help="--demo without the motif calls")
    p.add_argument("--motif-pad", type=int, default=None,
                   help="nt of slack for a motif cluster to touch the variant (default: "
                        "3 positions of the GradCAM map)")
    p.add_argument("--only-calls", action="store_true", help="--demo: only the motif calls")
    p.add_argument("--rounds", type=int, default=3,
                   help="paired rounds of the cost measurement (medians are reported)")
    p.add_argument("--results", default=None,
                   help="results JSON (default docs/results/bench_explain.json, or "
                        "bench_explain_demo.json with --demo)")
    args = p.parse_args()
    if args.demo and args.only_calls:
        from varbind.demo import DEMO_DIR

        world = args.world or DEMO_DIR
        figures = lost_fraction(world, args.models or str(_world_file(world, ["models"])), args)
        write_results("bench_explain_demo", figures, path=args.results)
        return
    if args.demo:
        write_results("bench_explain_demo", demo_checks(args), path=args.results)
        return
    rng = np.random.default_rng(0)
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    print(f"device {device}; {args.variants} windows; IG {args.steps} steps; one RBP; "
          f"TF threads intra={tf.config.threading.get_intra_op_parallelism_threads()}")
    print(f"{'model':<16}{'window':>7}{'fwd ms/win':>11}{'score ms/win':>13}{'GradCAM x':>10}"
          f"{'IG x':>8}{'IG+CAM var/s':>13}{'CAM var/s':>10}")
    figures = []
    for bundle in _bundles(args):
        rounds = []
        for _ in range(args.rounds):
            r = bench(bundle, args.variants, args.steps, args.batch_size, rng,
                      n_ig=args.ig_variants)
            rounds.append(r)
            print(f"{bundle.name:<16}{bundle.meta.window:>7}{r['forward_ms']:>11.3f}"
                  f"{r['score_forward_ms']:>13.3f}{r['gradcam_x']:>10.2f}{r['ig_x']:>8.1f}"
                  f"{r['explained_per_s']:>13.1f}{r['gradcam_only_per_s']:>10.1f}")
        name = f"{bundle.name} ({bundle.meta.window} nt)"
        figures += [
            figure(f"gradcam_x_{bundle.name}", [r["gradcam_x"] for r in rounds], unit="x",
                   target=("<=", 3), label=f"GradCAM / forward, {name}",
                   note=f"{args.variants} windows, batches of {args.batch_size}, both through "
                        "the compiled gradients() path"),
            figure(f"forward_ms_{bundle.name}", [r["forward_ms"] for r in rounds],
                   unit="ms/window", label=f"forward pass on GradCAM's path, {name}"),
            figure(f"score_forward_ms_{bundle.name}", [r["score_forward_ms"] for r in rounds],
                   unit="ms/window",
                   label=f"forward pass as varbind score runs it (predict_on_batch), {name}"),
            figure(f"ig_x_{bundle.name}", [r["ig_x"] for r in rounds], unit="x",
                   label=f"IG ({args.steps} steps) / forward, {name}",
                   note=f"{args.ig_variants} windows, {args.steps + 2} path points each"),
            figure(f"explained_per_s_{bundle.name}", [r["explained_per_s"] for r in rounds],
                   unit="variants/s", label=f"IG + GradCAM explained variants/s, {name}",
                   note=f"{args.ig_variants // 2} SNVs, ref and alt windows, one RBP"),
        ]
    write_results("bench_explain", figures, path=args.results)


if __name__ == "__main__":
    main()
