"""
==========================================
Learning from unlabelled rows and MUNGE
==========================================

Labels are often scarce while unlabelled rows are plentiful. A student can
learn from a teacher's soft targets on rows nobody labelled: give them the
label ``-1`` and they contribute to the soft term of the loss only. When there
are no unlabelled rows at all, ``augment="munge"`` makes synthetic ones near
the real rows (Bucila et al., 2006) and the teacher labels them.

Here the teacher sees 200 labelled digits; we compare students trained on
those 200 rows alone, with MUNGE rows, and with about 1,000 extra unlabelled
rows.
"""

# %%
# A few labelled rows and many unlabelled ones
# --------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

from sklearn_kd import DistilledClassifier
from sklearn_kd.metrics import agreement_score

X, y = load_digits(return_X_y=True)
X_pool, X_test, y_pool, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
n_labelled = 200
X_labelled, y_labelled = X_pool[:n_labelled], y_pool[:n_labelled]
X_unlabelled = X_pool[n_labelled:]
# -1 marks a row without a label: only the teacher's soft targets train on it.
y_unlabelled = np.full(len(X_unlabelled), -1)
print(f"{len(X_labelled)} labelled rows, {len(X_unlabelled)} unlabelled rows")

forest = RandomForestClassifier(n_estimators=200, random_state=0, n_jobs=2)
forest.fit(X_labelled, y_labelled)
forest_test_labels = forest.predict(X_test)

# %%
# Four students, the same network
# -------------------------------
# With only 200 labelled rows, ``fit`` has too few to hold some out, so it
# searches nothing and uses its fallback settings: the standard encoding, no
# MUNGE, and ``soft_target_weight=0.5`` (printed below). The unlabelled rows do
# not count towards that: only labelled rows can be held out to score a
# candidate. ``augment="munge"`` asks for synthetic rows explicitly.
settings = dict(
    hidden_layer_sizes=(64,), max_epochs=30, batch_size=32, n_threads=1, random_state=0
)
X_transfer = np.vstack([X_labelled, X_unlabelled])
y_transfer = np.concatenate([y_labelled, y_unlabelled])
students = {
    "labels only": (
        DistilledClassifier(forest, soft_target_weight=0, **settings),
        X_labelled,
        y_labelled,
    ),
    "distilled": (DistilledClassifier(forest, **settings), X_labelled, y_labelled),
    "distilled + MUNGE": (
        DistilledClassifier(forest, augment="munge", augment_factor=5, **settings),
        X_labelled,
        y_labelled,
    ),
    "distilled + unlabelled": (
        DistilledClassifier(forest, **settings),
        X_transfer,
        y_transfer,
    ),
}
accuracy, agreement = {}, {}
for name, (student, X_fit, y_fit) in students.items():
    predicted = student.fit(X_fit, y_fit).predict(X_test)
    accuracy[name] = np.mean(predicted == y_test)
    agreement[name] = agreement_score(forest_test_labels, predicted)
    print(f"{name:24s} accuracy {accuracy[name]:.3f}, agreement {agreement[name]:.3f}")
print("settings used by 'distilled':", students["distilled"][0].selected_params_)

# %%
# Accuracy and agreement with the teacher
# ---------------------------------------
fig, ax = plt.subplots(figsize=(7, 3.5))
positions = np.arange(len(students))
width = 0.38
ax.bar(positions - width / 2, list(accuracy.values()), width, label="test accuracy")
ax.bar(
    positions + width / 2,
    list(agreement.values()),
    width,
    label="agreement with the forest",
)
ax.axhline(
    forest.score(X_test, y_test), color="black", linestyle=":", label="forest accuracy"
)
ax.set_xticks(positions, list(students), fontsize=8)
lowest = min(*accuracy.values(), *agreement.values())
ax.set_ylim(lowest - 0.05, 1.0)
ax.legend(fontsize="small", loc="upper left", ncol=3)
fig.tight_layout()
plt.show()

# %%
# The unlabelled rows let the student see the teacher's behaviour on many more
# inputs than the 200 it was trained on, so it imitates the teacher more closely.
# MUNGE rows are a stand-in when no unlabelled rows exist. Both only add to the
# soft term: the label term is averaged over the labelled rows, so its weight
# is the same in all three distilled students. With the teacher
# fitted here (and not passed unfitted), the labelled rows' soft targets are the
# forest's in-sample probabilities; pass the unfitted forest to get out-of-bag
# ones instead.
