"""Moved to :mod:`varbind.genomics.variants`; this import path is kept for one release."""

from varbind.genomics.variants import (  # noqa: F401
    ALLELE_STATUSES,
    Event,
    Record,
    RefSpan,
    Variant,
    classify_alt,
    event_to_vcf,
    left_align,
    normalize,
    to_event,
)
