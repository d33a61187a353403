"""The ``varbind`` command: one subcommand per module in this package.

Each subcommand module defines ``register(subparsers)``, which adds its parser and sets
``func=run`` where ``run(args) -> int``. Subcommand modules import heavy libraries
(TensorFlow, Dask) inside ``run`` so that ``varbind --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from varbind import __version__
from varbind.cli.signals import interrupted_status, sigterm_unwinds
from varbind.errors import VarbindError
from varbind.model.device import load_tensorflow_quietly

#: Subcommand modules, in the order ``varbind --help`` lists them.
SUBCOMMANDS = [
    "simulate", "dataset", "train", "evaluate", "models", "score", "plot", "motifs", "gia",
    "workflow",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="varbind",
        description="Which variants change how RNA-binding proteins bind RNA.",
    )
    parser.add_argument("--version", action="version", version=f"varbind {__version__}")
    add_global_options(parser, default_verbose=0, default_quiet=False)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"varbind.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"varbind.cli.{name}":
                continue  # subcommand not built yet
            raise
        module.register(subparsers)
    for sub in subcommand_parsers(parser):  # -q / -v also after the subcommand
        add_global_options(sub, default_verbose=argparse.SUPPRESS,
                           default_quiet=argparse.SUPPRESS)
    return parser


def add_global_options(parser: argparse.ArgumentParser, default_verbose,
                       default_quiet) -> None:
    """``-v/--verbose`` and ``-q/--quiet``. Subcommand parsers get them with SUPPRESS
    defaults, so a flag given before the subcommand is not reset by the subparser."""
    parser.add_argument("-v", "--verbose", action="count", default=default_verbose,
                        help="more log output (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", default=default_quiet,
                        help="warnings and errors only")


def subcommand_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every subcommand parser below ``parser``, nested ones included."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                found.append(sub)
                found.extend(subcommand_parsers(sub))
    return found


def configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logging.basicConfig(level=level, format="varbind: %(message)s", stream=sys.stderr)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out
    for noisy in ("tensorflow", "absl", "distributed", "h5py", "matplotlib", "numba"):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose < 2 else logging.INFO)


#: Subcommands that run Keras models (TensorFlow is loaded up front, quietly, for these).
MODEL_COMMANDS = {"score", "train", "evaluate", "models", "motifs", "gia", "workflow"}
#: ``varbind workflow`` subcommands that run no model (no TensorFlow start-up for them).
MODEL_FREE_WORKFLOWS = {"job-script", "denovo"}


def runs_models(args: argparse.Namespace) -> bool:
    """Whether the parsed command runs Keras models in this process (and so loads TensorFlow
    up front)."""
    return (args.command in MODEL_COMMANDS
            and getattr(args, "workflow", None) not in MODEL_FREE_WORKFLOWS
            and not scores_on_dask(args))


def scores_on_dask(args) -> bool:
    """``varbind score --dask`` / ``--scheduler``: the models run in the worker processes,
    which import TensorFlow themselves; importing it here too would only delay starting them
    (seconds of one core, before the cluster starts)."""
    return args.command == "score" and bool(getattr(args, "dask", None)
                                            or getattr(args, "scheduler", None))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    configure_logging(args.verbose, args.quiet)
    if runs_models(args) and args.verbose < 2:
        load_tensorflow_quietly()
    try:
        with sigterm_unwinds():
            return int(args.func(args) or 0)
    except VarbindError as exc:
        print(f"varbind {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (varbind.cli.signals)
        what, status = interrupted_status(exc)
        print(f"varbind {args.command}: {what}", file=sys.stderr)
        return status
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
