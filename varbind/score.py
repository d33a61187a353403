"""Moved: variant scoring lives in :mod:`varbind.scoring` (``score_vcf`` in
:mod:`varbind.scoring.run`). The names stay importable from here for one release."""

from varbind.scoring.checks import (  # noqa: F401
    check_records,
    strict_message,
)
from varbind.scoring.chunk import (  # noqa: F401
    ChunkScorer,
    group_by,
)
from varbind.scoring.formatting import (  # noqa: F401
    allele_statuses,
    effect_table,
    format_chunk,
    format_floats,
    unit_flags,
)
from varbind.scoring.options import (  # noqa: F401
    ScoreHooks,
    ScoreOptions,
)
from varbind.scoring.pipeline import (  # noqa: F401
    InOrderWorker,
    prefetch,
)
from varbind.scoring.reader import (  # noqa: F401
    chunks,
    iter_records,
    open_vcf,
)
from varbind.scoring.results import (  # noqa: F401
    ChunkResult,
    RecordOutput,
    RunSummary,
)
from varbind.scoring.run import (  # noqa: F401
    RunTally,
    check_contig_names,
    default_summary_path,
    score_vcf,
)
from varbind.scoring.scorer import (  # noqa: F401
    Scorer,
    header_value,
)
