"""The error hierarchy: one root that the CLI catches and prints as a single message."""

from __future__ import annotations

__all__ = ["TradexpError", "DataValidationError", "ConfigError", "TrackingError"]


class TradexpError(Exception):
    """Root of every domain error tradexp raises; the CLI prints its message without a traceback."""


class DataValidationError(TradexpError):
    """A bar file or frame breaks a rule (names the rule and the offending rows)."""


class ConfigError(TradexpError):
    """A configuration value breaks a domain rule (names the config path, the value, what is allowed)."""


class TrackingError(TradexpError):
    """The tracking store cannot be reached or used (names the URI and how to fix it)."""
