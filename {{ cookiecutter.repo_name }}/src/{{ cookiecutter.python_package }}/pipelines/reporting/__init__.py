"""Compare the candidates and pick the best one."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
