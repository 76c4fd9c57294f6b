"""
===========================================
Getting started: from a DataFrame to a file
===========================================

The path most users walk: a pandas DataFrame with numbers, strings, missing
values and string labels; a teacher pipeline that one-hot encodes the strings
in front of a gradient boosting model; a distilled student; a grid search with
a cache; the student exported, saved in the three formats and checked against
its teacher.
"""

# %%
# The data and the teacher
# ------------------------
# Breast-cancer measurements stand in for a business table: one column becomes a
# string category, some values go missing, and the labels are strings.
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from sklearn_kd import DistilledClassifier, load_student
from sklearn_kd.metrics import compression_report

data = load_breast_cancer(as_frame=True)
frame = data.data.iloc[:, :8].copy()
frame["size"] = pd.cut(
    frame.pop("mean area"), [0, 400, 700, 1000, np.inf], labels=["S", "M", "L", "XL"]
).astype(str)
frame.loc[frame.sample(frac=0.1, random_state=0).index, "mean texture"] = np.nan
labels = np.where(data.target == 1, "benign", "malignant")
X_train, X_test, y_train, y_test = train_test_split(
    frame, labels, test_size=0.3, stratify=labels, random_state=0
)
encode = make_column_transformer(
    (OneHotEncoder(handle_unknown="ignore"), ["size"]), remainder="passthrough"
)
teacher = make_pipeline(encode, HistGradientBoostingClassifier(random_state=0))
teacher.fit(X_train, y_train)
print(f"teacher accuracy: {teacher.score(X_test, y_test):.4f}")
frame.head()

# %%
# Distil it
# ---------
# The DataFrame goes in as it is: the teacher reads the strings, the student
# codes them as categories; NaN reaches the teacher (this one accepts it) and
# the student imputes it. ``verbose=1`` reports each stage.
student = DistilledClassifier(teacher, random_state=0, n_threads=1, verbose=1)
student.fit(X_train, y_train)
print(f"student accuracy: {student.score(X_test, y_test):.4f}")
print("chosen:", student.selected_params_)

# %%
# How the training went
# ---------------------
# The student's history records, per epoch, its training loss and how often it
# agrees with the teacher on a fixed sample of training rows.
import matplotlib.pyplot as plt

from sklearn_kd import TrainingCurveDisplay

TrainingCurveDisplay.from_estimator(student)
plt.show()

# %%
# Tune it, with the teacher's outputs cached
# ------------------------------------------
# Settings given explicitly are not searched again inside each fit, so the
# grid fixes the encoding and MUNGE and varies the temperature and the weight.
# ``memory`` caches the teacher's outputs: it answers once per fold.
cache = tempfile.mkdtemp()
search = GridSearchCV(
    DistilledClassifier(
        teacher,
        encoding=student.selected_params_["encoding"],
        augment=student.selected_params_["augment"],
        memory=cache,
        random_state=0,
        n_threads=1,
    ),
    {"temperature": [1.0, 2.0], "soft_target_weight": [0.5, 0.9]},
    cv=3,
).fit(X_train, y_train)
print("best:", search.best_params_, f"accuracy {search.score(X_test, y_test):.4f}")

# %%
# Compare it with its teacher
# ---------------------------
print(compression_report(teacher, search.best_estimator_, X_test, y_test, n_repeats=3))

# %%
# Ship it
# -------
# The exported student holds no teacher. It ships as a pickle (needs torch; runs
# code when loaded: trusted files only), as a numpy file (needs numpy alone;
# holds no code) or as ONNX (any ONNX runtime; holds no code). Each checks its
# input columns as the estimator did.
small = search.best_estimator_.export_student()
folder = Path(tempfile.mkdtemp())
small.save(folder / "student.npz")
loaded = load_student(folder / "student.npz")
print(
    "numpy file agrees:", bool((loaded.predict(X_test) == small.predict(X_test)).all())
)

try:
    import onnxruntime
except ImportError:
    onnxruntime = None
if onnxruntime is not None:
    small.to_onnx(folder / "student.onnx")
    session = onnxruntime.InferenceSession(str(folder / "student.onnx"))
    feed = {
        column: X_test[[column]].astype(str).to_numpy()
        if column == "size"
        else X_test[[column]].to_numpy(np.float32)
        for column in X_test.columns
    }
    (probabilities,) = session.run(None, feed)
    print(
        "ONNX agrees:",
        np.allclose(probabilities, small.predict_proba(X_test), atol=1e-5),
    )
