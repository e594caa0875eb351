"""Module 15: profiling, measure before you optimise.

What you build
    node_flops, graph_flops      the FLOPs of a forward pass, read off the graph autograd records
    graph_activation_bytes       the bytes that graph keeps alive until backward
    peak_allocated_bytes         the peak of what a computation allocates, measured by tracemalloc
    Profiler                     count_parameters, count_flops, measure_memory, measure_latency,
                                 run_by_layer, profile_forward_pass, profile_backward_pass
    systems questions            arithmetic intensity (of any op, of a Linear, of a Conv2d), the
                                 roofline, and this machine's matmul GFLOP/s and memory bandwidth

Why it matters
    "The GPT is slow" is not something you can fix. "The attention core of each block takes a
    third of its forward time for 14% of its FLOPs: it runs at 10 GFLOP/s where this machine's
    matmul does 200" is.
    Every optimisation of the next modules (acceleration, quantization, pruning, the KV cache)
    starts with a number from a profiler and ends with a second number to compare it with.

    Five questions, five kinds of measurement:

        how big?      count_parameters       parameters() of module 03, element by element
        how much work? count_flops           the matmuls and convolutions of one forward pass
        how much memory? measure_memory      parameters, gradients, activations; measured peak
        how fast?     measure_latency        median and spread of many timed runs
        where?        profile_forward_pass   a row per layer (and one for the model's own ops):
                                             time, FLOPs, output bytes
                      profile_backward_pass  the same rows: backward time, gradient bytes

How FLOPs are counted (PyTorch's torch.utils.flop_counter convention)
    Only matrix products and convolutions, each multiply-add as FLOPS_PER_MULTIPLY_ADD = 2
    FLOPs (module 01). Element-wise ops (bias adds, activations, residual adds), reductions,
    softmax, LayerNorm, BatchNorm, pooling and embedding lookups count 0: flop_counter does not
    count them either, and next to the matmuls they are a few percent of the arithmetic (not of
    the time: see profile_forward_pass).

    No hooks are needed to find the matmuls: every op of this library records a Function node
    on its result (module 05). One forward pass with recording on leaves the whole computation
    as a graph, and each node says what it computed and on which shapes:

        x --MatMulBackward--> x@W --AddBackward--> h --ReLUBackward--> ... --> output
              a (B, K), b (K, N)                                 graph_flops(output) walks
              output (B, N): B*N outputs x K multiply-adds x 2   back from the output

    A matmul or convolution that records no node (no input requires grad) is invisible to it:
    that is why the profiler runs the model with recording on and a float input that requires
    grad (module 05's graph_nodes counted the same nodes).

Per layer: the model's children, and its own ops
    "Layer" means a child of the model: an attribute that is a Module (or an activation), or an
    element of a list attribute. Sequential's layers are `layers.0`, `layers.1`, ...; a GPT's
    are token_embedding, position_embedding, blocks.0 .. blocks.{L-1}, ln_f and head (module
    13's attribute names). `named_children` (given) lists them. What the model's forward
    computes itself, between its children, gets one more row, OWN_OPS: a GPT's token +
    position add; a MultiHeadAttention's whole attention core (Q K^T, softmax, weights V),
    which runs between its projections v_proj and out_proj.

    To time and count each child, the profiler wraps each child's `forward` for the length of
    one `with` block (`_ChildHooks`, given: an attribute on the child object itself, removed in
    a `finally`, so nothing stays patched and no class is changed). The wrapper cuts the graph
    at the child's borders: a Tensor the model's own ops made and passes to the child, and the
    child's output, are each replaced by a detached copy that requires grad (a "leaf"). The
    graph of one forward pass falls apart into segments, each a small graph from a Tensor back
    to the leaves before it: a child's segment holds its own ops only; the model's own ops
    form the segments in between. A segment's FLOPs are graph_flops of its end, and its
    backward is `end.backward(leaf.grad)`, timed on its own.

        x -> [child 0] -> out0 | leaf0 -> own ops -> g | leaf_g -> [child 1] -> out1 | ...
             child 0's segment        own segment          child 1's segment
        backward: loss.backward() first, then the segments from the last to the first

Who uses it
    16 acceleration   which ops to fuse and vectorise: the ones the profile says are slow
    17, 18            bytes and FLOPs before and after quantization and pruning
    19 benchmarking   latency (median and spread) of every model it compares
    milestone 5       profiles the CNN and the TinyGPT before compressing them

The systems angle
    A layer is compute-bound or memory-bound. Arithmetic intensity (FLOPs per byte moved) says
    which: a machine that does P GFLOP/s and moves BW GB/s can keep its arithmetic units busy
    only when an op does at least P / BW FLOPs per byte (the ridge of the roofline). A Linear
    at batch 1 does 0.5 FLOP per byte (every weight is read for one multiply-add): it waits for
    memory. A Linear(4096, 4096) at batch 512 does 205: it waits for arithmetic. Measure your
    own machine's two numbers with measure_matmul_gflops and measure_bandwidth_gbs.

Conventions
    Times are measured with `Profiler.clock` (time.perf_counter by default: seconds) and
    reported in milliseconds. The tests pass a fake clock instead, so that they check what is
    timed without timing anything. FLOPs and bytes are Python ints.
"""

from __future__ import annotations

import math
import time
import tracemalloc
from dataclasses import dataclass

import numpy as np

from tinytorch.core.attention import AttentionBackward, _count
from tinytorch.core.autograd import no_grad
from tinytorch.core.layers import PARAM_DTYPE, Module
from tinytorch.core.spatial import Conv2dBackward, _pair, conv2d_flops, conv_output_size
from tinytorch.core.tensor import (
    FLOPS_PER_MULTIPLY_ADD,
    Function,
    MatMulBackward,
    Tensor,
    _GradMode,
    _topological_order,
    matmul_flops,
)
from tinytorch.models.transformer import GPT
from tinytorch.text.embeddings import Embedding

DEFAULT_WARMUP = 10             # untimed runs before measuring: caches, allocator, lazy set-up
DEFAULT_ITERATIONS = 100        # timed runs of measure_latency
MIN_ITERATIONS = 3              # a median and a spread need at least three numbers
LOW_PERCENTILE = 10             # the spread of a latency: p10 .. p90
HIGH_PERCENTILE = 90
MS_PER_SECOND = 1000.0
GIGA = 1e9                      # GFLOP/s and GB/s: 10^9, not 2^30
DEFAULT_MATMUL_N = 512          # measure_matmul_gflops: a (512, 512) @ (512, 512) float32 product
DEFAULT_REPEATS = 5
DEFAULT_COPY_BYTES = 64 * 2 ** 20   # measure_bandwidth_gbs: 64 MiB, far larger than any CPU cache
BYTES_MOVED_PER_COPIED_BYTE = 2     # a copy reads each byte once and writes it once
MIN_SECONDS = 1e-9              # a measured time is never taken as 0 (no division by zero)
OWN_OPS = "(own ops)"           # the row of what a model's forward computes itself, between its children


# ---------------------------------------------------------------------- given helpers


class _recording:
    """`with _recording(): ...` records the graph even inside a caller's no_grad (given).

    The mirror image of module 05's no_grad: it switches recording ON and puts the previous
    mode back at the end, even through an exception. count_flops needs the graph to exist.
    """

    def __enter__(self):
        self.previous = _GradMode.enabled
        _GradMode.enabled = True
        return self

    def __exit__(self, exc_type, exc, traceback):
        _GradMode.enabled = self.previous
        return False


class _fresh_grads:
    """`with _fresh_grads(params): ...` sets every `.grad` to None, and puts the old ones back at the end (given).

    measure_memory runs a backward pass to measure it; the model's gradients (maybe in the middle
    of an accumulation) must come out of the measurement as they went in.
    """

    def __init__(self, params: list):
        self.params = list(params)

    def __enter__(self):
        self.saved = [p.grad for p in self.params]
        for p in self.params:
            p.grad = None
        return self

    def __exit__(self, exc_type, exc, traceback):
        for p, grad in zip(self.params, self.saved):
            p.grad = grad
        return False


def _memory_owner(array: np.ndarray) -> np.ndarray:
    """The array that owns the memory `array` shows: itself, or the base of a view (given).

    A reshape, a transpose or a slice is often a view: a new ndarray object over the bytes of
    another one (its `.base`). Counting `view.nbytes` beside its base's would count those bytes
    twice; a view costs no memory of its own, but it keeps its whole base alive.
    """
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _is_layer(value) -> bool:
    """A Module, or an object with a forward method (module 02's activations are not Modules) (given)."""
    return isinstance(value, Module) or (not isinstance(value, type) and callable(getattr(value, "forward", None)))


def named_children(model) -> list:
    """The (name, layer) pairs of `model`'s direct children, in attribute order (given).

    A child is an attribute that is a layer (`_is_layer`), named by the attribute, or a layer
    inside a list or tuple attribute, named `attribute.index`:

        Sequential(Linear, ReLU, Linear)   ->  layers.0, layers.1, layers.2
        GPT                                ->  token_embedding, position_embedding,
                                               blocks.0, ..., ln_f, head

    A layer found twice (the same object in two places) is listed once, under its first name.
    Grandchildren (a block's attention) are not listed: they belong to their child's row.
    """
    children, seen = [], set()

    def add(name: str, value) -> None:
        if _is_layer(value) and id(value) not in seen:
            seen.add(id(value))
            children.append((name, value))

    for attr, value in vars(model).items():
        if isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                add(f"{attr}.{i}", item)
        else:
            add(attr, value)
    return children


class _ChildHooks:
    """`with _ChildHooks(model, around): ...` sends every call of a child's forward through `around` (given).

    Inside the block, calling child k runs `around(name, child, forward, args, kwargs)`, where
    `forward` is the child's own forward (call it to do the real work) and whatever `around`
    returns is what the model receives. How: an attribute `forward` on the child OBJECT, which
    Python finds before the class's method (Module.__call__ and the activations' __call__ both
    call self.forward). Nothing else changes, and at the end of the block, even after an
    exception, every child is as it was. No class, no module, nothing global is patched.
    """

    _ABSENT = object()

    def __init__(self, model, around):
        self.children = named_children(model)
        self.around = around
        self.installed = []                     # (child, what vars(child) had under "forward")

    def _hook(self, name: str, child, forward):
        def hooked(*args, **kwargs):
            return self.around(name, child, forward, args, kwargs)
        return hooked

    def __enter__(self):
        try:
            for name, child in self.children:
                previous = vars(child).get("forward", self._ABSENT)
                hooked = self._hook(name, child, child.forward)
                child.forward = hooked
                self.installed.append((child, previous))
        except BaseException:
            self._remove()
            raise
        return self

    def _remove(self) -> None:
        for child, previous in reversed(self.installed):
            if previous is self._ABSENT:
                del child.forward
            else:
                child.forward = previous
        self.installed = []

    def __exit__(self, exc_type, exc, traceback):
        self._remove()
        return False


def _takes_token_ids(model) -> bool:
    """Whether `model` reads integer token ids (a GPT, an Embedding, or a model whose first child is one) (given)."""
    if isinstance(model, (GPT, Embedding)):
        return True
    children = named_children(model)
    return bool(children) and isinstance(children[0][1], (GPT, Embedding))


def _example_input(model, input_shape):
    """Zeros of `input_shape` for `model`: int64 token ids for a token model, else a float32 Tensor that requires grad (given).

    Requiring grad makes every op on the input record its node, even in a model whose
    parameters are frozen: the graph then holds every matmul of the forward pass.
    """
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else None
    if not shape or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1 for d in shape):
        raise ValueError(f"input_shape must be a non-empty tuple of ints >= 1, such as (8, 3, 32, 32) or "
                         f"(B, T) for a GPT; got {input_shape!r}")
    if _takes_token_ids(model):
        return np.zeros(shape, dtype=np.int64)
    return Tensor(np.zeros(shape, dtype=PARAM_DTYPE), requires_grad=True)


def _as_graph_input(x):
    """A float Tensor as a fresh leaf that requires grad (sharing x's array); anything else unchanged (given).

    The caller's x is not touched: its requires_grad and its .grad stay as they were.
    """
    if isinstance(x, Tensor) and x.dtype.kind == "f":
        leaf = x.detach()
        leaf.requires_grad = True
        return leaf
    return x


def _leaf_of(t: Tensor) -> Tensor:
    """A detached copy of `t` (sharing its array: no copy) that requires grad exactly when t does (given).

    The graph ends at it: it has no `_grad_fn`. A backward pass that reaches it fills its .grad,
    which `t.backward(leaf.grad)` then carries on through t's own graph.
    """
    leaf = t.detach()
    leaf.requires_grad = t.requires_grad
    return leaf


def _check_output(out, who: str) -> Tensor:
    """`out` if it is a Tensor, else a TypeError naming `who` (given)."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{who}: the model must return a Tensor; got {type(out).__name__}")
    return out


@dataclass
class LayerCall:
    """One segment of a forward pass recorded by Profiler.run_by_layer (given).

    A call of a child: its name, the child, the time of its forward, what it returned, and the
    leaf the model received instead. A segment of the model's own ops: name OWN_OPS, the model,
    0 seconds (their time is the total minus the children's, in the last record), the Tensor
    they passed to a child, and the leaf the child received instead.
    """

    name: str           # the child's name from named_children, e.g. "blocks.0", or OWN_OPS
    layer: object       # the child itself, or the model for OWN_OPS
    seconds: float      # forward time by the profiler's clock
    output: object      # the end of this segment of the graph
    leaf: object        # the detached copy of output handed on (None: nothing was handed on)


def format_profile(rows: list) -> str:
    """The rows of profile_forward_pass or profile_backward_pass as a text table, a total last (given)."""
    if not rows:
        return "(no layers)"
    columns = [k for k in rows[0] if k not in ("name", "type")]
    header = ["layer", "type", *columns]
    total = {c: sum(r[c] for r in rows) for c in columns}
    lines = [[r["name"], r["type"], *(r[c] for c in columns)] for r in rows]
    lines.append(["total", "", *(total[c] for c in columns)])

    def cell(value) -> str:
        return f"{value:,.3f}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int) else str(value)

    table = [header] + [[cell(v) for v in line] for line in lines]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "\n".join("  ".join(v.ljust(w) if i < 2 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths)))
                     for row in table)


# ---------------------------------------------------------------------- counting on the graph


def node_flops(fn: Function) -> int:
    """FLOPs of the op that one graph node recorded: matmuls and convolutions, 0 for anything else.

    TODO: Return 2 x (multiply-adds) for a MatMulBackward, a Conv2dBackward or an
    AttentionBackward node, 0 for every other Function; TypeError if `fn` is not a Function.

    APPROACH:
        1. Every output element of a matmul is one dot product of length K, the last
           dimension of the left operand: count the outputs (the node keeps the result's
           array in `output`) times K. That covers 2-D, batched and 1-D operands at once:
           no case analysis of shapes.
        2. A convolution's output element is a dot product over one patch: C * kh * kw
           numbers, the size of one filter (the weight is the node's second saved array,
           (O, C, kh, kw)).
        3. Module 12's fused attention is two matmuls in one node: Q @ K^T costs d
           multiply-adds per score, weights @ V costs dv per score (each weight scales one
           row of V). The weights (..., Tq, Tk), one per score, are in the node's
           params["weights"]; Q and V are its first and third saved arrays. Count every
           score, whatever the op skipped under a mask: the maths as written, as
           attention_flops counts (and PyTorch's counter).
        4. Multiply the multiply-adds by FLOPS_PER_MULTIPLY_ADD.

            (B, T, K) @ (K, N) -> output (B, T, N): B*T*N outputs x K multiply-adds x 2
            conv (N, C, H, W) * (O, C, kh, kw) -> (N, O, OH, OW): N*O*OH*OW outputs x C*kh*kw x 2
            attention: scores (B, H, Tq, Tk) x (d + dv) multiply-adds x 2

    EXAMPLE:
        >>> w = Tensor(np.ones((3, 5)), requires_grad=True)
        >>> node_flops((Tensor(np.ones((4, 3))) @ w)._grad_fn)          # 20 outputs x 3 x 2
        120
        >>> node_flops((w * 2)._grad_fn)                                 # element-wise: not counted
        0

    HINTS:
        - The node's class says what it is: compare with isinstance against the classes
          imported at the top of this file (modules 01 and 09 define them).
        - Return a Python int: NumPy sizes multiply into Python ints already.
    """
    # BEGIN SOLUTION
    if not isinstance(fn, Function):
        raise TypeError(f"node_flops expects a graph node (a Function); got {type(fn).__name__}")
    if isinstance(fn, MatMulBackward):
        left = fn.saved_tensors[0]                                          # (..., M, K) or (K,)
        return FLOPS_PER_MULTIPLY_ADD * int(fn.output.size) * int(left.shape[-1])
    if isinstance(fn, Conv2dBackward):
        weight = fn.saved_tensors[1]                                        # (O, C, kh, kw)
        patch = weight.size // weight.shape[0]                              # C * kh * kw
        return FLOPS_PER_MULTIPLY_ADD * int(fn.output.size) * int(patch)
    if isinstance(fn, AttentionBackward):
        q, _, v = fn.saved_tensors
        scores = fn.params["weights"].size                                  # (..., Tq, Tk)
        return FLOPS_PER_MULTIPLY_ADD * int(scores) * int(q.shape[-1] + v.shape[-1])
    return 0
    # END SOLUTION


def graph_flops(output: Tensor, seen: set | None = None) -> int:
    """FLOPs of every matmul and convolution in the graph that produced `output`.

    `seen`: None, or a set of ids of Tensors already counted, shared between calls: a Tensor in
    it is not counted again, and every Tensor counted now joins it. Two segments of a graph
    that share some nodes (profile_forward_pass) then count them once.

    TODO: Sum node_flops over the nodes reachable from `output` that are not in `seen`, each
    once; TypeError if `output` is not a Tensor.

    APPROACH: Module 05's `_topological_order` lists every Tensor the output depends on, each
    exactly once (a Tensor used twice, like the input of a residual, is not counted twice).
    Those made by an op carry their node in `_grad_fn`; leaves (inputs, parameters, the
    detached copies of run_by_layer) carry none and end the walk. Keep track of the Tensors
    counted by `id` in `seen` (a fresh set when none is given).

    EXAMPLE:
        >>> layer = Linear(3, 5)
        >>> out = layer(Tensor(np.ones((4, 3))))
        >>> seen = set()
        >>> graph_flops(out, seen), graph_flops(out, seen)                # the bias add counts 0
        (120, 0)

    HINTS:
        - Under no_grad nothing is recorded and the answer is 0: the profiler's count_flops
          turns recording on (the given `_recording`).
    """
    # BEGIN SOLUTION
    if not isinstance(output, Tensor):
        raise TypeError(f"graph_flops expects a Tensor; got {type(output).__name__}")
    seen = set() if seen is None else seen
    total = 0
    for t in _topological_order(output):
        if t._grad_fn is None or id(t) in seen:
            continue
        seen.add(id(t))
        total += node_flops(t._grad_fn)
    return total
    # END SOLUTION


def graph_activation_bytes(output: Tensor, exclude=()) -> int:
    """Bytes of the arrays that the graph of `output` keeps alive, parameters (`exclude`) left out.

    Every node holds its inputs' arrays (saved_tensors), its result's array (output) and the
    arrays among its other arguments (params: a mask, token ids, the attention weights that
    module 12's fused op keeps for its backward) until the graph is dropped: the activation
    memory of training, which no_grad avoids (module 05).

    TODO: Return the total bytes of the distinct arrays held by the nodes reachable from
    `output`, counting each block of memory once and none of the Tensors in `exclude`.

    APPROACH:
        1. Walk the graph as graph_flops does; for each node, look at its saved arrays, its
           output array and the values of its params that are NumPy arrays.
        2. Map each array to the array that owns its memory (the given `_memory_owner`): a
           transpose or a reshape may be a view of an array counted already.
        3. Count each owner once (by identity, `id`), skipping the owners of the excluded
           Tensors' arrays (the parameters: measure_memory counts them separately).

            x (leaf) --matmul--> xW --add--> h --relu--> r        arrays held: x, W, xW, b, h, r
                          W (param)   b (param)                    activations: x, xW, h, r

    EXAMPLE:
        >>> x = Tensor(np.ones((8, 16)), requires_grad=True)             # float64: 1024 bytes
        >>> graph_activation_bytes(ReLU()(Tanh()(x)))                    # x, tanh(x), relu(...)
        3072

    HINTS:
        - Identity, not equality: two zero arrays of the same shape are two blocks of memory.
        - This is module 05's graph_memory_bytes measured on a real graph instead of a formula.
    """
    # BEGIN SOLUTION
    if not isinstance(output, Tensor):
        raise TypeError(f"graph_activation_bytes expects a Tensor; got {type(output).__name__}")
    skipped = {id(_memory_owner(t.data)) for t in exclude}
    counted, total = set(), 0
    for t in _topological_order(output):
        if t._grad_fn is None:
            continue
        fn = t._grad_fn
        kept = [value for value in fn.params.values() if isinstance(value, np.ndarray)]
        for array in (*fn.saved_tensors, fn.output, *kept):
            owner = _memory_owner(array)
            if id(owner) in counted or id(owner) in skipped:
                continue
            counted.add(id(owner))
            total += int(owner.nbytes)
    return total
    # END SOLUTION


def peak_allocated_bytes(fn) -> tuple:
    """Run `fn()` and return `(its result, the peak of the memory it allocated, in bytes)`.

    Python's tracemalloc module traces memory allocations, and NumPy reports the memory of its
    arrays to it. The peak is counted from what was allocated when fn started: memory that
    existed before (the model's parameters) is not in it; memory fn allocated and freed again
    before returning (temporaries) is, if it was alive at the peak.

    TODO: Measure with tracemalloc around one call of fn; leave tracemalloc as you found it.

    APPROACH:
        1. Start tracing unless it is on already (someone else may be tracing: then do not
           stop it at the end either).
        2. Reset the peak, note the traced memory now, call fn, read the peak: the difference
           is what fn needed at its worst moment.
        3. Stop tracing in a `finally` if you started it, so that an exception in fn does not
           leave every later allocation of the program traced (and slowed down).

    EXAMPLE:
        >>> result, peak = peak_allocated_bytes(lambda: np.ones((1000, 1000)).sum())
        >>> peak >= 8_000_000                       # the temporary array of 8 MB was alive
        True

    HINTS:
        - tracemalloc.get_traced_memory() returns (current, peak) in bytes;
          tracemalloc.reset_peak() sets the peak to the current value.
        - Tracing makes every Python allocation slower: measure memory and time in separate
          runs, never both at once.
    """
    # BEGIN SOLUTION
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if started:
            tracemalloc.stop()
    return result, max(int(peak - before), 0)
    # END SOLUTION


# ---------------------------------------------------------------------- the Profiler


class Profiler:
    """Measure a model: parameters, FLOPs, memory, latency, and where its time goes, per layer.

        profiler = Profiler()
        profiler.count_parameters(model)                  # 826,433
        profiler.count_flops(model, (1, 128))             # 1 sequence of 128 tokens
        profiler.measure_memory(model, (8, 128))          # dict of bytes
        profiler.measure_latency(model, x)                # dict: median_ms, p10_ms, p90_ms, iterations
        print(format_profile(profiler.profile_forward_pass(model, x)))

    `clock`: a function of no arguments returning seconds (time.perf_counter by default). Every
    time the profiler measures is read from it, so a test can pass a fake clock.

    Differences from PyTorch: torch.profiler hooks into every operator of the C++ dispatcher
    and records a trace; this profiler works at the level of a model's children and reads FLOPs
    from the graph of module 05. torch.utils.flop_counter.FlopCounterMode counts the same
    FLOPs (matmuls and convolutions, 2 per multiply-add).

    Profiling a model in training mode behaves as training does: a BatchNorm2d updates its
    running statistics at every forward pass the profiler runs. Call model.eval() first if
    that matters.
    """

    def __init__(self, clock=time.perf_counter):
        if not callable(clock):
            raise TypeError(f"Profiler: clock must be a function returning seconds; got {type(clock).__name__}")
        self.clock = clock

    def count_parameters(self, model) -> int:
        """Number of trainable numbers of `model` (elements, not Tensors).

        TODO: Return the sum of the sizes of model.parameters() as an int; TypeError if the
        model has no parameters() method.

        APPROACH: Module 03's parameters() already finds every trainable Tensor once (a shared
        Tensor once, a buffer such as BatchNorm's running_mean never): add up their numbers of
        elements.

        EXAMPLE:
            >>> Profiler().count_parameters(Linear(784, 128))
            100480
            >>> Profiler().count_parameters(GPT(65, 128, 4, 4, 128))    # gpt_param_count agrees
            826433

        HINTS:
            - len(parameters()) counts Tensors: a Linear would count 2.
        """
        # BEGIN SOLUTION
        if not callable(getattr(model, "parameters", None)):
            raise TypeError(f"count_parameters expects a Module (with parameters()); got {type(model).__name__}")
        return int(sum(p.size for p in model.parameters()))
        # END SOLUTION

    def count_flops(self, model, input_shape) -> int:
        """FLOPs of one forward pass of `model` on an input of `input_shape` (matmuls and convolutions).

        TODO: Run the model once on example input and return graph_flops of its output.

        APPROACH:
            1. The input: the given `_example_input` (zeros; int64 token ids of shape (B, T)
               for a GPT, a float32 Tensor that requires grad otherwise). It raises the
               ValueError for a bad input_shape.
            2. Run the model with recording on (the given `_recording`), so that the graph
               exists even when the caller is inside no_grad.
            3. The output must be a Tensor (the given `_check_output`); count its graph.

                Linear(in, out) on (B, in)     ->  2 B in out            (the bias: 0)
                Conv2d on (N, C, H, W)         ->  2 N O OH OW C kh kw   (module 09's conv2d_flops)
                MultiHeadAttention on (B, T, C) -> 4 x 2 B T C^2 (projections) + 2 x 2 B T^2 C

        EXAMPLE:
            >>> Profiler().count_flops(Linear(784, 128), (32, 784))       # 2 * 32 * 784 * 128
            6422528
            >>> Profiler().count_flops(Conv2d(3, 32, 3, padding=1), (1, 3, 32, 32))
            1769472

        HINTS:
            - The values do not matter, only the shapes: zeros cost the same arithmetic.
            - A GPT's embedding lookups copy rows: 0 FLOPs. Its head, a Linear(C, V), is a
              large matmul: 2 B T C V.
        """
        # BEGIN SOLUTION
        x = _example_input(model, input_shape)
        with _recording():
            out = _check_output(model(x), "count_flops")
        return graph_flops(out)
        # END SOLUTION

    def measure_memory(self, model, input_shape) -> dict:
        """Memory of one training step of `model` on an input of `input_shape`, counted and measured.

        Returns a dict of ints (bytes):
            parameter_bytes   the arrays of model.parameters()
            gradient_bytes    the arrays of their .grad after one backward pass
            activation_bytes  what the graph of the forward pass keeps alive (graph_activation_bytes)
            peak_bytes        the peak of what forward + backward allocated, measured by
                              tracemalloc (peak_allocated_bytes): activations, gradients and the
                              temporaries of every op (im2col matrices, softmax intermediates)

        The model's gradients are the same before and after (the given `_fresh_grads`).

        TODO: Count the parameters; run forward and backward under peak_allocated_bytes; count
        the gradients and the graph.

        APPROACH:
            1. parameter_bytes: the bytes of every parameter's array.
            2. Inside `_fresh_grads` (every .grad None, restored at the end): measure, with
               peak_allocated_bytes, a function that builds the example input (the given
               `_example_input`, inside the measurement: the input is an activation too), runs
               the model with recording on, and runs backward from the sum of the output (a
               scalar whose gradient is 1 for every output). Let the function return the output:
               its graph stays alive for step 3.
            3. After the measurement: gradient_bytes from the parameters' .grad (a parameter
               no gradient reached has None), activation_bytes from the output's graph with the
               parameters excluded.

        EXAMPLE:
            >>> m = Profiler().measure_memory(Linear(784, 128), (32, 784))
            >>> m["parameter_bytes"], m["gradient_bytes"], m["activation_bytes"]
            (401920, 401920, 133120)
            >>> m["peak_bytes"] >= m["gradient_bytes"] + m["activation_bytes"]
            True

        HINTS:
            - Read the gradients before `_fresh_grads` puts the old ones back.
            - Parameters + peak is what a training step needs in all (Adam adds two more
              copies of the parameters: module 06).
        """
        # BEGIN SOLUTION
        params = model.parameters()
        parameter_bytes = int(sum(p.data.nbytes for p in params))
        with _fresh_grads(params):
            def step() -> Tensor:
                x = _example_input(model, input_shape)
                with _recording():
                    out = _check_output(model(x), "measure_memory")
                    if out.requires_grad:
                        out.sum().backward()
                return out

            out, peak = peak_allocated_bytes(step)
            gradient_bytes = int(sum(p.grad.data.nbytes for p in params if p.grad is not None))
            activation_bytes = graph_activation_bytes(out, exclude=params)
        return {"parameter_bytes": parameter_bytes, "gradient_bytes": gradient_bytes,
                "activation_bytes": activation_bytes, "peak_bytes": peak}
        # END SOLUTION

    def measure_latency(self, model, x, warmup: int = DEFAULT_WARMUP, iterations: int = DEFAULT_ITERATIONS) -> dict:
        """Time `iterations` forward passes of model(x) after `warmup` untimed ones, under no_grad.

        Returns {"median_ms", "p10_ms", "p90_ms": floats, "iterations": int}: the median time
        of one forward pass in milliseconds, and the 10th and 90th percentiles (the spread).

        TODO: Check the arguments, warm up, time each run on its own, summarise.

        APPROACH:
            1. warmup: an int >= 0; iterations: an int >= MIN_ITERATIONS (module 12's `_count`
               raises the ValueError, e.g. "measure_latency: iterations must be an int >= 3;
               got 2").
            2. Under module 05's no_grad (inference: no graph recorded, no activations kept),
               run the model `warmup` times without timing it: the first runs pay for things
               later runs do not (memory the allocator has not handed out yet, cold caches).
            3. Then `iterations` runs, each timed by two readings of self.clock around the one
               call; keep every duration.
            4. Summarise in milliseconds: the median and the two percentiles (NumPy's
               default linear interpolation).

        EXAMPLE:
            >>> r = Profiler().measure_latency(Linear(784, 128), Tensor(np.ones((32, 784))))
            >>> sorted(r), r["iterations"]
            (['iterations', 'median_ms', 'p10_ms', 'p90_ms'], 100)

        HINTS:
            - The median, not the mean: one run delayed by another program, the garbage
              collector or a page fault moves the mean and not the median. The spread says how
              much to trust it (compare two models only when their spreads do not overlap).
            - Do not time the whole loop and divide: that gives the mean.
        """
        # BEGIN SOLUTION
        warmup = _count(warmup, "warmup", "measure_latency")
        iterations = _count(iterations, "iterations", "measure_latency", minimum=MIN_ITERATIONS)
        seconds = []
        with no_grad():
            for _ in range(warmup):
                model(x)
            for _ in range(iterations):
                start = self.clock()
                model(x)
                seconds.append(self.clock() - start)
        ms = np.asarray(seconds, dtype=np.float64) * MS_PER_SECOND
        return {"median_ms": float(np.median(ms)), "p10_ms": float(np.percentile(ms, LOW_PERCENTILE)),
                "p90_ms": float(np.percentile(ms, HIGH_PERCENTILE)), "iterations": iterations}
        # END SOLUTION

    def run_by_layer(self, model, x) -> tuple:
        """Run model(x) once, timing each child's forward and cutting the graph at every child's borders.

        Returns `(output, calls)`: the model's output and a list of LayerCall records in the
        order they happened: one per call of a child (a child called twice has two), one per
        Tensor the model's own ops passed to a child (name OWN_OPS), and, last, one OWN_OPS
        record ending at the model's output whose seconds are the model's own time (the whole
        forward minus its children's).

        TODO: With the given `_ChildHooks`, wrap every child so that its Tensor inputs made by
        the model's own ops and its output are cut off the graph, and its call is timed.

        APPROACH:
            1. The input through the given `_as_graph_input` (a float Tensor becomes a leaf that
               requires grad, so that every op records its node).
            2. A small function for the inputs: a Tensor argument that has a `_grad_fn` was
               made by the model's own ops: replace it by its leaf (the given `_leaf_of`) and
               record LayerCall(OWN_OPS, model, 0.0, tensor, leaf). Remember the leaf by the
               Tensor's `id`: a Tensor passed to two children gets ONE leaf and one record.
               Anything else (a leaf, a mask, a number) passes unchanged.
            3. The function `around(name, child, forward, args, kwargs)` that the hooks call
               instead of the child's forward:
                  - its positional and keyword arguments through step 2;
                  - read self.clock, call forward, read the clock again;
                  - a Tensor result is replaced by its leaf; record
                    LayerCall(name, child, seconds, result, leaf or None);
                  - return the leaf (or the result itself when it is not a Tensor).
            4. Inside the hooks and with recording on (the given `_recording`), time the whole
               model call with self.clock. Then the last record: OWN_OPS, the model, the total
               time minus the seconds of every record so far, the output, no leaf.

                x --child 0--> out0 | leaf0 --own ops--> g | leaf_g --child 1--> out1 | leaf1 ...
                    record (layers.0, out0, leaf0)  (OWN_OPS, g, leaf_g)  (layers.1, out1, leaf1)

        EXAMPLE:
            >>> out, calls = Profiler().run_by_layer(Sequential(Linear(4, 8), ReLU()), Tensor(np.ones((2, 4))))
            >>> [c.name for c in calls], out is calls[1].leaf
            (['layers.0', 'layers.1', '(own ops)'], True)

        HINTS:
            - Time only the forward call: cutting and recording are the profiler's own work.
            - The values are those of an ordinary forward pass: leaves share their arrays, so
              cutting changes the graph, never the numbers.
        """
        # BEGIN SOLUTION
        x = _as_graph_input(x)
        calls, cut = [], {}

        def border(value):
            if not isinstance(value, Tensor) or value._grad_fn is None:
                return value
            if id(value) not in cut:
                cut[id(value)] = _leaf_of(value)
                calls.append(LayerCall(OWN_OPS, model, 0.0, value, cut[id(value)]))
            return cut[id(value)]

        def around(name, child, forward, args, kwargs):
            args = [border(a) for a in args]
            kwargs = {key: border(value) for key, value in kwargs.items()}
            start = self.clock()
            out = forward(*args, **kwargs)
            seconds = self.clock() - start
            leaf = _leaf_of(out) if isinstance(out, Tensor) else None
            calls.append(LayerCall(name, child, seconds, out, leaf))
            return out if leaf is None else leaf

        with _recording(), _ChildHooks(model, around):
            start = self.clock()
            output = model(x)
            total = self.clock() - start
        calls.append(LayerCall(OWN_OPS, model, total - sum(c.seconds for c in calls), output, None))
        return output, calls
        # END SOLUTION

    def profile_forward_pass(self, model, x) -> list:
        """One row per child of `model`, and one for its own ops, for one forward pass on x.

        Each row is a dict: name, type (the child's class name), time_ms (its forward time),
        flops (its matmuls and convolutions), output_bytes (the bytes it hands on: a child's
        outputs; for OWN_OPS, the Tensors the model's own ops pass to children or return).
        Rows in named_children's order, then the OWN_OPS row (type: the model's class). A child
        never called gets zeros; a child called twice, the sums. The rows' FLOPs add up to
        count_flops.

        TODO: Run the model with run_by_layer and add each record up into its row.

        APPROACH:
            1. A row of zeros for every child from named_children, and one named OWN_OPS for
               the model (a dict by name keeps the order and finds the row of a record).
            2. For each record from run_by_layer: add its seconds (in ms) to its row; if its
               output is a Tensor, add the FLOPs of its segment, graph_flops of the output
               with ONE `seen` set for all records (the walk stops at leaves; the set keeps a
               node that two segments reach from being counted twice), and its bytes: always
               for a child; for OWN_OPS only when the Tensor has a `_grad_fn` (the output of a
               Sequential is its last child's leaf: its bytes are that child's).
            3. Return the rows as a list.

        EXAMPLE:
            >>> x = Tensor(np.ones((2, 4), dtype=np.float32))
            >>> rows = Profiler().profile_forward_pass(Sequential(Linear(4, 8), ReLU()), x)
            >>> [(r["name"], r["type"], r["flops"], r["output_bytes"]) for r in rows]
            [('layers.0', 'Linear', 128, 64), ('layers.1', 'ReLU', 0, 64), ('(own ops)', 'Sequential', 0, 0)]

        HINTS:
            - Time and FLOPs together give each layer's GFLOP/s: compare it with
              measure_matmul_gflops to see which layers waste the machine.
            - Profile a child on its own (a TransformerBlock, a MultiHeadAttention) to look
              inside it: its children become the rows.
        """
        # BEGIN SOLUTION
        def row(name: str, layer) -> dict:
            return {"name": name, "type": type(layer).__name__, "time_ms": 0.0, "flops": 0, "output_bytes": 0}

        rows = {name: row(name, child) for name, child in named_children(model)}
        rows[OWN_OPS] = row(OWN_OPS, model)
        _, calls = self.run_by_layer(model, x)
        seen = set()
        for call in calls:
            r = rows[call.name]
            r["time_ms"] += call.seconds * MS_PER_SECOND
            if isinstance(call.output, Tensor):
                r["flops"] += graph_flops(call.output, seen)
                if call.name != OWN_OPS or call.output._grad_fn is not None:
                    r["output_bytes"] += int(call.output.data.nbytes)
        return list(rows.values())
        # END SOLUTION

    def profile_backward_pass(self, model, x, loss_fn) -> list:
        """One row per child of `model`, and one for its own ops: the time of their backward and their gradients' bytes.

        loss_fn(output) -> a scalar Tensor, e.g. `lambda logits: CrossEntropyLoss()(logits, y)`.
        Each row is a dict: name, type, time_ms (the backward through its segments),
        gradient_bytes (the bytes of the .grad of its parameters after the backward; for OWN_OPS,
        the model's parameters that belong to no child). Rows in profile_forward_pass's order.
        The parameters' .grad end up exactly as after `loss_fn(model(x)).backward()` (they
        accumulate, as in any backward). Not in any row: the backward of the loss itself and of
        the model's own ops after its last child (both run in loss.backward()).

        TODO: Run the model by layer, back-propagate the loss to the last leaves, then each
        segment on its own, last first, timing each.

        APPROACH:
            1. run_by_layer; the loss from loss_fn with recording on (the given `_recording`):
               it must be a Tensor that requires grad (TypeError otherwise); its backward stops
               at the leaves, filling their .grad.
            2. The records in REVERSE order. A segment needs the complete gradient of its leaf,
               and every use of a leaf comes after it in the forward pass; so once the later
               segments are done, leaf.grad is complete. Run the backward of the record's
               output with that gradient, timed by self.clock: it fills the parameters' .grad
               and the .grad of the leaves before it. Skip a record whose leaf is None or
               received no gradient, or whose output does not require grad.
            3. Rows: time in ms per name; gradient_bytes from the .grad of each child's
               parameters (only Modules have parameters; an activation has none) and, for
               OWN_OPS, of the model's parameters not among its children's (compare by `id`).

                forward:   ... leaf_{k-1} --segment k--> end_k --cut--> leaf_k ... --> loss
                backward:  loss.backward() fills leaf_last.grad; then end_k.backward(leaf_k.grad)
                           for k = last .. first fills leaf_{k-1}.grad and segment k's parameters

        EXAMPLE:
            >>> model = Sequential(Linear(4, 8), ReLU(), Linear(8, 1))
            >>> rows = Profiler().profile_backward_pass(model, Tensor(np.ones((2, 4))), lambda out: out.sum())
            >>> [(r["name"], r["gradient_bytes"]) for r in rows]
            [('layers.0', 160), ('layers.1', 0), ('layers.2', 36), ('(own ops)', 0)]

        HINTS:
            - Tensor.backward takes the gradient of a non-scalar Tensor as its argument.
            - In forward order, a leaf used by two later segments would have only part of its
              gradient when its segment runs: the parameters' gradients would be wrong.
        """
        # BEGIN SOLUTION
        output, calls = self.run_by_layer(model, x)
        with _recording():
            loss = loss_fn(output)
        if not isinstance(loss, Tensor) or not loss.requires_grad:
            raise TypeError(f"profile_backward_pass: loss_fn must return a Tensor that requires grad (a loss of "
                            f"the model's output); got {type(loss).__name__}")
        loss.backward()
        seconds = {}
        for call in reversed(calls):
            if call.leaf is None or call.leaf.grad is None or not call.output.requires_grad:
                continue
            start = self.clock()
            call.output.backward(call.leaf.grad)
            seconds[call.name] = seconds.get(call.name, 0.0) + self.clock() - start

        def grad_bytes(params) -> int:
            return int(sum(p.grad.data.nbytes for p in params if p.grad is not None))

        rows, in_children = [], set()
        for name, child in named_children(model):
            params = child.parameters() if isinstance(child, Module) else []
            in_children.update(id(p) for p in params)
            rows.append({"name": name, "type": type(child).__name__,
                         "time_ms": seconds.get(name, 0.0) * MS_PER_SECOND, "gradient_bytes": grad_bytes(params)})
        own = [p for p in model.parameters() if id(p) not in in_children] if isinstance(model, Module) else []
        rows.append({"name": OWN_OPS, "type": type(model).__name__,
                     "time_ms": seconds.get(OWN_OPS, 0.0) * MS_PER_SECOND, "gradient_bytes": grad_bytes(own)})
        return rows
        # END SOLUTION


# ---------------------------------------------------------------------- systems questions


def arithmetic_intensity(flops, bytes_moved) -> float:
    """FLOPs per byte moved between memory and the processor: what decides memory- vs compute-bound.

    TODO: Return flops / bytes_moved as a float; ValueError for negative FLOPs or bytes_moved <= 0.

    APPROACH: Check both numbers (ints or floats, not bools), then divide: the work done per
    unit of traffic. A high intensity reuses each byte for many operations.

    EXAMPLE:
        >>> round(arithmetic_intensity(6422528, 518144), 2)  # Linear(784, 128) on a batch of 32
        12.4
        >>> arithmetic_intensity(1000, 4000)                 # a ReLU-like op: 0.25 FLOPs per byte
        0.25

    HINTS:
        - The units matter in the roofline: FLOPs per BYTE, not per element.
    """
    # BEGIN SOLUTION
    for name, value in (("flops", flops), ("bytes_moved", bytes_moved)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                or not math.isfinite(value):
            raise ValueError(f"arithmetic_intensity: {name} must be a finite number; got {value!r}")
    if flops < 0:
        raise ValueError(f"arithmetic_intensity: flops must be >= 0; got {flops!r}")
    if bytes_moved <= 0:
        raise ValueError(f"arithmetic_intensity: bytes_moved must be > 0; got {bytes_moved!r}")
    return float(flops) / float(bytes_moved)
    # END SOLUTION


def linear_arithmetic_intensity(batch: int, in_features: int, out_features: int, dtype=np.float32) -> float:
    """Arithmetic intensity of Linear(in_features, out_features) on a batch of `batch` rows.

    Counted as a fused kernel would run it at best: FLOPs of the matmul (2 * batch * in * out,
    the bias left out as in count_flops); bytes moved = the input (batch, in) and the weight
    (in, out) read once, the output (batch, out) written once, at the dtype's size.

    TODO: Return the intensity as a float; ValueError (`_count`) for a size < 1.

    APPROACH: FLOPs from module 01's matmul_flops; the three arrays' elements times the
    itemsize of dtype; then your arithmetic_intensity.

    EXAMPLE:
        >>> round(linear_arithmetic_intensity(1, 4096, 4096), 3)       # batch 1: memory-bound
        0.5
        >>> round(linear_arithmetic_intensity(512, 4096, 4096), 1)     # batch 512: compute-bound
        204.8

    HINTS:
        - At batch 1 the weight dominates the traffic and each weight is used once (one
          multiply-add = 2 FLOPs per 4 bytes). Batching reuses every weight `batch` times:
          that is why generating one token at a time is memory-bound, and training is not.
    """
    # BEGIN SOLUTION
    b = _count(batch, "batch", "linear_arithmetic_intensity", minimum=1)
    n_in = _count(in_features, "in_features", "linear_arithmetic_intensity", minimum=1)
    n_out = _count(out_features, "out_features", "linear_arithmetic_intensity", minimum=1)
    elements = b * n_in + n_in * n_out + b * n_out                          # x, W, y
    return arithmetic_intensity(matmul_flops(b, n_in, n_out), elements * np.dtype(dtype).itemsize)
    # END SOLUTION


def conv2d_arithmetic_intensity(batch: int, in_channels: int, out_channels: int, height: int, width: int,
                                kernel_size, stride=1, padding=0, dtype=np.float32) -> float:
    """Arithmetic intensity of a Conv2d forward pass (without the bias), at best.

    FLOPs: module 09's conv2d_flops. Bytes moved: the input (N, C, H, W) and the weight
    (O, C, kh, kw) read once, the output (N, O, OH, OW) written once (a direct convolution;
    this library's im2col writes and reads a matrix kh*kw times the input on top).

    TODO: Return the intensity as a float; ValueError for a size < 1 (`_count`) or a kernel,
    stride or padding that module 09's helpers refuse.

    APPROACH: Kernel as a pair (module 09's `_pair`), OH and OW from conv_output_size (with
    the stride and padding as pairs too), the three arrays' elements times the itemsize, and
    conv2d_flops for the work; then your arithmetic_intensity.

    EXAMPLE:
        >>> round(conv2d_arithmetic_intensity(64, 32, 64, 16, 16, 3, padding=1), 1)
        94.9

    HINTS:
        - Every weight is reused at every output position of every image: convolutions are
          among the most compute-bound layers there are, except where the channels are few
          (the first layer of a CNN, C = 3).
    """
    # BEGIN SOLUTION
    who = "conv2d_arithmetic_intensity"
    n = _count(batch, "batch", who, minimum=1)
    c = _count(in_channels, "in_channels", who, minimum=1)
    o = _count(out_channels, "out_channels", who, minimum=1)
    h = _count(height, "height", who, minimum=1)
    w = _count(width, "width", who, minimum=1)
    kh, kw = _pair(kernel_size, "kernel_size", who)
    sh, sw = _pair(stride, "stride", who)
    ph, pw = _pair(padding, "padding", who, minimum=0)
    oh, ow = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
    elements = n * c * h * w + o * c * kh * kw + n * o * oh * ow            # x, weight, out
    flops = conv2d_flops(n, c, o, h, w, (kh, kw), (sh, sw), (ph, pw))
    return arithmetic_intensity(flops, elements * np.dtype(dtype).itemsize)
    # END SOLUTION


def _positive(value, name: str, who: str, allow_zero: bool = False) -> float:
    """`value` as a float if it is a finite real number > 0 (>= 0 with allow_zero), else a ValueError (given)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{who}: {name} must be a finite number {bound}; got {value!r}")
    return float(value)


def ridge_intensity(peak_gflops, bandwidth_gbs) -> float:
    """The arithmetic intensity (FLOPs per byte) at which the roofline's two roofs meet.

    An op below it is memory-bound on this machine (the arithmetic units wait for data); above
    it, compute-bound.

    TODO: Return peak_gflops / bandwidth_gbs as a float; ValueError (the given `_positive`)
    unless both are finite numbers > 0.

    APPROACH: At the ridge, intensity x bandwidth = peak: solve for the intensity. GFLOP/s
    over GB/s is FLOPs per byte (the 10^9 cancels).

    EXAMPLE:
        >>> ridge_intensity(100.0, 20.0)                    # 100 GFLOP/s, 20 GB/s
        5.0

    HINTS:
        - Typical CPUs have ridges of 5-20 FLOPs per byte, GPUs 50-300: a GPU needs much
          larger batches to be busy.
    """
    # BEGIN SOLUTION
    peak = _positive(peak_gflops, "peak_gflops", "ridge_intensity")
    bandwidth = _positive(bandwidth_gbs, "bandwidth_gbs", "ridge_intensity")
    return peak / bandwidth
    # END SOLUTION


def roofline_bound(intensity, peak_gflops, bandwidth_gbs) -> float:
    """The attainable GFLOP/s of an op of `intensity` FLOPs/byte on a machine (Williams et al., 2009).

        attainable = min(peak_gflops, intensity * bandwidth_gbs)

              GFLOP/s |            ______________ peak (compute roof)
                      |           /
                      |          /  <- slope = bandwidth (memory roof)
                      |         /
                      |________/________________ intensity (FLOPs per byte)
                              ridge

    TODO: Return the bound as a float; ValueError (the given `_positive`) for an intensity < 0
    or a peak or bandwidth <= 0.

    APPROACH: Memory can deliver bandwidth_gbs GB per second; each byte allows `intensity`
    FLOPs: that is one ceiling. The arithmetic units are the other. The op gets the LOWER of
    the two.

    EXAMPLE:
        >>> roofline_bound(0.5, 100.0, 20.0)                # memory-bound: 0.5 * 20
        10.0
        >>> roofline_bound(50.0, 100.0, 20.0)               # compute-bound: the peak
        100.0

    HINTS:
        - A measured GFLOP/s far below the bound means overhead (Python, copies, small
          kernels), not a hardware limit: that is the gap module 16 closes.
    """
    # BEGIN SOLUTION
    i = _positive(intensity, "intensity", "roofline_bound", allow_zero=True)
    peak = _positive(peak_gflops, "peak_gflops", "roofline_bound")
    bandwidth = _positive(bandwidth_gbs, "bandwidth_gbs", "roofline_bound")
    return min(peak, i * bandwidth)
    # END SOLUTION


def measure_matmul_gflops(n: int = DEFAULT_MATMUL_N, repeats: int = DEFAULT_REPEATS, clock=time.perf_counter,
                          seed: int = 0) -> float:
    """This machine's float32 matmul speed: GFLOP/s of the fastest of `repeats` (n, n) @ (n, n) products.

    TODO: Time the product and return matmul_flops(n, n, n) / seconds / GIGA as a float;
    ValueError (`_count`) unless n and repeats are ints >= 1.

    APPROACH:
        1. Two random float32 (n, n) matrices from np.random.default_rng(seed).
        2. One untimed product first (a warm-up).
        3. `repeats` timed products, each between two calls of `clock` (and no other calls of
           it: the tests pass a fake clock); keep the FASTEST time, at least MIN_SECONDS.
        4. FLOPs from module 01's matmul_flops, over the seconds, in units of GIGA.

    EXAMPLE:
        >>> measure_matmul_gflops(256, repeats=3) > 1.0        # any machine of this century
        True

    HINTS:
        - The fastest run, not the mean: other programs can only ADD time to a run. This is
          the "peak" of your roofline (NumPy's BLAS, all cores).
        - Measured on the course's 2-core machine: see the README.
    """
    # BEGIN SOLUTION
    n = _count(n, "n", "measure_matmul_gflops", minimum=1)
    repeats = _count(repeats, "repeats", "measure_matmul_gflops", minimum=1)
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    a @ b                                                                   # warm-up
    best = math.inf
    for _ in range(repeats):
        start = clock()
        a @ b
        best = min(best, clock() - start)
    return matmul_flops(n, n, n) / max(best, MIN_SECONDS) / GIGA
    # END SOLUTION


def measure_bandwidth_gbs(nbytes: int = DEFAULT_COPY_BYTES, repeats: int = DEFAULT_REPEATS,
                          clock=time.perf_counter) -> float:
    """This machine's memory bandwidth: GB/s of the fastest of `repeats` copies of an nbytes float32 array.

    TODO: Time a copy of one array into another and return the bytes moved per second in units
    of GIGA, as a float; ValueError (`_count`) unless nbytes >= 4 (one float32) and repeats >= 1.

    APPROACH:
        1. A float32 source of nbytes // 4 elements (any values) and a destination of the
           same shape, both allocated before timing.
        2. One untimed copy first: the operating system hands out the destination's memory
           only when it is first written.
        3. `repeats` timed copies into the existing destination (np.copyto: no new array),
           each between two calls of `clock` (and no other calls of it); keep the fastest, at
           least MIN_SECONDS.
        4. Bytes moved: BYTES_MOVED_PER_COPIED_BYTE times the source's bytes (each byte is
           read once and written once).

    EXAMPLE:
        >>> measure_bandwidth_gbs(2 ** 24, repeats=3) > 0.1
        True

    HINTS:
        - The array must be far larger than the caches (several MiB), or you measure the
          cache's bandwidth, not the memory's.
        - This is the slope of your roofline.
    """
    # BEGIN SOLUTION
    nbytes = _count(nbytes, "nbytes", "measure_bandwidth_gbs", minimum=np.dtype(np.float32).itemsize)
    repeats = _count(repeats, "repeats", "measure_bandwidth_gbs", minimum=1)
    src = np.ones(nbytes // np.dtype(np.float32).itemsize, dtype=np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)                                                     # warm-up: touch every page
    best = math.inf
    for _ in range(repeats):
        start = clock()
        np.copyto(dst, src)
        best = min(best, clock() - start)
    return BYTES_MOVED_PER_COPIED_BYTE * src.nbytes / max(best, MIN_SECONDS) / GIGA
    # END SOLUTION
