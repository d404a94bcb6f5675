"""Unit tests of digitlab.speedrun and speedrun_report: the time-to-target rule, the ladder, the table and last line, a tiny run."""

import dataclasses
import re

import pytest

torch = pytest.importorskip("torch")

from digitlab import cli, data, speedrun, speedrun_report  # noqa: E402
from digitlab.speedrun import Rung, Trace  # noqa: E402

LAST_LINE = re.compile(r"time to 99%: \d+\.\d s \(chapter 4 recipe: >?\d+\.\d s, >?\d+\.\dx faster\)")


def trace(step: str, seconds, accuracy, **rung) -> Trace:
    return Trace(
        Rung(step, f"{step} changed", **rung),
        "float32",
        list(seconds),
        list(accuracy),
        epochs=rung.get("epochs", 4),
    )


# --- the time-to-target rule ----------------------------------------------------------------------
def test_time_to_target_is_the_first_pass_at_or_above_it():
    seconds, accuracy = [1.0, 2.0, 3.0, 4.0], [0.95, 0.99, 0.985, 0.995]
    assert speedrun.time_to_target(seconds, accuracy, 0.99) == 2.0  # reached exactly, then dipped: still 2 s
    assert speedrun.time_to_target(seconds, accuracy, 0.992) == 4.0
    assert speedrun.time_to_target(seconds, accuracy, 0.999) is None
    assert speedrun.time_to_target([], [], 0.99) is None


def test_time_to_target_rejects_bad_input():
    with pytest.raises(ValueError, match="target"):
        speedrun.time_to_target([1.0], [0.99], 99)
    with pytest.raises(ValueError, match="same length"):
        speedrun.time_to_target([1.0, 2.0], [0.99], 0.99)


# --- the ladder ---------------------------------------------------------------------------------------
def test_rung_rejects_bad_settings():
    with pytest.raises(ValueError, match="net"):
        Rung("x", "y", net="resnet")
    with pytest.raises(ValueError, match="precision"):
        Rung("x", "y", precision="float8")
    with pytest.raises(ValueError, match="batch_size"):
        Rung("x", "y", batch_size=0)
    with pytest.raises(ValueError, match="cap"):  # a one-cycle schedule cannot run past its end
        Rung("x", "y", schedule="onecycle", cap=8)
    with pytest.raises(ValueError, match="cap"):
        Rung("x", "y", epochs=4, cap=2)


def test_the_ladder_starts_from_chapter_4_and_changes_one_setting_at_a_time(monkeypatch):
    monkeypatch.delenv("DIGITLAB_QUICK", raising=False)
    rungs = speedrun.ladder()
    first = rungs[0]
    assert (first.net, first.optimizer, first.lr, first.batch_size, first.epochs, first.schedule) == (
        "chapter 4's CNN",
        "sgd",
        0.1,
        64,
        4,
        "last_epoch_drop",
    )
    assert first.cap > first.epochs and not any(r.cap for r in rungs[1:])
    settings = [
        {k: v for k, v in dataclasses.asdict(r).items() if k not in ("step", "change", "cap")} for r in rungs
    ]
    for i in range(1, len(rungs)):  # each step differs from some earlier one in its one idea
        differences = [{k for k in settings[i] if settings[i][k] != settings[j][k]} for j in range(i)]
        assert (
            min(
                len(d - {"optimizer", "lr", "schedule"}) if d >= {"schedule"} else len(d) for d in differences
            )
            <= 1
        ), rungs[i].step
    assert len({r.step for r in rungs}) == len(rungs)
    monkeypatch.setenv("DIGITLAB_QUICK", "1")
    quick = speedrun.ladder()
    assert 2 <= len(quick) < len(rungs) and quick[-1] == rungs[-1]


def test_fastnet_shapes_and_size():
    net = speedrun.FastNet()
    assert net(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    # conv 24x5x5 + BN, conv 32x24x3x3 + BN, 800 -> 256 -> 10
    assert sum(p.numel() for p in net.parameters()) == 600 + 48 + 6912 + 64 + 800 * 256 + 256 + 2570
    with pytest.raises(ValueError, match="widths"):
        speedrun.FastNet(widths=(24,))


def test_batch_norm_after_pooling_is_a_different_network_of_the_same_size():
    before, after = speedrun.FastNet(), speedrun.NETS["small + BatchNorm after pooling"]()
    kinds = [type(m).__name__ for m in after.features]
    assert kinds == ["Conv2d", "MaxPool2d", "BatchNorm2d", "ReLU"] * 2
    assert [type(m).__name__ for m in before.features] == ["Conv2d", "BatchNorm2d", "MaxPool2d", "ReLU"] * 2
    assert sum(p.numel() for p in after.parameters()) == sum(p.numel() for p in before.parameters())
    for module in before.features:
        if isinstance(module, torch.nn.BatchNorm2d):  # some negative scales: a max of -x is not -(max of x)
            torch.nn.init.uniform_(module.weight, -1, 1)
    # the same weights in the other order (the module indices differ: matched by position)
    after.load_state_dict(dict(zip(after.state_dict(), before.state_dict().values())))
    x = torch.randn(4, 1, 28, 28)
    assert not torch.allclose(before.eval()(x), after.eval()(x))
    with pytest.raises(ValueError, match="norm_after_pool needs batch_norm"):
        speedrun.FastNet(batch_norm=False, norm_after_pool=True)
    with pytest.raises(TypeError, match="norm_after_pool"):
        speedrun.FastNet(norm_after_pool="yes")


def test_multiply_adds_counts_convolutions_and_linear_layers():
    # chapter 4: conv1 8x25x28x28, conv2 16x8x25x14x14 and 32x16x25x14x14, conv3 256x32x25x7x7, out 12544x10
    assert speedrun.multiply_adds(speedrun.CNN()) == (
        8 * 25 * 784 + 16 * 8 * 25 * 196 + 32 * 16 * 25 * 196 + 256 * 32 * 25 * 49 + 12544 * 10
    )
    net = speedrun.FastNet().train()
    assert speedrun.multiply_adds(net) == 24 * 25 * 576 + 32 * 24 * 9 * 100 + 800 * 256 + 256 * 10
    assert net.training  # the count leaves the mode as it was
    with pytest.raises(TypeError, match="model"):
        speedrun.multiply_adds("CNN")


# --- reporting ----------------------------------------------------------------------------------------
def test_table_and_last_line_from_made_up_traces():
    traces = [
        trace("chapter 4", [50.0, 100.0, 150.0], [0.97, 0.99, 0.991], cap=8),
        trace(
            "fast",
            [1.0, 2.5, 4.0],
            [0.95, 0.98, 0.992],
            schedule="onecycle",
            optimizer="adamw",
            lr=0.01,
            epochs=1,
        ),
    ]
    df = speedrun_report.table(traces, 0.99)
    assert list(df.columns[:4]) == ["step", "what changed", "seconds to 99%", "validation accuracy"]
    assert list(df["seconds to 99%"]) == ["100.0", "4.0"]
    assert list(df["validation accuracy"]) == ["99.10%", "99.20%"]
    line = speedrun_report.last_line(traces, 0.99)
    assert line == "time to 99%: 4.0 s (chapter 4 recipe: 100.0 s, 25.0x faster)"
    assert LAST_LINE.fullmatch(line)


def test_a_chapter_4_run_that_misses_the_target_is_a_lower_bound_and_says_so():
    slow = trace("chapter 4", [50.0, 100.0, 150.0, 200.0], [0.97, 0.98, 0.985, 0.988], cap=8)
    slow.epochs = 8  # ran on past its 4 epochs to the cap
    fast = trace("fast", [1.0, 2.0], [0.98, 0.99], epochs=1)
    assert (
        speedrun_report.last_line([slow, fast], 0.99)
        == "time to 99%: 2.0 s (chapter 4 recipe: >200.0 s, >100.0x faster)"
    )
    assert LAST_LINE.fullmatch(speedrun_report.last_line([slow, fast], 0.99))
    changed = speedrun_report.table([slow, fast], 0.99)["what changed"].iloc[0]
    assert "not reached in 4 epochs, nor by the cap of 8" in changed
    assert speedrun_report.table([slow, fast], 0.99)["seconds to 99%"].iloc[0] == "not reached"


def test_the_final_recipe_is_the_step_that_reached_the_target_soonest():
    slow = trace("chapter 4", [50.0, 100.0], [0.97, 0.991], cap=8)
    middle = trace("middle", [5.0, 10.0], [0.98, 0.992], epochs=1)
    last = trace("last", [2.0, 4.0], [0.97, 0.989], epochs=1)  # cheaper, but just short of the target
    assert speedrun_report.fastest([slow, middle, last], 0.99) is middle
    assert speedrun_report.last_line([slow, middle, last], 0.99) == (
        "time to 99%: 10.0 s (chapter 4 recipe: 100.0 s, 10.0x faster)"
    )
    assert speedrun_report.fastest([slow, middle, last], 0.995) is last  # none reached it: the last step
    assert speedrun_report.fastest([slow, last, middle], 0.95) is last  # both reached it: the sooner one
    with pytest.raises(ValueError, match="at least one more"):
        speedrun_report.fastest([slow], 0.99)


# --- a tiny run ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny():
    mnist = data.load_mnist(normalize=False, validation=200, quick=True)
    return dataclasses.replace(mnist, x_train=mnist.x_train[:640], y_train=mnist.y_train[:640])


def test_a_tiny_run_times_every_rung_and_stops_the_clock_for_validation(tiny):
    chapter4 = Rung("chapter 4", "ch4", epochs=1, cap=2)  # 10 batches of 64
    fast = Rung(
        "fast",
        "small",
        net="small + BatchNorm",
        optimizer="adamw",
        lr=0.01,
        schedule="onecycle",
        batch_size=32,
        epochs=1,
        precision="float32",
    )
    traces = speedrun.run([chapter4, fast], tiny, goal=0.999, evals=5, device="cpu", verbose=False)
    first, second = traces
    # 99.9% is out of reach: the capped rung runs to its cap, the other stops at its own epochs
    assert first.epochs == 2 and second.epochs == 1
    assert len(first.seconds) == 2 * 5 and len(second.seconds) == 5
    for t in traces:
        assert all(b > a for a, b in zip(t.seconds, t.seconds[1:]))
        assert all(0 <= a <= 1 for a in t.accuracy)
    assert second.accuracy[-1] > 0.3  # it learns (chance is 10%), even from 20 batches
    assert speedrun_report.last_line(traces, 0.999).startswith("time to 99.9%: not reached")
    easy = speedrun.run([chapter4], tiny, goal=0.05, evals=5, device="cpu", verbose=False)[0]
    assert easy.epochs == 1 and easy.time_to(0.05) == easy.seconds[0]  # reached at once: no run past the end
    assert 0 <= speedrun.final_test_accuracy(second, tiny) <= 1


def test_run_needs_a_validation_split(tiny):
    with pytest.raises(ValueError, match="validation"):
        speedrun.run([Rung("x", "y")], dataclasses.replace(tiny, x_val=tiny.x_val[:0], y_val=tiny.y_val[:0]))


@pytest.mark.parametrize("quick", ["", "1"])
def test_the_validation_split_is_chapter_4s(monkeypatch, quick):
    from digitlab import torch_recipes

    monkeypatch.setenv("DIGITLAB_QUICK", quick)
    assert speedrun.validation_size() == torch_recipes.validation_size()


def test_the_cli_knows_the_speedrun():
    args = cli.build_parser().parse_args(["speedrun", "--seed", "3"])
    assert args.func is cli.cmd_speedrun and args.seed == 3


def test_the_profile_shares_a_training_steps_time_among_its_operations(tiny):
    from digitlab import profiling

    rung = Rung("p", "p", net="small + BatchNorm", batch_size=32, precision="float32")
    table = speedrun.profile(rung, tiny, batches=3)
    assert table["share of the time"].sum() == pytest.approx(1.0)
    assert table["share of the time"].is_monotonic_decreasing and (table["ms per batch"] > 0).all()
    assert any("convolution" in name for name in table.index)
    assert 0 < profiling.share(table, "batch_norm") < 1
    assert profiling.share(table, "no such operation") == 0
    with pytest.raises(ValueError, match="at least 2 x batches x batch_size = 1280"):
        speedrun.profile(dataclasses.replace(rung, batch_size=64), tiny, batches=10)
    with pytest.raises(ValueError, match="word"):
        profiling.share(table, "")


def test_a_gpu_profile_counts_each_kernel_once():
    """A recorded CUDA trace's shape: each kernel is an event of its own and in the op that launched it."""
    from types import SimpleNamespace as Event

    from torch.autograd import DeviceType

    from digitlab import profiling

    cpu, cuda = DeviceType.CPU, DeviceType.CUDA
    events = [  # key_averages() of 2 batches: microseconds
        Event(
            key="aten::cudnn_convolution", device_type=cpu, self_device_time_total=600, self_cpu_time_total=90
        ),
        Event(
            key="aten::cudnn_batch_norm", device_type=cpu, self_device_time_total=300, self_cpu_time_total=40
        ),
        Event(key="aten::conv2d", device_type=cpu, self_device_time_total=0, self_cpu_time_total=10),
        Event(key="cudaLaunchKernel", device_type=cpu, self_device_time_total=0, self_cpu_time_total=50),
        Event(
            key="sm80_xmma_fprop_implicit_gemm",
            device_type=cuda,
            self_device_time_total=600,
            self_cpu_time_total=0,
        ),
        Event(
            key="void cudnn::bn_fw_tr_1C11_kernel_NCHW",
            device_type=cuda,
            self_device_time_total=300,
            self_cpu_time_total=0,
        ),
    ]
    table = profiling.table(events, gpu=True, batches=2)
    assert table["ms per batch"].sum() == pytest.approx(0.45), "900 us of kernels over 2 batches, once"
    assert list(table.index) == ["aten::cudnn_convolution", "aten::cudnn_batch_norm"]
    assert profiling.share(table, "batch_norm") == pytest.approx(1 / 3)
    on_cpu = profiling.table(events, gpu=False, batches=2)
    assert on_cpu["ms per batch"].sum() == pytest.approx(0.095) and len(on_cpu) == 4
    with pytest.raises(ValueError, match="batches"):
        profiling.table(events, gpu=True, batches=0)


def test_the_race_warms_up_each_set_up_first_and_that_changes_no_result(tiny, monkeypatch):
    rung = Rung("chapter 4", "ch4", epochs=1)
    calls = []
    real = speedrun.warm_up
    monkeypatch.setattr(speedrun, "warm_up", lambda *a, **k: calls.append(len(a[0])) or real(*a, **k))
    warm = speedrun.run([rung, rung], tiny, goal=0.999, evals=2, device="cpu", verbose=False)
    assert calls == [2], "one warm-up before the race"
    monkeypatch.setattr(speedrun, "warm_up", lambda *a, **k: 0)
    cold = speedrun.run([rung], tiny, goal=0.999, evals=2, device="cpu", verbose=False)
    assert warm[0].accuracy == cold[0].accuracy
    x, y = torch.rand(64, 1, 28, 28), torch.randint(0, 10, (64,))
    half = dataclasses.replace(rung, precision="bfloat16")
    assert real([rung, rung, half, dataclasses.replace(rung, step="other")], x, y) == 2, "distinct set-ups"
