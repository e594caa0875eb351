"""Hidden tests for module 13 (transformers): LayerNorm on other shapes, the biased variance, eps,
gradients of every input alone and on 1-D and 4-D inputs, errors; MLP and block structure, the
cache protocol inside a block, block gradients; GPT-2 initialisation and seeding, positions from
start_pos, errors, causality at every position, two-layer gradients; temperature and top-k
probabilities, sampling frequencies; generation seeds, errors, the cache factory, no_grad, top-k
generation; the systems questions on more inputs."""

import math

import numpy as np
import pytest

from tinytorch.core.attention import causal_mask
from tinytorch.core.autograd import is_grad_enabled
from tinytorch.core.layers import Linear
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
    sample_next_token,
)
from tinytorch.testing import (
    FakeKVCache,
    assert_close,
    block_reference,
    check_backward,
    check_sampled_gradients,
    gpt_forward_reference,
    gpt_named_parameters,
    layer_norm_reference,
    randomize_float64,
)

SEED = 3
F32_RTOL, F32_ATOL = 1e-4, 1e-5


def sample(shape, seed=SEED, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


def tiny_gpt(vocab=7, dim=8, layers=1, heads=2, max_len=8, seed=SEED):
    return GPT(vocab, dim, layers, heads, max_len, rng=np.random.default_rng(seed))


def softmax64(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ------------------------------------------------------------------------ LayerNorm


@pytest.mark.points(2)
def test_layer_norm_normalises_the_last_axis_of_any_shape():
    for shape in ((6,), (3, 5, 7), (2, 2, 3, 4)):
        x = sample(shape, seed=len(shape)) * 4 - 2
        w, b = sample(shape[-1], seed=10), sample(shape[-1], seed=11)
        out = layer_norm(Tensor(x), Tensor(w), Tensor(b))
        assert out.dtype == np.float64, f"layer_norm of float64 Tensors should stay float64; got {out.dtype}"
        assert_close(out, layer_norm_reference(x, w, b), rtol=1e-7, atol=1e-9,
                     what=f"layer_norm(x {shape}, weight, bias) over the last axis")
        plain = layer_norm(Tensor(x), Tensor(np.ones(shape[-1])), Tensor(np.zeros(shape[-1]))).data
        assert np.allclose(plain.mean(axis=-1), 0, atol=1e-9) and np.allclose(plain.var(axis=-1), 1, atol=1e-4), (
            f"layer_norm(x {shape}) with weight 1, bias 0: every vector of the last axis should have mean 0 "
            f"and variance 1")


@pytest.mark.points(2)
def test_layer_norm_uses_the_biased_variance_and_its_eps():
    x = np.array([[1.0, 3.0], [0.0, 0.002], [2.0, -1.0]])           # D = 2: unbiased variance is twice
    ones, zeros = Tensor(np.ones(2)), Tensor(np.zeros(2))
    assert_close(layer_norm(Tensor(x), ones, zeros), layer_norm_reference(x, 1, 0, 1e-5), rtol=1e-7, atol=1e-9,
                 what="layer_norm([[1, 3], [0, 0.002], [2, -1]]) with the BIASED variance (divide by D) and eps 1e-5")
    x3 = np.array([[0.0, 1e-3, 2e-3], [5.0, 5.0, 5.0], [1.0, 2.0, 6.0]])
    for eps in (1e-5, 0.1, 0.0):
        rows = x3 if eps else x3[[0, 2]]
        assert_close(layer_norm(Tensor(rows), Tensor(np.ones(3)), Tensor(np.zeros(3)), eps=eps),
                     layer_norm_reference(rows, 1, 0, eps), rtol=1e-7, atol=1e-9,
                     what=f"layer_norm(rows with tiny, zero and large variance, eps={eps})")


@pytest.mark.points(3)
def test_layer_norm_gradients_on_1d_and_4d_inputs():
    check_backward(lambda a, c, d: layer_norm(a, c, d), [sample(5, seed=20) * 2, sample(5, seed=21) + 1,
                                                         sample(5, seed=22)],
                   "layer_norm(a (5,), b (5,), c (5,))", seed=SEED)
    check_backward(lambda a, c, d: layer_norm(a, c, d, eps=0.3),
                   [sample((2, 2, 3, 4), seed=23), sample(4, seed=24) + 1, sample(4, seed=25)],
                   "layer_norm(a (2, 2, 3, 4), b (4,), c (4,), eps=0.3)", seed=SEED + 1)


@pytest.mark.points(2)
def test_layer_norm_gradients_only_for_inputs_that_require_them():
    arrays = [sample((3, 6), seed=26), sample(6, seed=27) + 1, sample(6, seed=28)]
    fn = lambda a, c, d: layer_norm(a, c, d)                                  # noqa: E731
    check_backward(fn, arrays, "layer_norm(a, b, c) with only a requiring grad", seed=SEED, needs=[True, False, False])
    check_backward(fn, arrays, "layer_norm(a, b, c) with a constant", seed=SEED, needs=[False, True, True])


@pytest.mark.points(2)
def test_layer_norm_and_layernorm_errors():
    x = Tensor(np.zeros((2, 4)))
    with pytest.raises(TypeError):
        layer_norm(np.zeros((2, 4)), Tensor(np.ones(4)), Tensor(np.zeros(4)))
    with pytest.raises(ValueError, match=r"\(3,\)"):
        layer_norm(x, Tensor(np.ones(3)), Tensor(np.zeros(4)))
    with pytest.raises(ValueError):
        layer_norm(Tensor(1.0), Tensor(np.ones(1)), Tensor(np.zeros(1)))
    for bad in (True, 0, -3, 2.5):
        with pytest.raises(ValueError, match="dim"):
            LayerNorm(bad)
    for bad in (-1e-5, True, float("nan")):
        with pytest.raises(ValueError, match="eps"):
            LayerNorm(4, eps=bad)
    with pytest.raises(ValueError, match=r"\(2, 5\)"):
        LayerNorm(4)(Tensor(np.zeros((2, 5))))


# ------------------------------------------------------------------------ MLP and block


@pytest.mark.points(2)
def test_mlp_seeding_parameter_order_and_errors():
    a, b = MLP(3, 7, rng=np.random.default_rng(1)), MLP(3, 7, rng=np.random.default_rng(1))
    first, _, second = a.layers
    params = a.parameters()
    assert [id(p) for p in params] == [id(first.weight), id(first.bias), id(second.weight), id(second.bias)], (
        "MLP(3, 7).parameters() should be [first Linear weight, bias, second Linear weight, bias]")
    assert all(np.array_equal(p.data, q.data) for p, q in zip(params, b.parameters())), (
        "two MLP(3, 7, rng=default_rng(1)) should have identical weights")
    assert (a.dim, a.hidden) == (3, 7), f"MLP(3, 7) should store dim 3 and hidden 7; got {(a.dim, a.hidden)}"
    for args in ((0, 4), (4, 0)):
        with pytest.raises(ValueError):
            MLP(*args)


@pytest.mark.points(2)
def test_block_mlp_ratio_parameter_order_and_errors():
    block = TransformerBlock(8, 4, mlp_ratio=2, rng=np.random.default_rng(2))
    assert block.mlp.layers[0].weight.shape == (8, 16), (
        f"TransformerBlock(8, 4, mlp_ratio=2): the MLP's hidden width should be 16; got "
        f"{block.mlp.layers[0].weight.shape}")
    want = [block.ln1.weight, block.ln1.bias, *block.attn.parameters(), block.ln2.weight, block.ln2.bias,
            *block.mlp.parameters()]
    assert [id(p) for p in block.parameters()] == [id(p) for p in want], (
        "TransformerBlock.parameters() should follow ln1, attn, ln2, mlp")
    with pytest.raises(ValueError):
        TransformerBlock(10, 3)
    with pytest.raises(ValueError, match="mlp_ratio"):
        TransformerBlock(8, 2, mlp_ratio=0)


@pytest.mark.points(2)
def test_block_matches_reference_without_mask_in_float64():
    block = TransformerBlock(12, 3, rng=np.random.default_rng(4))
    for p in block.parameters():
        p.data = p.data.astype(np.float64) + sample(p.shape, seed=p.size, scale=0.2)
    x = sample((2, 4, 12), seed=5)
    out = block(Tensor(x))
    assert out.dtype == np.float64, f"a float64 block on float64 input should give float64; got {out.dtype}"
    assert_close(out, block_reference(block, x), rtol=1e-7, atol=1e-9,
                 what="TransformerBlock(12, 3)(x (2, 4, 12)) without a mask, float64 parameters")


class ZeroCache:
    """A cache that records its calls and returns zeros: the block's attention branch adds nothing."""

    def __init__(self):
        self.calls = []

    def reset(self):
        pass

    def attend(self, attn, x_new, layer_idx, start_pos):
        self.calls.append((attn, x_new.shape, layer_idx, start_pos))
        return Tensor(np.zeros(x_new.shape, dtype=x_new.dtype))


@pytest.mark.points(2)
def test_block_calls_the_cache_instead_of_attention():
    block = TransformerBlock(8, 2, rng=np.random.default_rng(6))
    x = sample((2, 3, 8), seed=7).astype(np.float32)
    cache = ZeroCache()
    out = block(Tensor(x), cache=cache, layer_idx=5, start_pos=2)
    assert len(cache.calls) == 1 and cache.calls[0][0] is block.attn and cache.calls[0][1:] == ((2, 3, 8), 5, 2), (
        f"block(x, cache=c, layer_idx=5, start_pos=2) should call c.attend(block.attn, ln1(x), 5, 2) once; "
        f"calls (attn is block.attn, shape, layer_idx, start_pos): "
        f"{[(c[0] is block.attn, *c[1:]) for c in cache.calls]}")
    block.attn.out_proj.weight.data = np.zeros_like(block.attn.out_proj.weight.data)
    block.attn.out_proj.bias.data = np.zeros_like(block.attn.out_proj.bias.data)
    assert_close(out, block(Tensor(x), causal_mask(3)), rtol=F32_RTOL, atol=F32_ATOL,
                 what="a block whose cache returns zeros, against the same block with attention zeroed")
    fake = FakeKVCache()
    block2 = TransformerBlock(8, 2, rng=np.random.default_rng(8))
    assert_close(block2(Tensor(x), mask=np.zeros((3, 3), dtype=bool), cache=fake), block2(Tensor(x), causal_mask(3)),
                 rtol=F32_RTOL, atol=F32_ATOL, what="a block with a cache ignores `mask` (the cache masks)")


@pytest.mark.points(2)
def test_block_gradients_through_both_residual_paths():
    block = TransformerBlock(6, 2, mlp_ratio=2, rng=np.random.default_rng(9))
    named = [(f"param {i} {tuple(p.shape)}", p) for i, p in enumerate(block.parameters())]
    randomize_float64(named, seed=10)
    for name, p in named[:2] + named[10:12]:                 # the LayerNorms
        p.data = 1.0 + sample(p.shape, seed=p.size + 1, scale=0.3)
    x = Tensor(sample((2, 3, 6), seed=11), requires_grad=True)
    weights = sample((2, 3, 6), seed=12)
    check_sampled_gradients([("x", x), *named], lambda: (block(x, causal_mask(3)) * Tensor(weights)).sum(),
                            seed=13, per_tensor=4, what="TransformerBlock(6, 2, mlp_ratio=2), loss sum(out * w)")


# ------------------------------------------------------------------------ GPT


@pytest.mark.points(2)
def test_gpt_init_follows_gpt2_and_is_seeded():
    layers = 3
    model = GPT(50, 64, layers, 4, 40, rng=np.random.default_rng(14))
    named = gpt_named_parameters(model)
    assert len(named) == len(model.parameters()), "GPT.parameters() should hold every parameter exactly once"
    residual = 0.02 / math.sqrt(2 * layers)
    for name, p in named:
        assert p.dtype == np.float32, f"GPT parameter {name} should be float32; got {p.dtype}"
        d = p.data
        if ".ln" in name or name.startswith("ln_f"):
            want = np.ones(p.shape) if name.endswith("weight") else np.zeros(p.shape)
            assert np.array_equal(d, want), f"GPT {name} should start at {'ones' if want.any() else 'zeros'}"
        elif name.endswith("bias"):
            assert not d.any(), f"GPT {name} should start at zeros"
        else:
            std = residual if ("out_proj" in name or "mlp[2]" in name) else 0.02
            assert abs(d.mean()) < 3 * std / math.sqrt(d.size) + 1e-4 and abs(d.std() / std - 1) < 0.08, (
                f"GPT {name} should be drawn from N(0, {std:.5f}^2) (GPT-2's init); got mean {d.mean():.5f}, "
                f"std {d.std():.5f}")
    again = GPT(50, 64, layers, 4, 40, rng=np.random.default_rng(14))
    other = GPT(50, 64, layers, 4, 40, rng=np.random.default_rng(15))
    assert all(np.array_equal(p.data, q.data) for p, q in zip(model.parameters(), again.parameters())), (
        "two GPTs built with rng=default_rng(14) should be identical")
    assert not np.array_equal(model.head.weight.data, other.head.weight.data), "another seed should give other weights"


@pytest.mark.points(2)
def test_gpt_positions_start_at_start_pos_without_cache():
    model = tiny_gpt(vocab=9, dim=8, layers=1, heads=2, max_len=10, seed=16)
    ids = np.random.default_rng(17).integers(0, 9, (2, 4))
    assert_close(model(ids, start_pos=5), gpt_forward_reference(model, ids, start_pos=5), rtol=F32_RTOL,
                 atol=F32_ATOL, what="GPT(ids (2, 4), start_pos=5): positions 5..8, causal within the 4 tokens")
    assert_close(model(ids, start_pos=6), gpt_forward_reference(model, ids, start_pos=6), rtol=F32_RTOL,
                 atol=F32_ATOL, what="GPT(ids (2, 4), start_pos=6): the last allowed start (6 + 4 = max_seq_len)")


@pytest.mark.points(2)
def test_gpt_forward_errors_and_id_types():
    model = tiny_gpt(vocab=7, max_len=6)
    with pytest.raises(ValueError, match=r"(?s)(?=.*\b4\b)(?=.*\b6\b)"):
        model(np.zeros((1, 4), dtype=np.int64), start_pos=3)
    with pytest.raises(ValueError, match="6"):
        model(np.zeros((1, 7), dtype=np.int64))
    with pytest.raises(ValueError):
        model(np.zeros(5, dtype=np.int64))
    with pytest.raises(ValueError):
        model(np.zeros((2, 3), dtype=np.int64), start_pos=-1)
    with pytest.raises(IndexError, match="7"):
        model(np.array([[1, 7]]))
    with pytest.raises(ValueError):
        GPT(7, 10, 1, 3, 6)
    for bad in ((0, 8, 1, 2, 6), (7, 8, 0, 2, 6), (7, 8, 1, 2, 0)):
        with pytest.raises(ValueError):
            GPT(*bad)
    ids = [[1, 2, 3], [4, 5, 6]]
    want = model(np.array(ids)).data
    for form in (ids, Tensor(ids)):
        assert_close(model(form), want, what=f"GPT on ids given as {type(form).__name__}")


@pytest.mark.points(2)
def test_gpt_is_causal_at_every_position_with_two_layers():
    model = tiny_gpt(vocab=6, dim=8, layers=2, heads=4, max_len=7, seed=18)
    ids = np.random.default_rng(19).integers(0, 6, (2, 7))
    before = model(ids).data
    for t in range(7):
        changed = ids.copy()
        changed[:, t:] = (changed[:, t:] + 1 + np.arange(7 - t)) % 6
        after = model(changed).data
        assert_close(after[:, :t], before[:, :t], rtol=1e-6, atol=1e-6,
                     what=f"GPT logits of positions 0..{t - 1} after changing every token from position {t} on")


@pytest.mark.points(3)
def test_gpt_gradients_two_layers_four_heads_with_cross_entropy():
    from tinytorch.core.losses import CrossEntropyLoss

    model = tiny_gpt(vocab=5, dim=8, layers=2, heads=4, max_len=4, seed=20)
    named = gpt_named_parameters(model)
    randomize_float64(named, seed=21, scale=0.4)
    ids = Tensor(np.random.default_rng(22).integers(0, 5, (2, 4)))          # float ids: whole numbers
    targets = np.random.default_rng(23).integers(0, 5, 8)
    check_sampled_gradients(named, lambda: CrossEntropyLoss()(model(ids).reshape(8, 5), targets), seed=24,
                            per_tensor=2, what="GPT(5, 8, 2 layers, 4 heads, 4), cross-entropy of the logits")


# ------------------------------------------------------------------------ sampling


@pytest.mark.points(2)
def test_next_token_probs_divides_by_the_temperature():
    logits = sample((3, 6), seed=25) * 2
    for temperature in (1.0, 0.5, 2.0, 7.0):
        assert_close(next_token_probs(logits, temperature), softmax64(logits / temperature), rtol=1e-9, atol=1e-12,
                     what=f"next_token_probs(logits (3, 6), temperature={temperature}) = softmax(logits / T)")
    peaks = [next_token_probs(logits, t).max(axis=-1) for t in (2.0, 1.0, 0.5, 0.1)]
    assert all(np.all(a < b) for a, b in zip(peaks, peaks[1:])), (
        "a lower temperature should make the most likely token more likely (sharpen)")
    assert_close(next_token_probs(Tensor(logits.astype(np.float32)), 1.0), softmax64(logits.astype(np.float32)),
                 rtol=1e-6, atol=1e-7, what="next_token_probs of a float32 Tensor")


@pytest.mark.points(2)
def test_next_token_probs_top_k_keeps_exactly_k():
    logits = np.array([[0.5, 2.0, -1.0, 1.5, 0.0], [3.0, 1.0, 2.0, 0.0, -2.0]])
    copy = logits.copy()
    probs = next_token_probs(logits, top_k=2)
    want = np.zeros_like(logits)
    for row, keep in enumerate(([1, 3], [0, 2])):
        want[row, keep] = softmax64(logits[row, keep])
    assert_close(probs, want, rtol=1e-9, atol=1e-12, what="next_token_probs(logits (2, 5), top_k=2)")
    assert np.array_equal(logits, copy), "next_token_probs must not change the caller's logits"
    assert_close(next_token_probs(logits, top_k=5), softmax64(logits), rtol=1e-9, atol=1e-12,
                 what="next_token_probs with top_k = vocabulary size (no filtering)")
    assert_close(next_token_probs(logits, 0.3, top_k=1), np.eye(5)[[1, 0]], rtol=0, atol=1e-12,
                 what="next_token_probs(top_k=1): all the probability on the argmax")
    tied = next_token_probs(np.array([[1.0, 2.0, 2.0, 0.0]]), top_k=2)
    assert_close(tied, [[0, 0.5, 0.5, 0]], rtol=1e-9, atol=1e-12, what="next_token_probs([1, 2, 2, 0], top_k=2)")


@pytest.mark.points(2)
def test_next_token_probs_errors():
    logits = np.zeros((2, 4))
    for bad in (0.0, -1.0, True, float("inf")):
        with pytest.raises(ValueError, match="temperature"):
            next_token_probs(logits, temperature=bad)
    for bad in (0, 5, True, 1.5):
        with pytest.raises(ValueError, match=r"(?s)(?=.*top_k)(?=.*\b4\b)"):
            next_token_probs(logits, top_k=bad)
    with pytest.raises(ValueError, match=r"\(4,\)"):
        next_token_probs(np.zeros(4))


@pytest.mark.points(3)
def test_sample_next_token_frequencies_follow_the_probabilities():
    n = 20000
    logits = np.tile([1.0, 0.0, 2.0, -1.0, 0.5], (n, 1))
    tokens = sample_next_token(logits, rng=np.random.default_rng(26))
    assert isinstance(tokens, np.ndarray) and tokens.shape == (n,) and tokens.dtype == np.int64, (
        f"sample_next_token(logits ({n}, 5)) should return an int64 array of shape ({n},); got "
        f"{type(tokens).__name__} {getattr(tokens, 'dtype', '')} {getattr(tokens, 'shape', '')}")
    freq = np.bincount(tokens, minlength=5) / n
    want = softmax64(logits[0])
    assert np.all(np.abs(freq - want) < 0.015), (
        f"sample_next_token: frequencies over {n} draws should follow softmax(logits) = {want.round(3)}; "
        f"got {freq.round(3)}")
    hot = np.bincount(sample_next_token(logits, temperature=0.25, top_k=3, rng=np.random.default_rng(27)),
                      minlength=5) / n
    want = next_token_probs(logits[:1], 0.25, 3)[0]
    assert hot[1] == 0 and hot[3] == 0 and np.all(np.abs(hot - want) < 0.015), (
        f"sample_next_token(temperature=0.25, top_k=3): frequencies should be {want.round(3)} (tokens 1 and 3 "
        f"never); got {hot.round(3)}")
    again = sample_next_token(logits[:50], rng=np.random.default_rng(26))
    assert np.array_equal(again, tokens[:50]), "sample_next_token with the same rng seed should draw the same tokens"


# ------------------------------------------------------------------------ generation


@pytest.mark.points(2)
def test_generate_seeds_zero_new_tokens_and_prompt_types():
    model = tiny_gpt(vocab=7, max_len=30, seed=28)
    prompt = np.array([[0, 1], [2, 3], [4, 5]])
    a = model.generate(prompt, 20, temperature=3.0, seed=1)
    assert np.array_equal(model.generate(Tensor(prompt), 20, temperature=3.0, seed=1), a), (
        "generate with a Tensor prompt and the same seed should give the same tokens")
    assert not np.array_equal(model.generate(prompt, 20, temperature=3.0, seed=2), a), (
        "generate with seed=1 and seed=2 gave identical 60 tokens at temperature 3: is the seed used?")
    assert model.generate(prompt, 3).shape == (3, 5), "generate with seed=None should still work"
    zero = model.generate(prompt.tolist(), 0)
    assert isinstance(zero, np.ndarray) and zero.dtype == np.int64 and np.array_equal(zero, prompt), (
        f"generate(prompt, 0) should return the prompt as an int64 array; got {zero!r}")


@pytest.mark.points(2)
def test_generate_errors():
    model = tiny_gpt(vocab=7, max_len=8)
    prompt = [[1, 2, 3]]
    with pytest.raises(ValueError, match="temperature"):
        model.generate(prompt, 2, temperature=-0.5)
    with pytest.raises(ValueError, match="temperature"):
        model.generate(prompt, 0, temperature=0.0)
    with pytest.raises(ValueError, match=r"(?s)(?=.*top_k)(?=.*\b7\b)"):
        model.generate(prompt, 2, top_k=8)
    with pytest.raises(ValueError, match="top_k"):
        model.generate(prompt, 2, top_k=0)
    with pytest.raises(ValueError, match=r"(?s)(?=.*\b9\b)(?=.*\b8\b)"):
        model.generate([list(range(7)) + [0, 1]], 0)
    with pytest.raises(ValueError, match=r"(?s)(?=.*\b6\b)(?=.*\b8\b)"):
        model.generate(prompt, 6)
    with pytest.raises(ValueError):
        model.generate([1, 2, 3], 2)
    with pytest.raises(ValueError):
        model.generate(prompt, -1)
    with pytest.raises(IndexError):
        model.generate([[1, 9]], 2)


@pytest.mark.points(2)
def test_generate_uses_the_cache_factory_and_resets_the_cache():
    model = tiny_gpt(vocab=7, dim=8, layers=2, heads=2, max_len=12, seed=29)
    made = []

    def factory(m, batch_size, total_len):
        made.append((m, batch_size, total_len, FakeKVCache()))
        return made[-1][3]

    prompt = np.array([[1, 2, 3, 4], [5, 6, 0, 1]])
    plain = model.generate(prompt, 6, top_k=1, use_cache=False)
    model.cache_factory = factory
    assert not made, "generate(use_cache=False) must not call cache_factory"
    cached = model.generate(prompt, 6, top_k=1)
    assert len(made) == 1 and made[0][0] is model and made[0][1:3] == (2, 10), (
        f"generate(prompt (2, 4), 6) should call model.cache_factory(model, 2, 10) once; calls (model is "
        f"model, batch, total): {[(m[0] is model, *m[1:3]) for m in made]}")
    cache = made[0][3]
    assert np.array_equal(cached, plain), f"cached greedy tokens {cached.tolist()} != uncached {plain.tolist()}"
    assert cache.resets == 1 and sum(c[1] for c in cache.calls if c[0] == 1) == 4 + 5, (
        f"generate should reset the cache once and feed 4 prompt tokens + 5 single tokens to each layer; "
        f"resets {cache.resets}, layer 1 calls (T_new, start_pos): {[c[1:] for c in cache.calls if c[0] == 1]}")
    model.generate(prompt, 2, top_k=1, cache=cache)
    assert cache.resets == 2 and len(made) == 1, (
        "generate(..., cache=c) should use (and reset) the given cache, not the factory")
    del model.cache_factory
    calls = len(cache.calls)
    assert np.array_equal(model.generate(prompt, 6, top_k=1, temperature=0.1, cache=cache, use_cache=False), plain) \
        and len(cache.calls) == calls and cache.resets == 2, "generate(use_cache=False) must ignore a given cache"


@pytest.mark.points(2)
def test_generate_runs_under_no_grad():
    model = tiny_gpt(vocab=7, seed=30)
    seen = []
    forward = model.forward

    def spy(*args, **kwargs):
        out = forward(*args, **kwargs)
        seen.append((is_grad_enabled(), out.requires_grad))
        return out

    model.forward = spy
    model.generate([[1, 2]], 3, seed=0)
    assert seen and all(s == (False, False) for s in seen), (
        f"generate should run every forward under no_grad (no graph recorded); (grad enabled, logits "
        f"require grad) per call: {seen}")
    assert is_grad_enabled(), "grad mode should be back on after generate"


@pytest.mark.points(2)
def test_generate_with_top_k_stays_within_the_top_k_of_the_model():
    model = tiny_gpt(vocab=9, dim=8, layers=1, heads=2, max_len=14, seed=31)
    prompt = np.array([[1, 2], [3, 4], [5, 6]])
    out = model.generate(prompt, 12, top_k=2, temperature=5.0, seed=32)
    for t in range(2, 14):
        logits = gpt_forward_reference(model, out[:, :t])[:, -1]
        top2 = np.argsort(logits, axis=-1)[:, -2:]
        assert all(out[b, t] in top2[b] for b in range(3)), (
            f"generate(top_k=2): token at position {t} is {out[:, t].tolist()}, not among the two most likely "
            f"{top2.tolist()}")
    assert np.array_equal(model.generate(prompt, 12, top_k=1, temperature=9.0, seed=33),
                          model.generate(prompt, 12, top_k=1, use_cache=False)), (
        "generate(top_k=1) is greedy whatever the temperature and seed")


# ------------------------------------------------------------------------ systems questions


@pytest.mark.points(2)
def test_systems_questions_more_inputs():
    assert gpt_param_count(50257, 768, 12, 12, 1024) == 163087441, (
        f"gpt_param_count for GPT-2 small with an untied head (and its bias) should be 163087441; got "
        f"{gpt_param_count(50257, 768, 12, 12, 1024)}")
    for args, ratio in (((13, 12, 2, 3, 5), 2), ((5, 8, 1, 1, 3), 1)):
        real = sum(p.size for p in GPT(*args, mlp_ratio=ratio, rng=np.random.default_rng(0)).parameters())
        assert gpt_param_count(*args, mlp_ratio=ratio) == real, (
            f"gpt_param_count{args} with mlp_ratio={ratio} should be {real}; got {gpt_param_count(*args, mlp_ratio=ratio)}")
    v, c, n, t, r = 100, 32, 3, 50, 2
    macs = n * (4 * c * c + c * r * c + r * c * c + t * c + t * c) + c * v
    assert gpt_flops_per_token(v, c, n, t, mlp_ratio=r) == 2 * macs, (
        f"gpt_flops_per_token(100, 32, 3, 50, mlp_ratio=2) should be {2 * macs}; got "
        f"{gpt_flops_per_token(v, c, n, t, mlp_ratio=r)}")
    assert gpt_flops_per_token(50257, 768, 12, 1024) == 2 * (12 * (12 * 768 ** 2 + 2 * 1024 * 768) + 768 * 50257)
    for bad in ((0, 8, 1, 2, 4), (7, 8, 1, 3, 4), (7, 8, -1, 2, 4)):
        with pytest.raises(ValueError):
            gpt_param_count(*bad)
    with pytest.raises(ValueError, match="seq_len"):
        gpt_flops_per_token(7, 8, 1, 0)
