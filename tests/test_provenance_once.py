"""The provenance header is computed once per loaded scorer, not once per partition: a Dask
worker scores many partitions with one Scorer, and the digests read whole files (a human
GTF is over a gigabyte uncompressed)."""

from __future__ import annotations

import dataclasses
import gzip
import sys
from collections import Counter
from pathlib import Path

import pysam
import scoring_world as sw

from varbind.scoring.options import ScoreOptions
from varbind.scoring.run import score_vcf
from varbind.scoring.scorer import Scorer


def header(path: Path) -> list[str]:
    with gzip.open(path, "rt") as fh:
        return [line for line in fh if line.startswith("##varbind_")
                and not line.startswith(("##varbind_run", "##varbind_parameters"))]


def test_provenance_is_hashed_once_per_loaded_scorer(tmp_path, monkeypatch):
    world = sw.build_world(tmp_path / "world")
    pysam.tabix_index(str(world["vcf"]), preset="vcf", force=True)  # regions need an index
    world["vcf"] = Path(str(world["vcf"]) + ".gz")
    module = sys.modules[Scorer.__module__]
    real, hashed = module.file_digest, Counter()

    def counting(path, *args, **kwargs):
        hashed[Path(path).name] += 1
        return real(path, *args, **kwargs)

    monkeypatch.setattr(module, "file_digest", counting)
    options = ScoreOptions(vcf=world["vcf"], fasta=world["fasta"], models=world["models"],
                           gtf=world["gtf"], expression=world["expression"],
                           annotation_cache=tmp_path / "cache", batch_size=4)
    scorer = Scorer(options)
    regions = ["chr1:1-100", "chr1:101-200", "chr2"]  # three partitions on one worker
    for k, region in enumerate(regions):
        score_vcf(dataclasses.replace(options, region=region, output=tmp_path / f"{k}.vcf.gz"),
                  scorer=scorer)
    assert hashed[Path(world["gtf"]).name] == 1
    assert hashed[Path(world["expression"]).name] == 1
    assert hashed[Path(str(world["fasta"]) + ".fai").name] == 1
    # every partition still carries the same provenance, digests included
    headers = [header(tmp_path / f"{k}.vcf.gz") for k in range(len(regions))]
    assert headers[0] == headers[1] == headers[2]
    assert any("##varbind_annotation=" in h and "Hash=sha256:" in h for h in headers[0])
    # a scorer loaded anew (another run) hashes again
    Scorer(options).provenance_lines()
    assert hashed[Path(world["gtf"]).name] == 2
