"""Make the pictures of the docs from shipped data (see ``pictures.py``).

Usage::

    python tools/docs/make_figures.py [--only NAME ...] [--keep DIR]

Runs each picture's commands in a scratch folder (with the repository's demo data linked in
as ``varbind/data``), copies the image to ``docs/figures/`` and records the commands, the
commit and the date in ``docs/results/figures.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pictures import FIGURES_JSON, PICTURES, REPO, load  # noqa: E402


def commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                         capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                            ":(exclude)docs"], cwd=REPO, capture_output=True,
                           text=True).stdout.strip()  # docs pages cannot change a picture
    return out + ("-dirty" if dirty else "")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", nargs="*", help="picture file names to remake")
    p.add_argument("--keep", type=Path, help="scratch folder to use and keep")
    args = p.parse_args(argv)
    scratch = args.keep or Path(tempfile.mkdtemp(prefix="varbind-figures-"))
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "varbind").mkdir(exist_ok=True)
    if not (scratch / "varbind" / "data").exists():
        os.symlink(REPO / "varbind" / "data", scratch / "varbind" / "data")
    made = load()
    commands: tuple[str, ...] = ()
    for pic in PICTURES:
        fresh = bool(pic.commands)
        commands = pic.commands or commands
        if args.only and pic.name not in args.only:
            continue
        for cmd in pic.commands:
            print(f"$ {cmd}", file=sys.stderr, flush=True)
            subprocess.run(cmd, shell=True, cwd=scratch, check=True)
        if not fresh and not (scratch / pic.output).exists():
            raise SystemExit(f"{pic.name}: run it together with the picture before it")
        shutil.copyfile(scratch / pic.output, REPO / "docs" / "figures" / pic.name)
        made[pic.name] = {"commands": list(commands), "commit": commit(),
                          "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        FIGURES_JSON.parent.mkdir(parents=True, exist_ok=True)
        FIGURES_JSON.write_text(json.dumps(made, indent=1) + "\n")
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
