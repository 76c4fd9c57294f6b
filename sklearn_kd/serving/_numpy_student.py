"""A trained student as numpy arrays: the same encoder and layers, without torch.

For one row, or a few, a torch call costs far more than the network's
arithmetic: tensor conversion, dispatch and the encoder's small operations. A
:class:`NumpyNetwork` evaluates the same encoding and dense layers with numpy,
from the same float32 numbers, in float64: within about ``1e-6`` of torch's
float32 result, and a row's output does not depend on its batch. It is what the torch-free file
format holds, and the path the estimators take for small batches on a CPU.
Custom student modules that are not the default MLP cannot be expressed here
and keep the torch path.
"""

import numpy as np

from ..student._encoding import EncodingSpec


class NumpyNetwork:
    """Encoder, dense ReLU layers and an output affine map, as numpy arrays.

    Parameters
    ----------
    encoding : EncodingSpec
        The input encoding.
    weights, biases : list of ndarray
        Each dense layer's ``(n_in, n_out)`` weight and ``(n_out,)`` bias, in
        order; ReLU between them.
    output_scale, output_shift : ndarray of shape (n_outputs,)
        The last layer's output is multiplied by the scale, then shifted (a
        classifier's logit bias, a regressor's target units).
    """

    def __init__(self, encoding, weights, biases, output_scale, output_shift):
        self.encoding = encoding
        self.weights = [np.ascontiguousarray(w, dtype=np.float32) for w in weights]
        self.biases = [np.asarray(b, dtype=np.float32) for b in biases]
        self.output_scale = np.asarray(output_scale, dtype=np.float32)
        self.output_shift = np.asarray(output_shift, dtype=np.float32)
        weights64 = [w.astype(np.float64) for w in self.weights]
        biases64 = [b.astype(np.float64) for b in self.biases]
        self._scale64 = self.output_scale.astype(np.float64)
        self._shift64 = self.output_shift.astype(np.float64)
        # With a scale of one (every classifier) the shift joins the last bias:
        # one addition fewer per call, within rounding of torch's two steps.
        self._unit_scale = bool(np.all(self.output_scale == 1))
        if self._unit_scale:
            biases64[-1] = biases64[-1] + self._shift64
        self._fill = None
        fused = self._fuse_standard_encoding(weights64[0], biases64[0])
        if fused is not None:
            weights64[0], biases64[0], self._fill = fused
        self._layers64 = list(zip(weights64, biases64, strict=True))

    @classmethod
    def from_module(cls, module):
        """The numpy form of a trained ``StudentModule``, or None.

        None when the network is not a stack of ``Linear`` layers with ReLU (and
        dropout, a no-op at prediction time) between them.
        """
        from torch import nn  # only a torch module is converted

        from ..student._network import MLP

        network = getattr(module, "network", None)
        if not isinstance(network, MLP):
            return None
        weights, biases = [], []
        for layer in network.layers:
            if isinstance(layer, nn.Linear):
                weights.append(layer.weight.detach().cpu().numpy().T)
                biases.append(layer.bias.detach().cpu().numpy())
            elif not isinstance(layer, (nn.ReLU, nn.Dropout)):
                return None
        return cls(
            module.encoder.spec(),
            weights,
            biases,
            module.output_scale.detach().cpu().numpy(),
            module.output_shift.detach().cpu().numpy(),
        )

    def _fuse_standard_encoding(self, weight, bias):
        """The first layer with the standardisation folded into it, and the
        NaN fill values; None unless every column is numeric and standardised.

        Without bins, categories or missing indicators,
        ``((x - shift) / scale) @ W + b`` is
        ``x @ (W / scale) + (b - (shift / scale) @ W)``: one product instead of
        the encoder's five operations.
        """
        spec = self.encoding
        if (
            len(spec.bin_column)
            or len(spec.missing_column)
            or len(spec.category_column)
            or not np.array_equal(spec.numeric_column, np.arange(spec.n_features))
        ):
            return None
        shift = spec.numeric_shift.astype(np.float32).astype(np.float64)
        scale = spec.numeric_scale.astype(np.float32).astype(np.float64)
        fill = spec.numeric_fill.astype(np.float32).astype(np.float64)
        return weight / scale[:, None], bias - (shift / scale) @ weight, fill

    @property
    def n_features_in(self):
        return self.encoding.n_features

    @property
    def n_outputs(self):
        return len(self.output_shift)

    def __call__(self, X):
        """Outputs (float64) for the rows ``X``."""
        if self._fill is not None:
            hidden = np.asarray(X, dtype=np.float64)
            if np.isnan(hidden).any():
                hidden = np.where(np.isnan(hidden), self._fill, hidden)
        else:
            hidden = self.encoding.encode(X)
        *inner, (weight, bias) = self._layers64
        for inner_weight, inner_bias in inner:
            hidden = hidden @ inner_weight
            hidden += inner_bias
            np.maximum(hidden, 0, out=hidden)
        output = hidden @ weight
        output += bias
        if not self._unit_scale:
            output *= self._scale64
            output += self._shift64
        return output

    def arrays(self):
        """Every array, by a stable name (for saving)."""
        arrays = {f"encoding/{k}": v for k, v in self.encoding.arrays().items()}
        for position, (weight, bias) in enumerate(
            zip(self.weights, self.biases, strict=True)
        ):
            arrays[f"layer{position}/weight"] = weight
            arrays[f"layer{position}/bias"] = bias
        arrays["output_scale"] = self.output_scale
        arrays["output_shift"] = self.output_shift
        return arrays

    @classmethod
    def from_arrays(cls, arrays, n_features, encoding, n_layers):
        """Rebuild from :meth:`arrays` (see ``sklearn_kd.serving._student_file``)."""
        spec = EncodingSpec(
            n_features,
            **{
                name: np.asarray(arrays[f"encoding/{name}"])
                for name in EncodingSpec.__dataclass_fields__
                if name not in ("n_features", "encoding")
            },
            encoding=encoding,
        )
        return cls(
            spec,
            [arrays[f"layer{i}/weight"] for i in range(n_layers)],
            [arrays[f"layer{i}/bias"] for i in range(n_layers)],
            arrays["output_scale"],
            arrays["output_shift"],
        )
