"""Milestone 3: a convolutional network on CIFAR-10, built and trained with your own modules 01-09.

What this milestone proves
    Your Conv2d, BatchNorm2d, MaxPool2d and Flatten (09), fed by your DataLoader, CIFAR-10
    reader and augmentations (08), trained by your Trainer, CosineSchedule and checkpoints
    (07), AdamW (06) and autograd (05) through your Tensor, ReLU, Linear and CrossEntropyLoss
    (01-04), recognise photographs of ten kinds of objects. Everything that learns is your
    code; this program only wires it together and keeps score.

        image 3x32x32 -> [Conv2d 3x3 -> BatchNorm2d -> ReLU -> MaxPool2d 2]  32 x 16x16
                      -> [Conv2d 3x3 -> BatchNorm2d -> ReLU -> MaxPool2d 2]  64 x 8x8
                      -> [Conv2d 3x3 -> BatchNorm2d -> ReLU -> MaxPool2d 2] 128 x 4x4
                      -> Flatten (2048) -> Linear(2048, 10) -> logits

    Each training batch is augmented on the fly (a random crop of the image padded by 4 pixels,
    and a left-right flip half of the time): the network never sees the same picture twice. A
    tenth of the training images is held out for validation; the epoch with the best validation
    accuracy is checkpointed and restored before the test set decides the milestone. The test
    accuracy of every epoch is recorded too (for the report and the benchmark against PyTorch),
    never used to choose anything.

    The comparison: a milestone-2-style MLP (3072-256-10) trained on the same images for a few
    epochs. It has several times the CNN's parameters and far lower accuracy: locality and
    weight sharing are worth more than parameters.

    The systems angle: per layer, the parameters against those of a Linear layer doing the same
    mapping, the FLOPs, the im2col matrix, and the measured forward and backward time: where a
    CNN's time goes (the convolutions), against where its parameters are (the Linear layer).

How to run
    make milestone N=3                      # after modules 01-09 pass
    FORCE=1 make milestone N=3              # explore before they pass (the result does not count)
    make milestone N=3 QUICK=1 OUT=/tmp/m3  # a short run
    make milestone N=3 DATA=DIR             # DIR/cifar10/cifar-10-batches-py/

Outputs (in --out, default milestones/03_cnn/out/)
    training_curves.png     training loss, validation and test accuracy per epoch, CNN and MLP
    filters.png             the first layer's 32 filters (3x3 RGB): initial, trained, and the change
    cnn_best.npz            the restored CNN's parameters (Trainer.load_checkpoint reads them)
    cnn_best_bn.npz         its BatchNorm running statistics (not parameters: see below)
    mlp_best.npz            the restored MLP
    metrics.json, report.md
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # run as a script: find `milestones`

from milestones.common import (Context, Outcome, Progress, TrainerCheckpoint, accuracy_check, count_params, fit,  # noqa: E402
                               load_timed, main, plot_history, random_subset, save_figure, setup,
                               split_sentence, stratified_split)

setup()                                   # one BLAS thread, plots to files: before NumPy loads
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tinytorch.core.activations import ReLU  # noqa: E402
from tinytorch.core.layers import Dropout, Linear, Sequential, linear_flops  # noqa: E402
from tinytorch.core.losses import CrossEntropyLoss  # noqa: E402
from tinytorch.core.optimizers import Adam, AdamW  # noqa: E402
from tinytorch.core.spatial import (BatchNorm2d, Conv2d, Flatten, MaxPool2d, conv2d_flops,  # noqa: E402
                                    conv_param_count, dense_equivalent_param_count, im2col_bytes)
from tinytorch.core.tensor import Tensor  # noqa: E402
from tinytorch.core.training import CosineSchedule, Trainer  # noqa: E402
from tinytorch.data.loader import (Compose, DataLoader, RandomCrop, RandomHorizontalFlip,  # noqa: E402
                                   TensorDataset, load_cifar10)
from tinytorch.manifest import load_course  # noqa: E402

# ---------------------------------------------------------------------------------------------
# Settings: everything a student might want to change, in one place
# ---------------------------------------------------------------------------------------------

TARGET_ACCURACY = load_course().milestone("3").criteria["accuracy"]   # 0.75, from course.toml
QUICK_TARGET = 0.25        # --quick: 2 epochs on 2,000 images; chance is 10%

CHANNELS = (32, 64, 128)   # output channels of the three conv blocks (each halves the size)
KERNEL_SIZE = 3            # 3x3 filters, padding 1: a block keeps the size until its pool
POOL = 2                   # MaxPool2d(2) after each block: 32 -> 16 -> 8 -> 4
CONV_BIAS = False          # BatchNorm2d subtracts each channel's mean right after the conv: a
                           # conv bias would be cancelled, so it is left out (beta replaces it)
HEAD_DROPOUT = 0.0         # Dropout before the Linear head (0: none)
EPOCHS = 8                 # at most; early stopping may end sooner
BATCH_SIZE = 64
LR = 2e-3                  # AdamW's learning rate at epoch 0, cosine-annealed ...
MIN_LR = LR / 100          # ... to this at the last epoch
WEIGHT_DECAY = 0.05        # AdamW's decoupled decay: each step shrinks every weight by lr * 0.05
PATIENCE = 3               # stop after this many epochs without a better validation accuracy
VAL_FRACTION = 0.1         # of each class's training images, held out for early stopping
CROP_PADDING = 4           # RandomCrop(32, padding=4): shifts of up to 4 pixels each way
FLIP_P = 0.5               # RandomHorizontalFlip: a mirrored cat is still a cat
EVAL_BATCH = 500           # images per forward pass in evaluation (no graph: memory is small)

MLP_HIDDEN = 256           # the comparison: Flatten -> Linear(3072, 256) -> ReLU -> Linear(256, 10)
MLP_EPOCHS = 10            # a short, fixed budget (the best validation epoch is restored)
MLP_BATCH_SIZE = 128
MLP_LR = 1e-3              # Adam, cosine to MLP_LR / 100; no augmentation (it only slows an MLP)

TIMING_BATCHES = 10        # batches of BATCH_SIZE timed layer by layer (forward and backward)

QUICK_TRAIN_IMAGES = 2000  # --quick: a random subset of the training file ...
QUICK_TEST_IMAGES = 1000   # ... and of the test file,
QUICK_EPOCHS = 2           # ... this many epochs (the course's self-test),
QUICK_MLP_EPOCHS = 2
QUICK_TIMING_BATCHES = 2

NUM_CLASSES = 10
IMAGE_SHAPE = (3, 32, 32)
DTYPE = np.float32

# ---------------------------------------------------------------------------------------------
# Data: CIFAR-10 through your module 08, split, standardised
# ---------------------------------------------------------------------------------------------


def load_data(ctx: Context, rng: np.random.Generator) -> dict:
    """CIFAR-10 from your load_cifar10, split, standardised per channel with the training split's statistics."""
    train, test = load_cifar10(ctx.data_dir)                      # your module 08: float32 in [0, 1]
    x_file, y_file = np.asarray(train.tensors[0].data), np.asarray(train.tensors[1].data)
    x_test, y_test = np.asarray(test.tensors[0].data), np.asarray(test.tensors[1].data)
    n_file, n_test_file = len(y_file), len(y_test)
    if x_file.shape[1:] != IMAGE_SHAPE or x_test.shape[1:] != IMAGE_SHAPE:
        raise SystemExit(f"load_cifar10 returned images of shape {x_file.shape[1:]} and {x_test.shape[1:]}; "
                         f"expected {IMAGE_SHAPE} (module 08)")
    x_file, y_file = random_subset(x_file, y_file, QUICK_TRAIN_IMAGES if ctx.quick else None, rng)
    x_test, y_test = random_subset(x_test, y_test, QUICK_TEST_IMAGES if ctx.quick else None, rng)
    train_idx, val_idx = stratified_split(y_file, VAL_FRACTION, rng)
    x_train, x_val = x_file[train_idx], x_file[val_idx]           # copies: the file's array can go
    del train, x_file
    mean = x_train.mean(axis=(0, 2, 3), dtype=np.float64).astype(DTYPE)     # (3,) per channel
    std = x_train.std(axis=(0, 2, 3), dtype=np.float64).astype(DTYPE)
    for x in (x_train, x_val):
        x -= mean[:, None, None]
        x /= std[:, None, None]
    x_test = (x_test - mean[:, None, None]) / std[:, None, None]
    return {"x_train": x_train.astype(DTYPE, copy=False), "y_train": y_file[train_idx],
            "x_val": x_val.astype(DTYPE, copy=False), "y_val": y_file[val_idx],
            "x_test": x_test.astype(DTYPE, copy=False), "y_test": y_test,
            "n_file": n_file, "n_test_file": n_test_file,
            "mean": mean.tolist(), "std": std.tolist()}


def train_loader(data: dict, batch_size: int, rng: np.random.Generator, augment: bool) -> DataLoader:
    """Your DataLoader over the training split: a new order every epoch, augmented when asked."""
    transform = None
    if augment:
        crop_seed, flip_seed = rng.spawn(2)
        transform = Compose([RandomCrop(IMAGE_SHAPE[1], padding=CROP_PADDING, rng=crop_seed),
                             RandomHorizontalFlip(FLIP_P, rng=flip_seed)])
    return DataLoader(TensorDataset(data["x_train"], data["y_train"]), batch_size=batch_size, shuffle=True,
                      seed=rng, transform=transform)


def eval_loader(data: dict, split: str) -> DataLoader:
    return DataLoader(TensorDataset(data[f"x_{split}"], data[f"y_{split}"]), batch_size=EVAL_BATCH)


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------


def build_cnn(rng: np.random.Generator) -> Sequential:
    """Sequential(features, head): three conv blocks, then Flatten and one Linear layer.

    Two parts, so that their time can be measured apart (see `time_layers`).
    """
    layers, c_in, size = [], IMAGE_SHAPE[0], IMAGE_SHAPE[1]
    for c_out in CHANNELS:
        layers += [Conv2d(c_in, c_out, KERNEL_SIZE, padding=KERNEL_SIZE // 2, bias=CONV_BIAS, rng=rng),
                   BatchNorm2d(c_out), ReLU(), MaxPool2d(POOL)]
        c_in, size = c_out, size // POOL
    head = [Flatten()] + ([Dropout(HEAD_DROPOUT, rng=rng)] if HEAD_DROPOUT else [])
    head += [Linear(c_in * size * size, NUM_CLASSES, rng=rng)]
    return Sequential(Sequential(*layers), Sequential(*head))


def build_mlp(rng: np.random.Generator) -> Sequential:
    """The comparison, milestone 2's kind of network on the flattened image: 3072-256-10."""
    n_in = int(np.prod(IMAGE_SHAPE))
    return Sequential(Flatten(), Linear(n_in, MLP_HIDDEN, rng=rng), ReLU(), Linear(MLP_HIDDEN, NUM_CLASSES, rng=rng))


def bn_buffers(model) -> dict:
    """Every BatchNorm2d's running statistics by name ({"bn0_running_mean": Tensor, ...}), in order.

    They are buffers, not parameters: Trainer.save_checkpoint (module 07) saves parameters()
    only, so restoring the best epoch's checkpoint alone would pair its weights with the running
    statistics of the last epoch. They are saved and restored beside it (TrainerCheckpoint).
    """
    def batch_norms(module) -> list:                  # searched inside Sequentials, in order
        found = []
        for layer in getattr(module, "layers", ()):
            found += [layer] if isinstance(layer, BatchNorm2d) else batch_norms(layer)
        return found

    buffers = {}
    for i, bn in enumerate(batch_norms(model)):
        buffers[f"bn{i}_running_mean"], buffers[f"bn{i}_running_var"] = bn.running_mean, bn.running_var
    return buffers


# ---------------------------------------------------------------------------------------------
# Training with early stopping
# ---------------------------------------------------------------------------------------------


def train(label: str, model, optimizer, data: dict, epochs: int, loader: DataLoader, checkpoint: Path,
          lr: float, track_test: bool) -> dict:
    """Train up to `epochs`, keep the best validation epoch, restore it, then test once.

    `fit` (milestones/common.py) runs the epochs and restores the best one: its parameters and,
    for the CNN, its BatchNorm running statistics (`bn_buffers`, in `<checkpoint>_bn.npz`). With
    `track_test`, the test set is also evaluated after every epoch (recorded, never used to
    choose: early stopping and the restored epoch depend on validation accuracy alone).
    """
    trainer = Trainer(model, optimizer, CrossEntropyLoss(), schedule=CosineSchedule(lr, lr / 100, epochs))
    best = TrainerCheckpoint(trainer, checkpoint, buffers=lambda: bn_buffers(model),
                             buffers_path=checkpoint.with_name(checkpoint.stem + "_bn.npz"))
    track = (lambda: {"test_accuracy": trainer.evaluate(eval_loader(data, "test"))["accuracy"]}) if track_test else None
    history = fit(lambda: trainer.train_epoch(Progress(loader, label)), lambda: trainer.evaluate(eval_loader(data, "val")),
                  epochs=epochs, patience=PATIENCE, metric="accuracy", tie_break="loss",
                  save_state=best.save, load_state=best.load, optimizer=optimizer, track=track, label=label)
    test = trainer.evaluate(eval_loader(data, "test"))
    print(f"  {label:8s} test accuracy {test['accuracy']:.2%}", flush=True)
    return {"test_accuracy": test["accuracy"], "test_loss": test["loss"], "best_epoch": history.best_epoch,
            "best_val_accuracy": history.best["accuracy"], "epochs_run": history.epochs_run,
            "params": count_params(model), "train_seconds": round(sum(history.epoch_seconds), 2),
            **history.columns(), "epoch_seconds": [round(s, 2) for s in history.epoch_seconds],
            "train_seconds_per_epoch_cumulative": [round(s, 2) for s in itertools.accumulate(history.epoch_seconds)],
            "test_accuracy_per_epoch": history.tracked.get("test_accuracy", [])}


# ---------------------------------------------------------------------------------------------
# Where the time goes: each layer's forward and backward, measured apart
# ---------------------------------------------------------------------------------------------
#
# The model runs one layer at a time, each on a copy of the previous output that is a leaf of
# its own graph (a new Tensor with requires_grad). Then the backward runs one layer at a time
# too, from the loss back: layer i's output.backward(gradient of layer i+1's input). Only the
# public API of modules 01 and 05 (Tensor, backward(gradient)) is used, and the gradients are
# those of a normal step. The copies sit outside the timed regions.


def layer_kind(layer) -> str:
    return type(layer).__name__


def layer_label(layer) -> str:
    """A short name for the tables: Conv2d 3->32 3x3, BatchNorm2d 32, MaxPool2d 2x2, Linear 2048->10."""
    if isinstance(layer, Conv2d):
        return f"Conv2d {layer.in_channels}->{layer.out_channels} {layer.kernel_size[0]}x{layer.kernel_size[1]}"
    if isinstance(layer, BatchNorm2d):
        return f"BatchNorm2d {layer.num_features}"
    if isinstance(layer, MaxPool2d):
        return f"MaxPool2d {layer.kernel_size[0]}x{layer.kernel_size[1]}"
    if isinstance(layer, Linear):
        return f"Linear {layer.in_features}->{layer.out_features}"
    return type(layer).__name__


def time_layers(model, loader: DataLoader, n_batches: int) -> dict:
    """Median forward and backward milliseconds of every layer over `n_batches` training batches.

    Run on a model of its own (fresh weights), so training is not disturbed: the time of a
    layer does not depend on the values of its weights.
    """
    layers = list(model[0].layers) + list(model[1].layers)
    loss_fn = CrossEntropyLoss()
    forward = [[] for _ in layers]
    backward = [[] for _ in layers]
    step = []
    model.train()
    for b, (x, y) in enumerate(loader):
        if b >= n_batches:
            break
        for p in model.parameters():
            p.grad = None
        inputs, outputs = [], []
        h = x
        for i, layer in enumerate(layers):
            inp = Tensor(np.array(h.data, copy=True), requires_grad=i > 0)   # the data needs no gradient
            started = time.perf_counter()
            out = layer(inp)
            forward[i].append(time.perf_counter() - started)
            inputs.append(inp)
            outputs.append(out)
            h = out
        logits = Tensor(np.array(h.data, copy=True), requires_grad=True)
        loss_fn(logits, y).backward()
        grad = logits.grad.data
        for i in reversed(range(len(layers))):
            started = time.perf_counter()
            outputs[i].backward(grad)
            backward[i].append(time.perf_counter() - started)
            grad = inputs[i].grad.data if i > 0 else None
        # The same batch as one ordinary step (forward, loss, backward), for comparison.
        for p in model.parameters():
            p.grad = None
        started = time.perf_counter()
        loss_fn(model(x), y).backward()
        step.append(time.perf_counter() - started)
    rows = []
    for i, layer in enumerate(layers):
        rows.append({"layer": i, "kind": layer_kind(layer), "label": layer_label(layer),
                     "output_shape": list(outputs[i].shape),
                     "forward_ms": round(1000 * float(np.median(forward[i])), 3),
                     "backward_ms": round(1000 * float(np.median(backward[i])), 3)})
    return {"batch_size": int(x.shape[0]), "batches": len(step), "layers": rows,
            "step_ms": round(1000 * float(np.median(step)), 2)}


def systems_table(timing: dict) -> dict:
    """Per layer: parameters, dense-equivalent parameters, FLOPs, im2col bytes, measured time.

    Conv numbers come from your module 09's systems functions, Linear's from module 03's.
    """
    batch = timing["batch_size"]
    shape = (batch,) + IMAGE_SHAPE
    rows = []
    for row in timing["layers"]:
        n, c, h, w = shape if len(shape) == 4 else (shape[0], shape[1], 1, 1)
        extra = {"params": 0, "dense_params": 0, "flops": 0, "im2col_bytes": 0}
        if row["kind"] == "Conv2d":
            o = row["output_shape"][1]
            extra = {"params": int(conv_param_count(c, o, KERNEL_SIZE, bias=CONV_BIAS)),
                     "dense_params": int(dense_equivalent_param_count(c, o, h, w, KERNEL_SIZE,
                                                                      padding=KERNEL_SIZE // 2, bias=CONV_BIAS)),
                     "flops": int(conv2d_flops(n, c, o, h, w, KERNEL_SIZE, padding=KERNEL_SIZE // 2)),
                     "im2col_bytes": int(im2col_bytes(n, c, h, w, KERNEL_SIZE, padding=KERNEL_SIZE // 2))}
        elif row["kind"] == "BatchNorm2d":
            extra["params"] = extra["dense_params"] = 2 * c
        elif row["kind"] == "Linear":
            n_in, n_out = shape[1], row["output_shape"][1]
            extra["params"] = extra["dense_params"] = n_in * n_out + n_out
            extra["flops"] = int(linear_flops(n, n_in, n_out))
        rows.append({**row, "input_shape": list(shape), **extra})
        shape = tuple(row["output_shape"])
    groups = {"conv blocks (Conv2d, BatchNorm2d, ReLU, MaxPool2d)": ("Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d"),
              "of which Conv2d alone": ("Conv2d",), "FC head (Flatten, Linear)": ("Flatten", "Dropout", "Linear")}
    total = sum(r["forward_ms"] + r["backward_ms"] for r in rows)
    split = {}
    for name, kinds in groups.items():
        part = [r for r in rows if r["kind"] in kinds]
        ms = sum(r["forward_ms"] + r["backward_ms"] for r in part)
        split[name] = {"forward_ms": round(sum(r["forward_ms"] for r in part), 2),
                       "backward_ms": round(sum(r["backward_ms"] for r in part), 2),
                       "fraction_of_time": round(ms / total, 4) if total else 0.0,
                       "params": sum(r["params"] for r in part), "flops": sum(r["flops"] for r in part)}
    return {"layers": rows, "split": split, "layers_total_ms": round(total, 2)}


# ---------------------------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------------------------


def plot_curves(path: Path, cnn: dict, mlp: dict):
    """Training loss (left) and accuracy (right) per epoch; the restored epochs circled."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, run, color in (("CNN", cnn, "tab:blue"), (f"MLP 3072-{MLP_HIDDEN}-10", mlp, "tab:orange")):
        plot_history(ax_loss, ax_acc, run, label, color, val_label=f"{label}: validation")
    if cnn["test_accuracy_per_epoch"]:
        epochs = np.arange(1, cnn["epochs_run"] + 1)
        ax_acc.plot(epochs, cnn["test_accuracy_per_epoch"], color="tab:blue", lw=1.5, ls="--",
                    label=f"CNN: test (restored epoch {cnn['test_accuracy']:.2%})")
    ax_acc.axhline(TARGET_ACCURACY, color="gray", ls=":", label=f"criterion {TARGET_ACCURACY:.0%} (test)")
    ax_loss.set(xlabel="epoch", ylabel="training loss (cross-entropy)",
                title="Training loss (CNN: on augmented images)")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="Accuracy (circle: the epoch restored)")
    ax_acc.set_ylim(0.0, 1.0)
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("CIFAR-10 with your TinyTorch: CNN vs MLP")
    save_figure(fig, path)


def filter_grid(weight: np.ndarray, columns: int = 8) -> np.ndarray:
    """(O, 3, kh, kw) filters as one RGB image: a grid of small tiles, each scaled to [0, 1] on its own."""
    n_filters, height, width = weight.shape[0], weight.shape[2], weight.shape[3]
    rows = -(-n_filters // columns)
    tiles = weight.transpose(0, 2, 3, 1).astype(np.float64)                 # (O, kh, kw, 3)
    low = tiles.min(axis=(1, 2, 3), keepdims=True)
    high = tiles.max(axis=(1, 2, 3), keepdims=True)
    tiles = (tiles - low) / np.maximum(high - low, 1e-12)
    grid = np.ones((rows * (height + 1) + 1, columns * (width + 1) + 1, 3))   # white 1-pixel gaps
    for k in range(n_filters):
        top, left = 1 + (k // columns) * (height + 1), 1 + (k % columns) * (width + 1)
        grid[top:top + height, left:left + width] = tiles[k]
    return grid


def plot_filters(path: Path, initial: np.ndarray, trained: np.ndarray):
    """Three grids: the filters at initialisation, trained, and what training changed."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.2))
    panels = ((initial, "at initialisation (random)"), (trained, "trained"),
              (trained - initial, "the change: trained - initial"))
    for ax, (weight, title) in zip(axes, panels):
        ax.imshow(filter_grid(weight), interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    n_filters, colours, height, width = trained.shape
    fig.suptitle(f"First conv layer: {n_filters} filters of {height}x{width} pixels x {colours} colours, "
                 "each tile scaled to [0, 1] on its own", fontsize=10)
    save_figure(fig, path, dpi=150)


def filter_stats(initial: np.ndarray, trained: np.ndarray) -> dict:
    """How far training moved the first layer's filters from their random start."""
    return {"initial_std": float(initial.std()), "trained_std": float(trained.std()),
            "change_std": float((trained - initial).std()),
            "correlation_with_initial": float(np.corrcoef(initial.ravel(), trained.ravel())[0, 1])}


# ---------------------------------------------------------------------------------------------
# The milestone
# ---------------------------------------------------------------------------------------------


def run(ctx: Context) -> Outcome:
    epochs = QUICK_EPOCHS if ctx.quick else EPOCHS
    mlp_epochs = QUICK_MLP_EPOCHS if ctx.quick else MLP_EPOCHS
    timing_batches = QUICK_TIMING_BATCHES if ctx.quick else TIMING_BATCHES
    data_seed, order_seed, cnn_seed, mlp_seed, probe_seed, mlp_order_seed = np.random.SeedSequence(ctx.seed).spawn(6)
    load_start = os.getloadavg()[0]

    data, data_seconds = load_timed(lambda: load_data(ctx, np.random.default_rng(data_seed)))
    n_train, n_val, n_test = len(data["y_train"]), len(data["y_val"]), len(data["y_test"])

    # Where one training step's time goes, before training (a separate model: same shapes).
    order_rng = np.random.default_rng(order_seed)
    probe_rng = np.random.default_rng(probe_seed)
    timing = time_layers(build_cnn(probe_rng), train_loader(data, BATCH_SIZE, probe_rng, augment=True),
                         timing_batches)
    systems = systems_table(timing)
    steps = -(-n_train // BATCH_SIZE)
    print(f"One training step (batch {BATCH_SIZE}, forward + backward): {timing['step_ms']:.0f} ms; "
          f"an epoch of {steps} steps: about {steps * timing['step_ms'] / 60000:.1f} min. "
          f"Conv blocks {systems['split']['conv blocks (Conv2d, BatchNorm2d, ReLU, MaxPool2d)']['fraction_of_time']:.1%} "
          f"of the time, FC head {systems['split']['FC head (Flatten, Linear)']['fraction_of_time']:.1%}", flush=True)

    print(f"CNN: up to {epochs} epochs, batch {BATCH_SIZE}, AdamW lr {LR:g} -> {MIN_LR:g} (cosine), "
          f"weight decay {WEIGHT_DECAY:g}, patience {PATIENCE}; crop (padding {CROP_PADDING}) + flip", flush=True)
    cnn_model = build_cnn(np.random.default_rng(cnn_seed))
    initial_filters = np.array(cnn_model[0].layers[0].weight.data, copy=True)
    cnn = train("CNN", cnn_model, AdamW(cnn_model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY), data, epochs,
                train_loader(data, BATCH_SIZE, order_rng, augment=True), ctx.out / "cnn_best.npz", LR, track_test=True)
    cnn["load_average"] = [round(load_start, 2), round(os.getloadavg()[0], 2)]

    print(f"MLP 3072-{MLP_HIDDEN}-10: {mlp_epochs} epochs, batch {MLP_BATCH_SIZE}, Adam lr {MLP_LR:g} (cosine), "
          "no augmentation", flush=True)
    mlp_model = build_mlp(np.random.default_rng(mlp_seed))
    mlp = train("MLP", mlp_model, Adam(mlp_model.parameters(), lr=MLP_LR), data, mlp_epochs,
                train_loader(data, MLP_BATCH_SIZE, np.random.default_rng(mlp_order_seed), augment=False),
                ctx.out / "mlp_best.npz", MLP_LR, track_test=False)

    plot_curves(ctx.out / "training_curves.png", cnn, mlp)
    trained_filters = np.array(cnn_model[0].layers[0].weight.data, copy=True)
    plot_filters(ctx.out / "filters.png", initial_filters, trained_filters)

    target = QUICK_TARGET if ctx.quick else TARGET_ACCURACY
    accuracy = cnn["test_accuracy"]
    metrics = {
        "accuracy": accuracy,
        "mlp_accuracy": mlp["test_accuracy"],
        "target": target,
        "criteria_target": TARGET_ACCURACY,
        "cnn": cnn, "mlp": mlp,
        "timing": timing, "systems": systems, "filters": filter_stats(initial_filters, trained_filters),
        "data": {"n_train_file": data["n_file"], "n_test_file": data["n_test_file"], "n_train": n_train,
                 "n_val": n_val, "n_test": n_test, "mean": data["mean"], "std": data["std"],
                 "seconds": round(data_seconds, 2)},
        "settings": {"channels": list(CHANNELS), "kernel_size": KERNEL_SIZE, "pool": POOL, "conv_bias": CONV_BIAS,
                     "hidden": 0, "dropout": HEAD_DROPOUT, "epochs": epochs, "batch_size": BATCH_SIZE,
                     "drop_last": False, "lr": LR, "min_lr": MIN_LR, "weight_decay": WEIGHT_DECAY,
                     "patience": PATIENCE, "val_fraction": VAL_FRACTION, "crop_padding": CROP_PADDING,
                     "flip_p": FLIP_P, "optimizer": "AdamW", "schedule": "cosine, per epoch",
                     "mlp": {"hidden": MLP_HIDDEN, "epochs": mlp_epochs, "batch_size": MLP_BATCH_SIZE,
                             "lr": MLP_LR, "optimizer": "Adam"},
                     "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS")},
    }
    checks = accuracy_check(accuracy, TARGET_ACCURACY, QUICK_TARGET if ctx.quick else None, chance=1 / NUM_CLASSES)
    return Outcome(metrics=metrics, checks=checks, lines=report_lines(metrics),
                   plots=["training_curves.png", "filters.png"])


def _mb(n: int) -> str:
    return f"{n / 1024 ** 2:,.1f} MiB" if n else ""


def _count(n: int) -> str:
    return f"{n:,}" if n else ""


def report_lines(m: dict) -> list[str]:
    """The markdown of report.md below the criteria table."""
    cnn, mlp, data, s, sysm, timing = m["cnn"], m["mlp"], m["data"], m["settings"], m["systems"], m["timing"]
    split = split_sentence(data["n_train"], data["n_val"], data["n_test"], data["n_train_file"], s["val_fraction"])
    lines = [
        "## Results",
        "",
        f"{split}; pixels standardised per channel with the training split's mean and std.",
        "",
        "| model | parameters | epochs run | epoch restored | val accuracy | **test accuracy** | training time |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, run in ((f"CNN {'-'.join(map(str, s['channels']))} + Linear (crop + flip)", cnn),
                       (f"MLP 3072-{s['mlp']['hidden']}-10 (no augmentation)", mlp)):
        lines.append(f"| {label} | {run['params']:,} | {run['epochs_run']} | {run['best_epoch']} | "
                     f"{run['best_val_accuracy']:.2%} | **{run['test_accuracy']:.2%}** | {run['train_seconds']:.0f} s |")
    lines += [
        "",
        f"The CNN has {mlp['params'] / cnn['params']:.1f}x fewer parameters than the MLP and cuts the test "
        f"error from {1 - mlp['test_accuracy']:.2%} to {1 - cnn['test_accuracy']:.2%}. The MLP gives every "
        "pixel of every position its own weight; the CNN's filters look at 3x3 patches and are reused at "
        "every position (weight sharing), so what it learns about an edge here holds everywhere.",
        "",
        f"CNN schedule: AdamW, learning rate {s['lr']:g} cosine-annealed per epoch to {s['min_lr']:g}, weight "
        f"decay {s['weight_decay']:g}, batches of {s['batch_size']}, up to {s['epochs']} epochs with patience "
        f"{s['patience']} on validation accuracy. Test accuracy after each epoch (recorded, not used to choose): "
        + ", ".join(f"{a:.1%}" for a in cnn["test_accuracy_per_epoch"]) + ". Seconds per epoch: "
        + ", ".join(f"{t:.0f}" for t in cnn["epoch_seconds"]) + ".",
        "",
        "**training_curves.png**: training loss (the CNN's on augmented images) and validation accuracy per "
        "epoch for both models, the CNN's test accuracy per epoch dashed, the restored epochs circled. "
        "**filters.png**: the 32 filters of the first conv layer, each 3x3 pixels in RGB, at "
        "initialisation, trained, and the difference. Trained briefly, they stay close to their random "
        f"start (correlation {m['filters']['correlation_with_initial']:.2f} with it); the difference "
        "shows what training added, mostly patches of one colour and light-to-dark gradients: colour "
        "and edge detectors.",
        "",
        "BatchNorm2d's running mean and variance are buffers, not parameters: Trainer's checkpoint does not "
        "hold them, so this program saves them beside it (`cnn_best_bn.npz`) and restores both.",
        "",
        f"## Where the parameters are, and where the time goes (batch {timing['batch_size']}, median of "
        f"{timing['batches']} batches)",
        "",
        "| layer | output | parameters | a Linear doing the same | FLOPs (forward) | im2col | forward | backward |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in sysm["layers"]:
        lines.append(f"| {r['label']} | {'x'.join(map(str, r['output_shape'][1:]))} | {_count(r['params'])} | "
                     f"{_count(r['dense_params']) if r['kind'] == 'Conv2d' else ''} | "
                     f"{(r['flops'] / 1e6):,.1f} M | {_mb(r['im2col_bytes'])} | "
                     f"{r['forward_ms']:.1f} ms | {r['backward_ms']:.1f} ms |".replace("| 0.0 M |", "| |"))
    lines += ["", "| part | parameters | FLOPs | forward | backward | share of the time |", "|---|---|---|---|---|---|"]
    for name, part in sysm["split"].items():
        lines.append(f"| {name} | {part['params']:,} | {part['flops'] / 1e6:,.0f} M | {part['forward_ms']:.1f} ms | "
                     f"{part['backward_ms']:.1f} ms | **{part['fraction_of_time']:.1%}** |")
    conv = sysm["split"]["conv blocks (Conv2d, BatchNorm2d, ReLU, MaxPool2d)"]
    head = sysm["split"]["FC head (Flatten, Linear)"]
    lines += [
        "",
        f"The Linear head holds {head['params'] / cnn['params']:.0%} of the CNN's parameters and takes "
        f"{head['fraction_of_time']:.1%} of the time; the conv blocks hold the rest of the parameters and "
        f"do {conv['flops'] / max(conv['flops'] + head['flops'], 1):.1%} of the arithmetic. A whole step "
        f"(forward, loss, backward) took {timing['step_ms']:.0f} ms; the layers timed one by one add up to "
        f"{sysm['layers_total_ms']:.0f} ms. Parameter counts, FLOPs and im2col sizes come from your "
        "module 09's `conv_param_count`, `dense_equivalent_param_count`, `conv2d_flops` and "
        "`im2col_bytes` and module 03's `linear_flops`.",
    ]
    return lines


if __name__ == "__main__":
    main("3", run)
