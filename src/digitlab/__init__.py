"""digitlab: the helper package of Digit Lab, an executable book on handwritten-digit recognition.

Importing it is cheap: it never imports TensorFlow or PyTorch. Modules that need a framework
(``keras_models``, ``torch_train``, ...) import it when you import them.
"""

__version__ = "0.2.0"  # the one place the version lives (pyproject.toml reads it)

from digitlab import data, runtime  # noqa: E402  (light modules only)

__all__ = ["__version__", "data", "runtime"]
