"""Shared fixtures. Keep TensorFlow quiet and deterministic in tests."""

import atexit
import os
import shutil
import tempfile

from hypothesis import settings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")

# Property tests check correctness, not speed: a busy machine must not fail them on time.
settings.register_profile("varbind", deadline=None)
settings.load_profile("varbind")

# Annotation caches go to a throwaway folder, never the user's ~/.cache/varbind.
if "VARBIND_CACHE" not in os.environ:
    _cache = tempfile.mkdtemp(prefix="varbind-test-cache-")
    os.environ["VARBIND_CACHE"] = _cache
    atexit.register(shutil.rmtree, _cache, True)
