"""Module 12: attention, the operation at the heart of every transformer.

What you build
    causal_mask                    the (T, T) boolean mask that hides the future
    masked_fill + its backward     replace masked entries by a value; gradient only where kept
    attention_composed             softmax(Q @ K^T / sqrt(d), masked) @ V from ops you have
    attention + its backward       the same as ONE graph op, tile by tile, skipping masked work
    scaled_dot_product_attention   checks Q, K, V and the mask, then calls attention
    split_heads / merge_heads      (B, T, C) <-> (B, H, T, D): one embedding, H smaller heads
    MultiHeadAttention             four Linear projections around H attentions in parallel

Why it matters
    An MLP or a convolution mixes positions with weights fixed at training time. Attention
    mixes them with weights computed from the data: every position (a query) scores every
    position (a key), the softmax of the scores says how much of each position's value to
    take. "The cat sat because it was tired": the row of `it` can put its weight on `cat`,
    whatever the distance. That is the whole idea of "Attention Is All You Need" (Vaswani et
    al., 2017), and GPT is a stack of it.

        Q (T, d)    K^T (d, T)      scores (T, T)       weights (T, T)     V (T, d)
        one row  @  one column  =   q_i . k_j        -- softmax of --> @  one row    = out (T, d)
        per query   per key         / sqrt(d)           each row          per key      rows mix V

    A language model must not look ahead: position t may use positions 0..t only. The causal
    mask sets the scores of the future to -inf before the softmax, so their weights are
    exactly 0 and every row still sums to 1:

        causal_mask(4)      allowed scores          weights (each row sums to 1)
        1 0 0 0             s00  -inf -inf -inf     1.00 0    0    0
        1 1 0 0     --->    s10  s11  -inf -inf --> 0.40 0.60 0    0
        1 1 1 0             s20  s21  s22  -inf     0.20 0.50 0.30 0
        1 1 1 1             s30  s31  s32  s33      ...

Who uses it later
    13 transformers   every TransformerBlock holds a MultiHeadAttention with the causal mask
    14 kv_caching     caches K and V of past positions so that generating token t+1 computes
                      one new row of the score matrix instead of all of it
    15 profiling      counts the FLOPs of the two attention matmuls (attention_flops)

Composed, then fused
    Attention can be written with ops that already have backward rules: matmul (batched),
    transpose, scaling (modules 01 and 05), a masked fill and module 02's Softmax; module 05
    then differentiates it without a new rule. `masked_fill` is the one op missing from that
    list, so you write it and its `MaskedFillBackward` first, as in module 09, and then
    `attention_composed`: the clear version, and the one to check the fast one against.
    Then you write `attention` as ONE graph op with its own backward rule: the same maths,
    computed a tile of scores at a time while the tile is in the CPU's cache, skipping the
    keys that the mask hides from a whole tile. The score matrices are the largest arrays of
    a transformer, so this is where a NumPy GPT spends its time: `make bench` measures the
    two versions against each other and against PyTorch.

Two mask conventions, on purpose the same as PyTorch's
    attention masks (`causal_mask`, the `mask` of scaled_dot_product_attention and of
    MultiHeadAttention): True = the position TAKES PART in attention (allowed).
    `masked_fill(x, mask, value)`: True = the entry is FILLED with value (torch.Tensor.masked_fill).
    So the composed attention passes the complement of its mask, `~allowed`, to masked_fill.

The systems angle
    The score matrix has one entry per (query, key) pair: (B, H, T, T) numbers. Doubling the
    context quadruples its memory and the FLOPs of both attention matmuls, while the
    projections grow only linearly in T. `attention_memory_bytes`, `attention_flops`,
    `projection_flops` and `scores_exceed_weights_seq_len` put numbers on it; it is why long
    contexts are expensive and why FlashAttention never stores the whole matrix.
"""

from __future__ import annotations

import math

import numpy as np

from tinytorch.core.activations import Softmax
from tinytorch.core.layers import Linear, Module
from tinytorch.core.tensor import FLOPS_PER_MULTIPLY_ADD, Function, Tensor, _unbroadcast, _wrap, graph_op

MASKED_SCORE = -np.inf          # the score of a masked position: exp(-inf) = 0 exactly
ATTENTION_MATMULS = 2           # scores = Q @ K^T and out = weights @ V
PROJECTIONS = 4                 # q_proj, k_proj, v_proj, out_proj of MultiHeadAttention
TILE_SCORES = 2 ** 16           # scores per tile of `attention`: 256 KiB of float32, in cache
TILE_QUERIES = 64               # at most this many query rows per tile


# ---------------------------------------------------------------------- given helpers


def _bool_mask(mask, who: str) -> np.ndarray:
    """`mask` as a NumPy boolean array, or a TypeError naming `who` and the dtype (given).

    Masks are NumPy boolean arrays (what `causal_mask` and comparisons return) or nested lists
    of bools. A Tensor holds floats, so it is refused here like any 0/1 float array.
    """
    array = np.asarray(mask)
    if array.dtype != np.bool_:
        raise TypeError(f"{who}: a mask must be a boolean array; got dtype {array.dtype} "
                        f"(build one with a comparison or causal_mask)")
    return array


def _count(value, name: str, who: str, minimum: int = 0) -> int:
    """`value` as an int >= minimum, or a ValueError naming `who`, `name` and the value (given)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{who}: {name} must be an int >= {minimum}; got {value!r}")
    return int(value)


# ---------------------------------------------------------------------- the causal mask


def causal_mask(seq_len: int) -> np.ndarray:
    """The (seq_len, seq_len) boolean mask of a language model: True where attention is allowed.

    Row i is query position i; column j is key position j. Position i may look at positions
    0..i (itself and the past), never at the future: True on and below the diagonal.

    TODO: Return a NumPy bool array of shape (seq_len, seq_len), True on and below the
    diagonal; raise ValueError (use `_count`) unless seq_len is an int >= 1.

    APPROACH:
        1. Validate seq_len: a sequence has at least one position.
        2. Entry (i, j) is allowed exactly when j <= i. NumPy has a function for "the lower
           triangle, diagonal included" of a square array; or compare a column of row
           indices with a row of column indices and let broadcasting build the square.

    EXAMPLE:
        >>> causal_mask(3)
        array([[ True, False, False],
               [ True,  True, False],
               [ True,  True,  True]])

    HINTS:
        - The dtype must be bool, not 0/1 floats: attention checks it.
        - Same convention as PyTorch's boolean attn_mask: True = take part in attention.
    """
    raise NotImplementedError("Module 12 (attention): write causal_mask (see its docstring)")


# ---------------------------------------------------------------------- masked_fill


class MaskedFillBackward(Function):
    """out = masked_fill(x, mask, value)  ->  dx = grad where mask is False, 0 where it is True."""

    def backward(self, grad):
        """TODO: Return (dL/dx,) for out = masked_fill(x, mask, value).

        APPROACH: A filled entry is the constant `value`: it does not depend on x, so its
        gradient is 0. A kept entry is x itself: its gradient passes unchanged. The mask is
        `self.params["mask"]` (pass it through `_bool_mask` again); it may be smaller than
        grad (it broadcast in the forward), and grad already has x's shape, so no summing is
        needed: select, element by element, between 0 and grad.

            x     [a, b, c]    mask [F, T, F]    out  [a, v, c]
            grad  [g0, g1, g2]                   dx   [g0, 0, g2]

        EXAMPLE: x (2, 3), mask (3,) = [F, T, F], grad ones (2, 3) -> dx [[1, 0, 1], [1, 0, 1]].

        HINTS:
            - Never change `grad` in place: build a new array.
            - Keep grad's dtype (a float64 gradient check must stay float64).
        """
        raise NotImplementedError("Module 12 (attention): write MaskedFillBackward.backward (see its docstring)")


@graph_op(MaskedFillBackward, inputs=("x",))
def masked_fill(x: Tensor, mask, value: float) -> Tensor:
    """A copy of x with `value` wherever `mask` is True (as torch.Tensor.masked_fill).

    mask: a NumPy boolean array that broadcasts to x's shape, True = FILL this entry. The
    output has x's shape and dtype; gradients flow to x only where mask is False.

    TODO: Check the arguments, then return a new Tensor: value where mask, x elsewhere.

    APPROACH:
        1. x must be a Tensor (TypeError); turn the mask into a boolean array with the given
           `_bool_mask` (it raises the TypeError for a non-boolean mask).
        2. The mask may be smaller than x ((T, T) for scores of shape (B, H, T, T)) but must
           broadcast TO x's shape: it may not add dimensions to x or stretch x's size-1
           dimensions. Otherwise raise ValueError naming both shapes, e.g.
           "masked_fill: mask of shape (4, 5) does not broadcast to x's shape (2, 4, 4)".
        3. Select element-wise between value and x.data; return it as a Tensor of x's dtype.

    EXAMPLE:
        >>> masked_fill(Tensor([[1.0, 2.0], [3.0, 4.0]]), causal_mask(2) == False, -np.inf).data
        array([[  1., -inf],
               [  3.,   4.]], dtype=float32)

    HINTS:
        - The broadcast result of the mask's shape and x's shape must equal x's shape:
          np.broadcast_shapes raises a ValueError of its own when they do not broadcast at all.
        - value may be -inf: the result is then not "large negative" but exactly -inf, and
          softmax turns it into a weight of exactly 0.
    """
    raise NotImplementedError("Module 12 (attention): write masked_fill (see its docstring)")


# ---------------------------------------------------------------------- attention


def attention_composed(Q: Tensor, K: Tensor, V: Tensor, mask=None) -> tuple:
    """Attention written with graph ops you already have: the clear version, and the check.

    The same maths and arguments as scaled_dot_product_attention, returning (output, weights),
    but built from Tensor ops: scaling, transpose, matmul (modules 01 and 05), masked_fill
    (above) and module 02's Softmax. Module 05 differentiates it with no new rule, and here
    gradients flow back through the returned weights too. It checks nothing itself: it is for
    comparing with the fused op on arguments you know are right, and for the benchmark that
    shows what fusing is worth (`make bench`).

    TODO: Return (weights @ V, weights), weights = Softmax over the keys of the masked scores.

    APPROACH:
        1. scores = (Q / sqrt(d)) times K transposed over its last two axes.
        2. With a mask: masked_fill the NOT-allowed scores with MASKED_SCORE (its mask means
           "fill", the attention mask means "allowed").
        3. weights = module 02's Softmax along the last axis; output = weights times V.

    EXAMPLE:
        >>> Q = K = V = Tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> out, w = attention_composed(Q, K, V, causal_mask(2))
        >>> w.data.round(2)
        array([[1.  , 0.  ],
               [0.33, 0.67]], dtype=float32)

    HINTS:
        - Six graph nodes, three of them making a (..., Tq, Tk) array (the scores, the
          filled scores, the weights), and as many in the backward: count them, then read
          why `attention` below is one op.
    """
    raise NotImplementedError("Module 12 (attention): write attention_composed (see its docstring)")


def _flat(array: np.ndarray, batch: tuple) -> np.ndarray:
    """array (..., T, d) broadcast to (*batch, T, d), as (N, T, d) with N = prod(batch) (given).

    No copy when the array already has the batch dimensions and a simple layout; a copy when
    it was broadcast (keys shared by a batch) or is a transposed view (heads after split_heads).
    """
    return np.broadcast_to(array, (*batch, *array.shape[-2:])).reshape(-1, *array.shape[-2:])


def _attention_tiles(mask, scores_shape: tuple) -> list:
    """Cut the scores (N slices, Tq queries, Tk keys) into tiles, and find the keys each needs (given).

    The batch and head dimensions of the scores are flattened into N slices (see `_flat`).
    Returns a list of (slices, start, stop, keys, fill), one per tile:
        slices        a slice of the N slices (several (batch, head) pairs at once)
        start, stop   the tile's query rows start..stop-1
        keys          they attend to keys 0..keys-1 only: every later key is masked for every
                      query of the tile (the future, under a causal mask), so its weight is
                      exactly 0 and nothing needs to be computed for it
        fill          a boolean array that broadcasts to the tile's scores (slices, rows, keys):
                      True where a score must be set to MASKED_SCORE; None when none must
    A tile holds about TILE_SCORES scores: small enough to stay in the CPU's cache while the
    softmax makes its passes over it, large enough that NumPy's per-call cost stays small.

        causal_mask(8), tiles of 2 rows:     rows 0-1: keys 0-1    2 of 8 columns computed
        1 . . . . . . .                      rows 2-3: keys 0-3    4 of 8
        1 1 . . . . . .                      rows 4-5: keys 0-5    6 of 8
        1 1 1 . . . . .                      rows 6-7: keys 0-7    8 of 8
        ...                                  24 of 64 scores skipped, and in the backward too

    mask is None or a boolean array already checked to broadcast to scores_shape, with no row
    that allows no key. Given: read, do not change.
    """
    *batch, q_len, k_len = scores_shape
    n = math.prod(batch)
    rows = max(1, min(q_len, TILE_QUERIES, TILE_SCORES // max(k_len, 1)))
    step = max(1, TILE_SCORES // (rows * max(k_len, 1)))
    per_slice = None                                  # (N, Tq, Tk) when the mask differs by slice
    if mask is not None:
        mask = np.asarray(mask)
        mask = mask.reshape((1,) * max(0, 2 - mask.ndim) + mask.shape)
        if mask.ndim > 2 and math.prod(mask.shape[:-2]) > 1:
            per_slice = np.broadcast_to(mask, scores_shape).reshape(n, q_len, k_len)
            pairs = per_slice.any(axis=0)                                   # (Tq, Tk)
        else:
            mask = pairs = np.broadcast_to(mask.reshape(mask.shape[-2:]), (q_len, k_len))
    tiles = []
    for start in range(0, q_len, rows):
        stop = min(start + rows, q_len)
        keys, fill = k_len, None
        if mask is not None:
            keys = int(np.flatnonzero(pairs[start:stop].any(axis=0))[-1]) + 1
            if per_slice is None:
                fill = ~mask[start:stop, :keys]
                fill = fill if fill.any() else None
        for first in range(0, n, step):
            slices = slice(first, min(first + step, n))
            if per_slice is not None:
                fill = ~per_slice[slices, start:stop, :keys]
                fill = fill if fill.any() else None
            tiles.append((slices, start, stop, keys, fill))
    return tiles


class AttentionBackward(Function):
    """out = P @ V, P = softmax(Q @ K^T * s, masked)  ->  dV = P^T @ g, dP = g @ V^T,
    dS = P * (dP - rowsum(g * out)), dQ = dS @ K * s, dK = dS^T @ Q * s (s = 1 / sqrt(d))."""

    def backward(self, grad):
        """TODO: Return (dL/dQ, dL/dK, dL/dV) for out = attention(Q, K, V, mask, weights).

        APPROACH: Walk the forward backwards with rules you know, tile by tile.
            1. Flatten as the forward did: grad, Q, K, V to (N, T, .) with `_flat` and the
               scores' batch dimensions; the weights P = `self.params["weights"]` to (N, Tq, Tk)
               and the output (`self.output`) like grad. The tiles are
               `_attention_tiles(self.params["mask"], weights' shape)`, as in the forward.
            2. dQ starts empty, dK and dV at zero, all three flattened. For each tile, with
               P_t = P[slices, start:stop, :keys] and g_t the same rows of grad:
               - out_t = P_t @ V[slices, :keys]: module 05's matmul rule gives dV's first
                 `keys` rows (add them: every tile of these slices uses them) and
                 dP_t = g_t @ V[slices, :keys] transposed.
               - softmax along the keys (module 02's rule): dS_t = P_t * (dP_t - D_t), where
                 D_t = sum over the keys of dP_t * P_t. Since out = P @ V, that sum equals the
                 sum over out's last axis of g_t * out_t: (rows, dv) numbers to multiply
                 instead of (rows, keys). FlashAttention computes D this way. A masked or
                 skipped score has P = 0, so its dS is 0: the mask needs no step of its own.
               - S_t = (Q_t * s) @ K[slices, :keys] transposed: dQ's tile is dS_t @ K[...] * s,
                 and dK's first `keys` rows get dS_t transposed @ Q_t * s added.
               "Transposed" swaps the last two axes only.
            3. Give each gradient back its batch dimensions, then `_unbroadcast` it to its
               input's shape (keys shared by a batch get the sum). Return None for an input
               whose entry of `self.needs_input_grad` is False.

                g_t --(@ V^T)--> dP_t --softmax'--> dS_t --+-- @ K      * s --> dQ tile
                 |                                          +-- ^T @ Q_t * s --> dK[:keys] +=
                 +--(P_t^T @)--> dV[:keys] +=

        EXAMPLE: Q (2, 3, 4), K (2, 5, 4), V (2, 5, 6) -> grad (2, 3, 6); dQ (2, 3, 4),
        dK (2, 5, 4), dV (2, 5, 6).

        HINTS:
            - Multiply dQ and dK by s once at the end: (T, d) multiplications, not (Tq, Tk).
            - Never change `grad` in place: it may be another node's array. dP_t is a fresh
              product: change it in place into dS_t.
        """
        raise NotImplementedError("Module 12 (attention): write AttentionBackward.backward (see its docstring)")


@graph_op(AttentionBackward, inputs=("Q", "K", "V"))
def attention(Q: Tensor, K: Tensor, V: Tensor, mask, weights: np.ndarray) -> Tensor:
    """softmax(Q @ K^T / sqrt(d), masked) @ V as ONE graph op; fills `weights` with the softmax.

    Q (..., Tq, d), K (..., Tk, d), V (..., Tk, dv) with leading dimensions that broadcast;
    mask None or a boolean array, True = allowed; weights an empty array of the scores'
    shape (..., Tq, Tk) and dtype, which this op fills with the attention weights and its
    backward reads. scaled_dot_product_attention checks the arguments and calls this.

    Why one op. With Tensor ops (scale, transpose, matmul, masked_fill, Softmax, matmul)
    attention is six graph nodes, and three of them make a (..., Tq, Tk) array in the forward
    and another in the backward. Those are the largest arrays of a transformer (see
    attention_memory_bytes: at T = 256, 64 times the size of Q), so a NumPy transformer
    spends its time moving them between memory and the CPU. As one op, attention works
    through the scores a tile at a time: a tile's scores are made, masked, normalised and
    multiplied by V while they are in the cache, and the backward does the same. And it
    skips the keys that the mask hides from a whole tile: under a causal mask, almost half
    of all the work. FlashAttention is this idea carried further (it does not even keep the
    weights).

    TODO: Compute the weights and the output, one tile at a time, in NumPy.

    APPROACH:
        1. Flatten: Q, K, V to (N, T, .) with `_flat` and the scores' batch dimensions
           (weights.shape[:-2]), weights to (N, Tq, Tk) (a view: writing it fills `weights`).
        2. s = 1 / sqrt(d). Scale Q once, before any product: (Tq, d) multiplications instead
           of (Tq, Tk). Why sqrt(d): for random q and k with unit-variance entries, q . k is a
           sum of d terms of variance 1; dividing by sqrt(d) brings it back to 1, so the
           softmax does not saturate into a one-hot (whose gradient is ~0) as d grows.
        3. The output starts as an empty (N, Tq, dv) array. For each (slices, start, stop,
           keys, fill) of `_attention_tiles(mask, weights.shape)`:
               a. the tile's scores: its scaled queries times K[slices, :keys] transposed;
               b. MASKED_SCORE where `fill` is True (NumPy copies a value into an array only
                  where a boolean array is True);
               c. the stable softmax along the keys, as in module 02, in place, its last
                  step (the division) writing straight into the tile's place in the weights;
                  columns keys.. of the tile are weights of exactly 0: set them;
               d. the tile's output rows: its weights times V[slices, :keys].
        4. Give the output its batch dimensions and return it as a Tensor (`_wrap`: no copy).
           graph_op records AttentionBackward, with `weights` in its params.

    EXAMPLE:
        >>> Q = K = V = Tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> w = np.empty((2, 2), dtype=np.float32)
        >>> attention(Q, K, V, causal_mask(2), w).data.round(2)    # V = I: output = weights
        array([[1.  , 0.  ],
               [0.33, 0.67]], dtype=float32)

    HINTS:
        - Mask BEFORE the softmax: -inf lets the softmax renormalise over the allowed keys.
        - Softmax over the last axis: keys. Transpose K over its last two axes; a reshape has
          the right shape and the wrong numbers.
        - Work on the tile's own product (contiguous: NumPy is fastest there); a ufunc's
          `out=` argument writes its result into a view of the weights, without a copy.
        - Your composed version (masked_fill, Softmax, matmul) is the best test of this one.
    """
    raise NotImplementedError("Module 12 (attention): write attention (see its docstring)")


def scaled_dot_product_attention(Q: Tensor, K: Tensor, V: Tensor, mask=None) -> tuple:
    """softmax(Q @ K^T / sqrt(d), masked) @ V for Q (..., Tq, d), K (..., Tk, d), V (..., Tk, dv).

    Returns `(output, weights)`: output (..., Tq, dv) and the attention weights (..., Tq, Tk),
    both Tensors. PyTorch's F.scaled_dot_product_attention returns only the output; the
    weights are returned here so that you (and the tests) can look at them. They are for
    looking at: gradients flow from the output to Q, K and V, not back through the weights.

    mask: None, or a NumPy boolean array that broadcasts to the scores' shape (..., Tq, Tk),
    True = the query may attend to that key (causal_mask(T) for a language model). Masked
    positions get a weight of exactly 0. A query row in which every key is masked has nothing
    to attend to: that is a ValueError here (PyTorch returns NaN for it).

    Leading dimensions (batch, heads, ...) broadcast as in matmul; Tq may differ from Tk
    (queries from one sequence, keys and values from another: cross-attention, or module
    14's single new query against a cache of past keys).

        Q (B, H, Tq, d) @ K^T (B, H, d, Tk) -> scores (B, H, Tq, Tk) / sqrt(d)
        -> mask -> softmax over Tk (each query's row) -> weights @ V (B, H, Tk, dv) -> (B, H, Tq, dv)

    TODO: Check the arguments, then let the `attention` op compute.

    APPROACH:
        1. Q, K, V must be Tensors (TypeError) with at least 2 dimensions. The rules below
           get a ValueError that names ALL THREE shapes (and the mask's, for a mask error):
           Q and K share the last dimension d; K and V share the sequence length Tk (dim -2);
           Tk >= 1; the leading dimensions of Q, K and V broadcast together.
        2. With a mask: _bool_mask it; it must broadcast TO the scores' shape (..., Tq, Tk)
           without making it larger (ValueError naming the mask's and the scores' shapes);
           a query row with no allowed key is a ValueError (say which row). Check the rows on
           the mask as given, not on its broadcast: it is B * H times smaller.
        3. weights: an empty NumPy array of the scores' shape, with the dtype that Q @ K^T
           would have. output = attention(Q, K, V, mask, weights).
        4. Return (output, weights as a Tensor).

    EXAMPLE:
        >>> Q = K = V = Tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> out, w = scaled_dot_product_attention(Q, K, V, mask=causal_mask(2))
        >>> w.data.round(2)                     # row 1: softmax([0, 1] / sqrt(2))
        array([[1.  , 0.  ],
               [0.33, 0.67]], dtype=float32)

    HINTS:
        - Check everything before computing anything: a wrong V should not cost a (Tq, Tk)
          product, and an error must not leave half a result behind.
    """
    raise NotImplementedError("Module 12 (attention): write scaled_dot_product_attention (see its docstring)")


# ---------------------------------------------------------------------- heads


def split_heads(x: Tensor, num_heads: int) -> Tensor:
    """(B, T, C) -> (B, H, T, D) with D = C // H: each head gets its own slice of channels.

    Head h gets channels h*D .. (h+1)*D - 1 of every position, and the head axis moves in
    front of the time axis so that a batched matmul treats (B, H) as batch dimensions:

        (B, T, C) --reshape--> (B, T, H, D) --swap T and H--> (B, H, T, D)

    TODO: Check x and num_heads, then return the (B, H, T, D) Tensor with Tensor ops.

    APPROACH:
        1. x must be a 3-D Tensor (ValueError naming its shape); num_heads an int >= 1
           that divides C (ValueError naming C and num_heads).
        2. Reshape so that the channel axis becomes (H, D): head-major, as the definition
           above says.
        3. Swap the time and head axes.

    EXAMPLE:
        >>> split_heads(Tensor(np.zeros((2, 5, 12))), 3).shape
        (2, 3, 5, 4)

    HINTS:
        - A reshape straight to (B, H, T, D) has the right shape and mixes positions and
          channels: head 0 would get the first T*D numbers of each sequence.
        - Use the Tensor's own reshape and transpose, so that gradients flow back.
    """
    raise NotImplementedError("Module 12 (attention): write split_heads (see its docstring)")


def merge_heads(x: Tensor) -> Tensor:
    """(B, H, T, D) -> (B, T, H*D): the inverse of split_heads.

    TODO: Check x, then undo split_heads with Tensor ops.

    APPROACH:
        1. x must be a 4-D Tensor, else ValueError naming its shape.
        2. Undo the two steps of split_heads in the reverse order: swap the head and time
           axes back, then merge (H, D) into one channel axis of size H*D.

    EXAMPLE:
        >>> x = Tensor(np.arange(24.0).reshape(1, 4, 6))
        >>> np.array_equal(merge_heads(split_heads(x, 2)).data, x.data)
        True

    HINTS:
        - After the swap the array is no longer contiguous in memory; Tensor.reshape still
          works (NumPy copies when it has to).
    """
    raise NotImplementedError("Module 12 (attention): write merge_heads (see its docstring)")


# ---------------------------------------------------------------------- MultiHeadAttention


class MultiHeadAttention(Module):
    """Self-attention with `num_heads` heads of size head_dim = embed_dim // num_heads.

        x (B, T, C) --q_proj--> (B, T, C) --split--> Q (B, H, T, D) --+
                    --k_proj--> (B, T, C) --split--> K (B, H, T, D) --+-- attention --> (B, H, T, D)
                    --v_proj--> (B, T, C) --split--> V (B, H, T, D) --+        |
                                                                           merge heads
                    out (B, T, C) <--out_proj-- (B, T, C) <-----------------------+

    Each head attends in its own D-dimensional subspace: one head may follow syntax, another
    the previous token. H heads of size C/H cost the same FLOPs as one head of size C.

    Parameters: q_proj, k_proj, v_proj, out_proj, each Linear(embed_dim, embed_dim) from
    module 03 (8 Tensors with the biases). PyTorch's nn.MultiheadAttention keeps Q, K and V in
    one packed (3C, C) matrix; four separate layers are the same maths, easier to read.
    """

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True,
                 rng: np.random.Generator | None = None):
        """TODO: Check the sizes, store them, and create the four projections.

        APPROACH:
            1. Initialise the Module base class first (it sets `training`).
            2. embed_dim and num_heads: ints >= 1 (`_count`). embed_dim must be divisible by
               num_heads, else ValueError naming both, e.g. "MultiHeadAttention: embed_dim 10
               is not divisible by num_heads 3".
            3. Store embed_dim, num_heads and head_dim.
            4. q_proj, k_proj, v_proj, out_proj: four Linear(embed_dim, embed_dim) with the
               given bias and rng, assigned in this order (parameters() follows it).
            5. last_weights = None (forward keeps the latest attention weights there).

        EXAMPLE:
            >>> mha = MultiHeadAttention(16, 4)
            >>> mha.head_dim, len(mha.parameters())
            (4, 8)

        HINTS:
            - Passing one rng to all four layers draws different weights for each, and the
              same ones for the same seed.
        """
        raise NotImplementedError("Module 12 (attention): write MultiHeadAttention.__init__ (see its docstring)")

    def forward(self, x: Tensor, mask=None) -> Tensor:
        """Multi-head self-attention of x (B, T, C) -> (B, T, C); mask as in attention.

        TODO: Project, split into heads, attend, merge the heads, project the output.

        APPROACH:
            1. x must be a 3-D Tensor whose last dimension is embed_dim, else ValueError
               naming embed_dim and x's shape.
            2. Q, K, V: each projection of x, split into num_heads heads   # (B, H, T, D)
            3. scaled_dot_product_attention(Q, K, V, mask): a (T, T) mask broadcasts over
               batch and heads.
            4. Keep the weights, without their graph, in self.last_weights (Tensor.detach:
               no copy, and they do not keep the graph alive).
            5. Merge the heads and apply out_proj.                           # (B, T, C)

        EXAMPLE:
            >>> mha = MultiHeadAttention(8, 2)
            >>> mha(Tensor(np.zeros((3, 5, 8))), mask=causal_mask(5)).shape
            (3, 5, 8)
            >>> mha.last_weights.shape
            (3, 2, 5, 5)

        HINTS:
            - Every step is a Tensor op, so module 05 differentiates the whole layer: the
              tests check the gradients of all 8 parameters.
            - Without out_proj the heads would stay in separate channel blocks; the output
              projection mixes them.
        """
        raise NotImplementedError("Module 12 (attention): write MultiHeadAttention.forward (see its docstring)")

    def __repr__(self) -> str:
        return f"MultiHeadAttention(embed_dim={self.embed_dim}, num_heads={self.num_heads})"


# ---------------------------------------------------------------------- systems questions


def attention_memory_bytes(batch: int, heads: int, seq_len: int, dtype=np.float32) -> int:
    """Bytes of one attention score (or weight) matrix of shape (batch, heads, seq_len, seq_len).

    TODO: Return the number of bytes as an int; raise ValueError (`_count`) for a negative size.

    APPROACH: One number per (batch, head, query, key): count the elements, times the bytes
    per element of dtype. Module 01 answered "bytes of a shape" already.

    EXAMPLE:
        >>> attention_memory_bytes(1, 12, 1024)         # one GPT-2 layer, one sequence
        50331648
        >>> attention_memory_bytes(1, 1, 3, np.float64)
        72

    HINTS:
        - 48 MiB for one layer of one sequence, and a backward pass keeps the scores and the
          weights of all 12 layers alive: doubling seq_len multiplies this by 4.
    """
    raise NotImplementedError("Module 12 (attention): write attention_memory_bytes (see its docstring)")


def attention_flops(batch: int, seq_len: int, embed_dim: int) -> int:
    """FLOPs of the two attention matmuls of one self-attention layer (all heads together).

    Counts scores = Q @ K^T and out = weights @ V, each multiply-add as FLOPS_PER_MULTIPLY_ADD
    (module 01's convention, PyTorch's flop counter's too). Not counted: the projections (see
    projection_flops), the scaling, the mask and the softmax (O(T^2) cheap element-wise work).

    TODO: Return the FLOP count as an int; ValueError (`_count`) for a negative size.

    APPROACH: Per head, Q @ K^T is a (T, D) @ (D, T) product: T * T * D multiply-adds;
    weights @ V is (T, T) @ (T, D): the same. Summed over H heads, H * D = C: the number of
    heads cancels out. Then over the batch, both matmuls, and FLOPs per multiply-add.

    EXAMPLE:
        >>> attention_flops(1, 4, 8)                    # 2 matmuls x 4*4*8 multiply-adds x 2
        512

    HINTS:
        - Quadratic in seq_len, linear in embed_dim: the opposite of the projections.
    """
    raise NotImplementedError("Module 12 (attention): write attention_flops (see its docstring)")


def projection_flops(batch: int, seq_len: int, embed_dim: int) -> int:
    """FLOPs of the four (C, C) projections of MultiHeadAttention (matmuls only, no bias adds).

    TODO: Return the FLOP count as an int; ValueError (`_count`) for a negative size.

    APPROACH: Each projection multiplies the B * T rows of x, each of C numbers, by a (C, C)
    matrix: C * C multiply-adds per row. Four projections, FLOPS_PER_MULTIPLY_ADD each.

    EXAMPLE:
        >>> projection_flops(1, 4, 8)                   # 4 x 4 rows x 8*8 multiply-adds x 2
        2048

    HINTS:
        - Compare with attention_flops: the two are equal when seq_len = 2 * embed_dim.
          GPT-2 small (C = 768) spends more on attention's matmuls than on its projections
          only beyond 1536 tokens; a long-context model is dominated by the T^2 term.
    """
    raise NotImplementedError("Module 12 (attention): write projection_flops (see its docstring)")


def scores_exceed_weights_seq_len(batch: int, heads: int, embed_dim: int) -> int:
    """The smallest seq_len at which one layer's scores (batch, heads, T, T) hold more numbers
    than the layer's parameters (MultiHeadAttention with biases: 4 * (C * C + C)).

    TODO: Return that T as an int; ValueError (`_count`) unless every argument is >= 1.

    APPROACH: The parameters P do not depend on T; the scores are batch * heads * T * T.
    Find the smallest T with batch * heads * T^2 > P: a loop from T = 1 works, and so does
    an integer square root (math.isqrt) with care at the boundary (> is strict).

    EXAMPLE:
        >>> scores_exceed_weights_seq_len(1, 12, 768)   # GPT-2 small, one sequence
        444

    HINTS:
        - At 444 tokens one layer's attention matrix of ONE sequence is larger than the
          layer's weights; with a batch of 32 it happens at 79 tokens. Activations, not
          weights, fill the memory of a transformer in training.
    """
    raise NotImplementedError("Module 12 (attention): write scores_exceed_weights_seq_len (see its docstring)")
