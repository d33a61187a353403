"""Benchmark figures on the site, rendered from ``docs/results/<bench>.json``.

The files are written by the benchmark scripts through ``tests/benchmarks/results.py``.
Placeholders the docs build replaces (see ``hooks.py``):

- ``{{ benchmarks }}``: one section per ``tests/benchmarks/bench_*.py`` script with its
  figures (median, spread, target, met or MISSED), command, commit, date and machine, or a
  line saying that it has not been measured with the JSON-writing script yet;
- ``{{ figure BENCH NAME }}``: one figure inline, with a link to its benchmark section;
- ``{{ value BENCH NAME }}``: the figure's value alone, and ``{{ source BENCH }}``: the link
  and commit, once, e.g. in a table's caption.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCH_DIR = REPO / "tests" / "benchmarks"
RESULTS_DIR = REPO / "docs" / "results"
NOT_MEASURED = "not yet measured with the JSON-writing script"
FIGURE_RE = re.compile(r"\{\{\s*figure\s+(\S+)\s+(\S+)\s*\}\}")
VALUE_RE = re.compile(r"\{\{\s*value\s+(\S+)\s+(\S+)\s*\}\}")
SOURCE_RE = re.compile(r"\{\{\s*source\s+(\S+)\s*\}\}")


def load(results_dir: Path = RESULTS_DIR) -> dict[str, dict]:
    """Every ``bench_*.json`` results file, by benchmark name; one that is not schema 1 is
    an error."""
    found = {}
    for path in sorted(results_dir.glob("bench_*.json")):
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or data.get("schema") != 1 or "figures" not in data:
            raise ValueError(f"{path}: not a benchmark results file (schema 1, written by "
                             "tests/benchmarks/results.py)")
        found[data["bench"]] = data
    return found


def scripts(bench_dir: Path = BENCH_DIR) -> dict[str, str]:
    """``bench_*.py`` scripts and the first line of their docstring."""
    out = {}
    for path in sorted(bench_dir.glob("bench_*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        first = " ".join(doc.split("\n\n")[0].split())
        out[path.stem] = re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", first)  # reST roles
    return out


def fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)


def status(fig: dict) -> str:
    if fig.get("met") is None:
        return ""
    return "met" if fig["met"] else "**MISSED**"


def target_text(fig: dict) -> str:
    t = fig.get("target")
    return f"{t['op']} {fmt(t['value'])}" if t else "–"


def value_text(fig: dict) -> str:
    unit = f" {fig['unit']}" if fig.get("unit") else ""
    text = f"{fmt(fig['median'])}{unit}"
    if fig.get("n", 1) > 1:
        dash = " to " if fig["min"] < 0 else "–"  # "-0.05 to -0.01", not "-0.05–-0.01"
        text += f" (median of {fig['n']}; {fmt(fig['min'])}{dash}{fmt(fig['max'])})"
    return text


def provenance(data: dict) -> str:
    m = data.get("machine", {})
    load = ", ".join(fmt(x) for x in m.get("load_average", []))
    dirty = " (uncommitted changes)" if data.get("dirty") else ""
    gpu = f", GPU {m['gpu']}" if m.get("gpu") else ", no GPU"
    return (f"`{data['command']}` at commit `{data['commit']}`{dirty}, {data['date']}; "
            f"{m.get('cores', '?')} cores{gpu}, load average {load or '?'}")


def render_bench(name: str, summary: str, data: dict | None) -> str:
    lines = [f"## {name} {{ #{name} }}", "", summary, ""]
    if data is None:
        lines += [f"*{NOT_MEASURED}* (`python tests/benchmarks/{name}.py`).", ""]
        return "\n".join(lines)
    lines += [f"Printed by {provenance(data)}.", "",
              "| figure | value | target | |", "|---|---|---|---|"]
    for fig in data["figures"]:
        label = fig.get("label") or fig["name"]
        note = f" ({fig['note']})" if fig.get("note") else ""
        lines.append(f"| {label}{note} | {value_text(fig)} | {target_text(fig)} | "
                     f"{status(fig)} |")
    lines.append("")
    return "\n".join(lines)


def render_benchmarks(results: dict | None = None, benches: dict | None = None) -> str:
    results = load() if results is None else results
    benches = scripts() if benches is None else benches
    missed = [(b, f) for b, d in results.items() for f in d["figures"] if f.get("met") is False]
    lines = []
    if missed:
        lines += ["Targets missed in the latest results: " + "; ".join(
            f"[{b}](#{b}) {f.get('label') or f['name']} ({value_text(f)}, target "
            f"{target_text(f)})" for b, f in missed) + ".", ""]
    placed = set()
    for name, summary in benches.items():
        lines.append(render_bench(name, summary, results.get(name)))
        for extra in sorted(r for r in set(results) - set(benches) if r.startswith(name + "_")):
            placed.add(extra)  # a second results file of the same script (e.g. --demo)
            lines.append(render_bench(extra, f"Also written by `tests/benchmarks/{name}.py` "
                                             "(see the command below).", results[extra]))
    for name in sorted(set(results) - set(benches) - placed):
        lines.append(render_bench(name, "", results[name]))
    return "\n".join(lines)


def _figure(bench: str, name: str, data: dict) -> dict:
    for fig in data["figures"]:
        if fig["name"] == name:
            return fig
    raise KeyError(f"{{{{ figure {bench} {name} }}}}: {bench}.json has no figure {name!r}")


def marked_value(fig: dict) -> str:
    """A figure's value, with its target when it is missed."""
    mark = ", **MISSED** target " + target_text(fig) if fig.get("met") is False else ""
    return value_text(fig) + mark


def render_figure(bench: str, name: str, results: dict, page_to_bench: str) -> str:
    """One inline figure with its target status and a link to where it comes from."""
    if bench not in results:
        return f"*{NOT_MEASURED}* ([{bench}]({page_to_bench}#{bench}))"
    return f"{render_value(bench, name, results)} ({render_source(bench, results, page_to_bench)})"


def render_value(bench: str, name: str, results: dict) -> str:
    """One figure's value alone (for tables whose caption gives ``{{ source BENCH }}``)."""
    data = results.get(bench)
    return f"*{NOT_MEASURED}*" if data is None else marked_value(_figure(bench, name, data))


def render_source(bench: str, results: dict, page_to_bench: str) -> str:
    """A link to a benchmark's section and the commit of its results."""
    data = results.get(bench)
    commit = f", commit `{data['commit']}`" if data else f": *{NOT_MEASURED}*"
    return f"[{bench}]({page_to_bench}#{bench}){commit}"


def replace_figures(markdown: str, results: dict, page_to_bench: str) -> str:
    """Replace ``{{ figure BENCH NAME }}``, ``{{ value BENCH NAME }}`` and
    ``{{ source BENCH }}``."""
    markdown = FIGURE_RE.sub(lambda m: render_figure(m[1], m[2], results, page_to_bench),
                             markdown)
    markdown = VALUE_RE.sub(lambda m: render_value(m[1], m[2], results), markdown)
    return SOURCE_RE.sub(lambda m: render_source(m[1], results, page_to_bench), markdown)
