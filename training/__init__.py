"""varbind.training: CLIP peaks, training datasets, architectures, training and evaluation."""
