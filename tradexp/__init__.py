"""tradexp: experiment management for deep-learning trading models."""

__version__ = "0.1.0"

__all__ = ["__version__"]
