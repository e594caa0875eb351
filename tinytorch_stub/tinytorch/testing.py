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


# ---- module 12 (attention)
# Float64 references shared by the visible and hidden tests of module 12: explicit loops over
# the leading dimensions and one einsum per (batch, head), no reshape, transpose or matmul.


def attention_reference(q, k, v, allowed=None):
    """(output, weights) of scaled dot-product attention, in float64.

    q (..., Tq, d), k (..., Tk, d), v (..., Tk, dv) with equal leading dimensions; `allowed`
    a boolean array broadcastable to (..., Tq, Tk), True = the query may attend to the key.
    """
    q, k, v = (np.asarray(a, dtype=np.float64) for a in (q, k, v))
    lead, (tq, d), tk = q.shape[:-2], q.shape[-2:], k.shape[-2]
    allowed = np.ones((tq, tk), dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool)
    allowed = np.broadcast_to(allowed, (*lead, tq, tk))
    out = np.zeros((*lead, tq, v.shape[-1]))
    weights = np.zeros((*lead, tq, tk))
    for index in np.ndindex(*lead):
        for i in range(tq):
            keys = np.flatnonzero(allowed[index][i])
            s = np.einsum("d,jd->j", q[index][i], k[index][keys]) / np.sqrt(d)
            e = np.exp(s - s.max())
            weights[index][i, keys] = e / e.sum()
            out[index][i] = np.einsum("j,jd->d", weights[index][i, keys], v[index][keys])
    return out, weights


def multi_head_attention_reference(x, params, num_heads, allowed=None):
    """Multi-head self-attention of x (B, T, C), in float64, one head at a time.

    `params` maps "q", "k", "v", "out" to (weight (C, C), bias (C,) or None), the course's
    Linear layout (y = x @ W + b). Head h uses columns h*D:(h+1)*D of the Q, K and V
    projections, and the output projection is applied to the heads' outputs placed side by
    side: written with slices, not with reshape and transpose.
    """
    x = np.asarray(x, dtype=np.float64)
    c = x.shape[-1]
    d = c // num_heads

    def linear(a, name):
        w, b = params[name]
        y = np.einsum("btc,ce->bte", a, np.asarray(w, dtype=np.float64))
        return y if b is None else y + np.asarray(b, dtype=np.float64)

    q, k, v = linear(x, "q"), linear(x, "k"), linear(x, "v")
    heads = np.zeros_like(q)
    for h in range(num_heads):
        cols = slice(h * d, (h + 1) * d)
        heads[:, :, cols] = attention_reference(q[:, :, cols], k[:, :, cols], v[:, :, cols], allowed)[0]
    return linear(heads, "out")
