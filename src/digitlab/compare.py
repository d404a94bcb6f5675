"""How sure the results page is: each zoo model's test predictions, an interval for each accuracy, and
which models differ from the best by more than chance (the results page, ``book/results.ipynb``).

A test accuracy is a proportion of test images, so its uncertainty is a binomial one: the Wilson
interval (``scipy.stats.binomtest``) gives it. Two models are compared on the *same* images, so the
test of a difference is McNemar's (``metrics.mcnemar``, chapter 5), and comparing every model with
the best makes several tests at once: the p-values are adjusted with Benjamini and Hochberg's
procedure (``scipy.stats.false_discovery_control``) before anything is called real.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from digitlab import _validation as check
from digitlab import data, metrics, predict, zoo

if TYPE_CHECKING:
    import pandas as pd

CONFIDENCE = 0.95
ALPHA = 0.05  # the false-discovery rate below which a difference from the best counts as real


def predictions(name: str) -> np.ndarray:
    """The digits zoo model ``name`` predicts for the test set (the quick subset in quick mode)."""
    native = predict.FRAMEWORKS[zoo.recipe(name).framework][0]
    trained = zoo.get(name, verbose=False)
    backend = (
        predict.TorchBackend(trained, name) if native == "torch" else predict.KerasBackend(trained, name)
    )
    return backend.predict_proba(data.load_mnist(normalize=False).x_test).argmax(axis=1)


def interval(correct: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson interval of an accuracy of ``correct`` out of ``n`` images."""
    from scipy.stats import binomtest

    check.int_at_least("n", n, 1)
    check.int_at_least("correct", correct, 0)
    if correct > n:
        raise check.InvalidParameterError(f"correct must be at most n ({n}), got {correct}")
    ci = binomtest(int(correct), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def against_best(predicted: dict[str, np.ndarray], y_true) -> pd.DataFrame:
    """One row per model, best first: accuracy and its interval, the difference from the best model,
    McNemar's p-value for that difference, the Benjamini-Hochberg adjusted one, and whether it is real."""
    import pandas as pd
    from scipy.stats import false_discovery_control

    if len(predicted) < 2:
        raise check.InvalidParameterError(f"predicted must hold at least two models, got {len(predicted)}")
    y = np.asarray(y_true)
    accuracy = {name: float(np.mean(np.asarray(p) == y)) for name, p in predicted.items()}
    order = sorted(predicted, key=lambda name: -accuracy[name])
    best = order[0]
    rows = []
    for name in order:
        low, high = interval(int(np.sum(np.asarray(predicted[name]) == y)), len(y))
        test = metrics.mcnemar(y, predicted[best], predicted[name]) if name != best else None
        rows.append(
            {
                "model": name,
                "test accuracy": accuracy[name],
                "low": low,
                "high": high,
                "behind the best": accuracy[best] - accuracy[name],
                "p (McNemar)": test["pvalue"] if test else np.nan,
            }
        )
    frame = pd.DataFrame(rows).set_index("model")
    others = frame.index[1:]
    frame.loc[others, "q (adjusted)"] = false_discovery_control(frame.loc[others, "p (McNemar)"].to_numpy())
    frame["differs from the best"] = frame["q (adjusted)"] < ALPHA
    return frame
