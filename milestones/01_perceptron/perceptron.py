"""Milestone 1: the perceptron, built from your own modules 01-04.

What this milestone proves
    Your Tensor (01), Sigmoid and ReLU (02), Linear (03) and losses (04) are enough to learn.
    A single Linear(2, 1) followed by a Sigmoid is logistic regression, the 1958 perceptron
    with a smooth output. Trained on a 2-D data set that a straight line separates, it must
    reach the course's accuracy criterion on held-out points.

    There is no autograd yet (it arrives in module 05), so the gradient is derived by hand
    (see `sigmoid_bce_grad`) and the update rule is written out: W <- W - lr * dL/dW.
    Your modules do the forward pass and compute the loss that is reported each epoch.

    A second run swaps the Sigmoid for a ReLU (with MSELoss, same data, same initial weights,
    same learning rate) to show why a unit whose gradient is exactly zero on a whole
    half-plane of inputs is a poor output.

How to run
    make milestone N=1                      # after modules 01-04 pass
    FORCE=1 make milestone N=1              # explore before they pass (the result does not count)
    make milestone N=1 QUICK=1 OUT=/tmp/m1

Outputs (in --out, default milestones/01_perceptron/out/)
    decision_boundary.png   the points by class, the learned line w1*x1 + w2*x2 + b = 0
    convergence.png         loss and accuracy per epoch, Sigmoid + BCE vs ReLU + MSE
    metrics.json, report.md
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # run as a script: find `milestones`

from milestones.common import Context, Outcome, accuracy_check, main, save_figure, setup  # noqa: E402

setup()                                   # one BLAS thread, plots to files: before NumPy loads
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tinytorch.core.activations import ReLU, Sigmoid  # noqa: E402
from tinytorch.core.layers import Linear  # noqa: E402
from tinytorch.core.losses import BinaryCrossEntropyLoss, MSELoss  # noqa: E402
from tinytorch.core.tensor import Tensor  # noqa: E402
from tinytorch.manifest import load_course  # noqa: E402

# ---------------------------------------------------------------------------------------------
# Settings: everything a student might want to change, in one place
# ---------------------------------------------------------------------------------------------

TARGET_ACCURACY = load_course().milestone("1").criteria["accuracy"]   # 0.95, from course.toml

N_POINTS = 2000            # points in the data set (train + test)
EPOCHS = 500               # full-batch gradient-descent steps
QUICK_N_POINTS = 300       # --quick: the course's self-test
QUICK_EPOCHS = 150
TEST_FRACTION = 0.25       # held out; accuracy on these is the criterion
BOX = 3.0                  # points are uniform in the square [-BOX, BOX]^2
MARGIN = 0.3               # no point lies closer than this to the true line: separable
LR = 0.2                   # learning rate, the same for both outputs (ReLU + MSE oscillates
                           # above about 0.3 on this data; the sigmoid would take more)
THRESHOLD = 0.5            # predict class 1 when the output is above this
INIT_TRIALS = 10           # initialisations each output is trained from, for a fair count
LOG_LINES = 10             # progress lines printed per training run


# ---------------------------------------------------------------------------------------------
# Data: points on either side of a random line, with a gap around it
# ---------------------------------------------------------------------------------------------


def make_data(n_points: int, rng: np.random.Generator):
    """A linearly separable 2-D data set: X (n, 2), y (n, 1) in {0, 1}, and the true line.

    A random unit normal `w_true` and offset `b_true` define the line w_true . x + b_true = 0.
    Points are drawn uniformly in the box; those within MARGIN of the line are redrawn, so a
    line with zero errors exists and a good learner must find one close to it.
    """
    angle = rng.uniform(0.0, 2.0 * np.pi)
    w_true = np.array([np.cos(angle), np.sin(angle)])               # (2,), unit length
    b_true = rng.uniform(-0.5, 0.5) * BOX
    kept = np.empty((0, 2))
    while len(kept) < n_points:                                      # rejection sampling
        candidates = rng.uniform(-BOX, BOX, size=(2 * n_points, 2))  # (2n, 2)
        distance = candidates @ w_true + b_true                      # (2n,) signed distance
        kept = np.concatenate([kept, candidates[np.abs(distance) >= MARGIN]])
    X = kept[:n_points].astype(np.float32)                           # (n, 2)
    y = ((X @ w_true + b_true) > 0).astype(np.float32)[:, None]      # (n, 1)
    return X, y, (w_true, b_true)


def split(X: np.ndarray, y: np.ndarray, rng: np.random.Generator):
    """Shuffle, then hold out TEST_FRACTION of the points: (X_train, y_train, X_test, y_test)."""
    order = rng.permutation(len(X))
    n_test = int(round(TEST_FRACTION * len(X)))
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]


# ---------------------------------------------------------------------------------------------
# The gradients, by hand (autograd arrives in module 05)
# ---------------------------------------------------------------------------------------------
#
#   z = X W + b            X (N, 2), W (2, 1), b (1,)  ->  z (N, 1)
#   a = act(z)             the output: a probability for Sigmoid, >= 0 for ReLU
#   L = loss(a, y)         a scalar: the mean over the N examples
#
# Chain rule: dL/dz = dL/da * act'(z), element-wise, (N, 1). Then, because z = X W + b,
#   dL/dW = X^T dL/dz      (2, N) @ (N, 1) -> (2, 1)
#   dL/db = sum_i dL/dz_i  (N, 1) -> (1,)
# Only dL/dz depends on the activation and the loss; the two functions below compute it.


def sigmoid_bce_grad(z: Tensor, p: Tensor, y: Tensor) -> Tensor:
    """dL/dz for L = BCE(sigmoid(z), y). Returns (p - y) / N, shape (N, 1).

    For one example, with p = sigmoid(z):
        L_i = -[y log p + (1 - y) log(1 - p)]
        dL_i/dp = -y / p + (1 - y) / (1 - p) = (p - y) / (p (1 - p))
        dp/dz   = p (1 - p)                          (the sigmoid's derivative)
        dL_i/dz = (p - y)                            (the p (1 - p) cancels)
    and the mean over N examples divides by N. Hence the logistic-regression gradient
        dL/dW = X^T (p - y) / N,    dL/db = mean(p - y).
    The gradient is never exactly zero while a point is misclassified: every mistake pulls.
    """
    return (p - y) / y.shape[0]                                       # (N, 1)


def relu_mse_grad(z: Tensor, a: Tensor, y: Tensor) -> Tensor:
    """dL/dz for L = MSE(relu(z), y). Returns 2 (a - y) / N * [z > 0], shape (N, 1).

        L = mean((a - y)^2)      dL/da = 2 (a - y) / N
        a = max(0, z)            da/dz = 1 where z > 0, else 0

    Every example with z <= 0 gets a gradient of exactly zero, right or wrong. A class-1
    point stuck there outputs 0, is misclassified, and cannot pull the line towards it:
    for that point the unit is "dead".
    """
    alive = Tensor((z.data > 0).astype(z.data.dtype))                 # (N, 1) ReLU'(z)
    return (a - y) * alive * (2.0 / y.shape[0])                       # (N, 1)


# Output variants: (label, activation, loss, dL/dz). Same data, init and learning rate.
VARIANTS = {
    "sigmoid": ("Sigmoid + BCE", Sigmoid, BinaryCrossEntropyLoss, sigmoid_bce_grad),
    "relu": ("ReLU + MSE", ReLU, MSELoss, relu_mse_grad),
}


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


def accuracy(a: Tensor, y: Tensor) -> float:
    """Fraction of outputs on the right side of THRESHOLD."""
    return float(np.mean((a.data > THRESHOLD) == (y.data > 0.5)))


def train(variant: str, X: Tensor, y: Tensor, epochs: int, init_rng: np.random.Generator,
          verbose: bool = True):
    """Full-batch gradient descent on Linear(2, 1) + the variant's activation.

    Returns the trained layer, its activation and a history with the loss (computed by your
    module 04) and the training accuracy of every epoch, measured before that epoch's step.
    """
    label, act_cls, loss_cls, output_grad = VARIANTS[variant]
    layer, act, loss_fn = Linear(2, 1, rng=init_rng), act_cls(), loss_cls()
    history = {"loss": [], "accuracy": []}
    log_every = max(1, epochs // LOG_LINES)
    for epoch in range(epochs):
        z = layer(X)                                   # (N, 2) @ (2, 1) + (1,) -> (N, 1)
        a = act(z)                                     # (N, 1)
        loss = loss_fn(a, y)                           # () scalar Tensor
        history["loss"].append(loss.item())
        history["accuracy"].append(accuracy(a, y))

        dz = output_grad(z, a, y)                      # (N, 1)  dL/dz
        grad_w = X.transpose() @ dz                    # (2, N) @ (N, 1) -> (2, 1)
        grad_b = dz.sum(axis=0)                        # (1,)
        layer.weight.data -= LR * grad_w.data          # the update rule, in place
        layer.bias.data -= LR * grad_b.data

        if verbose and (epoch % log_every == 0 or epoch == epochs - 1):
            print(f"  {label:13s} epoch {epoch + 1:4d}/{epochs}  loss {history['loss'][-1]:.4f}  "
                  f"train accuracy {history['accuracy'][-1]:.1%}", flush=True)
    return layer, act, history


def evaluate(layer: Linear, act, X: Tensor, y: Tensor) -> dict:
    """Accuracy on (X, y) and the share of points in ReLU's zero-gradient region z <= 0."""
    z = layer(X)                                                      # (N, 1)
    a = act(z)
    return {"accuracy": accuracy(a, y),
            "zero_grad_fraction": float(np.mean(z.data <= 0)),
            "stuck_positives": int(np.sum((z.data <= 0) & (y.data > 0.5)))}


def epochs_to_target(history: dict):
    """First epoch (1-based) whose training accuracy reached TARGET_ACCURACY, or None."""
    hits = [i + 1 for i, acc in enumerate(history["accuracy"]) if acc >= TARGET_ACCURACY]
    return hits[0] if hits else None


# ---------------------------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------------------------


def line_through_box(w: np.ndarray, b: float, lo: float, hi: float):
    """Two points of the line w[0] x1 + w[1] x2 + b = 0 spanning [lo, hi], steep or flat."""
    ends = np.array([lo, hi])
    if abs(w[1]) >= abs(w[0]):                       # solve for x2 given x1
        return ends, -(w[0] * ends + b) / w[1]
    return -(w[1] * ends + b) / w[0], ends           # nearly vertical: solve for x1


def line_label(w: np.ndarray, b: float) -> str:
    """'3.69 x1 - 1.38 x2 - 1.81 = 0' for w = (3.69, -1.38), b = -1.81."""
    def signed(v):
        return f"- {abs(v):.2f}" if v < 0 else f"+ {v:.2f}"
    return f"{w[0]:.2f} x1 {signed(w[1])} x2 {signed(b)} = 0"


def plot_boundary(path: Path, data: dict, w: np.ndarray, b: float, true_line, test_acc: float):
    """Train points (dots), test points (crosses), the learned and the true line."""
    fig, ax = plt.subplots(figsize=(6.5, 6))
    for cls, color in ((0, "tab:blue"), (1, "tab:orange")):
        tr = data["y_train"][:, 0] == cls
        te = data["y_test"][:, 0] == cls
        ax.scatter(*data["X_train"][tr].T, s=12, c=color, alpha=0.6, label=f"class {cls} (train)")
        ax.scatter(*data["X_test"][te].T, s=28, c=color, marker="x", label=f"class {cls} (test)")
    lim = BOX * 1.05
    ax.plot(*line_through_box(w, b, -lim, lim), color="black", lw=2,
            label=f"learned: {line_label(w, b)}")
    ax.plot(*line_through_box(*true_line, -lim, lim), color="gray", lw=1.2, ls="--",
            label="true line (data generator)")
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), xlabel="x1", ylabel="x2", aspect="equal",
           title=f"Perceptron (Linear + Sigmoid): test accuracy {test_acc:.1%}")
    ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
    save_figure(fig, path)


def plot_convergence(path: Path, histories: dict):
    """Loss and training accuracy per epoch for each output, one line per initialisation.

    `histories[variant]` is a list of histories; the first (the main run) is drawn bold, the
    other initialisations thin, so a ReLU start that gets stuck shows up instead of hiding.
    """
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4.2))
    for variant, color in zip(VARIANTS, ("tab:blue", "tab:orange")):
        label = VARIANTS[variant][0]
        for i, history in enumerate(histories[variant]):
            epochs = np.arange(1, len(history["loss"]) + 1)
            if i == 0:
                style = {"lw": 2, "label": f"{label} (main run)"}
            else:                                   # one legend entry for all the others
                style = {"lw": 0.8, "alpha": 0.35, "label": None if i > 1 else f"{label} (other inits)"}
            ax_loss.plot(epochs, history["loss"], color=color, **style)
            ax_acc.plot(epochs, history["accuracy"], color=color, **style)
    ax_loss.set(xscale="log", yscale="log", xlabel="epoch (log scale)",
                ylabel="training loss (log scale)",
                title="Loss (BCE and MSE: compare shapes, not values)")
    ax_acc.axhline(TARGET_ACCURACY, color="gray", ls=":", label=f"criterion {TARGET_ACCURACY:.0%}")
    ax_acc.set(xscale="log", xlabel="epoch (log scale)", ylabel="training accuracy",
               ylim=(0, 1.02), title="Accuracy (same data, inits and learning rate)")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
    ax_loss.legend(fontsize=8)
    ax_acc.legend(fontsize=8, loc="lower right")
    fig.suptitle("Convergence: Sigmoid vs ReLU output, hand-written gradient descent")
    save_figure(fig, path)


# ---------------------------------------------------------------------------------------------
# The milestone
# ---------------------------------------------------------------------------------------------


def run(ctx: Context) -> Outcome:
    n_points, epochs = (QUICK_N_POINTS, QUICK_EPOCHS) if ctx.quick else (N_POINTS, EPOCHS)
    data_seed, *init_seeds = np.random.SeedSequence(ctx.seed).spawn(1 + INIT_TRIALS)
    data_rng = np.random.default_rng(data_seed)

    X, y, true_line = make_data(n_points, data_rng)
    X_train, y_train, X_test, y_test = split(X, y, data_rng)
    data = {"X_train": X_train, "y_train": y_train, "X_test": X_test, "y_test": y_test}
    print(f"Data: {len(X_train)} train + {len(X_test)} test points, margin {MARGIN}; "
          f"{epochs} epochs, learning rate {LR}", flush=True)
    Xtr, ytr, Xte, yte = Tensor(X_train), Tensor(y_train), Tensor(X_test), Tensor(y_test)

    # The main run (printed and plotted) starts both outputs from the first initialisation;
    # the others count how often each output reaches the criterion from another start.
    results, histories = {}, {variant: [] for variant in VARIANTS}
    reached = {variant: 0 for variant in VARIANTS}
    for trial, init_seed in enumerate(init_seeds):
        for variant in VARIANTS:
            layer, act, history = train(variant, Xtr, ytr, epochs,
                                        np.random.default_rng(init_seed), verbose=trial == 0)
            test = evaluate(layer, act, Xte, yte)
            reached[variant] += test["accuracy"] >= TARGET_ACCURACY
            histories[variant].append(history)
            if trial == 0:
                results[variant] = {"layer": layer, "test": test,
                                    "train": evaluate(layer, act, Xtr, ytr),
                                    "final_loss": history["loss"][-1],
                                    "epochs_to_target": epochs_to_target(history)}
    print(f"Over {INIT_TRIALS} initialisations, test accuracy >= {TARGET_ACCURACY:.0%}: "
          + ", ".join(f"{VARIANTS[v][0]} {reached[v]}/{INIT_TRIALS}" for v in VARIANTS), flush=True)

    sig, relu = results["sigmoid"], results["relu"]
    w = sig["layer"].weight.data[:, 0].astype(float)                  # (2,)
    b = float(sig["layer"].bias.data[0])
    test_acc = sig["test"]["accuracy"]

    plot_boundary(ctx.out / "decision_boundary.png", data, w, b, true_line, test_acc)
    plot_convergence(ctx.out / "convergence.png", histories)

    metrics = {
        "accuracy": test_acc,
        "train_accuracy": sig["train"]["accuracy"],
        "final_loss": sig["final_loss"],
        "epochs": epochs,
        "epochs_to_target": sig["epochs_to_target"],
        "relu_accuracy": relu["test"]["accuracy"],
        "relu_train_accuracy": relu["train"]["accuracy"],
        "relu_final_loss": relu["final_loss"],
        "relu_epochs_to_target": relu["epochs_to_target"],
        "relu_zero_grad_fraction": relu["train"]["zero_grad_fraction"],
        "relu_stuck_positives": relu["train"]["stuck_positives"],
        "init_trials": INIT_TRIALS,
        "sigmoid_inits_reaching_target": reached["sigmoid"],
        "relu_inits_reaching_target": reached["relu"],
        "weights": {"w1": float(w[0]), "w2": float(w[1]), "b": b},
        "n_train": len(X_train), "n_test": len(X_test), "lr": LR, "margin": MARGIN,
    }
    return Outcome(metrics=metrics, checks=accuracy_check(test_acc, TARGET_ACCURACY), lines=report_lines(metrics),
                   plots=["decision_boundary.png", "convergence.png"])


def report_lines(m: dict) -> list[str]:
    """The markdown of report.md below the criteria table: results, then what they mean."""
    def reached(epoch):
        return f"epoch {epoch}" if epoch is not None else "never"

    stuck, dead, trials = m["relu_stuck_positives"], m["relu_zero_grad_fraction"], m["init_trials"]
    w = m["weights"]
    return [
        "## Results",
        "",
        f"Linear(2, 1) on {m['n_train']} training and {m['n_test']} test points, {m['epochs']} "
        f"epochs of full-batch gradient descent with learning rate {m['lr']}; both outputs start "
        f"from the same initial weights.",
        "",
        f"| output | test accuracy | train accuracy | final loss | train accuracy "
        f">= {TARGET_ACCURACY:.0%} at | initialisations reaching {TARGET_ACCURACY:.0%} (test) |",
        "|---|---|---|---|---|---|",
        f"| Sigmoid + BCE | {m['accuracy']:.1%} | {m['train_accuracy']:.1%} | "
        f"{m['final_loss']:.4f} (BCE) | {reached(m['epochs_to_target'])} | "
        f"{m['sigmoid_inits_reaching_target']}/{trials} |",
        f"| ReLU + MSE | {m['relu_accuracy']:.1%} | {m['relu_train_accuracy']:.1%} | "
        f"{m['relu_final_loss']:.4f} (MSE) | {reached(m['relu_epochs_to_target'])} | "
        f"{m['relu_inits_reaching_target']}/{trials} |",
        "",
        f"Learned line (sigmoid): {line_label((w['w1'], w['w2']), w['b'])}.",
        "",
        "**decision_boundary.png** shows the training points (dots) and held-out test points "
        "(crosses) coloured by class, the line the perceptron learned (solid) and the line that "
        "generated the labels (dashed). The data has a gap around the true line, so a perfect "
        "separator exists; when every point is right, the learned line runs through that gap.",
        "",
        "**convergence.png** shows the loss (left) and the training accuracy (right) of every "
        "epoch for both outputs, bold for the main run and thin for the other initialisations. "
        "The two losses are different functions (BCE and MSE), so compare how they fall, not "
        "their values; the accuracy panel compares like with like.",
        "",
        "**Why the outputs differ.** With Sigmoid + BCE the gradient of each point is p - y, "
        "which is never zero while the point is misclassified: every mistake keeps moving the "
        "line. ReLU's derivative is exactly 0 for z <= 0, so a point there contributes no "
        "gradient at all, right or wrong. A class-1 point on that side outputs 0, is "
        "misclassified, and is rescued only if the other points happen to move the line past "
        "it. When most class-1 points start there, the class-0 points push the line further "
        "away until every output is 0 and every gradient is 0: training stops for good (a flat "
        "thin curve in the plot, when a start does this). The unit is \"dead\". "
        f"In the main run, {dead:.0%} of the training points end in ReLU's zero-gradient "
        f"region (mostly class 0, where an output of 0 is right); {stuck} of them are class-1 "
        f"points the unit can no longer learn from. Across {trials} initialisations "
        f"the sigmoid reached the criterion {m['sigmoid_inits_reaching_target']} times and the "
        f"ReLU output {m['relu_inits_reaching_target']} times. That is why a sigmoid (or a "
        "softmax) ends a classifier, while ReLU works in hidden layers, where many units share "
        "the work and one dead unit is not the whole model.",
    ]


if __name__ == "__main__":
    main("1", run)
