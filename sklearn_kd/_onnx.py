"""ONNX export of a trained student: one self-contained file, no code.

The network (input encoding and logit bias included) is exported by torch's
exporter as a graph from a float32 input ``X`` of shape ``(batch, n_features)``
to its output. A student trained on a DataFrame with string columns gets a
graph that takes the columns as they are, following skl2onnx's convention for
mixed inputs: one input per column, named after it, of shape ``(batch, 1)``,
``tensor(string)`` for a string column and ``tensor(float)`` otherwise; string
categories become codes inside the graph (``ai.onnx.ml.LabelEncoder``), unseen
ones code -1 as in Python. The model's ``metadata_props`` describe the file:

- ``sklearn_kd.format_version``: ``"1"``;
- ``sklearn_kd.kind``: ``"classifier"`` or ``"regressor"``;
- ``sklearn_kd.classes``: JSON list of class labels, in output order;
- ``sklearn_kd.feature_names``: JSON list of the expected columns, in order
  (null when the student was trained on an unnamed array);
- ``sklearn_kd.category_mapping``: JSON object, each string column's
  categories in code order (null without string columns);
- ``sklearn_kd.inputs``: JSON list of ``{"name", "type"}`` of the graph's inputs.
"""

import contextlib
import io
import json
import logging
import os
import tempfile
import warnings

import numpy as np

from ._files import atomic_file

ONNX_FORMAT_VERSION = 1
_LABEL_ENCODER_OPSET = 3


@contextlib.contextmanager
def quiet_onnx_exporter():
    """Silence torch's ONNX exporter: its progress lines, logs and warnings."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _require_onnx():
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "ONNX export needs onnx and onnxscript: pip install 'sklearn-kd[onnx]'"
        ) from exc


def _network_graph(module, n_features, output_name, output_transform):
    """The torch module as an ONNX model (in memory) with input ``X``."""
    import onnx
    import torch

    class Exported(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.module = module

        def forward(self, x):
            return output_transform(self.module(x))

    model = Exported().cpu().eval()
    with tempfile.TemporaryDirectory() as folder, quiet_onnx_exporter():
        path = os.path.join(folder, "network.onnx")
        torch.onnx.export(
            model,
            (torch.zeros(2, n_features),),
            path,
            input_names=["X"],
            output_names=[output_name],
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            external_data=False,
            dynamo=True,
            verbose=False,
        )
        return onnx.load(path)


def _column_front(feature_names, category_codes, opset):
    """A graph from one input per column to the float matrix ``X``."""
    from onnx import TensorProto, helper

    inputs, nodes, columns = [], [], []
    for position, name in enumerate(feature_names):
        name = str(name)
        categories = category_codes.categories.get(name)
        if categories is None:
            inputs.append(
                helper.make_tensor_value_info(name, TensorProto.FLOAT, [None, 1])
            )
            columns.append(name)
            continue
        inputs.append(
            helper.make_tensor_value_info(name, TensorProto.STRING, [None, 1])
        )
        coded = f"{name}__code_{position}"
        nodes.append(
            helper.make_node(
                "LabelEncoder",
                [name],
                [coded],
                domain="ai.onnx.ml",
                keys_strings=[str(value) for value in categories],
                values_floats=[float(code) for code in range(len(categories))],
                default_float=-1.0,
            )
        )
        columns.append(coded)
    nodes.append(helper.make_node("Concat", columns, ["X"], axis=1))
    output = helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, len(columns)])
    graph = helper.make_graph(nodes, "student_columns", inputs, [output])
    return helper.make_model(
        graph,
        opset_imports=[
            helper.make_opsetid("", opset),
            helper.make_opsetid("ai.onnx.ml", _LABEL_ENCODER_OPSET),
        ],
    )


def export_onnx(
    path,
    module,
    *,
    n_features,
    kind,
    classes,
    feature_names,
    category_codes,
    output_name,
    output_transform,
):
    """Write the student to ``path`` as one ONNX file (see the module docstring)."""
    _require_onnx()
    import onnx
    from onnx import compose

    model = _network_graph(module, n_features, output_name, output_transform)
    if category_codes is not None:
        opset = next(
            o.version for o in model.opset_import if o.domain in ("", "ai.onnx")
        )
        front = _column_front(feature_names, category_codes, opset)
        model.ir_version = max(model.ir_version, front.ir_version)
        front.ir_version = model.ir_version
        model = compose.merge_models(
            front,
            compose.add_prefix(
                model, "student_", rename_inputs=False, rename_outputs=False
            ),
            io_map=[("X", "X")],
        )
        inputs = [
            {
                "name": str(name),
                "type": "string" if str(name) in category_codes.categories else "float",
            }
            for name in feature_names
        ]
    else:
        inputs = [{"name": "X", "type": "float"}]
    metadata = {
        "sklearn_kd.format_version": str(ONNX_FORMAT_VERSION),
        "sklearn_kd.kind": kind,
        "sklearn_kd.classes": json.dumps(
            None if classes is None else np.asarray(classes).tolist()
        ),
        "sklearn_kd.feature_names": json.dumps(
            None if feature_names is None else [str(n) for n in feature_names]
        ),
        "sklearn_kd.category_mapping": json.dumps(
            None
            if category_codes is None
            else {
                str(column): [str(value) for value in values]
                for column, values in category_codes.categories.items()
            }
        ),
        "sklearn_kd.inputs": json.dumps(inputs),
    }
    onnx.helper.set_model_props(model, metadata)
    with atomic_file(path) as temporary:
        onnx.save_model(model, temporary)
    return path
