"""Module 16: acceleration, making a correct library fast, and measuring every claim.

What you build
    blocked_matmul / vectorized_matmul   two faster versions of the triple loop `matmul_loops`
                                         (given): tiles of the matrices, then one NumPy call
    measure_speedups                     times the three on your own machine; returns the ratios
    fused_gelu + FusedGELUBackward       GELU as ONE graph node, against `unfused_gelu` (given),
                                         the same function composed of nine Tensor ops
    cast + CastBackward                  change a Tensor's dtype inside the graph
    MixedPrecisionTrainer                float16 forward and backward, float32 master weights,
                                         dynamic loss scaling (skip a step on inf/nan)

Why it matters
    Modules 01-07 made the library correct. Speed and memory decide what you can train: the
    same matrix product is 1,000-30,000x faster as one NumPy call than as Python loops, and
    a graph of nine small ops keeps eight arrays alive that one fused op does not. The rule
    of this module: every speed claim is a number you measured, on your code, in one run.

        matmul_loops         n^3 multiply-adds, each a Python step      (the baseline)
        blocked_matmul       (n/b)^3 tile products, each one BLAS call  (Python loops over tiles)
        vectorized_matmul    1 BLAS call                                (Python is out of the loop)

        unfused_gelu(x)      x -> [*] -> [*] -> [*] -> [+] -> [*] -> Tanh -> [+] -> [*] -> [*] -> out
                             9 graph nodes, 8 intermediate arrays kept for backward
        fused_gelu(x)        x -> [FusedGELUBackward] -> out
                             1 node: only x and out are kept; the backward is one formula

    Mixed precision keeps two copies of the weights: float32 "masters" that the optimizer
    updates (small updates are lost in float16: 1 + 1e-4 == 1 in float16) and a float16
    copy for the forward and backward passes. Gradients of small losses underflow to 0 in
    float16 (its smallest positive number is ~6e-8), so the loss is multiplied by a scale
    (1024) before backward and the gradients divided by it after; if a gradient overflows
    to inf (float16 stops at 65504), the step is skipped and the scale halved.

Be honest about the CPU
    NumPy has no float16 arithmetic in hardware on a CPU: a float16 matmul is converted
    element by element and runs tens to hundreds of times SLOWER than float32 (measure it:
    `float16_matmul_slowdown`). On a GPU, tensor cores make float16 several times faster.
    Here the lessons of mixed precision are memory (half the bytes per activation) and
    dynamic loss scaling, not speed.

What later modules use it for
    15 profiling      FLOPs and time per op: the roofline that says which ops fusion helps
    17 quantization   the next step down: int8 weights, the same precision-for-memory trade
    19 benchmarking   speed-ups measured the way `measure_speedups` does, in one run

The systems angle
    `measure_speedups` and `float16_matmul_slowdown` measure time ratios;
    `gelu_fusion_saved_bytes` counts the memory a fused op saves; `mixed_precision_weight_bytes`
    the weight memory mixed precision costs; `float16_underflow_fraction` why loss scaling exists.
"""

from __future__ import annotations

import math
import time

import numpy as np

from tinytorch.core.activations import GELU_CUBIC, GELU_SCALE, Tanh
from tinytorch.core.autograd import graph_nodes
from tinytorch.core.optimizers import _check_hyper     # module 06's given check of a number
from tinytorch.core.tensor import Function, Tensor, _wrap, graph_op, tensor_nbytes
from tinytorch.core.training import _check_positive_int, _check_training_parts   # module 07's given checks

DEFAULT_BLOCK = 64              # tile side of blocked_matmul: 3 float32 tiles of 64x64 = 48 KiB
DEFAULT_SIZES = (32, 64, 96)    # matrix sizes measure_speedups times
DEFAULT_REPEATS = 3             # each timing is the fastest of this many runs
SLOWDOWN_SIZE = 128             # matrix size of float16_matmul_slowdown
MIN_SECONDS = 1e-9              # a timing is never reported below this: ratios stay finite

HALF = np.float16               # the dtype of the forward and backward passes
MASTER = np.float32             # the dtype of the master weights and of the loss
DEFAULT_LOSS_SCALE = 1024.0     # PyTorch's GradScaler starts at 65536; a tiny MLP needs less
DEFAULT_GROWTH_INTERVAL = 100   # good steps in a row before the scale grows
DEFAULT_GROWTH_FACTOR = 2.0     # the scale after growth_interval good steps: times this
DEFAULT_BACKOFF_FACTOR = 0.5    # the scale after an inf/nan gradient: times this


# ---------------------------------------------------------------------- given helpers


def _as_matrix(x, who: str, name: str) -> np.ndarray:
    """`x` (a Tensor or an array-like of numbers) as a 2-D NumPy array, or an error naming it (given)."""
    data = np.asarray(x.data if isinstance(x, Tensor) else x)
    if data.dtype.kind not in "fiu":
        raise TypeError(f"{who}: {name} must hold numbers; got dtype {data.dtype}")
    if data.ndim != 2:
        raise ValueError(f"{who}: {name} must be a matrix (2-D); got shape {data.shape}")
    return data


def _best_time(fn, repeats: int) -> float:
    """The fastest of `repeats` runs of `fn()`, in seconds (given).

    The minimum, not the mean: other programs, the garbage collector and the CPU's clock can
    only ADD time to a run, so the fastest run is the best estimate of the code's own cost.
    """
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return max(best, MIN_SECONDS)


# ---------------------------------------------------------------------- three matrix products


def matmul_loops(a, b) -> np.ndarray:
    """(m, k) @ (k, n) with three Python loops: the baseline every speed-up is measured against (given).

    Each of the m * n * k multiply-adds is a Python step: fetch two NumPy scalars, multiply,
    add, with type checks and object allocations every time: about 2 million per second.
    """
    a, b = _as_matrix(a, "matmul_loops", "a"), _as_matrix(b, "matmul_loops", "b")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"matmul_loops: {a.shape} @ {b.shape}: inner dimensions "
                         f"{a.shape[1]} and {b.shape[0]} differ")
    m, k = a.shape
    n = b.shape[1]
    out = np.zeros((m, n), dtype=np.result_type(a, b))
    for i in range(m):
        for j in range(n):
            total = 0.0
            for p in range(k):
                total += a[i, p] * b[p, j]
            out[i, j] = total
    return out


def _tile_matmul(a_tile: np.ndarray, b_tile: np.ndarray) -> np.ndarray:
    """The product of one tile of `a` with one tile of `b` (given): blocked_matmul's only product.

    Every tile product of blocked_matmul goes through this function, so that the tests can
    count them (a test replaces it with a counting version).
    """
    return a_tile @ b_tile


def blocked_matmul(a, b, block: int = DEFAULT_BLOCK) -> np.ndarray:
    """(m, k) @ (k, n) computed tile by tile: loops over blocks, one `_tile_matmul` per block triple.

        a (m, k)              b (k, n)              out (m, n)
        +----+----+--+        +----+----+--+        +----+----+--+
        |A00 |A01 |  |        |B00 |B01 |  |        |C00 |C01 |  |   C00 = A00 @ B00 + A01 @ B10 + ...
        +----+----+--+   @    +----+----+--+   =    +----+----+--+   each block <= block x block;
        |A10 |A11 |  |        |B10 |B11 |  |        |C10 |C11 |  |   the last row / column of
        +----+----+--+        +----+----+--+        +----+----+--+   tiles may be smaller

    Why tiles: a tile of each matrix fits in the CPU's cache, so each number loaded from
    memory is used `block` times before it is evicted. BLAS libraries do exactly this (in C,
    with several levels of tiles); here Python runs the loops over tiles and NumPy multiplies
    each pair of tiles, so the loop structure is yours and each tile product is fast.

    TODO: Check the operands, then accumulate every output tile from its row of `a` tiles and
    column of `b` tiles; return an (m, n) NumPy array of dtype `np.result_type(a, b)`.

    APPROACH:
        1. Convert a and b with `_as_matrix` (it rejects non-matrices). Their inner sizes
           must agree: otherwise ValueError naming both shapes, as `matmul_loops` says it.
           `block` must be an int >= 1 (not a bool): otherwise ValueError naming it.
        2. Start from an output of zeros, (m, n).
        3. Three loops over tile starts, stepping by `block`: rows of the output, columns of
           the output, and the shared k dimension. Each tile ends at its start + block, or
           at the matrix's edge, whichever comes first (slicing past the end of an array
           simply stops at the edge).
        4. For each triple, multiply the (rows, k-range) tile of a by the (k-range, columns)
           tile of b with `_tile_matmul`, and ADD the product into the output tile.

    EXAMPLE:
        >>> a, b = np.ones((100, 70)), np.ones((70, 30))
        >>> blocked_matmul(a, b, block=32)[0, 0]       # 4 x 3 x 1 = 12 tile products
        70.0

    HINTS:
        - Number of tile products: ceil(m/block) * ceil(k/block) * ceil(n/block); the tests
          count them through `_tile_matmul`, so use it for every tile product (and for
          nothing else).
        - Assigning instead of adding keeps only the last k-tile's contribution.
        - The loop order (rows, columns, k) keeps one output tile hot while its sum builds up.
    """
    # BEGIN SOLUTION
    a, b = _as_matrix(a, "blocked_matmul", "a"), _as_matrix(b, "blocked_matmul", "b")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"blocked_matmul: {a.shape} @ {b.shape}: inner dimensions "
                         f"{a.shape[1]} and {b.shape[0]} differ")
    if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or block < 1:
        raise ValueError(f"blocked_matmul: block must be an int >= 1; got {block!r}")
    m, k = a.shape
    n = b.shape[1]
    out = np.zeros((m, n), dtype=np.result_type(a, b))                       # (m, n)
    for i in range(0, m, block):
        for j in range(0, n, block):
            for p in range(0, k, block):
                out[i:i + block, j:j + block] += _tile_matmul(a[i:i + block, p:p + block],
                                                              b[p:p + block, j:j + block])
    return out
    # END SOLUTION


def vectorized_matmul(a, b) -> np.ndarray:
    """(m, k) @ (k, n) as one NumPy call: the whole product in compiled code (BLAS).

    TODO: Check the operands as blocked_matmul does, then return the product as a NumPy array.

    APPROACH:
        1. Convert both with `_as_matrix` (names "a" and "b", and this function's name).
        2. Inner sizes differ: ValueError naming both shapes and both inner sizes, e.g.
           "vectorized_matmul: (3, 4) @ (5, 2): inner dimensions 4 and 5 differ".
        3. One call to NumPy's matrix product. No loop at all.

    EXAMPLE:
        >>> vectorized_matmul(np.eye(2), [[1, 2], [3, 4]])
        array([[1., 2.],
               [3., 4.]])

    HINTS:
        - The check matters: np.matmul's own message ("mismatch in its core dimension 0")
          does not say which call of yours was wrong.
    """
    # BEGIN SOLUTION
    a, b = _as_matrix(a, "vectorized_matmul", "a"), _as_matrix(b, "vectorized_matmul", "b")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"vectorized_matmul: {a.shape} @ {b.shape}: inner dimensions "
                         f"{a.shape[1]} and {b.shape[0]} differ")
    return np.matmul(a, b)
    # END SOLUTION


def measure_speedups(sizes=DEFAULT_SIZES, repeats: int = DEFAULT_REPEATS, block: int = DEFAULT_BLOCK,
                     seed: int = 0) -> list:
    """Time matmul_loops, blocked_matmul and vectorized_matmul on (n, n) matrices; return the ratios.

    One dict per size, in the order of `sizes`:
        {"n": n, "loops_seconds": ..., "blocked_seconds": ..., "vectorized_seconds": ...,
         "loops_vs_blocked": loops_seconds / blocked_seconds,
         "loops_vs_vectorized": loops_seconds / vectorized_seconds,
         "blocked_vs_vectorized": blocked_seconds / vectorized_seconds}
    A ratio above 1 means the second is faster by that factor.

    TODO: Validate the arguments; for each size, build two random float32 (n, n) matrices, time
    each of the three functions on them with `_best_time`, and collect the dict above.

    APPROACH:
        1. `sizes` must be a non-empty list/tuple of ints >= 1, `repeats` and `block` ints >= 1:
           ValueError naming the bad value otherwise (`_check_positive_int` is given).
        2. One generator for the whole run, np.random.default_rng(seed); for each n draw a
           and b as standard normals of shape (n, n), converted to float32.
        3. Time each kernel with `_best_time` on a zero-argument function (a lambda) that
           calls it on (a, b), passing `repeats` on; blocked_matmul gets `block`. Each kernel
           thus runs exactly `repeats` times per size; no extra calls.
        4. The seconds and the three ratios go into the size's dict.

    EXAMPLE:
        >>> rows = measure_speedups(sizes=(32, 64))
        >>> [row["n"] for row in rows], rows[1]["loops_vs_vectorized"] > 100
        ([32, 64], True)

    HINTS:
        - Call the three functions by their module names: the tests replace them (and
          `_best_time`) to check what you time, without timing anything themselves.
        - matmul_loops at n = 96 takes about half a second per run: keep sizes small.
    """
    # BEGIN SOLUTION
    if not isinstance(sizes, (list, tuple)) or not sizes:
        raise ValueError(f"measure_speedups: sizes must be a non-empty list of ints >= 1; got {sizes!r}")
    sizes = [_check_positive_int("measure_speedups", "a size", n) for n in sizes]
    repeats = _check_positive_int("measure_speedups", "repeats", repeats)
    block = _check_positive_int("measure_speedups", "block", block)
    rng = np.random.default_rng(seed)
    rows = []
    for n in sizes:
        a = rng.standard_normal((n, n)).astype(np.float32)                       # (n, n)
        b = rng.standard_normal((n, n)).astype(np.float32)                       # (n, n)
        loops = _best_time(lambda: matmul_loops(a, b), repeats)
        blocked = _best_time(lambda: blocked_matmul(a, b, block), repeats)
        vectorized = _best_time(lambda: vectorized_matmul(a, b), repeats)
        rows.append({"n": n, "loops_seconds": loops, "blocked_seconds": blocked,
                     "vectorized_seconds": vectorized, "loops_vs_blocked": loops / blocked,
                     "loops_vs_vectorized": loops / vectorized,
                     "blocked_vs_vectorized": blocked / vectorized})
    return rows
    # END SOLUTION


# ---------------------------------------------------------------------- fusion: GELU as one node


def unfused_gelu(x: Tensor) -> Tensor:
    """GELU (tanh approximation) composed of Tensor ops and module 02's Tanh: 9 graph nodes (given).

        GELU(x) = 0.5 * x * (1 + tanh(GELU_SCALE * (x + GELU_CUBIC * x^3)))

    This is GELU as you would write it if autograd were all you had: correct, and every op
    makes a node that keeps its inputs alive until backward. Module 02's `GELU` was already
    one op with a hand-written backward; this module makes the difference measurable.
    """
    cube = x * x * x                                        # 2 nodes
    inner = (x + cube * GELU_CUBIC) * GELU_SCALE            # 3 nodes
    t = Tanh()(inner)                                       # 1 node
    return x * (t + 1.0) * 0.5                              # 3 nodes


class FusedGELUBackward(Function):
    """out = GELU(x), one node  ->  dx = grad * GELU'(x), in one pass over x."""

    def backward(self, grad):
        """TODO: Return (dL/dx,) for out = fused_gelu(x), computed from x alone.

        APPROACH: With u = GELU_SCALE * (x + GELU_CUBIC * x^3) and t = tanh(u), the product
        and chain rules give
            GELU'(x) = 0.5 * (1 + t) + 0.5 * x * (1 - t^2) * GELU_SCALE * (1 + 3 * GELU_CUBIC * x^2)
        x is the one saved input. Recompute t from it (the node does not keep t: recomputing
        one tanh is cheaper than keeping an array alive), in at least float32 as the forward
        does, and return grad times GELU'(x) in x's dtype.

        EXAMPLE: GELU'(0) = 0.5, so a gradient of ones at x = 0 gives 0.5.

        HINTS:
            - This is the formula of module 02's GELUBackward: the point here is that ONE
              node holds it, where unfused_gelu needs nine nodes and eight saved arrays.
            - float16 in, float16 out: compute in float32, convert once at the end.
        """
        # BEGIN SOLUTION
        x = self.saved_tensors[0]
        work = np.promote_types(x.dtype, MASTER)                # float16 -> float32, float64 stays
        v = x.astype(work)
        t = np.tanh(GELU_SCALE * (v + GELU_CUBIC * v * v * v))
        slope = 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * GELU_SCALE * (1.0 + 3.0 * GELU_CUBIC * v * v)
        return ((grad.astype(work) * slope).astype(x.dtype),)
        # END SOLUTION


@graph_op(FusedGELUBackward, inputs=("x",))
def fused_gelu(x: Tensor) -> Tensor:
    """GELU (tanh approximation) as one op: one graph node, computed in at least float32.

    TODO: Return GELU(x) as a new Tensor of x's shape and dtype, computed in one function so
    that the graph records a single FusedGELUBackward node.

    APPROACH:
        1. A non-Tensor: TypeError naming the type. A non-floating dtype: TypeError naming it.
        2. Work in x's dtype promoted to at least float32 (float16 -> float32, float64 stays
           float64): a GPU's fused kernel also loads float16, computes in float32 and stores
           float16, rounding once instead of after every op.
        3. Evaluate the formula of `unfused_gelu` on the NumPy array, then convert the result
           back to x's dtype and return it as a Tensor.

    EXAMPLE:
        >>> fused_gelu(Tensor([-1.0, 0.0, 1.0])).data
        array([-0.158808,  0.      ,  0.841192], dtype=float32)
        >>> x = Tensor(np.ones(3), requires_grad=True); graph_nodes(fused_gelu(x))
        1

    HINTS:
        - Fewer temporaries: NumPy's in-place operators and `out=` arguments let the whole
          formula run in one work array, the closest NumPy gets to a fused kernel.
        - `_wrap` (module 01, given) makes a Tensor around an array you own, without a copy.
        - Work on the array, not with Tensor ops: Tensor ops would record nine nodes again.
    """
    # BEGIN SOLUTION
    if not isinstance(x, Tensor):
        raise TypeError(f"fused_gelu expects a Tensor; got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"fused_gelu expects a floating Tensor; got dtype {x.dtype}")
    v = x.data.astype(np.promote_types(x.dtype, MASTER))   # the input, in the work dtype
    u = v * v                                               # the one work array: x^2
    u *= GELU_CUBIC
    u *= v                                                  # GELU_CUBIC * x^3
    u += v
    u *= GELU_SCALE                                         # inner
    np.tanh(u, out=u)                                       # t
    u += 1.0
    u *= v
    u *= 0.5                                                # 0.5 * x * (1 + t)
    return _wrap(u.astype(x.dtype, copy=False))
    # END SOLUTION


# ---------------------------------------------------------------------- casting inside the graph


class CastBackward(Function):
    """out = x converted to another dtype  ->  dx = grad converted back to x's dtype."""

    def backward(self, grad):
        """TODO: Return (dL/dx,) for out = cast(x, dtype).

        APPROACH: A cast does not change values (up to rounding), so its derivative is 1:
        the gradient passes through unchanged, converted to the dtype of the saved input.
        That conversion is where mixed precision's gradients enter float16 (and where a
        scaled gradient above 65504 becomes inf).

        EXAMPLE: x float16, out float32, grad float32 [1e5, 1.0] -> dx float16 [inf, 1.0].

        HINTS:
            - Return an array of x's shape and x's dtype.
        """
        # BEGIN SOLUTION
        return (grad.astype(self.saved_tensors[0].dtype),)
        # END SOLUTION


@graph_op(CastBackward, inputs=("x",))
def cast(x: Tensor, dtype) -> Tensor:
    """x as a new Tensor of floating dtype `dtype`, differentiable (PyTorch: `x.to(dtype)`).

    TODO: Return a copy of x converted to `dtype`; the gradient flows back through it.

    APPROACH:
        1. x must be a Tensor: TypeError naming the type received.
        2. `dtype` must be a floating dtype (float16, float32, float64): TypeError naming it
           otherwise (a gradient through an integer cast makes no sense).
        3. Build the new Tensor with the constructor's `dtype` argument.

    EXAMPLE:
        >>> cast(Tensor([1.0, 70000.0]), np.float16).data
        array([ 1., inf], dtype=float16)

    HINTS:
        - float16 holds at most 65504: larger values become inf, which is what the loss
          scaler in MixedPrecisionTrainer detects.
    """
    # BEGIN SOLUTION
    if not isinstance(x, Tensor):
        raise TypeError(f"cast expects a Tensor; got {type(x).__name__}")
    target = np.dtype(dtype)
    if target.kind != "f":
        raise TypeError(f"cast: dtype must be a floating dtype (float16, float32, float64); got {target}")
    return Tensor(x.data, dtype=target)
    # END SOLUTION


# ---------------------------------------------------------------------- mixed precision training


class MixedPrecisionTrainer:
    """One training step at a time in float16, with float32 master weights and dynamic loss scaling.

        masters (float32) --astype--> half copy (float16) --forward--> out (float16)
              ^                                                          | cast
              | optimizer.step()                                         v
        grads (float32) <--unscale (/ scale)-- grads (float16) <--backward-- loss (float32) * scale

    Attributes (set by __init__):
        model, optimizer, loss_fn     as passed; the optimizer updates model.parameters()
        params                        model.parameters(): the float32 master weights
        half_params                   float16 copies of params, refreshed by every train_step
        scale                         the current loss scale (a float)
        growth_interval, growth_factor, backoff_factor    as passed
        steps                         train_step calls so far
        skipped_steps                 steps skipped because a gradient was inf or nan
        good_steps                    good steps in a row since the scale last changed

    PyTorch splits this into torch.autocast (the float16 forward) and torch.cuda.amp.GradScaler
    (scale, unscale_, step, update); one class here, with the same rules.
    """

    def __init__(self, model, optimizer, loss_fn, loss_scale: float = DEFAULT_LOSS_SCALE,
                 growth_interval: int = DEFAULT_GROWTH_INTERVAL,
                 growth_factor: float = DEFAULT_GROWTH_FACTOR,
                 backoff_factor: float = DEFAULT_BACKOFF_FACTOR):
        """Check everything, then set the attributes listed in the class docstring.

        TODO: Validate the model, its parameters and the scaling hyper-parameters; store them;
        make the first float16 copies; start every counter at 0.

        APPROACH:
            1. model: callable with a parameters() method; optimizer: has step() and
               zero_grad(); loss_fn: callable. TypeError naming the type otherwise (module 07's
               given `_check_training_parts` does exactly this, as for its Trainer).
            2. params = the list of the model's parameters; none at all is a ValueError.
            3. Every parameter must be float32 (the masters): TypeError naming the parameter's
               index, shape and dtype, e.g. "MixedPrecisionTrainer: parameter 2 (shape (8,))
               is float64; the master weights must be float32".
            4. loss_scale > 0 and finite; growth_interval an int >= 1; growth_factor > 1;
               backoff_factor strictly between 0 and 1. ValueError naming the value otherwise
               (`_check_hyper` from module 06 and `_check_positive_int` from module 07 are
               imported for this).
            5. half_params: one float16 copy per parameter; the three counters at 0.

        EXAMPLE:
            >>> model = Linear(3, 1)
            >>> trainer = MixedPrecisionTrainer(model, SGD(model.parameters(), lr=0.1), MSELoss())
            >>> trainer.scale, [h.dtype for h in trainer.half_params]
            (1024.0, [dtype('float16'), dtype('float16')])

        HINTS:
            - Store the scale as a Python float: `float(...)`.
            - A growth_factor of 1 would never grow, a backoff_factor of 1 never back off.
        """
        # BEGIN SOLUTION
        who = "MixedPrecisionTrainer"
        _check_training_parts(who, model, optimizer, loss_fn)
        params = list(model.parameters())
        if not params:
            raise ValueError(f"{who}: the model has no parameters to train")
        for i, p in enumerate(params):
            if p.dtype != MASTER:
                raise TypeError(f"{who}: parameter {i} (shape {p.shape}) is {p.dtype}; "
                                f"the master weights must be float32")
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.params = params
        self.scale = _check_hyper(who, "loss_scale", loss_scale, 0.0, low_inclusive=False)
        self.growth_interval = _check_positive_int(who, "growth_interval", growth_interval)
        self.growth_factor = _check_hyper(who, "growth_factor", growth_factor, 1.0, low_inclusive=False)
        self.backoff_factor = _check_hyper(who, "backoff_factor", backoff_factor, 0.0, 1.0,
                                           low_inclusive=False)
        self.half_params = [p.data.astype(HALF) for p in params]
        self.steps = self.skipped_steps = self.good_steps = 0
        # END SOLUTION

    def scale_loss(self, loss: Tensor) -> Tensor:
        """The loss times the current scale, as a Tensor in the graph (so backward scales every gradient).

        TODO: Return `loss` multiplied by self.scale with a Tensor op.

        APPROACH: One Tensor multiplication by a Python number: the result is still float32
        and still connected to the graph, and by the chain rule every gradient that backward
        computes from it is `scale` times the true one.

        EXAMPLE:
            >>> trainer.scale_loss(Tensor(0.5, requires_grad=True)).item()
            512.0

        HINTS:
            - Not `loss.data * scale`: that leaves the graph, and backward would have nothing
              to run on.
        """
        # BEGIN SOLUTION
        return loss * self.scale
        # END SOLUTION

    def unscale_gradients(self) -> bool:
        """Divide every parameter's gradient by the scale, into float32; True when all are finite.

        TODO: For every parameter with a gradient, replace `.grad` by a float32 Tensor holding
        the gradient divided by self.scale; return False if any value is inf or nan.

        APPROACH:
            1. Skip parameters whose grad is None (they took no part in the forward).
            2. Convert the gradient's array to float32 FIRST, then divide by the scale: the
               scaled gradient fits in float16, the true one may be too small for it (that is
               why it was scaled): 2^-20 / 1024 is 0 in float16, 2^-30 in float32.
            3. Check every unscaled array for inf and nan (an inf stays inf after dividing).
            4. Store the float32 result as the parameter's `.grad`; return whether all were finite.

        EXAMPLE:
            >>> w.grad = Tensor(np.array([2048.0, 512.0], dtype=np.float16))   # scale 1024
            >>> trainer.unscale_gradients(), w.grad.data
            (True, array([2. , 0.5], dtype=float32))

        HINTS:
            - Check every parameter even after an inf: all gradients end up unscaled.
        """
        # BEGIN SOLUTION
        finite = True
        for p in self.params:
            if p.grad is None:
                continue
            g = np.asarray(p.grad.data if isinstance(p.grad, Tensor) else p.grad).astype(MASTER)
            g /= self.scale
            finite = finite and bool(np.isfinite(g).all())
            p.grad = _wrap(g)
        return finite
        # END SOLUTION

    def update_scale(self, found_inf: bool) -> None:
        """Adjust the loss scale after a step: back off on inf/nan, grow after a run of good steps.

        TODO: Apply the dynamic loss scaling rule and keep the counters.

        APPROACH:
            1. found_inf: the scale shrinks by backoff_factor, skipped_steps counts one more,
               and the run of good steps starts again from 0.
            2. Otherwise good_steps counts one more; when it reaches growth_interval, the
               scale grows by growth_factor and good_steps starts again from 0.

                scale 1024 --inf--> 512 --good x growth_interval--> 1024 --good x ...--> 2048

        EXAMPLE:
            >>> trainer = MixedPrecisionTrainer(model, opt, loss_fn, loss_scale=8.0, growth_interval=2)
            >>> trainer.update_scale(False); trainer.update_scale(False); trainer.scale
            16.0
            >>> trainer.update_scale(True); trainer.scale, trainer.skipped_steps
            (8.0, 1)

        HINTS:
            - The scale settles near the largest value that does not overflow: it keeps as
              many small gradients out of float16's underflow range as it can.
        """
        # BEGIN SOLUTION
        if found_inf:
            self.scale *= self.backoff_factor
            self.skipped_steps += 1
            self.good_steps = 0
            return
        self.good_steps += 1
        if self.good_steps >= self.growth_interval:
            self.scale *= self.growth_factor
            self.good_steps = 0
        # END SOLUTION

    def train_step(self, batch) -> dict:
        """One mixed-precision step on batch = (x, y); returns {"loss", "scale", "skipped"}.

        TODO: Run forward and backward in float16 with the float16 copies of the weights, the
        loss in float32, then unscale, and step the optimizer on the float32 masters unless a
        gradient is inf or nan; update the scale either way.

        APPROACH:
            1. batch must be a pair (x, y) (a tuple or a list of two): otherwise ValueError,
               e.g. "MixedPrecisionTrainer.train_step: batch must be a pair (x, y); got
               ndarray". x becomes a float16 Tensor (it may be an array or a Tensor); y goes
               to the loss as it is.
            2. Refresh half_params from the masters' current values; clear the gradients
               (the optimizer's zero_grad).
            3. Swap: every parameter's `.data` becomes its float16 copy, so the model, which
               holds the very same Tensor objects, computes in float16. Then forward; the
               output goes through `cast` to float32 before the loss; backward from the
               SCALED loss. Whatever happens (an exception in the forward too), the masters
               go back into `.data` afterwards: that is what try/finally is for.
            4. unscale_gradients(); if all finite, optimizer.step() (it updates the float32
               masters); update_scale(found_inf); steps counts one more.
            5. Return {"loss": the unscaled loss as a Python float, "scale": the scale after
               the update, "skipped": whether the step was skipped}.

                          .data       forward / backward        .data       step
                params:   float32  ->  float16 (the copies)  ->  float32  ->  float32 masters

        EXAMPLE:
            >>> trainer.train_step((x, y))
            {'loss': 0.8127..., 'scale': 1024.0, 'skipped': False}

        HINTS:
            - During backward the parameters are float16, so their gradients arrive in
              float16: exactly where an overflow shows up as inf.
            - Keep references to the master arrays before swapping: restoring from the
              float16 copies would lose every digit float16 cannot hold.
        - An overflow is expected here and handled by the scaler: NumPy's warnings about
          it can be silenced for the forward and backward with `np.errstate`.
        """
        # BEGIN SOLUTION
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise ValueError(f"MixedPrecisionTrainer.train_step: batch must be a pair (x, y); "
                             f"got {type(batch).__name__}")
        x, y = batch
        x = Tensor(x, dtype=HALF)
        masters = [p.data for p in self.params]
        self.half_params = [m.astype(HALF) for m in masters]
        self.optimizer.zero_grad()
        try:
            for p, half in zip(self.params, self.half_params):
                p.data = half
            with np.errstate(over="ignore", invalid="ignore"):      # inf/nan is handled below
                loss = self.loss_fn(cast(self.model(x), MASTER), y)
                self.scale_loss(loss).backward()
        finally:
            for p, master in zip(self.params, masters):
                p.data = master
        finite = self.unscale_gradients()
        if finite:
            self.optimizer.step()
        self.update_scale(found_inf=not finite)
        self.steps += 1
        return {"loss": float(loss.data), "scale": self.scale, "skipped": not finite}
        # END SOLUTION


# ---------------------------------------------------------------------------------------------
# Systems questions
# ---------------------------------------------------------------------------------------------


def gelu_fusion_saved_bytes(shape, dtype=np.float32) -> int:
    """Bytes of intermediate arrays that fused_gelu does not keep alive and unfused_gelu does.

    Both graphs keep x and the output. unfused_gelu's graph also keeps the output of every
    op before the last one (each is an input some later node saved for backward); the fused
    node keeps none. So the saving is (nodes of unfused_gelu - 1) arrays of x's shape.

    TODO: Count the nodes of unfused_gelu's graph (do not hard-code 9: count them), and
    return (nodes - 1) * the bytes of one array of `shape` and `dtype`.

    APPROACH:
        1. Build unfused_gelu on a tiny Tensor that requires grad, and count its nodes with
           module 05's `graph_nodes`.
        2. Bytes of one array: module 01's `tensor_nbytes(shape, dtype)` (it also rejects a
           negative dimension with a ValueError).
        3. Multiply.

    EXAMPLE:
        >>> gelu_fusion_saved_bytes((1024, 4096))     # 8 arrays of 16 MiB: one MLP activation
        134217728

    HINTS:
        - A GPT-2 small MLP activation is (batch * 1024, 3072): per layer, per batch item,
          8 arrays of 12 MiB that a fused GELU never stores.
    """
    # BEGIN SOLUTION
    probe = Tensor(np.zeros(1, dtype=MASTER), requires_grad=True)
    intermediates = graph_nodes(unfused_gelu(probe)) - 1
    return intermediates * tensor_nbytes(shape, dtype)
    # END SOLUTION


def mixed_precision_weight_bytes(model) -> int:
    """Bytes of weights mixed precision keeps: a float32 master and a float16 copy of each parameter.

    TODO: Return (bytes per float32 value + bytes per float16 value) * the number of
    parameter values of `model`.

    APPROACH: Sum the sizes of model.parameters() (each parameter once, as parameters()
    lists it); 4 + 2 = 6 bytes per value.

    EXAMPLE:
        >>> mixed_precision_weight_bytes(Linear(1000, 1000))     # 1,001,000 values
        6006000

    HINTS:
        - That is 1.5x the weights of plain float32 training: mixed precision does not save
          weight memory. It halves the activations (which dominate at large batch sizes) and,
          on GPUs, doubles or triples matmul speed.
    """
    # BEGIN SOLUTION
    values = sum(p.size for p in model.parameters())
    return values * (np.dtype(MASTER).itemsize + np.dtype(HALF).itemsize)
    # END SOLUTION


def float16_underflow_fraction(values, scale: float = 1.0) -> float:
    """Fraction of the nonzero `values` that become exactly 0 when `values * scale` is stored in float16.

    Why it matters: float16's smallest positive number is 2^-24 ~ 6e-8; gradients are often
    smaller than that, and in float16 they vanish: no update at all. Multiplying the loss by
    a scale moves them up into float16's range; dividing by it in float32 undoes that.

    TODO: Return the fraction, as a Python float, of the nonzero entries v of `values` for
    which v * scale, converted to float16, is zero.

    APPROACH:
        1. The values as a float64 array (a Tensor's `.data`, or an array-like).
        2. scale must be > 0 and finite: ValueError naming it. No nonzero value at all:
           ValueError (the fraction is undefined).
        3. Among the nonzero values, count those whose scaled float16 conversion is 0.

    EXAMPLE:
        >>> float16_underflow_fraction([1e-8, 1e-4, 0.0, 3e-9])       # 2 of 3 nonzero vanish
        0.6666666666666666
        >>> float16_underflow_fraction([1e-8, 1e-4, 0.0, 3e-9], scale=1024.0)
        0.0

    HINTS:
        - An overflow (inf) is not an underflow: it does not count here.
    """
    # BEGIN SOLUTION
    scale = _check_hyper("float16_underflow_fraction", "scale", scale, 0.0, low_inclusive=False)
    v = np.asarray(values.data if isinstance(values, Tensor) else values, dtype=np.float64)
    nonzero = v[v != 0]
    if nonzero.size == 0:
        raise ValueError("float16_underflow_fraction: no nonzero value, so there is no fraction")
    return float(np.mean((nonzero * scale).astype(HALF) == 0))
    # END SOLUTION


def float16_matmul_slowdown(n: int = SLOWDOWN_SIZE, repeats: int = DEFAULT_REPEATS, seed: int = 0) -> float:
    """Time of an (n, n) float16 matrix product divided by the float32 one, measured now.

    Above 1 means float16 is SLOWER. On a CPU it is, by a lot: BLAS has no float16 kernels,
    so NumPy converts and multiplies in a plain loop. On a GPU the ratio is below 1.

    TODO: Validate n and repeats; build random float32 (n, n) matrices and their float16
    copies; time `vectorized_matmul` on each pair with `_best_time`; return float16 / float32.

    APPROACH:
        1. n and repeats: ints >= 1 (ValueError otherwise).
        2. np.random.default_rng(seed): two float32 (n, n) standard-normal matrices; their
           float16 versions.
        3. One `_best_time` per dtype, each running your `vectorized_matmul` `repeats` times.
        4. The ratio, float16 time over float32 time, as a Python float.

    EXAMPLE:
        >>> float16_matmul_slowdown(128) > 1       # on a CPU; measured 125-600x here
        True

    HINTS:
        - Call `vectorized_matmul` and `_best_time` by their module names: the tests replace
          them to check what you time.
    """
    # BEGIN SOLUTION
    n = _check_positive_int("float16_matmul_slowdown", "n", n)
    repeats = _check_positive_int("float16_matmul_slowdown", "repeats", repeats)
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n)).astype(np.float32)                           # (n, n)
    b = rng.standard_normal((n, n)).astype(np.float32)                           # (n, n)
    a16, b16 = a.astype(HALF), b.astype(HALF)
    single = _best_time(lambda: vectorized_matmul(a, b), repeats)
    half = _best_time(lambda: vectorized_matmul(a16, b16), repeats)
    return float(half / single)
    # END SOLUTION
