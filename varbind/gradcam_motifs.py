"""Moved to :mod:`varbind.interpret.gradcam_motifs`; this import path is kept for one release."""

from varbind.interpret.gradcam_motifs import (  # noqa: F401
    CALLS,
    MATCH_WIDTH,
    TOUCH_POSITIONS,
    Cluster,
    MotifCall,
    base_composition,
    call_motif_change,
    cluster_map,
    complete_linkage_labels,
    distance_matrix,
    gradcam_diffusion,
    map_diffusion,
    match_span,
    motif_clusters,
    rank_known_motifs,
    scale_map,
    span_sequences,
    strongest_motif,
    touch_pad,
)
