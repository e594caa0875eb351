"""Visible tests for module 13 (transformers). Run them with `make test M=13`.

Expected values come from float64 references in `tinytorch.testing` written another way:
LayerNorm one vector at a time with np.var, attention one head at a time (module 12's
reference), GELU from its formula, a whole GPT from its parameter arrays. Gradients are checked
against central finite differences, never against another backward. `FakeKVCache` is a stand-in
for module 14's cache: it follows the cache protocol by recomputing full attention.
"""

import numpy as np
import pytest

from tinytorch.core.activations import GELU
from tinytorch.core.attention import MultiHeadAttention, causal_mask
from tinytorch.core.layers import Linear, Sequential
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.tensor import Tensor
from tinytorch.models.transformer import (
    GPT,
    MLP,
    LayerNorm,
    TransformerBlock,
    gpt_flops_per_token,
    gpt_param_count,
    layer_norm,
    next_token_probs,
)
from tinytorch.testing import (
    FakeKVCache,
    assert_close,
    block_reference,
    check_backward,
    check_sampled_gradients,
    gelu_reference,
    gpt_forward_reference,
    gpt_named_parameters,
    layer_norm_reference,
    randomize_float64,
)

SEED = 0
F32_RTOL, F32_ATOL = 1e-4, 1e-5      # float32 model outputs against a float64 reference


def sample(shape, seed=SEED, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


def tiny_gpt(vocab=7, dim=8, layers=1, heads=2, max_len=6, seed=SEED):
    return GPT(vocab, dim, layers, heads, max_len, rng=np.random.default_rng(seed))


# ------------------------------------------------------------------------ LayerNorm


@pytest.mark.points(4)
def test_layer_norm_forward_matches_numpy():
    x = sample((2, 3, 8), seed=1) * 3 + 1
    x[1, 2] = sample(8, seed=2) * 1e-3                 # variance ~1e-6: eps (1e-5) matters
    x[0, 1] = 4.0                                      # a constant vector: variance 0
    w, b = sample(8, seed=3), sample(8, seed=4)
    out = layer_norm(Tensor(x.astype(np.float32)), Tensor(w.astype(np.float32)), Tensor(b.astype(np.float32)))
    assert isinstance(out, Tensor) and out.dtype == np.float32, (
        f"layer_norm of float32 Tensors should return a float32 Tensor; got {type(out).__name__} "
        f"{getattr(out, 'dtype', '')}")
    assert_close(out, layer_norm_reference(x, w, b, 1e-5), rtol=F32_RTOL, atol=F32_ATOL,
                 what="layer_norm(x (2, 3, 8), weight, bias), normalised over the last axis with the "
                      "biased variance and eps=1e-5")
    assert_close(out.data[0, 1], b, rtol=F32_RTOL, atol=F32_ATOL,
                 what="layer_norm of a constant vector (variance 0) should be exactly the bias")


@pytest.mark.points(4)
def test_layer_norm_backward_matches_finite_differences():
    x = sample((3, 4, 6), seed=5) * 2 + 0.5
    w, b = sample(6, seed=6) + 1.0, sample(6, seed=7)
    check_backward(lambda a, c, d: layer_norm(a, c, d), [x, w, b],
                   "layer_norm(a (3, 4, 6), b (6,), c (6,))", seed=SEED)


@pytest.mark.points(3)
def test_layernorm_module():
    ln = LayerNorm(5)
    assert ln.eps == 1e-5, f"LayerNorm(5).eps should default to 1e-5; got {ln.eps!r}"
    assert np.array_equal(ln.weight.data, np.ones(5)) and np.array_equal(ln.bias.data, np.zeros(5)), (
        f"LayerNorm(5) should start with weight ones(5), bias zeros(5); got {ln.weight.data}, {ln.bias.data}")
    params = ln.parameters()
    assert len(params) == 2 and params[0] is ln.weight and params[1] is ln.bias, (
        "LayerNorm(5).parameters() should be [weight, bias]")
    x = sample((4, 5), seed=8).astype(np.float32)
    ln.weight.data = sample(5, seed=9).astype(np.float32)
    assert_close(LayerNorm(5, eps=0.5)(Tensor(x)), layer_norm_reference(x, 1, 0, 0.5), rtol=F32_RTOL,
                 atol=F32_ATOL, what="LayerNorm(5, eps=0.5)(x (4, 5))")
    assert_close(ln(Tensor(x)), layer_norm_reference(x, ln.weight.data, 0, 1e-5), rtol=F32_RTOL,
                 atol=F32_ATOL, what="LayerNorm(5) with a changed weight, on x (4, 5)")
    with pytest.raises(ValueError, match="5"):
        ln(Tensor(np.zeros((4, 3))))
    with pytest.raises(ValueError, match="dim"):
        LayerNorm(0)


# ------------------------------------------------------------------------ MLP, block


@pytest.mark.points(3)
def test_mlp_is_a_sequential_of_linear_gelu_linear():
    mlp = MLP(4, 12, rng=np.random.default_rng(1))
    assert isinstance(mlp, Sequential), f"MLP must be a subclass of Sequential; its bases are {type(mlp).__mro__[1:]}"
    kinds = [type(layer) for layer in mlp.layers]
    assert kinds == [Linear, GELU, Linear], f"MLP(4, 12).layers should be [Linear, GELU, Linear]; got {kinds}"
    first, _, second = mlp.layers
    assert first.weight.shape == (4, 12) and second.weight.shape == (12, 4), (
        f"MLP(4, 12): the Linears should map 4 -> 12 -> 4; got weights {first.weight.shape}, {second.weight.shape}")
    second.bias.data = sample(4, seed=2).astype(np.float32)
    x = sample((2, 3, 4), seed=3).astype(np.float32)
    want = gelu_reference(x @ first.weight.data.astype(np.float64) + first.bias.data) @ second.weight.data + second.bias.data
    assert_close(mlp(Tensor(x)), want, rtol=F32_RTOL, atol=F32_ATOL, what="MLP(4, 12)(x (2, 3, 4))")


@pytest.mark.points(3)
def test_block_is_identity_when_residual_branches_are_zero():
    block = TransformerBlock(8, 2, rng=np.random.default_rng(4))
    assert isinstance(block.attn, MultiHeadAttention) and isinstance(block.ln1, LayerNorm) \
        and isinstance(block.ln2, LayerNorm) and isinstance(block.mlp, MLP), (
            "TransformerBlock should have ln1 (LayerNorm), attn (MultiHeadAttention), ln2 (LayerNorm), mlp (MLP)")
    assert block.mlp.layers[0].weight.shape == (8, 32), "TransformerBlock(8, 2): the MLP's hidden width should be 4 * 8"
    for layer in (block.attn.out_proj, block.mlp.layers[2]):
        layer.weight.data = np.zeros_like(layer.weight.data)
        layer.bias.data = np.zeros_like(layer.bias.data)
    x = sample((2, 5, 8), seed=5).astype(np.float32) * 3
    assert_close(block(Tensor(x), causal_mask(5)), x, rtol=1e-6, atol=1e-6,
                 what="TransformerBlock with attn.out_proj and the MLP's last Linear set to zero: x + 0 + 0 "
                      "should give x back (residual connections around both branches)")


@pytest.mark.points(4)
def test_block_matches_pre_norm_reference():
    block = TransformerBlock(8, 2, rng=np.random.default_rng(6))
    for k, ln in enumerate((block.ln1, block.ln2)):
        ln.weight.data = (1 + sample(8, seed=7 + k, scale=0.3)).astype(np.float32)
        ln.bias.data = sample(8, seed=9 + k, scale=0.3).astype(np.float32)
    x = sample((2, 5, 8), seed=11).astype(np.float32)
    allowed = causal_mask(5)
    assert_close(block(Tensor(x), allowed), block_reference(block, x, allowed), rtol=F32_RTOL, atol=F32_ATOL,
                 what="TransformerBlock(8, 2)(x (2, 5, 8), causal mask): x + attn(ln1(x)), then + mlp(ln2(.))")


# ------------------------------------------------------------------------ GPT


@pytest.mark.points(4)
def test_gpt_logits_match_reference():
    model = tiny_gpt(vocab=11, dim=8, layers=2, heads=2, max_len=6)
    ids = np.random.default_rng(1).integers(0, 11, (3, 5))
    logits = model(ids)
    assert isinstance(logits, Tensor) and logits.shape == (3, 5, 11), (
        f"GPT(vocab 11)(ids (3, 5)) should return logits of shape (3, 5, 11); got "
        f"{getattr(logits, 'shape', type(logits).__name__)}")
    assert_close(logits, gpt_forward_reference(model, ids), rtol=F32_RTOL, atol=F32_ATOL,
                 what="GPT(11, 8, 2 layers, 2 heads, 6)(ids (3, 5)) logits")


@pytest.mark.points(3)
def test_gpt_is_causal():
    model = tiny_gpt(vocab=7, dim=8, layers=2, heads=2, max_len=6, seed=2)
    ids = np.random.default_rng(3).integers(0, 7, (2, 6))
    before = model(ids).data
    for t in (5, 2):
        changed = ids.copy()
        changed[:, t] = (changed[:, t] + 1) % 7
        after = model(changed).data
        assert_close(after[:, :t], before[:, :t], rtol=1e-6, atol=1e-6,
                     what=f"GPT logits of positions 0..{t - 1} after changing the token at position {t} "
                          f"(a later token must never change earlier logits)")
        assert not np.allclose(after[:, t], before[:, t]), (
            f"changing the token at position {t} should change the logits at position {t}")


@pytest.mark.points(4)
def test_gpt_parameter_gradients_match_finite_differences():
    model = tiny_gpt(vocab=7, dim=8, layers=1, heads=2, max_len=4, seed=4)
    named = gpt_named_parameters(model)
    randomize_float64(named, seed=5)
    ids = np.random.default_rng(6).integers(0, 7, (2, 4))
    weights = sample((2, 4, 7), seed=7)
    check_sampled_gradients(named, lambda: (model(ids) * Tensor(weights)).sum(), seed=8,
                            what="tiny GPT(7, 8, 1 layer, 2 heads, 4), loss sum(logits * w)")


@pytest.mark.points(3)
def test_parameter_count_matches_the_model_and_the_formula():
    for args in ((7, 8, 1, 2, 4), (11, 16, 3, 4, 9)):
        model = GPT(*args, rng=np.random.default_rng(0))
        real = sum(p.size for p in model.parameters())
        assert gpt_param_count(*args) == real, (
            f"gpt_param_count{args} should equal the parameters of GPT{args}: {real}; got {gpt_param_count(*args)}")
    v, c, n, t = 65, 128, 4, 128
    per_block = 4 * c + 4 * c * c + 4 * c + c * 4 * c + 4 * c + 4 * c * c + c
    want = v * c + t * c + n * per_block + 2 * c + c * v + v
    assert gpt_param_count(v, c, n, 4, t) == want, (
        f"gpt_param_count(65, 128, 4, 4, 128) (milestone 4's model) should be {want}; got "
        f"{gpt_param_count(v, c, n, 4, t)}")
    want_flops = 2 * (n * (4 * c * c + 2 * c * 4 * c + 2 * t * c) + c * v)
    assert gpt_flops_per_token(v, c, n, t) == want_flops, (
        f"gpt_flops_per_token(65, 128, 4, 128) should be {want_flops} (2 FLOPs per multiply-add: "
        f"projections, attention matmuls, MLP, head); got {gpt_flops_per_token(v, c, n, t)}")


# ------------------------------------------------------------------------ generation


@pytest.mark.points(2)
def test_next_token_probs_temperature_and_top_k():
    logits = np.array([[1.0, 3.0, 0.0, 2.0], [0.0, 0.0, 1.0, -1.0]])
    for temperature in (1.0, 0.5, 4.0):
        e = np.exp(logits / temperature)
        assert_close(next_token_probs(logits, temperature), e / e.sum(axis=1, keepdims=True), rtol=1e-9, atol=1e-12,
                     what=f"next_token_probs(logits (2, 4), temperature={temperature}) = softmax(logits / temperature)")
    e = np.exp(logits) * np.array([[0, 1, 0, 1], [1, 1, 1, 0]])
    assert_close(next_token_probs(logits, top_k=2)[0], e[0] / e[0].sum(), rtol=1e-9, atol=1e-12,
                 what="next_token_probs(logits, top_k=2) row 0: only the 2 largest logits keep a probability")
    with pytest.raises(ValueError, match="top_k"):
        next_token_probs(logits, top_k=5)


@pytest.mark.points(4)
def test_generate_shape_seed_and_greedy():
    model = tiny_gpt(vocab=7, dim=8, layers=1, heads=2, max_len=10, seed=9)
    prompt = [[1, 2, 3], [4, 5, 6]]
    out = model.generate(prompt, 4, seed=5)
    assert isinstance(out, np.ndarray) and out.dtype == np.int64 and out.shape == (2, 7), (
        f"generate(prompt (2, 3), 4) should return an int64 array of shape (2, 7); got "
        f"{type(out).__name__} {getattr(out, 'dtype', '')} {getattr(out, 'shape', '')}")
    assert np.array_equal(out[:, :3], prompt), f"generate should keep the prompt in front; got {out[:, :3]}"
    assert np.array_equal(model.generate(prompt, 4, seed=5), out), (
        "generate with the same seed should give the same tokens twice")
    greedy = np.array(prompt)
    for _ in range(4):
        nxt = gpt_forward_reference(model, greedy)[:, -1].argmax(axis=-1)
        greedy = np.concatenate([greedy, nxt[:, None]], axis=1)
    got = model.generate(prompt, 4, top_k=1, use_cache=False)
    assert np.array_equal(got, greedy), (
        f"generate(prompt, 4, top_k=1) should append the argmax of the LAST position's logits each step: "
        f"expected {greedy.tolist()}, got {got.tolist()}")
    with pytest.raises(ValueError, match="temperature"):
        model.generate(prompt, 2, temperature=0.0)
    with pytest.raises(ValueError, match="max_seq_len"):
        model.generate(prompt, 8)


@pytest.mark.points(4)
def test_cached_generation_equals_uncached():
    model = tiny_gpt(vocab=7, dim=8, layers=2, heads=2, max_len=10, seed=10)
    ids = np.random.default_rng(11).integers(0, 7, (2, 6))
    full = model(ids).data
    cache = FakeKVCache()
    first = model(ids[:, :4], cache=cache, start_pos=0).data
    step = model(ids[:, 4:5], cache=cache, start_pos=4).data
    assert_close(first, full[:, :4], rtol=F32_RTOL, atol=F32_ATOL,
                 what="GPT(ids[:, :4], cache=FakeKVCache(), start_pos=0) against GPT(ids)[:, :4]")
    assert_close(step, full[:, 4:5], rtol=F32_RTOL, atol=F32_ATOL,
                 what="then GPT(ids[:, 4:5], cache=same cache, start_pos=4) against GPT(ids)[:, 4:5] "
                      "(the token at position 4 needs position vector 4)")
    assert cache.calls == [(0, 4, 0), (1, 4, 0), (0, 1, 4), (1, 1, 4)], (
        f"each block should call cache.attend(attn, ln1(x), layer_idx, start_pos); the calls as "
        f"(layer_idx, T_new, start_pos) were {cache.calls}")
    prompt = ids[:, :3]
    cache = FakeKVCache()
    cached = model.generate(prompt, 5, top_k=1, cache=cache)
    uncached = model.generate(prompt, 5, top_k=1, use_cache=False)
    assert np.array_equal(cached, uncached), (
        f"greedy generate with a cache should give the tokens of uncached generation: "
        f"{uncached.tolist()}; got {cached.tolist()}")
    assert [c[1:] for c in cache.calls if c[0] == 0] == [(3, 0), (1, 3), (1, 4), (1, 5), (1, 6)], (
        f"cached generate should feed the prompt once from position 0, then one token at a time at its "
        f"position; layer 0's calls (T_new, start_pos) were {[c[1:] for c in cache.calls if c[0] == 0]}")


@pytest.mark.points(2)
def test_tiny_gpt_overfits_a_repeated_sequence():
    """~100 steps of Adam (written here: module 06 is not a prerequisite) on one repeated pattern."""
    vocab, t = 5, 8
    model = GPT(vocab, 16, 1, 2, t, rng=np.random.default_rng(12))
    pattern = np.array([0, 1, 2, 3, 4, 2, 1, 3, 0, 4, 3, 1])
    starts = np.arange(4)
    x = np.stack([pattern[s:s + t] for s in starts])
    y = np.stack([pattern[s + 1:s + t + 1] for s in starts])
    params = model.parameters()
    m = [np.zeros_like(p.data) for p in params]
    v = [np.zeros_like(p.data) for p in params]
    lr, b1, b2, loss_fn = 1e-2, 0.9, 0.99, CrossEntropyLoss()
    first = None
    for step in range(1, 101):
        for p in params:
            p.grad = None
        loss = loss_fn(model(x).reshape(-1, vocab), y.reshape(-1))
        loss.backward()
        first = float(loss.data) if first is None else first
        for p, mi, vi in zip(params, m, v):
            g = p.grad.data
            mi[...] = b1 * mi + (1 - b1) * g
            vi[...] = b2 * vi + (1 - b2) * g * g
            p.data = p.data - lr * (mi / (1 - b1 ** step)) / (np.sqrt(vi / (1 - b2 ** step)) + 1e-8)
    final = float(loss_fn(model(x).reshape(-1, vocab), y.reshape(-1)).data)
    assert first > 1.3 and final < 0.1, (
        f"a GPT(5, 16, 1 layer, 2 heads, 8) trained 100 Adam steps on 4 windows of one sequence should "
        f"go from about log(5) = 1.6 to below 0.1; went from {first:.3f} to {final:.3f}")
