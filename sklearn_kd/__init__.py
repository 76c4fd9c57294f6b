"""Knowledge distillation as a scikit-learn estimator.

Compress any fitted classifier (a random forest, gradient boosting, a pipeline,
a skorch net, an ensemble) into a small PyTorch network trained by skorch.

The names that train or hold torch modules are imported on first use, so that
``import sklearn_kd`` itself does not import torch.
"""

import importlib

__version__ = "0.2.0.dev0"

# Public name -> the private module defining it.
_LOCATIONS = {
    "DistilledClassifier": "._classifier",
    "DistilledRegressor": "._regressor",
    "MLP": "._student",
    "SharedTeacher": "._shared_teacher",
    "SpecialistEnsembleClassifier": "._specialists",
    "StudentClassifier": "._export",
    "StudentRegressor": "._export",
    "TeacherEnsemble": "._teacher_ensemble",
    "TrainingCurveDisplay": "._display",
    "UnlabelledRowsWarning": "._classifier",
    "load_student": "._export",
    "metrics": ".metrics",
    "register_skl2onnx_converters": "._skl2onnx",
    "skops_trusted_types": "._skops",
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
