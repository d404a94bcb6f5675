"""Hidden tests of chapter 2 (not in the installed package)."""

import numpy as np

from digitlab.grading.judge import results_close


def relu_backward(answer, rng):
    """Fresh shapes and values; a gradient that must be zero where z <= 0, including z == 0 exactly."""
    z = rng.normal(size=(int(rng.integers(2, 9)), int(rng.integers(3, 12))))
    upstream = rng.normal(size=z.shape)
    edge = np.array([[-1.0, 0.0, 2.0]])
    edge_up = np.array([[5.0, 5.0, 5.0]])
    results = answer.run([(upstream, z), (edge_up, edge)])
    return [
        ("fresh inputs", results_close(results[:1], [upstream * (z > 0)])),
        ("zero where z <= 0", results_close(results[1:], [edge_up * (edge > 0)])),
    ]


TESTS = {"ch02.relu_backward": relu_backward}
