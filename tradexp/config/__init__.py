"""Configuration: domain validation (and, later, history and diff)."""

from tradexp.config.validation import validate_config

__all__ = ["validate_config"]
