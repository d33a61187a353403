"""Variant scoring, one module per stage of the data flow: VCF records (``reader``, ``checks``)
-> alleles on strands (``units``, ``context``) -> windows (``windows``) -> model inputs and
scores (``predict``) -> effects (``deltas``) -> INFO values and table rows (``formatting``) ->
files (``writers``); ``run`` drives it over a whole VCF (``pipeline``: threads)."""
