"""The API reference lists every public name of the package."""

import re
from pathlib import Path

import pytest

import sklearn_kd
from sklearn_kd import metrics

API_PAGE = Path(__file__).resolve().parents[1] / "docs" / "api.rst"


def documented_names(text):
    """Fully qualified names the page documents.

    An autosummary entry is documented under the ``currentmodule`` in force where
    it appears; ``automodule`` and ``currentmodule`` document the module itself.
    """
    names = set()
    module = None
    in_autosummary = False
    for line in text.splitlines():
        directive = re.match(
            r"\.\. (currentmodule|automodule|autosummary)::\s*(\S*)", line
        )
        if directive:
            kind, target = directive.groups()
            in_autosummary = kind == "autosummary"
            if kind in ("currentmodule", "automodule"):
                module = target
                names.add(target)
        elif in_autosummary:
            entry = re.fullmatch(r"   ([A-Za-z_][\w.]*)", line)
            if entry:
                names.add(f"{module}.{entry.group(1)}")
            elif line and not line.startswith(" "):
                in_autosummary = False
    return names


def public_names(module):
    """``module.__all__``, else the public functions and classes it defines and
    the instances of its classes (such as scorers)."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and module.__name__
        in (getattr(value, "__module__", None), type(value).__module__)
    ]


def test_documented_names_reads_autosummary_under_its_module():
    text = (
        ".. currentmodule:: pkg\n\n.. autosummary::\n   :toctree: generated/\n\n"
        "   Estimator\n\nProse mentioning Other.\n\n"
        ".. automodule:: pkg.sub\n   :no-members:\n"
    )
    assert documented_names(text) == {"pkg", "pkg.Estimator", "pkg.sub"}


@pytest.mark.parametrize(
    "module", [sklearn_kd, metrics], ids=lambda module: module.__name__
)
def test_api_reference_lists_every_public_name(module):
    documented = documented_names(API_PAGE.read_text(encoding="utf-8"))
    missing = [
        name
        for name in public_names(module)
        if f"{module.__name__}.{name}" not in documented
    ]
    assert not missing, f"docs/api.rst does not list {missing} of {module.__name__}"
