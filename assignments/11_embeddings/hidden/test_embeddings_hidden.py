"""Hidden tests for module 11 (embeddings): dtypes, 3-D ids, scalar and empty ids, a table used
twice, integer id types, error messages and refused ids, constructor checks, seeded inits,
positional encodings at full length, on 2-D input and against finite differences, odd sinusoidal
dimensions, a small classifier through gradcheck, and the systems functions on more inputs."""

import numpy as np
import pytest

from tinytorch.core.autograd import gradcheck
from tinytorch.core.layers import Linear
from tinytorch.core.losses import CrossEntropyLoss
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

SEED = 11
F32_RTOL, F32_ATOL = 1e-5, 1e-6
GRAD_RTOL, GRAD_ATOL = 1e-6, 1e-8


def sample(shape, seed=SEED, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ------------------------------------------------------------------------ lookup and gradient


@pytest.mark.points(2)
def test_embedding_keeps_float32_and_float64():
    for dtype in (np.float32, np.float64):
        w = Tensor(sample((7, 3), dtype=dtype), requires_grad=True)
        out = embedding(w, Tensor([[1, 6], [6, 0]]))
        assert out.dtype == dtype, f"embedding(weight {np.dtype(dtype)}, ids) should keep the dtype; got {out.dtype}"
        out.sum().backward()
        assert w.grad.dtype == dtype, f"the gradient of a {np.dtype(dtype)} table should be {np.dtype(dtype)}; got {w.grad.dtype}"


@pytest.mark.points(3)
def test_embedding_gradient_3d_ids_with_many_repeats():
    rng = np.random.default_rng(SEED)
    ids = rng.integers(0, 5, size=(2, 3, 4))                           # 24 lookups into 5 rows
    w = Tensor(sample((9, 3)), requires_grad=True)                      # rows 5..8 never used
    upstream = sample((2, 3, 4, 3), seed=SEED + 1)
    out = embedding(w, ids)
    assert out.shape == (2, 3, 4, 3), f"embedding(weight (9, 3), ids (2, 3, 4)) should be (2, 3, 4, 3); got {out.shape}"
    (out * Tensor(upstream)).sum().backward()
    assert_close(w.grad, embedding_grad_loop(ids, upstream, 9), rtol=GRAD_RTOL, atol=GRAD_ATOL,
                 what="gradient of sum(embedding(w (9, 3), ids (2, 3, 4)) * G) vs a loop over positions")
    assert np.all(w.grad.data[5:] == 0.0), "rows never looked up must get exactly 0"
    w0 = w.data.copy()
    numeric = numerical_gradient(lambda a: float(np.sum(a[ids] * upstream)), w0)
    assert_close(w.grad, numeric, rtol=GRAD_RTOL, atol=GRAD_ATOL, what="the same gradient vs finite differences")


@pytest.mark.points(2)
def test_embedding_gradcheck_inside_small_classifier():
    """ids -> Embedding -> mean over T -> Linear -> CrossEntropyLoss, every input in float64."""
    ids = np.array([[0, 3, 3], [2, 1, 0], [4, 4, 4]])
    labels = np.array([1, 0, 1])
    head = Linear(3, 2, rng=np.random.default_rng(SEED))
    head.weight.data = head.weight.data.astype(np.float64)
    head.bias.data = sample(2, seed=SEED + 2)
    w = Tensor(sample((6, 3), seed=SEED + 3), requires_grad=True)

    def model(table, hw, hb):
        h = embedding(table, ids).mean(axis=1)                            # (B, D)
        return CrossEntropyLoss()(h @ hw + hb, labels)

    assert gradcheck(model, [w, head.weight, head.bias])
    model(w, head.weight, head.bias).backward()
    assert np.all(w.grad.data[5] == 0.0), "row 5 is never looked up: its gradient must be exactly 0"


@pytest.mark.points(2)
def test_embedding_scalar_and_empty_ids():
    w = Tensor(sample((4, 3)), requires_grad=True)
    out = embedding(w, 2)
    assert out.shape == (3,), f"embedding(weight (4, 3), 2) should have shape (3,); got {out.shape}"
    (out * Tensor(np.array([1.0, 2.0, 3.0]))).sum().backward()
    want = np.zeros((4, 3))
    want[2] = [1.0, 2.0, 3.0]
    assert_close(w.grad, want, what="gradient of embedding(w, 2) . [1, 2, 3]: row 2 only")

    empty = embedding(Tensor(sample((4, 3))), np.zeros((2, 0), dtype=np.int64))
    assert empty.shape == (2, 0, 3), f"embedding(weight (4, 3), ids of shape (2, 0)) should be (2, 0, 3); got {empty.shape}"


@pytest.mark.points(2)
def test_embedding_table_used_twice_gradients_add():
    """Weight tying: one table looked up by two id sequences in one graph."""
    w = Tensor(sample((5, 2)), requires_grad=True)
    a_ids, b_ids = [0, 4, 4], [[4, 1]]
    ga, gb = sample((3, 2), seed=1), sample((1, 2, 2), seed=2)
    ((embedding(w, a_ids) * Tensor(ga)).sum() + (embedding(w, b_ids) * Tensor(gb)).sum()).backward()
    want = embedding_grad_loop(a_ids, ga, 5) + embedding_grad_loop(b_ids, gb, 5)
    assert_close(w.grad, want, rtol=GRAD_RTOL, atol=GRAD_ATOL, what="gradient of a table used by two lookups")


@pytest.mark.points(1)
def test_embedding_accepts_integer_dtypes_and_int_tensor():
    w = sample((300, 2))
    ids = [[200, 0], [7, 255]]
    for given in (np.array(ids, dtype=np.uint8), np.array(ids, dtype=np.int32),
                  np.array(ids, dtype=np.uint16), Tensor(ids, dtype=np.int64), Tensor(np.array(ids, dtype=np.float64))):
        data = given.data if isinstance(given, Tensor) else given
        assert_close(embedding(Tensor(w), given), w[np.asarray(data).astype(np.int64)],
                     what=f"embedding(weight (300, 2), ids as {type(given).__name__} of {data.dtype})")
    assert_close(embedding(Tensor(w), np.int64(299)), w[299], what="embedding(weight, np.int64(299))")


# ------------------------------------------------------------------------ errors


@pytest.mark.points(3)
def test_embedding_error_messages_name_the_index_and_vocabulary():
    w = Tensor(sample((65, 2)))
    with pytest.raises(IndexError, match=r"\b70\b.*vocab.*\b65\b"):
        embedding(w, Tensor([[1, 70], [2, 3]]))
    with pytest.raises(IndexError, match=r"\b65\b.*vocab.*\b65\b"):
        embedding(w, [[64, 65]])
    with pytest.raises(IndexError, match=r"-3\b.*vocab.*\b65\b"):
        embedding(w, np.array([-3]))
    with pytest.raises(IndexError, match=r"\b65\b.*vocab.*\b65\b"):
        embedding(w, 65)
    with pytest.raises(IndexError, match=r"\b100\b.*vocab.*\b65\b"):
        Embedding(65, 2)(np.array([[0, 100]]))


@pytest.mark.points(2)
def test_embedding_refuses_bool_string_and_non_whole_ids_and_bad_weight():
    w = Tensor(sample((5, 2)))
    with pytest.raises(TypeError):
        embedding(w, np.array([True, False, True, False, True]))        # a mask, not ids
    with pytest.raises(TypeError):
        embedding(w, np.array(["a", "b"]))
    with pytest.raises(ValueError, match=r"whole"):
        embedding(w, [0.0, 1.5])
    with pytest.raises(ValueError, match=r"whole"):
        embedding(w, Tensor([1.0, np.nan]))
    with pytest.raises(ValueError, match=r"\(5,\)"):
        embedding(Tensor(np.zeros(5)), [0])
    with pytest.raises(TypeError):
        embedding(np.zeros((5, 2)), [0])


@pytest.mark.points(1)
def test_embedding_and_positional_constructors_reject_bad_sizes():
    for args in [(0, 4), (4, 0), (True, 4), (4, 2.5), (-1, 3)]:
        with pytest.raises(ValueError):
            Embedding(*args)
        with pytest.raises(ValueError):
            PositionalEncoding(*args)


# ------------------------------------------------------------------------ initialisation


@pytest.mark.points(2)
def test_embedding_init_standard_normal_and_seeded():
    a = Embedding(500, 100, rng=np.random.default_rng(SEED)).weight.data
    b = Embedding(500, 100, rng=np.random.default_rng(SEED)).weight.data
    c = Embedding(500, 100, rng=np.random.default_rng(SEED + 1)).weight.data
    assert np.array_equal(a, b), "two Embeddings built with the same seed should have the same table"
    assert not np.array_equal(a, c), "two Embeddings built with different seeds should differ"
    assert abs(float(a.mean())) < 0.02 and abs(float(a.std()) - 1.0) < 0.02, (
        f"Embedding weight ~ N(0, 1): 50,000 values have mean {float(a.mean()):.4f}, std {float(a.std()):.4f}")
    assert isinstance(Embedding(3, 2).weight, Tensor), "Embedding(3, 2) without rng should still build its table"


@pytest.mark.points(2)
def test_positional_encoding_init_small_normal_seeded():
    a = PositionalEncoding(512, 64, rng=np.random.default_rng(SEED)).weight
    b = PositionalEncoding(512, 64, rng=np.random.default_rng(SEED)).weight
    assert a.shape == (512, 64) and a.dtype == np.float32 and a.requires_grad, (
        f"PositionalEncoding(512, 64).weight: (512, 64) float32 with requires_grad; got {a.shape} {a.dtype} "
        f"requires_grad={a.requires_grad}")
    assert np.array_equal(a.data, b.data), "two PositionalEncodings built with the same seed should be equal"
    std = float(a.data.std())
    assert abs(std - 0.02) < 0.001 and abs(float(a.data.mean())) < 0.001, (
        f"PositionalEncoding weight ~ N(0, 0.02^2): 32,768 values have mean {float(a.data.mean()):.5f}, std {std:.5f}")


# ------------------------------------------------------------------------ positions


@pytest.mark.points(1)
def test_positional_encoding_full_length_and_2d_input():
    pe = PositionalEncoding(6, 3, rng=np.random.default_rng(SEED))
    x = sample((2, 6, 3), dtype=np.float32)
    assert_close(pe(Tensor(x)), x + pe.weight.data, what="PositionalEncoding(6, 3) on a sequence of exactly 6")
    x2 = sample((4, 3), dtype=np.float32)
    assert_close(pe(Tensor(x2)), x2 + pe.weight.data[:4], what="PositionalEncoding(6, 3) on a 2-D (T, D) = (4, 3) input")
    with pytest.raises(ValueError, match=r"(7.*6)|(6.*7)"):
        pe(Tensor(np.zeros((7, 3))))


@pytest.mark.points(3)
def test_positional_encoding_gradients_vs_finite_differences():
    pe = PositionalEncoding(7, 3, rng=np.random.default_rng(SEED))
    pe.weight.data = pe.weight.data.astype(np.float64)
    w0 = pe.weight.data.copy()
    x0 = sample((2, 4, 3), seed=SEED + 4)
    upstream = sample((2, 4, 3), seed=SEED + 5)
    x = Tensor(x0.copy(), requires_grad=True)
    (pe(x) * Tensor(upstream)).sum().backward()
    num_w = numerical_gradient(lambda a: float(np.sum((x0 + a[:4]) * upstream)), w0.copy())
    num_x = numerical_gradient(lambda a: float(np.sum((a + w0[:4]) * upstream)), x0.copy())
    assert_close(pe.weight.grad, num_w, rtol=GRAD_RTOL, atol=GRAD_ATOL,
                 what="gradient of sum(PositionalEncoding(7, 3)(x (2, 4, 3)) * G) w.r.t. weight vs finite differences")
    assert_close(x.grad, num_x, rtol=GRAD_RTOL, atol=GRAD_ATOL, what="the same w.r.t. x")


@pytest.mark.points(1)
def test_positional_encoding_refuses_wrong_embed_dim():
    pe = PositionalEncoding(8, 4)
    with pytest.raises(ValueError, match=r"embed_dim"):
        pe(Tensor(np.zeros((2, 3, 5))))
    with pytest.raises(ValueError):
        pe(Tensor(np.zeros(4)))


@pytest.mark.points(2)
def test_sinusoidal_odd_dim_and_known_values():
    for length, dim in [(9, 5), (4, 1), (33, 7)]:
        assert_close(create_sinusoidal_embeddings(length, dim), sinusoidal_loop(length, dim), atol=1e-6,
                     what=f"create_sinusoidal_embeddings({length}, {dim}) (odd embed_dim: the last column is a sine)")
    pe = create_sinusoidal_embeddings(20, 6).data
    assert_close(pe[0], [0, 1, 0, 1, 0, 1], what="create_sinusoidal_embeddings(20, 6)[0]: sin 0 = 0, cos 0 = 1")
    pos = np.arange(20)
    assert_close(pe[:, 0], np.sin(pos), what="column 0 (frequency 1): sin(pos)")
    assert_close(pe[:, 1], np.cos(pos), what="column 1 (frequency 1): cos(pos)")
    assert_close(pe[:, 5], np.cos(pos / 10000 ** (4 / 6)), what="column 5: cos(pos / 10000^(4/6))")


@pytest.mark.points(1)
def test_sinusoidal_is_a_constant_float32_table_and_checks_sizes():
    pe = create_sinusoidal_embeddings(10, 4)
    assert pe.shape == (10, 4) and pe.dtype == np.float32 and not pe.requires_grad, (
        f"create_sinusoidal_embeddings(10, 4): a (10, 4) float32 Tensor without requires_grad; got {pe.shape} "
        f"{pe.dtype} requires_grad={pe.requires_grad}")
    for args in [(0, 4), (4, 0), (3.0, 4)]:
        with pytest.raises(ValueError):
            create_sinusoidal_embeddings(*args)


# ------------------------------------------------------------------------ systems questions


@pytest.mark.points(2)
def test_systems_questions_more_inputs():
    for v, d, dtype, size in [(32000, 4096, np.float16, 2), (100, 7, np.float64, 8), (1, 1, np.float32, 4)]:
        got = embedding_table_bytes(v, d, dtype)
        assert got == v * d * size, f"embedding_table_bytes({v}, {d}, {np.dtype(dtype)}) should be {v * d * size}; got {got}"

    cases = [(np.arange(10), 10, 1.0), (Tensor([[3, 3], [3, 3]]), 8, 1 / 8),
             (np.array([[[0, 1], [1, 2]], [[2, 0], [9, 9]]]), 50, 4 / 50)]
    for ids, vocab, want in cases:
        got = embedding_grad_density(ids, vocab)
        assert np.isclose(got, want), f"embedding_grad_density(ids, {vocab}) should be {want}; got {got}"
    with pytest.raises(IndexError):
        embedding_grad_density([0, 10], 10)

    for vocab, d, ctx, layers in [(65, 384, 256, 6), (50257, 1600, 1024, 48), (1000, 16, 8, 1)]:
        tables = (vocab + ctx) * d
        blocks = sum(4 * d * d + 2 * (d * 4 * d) for _ in range(layers))
        want = tables / (tables + blocks)
        got = embedding_param_share(vocab, d, ctx, layers)
        assert np.isclose(got, want, rtol=1e-9), (
            f"embedding_param_share({vocab}, {d}, {ctx}, {layers}) should be {want:.6f}; got {got}")
