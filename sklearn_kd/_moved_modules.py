"""The modules' former paths, so that pickles written before the move load.

In 0.2.0 the private modules moved into the wings ``teacher``, ``student`` and
``serving``. A pickle names each class by the module it was defined in; a
finder on ``sys.meta_path`` answers only the former names, with a module that
forwards every attribute to the module's new place. No module is imported
until a former name is asked for.
"""

import importlib
import importlib.abc
import importlib.util
import sys

#: Former module path -> where its names live now.
MOVED_MODULES = {
    "sklearn_kd._accelerate": "sklearn_kd.student._accelerate",
    "sklearn_kd._bin_edges": "sklearn_kd.student._bin_edges",
    "sklearn_kd._budget": "sklearn_kd.student._budget",
    "sklearn_kd._encoding": "sklearn_kd.student._encoding",
    "sklearn_kd._export": "sklearn_kd.serving._export",
    "sklearn_kd._fingerprint": "sklearn_kd.teacher._fingerprint",
    "sklearn_kd._gbdt": "sklearn_kd.teacher._gbdt",
    "sklearn_kd._inference": "sklearn_kd.serving._inference",
    "sklearn_kd._input_offset": "sklearn_kd.student._input_offset",
    "sklearn_kd._loss": "sklearn_kd.student._loss",
    "sklearn_kd._lr_schedule": "sklearn_kd.student._lr_schedule",
    "sklearn_kd._numpy_student": "sklearn_kd.serving._numpy_student",
    "sklearn_kd._onnx": "sklearn_kd.serving._onnx",
    "sklearn_kd._oob": "sklearn_kd.teacher._oob",
    "sklearn_kd._regression_teacher": "sklearn_kd.teacher._regression",
    "sklearn_kd._selection": "sklearn_kd.student._selection",
    "sklearn_kd._shared_models": "sklearn_kd.teacher._shared_models",
    "sklearn_kd._shared_teacher": "sklearn_kd.teacher._shared",
    "sklearn_kd._skl2onnx": "sklearn_kd.serving._skl2onnx",
    "sklearn_kd._skops": "sklearn_kd.serving._skops",
    "sklearn_kd._skorch_net": "sklearn_kd.student._skorch_net",
    "sklearn_kd._soft_targets": "sklearn_kd.teacher._soft_targets",
    "sklearn_kd._specialists": "sklearn_kd.teacher._specialists",
    "sklearn_kd._student": "sklearn_kd.student._network",
    "sklearn_kd._student_file": "sklearn_kd.serving._student_file",
    "sklearn_kd._teacher": "sklearn_kd.teacher._adapters",
    "sklearn_kd._teacher_ensemble": "sklearn_kd.teacher._ensemble",
    "sklearn_kd._threads": "sklearn_kd.student._threads",
    "sklearn_kd._torch_state": "sklearn_kd.student._torch_state",
}


class _ForwardingLoader(importlib.abc.Loader):
    def __init__(self, target):
        self.target = target

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        target = self.target

        def forward(name):
            return getattr(importlib.import_module(target), name)

        module.__getattr__ = forward


class _MovedModuleFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname not in MOVED_MODULES:
            return None
        loader = _ForwardingLoader(MOVED_MODULES[fullname])
        return importlib.util.spec_from_loader(fullname, loader)


def install():
    """Answer the former module paths (once per process)."""
    if not any(isinstance(finder, _MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedModuleFinder())
