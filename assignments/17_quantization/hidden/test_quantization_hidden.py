"""Hidden tests for module 17 (quantization): run by the grader only.

Same references as the visible tests (`tinytorch.testing`'s module 17 section): the int8 mapping
one Python number at a time, QuantizedLinear in float64 from its stored levels, worst-case
bounds from half a step of rounding. The timing function is checked with a fake clock.
"""

import numpy as np
import pytest

from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Linear, Module, Sequential
from tinytorch.core.spatial import BatchNorm2d
from tinytorch.core.tensor import Tensor
from tinytorch.models.transformer import GPT
import tinytorch.optimization.quantization as qz
from tinytorch.optimization.quantization import (
    QuantizedLinear,
    calibrate,
    compute_qparams,
    dequantize_int8,
    gpt_size_bytes,
    int8_matmul,
    int8_matmul_time_ratio,
    model_size_bytes,
    quantize_affine,
    quantize_int8,
    quantize_model,
)
from tinytorch.testing import (
    assert_close,
    gpt_linear_paths,
    instances_of,
    module_at,
    qparams_reference,
    quantize_reference,
    quantized_linear_reference,
    spy,
)

SEED = 17
REF_RTOL, REF_ATOL = 1e-4, 1e-5
SLACK = 1e-6
STATIC_GPT_RTOL = 0.05      # calibrated GPT logits on the calibration batches: max error / max |logit|
QPARAM_BYTES = 16           # a float64 scale and an int64 zero point


def linear(in_features, out_features, seed=SEED, bias=True, dtype=np.float32):
    layer = Linear(in_features, out_features, bias=bias, rng=np.random.default_rng(seed))
    layer.weight.data = layer.weight.data.astype(dtype)
    if bias:
        layer.bias.data = (0.3 * np.random.default_rng(seed + 1).standard_normal(out_features)).astype(dtype)
    return layer


# ------------------------------------------------------------------------ the int8 mapping


@pytest.mark.points(3)
def test_compute_qparams_on_many_ranges_and_argument_errors():
    rng = np.random.default_rng(SEED)
    ranges = [(-1e-30, 3e-30), (0.0, 1e6), (-7, 2), (np.float32(-0.25), np.float32(0.75)), (5.0, 5.0), (-3.0, -3.0)]
    ranges += [tuple(sorted(rng.standard_normal(2) * 10 ** rng.uniform(-3, 3))) for _ in range(30)]
    for low, high in ranges:
        scale, zero_point = compute_qparams(low, high)
        want_scale, want_zero = qparams_reference(low, high)
        assert isinstance(scale, float) and isinstance(zero_point, int), (
            f"compute_qparams({low!r}, {high!r}) should return a Python float and int; got "
            f"{type(scale).__name__}, {type(zero_point).__name__}")
        assert_close(scale, want_scale, what=f"scale of compute_qparams({low!r}, {high!r})", rtol=1e-12, atol=0)
        assert zero_point == want_zero, f"zero_point of compute_qparams({low!r}, {high!r}) should be {want_zero}; got {zero_point}"
    for low, high in ((1.0, 0.0), (np.nan, 1.0), (0.0, np.inf), (True, 2.0), ("0", 1.0)):
        with pytest.raises(ValueError, match="compute_qparams"):
            compute_qparams(low, high)


@pytest.mark.points(3)
def test_quantize_affine_rounds_half_to_even_and_clips_instead_of_wrapping():
    got = quantize_affine(np.array([0.5, 1.5, 2.5, -0.5, -1.5, 126.6, 127.5, 128.0, 1e9, -1e9, -128.4]), 1.0, 0)
    want = np.array([0, 2, 2, 0, -2, 127, 127, 127, 127, -128, -128], dtype=np.int8)
    assert isinstance(got, np.ndarray) and got.dtype == np.int8, f"quantize_affine should return int8; got {getattr(got, 'dtype', type(got))}"
    assert np.array_equal(got, want), (
        f"quantize_affine(..., scale 1, zero_point 0): halves round to even, values beyond [-128, 127] clip to the "
        f"nearest end\nexpected {want.tolist()}\ngot      {got.tolist()}")
    shifted = quantize_affine(Tensor([[0.0, 0.3, -0.3]]), 0.1, 100)
    assert np.array_equal(shifted, np.array([[100, 103, 97]], dtype=np.int8)), (
        f"quantize_affine(Tensor([[0, 0.3, -0.3]]), 0.1, 100) should be [[100, 103, 97]]; got {shifted}")
    for kwargs in (dict(scale=0.0, zero_point=0), dict(scale=-1.0, zero_point=0), dict(scale=np.nan, zero_point=0),
                   dict(scale=1.0, zero_point=200), dict(scale=1.0, zero_point=True), dict(scale=1.0, zero_point=0.5)):
        with pytest.raises(ValueError, match="quantize_affine"):
            quantize_affine(np.ones(3), **kwargs)
    with pytest.raises(ValueError, match="nan"):
        quantize_affine(np.array([1.0, np.nan]), 0.1, 0)


@pytest.mark.points(2)
def test_quantize_int8_accepts_float64_int_arrays_tensors_and_any_shape():
    rng = np.random.default_rng(SEED + 1)
    for x in (rng.standard_normal((2, 3, 4)), rng.integers(-50, 300, size=(7,)), Tensor(rng.standard_normal((3, 1))),
              np.array(2.5), [[0.25, -1.0], [4.0, 0.0]]):
        values = np.asarray(x.data if isinstance(x, Tensor) else x, dtype=np.float64)
        q, scale, zero_point = quantize_int8(x)
        want_scale, want_zero = qparams_reference(values.min(), values.max())
        assert q.dtype == np.int8 and q.shape == values.shape, (
            f"quantize_int8 of a {values.shape} {type(x).__name__}: q should be int8 of that shape; got {q.dtype} {q.shape}")
        assert_close(scale, want_scale, what=f"scale of quantize_int8 on shape {values.shape}", rtol=1e-12, atol=0)
        assert zero_point == want_zero and np.array_equal(q, quantize_reference(values, want_scale, want_zero)), (
            f"quantize_int8 of a {values.shape} {type(x).__name__}: levels or zero point differ from the reference")
    with pytest.raises(ValueError, match="empty"):
        quantize_int8(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="nan|inf"):
        quantize_int8(Tensor([1.0, np.inf]))
    with pytest.raises(TypeError, match="quantize_int8"):
        quantize_int8(np.array(["a", "b"]))


@pytest.mark.points(2)
def test_round_trip_bound_on_skewed_ranges_outliers_and_tiny_values():
    rng = np.random.default_rng(SEED + 2)
    tensors = [rng.exponential(1.0, size=200),                             # skewed, positive
               np.concatenate([rng.standard_normal(100) * 0.01, [25.0]]),  # one outlier sets the scale
               rng.standard_normal(60) * 1e-30,                            # tiny values
               np.array([-99.5, 155.5, 155.49, -99.49, 0.0]),              # rounds past 127 without clipping
               rng.uniform(-3.0, -1.0, size=(4, 5))]                       # negative only
    for x in tensors:
        q, scale, zero_point = quantize_int8(x)
        back = dequantize_int8(q, scale, zero_point).astype(np.float64)
        err = np.abs(back - x)
        bound = scale / 2 + SLACK * np.abs(x).max()
        assert err.max() <= bound, (
            f"round trip of values in [{x.min():.3g}, {x.max():.3g}] (scale {scale:.4g}): the error should be at most "
            f"scale / 2 = {scale / 2:.4g}; got {err.max():.4g}")


# ------------------------------------------------------------------------ the integer matmul


@pytest.mark.points(2)
def test_int8_matmul_extreme_levels_vector_input_and_zero_points():
    rng = np.random.default_rng(SEED + 3)
    a = rng.integers(-128, 128, size=(64,)).astype(np.int8)
    b = rng.integers(-128, 128, size=(64, 9)).astype(np.int8)
    for za, zb in ((0, 0), (-128, 127), (127, -128), (5, -9)):
        got = int8_matmul(a, za, b, zb)
        want = (a.astype(np.float64) - za) @ (b.astype(np.float64) - zb)
        assert got.dtype == np.int32 and got.shape == (9,), f"int8_matmul of (64,) @ (64, 9) should be int32 (9,); got {got.dtype} {got.shape}"
        assert np.array_equal(got.astype(np.float64), want), f"int8_matmul(a (64,), {za}, b (64, 9), {zb}) differs from float64 (a - za) @ (b - zb)"
    n = qz.MAX_ACC_TERMS
    full = int8_matmul(np.full((1, n), 127, dtype=np.int8), -128, np.full((n, 1), 127, dtype=np.int8), -128)
    assert int(full[0, 0]) == n * 255 * 255, (
        f"int8_matmul with K = MAX_ACC_TERMS = {n} extreme terms should still be exact in int32: {n * 255 * 255}; got {int(full[0, 0])}")


@pytest.mark.points(2)
def test_int8_matmul_refuses_other_dtypes_shapes_and_overflowing_k():
    a = np.zeros((2, 3), dtype=np.int8)
    for bad in (a.astype(np.float32), a.astype(np.int16), a.tolist()):
        with pytest.raises(TypeError, match="int8"):
            int8_matmul(bad, 0, np.zeros((3, 2), dtype=np.int8), 0)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 2\)"):
        int8_matmul(a, 0, np.zeros((4, 2), dtype=np.int8), 0)
    k = qz.MAX_ACC_TERMS + 1
    with pytest.raises(ValueError, match=str(k)):
        int8_matmul(np.zeros((1, k), dtype=np.int8), 0, np.zeros((k, 1), dtype=np.int8), 0)


# ------------------------------------------------------------------------ QuantizedLinear


@pytest.mark.points(3)
def test_quantized_linear_from_float64_linear_without_bias_on_3d_input():
    lin = linear(10, 4, seed=SEED + 4, bias=False, dtype=np.float64)
    layer = QuantizedLinear(lin)
    assert layer.bias is None and layer.in_features == 10 and layer.out_features == 4, (
        f"QuantizedLinear(Linear(10, 4, bias=False)): bias None, in_features 10, out_features 4; got "
        f"{layer.bias!r}, {layer.in_features}, {layer.out_features}")
    x = np.random.default_rng(SEED + 5).standard_normal((2, 3, 10))
    y = layer(x)
    assert isinstance(y, Tensor) and y.shape == (2, 3, 4) and y.dtype == np.float32, (
        f"QuantizedLinear on a float64 (2, 3, 10) array should return a float32 Tensor (2, 3, 4); got "
        f"{type(y).__name__} {getattr(y, 'shape', '')} {getattr(y, 'dtype', '')}")
    assert_close(y, quantized_linear_reference(layer, x), rtol=REF_RTOL, atol=REF_ATOL,
                 what="weight-only QuantizedLinear without bias on (2, 3, 10)")
    err = np.abs(y.data - lin(Tensor(x)).data)
    bound = float(layer.weight_scale) / 2 * np.abs(x).sum(axis=-1, keepdims=True) + SLACK
    assert np.all(err <= bound), "weight-only QuantizedLinear: error above scale_w / 2 * sum |x_i| on a 3-D input"
    with pytest.raises(ValueError, match="in_features"):
        layer(np.ones(3))


@pytest.mark.points(2)
def test_quantized_linear_copies_the_bias_and_is_inference_only():
    lin = linear(5, 3, seed=SEED + 6)
    layer = QuantizedLinear(lin)
    x = Tensor(np.random.default_rng(SEED + 7).standard_normal((4, 5)), requires_grad=True)
    before = layer(x).data.copy()
    lin.weight.data[:] = 0.0
    lin.bias.data[:] = 100.0
    after = layer(x)
    assert np.array_equal(after.data, before), (
        "changing the Linear after QuantizedLinear(linear) must not change the quantized layer: keep copies")
    assert after.requires_grad is False and layer.parameters() == [], (
        "QuantizedLinear is inference only: its output should not require grad (even for an input that does) "
        "and parameters() should be empty")
    assert "weight_only" in repr(layer), f"repr(QuantizedLinear) should name its mode; got {layer!r}"


@pytest.mark.points(3)
def test_static_forward_clips_inputs_beyond_the_calibrated_range():
    model = Sequential(linear(6, 4, seed=SEED + 8))
    quantize_model(model)
    calibrate(model, [np.linspace(-0.5, 1.0, 12).reshape(2, 6)])
    layer = model.layers[0]
    x = np.array([[-3.0, -0.5, 0.0, 0.4, 1.0, 5.0], [2.0, 1.2, -0.7, 0.1, -0.2, 0.9]], dtype=np.float32)
    y = layer(Tensor(x))
    assert_close(y, quantized_linear_reference(layer, x), rtol=REF_RTOL, atol=REF_ATOL,
                 what="static QuantizedLinear on inputs outside its calibrated range [-0.5, 1.0] (they clip to the ends)")
    inside = np.clip(x, -0.5, 1.0)
    assert_close(y, layer(Tensor(inside)), what="static QuantizedLinear(x) and (x clipped to the calibrated range)",
                 rtol=0, atol=0)


@pytest.mark.points(3)
def test_static_forward_against_the_float_layer_with_the_rounding_bound():
    lin = linear(16, 5, seed=SEED + 9)
    model = Sequential(lin)
    xs = [np.random.default_rng(SEED + 10 + i).uniform(-2.0, 3.0, size=(6, 16)).astype(np.float32) for i in range(3)]
    float_out = [lin(Tensor(x)).data.astype(np.float64) for x in xs]
    quantize_model(model)
    calibrate(model, xs)
    layer = model.layers[0]
    w = np.abs((layer.qweight.astype(np.float64) - int(layer.weight_zero_point)) * float(layer.weight_scale))
    for x, y_float in zip(xs, float_out):
        y = layer(Tensor(x)).data
        assert_close(y, quantized_linear_reference(layer, x), rtol=REF_RTOL, atol=REF_ATOL,
                     what="static QuantizedLinear(Linear(16, 5)) against its float64 reference")
        bound = (float(layer.input_scale) / 2 * w.sum(axis=0)
                 + float(layer.weight_scale) / 2 * np.abs(x).sum(axis=1, keepdims=True) + SLACK)
        err = np.abs(y - y_float)
        assert np.all(err <= bound), (
            f"static QuantizedLinear vs the float Linear: error should be at most scale_x / 2 * sum |w| + scale_w / 2 * "
            f"sum |x|; worst excess {float((err - bound).max()):.3g}")


# ------------------------------------------------------------------------ calibrate


class Twin(Module):
    """Two Linears used one after the other, and one stored but never used by forward."""

    def __init__(self, seed):
        super().__init__()
        self.first = linear(3, 4, seed=seed)
        self.second = linear(4, 2, seed=seed + 1)
        self.spare = linear(2, 2, seed=seed + 2)

    def forward(self, x):
        return self.second(self.first(x))


@pytest.mark.points(3)
def test_calibrate_takes_tuples_and_generators_and_starts_over_when_called_again():
    model = Sequential(linear(3, 5, seed=SEED + 11), ReLU(), linear(5, 2, seed=SEED + 12))
    quantize_model(model)
    wide = [(np.full((2, 3), -4.0), np.zeros(2)), (np.full((2, 3), 6.0), np.zeros(2))]
    ranges = calibrate(model, (batch for batch in wide))
    assert_close(np.array(ranges["layers.0"]), np.array([-4.0, 6.0]),
                 what="calibrate with (inputs, targets) tuples from a generator: range of layers.0")
    narrow = calibrate(model, [np.full((1, 3), 0.5), np.zeros((0, 3)), np.full((1, 3), -0.25)])
    assert_close(np.array(narrow["layers.0"]), np.array([-0.25, 0.5]),
                 what="a second calibrate must start over (not keep the range of the first; an empty batch changes nothing)")
    layer = model.layers[0]
    assert_close(float(layer.input_scale), compute_qparams(-0.25, 0.5)[0], what="input_scale after recalibration")
    assert not layer.observing and not model.layers[2].observing, "observing should be False after calibrate"
    before = layer.input_scale
    layer(Tensor(np.full((1, 3), 50.0)))
    assert layer.input_scale == before and layer.input_max == 0.5, (
        "a forward after calibrate must not change the calibrated range (observing is off)")
    second = model.layers[2]
    hidden = np.maximum(0.0, quantized_linear_reference(layer, np.full((1, 3), -0.25)))
    assert second.input_max >= float(hidden.max()) - 1e-6, "layers.2 should have observed the outputs of layers.0 after ReLU"


@pytest.mark.points(2)
def test_calibrate_refuses_no_layers_no_batches_and_unreached_layers():
    with pytest.raises(ValueError, match="quantize_model"):
        calibrate(Sequential(ReLU()), [np.ones((1, 2))])
    model = Sequential(linear(3, 2, seed=SEED + 13))
    quantize_model(model)
    with pytest.raises(ValueError, match="batch"):
        calibrate(model, [])
    twin = Twin(SEED + 14)
    quantize_model(twin)
    with pytest.raises(ValueError, match="no input"):
        calibrate(twin, [np.ones((2, 3))])
    with pytest.raises(ValueError):
        calibrate(model, [np.ones((2, 5))])                   # the forward itself fails
    assert not model.layers[0].observing, "observing must be switched off even when a batch fails"


@pytest.mark.points(3)
def test_calibrated_gpt_is_static_everywhere_and_its_logits_stay_close():
    model = GPT(20, 16, 2, 2, 12, rng=np.random.default_rng(SEED))
    batches = [np.random.default_rng(SEED + i).integers(0, 20, size=(2, 12)) for i in range(3)]
    float_logits = [model(ids).data.astype(np.float64) for ids in batches]
    quantize_model(model)
    ranges = calibrate(model, batches)
    assert sorted(ranges) == sorted(gpt_linear_paths(2)), f"calibrate(GPT) should report every Linear's path; got {sorted(ranges)}"
    modes = {path: module_at(model, path).mode for path in gpt_linear_paths(2)}
    assert set(modes.values()) == {"static"}, f"every QuantizedLinear of the calibrated GPT should be static; got {modes}"
    for ids, want in zip(batches, float_logits):
        got = model(ids).data.astype(np.float64)
        rel = float(np.abs(got - want).max() / np.abs(want).max())
        assert rel <= STATIC_GPT_RTOL, (
            f"statically quantized GPT logits on a calibration batch should stay within {STATIC_GPT_RTOL} of the float "
            f"ones (max error / max |logit|); got {rel:.4f}")


# ------------------------------------------------------------------------ quantize_model


class Holder(Module):
    """Linears in an attribute, in a tuple, in a Sequential inside a Sequential, and one shared."""

    def __init__(self, seed):
        super().__init__()
        shared = linear(4, 4, seed=seed)
        self.direct = linear(4, 4, seed=seed + 1)
        self.pair = (linear(4, 4, seed=seed + 2), ReLU())
        self.stack = Sequential(Sequential(shared, ReLU()), shared)
        self.norm = BatchNorm2d(3)

    def forward(self, x):
        return self.stack(self.pair[1](self.pair[0](self.direct(x))))


@pytest.mark.points(3)
def test_quantize_model_finds_attributes_tuples_nested_sequentials_and_shared_layers():
    model = Holder(SEED + 20)
    x = np.random.default_rng(SEED + 21).standard_normal((3, 4)).astype(np.float32)
    want = model(Tensor(x)).data
    report = quantize_model(model)
    assert sorted(report["paths"]) == sorted(["direct", "pair.0", "stack.layers.0.layers.0", "stack.layers.1"]), (
        f"quantize_model should replace the Linears at direct, pair.0, stack.layers.0.layers.0 and stack.layers.1; "
        f"the report lists {report['paths']}")
    assert report["layers"] == 3, f"one Linear is shared by two places: 3 distinct layers; the report says {report['layers']}"
    assert isinstance(model.pair, tuple) and isinstance(model.pair[0], QuantizedLinear), (
        f"a Linear inside a tuple attribute should be replaced (the tuple rebuilt); got {model.pair!r}")
    first, second = model.stack.layers[0].layers[0], model.stack.layers[1]
    assert isinstance(first, QuantizedLinear) and first is second, (
        "a Linear used in two places should become ONE QuantizedLinear, put in both places")
    assert not instances_of(model, Linear), "no Linear should remain after quantize_model"
    assert isinstance(model.norm, BatchNorm2d), "quantize_model replaces Linear layers only"
    assert np.abs(model(Tensor(x)).data - want).max() <= 0.05 * np.abs(want).max(), "the quantized model's output drifted"


@pytest.mark.points(2)
def test_quantize_model_refuses_a_bare_linear_a_quantized_model_and_non_modules():
    with pytest.raises(ValueError, match="QuantizedLinear"):
        quantize_model(linear(3, 3))
    model = Sequential(linear(3, 3), ReLU())
    quantize_model(model)
    with pytest.raises(ValueError, match="Sequential.*no Linear|no Linear.*Sequential"):
        quantize_model(model)
    with pytest.raises(TypeError, match="Module"):
        quantize_model([linear(2, 2)])


# ------------------------------------------------------------------------ sizes


@pytest.mark.points(2)
def test_model_size_bytes_counts_dtypes_buffers_scalars_and_shared_tensors_once():
    assert model_size_bytes(linear(6, 5, dtype=np.float64)) == 8 * (30 + 5), "a float64 Linear(6, 5) stores 8 x 35 bytes"
    assert model_size_bytes(BatchNorm2d(4)) == 4 * 4 * 4, (
        f"BatchNorm2d(4): gamma, beta and the running mean and variance (buffers, no grad) are 4 x 4 float32 each; "
        f"got {model_size_bytes(BatchNorm2d(4))}")
    shared = linear(3, 3)
    assert model_size_bytes(Sequential(shared, ReLU(), shared)) == 4 * 12, "a layer used twice is stored once"
    tied = linear(3, 3, seed=SEED + 1)
    tied.weight = shared.weight
    assert model_size_bytes(Sequential(shared, tied)) == 4 * (9 + 3 + 3), (
        f"two Linears sharing one weight Tensor (weight tying) store it once: 4 x (9 + 3 + 3) bytes; got "
        f"{model_size_bytes(Sequential(shared, tied))}")
    holder = Sequential(shared)
    holder.tables = [Tensor(np.zeros((2, 5), dtype=np.float32)), (np.zeros(7, dtype=np.int8), np.float64(1.0))]
    assert model_size_bytes(holder) == 4 * 12 + 2 * 5 * 4 + 7 + 8, (
        f"arrays, Tensors and NumPy scalars inside list and tuple attributes count too: {4 * 12 + 40 + 7 + 8} bytes; "
        f"got {model_size_bytes(holder)}")
    layer = QuantizedLinear(linear(8, 3))
    assert model_size_bytes(layer) == 24 + QPARAM_BYTES + 4 * 3, (
        f"QuantizedLinear(Linear(8, 3)): 24 int8 levels + scale (8) + zero point (8) + 3 float32 biases = "
        f"{24 + QPARAM_BYTES + 12}; got {model_size_bytes(layer)}")
    model = Sequential(layer)
    calibrate(model, [np.ones((1, 8))])
    assert model_size_bytes(model) == 24 + 2 * QPARAM_BYTES + 4 * 3, (
        f"a calibrated QuantizedLinear also stores its input scale and zero point (16 bytes); got {model_size_bytes(model)}")


@pytest.mark.points(2)
def test_gpt_size_bytes_matches_real_models_in_more_configurations():
    for vocab, dim, layers, heads, seq, ratio in ((11, 8, 1, 2, 5, 4), (30, 12, 3, 3, 7, 2), (7, 4, 2, 1, 3, 1)):
        model = GPT(vocab, dim, layers, heads, seq, mlp_ratio=ratio, rng=np.random.default_rng(SEED))
        config = dict(vocab_size=vocab, embed_dim=dim, num_layers=layers, max_seq_len=seq, mlp_ratio=ratio)
        assert gpt_size_bytes(**config) == model_size_bytes(model), (
            f"gpt_size_bytes({config}) should be {model_size_bytes(model)}; got {gpt_size_bytes(**config)}")
        quantize_model(model)
        assert gpt_size_bytes(**config, quantized=True) == model_size_bytes(model), (
            f"gpt_size_bytes({config}, quantized=True) should be {model_size_bytes(model)}; got "
            f"{gpt_size_bytes(**config, quantized=True)}")


# ------------------------------------------------------------------------ timing


@pytest.mark.points(2)
def test_int8_matmul_time_ratio_is_int8_time_over_float32_time(monkeypatch):
    calls, repeats_seen = [], []
    spy(monkeypatch, qz, "int8_matmul", calls)

    def fake_best_time(fn, repeats):
        before = len(calls)
        fn()
        repeats_seen.append(repeats)
        return 3.0 if len(calls) > before else 0.5

    monkeypatch.setattr(qz, "_best_time", fake_best_time)
    got = int8_matmul_time_ratio(n=6, repeats=2)
    assert_close(got, 6.0, what="int8_matmul_time_ratio with _best_time giving 3 s for int8_matmul and 0.5 s for "
                                "the float32 product (3 / 0.5)")
    assert len(calls) == 1 and calls[0][1][0].shape == (6, 6) and calls[0][1][0].dtype == np.int8, (
        f"int8_matmul_time_ratio(n=6) should time int8_matmul once on (6, 6) int8 matrices; got "
        f"{[(c[1][0].shape, c[1][0].dtype) for c in calls]}")
    assert repeats_seen == [2, 2], f"int8_matmul_time_ratio(repeats=2) should pass repeats=2 to both _best_time calls; got {repeats_seen}"
    monkeypatch.undo()
    real = int8_matmul_time_ratio(n=8, repeats=1)
    assert isinstance(real, float) and real > 0, f"int8_matmul_time_ratio(8, 1) should be a positive float; got {real!r}"
    for kwargs in (dict(n=0), dict(repeats=0), dict(n=True), dict(n=2.0)):
        with pytest.raises(ValueError, match="int8_matmul_time_ratio"):
            int8_matmul_time_ratio(**kwargs)

