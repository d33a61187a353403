"""Genomic regions as users write them: ``chr1``, ``chr1:100``, ``chr1:100-200``,
``chr1:1,000-2,000``, ``chr1:100-`` and, for contig names holding ``:`` (HLA alleles),
braces as htslib reads them: ``{HLA-A*01:01:01:01}:1-500``.

Coordinates are 1-based and inclusive, as in VCF ``POS``; a region without an end runs to
the end of its contig. :func:`parse_region` is the one parser (``varbind score --region``,
the Dask partition plan); :meth:`Region.resolve` names the contig as a file does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from varbind.errors import VarbindError
from varbind.genomics.genome import ContigResolver

_PATTERN = re.compile(r"\{(?P<braced>[^}]+)\}(?::(?P<bspan>.*))?"
                      r"|(?P<plain>[^:\s]+)(?::(?P<span>.*))?")
_SPAN = re.compile(r"(\d+)(?:-(\d*))?")
_SYNTAX_FIX = ("write CONTIG, CONTIG:START or CONTIG:START-END (1-based, inclusive; "
               "{NAME}:START-END for contig names with ':')")


@dataclass(frozen=True)
class Region:
    """A span of one contig.

    chrom : contig name (without braces)
    start : first base, 1-based; None: from the contig start
    end : last base, 1-based inclusive; None: to the contig end
    """

    chrom: str
    start: int | None = None
    end: int | None = None

    def __str__(self) -> str:
        """The region as htslib reads it (``chr1``, ``chr1:100``, ``chr1:100-200``)."""
        text = f"{{{self.chrom}}}" if ":" in self.chrom else self.chrom
        if self.start is None:
            return text
        return f"{text}:{self.start}" + (f"-{self.end}" if self.end is not None else "")

    def bounds(self, open_end: int) -> tuple[int, int]:
        """``(start, end)``, 1-based inclusive, with 1 and ``open_end`` for open ends."""
        return (self.start or 1), (open_end if self.end is None else self.end)

    def resolve(self, contigs: Sequence[str], what: str = "region",
                where: str = "the VCF") -> Region:
        """This region with its contig named as in ``contigs`` (``1`` / ``chr1``, ``MT`` /
        ``chrM``); raises a VarbindError naming ``what`` and ``where`` when it is not there."""
        if not contigs:
            return self
        name = ContigResolver(list(contigs)).resolve(self.chrom)
        if name is None:
            raise VarbindError(f"{what} contig {self.chrom!r} is not in {where}",
                               fix=f"choose from: {', '.join(list(contigs)[:10])}")
        return replace(self, chrom=name)


def parse_region(text: str, what: str = "region") -> Region:
    """Read a region string (forms in the module docstring); raises a VarbindError, naming
    the input as ``what`` (e.g. ``--region``), for text that is not a region or a span that is
    empty or starts before 1."""
    stripped = text.strip()
    match = _PATTERN.fullmatch(stripped)
    if not match or not stripped:
        raise VarbindError(f"cannot read {what} {text!r}", fix=_SYNTAX_FIX)
    chrom = match["braced"] or match["plain"]
    span = ((match["bspan"] if match["braced"] else match["span"]) or "").replace(",", "")
    if not span:
        return Region(chrom)
    bounds = _SPAN.fullmatch(span)
    if not bounds:
        raise VarbindError(f"cannot read {what} {text!r}", fix=_SYNTAX_FIX)
    start = int(bounds[1])
    end = int(bounds[2]) if bounds[2] else None
    if start < 1 or (end is not None and end < start):
        raise VarbindError(f"{what} {text!r} is empty or starts before 1",
                           fix="give START >= 1 and END >= START")
    return Region(chrom, start, end)
