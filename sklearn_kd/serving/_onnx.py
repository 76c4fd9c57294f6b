"""ONNX export of a trained student: one self-contained file, no code.

The network (input encoding and logit bias included) is exported by torch's
exporter as a graph from a float32 input ``X`` of shape ``(batch, n_features)``
to its output. A student trained on a DataFrame with string columns gets a
graph that takes the columns as they are, following skl2onnx's convention for
mixed inputs: one input per column, named after it, of shape ``(batch, 1)``,
``tensor(string)`` for a string column and ``tensor(float)`` otherwise; string
categories become codes inside the graph (``ai.onnx.ml.LabelEncoder``), unseen
ones code -1 as in Python. A DataFrame whose column labels are not strings
(``pd.DataFrame(X)``'s integers, in any order) gives scikit-learn no feature
names; its labels, recorded in fit with the string columns' coding, then name
the inputs, as strings (``3`` becomes ``"3"``). Where they were not recorded
(a student pickled by an older version), the inputs are named after the
column positions, ``"0"``, ``"1"``, ..., which holds when each label is its
position (pandas' default labels) and is checked for the string columns;
otherwise the export refuses, asking for string labels. The graph's internal
names avoid the column names; should a column carry the output's name
(``probabilities``, ``predictions``), the output is called ``<name>_1``
instead. The model's ``metadata_props`` describe the file:

- ``sklearn_kd.format_version``: ``"2"``;
- ``sklearn_kd.kind``: ``"classifier"`` or ``"regressor"``;
- ``sklearn_kd.classes``: JSON list of class labels, in output order;
- ``sklearn_kd.feature_names``: JSON list of the expected columns, in order
  (null when the student was trained on an unnamed array);
- ``sklearn_kd.category_codes``: JSON object, each string column's
  categories in code order (null without string columns);
- ``sklearn_kd.inputs``: JSON list of ``{"name", "type"}`` of the graph's inputs.

A student with an input offset (columns far from zero, such as timestamps; see
``sklearn_kd.student._input_offset``) takes its numeric inputs as ``tensor(double)``
and subtracts the offsets in float64 inside the graph before the cast to
float32, as the Python paths do; ``sklearn_kd.inputs`` then says ``"double"``.
"""

import contextlib
import io
import json
import logging
import numbers
import os
import tempfile
import warnings

import numpy as np

from .._files import atomic_file
from ._student_file import student_description

#: 2: the string columns' categories are under ``sklearn_kd.category_codes``,
#: the key of the numpy file's description (``sklearn_kd.category_mapping`` in 1).
ONNX_FORMAT_VERSION = 2
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


def _label_names(category_codes, module):
    """Input names for a student whose columns had no string labels: the labels
    recorded in fit, as strings, or else the columns' positions."""
    labels = getattr(category_codes, "columns", None)
    if labels is not None:
        names = [str(label) for label in labels]
        if len(names) == module.encoder.n_features and len(set(names)) == len(names):
            return names
    return _positional_names(category_codes, module)


def _positional_names(category_codes, module):
    """Input names for a student whose columns had no string labels: their
    positions, once each string column's label is checked to be its position."""
    encoder = module.encoder
    category_column = encoder.category_column.cpu().numpy()
    category_value = encoder.category_value.cpu().numpy()
    for label, categories in category_codes.categories.items():
        fits = (
            isinstance(label, numbers.Integral)
            and not isinstance(label, bool)
            and 0 <= label < encoder.n_features
        )
        if fits:
            # The student one-hot encodes a string column over its codes.
            values = set(category_value[category_column == label].tolist())
            fits = bool(values) and values <= set(range(-1, len(categories)))
        if not fits:
            raise ValueError(
                "This student was fitted on a DataFrame whose column labels are not "
                "strings, so scikit-learn recorded no feature names and the order of "
                "its columns is unknown. to_onnx then names the graph's inputs after "
                "the column positions, which needs each string column's label to be "
                f"its position, and the string column {label!r} is not at position "
                f"{label!r}. Give the DataFrame string column labels "
                "(X.columns = X.columns.astype(str)) and fit again."
            )
    return [str(position) for position in range(encoder.n_features)]


def _free_prefix(names, prefix="sklearn_kd_"):
    """``prefix``, lengthened until no name in ``names`` starts with it."""
    while any(name.startswith(prefix) for name in names):
        prefix = "_" + prefix
    return prefix


def _free_name(name, taken):
    """``name``, or ``name_1``, ``name_2``, ... if it is in ``taken``."""
    candidate, suffix = name, 0
    while candidate in taken:
        suffix += 1
        candidate = f"{name}_{suffix}"
    return candidate


def _column_front(columns, output, prefix, opset, offset=None):
    """A graph from one input per column to the float matrix ``output``.

    ``columns`` holds ``(name, categories)`` pairs, ``categories`` None for a
    numeric column; the internal names start with ``prefix``. With an
    ``offset``, numeric inputs are doubles and the matrix is centred in float64
    before its cast to float."""
    from onnx import TensorProto, helper

    numeric_type = TensorProto.FLOAT if offset is None else TensorProto.DOUBLE
    inputs, nodes, coded_columns = [], [], []
    for position, (name, categories) in enumerate(columns):
        if categories is None:
            inputs.append(helper.make_tensor_value_info(name, numeric_type, [None, 1]))
            coded_columns.append(name)
            continue
        inputs.append(
            helper.make_tensor_value_info(name, TensorProto.STRING, [None, 1])
        )
        coded = f"{prefix}code_{position}"
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
        if offset is not None:
            nodes.append(
                helper.make_node(
                    "Cast", [coded], [f"{coded}_double"], to=TensorProto.DOUBLE
                )
            )
            coded = f"{coded}_double"
        coded_columns.append(coded)
    matrix = output if offset is None else f"{prefix}raw"
    nodes.append(helper.make_node("Concat", coded_columns, [matrix], axis=1))
    initializers = []
    if offset is not None:
        initializers = _centring(nodes, matrix, output, offset, prefix)
    graph = helper.make_graph(
        nodes,
        "student_columns",
        inputs,
        [
            helper.make_tensor_value_info(
                output, TensorProto.FLOAT, [None, len(coded_columns)]
            )
        ],
        initializer=initializers,
    )
    return _model(graph, opset, label_encoder=True)


def _centring_front(n_features, output, prefix, opset, offset):
    """A graph from the double matrix ``X`` to the float matrix ``output``:
    ``X`` less ``offset``, in float64, then cast."""
    from onnx import TensorProto, helper

    nodes = []
    initializers = _centring(nodes, "X", output, offset, prefix)
    graph = helper.make_graph(
        nodes,
        "student_centring",
        [helper.make_tensor_value_info("X", TensorProto.DOUBLE, [None, n_features])],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, [None, n_features])],
        initializer=initializers,
    )
    return _model(graph, opset, label_encoder=False)


def _centring(nodes, source, output, offset, prefix):
    """Append ``output = float(source - offset)``; return the initializers."""
    from onnx import TensorProto, helper, numpy_helper

    constant = numpy_helper.from_array(
        np.asarray(offset, dtype=np.float64)[None, :], name=f"{prefix}offset"
    )
    centred = f"{prefix}centred"
    nodes.append(helper.make_node("Sub", [source, constant.name], [centred]))
    nodes.append(helper.make_node("Cast", [centred], [output], to=TensorProto.FLOAT))
    return [constant]


def _model(graph, opset, *, label_encoder):
    from onnx import helper

    opsets = [helper.make_opsetid("", opset)]
    if label_encoder:
        opsets.append(helper.make_opsetid("ai.onnx.ml", _LABEL_ENCODER_OPSET))
    return helper.make_model(graph, opset_imports=opsets)


def _prepend(front, model, front_output, prefix):
    """``model`` (input ``X``) fed by ``front``'s output ``front_output``."""
    from onnx import compose

    model.ir_version = max(model.ir_version, front.ir_version)
    front.ir_version = model.ir_version
    return compose.merge_models(
        front,
        compose.add_prefix(model, f"{prefix}net_", rename_outputs=False),
        io_map=[(front_output, f"{prefix}net_X")],
    )


def _opset(model):
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


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
    input_offset=None,
):
    """Write the student to ``path`` as one ONNX file (see the module docstring)."""
    _require_onnx()
    import onnx

    numeric = "float" if input_offset is None else "double"
    if category_codes is None:
        model = _network_graph(module, n_features, output_name, output_transform)
        if input_offset is not None:
            prefix = _free_prefix(["X", output_name])
            front = _centring_front(
                n_features, f"{prefix}front_X", prefix, _opset(model), input_offset
            )
            model = _prepend(front, model, f"{prefix}front_X", prefix)
        inputs = [{"name": "X", "type": numeric}]
    else:
        if feature_names is None:
            names = _label_names(category_codes, module)
        else:
            names = [str(name) for name in feature_names]
        categories = {str(label): v for label, v in category_codes.categories.items()}
        columns = [(name, categories.get(name)) for name in names]
        output_name = _free_name(output_name, set(names))
        prefix = _free_prefix([*names, output_name])
        model = _network_graph(module, n_features, output_name, output_transform)
        front = _column_front(
            columns, f"{prefix}front_X", f"{prefix}front_", _opset(model), input_offset
        )
        model = _prepend(front, model, f"{prefix}front_X", prefix)
        inputs = [
            {"name": name, "type": numeric if values is None else "string"}
            for name, values in columns
        ]
    described = student_description(
        kind=kind,
        classes=classes,
        feature_names=None
        if feature_names is None
        else [str(n) for n in feature_names],
        category_codes=category_codes,
    )
    metadata = {
        "sklearn_kd.format_version": str(ONNX_FORMAT_VERSION),
        "sklearn_kd.kind": kind,  # a plain string, as in format version 1
        **{
            f"sklearn_kd.{key}": json.dumps(value)
            for key, value in described.items()
            if key != "kind"
        },
        "sklearn_kd.inputs": json.dumps(inputs),
    }
    onnx.helper.set_model_props(model, metadata)
    with atomic_file(path) as temporary:
        onnx.save_model(model, temporary)
    return path
