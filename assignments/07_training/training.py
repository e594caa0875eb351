"""Module 07: training, the loop that turns a model, a loss and an optimizer into learning.

What you build
    Trainer          train_epoch(batches): zero_grad, forward, loss, backward, step per batch;
                     evaluate(batches): loss (and accuracy) without a graph and without updates;
                     save_checkpoint / load_checkpoint: the parameters in a NumPy .npz file
    CosineSchedule   a learning rate that falls from max_lr to min_lr along half a cosine
    clip_grad_norm   rescale all gradients together when their total norm is too large

Why it matters
    Every model from here on trains with the same loop; writing it once, carefully, removes a
    whole class of silent bugs: forgetting zero_grad (gradients of old batches pile up),
    evaluating in training mode (Dropout still drops) or with the graph on (memory for nothing),
    averaging the loss per batch when the last batch is smaller, or a checkpoint that loads
    half a model before noticing it belongs to another one.

        for epoch in range(EPOCHS):                      one epoch = one pass over the data
            optimizer.lr = schedule.get_lr(epoch)
            for x, y in batches:                         one step = one batch
                optimizer.zero_grad()
                loss = loss_fn(model(x), y)              forward
                loss.backward()                          backward (module 05)
                clip_grad_norm(params, max_norm)         optional
                optimizer.step()                         update (module 06)
            evaluate(val_batches)                        model.eval(), no_grad, no step
            save_checkpoint("epoch_3.npz")

Who uses it later
    08 dataloader   DataLoader(...) is exactly the `batches` iterable these methods take
    milestones      MNIST MLP, CIFAR CNN and TinyGPT all train with Trainer (and checkpoints)

The systems angle
    Backward needs the activations of the forward pass, so they stay in memory until it runs:
    their size grows linearly with the batch size, while the parameters, gradients and
    optimizer state do not depend on it (`activation_memory_bytes`, `max_batch_size`).

Checkpoints are plain arrays
    A checkpoint is an .npz file (a zip of .npy arrays) holding numbers only, loaded with
    allow_pickle=False: loading a checkpoint can never run code, unlike a pickle. Its keys:

        param_0, param_1, ...   model.parameters() in order, each with its shape and dtype
        num_params              how many param_i there are (an int array of shape ())
        epoch, steps            how far training got (int arrays of shape ())
"""

from __future__ import annotations

import math
import os

import numpy as np

from tinytorch.core.autograd import no_grad
from tinytorch.core.losses import _as_array       # module 04's given helper: the array of a target
from tinytorch.core.optimizers import training_memory_bytes
from tinytorch.core.tensor import Tensor, _as_tensor   # module 01's given helper: a batch's inputs as a Tensor

PARAM_KEY = "param_{}"                          # key of the i-th parameter in a checkpoint
META_KEYS = ("num_params", "epoch", "steps")    # the other keys, each an integer array of shape ()


def _batch_size(x: Tensor) -> int:
    """Number of examples in a batch: the size of its first dimension (1 for a 0-d Tensor) (given)."""
    return int(x.shape[0]) if x.ndim else 1


def _is_class_targets(logits: Tensor, targets: np.ndarray) -> bool:
    """True when a batch looks like classification: logits (N, C), targets N whole numbers (given)."""
    if logits.ndim != 2 or targets.shape != (logits.shape[0],):
        return False
    if targets.dtype.kind in "iu":
        return True
    return targets.dtype.kind == "f" and bool(np.all(targets == np.round(targets)))


def _check_training_parts(who: str, model, optimizer, loss_fn) -> None:
    """A model, an optimizer and a loss function that can train together, or a TypeError (given)."""
    if not callable(model) or not hasattr(model, "parameters"):
        raise TypeError(f"{who}: model must be a Module (callable, with parameters()); got {type(model).__name__}")
    if not (hasattr(optimizer, "step") and hasattr(optimizer, "zero_grad")):
        raise TypeError(f"{who}: optimizer must have step() and zero_grad(); got {type(optimizer).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"{who}: loss_fn must be callable; got {type(loss_fn).__name__}")


def _check_positive_int(who: str, name: str, value) -> int:
    """`value` as an int, or a ValueError naming `who`, `name` and the value unless it is an int >= 1 (given)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{who}: {name} must be an int >= 1; got {value!r}")
    return int(value)


def _check_layer_sizes(who: str, layer_sizes) -> list:
    """`layer_sizes` as a list of at least two ints >= 1, or a ValueError naming the bad one (given)."""
    try:
        sizes = list(layer_sizes)
    except TypeError:
        raise ValueError(f"{who}: layer_sizes must be a list of ints; got {layer_sizes!r}") from None
    if len(sizes) < 2:
        raise ValueError(f"{who}: layer_sizes needs at least an input and an output size; got {sizes}")
    return [_check_positive_int(who, f"layer_sizes[{i}]", s) for i, s in enumerate(sizes)]


# ---------------------------------------------------------------------------------------------
# Gradient clipping
# ---------------------------------------------------------------------------------------------


def clip_grad_norm(parameters, max_norm: float) -> float:
    """Scale all gradients together so that their total L2 norm is at most max_norm.

        total = sqrt( sum over every parameter p with a grad, of sum(p.grad ** 2) )
        if total > max_norm:  every p.grad is scaled by max_norm / total      (in place)

    One norm over all parameters, not one per parameter: the direction of the whole update is
    kept, only its length is capped. One bad batch (a huge loss, a gradient of 1e6) then moves
    the weights by a bounded step instead of throwing away everything learned so far; RNNs and
    transformers train with it routinely (max_norm = 1.0 is common).

    TODO: compute the total norm over the gradients that exist, scale them in place when it is
          larger than max_norm, and return the total norm (before clipping) as a float.

    APPROACH:
        1. max_norm must be a number > 0: ValueError otherwise (naming it).
        2. Collect the gradient arrays of the parameters that have one.
        3. The total norm: the square root of the sum of the squares of every element of
           every gradient, summed in float64 (a float32 sum of a million squares loses
           digits).
        4. Above max_norm: scale every gradient array in place by the same factor, so that
           the total becomes max_norm. In place, so that the Tensors in p.grad, which the
           optimizer reads, see it.
        5. Return the total (before clipping) as a Python float.

    EXAMPLE:
        >>> a = Tensor([0.0], requires_grad=True); a.grad = Tensor([3.0])
        >>> b = Tensor([0.0], requires_grad=True); b.grad = Tensor([4.0])
        >>> clip_grad_norm([a, b], max_norm=1.0)          # sqrt(3^2 + 4^2)
        5.0
        >>> a.grad.data, b.grad.data                      # scaled by 1 / 5
        (array([0.6], dtype=float32), array([0.8], dtype=float32))

    HINTS:
        - `parameters` may be a generator (model.parameters() or a filter): read it once.
        - A total of nan or inf (a diverged step) cannot be scaled to anything useful: return
          it and leave the gradients as they are; the caller decides what to do.
    """
    raise NotImplementedError("Module 07 (training): write clip_grad_norm (see its docstring)")


# ---------------------------------------------------------------------------------------------
# Learning-rate schedule
# ---------------------------------------------------------------------------------------------


class CosineSchedule:
    """Learning rate along half a cosine, from max_lr at epoch 0 to min_lr at total_epochs.

        lr(e) = min_lr + (max_lr - min_lr) * (1 + cos(pi * e / total_epochs)) / 2

        max_lr |*  *
               |      *
               |        *                 large steps while far from a minimum,
               |          *               small ones to settle into it at the end
               |            *
        min_lr |               *  *  *  *   (clamped: stays min_lr after total_epochs)
               +---------------+---------> epoch
               0         total_epochs

    Usage: `optimizer.lr = schedule.get_lr(epoch)` at the start of each epoch.
    """

    def __init__(self, max_lr: float, min_lr: float, total_epochs: int):
        """Check and store the schedule's three numbers.

        TODO: set self.max_lr, self.min_lr (floats) and self.total_epochs (an int), after
              checking them.

        APPROACH:
            1. max_lr and min_lr: real numbers (not bools) with 0 <= min_lr <= max_lr;
               ValueError otherwise, naming both values.
            2. total_epochs: an int >= 1 (not a bool); ValueError otherwise, naming it.

        EXAMPLE:
            >>> CosineSchedule(0.1, 0.001, 10).total_epochs
            10
            >>> CosineSchedule(0.001, 0.1, 10)
            ValueError: CosineSchedule: need 0 <= min_lr <= max_lr; got max_lr=0.001, min_lr=0.1

        HINTS:
            - `not 0 <= min_lr <= max_lr` is also True when either is nan.
        """
        raise NotImplementedError("Module 07 (training): write CosineSchedule.__init__ (see its docstring)")

    def get_lr(self, epoch) -> float:
        """The learning rate for `epoch` (0-based; fractions allowed), as a float.

        TODO: return the formula of the class docstring, with epoch clamped to total_epochs.

        APPROACH:
            1. epoch must be a real number >= 0 (not a bool): ValueError otherwise.
            2. Clamp the epoch at total_epochs (the rate stays at min_lr afterwards) and turn
               it into the progress through the schedule, a fraction in [0, 1].
            3. Evaluate the class docstring's formula at that progress.

        EXAMPLE:
            >>> s = CosineSchedule(max_lr=0.1, min_lr=0.0, total_epochs=10)
            >>> s.get_lr(0), s.get_lr(5), s.get_lr(10), s.get_lr(25)
            (0.1, 0.05, 0.0, 0.0)

        HINTS:
            - math.cos and math.pi work on Python floats.
        """
        raise NotImplementedError("Module 07 (training): write CosineSchedule.get_lr (see its docstring)")


# ---------------------------------------------------------------------------------------------
# Trainer
# ---------------------------------------------------------------------------------------------


class Trainer:
    """Runs the training loop of a model with an optimizer and a loss function.

        trainer = Trainer(model, Adam(model.parameters(), lr=1e-3), CrossEntropyLoss(),
                          schedule=CosineSchedule(1e-3, 1e-5, 10), max_grad_norm=1.0)
        for epoch in range(10):
            train_loss = trainer.train_epoch(train_batches)     # a float
            metrics = trainer.evaluate(val_batches)             # {"loss": ..., "accuracy": ...}
        trainer.save_checkpoint("model.npz")

    Attributes (given, set by __init__):
        model, optimizer, loss_fn    as passed
        schedule                     None, or anything with get_lr(epoch): sets optimizer.lr
                                     at the start of every train_epoch
        max_grad_norm                None, or clip_grad_norm's max_norm before every step
        epoch                        epochs completed by train_epoch (0 at first)
        steps                        optimizer steps taken (one per batch)
        history                      {"train_loss": [...], "eval_loss": [...],
                                      "eval_accuracy": [...], "lr": [...]}: one entry per call
    """

    def __init__(self, model, optimizer, loss_fn, schedule=None, max_grad_norm=None):
        _check_training_parts("Trainer", model, optimizer, loss_fn)
        self.model = model
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.schedule = schedule
        self.max_grad_norm = max_grad_norm
        self.epoch = 0
        self.steps = 0
        self.history = {"train_loss": [], "eval_loss": [], "eval_accuracy": [], "lr": []}

    def train_epoch(self, batches) -> float:
        """One pass over `batches`, one optimizer step per batch; return the mean loss.

        TODO: put the model in training mode, run the training step of the module docstring on
              every (x, y) of `batches`, and return the mean loss per EXAMPLE (not per batch)
              as a Python float. Count the epoch and record it in self.history.

        APPROACH:
            1. Training mode for the whole model (Dropout drops, BatchNorm uses the batch).
            2. With a schedule, set the optimizer's lr for this epoch (epochs count from 0:
               `self.epoch`). Record the lr used in the history, when the optimizer has one.
            3. Per batch: the step of the module docstring, in its order (zero the grads,
               forward, loss, backward, clip if `max_grad_norm` is set, step), and count
               the step. Batches may hold arrays: convert x with module 01's `_as_tensor`.
            4. Keep a running sum of each batch's loss weighted by its number of examples
               (the given `_batch_size`), and the number of examples.
            5. No batch at all: a ValueError "Trainer.train_epoch: batches is empty".
            6. Count the epoch, record the mean loss per example, return it.

        EXAMPLE:
            >>> model = Linear(3, 1)
            >>> trainer = Trainer(model, SGD(model.parameters(), lr=0.1), MSELoss())
            >>> trainer.train_epoch([(x1, y1), (x2, y2)])   # batches of 32 and 8 rows
            0.4275...                                       # = (32 * loss_1 + 8 * loss_2) / 40
            >>> trainer.epoch, trainer.steps
            (1, 2)

        HINTS:
            - Each loss is a mean over its batch; weighting by n makes the result the mean over
              every example of the epoch, which a smaller last batch would otherwise skew.
            - float(loss.data) (or loss.item()) detaches the number: keeping the loss Tensors
              in a list would keep every batch's graph alive until the end of the epoch.
        """
        raise NotImplementedError("Module 07 (training): write Trainer.train_epoch (see its docstring)")

    def evaluate(self, batches) -> dict:
        """Loss (and accuracy, for classification) over `batches`, changing nothing.

        TODO: with the model in eval mode and no graph recorded, compute the mean loss per
              example over all batches; when every batch is classification (see
              _is_class_targets), also the fraction of examples whose arg-max logit is the
              target. Return {"loss": float} or {"loss": float, "accuracy": float}.

        APPROACH:
            1. Evaluation mode for the whole model, and the whole loop under module 05's
               `no_grad`: no graph, so no memory kept for one.
            2. Per batch: forward and loss, accumulated per example as in train_epoch.
            3. Accuracy only while every batch so far looks like classification (the given
               `_is_class_targets`, on the output and the targets' array from `_as_array`):
               count the rows whose largest logit sits at the target's column. One batch
               that is not classification turns accuracy off for the whole call.
            4. No batch at all: a ValueError "Trainer.evaluate: batches is empty".
            5. Record the loss (and the accuracy, if any) in the history ("eval_loss",
               "eval_accuracy") and return them in a dict.

        EXAMPLE:
            >>> trainer.evaluate([(x_val, labels)])              # logits (N, 10), labels (N,)
            {'loss': 0.231..., 'accuracy': 0.94}                 # (values for some trained model)
            >>> regression.evaluate([(x, y)])                    # MSELoss, y of shape (N, 1)
            {'loss': 0.0123}

        HINTS:
            - No zero_grad, no backward, no step: evaluation must leave parameters and
              gradients exactly as they were.
            - Call model.eval() before the loop, or Dropout keeps dropping and the metrics
              change from one call to the next.
        """
        raise NotImplementedError("Module 07 (training): write Trainer.evaluate (see its docstring)")

    def save_checkpoint(self, path) -> None:
        """Write the model's parameters and the training counters to `path` as an .npz file.

        TODO: save param_0 .. param_{n-1} (the arrays of model.parameters(), in order) and the
              integer arrays num_params, epoch and steps, to exactly `path`.

        APPROACH:
            1. One dict of arrays: each parameter's array under its PARAM_KEY name, in the
               order of model.parameters(), and the three META_KEYS as 0-d integer arrays.
            2. Write it with np.savez into a temporary file beside `path` (the same name
               plus ".tmp"), opened in binary mode; then move the temporary file onto
               `path` with os.replace.

        EXAMPLE:
            >>> trainer.save_checkpoint("ckpt.npz")
            >>> sorted(np.load("ckpt.npz").files)
            ['epoch', 'num_params', 'param_0', 'param_1', 'steps']

        HINTS:
            - np.savez("ckpt", ...) given a *name* appends ".npz" to it; given an open file it
              writes exactly there. Pass the file, so that load_checkpoint(path) finds it.
            - os.replace is atomic: a crash in the middle of saving leaves the previous
              checkpoint intact instead of half a file.
        """
        raise NotImplementedError("Module 07 (training): write Trainer.save_checkpoint (see its docstring)")

    def load_checkpoint(self, path) -> dict:
        """Load parameters and counters saved by save_checkpoint; check everything first.

        All or nothing: if anything is wrong (no file, not an .npz, a key missing, another
        number of parameters, a shape or dtype that differs), raise a ValueError that says what
        and leave the model exactly as it was. Only when every check has passed are the values
        copied into the parameters.

        TODO: read the file, check it against the model, then copy each array into the
              matching parameter IN PLACE and set self.epoch and self.steps. Return
              {"epoch": ..., "steps": ...}.

        APPROACH:
            1. A missing file -> ValueError "load_checkpoint: no checkpoint file at ...".
               Then read every array into a dict of your own, with np.load and
               allow_pickle=False, and close the file. Anything that fails (a corrupt or
               truncated zip, a pickled object, a .npy instead of an .npz: np.load then
               returns one array, with no `files`) -> ValueError "load_checkpoint: ... is not
               a readable .npz checkpoint (...)".
            2. Every key of META_KEYS must be there and hold one integer: ValueError naming a
               missing one. n = num_params; every param_i for i < n must be there.
            3. n must equal the model's number of parameters: ValueError naming both counts.
            4. For each i: shape and dtype of param_i must equal those of the model's i-th
               parameter; else ValueError naming i, the checkpoint's and the model's shape
               (or dtype).
            5. Only now copy each saved array INTO its parameter's existing array (in
               place, so that the optimizer's references stay valid), and set the counters.

        EXAMPLE:
            >>> other = Trainer(Sequential(Linear(4, 3)), ...)
            >>> other.load_checkpoint("mlp.npz")             # saved from Linear(4, 8), Linear(8, 3)
            ValueError: load_checkpoint: mlp.npz has 4 parameters, the model has 2

        HINTS:
            - Check all parameters before assigning any: a ValueError at parameter 3 after
              parameters 0-2 were overwritten leaves a model that is neither the old one nor
              the saved one.
        """
        raise NotImplementedError("Module 07 (training): write Trainer.load_checkpoint (see its docstring)")


# ---------------------------------------------------------------------------------------------
# Systems questions: activation memory and the batch size that fits
# ---------------------------------------------------------------------------------------------


def activation_memory_bytes(batch_size: int, layer_sizes, dtype=np.float32) -> int:
    """Bytes of the activations an MLP keeps for backward, for one batch.

    layer_sizes = [784, 128, 10] is the MLP Linear(784, 128) -> ReLU -> Linear(128, 10).
    Counting rule: one (batch_size, size) array per entry of layer_sizes, i.e. the input and
    the output of every Linear (the gradient of a Linear's weight is x.T @ grad_out: it needs x).

        bytes = batch_size * sum(layer_sizes) * itemsize
        [784, 128, 10], batch 64, float32: 64 * 922 * 4 = 236,032 bytes

    (A real framework keeps a little more, e.g. the ReLU's own input; this is the floor.)

    Why it matters: parameters, gradients and optimizer state are the same for any batch size,
    but activations grow linearly with it. When training runs out of memory, the batch size is
    the first knob; for a large model at a large batch, activations dominate everything else.

    TODO: check the arguments, return the formula above as an int.

    APPROACH:
        1. batch_size: an int >= 1 (not a bool). layer_sizes: at least two sizes, each an
           int >= 1. ValueError naming the bad value otherwise: the given
           `_check_positive_int` and `_check_layer_sizes` do these checks.
        2. The formula above.

    EXAMPLE:
        >>> activation_memory_bytes(64, [784, 128, 10])
        236032
        >>> activation_memory_bytes(128, [784, 128, 10])     # double the batch, double the bytes
        472064

    HINTS:
        - `_check_layer_sizes` returns a list: the caller may pass a tuple or a list.
    """
    raise NotImplementedError("Module 07 (training): write activation_memory_bytes (see its docstring)")


def max_batch_size(memory_bytes: int, layer_sizes, optimizer_name: str = "adam", dtype=np.float32) -> int:
    """The largest batch whose training fits in `memory_bytes`, for the MLP of `layer_sizes`.

        fixed      what module 06's training_memory_bytes counts for this MLP and optimizer:
                   params + grads + optimizer state, the same for every batch size
        per_sample the activations of one example (activation_memory_bytes of a batch of 1)
        answer     how many whole per_sample fit in what fixed leaves; 0 when nothing is left

    num_params of the MLP: the sum over consecutive sizes (a, b) of a * b + b (weights, biases).

    Why it matters: this is the calculation behind "CUDA out of memory". The fixed part is paid
    once; every extra example costs per_sample bytes. With Adam the fixed part is 4x the model,
    which is why switching from SGD to Adam can force a smaller batch.

    TODO: compute and return the answer above as an int.

    APPROACH:
        1. memory_bytes: an int >= 0; layer_sizes checked as in activation_memory_bytes.
        2. num_params: walk the consecutive pairs of sizes (each pair is one Linear).
        3. fixed and per_sample as above, then the answer, never below 0.

    EXAMPLE:
        >>> max_batch_size(10_000_000, [784, 128, 10])        # (1e7 - 4 * 101,770 * 4) // 3,688
        2269
        >>> max_batch_size(10_000_000, [784, 128, 10], "sgd")  # (1e7 - 2 * 101,770 * 4) // 3,688
        2490

    HINTS:
        - training_memory_bytes comes from module 06 (imported at the top of this file).
    """
    raise NotImplementedError("Module 07 (training): write max_batch_size (see its docstring)")

