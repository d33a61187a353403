"""A simulated world with known ground truth: genome, genes, expression, CLIP peaks and
variants whose effect on RBP binding is known (``varbind simulate``)."""

from varbind.simulate.panel import RBP_PANEL, SIZES
from varbind.simulate.world import World, simulate_world

__all__ = ["World", "simulate_world", "RBP_PANEL", "SIZES"]
