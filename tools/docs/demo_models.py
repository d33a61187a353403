"""``{{ demo_models }}``: the shipped demo models' held-out metrics, read from the set itself.

``varbind models build-demo`` records its command, timings and test-split metrics in
``varbind/data/demo/models/build.json`` and each bundle's ``model.json``; this page shows
them as they are, with the commit that last changed the set.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "varbind" / "data" / "demo" / "models"


def last_commit(path: Path) -> str:
    out = subprocess.run(["git", "log", "-1", "--format=%h %cs", "--", str(path)], cwd=REPO,
                         capture_output=True, text=True).stdout.strip()
    return out or "unknown (not a git checkout)"


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
