"""varbind: which variants change how RNA-binding proteins bind RNA."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("varbind")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
