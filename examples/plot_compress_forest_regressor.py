"""
================================================
Compress a random forest regressor into an MLP
================================================

Forests predict numbers as often as classes. Here a 300-tree
:class:`~sklearn.ensemble.RandomForestRegressor` on scikit-learn's diabetes data
is distilled into a small network with :class:`~sklearn_kd.DistilledRegressor`:
the student learns from the forest's out-of-bag predictions and from the true
targets, in standard units, whatever the target's own unit.
"""

# %%
# A forest teacher, and the same network trained on the targets alone
# -------------------------------------------------------------------
# The forest is passed unfitted: the student then learns from its out-of-bag
# predictions, which are honest for the rows it was fitted on.
import matplotlib.pyplot as plt
from sklearn.datasets import load_diabetes
from sklearn.ensemble import RandomForestRegressor
from sklearn.model_selection import train_test_split

from sklearn_kd import DistilledRegressor
from sklearn_kd.metrics import compression_report

X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
forest = RandomForestRegressor(n_estimators=300, min_samples_leaf=3, random_state=0)
common = dict(max_epochs=200, random_state=0, n_threads=1)

distilled = DistilledRegressor(forest, soft_target_weight=0.5, **common)
distilled.fit(X_train, y_train)
labels_only = DistilledRegressor(soft_target_weight=0, **common).fit(X_train, y_train)
teacher = distilled.teacher_
print(f"soft targets: {distilled.soft_targets_}")
for name, model in [
    ("forest", teacher),
    ("distilled", distilled),
    ("labels only", labels_only),
]:
    print(f"{name:12s} test R² {model.score(X_test, y_test):.3f}")

# %%
# Size, speed and fidelity
# ------------------------
# The report compares the student with its teacher on the test rows: R²
# against the targets, R² and mean absolute deviation against the forest, and
# what the student saves in size and prediction time.
print(compression_report(teacher, distilled, X_test, y_test, n_repeats=3))

# %%
# Predictions against the truth
# -----------------------------
fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.scatter(y_test, teacher.predict(X_test), s=14, alpha=0.7, label="forest")
ax.scatter(y_test, distilled.predict(X_test), s=14, alpha=0.7, label="student")
limits = [y.min(), y.max()]
ax.plot(limits, limits, color="grey", lw=1)
ax.set_xlabel("true disease progression")
ax.set_ylabel("predicted")
ax.legend()
fig.tight_layout()
plt.show()
