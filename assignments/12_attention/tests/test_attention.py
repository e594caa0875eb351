"""Visible tests for module 12 (attention). Run them with `make test M=12`.

Expected values come from float64 references in `tinytorch.testing` written another way:
attention with explicit loops over batch, head and query and one einsum each, multi-head
attention one head at a time with column slices of the weights (no reshape or transpose).
Every gradient is checked against central finite differences of those references
(`tinytorch.testing.numerical_gradient`), never against another backward.
"""

import numpy as np
import pytest

import tinytorch.core.attention as attention_module
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
from tinytorch.core.layers import Linear
from tinytorch.core.tensor import Tensor, matmul_flops
from tinytorch.testing import (
    assert_attention_gradients,
    assert_close,
    attention_reference,
    multi_head_attention_reference,
    numerical_gradient,
)

SEED = 0
F32_RTOL, F32_ATOL = 1e-4, 1e-5      # float32 attention against the float64 reference
GRAD_RTOL, GRAD_ATOL = 1e-5, 1e-7    # float64 backward against float64 central differences
PROJECTIONS = ("q", "k", "v", "out")


def sample(shape, seed=SEED, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


def f32(a):
    return Tensor(np.asarray(a, dtype=np.float32))


def f64_mha(embed_dim, num_heads, seed=SEED):
    """A MultiHeadAttention with float64 parameters (for finite differences) and non-zero biases."""
    mha = MultiHeadAttention(embed_dim, num_heads, rng=np.random.default_rng(seed))
    for k, name in enumerate(PROJECTIONS):
        layer = getattr(mha, f"{name}_proj")
        layer.weight.data = layer.weight.data.astype(np.float64)
        layer.bias.data = sample(embed_dim, seed=seed + 10 + k, scale=0.1)
    return mha


def use_small_tiles(monkeypatch):
    """Tiles of at most 2 query rows and 12 scores: small inputs run through many tiles, some
    of them skipping masked keys, as the milestone's (B, H, 128, 128) scores do."""
    monkeypatch.setattr(attention_module, "TILE_QUERIES", 2)
    monkeypatch.setattr(attention_module, "TILE_SCORES", 12)


@pytest.fixture
def small_tiles(monkeypatch):
    use_small_tiles(monkeypatch)


def mha_params(mha):
    return {name: (getattr(mha, f"{name}_proj").weight.data, getattr(mha, f"{name}_proj").bias.data)
            for name in PROJECTIONS}


# ------------------------------------------------------------------------ causal mask, masked_fill


@pytest.mark.points(2)
def test_causal_mask():
    for t in (1, 4):
        mask = causal_mask(t)
        assert isinstance(mask, np.ndarray) and mask.dtype == np.bool_, (
            f"causal_mask({t}) should be a NumPy bool array; got {type(mask).__name__} "
            f"of dtype {getattr(mask, 'dtype', None)}")
        want = np.array([[j <= i for j in range(t)] for i in range(t)])
        assert mask.shape == want.shape and np.array_equal(mask, want), (
            f"causal_mask({t}) should be True where key j <= query i (allowed), False above the "
            f"diagonal:\n{want}\ngot:\n{mask}")
    with pytest.raises(ValueError, match="seq_len"):
        causal_mask(0)


@pytest.mark.points(2)
def test_masked_fill_forward():
    x = sample((2, 3, 4), seed=1).astype(np.float32)
    mask = sample((3, 4), seed=2) > 0                         # broadcasts over the first axis
    xt = Tensor(x)
    out = masked_fill(xt, mask, -7.5)
    assert isinstance(out, Tensor) and out.dtype == np.float32, (
        f"masked_fill of a float32 Tensor should return a float32 Tensor; got {type(out).__name__} "
        f"{getattr(out, 'dtype', '')}")
    want = x.copy()
    for b in range(2):
        for i in range(3):
            for j in range(4):
                if mask[i, j]:
                    want[b, i, j] = -7.5
    assert_close(out, want, what="masked_fill(x (2, 3, 4), mask (3, 4), -7.5): -7.5 where mask is True, "
                                 "x where it is False")
    assert np.array_equal(xt.data, x), "masked_fill must not change its input x"
    inf = masked_fill(xt, mask, -np.inf).data
    assert np.all(np.isneginf(inf[:, mask])) and np.array_equal(inf[:, ~mask], x[:, ~mask]), (
        "masked_fill(x, mask, -np.inf) should hold exactly -inf where mask is True and x elsewhere")


@pytest.mark.points(2)
def test_masked_fill_backward():
    x = sample((2, 3, 4), seed=3)
    mask = sample((3, 4), seed=4) > 0
    g = sample((2, 3, 4), seed=5)
    xt = Tensor(x.copy(), requires_grad=True)
    masked_fill(xt, mask, 2.0).backward(g)
    what = "masked_fill(x (2, 3, 4), mask (3, 4), 2.0).backward(g): x.grad"
    assert xt.grad is not None, f"{what} is None: no gradient reached x"
    want = numerical_gradient(lambda v: float(np.sum(np.where(mask, 2.0, v) * g)), x.copy())
    assert_close(xt.grad, want, rtol=GRAD_RTOL, atol=GRAD_ATOL, what=f"{what} (expected: finite differences)")
    assert np.all(xt.grad.data[:, mask] == 0), f"{what} should be exactly 0 where the mask filled x"


@pytest.mark.points(2)
def test_masked_fill_errors():
    x = Tensor(np.zeros((2, 4, 4), dtype=np.float32))
    with pytest.raises(TypeError, match="bool"):
        masked_fill(x, np.ones((4, 4)), 0.0)                 # 0/1 floats are not a boolean mask
    with pytest.raises(ValueError, match=r"\(4, 5\).*\(2, 4, 4\)"):
        masked_fill(x, np.ones((4, 5), dtype=bool), 0.0)
    with pytest.raises(ValueError, match=r"\(3, 2, 4, 4\)"):
        masked_fill(x, np.ones((3, 2, 4, 4), dtype=bool), 0.0)   # would make x larger


# ------------------------------------------------------------------------ scaled dot-product attention


@pytest.mark.points(3)
def test_attention_matches_reference():
    q, k, v = sample((2, 5, 4), seed=6), sample((2, 5, 4), seed=7), sample((2, 5, 3), seed=8)
    out, weights = scaled_dot_product_attention(f32(q), f32(k), f32(v))
    want_out, want_weights = attention_reference(q, k, v)
    what = "scaled_dot_product_attention(Q (2, 5, 4), K (2, 5, 4), V (2, 5, 3))"
    assert isinstance(out, Tensor) and isinstance(weights, Tensor), (
        f"{what} should return (output, weights), two Tensors; got {type(out).__name__}, {type(weights).__name__}")
    assert out.dtype == np.float32, f"{what}: float32 inputs should give float32 output; got {out.dtype}"
    assert_close(weights, want_weights, rtol=F32_RTOL, atol=F32_ATOL,
                 what=f"{what}: weights = softmax(Q @ K^T / sqrt(4)) over the keys")
    assert_close(out, want_out, rtol=F32_RTOL, atol=F32_ATOL, what=f"{what}: output = weights @ V")


@pytest.mark.points(2)
def test_attention_weights_rows_sum_to_one():
    q, k, v = sample((3, 4, 8), seed=9, scale=3.0), sample((3, 6, 8), seed=10, scale=3.0), sample((3, 6, 2), seed=11)
    _, weights = scaled_dot_product_attention(f32(q), f32(k), f32(v))
    what = "scaled_dot_product_attention(Q (3, 4, 8), K (3, 6, 8), V (3, 6, 2)): weights"
    assert weights.shape == (3, 4, 6), f"{what} should have shape (3, 4, 6) = (B, Tq, Tk); got {weights.shape}"
    assert np.all(weights.data >= 0), f"{what} should all be >= 0"
    assert_close(weights.data.sum(axis=-1), np.ones((3, 4)),
                 what=f"{what}.sum(axis=-1): each query's weights over the keys should sum to 1")


@pytest.mark.points(3)
def test_attention_causal_mask():
    q, k, v = sample((2, 5, 4), seed=12), sample((2, 5, 4), seed=13), sample((2, 5, 4), seed=14)
    out, weights = scaled_dot_product_attention(f32(q), f32(k), f32(v), mask=causal_mask(5))
    what = "scaled_dot_product_attention(Q, K, V (2, 5, 4), mask=causal_mask(5))"
    future = ~causal_mask(5)
    assert np.all(weights.data[:, future] == 0), (
        f"{what}: the weights above the diagonal (the future) should be exactly 0; got\n{weights.data[0]}")
    want_out, want_weights = attention_reference(q, k, v, causal_mask(5))
    assert_close(weights, want_weights, rtol=F32_RTOL, atol=F32_ATOL,
                 what=f"{what}: weights (each row renormalised over the allowed keys, sums to 1)")
    assert_close(out, want_out, rtol=F32_RTOL, atol=F32_ATOL, what=f"{what}: output")


@pytest.mark.points(3)
def test_attention_gradients():
    q, k, v = sample((2, 3, 4), seed=15), sample((2, 3, 4), seed=16), sample((2, 3, 2), seed=17)
    g = sample((2, 3, 2), seed=18)
    mask = causal_mask(3)
    tensors = [Tensor(a.copy(), requires_grad=True) for a in (q, k, v)]
    out, _ = scaled_dot_product_attention(*tensors, mask=mask)
    out.backward(g)
    assert_attention_gradients(tensors, (q, k, v), mask, g, rtol=GRAD_RTOL, atol=GRAD_ATOL,
                               what="scaled_dot_product_attention(Q (2, 3, 4), K (2, 3, 4), V (2, 3, 2), causal).backward(g)")


@pytest.mark.points(3)
def test_attention_shape_errors():
    q, k, v = f32(np.zeros((2, 5, 8))), f32(np.zeros((2, 6, 4))), f32(np.zeros((2, 6, 4)))
    with pytest.raises(ValueError, match=r"\(2, 5, 8\).*\(2, 6, 4\).*\(2, 6, 4\)"):
        scaled_dot_product_attention(q, k, v)                   # d of Q (8) != d of K (4)
    q = f32(np.zeros((2, 5, 4)))
    with pytest.raises(ValueError, match=r"\(2, 5, 4\).*\(2, 6, 4\).*\(2, 7, 4\)"):
        scaled_dot_product_attention(q, k, f32(np.zeros((2, 7, 4))))   # 6 keys, 7 values
    with pytest.raises(ValueError, match=r"\(5, 5\)"):
        scaled_dot_product_attention(q, k, v, mask=causal_mask(5))     # scores are (2, 5, 6)
    with pytest.raises(TypeError):
        scaled_dot_product_attention(np.zeros((2, 5, 4)), k, v)


@pytest.mark.points(2)
def test_attention_composed_values_and_gradients_through_the_weights():
    q, k, v = sample((2, 4, 3), seed=40), sample((2, 4, 3), seed=41), sample((2, 4, 2), seed=42)
    g, h = sample((2, 4, 2), seed=43), sample((2, 4, 4), seed=44)
    mask = causal_mask(4)
    tensors = [Tensor(a.copy(), requires_grad=True) for a in (q, k, v)]
    out, weights = attention_composed(*tensors, mask)
    what = "attention_composed(Q, K (2, 4, 3), V (2, 4, 2), causal_mask(4))"
    want_out, want_weights = attention_reference(q, k, v, mask)
    assert_close(weights, want_weights, rtol=1e-10, atol=1e-12, what=f"{what}: weights")
    assert_close(out, want_out, rtol=1e-10, atol=1e-12, what=f"{what}: output")
    (out * Tensor(g)).sum().backward()
    (weights * Tensor(h)).sum().backward()                     # the weights are part of the graph
    assert_attention_gradients(tensors, (q, k, v), mask, g, h=h, rtol=GRAD_RTOL, atol=GRAD_ATOL,
                               what=f"{what}: gradients of sum(out * g) + sum(weights * h)")


@pytest.mark.points(3)
def test_attention_op_fills_the_weights_and_matches_the_reference(monkeypatch):
    for tiles in ("one tile", "many tiles"):
        if tiles == "many tiles":
            use_small_tiles(monkeypatch)
        check_attention_op(tiles)


def check_attention_op(tiles):
    q, k, v = sample((2, 2, 5, 4), seed=45), sample((2, 2, 5, 4), seed=46), sample((2, 2, 5, 3), seed=47)
    mask = causal_mask(5)
    weights = np.full((2, 2, 5, 5), np.nan, dtype=np.float32)  # every entry must be written
    out = attention(f32(q), f32(k), f32(v), mask, weights)
    what = f"attention(Q, K (2, 2, 5, 4), V (2, 2, 5, 3), causal_mask(5), weights) with {tiles}"
    assert isinstance(out, Tensor) and out.shape == (2, 2, 5, 3) and out.dtype == np.float32, (
        f"{what} should return a float32 Tensor of shape (2, 2, 5, 3); got {type(out).__name__} "
        f"{getattr(out, 'shape', '')} {getattr(out, 'dtype', '')}")
    assert not np.isnan(weights).any(), f"{what}: some entries of `weights` were never written:\n{weights[0, 0]}"
    assert np.all(weights[..., ~mask] == 0), f"{what}: weights above the diagonal should be exactly 0"
    want_out, want_weights = attention_reference(q, k, v, mask)
    assert_close(weights, want_weights, rtol=F32_RTOL, atol=F32_ATOL, what=f"{what}: the weights it filled")
    assert_close(out, want_out, rtol=F32_RTOL, atol=F32_ATOL, what=f"{what}: output")


@pytest.mark.points(3)
def test_attention_op_gradients_over_many_tiles(small_tiles):
    q, k, v = sample((2, 5, 3), seed=48), sample((2, 5, 3), seed=49), sample((2, 5, 2), seed=50)
    g = sample((2, 5, 2), seed=51)
    mask = causal_mask(5)
    tensors = [Tensor(a.copy(), requires_grad=True) for a in (q, k, v)]
    attention(*tensors, mask, np.empty((2, 5, 5))).backward(g)
    assert_attention_gradients(tensors, (q, k, v), mask, g, rtol=GRAD_RTOL, atol=GRAD_ATOL,
                               what="attention(Q, K (2, 5, 3), V (2, 5, 2), causal_mask(5)).backward(g), tiles of 2 query rows")


# ------------------------------------------------------------------------ heads


@pytest.mark.points(2)
def test_split_and_merge_heads():
    x = sample((2, 3, 6), seed=19)
    heads = split_heads(Tensor(x), 3)
    assert heads.shape == (2, 3, 3, 2), f"split_heads(x (2, 3, 6), 3) should be (B, H, T, D) = (2, 3, 3, 2); got {heads.shape}"
    want = np.zeros((2, 3, 3, 2))
    for h in range(3):
        want[:, h] = x[:, :, 2 * h:2 * h + 2]                   # head h: channels 2h, 2h+1
    assert_close(heads, want, what="split_heads(x (2, 3, 6), 3): head h at time t should be x[b, t, 2h:2h+2]")
    back = merge_heads(heads)
    assert_close(back, x, what="merge_heads(split_heads(x, 3)) should give x back")


# ------------------------------------------------------------------------ MultiHeadAttention


@pytest.mark.points(2)
def test_multi_head_attention_init():
    mha = MultiHeadAttention(12, 3, rng=np.random.default_rng(SEED))
    assert (mha.embed_dim, mha.num_heads, mha.head_dim) == (12, 3, 4), (
        f"MultiHeadAttention(12, 3): embed_dim, num_heads, head_dim should be 12, 3, 4; "
        f"got {mha.embed_dim}, {mha.num_heads}, {mha.head_dim}")
    for name in PROJECTIONS:
        layer = getattr(mha, f"{name}_proj", None)
        assert isinstance(layer, Linear) and layer.weight.shape == (12, 12), (
            f"MultiHeadAttention(12, 3).{name}_proj should be a Linear(12, 12); got {layer!r}")
    assert len(mha.parameters()) == 8, (
        f"MultiHeadAttention(12, 3).parameters() should hold 4 weights and 4 biases; got {len(mha.parameters())}")
    with pytest.raises(ValueError, match=r"10.*3"):
        MultiHeadAttention(10, 3)


@pytest.mark.points(3)
def test_multi_head_attention_matches_reference():
    mha = f64_mha(8, 2)
    x = sample((2, 4, 8), seed=20)
    out = mha(Tensor(x), mask=causal_mask(4))
    want = multi_head_attention_reference(x, mha_params(mha), 2, causal_mask(4))
    assert_close(out, want, rtol=1e-10, atol=1e-12,
                 what="MultiHeadAttention(8, 2)(x (2, 4, 8), mask=causal_mask(4)), float64 parameters")


@pytest.mark.points(3)
def test_multi_head_attention_gradients():
    mha = f64_mha(4, 2, seed=1)
    x = sample((2, 3, 4), seed=21)
    g = sample((2, 3, 4), seed=22)
    mask = causal_mask(3)
    xt = Tensor(x.copy(), requires_grad=True)
    mha(xt, mask=mask).backward(g)
    params = mha_params(mha)
    what = "MultiHeadAttention(4, 2)(x (2, 3, 4), causal).backward(g)"
    assert xt.grad is not None, f"{what}: x.grad is None"
    want = numerical_gradient(lambda a: float(np.sum(multi_head_attention_reference(a, params, 2, mask) * g)), x.copy())
    assert_close(xt.grad, want, rtol=GRAD_RTOL, atol=GRAD_ATOL, what=f"{what}: x.grad (expected: finite differences)")
    for name in PROJECTIONS:
        layer = getattr(mha, f"{name}_proj")
        for slot, attr in enumerate(("weight", "bias")):
            def loss(a, name=name, slot=slot):
                changed = dict(params)
                pair = list(changed[name])
                pair[slot] = a
                changed[name] = tuple(pair)
                return float(np.sum(multi_head_attention_reference(x, changed, 2, mask) * g))

            got = getattr(layer, attr).grad
            assert got is not None, f"{what}: {name}_proj.{attr}.grad is None"
            want = numerical_gradient(loss, getattr(layer, attr).data.copy())
            assert_close(got, want, rtol=GRAD_RTOL, atol=GRAD_ATOL,
                         what=f"{what}: {name}_proj.{attr}.grad (expected: finite differences)")


@pytest.mark.points(3)
def test_causal_attention_does_not_see_the_future():
    mha = MultiHeadAttention(8, 2, rng=np.random.default_rng(SEED))
    x = sample((2, 6, 8), seed=23).astype(np.float32)
    changed = x.copy()
    changed[:, 4:] = sample((2, 2, 8), seed=24)               # change tokens 4 and 5 only
    before = mha(Tensor(x), mask=causal_mask(6)).data
    after = mha(Tensor(changed), mask=causal_mask(6)).data
    assert np.array_equal(before[:, :4], after[:, :4]), (
        "MultiHeadAttention with causal_mask(6): changing tokens 4 and 5 changed the outputs at positions "
        "0-3; position t must depend on tokens 0..t only")
    assert not np.allclose(before[:, 4:], after[:, 4:]), (
        "MultiHeadAttention: changing tokens 4 and 5 should change the outputs at positions 4 and 5")


# ------------------------------------------------------------------------ systems questions


@pytest.mark.points(2)
def test_systems_questions():
    assert attention_memory_bytes(2, 4, 16) == 2 * 4 * 16 * 16 * 4, (
        f"attention_memory_bytes(2, 4, 16) should be 2*4*16*16 float32 numbers = 8192 bytes; "
        f"got {attention_memory_bytes(2, 4, 16)}")
    assert attention_memory_bytes(1, 1, 3, np.float64) == 72, "attention_memory_bytes(1, 1, 3, float64) should be 72"
    batch, seq_len, heads, head_dim = 2, 10, 4, 8
    per_head = matmul_flops(seq_len, head_dim, seq_len) + matmul_flops(seq_len, seq_len, head_dim)
    want = batch * heads * per_head
    got = attention_flops(batch, seq_len, heads * head_dim)
    assert got == want, (f"attention_flops(2, 10, 32) should be B * H * (FLOPs of Q @ K^T + of weights @ V) "
                         f"= {want}; got {got}")
    want = 4 * batch * matmul_flops(seq_len, 32, 32)
    assert projection_flops(batch, seq_len, 32) == want, (
        f"projection_flops(2, 10, 32) should be 4 projections x B x matmul_flops(10, 32, 32) = {want}; "
        f"got {projection_flops(batch, seq_len, 32)}")
    params = 4 * (4 * 4 + 4)                                  # 4 weights (C, C) and 4 biases (C,)
    t = 1
    while 1 * 2 * t * t <= params:
        t += 1
    got = scores_exceed_weights_seq_len(1, 2, 4)
    assert got == t, (f"scores_exceed_weights_seq_len(1, 2, 4) should be {t}, the smallest T with "
                      f"1 * 2 * T^2 > {params} parameters; got {got}")
