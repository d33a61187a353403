"""What scoring and interpretation need to know about the built-in architectures, without
building them (the builders live in :mod:`varbind.training.models`)."""

from __future__ import annotations

ARCHITECTURES = ("multiresbind", "deepripe", "polaris", "residualbind", "rnassr")


def last_conv_layer(arch: str, prefix: str = "") -> str:
    """Name of the architecture's last convolutional feature map, the one GradCAM uses
    (``prefix``: the RBP prefix of a joined per-RBP model, e.g. ``"QKI."``)."""
    return {"multiresbind": "res_out", "residualbind": "res_out", "deepripe": "conv_merged",
            "polaris": f"{prefix}conv2", "rnassr": "conv2"}[arch]
