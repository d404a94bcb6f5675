"""digitlab: the helper package of Digit Lab, an executable book on handwritten-digit recognition.

Importing it is cheap: it never imports TensorFlow or PyTorch. It does make TensorFlow grow its GPU
memory on demand (``TF_FORCE_GPU_ALLOW_GROWTH=true`` unless already set). Modules that need a framework
(``keras_models``, ``torch_train``, ...) import it when you import them.
"""

__version__ = "0.2.0"  # the one place the version lives (pyproject.toml reads it)

import os  # noqa: E402

# TensorFlow and PyTorch share one GPU in chapters 5 and 6, the results page, the tests and the
# grader's workers: without this TensorFlow reserves almost all of the GPU's memory at its first GPU
# operation (Keras 3 sets it only for its non-TensorFlow backends). TensorFlow reads it when it
# creates its GPU devices, so it must be set before then; a value set by the user wins.
os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")

from digitlab import data, runtime  # noqa: E402  (light modules only)

__all__ = ["__version__", "data", "runtime"]
