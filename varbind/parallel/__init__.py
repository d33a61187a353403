"""Genome-wide scoring on Dask (one module per stage): :mod:`~varbind.parallel.partitions`,
:mod:`~varbind.parallel.vcf_index`, :mod:`~varbind.parallel.shards`,
:mod:`~varbind.parallel.summaries`, :mod:`~varbind.parallel.merge`, :mod:`~varbind.parallel.bgzf`,
:mod:`~varbind.parallel.cluster` and :mod:`~varbind.parallel.run` (the driver,
:func:`score_parallel`). The public names are importable from here."""

from varbind.parallel.bgzf import (  # noqa: F401
    BGZF_EOF,
    BgzfReader,
    BgzfWriter,
    PlainWriter,
    TextReader,
    open_binary,
    shard_reader,
)
from varbind.parallel.cluster import (  # noqa: F401
    THREAD_ENV_VARS,
    ClusterSettings,
    dask_client,
    limit_threads,
    parse_dask_spec,
    pin_gpu,
    thread_environment,
    worker_plugin,
)
from varbind.parallel.merge import (  # noqa: F401
    RUN_HEADER_PREFIX,
    count_owned_records,
    merge_tsv_shards,
    merge_vcf_shards,
)
from varbind.parallel.partitions import (  # noqa: F401
    DEFAULT_PARTITION_SIZE,
    OPEN_END,
    Partition,
    plan_partitions,
)
from varbind.parallel.run import (  # noqa: F401
    ParallelSummary,
    default_shard_dir,
    parse_size,
    run_header_lines,
    score_parallel,
    temporary_dir,
)
from varbind.parallel.shards import (  # noqa: F401
    LOADED_FIELDS,
    MARKER_SUFFIX,
    RUN_SPECIFIC_FIELDS,
    SHARD_MANIFEST,
    SHARD_PREFIX,
    WORKER_CACHE,
    ExplainingScore,
    ScoreFunction,
    ShardPaths,
    ShardResult,
    cached_scorer,
    default_score_function,
    options_fingerprint,
    partition_options,
    read_marker,
    score_partition,
    score_vcf_cached,
    write_marker,
)
from varbind.parallel.summaries import (  # noqa: F401
    SUMMARY_RULES,
    TOP_EFFECTS,
    combine_summaries,
    summary_to_dict,
)
from varbind.parallel.vcf_index import (  # noqa: F401
    ensure_index,
)
