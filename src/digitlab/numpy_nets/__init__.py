"""Neural networks written by hand in NumPy (chapters 1 and 2): the lesson is the code itself.

One module per step of the story, all reachable as ``numpy_nets.<name>``:

- ``activations``: activation functions, their derivatives and a table comparing them;
- ``linear`` (chapter 1): toy data sets, ``Perceptron``, ``MulticlassPerceptron``, ``fit_line``,
  ``softmax``, ``cross_entropy`` and ``SoftmaxRegression``;
- ``mlp`` (chapter 2): ``MLP`` with backpropagation and SGD with momentum, and ``gradient_check``.
"""

from digitlab.numpy_nets.activations import (
    ACTIVATIONS,
    activation_table,
    leaky_relu,
    leaky_relu_grad,
    relu,
    relu_grad,
    sigmoid,
    sigmoid_grad,
    step,
    step_grad,
    tanh,
    tanh_grad,
)
from digitlab.numpy_nets.linear import (
    Classifier,
    MulticlassPerceptron,
    Perceptron,
    SoftmaxRegression,
    blobs,
    cross_entropy,
    fit_line,
    line_points,
    log_softmax,
    minibatches,
    one_hot,
    softmax,
    xor_points,
)
from digitlab.numpy_nets.mlp import MLP, gradient_check, numerical_gradients

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "Classifier",
    "MulticlassPerceptron",
    "Perceptron",
    "SoftmaxRegression",
    "activation_table",
    "blobs",
    "cross_entropy",
    "fit_line",
    "gradient_check",
    "leaky_relu",
    "leaky_relu_grad",
    "line_points",
    "log_softmax",
    "minibatches",
    "numerical_gradients",
    "one_hot",
    "relu",
    "relu_grad",
    "sigmoid",
    "sigmoid_grad",
    "softmax",
    "step",
    "step_grad",
    "tanh",
    "tanh_grad",
    "xor_points",
]
