"""The trained student on its own: standalone estimators, files and exports.

``StudentClassifier`` and ``StudentRegressor``, the torch-free ``.npz`` file and
its numpy network, ONNX and skops export, and the inference path that picks
numpy or torch by batch size. It never imports the teacher side.
"""
