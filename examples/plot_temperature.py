"""
=========================================
Choosing the temperature of distillation
=========================================

The temperature ``T`` softens the teacher's probabilities before the student
learns from them: at ``T = 1`` the student sees the teacher's probabilities as
they are, and a higher ``T`` brings out how the teacher ranks the wrong classes
(the "dark knowledge" of Hinton et al., 2015). Here we distil a random forest
into a small network at several temperatures and plot the student's test
accuracy and its agreement with the forest.

We compare two sources of soft targets for the training rows: the forest's
plain ``predict_proba`` on the rows it was trained on (``"predict"``), which is
over-confident because each tree has seen most of those rows, and its
out-of-bag estimates (``"oob"``), where each row is judged only by the trees
that did not see it.
"""

# %%
# A forest teacher with out-of-bag estimates
# ------------------------------------------
# ``oob_score=True`` makes the forest keep out-of-bag probabilities for its
# training rows; ``soft_targets="oob"`` then uses them. The forest must have
# been fitted on exactly the rows given to ``fit``, in the same order.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

from sklearn_kd import DistilledClassifier
from sklearn_kd.metrics import agreement_score

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=0.5, stratify=y, random_state=0
)
forest = RandomForestClassifier(
    n_estimators=200, oob_score=True, random_state=0, n_jobs=2
).fit(X_train, y_train)
forest_test_labels = forest.predict(X_test)
print(f"forest test accuracy: {forest.score(X_test, y_test):.3f}")

# %%
# How confident is the forest on its own training rows?
# -----------------------------------------------------
# The in-sample probabilities put far more mass on the true class than the
# forest deserves; the out-of-bag ones are closer to its real accuracy.
in_sample = forest.predict_proba(X_train).max(axis=1).mean()
out_of_bag = np.nanmax(forest.oob_decision_function_, axis=1).mean()
print(f"mean top probability, in-sample: {in_sample:.3f}, out-of-bag: {out_of_bag:.3f}")

# %%
# Distil at several temperatures
# ------------------------------
# A small student (one hidden layer of 32 units) trained for a fixed number of
# epochs. The encoding, MUNGE and the soft-target weight are set, so that
# ``fit`` searches none of them and only the temperature and the source of the
# soft targets change: the standard encoding, no synthetic rows, and soft
# targets and labels in equal parts. ``soft_target_weight=0`` gives the same
# network trained on labels alone, the baseline distillation should beat.
student_settings = dict(
    hidden_layer_sizes=(32,),
    encoding="standard",
    augment=None,
    max_epochs=30,
    batch_size=32,
    n_threads=1,
    random_state=0,
)
temperatures = [1.0, 2.0, 4.0, 8.0]


def evaluate(model):
    predicted = model.predict(X_test)
    return (
        np.mean(predicted == y_test),
        agreement_score(forest_test_labels, predicted),
    )


labels_only = DistilledClassifier(forest, soft_target_weight=0, **student_settings)
baseline_accuracy, baseline_agreement = evaluate(labels_only.fit(X_train, y_train))
print(
    f"labels only       accuracy {baseline_accuracy:.3f}, "
    f"agreement {baseline_agreement:.3f}"
)

results = {}
for source in ["predict", "oob"]:
    results[source] = np.array(
        [
            evaluate(
                DistilledClassifier(
                    forest,
                    temperature=temperature,
                    soft_target_weight=0.5,
                    soft_targets=source,
                    **student_settings,
                ).fit(X_train, y_train)
            )
            for temperature in temperatures
        ]
    )
    for temperature, (accuracy, agreement) in zip(
        temperatures, results[source], strict=True
    ):
        print(
            f"{source:8s} T={temperature:<4g} accuracy {accuracy:.3f}, "
            f"agreement {agreement:.3f}"
        )

# %%
# Accuracy and agreement against temperature
# ------------------------------------------
# The dashed line is the same network trained on labels alone. Read the figure
# for trends, not for single points: it is one split and one seed.
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharex=True)
for ax, column, title, baseline in [
    (axes[0], 0, "student test accuracy", baseline_accuracy),
    (axes[1], 1, "agreement with the forest", baseline_agreement),
]:
    for source, marker in [("predict", "s"), ("oob", "o")]:
        ax.plot(
            temperatures,
            results[source][:, column],
            marker=marker,
            label=f'soft_targets="{source}"',
        )
    ax.axhline(baseline, color="grey", linestyle="--", label="labels only")
    ax.set_xscale("log", base=2)
    ax.set_xticks(temperatures, [f"{t:g}" for t in temperatures])
    ax.set_xlabel("temperature T")
    ax.set_title(title)
axes[0].axhline(
    forest.score(X_test, y_test), color="black", linestyle=":", label="forest"
)
axes[0].legend(fontsize="small")
fig.tight_layout()
plt.show()

# %%
# What to take from it
# --------------------
# - Always keep the label-only baseline in the comparison: on this data set the
#   student at ``T = 1`` roughly matches it and loses accuracy as ``T`` grows.
#   A forest's probabilities are already soft (each is a vote count), so high
#   temperatures flatten them towards uniform over every class some tree voted
#   for; teachers with real logits (boosting, neural networks) tolerate higher
#   temperatures better.
# - Start from ``T = 1`` and tune it with
#   :class:`~sklearn.model_selection.GridSearchCV` (with ``memory=...`` the
#   teacher is queried once per fold): ``fit`` never chooses the temperature.
#   It can choose the encoding, MUNGE and the soft-target weight itself (their
#   default, ``"auto"``); set them, as here, in an estimator you grid-search,
#   so that each fit of the grid does not search them again.
# - In-sample and out-of-bag soft targets give different students, here within
#   about a point of accuracy of each other; which one is ahead depends on the
#   data. Out-of-bag targets are the ones that describe how the forest behaves
#   on rows it has not seen; in-sample ones are closer to the labels.
