"""MkDocs hooks: generated pages and figures (``mkdocs.yml``: ``hooks: [tools/docs/hooks.py]``).

Placeholders replaced in every page, so that nothing generated is pasted by hand:

- ``{{ cli_reference }}``: every command and option, from ``varbind.cli``'s parsers;
- ``{{ benchmarks }}``: the benchmark page, from ``docs/results/bench_*.json``;
- ``{{ figure BENCH NAME }}``: one benchmark figure, from the same files (``{{ value BENCH
  NAME }}`` without its link, ``{{ source BENCH }}`` the link alone);
- ``{{ demo_set }}``, ``{{ demo_models }}``: the shipped demo set and its held-out metrics,
  from the set's own files; ``{{ demo_variant_effects }}``: its variant-effect AUROCs from
  ``docs/results/bench_score.json``;
- ``{{ demo_world }}``: the shipped demo world's genes, RBPs, peaks and variants, from its
  own files;
- ``{{ pictures }}``: the pictures made by ``tools/docs/make_figures.py``, with the commands
  and commit that made them (``docs/results/figures.json``).
"""

from __future__ import annotations

import posixpath
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cli_reference  # noqa: E402
import demo_models  # noqa: E402
import demo_world  # noqa: E402
import pictures  # noqa: E402
import results_render  # noqa: E402

_cache: dict = {}


def on_pre_build(config, **kwargs):
    _cache["results"] = results_render.load()
    _cache["pictures"] = pictures.load()


def on_page_markdown(markdown, page, config, files, **kwargs):
    here = posixpath.dirname(page.file.src_uri)
    to_bench = posixpath.relpath("benchmarks.md", here or ".")
    if "{{ cli_reference }}" in markdown:
        markdown = markdown.replace("{{ cli_reference }}", cli_reference.render())
    if "{{ demo_models }}" in markdown:
        markdown = markdown.replace("{{ demo_models }}", demo_models.render())
    if "{{ demo_set }}" in markdown:
        markdown = markdown.replace("{{ demo_set }}", demo_models.render_set())
    if "{{ demo_variant_effects }}" in markdown:
        effects = demo_models.render_variant_effects(_cache["results"], to_bench)
        markdown = markdown.replace("{{ demo_variant_effects }}", effects)
    if "{{ demo_world }}" in markdown:
        markdown = markdown.replace("{{ demo_world }}", demo_world.render())
    if "{{ benchmarks }}" in markdown:
        markdown = markdown.replace("{{ benchmarks }}",
                                    results_render.render_benchmarks(_cache["results"]))
    if "{{ pictures }}" in markdown:
        to_root = posixpath.relpath(".", here or ".")
        markdown = markdown.replace("{{ pictures }}",
                                    pictures.render(_cache["pictures"], to_root))
    return results_render.replace_figures(markdown, _cache["results"], to_bench)
