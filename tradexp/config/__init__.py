"""Configuration: domain validation, loading without training, history and diff."""

from tradexp.lazy_exports import lazy_exports

__all__ = ["validate_config", "config_problems", "ConfigChange", "diff_configs", "run_config"]

__getattr__, __dir__ = lazy_exports(
    __name__, {"tradexp.config.history": ("ConfigChange", "diff_configs", "run_config"), "tradexp.config.validation": ("config_problems", "validate_config")}
)
