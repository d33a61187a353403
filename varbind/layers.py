"""Custom Keras layers shared by the architectures, registered for loading bundles.

Every layer here is built from ``keras.ops`` only, so saved models run on any Keras backend.
"""

from __future__ import annotations

CUSTOM_OBJECTS: dict = {}
