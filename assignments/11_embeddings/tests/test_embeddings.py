"""Visible tests for module 11 (embeddings). Run them with `make test M=11`.

Expected values are computed here independently: lookups by plain NumPy indexing, gradients by
a loop over the looked-up positions (`tinytorch.testing.embedding_grad_loop`) and by central
finite differences in float64 (`tinytorch.testing.numerical_gradient`), and the sinusoidal table
by the paper's formula written as a loop (`tinytorch.testing.sinusoidal_loop`).
"""

import numpy as np
import pytest

from tinytorch.core.losses import MSELoss
from tinytorch.core.tensor import Tensor
from tinytorch.testing import assert_close, embedding_grad_loop, numerical_gradient, sinusoidal_loop
from tinytorch.text.embeddings import (
    Embedding,
    PositionalEncoding,
    create_sinusoidal_embeddings,
    embedding,
    embedding_grad_density,
    embedding_param_share,
    embedding_table_bytes,
)

SEED = 0
F32_RTOL, F32_ATOL = 1e-5, 1e-6      # float32 sums of a few terms against float64 loops
GRAD_RTOL, GRAD_ATOL = 1e-6, 1e-8    # float64 backward against float64 central differences


def table(vocab_size, embed_dim, dtype=np.float32, seed=SEED):
    return np.random.default_rng(seed).standard_normal((vocab_size, embed_dim)).astype(dtype)


# ------------------------------------------------------------------------ lookup


@pytest.mark.points(2)
def test_embedding_matches_numpy_indexing():
    w = table(10, 4)
    ids = [3, 0, 9, 3, 7]
    out = embedding(Tensor(w), ids)
    assert isinstance(out, Tensor), f"embedding(...) should return a Tensor; got {type(out).__name__}"
    assert_close(out, w[np.array(ids)], what=f"embedding(weight (10, 4), {ids}): row ids[p] of weight at position p")


@pytest.mark.points(2)
def test_embedding_shapes_for_1d_2d_and_scalar_ids():
    w = table(12, 5)
    cases = [(np.array([4, 1, 1]), (3, 5)),                     # (T,) -> (T, D)
             (np.array([[0, 11, 2], [5, 5, 3]]), (2, 3, 5)),    # (B, T) -> (B, T, D)
             (7, (5,))]                                         # one id -> one vector (D,)
    for ids, shape in cases:
        out = embedding(Tensor(w), ids)
        what = f"embedding(weight (12, 5), ids of shape {np.shape(ids)})"
        assert out.shape == shape, f"{what} should have shape {shape}; got {out.shape}"
        assert_close(out, w[ids], what=what)


@pytest.mark.points(2)
def test_embedding_accepts_tensor_array_and_list_ids():
    w = table(6, 3)
    want = w[[[1, 5], [0, 1]]]
    for ids in (Tensor([[1, 5], [0, 1]]), np.array([[1, 5], [0, 1]], dtype=np.int64), [[1, 5], [0, 1]]):
        kind = f"{type(ids).__name__} of {ids.dtype}" if hasattr(ids, "dtype") else type(ids).__name__
        assert_close(embedding(Tensor(w), ids), want, what=f"embedding(weight (6, 3), ids [[1, 5], [0, 1]] as a {kind})")


# ------------------------------------------------------------------------ gradient


@pytest.mark.points(3)
def test_embedding_gradient_counts_repeated_ids():
    """loss = sum of the output: row v's gradient is (number of times v was looked up) * ones."""
    ids = np.array([[1, 3, 1], [1, 0, 3]])
    w = Tensor(table(6, 2), requires_grad=True)
    embedding(w, ids).sum().backward()
    counts = np.zeros((6, 2))
    for v in ids.ravel():
        counts[v] += 1.0                                        # rows 1: 3, 3: 2, 0: 1, others 0
    assert w.grad is not None, "after embedding(w, ids).sum().backward(), w.grad should be set; got None"
    assert_close(w.grad, counts, what="gradient of embedding(w (6, 2), [[1, 3, 1], [1, 0, 3]]).sum() w.r.t. w "
                                      "(a row looked up k times gets k: repeated ids must accumulate)")
    assert np.all(w.grad.data[[2, 4, 5]] == 0.0), (
        f"rows 2, 4, 5 were never looked up: their gradient must be exactly 0; got {w.grad.data[[2, 4, 5]]}")

    upstream = np.random.default_rng(1).standard_normal((2, 3, 2))
    w.grad = None
    (embedding(w, ids) * Tensor(upstream.astype(np.float32))).sum().backward()
    assert_close(w.grad, embedding_grad_loop(ids, upstream, 6), rtol=F32_RTOL, atol=F32_ATOL,
                 what="gradient of sum(embedding(w, ids) * G) w.r.t. w: each row gets the sum of G at its positions")


@pytest.mark.points(3)
def test_embedding_gradient_matches_finite_differences():
    ids = np.array([[2, 0, 2, 4], [4, 4, 1, 2]])
    w0 = table(5, 3, dtype=np.float64)
    upstream = np.random.default_rng(2).standard_normal((2, 4, 3))
    w = Tensor(w0.copy(), requires_grad=True)
    (embedding(w, ids) * Tensor(upstream)).sum().backward()
    numeric = numerical_gradient(lambda a: float(np.sum(a[ids] * upstream)), w0.copy())
    assert_close(w.grad, numeric, rtol=GRAD_RTOL, atol=GRAD_ATOL,
                 what="gradient of sum(embedding(w (5, 3) float64, ids (2, 4)) * G) vs finite differences")


# ------------------------------------------------------------------------ Embedding layer


@pytest.mark.points(2)
def test_embedding_layer_parameters_and_init():
    emb = Embedding(200, 64, rng=np.random.default_rng(SEED))
    w = emb.weight
    assert w.shape == (200, 64), f"Embedding(200, 64).weight should have shape (200, 64); got {w.shape}"
    assert w.dtype == np.float32, f"Embedding(200, 64).weight should be float32; got {w.dtype}"
    assert w.requires_grad, "Embedding(200, 64).weight should have requires_grad=True"
    params = emb.parameters()
    assert len(params) == 1 and params[0] is w, (
        f"Embedding(200, 64).parameters() should be [weight]; got {len(params)} Tensor(s)")
    std = float(w.data.std())
    assert 0.95 < std < 1.05 and abs(float(w.data.mean())) < 0.03, (
        f"Embedding's weight should be drawn from N(0, 1) as in PyTorch; 12,800 values have mean "
        f"{float(w.data.mean()):.3f} and std {std:.3f}")
    ids = np.array([[3, 199], [0, 3]])
    assert_close(emb(ids), w.data[ids], what="Embedding(200, 64)(ids (2, 2)): the rows of its weight")


@pytest.mark.points(3)
def test_embedding_in_a_tiny_model():
    """Embedding -> mean over the sequence -> MSE loss -> backward, and a few hand-made SGD steps."""
    vocab, dim, lr = 6, 3, 4.0
    ids = np.array([[0, 2, 2, 5], [1, 2, 0, 0]])                        # (B, T) = (2, 4)
    target = np.random.default_rng(3).standard_normal((2, dim)).astype(np.float32)
    emb = Embedding(vocab, dim, rng=np.random.default_rng(SEED))
    w0 = emb.weight.data.astype(np.float64)

    loss = MSELoss()(emb(ids).mean(axis=1), Tensor(target))             # (B, D) vs (B, D)
    loss.backward()
    h = w0[ids].mean(axis=1)                                            # (B, D)
    dh = 2.0 * (h - target) / h.size                                    # d mean((h - y)^2) / dh
    expected = embedding_grad_loop(ids, np.repeat(dh[:, None, :] / ids.shape[1], ids.shape[1], axis=1), vocab)
    assert_close(emb.weight.grad, expected, rtol=1e-4, atol=1e-6,
                 what="Embedding(6, 3) -> mean over T -> MSELoss: gradient of the table")
    assert np.all(emb.weight.grad.data[[3, 4]] == 0.0), (
        f"ids 3 and 4 do not occur: their rows' gradient must be exactly 0; got {emb.weight.grad.data[[3, 4]]}")

    losses = [loss.item()]
    for _ in range(5):
        emb.weight.data = emb.weight.data - lr * emb.weight.grad.data
        emb.weight.grad = None
        loss = MSELoss()(emb(ids).mean(axis=1), Tensor(target))
        loss.backward()
        losses.append(loss.item())
    assert losses[-1] < 0.25 * losses[0], (
        f"5 SGD steps (lr {lr}) on the embedding table should cut the loss to under a quarter; losses were {losses}")


@pytest.mark.points(3)
def test_embedding_bad_ids_raise_clear_errors():
    w = Tensor(table(65, 4))                  # messages name the id and the vocabulary (not NumPy's "axis 0")
    with pytest.raises(IndexError, match=r"\b70\b.*vocab.*\b65\b"):
        embedding(w, [3, 70, 1])
    with pytest.raises(IndexError, match=r"\b65\b.*vocab.*\b65\b"):
        embedding(w, np.array([0, 65]))                                 # one past the last row
    with pytest.raises(IndexError, match=r"-1\b.*vocab.*\b65\b"):
        embedding(w, [2, -1])                                           # NumPy would read the last row
    with pytest.raises(ValueError, match=r"whole number"):
        embedding(w, Tensor([1.0, 2.5]))
    assert_close(embedding(w, [0, 64]), w.data[[0, 64]], what="embedding(weight (65, 4), [0, 64]): both ends are valid")


# ------------------------------------------------------------------------ positions


@pytest.mark.points(3)
def test_positional_encoding_adds_rows_broadcast_over_batch():
    pe = PositionalEncoding(8, 4, rng=np.random.default_rng(SEED))
    assert pe.weight.shape == (8, 4) and pe.weight.requires_grad, (
        f"PositionalEncoding(8, 4).weight should be a (8, 4) Tensor with requires_grad=True; "
        f"got shape {pe.weight.shape}, requires_grad={pe.weight.requires_grad}")
    assert [p is pe.weight for p in pe.parameters()] == [True], "PositionalEncoding.parameters() should be [weight]"
    x0 = np.random.default_rng(4).standard_normal((3, 5, 4)).astype(np.float32)
    x = Tensor(x0, requires_grad=True)
    out = pe(x)
    assert_close(out, x0 + pe.weight.data[None, :5], what="PositionalEncoding(8, 4)(x (3, 5, 4)): "
                                                           "x[b, t] + weight[t] for every b")
    upstream = np.random.default_rng(5).standard_normal((3, 5, 4)).astype(np.float32)
    (out * Tensor(upstream)).sum().backward()
    assert_close(x.grad, upstream, what="gradient of sum(PositionalEncoding(x) * G) w.r.t. x")
    assert_close(pe.weight.grad.data[:5], upstream.sum(axis=0), rtol=F32_RTOL, atol=F32_ATOL,
                 what="gradient w.r.t. rows 0..4 of PositionalEncoding.weight (summed over the batch)")
    assert np.all(pe.weight.grad.data[5:] == 0.0), (
        f"rows 5..7 of PositionalEncoding(8, 4).weight are unused for T = 5: their gradient must be exactly 0; "
        f"got {pe.weight.grad.data[5:]}")


@pytest.mark.points(1)
def test_positional_encoding_refuses_too_long_sequence():
    pe = PositionalEncoding(8, 4)
    with pytest.raises(ValueError, match=r"(9.*8)|(8.*9)"):
        pe(Tensor(np.zeros((2, 9, 4))))


@pytest.mark.points(2)
def test_sinusoidal_embeddings_match_the_formula():
    for length, dim in [(6, 8), (50, 16)]:
        pe = create_sinusoidal_embeddings(length, dim)
        assert isinstance(pe, Tensor), f"create_sinusoidal_embeddings should return a Tensor; got {type(pe).__name__}"
        assert_close(pe, sinusoidal_loop(length, dim), atol=1e-6,
                     what=f"create_sinusoidal_embeddings({length}, {dim}): PE[pos, 2i] = sin(pos / 10000^(2i/d)), "
                          f"PE[pos, 2i+1] = cos(pos / 10000^(2i/d))")


# ------------------------------------------------------------------------ systems questions


@pytest.mark.points(2)
def test_systems_questions():
    got = embedding_table_bytes(50257, 768)
    assert got == 50257 * 768 * 4, f"embedding_table_bytes(50257, 768) (float32) should be {50257 * 768 * 4}; got {got}"
    got = embedding_table_bytes(65, 384, np.float64)
    assert got == 65 * 384 * 8, f"embedding_table_bytes(65, 384, float64) should be {65 * 384 * 8}; got {got}"

    got = embedding_grad_density([[5, 0, 5], [2, 7, 1]], 10)
    assert np.isclose(got, 0.5), f"embedding_grad_density([[5, 0, 5], [2, 7, 1]], 10): 5 distinct rows of 10 = 0.5; got {got}"

    d, layers, vocab, ctx = 768, 12, 50257, 1024
    tables = vocab * d + ctx * d
    block = (3 * d * d + d * d) + (d * 4 * d + 4 * d * d)              # Q, K, V, output; MLP up and down
    want = tables / (tables + layers * block)
    got = embedding_param_share(vocab, d, ctx, layers)
    assert np.isclose(got, want, rtol=1e-9), f"embedding_param_share(50257, 768, 1024, 12) should be {want:.6f}; got {got}"
