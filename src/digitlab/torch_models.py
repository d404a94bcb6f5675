"""PyTorch models of the book (chapter 4 and later), the fast training loop, and their ``zoo`` recipes.

Importing this module imports PyTorch; ``import digitlab`` alone does not.

The training loop here is the *fast path* of chapter 4: the whole data set lives as tensors on the
device and each epoch visits it in a fresh random order by slicing a shuffled index, instead of
building every batch sample by sample with a ``DataLoader``.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Iterator

import numpy as np
import torch  # noqa: F401  (this module is the book's PyTorch entry point)
from torch import nn

from digitlab import data as mnist_data
from digitlab import runtime, zoo

# How chapter 4 trains its networks; the zoo recipes use the same settings.
LEARNING_RATE = 0.1
BATCH_SIZE = 64
EPOCHS = 4
# SGD at a constant 0.1 jitters around a minimum, so the last epoch runs at a tenth of the rate.
FINAL_LR_FACTOR = 0.1
VALIDATION = 5000  # training images held out to monitor training (the test set is used once, at the end)
QUICK_EPOCHS = 2  # BatchNorm at this learning rate needs more than one quick epoch to settle


# --- the chapter 4 network ------------------------------------------------------------------------
class CNN(nn.Module):
    """Chapter 4's network: conv1, conv2, conv3 blocks and a linear classifier (optionally BatchNorm + Dropout)."""

    def __init__(self, batch_norm: bool = False, dropout: float = 0.0):
        super().__init__()
        if not isinstance(batch_norm, bool):
            raise TypeError(f"batch_norm must be True or False, got {batch_norm!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"dropout must be a probability in [0, 1), got {dropout!r}")
        self.conv1 = nn.Sequential(*conv_relu(1, 8, batch_norm), nn.MaxPool2d(2))
        self.conv2 = nn.Sequential(*conv_relu(8, 16, batch_norm), *conv_relu(16, 32, batch_norm),
                                   nn.MaxPool2d(2))
        self.conv3 = nn.Sequential(*conv_relu(32, 256, batch_norm))
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()
        self.out = nn.Linear(256 * 7 * 7, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape [N, 10] for images of shape [N, 1, 28, 28]."""
        x = self.conv3(self.conv2(self.conv1(x)))
        return self.out(self.dropout(torch.flatten(x, 1)))


def conv_relu(c_in: int, c_out: int, batch_norm: bool = False) -> list[nn.Module]:
    """A 5x5 convolution that keeps the image size, then ReLU (with BatchNorm in between if asked)."""
    if batch_norm:  # BatchNorm subtracts the mean, so the convolution's bias would be wasted
        return [nn.Conv2d(c_in, c_out, 5, stride=1, padding=2, bias=False), nn.BatchNorm2d(c_out),
                nn.ReLU()]
    return [nn.Conv2d(c_in, c_out, 5, stride=1, padding=2), nn.ReLU()]


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters of ``model``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def stage_shapes(model: CNN, x: torch.Tensor) -> dict[str, tuple[int, ...]]:
    """Shape of the batch ``x`` after each stage of a ``CNN`` (what the forward pass does, step by step)."""
    if not isinstance(model, CNN):
        raise TypeError(f"model must be a digitlab.torch_models.CNN, got {type(model).__name__}")
    shapes = {"input": tuple(x.shape)}
    with torch.no_grad():
        for name in ("conv1", "conv2", "conv3"):
            x = getattr(model, name)(x)
            shapes[name] = tuple(x.shape)
        x = torch.flatten(x, 1)
        shapes["flatten"] = tuple(x.shape)
        shapes["out"] = tuple(model.out(model.dropout(x)).shape)
    return shapes


# --- data as tensors, and the fast batch iterator -------------------------------------------------
def as_images(x) -> torch.Tensor:
    """Float32 tensor [N, 1, 28, 28] in [0, 1] from images shaped (N, 784), (N, 28, 28), (N, 28, 28, 1) or (N, 1, 28, 28)."""
    t = x.detach().cpu() if isinstance(x, torch.Tensor) else torch.from_numpy(np.asarray(x))
    if t.dtype == torch.uint8:
        t = t.float() / 255.0
    elif not t.is_floating_point():
        raise TypeError(f"x must hold uint8 or float pixels, got dtype {t.dtype}")
    if t.ndim == 2 and t.shape[1] == 784:
        t = t.reshape(-1, 1, 28, 28)
    elif t.ndim == 3 and t.shape[1:] == (28, 28):
        t = t[:, None]
    elif t.ndim == 4 and t.shape[1:] == (28, 28, 1):
        t = t.permute(0, 3, 1, 2)
    elif not (t.ndim == 4 and t.shape[1:] == (1, 28, 28)):
        raise ValueError("x must have shape (N, 784), (N, 28, 28), (N, 28, 28, 1) or (N, 1, 28, 28); "
                         f"got {tuple(t.shape)}")
    return t.float().contiguous()


def as_labels(y) -> torch.Tensor:
    """Int64 tensor of digit labels 0-9 from an array or tensor of shape (N,)."""
    t = y.detach().cpu() if isinstance(y, torch.Tensor) else torch.from_numpy(np.asarray(y))
    if t.ndim != 1 or t.is_floating_point():
        raise ValueError(f"y must be a 1-D array of integer labels, got {t.dtype} of shape {tuple(t.shape)}")
    t = t.long()
    if len(t) and (t.min() < 0 or t.max() > 9):
        raise ValueError(f"y must hold digits 0-9, got values {int(t.min())}..{int(t.max())}")
    return t


class Batches:
    """Mini-batches of tensors already on the device; each pass over it is one epoch in a fresh order.

    Like a ``DataLoader`` it has a length (batches per epoch) and can be iterated again and again,
    but a batch is one indexing operation instead of ``batch_size`` calls to ``__getitem__``.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int = BATCH_SIZE,
                 shuffle: bool = True, generator: torch.Generator | None = None):
        if len(x) != len(y):
            raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.x, self.y, self.batch_size = x, y, batch_size
        self.shuffle, self.generator = shuffle, generator

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.x)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        order = order.to(self.x.device)
        for start in range(0, n, self.batch_size):
            idx = order[start:start + self.batch_size]
            yield self.x[idx], self.y[idx]


def batches(x: torch.Tensor, y: torch.Tensor, batch_size: int = BATCH_SIZE, shuffle: bool = True,
            generator: torch.Generator | None = None) -> Batches:
    """The fast path: batches sliced from a shuffled index of tensors on the device (see ``Batches``)."""
    return Batches(x, y, batch_size, shuffle, generator)


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


# --- training and evaluation ----------------------------------------------------------------------
def train_epoch(model: nn.Module, x: torch.Tensor, y: torch.Tensor, optimizer: torch.optim.Optimizer,
                batch_size: int = BATCH_SIZE, generator: torch.Generator | None = None,
                progress: bool = False, desc: str = "train") -> tuple[float, float]:
    """One pass over (x, y) on the model's device; returns the mean training loss and accuracy."""
    from tqdm.auto import tqdm

    loss_fn = nn.CrossEntropyLoss()
    model.train()
    total_loss = torch.zeros((), device=x.device)
    correct = torch.zeros((), dtype=torch.long, device=x.device)
    steps = batches(x, y, batch_size, shuffle=True, generator=generator)
    for xb, yb in tqdm(steps, desc=desc, disable=not progress, leave=False):
        optimizer.zero_grad(set_to_none=True)
        logits = model(xb)
        loss = loss_fn(logits, yb)
        loss.backward()
        optimizer.step()
        total_loss += loss.detach() * len(yb)  # summed on the device: no sync per batch
        correct += (logits.argmax(1) == yb).sum()
    return total_loss.item() / len(x), correct.item() / len(x)


@torch.inference_mode()
def evaluate(model: nn.Module, x, y, batch_size: int = 1000) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy of ``model`` on images ``x`` with labels ``y``."""
    device = _device_of(model)
    x, y = as_images(x).to(device), as_labels(y).to(device)
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must be non-empty and of the same length, got {len(x)} and {len(y)}")
    model.eval()
    loss, correct = 0.0, 0
    for xb, yb in batches(x, y, batch_size, shuffle=False):
        logits = model(xb)
        loss += nn.functional.cross_entropy(logits, yb, reduction="sum").item()
        correct += (logits.argmax(1) == yb).sum().item()
    return loss / len(x), correct / len(x)


@torch.inference_mode()
def predict_proba(model: nn.Module, x, batch_size: int = 1000) -> np.ndarray:
    """Class probabilities, a NumPy array (N, 10), for images in [0, 1] (or uint8) of any MNIST shape."""
    device = _device_of(model)
    x = as_images(x)
    model.eval()
    parts = [torch.softmax(model(x[i:i + batch_size].to(device)), 1).cpu()
             for i in range(0, len(x), batch_size)]
    return torch.cat(parts).numpy() if parts else np.zeros((0, 10), np.float32)


def predict(model: nn.Module, x, batch_size: int = 1000) -> np.ndarray:
    """Predicted digits, a NumPy int array (N,)."""
    return predict_proba(model, x, batch_size).argmax(1)


def train(model: nn.Module, data: mnist_data.MNIST, epochs: int = EPOCHS, *, lr: float = LEARNING_RATE,
          batch_size: int = BATCH_SIZE, optimizer: torch.optim.Optimizer | None = None,
          device: torch.device | str | None = None, seed: int = 0, progress: bool = True,
          verbose: bool = True) -> dict[str, list[float]]:
    """Train ``model`` with the fast path (SGD at ``lr`` unless an optimizer is given), validating after each epoch.

    ``data`` needs a validation split (``data.load_mnist(validation=...)``): training is monitored
    on it, never on the test set. The last of several epochs runs at ``FINAL_LR_FACTOR`` times the
    rate (``last_epoch_drop``).

    Returns the history: per epoch ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy`` and the
    training ``seconds`` (without the validation pass).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(data, mnist_data.MNIST):
        raise TypeError(f"data must be a digitlab.data.MNIST (from data.load_mnist()), got {type(data).__name__}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    if len(data.y_val) == 0:
        raise ValueError("data must have a validation split to monitor training on: "
                         "use data.load_mnist(validation=...)")
    device = runtime.device() if device is None else torch.device(device)
    model.to(device)
    optimizer = optimizer or torch.optim.SGD(model.parameters(), lr=lr)
    x, y = as_images(data.x_train).to(device), as_labels(data.y_train).to(device)
    generator = torch.Generator().manual_seed(seed)
    history: dict[str, list[float]] = {k: [] for k in
                                       ("loss", "accuracy", "val_loss", "val_accuracy", "seconds")}
    schedule = last_epoch_drop(optimizer, epochs)
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        loss, acc = train_epoch(model, x, y, optimizer, batch_size, generator, progress,
                                desc=f"epoch {epoch}/{epochs}")
        seconds = time.perf_counter() - start
        val_loss, val_acc = evaluate(model, data.x_val, data.y_val)
        schedule.step()
        for key, value in zip(history, (loss, acc, val_loss, val_acc, seconds)):
            history[key].append(value)
        if verbose:
            print(f"epoch {epoch}/{epochs}: loss {loss:.4f}, accuracy {acc:.4f}, "
                  f"validation loss {val_loss:.4f}, validation accuracy {val_acc:.4f} ({seconds:.1f} s)")
    return history


def validation_size() -> int:
    """Training images chapter 4 holds out for validation: ``VALIDATION``, a tenth of it in quick mode."""
    return runtime.pick(full=VALIDATION, quick=VALIDATION // 10)


def last_epoch_drop(optimizer: torch.optim.Optimizer, epochs: int) -> torch.optim.lr_scheduler.MultiStepLR:
    """Chapter 4's schedule: the given rate, then ``FINAL_LR_FACTOR`` times it for the last of ``epochs``.

    Call its ``step()`` once at the end of every epoch. A single epoch keeps the given rate.
    """
    runtime._check_positive_int("epochs", epochs)
    milestones = [epochs - 1] if epochs > 1 else []
    return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=milestones, gamma=FINAL_LR_FACTOR)


def seconds_to_reach(history: dict[str, list[float]], accuracy: float = 0.99) -> float | None:
    """Training seconds until the validation accuracy first reached ``accuracy``, or None if it never did."""
    if not 0 < accuracy <= 1:
        raise ValueError(f"accuracy must be in (0, 1], got {accuracy!r}")
    missing = {"val_accuracy", "seconds"} - set(history)
    if missing:
        raise ValueError(f"history must come from torch_models.train; it lacks {sorted(missing)}")
    elapsed = 0.0
    for seconds, acc in zip(history["seconds"], history["val_accuracy"]):
        elapsed += seconds
        if acc >= accuracy:
            return elapsed
    return None


def facts(model: nn.Module, history: dict[str, list[float]], test_accuracy: float,
          batch_size: int = BATCH_SIZE) -> dict:
    """The card ``zoo.save`` stores for a model trained by ``train``, with its one test accuracy."""
    return {
        "val_accuracy": history["val_accuracy"][-1],
        "test_accuracy": float(test_accuracy),
        "epochs": len(history["seconds"]),
        "seconds_per_epoch": round(float(np.mean(history["seconds"])), 2),
        "seconds_to_99": seconds_to_reach(history, 0.99),
        "params": count_params(model),
        "batch_size": batch_size,
    }


# --- zoo recipes ----------------------------------------------------------------------------------
SPECS = {"torch_cnn": {"batch_norm": False, "dropout": 0.0},
         "torch_cnn_bn": {"batch_norm": True, "dropout": 0.5}}


def fit(name: str) -> tuple[CNN, dict]:
    """Train the zoo model ``name`` exactly as chapter 4 does; return it with its card."""
    if name not in SPECS:
        raise ValueError(f"name must be one of {sorted(SPECS)}, got {name!r}")
    runtime.seed_everything(0)
    model = CNN(**SPECS[name])
    split = mnist_data.load_mnist(validation=validation_size())
    history = train(model, split, runtime.epochs(full=EPOCHS, quick=QUICK_EPOCHS), progress=False)
    return model, facts(model, history, evaluate(model, split.x_test, split.y_test)[1])


def load(name: str, path) -> CNN:
    """A ``CNN`` of the zoo model ``name`` with the weights saved at ``path``, on the best device."""
    model = CNN(**SPECS[name])
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.to(runtime.device()).eval()


def _save(model: nn.Module, path) -> None:
    torch.save(model.state_dict(), path)


for _name, _about in (("torch_cnn", "chapter 4's CNN"),
                      ("torch_cnn_bn", "chapter 4's CNN with BatchNorm and Dropout")):
    zoo.register(zoo.Recipe(
        name=_name, framework="pytorch", suffix=".pt", description=_about,
        train=lambda _name=_name: fit(_name), save=_save, load=lambda path, _name=_name: load(_name, path),
        settings={**SPECS[_name], "epochs": EPOCHS, "quick_epochs": QUICK_EPOCHS, "lr": LEARNING_RATE,
                  "final_lr_factor": FINAL_LR_FACTOR, "batch_size": BATCH_SIZE,
                  "validation": VALIDATION, "version": 2},
    ))


# --- chapter 7: a stronger network, its training recipe, and an ensemble --------------------------
class Standardize(nn.Module):
    """Subtract the MNIST pixel mean and divide by its standard deviation, inside the network.

    Keeping this step in the model means the model (and its ONNX export) takes pixels in [0, 1].
    """

    def __init__(self, mean: float = mnist_data.PIXEL_MEAN, std: float = mnist_data.PIXEL_STD):
        super().__init__()
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(x - mean) / std``."""
        return (x - self.mean) / self.std


def conv_bn(c_in: int, c_out: int, batch_norm: bool = True) -> list[nn.Module]:
    """A 3x3 convolution that keeps the size, BatchNorm (if asked) and ReLU."""
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=not batch_norm),
            nn.BatchNorm2d(c_out) if batch_norm else nn.Identity(), nn.ReLU(inplace=True)]


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions whose output is added to the input: ``relu(x + f(x))`` (He et al., 2016)."""

    def __init__(self, channels: int, batch_norm: bool = True):
        super().__init__()
        self.body = nn.Sequential(*conv_bn(channels, channels, batch_norm),
                                  nn.Conv2d(channels, channels, 3, padding=1, bias=not batch_norm),
                                  nn.BatchNorm2d(channels) if batch_norm else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``relu(x + body(x))``."""
        return torch.relu(x + self.body(x))


class StrongNet(nn.Module):
    """Chapter 7's compact CNN: 3x3 conv stages at 28, 14 and 7 pixels, a residual block, a linear head.

    ``widths`` are the channels of the three stages; ``middle_convs`` is the number of convolutions
    at 14x14 pixels; ``batch_norm`` and ``dropout`` (before the classifier) can be switched off to
    measure what each brings. ``head="flatten"`` feeds all 7x7 positions to the classifier, so it
    knows where each feature is; ``"average"`` pools them first.
    """

    def __init__(self, widths: tuple[int, int, int] = (16, 32, 64), batch_norm: bool = True,
                 dropout: float = 0.0, residual: bool = True, head: str = "flatten", middle_convs: int = 2):
        super().__init__()
        if (not isinstance(widths, (tuple, list)) or len(widths) != 3
                or not all(isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in widths)):
            raise ValueError(f"widths must be three positive integers, got {widths!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"dropout must be a probability in [0, 1), got {dropout!r}")
        if head not in ("average", "flatten"):
            raise ValueError(f"head must be 'average' or 'flatten', got {head!r}")
        if isinstance(middle_convs, bool) or not isinstance(middle_convs, int) or middle_convs < 1:
            raise ValueError(f"middle_convs must be a positive integer, got {middle_convs!r}")
        a, b, c = widths
        middle = [layer for _ in range(middle_convs - 1) for layer in conv_bn(b, b, batch_norm)]
        self.features = nn.Sequential(
            Standardize(),
            *conv_bn(1, a, batch_norm), nn.MaxPool2d(2),  # 28 -> 14
            *conv_bn(a, b, batch_norm), *middle, nn.MaxPool2d(2),  # 14 -> 7
            *conv_bn(b, c, batch_norm),
            ResidualBlock(c, batch_norm) if residual else nn.Identity(),
        )
        pool = [nn.AdaptiveAvgPool2d(1)] if head == "average" else []
        self.head = nn.Sequential(*pool, nn.Flatten(), nn.Dropout(dropout) if dropout else nn.Identity(),
                                  nn.Linear(c if head == "average" else c * 7 * 7, 10))
        self.config = {"widths": tuple(widths), "batch_norm": batch_norm, "dropout": dropout,
                       "residual": residual, "head": head, "middle_convs": middle_convs}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits [N, 10] for pixels in [0, 1] of shape [N, 1, 28, 28]."""
        return self.head(self.features(x))


class Ensemble(nn.Module):
    """Average the probabilities of several models; returns the log of that average (so argmax works)."""

    def __init__(self, members: list[nn.Module]):
        super().__init__()
        if not members or not all(isinstance(m, nn.Module) for m in members):
            raise ValueError("members must be a non-empty list of torch.nn.Module")
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log of the mean softmax of the members, shape [N, 10]."""
        probs = torch.stack([torch.softmax(m(x), 1) for m in self.members]).mean(0)
        return torch.log(probs.clamp_min(1e-12))


SCHEDULES = ("constant", "onecycle", "cosine")


def make_schedule(optimizer: torch.optim.Optimizer, schedule: str, lr: float, total_steps: int):
    """A per-step learning-rate scheduler: ``constant``, ``onecycle`` (warm up, then anneal) or ``cosine``."""
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total_steps,
                                                   pct_start=0.25)
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)


def train_strong(model: nn.Module, data: mnist_data.MNIST, epochs: int, *, lr: float = 3e-3,
                 weight_decay: float = 5e-4, batch_size: int = 128, schedule: str = "onecycle",
                 augment: bool = True, label_smoothing: float = 0.1, seed: int = 0,
                 device: torch.device | str | None = None, validate_every_epoch: bool = True,
                 verbose: bool = True) -> dict[str, list[float]]:
    """Chapter 7's recipe: AdamW, a per-step schedule, label smoothing and on-device augmentation.

    ``augment=True`` applies random affine transforms to every batch. It reuses chapter 4's
    ``batches`` and ``evaluate``, and like ``train`` it monitors on ``data``'s validation split,
    never the test set. Returns the history of ``train`` plus the learning rate of every step
    (``lr``); with ``validate_every_epoch=False`` only the last epoch is validated.
    """
    from digitlab import augment as aug

    if not isinstance(data, mnist_data.MNIST):
        raise TypeError(f"data must be a digitlab.data.MNIST (from data.load_mnist()), got {type(data).__name__}")
    if not isinstance(augment, bool):
        raise ValueError(f"augment must be True or False, got {augment!r}")
    runtime._check_positive_int("epochs", epochs)
    if len(data.y_val) == 0:
        raise ValueError("data must have a validation split to monitor training on: "
                         "use data.load_mnist(validation=...)")
    device = runtime.device() if device is None else torch.device(device)
    model.to(device).to(memory_format=torch.channels_last)  # faster convolutions on CPUs
    x, y = as_images(data.x_train).to(device), as_labels(data.y_train).to(device)
    steps = -(-len(x) // batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    scheduler = make_schedule(optimizer, schedule, lr, epochs * steps)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    generator = torch.Generator().manual_seed(seed)
    history: dict[str, list[float]] = {k: [] for k in
                                       ("loss", "accuracy", "val_loss", "val_accuracy", "seconds", "lr")}
    for epoch in range(1, epochs + 1):
        model.train()
        start, total, correct = time.perf_counter(), torch.zeros(()), torch.zeros((), dtype=torch.long)
        for xb, yb in batches(x, y, batch_size, shuffle=True, generator=generator):
            if augment:
                xb = aug.random_affine(xb, generator=generator)
            logits = model(xb.contiguous(memory_format=torch.channels_last))
            loss = loss_fn(logits, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            history["lr"].append(scheduler.get_last_lr()[0])
            scheduler.step()
            total += loss.detach().cpu() * len(yb)
            correct += (logits.argmax(1) == yb).sum().cpu()
        history["seconds"].append(time.perf_counter() - start)
        history["loss"].append(total.item() / len(x))
        history["accuracy"].append(correct.item() / len(x))
        validated = validate_every_epoch or epoch == epochs
        val_loss, val_acc = evaluate(model, data.x_val, data.y_val) if validated else (float("nan"),) * 2
        history["val_loss"].append(val_loss)
        history["val_accuracy"].append(val_acc)
        if verbose:
            print(f"epoch {epoch}/{epochs}: loss {history['loss'][-1]:.4f}, "
                  f"accuracy {history['accuracy'][-1]:.4f}, validation accuracy {val_acc:.4f} "
                  f"({history['seconds'][-1]:.1f} s)", flush=True)
    model.eval()
    return history


# The strong model and the members of the ensemble: same network and recipe, different seeds.
STRONG_EPOCHS = 12
ENSEMBLE_SEEDS = (0, 1, 2, 3)


def strong_member(seed: int) -> str:
    """Zoo name of the ensemble member trained with ``seed`` (seed 0 is ``torch_strong`` itself)."""
    return "torch_strong" if seed == 0 else f"torch_strong_s{seed}"


def ensemble_members() -> list[str]:
    """Zoo names of the ensemble's members, seed 0 (``torch_strong``) first."""
    return [strong_member(seed) for seed in ENSEMBLE_SEEDS]


def fit_strong(seed: int = 0) -> tuple[StrongNet, dict]:
    """Train chapter 7's strong network with ``seed`` on the training split; return it with its card.

    The validation split (``validation_size()`` images) is held out, so chapter 7 can choose on it.
    """
    runtime.seed_everything(seed)
    model = StrongNet()
    split = mnist_data.load_mnist(validation=validation_size())
    history = train_strong(model, split, runtime.epochs(full=STRONG_EPOCHS), seed=seed,
                           validate_every_epoch=False)
    card = facts(model, history, evaluate(model, split.x_test, split.y_test)[1], batch_size=128)
    card.pop("seconds_to_99", None)  # validated only after the last epoch
    return model, dict(card, seed=seed, loss=[round(v, 4) for v in history["loss"]],
                       recipe="AdamW, one-cycle, label smoothing, random affine augmentation")


def load_strong(path) -> StrongNet:
    """A ``StrongNet`` with the weights saved at ``path``, on the best device, in eval mode."""
    model = StrongNet()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.to(runtime.device()).eval()


def fit_ensemble() -> tuple[Ensemble, dict]:
    """The ensemble of the strong members (each from the zoo, trained there if needed), tested."""
    zoo.prefetch(ensemble_members())  # missing members train side by side on a CPU
    members = [zoo.get(name, verbose=False) for name in ensemble_members()]
    cards = [zoo.card(name) for name in ensemble_members()]
    ensemble = Ensemble(members).eval()
    data = mnist_data.load_mnist()
    _, accuracy = evaluate(ensemble, data.x_test, data.y_test)
    return ensemble, {
        "test_accuracy": accuracy, "members": [c["name"] for c in cards],
        "epochs": sum(c["epochs"] for c in cards), "params": count_params(ensemble),
        "seconds_per_epoch": round(float(np.mean([c["seconds_per_epoch"] for c in cards])), 2),
        "member_train_seconds": round(sum(c.get("train_seconds", 0) for c in cards), 2),
    }


def load_ensemble(path) -> Ensemble:
    """The ensemble of strong members with the weights saved at ``path``."""
    model = Ensemble([StrongNet() for _ in ENSEMBLE_SEEDS])
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.to(runtime.device()).eval()


def _defaults(function, skip: tuple[str, ...] = ()) -> dict:
    """The default values of ``function``'s keyword arguments, except those in ``skip``."""
    return {k: p.default for k, p in inspect.signature(function).parameters.items()
            if p.default is not inspect.Parameter.empty and k not in skip}


# What defines a strong member: StrongNet's and train_strong's defaults and the epochs.
STRONG_SETTINGS = {"net": _defaults(StrongNet), "epochs": STRONG_EPOCHS, "validation": VALIDATION, "version": 2,
                   **_defaults(train_strong, skip=("seed", "device", "validate_every_epoch", "verbose"))}
for _seed in ENSEMBLE_SEEDS:
    zoo.register(zoo.Recipe(
        name=strong_member(_seed), framework="pytorch", suffix=".pt",
        description=f"chapter 7's strong CNN (seed {_seed})" if _seed else "chapter 7's strong CNN",
        train=lambda _seed=_seed: fit_strong(_seed), save=_save, load=load_strong,
        settings=dict(STRONG_SETTINGS, seed=_seed),
    ))
zoo.register(zoo.Recipe(
    name="torch_ensemble", framework="pytorch", suffix=".pt",
    description=f"chapter 7's ensemble of {len(ENSEMBLE_SEEDS)} strong CNNs",
    train=fit_ensemble, save=_save, load=load_ensemble,
    settings=dict(STRONG_SETTINGS, members=ensemble_members()),
))
