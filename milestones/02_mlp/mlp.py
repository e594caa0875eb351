"""Milestone 2: a multi-layer perceptron on MNIST, built and trained with your own modules 01-07.

What this milestone proves
    Your Tensor (01), ReLU (02), Linear, Sequential and Dropout (03), CrossEntropyLoss (04),
    autograd (05), Adam (06) and Trainer, CosineSchedule and checkpoints (07) train a real
    network on real data: a 784-128-10 MLP that reads handwritten digits. Everything that learns
    is your code; this program only feeds it batches and keeps score.

        image (28 x 28) -> flatten (784) -> Linear(784, 128) -> ReLU -> Linear(128, 10) -> logits
                                            (Dropout on its input and on the hidden layer)

    The same training, with the same batches, fits the single-layer baseline Linear(784, 10)
    (softmax regression: one linear template per digit). The gap between the two is what the
    hidden layer buys. A tenth of the training images is held out for validation; training
    stops when validation accuracy has not improved for PATIENCE epochs, and the best epoch's
    checkpoint is restored before the test set is touched, once.

    The systems angle: a table of the memory one training step needs at several batch sizes.
    Activations grow with the batch; parameters, gradients and Adam's two moments do not.

How to run
    make milestone N=2                      # after modules 01-07 pass
    FORCE=1 make milestone N=2              # explore before they pass (the result does not count)
    make milestone N=2 QUICK=1 OUT=/tmp/m2  # a short run
    make milestone N=2 DATA=DIR             # MNIST from DIR/mnist/*.gz

Outputs (in --out, default milestones/02_mlp/out/)
    training_curves.png     training loss and validation accuracy per epoch, MLP and baseline
    mlp_best.npz            the restored best MLP (Trainer.load_checkpoint reads it)
    baseline_best.npz       the same for the baseline
    metrics.json, report.md
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # run as a script: find `milestones`

from milestones.common import (Context, Outcome, Progress, TrainerCheckpoint, accuracy_check, count_params, fit,  # noqa: E402
                               load_timed, main, plot_history, random_subset, save_figure, setup,
                               split_sentence, stratified_split)

setup()                                   # one BLAS thread, plots to files: before NumPy loads
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tinytorch.datasets import load_mnist  # noqa: E402
from tinytorch.core.activations import ReLU  # noqa: E402
from tinytorch.core.layers import Dropout, Linear, Sequential  # noqa: E402
from tinytorch.core.losses import CrossEntropyLoss  # noqa: E402
from tinytorch.core.optimizers import Adam, training_memory_bytes  # noqa: E402
from tinytorch.core.tensor import Tensor  # noqa: E402
from tinytorch.core.training import CosineSchedule, Trainer, activation_memory_bytes  # noqa: E402
from tinytorch.manifest import load_course  # noqa: E402

# ---------------------------------------------------------------------------------------------
# Settings: everything a student might want to change, in one place
# ---------------------------------------------------------------------------------------------

TARGET_ACCURACY = load_course().milestone("2").criteria["accuracy"]   # 0.95, from course.toml
QUICK_TARGET = 0.80        # --quick: 2 short epochs on 1,000 images; chance is 10%

LAYER_SIZES = (784, 128, 10)   # input pixels, hidden units, classes
INPUT_DROPOUT = 0.2        # Dropout on the pixels and on the hidden layer while training:
HIDDEN_DROPOUT = 0.3       # with 5,000 images the MLP overfits a little without them
EPOCHS = 40                # at most; early stopping may end sooner
BATCH_SIZE = 128
LR = 3e-3                  # Adam's learning rate at epoch 0, cosine-annealed ...
MIN_LR = LR / 100          # ... to this at the last epoch
PATIENCE = 10              # stop after this many epochs without a better validation accuracy
VAL_FRACTION = 0.1         # of each digit's training images, held out for early stopping
DESKEW = True              # straighten each digit first (see `deskew`): ~2 points on 5,000 images
EVAL_BATCH = 1000          # rows per forward pass in evaluation (no graph: memory is small)

QUICK_TRAIN_IMAGES = 1000  # --quick: a random subset of the training images ...
QUICK_EPOCHS = 2           # ... and this many epochs (the course's self-test)

MEMORY_BATCH_SIZES = (32, 128, 512, 2048)
OPTIMIZER_NAME = "adam"    # for module 06's training_memory_bytes
FULL_MNIST_TRAIN = 60_000  # images in MNIST's official training set
DTYPE = np.float32         # of the images fed to the model (and of every parameter)

# ---------------------------------------------------------------------------------------------
# Data: MNIST, split, deskewed, flattened, standardised
# ---------------------------------------------------------------------------------------------


def deskew(images: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Shear each image so its digit stands upright, and move its centre of mass to the middle.

    Handwriting leans. For an image with ink I(r, c), the centre of mass is (r0, c0) and the
    slant is alpha = cov(r, c) / var(r): how many columns the ink moves per row. The output
    pixel (r, c) reads the input, by bilinear interpolation, at

        row    r + (r0 - R)                      R, C: the middle of the image
        column c + (c0 - C) + alpha * (r - R)    the shear undoes the slant

          input           output
          ...##            ..#..
          ..##.    ->      ..#..        a "1" written at a slant, straightened
          .##..            ..#..

    Every 1 then looks more like every other 1, which a model with one template per class (the
    baseline) and the MLP both exploit. It is a fixed function of the pixels, applied to train,
    validation and test alike: no label is used, no image added. Returns float32 in [0, 255].
    """
    n, height, width = images.shape
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)          # (H, W) each
    mid_r, mid_c = (height - 1) / 2.0, (width - 1) / 2.0
    out = np.empty((n, height, width), dtype=np.float32)
    for start in range(0, n, chunk):                 # in chunks: a few (chunk, 28, 28) temporaries
        img = images[start:start + chunk].astype(np.float32)              # (B, H, W)
        mass = img.sum(axis=(1, 2)) + 1e-6                                # (B,)
        r0 = (img * rows).sum(axis=(1, 2)) / mass                         # (B,) centre of mass
        c0 = (img * cols).sum(axis=(1, 2)) / mass
        dr = rows - r0[:, None, None]                                     # (B, H, W)
        dc = cols - c0[:, None, None]
        alpha = (img * dr * dc).sum(axis=(1, 2)) / ((img * dr * dr).sum(axis=(1, 2)) + 1e-6)
        src_r = rows - mid_r + r0[:, None, None]                          # (B, H, W) where to read
        src_c = cols - mid_c + c0[:, None, None] + alpha[:, None, None] * (rows - mid_r)
        top, left = np.floor(src_r), np.floor(src_c)
        fr, fc = src_r - top, src_c - left                                # (B, H, W) in [0, 1)
        # Two rows and columns of zeros around each image: a read anywhere outside the image
        # is clipped onto them, so both of its neighbours hold 0 ink.
        padded = np.pad(img, ((0, 0), (2, 2), (2, 2))).ravel()            # (B * (H+4) * (W+4),)
        stride = width + 4
        top = np.clip(top, -2, height).astype(np.int64) + 2               # rows of the padded image
        left = np.clip(left, -2, width).astype(np.int64) + 2
        corner = np.arange(len(img))[:, None, None] * (height + 4) * stride + top * stride + left
        out[start:start + chunk] = (                                      # bilinear: 4 neighbours
            (1 - fr) * ((1 - fc) * padded[corner] + fc * padded[corner + 1])
            + fr * ((1 - fc) * padded[corner + stride] + fc * padded[corner + stride + 1]))
    return out


def prepare(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 784) in [0, 1], deskewed when DESKEW is on."""
    pixels = deskew(images) if DESKEW else images.astype(np.float32)
    return (pixels.reshape(len(images), -1) / 255.0).astype(DTYPE)    # (N, 784)


def load_data(ctx: Context, rng: np.random.Generator) -> dict:
    """MNIST as float32 (N, 784) arrays standardised with the training split's mean and std."""
    x_train, y_train, x_test, y_test = load_mnist(ctx.data_dir)
    n_file = len(x_train)
    x_train, y_train = random_subset(x_train, y_train, QUICK_TRAIN_IMAGES if ctx.quick else None, rng)
    train_idx, val_idx = stratified_split(y_train, VAL_FRACTION, rng)
    x = prepare(x_train)
    x_te = prepare(x_test)
    mean, std = float(x[train_idx].mean()), float(x[train_idx].std())      # training split only
    x, x_te = ((x - mean) / std).astype(DTYPE), ((x_te - mean) / std).astype(DTYPE)
    return {"x_train": x[train_idx], "y_train": y_train[train_idx],
            "x_val": x[val_idx], "y_val": y_train[val_idx],
            "x_test": x_te, "y_test": y_test,
            "n_file": n_file, "n_used": len(x), "mean": mean, "std": std}


def batches(x: np.ndarray, y: np.ndarray, batch_size: int, rng: np.random.Generator | None = None):
    """(Tensor of images, labels) pairs of `batch_size` rows; shuffled from `rng` when given.

    A generator, so every epoch gets a fresh shuffle. Module 08's DataLoader does this job
    from milestone 3 on.
    """
    order = rng.permutation(len(x)) if rng is not None else np.arange(len(x))
    for start in range(0, len(x), batch_size):
        idx = order[start:start + batch_size]
        yield Tensor(x[idx]), y[idx]                                       # (B, 784), (B,)


# ---------------------------------------------------------------------------------------------
# The models and their training
# ---------------------------------------------------------------------------------------------


def build_mlp(rng: np.random.Generator) -> Sequential:
    """784 -> 128 -> 10 with ReLU; He init for the ReLU layer, Xavier for the output."""
    n_in, n_hidden, n_out = LAYER_SIZES
    return Sequential(Dropout(INPUT_DROPOUT, rng=rng),
                      Linear(n_in, n_hidden, init="he", rng=rng), ReLU(),      # (B, 784) -> (B, 128)
                      Dropout(HIDDEN_DROPOUT, rng=rng),
                      Linear(n_hidden, n_out, rng=rng))                        # (B, 128) -> (B, 10)


def build_baseline(rng: np.random.Generator) -> Sequential:
    """784 -> 10: softmax regression, one linear template per digit."""
    return Sequential(Linear(LAYER_SIZES[0], LAYER_SIZES[-1], rng=rng))


def train(label: str, model, data: dict, epochs: int, order_rng: np.random.Generator,
          checkpoint: Path) -> dict:
    """Train with Adam and a cosine schedule; early-stop on validation accuracy; restore the best.

    "Best" is the highest validation accuracy, ties going to the lower validation loss. `fit`
    (milestones/common.py) runs the epochs, saves the best epoch's checkpoint and loads it back
    into the model when training stops; only then is the test set evaluated.
    """
    trainer = Trainer(model, Adam(model.parameters(), lr=LR), CrossEntropyLoss(),
                      schedule=CosineSchedule(LR, MIN_LR, epochs))
    best = TrainerCheckpoint(trainer, checkpoint)
    history = fit(lambda: trainer.train_epoch(Progress(batches(data["x_train"], data["y_train"], BATCH_SIZE, order_rng), label)),
                  lambda: trainer.evaluate(batches(data["x_val"], data["y_val"], EVAL_BATCH)),
                  epochs=epochs, patience=PATIENCE, metric="accuracy", tie_break="loss",
                  save_state=best.save, load_state=best.load, optimizer=trainer.optimizer, label=label)
    test = trainer.evaluate(batches(data["x_test"], data["y_test"], EVAL_BATCH))
    train_fit = trainer.evaluate(batches(data["x_train"], data["y_train"], EVAL_BATCH))
    print(f"  {label:8s} test accuracy {test['accuracy']:.2%}, train accuracy {train_fit['accuracy']:.2%}",
          flush=True)
    return {"test_accuracy": test["accuracy"], "test_loss": test["loss"],
            "train_accuracy": train_fit["accuracy"], "best_epoch": history.best_epoch,
            "best_val_accuracy": history.best["accuracy"], "epochs_run": history.epochs_run,
            "params": count_params(model), "train_seconds": round(history.seconds, 2), **history.columns()}


# ---------------------------------------------------------------------------------------------
# Memory per batch size
# ---------------------------------------------------------------------------------------------
#
# One training step holds three kinds of memory:
#   fixed        parameters + gradients + Adam's m and v: 4 copies of the model, any batch size
#   activations  the arrays the graph keeps for backward, (B, width) each: linear in B
#   transient    gradients of activations during backward (freed as it goes; not counted here)
#
# Three ways to count the activations of the MLP, from the floor up:
#   your activation_memory_bytes   x, hidden, logits: the input and output of each Linear
#   shape arithmetic (here)        x, hidden before and after the ReLU, logits
#   measured from the graph        every distinct array the graph references (module 01's
#                                  Function.saved_tensors and .output), parameters excluded:
#                                  also x @ W before the bias, and the dropout mask and output


def shape_activation_bytes(batch_size: int) -> int:
    """x (B, 784) + hidden pre- and post-activation (B, 128) x 2 + logits (B, 10), in bytes."""
    n_in, n_hidden, n_out = LAYER_SIZES
    return batch_size * (n_in + 2 * n_hidden + n_out) * np.dtype(DTYPE).itemsize


def graph_bytes(model, batch_size: int, rng: np.random.Generator) -> int:
    """Bytes of the arrays that one training step's graph keeps alive, measured.

    Runs a forward pass in training mode on a random batch, then walks the graph from the loss
    through each node's inputs (the hooks that module 01 gives every op) and adds up each
    distinct array once. No backward: parameters and gradients are left as they are.
    """
    model.train()
    x = Tensor(rng.standard_normal((batch_size, LAYER_SIZES[0])).astype(DTYPE))
    loss = CrossEntropyLoss()(model(x), rng.integers(0, LAYER_SIZES[-1], batch_size))
    params = {id(p.data) for p in model.parameters()}
    arrays, seen, stack = {}, set(), [loss]
    while stack:
        node = getattr(stack.pop(), "_grad_fn", None)
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        for array in (*getattr(node, "saved_tensors", ()), getattr(node, "output", None)):
            if isinstance(array, np.ndarray) and id(array) not in params:
                arrays[id(array)] = array
        stack.extend(getattr(node, "inputs", ()))
    return int(sum(a.nbytes for a in arrays.values()))


def memory_table(model, rng: np.random.Generator) -> list[dict]:
    """One row per batch size: activations three ways, the fixed part, and the total."""
    itemsize = np.dtype(DTYPE).itemsize
    n_params = count_params(model)
    fixed = training_memory_bytes(OPTIMIZER_NAME, n_params)              # your module 06
    rows = []
    for batch_size in MEMORY_BATCH_SIZES:
        yours = activation_memory_bytes(batch_size, list(LAYER_SIZES))   # your module 07
        measured = graph_bytes(model, batch_size, rng)
        rows.append({
            "batch_size": batch_size,
            "activation_memory_bytes": int(yours),
            "activation_memory_bytes_agrees": int(yours) == batch_size * sum(LAYER_SIZES) * itemsize,
            "shape_activation_bytes": shape_activation_bytes(batch_size),
            "graph_activation_bytes": measured,
            "fixed_bytes": int(fixed),
            "fixed_bytes_agrees": int(fixed) == 4 * n_params * itemsize,   # params, grads, m, v
            "total_bytes": measured + int(fixed),
        })
    return rows


# ---------------------------------------------------------------------------------------------
# Plot
# ---------------------------------------------------------------------------------------------


def plot_curves(path: Path, mlp: dict, baseline: dict):
    """Training loss (left) and validation accuracy (right) per epoch; the restored epoch marked."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, run, color in (("MLP 784-128-10", mlp, "tab:blue"), ("baseline 784-10", baseline, "tab:orange")):
        plot_history(ax_loss, ax_acc, run, label, color, val_label=f"{label}: test {run['test_accuracy']:.2%}")
    ax_acc.axhline(TARGET_ACCURACY, color="gray", ls=":", label=f"criterion {TARGET_ACCURACY:.0%} (test)")
    ax_loss.set(yscale="log", xlabel="epoch", ylabel="training loss (cross-entropy, log scale)",
                title="Training loss (with dropout on, for the MLP)")
    ax_acc.set(xlabel="epoch", ylabel="validation accuracy",
               title="Validation accuracy (circle: the epoch restored)")
    lows = [min(run["val_accuracy"]) for run in (mlp, baseline)]
    ax_acc.set_ylim(max(0.0, min(lows + [TARGET_ACCURACY]) - 0.02), 1.0)
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("MNIST with your TinyTorch: MLP vs single-layer baseline")
    save_figure(fig, path)


# ---------------------------------------------------------------------------------------------
# The milestone
# ---------------------------------------------------------------------------------------------


def run(ctx: Context) -> Outcome:
    epochs = QUICK_EPOCHS if ctx.quick else EPOCHS
    data_seed, order_seed, mlp_seed, baseline_seed, probe_seed = np.random.SeedSequence(ctx.seed).spawn(5)

    data, data_seconds = load_timed(lambda: load_data(ctx, np.random.default_rng(data_seed)),
                                    note=f"deskew {'on' if DESKEW else 'off'}; ")
    n_train, n_val, n_test = len(data["y_train"]), len(data["y_val"]), len(data["y_test"])
    print(f"Training up to {epochs} epochs, batch {BATCH_SIZE}, Adam lr {LR:g} -> {MIN_LR:g} (cosine), "
          f"patience {PATIENCE}", flush=True)

    # The same batch order for both models (a fresh generator from the same seed each).
    mlp_model = build_mlp(np.random.default_rng(mlp_seed))
    mlp = train("MLP", mlp_model, data, epochs, np.random.default_rng(order_seed), ctx.out / "mlp_best.npz")
    baseline = train("baseline", build_baseline(np.random.default_rng(baseline_seed)), data, epochs,
                     np.random.default_rng(order_seed), ctx.out / "baseline_best.npz")
    memory = memory_table(mlp_model, np.random.default_rng(probe_seed))

    plot_curves(ctx.out / "training_curves.png", mlp, baseline)

    target = QUICK_TARGET if ctx.quick else TARGET_ACCURACY
    accuracy = mlp["test_accuracy"]
    metrics = {
        "accuracy": accuracy,
        "baseline_accuracy": baseline["test_accuracy"],
        "target": target,
        "mlp": mlp, "baseline": baseline,
        "memory": memory,
        "data": {"n_train_file": data["n_file"], "n_used": data["n_used"], "n_train": n_train, "n_val": n_val, "n_test": n_test,
                 "full_training_set": data["n_file"] >= FULL_MNIST_TRAIN, "deskew": DESKEW,
                 "mean": data["mean"], "std": data["std"], "seconds": round(data_seconds, 2)},
        "settings": {"layer_sizes": list(LAYER_SIZES), "input_dropout": INPUT_DROPOUT,
                     "hidden_dropout": HIDDEN_DROPOUT, "epochs": epochs, "batch_size": BATCH_SIZE,
                     "lr": LR, "min_lr": MIN_LR, "patience": PATIENCE, "val_fraction": VAL_FRACTION,
                     "optimizer": "Adam", "schedule": "cosine"},
    }
    checks = accuracy_check(accuracy, TARGET_ACCURACY, QUICK_TARGET if ctx.quick else None,
                            chance=1 / LAYER_SIZES[-1])
    return Outcome(metrics=metrics, checks=checks, lines=report_lines(metrics), plots=["training_curves.png"])


def _kb(n: int) -> str:
    return f"{n / 1024:,.0f} KiB" if n < 1024 ** 2 else f"{n / 1024 ** 2:,.1f} MiB"


def report_lines(m: dict) -> list[str]:
    """The markdown of report.md below the criteria table: results, memory, what they mean."""
    mlp, base, data, s = m["mlp"], m["baseline"], m["data"], m["settings"]
    split = split_sentence(data["n_train"], data["n_val"], data["n_test"], data["n_train_file"], s["val_fraction"])
    lines = [
        "## Results",
        "",
        f"{split}. Up to {s['epochs']} epochs of batches of {s['batch_size']}, "
        f"Adam with a cosine learning rate from {s['lr']:g} to {s['min_lr']:g}; early stopping with "
        f"patience {s['patience']} on validation accuracy, the best epoch restored from its checkpoint. "
        f"Pixels {'deskewed, ' if data['deskew'] else ''}scaled to [0, 1] and standardised with the "
        f"training split's mean and std.",
        "",
        "| model | parameters | epochs run | epoch restored | val accuracy | train accuracy | "
        "**test accuracy** | training time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, run in ((f"MLP 784-128-10 (dropout {s['input_dropout']:g} / {s['hidden_dropout']:g})", mlp),
                       ("baseline 784-10 (softmax regression)", base)):
        lines.append(f"| {label} | {run['params']:,} | {run['epochs_run']} | {run['best_epoch']} | "
                     f"{run['best_val_accuracy']:.2%} | {run['train_accuracy']:.2%} | "
                     f"**{run['test_accuracy']:.2%}** | {run['train_seconds']:.1f} s |")
    errors = (1 - base["test_accuracy"], 1 - mlp["test_accuracy"])
    lines += [
        "",
        f"The hidden layer costs {mlp['params'] / base['params']:.0f}x the parameters and cuts the "
        f"test error from {errors[0]:.2%} to {errors[1]:.2%}. The baseline can only draw one linear "
        "template per digit; the MLP's 128 ReLU units detect strokes and parts, and the output "
        "layer combines them.",
    ]
    if not data["full_training_set"]:
        lines += ["", f"**Note:** this training file holds {data['n_train_file']:,} images, not "
                  f"MNIST's {FULL_MNIST_TRAIN:,}. Accuracy grows with data: expect about 98% "
                  "from the same MLP on the full training set."]
    lines += [
        "",
        "**training_curves.png**: the training loss (left; the MLP's is measured with dropout on, "
        "so it overstates the loss of the model that is evaluated) and the validation accuracy of "
        "each epoch (right), with a circle on the epoch whose checkpoint was restored. Training "
        "stops when validation accuracy has not improved for the patience, or after the last epoch.",
        "",
        "## Memory of one training step",
        "",
        "| batch | activations: your `activation_memory_bytes` | activations: x, hidden pre/post, logits "
        "| activations: kept by the graph (measured) | params + grads + Adam m, v | total (measured + fixed) |",
        "|---|---|---|---|---|---|",
    ]
    for row in m["memory"]:
        lines.append(f"| {row['batch_size']} | {_kb(row['activation_memory_bytes'])} | "
                     f"{_kb(row['shape_activation_bytes'])} | {_kb(row['graph_activation_bytes'])} | "
                     f"{_kb(row['fixed_bytes'])} | {_kb(row['total_bytes'])} |")
    agrees = all(r["activation_memory_bytes_agrees"] and r["fixed_bytes_agrees"] for r in m["memory"])
    lines += [
        "",
        "The fixed part (4 copies of the model's "
        f"{mlp['params']:,} float32 numbers) is the same at every batch size; activations grow "
        "linearly with it and overtake the fixed part beyond a few hundred images per batch. Your "
        "`activation_memory_bytes` counts the floor (the input and output of each Linear); the "
        "graph also keeps the hidden layer before the ReLU, `x @ W` before the bias is added, and "
        "the dropout mask and its output. "
        + ("Your module 06 and 07 functions agree with the shape arithmetic."
           if agrees else "**Your module 06 or 07 memory function disagrees with the shape "
                          "arithmetic (see metrics.json, `memory`).**"),
    ]
    return lines


if __name__ == "__main__":
    main("2", run)
