"""airshield: early warning of air threats for people and infrastructure (never controls weapons)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("airshield")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0+unknown"
