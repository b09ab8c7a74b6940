"""Configuration: domain validation, loading without training, history and diff."""

from tradexp.config.history import ConfigChange, diff_configs, run_config
from tradexp.config.validation import config_problems, validate_config

__all__ = ["validate_config", "config_problems", "ConfigChange", "diff_configs", "run_config"]
