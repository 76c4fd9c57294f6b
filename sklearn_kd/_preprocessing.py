"""The student's input encoding, as tensor operations inside the network.

Scaling, imputation of missing values (with a missing indicator) and one-hot
encoding of categorical columns live in an ``nn.Module`` so that they travel with
the network: through pickling, to the GPU, and into ONNX exports. Nothing runs in
numpy or scikit-learn at prediction time.
"""

import numpy as np
import torch
from torch import nn

MAX_CATEGORIES = 1024


class InputEncoder(nn.Module):
    """Encode raw feature rows into the network's input, with tensor operations.

    Continuous columns are imputed with their training mean and, with
    ``scaling="standard"``, standardised; columns that had missing values in
    training get a 0/1 missing indicator; categorical columns are one-hot encoded
    over the categories seen in training (unknown or missing categories encode as
    all zeros).

    Build it from training data with :meth:`from_data`.
    """

    def __init__(
        self, n_features, numeric, fill, shift, scale, missing, cat_column, cat_value
    ):
        super().__init__()
        self.n_features = n_features
        self.register_buffer("numeric", torch.as_tensor(numeric, dtype=torch.long))
        self.register_buffer("fill", torch.as_tensor(fill, dtype=torch.float32))
        self.register_buffer("shift", torch.as_tensor(shift, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))
        self.register_buffer("missing", torch.as_tensor(missing, dtype=torch.long))
        self.register_buffer(
            "cat_column", torch.as_tensor(cat_column, dtype=torch.long)
        )
        self.register_buffer(
            "cat_value", torch.as_tensor(cat_value, dtype=torch.float32)
        )
        self.n_outputs = len(numeric) + len(missing) + len(cat_column)

    @classmethod
    def from_data(cls, X, *, scaling="standard", categorical=None):
        """Fit the encoding on training rows ``X`` (2-D float array, NaN allowed)."""
        X = np.asarray(X, dtype=np.float64)
        n_features = X.shape[1]
        if categorical is None:
            categorical = np.zeros(n_features, dtype=bool)
        numeric = np.flatnonzero(~categorical)
        values = X[:, numeric]
        seen = ~np.isnan(values)
        count = np.maximum(seen.sum(axis=0), 1)
        mean = np.where(seen, values, 0).sum(axis=0) / count
        if scaling == "standard":
            var = (np.where(seen, values - mean, 0) ** 2).sum(axis=0) / count
            shift, scale = mean, np.sqrt(var)
            scale[scale < 1e-12] = 1.0
        else:
            shift, scale = np.zeros_like(mean), np.ones_like(mean)
        missing = np.flatnonzero(np.isnan(X).any(axis=0))
        cat_column, cat_value = [], []
        for column in np.flatnonzero(categorical):
            categories = np.unique(X[:, column][~np.isnan(X[:, column])])
            if len(categories) > MAX_CATEGORIES:
                raise ValueError(
                    f"Categorical feature {column} has {len(categories)} categories; "
                    f"at most {MAX_CATEGORIES} are supported. Treat it as continuous "
                    "or group rare categories."
                )
            cat_column.extend([column] * len(categories))
            cat_value.extend(categories)
        return cls(
            n_features, numeric, mean, shift, scale, missing, cat_column, cat_value
        )

    def forward(self, x):
        parts = []
        if len(self.numeric):
            values = x[:, self.numeric]
            values = torch.where(torch.isnan(values), self.fill, values)
            parts.append((values - self.shift) / self.scale)
        if len(self.missing):
            parts.append(torch.isnan(x[:, self.missing]).to(x.dtype))
        if len(self.cat_column):
            parts.append((x[:, self.cat_column] == self.cat_value).to(x.dtype))
        return torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
