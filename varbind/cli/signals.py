"""SIGTERM ends a ``varbind`` command the way Ctrl-C does.

Batch schedulers (SLURM at a job's time limit or on ``scancel``, PBS on ``qdel``) and ``kill``
stop a process with SIGTERM. Its default action ends Python at once, without unwinding: the
temporary files of :func:`varbind.files.atomic_output` beside each output, the training
members' temporary folder and the worker processes would stay behind. Under
:func:`sigterm_unwinds` a SIGTERM raises :class:`Terminated` (a ``KeyboardInterrupt``)
instead, so every ``finally`` and context manager runs, and the CLI exits with status 143
(128 + SIGTERM), as a shell reports a process ended by it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

#: Exit status of a command ended by SIGTERM (128 + signal number, the shell's convention).
TERMINATED_STATUS = 128 + signal.SIGTERM
#: Exit status of a command ended by Ctrl-C (SIGINT).
INTERRUPTED_STATUS = 128 + signal.SIGINT


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM; raised where it was, unwinding like Ctrl-C."""


def _raise_terminated(signum, frame) -> None:
    # a second SIGTERM while the first unwinds ends the process at once (the default action)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise Terminated(f"signal {signum}")


@contextlib.contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """Within this block a SIGTERM raises :class:`Terminated` in the main thread; the
    previous handler is restored after it. Outside the main thread (where Python cannot set
    signal handlers) it changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def interrupted_status(error: KeyboardInterrupt) -> tuple[str, int]:
    """What the CLI prints and returns for ``error``: ``("terminated", 143)`` after SIGTERM,
    ``("interrupted", 130)`` after Ctrl-C."""
    if isinstance(error, Terminated):
        return "terminated", TERMINATED_STATUS
    return "interrupted", INTERRUPTED_STATUS
