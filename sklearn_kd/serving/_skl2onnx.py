"""skl2onnx converters for the exported students, so that a pipeline holding one
converts as a whole with ``skl2onnx.to_onnx``.

Imported only by :func:`register_skl2onnx_converters`, so that neither
``import sklearn_kd`` nor ``to_onnx`` imports skl2onnx. The student's network is
exported by torch (as in :meth:`StudentClassifier.to_onnx`) and its nodes are
copied into skl2onnx's graph under fresh names. A classifier has skl2onnx's two
outputs, ``label`` and ``probabilities`` (a ZipMap by default, as for any
scikit-learn classifier; ``options={"zipmap": False}`` keeps the matrix, and
``nocl`` is honoured), a
regressor one, ``variable``. The input is the numeric matrix: a student trained
on a DataFrame with string columns is refused.
"""

import numpy as np

from ._export import StudentClassifier, StudentRegressor
from ._onnx import _network_graph, _require_onnx


def _network(student, output_name):
    import torch

    if isinstance(student, StudentClassifier):

        def transform(logits):
            return torch.softmax(logits, dim=1)
    else:

        def transform(outputs):
            return outputs

    return _network_graph(
        student._torch_module(), student.n_features_in_, output_name, transform
    )


def _elem_type(variable):
    return variable.type.to_onnx_type().tensor_type.elem_type


def _add_node(scope, container, op_type, inputs, outputs, **attributes):
    container.add_node(
        op_type,
        inputs,
        outputs,
        name=scope.get_unique_operator_name(f"student_{op_type}"),
        **attributes,
    )


def _add_network(scope, operator, container, output):
    """Copy the student's network into ``container``, from the operator's input to
    the variable ``output`` (float32 inside, cast from and to other types)."""
    from onnx import AttributeProto, TensorProto, helper, numpy_helper

    student = operator.raw_operator
    if student.category_codes is not None:
        raise NotImplementedError(
            f"This {type(student).__name__} was trained on a DataFrame with string "
            f"columns {list(student.category_codes.categories)}; skl2onnx feeds it "
            "one numeric matrix. Export it on its own with its to_onnx method."
        )
    model = _network(student, "output")
    versions = {o.domain or "": o.version for o in model.opset_import}
    needed = versions.get("", versions.get("ai.onnx"))
    if container.target_opset < needed:
        raise ValueError(
            f"The student's network needs ONNX opset {needed}; convert with "
            f"target_opset={needed} or higher (got {container.target_opset})."
        )
    source = operator.inputs[0].full_name
    if student.input_offset is not None:
        # Centred in float64, as the Python paths do (see sklearn_kd.student._input_offset).
        if _elem_type(operator.inputs[0]) != TensorProto.DOUBLE:
            double = scope.get_unique_variable_name("student_double")
            _add_node(scope, container, "Cast", source, double, to=TensorProto.DOUBLE)
            source = double
        offset = scope.get_unique_variable_name("student_offset")
        container.add_initializer(
            offset,
            TensorProto.DOUBLE,
            [1, len(student.input_offset)],
            np.asarray(student.input_offset, dtype=np.float64),
        )
        centred = scope.get_unique_variable_name("student_centred")
        _add_node(scope, container, "Sub", [source, offset], centred)
        source = centred
    if source != operator.inputs[0].full_name or (
        _elem_type(operator.inputs[0]) != TensorProto.FLOAT
    ):
        cast = scope.get_unique_variable_name("student_input")
        _add_node(scope, container, "Cast", source, cast, to=TensorProto.FLOAT)
        source = cast
    target = output.full_name
    if _elem_type(output) != TensorProto.FLOAT:
        target = scope.get_unique_variable_name("student_output")
    graph = model.graph
    names = {"": "", graph.input[0].name: source, graph.output[0].name: target}

    def rename(name):
        if name not in names:
            names[name] = scope.get_unique_variable_name(f"student_{name}")
        return names[name]

    for initializer in graph.initializer:
        array = numpy_helper.to_array(initializer)
        container.add_initializer(
            rename(initializer.name),
            initializer.data_type,
            list(array.shape),
            array.ravel(),
        )
    for node in graph.node:
        if any(
            a.type in (AttributeProto.GRAPH, AttributeProto.GRAPHS)
            for a in node.attribute
        ):
            raise NotImplementedError(
                f"The student's network holds a {node.op_type} node with a "
                "subgraph, which this converter does not copy; export the student "
                "on its own with its to_onnx method."
            )
        _add_node(
            scope,
            container,
            node.op_type,
            [rename(name) for name in node.input],
            [rename(name) for name in node.output],
            op_domain=node.domain,
            op_version=versions[node.domain or ""],
            **{a.name: helper.get_attribute_value(a) for a in node.attribute},
        )
    if target != output.full_name:
        _add_node(
            scope, container, "Cast", target, output.full_name, to=_elem_type(output)
        )


def _convert_classifier(scope, operator, container):
    from onnx import TensorProto
    from skl2onnx.common.utils_classifier import get_label_classes

    label, probabilities = operator.outputs
    _add_network(scope, operator, container, probabilities)
    # The labels as the shape calculator typed them (positions under nocl).
    classes = np.asarray(get_label_classes(scope, operator.raw_operator))
    if classes.dtype.kind in "OUS":
        classes = np.array([str(value).encode("utf-8") for value in classes])
        classes_type = TensorProto.STRING
    else:
        classes = classes.astype(np.int64)
        classes_type = TensorProto.INT64
    classes_name = scope.get_unique_variable_name("student_classes")
    container.add_initializer(classes_name, classes_type, [len(classes)], classes)
    position = scope.get_unique_variable_name("student_position")
    _add_node(
        scope,
        container,
        "ArgMax",
        probabilities.full_name,
        position,
        axis=1,
        keepdims=0,
    )
    _add_node(scope, container, "Gather", [classes_name, position], label.full_name)


def _convert_regressor(scope, operator, container):
    _add_network(scope, operator, container, operator.outputs[0])


def _regressor_shape(operator):
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    source = operator.inputs[0]
    double = isinstance(source.type, DoubleTensorType)
    tensor_type = DoubleTensorType if double else FloatTensorType
    operator.outputs[0].type = tensor_type(
        [source.get_first_dimension(), operator.raw_operator.n_outputs]
    )


def register_skl2onnx_converters():
    """Register skl2onnx converters for the exported students.

    They convert :class:`StudentClassifier` and :class:`StudentRegressor`.

    Afterwards ``skl2onnx.to_onnx`` converts a pipeline that ends in (or holds)
    an exported student trained on numbers, e.g. a fitted scaler followed by a
    student distilled on the scaler's output. Needs skl2onnx
    (``pip install skl2onnx``) besides the ``onnx`` extra.
    """
    _require_onnx()
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
    )

    update_registered_converter(
        StudentClassifier,
        "SklearnKDStudentClassifier",
        calculate_linear_classifier_output_shapes,
        _convert_classifier,
        options={"zipmap": [True, False, "columns"], "nocl": [True, False]},
    )
    update_registered_converter(
        StudentRegressor,
        "SklearnKDStudentRegressor",
        _regressor_shape,
        _convert_regressor,
    )
