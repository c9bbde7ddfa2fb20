"""Fit and score one candidate model per namespace; the candidates run in parallel."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
