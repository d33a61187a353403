"""The shipped demo model set on the models page, read from the set itself.

``varbind models build-demo`` records its command, settings, timings and test-split metrics
in ``varbind/data/demo/models/build.json`` and each bundle's ``model.json``. Placeholders:

- ``{{ demo_set }}``: what the set holds (bundles, architectures, inputs, RBPs, recipe);
- ``{{ demo_models }}``: the held-out test metrics, with the commit that last changed the set;
- ``{{ demo_variant_effects }}``: variant-effect AUROCs of the set from
  ``docs/results/bench_score.json``, held-out contigs and all contigs, flagged when the
  results predate the set's last change.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "varbind" / "data" / "demo" / "models"


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)


def last_commit(path: Path) -> str:
    out = _git("log", "-1", "--format=%h %cs", "--", str(path)).stdout.strip()
    return out or "unknown (not a git checkout)"


def _input_text(spec: dict) -> str:
    kinds = " + ".join(c["kind"] for c in spec["components"])
    if spec["layout"] == "per_position":
        return f"{kinds} ({spec['length']} nt)"
    return f"{kinds} (side input)"


def _recipe_text(config: dict) -> str:
    r = config.get("recipe_settings") or config
    return (f"recipe `{config.get('recipe', '?')}`: {r.get('optimizer', '?')}, learning rate "
            f"{_f(r.get('learning_rate'))}, batch {r.get('batch_size', '?')}, up to "
            f"{r.get('epochs', '?')} epochs, best `{r.get('monitor', 'val_loss')}` kept")


def render_set() -> str:
    """``{{ demo_set }}``: one bullet per bundle, from its ``model.json`` and ``build.json``."""
    build = json.loads((DEMO / "build.json").read_text())
    settings = build.get("settings", {})
    lines = [f"`varbind/data/demo/models/` ships {len(bundles())} bundles built by "
             f"`{build['command']}` on the simulated demo world (`varbind simulate DIR --seed "
             f"{build.get('world_seed', '?')} --size {build.get('size', '?')}`):", ""]
    for folder, meta in bundles().items():
        training = meta.get("training", {})
        members = training.get("members") or {}
        config = training.get("config") or next(
            (m.get("config", {}) for m in members.values()), {})
        shape = (f"{len(members)} per-RBP models joined into one bundle" if members
                 else f"one model with an output for each of {len(meta['rbps'])} RBPs")
        changed = settings.get(f"{meta['architecture']}_hparams") or {}
        layers = ("the architecture's default layers" if not changed else
                  "layers changed from the architecture's defaults: "
                  + ", ".join(f"{k} {v}" for k, v in changed.items()))
        lines.append(f"* `{folder}` (`{meta['name']}`): `{meta['architecture']}`, {shape}; "
                     f"inputs {', '.join(_input_text(s) for s in meta['inputs'])}; {layers}; "
                     f"{_recipe_text(config)}; cell line {meta.get('cell_line', '?')}.")
    return "\n".join(lines) + "\n"


def bundles() -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(DEMO.glob("*/model.json"))}


def render() -> str:
    build = json.loads((DEMO / "build.json").read_text())
    models = bundles()
    names = list(models)
    head = "| RBP | " + " | ".join(f"{n} positives | AUROC | AP | k-mer AUROC"
                                  for n in names) + " |"
    lines = [f"Built by `{build['command']}`; set last changed at commit "
             f"`{last_commit(DEMO / 'build.json')}`. Metrics are on each bundle's held-out "
             "test split (`metrics` in `model.json`; split: "
             + ", ".join(f"{n} `{m['metrics'].get('split', '?')}`" for n, m in models.items())
             + "; k-mer AUROC: the health check's baseline, `metrics.baseline`).", "", head,
             "|---|" + "---|---|---|---|" * len(names)]
    rbps = list(dict.fromkeys(r for m in models.values() for r in m["rbps"]))
    for rbp in rbps:
        cells = []
        for m in models.values():
            met = m["metrics"]
            base = met.get("baseline", {}).get("auroc", {})
            cells += [str(met.get("positives", {}).get(rbp, "")),
                      _f(met.get("auroc", {}).get(rbp)), _f(met.get("ap", {}).get(rbp)),
                      _f(base.get(rbp))]
        lines.append(f"| {rbp} | " + " | ".join(cells) + " |")
    means = []
    for m in models.values():
        base = list(m["metrics"].get("baseline", {}).get("auroc", {}).values())
        means += ["", f"**{_f(m['metrics'].get('mean_auroc'))}**",
                  f"**{_f(m['metrics'].get('mean_ap'))}**",
                  _f(sum(base) / len(base)) if base else "n/a"]
    lines.append("| **mean** | " + " | ".join(means) + " |")
    secs = build.get("seconds", {})
    if secs:
        lines += ["", "Build time (seconds of wall clock, from `build.json`; on a shared machine "
                  "they depend on its load): "
                  + ", ".join(f"{k} {v:.0f}" for k, v in secs.items()) + "."]
    return "\n".join(lines) + "\n"


def _f(value) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def made_after_set(commit: str) -> bool | None:
    """Whether ``commit`` (of a results file or picture) contains the set's last change (None:
    unknown, e.g. a commit this checkout does not have)."""
    changed = _git("log", "-1", "--format=%H", "--", str(DEMO / "build.json")).stdout.strip()
    if not changed or not commit:
        return None
    res = _git("merge-base", "--is-ancestor", changed, commit)
    return None if res.returncode not in (0, 1) else res.returncode == 0


def render_variant_effects(results: dict, to_bench: str = "../benchmarks.md") -> str:
    """``{{ demo_variant_effects }}``: AUROC of |delta| (truth loss / gain vs neutral variants)
    per model and strand from ``bench_score.json``, held-out contigs beside all contigs."""
    import results_render

    data = results.get("bench_score")
    auroc = [f for f in (data or {}).get("figures", []) if f["name"].startswith("auroc_")]
    if not auroc:
        return (f"Variant-effect AUROCs: *{results_render.NOT_MEASURED}* "
                "(`python tests/benchmarks/bench_score.py --skip-memory --models "
                "varbind/data/demo/models`).\n")
    cells: dict = {}
    for fig in auroc:  # auroc_{effect}_{strand}_{model}_{held_out|all} (bench_score.auroc)
        _, effect, strand, rest = fig["name"].split("_", 3)
        where = "all" if rest.endswith("_all") else "held_out"
        cells[(rest.removesuffix("_" + where), effect, strand, where)] = fig
    keys = sorted({k[:3] for k in cells}, key=lambda k: (k[0], k[1] != "loss", k[2] != "plus"))
    lines = ["| model | effect | strand | held-out contigs | all contigs (training contigs "
             "included) | target |", "|---|---|---|---|---|---|"]
    for model, effect, strand in keys:
        held, every = cells.get((model, effect, strand, "held_out")), cells.get(
            (model, effect, strand, "all"))
        ref = held or every
        lines.append(f"| `{model}` | {effect} | {'+' if strand == 'plus' else '-'} | "
                     + " | ".join(_auroc_cell(f) for f in (held, every))
                     + f" | {results_render.target_text(ref)} |")
    after = made_after_set(data["commit"])
    stale = ("" if after else
             " **These results were measured before the shipped set last changed (or the "
             "commit is unknown here): rerun the command.**" if after is False else
             " (Whether they postdate the set's last change is unknown: the commit is not in "
             "this checkout.)")
    return "\n".join(lines) + (f"\n\nPrinted by {results_render.provenance(data)}; "
                               f"the held-out contigs are named in each figure's label on the "
                               f"[benchmark page]({to_bench}#bench_score).{stale}\n")


def _auroc_cell(fig: dict | None) -> str:
    if fig is None:
        return "–"
    import results_render

    mark = {True: "", False: " **MISSED**", None: ""}[fig.get("met")]
    return f"{results_render.fmt(fig['median'])}{mark} ({fig.get('note', '')})"
