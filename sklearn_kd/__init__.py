"""Knowledge distillation as a scikit-learn estimator.

Compress any fitted classifier (a random forest, gradient boosting, a pipeline,
a skorch net, an ensemble) into a small PyTorch network trained by skorch.
"""

from . import metrics
from ._distilled import DistilledClassifier
from ._export import StudentClassifier
from ._specialists import SpecialistEnsembleClassifier
from ._student import MLP
from ._teacher_ensemble import TeacherEnsemble

__version__ = "0.1.0"

__all__ = [
    "MLP",
    "DistilledClassifier",
    "SpecialistEnsembleClassifier",
    "StudentClassifier",
    "TeacherEnsemble",
    "metrics",
]
