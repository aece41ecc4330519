"""The learned layer: training, ONNX export and in-process serving of the risk models.

- ``models.serving.ModelSet``: load and check the deployed models, predict, explain,
  hot-reload (``models/artifacts`` holds the committed ones).
- ``models.combine.assess``: rule syndrome grades and model output in one
  ``RiskAssessment`` per risk.
- ``models.physionet_replay.score_physionet_stay``: offline replay of a PhysioNet PSV stay.
- ``python -m models train|report`` and ``python -m models.bench``; see ``docs/models.md``.
"""
