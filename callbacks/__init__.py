"""Lightning callbacks that make any run traceable and explained; they never import tradexp.

    import lightning as L
    from callbacks import ArchitectureSummary, DataDistribution, EnvironmentCapture, EvaluationPlots, LearningCurves

    trainer = L.Trainer(callbacks=[ArchitectureSummary(), EnvironmentCapture(), DataDistribution(),
                                   LearningCurves(), EvaluationPlots()])

With an `MLFlowLogger` the files become artifacts of its run (`model/`, `environment/`, `data/`,
`plots/`, `predictions/`); with any other logger (or none) they are written under `trainer.log_dir`.
A failure inside a callback is warned about and recorded (tag `tradexp.callback_errors`, or
`callback_errors.txt`) and training goes on, unless the callback was made with `strict=True`.
"""

from callbacks.architecture import ArchitectureSummary
from callbacks.data_distribution import DataDistribution
from callbacks.environment import EnvironmentCapture
from callbacks.epoch_lines import EpochLines
from callbacks.evaluation_plots import EvaluationPlots
from callbacks.git_state import git_state
from callbacks.redaction import strip_credentials
from callbacks.learning_curves import LearningCurves

__all__ = [
    "ArchitectureSummary",
    "DataDistribution",
    "EnvironmentCapture",
    "EpochLines",
    "EvaluationPlots",
    "LearningCurves",
    "git_state",
    "strip_credentials",
]
