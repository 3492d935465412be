"""kioskd: one daemon per government service hall."""

__version__ = "0.1.0"
