"""Comparing two models: regression runs, and saved failure modes checked on
another model's predictions. Imports ``reading``, ``runs`` and the core."""
