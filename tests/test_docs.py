"""The documentation site: it builds with warnings as errors, its generated pages follow the
code, the commands the pages quote exist, and the tutorials' marked blocks run as written
(their ``varbind`` commands through one command server per test worker, see
``tests/cli_server.py``; ``VARBIND_DOCS_PROCESSES=1`` runs each as its own process).

``mkdocs`` comes with ``pip install -e ".[dev]"``. When it is missing the build test is
skipped, except in CI (``CI`` or ``VARBIND_REQUIRE_DOCS=1`` set), where that is a failure.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from external_tools import bcftools

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
sys.path.insert(0, str(REPO / "tools" / "docs"))
sys.path.insert(0, str(REPO / "tests" / "benchmarks"))

import cli_reference  # noqa: E402
import demo_models  # noqa: E402
import results  # noqa: E402
import results_render  # noqa: E402

MARK = re.compile(r"<!-- docs-test(?P<needs>: needs [a-z]+)? -->\s*\n```(?P<lang>bash|python)\n"
                  r"(?P<code>.*?)\n```", re.S)
TUTORIALS = sorted((DOCS / "tutorials").glob("*.md"))
CLI_SERVER = REPO / "tests" / "cli_server.py"


def require_mkdocs() -> None:
    if importlib.util.find_spec("mkdocs") is not None:
        return
    if os.environ.get("CI") or os.environ.get("VARBIND_REQUIRE_DOCS") == "1":
        pytest.fail("mkdocs is not installed but this is CI: install the project with "
                    "pip install -e \".[dev]\"")
    pytest.skip("mkdocs is not installed (pip install -e \".[dev]\")")


# ----------------------------------------------------------------------------- generated pages


def test_command_reference_has_every_command_and_option():
    page = cli_reference.render()
    for parser in cli_reference.commands():
        assert f"`{parser.prog}`" in page
        for action in cli_reference.options(parser):
            for flag in action.option_strings or [action.metavar or action.dest]:
                assert f"`{flag}" in page, f"{parser.prog} {flag} missing from the reference"


def test_command_reference_follows_a_changed_parser(monkeypatch):
    """A new option shows up without anyone editing a page."""
    from varbind.cli import score

    original = score.register

    def register(subparsers):
        original(subparsers)
        subparsers.choices["score"].add_argument("--docs-probe", help="probe | with a pipe")

    monkeypatch.setattr(score, "register", register)
    page = cli_reference.render()
    assert "`--docs-probe DOCS_PROBE`" in page and "probe \\| with a pipe" in page


def test_every_quoted_command_uses_options_that_exist():
    """Commands typed into pages (shell blocks and inline code) follow the parsers: renaming or
    removing an option fails here until every page quoting it changes."""
    pages = sorted(DOCS.rglob("*.md")) + [REPO / "README.md"]
    quoted = [(p, c) for p in pages for c in cli_reference.quoted_commands(p.read_text())]
    assert len(quoted) > 50
    problems = [f"{p.relative_to(REPO)}: {msg}" for p, c in quoted
                for msg in cli_reference.unknown_options(c)]
    assert not problems, "\n".join(problems)


def test_quoted_command_check_catches_a_changed_option():
    page = ("```bash\nvarbind score in.vcf.gz --fasta g.fa \\\n    --no-such-option 3 -o o.vcf.gz"
            "  # comment --ignored\n```\nand inline `varbind workflow genome-wide --dask "
            "local:2` and `varbind scor x`.")
    quoted = cli_reference.quoted_commands(page)
    expected = "varbind score in.vcf.gz --fasta g.fa --no-such-option 3 -o o.vcf.gz"
    assert quoted[0].split() == expected.split()
    problems = [m for c in quoted for m in cli_reference.unknown_options(c)]
    assert len(problems) == 2, problems
    assert "varbind score has no option --no-such-option" in problems[0]
    assert "no command varbind scor" in problems[1]


def test_results_file_round_trip_and_missed_targets(tmp_path):
    figs = [results.figure("speedup", [1.53, 1.75, 0.93], label="2 workers vs 1", unit="x",
                           target=(">=", 1.6)),
            results.figure("auroc", 0.95, target=(">=", 0.9)),
            results.figure("gap", [-0.05, -0.01, 0.0])]
    assert figs[0]["median"] == 1.53 and figs[0]["met"] is False and figs[1]["met"] is True
    path = results.write_results("bench_probe", figs, path=tmp_path / "bench_probe.json",
                                 argv=[str(REPO / "tests/benchmarks/bench_probe.py"), "--x"])
    data = json.loads(path.read_text())
    assert data["command"] == "python tests/benchmarks/bench_probe.py --x"
    assert data["machine"]["cores"] == os.cpu_count() and len(data["commit"]) >= 7
    loaded = results_render.load(tmp_path)
    page = results_render.render_benchmarks(loaded, {"bench_probe": "probe.",
                                                     "bench_other": "other."})
    assert "1.53 x (median of 3; 0.93–1.75)" in page and "**MISSED**" in page
    assert "Targets missed" in page and ">= 1.6" in page
    assert "-0.01 (median of 3; -0.05 to 0)" in page
    assert results_render.NOT_MEASURED in page.split("## bench_other")[1]
    second = results_render.render_benchmarks(
        {"bench_probe_demo": dict(loaded["bench_probe"], bench="bench_probe_demo")},
        {"bench_probe": "probe.", "bench_zzz": "last."})
    assert second.index("## bench_probe_demo") < second.index("## bench_zzz")
    assert "Also written by `tests/benchmarks/bench_probe.py`" in second
    inline = results_render.replace_figures("x {{ figure bench_probe speedup }} y", loaded,
                                            "../benchmarks.md")
    assert "**MISSED**" in inline and "../benchmarks.md#bench_probe" in inline
    table = results_render.replace_figures(
        "| {{ value bench_probe speedup }} | {{ value bench_probe auroc }} |\n"
        "From {{ source bench_probe }}; {{ value bench_none x }}.", loaded, "../b.md")
    assert table.startswith("| 1.53 x (median of 3; 0.93–1.75), **MISSED** target >= 1.6 | "
                            "0.95 |\nFrom [bench_probe](../b.md#bench_probe), commit `")
    assert results_render.NOT_MEASURED in table.splitlines()[1]
    for text in ("{{ figure bench_probe nope }}", "{{ value bench_probe nope }}"):
        with pytest.raises(KeyError):
            results_render.replace_figures(text, loaded, "b.md")
    with pytest.raises(ValueError):
        results.figure("x", 1.0, target=("=>", 1))


def test_shipped_results_files_are_readable():
    for data in results_render.load().values():
        assert data["command"].startswith("python tests/benchmarks/")
        for fig in data["figures"]:
            assert {"median", "min", "max", "n", "met"} <= set(fig)


def test_demo_set_is_described_from_its_own_files():
    page = demo_models.render_set()
    for folder, meta in demo_models.bundles().items():
        assert f"`{folder}` (`{meta['name']}`): `{meta['architecture']}`" in page
        for spec in meta["inputs"]:
            if spec["layout"] == "per_position":
                assert f"({spec['length']} nt)" in page


def test_demo_variant_effects_are_rendered_held_out_beside_all_contigs():
    assert results_render.NOT_MEASURED in demo_models.render_variant_effects({})
    figs = [results.figure(f"auroc_{e}_plus_demo_x_{w}", v, target=(">=", t), note="n rows")
            for e, t in (("loss", 0.9), ("gain", 0.85))
            for w, v in (("held_out", 0.88), ("all", 0.95))]
    data = {"bench": "bench_score", "command": "python tests/benchmarks/bench_score.py",
            "commit": "HEAD", "date": "d", "machine": {}, "figures": figs}
    page = demo_models.render_variant_effects({"bench_score": data}, "../b.md")
    loss = next(line for line in page.splitlines() if "| loss |" in line)
    assert "| `demo_x` | loss | + | 0.88 **MISSED** (n rows) | 0.95 (n rows) | >= 0.9 |" == loss
    assert "gain | + | 0.88 (n rows) | 0.95 (n rows) | >= 0.85" in page
    assert "../b.md#bench_score" in page and "commit `HEAD`" in page
    if demo_models.made_after_set("HEAD") is not None:  # a git checkout
        assert "rerun the command" not in page
        changed = demo_models._git("log", "-1", "--format=%H", "--",
                                   str(demo_models.DEMO / "build.json")).stdout.strip()
        if demo_models._git("rev-parse", "-q", "--verify", changed + "^").returncode == 0:
            data["commit"] = changed + "^"
            assert "rerun the command" in demo_models.render_variant_effects(
                {"bench_score": data})


def test_pictures_made_before_the_demo_set_changed_are_flagged():
    import pictures

    changed = demo_models._git("log", "-1", "--format=%H", "--",
                               str(demo_models.DEMO / "build.json")).stdout.strip()
    if not changed or demo_models._git("rev-parse", "-q", "--verify",
                                       changed + "^").returncode != 0:
        pytest.skip("not a git checkout with the demo set's history")
    name = pictures.PICTURES[0].name
    record = {"commands": ["varbind x"], "date": "d"}
    old = pictures.render({name: dict(record, commit=changed + "^")}, ".")
    new = pictures.render({name: dict(record, commit="HEAD-dirty")}, ".")
    assert "Made before the shipped demo models last changed" in old
    assert "Made before" not in new and "`HEAD-dirty`" in new


def test_every_pictured_file_exists():
    import pictures

    for name in pictures.load():
        assert (DOCS / "figures" / name).exists(), name


def test_site_builds_without_warnings(tmp_path):
    require_mkdocs()
    res = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q",
                          "-d", str(tmp_path / "site")], cwd=REPO, capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr[-4000:]
    cli = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text()
    assert "varbind workflow genome-wide" in cli and "--explain-min-delta" in cli
    bench = (tmp_path / "site" / "benchmarks" / "index.html").read_text()
    assert "bench_score" in bench
    left = [str(p.relative_to(tmp_path)) for p in (tmp_path / "site").rglob("*.html")
            if "{{" in p.read_text()]
    assert not left, f"placeholders left unreplaced in {left}"


# ----------------------------------------------------------------------------- tutorials


def tutorial_script(page: Path, have_bcftools: bool) -> str:
    """The page's marked blocks, in order, as one bash script."""
    parts = []
    for m in MARK.finditer(page.read_text()):
        if m["needs"] and not have_bcftools:
            continue
        if m["lang"] == "python":
            parts.append(f"python - <<'DOCS_PY'\n{m['code']}\nDOCS_PY")
        else:
            parts.append(m["code"])
    return "\n".join(parts)


def test_every_tutorial_has_tested_blocks():
    assert len(TUTORIALS) == 6
    for page in TUTORIALS:
        assert MARK.search(page.read_text()), f"{page.name} runs nothing"


def tutorial_env() -> dict:
    return dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}"
                f"{os.environ['PATH']}", MPLBACKEND="Agg")


@pytest.fixture(scope="session")
def varbind_server():
    """One process per test worker that runs the tutorials' ``varbind`` commands through
    ``varbind.cli.main`` (tests/cli_server.py), so TensorFlow is imported once, not once per
    command; ``VARBIND_DOCS_PROCESSES=1`` runs every command as its own process instead."""
    if os.environ.get("VARBIND_DOCS_PROCESSES") == "1":
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix="vb"))  # short: a socket path has ~100 bytes
    socket_path, log = folder / "s", folder / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, str(CLI_SERVER), "serve", str(socket_path)],
                                stdout=out, stderr=subprocess.STDOUT, env=tutorial_env())
    try:
        for _ in range(600):
            if socket_path.exists() or proc.poll() is not None:
                break
            time.sleep(0.2)
        assert socket_path.exists(), f"the varbind command server did not start:\n" \
            f"{log.read_text()[-3000:]}"
        yield socket_path, log
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize("page", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_runs(page, tmp_path, varbind_server):
    needs_bcftools = ": needs bcftools" in page.read_text()
    have = bool(needs_bcftools and bcftools())
    script = tutorial_script(page, have)
    if varbind_server is not None:
        script = (f'varbind() {{ python {shlex.quote(str(CLI_SERVER))} call '
                  f'{shlex.quote(str(varbind_server[0]))} "$@"; }}\n{script}')
    res = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path,
                         env=tutorial_env(), capture_output=True, text=True, timeout=900)
    server_log = "" if varbind_server is None else varbind_server[1].read_text()[-2000:]
    assert res.returncode == 0, (f"{page.name}:\n{res.stdout[-2000:]}\n{res.stderr[-4000:]}"
                                 f"\n{server_log}")
