"""The model layer: what a model sees and how it is stored, shared by scoring, interpretation
and training (model inputs, RNAplfold structure, architectures' declared layers)."""
