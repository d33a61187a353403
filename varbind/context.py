"""Moved to :mod:`varbind.scoring.context`; this import path is kept for one release."""

from varbind.scoring.context import (  # noqa: F401
    STRANDS,
    SiteStrands,
)
from varbind.scoring.context import SiteContext as Annotation  # noqa: F401
