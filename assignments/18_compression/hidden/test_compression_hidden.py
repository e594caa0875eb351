"""Hidden tests for module 18 (compression): tie and rounding rules, conv kernels and nested modules,
repeated pruning, masks after Adam, fine_tune against a hand-written masked loop, a conv feeding
Flatten + Linear, BatchNorm statistics, units removed by norm with the bias, Sequential subclasses
inside other modules, three-layer chains, parameter counts, magnitude then structured pruning,
errors, chain detection, distillation details, and the systems functions on more inputs."""

import numpy as np
import pytest

from tinytorch.core.activations import GELU, ReLU, Softmax
from tinytorch.core.layers import Dropout, Linear, Module, Sequential
from tinytorch.core.losses import CrossEntropyLoss, MSELoss
from tinytorch.core.optimizers import SGD, Adam
from tinytorch.core.spatial import AvgPool2d, BatchNorm2d, Conv2d, Flatten, MaxPool2d
from tinytorch.core.tensor import Tensor
from tinytorch.optimization.compression import (
    apply_masks,
    distillation_loss,
    find_chains,
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
)
from tinytorch.testing import (
    assert_close,
    distillation_reference,
    f64_sequential,
    randomize_f64,
    strict_numerics,
    zero_reported_units,
)

SEED = 11
EXACT_RTOL, EXACT_ATOL = 1e-10, 1e-12


def mlp(seed=SEED, widths=(5, 8, 3), act=ReLU):
    def layers(rng):
        out = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            if i:
                out.append(act())
            out.append(Linear(a, b, rng=rng))
        return out
    return f64_sequential(seed, layers)


def assert_same_outputs(model, twin, x, what):
    assert_close(model(Tensor(x)), twin(Tensor(x)).data, rtol=EXACT_RTOL, atol=EXACT_ATOL, what=what)


class MLPBlock(Sequential):
    """A transformer-style MLP: a Sequential subclass of [Linear, GELU, Linear]."""

    def __init__(self, dim, hidden, rng):
        super().__init__(Linear(dim, hidden, rng=rng), GELU(), Linear(hidden, dim, rng=rng))


class Net(Module):
    def __init__(self, seed):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.embed = Linear(3, 6, rng=rng)
        self.mlp = MLPBlock(6, 10, rng)
        self.head = Linear(6, 2, rng=rng)
        for layer in (self.embed, *self.mlp.layers, self.head):
            randomize_f64(layer, rng)

    def forward(self, x):
        return self.head(self.mlp(self.embed(x)))


# ------------------------------------------------------------------------ sparsity, magnitude pruning


@pytest.mark.points(2)
def test_magnitude_mask_ties_pruned_in_row_major_order():
    w = np.array([[1.0, -1.0, 2.0], [-2.0, 1.0, 0.5]])
    got = magnitude_mask(w, 0.5)                      # |w| order: 0.5 (5), then the three 1s (0, 1, 4)
    want = np.array([[False, False, True], [True, True, False]])
    assert np.array_equal(got, want), f"magnitude_mask({w.tolist()}, 0.5) should be {want.tolist()}; got {got!r}"
    kernel = np.full((2, 2, 3, 3), -0.25)
    got = magnitude_mask(kernel, 0.4)                 # 36 tied entries: the first 14 (14.4) go
    assert np.array_equal(got.ravel(), np.arange(36) >= 14), (
        f"magnitude_mask of a tied (2, 2, 3, 3) kernel at 0.4 should prune its first 14 entries in row-major "
        f"order; got pruned positions {np.flatnonzero(~got.ravel()).tolist()}")


@pytest.mark.points(2)
def test_magnitude_prune_count_rounds_half_up():
    rng = np.random.default_rng(SEED)
    for size, sparsity, zeros in ((5, 0.5, 3), (10, 0.25, 3), (7, 0.5, 4), (8, 0.0, 0), (6, 0.9, 5)):
        w = rng.standard_normal((1, size))
        got = int((~magnitude_mask(w, sparsity)).sum())
        assert got == zeros, (f"magnitude_mask of {size} weights at sparsity {sparsity} should prune "
                              f"{zeros} (rounded half up); got {got}")
    model = Sequential(Linear(1, 5, rng=np.random.default_rng(1)), ReLU(), Linear(5, 2, rng=np.random.default_rng(2)))
    assert magnitude_prune(model, 0.5) == {"layers.0": 3, "layers.2": 5}


@pytest.mark.points(2)
def test_magnitude_prune_conv_kernels_and_nested_modules_separately():
    class Small(Module):
        def __init__(self):
            super().__init__()
            self.conv = Conv2d(2, 4, 3, rng=np.random.default_rng(1))
            self.norm = BatchNorm2d(4)
            self.head = Sequential(Flatten(), Linear(4 * 2 * 2, 3, rng=np.random.default_rng(2)))

        def forward(self, x):
            return self.head(self.norm(self.conv(x)))

    net = Small()
    net.conv.weight.data *= 0.01                      # small kernels: a model-wide threshold would empty them
    old_conv, old_lin = net.conv.weight.data.copy(), net.head.layers[1].weight.data.copy()
    gamma = net.norm.gamma.data.copy()
    report = magnitude_prune(net, 0.7)
    assert report == {"conv": 50, "head.layers.1": 34}, (
        f"magnitude_prune(net, 0.7) on conv (72 weights) and head.layers.1 (48): expected "
        f"{{'conv': 50, 'head.layers.1': 34}}; got {report!r}")
    assert np.array_equal(net.conv.weight_mask, magnitude_mask(old_conv, 0.7))
    assert np.array_equal(net.head.layers[1].weight_mask, magnitude_mask(old_lin, 0.7))
    sparsity = layer_sparsity(net)
    assert_close(np.array([sparsity["conv"], sparsity["head.layers.1"]]), np.array([50 / 72, 34 / 48]),
                 what="layer_sparsity of conv and head.layers.1 after magnitude_prune(0.7)")
    assert np.array_equal(net.norm.gamma.data, gamma), "magnitude_prune must not touch BatchNorm's gamma"


@pytest.mark.points(2)
def test_magnitude_prune_again_raises_the_sparsity_keeping_old_zeros():
    model = mlp(widths=(6, 10, 4))
    magnitude_prune(model, 0.5)
    first_zeros = [model.layers[i].weight.data == 0 for i in (0, 2)]
    magnitude_prune(model, 0.75)
    for i, zeros in zip((0, 2), first_zeros):
        assert np.all(model.layers[i].weight.data[zeros] == 0), (
            f"magnitude_prune(0.5) then (0.75): the zeros of the first call must stay zero in layers.{i}")
        assert np.array_equal(model.layers[i].weight_mask, model.layers[i].weight.data != 0)
    assert_close(measure_sparsity(model), 0.75, what="measure_sparsity after magnitude_prune 0.5 then 0.75")


@pytest.mark.points(2)
def test_apply_masks_after_adam_step_unpruned_model_and_bad_mask():
    model = mlp(widths=(4, 6, 2))
    magnitude_prune(model, 0.5)
    opt = Adam(model.parameters(), lr=0.1)
    for p in model.parameters():
        p.grad = Tensor(np.ones(p.shape))
    opt.step()
    assert apply_masks(model) == 2
    assert_close(measure_sparsity(model), 0.5, what="measure_sparsity after an Adam step then apply_masks")

    plain = mlp(widths=(4, 6, 2))
    before = [p.data.copy() for p in plain.parameters()]
    assert apply_masks(plain) == 0, "apply_masks on a model never pruned should return 0"
    assert all(np.array_equal(p.data, b) for p, b in zip(plain.parameters(), before))

    model.layers[2].weight_mask = np.ones((2, 2), dtype=bool)
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        apply_masks(model)


@pytest.mark.points(3)
def test_fine_tune_matches_a_hand_written_masked_sgd_loop():
    model, twin = mlp(widths=(5, 7, 2)), mlp(widths=(5, 7, 2))
    magnitude_prune(model, 0.6)
    magnitude_prune(twin, 0.6)
    rng = np.random.default_rng(SEED + 1)
    data = [(rng.standard_normal((6, 5)), rng.standard_normal((6, 2))) for _ in range(3)]
    losses = fine_tune(model, SGD(model.parameters(), lr=0.05, momentum=0.9), MSELoss(), data, epochs=2)

    opt, loss_fn, want = SGD(twin.parameters(), lr=0.05, momentum=0.9), MSELoss(), []
    for _ in range(2):
        for x, y in data:
            opt.zero_grad()
            loss = loss_fn(twin(Tensor(x)), y)
            loss.backward()
            opt.step()
            for i in (0, 2):
                layer = twin.layers[i]
                layer.weight.data = np.where(layer.weight_mask, layer.weight.data, 0.0)
            want.append(float(loss.data))
    assert_close(np.array(losses), np.array(want), rtol=1e-10, atol=1e-12,
                 what="fine_tune(..., SGD(lr=0.05, momentum=0.9), epochs=2) losses vs a masked loop")
    for i in (0, 2):
        assert_close(model.layers[i].weight, twin.layers[i].weight.data, rtol=1e-10, atol=1e-12,
                     what=f"layers.{i}.weight after fine_tune vs the masked loop")


@pytest.mark.points(1)
def test_fine_tune_errors_on_bad_epochs_and_empty_batches():
    model = mlp(widths=(5, 4, 2))
    opt = SGD(model.parameters(), lr=0.1)
    data = [(np.ones((2, 5)), np.zeros((2, 2)))]
    for bad in (0, -1, True):
        with pytest.raises(ValueError, match="epochs"):
            fine_tune(model, opt, MSELoss(), data, epochs=bad)
    with pytest.raises(ValueError, match="empty"):
        fine_tune(model, opt, MSELoss(), [], epochs=1)
    with pytest.raises(ValueError, match="empty"):
        fine_tune(model, opt, MSELoss(), iter(data), epochs=2)


@pytest.mark.points(2)
def test_measure_sparsity_ignores_biases_and_batchnorm_in_nested_modules():
    net = Net(SEED)
    net.mlp.layers[0].weight.data[:3] = 0.0           # 30 of 60
    for layer in (net.embed, *net.mlp.layers[::2], net.head):
        layer.bias.data[:] = 0.0
    total = 3 * 6 + 6 * 10 + 10 * 6 + 6 * 2
    assert_close(measure_sparsity(net), 30 / total, what="measure_sparsity of a nested model, zero biases")
    assert list(layer_sparsity(net)) == ["embed", "mlp.layers.0", "mlp.layers.2", "head"], (
        f"layer_sparsity paths of the nested model; got {list(layer_sparsity(net))}")
    with pytest.raises(ValueError, match="no Linear or Conv2d"):
        measure_sparsity(Sequential(BatchNorm2d(3), ReLU()))


# ------------------------------------------------------------------------ structured pruning


@pytest.mark.points(4)
def test_structured_prune_conv_flatten_linear_slices_rows_channel_by_channel():
    def layers(rng):
        return [Conv2d(2, 4, 3, rng=rng), ReLU(), Flatten(), Dropout(0.3), Linear(4 * 3 * 3, 5, rng=rng)]

    model, twin = f64_sequential(SEED, layers), f64_sequential(SEED, layers)
    old_rows = model.layers[4].weight.data.copy()
    report = structured_prune(model, 0.5)
    kept = report["chains"][0]["kept"]
    rows = [c * 9 + k for c in kept for k in range(9)]
    assert model.layers[4].weight.shape == (18, 5) and model.layers[4].in_features == 18, (
        f"Conv2d(2, 4) on 5x5 images feeds 4 x 3x3 = 36 rows of the Linear; keeping 2 channels keeps 18; "
        f"got weight {model.layers[4].weight.shape}, in_features {model.layers[4].in_features}")
    assert_close(model.layers[4].weight, old_rows[rows],
                 what=f"Linear weight after pruning: rows c*9 .. c*9+8 of each kept channel c in {kept}")
    zero_reported_units(twin, report)
    x = np.random.default_rng(SEED).standard_normal((3, 2, 5, 5))
    assert_same_outputs(model, twin, x, "pruned Conv-ReLU-Flatten-Dropout-Linear vs the zeroed model (eval)")


@pytest.mark.points(2)
def test_structured_prune_slices_batchnorm_gamma_beta_and_running_statistics():
    def layers(rng):
        return [Conv2d(3, 6, 3, padding=1, rng=rng), BatchNorm2d(6), ReLU(), AvgPool2d(2),
                Conv2d(6, 4, 1, rng=rng), BatchNorm2d(4), MaxPool2d(2), Conv2d(4, 2, 1, rng=rng)]

    model, twin = f64_sequential(SEED, layers), f64_sequential(SEED, layers)
    bns = {i: [t.data.copy() for t in (model.layers[i].gamma, model.layers[i].beta, model.layers[i].running_mean,
                                        model.layers[i].running_var)] for i in (1, 5)}
    report = structured_prune(model, 0.5)
    assert [c["first"] for c in report["chains"]] == ["layers.0", "layers.4"]
    for chain, i in zip(report["chains"], (1, 5)):
        bn, kept = model.layers[i], chain["kept"]
        for name, old in zip(("gamma", "beta", "running_mean", "running_var"), bns[i]):
            assert_close(getattr(bn, name), old[kept], what=f"layers.{i}.{name} after pruning (kept {kept})")
        assert bn.num_features == len(kept)
    zero_reported_units(twin, report)
    x = np.random.default_rng(SEED + 1).standard_normal((2, 3, 4, 4))
    assert_same_outputs(model, twin, x, "pruned Conv-BN-ReLU-AvgPool-Conv-BN-MaxPool-Conv vs the zeroed model")


@pytest.mark.points(2)
def test_structured_prune_removes_round_half_up_units_and_keeps_one():
    model = mlp(widths=(3, 5, 8, 1, 2))
    report = structured_prune(model, 0.6)
    got = [(c["units_before"], c["units_after"]) for c in report["chains"]]
    assert got == [(5, 2), (8, 3), (1, 1)], (
        f"structured_prune(0.6) on hidden widths 5, 8, 1 should keep 2 (remove 3), 3 (remove 4.8 -> 5) and 1 "
        f"(never the last unit); got {got}")
    shapes = [model.layers[i].weight.shape for i in (0, 2, 4, 6)]
    assert shapes == [(3, 2), (2, 3), (3, 1), (1, 2)], f"weight shapes after pruning; got {shapes}"
    other = mlp(widths=(4, 5, 2))
    structured_prune(other, 0.5)
    assert other.layers[0].weight.shape == (4, 2), (
        f"0.5 of 5 units is 2.5, rounded half up: remove 3, keep 2; got {other.layers[0].weight.shape}")


@pytest.mark.points(2)
def test_structured_prune_removes_the_smallest_norm_units_bias_included():
    model = Sequential(Linear(2, 4), ReLU(), Linear(4, 1))
    model.layers[0].weight.data[:] = [[0.1, 1.0, 0.2, 0.5], [0.1, 1.0, 0.2, 0.5]]
    model.layers[0].bias.data[:] = [5.0, 0.0, 0.0, 0.1]      # norms 5.0, 1.41, 0.28, 0.71
    report = structured_prune(model, 0.5)
    assert report["chains"][0]["kept"] == [0, 1], (
        f"unit norms (column and bias) are [5.0, 1.41, 0.28, 0.71]: keep units [0, 1]; got "
        f"{report['chains'][0]['kept']}")
    assert_close(model.layers[0].bias, np.array([5.0, 0.0]), what="bias of the pruned first Linear")


@pytest.mark.points(2)
def test_structured_prune_sequential_subclass_inside_a_module():
    net, twin = Net(SEED), Net(SEED)
    report = structured_prune(net, 0.5)
    assert [(c["first"], c["second"]) for c in report["chains"]] == [("mlp.layers.0", "mlp.layers.2")], (
        f"the only chain of Net is inside its MLPBlock (a Sequential subclass); got {report['chains']!r}")
    assert net.mlp.layers[0].weight.shape == (6, 5) and net.mlp.layers[2].weight.shape == (5, 6)
    assert net.embed.weight.shape == (3, 6) and net.head.weight.shape == (6, 2), "layers outside chains must stay"
    zero_reported_units(twin, report)
    assert_same_outputs(net, twin, np.random.default_rng(SEED).standard_normal((4, 3)),
                        "pruned Net (embed, MLPBlock, head) vs the zeroed model")


@pytest.mark.points(2)
def test_structured_prune_three_linear_layers_prunes_both_hidden_layers():
    model, twin = mlp(widths=(4, 10, 9, 3), act=GELU), mlp(widths=(4, 10, 9, 3), act=GELU)
    report = structured_prune(model, 0.5)
    assert [(c["first"], c["units_after"]) for c in report["chains"]] == [("layers.0", 5), ("layers.2", 4)]
    assert [model.layers[i].weight.shape for i in (0, 2, 4)] == [(4, 5), (5, 4), (4, 3)]
    zero_reported_units(twin, report)
    assert_same_outputs(model, twin, np.random.default_rng(SEED).standard_normal((5, 4)),
                        "pruned Linear-GELU-Linear-GELU-Linear vs the zeroed model")


@pytest.mark.points(2)
def test_structured_prune_report_parameter_counts():
    def layers(rng):
        return [Conv2d(3, 8, 3, padding=1, rng=rng), BatchNorm2d(8), ReLU(), MaxPool2d(2),
                Flatten(), Linear(8 * 2 * 2, 4, rng=rng)]

    model = f64_sequential(SEED, layers)
    report = structured_prune(model, 0.25)           # 8 -> 6 channels
    before = (8 * 3 * 9 + 8) + 2 * 8 + (32 * 4 + 4)
    after = (6 * 3 * 9 + 6) + 2 * 6 + (24 * 4 + 4)
    assert (report["params_before"], report["params_after"]) == (before, after), (
        f"params_before / params_after for Conv(3, 8)-BN-ReLU-Pool-Flatten-Linear(32, 4) pruned 8 -> 6 "
        f"channels: {before} / {after}; got {report['params_before']} / {report['params_after']}")
    assert sum(p.size for p in model.parameters()) == after


@pytest.mark.points(2)
def test_structured_prune_after_magnitude_prune_slices_the_masks():
    model = mlp(widths=(5, 8, 3))
    magnitude_prune(model, 0.5)
    masks = [model.layers[i].weight_mask.copy() for i in (0, 2)]
    kept = structured_prune(model, 0.5)["chains"][0]["kept"]
    assert np.array_equal(model.layers[0].weight_mask, masks[0][:, kept]), (
        "structured_prune should slice the first layer's weight_mask like its weight (columns)")
    assert np.array_equal(model.layers[2].weight_mask, masks[1][kept]), (
        "structured_prune should slice the second layer's weight_mask like its weight (rows)")
    rng = np.random.default_rng(SEED)
    data = [(rng.standard_normal((4, 5)), rng.standard_normal((4, 3))) for _ in range(2)]
    fine_tune(model, SGD(model.parameters(), lr=0.1), MSELoss(), data, epochs=2)
    for i in (0, 2):
        layer = model.layers[i]
        assert np.all(layer.weight.data[~layer.weight_mask] == 0)


@pytest.mark.points(2)
def test_structured_prune_ratio_zero_changes_nothing_and_bad_ratios():
    model, twin = mlp(widths=(5, 8, 3)), mlp(widths=(5, 8, 3))
    report = structured_prune(model, 0.0)
    assert report["chains"][0]["units_after"] == 8 and model.layers[0].weight.shape == (5, 8)
    assert_same_outputs(model, twin, np.ones((2, 5)), "structured_prune(model, 0.0) must not change the model")
    for bad in (1, 2.0, -0.01, True, "0.5"):
        with pytest.raises(ValueError, match="prune_ratio"):
            structured_prune(mlp(), bad)
    for seq in (Sequential(Linear(4, 4), Softmax(), Linear(4, 2)), Sequential(Conv2d(2, 3, 1), Flatten())):
        with pytest.raises(ValueError, match="nothing to prune"):
            structured_prune(seq, 0.5)


@pytest.mark.points(1)
def test_find_chains_follows_only_per_unit_layers():
    def spans(seq):
        return [(c.start, c.end, c.positions, len(c.norms)) for c in find_chains(seq)]

    assert spans(Sequential(Linear(4, 4), Softmax(), Linear(4, 2))) == []
    assert spans(Sequential(Linear(4, 4), Linear(4, 2))) == [(0, 1, 1, 0)]
    assert spans(Sequential(Linear(4, 4), MaxPool2d(2), Linear(4, 2))) == []
    assert spans(Sequential(Conv2d(2, 3, 1), Flatten(), Conv2d(3, 3, 1))) == []
    assert spans(Sequential(Conv2d(2, 3, 1), MaxPool2d(2), BatchNorm2d(3), ReLU(), Conv2d(3, 3, 1))) == [(0, 4, 1, 1)]
    assert spans(Sequential(Linear(4, 4), Sequential(ReLU(), Linear(4, 2)))) == []
    with pytest.raises(ValueError, match="10"):
        find_chains(Sequential(Conv2d(2, 4, 3), Flatten(), Linear(10, 2)))


# ------------------------------------------------------------------------ distillation


@pytest.mark.points(3)
def test_distillation_loss_alpha_temperature_teacher_constant_and_errors():
    rng = np.random.default_rng(SEED)
    student, teacher, targets = rng.standard_normal((4, 5)), rng.standard_normal((4, 5)), np.array([1, 0, 4, 2])
    s = Tensor(student)
    assert_close(distillation_loss(s, teacher, targets, alpha=0.0), CrossEntropyLoss()(s, targets).data,
                 what="distillation_loss(alpha=0) is the cross-entropy with the targets")
    s = Tensor(student.copy(), requires_grad=True)
    t = Tensor(teacher.copy(), requires_grad=True)
    distillation_loss(s, t, targets, temperature=3.0, alpha=1.0).backward()
    q = np.exp(student / 3.0) / np.exp(student / 3.0).sum(axis=1, keepdims=True)
    p = np.exp(teacher / 3.0) / np.exp(teacher / 3.0).sum(axis=1, keepdims=True)
    assert_close(s.grad, 3.0 * (q - p) / 4, what="gradient of the soft term, alpha=1, T=3: T * (q - p) / N")
    assert t.grad is None, "the teacher is a constant: distillation_loss must not send it a gradient"

    f32 = distillation_loss(Tensor(student.astype(np.float32)), teacher, targets)
    assert f32.dtype == np.float32, f"float32 student logits should give a float32 loss; got {f32.dtype}"
    with strict_numerics():
        big = distillation_loss(Tensor(1000.0 * student), 1000.0 * teacher, targets, temperature=2.0)
    assert_close(big, np.array(distillation_reference(1000.0 * student, 1000.0 * teacher, targets, 2.0, 0.5)),
                 rtol=1e-6, what="distillation_loss with logits of size 1000 (no overflow)")

    with pytest.raises(ValueError, match=r"\(4, 3\)"):
        distillation_loss(Tensor(student), teacher[:, :3], targets)
    with pytest.raises(ValueError, match="temperature"):
        distillation_loss(Tensor(student), teacher, targets, temperature=0.0)
    with pytest.raises(ValueError, match="alpha"):
        distillation_loss(Tensor(student), teacher, targets, alpha=1.5)
    with pytest.raises(TypeError):
        distillation_loss(student, teacher, targets)


# ------------------------------------------------------------------------ systems questions


@pytest.mark.points(2)
def test_systems_questions_more_inputs():
    assert mlp_flops(8, [3, 4, 5]) == 2 * 8 * (12 + 20)
    with pytest.raises(ValueError):
        mlp_flops(1, [5])
    want = (10 * 5 + 5 * 7 + 7 * 2) / (10 * 2 + 2 * 3 + 3 * 2)     # 5 -> 2 (remove 3), 7 -> 3 (remove 4.2 -> 4)
    assert_close(structured_speedup([10, 5, 7, 2], 0.6), want, what="structured_speedup([10, 5, 7, 2], 0.6)")
    assert_close(structured_speedup([10, 4, 2], 0.0), 1.0, what="structured_speedup(..., 0.0)")
    assert sparse_storage_bytes(1000, 0.5, np.float16, np.int16) == 500 * 4
    assert sparse_storage_bytes(10, 0.25) == 7 * 8, "0.25 of 10 is 2.5: 3 removed (half up), 7 kept"
    assert_close(sparse_break_even_sparsity(np.float16, np.int32), 4 / 6, what="break-even float16 + int32")
    assert_close(sparse_break_even_sparsity(np.int8, np.int32), 0.8, what="break-even int8 + int32")
