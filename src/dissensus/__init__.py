"""dissensus: self-learning product catalog enrichment."""

__version__ = "0.1.0"
