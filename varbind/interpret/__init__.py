"""Interpretation: attribution maps (integrated gradients, GradCAM, ISM), explanations of
scored variants, motif calls and discovery, global importance analysis, plots and the
attribution store. Built on :mod:`varbind.scoring` (it reuses the scoring loop)."""
