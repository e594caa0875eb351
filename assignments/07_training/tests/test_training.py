"""Visible tests for module 07 (training). Run them with `make test M=07`.

Small models (a Linear, or Linear-ReLU-Linear) on small seeded data. Expected values are
computed here independently: losses and accuracies in float64 NumPy from the model's own
weights, the gradient norm with np.linalg.norm over the concatenated gradients, the cosine
schedule in the form min + (max - min) * cos^2(pi * e / (2 T)).
"""

import math
from functools import partial

import numpy as np
import pytest

from tinytorch import testing
from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Dropout, Linear, Sequential
from tinytorch.core.losses import CrossEntropyLoss, MSELoss
from tinytorch.core.optimizers import SGD, Adam
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import CosineSchedule, Trainer, activation_memory_bytes, clip_grad_norm
from tinytorch.testing import assert_close, assert_unchanged, mlp, snapshot

SEED = 0


def make_rng(seed=SEED):
    return np.random.default_rng(seed)


# y = x @ [2, -1, 0.5] + 0.3 (plus a little noise): a Linear(3, 1) can learn it.
regression_data = partial(testing.regression_data, n=32, seed=SEED, weights=(2.0, -1.0, 0.5), bias=0.3, noise=0.01)


def batches_of(x, y, size):
    return [(Tensor(x[i:i + size]), y[i:i + size]) for i in range(0, len(x), size)]


def linear_forward(layer, x):
    return np.asarray(x, np.float64) @ layer.weight.data.astype(np.float64) + layer.bias.data.astype(np.float64)


def cross_entropy(logits, targets):
    logits = np.asarray(logits, np.float64)
    lse = np.log(np.sum(np.exp(logits - logits.max(axis=1, keepdims=True)), axis=1)) + logits.max(axis=1)
    return float(np.mean(lse - logits[np.arange(len(targets)), targets]))


# ---------------------------------------------------------------------------- clip_grad_norm


@pytest.mark.points(4)
def test_clip_grad_norm_scales_every_grad_in_place():
    rng = make_rng()
    a = Tensor(np.zeros((3, 2), np.float32), requires_grad=True)
    b = Tensor(np.zeros(4, np.float32), requires_grad=True)
    c = Tensor(np.zeros(2, np.float32), requires_grad=True)          # no grad: skipped
    a.grad = Tensor((5 * rng.standard_normal((3, 2))).astype(np.float32))
    b.grad = Tensor((5 * rng.standard_normal(4)).astype(np.float32))
    grad_a, grad_b = a.grad, b.grad
    old_a, old_b = a.grad.data.astype(np.float64), b.grad.data.astype(np.float64)
    total = np.linalg.norm(np.concatenate([old_a.ravel(), old_b.ravel()]))
    max_norm = 1.0

    got = clip_grad_norm([a, b, c], max_norm)
    assert isinstance(got, float), f"clip_grad_norm should return a Python float; got {type(got).__name__}"
    assert_close(got, total, what="clip_grad_norm(...) return value: the total L2 norm of all grads, before clipping")
    assert a.grad is grad_a and b.grad is grad_b, (
        "clip_grad_norm should scale the gradients in place (the same Tensors stay in p.grad)")
    assert c.grad is None, "clip_grad_norm should leave a parameter without grad alone"
    scale = max_norm / total
    assert_close(a.grad.data, old_a * scale, what=f"a.grad after clip_grad_norm(max_norm=1) (total {total:.3f})")
    assert_close(b.grad.data, old_b * scale, what=f"b.grad after clip_grad_norm(max_norm=1) (total {total:.3f})")
    new_total = np.linalg.norm(np.concatenate([a.grad.data.ravel(), b.grad.data.ravel()]).astype(np.float64))
    assert abs(new_total - max_norm) < 1e-5, f"after clipping the total norm should be max_norm = 1; got {new_total}"


@pytest.mark.points(2)
def test_clip_grad_norm_leaves_small_grads_alone():
    a = Tensor(np.zeros(2, np.float32), requires_grad=True)
    b = Tensor(np.zeros(1, np.float32), requires_grad=True)
    a.grad, b.grad = Tensor([0.3, 0.0]), Tensor([0.4])
    got = clip_grad_norm([a, b], max_norm=1.0)
    assert_close(got, 0.5, what="clip_grad_norm with grads [0.3, 0] and [0.4] (norm 0.5)")
    unchanged = (np.array_equal(a.grad.data, np.array([0.3, 0.0], np.float32))
                 and np.array_equal(b.grad.data, np.array([0.4], np.float32)))
    assert unchanged, (
        "clip_grad_norm(max_norm=1) should not change gradients whose total norm (0.5) is below max_norm")


# ---------------------------------------------------------------------------- CosineSchedule


@pytest.mark.points(3)
def test_cosine_schedule_matches_formula_and_clamps():
    max_lr, min_lr, total = 0.1, 0.001, 10
    schedule = CosineSchedule(max_lr, min_lr, total)
    for epoch in [0, 1, 2, 5, 7, 9, 10, 11, 50]:
        e = min(epoch, total)
        expected = min_lr + (max_lr - min_lr) * math.cos(math.pi * e / (2 * total)) ** 2
        got = schedule.get_lr(epoch)
        assert isinstance(got, float), f"get_lr should return a Python float; got {type(got).__name__}"
        assert abs(got - expected) < 1e-12, (
            f"CosineSchedule(max_lr={max_lr}, min_lr={min_lr}, total_epochs={total}).get_lr({epoch}): "
            f"expected {expected:.6f}; got {got:.6f}")


# --------------------------------------------------------------------------------- train_epoch


@pytest.mark.points(6)
def test_train_epoch_reduces_the_loss():
    x, y = regression_data()
    model = Linear(3, 1, rng=make_rng(1))
    trainer = Trainer(model, SGD(model.parameters(), lr=0.1), MSELoss())
    losses = [trainer.train_epoch(batches_of(x, y, 8)) for _ in range(5)]
    assert all(isinstance(v, float) for v in losses), (
        f"train_epoch should return Python floats; got {[type(v).__name__ for v in losses]}")
    assert all(later < earlier for earlier, later in zip(losses, losses[1:])), (
        f"train_epoch on y = x @ w + b with Linear(3, 1), SGD(lr=0.1): the loss should fall every epoch; "
        f"got {[round(v, 5) for v in losses]}")
    assert losses[-1] < 0.05 * losses[0], (
        f"after 5 epochs the loss should be under 5% of the first epoch's; got {losses[0]:.4f} -> {losses[-1]:.4f}")
    final = np.mean((linear_forward(model, x) - y) ** 2)
    assert final < 0.05, f"the trained Linear(3, 1) should fit the data (MSE < 0.05); got {final:.4f}"
    assert trainer.epoch == 5 and trainer.steps == 20, (
        f"after 5 epochs of 4 batches: trainer.epoch should be 5 and trainer.steps 20; "
        f"got {trainer.epoch} and {trainer.steps}")
    assert trainer.history["train_loss"] == losses, "trainer.history['train_loss'] should hold each epoch's returned loss"


@pytest.mark.points(4)
def test_train_epoch_returns_the_mean_over_examples():
    """lr = 0: nothing moves, so the epoch's loss is the MSE over all 7 examples (batches of 5 and 2)."""
    x, y = regression_data(n=7, seed=3)
    model = Linear(3, 1, rng=make_rng(2))
    trainer = Trainer(model, SGD(model.parameters(), lr=0.0), MSELoss())
    got = trainer.train_epoch(batches_of(x, y, 5))
    expected = float(np.mean((linear_forward(model, x) - y) ** 2))
    assert_close(got, expected, what="train_epoch over batches of 5 and 2 rows: the mean loss per example "
                                     "(each batch's loss weighted by its size)")
    assert trainer.steps == 2, f"one optimizer step per batch: trainer.steps should be 2; got {trainer.steps}"


# ------------------------------------------------------------------------------------ evaluate


@pytest.mark.points(5)
def test_evaluate_changes_nothing_and_records_no_graph():
    first, second = Linear(4, 6, rng=make_rng(1)), Linear(6, 3, rng=make_rng(2))
    model = Sequential(first, ReLU(), Dropout(0.5, rng=make_rng(3)), second)
    x = make_rng(4).standard_normal((10, 4)).astype(np.float32)
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    seen = []

    def loss_fn(logits, targets):
        loss = CrossEntropyLoss()(logits, targets)
        seen.append(loss)
        return loss

    trainer = Trainer(model, Adam(model.parameters(), lr=0.1), loss_fn)
    before = snapshot(model)
    result = trainer.evaluate([(Tensor(x), labels)])
    assert isinstance(result, dict) and isinstance(result.get("loss"), float), (
        f"evaluate should return a dict with a float 'loss'; got {result!r}")
    hidden = np.maximum(linear_forward(first, x), 0.0)               # eval mode: Dropout passes through
    expected = cross_entropy(linear_forward(second, hidden), labels)
    assert_close(result["loss"], expected, what="evaluate(...)['loss'] of Linear-ReLU-Dropout-Linear "
                                                "(in eval mode, Dropout is the identity)")
    assert_unchanged(model, before, "after evaluate")
    assert all(p.grad is None for p in model.parameters()), "evaluate should not call backward: every p.grad stays None"
    assert seen and all(loss.requires_grad is False for loss in seen), (
        "evaluate should run under no_grad(): the losses it computes should have requires_grad=False")
    assert trainer.evaluate([(Tensor(x), labels)]) == result, "evaluate twice on the same data should give the same result"


@pytest.mark.points(4)
def test_evaluate_reports_accuracy_for_classification():
    layer = Linear(2, 3, rng=make_rng())
    layer.weight.data[:] = [[1.0, 0.0, -1.0], [0.0, 1.0, -1.0]]
    layer.bias.data[:] = [0.0, 0.0, 0.5]
    x = np.array([[2, 0], [0, 2], [-2, -2], [1, 3], [3, 1]], np.float32)   # predicts 0, 1, 2, 1, 0
    labels = np.array([0, 1, 2, 0, 2])                                      # 3 of 5 right
    trainer = Trainer(layer, SGD(layer.parameters(), lr=0.1), CrossEntropyLoss())
    result = trainer.evaluate([(Tensor(x[:3]), labels[:3]), (Tensor(x[3:]), labels[3:])])
    assert set(result) == {"loss", "accuracy"}, (
        f"evaluate of a classifier should return loss and accuracy; got keys {sorted(result)}")
    assert_close(result["accuracy"], 0.6, what="evaluate(...)['accuracy'] (3 of 5 predictions right, batches of 3 and 2)")
    assert_close(result["loss"], cross_entropy(linear_forward(layer, x), labels),
                 what="evaluate(...)['loss'] over batches of 3 and 2: the mean over the 5 examples")


# --------------------------------------------------------------------------------- checkpoints


@pytest.mark.points(5)
def test_checkpoint_round_trip_gives_identical_outputs(tmp_path):
    x = make_rng(5).standard_normal((12, 4)).astype(np.float32)
    labels = np.arange(12) % 3
    model = mlp(seed=1)
    trainer = Trainer(model, Adam(model.parameters(), lr=0.01), CrossEntropyLoss())
    for _ in range(2):
        trainer.train_epoch([(Tensor(x[:6]), labels[:6]), (Tensor(x[6:]), labels[6:])])
    path = tmp_path / "mlp.npz"
    trainer.save_checkpoint(path)

    fresh = mlp(seed=9)                                             # same layers, other weights
    restored = Trainer(fresh, Adam(fresh.parameters(), lr=0.01), CrossEntropyLoss())
    restored.load_checkpoint(path)
    probe = Tensor(make_rng(6).standard_normal((5, 4)).astype(np.float32))
    assert np.array_equal(fresh(probe).data, model(probe).data), (
        "a model that loaded a checkpoint should give exactly the outputs of the model that saved it")
    for i, (p, q) in enumerate(zip(fresh.parameters(), model.parameters())):
        assert p.data.dtype == q.data.dtype, f"parameter {i}: dtype {p.data.dtype} after loading, {q.data.dtype} saved"
    assert (restored.epoch, restored.steps) == (2, 4), (
        f"load_checkpoint should restore epoch 2 and steps 4; got epoch {restored.epoch}, steps {restored.steps}")


@pytest.mark.points(5)
def test_checkpoint_of_another_architecture_raises_and_changes_nothing(tmp_path):
    saved = mlp(seed=1, widths=(4, 8, 3))                           # Linear(4, 8), ReLU, Linear(8, 3)
    path = tmp_path / "three_classes.npz"
    Trainer(saved, SGD(saved.parameters(), lr=0.1), CrossEntropyLoss()).save_checkpoint(path)

    other = mlp(seed=2, widths=(4, 8, 2))                           # Linear(4, 8), ReLU, Linear(8, 2)
    trainer = Trainer(other, SGD(other.parameters(), lr=0.1), CrossEntropyLoss())
    before = snapshot(other)
    with pytest.raises(ValueError) as info:
        trainer.load_checkpoint(path)
    message = str(info.value)
    assert "(8, 3)" in message and "(8, 2)" in message, (
        f"loading a checkpoint of Linear(8, 3) into Linear(8, 2) should raise a ValueError naming both shapes "
        f"(8, 3) and (8, 2); the message was: {message}")
    assert_unchanged(other, before, "after a failed load_checkpoint (check everything before assigning anything)")
    assert (trainer.epoch, trainer.steps) == (0, 0), "a failed load_checkpoint should not change epoch or steps"


# ------------------------------------------------------------------------------------- systems


@pytest.mark.points(2)
def test_activation_memory_grows_linearly_with_batch_size():
    sizes = [784, 128, 10]
    for batch in (1, 64, 128):
        got = activation_memory_bytes(batch, sizes)
        assert got == batch * (784 + 128 + 10) * 4, (
            f"activation_memory_bytes({batch}, {sizes}): one float32 (batch, size) array per layer size = "
            f"{batch * 922 * 4} bytes; got {got}")
