"""What the speedrun's race printed: its table, the final recipe, the speed-up, the last line and a plot.

``speedrun.run`` returns one ``Trace`` per rung of the ladder; the functions here read them. The
final recipe is chosen on the validation split (``fastest``); the test set is not used here.
It reads the traces without importing PyTorch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for the annotations only: speedrun imports this module
    from digitlab.speedrun import Trace


def percent(accuracy: float) -> str:
    """An accuracy as a short percentage: 0.99 -> "99%", 0.999 -> "99.9%"."""
    return f"{accuracy * 100:g}%"


def _seconds(value: float | None) -> str:
    return "not reached" if value is None else f"{value:.1f}"


def note(trace: Trace, goal: float) -> str:
    """What a capped rung did past its own epochs, or ""."""
    rung = trace.rung
    if not rung.cap or trace.epochs <= rung.epochs:
        return ""
    if trace.time_to(goal) is None:
        return f"; {percent(goal)} not reached in {rung.epochs} epochs, nor by the cap of {rung.cap}"
    return f"; {percent(goal)} not reached in its {rung.epochs} epochs: run on at the last rate ({trace.epochs:.3g} epochs)"


def table(traces: list[Trace], goal: float):
    """The ladder as a pandas DataFrame: step, what changed, seconds to ``goal``, final validation accuracy."""
    import pandas as pd

    rows = [
        {
            "step": t.rung.step,
            "what changed": t.rung.change + note(t, goal),
            f"seconds to {percent(goal)}": _seconds(t.time_to(goal)),
            "validation accuracy": f"{t.accuracy[-1]:.2%}",
            "training seconds": f"{t.seconds[-1]:.1f}",
            "epochs": f"{t.epochs:.3g}",
            "precision": t.precision,
        }
        for t in traces
    ]
    return pd.DataFrame(rows).rename_axis("#")


def fastest(traces: list[Trace], goal: float) -> Trace:
    """The final recipe, chosen on the validation split: the step after the first that reached ``goal`` soonest.

    When none did, the last step. A step that sits just under the goal on one machine may pass it on
    another, so the choice is made in each run, never assumed.
    """
    if len(traces) < 2:
        raise ValueError(f"traces must hold chapter 4's rung and at least one more, got {len(traces)}")
    reached = [t for t in traces[1:] if t.time_to(goal) is not None]
    return min(reached, key=lambda t: t.time_to(goal)) if reached else traces[-1]


def speedup(traces: list[Trace], goal: float) -> tuple[float | None, float, bool]:
    """Seconds to ``goal`` of the fastest step, of the first (or all its seconds), and whether the first reached it."""
    first = traces[0].time_to(goal)
    fast = fastest(traces, goal).time_to(goal)
    return fast, first if first is not None else traces[0].seconds[-1], first is not None


def last_line(traces: list[Trace], goal: float) -> str:
    """``time to 99%: <s> s (chapter 4 recipe: <s> s, <ratio>x faster)``, both from ``traces``."""
    fast, slow, reached = speedup(traces, goal)
    more = "" if reached else ">"  # chapter 4's recipe missed the target: a lower bound
    if fast is None:
        return f"time to {percent(goal)}: not reached (chapter 4 recipe: {more}{slow:.1f} s)"
    return f"time to {percent(goal)}: {fast:.1f} s (chapter 4 recipe: {more}{slow:.1f} s, {more}{slow / fast:.1f}x faster)"


def plot(traces: list[Trace], goal: float, ax=None):
    """Validation accuracy against training seconds for every rung (log-scaled seconds); returns the axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    for i, t in enumerate(traces):
        ax.plot(t.seconds, t.accuracy, ".-", label=f"{i} {t.rung.step}")
    ax.axhline(goal, color="black", linewidth=0.8, linestyle="--")
    ax.set_xscale("log")
    ax.set_ylim(max(0.9, goal - 0.05) if goal >= 0.95 else 0.5, 1)
    ax.set_xlabel("training seconds (log scale)")
    ax.set_ylabel("validation accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return ax
