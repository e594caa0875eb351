"""Helpers for the course's tests: comparisons whose failure messages a student can act on.

Like `torch.testing`, this is test support, not part of what students build. Tolerances for
float32 are stated once here.
"""

from __future__ import annotations

import numpy as np

RTOL = 1e-5   # float32 results compared with an independent float64 computation
ATOL = 1e-6


def rel_error(x, y) -> float:
    """Largest relative error between two arrays (CS231n's definition)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)))) if x.size else 0.0


def as_array(value) -> np.ndarray:
    """The NumPy array behind a Tensor, an array or a number."""
    data = getattr(value, "data", value)
    return np.asarray(data)


def assert_close(actual, expected, *, what: str, rtol: float = RTOL, atol: float = ATOL) -> None:
    """Assert `actual` matches `expected` in shape and value; `what` says what was called."""
    got = as_array(actual)
    want = np.asarray(expected)
    if got.shape != want.shape:
        raise AssertionError(f"{what} should have shape {want.shape}; got {got.shape}")
    if not np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True):
        diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
        worst = np.unravel_index(int(np.nanargmax(diff)), diff.shape) if diff.size else ()
        raise AssertionError(
            f"{what}: values differ (max abs error {np.nanmax(diff):.3g} at index {tuple(int(i) for i in worst)}: "
            f"got {got[worst]!r}, expected {want[worst]!r})\n"
            f"expected:\n{np.array2string(want, precision=5, threshold=20)}\n"
            f"got:\n{np.array2string(got, precision=5, threshold=20)}"
        )


def numerical_gradient(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central finite differences of scalar `f` at float64 array `x` (x is restored)."""
    x = np.asarray(x, dtype=np.float64)
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        plus = f(x)
        x[i] = old - eps
        minus = f(x)
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def strict_numerics():
    """A context in which overflow, invalid (nan) and divide-by-zero raise; underflow is allowed.

    `exp(-1000)` rounding to 0 is harmless; `exp(1000) = inf` or `log(0) = -inf` is the bug a
    numerically stable implementation avoids.
    """
    return np.errstate(over="raise", invalid="raise", divide="raise")


# ---- module 11 (embeddings)


def embedding_grad_loop(ids, grad, vocab_size: int) -> np.ndarray:
    """dL/dweight of out = weight[ids], by a loop over the looked-up positions (float64).

    Position p read row ids[p], so row ids[p] receives grad[p]; a row read twice receives both.
    """
    flat_ids = np.asarray(ids).reshape(-1).astype(np.int64)
    grad = np.asarray(grad, dtype=np.float64)
    flat_grad = grad.reshape(flat_ids.size, grad.shape[-1])
    dweight = np.zeros((vocab_size, flat_grad.shape[1]))
    for p in range(flat_ids.size):
        dweight[flat_ids[p]] += flat_grad[p]
    return dweight


def sinusoidal_loop(max_seq_len: int, embed_dim: int) -> np.ndarray:
    """PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(same), one entry at a time (float64).

    For an odd d the last column 2i = d - 1 is a sine without its cosine partner.
    """
    pe = np.zeros((max_seq_len, embed_dim))
    for pos in range(max_seq_len):
        for i in range((embed_dim + 1) // 2):
            angle = pos / 10000.0 ** (2 * i / embed_dim)
            pe[pos, 2 * i] = np.sin(angle)
            if 2 * i + 1 < embed_dim:
                pe[pos, 2 * i + 1] = np.cos(angle)
    return pe
