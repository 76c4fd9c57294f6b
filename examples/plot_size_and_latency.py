"""
=============================================
Teacher and student: size and prediction time
=============================================

Distillation is worth it when the student is much smaller and faster than its
teacher while predicting nearly the same classes. Here we distil a random
forest and a gradient-boosting model into small networks and compare each pair
with :func:`~sklearn_kd.metrics.compression_report`: accuracy, agreement,
pickled size, and prediction time for a batch and for a single row.
"""

# %%
# Two teachers and their students
# -------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.model_selection import train_test_split

from sklearn_kd import DistilledClassifier
from sklearn_kd.metrics import compression_report

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
teachers = {
    "random forest (300 trees)": RandomForestClassifier(
        n_estimators=300, random_state=0
    ),
    "gradient boosting (100 rounds)": HistGradientBoostingClassifier(
        max_iter=100, random_state=0
    ),
}
reports = {}
for name, teacher in teachers.items():
    teacher.fit(X_train, y_train)
    # The defaults let ``fit`` choose the encoding, MUNGE and the soft-target
    # weight on held-out training rows; ``selected_params_`` says what it chose.
    student = DistilledClassifier(
        teacher,
        hidden_layer_sizes=(64,),
        max_epochs=30,
        n_threads=1,
        random_state=0,
    ).fit(X_train, y_train)
    # The report pickles ``student.export_student()``: the network without its
    # teacher, which is what would be deployed.
    reports[name] = compression_report(teacher, student, X_test, y_test, n_repeats=3)
    n_weights = sum(p.numel() for p in student.student_.module_.parameters())
    print(f"{name}: {n_weights:,} student weights, {student.selected_params_}")
    print(reports[name], end="\n\n")

# %%
# Size and latency on a log scale
# -------------------------------
# Bars for the teacher and the student side by side; the label above each
# student bar is how many times smaller or faster it is. Times depend on the
# machine and its load: compare the bars, not the absolute values.
panels = [
    ("pickled size (bytes)", "size_bytes", "size_ratio"),
    ("predict time, whole test set (s)", "batch_predict_seconds", "batch_time_ratio"),
    ("predict time, one row (s)", "single_predict_seconds", "single_time_ratio"),
]
fig, axes = plt.subplots(1, 3, figsize=(11, 3.8))
positions = np.arange(len(reports))
width = 0.38
for ax, (title, field, ratio_name) in zip(axes, panels, strict=True):
    values = {
        role: [getattr(report, f"{role}_{field}") for report in reports.values()]
        for role in ("teacher", "student")
    }
    ax.bar(positions - width / 2, values["teacher"], width, label="teacher")
    bars = ax.bar(positions + width / 2, values["student"], width, label="student")
    ratios = [getattr(report, ratio_name) for report in reports.values()]
    ax.bar_label(bars, labels=[f"{ratio:.0f}x" for ratio in ratios], padding=2)
    ax.set_yscale("log")
    ax.set_xticks(positions, [name.split(" (")[0] for name in reports], fontsize=8)
    ax.set_title(title, fontsize=10)
axes[0].legend()
fig.tight_layout()
plt.show()

# %%
# Accuracy kept
# -------------
for name, report in reports.items():
    print(
        f"{name}: teacher accuracy {report.teacher_accuracy:.3f}, student "
        f"{report.student_accuracy:.3f}, agreement {report.agreement:.3f}"
    )

# %%
# The student's size is set by its layers and its input encoding (the
# piecewise-linear encoding, when ``fit`` chooses it, widens the input: one
# column per bin), not by the teacher's size, so the ratios grow with the
# teacher: a forest of deep trees on a large data set compresses far more than
# this one. Single-row latency is what an
# online service sees; there the forest pays for dispatching a row to every
# tree, and the student for one small matrix product.
