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


# ---- module 10 (tokenization)
# A from-scratch byte-level BPE, slow and obvious, for the tests of module 10 (visible and hidden):
# it recounts every pair of every chunk occurrence before each merge and applies the merges one
# after the other, in the order learned, when encoding.

BPE_BYTE_TOKENS = 256    # ids 0..255 are the bytes of UTF-8


def _replace_pair(ids: list, pair: tuple, new_id: int) -> list:
    """`ids` with each occurrence of `pair`, taken from the left without overlap, replaced by `new_id`."""
    out, skip = [], False
    for i, x in enumerate(ids):
        if skip:
            skip = False
        elif i + 1 < len(ids) and (x, ids[i + 1]) == tuple(pair):
            out.append(new_id)
            skip = True
        else:
            out.append(x)
    return out


def bpe_merges_by_recounting(chunks, num_merges: int) -> list:
    """The pairs byte-level BPE merges, in order, on `chunks` (a list of str, one entry per
    occurrence): before each merge, every pair is counted again; the most frequent pair wins,
    ties going to the smallest pair. Stops early when no pair is left."""
    words = [list(chunk.encode("utf-8")) for chunk in chunks]
    merges = []
    for step in range(num_merges):
        counts = {}
        for word in words:
            for i in range(len(word) - 1):
                counts[(word[i], word[i + 1])] = counts.get((word[i], word[i + 1]), 0) + 1
        if not counts:
            break
        best = max(counts.values())
        pair = min(p for p, n in counts.items() if n == best)
        merges.append(pair)
        words = [_replace_pair(word, pair, BPE_BYTE_TOKENS + step) for word in words]
    return merges


def bpe_encode_by_rank(chunks, merges) -> list:
    """The ids of `chunks` (a list of str) under `merges` (pairs in the order learned; the k-th
    makes id 256 + k): each merge in turn is applied to every chunk."""
    ids = []
    for chunk in chunks:
        word = list(chunk.encode("utf-8"))
        for rank, pair in enumerate(merges):
            word = _replace_pair(word, pair, BPE_BYTE_TOKENS + rank)
        ids.extend(word)
    return ids
