"""
==========================================
Compress a random forest into a small MLP
==========================================

A 300-tree random forest is accurate but large and slow to query. Here we
distil it into a small neural network with
:class:`~sklearn_kd.DistilledClassifier`: first with the defaults, which let
``fit`` choose the student's input encoding, MUNGE and the soft-target weight;
then with the classic settings of Hinton et al. (2015), against the same network
trained on labels alone; and last we tune the temperature and the soft-target
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
# The defaults: ``fit`` chooses the student's settings
# ----------------------------------------------------
# ``encoding``, ``augment`` and ``soft_target_weight`` default to ``"auto"``.
# With these 1,257 labelled rows, ``fit`` holds out a fifth of them, trains a
# few candidate students on the rest (standard or piecewise-linear encoding,
# with or without MUNGE rows, distilled or on labels alone), scores each on the
# held-out rows and trains the chosen one again on all rows. The forest is
# already fitted, so it is used as it is; it has seen the held-out rows' labels,
# which favours the distilled candidates somewhat. ``selected_params_`` holds
# the settings the student was trained with, ``selection_scores_`` each
# candidate's held-out log loss (lower is better). The choice need not be the
# lowest score: between scores too close to tell apart, ``fit`` prefers the
# cheaper candidate (see the Notes of :class:`~sklearn_kd.DistilledClassifier`).
common = dict(hidden_layer_sizes=(64,), max_epochs=60, n_threads=1, random_state=0)
default = DistilledClassifier(forest, **common).fit(X_train, y_train)
print("chosen:", default.selected_params_)
for label, score in sorted(default.selection_scores_.items(), key=lambda i: i[1]):
    print(f"  held-out score {score:.4f}  {label}")

# %%
# Classic distillation, and the same MLP on labels alone
# ------------------------------------------------------
# The classic student of Hinton et al. learns from soft targets and labels in
# equal parts (``soft_target_weight=0.5``), with the standard encoding and no
# synthetic rows; setting all three searches nothing. ``soft_target_weight=0``
# is the label-only baseline: same network, same epochs, no teacher.
classic = dict(encoding="standard", augment=None, **common)
distilled = DistilledClassifier(forest, soft_target_weight=0.5, **classic)
distilled.fit(X_train, y_train)
labels_only = DistilledClassifier(soft_target_weight=0, **classic).fit(X_train, y_train)
for name, model in [
    ("defaults", default),
    ("classic", distilled),
    ("labels only", labels_only),
]:
    agreement = agreement_score(forest.predict(X_test), model.predict(X_test))
    print(
        f"{name:12s} accuracy {model.score(X_test, y_test):.4f}, "
        f"agreement with the forest {agreement:.4f}"
    )

# %%
# Tune temperature and soft-target weight
# ---------------------------------------
# The temperature is never chosen by ``fit``: tune it by grid search. The
# encoding and MUNGE are set, so that each of the grid's fits does not run its
# own search as well. ``memory`` caches the forest's outputs, so the grid
# queries the forest once per fold rather than once per candidate. The forest
# was fitted on the whole training set, so these cross-validated scores are
# slightly optimistic: the teacher has seen each validation fold's labels.
search = GridSearchCV(
    DistilledClassifier(forest, memory=mkdtemp(), **classic),
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
