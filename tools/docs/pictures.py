"""The pictures page: figures made from shipped data by the commands listed here.

``python tools/docs/make_figures.py`` runs every picture's commands in a scratch folder,
copies the images to ``docs/figures/`` and records the commands, commit and date in
``docs/results/figures.json``; the docs build renders ``{{ pictures }}`` from that file, so
each picture on the site carries the command and commit that drew it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from demo_models import made_after_set  # tools/docs/ is on sys.path (hooks.py, the tests)

REPO = Path(__file__).resolve().parents[2]
FIGURES_JSON = REPO / "docs" / "results" / "figures.json"
WORLD = "varbind/data/demo/world"

#: Split the demo table into cases (the simulator's loss and gain variants) and controls.
SPLIT_COHORT = (
    "python -c \"import pandas as pd; "
    f"t = pd.read_csv('{WORLD}/truth.tsv.gz', sep='\\t'); "
    "s = pd.read_csv('demo.tsv', sep='\\t', comment='#'); "
    "case = set(t.loc[t.effect != 'neutral', 'id']); "
    "s[s['id'].isin(case)].to_csv('cases.tsv', sep='\\t', index=False); "
    "s[~s['id'].isin(case)].to_csv('controls.tsv', sep='\\t', index=False)\""
)


@dataclass(frozen=True)
class Picture:
    name: str           # file name under docs/figures/
    title: str
    caption: str        # what to look at
    commands: tuple[str, ...]
    output: str         # file the commands write (relative to the scratch folder)


PICTURES = (
    Picture(
        "explain_demo.png", "Wild type vs mutant: why a variant matters",
        "A planted RBFOX1 site (UGCAUG) on the demo genome, broken by one ALT of a "
        "multi-allelic record. Top: GradCAM of the wild type over the mutant, motif clusters "
        "outlined; then the wild-type and mutant integrated-gradients logos on one scale, their "
        "difference (red: attribution lost), the region classes; the variant is marked on "
        "every track; the title has the scores, the delta, the motif call and the best known "
        "motif.",
        ("varbind score demo --genome demo --region chr1:76400-76410 --tsv r.tsv "
         "-o r.vcf.gz --explain ig,gradcam --explain-out attr.h5",
         "varbind plot attr.h5 --variant 'chr1:76407:G>T' --rbp RBFOX1 "
         "--model demo_multiresbind -o explain_demo.png"),
        "explain_demo.png"),
    Picture(
        "evaluate_roc.png", "ROC curves per RBP (`varbind evaluate`)",
        "The demo Multi-resBind model on the held-out test contigs of the demo world, one "
        "curve per RBP; rare RBPs (fewest training peaks) tend to sit lowest.",
        (f"varbind dataset --peaks {WORLD}/peaks --fasta {WORLD}/genome.fa.gz "
         f"--gtf {WORLD}/genes.gtf.gz --expression {WORLD}/expression.tsv --cell-type SIM1 "
         "-o demo_ml.h5",
         "varbind evaluate varbind/data/demo/models/multiresbind --dataset demo_ml.h5 "
         "--split test --plots plots/"),
        "plots/roc.png"),
    Picture(
        "evaluate_pr.png", "Precision–recall curves per RBP (`varbind evaluate`)",
        "Same run as the ROC curves. Average precision depends on how many positives an RBP "
        "has, so rare RBPs sit lower here than in the ROC plot.",
        (), "plots/pr.png"),
    Picture(
        "denovo.png", "A de novo cohort: strong effects in cases against controls",
        "Cases are the demo VCF's planted loss and gain variants, controls its neutral "
        "variants (a toy cohort whose answer is known). Each cell: log2 odds ratio of strong "
        "losses (left) or gains (right) in cases over controls, RBP by region, labelled "
        "cases/controls counts, `*` where q < 0.05.",
        ("varbind score demo --genome demo --tsv demo.tsv -o demo.vcf.gz",
         SPLIT_COHORT,
         "varbind workflow denovo --cases cases.tsv --controls controls.tsv --out denovo/"),
        "denovo/denovo.png"),
    Picture(
        "gia_qki.png", "Global importance analysis of QKI (`varbind gia`)",
        "Left: the k-mers whose embedding raises the demo Multi-resBind QKI output most (the "
        "planted consensus is ACUAACA); middle: the effect of 1–4 copies of the top k-mer; "
        "right: two copies at growing spacing (boxes: per-background effects; triangles: "
        "global importance).",
        ("varbind gia --models demo --model demo_multiresbind --rbp QKI -n 32 "
         "-o gia.tsv --plot gia_qki.png",),
        "gia_qki.png"),
)


def load(path: Path = FIGURES_JSON) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def render(made: dict, to_root: str) -> str:
    """Markdown for every picture, or a line saying it has not been made yet."""
    lines = []
    commands: tuple[str, ...] = ()
    for pic in PICTURES:
        commands = pic.commands or commands  # a picture without commands shares the last run
        lines += [f"## {pic.title}", ""]
        record = made.get(pic.name)
        if record is None:
            lines += ["*Not made yet: run `python tools/docs/make_figures.py`.*", ""]
            continue
        stale = ("" if made_after_set(record["commit"].removesuffix("-dirty")) is not False
                 else "**Made before the shipped demo models last changed: remake it with "
                      "`python tools/docs/make_figures.py`.**")
        lines += [f"![{pic.title}]({to_root}/figures/{pic.name})", "", pic.caption, "",
                  f"Made at commit `{record['commit']}` on {record['date']} by "
                  "(in a scratch folder, from the repository root's data):", "",
                  "```bash", *record["commands"], "```", ""]
        if stale:
            lines += [stale, ""]
    return "\n".join(lines)
