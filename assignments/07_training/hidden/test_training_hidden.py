"""Hidden tests for module 07 (training): zero_grad at every step, training mode, NumPy and
generator batches, schedule and clipping inside train_epoch, regression without accuracy,
float targets, checkpoint files and every way a checkpoint can be wrong (missing, corrupt,
truncated, other count, other dtype, missing key), the schedule's and clipping's edge cases,
and the systems functions."""

import math
from functools import partial

import numpy as np
import pytest

from tinytorch import testing
from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Dropout, Linear, Module, Sequential
from tinytorch.core.losses import CrossEntropyLoss, MSELoss
from tinytorch.core.optimizers import SGD, Adam
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import (
    CosineSchedule,
    Trainer,
    activation_memory_bytes,
    clip_grad_norm,
    max_batch_size,
)
from tinytorch.testing import assert_close, assert_unchanged, mlp, snapshot

SEED = 11


def make_rng(seed=SEED):
    return np.random.default_rng(seed)


# y = x @ [1, 0.5, -2] - 0.2, no noise.
regression_data = partial(testing.regression_data, n=12, seed=SEED, weights=(1.0, 0.5, -2.0), bias=-0.2)


def mse_grads(layer, x, y):
    """Gradients of mean((x @ W + b - y)^2) for a Linear layer, in float64."""
    residual = np.asarray(x, np.float64) @ layer.weight.data.astype(np.float64) + layer.bias.data - y
    return 2 * np.asarray(x, np.float64).T @ residual / residual.size, 2 * residual.sum(axis=0) / residual.size


def trainer_for(model, lr=0.1):
    return Trainer(model, SGD(model.parameters(), lr=lr), CrossEntropyLoss())


# --------------------------------------------------------------------------------- train_epoch


@pytest.mark.points(4)
def test_train_epoch_zeroes_grads_before_every_step():
    """Two batches, two SGD steps: the second step must use the second batch's gradient alone."""
    x, y = regression_data(n=8)
    layer = Linear(3, 1, rng=make_rng(1))
    w, b = layer.weight.data.astype(np.float64), layer.bias.data.astype(np.float64)
    lr = 0.1
    reference = Linear(3, 1, rng=make_rng(1))
    for lo, hi in ((0, 4), (4, 8)):
        gw, gb = mse_grads(reference, x[lo:hi], y[lo:hi])
        w, b = w - lr * gw, b - lr * gb
        reference.weight.data[:], reference.bias.data[:] = w, b
    trainer = Trainer(layer, SGD(layer.parameters(), lr=lr), MSELoss())
    trainer.train_epoch([(Tensor(x[:4]), y[:4]), (Tensor(x[4:]), y[4:])])
    assert_close(layer.weight.data, w, what="Linear(3, 1).weight after train_epoch of 2 batches with SGD(lr=0.1) "
                                            "(call optimizer.zero_grad() before each backward)")
    assert_close(layer.bias.data, b, what="Linear(3, 1).bias after train_epoch of 2 batches with SGD(lr=0.1)")


@pytest.mark.points(2)
def test_train_epoch_puts_the_model_in_training_mode():
    class Recorder(Module):
        def __init__(self):
            super().__init__()
            self.layer = Linear(3, 1, rng=make_rng())
            self.modes = []

        def forward(self, x):
            self.modes.append(self.training)
            return self.layer(x)

    model = Recorder()
    model.eval()
    x, y = regression_data(n=4)
    Trainer(model, SGD(model.parameters(), lr=0.01), MSELoss()).train_epoch([(Tensor(x), y)])
    assert model.modes == [True], (
        f"train_epoch should call model.train() before its forward passes (here after model.eval()); "
        f"the model saw training={model.modes}")


@pytest.mark.points(2)
def test_train_epoch_accepts_numpy_inputs_and_a_generator():
    x, y = regression_data(n=9)
    model = Linear(3, 1, rng=make_rng())
    trainer = Trainer(model, SGD(model.parameters(), lr=0.0), MSELoss())
    got = trainer.train_epoch((x[i:i + 3], y[i:i + 3]) for i in range(0, 9, 3))
    expected = np.mean((x.astype(np.float64) @ model.weight.data + model.bias.data - y) ** 2)
    assert_close(got, expected, what="train_epoch on a generator of (np.ndarray x, np.ndarray y) batches")
    with pytest.raises(ValueError):
        trainer.train_epoch([])


@pytest.mark.points(3)
def test_train_epoch_applies_schedule_and_gradient_clipping():
    x, y = regression_data(n=4)
    y = y * 100                                             # huge errors: huge gradients
    layer = Linear(3, 1, rng=make_rng(2))
    w, b = layer.weight.data.astype(np.float64), layer.bias.data.astype(np.float64)
    gw, gb = mse_grads(layer, x, y)
    norm = math.sqrt(np.sum(gw ** 2) + np.sum(gb ** 2))
    schedule = CosineSchedule(max_lr=0.2, min_lr=0.0, total_epochs=4)
    opt = SGD(layer.parameters(), lr=123.0)                 # overwritten by the schedule
    trainer = Trainer(layer, opt, MSELoss(), schedule=schedule, max_grad_norm=1.0)
    trainer.train_epoch([(Tensor(x), y)])
    assert opt.lr == pytest.approx(0.2), f"epoch 0 with CosineSchedule(0.2, 0, 4): optimizer.lr should be 0.2; got {opt.lr}"
    assert_close(layer.weight.data, w - 0.2 * gw / norm,
                 what=f"weight after one step with max_grad_norm=1 (gradient norm {norm:.1f} scaled to 1), lr 0.2")
    assert_close(layer.bias.data, b - 0.2 * gb / norm, what="bias after one clipped step")
    trainer.train_epoch([(Tensor(x), y)])
    assert opt.lr == pytest.approx(schedule.get_lr(1)), (
        f"epoch 1: optimizer.lr should be schedule.get_lr(1) = {schedule.get_lr(1):.4f}; got {opt.lr}")
    assert trainer.history["lr"] == pytest.approx([0.2, schedule.get_lr(1)]), (
        f"history['lr'] should record the lr of each epoch; got {trainer.history['lr']}")


# ------------------------------------------------------------------------------------ evaluate


@pytest.mark.points(2)
def test_evaluate_regression_has_loss_only():
    x, y = regression_data(n=10)
    layer = Linear(3, 1, rng=make_rng(3))
    trainer = Trainer(layer, SGD(layer.parameters(), lr=0.1), MSELoss())
    result = trainer.evaluate([(Tensor(x[:7]), y[:7]), (Tensor(x[7:]), y[7:])])
    assert set(result) == {"loss"}, (
        f"evaluate of a regression (MSELoss, targets (N, 1)) should return only 'loss'; got {sorted(result)}")
    expected = np.mean((x.astype(np.float64) @ layer.weight.data + layer.bias.data - y) ** 2)
    assert_close(result["loss"], expected, what="evaluate(...)['loss'] over batches of 7 and 3 (mean over examples)")
    assert trainer.history["eval_loss"] == [result["loss"]], "evaluate should append its loss to history['eval_loss']"


@pytest.mark.points(2)
def test_evaluate_with_float_tensor_targets_and_dropout():
    model = Sequential(Linear(4, 16, rng=make_rng(1)), ReLU(), Dropout(0.9, rng=make_rng(2)), Linear(16, 3, rng=make_rng(3)))
    x = make_rng(4).standard_normal((9, 4)).astype(np.float32)
    labels = Tensor(np.arange(9) % 3)                               # float32 whole numbers
    trainer = trainer_for(model)
    results = [trainer.evaluate([(Tensor(x[:5]), labels[:5]), (Tensor(x[5:]), labels[5:])]) for _ in range(3)]
    assert "accuracy" in results[0], (
        f"targets given as a float Tensor of class indices still mean classification; got {results[0]}")
    assert results[0] == results[1] == results[2], (
        f"evaluate with Dropout(0.9) in the model should be deterministic (eval mode); got {results}")
    layers = model.layers
    hidden = np.maximum(x.astype(np.float64) @ layers[0].weight.data + layers[0].bias.data, 0)
    logits = hidden @ layers[3].weight.data + layers[3].bias.data
    expected = np.mean(np.argmax(logits, axis=1) == np.arange(9) % 3)
    assert_close(results[0]["accuracy"], expected, what="evaluate(...)['accuracy'] with float Tensor targets")


@pytest.mark.points(2)
def test_evaluate_keeps_existing_grads():
    model = mlp(seed=SEED)
    trainer = trainer_for(model)
    for p in model.parameters():
        p.grad = Tensor(np.ones(p.data.shape, np.float32))
    trainer.evaluate([(Tensor(np.ones((2, 4), np.float32)), np.array([0, 1]))])
    assert all(p.grad is not None and np.all(p.grad.data == 1) for p in model.parameters()), (
        "evaluate should not touch gradients (no zero_grad, no backward)")


# --------------------------------------------------------------------------------- checkpoints


@pytest.mark.points(2)
def test_checkpoint_file_holds_plain_arrays_at_the_exact_path(tmp_path):
    model = mlp(seed=SEED)
    trainer = trainer_for(model)
    trainer.epoch, trainer.steps = 3, 17
    path = tmp_path / "no_extension"
    trainer.save_checkpoint(path)
    assert path.is_file(), (
        "save_checkpoint(path) should write exactly `path` (np.savez given a file name without .npz appends "
        "it; write to an open file instead)")
    with np.load(path, allow_pickle=False) as data:
        keys = set(data.files)
        arrays = {k: data[k] for k in keys}
    expected_keys = {"param_0", "param_1", "param_2", "param_3", "num_params", "epoch", "steps"}
    assert keys == expected_keys, f"checkpoint keys: expected {sorted(expected_keys)}; got {sorted(keys)}"
    for i, p in enumerate(model.parameters()):
        saved = arrays[f"param_{i}"]
        assert saved.dtype == p.data.dtype and np.array_equal(saved, p.data), f"param_{i} should equal parameter {i}"
    assert (int(arrays["num_params"]), int(arrays["epoch"]), int(arrays["steps"])) == (4, 3, 17), (
        "num_params, epoch and steps should be saved as integers (4, 3, 17)")


@pytest.mark.points(1)
def test_load_missing_file_raises_value_error(tmp_path):
    trainer = trainer_for(mlp(seed=SEED))
    with pytest.raises(ValueError) as info:
        trainer.load_checkpoint(tmp_path / "nowhere.npz")
    assert "nowhere.npz" in str(info.value), f"the ValueError should name the missing file; the message was: {info.value}"


@pytest.mark.points(4)
def test_load_corrupt_or_truncated_file_raises_and_changes_nothing(tmp_path):
    model = mlp(seed=1)
    trainer = trainer_for(model)
    good = tmp_path / "good.npz"
    trainer.save_checkpoint(good)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a zip file at all" * 10)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    npy = tmp_path / "array.npy"
    np.save(npy, np.ones(3))

    victim = mlp(seed=5)
    victim_trainer = trainer_for(victim)
    before = snapshot(victim)
    for path in (garbage, truncated, npy):
        with pytest.raises(ValueError):
            victim_trainer.load_checkpoint(path)
        assert_unchanged(victim, before, f"after load_checkpoint of a broken file ({path.name})")


@pytest.mark.points(2)
def test_load_checkpoint_with_another_parameter_count(tmp_path):
    deep = mlp(seed=1, widths=(4, 8, 8, 3))                          # 6 parameters
    path = tmp_path / "deep.npz"
    trainer_for(deep).save_checkpoint(path)
    shallow = mlp(seed=2, widths=(4, 8, 3))                          # 4 parameters, same first shapes
    before = snapshot(shallow)
    with pytest.raises(ValueError) as info:
        trainer_for(shallow).load_checkpoint(path)
    assert "6" in str(info.value) and "4" in str(info.value), (
        f"the ValueError should name both parameter counts (6 in the file, 4 in the model); the message was: {info.value}")
    assert_unchanged(shallow, before, "after loading a checkpoint with 6 parameters into a model with 4")


@pytest.mark.points(2)
def test_load_checkpoint_with_another_dtype(tmp_path):
    model = mlp(seed=1)
    params = model.parameters()
    arrays = {f"param_{i}": p.data for i, p in enumerate(params)}
    arrays["param_3"] = params[3].data.astype(np.float64)             # last one in float64
    arrays.update(num_params=np.array(4), epoch=np.array(1), steps=np.array(2))
    path = tmp_path / "mixed.npz"
    np.savez(path, **arrays)
    victim = mlp(seed=2)
    before = snapshot(victim)
    with pytest.raises(ValueError) as info:
        trainer_for(victim).load_checkpoint(path)
    assert "float64" in str(info.value) and "float32" in str(info.value), (
        f"the ValueError should name both dtypes (float64 in the file, float32 in the model); the message was: {info.value}")
    assert_unchanged(victim, before, "after loading a checkpoint whose last parameter is float64")


@pytest.mark.points(1)
def test_load_checkpoint_without_metadata(tmp_path):
    model = mlp(seed=1)
    path = tmp_path / "bare.npz"
    np.savez(path, **{f"param_{i}": p.data for i, p in enumerate(model.parameters())})
    victim = mlp(seed=2)
    before = snapshot(victim)
    with pytest.raises(ValueError):
        trainer_for(victim).load_checkpoint(path)
    assert_unchanged(victim, before, "after loading a file with parameters but no num_params / epoch / steps")


@pytest.mark.points(2)
def test_load_checkpoint_writes_in_place_and_training_continues(tmp_path):
    x = make_rng(3).standard_normal((6, 4)).astype(np.float32)
    labels = np.arange(6) % 3
    source = mlp(seed=1)
    path = tmp_path / "source.npz"
    trainer_for(source).save_checkpoint(path)
    model = mlp(seed=2)
    arrays = [p.data for p in model.parameters()]
    trainer = Trainer(model, Adam(model.parameters(), lr=0.01), CrossEntropyLoss())
    info = trainer.load_checkpoint(path)
    assert info == {"epoch": 0, "steps": 0}, f"load_checkpoint should return {{'epoch': 0, 'steps': 0}}; got {info!r}"
    assert all(p.data is a for p, a in zip(model.parameters(), arrays)), (
        "load_checkpoint should copy into each parameter's array in place (p.data[...] = saved)")
    loaded = snapshot(model)
    trainer.train_epoch([(Tensor(x), labels)])
    assert any(not np.array_equal(p.data, old) for p, old in zip(model.parameters(), loaded)), (
        "after load_checkpoint, the optimizer created before it should still train the model")


# ---------------------------------------------------------------------- schedule and clipping


@pytest.mark.points(2)
def test_cosine_schedule_rejects_bad_arguments():
    for args in ((0.001, 0.1, 10), (0.1, -0.1, 10), (0.1, 0.0, 0), (0.1, 0.0, 2.5)):
        with pytest.raises(ValueError):
            CosineSchedule(*args)
    with pytest.raises(ValueError):
        CosineSchedule(0.1, 0.0, 10).get_lr(-1)


@pytest.mark.points(1)
def test_cosine_schedule_fractional_epochs_and_constant_rate():
    schedule = CosineSchedule(1.0, 0.0, 4)
    assert abs(schedule.get_lr(1.0) - (1 + math.cos(math.pi / 4)) / 2) < 1e-12, "get_lr(1) of CosineSchedule(1, 0, 4)"
    assert abs(schedule.get_lr(2.0) - 0.5) < 1e-12, (
        f"get_lr(2) of CosineSchedule(1, 0, 4) should be 0.5; got {schedule.get_lr(2.0)}")
    assert abs(schedule.get_lr(0.5) - (1 + math.cos(math.pi / 8)) / 2) < 1e-12, "get_lr(0.5): fractional epochs are allowed"
    flat = CosineSchedule(0.05, 0.05, 3)
    assert all(flat.get_lr(e) == pytest.approx(0.05) for e in range(6)), "CosineSchedule(0.05, 0.05, 3) is constant"


@pytest.mark.points(2)
def test_clip_grad_norm_accepts_a_generator_and_counts_all_grads():
    model = mlp(seed=SEED)
    params = model.parameters()
    rng = make_rng()
    for p in params[:3]:
        p.grad = Tensor((10 * rng.standard_normal(p.data.shape)).astype(np.float32))
    old = [p.grad.data.astype(np.float64).copy() for p in params[:3]]
    total = math.sqrt(sum(float(np.sum(g ** 2)) for g in old))
    got = clip_grad_norm((p for p in params), max_norm=2.5)
    assert_close(got, total, what="clip_grad_norm over a generator of the model's parameters (one without grad)")
    for i, (p, g) in enumerate(zip(params[:3], old)):
        assert_close(p.grad.data, g * 2.5 / total, what=f"grad of parameter {i} after clip_grad_norm(max_norm=2.5)")
    assert params[3].grad is None, "a parameter without grad should stay without grad"


@pytest.mark.points(1)
def test_clip_grad_norm_rejects_bad_max_norm():
    p = Tensor(np.zeros(2, np.float32), requires_grad=True)
    p.grad = Tensor([1.0, 1.0])
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError):
            clip_grad_norm([p], bad)


# ------------------------------------------------------------------------------------- systems


@pytest.mark.points(2)
def test_max_batch_size_from_a_memory_budget():
    sizes = [784, 128, 10]
    params = 784 * 128 + 128 + 128 * 10 + 10
    per_sample = (784 + 128 + 10) * 4
    for name, copies in (("adam", 4), ("sgd", 2), ("sgd_momentum", 3)):
        expected = (10_000_000 - copies * params * 4) // per_sample
        got = max_batch_size(10_000_000, sizes, name)
        assert got == expected, (
            f"max_batch_size(10_000_000, {sizes}, {name!r}): (budget - {copies} * params * 4) // {per_sample} = "
            f"{expected}; got {got}")
    assert max_batch_size(1000, sizes) == 0, "a budget smaller than the weights alone fits no batch: 0"


@pytest.mark.points(1)
def test_activation_memory_bytes_dtype_and_errors():
    got = activation_memory_bytes(8, (3, 5, 2), dtype=np.float64)
    assert got == 8 * 10 * 8, f"activation_memory_bytes(8, (3, 5, 2), float64): expected 640; got {got}"
    assert activation_memory_bytes(2, [6, 1], dtype=np.float16) == 2 * 7 * 2
    for args in ((0, [3, 2]), (4, [3]), (4, [3, 0])):
        with pytest.raises(ValueError):
            activation_memory_bytes(*args)
