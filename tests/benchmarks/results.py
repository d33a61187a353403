"""One results file per benchmark: the single source of every figure quoted in the docs.

Each benchmark script ends with::

    from results import figure, write_results      # tests/benchmarks/ is the script's folder

    write_results("bench_score", [
        figure("end_to_end_vs_model", rounds, target=(">=", 0.8),
               label="end-to-end / model-only variants/s"),
        ...
    ])

which writes ``docs/results/bench_score.json`` (or ``--results PATH`` / ``$VARBIND_RESULTS``)
atomically::

    {"schema": 1, "bench": "bench_score",
     "command": "python tests/benchmarks/bench_score.py --models ...",
     "commit": "3f2c1ab", "dirty": false, "date": "2026-12-01T15:40:00+00:00",
     "machine": {"cores": 2, "cpu": "...", "load_average": [1.2, 1.4, 1.5], "platform": "...",
                 "python": "3.11.9", "gpu": ""},
     "figures": [{"name": "...", "label": "...", "unit": "x", "median": 1.02,
                  "min": 0.94, "max": 1.15, "n": 3, "values": [...],
                  "target": {"op": ">=", "value": 0.8}, "met": true, "note": ""}],
     "extra": {...}}

``median``/``min``/``max`` summarise ``values`` (paired rounds, or one value); ``met`` compares
the median with the target, so a missed target is recorded as missed. The docs build
(``tools/docs``) renders the benchmark page and every ``{{ figure ... }}`` placeholder from
these files; nothing is copied by hand.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

SCHEMA = 1
REPO = Path(__file__).resolve().parents[2]
RESULTS_DIR = REPO / "docs" / "results"
_OPS = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b, "<": lambda a, b: a < b}


def figure(name: str, values, *, label: str = "", unit: str = "", target=None,
           note: str = "", digits: int = 3) -> dict:
    """One figure: ``values`` is a number or the list of paired rounds.

    ``target`` is ``(op, value)`` with op one of ``>= <= > <``, or None.
    """
    vals = [float(v) for v in (values if isinstance(values, (list, tuple)) else [values])]
    if not vals:
        raise ValueError(f"figure {name!r} has no values")
    med = statistics.median(vals)
    fig = {"name": name, "label": label or name, "unit": unit,
           "median": round(med, digits), "min": round(min(vals), digits),
           "max": round(max(vals), digits), "n": len(vals),
           "values": [round(v, digits) for v in vals], "target": None, "met": None,
           "note": note}
    if target is not None:
        op, value = target
        if op not in _OPS:
            raise ValueError(f"figure {name!r}: target operator {op!r} is not one of {list(_OPS)}")
        fig["target"] = {"op": op, "value": value}
        fig["met"] = bool(_OPS[op](med, value))
    return fig


def git_commit() -> tuple[str, bool]:
    """Short commit of the working tree and whether it has uncommitted changes (outside
    ``docs/``, which cannot change a figure)."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout
    commit = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", ".",
                     ":(exclude)docs").strip())
    return commit, dirty


def machine() -> dict:
    """Cores, processor, load average and GPU of the machine the figures were measured on."""
    gpu = subprocess.run(["sh", "-c", "nvidia-smi -L 2>/dev/null | head -1"],
                         capture_output=True, text=True).stdout.strip()
    return {"cores": os.cpu_count(), "cpu": cpu_model(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "platform": platform.platform(), "python": platform.python_version(),
            "gpu": gpu}


def cpu_model() -> str:
    """The processor's model name, with " (AVX-512)" where it has those instructions
    (``/proc/cpuinfo``; ``platform.processor()`` without it). Training on a few hundred windows
    is reproducible on one processor, not always across them (the math kernels differ)."""
    try:
        info = dict(line.partition(":")[::2] for line in
                    Path("/proc/cpuinfo").read_text().split("\n\n")[0].splitlines())
    except OSError:
        return platform.processor()
    info = {k.strip(): v.strip() for k, v in info.items()}
    avx512 = " (AVX-512)" if "avx512f" in info.get("flags", "").split() else ""
    return info.get("model name", platform.processor()) + avx512


def command_line(argv: list[str] | None = None) -> str:
    """The command that ran the benchmark, with the script path relative to the repository."""
    argv = list(sys.argv if argv is None else argv)
    script = Path(argv[0]).resolve()
    if script.is_relative_to(REPO):
        argv[0] = str(script.relative_to(REPO))
    return "python " + shlex.join(argv)


def results_path(bench: str, path: str | Path | None = None) -> Path:
    if path is not None:
        return Path(path)
    return Path(os.environ.get("VARBIND_RESULTS_DIR", RESULTS_DIR)) / f"{bench}.json"


def write_results(bench: str, figures: list[dict], *, path: str | Path | None = None,
                  extra: dict | None = None, argv: list[str] | None = None) -> Path:
    """Write the results file atomically and return its path."""
    commit, dirty = git_commit()
    report = {"schema": SCHEMA, "bench": bench, "command": command_line(argv),
              "commit": commit, "dirty": dirty,
              "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
              "machine": machine(), "figures": figures, "extra": extra or {}}
    out = results_path(bench, path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    tmp.write_text(json.dumps(report, indent=1, default=str) + "\n")
    os.replace(tmp, out)
    print(f"results written to {out}", file=sys.stderr)
    return out
