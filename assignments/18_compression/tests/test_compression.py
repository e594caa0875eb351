"""Visible tests for module 18 (compression). Run them with `make test M=18`.

Structured pruning is checked against an independent model: the same network built twice from
one seed (float64, non-zero biases and BatchNorm statistics, eval mode), one pruned by your code,
the other with the removed units ZEROED by `tinytorch.testing.zero_reported_units`. Both must
compute the same outputs. Magnitude pruning is checked against a selection written with Python
sorting, the distillation loss against a float64 formula one example at a time, its gradient
against central finite differences.
"""

import numpy as np
import pytest

from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Linear, Sequential
from tinytorch.core.losses import MSELoss
from tinytorch.core.optimizers import SGD, Adam
from tinytorch.core.spatial import BatchNorm2d, Conv2d, Flatten, MaxPool2d
from tinytorch.core.tensor import Tensor
from tinytorch.optimization.compression import (
    apply_masks,
    distillation_loss,
    fine_tune,
    layer_sparsity,
    magnitude_mask,
    magnitude_prune,
    measure_sparsity,
    mlp_flops,
    sparse_break_even_sparsity,
    sparse_storage_bytes,
    structured_prune,
    structured_speedup,
    unit_scores,
    units_to_keep,
)
from tinytorch.testing import (
    assert_close,
    distillation_reference,
    f64_sequential,
    numerical_gradient,
    unit_norms_loop,
    zero_reported_units,
)

SEED = 0
EXACT_RTOL, EXACT_ATOL = 1e-10, 1e-12     # float64 pruned vs zeroed: only the order of additions differs


def half_up(fraction, n):
    """fraction * n rounded half up, the count rule of the module (0.5 of 5 is 3)."""
    return int(np.floor(fraction * n + 0.5))


def mlp(seed=SEED, widths=(5, 8, 3)):
    def layers(rng):
        out = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            if i:
                out.append(ReLU())
            out.append(Linear(a, b, rng=rng))
        return out
    return f64_sequential(seed, layers)


def cnn(seed=SEED):
    """Conv-BN-ReLU-Pool-Conv-BN-ReLU-Flatten-Linear on (N, 2, 4, 4) images."""
    return f64_sequential(seed, lambda rng: [
        Conv2d(2, 6, 3, padding=1, rng=rng), BatchNorm2d(6), ReLU(), MaxPool2d(2),   # (N, 6, 2, 2)
        Conv2d(6, 5, 3, padding=1, rng=rng), BatchNorm2d(5), ReLU(),                  # (N, 5, 2, 2)
        Flatten(), Linear(5 * 2 * 2, 3, rng=rng)])


def batches(seed, n_batches=3, batch=8, width=5, out=3):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((batch, width)), rng.standard_normal((batch, out))) for _ in range(n_batches)]


# ------------------------------------------------------------------------ sparsity


@pytest.mark.points(3)
def test_measure_sparsity_counts_weight_matrices_not_biases():
    model = Sequential(Linear(4, 5, rng=np.random.default_rng(1)), ReLU(), Linear(5, 3, rng=np.random.default_rng(2)))
    assert_close(measure_sparsity(model), 0.0,
                 what="measure_sparsity of a fresh MLP (its biases are zero, but biases do not count)")
    model.layers[0].weight.data[1:3] = 0.0           # 10 of 20 weights
    model.layers[2].weight.data[0, 0] = 0.0          # 1 of 15
    assert_close(measure_sparsity(model), 11 / 35, what="measure_sparsity with 11 zeros among 20 + 15 weights")

    conv = Sequential(Conv2d(2, 3, 3, rng=np.random.default_rng(3)), BatchNorm2d(3), ReLU())
    conv.layers[0].weight.data[0] = 0.0              # one filter: 18 of 54
    assert_close(measure_sparsity(conv), 18 / 54,
                 what="measure_sparsity of Conv2d(2, 3, 3) + BatchNorm2d (beta is zero but not a weight)")


@pytest.mark.points(2)
def test_layer_sparsity_per_layer_by_path():
    model = Sequential(Linear(4, 5, rng=np.random.default_rng(1)), ReLU(), Linear(5, 2, rng=np.random.default_rng(2)))
    model.layers[2].weight.data[:, 1] = 0.0          # 5 of 10
    got = layer_sparsity(model)
    assert isinstance(got, dict) and list(got) == ["layers.0", "layers.2"], (
        f"layer_sparsity should return {{'layers.0': ..., 'layers.2': ...}} (paths of the Linear layers, "
        f"in order); got {got!r}")
    assert_close(np.array([got["layers.0"], got["layers.2"]]), np.array([0.0, 0.5]),
                 what="layer_sparsity(model) values for layers.0 and layers.2")


# ------------------------------------------------------------------------ magnitude pruning


@pytest.mark.points(3)
def test_magnitude_mask_prunes_exactly_the_smallest_magnitudes():
    w = np.random.default_rng(SEED).standard_normal((6, 7))
    for sparsity in (0.0, 0.3, 0.5, 0.9):
        mask = magnitude_mask(w, sparsity)
        k = half_up(sparsity, w.size)
        by_magnitude = sorted(range(w.size), key=lambda i: (abs(w.flat[i]), i))
        want = np.ones(w.size, dtype=bool)
        want[by_magnitude[:k]] = False
        assert isinstance(mask, np.ndarray) and mask.dtype == np.bool_ and mask.shape == w.shape, (
            f"magnitude_mask(w {w.shape}, {sparsity}) should be a bool array of shape {w.shape}; got "
            f"{type(mask).__name__} {getattr(mask, 'dtype', '')} {getattr(mask, 'shape', '')}")
        assert np.array_equal(mask, want.reshape(w.shape)), (
            f"magnitude_mask(w {w.shape}, {sparsity}) should prune (False) exactly the {k} entries of smallest "
            f"|w|; it pruned {int((~mask).sum())}, of which {int((~mask & want.reshape(w.shape)).sum())} "
            f"are not among the smallest")
    tied = magnitude_mask(np.ones((10, 10)), 0.9)
    assert np.array_equal(tied.ravel(), np.arange(100) >= 90), (
        "magnitude_mask(np.ones((10, 10)), 0.9): all |w| tie, so the first 90 in row-major order are pruned "
        f"and exactly 10 kept; got {int(tied.sum())} kept at {np.flatnonzero(tied.ravel()).tolist()}")


@pytest.mark.points(3)
def test_magnitude_prune_reaches_the_sparsity_in_every_matrix():
    model = Sequential(Linear(6, 8, rng=np.random.default_rng(1)), ReLU(), Linear(8, 4, rng=np.random.default_rng(2)))
    model.layers[0].weight.data *= 100.0             # a threshold over the whole model would empty layer 2
    before = [model.layers[i].weight.data.copy() for i in (0, 2)]
    report = magnitude_prune(model, 0.75)
    assert report == {"layers.0": 36, "layers.2": 24}, (
        f"magnitude_prune(model, 0.75) should return the weights zeroed per layer, "
        f"{{'layers.0': 36, 'layers.2': 24}}; got {report!r}")
    for i, old in zip((0, 2), before):
        layer = model.layers[i]
        w = layer.weight.data
        mask = getattr(layer, "weight_mask", None)
        assert isinstance(mask, np.ndarray) and mask.dtype == np.bool_ and mask.shape == w.shape, (
            f"after magnitude_prune, layers.{i}.weight_mask should be a bool array of shape {w.shape}; "
            f"got {mask!r}")
        assert np.array_equal(mask, magnitude_mask(old, 0.75)), (
            f"layers.{i}.weight_mask should be magnitude_mask of that layer's own weights (per matrix)")
        assert np.array_equal(w, np.where(mask, old, 0.0)), (
            f"layers.{i}.weight should be zero exactly where the mask is False and unchanged elsewhere")
        assert w.dtype == old.dtype, f"magnitude_prune changed the dtype of layers.{i}.weight to {w.dtype}"
    assert_close(measure_sparsity(model), 0.75, what="measure_sparsity after magnitude_prune(model, 0.75)")


@pytest.mark.points(2)
def test_magnitude_prune_rejects_bad_sparsity_and_models_without_weights():
    model = Sequential(Linear(3, 3), ReLU(), Linear(3, 2))
    for bad in (1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match=str(bad).replace(".", r"\.")):
            magnitude_prune(model, bad)
    with pytest.raises(ValueError, match="Linear or Conv2d"):
        magnitude_prune(Sequential(ReLU()), 0.5)
    with pytest.raises(ValueError, match="Linear or Conv2d"):
        measure_sparsity(Sequential(ReLU()))


@pytest.mark.points(3)
def test_masks_survive_an_optimizer_step():
    model = mlp(widths=(5, 8, 3))
    magnitude_prune(model, 0.5)
    masks = [model.layers[i].weight_mask.copy() for i in (0, 2)]
    params = model.parameters()
    opt = SGD(params, lr=0.1, momentum=0.9)
    rng = np.random.default_rng(SEED + 1)
    for p in params:
        p.grad = Tensor(rng.standard_normal(p.shape))
    stepped = [p.data - 0.1 * p.grad.data for p in params]
    opt.step()
    assert measure_sparsity(model) < 0.5, "test set-up: an SGD step should move the pruned weights"
    assert apply_masks(model) == 2, "apply_masks should return the number of layers with a mask: 2"
    for i, mask, want in zip((0, 2), masks, (stepped[0], stepped[2])):
        assert_close(model.layers[i].weight.data, np.where(mask, want, 0.0),
                     what=f"layers.{i}.weight after SGD step then apply_masks (zero where pruned, the step elsewhere)")
    assert_close(measure_sparsity(model), 0.5, what="measure_sparsity after step + apply_masks")


@pytest.mark.points(3)
def test_fine_tune_trains_and_keeps_the_pruned_weights_at_zero():
    model = mlp(widths=(5, 8, 3))
    magnitude_prune(model, 0.6)
    masks = [model.layers[i].weight_mask.copy() for i in (0, 2)]
    pruned_start = [model.layers[i].weight.data.copy() for i in (0, 2)]
    data = batches(SEED)
    x0, y0 = data[0]
    first_loss = float(np.mean((model(Tensor(x0)).data - y0) ** 2))
    losses = fine_tune(model, Adam(model.parameters(), lr=0.01), MSELoss(), data, epochs=4)
    assert isinstance(losses, list) and len(losses) == 4 * len(data), (
        f"fine_tune(..., {len(data)} batches, epochs=4) should return a list of {4 * len(data)} losses "
        f"(one per step); got {type(losses).__name__} of length {len(losses) if hasattr(losses, '__len__') else '?'}")
    assert_close(losses[0], first_loss, what="fine_tune: the first loss (the model before any step, batch 0)")
    assert np.mean(losses[-3:]) < np.mean(losses[:3]), (
        f"fine_tune with Adam(lr=0.01) for 4 epochs should lower the loss; first epoch {losses[:3]}, "
        f"last {losses[-3:]}")
    for i, mask, old in zip((0, 2), masks, pruned_start):
        w = model.layers[i].weight.data
        assert np.all(w[~mask] == 0), (
            f"after fine_tune, layers.{i}.weight has {int(np.count_nonzero(w[~mask]))} non-zero pruned "
            f"weights: apply the masks after every optimizer step")
        moved = float(np.mean(w[mask] != old[mask]))       # a unit dead under ReLU may not move
        assert moved > 0.5, f"fine_tune moved only {moved:.0%} of the kept weights of layers.{i}: did it train?"


# ------------------------------------------------------------------------ structured pruning


@pytest.mark.points(2)
def test_unit_scores_are_the_l2_norms_of_columns_and_filters_with_bias():
    model = mlp(widths=(4, 6, 2))
    assert_close(unit_scores(model.layers[0]), unit_norms_loop(model.layers[0]),
                 what="unit_scores(Linear(4, 6)): norm of weight column j and bias j")
    conv = cnn().layers[0]
    assert_close(unit_scores(conv), unit_norms_loop(conv),
                 what="unit_scores(Conv2d(2, 6, 3)): norm of filter o (2x3x3) and bias o")


@pytest.mark.points(2)
def test_units_to_keep_removes_the_lowest_scores():
    scores = np.array([0.3, 2.0, 0.1, 0.9, 1.5, 0.2, 0.8])
    got = units_to_keep(scores, 0.5)                 # 3.5 rounds up: remove 4 (0.1, 0.2, 0.3, 0.8)
    assert isinstance(got, np.ndarray) and got.tolist() == [1, 3, 4], (
        f"units_to_keep({scores.tolist()}, 0.5) should remove 4 units (0.5 * 7 = 3.5, rounded half up) "
        f"and return the others sorted by index, [1, 3, 4]; got {got!r}")
    tied = units_to_keep(np.ones(4), 0.5)
    assert tied.tolist() == [2, 3], f"units_to_keep(ties, 0.5): lower indices go first, keep [2, 3]; got {tied!r}"
    one = units_to_keep(np.array([1.0]), 0.5)
    assert one.tolist() == [0], f"units_to_keep of a single unit must keep it; got {one!r}"


@pytest.mark.points(4)
def test_structured_prune_mlp_equals_the_model_with_those_units_zeroed():
    model, twin = mlp(widths=(5, 8, 3)), mlp(widths=(5, 8, 3))
    norms = unit_norms_loop(model.layers[0])
    report = structured_prune(model, 0.5)
    assert model.layers[0].weight.shape == (5, 4) and model.layers[0].bias.shape == (4,), (
        f"structured_prune(0.5) on Linear(5, 8), ReLU, Linear(8, 3): the first weight should be (5, 4), its "
        f"bias (4,); got {model.layers[0].weight.shape}, {model.layers[0].bias.shape}")
    assert model.layers[2].weight.shape == (4, 3), (
        f"the second Linear loses the ROWS of the removed units: (8, 3) -> (4, 3); got {model.layers[2].weight.shape}")
    assert (model.layers[0].out_features, model.layers[2].in_features) == (4, 4), (
        "structured_prune should update out_features of the first Linear and in_features of the second")
    chain = report["chains"][0]
    assert (chain["first"], chain["second"], chain["units_before"], chain["units_after"]) == ("layers.0", "layers.2", 8, 4), (
        f"report['chains'][0] should describe layers.0 -> layers.2, 8 -> 4 units; got {chain!r}")
    assert chain["kept"] == sorted(np.argsort(norms)[4:].tolist()), (
        f"the kept units should be the 4 of largest norm, {sorted(np.argsort(norms)[4:].tolist())} "
        f"(norms {np.round(norms, 3).tolist()}); got {chain['kept']}")
    assert (report["params_before"], report["params_after"]) == (5 * 8 + 8 + 8 * 3 + 3, 5 * 4 + 4 + 4 * 3 + 3), (
        f"report params_before / params_after should be 75 / 39; got {report['params_before']} / {report['params_after']}")
    zero_reported_units(twin, report)
    x = Tensor(np.random.default_rng(SEED + 5).standard_normal((6, 5)))
    assert_close(model(x), twin(x).data, rtol=EXACT_RTOL, atol=EXACT_ATOL,
                 what="pruned MLP(x) vs the unpruned MLP with the removed units zeroed")


@pytest.mark.points(4)
def test_structured_prune_cnn_with_batchnorm_equals_the_zeroed_model():
    model, twin = cnn(), cnn()
    bn_before = [model.layers[1].running_mean.data.copy(), model.layers[1].running_var.data.copy()]
    report = structured_prune(model, 0.5)
    assert [(c["first"], c["second"], c["units_before"], c["units_after"]) for c in report["chains"]] == [
        ("layers.0", "layers.4", 6, 3), ("layers.4", "layers.8", 5, 2)], (
        "structured_prune(0.5) on Conv(2,6)-BN-ReLU-Pool-Conv(6,5)-BN-ReLU-Flatten-Linear(20, 3) should prune "
        "the chains layers.0 -> layers.4 (6 -> 3 filters) and layers.4 -> layers.8 through Flatten "
        f"(5 -> 2, 0.5 * 5 = 2.5 rounds half up to 3 removed); got {report['chains']!r}")
    shapes = [model.layers[0].weight.shape, model.layers[4].weight.shape, model.layers[8].weight.shape]
    assert shapes == [(3, 2, 3, 3), (2, 3, 3, 3), (2 * 4, 3)], (
        f"weights after pruning should be conv1 (3, 2, 3, 3), conv2 (2, 3, 3, 3), Linear (8, 3) (each "
        f"channel fed 2x2 = 4 rows); got {shapes}")
    kept = report["chains"][0]["kept"]
    bn = model.layers[1]
    assert bn.num_features == 3, f"BatchNorm2d after the first conv should have 3 features; got {bn.num_features}"
    assert_close(bn.running_mean, bn_before[0][kept], what="running_mean of the first BatchNorm2d after pruning")
    assert_close(bn.running_var, bn_before[1][kept], what="running_var of the first BatchNorm2d after pruning")
    zero_reported_units(twin, report)
    x = Tensor(np.random.default_rng(SEED + 6).standard_normal((3, 2, 4, 4)))
    assert_close(model(x), twin(x).data, rtol=EXACT_RTOL, atol=EXACT_ATOL,
                 what="pruned CNN(x) (eval mode) vs the unpruned CNN with the removed filters zeroed")


@pytest.mark.points(2)
def test_structured_prune_errors():
    with pytest.raises(ValueError, match="nothing to prune"):
        structured_prune(Sequential(Linear(4, 3)), 0.5)
    for bad in (1.0, -0.5):
        with pytest.raises(ValueError, match=str(bad).replace(".", r"\.")):
            structured_prune(mlp(), bad)


# ------------------------------------------------------------------------ distillation


@pytest.mark.points(3)
def test_distillation_loss_value_and_gradient():
    rng = np.random.default_rng(SEED)
    student, teacher = rng.standard_normal((4, 5)), 2.0 * rng.standard_normal((4, 5))
    targets = np.array([0, 3, 1, 4])
    for temperature, alpha in ((4.0, 0.5), (2.0, 0.9)):
        s = Tensor(student.copy(), requires_grad=True)
        loss = distillation_loss(s, Tensor(teacher), targets, temperature=temperature, alpha=alpha)
        want = distillation_reference(student, teacher, targets, temperature, alpha)
        assert_close(loss, np.array(want), what=f"distillation_loss(T={temperature}, alpha={alpha})")
        loss.backward()
        num = numerical_gradient(lambda a: distillation_reference(a, teacher, targets, temperature, alpha),
                                 student.copy())
        assert_close(s.grad, num, rtol=1e-5, atol=1e-7,
                     what=f"distillation_loss(T={temperature}, alpha={alpha}).backward(): student_logits.grad")


# ------------------------------------------------------------------------ systems questions


@pytest.mark.points(2)
def test_systems_questions():
    assert mlp_flops(1, [784, 512, 512, 10]) == 2 * (784 * 512 + 512 * 512 + 512 * 10)
    assert mlp_flops(32, [4, 3]) == 2 * 32 * 12
    assert_close(structured_speedup([784, 512, 512, 10], 0.5),
                 (784 * 512 + 512 * 512 + 512 * 10) / (784 * 256 + 256 * 256 + 256 * 10),
                 what="structured_speedup([784, 512, 512, 10], 0.5)")
    assert sparse_storage_bytes(1000, 0.9) == 100 * (4 + 4)
    assert_close(sparse_break_even_sparsity(), 0.5, what="sparse_break_even_sparsity() for float32 + int32")
