"""Module 13: transformers, a whole GPT from the pieces of modules 02-12.

What you build
    layer_norm + LayerNorm   normalise each vector over its last axis; one fused op, its backward
    MLP                      Linear(C, 4C) -> GELU -> Linear(4C, C), as a Sequential
    TransformerBlock         pre-norm: x + attn(ln1(x)), then x + mlp(ln2(x))
    next_token_probs         logits of the last position -> probabilities (temperature, top-k)
    sample_next_token        draw one token per sequence from those probabilities
    GPT                      token + position embeddings, N blocks, final LayerNorm, output head;
                             forward(ids) -> logits, generate(prompt, ...) -> tokens

Why it matters
    This is the architecture of GPT-2 (and, with small changes, of every large language model
    since). It is short because the hard parts are done: Embedding (11), MultiHeadAttention
    and the causal mask (12), Linear and Sequential (03), GELU (02), autograd (05). What is
    new is how they are wired:

        ids (B, T)
          |  token_embedding (V, C)  +  position_embedding (max_seq_len, C) at start_pos + 0..T-1
          v
        x (B, T, C) --+--> ln1 --> attn (causal) --+--> (+) --+--> ln2 --> mlp --+--> (+) --> ...
                      |                            |          |                  |
                      +------------ residual ------+          +---- residual ----+
          ... num_layers blocks ...
          v
        ln_f --> head Linear(C, V) --> logits (B, T, V): a score for every next token

    Residual connections: each block ADDS its result to x instead of replacing it, so the
    gradient has a path straight from the loss to the embeddings, however deep the stack.
    Pre-norm (GPT-2, nanoGPT): LayerNorm is applied to the INPUT of attention and MLP, and the
    residual stream itself is never normalised until ln_f. The original transformer normalised
    after the addition (post-norm), which trains badly without learning-rate warm-up.

    LayerNorm normalises each token's C numbers to mean 0 and variance 1 (then scales by
    `weight`, shifts by `bias`). Unlike BatchNorm (module 09) it uses no batch statistics: the
    same in training and inference, and fine for a batch of one sequence.

Who uses it later
    14 kv_caching     a KV cache object that the blocks call through "the cache protocol" below;
                      `enable_kv_cache(model)` sets `model.cache_factory`
    15 profiling      counts this GPT's parameters and FLOPs (checked against gpt_param_count)
    17 quantization   walks the Linear layers (attn's four projections, MLP's Sequential, head)
    18 compression    structured pruning of the MLP's hidden neurons (a Sequential of 3 layers)
    milestone 4       trains GPT(65, 128, 4 layers, 4 heads, 128) on Tiny Shakespeare with AdamW

The cache protocol (module 14 implements it; this module never imports module 14)
    A cache is any object with two methods:
        attend(attn, x_new, layer_idx, start_pos) -> Tensor (B, T_new, C)
            attention of the T_new new positions (absolute positions start_pos .. start_pos +
            T_new - 1) of layer `layer_idx`, whose MultiHeadAttention is `attn` and whose
            normalised input is x_new (B, T_new, C), over every position seen so far: the
            cache projects K and V of the new positions, stores them, and lets each new
            query attend to all stored keys up to its own position (the causal mask is ITS job).
        reset()
            forget everything (a new generation starts at position 0).
    TransformerBlock.forward(x, cache=cache, layer_idx=i, start_pos=p) calls
    cache.attend(self.attn, self.ln1(x), i, p) instead of self.attn(self.ln1(x), mask).
    GPT.forward passes its cache and start_pos to every block; GPT.generate resets the cache,
    feeds the prompt once (start_pos 0), then one token at a time (start_pos = its position).

Backward rules
    LayerNorm is the one new op. Composed from Tensor ops it would need a square root, which
    the Tensor does not have, and about 8 graph nodes (mean, sub, mul, mean, add, sqrt, div,
    mul, add) each holding a (B, T, C) array. `layer_norm` is ONE graph_op with its
    `LayerNormBackward` right above it, as in module 09: one node, one saved input, a
    backward that recomputes the statistics. Everything else is composed from ops that have
    rules already.

The systems angle
    `gpt_param_count`: where the parameters of a GPT sit (12 C^2 per block, V*C per table),
    checked against the real model. `gpt_flops_per_token`: the forward matmul FLOPs per token,
    about 2 x parameters plus the attention term that grows with the context.
    Milestone 4 trains this model on 2 CPU cores: every copy of a (B, T, C) array in a forward
    and backward pass costs time, which is why LayerNorm is fused and results are wrapped
    without a second copy (module 01's `_wrap`).
"""

from __future__ import annotations

import math

import numpy as np

from tinytorch.core.activations import GELU
from tinytorch.core.attention import MultiHeadAttention, _count, causal_mask
from tinytorch.core.autograd import no_grad
from tinytorch.core.layers import PARAM_DTYPE, Module, Linear, Sequential
from tinytorch.core.tensor import FLOPS_PER_MULTIPLY_ADD, Function, Tensor, _wrap, graph_op
from tinytorch.text.embeddings import Embedding, _token_ids

LN_EPS = 1e-5                   # LayerNorm: added to the variance before the square root (PyTorch's default)
MLP_RATIO = 4                   # hidden width of the MLP = MLP_RATIO * embed_dim (GPT-2)
INIT_STD = 0.02                 # GPT-2 / nanoGPT: Linear and Embedding weights ~ N(0, 0.02^2)
RESIDUAL_PATHS_PER_BLOCK = 2    # attention and MLP each add into the residual stream once per block
PROJECTIONS = 4                 # q_proj, k_proj, v_proj, out_proj of MultiHeadAttention
ATTENTION_MATMULS = 2           # scores = Q @ K^T and out = weights @ V
LAYER_NORM_PARAMS_PER_DIM = 2   # weight and bias


# ---------------------------------------------------------------------- given helpers


def _positive_number(value, name: str, who: str) -> float:
    """`value` as a float if it is a finite real number > 0 (not a bool), else a ValueError (given)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{who}: {name} must be a finite number > 0; got {value!r}")
    return float(value)


# ---------------------------------------------------------------------- LayerNorm


class LayerNormBackward(Function):
    """out = weight * xhat + bias, xhat = (x - mean) / sqrt(var + eps) over the last axis."""

    def backward(self, grad):
        """TODO: Return (dL/dx, dL/dweight, dL/dbias) for out = layer_norm(x, weight, bias, eps).

        APPROACH: Per vector of the last axis (D numbers), as BatchNorm per channel in module 09:
            1. The inputs' arrays are self.saved_tensors (x, weight, bias); eps is in
               self.params. Recompute what the forward computed: the mean and the biased
               variance over the last axis (keep that axis, size 1), inv_std = 1 / sqrt(var +
               eps), and xhat = (x - mean) * inv_std. Recomputing costs two passes over x;
               the node keeps only x alive, not xhat.
            2. dbias = grad summed over every axis but the last          (D,)
               dweight = (grad * xhat) summed the same way                (D,)
            3. With g = grad * weight (the gradient reaching xhat), the compact formula
                   dx = inv_std * (g - mean(g) - xhat * mean(g * xhat))
               with both means over the last axis (kept, so they broadcast back over D).
               The first term is the direct path; mean(g) is the path through the mean
               (shifting a vector changes nothing after normalisation); the last term is the
               path through the variance (scaling it changes nothing either).

                grad (..., D) --*weight--> g --(formula)--> dx (..., D)
                grad (..., D) --sum over ...--> dbias (D,);  (grad * xhat) summed --> dweight (D,)

        EXAMPLE: weight = 1 and grad the same number everywhere -> dx = 0 (whatever x is, the
        D outputs of a vector sum to the same value, so that loss cannot change with x), and
        dbias = that number times the count of vectors.

        HINTS:
            - Compute each gradient only when self.needs_input_grad says it is wanted (None
              otherwise): a LayerNorm of a constant input needs no dx, a frozen one no
              dweight or dbias.
            - The summed axes are all axes but the last: for x of shape (D,) there are none.
            - Return the weight and bias gradients in their parameters' dtype.
            - Check: dx sums to 0 over the last axis of every vector.
        """
        # BEGIN SOLUTION
        x, weight, bias = self.saved_tensors
        eps = self.params["eps"]
        lead = tuple(range(x.ndim - 1))                                 # every axis but the last
        mean = x.mean(axis=-1, keepdims=True)                           # (..., 1)
        centred = x - mean                                              # (..., D)
        inv_std = 1.0 / np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + eps)   # (..., 1)
        xhat = centred * inv_std                                        # (..., D)
        dx = dweight = dbias = None
        if self.needs_input_grad[0]:
            g = grad * weight                                           # (..., D)
            dx = inv_std * (g - g.mean(axis=-1, keepdims=True)
                            - xhat * (g * xhat).mean(axis=-1, keepdims=True))
        if self.needs_input_grad[1]:
            dweight = (grad * xhat).sum(axis=lead).astype(weight.dtype, copy=False)   # (D,)
        if self.needs_input_grad[2]:
            dbias = grad.sum(axis=lead).astype(bias.dtype, copy=False)               # (D,)
        return dx, dweight, dbias
        # END SOLUTION


@graph_op(LayerNormBackward, inputs=("x", "weight", "bias"))
def layer_norm(x: Tensor, weight: Tensor, bias: Tensor, eps: float = LN_EPS) -> Tensor:
    """Normalise every vector of x's last axis, then scale and shift it: one fused graph op.

        mean = mean(x, last axis)        var = mean((x - mean)^2, last axis)   (biased: / D)
        out  = weight * (x - mean) / sqrt(var + eps) + bias         weight, bias (D,)

    x (..., D) -> out (..., D): each of the B*T token vectors of a (B, T, D) activation is
    normalised on its own. PyTorch's F.layer_norm(x, (D,), weight, bias, eps) computes the same.

    Why fused: the Tensor has no square-root op, and composed from Tensor ops LayerNorm would
    be about 8 graph nodes, each keeping a (..., D) array alive until backward. Milestone 4's
    GPT runs it twice per block per step, so one node, one saved array and one hand-written
    backward (LayerNormBackward) matter for both speed and graph memory.

    TODO: Check the arguments, then return the normalised, scaled and shifted Tensor.

    APPROACH:
        1. x, weight and bias must be Tensors (TypeError naming the type). x needs at least
           one dimension; weight and bias must both have shape (D,) with D = x's last
           dimension, else ValueError naming the shapes, e.g.
           "layer_norm: weight and bias must have shape (4,) to match x of shape (2, 4); got
           (3,) and (4,)".
        2. On the arrays: the mean over the last axis (keepdims), the centred x, the BIASED
           variance (divide by D, not D - 1, as PyTorch), then the centred x times
           1 / sqrt(var + eps), then times weight plus bias.          # (..., D)
        3. The result is a fresh array that nobody else holds: wrap it with module 01's
           `_wrap` instead of the Tensor constructor (which would copy it again).

    EXAMPLE:
        >>> out = layer_norm(Tensor([[1.0, 2.0, 3.0]]), Tensor(np.ones(3)), Tensor(np.zeros(3)))
        >>> out.data.round(4)                         # mean 2, var 2/3
        array([[-1.2247,  0.    ,  1.2247]], dtype=float32)

    HINTS:
        - eps keeps a constant vector (variance 0) finite: it comes out as `bias`.
        - Keep the last axis in the reductions (size 1) so that they broadcast back over D.
        - graph_op records eps in the node's params; the backward reads it there.
    """
    # BEGIN SOLUTION
    for name, value in (("x", x), ("weight", weight), ("bias", bias)):
        if not isinstance(value, Tensor):
            raise TypeError(f"layer_norm: {name} must be a Tensor; got {type(value).__name__}")
    if x.ndim == 0:
        raise ValueError("layer_norm: x must have at least one dimension (the one normalised); got a 0-d Tensor")
    dim = x.shape[-1]
    if weight.shape != (dim,) or bias.shape != (dim,):
        raise ValueError(f"layer_norm: weight and bias must have shape ({dim},) to match x of shape "
                         f"{x.shape}; got {weight.shape} and {bias.shape}")
    data = x.data
    mean = data.mean(axis=-1, keepdims=True)                            # (..., 1)
    centred = data - mean                                               # (..., D)
    inv_std = 1.0 / np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + eps)   # (..., 1)
    centred *= inv_std                                                  # xhat, in place: our own array
    centred *= weight.data
    centred += bias.data
    return _wrap(centred)                                               # (..., D)
    # END SOLUTION


class LayerNorm(Module):
    """Layer normalisation over the last axis (Ba, Kiros and Hinton, 2016), as nn.LayerNorm(dim).

        weight (dim,) ones, bias (dim,) zeros, both requires_grad=True: at the start the layer
        only normalises; training learns the scale and shift of each channel.
        forward(x (..., dim)) -> (..., dim)

    Differences from PyTorch's nn.LayerNorm: `dim` is one int (normalised_shape of length 1),
    and the affine weight and bias are always there (no elementwise_affine or bias=False).
    """

    def __init__(self, dim: int, eps: float = LN_EPS):
        """TODO: Check the arguments and create the weight and bias.

        APPROACH:
            1. Initialise the Module base class first.
            2. dim: an int >= 1 (module 12's `_count`); eps: a real number >= 0, not a bool
               (ValueError naming it otherwise). Store both as self.dim and self.eps.
            3. self.weight: ones of shape (dim,); self.bias: zeros of shape (dim,); both of
               PARAM_DTYPE with requires_grad=True, weight assigned first.

        EXAMPLE:
            >>> ln = LayerNorm(8)
            >>> ln.weight.data[:3], ln.bias.data[:3], ln.eps
            (array([1., 1., 1.], dtype=float32), array([0., 0., 0.], dtype=float32), 1e-05)

        HINTS:
            - isinstance(True, int) is True in Python: refuse bools explicitly.
        """
        # BEGIN SOLUTION
        super().__init__()
        self.dim = _count(dim, "dim", "LayerNorm", minimum=1)
        if isinstance(eps, bool) or not isinstance(eps, (int, float, np.integer, np.floating)) \
                or not math.isfinite(eps) or eps < 0:
            raise ValueError(f"LayerNorm: eps must be a finite number >= 0; got {eps!r}")
        self.eps = float(eps)
        self.weight = Tensor(np.ones(self.dim, dtype=PARAM_DTYPE), requires_grad=True)    # (D,)
        self.bias = Tensor(np.zeros(self.dim, dtype=PARAM_DTYPE), requires_grad=True)     # (D,)
        # END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        """Normalise x (..., dim) over its last axis with this layer's weight, bias and eps.

        TODO: Check x's last dimension, then call `layer_norm`.

        APPROACH:
            1. x must be a Tensor whose last dimension is self.dim, else ValueError naming
               dim and x's shape, e.g. "LayerNorm(dim=8) expects input of shape (..., 8);
               got (2, 5)".
            2. One call to layer_norm with this layer's parameters.

        EXAMPLE:
            >>> LayerNorm(4)(Tensor(np.arange(8.0).reshape(2, 4))).data.round(3)
            array([[-1.342, -0.447,  0.447,  1.342],
                   [-1.342, -0.447,  0.447,  1.342]])

        HINTS:
            - Pass the parameter Tensors themselves (not their .data): that is how gradients
              reach them.
        """
        # BEGIN SOLUTION
        if not isinstance(x, Tensor) or x.ndim == 0 or x.shape[-1] != self.dim:
            shape = x.shape if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"LayerNorm(dim={self.dim}) expects input of shape (..., {self.dim}); got {shape}")
        return layer_norm(x, self.weight, self.bias, self.eps)
        # END SOLUTION

    def __repr__(self) -> str:
        return f"LayerNorm({self.dim}, eps={self.eps:g})"


# ---------------------------------------------------------------------- MLP


class MLP(Sequential):
    """The feed-forward half of a block: Linear(dim, hidden) -> GELU -> Linear(hidden, dim).

        x (B, T, C) --Linear--> (B, T, 4C) --GELU--> (B, T, 4C) --Linear--> (B, T, C)

    Attention mixes information ACROSS positions; the MLP then processes each position on its
    own, with the same weights everywhere. It holds two thirds of a block's parameters
    (8 C^2 of 12 C^2 with hidden = 4C).

    A Sequential of exactly three layers, [Linear, GELU, Linear], so that tools that walk a
    Sequential's layers (module 17's quantization, module 18's structured pruning of the
    hidden neurons) see it as it is. forward is Sequential's.
    """

    def __init__(self, dim: int, hidden: int, rng: np.random.Generator | None = None):
        """TODO: Build the Sequential of the three layers and store the sizes.

        APPROACH:
            1. dim and hidden: ints >= 1 (`_count`).
            2. Initialise the Sequential base class WITH the three layers, in order: module
               03's Linear from dim to hidden, module 02's GELU, Linear from hidden back to
               dim. Give both Linears the rng.
            3. Store self.dim and self.hidden.

        EXAMPLE:
            >>> mlp = MLP(8, 32)
            >>> [type(layer).__name__ for layer in mlp.layers], len(mlp.parameters())
            (['Linear', 'GELU', 'Linear'], 4)

        HINTS:
            - Sequential.__init__ takes the layers as separate arguments and sets up
              self.layers (and the training flag): do not build the list yourself.
        """
        # BEGIN SOLUTION
        dim = _count(dim, "dim", "MLP", minimum=1)
        hidden = _count(hidden, "hidden", "MLP", minimum=1)
        super().__init__(Linear(dim, hidden, rng=rng), GELU(), Linear(hidden, dim, rng=rng))
        self.dim = dim
        self.hidden = hidden
        # END SOLUTION


# ---------------------------------------------------------------------- the block


class TransformerBlock(Module):
    """One pre-norm transformer block (GPT-2, nanoGPT's Block):

        x = x + attn(ln1(x), mask)          # communicate: every position reads the others
        x = x + mlp(ln2(x))                 # compute: every position on its own

    Attributes: ln1 (LayerNorm), attn (module 12's MultiHeadAttention), ln2 (LayerNorm),
    mlp (MLP with hidden = mlp_ratio * embed_dim). Input and output (B, T, embed_dim).
    No dropout (nanoGPT's default of 0.0).
    """

    def __init__(self, embed_dim: int, num_heads: int, mlp_ratio: int = MLP_RATIO,
                 rng: np.random.Generator | None = None):
        """TODO: Check the sizes and create ln1, attn, ln2, mlp, in this order.

        APPROACH:
            1. Initialise the Module base class first.
            2. embed_dim, num_heads and mlp_ratio: ints >= 1 (`_count`, so that an error names
               the argument); MultiHeadAttention checks that num_heads divides embed_dim.
            3. Store embed_dim, num_heads and mlp_ratio, then create the four sub-modules in
               the order they run (parameters() follows it): a LayerNorm over embed_dim,
               module 12's MultiHeadAttention with num_heads heads, a second LayerNorm, and
               an MLP whose hidden width is mlp_ratio times embed_dim. The layers that draw
               random weights get the rng.

        EXAMPLE:
            >>> block = TransformerBlock(16, 4)
            >>> block.mlp.hidden, len(block.parameters())       # 2 + 8 + 2 + 4 Tensors
            (64, 16)

        HINTS:
            - One rng for all layers: each draws its own weights from it, and a seed fixes all.
        """
        # BEGIN SOLUTION
        super().__init__()
        self.embed_dim = _count(embed_dim, "embed_dim", "TransformerBlock", minimum=1)
        self.num_heads = _count(num_heads, "num_heads", "TransformerBlock", minimum=1)
        self.mlp_ratio = _count(mlp_ratio, "mlp_ratio", "TransformerBlock", minimum=1)
        self.ln1 = LayerNorm(embed_dim)
        self.attn = MultiHeadAttention(embed_dim, num_heads, rng=rng)
        self.ln2 = LayerNorm(embed_dim)
        self.mlp = MLP(embed_dim, self.mlp_ratio * embed_dim, rng=rng)
        # END SOLUTION

    def forward(self, x: Tensor, mask=None, cache=None, layer_idx: int = 0, start_pos: int = 0) -> Tensor:
        """x (B, T, C) -> (B, T, C): attention then MLP, each on a normalised copy, each added to x.

        Without a cache, attention is self.attn(self.ln1(x), mask). With a cache (module 14, or
        any object that follows the cache protocol of the module docstring), attention is
        cache.attend(self.attn, self.ln1(x), layer_idx, start_pos), and `mask` is not used:
        the cache knows which positions each new query may see.

        TODO: Write the two residual steps of the class docstring.

        APPROACH:
            1. a = attention of ln1(x): through the cache when one is given, else self.attn
               with the mask.                                         # (B, T, C)
            2. x = x + a: the residual. The ORIGINAL x is added back, not ln1(x).
            3. x = x + mlp(ln2(x)) with the x of step 2.              # (B, T, C)

                x ----------------------(+)----------------------(+)----> out
                 \\--ln1--attn(or cache)--/ \\--ln2--mlp---------/

        EXAMPLE:
            >>> block = TransformerBlock(8, 2)
            >>> block(Tensor(np.zeros((3, 5, 8))), mask=causal_mask(5)).shape
            (3, 5, 8)

        HINTS:
            - Post-norm, ln(x + attn(x)), is the original transformer's order; it is NOT what
              is asked (the tests check the residual stream).
            - With attn.out_proj and the MLP's last Linear all zeros, the block must return x
              exactly: a quick check of your residuals.
        """
        # BEGIN SOLUTION
        h = self.ln1(x)                                                      # (B, T, C)
        if cache is None:
            a = self.attn(h, mask)
        else:
            a = cache.attend(self.attn, h, layer_idx, start_pos)
        x = x + a                                                            # (B, T, C)
        return x + self.mlp(self.ln2(x))                                     # (B, T, C)
        # END SOLUTION

    def __repr__(self) -> str:
        return (f"TransformerBlock(embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"mlp_ratio={self.mlp_ratio})")


# ---------------------------------------------------------------------- sampling


def next_token_probs(logits, temperature: float = 1.0, top_k: int | None = None) -> np.ndarray:
    """Probabilities of the next token from the logits of the last position: (B, V) -> (B, V).

        probs = softmax(logits / temperature) over the V tokens, after top-k filtering:
        only the k largest logits of each row keep a probability, the others get exactly 0.

    temperature < 1 sharpens the distribution (towards the argmax), > 1 flattens it (towards
    uniform). top_k = 1 keeps only the argmax: greedy decoding. Ties with the k-th largest logit
    are kept (as nanoGPT: a tie can keep more than k tokens). The result is float64, each row
    sums to 1.

    TODO: Check the arguments, then return the (B, V) float64 probabilities.

    APPROACH:
        1. Take the array (a Tensor's .data, or np.asarray) as float64; it must be 2-D (B, V),
           else ValueError naming its shape.
        2. temperature: a finite number > 0 (the given `_positive_number`; 0 would divide by
           zero: use top_k=1 for greedy).
        3. top_k: None, or an int in [1, V], else ValueError naming top_k and V, e.g.
           "next_token_probs: top_k must be an int in [1, 65] (the vocabulary size); got 70".
        4. Divide the logits by the temperature. With top_k: find each row's k-th largest
           value (np.partition finds it without sorting the row) and set every logit below it
           to -inf.
        5. Softmax over the last axis, stably (subtract the row max first): exp(-inf) = 0.

            logits [2, 1, 0, -1], top_k 2 -> [2, 1, -inf, -inf] -> probs [0.73, 0.27, 0, 0]

    EXAMPLE:
        >>> next_token_probs(np.array([[0.0, np.log(3.0)]])).round(3)
        array([[0.25, 0.75]])
        >>> next_token_probs(np.array([[0.0, np.log(3.0)]]), temperature=0.5).round(3)
        array([[0.1, 0.9]])

    HINTS:
        - Dividing by the temperature is what sharpens: multiplying would do the opposite.
        - Work on a copy: never change the caller's logits in place.
    """
    # BEGIN SOLUTION
    values = logits.data if isinstance(logits, Tensor) else np.asarray(logits)
    values = np.array(values, dtype=np.float64)                          # a copy: (B, V)
    if values.ndim != 2:
        raise ValueError(f"next_token_probs expects logits of shape (B, V); got shape {values.shape}")
    vocab = values.shape[1]
    temperature = _positive_number(temperature, "temperature", "next_token_probs")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer))
                              or not 1 <= top_k <= vocab):
        raise ValueError(f"next_token_probs: top_k must be an int in [1, {vocab}] (the vocabulary size); "
                         f"got {top_k!r}")
    values /= temperature
    if top_k is not None:
        kth = np.partition(values, vocab - top_k, axis=-1)[:, vocab - top_k:vocab - top_k + 1]   # (B, 1)
        values[values < kth] = -np.inf
    values -= values.max(axis=-1, keepdims=True)
    e = np.exp(values)
    return e / e.sum(axis=-1, keepdims=True)                             # (B, V)
    # END SOLUTION


def sample_next_token(logits, temperature: float = 1.0, top_k: int | None = None,
                      rng: np.random.Generator | None = None) -> np.ndarray:
    """One token per row drawn from next_token_probs(logits, temperature, top_k): (B, V) -> (B,).

    Returns an int64 array. `rng` (np.random.Generator) makes the draw reproducible; None uses a
    fresh default_rng().

    TODO: Compute the probabilities, then draw one index per row from its distribution.

    APPROACH:
        1. probs = next_token_probs(...)                         # (B, V), rows sum to 1
        2. Inverse-CDF sampling, all rows at once: the running sum of each row is its
           cumulative distribution; draw one uniform number u per row; the token is the first
           index whose cumulative sum exceeds u times the row's total.
        3. Return the indices as int64, shape (B,).

            probs [0.2, 0.5, 0.3] -> cdf [0.2, 0.7, 1.0];  u = 0.65 -> token 1

    EXAMPLE:
        >>> sample_next_token(np.array([[0.0, 5.0, 0.0]]), top_k=1)
        array([1])
        >>> sample_next_token(np.zeros((2, 4)), rng=np.random.default_rng(0)).shape
        (2,)

    HINTS:
        - Scale u by the last cumulative sum (not by 1): rounding can leave it at 0.9999999,
          and a u above it would fall past the end onto a token of probability 0.
        - Counting the cumulative sums that are <= the scaled u gives the index directly. A
          token of probability 0 adds nothing to the running sum, so it is never chosen.
        - rng.choice(V, p=row) per row is correct too, but a loop over the batch.
    """
    # BEGIN SOLUTION
    probs = next_token_probs(logits, temperature, top_k)                  # (B, V)
    rng = np.random.default_rng() if rng is None else rng
    cdf = np.cumsum(probs, axis=-1)                                       # (B, V)
    u = rng.random((probs.shape[0], 1)) * cdf[:, -1:]                     # (B, 1)
    return (cdf <= u).sum(axis=-1).astype(np.int64)                       # (B,)
    # END SOLUTION


# ---------------------------------------------------------------------- GPT


class GPT(Module):
    """A GPT-2-style decoder-only language model (nanoGPT's GPT, without dropout).

        token_embedding     Embedding(vocab_size, embed_dim)            module 11
        position_embedding  Embedding(max_seq_len, embed_dim): learned positions, row p for
                            absolute position p (nanoGPT's wpe)
        blocks              a list of num_layers TransformerBlock(embed_dim, num_heads, mlp_ratio)
        ln_f                LayerNorm(embed_dim)
        head                Linear(embed_dim, vocab_size), with a bias

        forward(indices (B, T), cache=None, start_pos=0) -> logits (B, T, vocab_size)
        generate(prompt (B, T0), max_new_tokens, ...) -> int64 array (B, T0 + max_new_tokens)

    Differences from nanoGPT / GPT-2: the head is NOT tied to the token table (GPT-2 and
    nanoGPT share one (V, C) matrix between them; here they are two parameters, which costs
    V * C more and keeps every Linear independent for modules 17 and 18), and it has a bias
    (nanoGPT's lm_head has none). No dropout. Weights use the course's (in, out) layout.

    `cache_factory`: None, or a callable cache_factory(model, batch_size, total_len) returning
    a cache (module 14's enable_kv_cache sets it). generate uses it when use_cache is True.
    """

    cache_factory = None

    def __init__(self, vocab_size: int, embed_dim: int, num_layers: int, num_heads: int,
                 max_seq_len: int, mlp_ratio: int = MLP_RATIO, rng: np.random.Generator | None = None):
        """TODO: Check the sizes, create the layers, then initialise them as GPT-2 does.

        APPROACH:
            1. Initialise the Module base class first.
            2. vocab_size, embed_dim, num_layers, num_heads, max_seq_len, mlp_ratio: ints >= 1
               (`_count`); embed_dim divisible by num_heads (ValueError naming both; the
               attention layers would refuse it too). Store them all under their names.
            3. A default generator when rng is None. Create, in this order: token_embedding,
               position_embedding (an Embedding with one row per position), blocks (a Python
               list of num_layers TransformerBlocks), ln_f, head. Pass the rng to each.
            4. Finish with GPT-2's initialisation: the init_weights method below, given the same
               rng.

        EXAMPLE:
            >>> model = GPT(65, 32, 2, 4, 16, rng=np.random.default_rng(0))
            >>> len(model.blocks), model.head.weight.shape, model.position_embedding.weight.shape
            (2, (32, 65), (16, 32))

        HINTS:
            - Module.parameters() finds Modules inside a list attribute: a list of blocks is
              enough (PyTorch would need nn.ModuleList).
        """
        # BEGIN SOLUTION
        super().__init__()
        self.vocab_size = _count(vocab_size, "vocab_size", "GPT", minimum=1)
        self.embed_dim = _count(embed_dim, "embed_dim", "GPT", minimum=1)
        self.num_layers = _count(num_layers, "num_layers", "GPT", minimum=1)
        self.num_heads = _count(num_heads, "num_heads", "GPT", minimum=1)
        self.max_seq_len = _count(max_seq_len, "max_seq_len", "GPT", minimum=1)
        self.mlp_ratio = _count(mlp_ratio, "mlp_ratio", "GPT", minimum=1)
        if self.embed_dim % self.num_heads:
            raise ValueError(f"GPT: embed_dim {self.embed_dim} is not divisible by num_heads {self.num_heads}")
        rng = np.random.default_rng() if rng is None else rng
        self.token_embedding = Embedding(self.vocab_size, self.embed_dim, rng=rng)
        self.position_embedding = Embedding(self.max_seq_len, self.embed_dim, rng=rng)
        self.blocks = [TransformerBlock(self.embed_dim, self.num_heads, self.mlp_ratio, rng=rng)
                       for _ in range(self.num_layers)]
        self.ln_f = LayerNorm(self.embed_dim)
        self.head = Linear(self.embed_dim, self.vocab_size, rng=rng)
        self.init_weights(rng)
        # END SOLUTION

    def init_weights(self, rng: np.random.Generator) -> None:
        """GPT-2's initialisation (as nanoGPT's _init_weights), drawn from `rng`.

            every Linear weight and both Embedding tables   N(0, INIT_STD^2)
            every Linear bias                               0
            the two residual projections of each block      N(0, (INIT_STD / sqrt(2 * num_layers))^2)
              (attn.out_proj.weight and the MLP's second Linear weight)
            LayerNorms                                      weight 1, bias 0 (as created)

        TODO: Overwrite the weights listed above with fresh draws, in PARAM_DTYPE.

        APPROACH:
            1. Walk the layers in the order they were created: the two tables, then for each
               block its four attention projections and its MLP's two Linears, then the head.
            2. Each weight gets a normal draw of its own shape from rng, scaled as the table
               above says; each bias becomes zeros. Replace the `.data` of the existing
               parameter Tensors (the parameters stay the same objects).
            3. Why the smaller residual scale: each block adds two outputs into the residual
               stream, so after num_layers blocks its variance has grown by 2 * num_layers
               terms; scaling those projections by 1 / sqrt(2 * num_layers) keeps the sum at
               the scale of one term.

        EXAMPLE:
            >>> model = GPT(65, 64, 4, 4, 32, rng=np.random.default_rng(0))
            >>> round(float(model.head.weight.data.std()), 3), float(model.head.bias.data.max())
            (0.02, 0.0)

        HINTS:
            - The default inits of Linear (Xavier) and Embedding (N(0, 1)) are far larger than
              0.02: a GPT initialised with them starts with a loss far above log(vocab_size).
            - The result must be float32 (PARAM_DTYPE): rng.normal returns float64.
        """
        # BEGIN SOLUTION
        def draw(tensor: Tensor, std: float) -> None:
            tensor.data = rng.normal(0.0, std, size=tensor.shape).astype(PARAM_DTYPE)

        def linear(layer: Linear, std: float) -> None:
            draw(layer.weight, std)
            if layer.bias is not None:
                layer.bias.data = np.zeros_like(layer.bias.data)

        residual_std = INIT_STD / math.sqrt(RESIDUAL_PATHS_PER_BLOCK * self.num_layers)
        draw(self.token_embedding.weight, INIT_STD)
        draw(self.position_embedding.weight, INIT_STD)
        for block in self.blocks:
            for layer in (block.attn.q_proj, block.attn.k_proj, block.attn.v_proj):
                linear(layer, INIT_STD)
            linear(block.attn.out_proj, residual_std)
            linear(block.mlp[0], INIT_STD)
            linear(block.mlp[2], residual_std)
        linear(self.head, INIT_STD)
        # END SOLUTION

    def forward(self, indices, cache=None, start_pos: int = 0) -> Tensor:
        """Logits (B, T, vocab_size) for token ids (B, T) at absolute positions start_pos .. start_pos+T-1.

        Without a cache, the blocks attend causally within these T tokens (causal_mask(T)).
        With a cache (the protocol of the module docstring), each block's attention goes
        through cache.attend(..., layer_idx, start_pos), which also holds the earlier positions
        and applies the mask: feed the prompt with start_pos=0, then each new token with its
        own position.

        TODO: Check the ids and positions; embed; run the blocks; final LayerNorm; head.

        APPROACH:
            1. The ids (a Tensor, an array or a list) must be 2-D (B, T) with T >= 1, else
               ValueError naming the shape. start_pos: an int >= 0 (`_count`). If
               start_pos + T > max_seq_len, ValueError naming both and max_seq_len, e.g.
               "GPT: cannot process 10 tokens from position 120: max_seq_len is 128".
            2. x = token vectors (B, T, C) + position vectors (T, C) of the positions
               start_pos .. start_pos + T - 1 (look them up in position_embedding; the add
               broadcasts over the batch).
            3. The mask: causal_mask(T) without a cache, None with one.
            4. Each block in turn, with the mask, the cache, its index in self.blocks and
               start_pos.
            5. ln_f, then head: (B, T, C) -> (B, T, V).

        EXAMPLE:
            >>> model = GPT(10, 8, 1, 2, 6, rng=np.random.default_rng(0))
            >>> model(np.zeros((3, 4), dtype=np.int64)).shape
            (3, 4, 10)

        HINTS:
            - Positions 0 .. T-1 are right only when start_pos = 0: a token fed alone at
              position 7 must get row 7 of the position table.
            - The embedding checks the id values (range, whole numbers) itself.
        """
        # BEGIN SOLUTION
        shape = np.shape(indices.data if isinstance(indices, Tensor) else indices)
        if len(shape) != 2 or shape[1] == 0:
            raise ValueError(f"GPT expects token ids of shape (B, T) with T >= 1; got shape {shape}")
        t = shape[1]
        start_pos = _count(start_pos, "start_pos", "GPT")
        if start_pos + t > self.max_seq_len:
            raise ValueError(f"GPT: cannot process {t} tokens from position {start_pos}: "
                             f"max_seq_len is {self.max_seq_len}")
        positions = self.position_embedding(np.arange(start_pos, start_pos + t))   # (T, C)
        x = self.token_embedding(indices) + positions                              # (B, T, C)
        mask = causal_mask(t) if cache is None else None
        for layer_idx, block in enumerate(self.blocks):
            x = block(x, mask, cache, layer_idx, start_pos)                        # (B, T, C)
        return self.head(self.ln_f(x))                                             # (B, T, V)
        # END SOLUTION

    def generate(self, prompt, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 seed: int | None = None, use_cache: bool = True, cache=None) -> np.ndarray:
        """Continue each prompt (B, T0) by max_new_tokens sampled tokens: int64 (B, T0 + max_new_tokens).

        Each step takes the logits of the LAST position, samples with sample_next_token
        (temperature, top_k; top_k=1 is greedy decoding) and appends the token. All steps draw
        from one np.random.default_rng(seed): a seed makes the output reproducible. Runs under
        module 05's no_grad (no graph is recorded).

        The context does NOT slide: prompt + new tokens must fit in max_seq_len (nanoGPT crops
        to the last max_seq_len tokens instead).

        With use_cache and a cache (the `cache` argument, else one from self.cache_factory(self,
        B, T0 + max_new_tokens) when that attribute is not None): reset the cache, feed the whole
        prompt once at start_pos 0, then each new token alone at its own position. Otherwise
        every step runs forward over the whole sequence so far (T0, T0 + 1, ... tokens).

        TODO: Check the arguments, then run the generation loop.

        APPROACH:
            1. The prompt's ids (module 11's `_token_ids` checks them against the vocabulary)
               as an int64 array, which must be 2-D (B, T0) with B, T0 >= 1, else ValueError
               naming its shape. max_new_tokens: an int >= 0. T0 > max_seq_len, or T0 +
               max_new_tokens > max_seq_len: ValueError naming the numbers and max_seq_len.
               temperature and top_k are checked by next_token_probs: check them before the
               loop too (e.g. with a call on dummy logits), so that max_new_tokens=0 or a
               failing forward never hides a bad argument.
            2. The cache, as described above; one rng for the whole generation.
            3. Under no_grad, for each new token:
                  cached:    the first step feeds the prompt from position 0; later steps feed
                             only the last token, at position (current length - 1);
                  uncached:  feed the whole sequence so far;
               then sample from the logits of the last position and append the (B,) tokens
               as a new column.

                step 0: [p0 p1 p2]          -> logits[:, -1] -> t3
                step 1: cached [t3] at pos 3 | uncached [p0 p1 p2 t3]  -> logits[:, -1] -> t4

        EXAMPLE:
            >>> model = GPT(10, 8, 1, 2, 16, rng=np.random.default_rng(0))
            >>> out = model.generate([[1, 2, 3]], 5, seed=0)
            >>> out.shape, out.dtype, out[0, :3].tolist()
            ((1, 8), dtype('int64'), [1, 2, 3])

        HINTS:
            - The logits of the last position are (B, V): index the time axis, not the batch.
            - With the cache, the tokens must be exactly those of uncached generation (the
              tests compare them with greedy decoding).
            - The output keeps the prompt: the new tokens come after it.
        """
        # BEGIN SOLUTION
        values = prompt.data if isinstance(prompt, Tensor) else np.asarray(prompt)
        if values.ndim != 2 or 0 in values.shape:
            raise ValueError(f"GPT.generate expects a prompt of token ids of shape (B, T0) with B, T0 >= 1; "
                             f"got shape {values.shape} (wrap one sequence as [ids])")
        seq = _token_ids(values, self.vocab_size).astype(np.int64)                # (B, T0)
        max_new_tokens = _count(max_new_tokens, "max_new_tokens", "GPT.generate")
        batch, t0 = seq.shape
        if t0 > self.max_seq_len:
            raise ValueError(f"GPT.generate: the prompt has {t0} tokens, more than max_seq_len "
                             f"{self.max_seq_len}")
        total = t0 + max_new_tokens
        if total > self.max_seq_len:
            raise ValueError(f"GPT.generate: prompt of {t0} tokens + max_new_tokens {max_new_tokens} = "
                             f"{total} exceeds max_seq_len {self.max_seq_len} (the context does not slide)")
        next_token_probs(np.zeros((1, self.vocab_size)), temperature, top_k)      # checks both
        if use_cache and cache is None and self.cache_factory is not None:
            cache = self.cache_factory(self, batch, total)
        cache = cache if use_cache else None
        if cache is not None:
            cache.reset()
        rng = np.random.default_rng(seed)
        with no_grad():
            for step in range(max_new_tokens):
                if cache is None:
                    logits = self.forward(seq)                                     # (B, T, V)
                elif step == 0:
                    logits = self.forward(seq, cache=cache, start_pos=0)           # (B, T0, V)
                else:
                    logits = self.forward(seq[:, -1:], cache=cache, start_pos=seq.shape[1] - 1)
                token = sample_next_token(logits.data[:, -1, :], temperature, top_k, rng)   # (B,)
                seq = np.concatenate([seq, token[:, None]], axis=1)
        return seq
        # END SOLUTION

    def __repr__(self) -> str:
        return (f"GPT(vocab_size={self.vocab_size}, embed_dim={self.embed_dim}, num_layers={self.num_layers}, "
                f"num_heads={self.num_heads}, max_seq_len={self.max_seq_len}, mlp_ratio={self.mlp_ratio})")


# ---------------------------------------------------------------------- systems questions


def gpt_param_count(vocab_size: int, embed_dim: int, num_layers: int, num_heads: int,
                    max_seq_len: int, mlp_ratio: int = MLP_RATIO) -> int:
    """Number of parameters (numbers, not Tensors) of GPT(vocab_size, embed_dim, ...), by formula.

    TODO: Return the count as an int, without building a model; ValueError (`_count`) for a
    size < 1 or an embed_dim not divisible by num_heads.

    APPROACH: With C = embed_dim, V = vocab_size, H = mlp_ratio * C, add up:
        tables      token (V, C) and positions (max_seq_len, C)
        per block   two LayerNorms (weight and bias, C each); four attention projections
                    (C, C) with a bias each; the MLP's (C, H) + bias H and (H, C) + bias C
        at the end  ln_f (2 C) and the head (C, V) with a bias V (not tied to the table)
    num_heads changes nothing: the heads split C, they do not add weights.

    EXAMPLE:
        >>> gpt_param_count(65, 128, 4, 4, 128)               # milestone 4's model
        826433
        >>> gpt_param_count(50257, 768, 12, 12, 1024)         # GPT-2 small, untied head
        163087441

    HINTS:
        - A block is about 12 C^2 (4 C^2 attention + 8 C^2 MLP): at C = 768 that is 7.1M per
          block, while the untied head alone is V * C = 38.6M (GPT-2 ties it to save that).
    """
    # BEGIN SOLUTION
    v = _count(vocab_size, "vocab_size", "gpt_param_count", minimum=1)
    c = _count(embed_dim, "embed_dim", "gpt_param_count", minimum=1)
    n = _count(num_layers, "num_layers", "gpt_param_count", minimum=1)
    h = _count(num_heads, "num_heads", "gpt_param_count", minimum=1)
    t = _count(max_seq_len, "max_seq_len", "gpt_param_count", minimum=1)
    hidden = _count(mlp_ratio, "mlp_ratio", "gpt_param_count", minimum=1) * c
    if c % h:
        raise ValueError(f"gpt_param_count: embed_dim {c} is not divisible by num_heads {h}")
    layer_norm_params = LAYER_NORM_PARAMS_PER_DIM * c
    attention = PROJECTIONS * (c * c + c)
    mlp = (c * hidden + hidden) + (hidden * c + c)
    block = 2 * layer_norm_params + attention + mlp
    return (v + t) * c + n * block + layer_norm_params + (c * v + v)
    # END SOLUTION


def gpt_flops_per_token(vocab_size: int, embed_dim: int, num_layers: int, seq_len: int,
                        mlp_ratio: int = MLP_RATIO) -> int:
    """Forward-pass matmul FLOPs per token of a GPT run on sequences of seq_len tokens.

    Counts every matmul, each multiply-add as FLOPS_PER_MULTIPLY_ADD (module 01's convention):
    per block the four attention projections, the two attention matmuls (Q @ K^T and
    weights @ V: each token's query meets all seq_len keys, as this GPT computes the full
    T x T scores before masking), the MLP's two Linears; then the head. Not counted: the
    embedding lookups (no arithmetic), biases, LayerNorm, GELU, the softmax: element-wise
    work, small next to the matmuls.

    TODO: Return the FLOPs per token as an int; ValueError (`_count`) for a size < 1.

    APPROACH: Per token, in multiply-adds, with C = embed_dim and H = mlp_ratio * C:
        projections  4 C^2          MLP  2 C H           attention  2 seq_len C
        (per block, times num_layers), plus the head C V. Then times FLOPS_PER_MULTIPLY_ADD.

    EXAMPLE:
        >>> gpt_flops_per_token(65, 128, 4, 128)              # milestone 4: about 1.9 MFLOPs
        1851648
        >>> gpt_flops_per_token(1, 1, 1, 1, mlp_ratio=1)      # 2 * (4 + 2 + 2 + 1)
        18

    HINTS:
        - The non-attention part is 2 x (matmul weights): the classic "forward = 2 N FLOPs per
          token" rule. A training step (forward + backward) costs about 3 times the forward.
        - The attention term overtakes the projections when seq_len > 2 C (module 12).
    """
    # BEGIN SOLUTION
    v = _count(vocab_size, "vocab_size", "gpt_flops_per_token", minimum=1)
    c = _count(embed_dim, "embed_dim", "gpt_flops_per_token", minimum=1)
    n = _count(num_layers, "num_layers", "gpt_flops_per_token", minimum=1)
    t = _count(seq_len, "seq_len", "gpt_flops_per_token", minimum=1)
    hidden = _count(mlp_ratio, "mlp_ratio", "gpt_flops_per_token", minimum=1) * c
    per_block = PROJECTIONS * c * c + 2 * c * hidden + ATTENTION_MATMULS * t * c
    return FLOPS_PER_MULTIPLY_ADD * (n * per_block + c * v)
    # END SOLUTION
