"""
==========================================
Compress a random forest into a small MLP
==========================================

A 300-tree random forest is accurate but large and slow to query. Here we
distil it into a small neural network with
:class:`~sklearn_kd.DistilledClassifier`, compare the student with the same
network trained on labels alone, and tune the temperature and the soft-target
weight with :class:`~sklearn.model_selection.GridSearchCV`.
"""

# %%
# A forest teacher on the digits data set
# ---------------------------------------
from tempfile import mkdtemp

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import GridSearchCV, train_test_split

from sklearn_kd import DistilledClassifier
from sklearn_kd.metrics import agreement_score

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
forest = RandomForestClassifier(n_estimators=300, random_state=0, n_jobs=2)
forest.fit(X_train, y_train)
print(f"forest accuracy: {forest.score(X_test, y_test):.4f}")

# %%
# Distil it, and train the same MLP on labels alone
# -------------------------------------------------
# ``soft_target_weight=0`` is the label-only baseline: same network, same
# epochs, no teacher. The forest is already fitted, so it is used as it is.
common = dict(hidden_layer_sizes=(64,), max_epochs=60, random_state=0)
distilled = DistilledClassifier(forest, **common).fit(X_train, y_train)
labels_only = DistilledClassifier(forest, soft_target_weight=0, **common).fit(
    X_train, y_train
)
for name, model in [("distilled", distilled), ("labels only", labels_only)]:
    agreement = agreement_score(forest.predict(X_test), model.predict(X_test))
    print(
        f"{name:12s} accuracy {model.score(X_test, y_test):.4f}, "
        f"agreement with the forest {agreement:.4f}"
    )

# %%
# Tune temperature and soft-target weight
# ---------------------------------------
# ``memory`` caches the forest's outputs, so the grid queries the forest once
# per fold rather than once per candidate. The forest was fitted on the whole
# training set, so these cross-validated scores are slightly optimistic: the
# teacher has seen each validation fold's labels.
search = GridSearchCV(
    DistilledClassifier(forest, memory=mkdtemp(), **common),
    {"temperature": [1.0, 2.0, 4.0, 8.0], "soft_target_weight": [0.5, 0.9]},
    cv=3,
)
search.fit(X_train, y_train)
print("best:", search.best_params_, f"test accuracy {search.score(X_test, y_test):.4f}")

# %%
# Accuracy against temperature
# ----------------------------
results = search.cv_results_
fig, ax = plt.subplots(figsize=(5, 3.5))
for weight in [0.5, 0.9]:
    rows = np.flatnonzero(np.asarray(results["param_soft_target_weight"]) == weight)
    ax.plot(
        np.asarray(results["param_temperature"])[rows],
        results["mean_test_score"][rows],
        marker="o",
        label=f"soft_target_weight={weight}",
    )
ax.set_xscale("log", base=2)
ax.set_xlabel("temperature")
ax.set_ylabel("cross-validated accuracy")
ax.legend()
fig.tight_layout()
plt.show()
