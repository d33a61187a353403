"""User-facing errors: one line naming the input, the place and the fix."""

from __future__ import annotations


class VarbindError(Exception):
    """A problem with the user's input or environment.

    The CLI prints ``str(error)`` on one line and exits with ``exit_code``;
    no traceback is shown. The message should name the input (file, argument),
    the place (line, record, position) and the fix.
    """

    exit_code = 2

    def __init__(self, message: str, *, path: object = None, line: int | None = None,
                 fix: str | None = None):
        parts = []
        if path is not None:
            parts.append(f"{path}" + (f", line {line}" if line is not None else ""))
        parts.append(message)
        text = ": ".join(parts)
        if fix:
            text = f"{text} ({fix})"
        super().__init__(text.replace("\n", " "))


class InputFileError(VarbindError):
    """A malformed or unreadable input file."""


class ModelBundleError(VarbindError):
    """A model bundle that cannot be loaded or disagrees with its metadata."""
