"""From a run to a trading bot: the logged model, the registry with its gate, predict and decay scoring.

tradexp register RUN_ID --name spy-mlp --alias champion
tradexp predict --model models:/spy-mlp@champion --data new_bars.csv -o signals.csv
mlflow models serve -m models:/spy-mlp@champion --env-manager local -h 127.0.0.1 -p 5001
"""

from tradexp.lazy_exports import lazy_exports

__all__ = ["LogTradexpModel", "log_model", "BarPipeline", "TradingRule"]

__getattr__, __dir__ = lazy_exports(__name__, {"tradexp.lifecycle.model_logging": ("LogTradexpModel", "log_model"), "tradexp.lifecycle.pipeline": ("BarPipeline", "TradingRule")})
