"""The model-from-code file MLflow copies into every logged tradexp model (no pickled object).

It only names the class; the logic is the installed `tradexp.lifecycle.pyfunc_model`.
"""

import mlflow.models

from tradexp.lifecycle.pyfunc_model import TradexpPyfuncModel

mlflow.models.set_model(TradexpPyfuncModel())
