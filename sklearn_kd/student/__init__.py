"""The student's side: the network, its input encoding and its training.

The torch modules (input encoder, MLP, logit bias), the distillation loss, the
skorch net and its callbacks, thread and device policy, the training budget
and the automatic selection among candidate students.
"""
