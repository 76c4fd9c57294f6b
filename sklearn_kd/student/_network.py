"""The student network: input encoding, a network body and a per-class logit bias."""

import numpy as np
import torch
from torch import nn

from ._encoding import INDEX_FIELDS, EncodingSpec, encode_rows, encoding_spec


class MLP(nn.Module):
    """A multi-layer perceptron with ReLU activations, the default student.

    Parameters
    ----------
    n_features_in : int
        Width of the (encoded) input.
    n_classes : int
        Number of output logits.
    hidden_layer_sizes : tuple of int, default=(64,)
        Width of each hidden layer.
    dropout : float, default=0.0
        Dropout probability after each hidden layer.

    Examples
    --------
    >>> import torch
    >>> from sklearn_kd import MLP
    >>> MLP(4, 3, hidden_layer_sizes=(16, 8))(torch.zeros(2, 4)).shape
    torch.Size([2, 3])
    """

    def __init__(self, n_features_in, n_classes, hidden_layer_sizes=(64,), dropout=0.0):
        super().__init__()
        layers = []
        width = n_features_in
        for size in hidden_layer_sizes:
            layers += [nn.Linear(width, size), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, n_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        """The logits of the encoded rows.

        Parameters
        ----------
        x : torch.Tensor of shape (n_rows, n_features_in)
            Encoded rows.

        Returns
        -------
        logits : torch.Tensor of shape (n_rows, n_classes)
            One output per class (or target).
        """
        return self.layers(x)


def auto_hidden_layer_sizes(n_inputs, n_classes):
    """Two hidden layers sized from the data: ``(w, w // 2)``, ``w`` in [32, 256].

    ``w`` is the power of two at or above ``4 * (n_inputs + n_classes)``, clipped.
    """
    width = int(np.clip(2 ** np.ceil(np.log2(4 * (n_inputs + n_classes))), 32, 256))
    return (width, width // 2)


class InputEncoder(nn.Module):
    """Encode raw feature rows into the network's input, with tensor operations.

    Numeric columns are imputed with their training mean and encoded as the
    ``encoding`` says (see ``sklearn_kd.student._encoding``); columns that had
    missing values in training get a 0/1 missing indicator; categorical columns
    are one-hot encoded over the categories seen in training (unknown categories
    encode as all zeros).

    Build it from training data with :meth:`from_data`.

    Parameters
    ----------
    spec : EncodingSpec
        The encoding's numbers.
    """

    def __init__(self, spec):
        super().__init__()
        self.n_features = spec.n_features
        self.encoding = spec.encoding
        self.n_outputs = spec.n_outputs
        for name, value in spec.arrays().items():
            dtype = torch.long if name in INDEX_FIELDS else torch.float32
            self.register_buffer(name, torch.as_tensor(value, dtype=dtype))

    @classmethod
    def from_data(cls, X, **params):
        """Fit the encoding on training rows ``X`` (see :func:`encoding_spec`)."""
        return cls(encoding_spec(X, **params))

    def spec(self):
        """The encoding's numbers as an :class:`EncodingSpec` of numpy arrays."""
        arrays = {
            name: getattr(self, name)
            .detach()
            .cpu()
            .numpy()
            .astype(np.int64 if name in INDEX_FIELDS else np.float64)
            for name in EncodingSpec.__dataclass_fields__
            if name not in ("n_features", "encoding")
        }
        return EncodingSpec(self.n_features, **arrays, encoding=self.encoding)

    def forward(self, x):
        """The encoded rows (see ``sklearn_kd.student._encoding.encode_rows``).

        Parameters
        ----------
        x : torch.Tensor of shape (n_rows, n_features)
            Raw rows, float32.

        Returns
        -------
        encoded : torch.Tensor of shape (n_rows, n_outputs)
            The network's input.
        """
        return encode_rows(x, dict(self.named_buffers()))


class StudentModule(nn.Module):
    """Encoder, network and an output affine map, composed into one module.

    The output is ``network(encoder(x)) * output_scale + output_shift``. For a
    classifier the scale is one and the shift a per-class logit bias, zero after
    training: :func:`shift_logit_bias` adds to it (the paper's fix for a class
    that was missing from the transfer set). For a regressor they undo the
    standardisation of the targets, so that the network works in standard units
    and the module predicts in the target's own.

    Parameters
    ----------
    encoder : InputEncoder
    network : torch.nn.Module
    n_outputs : int
    output_scale, output_shift : array-like of shape (n_outputs,), default=None
        ``None``: ones and zeros.
    """

    def __init__(
        self, encoder, network, n_outputs, output_scale=None, output_shift=None
    ):
        super().__init__()
        self.encoder = encoder
        self.network = network
        scale = np.ones(n_outputs) if output_scale is None else output_scale
        shift = np.zeros(n_outputs) if output_shift is None else output_shift
        self.register_buffer(
            "output_scale", torch.as_tensor(scale, dtype=torch.float32)
        )
        self.register_buffer(
            "output_shift", torch.as_tensor(shift, dtype=torch.float32)
        )

    def forward(self, x, encoded=False):
        """Outputs for raw rows ``x``, or for rows already passed through the
        encoder when ``encoded=True`` (training encodes its data once, since the
        encoder does not learn)."""
        if not encoded:
            x = self.encoder(x)
        return self.network(x) * self.output_scale + self.output_shift


def predict_logits(module, X, *, device, batch_size=65536):
    """Student logits for a float array ``X``, in batches, without gradients.

    A ``StudentModule``'s output scale and shift are applied in float64, as on
    the numpy path: a regressor's targets around 1e9 would otherwise come back
    in float32 steps of 64.
    """
    module.eval()
    X = torch.from_numpy(np.require(X, np.float32, ["C_CONTIGUOUS", "WRITEABLE"]))
    affine = isinstance(module, StudentModule)
    run = (lambda x: module.network(module.encoder(x))) if affine else module
    with torch.inference_mode():
        outputs = [
            run(X[start : start + batch_size].to(device)).cpu()
            for start in range(0, len(X), batch_size)
        ]
    outputs = torch.cat(outputs).numpy()
    if not affine:
        return outputs
    scale = module.output_scale.detach().cpu().numpy().astype(np.float64)
    shift = module.output_shift.detach().cpu().numpy().astype(np.float64)
    return outputs.astype(np.float64) * scale + shift


def class_index(classes, class_label):
    """Position of ``class_label`` in ``classes``, or a clear error."""
    matches = np.flatnonzero(np.asarray(classes) == class_label)
    if not matches.size:
        raise ValueError(
            f"{class_label!r} is not one of the classes {np.asarray(classes).tolist()}."
        )
    return int(matches[0])


def shift_logit_bias(module, classes, class_label, shift):
    """Add ``shift`` to ``module``'s logit bias for ``class_label``, in place."""
    with torch.no_grad():
        module.output_shift[class_index(classes, class_label)] += shift


def module_from_numpy(network):
    """A torch ``StudentModule`` equal to the numpy form ``network``."""
    hidden = tuple(weight.shape[1] for weight in network.weights[:-1])
    mlp = MLP(network.encoding.n_outputs, network.n_outputs, hidden_layer_sizes=hidden)
    linears = [layer for layer in mlp.layers if isinstance(layer, nn.Linear)]
    with torch.no_grad():
        for linear, weight, bias in zip(
            linears, network.weights, network.biases, strict=True
        ):
            linear.weight.copy_(torch.from_numpy(weight.T.copy()))
            linear.bias.copy_(torch.from_numpy(bias.copy()))
    module = StudentModule(
        InputEncoder(network.encoding),
        mlp,
        network.n_outputs,
        output_scale=network.output_scale,
        output_shift=network.output_shift,
    )
    return module.eval()
