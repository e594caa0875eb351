"""Visible tests for module 17 (quantization). Run them with `make test M=17`.

The int8 mapping is checked against `tinytorch.testing.quantize_reference`, which quantizes one
Python number at a time (Python's round also rounds halves to even). A QuantizedLinear is checked
two ways: against `quantized_linear_reference` (float64, from the levels the layer stores), and
against the float layer with the worst-case bound that half a step of rounding allows:

    weight-only against the float Linear   |y_q - y| <= (scale_w / 2) * sum_i |x_i|   per output
    static against weight-only             |y_s - y_q| <= (scale_x / 2) * sum_i |w_ij|
                                           (inputs inside the calibrated range; w dequantized)

A quantized GPT is compared with the float one by the relative error of its logits,
max |logits_q - logits| / max |logits|: at most GPT_RTOL (measured: about 0.006 weight-only).
"""

import numpy as np
import pytest

from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Linear, Sequential
from tinytorch.core.tensor import Tensor
from tinytorch.models.transformer import GPT, gpt_param_count
from tinytorch.optimization.quantization import (
    QuantizedLinear,
    calibrate,
    compute_qparams,
    dequantize_int8,
    gpt_size_bytes,
    int8_matmul,
    int8_max_error,
    model_size_bytes,
    quantize_int8,
    quantize_model,
)
from tinytorch.testing import (
    assert_close,
    gpt_linear_paths,
    instances_of,
    module_at,
    quantize_reference,
    quantized_linear_reference,
    strict_numerics,
)

SEED = 0
REF_RTOL, REF_ATOL = 1e-4, 1e-5     # float32 outputs against the float64 reference of the same levels
SLACK = 1e-6                        # float32 rounding allowed on top of a worst-case bound
GPT_RTOL = 0.02                     # quantized GPT logits: max error / max |logit|, weight-only
GPT_CONFIG = dict(vocab_size=20, embed_dim=16, num_layers=2, num_heads=2, max_seq_len=12)


def tiny_gpt(seed=SEED):
    return GPT(**GPT_CONFIG, rng=np.random.default_rng(seed))


def token_batch(seed, batch=3, t=12):
    return np.random.default_rng(seed).integers(0, GPT_CONFIG["vocab_size"], size=(batch, t))


def linear(in_features, out_features, seed=SEED, bias=True):
    layer = Linear(in_features, out_features, bias=bias, rng=np.random.default_rng(seed))
    if bias:
        layer.bias.data = (0.3 * np.random.default_rng(seed + 1).standard_normal(out_features)).astype(np.float32)
    return layer


def round_trip_error(x):
    q, scale, zero_point = quantize_int8(x)
    return np.abs(dequantize_int8(q, scale, zero_point).astype(np.float64) - np.asarray(x, dtype=np.float64)), scale


# ------------------------------------------------------------------------ the int8 mapping


@pytest.mark.points(3)
def test_compute_qparams_widens_the_range_to_contain_zero():
    cases = [((-1.0, 3.0), (4 / 255, -64)),      # 0 is 63.75 steps above -1: level -128 + 64
             ((2.0, 5.0), (5 / 255, -128)),       # widened to [0, 5]: 0 is the lowest level
             ((-6.0, -2.0), (6 / 255, 127)),      # widened to [-6, 0]: 0 is the highest level
             ((-0.2, 0.8), (1 / 255, -77))]       # 0.2 / (1/255) = 51 steps above -128
    for (low, high), (scale, zero_point) in cases:
        got = compute_qparams(low, high)
        assert isinstance(got, tuple) and len(got) == 2, f"compute_qparams({low}, {high}) should return (scale, zero_point); got {got!r}"
        assert isinstance(got[0], float) and isinstance(got[1], int) and not isinstance(got[1], bool), (
            f"compute_qparams({low}, {high}) should return a Python float and a Python int; got types "
            f"{type(got[0]).__name__}, {type(got[1]).__name__}")
        assert_close(got[0], scale, what=f"scale of compute_qparams({low}, {high})", rtol=1e-12, atol=0)
        assert got[1] == zero_point, f"zero_point of compute_qparams({low}, {high}) should be {zero_point}; got {got[1]}"


@pytest.mark.points(2)
def test_quantize_int8_gives_the_int8_levels_of_the_reference():
    rng = np.random.default_rng(SEED)
    for x in (rng.standard_normal((5, 7)).astype(np.float32),             # both signs
              rng.uniform(2.0, 5.0, size=(4, 6)).astype(np.float32),     # positive only
              -rng.uniform(0.5, 3.0, size=(9,)).astype(np.float32)):     # negative only
        q, scale, zero_point = quantize_int8(Tensor(x))
        low, high = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
        what = f"quantize_int8 of a {x.shape} tensor in [{x.min():.3f}, {x.max():.3f}]"
        assert isinstance(q, np.ndarray) and q.dtype == np.int8 and q.shape == x.shape, (
            f"{what}: q should be an int8 NumPy array of shape {x.shape}; got {type(q).__name__} "
            f"{getattr(q, 'dtype', '')} {getattr(q, 'shape', '')}")
        assert isinstance(scale, float) and isinstance(zero_point, int), (
            f"{what}: scale should be a Python float and zero_point a Python int; got {type(scale).__name__}, "
            f"{type(zero_point).__name__}")
        assert_close(scale, (high - low) / 255, what=f"{what}: scale (range widened to contain 0) / 255",
                     rtol=1e-12, atol=0)
        assert -128 <= zero_point <= 127, f"{what}: zero_point {zero_point} is not in [-128, 127]"
        want = quantize_reference(x, scale, zero_point)
        assert np.array_equal(q, want), (
            f"{what}: levels differ from round(x / scale) + zero_point clipped to [-128, 127] at "
            f"{int(np.sum(q != want))} places\nexpected:\n{want}\ngot:\n{q}")


@pytest.mark.points(2)
def test_zero_is_stored_exactly():
    rng = np.random.default_rng(1)
    for low, high in ((-1.3, 2.9), (0.4, 3.0), (-5.0, -0.7)):
        x = rng.uniform(low, high, size=(6, 5)).astype(np.float32)
        x[::2, 1::2] = 0.0
        q, scale, zero_point = quantize_int8(x)
        zeros = x == 0
        assert np.all(q[zeros] == zero_point), (
            f"quantize_int8 of values in [{low}, {high}] with zeros: every 0 should be stored as the zero point "
            f"{zero_point}; got levels {np.unique(q[zeros]).tolist()}")
        back = dequantize_int8(q, scale, zero_point)
        assert np.all(back[zeros] == 0.0), (
            f"dequantize_int8(quantize_int8(x)) for x in [{low}, {high}]: zeros should come back as exactly 0.0; "
            f"got {np.unique(back[zeros]).tolist()}")


@pytest.mark.points(3)
def test_round_trip_error_is_at_most_half_a_step():
    rng = np.random.default_rng(2)
    tensors = [rng.standard_normal((8, 8)).astype(np.float32),
               rng.uniform(1.0, 4.0, size=(50,)).astype(np.float32),
               (rng.standard_normal(40) * 3 - 10).astype(np.float32),
               # range [-99.5, 155.5]: scale 1, zero_point round(-28.5) = -28; 155.5 rounds to level 128,
               # beyond int8: it must be clipped to 127 (error 0.5), not wrapped around to -128
               np.array([-99.5, -20.25, 0.0, 3.7, 154.2, 155.5], dtype=np.float32)]
    for x in tensors:
        err, scale = round_trip_error(x)
        bound = scale / 2 + SLACK * np.abs(x).max()
        worst = int(np.argmax(err))
        assert err.max() <= bound, (
            f"dequantize_int8(*quantize_int8(x)) for x in [{x.min():.3f}, {x.max():.3f}] (scale {scale:.5g}): "
            f"the error should be at most scale / 2 = {scale / 2:.5g}; got {err.max():.5g} at x = {x.reshape(-1)[worst]!r}")


@pytest.mark.points(2)
def test_constant_and_all_zero_tensors_round_trip_exactly():
    with strict_numerics():
        q, scale, zero_point = quantize_int8(np.zeros((3, 4), dtype=np.float32))
        assert np.isfinite(scale) and scale > 0, (
            f"quantize_int8 of an all-zero tensor (range [0, 0]) should pick a finite positive scale; got {scale!r}")
        assert np.all(dequantize_int8(q, scale, zero_point) == 0.0), "an all-zero tensor should come back as zeros"
        for value in (3.0, -2.5, 0.001):
            x = np.full((2, 3), value, dtype=np.float32)
            q, scale, zero_point = quantize_int8(x)
            back = dequantize_int8(q, scale, zero_point)
            assert np.array_equal(back, x), (
                f"a constant tensor of {value} should round-trip exactly (it is an end of its range [0, {value}] "
                f"or [{value}, 0]); got {back.reshape(-1)[:3]}")


@pytest.mark.points(2)
def test_dequantize_int8_is_scale_times_level_minus_zero_point():
    q = np.array([[-128, -77], [25, 127]], dtype=np.int8)
    got = dequantize_int8(q, 2.5 / 255, -77)
    assert isinstance(got, np.ndarray) and got.dtype == np.float32, (
        f"dequantize_int8 should return a float32 array; got {type(got).__name__} {getattr(got, 'dtype', '')}")
    assert_close(got, (q.astype(np.float64) + 77) * (2.5 / 255), what="dequantize_int8(q, 2.5 / 255, -77)")
    with pytest.raises(TypeError, match="int8"):
        dequantize_int8(q.astype(np.int64), 0.1, 0)


# ------------------------------------------------------------------------ the integer matmul


@pytest.mark.points(3)
def test_int8_matmul_sums_exactly_in_int32():
    rng = np.random.default_rng(3)
    a = rng.integers(-128, 128, size=(2, 3, 40)).astype(np.int8)
    b = rng.integers(-128, 128, size=(40, 5)).astype(np.int8)
    got = int8_matmul(a, -3, b, 7)
    want = (a.astype(np.float64) + 3) @ (b.astype(np.float64) - 7)
    assert isinstance(got, np.ndarray) and got.dtype == np.int32, (
        f"int8_matmul should return an int32 array; got {type(got).__name__} {getattr(got, 'dtype', '')}")
    assert_close(got, want, what="int8_matmul(a (2, 3, 40), -3, b (40, 5), 7) against float64 (a + 3) @ (b - 7)",
                 rtol=0, atol=0)
    top = int8_matmul(np.full((1, 300), 127, dtype=np.int8), -128, np.full((300, 1), -128, dtype=np.int8), 127)
    assert int(top[0, 0]) == -300 * 255 * 255, (
        f"int8_matmul of 300 extreme terms (127 - (-128)) * (-128 - 127) should be {-300 * 255 * 255} "
        f"(int8 arithmetic would overflow; widen first); got {int(top[0, 0])}")


# ------------------------------------------------------------------------ QuantizedLinear


@pytest.mark.points(3)
def test_quantized_linear_stores_an_int8_weight_and_a_float32_bias():
    lin = linear(6, 4)
    layer = QuantizedLinear(lin)
    q, scale, zero_point = quantize_int8(lin.weight)
    assert isinstance(layer.qweight, np.ndarray) and layer.qweight.dtype == np.int8 and layer.qweight.shape == (6, 4), (
        f"QuantizedLinear(Linear(6, 4)).qweight should be an int8 array of shape (6, 4); got "
        f"{getattr(layer.qweight, 'dtype', type(layer.qweight).__name__)} {getattr(layer.qweight, 'shape', '')}")
    assert np.array_equal(layer.qweight, q), "QuantizedLinear.qweight should be quantize_int8(linear.weight)'s levels"
    assert float(layer.weight_scale) == scale and int(layer.weight_zero_point) == zero_point, (
        f"weight_scale and weight_zero_point should be {scale!r} and {zero_point}; got "
        f"{layer.weight_scale!r} and {layer.weight_zero_point!r}")
    assert isinstance(layer.bias, np.ndarray) and layer.bias.dtype == np.float32, (
        f"QuantizedLinear.bias should stay a float32 array (never quantized); got "
        f"{type(layer.bias).__name__} {getattr(layer.bias, 'dtype', '')}")
    assert np.array_equal(layer.bias, lin.bias.data), "QuantizedLinear.bias should equal the Linear's bias exactly"
    assert layer.parameters() == [], (
        f"QuantizedLinear is for inference: parameters() should be empty; got {len(layer.parameters())} Tensors")
    assert layer.mode == "weight_only", f"a QuantizedLinear that was never calibrated is 'weight_only'; got {layer.mode!r}"


@pytest.mark.points(2)
def test_weight_only_forward_uses_the_dequantized_weight_and_stays_close():
    lin = linear(12, 5, seed=4)
    layer = QuantizedLinear(lin)
    x = np.random.default_rng(5).standard_normal((7, 12)).astype(np.float32)
    y = layer(Tensor(x))
    assert isinstance(y, Tensor) and y.shape == (7, 5) and y.dtype == np.float32, (
        f"QuantizedLinear(Linear(12, 5)) on (7, 12) should return a float32 Tensor (7, 5); got "
        f"{type(y).__name__} {getattr(y, 'shape', '')} {getattr(y, 'dtype', '')}")
    assert_close(y, quantized_linear_reference(layer, x), rtol=REF_RTOL, atol=REF_ATOL,
                 what="weight-only QuantizedLinear(x): x @ dequantize(qweight) + bias")
    err = np.abs(y.data - lin(Tensor(x)).data)
    bound = float(layer.weight_scale) / 2 * np.abs(x).sum(axis=1, keepdims=True) + SLACK
    assert np.all(err <= bound), (
        f"weight-only QuantizedLinear vs the float Linear: error should be at most scale_w / 2 * sum |x_i| per "
        f"output; worst excess {float((err - bound).max()):.3g}")


@pytest.mark.points(4)
def test_calibrate_makes_layers_static_with_the_range_of_all_batches():
    model = Sequential(linear(4, 6, seed=6), ReLU(), linear(6, 3, seed=7))
    quantize_model(model)
    batches = [np.linspace(-1.0, 2.0, 8).reshape(2, 4), np.linspace(-3.0, 0.5, 8).reshape(2, 4)]
    ranges = calibrate(model, batches)
    first = model.layers[0]
    assert first.mode == "static" and model.layers[2].mode == "static", (
        f"after calibrate, every QuantizedLinear should be 'static'; got {first.mode!r}, {model.layers[2].mode!r}")
    assert isinstance(ranges, dict) and list(ranges) == ["layers.0", "layers.2"], (
        f"calibrate should return {{'layers.0': (min, max), 'layers.2': (min, max)}}; got {ranges!r}")
    assert_close(np.array(ranges["layers.0"]), np.array([-3.0, 2.0]),
                 what="the input range of layers.0 over both batches (min of all, max of all)")
    assert (first.input_min, first.input_max) == tuple(ranges["layers.0"]), "ranges should be the layer's input_min, input_max"
    scale, zero_point = compute_qparams(-3.0, 2.0)
    assert_close(float(first.input_scale), scale, what="input_scale of layers.0 from the range [-3, 2]")
    assert int(first.input_zero_point) == zero_point, f"input_zero_point of layers.0 should be {zero_point}; got {first.input_zero_point}"

    x = np.random.default_rng(8).uniform(-3.0, 2.0, size=(5, 4)).astype(np.float32)
    y = first(Tensor(x))
    assert_close(y, quantized_linear_reference(first, x), rtol=REF_RTOL, atol=REF_ATOL,
                 what="static QuantizedLinear(x): x quantized with the input scale, int8 matmul, rescaled, + bias")
    w = (first.qweight.astype(np.float64) - int(first.weight_zero_point)) * float(first.weight_scale)   # (4, 6)
    err = np.abs(y.data - (x.astype(np.float64) @ w + first.bias))
    bound = float(first.input_scale) / 2 * np.abs(w).sum(axis=0) + SLACK                                 # (6,)
    assert np.all(err <= bound), (
        f"static QuantizedLinear vs its weight-only result: rounding the input moves each output by at most "
        f"scale_x / 2 * sum_i |w_ij|; worst excess {float((err - bound).max()):.3g}")


@pytest.mark.points(4)
def test_quantize_model_replaces_every_linear_of_a_gpt():
    model = tiny_gpt()
    ids = token_batch(1)
    before = model(ids).data.astype(np.float64)
    report = quantize_model(model)
    n = GPT_CONFIG["num_layers"]
    expected = gpt_linear_paths(n)
    assert isinstance(report, dict) and report.get("layers") == 6 * n + 1, (
        f"quantize_model(GPT with {n} blocks) should replace 4 attention projections + 2 MLP Linears per block "
        f"+ the head = {6 * n + 1} layers; the report says {report.get('layers') if isinstance(report, dict) else report!r}")
    assert sorted(report["paths"]) == sorted(expected), (
        f"quantize_model's report should list the paths {expected}; got {report['paths']}")
    for path in expected:
        layer = module_at(model, path)
        assert isinstance(layer, QuantizedLinear), f"after quantize_model, model.{path} should be a QuantizedLinear; got {type(layer).__name__}"
    left = instances_of(model, Linear)
    assert not left, f"after quantize_model no Linear should remain anywhere in the GPT; found {len(left)}"
    after = model(ids).data.astype(np.float64)
    rel = float(np.abs(after - before).max() / np.abs(before).max())
    assert rel <= GPT_RTOL, (
        f"quantized GPT logits should stay within {GPT_RTOL} of the float ones (max error / max |logit|); got {rel:.4f}")


@pytest.mark.points(2)
def test_model_size_bytes_shrinks_linear_weights_4x():
    model = tiny_gpt()
    params = gpt_param_count(**GPT_CONFIG)
    assert model_size_bytes(model) == 4 * params, (
        f"model_size_bytes of a fresh float32 GPT should be 4 bytes x {params} parameters = {4 * params}; "
        f"got {model_size_bytes(model)}")
    weights = [module_at(model, p).weight.size for p in gpt_linear_paths(GPT_CONFIG["num_layers"])]
    report = quantize_model(model)
    saved = report["bytes_before"] - report["bytes_after"]
    # each Linear weight goes from 4 bytes to 1 per value (3 saved), and gains a scale and a zero point (16 bytes)
    assert report["bytes_before"] == 4 * params and saved == 3 * sum(weights) - 16 * len(weights), (
        f"quantize_model's report: bytes_before should be {4 * params} and bytes_after {4 * params - 3 * sum(weights) + 16 * len(weights)} "
        f"(int8 weights, float32 rest, 8 + 8 bytes of scale and zero point per layer); got {report['bytes_before']}, "
        f"{report['bytes_after']}")
    layers = [module_at(model, p) for p in gpt_linear_paths(GPT_CONFIG["num_layers"])]
    stored = sum(model_size_bytes(layer) - 4 * layer.out_features for layer in layers)   # without the float32 biases
    assert stored == sum(weights) + 16 * len(weights), (
        f"the quantized weights of the GPT's {len(layers)} layers should take 1 byte per value + 16 bytes of scale and "
        f"zero point per layer = {sum(weights) + 16 * len(weights)} bytes (float32: {4 * sum(weights)}); got {stored}")
    assert 4 * sum(weights) / stored > 3.5, f"the Linear weights should be about 4x smaller; got {4 * sum(weights) / stored:.2f}x"


# ------------------------------------------------------------------------ systems questions and errors


@pytest.mark.points(2)
def test_systems_questions_error_bound_and_gpt_bytes():
    assert_close(int8_max_error(-1.0, 1.0), 2 / 255 / 2, what="int8_max_error(-1, 1): half of the step 2 / 255")
    assert_close(int8_max_error(0.0, 255.0), 0.5, what="int8_max_error(0, 255)")
    assert_close(int8_max_error(3.0, 5.1), 5.1 / 255 / 2, what="int8_max_error(3, 5.1): the range starts at 0")
    config = dict(vocab_size=20, embed_dim=16, num_layers=2, max_seq_len=12)
    model = tiny_gpt()
    assert gpt_size_bytes(**config) == model_size_bytes(model), (
        f"gpt_size_bytes({config}) should be the model_size_bytes of that float GPT, {model_size_bytes(model)}; "
        f"got {gpt_size_bytes(**config)}")
    quantize_model(model)
    assert gpt_size_bytes(**config, quantized=True) == model_size_bytes(model), (
        f"gpt_size_bytes({config}, quantized=True) should be the model_size_bytes of that GPT after quantize_model, "
        f"{model_size_bytes(model)}; got {gpt_size_bytes(**config, quantized=True)}")


@pytest.mark.points(2)
def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="nan|inf"):
        quantize_int8(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="low"):
        compute_qparams(3.0, 1.0)
    with pytest.raises(TypeError, match="Linear"):
        QuantizedLinear(ReLU())
    with pytest.raises(ValueError, match="in_features"):
        QuantizedLinear(linear(3, 2))(Tensor(np.ones((4, 5))))
    with pytest.raises(ValueError, match="no Linear"):
        quantize_model(Sequential(ReLU()))
    with pytest.raises(ValueError, match="quantize_model"):
        calibrate(Sequential(linear(2, 2)), [np.ones((1, 2))])
