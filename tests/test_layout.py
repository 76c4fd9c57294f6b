"""The package's wings: serving (and the student) never import the teacher side.

A shipped student must load and predict without the code that reads teachers;
the rule is checked on the imports as written, followed transitively, so that a
shared module that starts importing a teacher module breaks it too.
"""

import ast
from pathlib import Path

import pytest

import sklearn_kd

PACKAGE = Path(sklearn_kd.__file__).parent


def _module_name(path):
    parts = ["sklearn_kd", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path, modules):
    """The package's modules that ``path`` imports, at any depth of its code."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = (
                    package.rsplit(".", node.level - 1)[0]
                    if node.level > 1
                    else package
                )
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            candidates = [target] + [f"{target}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        found.update(candidate for candidate in candidates if candidate in modules)
    return found


def _import_graph():
    paths = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: _imported_modules(path, paths) for name, path in paths.items()}


def _reachable(graph, start):
    seen, stack = set(), [start]
    while stack:
        for module in graph[stack.pop()] - seen:
            seen.add(module)
            stack.append(module)
    return seen


GRAPH = _import_graph()


def test_the_graph_sees_the_imports():
    # A guard on the reader itself: known edges must be found.
    assert "sklearn_kd.teacher._adapters" in GRAPH["sklearn_kd._base"]
    assert "sklearn_kd.student._network" in GRAPH["sklearn_kd.serving._export"]


@pytest.mark.parametrize(
    "module",
    sorted(
        name
        for name in GRAPH
        if name.startswith(("sklearn_kd.serving", "sklearn_kd.student"))
    ),
)
def test_serving_and_student_never_reach_the_teacher_side(module):
    teacher_side = {
        name
        for name in _reachable(GRAPH, module)
        if name.startswith("sklearn_kd.teacher")
    }
    assert not teacher_side, f"{module} imports {sorted(teacher_side)}"


def test_former_module_paths_still_name_the_same_objects():
    import importlib

    from sklearn_kd._moved_modules import MOVED_MODULES
    from sklearn_kd.student._network import MLP

    assert importlib.import_module("sklearn_kd._student").MLP is MLP
    for former, current in MOVED_MODULES.items():
        assert former not in GRAPH and current in GRAPH


def test_a_pickle_that_names_a_former_module_loads():
    import pickle

    import numpy as np
    import torch

    from sklearn_kd.student._network import MLP

    network = MLP(3, 2, hidden_layer_sizes=(4,))
    # Protocol 0 writes module paths as plain text lines, so they can be
    # rewritten to the former path without breaking the stream.
    written = pickle.dumps(network, protocol=0)
    assert b"sklearn_kd.student._network" in written
    loaded = pickle.loads(
        written.replace(b"sklearn_kd.student._network", b"sklearn_kd._student")
    )
    rows = torch.ones(2, 3)
    assert type(loaded) is MLP
    np.testing.assert_array_equal(network(rows).detach(), loaded(rows).detach())
