"""Meshsmith: self-hosted image-to-3D generation."""

__version__ = "0.1.0"
