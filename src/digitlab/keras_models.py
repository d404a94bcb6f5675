"""Keras models of the book (chapters 2, 3 and later) and their ``zoo`` recipes.

Importing this module imports Keras (TensorFlow backend); ``import digitlab`` alone does not.
"""

from __future__ import annotations

import keras  # noqa: F401  (this module is the book's Keras entry point)
