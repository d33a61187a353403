"""Known RBP motifs: the packaged RNAcompete set (Ray et al. 2013) in MEME format."""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from varbind.errors import InputFileError


@dataclass(frozen=True)
class Motif:
    """A position frequency matrix.

    id : e.g. ``RNCMPT00001``; rbp : e.g. ``A1CF``
    pfm : (W, 4) float64 letter probabilities in ACGU (= ACGT) order, rows sum to 1
    """

    id: str
    rbp: str
    pfm: np.ndarray

    @property
    def width(self) -> int:
        return self.pfm.shape[0]

    def consensus(self) -> str:
        return "".join("ACGT"[i] for i in self.pfm.argmax(axis=1))

    def log_odds(self, background: float = 0.25, pseudo: float = 1e-3) -> np.ndarray:
        """(W, 4) log2 odds against a uniform background."""
        return np.log2((self.pfm + pseudo) / (1 + 4 * pseudo) / background)


def packaged_meme_path() -> Path:
    return Path(str(resources.files("varbind") / "data" / "motifs" / "Ray2013_rbp_RNA.meme"))


def read_meme(path: str | os.PathLike | None = None) -> list[Motif]:
    """Parse a MEME motif file (default: the packaged RNAcompete set)."""
    path = Path(path) if path is not None else packaged_meme_path()
    if not path.is_file():
        raise InputFileError("motif file not found", path=path,
                             fix="pass a MEME-format motif file (e.g. from the MEME suite)")
    motifs: list[Motif] = []
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("MOTIF"):
            parts = line.split()
            motif_id = parts[1]
            rbp = parts[2] if len(parts) > 2 else parts[1]
            while i < len(lines) and not lines[i].strip().startswith("letter-probability"):
                i += 1
            if i >= len(lines):
                raise InputFileError(f"motif {motif_id} has no letter-probability matrix",
                                     path=path)
            width = int(lines[i].split("w=")[1].split()[0])
            rows = [list(map(float, lines[i + 1 + k].split())) for k in range(width)]
            pfm = np.asarray(rows, dtype=np.float64)
            pfm /= pfm.sum(axis=1, keepdims=True)
            motifs.append(Motif(motif_id, rbp, pfm))
            i += width
        i += 1
    return motifs


def motifs_by_rbp(path: str | os.PathLike | None = None) -> dict[str, list[Motif]]:
    """RBP name -> its motifs (some RBPs have several RNAcompete entries)."""
    out: dict[str, list[Motif]] = {}
    for m in read_meme(path):
        out.setdefault(m.rbp, []).append(m)
    return out
