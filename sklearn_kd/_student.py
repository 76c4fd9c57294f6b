"""The student network: input encoding, a network body and a per-class logit bias."""

import numpy as np
import torch
from torch import nn


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
        return self.layers(x)


def auto_hidden_layer_sizes(n_inputs, n_classes):
    """Two hidden layers sized from the data: ``(w, w // 2)``, ``w`` in [32, 256].

    ``w`` is the power of two at or above ``4 * (n_inputs + n_classes)``, clipped.
    """
    width = int(np.clip(2 ** np.ceil(np.log2(4 * (n_inputs + n_classes))), 32, 256))
    return (width, width // 2)


class StudentModule(nn.Module):
    """Encoder, network and a per-class logit bias, composed into one module.

    The logit bias is zero after training; :meth:`shift_logit_bias` adds to it (the
    paper's fix for a class that was missing from the transfer set).
    """

    def __init__(self, encoder, network, n_classes):
        super().__init__()
        self.encoder = encoder
        self.network = network
        self.register_buffer("logit_bias", torch.zeros(n_classes))

    def forward(self, x, encoded=False):
        """Logits for raw rows ``x``, or for rows already passed through the
        encoder when ``encoded=True`` (training encodes its data once, since the
        encoder does not learn)."""
        if not encoded:
            x = self.encoder(x)
        return self.network(x) + self.logit_bias


def predict_logits(module, X, *, device, batch_size=65536):
    """Student logits for a float array ``X``, in batches, without gradients."""
    module.eval()
    X = torch.from_numpy(np.require(X, np.float32, ["C_CONTIGUOUS", "WRITEABLE"]))
    with torch.inference_mode():
        outputs = [
            module(X[start : start + batch_size].to(device)).cpu()
            for start in range(0, len(X), batch_size)
        ]
    return torch.cat(outputs).numpy()


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
        module.logit_bias[class_index(classes, class_label)] += shift
