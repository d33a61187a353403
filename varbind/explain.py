"""Moved to :mod:`varbind.interpret.explain`; this import path is kept for one release."""

from varbind.interpret.explain import (  # noqa: F401
    CONSEQUENCES,
    EXPLAIN_COLUMNS,
    EXPLAIN_FORMAT,
    ChunkExplainer,
    ExplainSettings,
    add_arguments,
    add_explanations,
    check_models,
    header_lines,
    parse_methods,
    score_with_explanations,
    settings_from_args,
)
