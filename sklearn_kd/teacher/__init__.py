"""The teacher's side: reading any fitted model as logits, and what it teaches.

Adapters that query a teacher in batches and read its output as logits, the
gradient-boosting libraries' raw margins, split thresholds and categorical
columns, out-of-bag and cross-fitted soft targets, teacher ensembles and
specialists, and teachers shared by reference across workers. Nothing in
:mod:`sklearn_kd.student` or :mod:`sklearn_kd.serving` imports from here.
"""
