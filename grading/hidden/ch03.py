"""Hidden tests of chapter 3 (not in the installed package)."""

from digitlab.grading.judge import results_close


def _stack(side):
    side = side - 5 + 1  # 5x5, valid
    side = (side - 2) // 2 + 1  # 2x2 pooling
    side = -(-side // 2)  # stride 2, 'same'
    return (side, side, 32)


def stack_shape(answer, rng):
    """Fresh sides, small and large, odd and even: the function, not the one number for 28."""
    small = [int(s) for s in rng.integers(12, 28, 2)] + [int(rng.integers(6, 14)) * 2 + 1]
    large = [int(s) for s in rng.integers(33, 97, 3)]
    results = answer.run([(s,) for s in small + large])
    expect = [_stack(s) for s in small + large]
    return [
        ("sides smaller than 28", results_close(results[:3], expect[:3])),
        ("sides larger than 28", results_close(results[3:], expect[3:])),
    ]


TESTS = {"ch03.stack_shape": stack_shape}
