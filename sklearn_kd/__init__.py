"""Knowledge distillation as a scikit-learn estimator.

Compress any fitted classifier (a random forest, gradient boosting, a pipeline,
a skorch net, an ensemble) into a small PyTorch network trained by skorch.

The names that train or hold torch modules are imported on first use, so that
``import sklearn_kd`` itself does not import torch.
"""

import importlib

from . import _moved_modules

__version__ = "0.2.0.dev0"

_moved_modules.install()

# Public name -> the private module defining it.
_LOCATIONS = {
    "DistilledClassifier": "._classifier",
    "DistilledRegressor": "._regressor",
    "MLP": ".student._network",
    "SharedTeacher": ".teacher._shared",
    "SpecialistEnsembleClassifier": ".teacher._specialists",
    "StudentClassifier": ".serving._export",
    "StudentRegressor": ".serving._export",
    "TeacherEnsemble": ".teacher._ensemble",
    "TrainingCurveDisplay": "._display",
    "UnlabelledRowsWarning": "._classifier",
    "load_student": ".serving._export",
    "metrics": ".metrics",
    "register_skl2onnx_converters": ".serving._skl2onnx",
    "skops_trusted_types": ".serving._skops",
}

__all__ = sorted(_LOCATIONS)


def __getattr__(name):
    if name not in _LOCATIONS:
        raise AttributeError(f"module 'sklearn_kd' has no attribute {name!r}")
    module = importlib.import_module(_LOCATIONS[name], __name__)
    value = module if name == "metrics" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *__all__])
