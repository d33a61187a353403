"""Attribution during a scoring run (``varbind score --explain ...``).

:class:`ChunkExplainer` is called with each scored chunk (the ``on_chunk`` seam of
:func:`varbind.scoring.run.score_vcf`): it picks the variant x RBP pairs to explain (|delta| >=
``--explain-min-delta``, or all with ``--explain-all``), runs
:func:`varbind.interpret.variant_maps.explain_variants` on the very windows the models scored (each
model's own inputs, through the scorer's ``prepare``), appends the maps to the HDF5 file
(:mod:`varbind.interpret.store`) and leaves per-pair summaries on the chunk for the writers:
the INFO key ``VARBIND_EXPLAIN`` (:data:`EXPLAIN_FORMAT`) and the table columns
:data:`EXPLAIN_COLUMNS`.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from varbind.errors import VarbindError

if TYPE_CHECKING:
    import numpy as np

    from varbind.interpret.variant_maps import ExplainOptions, VariantSite
    from varbind.model.inputs import WindowBatch

# numpy and the attribution code are imported inside functions: `varbind score` registers
# this module's flags, and `varbind --help` must stay fast.

log = logging.getLogger(__name__)

EXPLAIN_FORMAT = ("ALLELE", "Consequence", "STRAND", "RBP", "IG_AT_VARIANT", "IG_MAX_DELTA",
                  "IG_MAX_OFFSET", "MOTIF_CALL", "KNOWN_MOTIF")
#: The VEP-style Consequence of a motif call (bcftools +split-vep needs that field).
CONSEQUENCES = {"LOST": "motif_lost", "GAINED": "motif_gained", "WEAKENED": "motif_weakened",
                "NONE": "motif_unchanged", "": "motif_not_called"}
EXPLAIN_COLUMNS = ["ig_at_variant", "ig_max_delta", "ig_max_offset", "motif_call",
                   "known_motif"]


@dataclass
class ExplainSettings:
    """The ``--explain*`` flags of ``varbind score``.

    out : the HDF5 file (``--explain-out``); min_delta : explain pairs with |delta| >= this;
    explain_all : explain every scored pair; options : what to compute
    """

    out: Path
    min_delta: float = 0.1
    explain_all: bool = False
    options: ExplainOptions = field(default_factory=lambda: _default_options())


def _default_options():
    from varbind.interpret.variant_maps import ExplainOptions

    return ExplainOptions()


def parse_methods(text: str) -> tuple[str, ...]:
    """``ig,gradcam[,ism]`` -> a tuple of methods; unknown names raise VarbindError."""
    from varbind.interpret.variant_maps import METHODS

    names = tuple(dict.fromkeys(m.strip().lower() for m in text.split(",") if m.strip()))
    unknown = [m for m in names if m not in METHODS]
    if unknown or not names:
        raise VarbindError(f"--explain {text!r} names no known method",
                           fix=f"use a comma-separated list of: {', '.join(METHODS)}")
    return names


def header_lines(settings: ExplainSettings) -> list[str]:
    """VCF header lines: the INFO definition and the explanation parameters."""
    o = settings.options
    info = ("##INFO=<ID=VARBIND_EXPLAIN,Number=.,Type=String,Description=\"Attribution "
            "summaries from varbind --explain, one entry per explained allele x strand x RBP "
            "(IG: integrated gradients, alt minus ref, per position summed over bases; "
            "MOTIF_CALL from GradCAM motif clusters at the variant: LOST, GAINED, WEAKENED, "
            "NONE, with Consequence motif_lost, motif_gained, motif_weakened, "
            "motif_unchanged, or motif_not_called without GradCAM). Format: "
            + "|".join(EXPLAIN_FORMAT) + "\">")
    params = (f"##varbind_explain=<Methods={'/'.join(o.methods)},IGSteps={o.ig_steps},"
              f"IGBaseline={o.ig_baseline},IGRule={o.ig_rule},"
              f"GradCAMLayer={o.gradcam_layer or 'last_conv'},Flank={o.flank},"
              f"Alpha={o.alpha},Height={o.height},MinScore={o.min_score},"
              f"MotifPad={'auto' if o.motif_pad is None else o.motif_pad},"
              f"MinDelta={'all' if settings.explain_all else settings.min_delta},"
              f"File=\"{Path(settings.out).name}\">")
    return [info, params]


def check_models(bundles, options: ExplainOptions) -> dict:
    """Fail before any work when a flag cannot apply to a model of the set.

    Returns ``{model name: ExplainOptions}``: a model without a convolutional map over the
    sequence gets no GradCAM (with a warning) rather than stopping the run.
    """
    from dataclasses import replace

    from varbind.interpret.baselines import sequence_slot
    from varbind.interpret.gradcam_layers import find_layer, gradcam_layers

    per_model = {}
    for bundle in bundles:
        per_model[bundle.name] = options
        if "gradcam" in options.methods and options.gradcam_layer:
            find_layer(bundle.model, options.gradcam_layer)
        elif "gradcam" in options.methods:
            try:
                gradcam_layers(bundle.model, range(len(bundle.meta.rbps)), None,
                               sequence_slot(bundle.meta.inputs).input_index,
                               bundle.meta.architecture, bundle.meta.rbps)
            except VarbindError:
                log.warning("model %s has no convolutional map over the sequence: no GradCAM "
                            "(or motif calls) for it", bundle.name)
                per_model[bundle.name] = replace(options, methods=tuple(
                    m for m in options.methods if m != "gradcam"))
        if "ig" in options.methods and options.ig_baseline == "bundle":
            missing = [r for r in bundle.meta.rbps if r not in (bundle.meta.baselines or {})]
            if missing:
                raise VarbindError(f"model {bundle.name} has no IG baseline for "
                                   f"{', '.join(missing[:5])}", path=bundle.path,
                                   fix="use --ig-baseline auto, zeros or uniform")
    return per_model


def _subset(batch: WindowBatch, rows: np.ndarray) -> WindowBatch:
    import numpy as np

    from varbind.model.inputs import WindowBatch

    def pick(a):
        return None if a is None else a[rows]

    return WindowBatch(seq=batch.seq[rows], region=pick(batch.region),
                       expression=pick(batch.expression), structure=pick(batch.structure),
                       pairs=pick(batch.pairs),
                       extra={k: np.asarray(v)[rows] for k, v in batch.extra.items()})


class ChunkExplainer:
    """Explains the chunks of one scoring run into one HDF5 file (a context manager: the file
    is written atomically when the run ends without error)."""

    def __init__(self, scorer, settings: ExplainSettings, path: str | Path | None = None):
        from varbind.interpret.store import AttributionWriter

        self.scorer = scorer
        self.settings = settings
        self.options = check_models(scorer.bundles, settings.options)
        models = {b.name: b.digest for b in scorer.bundles}
        self.writer = AttributionWriter(path or settings.out, models=models,
                                        options=asdict(settings.options))
        self.explained = 0

    def __enter__(self) -> ChunkExplainer:
        self.writer.__enter__()
        return self

    def __exit__(self, *exc) -> bool:
        return self.writer.__exit__(*exc)

    def hooks(self):
        """:class:`varbind.scoring.options.ScoreHooks` that run this explainer inside
        ``score_vcf``."""
        from varbind.scoring.options import ScoreHooks

        return ScoreHooks(on_chunk=self, on_output=self.on_output,
                          header_lines=header_lines(self.settings),
                          table_columns=list(EXPLAIN_COLUMNS))

    def on_output(self, result, out) -> None:
        """Add the chunk's summaries to its INFO values and table rows."""
        out.table = add_explanations(out.info, out.table, result)

    def __call__(self, result):
        """Explain one :class:`varbind.scoring.results.ChunkResult`; the summaries are also stored
        on
        ``result.explained`` (one row per explained unit x model x RBP label)."""
        import numpy as np
        import pandas as pd

        from varbind.scoring.formatting import effect_table

        empty = pd.DataFrame(columns=["unit", "model", "rbp", *EXPLAIN_COLUMNS])
        if result.ref_windows is None or len(result.units) == 0:
            result.explained = empty
            return empty
        effects = effect_table(self.scorer, result)
        delta = effects["delta"].to_numpy(dtype=float)
        keep = np.isfinite(delta) & (self.settings.explain_all
                                     | (np.abs(delta) >= self.settings.min_delta))
        effects = effects[keep]
        frames = []
        for bundle in self.scorer.bundles:
            mine = effects[effects["model"] == bundle.name]
            if len(mine):
                frames.append(self._explain_model(bundle, result, mine))
        out = pd.concat(frames, ignore_index=True) if frames else empty
        result.explained = out
        self.explained += len(out)
        return out

    def _explain_model(self, bundle, result, effects):
        import numpy as np
        import pandas as pd

        from varbind.interpret.variant_maps import explain_variants

        units = result.units
        unit_ids = np.unique(effects["unit"].to_numpy())
        row_of = {u: i for i, u in enumerate(unit_ids)}
        ref_rows = units.ref_unit[unit_ids]
        ref = self.scorer.model_batch(bundle, _subset(result.ref_windows, ref_rows))
        alt = self.scorer.model_batch(bundle, _subset(result.alt_windows, unit_ids))
        sites = [self._site(result, u) for u in unit_ids]
        pairs = [(row_of[u], rbp) for u, rbp in zip(effects["unit"], effects["rbp"],
                                                     strict=True)]
        found = explain_variants(bundle, ref, alt, sites, pairs, self.options[bundle.name])
        self.writer.append(found, rbps_by_model={bundle.name: bundle.meta.rbps})
        return pd.DataFrame({
            "unit": effects["unit"].to_numpy(), "model": bundle.name,
            "rbp": effects["label"].to_numpy(),
            "ig_at_variant": [e.ig_at_variant for e in found],
            "ig_max_delta": [e.ig_max_delta for e in found],
            "ig_max_offset": [e.ig_max_offset if e.ig_ref is not None else None for e in found],
            "motif_call": [e.motif_call if e.gradcam_ref is not None else "" for e in found],
            "known_motif": [e.known_motif for e in found]})

    @staticmethod
    def _site(result, unit: int) -> VariantSite:
        from varbind.interpret.variant_maps import VariantSite

        units, alleles = result.units, result.alleles
        allele = units.allele[unit]
        rec = result.records[int(units.record[unit])]
        return VariantSite(f"{rec.chrom}:{rec.pos}:{rec.ref}>{alleles.alt[allele]}", rec.chrom,
                           int(alleles.start[allele]), int(alleles.end[allele]),
                           alleles.inserted[allele], units.strand[unit])


def score_with_explanations(options, settings: ExplainSettings, scorer=None,
                            path: str | Path | None = None):
    """:func:`varbind.scoring.run.score_vcf` with attribution: the VCF and table gain the summaries,
    the maps go to ``path`` (default ``settings.out``; a Dask shard passes its own), which
    appears only when the whole run succeeds. ``scorer``: already loaded inputs."""
    from varbind.scoring.run import score_vcf
    from varbind.scoring.scorer import Scorer

    scorer = scorer or Scorer(options)
    path = Path(path or settings.out)
    with ChunkExplainer(scorer, settings, path) as explainer:
        summary = score_vcf(options, scorer=scorer, hooks=explainer.hooks())
    summary.outputs["attributions"] = str(path)
    log.info("explained %d variant x RBP pairs into %s", explainer.explained, path)
    return summary


def _fmt(x) -> str:
    import numpy as np

    from varbind.scoring.writers import format_float

    return format_float(float(x)) if x is not None and np.isfinite(x) else "."


def add_explanations(info: list[dict], table, result):
    """Add ``VARBIND_EXPLAIN`` to each record's INFO and :data:`EXPLAIN_COLUMNS` to the
    table (empty where a row was not explained). Returns the table."""
    import numpy as np
    import pandas as pd

    from varbind.scoring.writers import info_escape

    explained = getattr(result, "explained", None)
    table = table.copy()
    for col in EXPLAIN_COLUMNS:
        table[col] = np.nan if col in ("ig_at_variant", "ig_max_delta") else ""
    if explained is None or len(explained) == 0:
        return table
    units = result.units
    keys = {}
    for row in explained.itertuples(index=False):
        unit = int(row.unit)
        record, strand = int(units.record[unit]), units.strand[unit]
        rec = result.records[record]
        alt = result.alleles.alt[units.allele[unit]]
        entry = "|".join([alt, CONSEQUENCES.get(row.motif_call or "", "motif_not_called"),
                          strand, info_escape(row.rbp), _fmt(row.ig_at_variant),
                          _fmt(row.ig_max_delta),
                          "." if row.ig_max_offset is None or pd.isna(row.ig_max_offset)
                          else str(int(row.ig_max_offset)),
                          row.motif_call or ".", info_escape(row.known_motif or ".")])
        existing = info[record].get("VARBIND_EXPLAIN")
        info[record]["VARBIND_EXPLAIN"] = entry if not existing else f"{existing},{entry}"
        keys[(rec.chrom, rec.pos, rec.ref, alt, strand, row.model, row.rbp)] = row
    for i, t in enumerate(table.itertuples(index=False)):
        row = keys.get((t.chrom, t.pos, t.ref, t.alt, t.strand, t.model, t.rbp))
        if row is None:
            continue
        table.iat[i, table.columns.get_loc("ig_at_variant")] = row.ig_at_variant
        table.iat[i, table.columns.get_loc("ig_max_delta")] = row.ig_max_delta
        table.iat[i, table.columns.get_loc("ig_max_offset")] = (
            "" if row.ig_max_offset is None or pd.isna(row.ig_max_offset)
            else str(int(row.ig_max_offset)))
        table.iat[i, table.columns.get_loc("motif_call")] = row.motif_call
        table.iat[i, table.columns.get_loc("known_motif")] = row.known_motif
    return table


# ----------------------------------------------------------------------------- CLI flags


def add_arguments(parser) -> None:
    """The ``--explain*`` flags of ``varbind score``."""
    g = parser.add_argument_group(
        "attribution", "integrated gradients, GradCAM motifs and ISM for the variant x RBP "
                       "pairs that change binding (draw them with 'varbind plot')")
    g.add_argument("--explain", metavar="METHODS",
                   help="comma-separated: ig, gradcam, ism (e.g. ig,gradcam)")
    g.add_argument("--explain-out", metavar="FILE.h5",
                   help="HDF5 file for the maps (required with --explain)")
    g.add_argument("--explain-min-delta", type=float, default=0.1, metavar="X",
                   help="explain pairs with |delta| >= X (default 0.1)")
    g.add_argument("--explain-all", action="store_true", help="explain every scored pair")
    g.add_argument("--ig-steps", type=int, default=50, help="IG path steps (default 50)")
    g.add_argument("--ig-baseline", default="auto",
                   choices=["auto", "zeros", "uniform", "bundle"],
                   help="IG baseline (default auto: the bundle's when it has one, else zeros)")
    g.add_argument("--gradcam-layer", metavar="NAME",
                   help="layer for GradCAM (default: the last convolutional feature map)")
    g.add_argument("--motif-pad", type=int, default=None, metavar="NT",
                   help="a GradCAM motif cluster within NT of the variant touches it "
                        "(default: 3 positions of the map: 3 nt at full resolution, 12 nt "
                        "for a stride-4 map such as POLARIS's)")


def settings_from_args(args) -> ExplainSettings | None:
    """ExplainSettings from parsed ``--explain*`` flags, None without ``--explain``."""
    if not getattr(args, "explain", None):
        if getattr(args, "explain_out", None):
            raise VarbindError("--explain-out needs --explain",
                               fix="add e.g. --explain ig,gradcam")
        return None
    if not args.explain_out:
        raise VarbindError("--explain needs --explain-out", fix="add --explain-out attr.h5")
    if not str(args.explain_out).endswith((".h5", ".hdf5")):
        raise VarbindError(f"--explain-out {args.explain_out!r} should end in .h5",
                           fix="name it e.g. attr.h5")
    if args.ig_steps < 1:
        raise VarbindError(f"--ig-steps must be at least 1, got {args.ig_steps}")
    if args.explain_min_delta < 0:
        raise VarbindError(f"--explain-min-delta must be >= 0, got {args.explain_min_delta}")
    if args.motif_pad is not None and args.motif_pad < 0:
        raise VarbindError(f"--motif-pad must be >= 0, got {args.motif_pad}")
    from varbind.interpret.variant_maps import ExplainOptions

    options = ExplainOptions(methods=parse_methods(args.explain), ig_steps=args.ig_steps,
                             ig_baseline=args.ig_baseline, gradcam_layer=args.gradcam_layer,
                             motif_pad=args.motif_pad)
    return ExplainSettings(out=Path(args.explain_out), min_delta=args.explain_min_delta,
                           explain_all=args.explain_all, options=options)
