"""Helpers for the course's tests: comparisons whose failure messages a student can act on,
and the reference computations and builders that a module's visible and hidden tests share.

Like `torch.testing`, this is test support, not part of what students build. Tolerances for
float32 are stated once here.
"""

from __future__ import annotations

import gzip
import pickle
import struct

import numpy as np
import pytest

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


# ---------------------------------------------------------------------- shared test helpers
#
# What a module's visible and hidden tests both use, written once: one section per module.
# Nothing here imports a course module when this file is imported (the tests of module 01 import
# it too): a helper that needs a course class imports it when called, from the module whose tests
# use it, so it runs only where that import is allowed.


# ---------------------------------------------------------------------- modules 05 and 09 (gradients)

GRAD_RTOL = 1e-5     # float64 backward against float64 central differences (error ~1e-9)
GRAD_ATOL = 1e-7


def sample(shape, seed: int, low: float | None = None) -> np.ndarray:
    """Seeded float64 standard normals; with `low`, magnitudes at least `low` (away from kinks and 0)."""
    x = np.random.default_rng(seed).standard_normal(shape)
    if low is not None:
        x = np.sign(x) * (np.abs(x) + low)
    return x


# ---------------------------------------------------------------------- module 03 (layers)


def assert_same_tensors(got, expected, what: str) -> None:
    """Assert `got` is a list of exactly the Tensors of `expected` ((name, Tensor) pairs), in order."""
    assert isinstance(got, list), f"{what} should return a list; got {type(got).__name__}"
    names = {id(t): name for name, t in expected}
    got_names = [names.get(id(t), f"<another object: {type(t).__name__} of shape "
                                  f"{getattr(t, 'shape', '?')}>") for t in got]
    want_names = [name for name, _ in expected]
    assert got_names == want_names, (
        f"{what} should return {want_names} (these very Tensor objects, in attribute order, "
        f"each once); got {got_names}"
    )


# ---------------------------------------------------------------------- module 05 (autograd)


@pytest.fixture(autouse=True)
def recording_on():
    """Autouse fixture (import it into a test file): grad mode on before and after every test."""
    from tinytorch.core.tensor import _GradMode

    _GradMode.enabled = True        # whatever a broken no_grad() left behind in another test
    yield
    _GradMode.enabled = True


def check_backward(fn, arrays, expr: str, *, seed: int, needs=None) -> None:
    """Assert every input's .grad after fn(...).backward(w) matches central differences of sum(fn(...) * w).

    `w` is a seeded random array of the output's shape (from `seed + 100`), so every element of
    the rule counts. `expr` names the computation in failure messages, its inputs as a, b, ...
    in order. `needs[i]` False makes input i a constant (requires_grad=False): its .grad must
    stay None.
    """
    from tinytorch.core.tensor import Tensor

    names = "abcdefgh"[: len(arrays)]
    needs = [True] * len(arrays) if needs is None else needs
    shapes = ", ".join(f"{n} {np.shape(a)}" for n, a in zip(names, arrays))
    out_shape = fn(*[Tensor(a) for a in arrays]).shape
    weight = np.random.default_rng(seed + 100).standard_normal(out_shape)

    leaves = [Tensor(np.array(a), requires_grad=r) for a, r in zip(arrays, needs)]
    out = fn(*leaves)
    out.backward(weight)                              # the gradient of sum(out * weight)

    for i, (name, leaf) in enumerate(zip(names, leaves)):
        what = f"{expr} for {shapes}, then .backward(w): {name}.grad"
        if not needs[i]:
            assert leaf.grad is None, f"{what} should stay None ({name} has requires_grad=False); got {leaf.grad!r}"
            continue

        def loss(v, i=i):
            args = [Tensor(v if j == i else arrays[j]) for j in range(len(arrays))]
            return float(np.sum(fn(*args).data * weight))

        expected = numerical_gradient(loss, np.array(arrays[i], dtype=np.float64))
        assert leaf.grad is not None, f"{what} is None: no gradient reached this input"
        assert isinstance(leaf.grad, Tensor), f"{what} should be a Tensor; got {type(leaf.grad).__name__}"
        assert_close(leaf.grad, expected, what=what + " (expected: central finite differences)",
                     rtol=GRAD_RTOL, atol=GRAD_ATOL)


# ---------------------------------------------------------------------- module 06 (optimizers)


def make_param(shape, seed: int, dtype=np.float32):
    """A parameter Tensor (requires_grad=True) of seeded standard normals."""
    from tinytorch.core.tensor import Tensor

    return Tensor(np.random.default_rng(seed).standard_normal(shape).astype(dtype), requires_grad=True)


def make_grads(steps: int, shape, seed: int, dtype=np.float32) -> list[np.ndarray]:
    """`steps` seeded gradient arrays of `shape`, one per optimizer step, as the tests put in p.grad."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for _ in range(steps)]


# ---------------------------------------------------------------------- module 07 (training)


def regression_data(n: int, seed: int, weights, bias: float, noise: float = 0.0):
    """Seeded float32 (x, y) with y = x @ weights + bias (+ noise * N(0, 1)): a Linear can learn it."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, len(weights))).astype(np.float32)
    y = x @ np.array(weights, dtype=np.float64).reshape(-1, 1) + bias
    if noise:
        y = y + noise * rng.standard_normal((n, 1))
    return x, y.astype(np.float32)


def mlp(seed: int, widths=(4, 8, 3)):
    """Linear(widths[0], widths[1]), ReLU(), Linear(...), ...: layer i seeded with seed + i."""
    from tinytorch.core.activations import ReLU
    from tinytorch.core.layers import Linear, Sequential

    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        if i:
            layers.append(ReLU())
        layers.append(Linear(a, b, rng=np.random.default_rng(seed + i)))
    return Sequential(*layers)


def snapshot(model) -> list[np.ndarray]:
    """Copies of every parameter array of `model` (values and dtype), to prove nothing changed."""
    return [p.data.copy() for p in model.parameters()]


def assert_unchanged(model, before, what: str) -> None:
    """Assert every parameter of `model` equals its `snapshot` `before` exactly, dtype included."""
    for i, (p, old) in enumerate(zip(model.parameters(), before)):
        assert p.data.dtype == old.dtype and np.array_equal(p.data, old), (
            f"{what}: parameter {i} (shape {old.shape}) changed; it should be exactly as before")


# ---------------------------------------------------------------------- module 08 (dataloader)


def id_dataset(n: int, width: int = 2):
    """(TensorDataset, x): x row i = [i, i + 0.5, ...] (float32), y[i] = i (int64): a row names its example."""
    from tinytorch.core.tensor import Tensor
    from tinytorch.data.loader import TensorDataset

    x = np.arange(n, dtype=np.float32)[:, None] + 0.5 * np.arange(width, dtype=np.float32)
    return TensorDataset(Tensor(x), Tensor(np.arange(n), dtype=np.int64)), x


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    """The IDX encoding of uint8 `array`: big-endian magic, one 4-byte size per dimension, the bytes."""
    return struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()


def write_idx(path, array: np.ndarray, magic: int, compress: bool = True, cut: int = 0):
    """Write `array` as an IDX file at `path` (gzipped unless compress=False), minus its last `cut` bytes."""
    raw = idx_bytes(array, magic)
    raw = raw[:len(raw) - cut]
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


def cifar_rows(images: np.ndarray) -> np.ndarray:
    """(N, 3, 32, 32) -> (N, 3072) as CIFAR stores it: the red plane row by row, then green, then blue."""
    return np.concatenate([images[:, c].reshape(len(images), -1) for c in range(3)], axis=1)


def cifar_batch(images: np.ndarray, labels) -> dict:
    """A CIFAR-10 batch dict as the original files hold it: byte-string keys, uint8 rows, a list of labels."""
    return {b"batch_label": b"testing batch", b"labels": [int(v) for v in labels],
            b"data": cifar_rows(images).astype(np.uint8),
            b"filenames": [f"img_{i}.png".encode() for i in range(len(labels))]}


def write_pickle(path, obj, protocol: int = 4):
    """Pickle `obj` to `path` (a CIFAR batch file when `obj` is a `cifar_batch`); returns `path`."""
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    return path


# ---------------------------------------------------------------------- module 09 (spatial)


def _pair(v) -> tuple:
    """`v` as a pair: (v, v) for a number, tuple(v) for a pair."""
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def conv_loop(x, w, b=None, stride=1, padding=0) -> np.ndarray:
    """Direct convolution in float64: a loop over output pixels, one tensordot per pixel (ints or pairs)."""
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    xp = np.pad(np.asarray(x, dtype=np.float64), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    w = np.asarray(w, dtype=np.float64)
    n, _, hp, wp = xp.shape
    o, _, kh, kw = w.shape
    oh, ow = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    out = np.zeros((n, o, oh, ow))
    for r in range(oh):
        for c in range(ow):
            patch = xp[:, :, r * sh:r * sh + kh, c * sw:c * sw + kw]                # (N, C, kh, kw)
            out[:, :, r, c] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3]))
    return out if b is None else out + np.asarray(b, dtype=np.float64).reshape(1, -1, 1, 1)


def pool_loop(x, kernel, stride, reduce) -> np.ndarray:
    """Pooling in float64: `reduce` (np.max, np.mean) of each window, a loop over output pixels."""
    (kh, kw), (sh, sw) = _pair(kernel), _pair(stride)
    x = np.asarray(x, dtype=np.float64)
    n, ch, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros((n, ch, oh, ow))
    for r in range(oh):
        for c in range(ow):
            out[:, :, r, c] = reduce(x[:, :, r * sh:r * sh + kh, c * sw:c * sw + kw], axis=(2, 3))
    return out


def distinct(shape, seed: int) -> np.ndarray:
    """Values 0.1 apart in random order: no ties, so max pooling is differentiable with eps 1e-6."""
    values = np.random.default_rng(seed).permutation(int(np.prod(shape))) * 0.1
    return values.reshape(shape).astype(np.float64)


def conv_layer(c_in, c_out, kernel, *, seed: int, stride=1, padding=0, bias=True, dtype=np.float64):
    """A seeded Conv2d with parameters of `dtype` (float64 for finite differences) and a non-zero bias."""
    from tinytorch.core.spatial import Conv2d

    layer = Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=bias, rng=np.random.default_rng(seed))
    layer.weight.data = layer.weight.data.astype(dtype)
    if bias:
        layer.bias.data = sample(c_out, seed + 1).astype(dtype)
    return layer


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


def assert_attention_gradients(tensors, arrays, allowed, g, *, what: str, h=None, prepare=None,
                               rtol: float = 1e-5, atol: float = 1e-7) -> None:
    """Check the .grad of the Tensors Q, K, V (`tensors`, after a backward pass) against central
    differences of sum(output * g) + sum(weights * h) (h None: no weights term), both computed by
    attention_reference on `arrays` (float64 q, k, v); `prepare(q, k, v)` returns what the
    reference gets (to broadcast keys shared by a batch, say)."""
    prepare = prepare or (lambda *qkv: qkv)
    for index, name in enumerate("QKV"):
        def loss(a, index=index):
            args = list(arrays)
            args[index] = a
            out, weights = attention_reference(*prepare(*args), allowed)
            return float(np.sum(out * g) + (0.0 if h is None else np.sum(weights * h)))

        got = tensors[index].grad
        want = arrays[index]
        assert got is not None and got.shape == want.shape, (
            f"{what}: {name}.grad should have {name}'s shape {want.shape}; got {None if got is None else got.shape}")
        assert_close(got, numerical_gradient(loss, want.copy()), rtol=rtol, atol=atol,
                     what=f"{what}: {name}.grad (expected: finite differences)")


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


# ---- module 18 (compression)
# Structured pruning is checked against the unpruned model with the removed units zeroed: the
# helpers below build float64 models with non-zero biases and BatchNorm statistics (so that a
# bias or a running statistic left unsliced shows), find a layer by its report path, and zero
# the units a report says were removed, written with loops and reshapes rather than slices.


def randomize_f64(layer, rng) -> None:
    """Give a Linear, Conv2d or BatchNorm2d float64 parameters: its weights, random biases, gamma, beta, statistics."""
    from tinytorch.core.layers import Linear
    from tinytorch.core.spatial import BatchNorm2d, Conv2d

    if isinstance(layer, (Linear, Conv2d)):
        layer.weight.data = layer.weight.data.astype(np.float64)
        if getattr(layer, "bias", None) is not None:
            layer.bias.data = 0.5 * rng.standard_normal(layer.bias.shape)
    elif isinstance(layer, BatchNorm2d):
        c = layer.num_features
        layer.gamma.data = rng.uniform(0.5, 1.5, c)
        layer.beta.data = 0.5 * rng.standard_normal(c)
        layer.running_mean.data = 0.5 * rng.standard_normal(c)
        layer.running_var.data = rng.uniform(0.5, 2.0, c)


def f64_sequential(seed: int, make_layers):
    """Sequential(*make_layers(rng)) with float64 randomized parameters, in eval mode: call twice, get twins."""
    from tinytorch.core.layers import Sequential

    rng = np.random.default_rng(seed)
    layers = make_layers(rng)
    for layer in layers:
        randomize_f64(layer, rng)
    return Sequential(*layers).eval()


def module_at(model, path: str):
    """The sub-module of `model` at a dotted path such as "layers.0" or "mlp.layers.2"."""
    obj = model
    for part in path.split("."):
        obj = obj[int(part)] if isinstance(obj, (list, tuple)) else getattr(obj, part)
    return obj


def unit_norms_loop(layer) -> np.ndarray:
    """L2 norm of each output unit (weight column of a Linear, filter of a Conv2d) and its bias, by a loop."""
    from tinytorch.core.layers import Linear

    w = np.asarray(layer.weight.data, dtype=np.float64)
    units = w.shape[1] if isinstance(layer, Linear) else w.shape[0]
    b = np.zeros(units) if layer.bias is None else np.asarray(layer.bias.data, dtype=np.float64)
    norms = np.zeros(units)
    for u in range(units):
        values = w[:, u] if isinstance(layer, Linear) else w[u].ravel()
        norms[u] = np.sqrt(np.dot(values, values) + b[u] * b[u])
    return norms


def zero_units(first, second, removed, positions: int = 1) -> None:
    """Zero, in place, the `removed` output units of `first` (and their biases) and their inputs in `second`.

    A Linear `second` after a Flatten of (C, H, W) maps: its weight seen as (C, positions, out),
    and channel c's block set to 0.
    """
    from tinytorch.core.layers import Linear

    for u in removed:
        if isinstance(first, Linear):
            first.weight.data[:, u] = 0.0
        else:
            first.weight.data[u] = 0.0
        if first.bias is not None:
            first.bias.data[u] = 0.0
        if isinstance(second, Linear):
            blocks = second.weight.data.reshape(-1, positions, second.weight.shape[1])   # a view
            blocks[u] = 0.0
        else:
            second.weight.data[:, u] = 0.0


def zero_reported_units(reference, report: dict) -> None:
    """Zero in the unpruned twin `reference` every unit that structured_prune's `report` removed."""
    from tinytorch.core.layers import Linear

    for chain in report["chains"]:
        first, second = module_at(reference, chain["first"]), module_at(reference, chain["second"])
        removed = sorted(set(range(chain["units_before"])) - set(chain["kept"]))
        positions = 1
        if isinstance(second, Linear) and not isinstance(first, Linear):
            positions = second.weight.shape[0] // first.weight.shape[0]
        zero_units(first, second, removed, positions)


def distillation_reference(student, teacher, targets, temperature: float, alpha: float) -> float:
    """Hinton's distillation loss in float64, one example at a time: alpha T^2 KL(p||q) + (1 - alpha) CE."""
    student = np.asarray(student, dtype=np.float64)
    teacher = np.asarray(teacher, dtype=np.float64)

    def log_probs(row):                       # log softmax of one row, shifted by its max: no overflow
        shifted = row - np.max(row)
        return shifted - np.log(np.sum(np.exp(shifted)))

    n = student.shape[0]
    soft = hard = 0.0
    for i in range(n):
        log_p, log_q = log_probs(teacher[i] / temperature), log_probs(student[i] / temperature)
        soft += float(np.sum(np.exp(log_p) * (log_p - log_q)))
        hard -= float(log_probs(student[i])[int(targets[i])])
    return alpha * temperature ** 2 * soft / n + (1 - alpha) * hard / n


# ---- module 16 (acceleration)
# GELU written another way (x * sigmoid(2u) instead of 0.5 * x * (1 + tanh(u))), a graph walker
# that does not use module 05's helpers, and the spies that let the tests check what a timing
# function times without timing anything themselves.


def gelu_sigmoid_form(x) -> np.ndarray:
    """GELU (tanh approximation) in float64, as x * sigmoid(2u): 0.5 * (1 + tanh(u)) = sigmoid(2u)."""
    x = np.asarray(x, dtype=np.float64)
    u = np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)
    return x * np.exp(-np.logaddexp(0.0, -2.0 * u))


def count_graph_nodes(t) -> int:
    """Number of distinct Tensors reachable from `t` through `_grad_fn.inputs` that have a `_grad_fn`."""
    seen, stack, nodes = set(), [t], 0
    while stack:
        tensor = stack.pop()
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        fn = getattr(tensor, "_grad_fn", None)
        if fn is not None:
            nodes += 1
            stack.extend(fn.inputs)
    return nodes


def spy(monkeypatch, owner, name: str, calls: list) -> None:
    """Replace `owner.name` by a wrapper that appends (name, args, kwargs) to `calls`, then calls the original."""
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        calls.append((name, args, kwargs))
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)


def fake_best_time(calls: list, seconds_of, repeats_seen: list):
    """A stand-in for `_best_time(fn, repeats)`: runs fn() once, records `repeats`, and returns
    `seconds_of(name, args)` for the first spied function fn() called (see `spy`)."""

    def best_time(fn, repeats):
        before = len(calls)
        fn()
        assert len(calls) > before, "_best_time(fn, repeats) was given a function that calls none of the timed kernels"
        repeats_seen.append(repeats)
        name, args, _ = calls[before]
        return seconds_of(name, args)

    return best_time


# ---- module 13 (transformers)
# Float64 references written without the course's ops (a loop with np.var for LayerNorm, module
# 12's one-head-at-a-time attention reference, GELU's formula), a stand-in for module 14's cache,
# and what the gradient tests of a whole GPT need.

GELU_TANH_SCALE = np.sqrt(2.0 / np.pi)


def layer_norm_reference(x, weight, bias, eps: float = 1e-5) -> np.ndarray:
    """LayerNorm over the last axis in float64, one vector at a time with np.var (biased, ddof=0)."""
    x = np.asarray(x, dtype=np.float64)
    flat = x.reshape(-1, x.shape[-1])
    out = np.empty_like(flat)
    for i, row in enumerate(flat):
        out[i] = (row - row.mean()) / np.sqrt(np.var(row) + eps)
    return out.reshape(x.shape) * np.asarray(weight, dtype=np.float64) + np.asarray(bias, dtype=np.float64)


def gelu_reference(x) -> np.ndarray:
    """GELU, tanh approximation, in float64."""
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * x * (1.0 + np.tanh(GELU_TANH_SCALE * (x + 0.044715 * x ** 3)))


def block_reference(block, x, allowed=None) -> np.ndarray:
    """A pre-norm TransformerBlock's output in float64, from its parameters (ln1, attn, ln2, mlp)."""
    x = np.asarray(x, dtype=np.float64)
    attn = block.attn
    params = {name: (getattr(attn, f"{name}_proj").weight.data,
                     None if getattr(attn, f"{name}_proj").bias is None else getattr(attn, f"{name}_proj").bias.data)
              for name in ("q", "k", "v", "out")}
    h = layer_norm_reference(x, block.ln1.weight.data, block.ln1.bias.data, block.ln1.eps)
    x = x + multi_head_attention_reference(h, params, attn.num_heads, allowed)
    h = layer_norm_reference(x, block.ln2.weight.data, block.ln2.bias.data, block.ln2.eps)
    first, _, second = block.mlp.layers
    hidden = gelu_reference(h @ first.weight.data.astype(np.float64) + first.bias.data)
    return x + hidden @ second.weight.data.astype(np.float64) + second.bias.data


def gpt_forward_reference(model, ids, start_pos: int = 0) -> np.ndarray:
    """GPT logits (B, T, V) in float64 from the model's parameters, positions from start_pos."""
    ids = np.asarray(ids, dtype=np.int64)
    t = ids.shape[1]
    x = (model.token_embedding.weight.data.astype(np.float64)[ids]
         + model.position_embedding.weight.data.astype(np.float64)[start_pos:start_pos + t])
    allowed = np.tril(np.ones((t, t), dtype=bool))
    for block in model.blocks:
        x = block_reference(block, x, allowed)
    x = layer_norm_reference(x, model.ln_f.weight.data, model.ln_f.bias.data, model.ln_f.eps)
    return x @ model.head.weight.data.astype(np.float64) + model.head.bias.data


def gpt_named_parameters(model) -> list:
    """(name, Tensor) for every parameter of a GPT, named by attribute path, e.g. 'blocks[0].attn.q_proj.weight'."""
    named = [("token_embedding.weight", model.token_embedding.weight),
             ("position_embedding.weight", model.position_embedding.weight)]
    for i, block in enumerate(model.blocks):
        for ln in ("ln1", "ln2"):
            named += [(f"blocks[{i}].{ln}.{p}", getattr(getattr(block, ln), p)) for p in ("weight", "bias")]
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            layer = getattr(block.attn, proj)
            named += [(f"blocks[{i}].attn.{proj}.{p}", getattr(layer, p)) for p in ("weight", "bias")]
        for j in (0, 2):
            named += [(f"blocks[{i}].mlp[{j}].{p}", getattr(block.mlp.layers[j], p)) for p in ("weight", "bias")]
    named += [("ln_f.weight", model.ln_f.weight), ("ln_f.bias", model.ln_f.bias),
              ("head.weight", model.head.weight), ("head.bias", model.head.bias)]
    return named


def randomize_float64(named, seed: int, scale: float = 0.3) -> None:
    """Replace every parameter by seeded float64 values: LayerNorm weights near 1, the rest N(0, scale^2)."""
    rng = np.random.default_rng(seed)
    for name, p in named:
        values = rng.standard_normal(p.shape) * scale
        is_ln_weight = (".ln" in name or name.startswith("ln_f")) and name.endswith("weight")
        p.data = 1.0 + values if is_ln_weight else values


def check_sampled_gradients(named, loss, *, what: str, seed: int, per_tensor: int = 3,
                            eps: float = 1e-6, rtol: float = 1e-5, atol: float = 1e-7) -> None:
    """Backward of the scalar `loss()` once, then central differences at `per_tensor` seeded entries of each parameter."""
    for _, p in named:
        p.grad = None
    loss().backward()
    rng = np.random.default_rng(seed)
    for name, p in named:
        assert p.grad is not None, f"{what}: {name}.grad is None after backward: no gradient reached it"
        flat, grad = p.data.reshape(-1), np.asarray(p.grad.data).reshape(-1)
        for i in rng.choice(flat.size, size=min(per_tensor, flat.size), replace=False):
            old = flat[i]
            flat[i] = old + eps
            plus = float(loss().data)
            flat[i] = old - eps
            minus = float(loss().data)
            flat[i] = old
            numeric = (plus - minus) / (2 * eps)
            assert abs(grad[i] - numeric) <= atol + rtol * abs(numeric), (
                f"{what}: {name}.grad at flat index {i} is {grad[i]!r}; central finite differences "
                f"give {numeric!r}")


class FakeKVCache:
    """A stand-in for module 14's cache that follows module 13's cache protocol the slow way.

    For each layer it keeps the normalised inputs seen so far; attend() appends x_new, runs
    `attn` over the whole history with a causal mask and returns the rows of the new positions.
    It records (layer_idx, T_new, start_pos) per call in `calls` and counts `resets`.
    """

    def __init__(self):
        self.calls, self.resets, self.history = [], 0, {}

    def reset(self):
        self.resets += 1
        self.history = {}

    def attend(self, attn, x_new, layer_idx, start_pos):
        from tinytorch.core.attention import causal_mask
        from tinytorch.core.tensor import Tensor

        past = self.history.get(layer_idx)
        cached = 0 if past is None else past.shape[1]
        assert start_pos == cached, (
            f"cache.attend(layer_idx={layer_idx}, start_pos={start_pos}) but the cache holds {cached} "
            f"positions of that layer: start_pos must be the number of positions fed before")
        full = x_new.data if past is None else np.concatenate([past, x_new.data], axis=1)
        self.history[layer_idx] = full
        self.calls.append((layer_idx, x_new.shape[1], start_pos))
        total = full.shape[1]
        out = attn(Tensor(full), causal_mask(total))                 # (B, total, C)
        return out[:, total - x_new.shape[1]:]                        # (B, T_new, C)


# ---- module 17 (quantization)
# The affine int8 mapping written with Python numbers, one value at a time (Python's round also
# rounds halves to even); QuantizedLinear's output in float64 from the levels it stores; a walk
# that finds layers by class without module 17's helpers; the paths of a GPT's Linear layers.

INT8_STEPS = 255          # steps between -128 and 127


def qparams_reference(low: float, high: float) -> tuple:
    """(scale, zero_point) of [min(low, 0), max(high, 0)]: scale = width / 255, the real 0 at level zero_point."""
    low = float(np.minimum(low, 0.0))                     # the range always holds 0
    high = float(np.maximum(high, 0.0))
    scale = (high - low) / INT8_STEPS if high > low else 1.0
    return scale, -128 + round(-low / scale)


def quantize_reference(values, scale: float, zero_point: int) -> np.ndarray:
    """int8 levels of `values`, one Python number at a time: round(v / scale) + zero_point, kept in [-128, 127]."""
    values = np.asarray(values, dtype=np.float64)
    levels = [max(-128, min(127, round(v / scale) + int(zero_point))) for v in values.reshape(-1).tolist()]
    return np.array(levels, dtype=np.int8).reshape(values.shape)


def dequantize_reference(q, scale: float, zero_point: int) -> np.ndarray:
    """scale * (q - zero_point) in float64."""
    return (np.asarray(q, dtype=np.int64) - int(zero_point)) * float(scale)


def quantized_linear_reference(layer, x) -> np.ndarray:
    """A QuantizedLinear's output in float64 from its stored levels: x as given (weight-only), or x
    quantized with the layer's input scale and zero point and read back (static)."""
    x = np.asarray(getattr(x, "data", x), dtype=np.float64)
    w = dequantize_reference(layer.qweight, layer.weight_scale, layer.weight_zero_point)
    if layer.input_scale is not None:
        levels = quantize_reference(x, float(layer.input_scale), int(layer.input_zero_point))
        x = dequantize_reference(levels, layer.input_scale, layer.input_zero_point)
    out = x @ w
    return out if layer.bias is None else out + np.asarray(layer.bias, dtype=np.float64)


def instances_of(model, cls) -> list:
    """Every object of class `cls` under `model`: Modules' attributes, lists and tuples, recursively (each once)."""
    from tinytorch.core.layers import Module

    found, seen = [], set()

    def walk(value) -> None:
        if isinstance(value, (list, tuple)):
            for item in value:
                walk(item)
        elif isinstance(value, (Module, cls)) and id(value) not in seen:
            seen.add(id(value))
            if isinstance(value, cls):
                found.append(value)
            if isinstance(value, Module):
                for child in vars(value).values():
                    walk(child)

    walk(model)
    return found


def gpt_linear_paths(num_layers: int) -> list:
    """The dotted paths of every Linear of a GPT with `num_layers` blocks, in parameters() order."""
    per_block = ["attn.q_proj", "attn.k_proj", "attn.v_proj", "attn.out_proj", "mlp.layers.0", "mlp.layers.2"]
    return [f"blocks.{i}.{name}" for i in range(num_layers) for name in per_block] + ["head"]


# ---- module 19 (benchmarking)
# A clock that moves only while the timed function runs (so the tests check what is timed without
# timing anything), a percentile written with ranks, models that record what they are given, and
# readers for the files a benchmark writes (the PNG through matplotlib, the markdown table).


class TickingClock:
    """A clock in seconds that stands still except in `tick()`: its k-th call advances it by durations_ms[k]."""

    def __init__(self, durations_ms):
        self.durations = [float(d) for d in durations_ms]
        self.seconds = 100.0
        self.calls = 0

    def now(self) -> float:
        return self.seconds

    def tick(self) -> None:
        self.seconds += self.durations[self.calls] / 1000.0
        self.calls += 1


def percentile_by_rank(values, q: float) -> float:
    """The q-th percentile, linear between the two nearest ranks of the sorted values (rank q/100 * (n-1),
    NumPy's default); modules 15 and 19 check their latency spreads against it."""
    ordered = sorted(float(v) for v in values)
    rank = q / 100.0 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (rank - low) * (ordered[high] - ordered[low])


def recording_model(weight, log: list, name: str = "model"):
    """A Module computing x @ weight that appends (name, x, grad mode on?, model.training) to `log` per call."""
    from tinytorch.core.autograd import is_grad_enabled
    from tinytorch.core.layers import Module
    from tinytorch.core.tensor import Tensor

    class Recording(Module):
        def __init__(self):
            super().__init__()
            self.weight = Tensor(np.asarray(weight, dtype=np.float32), requires_grad=True)

        def forward(self, x):
            log.append((name, x, is_grad_enabled(), self.training))
            return x @ self.weight

    return Recording()


def read_png(path) -> np.ndarray:
    """The pixels of the PNG file at `path` (matplotlib's imread), after checking the PNG signature."""
    import matplotlib.image

    with open(path, "rb") as f:
        head = f.read(8)
    assert head == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG file: it starts with {head!r}"
    return matplotlib.image.imread(path)


def markdown_cells(text: str) -> list:
    """The cells of each line of a markdown table (lines starting with '|'), split at unescaped '|'."""
    import re

    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("|") and line.endswith("|"):
            rows.append([c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line[1:-1])])
    return rows


# ---- module 15 (profiling)
# Clocks that the tests control (the profiler reads every time from its clock, so nothing is ever
# timed), a layer that moves the clock in its forward and in its backward, FLOP counts written by
# hand from the shapes, a graph walker of its own for the activation bytes, and percentiles by
# linear interpolation written out.


class FakeClock:
    """A profiler clock that returns `now` (seconds); only `advance` moves it. Counts its reads."""

    def __init__(self, start: float = 100.0):
        self.now, self.reads = start, 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class PairClock:
    """A clock whose reads come in pairs (start, end): pair k is `durations[k]` seconds apart."""

    def __init__(self, durations, gap: float = 7.0):
        self.durations, self.gap, self.reads = list(durations), gap, 0

    def __call__(self) -> float:
        pair, is_end = divmod(self.reads, 2)
        self.reads += 1
        assert pair < len(self.durations), (
            f"the clock was read {self.reads} times; expected two reads (start, end) around each of the "
            f"{len(self.durations)} timed runs and no others")
        start = sum(d + self.gap for d in self.durations[:pair])
        return start + (self.durations[pair] if is_end else 0.0)


def ticking_layer(clock, forward_seconds=0.0, backward_seconds: float = 0.0, inner=None):
    """A Module that advances `clock` by `forward_seconds` per forward call (a number, or a list: one per
    call) and by `backward_seconds` in its backward, around `inner` (or the identity). It records the grad
    mode of each call in `.grad_modes`."""
    from tinytorch.core.autograd import is_grad_enabled
    from tinytorch.core.layers import Module
    from tinytorch.core.tensor import Function, Tensor, graph_op

    class TickBackward(Function):
        def backward(self, grad):
            clock.advance(self.params["seconds"])
            return (grad,)

    @graph_op(TickBackward, inputs=("x",))
    def tick(x, seconds):
        return Tensor(x.data)

    class Ticking(Module):
        def __init__(self):
            super().__init__()
            self.inner = inner
            self.grad_modes = []

        def forward(self, x):
            call = len(self.grad_modes)
            self.grad_modes.append(is_grad_enabled())
            clock.advance(forward_seconds[call] if isinstance(forward_seconds, (list, tuple)) else forward_seconds)
            return tick(x if self.inner is None else self.inner(x), backward_seconds)

    return Ticking()


def mha_flops_by_hand(batch: int, seq: int, dim: int) -> int:
    """Self-attention FLOPs: q, k, v, out projections (B*T rows x C*C each) + Q K^T and weights V (B*T*T*C each), x 2."""
    projections = 4 * (batch * seq) * dim * dim
    attention = 2 * batch * seq * seq * dim
    return 2 * (projections + attention)


def gpt_flops_by_hand(vocab: int, dim: int, layers: int, batch: int, seq: int, mlp_ratio: int = 4) -> int:
    """GPT forward FLOPs: per block attention + MLP (C -> rC -> C), then the head (C -> V); lookups 0."""
    mlp = 2 * 2 * (batch * seq) * dim * (mlp_ratio * dim)
    head = 2 * (batch * seq) * dim * vocab
    return layers * (mha_flops_by_hand(batch, seq, dim) + mlp) + head


def graph_bytes_reference(output, exclude=()) -> int:
    """Bytes of the distinct memory blocks behind every Tensor that a node of output's graph made or took
    as an input, and every array among a node's params (views resolved to their base), the blocks of
    `exclude`'s Tensors left out."""
    def owner(array):
        while isinstance(array.base, np.ndarray):
            array = array.base
        return array

    skip = {id(owner(np.asarray(t.data))) for t in exclude}
    blocks, seen, stack = {}, set(), [output]
    while stack:
        tensor = stack.pop()
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        fn = getattr(tensor, "_grad_fn", None)
        if fn is None:
            continue
        arrays = [value for value in fn.params.values() if isinstance(value, np.ndarray)]
        for array in (tensor.data, *(t.data for t in fn.inputs), *arrays):
            block = owner(np.asarray(array))
            if id(block) not in skip:
                blocks[id(block)] = block.nbytes
        stack.extend(fn.inputs)
    return int(sum(blocks.values()))
