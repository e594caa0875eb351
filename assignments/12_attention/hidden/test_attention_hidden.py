"""Hidden tests for module 12 (attention): 4-D (batch, heads) inputs, Tq != Tk, leading dimensions
that broadcast, gradients with rectangular and random masks, fully masked rows, mask polarity and
broadcasting, numerical stability, dtypes, the 1/sqrt(d) scale, errors, masked_fill with broadcast
masks and -inf, split/merge of heads, one-head MultiHeadAttention against plain attention, every
MultiHeadAttention gradient, last_weights, causality with several heads, seeding, bias=False, and
the systems functions on more inputs; the fused `attention` op over many tiles (shared keys, masks
that differ by batch item, odd lengths, Tq != Tk) against finite differences and against
`attention_composed`, and only the inputs that need a gradient get one."""

import numpy as np
import pytest

import tinytorch.core.attention as attention_module
from tinytorch.core.activations import Softmax
from tinytorch.core.attention import (
    MultiHeadAttention,
    attention,
    attention_composed,
    attention_flops,
    attention_memory_bytes,
    causal_mask,
    masked_fill,
    merge_heads,
    projection_flops,
    scaled_dot_product_attention,
    scores_exceed_weights_seq_len,
    split_heads,
)
from tinytorch.core.tensor import Tensor
from tinytorch.testing import (
    assert_attention_gradients,
    assert_close,
    attention_reference,
    multi_head_attention_reference,
    numerical_gradient,
    strict_numerics,
)

SEED = 7
F32_RTOL, F32_ATOL = 1e-4, 1e-5      # float32 attention against the float64 reference
GRAD_RTOL, GRAD_ATOL = 1e-5, 1e-7    # float64 backward against float64 central differences
PROJECTIONS = ("q", "k", "v", "out")


def sample(shape, seed=SEED, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


def f32(a):
    return Tensor(np.asarray(a, dtype=np.float32))


def random_mask(shape, seed=SEED):
    """A random boolean mask that is not triangular, with at least one allowed key per row."""
    mask = np.random.default_rng(seed).random(shape) > 0.5
    mask[..., 0] |= ~mask.any(axis=-1)            # a row with no key allowed gets key 0
    return mask


def f64_mha(embed_dim, num_heads, seed=SEED, bias=True):
    mha = MultiHeadAttention(embed_dim, num_heads, bias=bias, rng=np.random.default_rng(seed))
    for k, name in enumerate(PROJECTIONS):
        layer = getattr(mha, f"{name}_proj")
        layer.weight.data = layer.weight.data.astype(np.float64)
        if bias:
            layer.bias.data = sample(embed_dim, seed=seed + 10 + k, scale=0.1)
    return mha


def mha_params(mha):
    out = {}
    for name in PROJECTIONS:
        layer = getattr(mha, f"{name}_proj")
        out[name] = (layer.weight.data, None if layer.bias is None else layer.bias.data)
    return out


@pytest.fixture
def small_tiles(monkeypatch):
    """Tiles of at most 3 query rows and 10 scores: small inputs run through many tiles."""
    monkeypatch.setattr(attention_module, "TILE_QUERIES", 3)
    monkeypatch.setattr(attention_module, "TILE_SCORES", 10)


def check_gradients(q, k, v, mask, g, what):
    tensors = [Tensor(a.copy(), requires_grad=True) for a in (q, k, v)]
    out, _ = scaled_dot_product_attention(*tensors, mask=mask)
    out.backward(g)
    assert_attention_gradients(tensors, (q, k, v), mask, g, rtol=GRAD_RTOL, atol=GRAD_ATOL, what=what)


# ------------------------------------------------------------------------ attention: shapes


@pytest.mark.points(2)
def test_attention_4d_batch_and_heads_with_causal_mask():
    q, k, v = sample((2, 3, 4, 5), 1), sample((2, 3, 4, 5), 2), sample((2, 3, 4, 3), 3)
    out, weights = scaled_dot_product_attention(f32(q), f32(k), f32(v), mask=causal_mask(4))
    want_out, want_weights = attention_reference(q, k, v, causal_mask(4))
    what = "scaled_dot_product_attention(Q, K (2, 3, 4, 5), V (2, 3, 4, 3), causal_mask(4))"
    assert_close(weights, want_weights, rtol=F32_RTOL, atol=F32_ATOL, what=f"{what}: weights")
    assert_close(out, want_out, rtol=F32_RTOL, atol=F32_ATOL, what=f"{what}: output")


@pytest.mark.points(2)
def test_attention_more_keys_than_queries():
    q, k, v = sample((2, 3, 4), 4), sample((2, 6, 4), 5), sample((2, 6, 5), 6)
    mask = random_mask((3, 6), seed=7)
    for m in (None, mask):
        out, weights = scaled_dot_product_attention(f32(q), f32(k), f32(v), mask=m)
        want_out, want_weights = attention_reference(q, k, v, m)
        what = f"scaled_dot_product_attention(Q (2, 3, 4), K (2, 6, 4), V (2, 6, 5), mask={'(3, 6)' if m is not None else None})"
        assert_close(weights, want_weights, rtol=F32_RTOL, atol=F32_ATOL, what=f"{what}: weights (B, Tq, Tk)")
        assert_close(out, want_out, rtol=F32_RTOL, atol=F32_ATOL, what=f"{what}: output (B, Tq, dv)")


@pytest.mark.points(3)
def test_attention_gradients_4d_tq_differs_from_tk_random_mask():
    q, k, v = sample((1, 2, 2, 3), 8), sample((1, 2, 4, 3), 9), sample((1, 2, 4, 2), 10)
    mask = random_mask((1, 2, 2, 4), seed=11)
    check_gradients(q, k, v, mask, sample((1, 2, 2, 2), 12),
                    "scaled_dot_product_attention(Q (1, 2, 2, 3), K (1, 2, 4, 3), V (1, 2, 4, 2), random mask)")


@pytest.mark.points(2)
def test_attention_keys_shared_across_the_batch_broadcast():
    q, k, v = sample((3, 4, 4), 13), sample((5, 4), 14), sample((5, 2), 15)
    out, _ = scaled_dot_product_attention(f32(q), f32(k), f32(v))
    kb, vb = np.broadcast_to(k, (3, 5, 4)), np.broadcast_to(v, (3, 5, 2))
    want_out, _ = attention_reference(q, kb, vb)
    what = "scaled_dot_product_attention(Q (3, 4, 4), K (5, 4), V (5, 2))"
    assert_close(out, want_out, rtol=F32_RTOL, atol=F32_ATOL, what=f"{what}: K and V broadcast over the batch")
    kt = Tensor(k.copy(), requires_grad=True)
    scaled_dot_product_attention(Tensor(q), kt, Tensor(v))[0].sum().backward()
    assert kt.grad is not None and kt.grad.shape == (5, 4), (
        f"{what}: K.grad should have K's shape (5, 4), summed over the batch; got "
        f"{None if kt.grad is None else kt.grad.shape}")


# ------------------------------------------------------------------------ attention: masks


@pytest.mark.points(2)
def test_attention_fully_masked_row_is_an_error():
    q = k = v = f32(sample((2, 3, 4), 16))
    mask = causal_mask(3)
    mask[1] = False
    with pytest.raises(ValueError, match="row"):
        scaled_dot_product_attention(q, k, v, mask=mask)


@pytest.mark.points(2)
def test_attention_random_mask_gives_exact_zeros_and_right_values():
    q, k, v = sample((2, 5, 4), 17), sample((2, 5, 4), 18), sample((2, 5, 3), 19)
    mask = random_mask((2, 5, 5), seed=20)
    out, weights = scaled_dot_product_attention(f32(q), f32(k), f32(v), mask=mask)
    what = "scaled_dot_product_attention(Q, K, V (2, 5, *), random mask (2, 5, 5), True = allowed)"
    assert np.all(weights.data[~mask] == 0), f"{what}: weights where the mask is False should be exactly 0"
    assert_close(weights.data.sum(axis=-1), np.ones((2, 5)), what=f"{what}: rows of weights should sum to 1")
    want_out, want_weights = attention_reference(q, k, v, mask)
    assert_close(weights, want_weights, rtol=F32_RTOL, atol=F32_ATOL, what=f"{what}: weights")
    assert_close(out, want_out, rtol=F32_RTOL, atol=F32_ATOL, what=f"{what}: output")


@pytest.mark.points(2)
def test_attention_mask_broadcast_over_heads():
    q, k, v = sample((2, 3, 4, 4), 21), sample((2, 3, 4, 4), 22), sample((2, 3, 4, 4), 23)
    mask = random_mask((2, 1, 4, 4), seed=24)                 # one mask per batch item, shared by heads
    out, weights = scaled_dot_product_attention(f32(q), f32(k), f32(v), mask=mask)
    want_out, want_weights = attention_reference(q, k, v, mask)
    what = "scaled_dot_product_attention(Q, K, V (2, 3, 4, 4), mask (2, 1, 4, 4))"
    assert_close(weights, want_weights, rtol=F32_RTOL, atol=F32_ATOL, what=f"{what}: weights")
    assert_close(out, want_out, rtol=F32_RTOL, atol=F32_ATOL, what=f"{what}: output")


# ------------------------------------------------------------------------ attention: numerics


@pytest.mark.points(2)
def test_attention_large_scores_stay_finite():
    q, k, v = sample((2, 4, 8), 25, scale=60.0), sample((2, 4, 8), 26, scale=60.0), sample((2, 4, 3), 27)
    with strict_numerics():
        out, weights = scaled_dot_product_attention(f32(q), f32(k), f32(v), mask=causal_mask(4))
    want_out, want_weights = attention_reference(q, k, v, causal_mask(4))
    what = "scaled_dot_product_attention with scores in the thousands, causal"
    assert np.all(np.isfinite(out.data)), f"{what}: the output should be finite"
    assert_close(weights, want_weights, rtol=1e-3, atol=1e-4, what=f"{what}: weights")


@pytest.mark.points(2)
def test_attention_keeps_the_dtype():
    for dtype in (np.float32, np.float64):
        q = Tensor(sample((2, 3, 4), 28).astype(dtype))
        out, weights = scaled_dot_product_attention(q, q, q, mask=causal_mask(3))
        assert out.dtype == dtype and weights.dtype == dtype, (
            f"scaled_dot_product_attention on {np.dtype(dtype).name} inputs should give {np.dtype(dtype).name} "
            f"output and weights; got {out.dtype} and {weights.dtype}")


@pytest.mark.points(2)
def test_attention_scales_scores_by_one_over_sqrt_d():
    d = 16
    q = np.ones((1, 1, d))                                      # q . k0 = 16, q . k1 = 0
    k = np.stack([np.ones(d), np.zeros(d)])[None]              # (1, 2, 16)
    v = np.eye(2)[None]                                         # output = the weights
    out, weights = scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v))
    e = np.exp(16 / np.sqrt(d))
    want = np.array([[[e / (e + 1), 1 / (e + 1)]]])
    assert_close(weights, want, what="scaled_dot_product_attention with d = 16, q . k = [16, 0]: "
                                     "weights = softmax([16, 0] / sqrt(16)) = softmax([4, 0])")


@pytest.mark.points(2)
def test_attention_errors_name_the_shapes():
    q, k, v = f32(np.zeros((2, 4, 4))), f32(np.zeros((2, 4, 4))), f32(np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match=r"\(2, 4, 4\).*\(3, 4, 4\).*\(3, 4, 4\)"):
        scaled_dot_product_attention(q, f32(np.zeros((3, 4, 4))), f32(np.zeros((3, 4, 4))))   # batch 2 vs 3
    with pytest.raises(ValueError, match=r"\(3, 3\)"):
        scaled_dot_product_attention(q, k, v, mask=causal_mask(3))
    with pytest.raises(ValueError, match=r"\(3, 2, 4, 4\).*\(2, 4, 4\)"):   # the mask would add a dimension
        scaled_dot_product_attention(q, k, v, mask=np.ones((3, 2, 4, 4), dtype=bool))
    with pytest.raises(TypeError, match="bool"):
        scaled_dot_product_attention(q, k, v, mask=causal_mask(4).astype(np.float32))
    with pytest.raises(ValueError, match=r"\(4,\)"):
        scaled_dot_product_attention(f32(np.zeros(4)), k, v)


# ------------------------------------------------------------------------ the fused op, tile by tile


@pytest.mark.points(3)
def test_attention_tiles_shared_keys_and_a_mask_per_batch_item_gradients(small_tiles):
    q, k, v = sample((3, 4, 2), 60), sample((5, 2), 61), sample((5, 3), 62)
    mask = random_mask((3, 4, 5), seed=63)                     # differs by batch item
    g = sample((3, 4, 3), 64)
    tensors = [Tensor(a.copy(), requires_grad=True) for a in (q, k, v)]
    out, weights = scaled_dot_product_attention(*tensors, mask=mask)
    out.backward(g)
    what = "scaled_dot_product_attention(Q (3, 4, 2), K (5, 2), V (5, 3), mask (3, 4, 5)), small tiles"

    def shared(a, b, c):                                       # K and V as every batch item sees them
        return a, np.broadcast_to(b, (3, 5, 2)), np.broadcast_to(c, (3, 5, 3))

    want_out, want_weights = attention_reference(*shared(q, k, v), mask)
    assert_close(weights, want_weights, rtol=1e-10, atol=1e-12, what=f"{what}: weights")
    assert_close(out, want_out, rtol=1e-10, atol=1e-12, what=f"{what}: output")
    assert_attention_gradients(tensors, (q, k, v), mask, g, rtol=GRAD_RTOL, atol=GRAD_ATOL, what=what, prepare=shared)


@pytest.mark.points(2)
def test_attention_fused_equals_composed_forward_and_backward(small_tiles):
    q, k, v = sample((2, 3, 7, 4), 65), sample((2, 3, 9, 4), 66), sample((2, 3, 9, 5), 67)
    g = sample((2, 3, 7, 5), 68)
    mask = random_mask((2, 1, 7, 9), seed=69)                  # per batch item, shared by heads
    mask[..., 6:] = False                                      # the last keys: masked for every query
    mask[..., 0] |= ~mask.any(axis=-1)                         # every query keeps a key
    results = []
    for run in (scaled_dot_product_attention, attention_composed):
        tensors = [Tensor(a.copy(), requires_grad=True) for a in (q, k, v)]
        out, weights = run(*tensors, mask=mask)
        out.backward(g)
        results.append((out.data, weights.data, *(t.grad.data for t in tensors)))
    what = "Q (2, 3, 7, 4), K (2, 3, 9, 4), V (2, 3, 9, 5), mask (2, 1, 7, 9), small tiles"
    for name, fused, composed in zip(("output", "weights", "Q.grad", "K.grad", "V.grad"), *results):
        assert_close(fused, composed, rtol=1e-10, atol=1e-12,
                     what=f"{what}: {name} of scaled_dot_product_attention (expected: attention_composed's)")
    assert np.all(results[0][1][..., 6:] == 0), f"{what}: weights of keys 6-8, masked for every query, should be 0"


@pytest.mark.points(2)
def test_attention_odd_length_causal_tiles_write_every_weight(small_tiles):
    q = sample((1, 2, 7, 3), 70).astype(np.float32)
    weights = np.full((1, 2, 7, 7), np.nan, dtype=np.float32)
    out = attention(Tensor(q), Tensor(q), Tensor(q), causal_mask(7), weights)
    what = "attention(Q = K = V (1, 2, 7, 3), causal_mask(7), weights), tiles of 3 query rows"
    assert not np.isnan(weights).any(), f"{what}: entries of `weights` never written:\n{weights[0, 0]}"
    assert np.all(weights[..., ~causal_mask(7)] == 0), f"{what}: weights above the diagonal should be exactly 0"
    assert_close(weights.sum(axis=-1), np.ones((1, 2, 7)), what=f"{what}: each row of weights should sum to 1")
    want_out, want_weights = attention_reference(q, q, q, causal_mask(7))
    assert_close(out, want_out, rtol=F32_RTOL, atol=F32_ATOL, what=f"{what}: output")


@pytest.mark.points(2)
def test_attention_only_inputs_that_need_a_gradient_get_one():
    q, k, v = sample((2, 4, 3), 71), sample((2, 4, 3), 72), sample((2, 4, 2), 73)
    g = sample((2, 4, 2), 74)
    qt, kt, vt = Tensor(q.copy()), Tensor(k.copy()), Tensor(v.copy(), requires_grad=True)
    out, weights = scaled_dot_product_attention(qt, kt, vt, mask=causal_mask(4))
    out.backward(g)
    what = "scaled_dot_product_attention(Q, K (no gradient), V (requires_grad), causal)"
    assert qt.grad is None and kt.grad is None, f"{what}: Q and K should get no .grad"
    assert not weights.requires_grad, f"{what}: the returned weights are for looking at, outside the graph"
    want = numerical_gradient(lambda a: float(np.sum(attention_reference(q, k, a, causal_mask(4))[0] * g)), v.copy())
    assert_close(vt.grad, want, rtol=GRAD_RTOL, atol=GRAD_ATOL, what=f"{what}: V.grad (expected: finite differences)")


# ------------------------------------------------------------------------ masked_fill


@pytest.mark.points(2)
def test_masked_fill_broadcast_mask_gradient_and_dtype():
    x = sample((2, 2, 3, 4), 29)
    mask = random_mask((1, 3, 1), seed=30)
    g = sample((2, 2, 3, 4), 31)
    xt = Tensor(x.copy(), requires_grad=True)
    out = masked_fill(xt, mask, -1e9)
    assert out.dtype == np.float64 and out.shape == x.shape, (
        f"masked_fill(x float64 (2, 2, 3, 4), mask (1, 3, 1)) should be float64 of x's shape; got "
        f"{out.dtype} {out.shape}")
    out.backward(g)
    want = numerical_gradient(lambda a: float(np.sum(np.where(mask, -1e9, a) * g)), x.copy())
    assert_close(xt.grad, want, rtol=GRAD_RTOL, atol=GRAD_ATOL,
                 what="masked_fill(x (2, 2, 3, 4), mask (1, 3, 1), -1e9).backward(g): x.grad")


@pytest.mark.points(2)
def test_masked_fill_minus_inf_then_softmax_blocks_the_gradient():
    x = sample((3, 4), 32)
    fill = np.array([False, True, False, True])
    xt = Tensor(x.copy(), requires_grad=True)
    probs = Softmax(dim=-1)(masked_fill(xt, fill, -np.inf))
    assert np.all(probs.data[:, fill] == 0), "softmax(masked_fill(x, mask, -inf)) should be exactly 0 where filled"
    (probs * Tensor(sample((3, 4), 33))).sum().backward()
    assert np.all(xt.grad.data[:, fill] == 0) and np.all(np.isfinite(xt.grad.data)), (
        f"masked_fill(x, mask, -inf) then softmax: x.grad should be finite and exactly 0 where filled; got\n"
        f"{xt.grad.data}")


# ------------------------------------------------------------------------ heads


@pytest.mark.points(2)
def test_split_and_merge_heads_errors():
    with pytest.raises(ValueError, match=r"(8.*3)|(3.*8)"):
        split_heads(f32(np.zeros((2, 5, 8))), 3)
    with pytest.raises(ValueError, match=r"\(5, 8\)"):
        split_heads(f32(np.zeros((5, 8))), 2)
    with pytest.raises(ValueError, match=r"\(2, 5, 8\)"):
        merge_heads(f32(np.zeros((2, 5, 8))))


@pytest.mark.points(2)
def test_merge_heads_places_head_h_in_channels_h_times_d():
    x = sample((2, 3, 4, 2), 34)                                # (B, H, T, D)
    out = merge_heads(Tensor(x))
    want = np.zeros((2, 4, 6))
    for h in range(3):
        for t in range(4):
            want[:, t, 2 * h:2 * h + 2] = x[:, h, t]
    assert_close(out, want, what="merge_heads(x (2, 3, 4, 2)): output[b, t, 2h:2h+2] should be x[b, h, t]")
    xt = Tensor(x.copy(), requires_grad=True)
    g = sample((2, 4, 6), 35)
    merge_heads(xt).backward(g)
    assert_close(xt.grad, split_heads(Tensor(g), 3).data, what="merge_heads(x).backward(g): x.grad")


# ------------------------------------------------------------------------ MultiHeadAttention


@pytest.mark.points(2)
def test_one_head_equals_single_head_attention_with_the_same_projections():
    mha = f64_mha(6, 1, seed=36)
    x = sample((2, 5, 6), 37)
    p = mha_params(mha)
    q, k, v = (x @ p[n][0] + p[n][1] for n in ("q", "k", "v"))
    attended, _ = attention_reference(q, k, v, causal_mask(5))
    want = attended @ p["out"][0] + p["out"][1]
    assert_close(mha(Tensor(x), mask=causal_mask(5)), want, rtol=1e-10, atol=1e-12,
                 what="MultiHeadAttention(6, 1)(x (2, 5, 6), causal) should equal out_proj(attention(q_proj(x), "
                      "k_proj(x), v_proj(x)))")


@pytest.mark.points(3)
def test_mha_gradients_of_all_parameters_and_input_four_heads():
    mha = f64_mha(8, 4, seed=38)
    x = sample((1, 3, 8), 39)
    g = sample((1, 3, 8), 40)
    mask = random_mask((3, 3), seed=41)
    xt = Tensor(x.copy(), requires_grad=True)
    mha(xt, mask=mask).backward(g)
    params = mha_params(mha)
    what = "MultiHeadAttention(8, 4)(x (1, 3, 8), random mask).backward(g)"
    want = numerical_gradient(lambda a: float(np.sum(multi_head_attention_reference(a, params, 4, mask) * g)), x.copy())
    assert_close(xt.grad, want, rtol=GRAD_RTOL, atol=GRAD_ATOL, what=f"{what}: x.grad")
    for name in PROJECTIONS:
        layer = getattr(mha, f"{name}_proj")
        for slot, attr in enumerate(("weight", "bias")):
            def loss(a, name=name, slot=slot):
                changed = dict(params)
                pair = list(changed[name])
                pair[slot] = a
                changed[name] = tuple(pair)
                return float(np.sum(multi_head_attention_reference(x, changed, 4, mask) * g))

            got = getattr(layer, attr).grad
            assert got is not None, f"{what}: {name}_proj.{attr}.grad is None"
            assert_close(got, numerical_gradient(loss, getattr(layer, attr).data.copy()), rtol=GRAD_RTOL,
                         atol=GRAD_ATOL, what=f"{what}: {name}_proj.{attr}.grad")


@pytest.mark.points(2)
def test_mha_keeps_last_weights_without_graph():
    mha = MultiHeadAttention(8, 2, rng=np.random.default_rng(42))
    x = Tensor(sample((3, 5, 8), 43).astype(np.float32), requires_grad=True)
    mha(x, mask=causal_mask(5))
    w = mha.last_weights
    assert isinstance(w, Tensor) and w.shape == (3, 2, 5, 5), (
        f"MultiHeadAttention(8, 2)(x (3, 5, 8)).last_weights should be a (B, H, T, T) = (3, 2, 5, 5) Tensor; "
        f"got {getattr(w, 'shape', w)!r}")
    assert np.all(w.data[..., ~causal_mask(5)] == 0), "last_weights with causal_mask should be 0 above the diagonal"
    assert_close(w.data.sum(axis=-1), np.ones((3, 2, 5)), what="last_weights.sum(axis=-1)")
    assert not w.requires_grad, "last_weights should be kept without their graph (detached)"


@pytest.mark.points(2)
def test_mha_causality_four_heads_every_position():
    mha = MultiHeadAttention(8, 4, rng=np.random.default_rng(44))
    x = sample((2, 5, 8), 45).astype(np.float32)
    base = mha(Tensor(x), mask=causal_mask(5)).data
    for t in range(1, 5):
        changed = x.copy()
        changed[:, t] += 1.0
        out = mha(Tensor(changed), mask=causal_mask(5)).data
        assert np.array_equal(out[:, :t], base[:, :t]), (
            f"MultiHeadAttention(8, 4) with causal_mask(5): changing token {t} changed an output at a "
            f"position before {t}")
    no_mask = mha(Tensor(changed), mask=None).data
    assert not np.allclose(no_mask[:, :4], base[:, :4]), "without a mask, changing token 4 should change earlier outputs"


@pytest.mark.points(2)
def test_mha_errors():
    mha = MultiHeadAttention(8, 2, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"8.*\(2, 5, 6\)"):
        mha(f32(np.zeros((2, 5, 6))))
    with pytest.raises(ValueError, match=r"\(5, 8\)"):
        mha(f32(np.zeros((5, 8))))
    for args in ((0, 1), (8, 0), (True, 1), (12, 5)):
        with pytest.raises(ValueError):
            MultiHeadAttention(*args)


@pytest.mark.points(2)
def test_mha_seeded_and_without_bias():
    a = MultiHeadAttention(6, 2, rng=np.random.default_rng(46))
    b = MultiHeadAttention(6, 2, rng=np.random.default_rng(46))
    assert all(np.array_equal(p.data, r.data) for p, r in zip(a.parameters(), b.parameters())), (
        "two MultiHeadAttention(6, 2) built with the same rng seed should have the same parameters")
    assert not np.array_equal(a.q_proj.weight.data, a.k_proj.weight.data), (
        "q_proj and k_proj should get different initial weights")
    mha = f64_mha(6, 2, seed=47, bias=False)
    assert len(mha.parameters()) == 4, f"MultiHeadAttention(6, 2, bias=False) should have 4 parameters; got {len(mha.parameters())}"
    x = sample((2, 3, 6), 48)
    assert_close(mha(Tensor(x)), multi_head_attention_reference(x, mha_params(mha), 2), rtol=1e-10, atol=1e-12,
                 what="MultiHeadAttention(6, 2, bias=False)(x (2, 3, 6)), no mask")


# ------------------------------------------------------------------------ systems questions


@pytest.mark.points(2)
def test_systems_questions_more_inputs():
    for args, want in [((8, 12, 1024, np.float16), 8 * 12 * 1024 * 1024 * 2), ((0, 4, 10, np.float32), 0),
                       ((1, 1, 5, np.float64), 200)]:
        got = attention_memory_bytes(*args)
        assert got == want, f"attention_memory_bytes{args} should be {want}; got {got}"
    for b, t, c in [(1, 1, 1), (3, 7, 5), (4, 2048, 768)]:
        want = sum(2 * t * t * c for _ in range(2)) * b
        assert attention_flops(b, t, c) == want, f"attention_flops({b}, {t}, {c}) should be {want}; got {attention_flops(b, t, c)}"
    c = 48
    assert attention_flops(2, 2 * c, c) == projection_flops(2, 2 * c, c), (
        "attention_flops and projection_flops should be equal at seq_len = 2 * embed_dim")
    for b, h, c in [(1, 1, 1), (1, 12, 768), (32, 12, 768), (3, 5, 10), (1, 2, 2), (2, 1, 4)]:
        params = 4 * (c * c + c)
        t = 1
        while b * h * t * t <= params:
            t += 1
        got = scores_exceed_weights_seq_len(b, h, c)
        assert got == t, f"scores_exceed_weights_seq_len({b}, {h}, {c}) should be {t}; got {got}"
    with pytest.raises(ValueError):
        attention_memory_bytes(1, -1, 4)
    with pytest.raises(ValueError):
        scores_exceed_weights_seq_len(0, 1, 8)
