"""VCF records as typed alleles: coordinates, classification and normalisation.

A :class:`Record` is one VCF line; a :class:`Variant` is one of its ALT alleles exactly as the
VCF wrote it (1-based ``pos``, 0-based ``start``). Scoring works on an :class:`Event`: the
normalised change, "replace reference bases ``[start, end)`` (0-based, half-open) by
``inserted``", trimmed of shared bases and left-aligned through repeats, so one indel written
two ways gives the same windows.

Alleles that cannot be scored are classified, not dropped (see :data:`ALLELE_STATUSES`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

#: Why an allele (or a whole record) was not scored, and the flags a scored one may carry.
ALLELE_STATUSES: dict[str, str] = {
    "ok": "scored",
    "n_rich": "scored; more than N_RICH_FRACTION of a window is N (gap or padding)",
    "truncated": "scored; a window runs off the contig end and is padded with N",
    "long_indel": "scored; an indel longer than LONG_INDEL_FRACTION of the smallest model "
                  "window: the alleles' windows share little 3' flank",
    "outside_transcript": "no transcribed gene at the variant (scored on both strands only "
                          "with --all-strands)",
    "ref_mismatch": "not scored; REF differs from the FASTA",
    "unknown_contig": "not scored; the contig is not in the FASTA",
    "off_contig": "not scored; the position lies beyond the contig end",
    "symbolic_allele": "not scored; symbolic or breakend ALT (<DEL>, N[chr2:5[ ...)",
    "spanning_deletion": "not scored; ALT is '*' (overlapping deletion)",
    "no_alt": "not scored; ALT is '.' (no alternate allele)",
    "invalid_allele": "not scored; REF or ALT has letters other than ACGTN",
    "ref_equals_alt": "not scored; ALT is the same as REF",
}

_BASES = re.compile(r"^[ACGTN]+$")


class RefSpan:
    """0-based coordinates of REF for types holding a 1-based ``pos`` and ``ref``."""

    pos: int
    ref: str

    @property
    def start(self) -> int:
        """0-based position of the first REF base."""
        return self.pos - 1

    @property
    def end(self) -> int:
        """0-based exclusive end of REF."""
        return self.pos - 1 + len(self.ref)


@dataclass(frozen=True)
class Record(RefSpan):
    """One VCF line: where it is and its alleles as written (upper-cased).

    chrom : contig name as in the VCF
    pos : 1-based VCF POS
    id : VCF ID ('.' when missing)
    ref : REF
    alts : ALT alleles in order; empty when ALT is '.'
    """

    chrom: str
    pos: int
    id: str
    ref: str
    alts: tuple[str, ...]

    @classmethod
    def from_cyvcf(cls, rec) -> Record:
        """From a ``cyvcf2.Variant``."""
        return cls(chrom=rec.CHROM, pos=int(rec.POS), id=rec.ID or ".",
                   ref=rec.REF.upper(), alts=tuple(a.upper() for a in rec.ALT))

    def variants(self) -> list[Variant]:
        """One :class:`Variant` per ALT, in ALT order."""
        return [Variant(self.chrom, self.pos, self.ref, alt) for alt in self.alts]


@dataclass(frozen=True)
class Variant(RefSpan):
    """One ALT allele of a record, as written in the VCF.

    chrom : contig name as in the VCF
    pos : 1-based position of the first REF base
    ref, alt : the alleles
    """

    chrom: str
    pos: int
    ref: str
    alt: str

    @property
    def kind(self) -> str:
        """``snv``, ``mnv``, ``insertion``, ``deletion``, ``complex`` (after trimming),
        or the allele's status for alleles that are not sequence (see :func:`classify_alt`)."""
        status = classify_alt(self.ref, self.alt)
        if status is not None:
            return status
        return to_event(self).kind


@dataclass(frozen=True)
class Event:
    """A normalised change: reference ``[start, end)`` (0-based) replaced by ``inserted``.

    A pure insertion has ``start == end``; a pure deletion has ``inserted == ""``.
    """

    chrom: str
    start: int
    end: int
    inserted: str

    @property
    def ref_length(self) -> int:
        return self.end - self.start

    @property
    def kind(self) -> str:
        d, i = self.end - self.start, len(self.inserted)
        if d == i:
            return "snv" if d == 1 else "mnv"
        if d == 0:
            return "insertion"
        if i == 0:
            return "deletion"
        return "complex"


def classify_alt(ref: str, alt: str) -> str | None:
    """Status of an allele that cannot be scored as sequence, or None if it can.

    Returns one of ``symbolic_allele``, ``spanning_deletion``, ``no_alt``, ``invalid_allele``,
    ``ref_equals_alt`` (see :data:`ALLELE_STATUSES`), or None.
    """
    if alt in (".", ""):
        return "no_alt"
    if alt == "*":
        return "spanning_deletion"
    if alt.startswith("<") or "[" in alt or "]" in alt or alt.startswith(".") \
            or alt.endswith("."):
        return "symbolic_allele"
    if not _BASES.match(alt) or not _BASES.match(ref):
        return "invalid_allele"
    if alt == ref:
        return "ref_equals_alt"
    return None


def to_event(variant: Variant) -> Event:
    """Trim the bases REF and ALT share (suffix first, then prefix); no left-alignment."""
    ref, alt = variant.ref, variant.alt
    suffix = 0  # counted, not sliced base by base: long alleles stay linear
    while suffix < min(len(ref), len(alt)) and ref[-1 - suffix] == alt[-1 - suffix]:
        suffix += 1
    ref, alt = ref[:len(ref) - suffix], alt[:len(alt) - suffix]
    prefix = 0
    while prefix < min(len(ref), len(alt)) and ref[prefix] == alt[prefix]:
        prefix += 1
    start = variant.start + prefix
    return Event(variant.chrom, start, start + len(ref) - prefix, alt[prefix:])


def left_align(event: Event, fetch: Callable[[int, int], str]) -> Event:
    """Shift a pure insertion or deletion as far left as the reference allows.

    Parameters
    ----------
    event : a trimmed event
    fetch : ``fetch(start, end) -> str``, upper-case reference bases of ``[start, end)``

    Returns
    -------
    Event, the same change at its leftmost equivalent position (substitutions and complex
    events are returned unchanged).
    """
    start, end, inserted = event.start, event.end, event.inserted
    if (end > start) == bool(inserted):  # substitution, complex or empty: nothing to shift
        return event
    # The moved bases are the deleted reference or the inserted ones; rotate them while the
    # reference base before them repeats their last base.
    moved = inserted or fetch(start, end)
    while start > 0:
        before = fetch(start - 1, start)
        if before != moved[-1] or before == "N":
            break
        moved = before + moved[:-1]
        start, end = start - 1, end - 1
    return Event(event.chrom, start, end, moved if inserted else inserted)


def normalize(variant: Variant, fetch: Callable[[int, int], str]) -> Event:
    """Trimmed and left-aligned event of a sequence allele (see :func:`left_align`)."""
    return left_align(to_event(variant), fetch)


def event_to_vcf(event: Event, fetch: Callable[[int, int], str]) -> Variant:
    """VCF spelling of an event: indels get the anchor base before them (after at the
    contig start), as ``bcftools norm`` writes them."""
    ref = fetch(event.start, event.end)
    if event.ref_length and event.inserted and event.ref_length == len(event.inserted):
        return Variant(event.chrom, event.start + 1, ref, event.inserted)
    if event.start > 0:
        anchor = fetch(event.start - 1, event.start)
        return Variant(event.chrom, event.start, anchor + ref, anchor + event.inserted)
    anchor = fetch(event.end, event.end + 1)
    return Variant(event.chrom, 1, ref + anchor, event.inserted + anchor)
