"""PyTorch models of the book (chapter 4 and later), the fast training loop, and their ``zoo`` recipes.

Importing this module imports PyTorch; ``import digitlab`` alone does not.
"""

from __future__ import annotations

import torch  # noqa: F401  (this module is the book's PyTorch entry point)
