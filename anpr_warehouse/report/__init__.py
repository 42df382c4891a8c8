"""The municipal report: standard visualisations from the metric layer, as a static offline site."""

from .site import build_report

__all__ = ["build_report"]
