"""Module 14: the KV cache, which makes generating text cost one token's work per token.

What you build
    KVCache                  keys and values of every layer for the positions seen so far
    attention_with_cache     multi-head attention of the NEW positions against all cached ones
    enable_kv_cache          switch a GPT's generate() to the cached path
    kv_cache_bytes, attention_flops_per_token
                             what the cache costs in memory and saves in arithmetic

Why it matters
    A GPT generates one token at a time, and token t+1 depends on tokens 0..t. Without a cache,
    each step runs the whole sequence through the model again: step t costs a forward pass over
    t positions, so n tokens cost O(n^2) position-passes, most of them recomputing keys and
    values that have not changed. In causal attention, the keys and values of a position never
    change once it is computed (later tokens cannot influence earlier ones). So keep them:

        step t without a cache              step t with a cache
        x[0..t] --> K, V for all t+1        x[t] --> k_t, v_t   (append to the cache)
        Q for all t+1 positions             q_t only
        (t+1) x (t+1) scores                1 x (t+1) scores against cached K

    Generation becomes one position per step (plus attention over the cache, linear in t),
    exactly the same numbers, at the price of memory for K and V of every layer.

How it plugs into module 13
    Module 13 defines the cache protocol and never imports this module: a TransformerBlock given
    a cache calls `cache.attend(attn, x_new, layer_idx, start_pos)` instead of `attn(x, mask)`,
    and GPT.generate(use_cache=True) uses a cache passed as `cache=` or made by the model's
    `cache_factory`. This module writes the cache (KVCache.attend is the protocol) and
    `enable_kv_cache(model)` sets the factory on one model. The dependency goes one way
    (14 uses 13), nothing is patched, and a model without a factory still generates (uncached).

    The cached attention of new positions start_pos .. start_pos+T_new-1 against all keys so far:

        keys  0 1 2 ... start_pos-1 | start_pos ... start_pos+T_new-1        (cached | new)
        query start_pos + i may see keys 0 .. start_pos + i (causal, as before)

The systems angle
    The cache holds 2 (K and V) x layers x batch x heads x positions x head_dim numbers:
    `kv_cache_bytes`. It is what limits batch size and context length when large models serve
    text. `attention_flops_per_token` counts what one new token costs with and without it.
"""

from __future__ import annotations

import numpy as np

from tinytorch.core.attention import MultiHeadAttention, merge_heads, scaled_dot_product_attention, split_heads
from tinytorch.core.tensor import FLOPS_PER_MULTIPLY_ADD, Tensor, _wrap

KV = 2                       # a key and a value per position, layer and head


def _positive(value, name: str) -> int:
    """`value` as an int >= 1, else a clear error (given)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"KVCache: {name} must be an int; got {value!r}")
    if value < 1:
        raise ValueError(f"KVCache: {name} must be at least 1; got {value}")
    return int(value)


def _array(value, who: str) -> np.ndarray:
    """The array behind a Tensor or an array (given)."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, np.ndarray):
        return value
    raise TypeError(f"{who}: expected a Tensor or an np.ndarray; got {type(value).__name__}")


# ---------------------------------------------------------------------- the cache


class KVCache:
    """Keys and values of `num_layers` layers, for up to `max_seq_len` positions.

    Storage (allocated once, filled as generation goes):
        keys, values   np.ndarray (num_layers, batch_size, num_heads, max_seq_len, head_dim)
        lengths        list: how many positions of each layer are filled
    """

    def __init__(self, batch_size: int, max_seq_len: int, num_layers: int, num_heads: int, head_dim: int,
                 dtype=np.float32):
        """Allocate the storage; every layer starts empty.

        TODO: Check the five sizes, allocate `keys` and `values`, and start every length at 0.

        APPROACH:
            1. Each size must be an int >= 1: use the given `_positive` (it names the size).
            2. Keep the sizes as attributes with the same names (tests and `attend` read them).
            3. Both stores have the shape in the class docstring: one slot per layer, batch
               row, head, position and channel; zeros in `dtype`.
            4. `lengths`: one counter per layer, all 0.

        EXAMPLE:
            >>> cache = KVCache(2, 16, num_layers=4, num_heads=4, head_dim=32)
            >>> cache.keys.shape, cache.lengths
            ((4, 2, 4, 16, 32), [0, 0, 0, 0])

        HINTS:
            - Allocating once is the point: growing arrays with concatenate at every token
              copies the whole cache each step (quadratic again).
        """
        raise NotImplementedError("Module 14 (kv_caching): write KVCache.__init__ (see its docstring)")

    @classmethod
    def for_model(cls, model, batch_size: int, total_len: int) -> "KVCache":
        """A cache sized for `model` (a module 13 GPT) generating `total_len` positions (given)."""
        attn = model.blocks[0].attn
        return cls(batch_size, min(int(total_len), model.max_seq_len), len(model.blocks), attn.num_heads,
                   attn.embed_dim // attn.num_heads)

    def _layer(self, layer_idx) -> int:
        """`layer_idx` checked against the number of layers (given)."""
        if isinstance(layer_idx, bool) or not isinstance(layer_idx, (int, np.integer)):
            raise TypeError(f"KVCache: layer_idx must be an int; got {layer_idx!r}")
        if not 0 <= layer_idx < self.num_layers:
            raise IndexError(f"KVCache: layer_idx {layer_idx} is out of range for {self.num_layers} layers")
        return int(layer_idx)

    def update(self, layer_idx: int, key, value, seq_pos: int) -> None:
        """Write `key` and `value` (B, H, T_new, D) of one layer at positions seq_pos .. seq_pos+T_new-1.

        TODO: Check the layer, the shapes and the positions; store the new keys and values;
        the layer's length becomes seq_pos + T_new.

        APPROACH:
            1. The layer through `self._layer`; key and value through the given `_array`
               (Tensors or arrays).
            2. Both must have the shape (batch_size, num_heads, T_new, head_dim) with the same
               T_new >= 1: a ValueError naming the shape found and the shape expected.
            3. Positions: seq_pos must be where the layer's filled part ends (writing further
               on would leave a hole; writing earlier overwrites what later positions
               attended to). Past max_seq_len: a ValueError naming seq_pos, T_new and
               max_seq_len ("the cache holds 16 positions").
            4. Copy the new rows into the slice of positions, then move the length.

        EXAMPLE:
            >>> cache = KVCache(1, 8, 1, 2, 4)
            >>> cache.update(0, np.ones((1, 2, 3, 4)), np.ones((1, 2, 3, 4)), seq_pos=0)
            >>> cache.lengths
            [3]

        HINTS:
            - Prefilling a prompt of T0 tokens is one update with T_new = T0; each generated
              token is then an update with T_new = 1.
        """
        raise NotImplementedError("Module 14 (kv_caching): write KVCache.update (see its docstring)")

    def get(self, layer_idx: int) -> tuple[np.ndarray, np.ndarray]:
        """(keys, values) of one layer for the positions filled so far, each (B, H, length, D).

        TODO: Return the filled part of the layer's keys and values.

        APPROACH: slice the position axis up to the layer's length. Return views, not copies:
        attention only reads them.

        EXAMPLE:
            >>> cache = KVCache(1, 8, 1, 2, 4)
            >>> cache.update(0, np.ones((1, 2, 3, 4)), np.zeros((1, 2, 3, 4)), seq_pos=0)
            >>> [a.shape for a in cache.get(0)]
            [(1, 2, 3, 4), (1, 2, 3, 4)]

        HINTS:
            - A layer nothing was written to gives arrays with 0 positions, not an error.
        """
        raise NotImplementedError("Module 14 (kv_caching): write KVCache.get (see its docstring)")

    def reset(self) -> None:
        """Forget every position (a new prompt); the storage is kept for reuse.

        TODO: Make every layer empty again.

        APPROACH: only the lengths need to change: positions past a length are never read.

        EXAMPLE:
            >>> cache = KVCache(1, 8, 2, 2, 4)
            >>> cache.lengths = [5, 5]; cache.reset(); cache.lengths
            [0, 0]

        HINTS:
            - Clearing the arrays too would be correct but costs a write of the whole cache.
        """
        raise NotImplementedError("Module 14 (kv_caching): write KVCache.reset (see its docstring)")

    def attend(self, attn: MultiHeadAttention, x_new: Tensor, layer_idx: int, start_pos: int) -> Tensor:
        """Module 13's cache protocol: a TransformerBlock with a cache calls this (given)."""
        return attention_with_cache(attn, x_new, self, layer_idx, start_pos)

    @property
    def nbytes(self) -> int:
        """Bytes of the allocated keys and values (given)."""
        return int(self.keys.nbytes + self.values.nbytes)


# ---------------------------------------------------------------------- cached attention


def cached_causal_mask(start_pos: int, new_len: int) -> np.ndarray:
    """(new_len, start_pos + new_len) boolean mask: query start_pos+i may see keys 0..start_pos+i.

    TODO: Build the causal mask of the new rows against every key so far.

    APPROACH: row i is the query at absolute position start_pos + i; key j is allowed when
    j <= start_pos + i. With start_pos = 0 it is module 12's causal_mask; with one new token
    it is a single row of True (the newest token sees everything before it).

    EXAMPLE:
        >>> cached_causal_mask(2, 2).astype(int)
        array([[1, 1, 1, 0],
               [1, 1, 1, 1]])

    HINTS:
        - Compare a column of query positions with a row of key positions: broadcasting
          gives the whole mask in one comparison.
    """
    raise NotImplementedError("Module 14 (kv_caching): write cached_causal_mask (see its docstring)")


def attention_with_cache(attn: MultiHeadAttention, x: Tensor, cache: KVCache, layer_idx: int,
                         seq_pos: int) -> Tensor:
    """Multi-head attention of the new positions x (B, T_new, C), starting at seq_pos, over the cache.

    Equal to the last T_new rows of `attn(full_sequence, causal_mask)`, for the cost of T_new
    rows: the keys and values of earlier positions come from the cache.

    TODO: Project x with attn's four projections as MultiHeadAttention.forward does, but take
    the keys and values of all positions so far from the cache.

    APPROACH:
        1. Queries, keys and values of the NEW positions only: attn's q/k/v projections of x,
           each split into attn.num_heads heads (module 12's split_heads).   # (B, H, T_new, D)
        2. Store the new keys and values in the cache (update, at seq_pos).
        3. Read the layer's keys and values back: every position 0 .. seq_pos+T_new-1.
        4. Attention of the new queries over them with `cached_causal_mask`, through module
           12's scaled_dot_product_attention; merge the heads; attn's output projection.
                                                                             # (B, T_new, C)
    EXAMPLE:
        >>> mha = MultiHeadAttention(8, 2); cache = KVCache(1, 6, 1, 2, 4)
        >>> x = Tensor(np.random.default_rng(0).normal(size=(1, 5, 8)))
        >>> prefix = attention_with_cache(mha, x[:, :4], cache, 0, 0)
        >>> last = attention_with_cache(mha, x[:, 4:], cache, 0, 4)
        >>> np.allclose(last.data, mha(x, causal_mask(5)).data[:, 4:], atol=1e-5)
        True

    HINTS:
        - Generation runs under no_grad: the cached arrays need no graph. Wrap them without a
          copy (module 01's given `_wrap`): copying the whole cache per token would undo the
          saving.
    """
    raise NotImplementedError("Module 14 (kv_caching): write attention_with_cache (see its docstring)")


def enable_kv_cache(model):
    """Make `model.generate(..., use_cache=True)` use a KVCache sized for each call (given).

    Sets the model's `cache_factory` (module 13 reads it); returns the model for chaining.
    """
    model.cache_factory = KVCache.for_model
    return model


# ---------------------------------------------------------------------- systems questions


def kv_cache_bytes(batch_size: int, num_layers: int, num_heads: int, head_dim: int, seq_len: int,
                   dtype=np.float32) -> int:
    """Bytes of the keys and values a cache holds for `seq_len` positions.

    TODO: Count the numbers stored and multiply by the size of one.

    APPROACH: a key and a value (KV) per layer, batch row, head, position and channel.

    EXAMPLE:
        >>> kv_cache_bytes(1, 4, 4, 32, 128)          # milestone 4's TinyGPT, one sequence
        524288

    HINTS:
        - np.dtype(dtype).itemsize is the size of one number.
    """
    raise NotImplementedError("Module 14 (kv_caching): write kv_cache_bytes (see its docstring)")


def attention_flops_per_token(position: int, embed_dim: int, num_layers: int, cached: bool) -> int:
    """Matmul FLOPs of the attention layers to produce the token at `position` (0-based).

    Without a cache the model re-runs all position+1 positions; with one, only the newest.
    Count, per layer, the four C x C projections of the rows computed and the two attention
    matmuls (scores and weights @ V) of those rows against position+1 keys; a matmul of an
    (m, k) by a (k, n) matrix costs FLOPS_PER_MULTIPLY_ADD * m * k * n.

    TODO: Return the count for one token.

    APPROACH:
        1. Rows computed: all position+1 without a cache, 1 with one.
        2. Per layer: projections 4 * rows * C * C multiply-adds; attention 2 * rows *
           (position+1) * C (every head together covers C channels).
        3. Times layers, times FLOPS_PER_MULTIPLY_ADD.

    EXAMPLE:
        >>> attention_flops_per_token(127, 128, 4, cached=False) // attention_flops_per_token(127, 128, 4, cached=True)
        128

    HINTS:
        - The ratio is the number of positions: the cache turns the cost of one token from
          quadratic in the context into linear.
    """
    raise NotImplementedError("Module 14 (kv_caching): write attention_flops_per_token (see its docstring)")
