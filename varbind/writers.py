"""Moved to :mod:`varbind.scoring.writers`; this import path is kept for one release."""

from varbind.scoring.writers import (  # noqa: F401
    INFO_FIELDS,
    TABLE_COLUMNS,
    VARBIND_FORMAT,
    TableWriter,
    VcfWriter,
    format_float,
    info_escape,
    info_escape_all,
    info_header_line,
    table_kind,
    vcf_kind,
)
