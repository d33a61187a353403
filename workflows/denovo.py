"""De novo variant sets: score cases and controls, then test, per RBP and region, whether
strong binding losses or gains are more frequent in cases (Fisher's exact test).

The unit is a scored ALT allele and RBP: of its rows in the varbind table (one per strand,
and per model when several models predict the RBP under one label), the one with the largest
|delta| decides its region and its effect. A *strong loss* is ``delta <= -loss_threshold``, a
*strong gain* ``delta >= gain_threshold``. For each RBP, region (and all regions together) and
effect, the 2x2 table is (cases strong, cases not) against (controls strong, controls not),
counting alleles scored for that RBP; p-values are adjusted over all tests (Benjamini-Hochberg).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from varbind.errors import InputFileError, VarbindError
from varbind.files import atomic_output

log = logging.getLogger(__name__)

ALL_REGIONS = "all"
REPORT_COLUMNS = ["rbp", "region", "effect", "cases_strong", "cases_total", "controls_strong",
                  "controls_total", "cases_fraction", "controls_fraction", "odds_ratio",
                  "log2_odds_ratio", "p_value", "q_value"]
_UNIT_KEY = ["chrom", "pos", "ref", "alt", "rbp"]


@dataclass
class DenovoThresholds:
    """loss_threshold, gain_threshold : |delta| from which an effect is strong
    alternative : Fisher test alternative (``two-sided``, ``greater``: enriched in cases)"""

    loss_threshold: float = 0.2
    gain_threshold: float = 0.2
    alternative: str = "two-sided"

    def __post_init__(self):
        if self.loss_threshold <= 0 or self.gain_threshold <= 0:
            raise VarbindError("--loss-threshold and --gain-threshold must be above 0, got "
                               f"{self.loss_threshold} and {self.gain_threshold}",
                               fix="pass a |delta| such as 0.2")
        if self.alternative not in ("two-sided", "greater", "less"):
            raise VarbindError(f"--alternative {self.alternative!r} is not a Fisher test "
                               "alternative", fix="use two-sided, greater or less")


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """A varbind scoring table (TSV, TSV.gz or Parquet)."""
    path = Path(path)
    if not path.exists():
        raise InputFileError("scored table not found", path=path, fix="check the path")
    if path.name.endswith(".parquet"):
        table = pd.read_parquet(path)
    else:
        table = pd.read_csv(path, sep="\t", dtype={"chrom": str, "id": str, "ref": str,
                                                  "alt": str, "region": str, "rbp": str,
                                                  "status": str},
                            keep_default_na=False, na_values={"delta": [""]})
    missing = [c for c in _UNIT_KEY + ["region", "delta", "status"] if c not in table.columns]
    if missing:
        raise InputFileError(f"not a varbind table: no column(s) {', '.join(missing)}",
                             path=path, fix="pass the --tsv output of varbind score")
    return table


def strongest_effects(table: pd.DataFrame) -> pd.DataFrame:
    """One row per scored (allele, RBP): the row with the largest |delta| (its region).

    Returns
    -------
    DataFrame[chrom, pos, ref, alt, rbp, region, delta], RBP labels as in the table.
    """
    scored = table[table["status"].astype(str).str.startswith("ok")
                   & table["delta"].notna()].copy()
    scored["rbp"] = scored["rbp"].astype(str).str.split("@").str[0]  # RBP@model -> RBP
    scored["_abs"] = scored["delta"].abs()
    scored = scored.sort_values("_abs", ascending=False, kind="stable")
    best = scored.drop_duplicates(_UNIT_KEY, keep="first")
    return best[_UNIT_KEY + ["region", "delta"]].reset_index(drop=True)


def _counts(effects: pd.DataFrame, thresholds: DenovoThresholds) -> pd.DataFrame:
    """Totals and strong losses / gains per (rbp, region), with an ``all`` region per RBP."""
    frame = effects.assign(loss=effects["delta"] <= -thresholds.loss_threshold,
                           gain=effects["delta"] >= thresholds.gain_threshold)
    by_region = frame.groupby(["rbp", "region"]).agg(
        total=("delta", "size"), loss=("loss", "sum"), gain=("gain", "sum"))
    overall = frame.groupby("rbp").agg(total=("delta", "size"), loss=("loss", "sum"),
                                       gain=("gain", "sum"))
    overall.index = pd.MultiIndex.from_arrays([overall.index, [ALL_REGIONS] * len(overall)],
                                              names=["rbp", "region"])
    return pd.concat([by_region, overall])


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """q-values (n,) for p-values (n,): Benjamini-Hochberg step-up, monotone, at most 1."""
    p = np.asarray(p, dtype=float)
    n = len(p)
    if n == 0:
        return p
    order = np.argsort(p, kind="stable")
    ranked = p[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(q, 1.0)
    return out


def denovo_report(cases: pd.DataFrame, controls: pd.DataFrame,
                  thresholds: DenovoThresholds | None = None) -> pd.DataFrame:
    """Per RBP, region and effect: strong counts in cases and controls and a Fisher test.

    Parameters
    ----------
    cases, controls : varbind scoring tables (:func:`read_table`)
    thresholds : strong-effect thresholds and the test's alternative

    Returns
    -------
    DataFrame with :data:`REPORT_COLUMNS`, one row per (RBP, region, effect) seen in either
    set, regions in sorted order then ``all``, loss before gain; ``odds_ratio`` is the
    sample odds ratio (inf / nan where a cell is 0), ``log2_odds_ratio`` adds the
    Haldane-Anscombe 0.5 to every cell (nan when a set has no allele there).
    """
    from scipy.stats import fisher_exact

    thresholds = thresholds or DenovoThresholds()
    a = _counts(strongest_effects(cases), thresholds)
    b = _counts(strongest_effects(controls), thresholds)
    joined = a.add_suffix("_cases").join(b.add_suffix("_controls"), how="outer").fillna(0)
    rows = []
    for (rbp, region), r in joined.iterrows():
        for effect in ("loss", "gain"):
            k1, n1 = int(r[f"{effect}_cases"]), int(r["total_cases"])
            k2, n2 = int(r[f"{effect}_controls"]), int(r["total_controls"])
            table = [[k1, n1 - k1], [k2, n2 - k2]]
            odds, p = fisher_exact(table, alternative=thresholds.alternative)
            haldane = ((k1 + .5) * (n2 - k2 + .5)) / ((n1 - k1 + .5) * (k2 + .5))
            log2_or = float(np.log2(haldane)) if n1 and n2 else np.nan
            rows.append({"rbp": rbp, "region": region, "effect": effect,
                         "cases_strong": k1, "cases_total": n1, "controls_strong": k2,
                         "controls_total": n2, "cases_fraction": k1 / n1 if n1 else np.nan,
                         "controls_fraction": k2 / n2 if n2 else np.nan,
                         "odds_ratio": float(odds), "log2_odds_ratio": log2_or,
                         "p_value": float(p)})
    report = pd.DataFrame(rows, columns=REPORT_COLUMNS[:-1])
    report["q_value"] = benjamini_hochberg(report["p_value"].to_numpy())
    report["_all"] = report["region"] == ALL_REGIONS
    report["_gain"] = report["effect"] == "gain"
    report = report.sort_values(["rbp", "_all", "region", "_gain"], kind="stable")
    return report.reset_index(drop=True)[REPORT_COLUMNS]


def write_report(report: pd.DataFrame, path: str | os.PathLike) -> Path:
    path = Path(path)
    with atomic_output(path) as tmp:
        report.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    return path


def plot_report(report: pd.DataFrame, path: str | os.PathLike, q_cutoff: float = 0.05,
                title: str | None = None) -> Path:
    """Two heatmaps (strong losses, strong gains): RBPs by region, coloured by log2 odds
    ratio of cases over controls, each cell labelled ``cases/controls`` strong counts, with
    ``*`` where q < ``q_cutoff``. PNG, PDF or SVG by the file name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rbps = sorted(report["rbp"].unique())
    regions = sorted(r for r in report["region"].unique() if r != ALL_REGIONS) + [ALL_REGIONS]
    fig, axes = plt.subplots(1, 2, figsize=(2.0 + 1.1 * len(regions) * 2,
                                            1.6 + 0.45 * max(len(rbps), 1)),
                             sharey=True, constrained_layout=True)
    image = None
    for ax, effect in zip(axes, ("loss", "gain"), strict=True):
        sub = report[report["effect"] == effect].set_index(["rbp", "region"])
        grid = np.full((len(rbps), len(regions)), np.nan)
        for i, rbp in enumerate(rbps):
            for j, region in enumerate(regions):
                if (rbp, region) not in sub.index:
                    continue
                row = sub.loc[(rbp, region)]
                grid[i, j] = row["log2_odds_ratio"]
                star = "*" if row["q_value"] < q_cutoff else ""
                dark = abs(row["log2_odds_ratio"]) > 1.8
                ax.text(j, i, f"{int(row['cases_strong'])}/{int(row['controls_strong'])}{star}",
                        ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")
        cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="#e6e6e6")  # no allele there
        image = ax.imshow(np.ma.masked_invalid(np.clip(grid, -3, 3)), cmap=cmap, vmin=-3,
                          vmax=3, aspect="auto")
        ax.set_xticks(range(len(regions)), regions, rotation=45, ha="right")
        ax.set_yticks(range(len(rbps)), rbps)
        ax.set_title(f"strong binding {effect}")
        ax.axvline(len(regions) - 1.5, color="black", linewidth=0.8)
    fig.colorbar(image, ax=axes, shrink=0.8, label="log2 odds ratio\ncases vs controls")
    fig.suptitle((f"{title}\n" if title else "")
                 + f"cells: strong effects in cases/controls; * q < {q_cutoff}", fontsize=9)
    path = Path(path)
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=150, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return path


@dataclass
class DenovoResult:
    report: pd.DataFrame
    report_path: Path
    plot_path: Path
    cases_table: Path
    controls_table: Path


def score_sets(options, cases_vcf: Path, controls_vcf: Path, out_dir: Path,
               score=None) -> tuple[Path, Path]:
    """Score both VCFs with the same options into ``out_dir/{cases,controls}.vcf.gz`` and
    ``.tsv``. ``score(options)`` is :func:`varbind.scoring.run.score_vcf` by default (or a Dask
    runner, see :func:`varbind.parallel.run.score_parallel`)."""
    if score is None:
        from varbind.scoring.run import score_vcf as score
    tables = []
    for name, vcf in (("cases", cases_vcf), ("controls", controls_vcf)):
        table = out_dir / f"{name}.tsv"
        score(dataclasses.replace(options, vcf=vcf, output=out_dir / f"{name}.vcf.gz",
                                  table=table, summary=None))
        tables.append(table)
    return tables[0], tables[1]


def run_denovo(cases_table: Path, controls_table: Path, out_dir: Path,
               thresholds: DenovoThresholds | None = None, plot_format: str = "png"
               ) -> DenovoResult:
    """Report and plot from two scored tables into ``out_dir/denovo.tsv`` and
    ``out_dir/denovo.<plot_format>``."""
    out_dir = Path(out_dir)
    report = denovo_report(read_table(cases_table), read_table(controls_table), thresholds)
    if report.empty:
        raise VarbindError("no scored alleles in either set", path=cases_table,
                           fix="check the VCFs overlap the annotation and the models' RBPs")
    report_path = write_report(report, out_dir / "denovo.tsv")
    plot_path = plot_report(report, out_dir / f"denovo.{plot_format}",
                            title=f"{Path(cases_table).name} vs {Path(controls_table).name}")
    return DenovoResult(report, report_path, plot_path, Path(cases_table), Path(controls_table))
