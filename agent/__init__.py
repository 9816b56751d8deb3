"""The township agent: a local case store and web API that works offline, and a sync loop to the county."""

__version__ = "0.1.0"
