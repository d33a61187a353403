"""The genomic data layer: reference sequence, regions, VCF records as alleles, CLIP peaks
and known motifs (pure readers and types, no models)."""
