"""One inference formula: every evaluation path gives torch's outputs.

A product over encoding x scaling x NaN columns x categorical columns x task x
batch size. The reference is the torch module (what training and ONNX tracing
evaluate); the others are the numpy encoding, the fused numpy network, the
numpy network rebuilt from the file's arrays, and the estimators' inference
path (numpy for small batches, torch for large ones).
"""

import functools
import itertools

import numpy as np
import pytest
import torch

from sklearn_kd.serving._inference import StudentInference
from sklearn_kd.serving._numpy_student import NumpyNetwork
from sklearn_kd.student._network import MLP, InputEncoder, StudentModule
from sklearn_kd.student._torch_state import seeded

N_FEATURES = 6
SETTINGS = list(
    itertools.product(
        ["standard", "piecewise_linear"],  # encoding
        ["standard", None],  # scaling
        [False, True],  # NaN columns
        [False, True],  # categorical columns
        ["classifier", "regressor"],  # task
    )
)


def _rows(n_rows, nan, categorical, seed):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_rows, N_FEATURES)) * [1, 10, 0.1, 100, 1, 1]
    if categorical:
        X[:, 4] = rng.randint(0, 5, n_rows)
        X[:, 5] = rng.randint(0, 3, n_rows)
    if nan:
        X[rng.rand(n_rows, N_FEATURES) < 0.15] = np.nan
    return X


@functools.cache
def _student(encoding, scaling, nan, categorical, task):
    X = _rows(400, nan, categorical, seed=0)
    mask = np.zeros(N_FEATURES, dtype=bool)
    if categorical:
        mask[4:] = True
    encoder = InputEncoder.from_data(
        X, encoding=encoding, scaling=scaling, categorical=mask, n_bins=8
    )
    n_outputs = 3 if task == "classifier" else 2
    scale, shift = (None, None)
    if task == "regressor":
        scale, shift = np.array([2.5, 1e3]), np.array([-1.0, 5e4])
    with seeded(0):
        network = MLP(encoder.n_outputs, n_outputs, hidden_layer_sizes=(16, 8))
    return StudentModule(encoder, network, n_outputs, scale, shift).eval()


@pytest.mark.parametrize("batch", [1, 5, 300])
@pytest.mark.parametrize("encoding, scaling, nan, categorical, task", SETTINGS)
def test_every_path_computes_the_torch_formula(
    encoding, scaling, nan, categorical, task, batch
):
    module = _student(encoding, scaling, nan, categorical, task)
    X = _rows(batch, nan, categorical, seed=1).astype(np.float32)
    with torch.no_grad():
        tensor = torch.from_numpy(X)
        encoded = module.encoder(tensor).numpy()
        reference = module(tensor).double().numpy()
    np.testing.assert_allclose(
        module.encoder.spec().encode(X), encoded, rtol=1e-5, atol=1e-5
    )
    scale = np.maximum(np.abs(reference), 1.0)
    network = NumpyNetwork.from_module(module)
    rebuilt = NumpyNetwork.from_arrays(
        network.arrays(), N_FEATURES, encoding, len(network.weights)
    )
    inference = StudentInference(module, "cpu").logits(X, n_threads=1)
    for name, output in [
        ("numpy", network(X)),
        ("file arrays", rebuilt(X)),
        ("estimator path", inference),
    ]:
        assert output.shape == reference.shape, name
        np.testing.assert_allclose(output / scale, reference / scale, atol=2e-5)
