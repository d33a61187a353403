"""Score a VCF: every allele's windows on its transcribed strand(s) through every model.

:func:`score_vcf` is the one function that does the work (the CLI and the Dask layer both call
it). It streams the VCF in chunks of ``batch_size`` records, so memory does not grow with the
number of variants, and for each chunk:

1. reads the records (:mod:`varbind.scoring.reader`, :mod:`varbind.genomics.variants`),
   checks contig, position and REF against the FASTA (:mod:`varbind.scoring.checks`) and
   classifies ALTs that are not sequence;
2. normalises each ALT to an event and finds its strand(s), gene and expression
   (:mod:`varbind.scoring.context`);
3. builds reference windows (one per distinct event span and strand, shared by the ALTs) and
   alternate windows with their region classes (:mod:`varbind.scoring.windows`);
4. runs every model on them in batches (:mod:`varbind.scoring.predict`) and takes deltas
   (:mod:`varbind.scoring.deltas`);
5. writes the annotated VCF and the table (:mod:`varbind.scoring.writers`).

Steps 1-3 run in a background thread for the next chunk while the models run on this one,
and step 5 in a writer thread, so the model is rarely idle (see
``tests/benchmarks/bench_score.py``). Output order is input order.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import logging
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from varbind.contig_names import check_annotation_contigs
from varbind.errors import VarbindError
from varbind.files import atomic_output
from varbind.genomics.region import parse_region
from varbind.scoring.chunk import ChunkScorer
from varbind.scoring.formatting import format_chunk
from varbind.scoring.options import ScoreHooks
from varbind.scoring.pipeline import InOrderWorker, prefetch
from varbind.scoring.predict import BatchFunction, forward
from varbind.scoring.reader import chunks, iter_records, open_vcf
from varbind.scoring.results import RunSummary
from varbind.scoring.scorer import Scorer
from varbind.scoring.writers import TableWriter, VcfWriter, table_kind, vcf_kind

if TYPE_CHECKING:
    from varbind.scoring.options import ScoreOptions
    from varbind.scoring.results import ChunkResult, RecordOutput

log = logging.getLogger(__name__)


def default_summary_path(options: ScoreOptions) -> Path | None:
    if options.summary is not None:
        return Path(options.summary)
    main = options.output or options.table
    return Path(str(main) + ".summary.json") if main is not None else None


def score_vcf(options: ScoreOptions,
              on_chunk: Callable[[ChunkResult], None] | None = None,
              func: BatchFunction = forward, scorer: Scorer | None = None,
              hooks: ScoreHooks | None = None) -> RunSummary:
    """Score every record of ``options.vcf`` (or of ``options.region``) and write the outputs.

    Parameters
    ----------
    options : the run's inputs, outputs and parameters
    on_chunk : called with each :class:`ChunkResult` (windows and raw scores) after scoring,
        before writing; attribution hooks in here
    func : per-batch model function (see :mod:`varbind.scoring.predict`)
    scorer : inputs already loaded for these options (genome, annotation, models); the Dask
        layer keeps one per worker process so that models load once per worker
    hooks : extra header lines, table columns and per-chunk callbacks (see
        :class:`ScoreHooks`; ``on_chunk`` above is a shorthand for ``hooks.on_chunk``)

    Returns
    -------
    RunSummary (also written as JSON beside the output).
    """
    t0 = time.perf_counter()
    hooks = hooks or ScoreHooks()
    if on_chunk is not None:
        hooks = replace(hooks, on_chunk=on_chunk)
    if options.output is None and options.table is None:
        raise VarbindError("no output given", fix="pass -o out.vcf.gz and/or --tsv out.tsv")
    vcf_out_kind = vcf_kind(options.output) if options.output is not None else None
    table_out_kind = table_kind(options.table) if options.table is not None else None
    vcf = open_vcf(options.vcf)
    region = str(parse_region(options.region, "--region").resolve(
        list(vcf.seqnames), "--region")) if options.region else None
    scorer = Scorer(options) if scorer is None else scorer.with_options(options)
    chunk_scorer = ChunkScorer(scorer, func=func)
    summary = RunSummary(models=[{"name": b.name, "hash": b.digest, "rbps": len(scorer.labels[
        b.name])} for b in scorer.bundles], rbps=scorer.n_rbps)
    tally = RunTally()

    summary_path = default_summary_path(options)
    with contextlib.ExitStack() as stack:
        vcf_writer = table_writer = None
        if options.output is not None:
            tmp = stack.enter_context(atomic_output(options.output, suffixes=(".tbi",)))
            vcf_writer = VcfWriter(tmp, vcf, scorer.header_lines() + list(hooks.header_lines),
                                   compressed=vcf_out_kind == "vcf.gz")
            summary.outputs["vcf"] = str(options.output)
        if options.table is not None:
            tmp_t = stack.enter_context(atomic_output(options.table))
            table_writer = TableWriter(tmp_t, table_out_kind, hooks.table_columns)
            summary.outputs["table"] = str(options.table)
        progress = stack.enter_context(_progress(vcf, options.progress, region))

        def emit(item: tuple[list, ChunkResult]) -> None:
            """Format and write one scored chunk (runs in the writer thread)."""
            lines, result = item
            out = format_chunk(scorer, result)
            if hooks.on_output is not None:
                hooks.on_output(result, out)
            if vcf_writer is not None:
                vcf_writer.write_lines(lines, out.info)
            if table_writer is not None:
                table_writer.write(out.table)
            tally.add(result, out)
            progress.update(len(result.records))

        stream = chunks(iter_records(vcf, options.vcf, region), scorer.options.batch_size)
        stream = check_contig_names(scorer, list(vcf.seqnames), stream)
        # Three stages overlap: reading + windows (prefetch thread), the models (this
        # thread), formatting + writing (writer thread), so the model is rarely idle.
        with InOrderWorker(emit) as writer:
            for lines, prepared in prefetch(stream, chunk_scorer.prepare):
                result = chunk_scorer.predict(prepared)
                if hooks.on_chunk is not None:
                    hooks.on_chunk(result)
                writer.submit((lines, result))
        if vcf_writer is not None:
            vcf_writer.close()
        if table_writer is not None:
            table_writer.close()
        tally.fill(summary)
        summary.seconds = time.perf_counter() - t0
        summary.variants_per_second = summary.records / max(summary.seconds, 1e-9)
        if summary_path is not None:
            summary.outputs["summary"] = str(summary_path)
            with atomic_output(summary_path) as tmp_s:
                tmp_s.write_text(json.dumps(summary.to_json(), indent=2) + "\n")
    log.info("scored %d records in %.1f s", summary.records, summary.seconds)
    return summary


def check_contig_names(scorer: Scorer, vcf_contigs: list[str],
                       stream: Iterator[list]) -> Iterator[list]:
    """``stream`` after checking that the annotation names the VCF's contigs (see
    :func:`varbind.contig_names.check_annotation_contigs`); the contigs come from the VCF's
    index or header, else from the first chunk's records. No check with --all-strands."""
    index = scorer.context.index
    if index is None or scorer.options.all_strands:
        yield from stream
        return

    def check(names) -> None:
        check_annotation_contigs(scorer.genome.lengths, scorer.genome.resolve, index.resolve,
                                 names, scorer.options.gtf)

    if vcf_contigs:
        check(vcf_contigs)
    for n, chunk in enumerate(stream):
        if n == 0 and not vcf_contigs:
            check(dict.fromkeys(rec.CHROM for rec in chunk))
        yield chunk


class RunTally:
    """Counts for the run summary, added chunk by chunk."""

    def __init__(self):
        self.records = self.records_scored = self.alleles = self.alleles_scored = 0
        self.windows = 0
        self.not_scored: Counter = Counter()
        self.records_not_scored: Counter = Counter()
        self.flags: Counter = Counter()
        self.strands: Counter = Counter()
        self.top: list[tuple] = []

    def add(self, result: ChunkResult, out: RecordOutput) -> None:
        n = len(result.records)
        self.records += n
        status = np.array(out.allele_status, dtype=object)
        record = result.alleles.record
        scored = np.array([s.startswith("ok") for s in status], dtype=bool)
        self.alleles += len(status)  # a record without ALT ('.') counts as one allele
        self.alleles_scored += int(scored.sum())
        self.not_scored.update(status[~scored].tolist())
        for s in status[scored]:
            if "&" in s:
                self.flags.update(s.split("&")[1:])
        record_scored = np.bincount(record[scored], minlength=n) > 0
        self.records_scored += int(record_scored.sum())
        first = np.searchsorted(record, np.flatnonzero(~record_scored))
        self.records_not_scored.update(status[first].tolist())
        if len(result.units):
            self.strands.update(result.units.strand.tolist())
            self.windows += len(result.units) + len(np.unique(result.units.ref_unit))
        self.top = heapq.nlargest(5, self.top + out.top, key=lambda t: t[0])

    def fill(self, summary: RunSummary) -> None:
        summary.records, summary.records_scored = self.records, self.records_scored
        summary.alleles, summary.alleles_scored = self.alleles, self.alleles_scored
        summary.windows = self.windows
        summary.alleles_not_scored = dict(sorted(self.not_scored.items()))
        summary.records_not_scored = dict(sorted(self.records_not_scored.items()))
        summary.flags = dict(sorted(self.flags.items()))
        summary.strands_scored = dict(sorted(self.strands.items()))
        summary.top_effects = [t[1] for t in self.top]


def _progress(vcf, enabled: bool, region):
    from tqdm import tqdm

    total = None
    if enabled and region is None:
        with contextlib.suppress(Exception):
            total = int(vcf.num_records)
    return tqdm(total=total, unit=" variants", disable=not enabled or not sys.stderr.isatty(),
                file=sys.stderr, smoothing=0.1, dynamic_ncols=True)
