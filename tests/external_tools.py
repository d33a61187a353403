"""External programs some tests use when present (bcftools), skipped cleanly when absent.

The tests pass with what ``pip install -e ".[dev]"`` installs. CI installs bcftools and sets
``VARBIND_REQUIRE_BCFTOOLS=1``, which turns a missing bcftools into a failure, so the checks
that need it cannot be skipped silently there.
"""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE_ENV = "VARBIND_REQUIRE_BCFTOOLS"


def bcftools() -> str:
    """Path of the ``bcftools`` binary; skips the test when it is not on PATH (fails when
    ``VARBIND_REQUIRE_BCFTOOLS=1``)."""
    path = shutil.which("bcftools")
    if path is not None:
        return path
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"bcftools is not on PATH but {REQUIRE_ENV}=1 (CI must install it)")
    pytest.skip("bcftools is not installed (CI installs it)")
