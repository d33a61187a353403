"""The genomic data layer: reference sequence, regions, CLIP peaks (pure readers, no models)."""
