"""Make the project's own input data: no downloads needed."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
