"""Module 11: embeddings, how a model turns token ids into vectors and knows their order.

What you build
    _token_ids          check and convert token ids (a Tensor, an array or a list) to integers
    embedding           look up rows of a table for token ids of any shape, and its backward rule
    Embedding           a learned table (vocab_size, embed_dim): one vector per token
    PositionalEncoding  a learned table (max_seq_len, embed_dim): one vector per position, added
    create_sinusoidal_embeddings   the fixed sine/cosine positions of "Attention is all you need"

Why it matters
    A tokenizer (module 10) turns text into integers, and integers are names, not quantities:
    token 42 is not "twice" token 21. An embedding gives every token its own learned vector, and
    training moves tokens that behave alike close together. The lookup is indexing, not a
    matmul: multiplying a one-hot vector (V,) by the table (V, D) selects one row, and doing it as
    a product would cost V * D multiply-adds per token to read D numbers.

        token ids (B, T)            table weight (V, D)               output (B, T, D)
        [[ 5, 0, 5 ],         row 0 [ .  .  .  . ]            [[ row 5, row 0, row 5 ],
         [ 2, 7, 1 ]]   --->  row 1 [ .  .  .  . ]    --->     [ row 2, row 7, row 1 ]]
                              ...
                              row 7 [ .  .  .  . ]

    The backward pass is the other half of the lesson. Only the rows that were looked up get a
    gradient, and a row looked up twice (token 5 above) gets the SUM of both gradients.

    Attention (module 12) treats its inputs as a set: shuffle the tokens and each output moves
    with its token, unchanged. A transformer learns word order only because a position vector is
    added to every token vector. GPT-2 and nanoGPT learn those vectors (PositionalEncoding);
    the original transformer used fixed sines and cosines (create_sinusoidal_embeddings).

Who uses it later
    13 transformers   GPT: logits = blocks(Embedding(ids) + PositionalEncoding) -> Linear
    14 kv_caching     the positions of newly generated tokens continue after the cached ones
    milestone 4       a character-level GPT on Tiny Shakespeare (V = 65)

Backward rules
    `embedding` is a function decorated with `graph_op`, with its `EmbeddingBackward` class
    right above it, as in module 09. PositionalEncoding and Embedding call it (or Tensor ops),
    so autograd does the rest.

The systems angle
    `embedding_table_bytes`: the table is often the largest single tensor of a language model
    (GPT-2's is 147 MiB in float32). `embedding_grad_density`: the fraction of its rows that a
    batch touches, i.e. how much of a dense (V, D) gradient is zeros. `embedding_param_share`:
    the share of a GPT's parameters that sit in the two tables.
"""

from __future__ import annotations

import numpy as np

from tinytorch.core.layers import PARAM_DTYPE, Module
from tinytorch.core.tensor import Function, Tensor, _wrap, graph_op

EMBED_INIT_STD = 1.0            # Embedding: weight ~ N(0, 1), as PyTorch's nn.Embedding
POS_INIT_STD = 0.02             # PositionalEncoding: weight ~ N(0, 0.02^2), as GPT-2 and nanoGPT
SINUSOID_BASE = 10000.0         # wavelengths from 2*pi to 10000 * 2*pi ("Attention is all you need")
BLOCK_WEIGHTS_PER_DIM_SQUARED = 12   # a GPT block: attention 4 D^2 (Q, K, V, output) + MLP 8 D^2 (D -> 4D -> D)


# ---------------------------------------------------------------------- given helpers


def _check_size(value, name: str, who: str) -> int:
    """`value` as an int if it is a positive int (not a bool), else a ValueError naming it (given)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{who}: {name} must be a positive int, got {value!r}")
    return int(value)


# ---------------------------------------------------------------------- token ids


def _token_ids(indices, vocab_size: int) -> np.ndarray:
    """Token ids given as a Tensor, an np.ndarray, a list or a number, as an np.intp array.

    The shape is kept: a scalar gives a 0-d array, (B, T) ids give a (B, T) array. Tensors hold
    floats (float32 by default), so a Tensor of ids holds whole-number floats like 5.0: they are
    accepted and converted. PyTorch's nn.Embedding accepts only integer tensors; here a float
    Tensor is the normal case.

    TODO: Return the ids as an integer array of the same shape, after checking that they are
    whole numbers in [0, vocab_size).

    APPROACH:
        1. Take the array of values: a Tensor's .data, anything else through np.asarray.
        2. Check the kind of the dtype (`.dtype.kind`): integers ("i", "u") are fine; floats
           ("f") must all be whole numbers, else ValueError naming a bad value, e.g.
           "Embedding: token ids must be whole numbers; got 2.5". Anything else (bools,
           strings, objects) is a TypeError naming the dtype: a bool array would be a mask.
        3. Every id must satisfy 0 <= id < vocab_size, else IndexError naming the first bad id
           and the vocabulary, e.g. "Embedding: index 70 is out of range for a vocabulary of 65
           (valid: 0..64)". Check the range BEFORE converting floats to integers (a huge float
           has no integer value).
        4. Return the values converted to np.intp (NumPy's index type).

    EXAMPLE:
        >>> _token_ids(Tensor([[1, 2], [3, 0]]), 10)
        array([[1, 2],
               [3, 0]])
        >>> _token_ids(np.int64(4), 10).shape
        ()
        >>> _token_ids([70], 65)
        Traceback (most recent call last):
        IndexError: Embedding: index 70 is out of range for a vocabulary of 65 (valid: 0..64)

    HINTS:
        - Negative ids must be refused, although NumPy would accept them: table[-1] silently
          reads the LAST row, so a bug upstream would train the wrong token without a word.
        - nan is not a whole number and compares unequal to everything, itself included: a
          check that asks "is the value equal to its rounding?" refuses it (inf then fails
          the range check).
        - np.argmax of a boolean mask finds its first True (use it with np.unravel_index, or
          index the values with the mask and take element 0).
    """
    raise NotImplementedError("Module 11 (embeddings): write _token_ids (see its docstring)")


# ---------------------------------------------------------------------- the lookup and its gradient


class EmbeddingBackward(Function):
    """out = weight[ids]  ->  dweight = zeros, plus each out gradient added into the row it read."""

    def backward(self, grad):
        """TODO: Return (dL/dweight,) for out = embedding(weight, indices).

        APPROACH:
            1. The table (V, D) is the only entry of self.saved_tensors; the ids come again
               from self.params["indices"] through _token_ids (the forward checked them).
            2. grad has shape ids.shape + (D,): one gradient vector per looked-up position.
            3. dweight starts as zeros of weight's shape and dtype: rows that were not looked
               up did not influence the loss, so their gradient is exactly 0.
            4. Add each position's gradient vector into the row of its id, ACCUMULATING when
               an id appears several times. NumPy's unbuffered np.add.at does exactly this;
               plain fancy-index assignment (or `+=` through fancy indexing) does not.

                ids  [5, 0, 5]      grad [g0, g1, g2]   ->   dweight row 0 = g1
                                                              dweight row 5 = g0 + g2
                                                              every other row = 0

        EXAMPLE: weight (4, 2), ids [1, 1, 3], grad of ones (3, 2)
                 -> dweight [[0, 0], [2, 2], [0, 0], [1, 1]].

        HINTS:
            - `dw[ids] += grad` looks right and is wrong: NumPy evaluates dw[ids] + grad once
              and then stores row 5 twice, so the last write wins and one gradient is lost.
            - The result is a dense (V, D) array that is mostly zeros for a large vocabulary
              (see embedding_grad_density). PyTorch's nn.Embedding(sparse=True) returns only
              the touched rows instead.
        """
        raise NotImplementedError("Module 11 (embeddings): write EmbeddingBackward.backward (see its docstring)")


@graph_op(EmbeddingBackward, inputs=("weight",))
def embedding(weight: Tensor, indices) -> Tensor:
    """Rows of `weight` (V, D) for the token ids `indices` of any shape (...,): (..., D).

        out[..., :] = weight[indices[...], :]

    Gradients flow to `weight` only (ids are not differentiable). `indices` may be a Tensor
    (whole-number floats), an integer np.ndarray, a list or a single int.

    TODO: Check weight, convert and check the ids, return the looked-up rows as a Tensor with
    weight's dtype.

    APPROACH:
        1. weight must be a 2-D Tensor (V, D): TypeError if it is not a Tensor, ValueError
           naming its shape if it is not 2-D.
        2. ids = _token_ids(indices, V): integers of the ids' shape, range-checked.
        3. Index the table's rows with the integer array: NumPy's integer-array indexing on
           the first axis gives shape ids.shape + (D,) in one vectorised step, no loop.
        4. Return it as a Tensor. The indexing result is already a fresh array that nobody
           else holds, so module 01's `_wrap` saves the constructor's second copy.

    EXAMPLE:
        >>> w = Tensor(np.arange(8.0).reshape(4, 2))
        >>> embedding(w, [3, 0]).data
        array([[6., 7.],
               [0., 1.]])
        >>> embedding(w, np.zeros((2, 5), dtype=np.int64)).shape, embedding(w, 2).shape
        ((2, 5, 2), (2,))

    HINTS:
        - The graph node keeps `indices` in self.params["indices"] (graph_op records every
          argument that is not an input): the backward rule reads the ids from there.
        - Equivalent to one_hot(ids) @ weight, at none of its cost: that product reads every
          row of the table for every token.
    """
    raise NotImplementedError("Module 11 (embeddings): write embedding (see its docstring)")


class Embedding(Module):
    """A learned lookup table: one vector of embed_dim numbers for each of vocab_size tokens.

        weight (vocab_size, embed_dim)   N(0, 1), requires_grad=True (PyTorch's default init)
        forward(ids (...)) -> (..., embed_dim)

    Differences from PyTorch's nn.Embedding: ids may be a float Tensor holding whole numbers
    (Tensors here are float32 by default; PyTorch wants an integer tensor); there is no
    padding_idx, max_norm or sparse option; the initialisation draws from an `rng` argument
    (np.random.Generator) as module 03's Linear does, so a seed fixes the table.
    """

    def __init__(self, vocab_size: int, embed_dim: int, rng: np.random.Generator | None = None):
        """Check the sizes and create the table.

        TODO: Set self.vocab_size, self.embed_dim and self.weight.

        APPROACH:
            1. Call the base class's constructor first (Module sets the training flag).
            2. vocab_size and embed_dim through the given _check_size (positive ints, not bools).
            3. A default generator when rng is None, as Linear does.
            4. weight: a (vocab_size, embed_dim) draw from the normal distribution with mean 0
               and standard deviation EMBED_INIT_STD, converted to PARAM_DTYPE, as a Tensor
               with requires_grad=True.

        EXAMPLE:
            >>> emb = Embedding(65, 32, rng=np.random.default_rng(0))
            >>> emb.weight.shape, emb.weight.dtype, len(emb.parameters())
            ((65, 32), dtype('float32'), 1)

        HINTS:
            - Why N(0, 1) and not Xavier: a lookup has no fan-in to scale for; each output is a
              single row, so the rows themselves set the scale of what follows. (GPT-2 uses
              std 0.02 and a LayerNorm before every use; the default here follows PyTorch.)
        """
        raise NotImplementedError("Module 11 (embeddings): write Embedding.__init__ (see its docstring)")

    def forward(self, indices) -> Tensor:
        """The vectors of the token ids `indices` (...,): (..., embed_dim).

        TODO: Look the ids up in this layer's table with `embedding`.

        APPROACH: One call: the function checks and converts the ids, and records the graph
        node that sends gradients back into self.weight.

        EXAMPLE:
            >>> Embedding(65, 32)(np.zeros((4, 16), dtype=np.int64)).shape
            (4, 16, 32)

        HINTS:
            - Passing self.weight (the Tensor), not its .data: the array has no graph.
        """
        raise NotImplementedError("Module 11 (embeddings): write Embedding.forward (see its docstring)")

    def __repr__(self) -> str:
        return f"Embedding({self.vocab_size}, {self.embed_dim})"


# ---------------------------------------------------------------------- positions


class PositionalEncoding(Module):
    """Learned positional embeddings (GPT-2, nanoGPT): a vector per position, added to x.

        weight (max_seq_len, embed_dim)   N(0, 0.02^2), requires_grad=True (GPT-2's init)
        forward(x (B, T, embed_dim)) = x + weight[:T]       (the same T rows for every sequence)

                x (B, T, D)                    weight[:T] (T, D)
            [ tok0 tok1 ... tokT-1 ]    +    [ pos0 pos1 ... posT-1 ]    broadcast over B

    Position t's row only ever meets tokens at position t, so a sequence longer than
    max_seq_len has no vector for its last positions: a clear error, not a silent wrap-around.
    PyTorch has no such layer; this is what nanoGPT writes as wpe(arange(T)) added to wte(ids).
    """

    def __init__(self, max_seq_len: int, embed_dim: int, rng: np.random.Generator | None = None):
        """Check the sizes and create the table of position vectors.

        TODO: Set self.max_seq_len, self.embed_dim and self.weight.

        APPROACH: As Embedding.__init__, with shape (max_seq_len, embed_dim) and standard
        deviation POS_INIT_STD.

        EXAMPLE:
            >>> pe = PositionalEncoding(256, 64, rng=np.random.default_rng(0))
            >>> pe.weight.shape, round(float(pe.weight.data.std()), 2)
            ((256, 64), 0.02)

        HINTS:
            - Small on purpose: at the start, the position vectors nudge the token vectors
              (std 1) rather than drown them; training makes them as large as they need to be.
        """
        raise NotImplementedError("Module 11 (embeddings): write PositionalEncoding.__init__ (see its docstring)")

    def forward(self, x: Tensor) -> Tensor:
        """x (B, T, embed_dim) or (T, embed_dim) plus the vectors of positions 0 .. T-1.

        TODO: Check x, then add the first T rows of the table to every sequence, with Tensor
        ops so that gradients reach x and the used rows of self.weight.

        APPROACH:
            1. x must be a Tensor with at least 2 dimensions whose last one is embed_dim, else
               ValueError naming its shape and embed_dim, e.g. "PositionalEncoding(embed_dim=4)
               expects a Tensor of shape (B, T, 4) or (T, 4); got (2, 3, 5)".
            2. T = the second-to-last dimension. If T > max_seq_len, ValueError naming both,
               e.g. "PositionalEncoding: cannot add positions to a sequence of length 300,
               max_seq_len is 256".
            3. The position vectors (T, D): the rows 0 .. T-1 of the table, taken with a Tensor
               op that has a backward rule (your own `embedding` with the positions as ids is
               exactly nanoGPT's wpe(arange(T)); a Tensor slice works too).
            4. Add them to x: (B, T, D) + (T, D) broadcasts over the batch, and module 05's
               AddBackward sums the gradient over the batch for you.

        EXAMPLE:
            >>> pe = PositionalEncoding(8, 4)
            >>> out = pe(Tensor(np.zeros((2, 5, 4))))
            >>> out.shape, bool(np.all(out.data[1] == pe.weight.data[:5]))
            ((2, 5, 4), True)

        HINTS:
            - Rows T .. max_seq_len-1 were not used: their gradient must stay exactly 0.
            - A slice of .data wrapped in a new Tensor would cut the graph: the table would
              never learn.
        """
        raise NotImplementedError("Module 11 (embeddings): write PositionalEncoding.forward (see its docstring)")

    def __repr__(self) -> str:
        return f"PositionalEncoding({self.max_seq_len}, {self.embed_dim})"


def create_sinusoidal_embeddings(max_seq_len: int, embed_dim: int) -> Tensor:
    """The fixed position vectors of "Attention is all you need" (Vaswani et al., 2017).

        PE[pos, 2i]     = sin(pos / 10000^(2i / d))
        PE[pos, 2i + 1] = cos(pos / 10000^(2i / d))          d = embed_dim, pos = 0 .. max_seq_len-1

    Column pair (2i, 2i+1) is a sine and a cosine of one frequency; the frequencies fall
    geometrically from 1 (columns 0, 1: period 2*pi positions) to about 1/10000. Like the hands
    of a clock, fast columns tell neighbouring positions apart and slow ones tell far ones
    apart; and PE[pos + k] is a fixed rotation of PE[pos] for every pos, which makes relative
    offsets easy for attention to read.

    An odd embed_dim uses the same formula with d = embed_dim: the last column (an even index)
    is a sine whose cosine partner would fall outside the table, so it is left out.

    TODO: Return a Tensor (max_seq_len, embed_dim) of PARAM_DTYPE without requires_grad.

    APPROACH:
        1. Both sizes through the given _check_size.
        2. Compute in float64: the positions as a column (L, 1) and the even column indices
           0, 2, 4, ... < d as a row; their angle table (L, ceil(d / 2)) divides each position
           by SINUSOID_BASE to the power (even index / d).
        3. The sines of the angles fill the even columns; the cosines fill the odd columns
           (only as many as there are: d // 2 of them).
        4. Convert to PARAM_DTYPE and return it as a Tensor.

            d = 4:  pos 0   [ sin 0   cos 0   sin 0      cos 0     ]  = [0, 1, 0, 1]
                    pos 1   [ sin 1   cos 1   sin .01    cos .01   ]     (10000^(2/4) = 100)

    EXAMPLE:
        >>> create_sinusoidal_embeddings(2, 4).data.round(4)
        array([[0.    , 1.    , 0.    , 1.    ],
               [0.8415, 0.5403, 0.01  , 1.    ]], dtype=float32)

    HINTS:
        - The exponent is (2i) / d, where 2i is the even COLUMN index: columns 2i and 2i + 1
          share a frequency. Using i / d instead stretches every wavelength.
        - Slicing with a step (start 0 or 1, step 2) names the even and odd columns at once.
        - Nothing is learned: some models freeze this table in place of PositionalEncoding's
          weight, and it works for any length without training.
    """
    raise NotImplementedError("Module 11 (embeddings): write create_sinusoidal_embeddings (see its docstring)")


# ---------------------------------------------------------------------- systems questions


def embedding_table_bytes(vocab_size: int, embed_dim: int, dtype=np.float32) -> int:
    """Bytes of an embedding table (vocab_size, embed_dim) of `dtype`.

    TODO: Return the number of entries times the bytes per entry, as an int.

    APPROACH: vocab_size * embed_dim entries; bytes per entry from np.dtype(dtype).itemsize.

    EXAMPLE:
        >>> embedding_table_bytes(50257, 768)          # GPT-2's token table: 147 MiB
        154389504
        >>> embedding_table_bytes(65, 384)             # milestone 4's character table
        99840

    HINTS:
        - Training with Adam (module 06) keeps the gradient and two moment tables of the same
          size: four tables in all. A 256k-token vocabulary at D = 4096 is 4 GiB per copy.
    """
    raise NotImplementedError("Module 11 (embeddings): write embedding_table_bytes (see its docstring)")


def embedding_grad_density(indices, vocab_size: int) -> float:
    """Fraction of the table's rows that receive a gradient from a batch of token ids.

    The backward rule returns a dense (vocab_size, embed_dim) gradient, but only the rows of
    ids that occur in the batch can be non-zero. This ratio is the useful part of that array.

    TODO: Return (number of distinct ids in `indices`) / vocab_size as a float.

    APPROACH:
        1. Check and convert the ids with _token_ids (any shape; repeats count once).
        2. Count the distinct values; divide by vocab_size.

    EXAMPLE:
        >>> embedding_grad_density([[5, 0, 5], [2, 7, 1]], 10)        # 5 distinct rows of 10
        0.5
        >>> round(embedding_grad_density(np.arange(1024), 50257), 4)  # 1024 tokens, GPT-2 vocabulary
        0.0204

    HINTS:
        - With a character vocabulary (V = 65) one batch touches nearly every row; with a
          50k-token vocabulary, 98% of a dense gradient (and of the work of an optimizer step
          over it) is zeros. That is what PyTorch's sparse=True gradients and sparse optimizers
          are for.
    """
    raise NotImplementedError("Module 11 (embeddings): write embedding_grad_density (see its docstring)")


def embedding_param_share(vocab_size: int, embed_dim: int, max_seq_len: int, num_layers: int) -> float:
    """Share of a GPT's parameters held by its token and position tables.

    Count, with D = embed_dim:
        embeddings   (vocab_size + max_seq_len) * D          token table + position table
        blocks       num_layers * BLOCK_WEIGHTS_PER_DIM_SQUARED * D^2
                     (attention: the Q, K, V and output projections, 4 D^2; the MLP D -> 4D -> D,
                     8 D^2; biases and LayerNorms are left out: under 1% for D >= 128)
    The output layer is tied to the token table (GPT-2's weight tying): it adds nothing.

    TODO: Return embeddings / (embeddings + blocks) as a float.

    EXAMPLE:
        >>> round(embedding_param_share(50257, 768, 1024, 12), 3)     # GPT-2 small
        0.317
        >>> round(embedding_param_share(65, 384, 256, 6), 4)         # character-level GPT
        0.0115

    HINTS:
        - The blocks grow with D^2 and the tables with D: the larger the model, the smaller the
          tables' share (GPT-3 175B: under 0.5%), and the larger the vocabulary, the larger.
    """
    raise NotImplementedError("Module 11 (embeddings): write embedding_param_share (see its docstring)")
