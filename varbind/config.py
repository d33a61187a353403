"""The user's config file: default inputs for ``varbind score`` and named references.

Location: ``$VARBIND_CONFIG`` if set, else ``$XDG_CONFIG_HOME/varbind/config.toml``, else
``~/.config/varbind/config.toml``. TOML, for example::

    [score]                       # defaults for `varbind score`
    genome = "hg38"               # a name from [genomes.*], or "demo"
    batch_size = 2048
    cell_type = "HepG2"

    [genomes.hg38]                # selected with --genome hg38
    fasta = "/ref/GRCh38.primary_assembly.fa"
    gtf = "/ref/gencode.v44.annotation.gtf.gz"
    expression = "/ref/expression_tpm.tsv"
    models = "/ref/varbind-models"

Relative paths are relative to the config file's folder. Precedence: command-line flags, then
``[score]``, then the selected genome's entries (a genome chosen with ``--genome`` on the command
line overrides the paths in ``[score]``). The name ``demo`` always means the bundled
demo reference, annotation, expression table and models (:mod:`varbind.demo`).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from varbind.errors import InputFileError, VarbindError

#: Keys a [score] table or a [genomes.NAME] table may hold, and whether each is a path.
SCORE_KEYS: dict[str, bool] = {
    "fasta": True, "gtf": True, "expression": True, "models": True, "genome": False,
    "batch_size": False, "cell_type": False, "min_delta": False, "effect_threshold": False,
    "rbps": False, "all_strands": False, "strict": False,
}
GENOME_KEYS = ("fasta", "gtf", "expression", "models")


def config_path() -> Path:
    """Where the config file is looked for (it need not exist)."""
    if os.environ.get("VARBIND_CONFIG"):
        return Path(os.environ["VARBIND_CONFIG"]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "varbind" / "config.toml"


def load_config(path: str | os.PathLike | None = None) -> dict:
    """Read the config file; ``{}`` if there is none at the default location.

    A file named by ``$VARBIND_CONFIG`` (or ``path``) that does not exist is an error, as is
    a file that is not valid TOML or holds unknown keys.
    """
    explicit = path is not None or bool(os.environ.get("VARBIND_CONFIG"))
    path = Path(path) if path is not None else config_path()
    if not path.exists():
        if explicit:
            raise InputFileError("config file not found", path=path,
                                 fix="create it or unset VARBIND_CONFIG")
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(f"not valid TOML ({exc})", path=path,
                             fix="see 'Configuration' in the README") from None
    _check_keys(data, path)
    return _absolute_paths(data, path.parent)


def _check_keys(data: dict, path: Path) -> None:
    for key in data.get("score", {}):
        if key not in SCORE_KEYS:
            raise InputFileError(f"unknown key [score].{key}", path=path,
                                 fix=f"known keys: {', '.join(SCORE_KEYS)}")
    for name, table in data.get("genomes", {}).items():
        if not isinstance(table, dict):
            raise InputFileError(f"[genomes.{name}] must be a table", path=path,
                                 fix='write [genomes.NAME] with fasta = "...", gtf = "..."')
        for key in table:
            if key not in GENOME_KEYS:
                raise InputFileError(f"unknown key [genomes.{name}].{key}", path=path,
                                     fix=f"known keys: {', '.join(GENOME_KEYS)}")


def _absolute_paths(data: dict, base: Path) -> dict:
    def fix(table: dict) -> dict:
        return {k: (str((base / Path(v).expanduser()).resolve())
                    if SCORE_KEYS.get(k) and isinstance(v, str) else v)
                for k, v in table.items()}

    out = dict(data)
    if "score" in data:
        out["score"] = fix(data["score"])
    if "genomes" in data:
        out["genomes"] = {name: fix(t) for name, t in data["genomes"].items()}
    return out


def genome_settings(name: str, config: dict) -> dict:
    """The inputs of a named reference: ``demo`` or a ``[genomes.NAME]`` table."""
    if name == "demo":
        from varbind.demo import demo_settings

        return demo_settings()
    genomes = config.get("genomes", {})
    if name not in genomes:
        known = ", ".join(["demo", *genomes]) if genomes else "demo"
        raise VarbindError(f"--genome {name!r} is not defined",
                           fix=f"known: {known}; define [genomes.{name}] in {config_path()}")
    return dict(genomes[name])


def merge_settings(flags: dict, config: dict) -> dict:
    """Flags (None = not given) over ``[score]`` over the selected genome's entries."""
    score = config.get("score", {})
    merged = {k: v for k, v in score.items()}
    merged.update({k: v for k, v in flags.items() if v is not None})
    genome = merged.get("genome")
    if genome:
        chosen_by_flag = flags.get("genome") is not None
        for key, value in genome_settings(genome, config).items():
            if flags.get(key) is None and (chosen_by_flag or key not in score):
                merged[key] = value
    return merged
