"""Encodings shared by training and scoring: nucleotide codes, one-hot, region classes.

Sequences are held as ``uint8`` codes ``A=0, C=1, G=2, T=3, N=4`` (RNA ``U`` reads as ``T``;
any other letter reads as ``N``). One-hot tensors are channels last, ``(N, L, 4)`` in
``ACGT`` order. Region classes are ``int8`` codes into :data:`REGION_CLASSES`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ALPHABET = "ACGT"
N_CODE = 4

#: varbind's region classes, in code order. ``none`` (0) is "no annotation here".
REGION_CLASSES: tuple[str, ...] = (
    "none",
    "5utr",
    "cds",
    "3utr",
    "ncrna_exon",
    "intron",
    "promoter",
    "intergenic_proximal",
)
REGION_CODE = {name: code for code, name in enumerate(REGION_CLASSES)}

#: Channel names a model may declare that stand for several varbind classes.
REGION_GROUPS: dict[str, tuple[str, ...]] = {
    "exon": ("cds", "ncrna_exon"),
    "utr": ("5utr", "3utr"),
}

#: The region channel orders of the seed papers.
REGION_SCHEMES: dict[str, tuple[str, ...]] = {
    "deepripe": ("intron", "cds", "3utr", "5utr"),
    "polaris": ("3utr", "5utr", "intron", "exon", "promoter", "intergenic_proximal", "none"),
}

_ENCODE_TABLE = np.full(256, N_CODE, dtype=np.uint8)
for _code, _letters in enumerate(("Aa", "Cc", "Gg", "TtUu")):
    for _letter in _letters:
        _ENCODE_TABLE[ord(_letter)] = _code

_COMPLEMENT_CODE = np.array([3, 2, 1, 0, N_CODE], dtype=np.uint8)
_DECODE = np.frombuffer(b"ACGTN", dtype=np.uint8)
_COMPLEMENT = str.maketrans("ACGTUNacgtun", "TGCAANtgcaan")


def encode(seq: str | bytes) -> np.ndarray:
    """Sequence text to codes.

    Parameters
    ----------
    seq : str or bytes, length L

    Returns
    -------
    np.ndarray, shape (L,), uint8 codes (A0 C1 G2 T3 N4)
    """
    raw = seq.encode("ascii", "replace") if isinstance(seq, str) else bytes(seq)
    return _ENCODE_TABLE[np.frombuffer(raw, dtype=np.uint8)]


def encode_batch(seqs: Sequence[str]) -> np.ndarray:
    """Equal-length sequences to codes, shape ``(N, L)`` uint8."""
    if len(seqs) == 0:
        return np.zeros((0, 0), dtype=np.uint8)
    joined = "".join(seqs).encode("ascii", "replace")
    length = len(seqs[0])
    if len(joined) != length * len(seqs):
        raise ValueError("encode_batch needs sequences of equal length")
    return _ENCODE_TABLE[np.frombuffer(joined, dtype=np.uint8)].reshape(len(seqs), length)


def decode(codes: np.ndarray) -> str:
    """Codes ``(L,)`` back to an ``ACGTN`` string."""
    return _DECODE[np.asarray(codes, dtype=np.intp)].tobytes().decode("ascii")


def reverse_complement(seq: str) -> str:
    """Reverse complement of a DNA/RNA string (case kept, ``U`` becomes ``A``'s partner ``A``)."""
    return seq.translate(_COMPLEMENT)[::-1]


def reverse_complement_codes(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of codes along the last axis, shape kept ``(..., L)``."""
    return _COMPLEMENT_CODE[codes[..., ::-1]]


def one_hot(codes: np.ndarray, unknown: str = "zeros", dtype=np.float32) -> np.ndarray:
    """Codes ``(..., L)`` to one-hot ``(..., L, 4)`` in ACGT order.

    ``unknown`` sets the row for N: ``"zeros"`` (DeepRiPe, Multi-resBind) or ``"uniform"``
    (0.25 each).
    """
    table = np.zeros((5, 4), dtype=dtype)
    table[np.arange(4), np.arange(4)] = 1
    if unknown == "uniform":
        table[N_CODE] = 0.25
    elif unknown != "zeros":
        raise ValueError(f"unknown must be 'zeros' or 'uniform', got {unknown!r}")
    return table[np.asarray(codes, dtype=np.intp)]


def region_channel_table(channels: Sequence[str]) -> np.ndarray:
    """Lookup table from region code to a model's region channels.

    Parameters
    ----------
    channels : channel names in the model's order; each a varbind class
        (:data:`REGION_CLASSES`) or a group (:data:`REGION_GROUPS`).

    Returns
    -------
    np.ndarray, shape (len(REGION_CLASSES), len(channels)), float32; row ``code`` is the
    multi-hot vector of that class (all zeros when no channel covers it).
    """
    table = np.zeros((len(REGION_CLASSES), len(channels)), dtype=np.float32)
    for j, name in enumerate(channels):
        members = REGION_GROUPS.get(name, (name,))
        for member in members:
            if member not in REGION_CODE:
                known = ", ".join(list(REGION_CLASSES) + list(REGION_GROUPS))
                raise ValueError(f"unknown region channel {name!r}; known: {known}")
            table[REGION_CODE[member], j] = 1.0
    return table


def one_hot_regions(codes: np.ndarray, channels: Sequence[str]) -> np.ndarray:
    """Region codes ``(..., L)`` to channels ``(..., L, len(channels))`` float32."""
    return region_channel_table(channels)[np.asarray(codes, dtype=np.intp)]


def gc_fraction(codes: np.ndarray) -> np.ndarray:
    """GC fraction of each row of codes ``(N, L)`` among non-N bases, shape ``(N,)``."""
    codes = np.atleast_2d(codes)
    gc = ((codes == 1) | (codes == 2)).sum(axis=-1)
    called = (codes < N_CODE).sum(axis=-1)
    return gc / np.maximum(called, 1)


def log1p_tpm(tpm: np.ndarray) -> np.ndarray:
    """The expression transform used everywhere: ``log(1 + TPM)``, float32."""
    return np.log1p(np.maximum(np.asarray(tpm, dtype=np.float64), 0.0)).astype(np.float32)
