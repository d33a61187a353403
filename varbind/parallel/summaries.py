"""The run summary of a sharded run: the shards' summaries combined as one
single-process run would have counted them."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence


def summary_to_dict(summary) -> dict:
    """A run summary as a JSON-able dict (dataclass, ``to_json()``/``to_dict()``, dict)."""
    if summary is None:
        return {}
    if isinstance(summary, dict):
        return dict(summary)
    for method in ("to_json", "to_dict"):
        if hasattr(summary, method):
            out = getattr(summary, method)()
            return json.loads(out) if isinstance(out, str) else dict(out)
    if dataclasses.is_dataclass(summary):
        return dataclasses.asdict(summary)
    return {}


#: How run-summary fields combine across shards when they are not plain counts.
SUMMARY_RULES = {"models": "first", "rbps": "first", "outputs": "drop", "seconds": "drop",
                 "variants_per_second": "drop", "top_effects": "top"}


TOP_EFFECTS = 5


def combine_summaries(summaries: Sequence[dict]) -> dict:
    """Add up run summaries: counts add, nested dicts of counts merge by key, the model list
    is the first shard's, ``top_effects`` keeps the strongest over all shards (ties in shard
    order, as one run over the file keeps them); timings and outputs are left to the caller."""
    out: dict = {}
    tops: list = []
    for summary in summaries:
        for key, value in summary.items():
            rule = SUMMARY_RULES.get(key)
            if rule == "drop":
                continue
            if rule == "top":
                tops.extend(value)
            elif key not in out:
                out[key] = _copy_summary_value(value)
            elif rule == "first":
                continue
            elif isinstance(value, bool):
                out[key] = out[key] or value
            elif isinstance(value, int | float) and isinstance(out[key], int | float):
                out[key] = out[key] + value
            elif isinstance(value, dict) and isinstance(out[key], dict):
                out[key] = combine_summaries([out[key], value])
    if any("top_effects" in s for s in summaries):
        out["top_effects"] = sorted(tops, key=lambda e: -abs(e["delta"]))[:TOP_EFFECTS]
    for key, value in out.items():  # counts by reason in sorted order, as one run writes them
        if isinstance(value, dict) and all(isinstance(v, int) for v in value.values()):
            out[key] = dict(sorted(value.items()))
    return out


def _copy_summary_value(value):
    return combine_summaries([value]) if isinstance(value, dict) else value
