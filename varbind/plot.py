"""Moved to :mod:`varbind.interpret.plot`; this import path is kept for one release."""

from varbind.interpret.plot import (  # noqa: F401
    FORMATS,
    REGION_COLOURS,
    TRACKS,
    plot_explanation,
    save_figure,
)
