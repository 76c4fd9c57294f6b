"""numpydoc validation of every public docstring.

The checks skipped, and why: ES01 (an extended summary is optional), SA01 (a
See Also section is optional), EX01 for methods and functions (the classes and
the user guide carry the examples) and warnings, RT02 (returns are named, as in
scikit-learn: ``y_pred : ndarray``), PR01 for the report dataclasses (built by
``compression_report``, never by hand: their fields are documented as
Attributes, what users read). Scorer objects carry scikit-learn's own docstring.
"""

import dataclasses
import inspect

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")

import sklearn_kd  # noqa: E402
import sklearn_kd.metrics  # noqa: E402

SKIPPED = {"ES01", "SA01", "RT02"}
SKIPPED_BELOW_CLASSES = SKIPPED | {"EX01"}


def public_paths():
    for module in (sklearn_kd, sklearn_kd.metrics):
        for name in module.__all__:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue  # a scorer object, or a module
            path = f"{module.__name__}.{name}"
            skipped = SKIPPED if inspect.isclass(obj) else SKIPPED_BELOW_CLASSES
            if inspect.isclass(obj) and issubclass(obj, Warning):
                skipped = SKIPPED_BELOW_CLASSES
            if dataclasses.is_dataclass(obj):
                skipped = skipped | {"PR01"}
            yield path, skipped
            if inspect.isclass(obj):
                for member, value in vars(obj).items():
                    if not member.startswith("_") and callable(value):
                        yield f"{path}.{member}", SKIPPED_BELOW_CLASSES


@pytest.mark.parametrize("path, skipped", list(public_paths()), ids=lambda p: p)
def test_public_docstring_is_valid_numpydoc(path, skipped):
    report = numpydoc_validate.validate(path)
    errors = [(code, text) for code, text in report["errors"] if code not in skipped]
    assert not errors, "\n".join(f"{code}: {text}" for code, text in errors)
