"""Moved to :mod:`varbind.interpret.discover`; this import path is kept for one release."""

from varbind.interpret.discover import (  # noqa: F401
    SITE_COLUMNS,
    SPAN_COLUMNS,
    DiscoveryOptions,
    RBPMotifs,
    discover,
    discover_rbp,
    read_sites,
    site_scores,
    site_windows,
    write_tables,
)
