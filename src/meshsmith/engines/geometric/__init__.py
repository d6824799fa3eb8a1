"""The default engine: silhouettes, inflation and visual hulls on the CPU, no weights."""

from meshsmith.engines.geometric.engine import GeometricEngine

__all__ = ["GeometricEngine"]
