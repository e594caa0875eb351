"""Module 04: losses, one number that says how wrong the model is.

What you build
    log_softmax            log-probabilities from logits, with the log-sum-exp trick
    MSELoss                mean squared error, for regression
    CrossEntropyLoss       logits (N, C) + integer class targets (N,), for classification
    BinaryCrossEntropyLoss probabilities + 0/1 targets, for yes/no outputs (after a Sigmoid)
    Each loss returns a scalar Tensor (shape ()) with the dtype of its prediction. Forward only
    for now; module 05 gives each one a backward rule, and training minimises that scalar.

Why it matters
    Training is "make this number smaller", so every bug here becomes a bug in every model.
    The classic one is numerical: log(softmax(x)) computed naively turns logits of 1000 into
    exp(1000) = inf and then log(0) = -inf; the log-sum-exp form never leaves the safe range.

        logits (N, C) --log_softmax--> log p (N, C) --pick column targets[i] in row i--> (N,)
                                                     --mean, negate--> loss ()

Who uses it later
    05 autograd   backward of CrossEntropyLoss is (softmax - one_hot) / N, short and stable
    07 training   Trainer(model, optimizer, loss_fn) calls these
    milestones    perceptron (BCE), MNIST MLP and CIFAR CNN (cross-entropy), TinyGPT
                  (cross-entropy over the vocabulary at every position)

Each function or loss is followed by its `...Backward` class, named in its
`@graph_op(lambda: ...)`: that backward rule is module 05's work, skip it for now.
"""

from __future__ import annotations

import numpy as np

from tinytorch.core.activations import _check_tensor, _like   # module 02's given helpers
from tinytorch.core.tensor import Function, Tensor, graph_op

BCE_EPS = 1e-7   # BinaryCrossEntropyLoss clips probabilities to [BCE_EPS, 1 - BCE_EPS]: log(0) = -inf


def _as_array(value) -> np.ndarray:
    """The NumPy array behind a Tensor, an np.ndarray, a list or a number: a target, a batch item (given)."""
    return value.data if isinstance(value, Tensor) else np.asarray(value)


@graph_op(lambda: LogSoftmaxBackward, inputs=("x",))
def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """log(softmax(x)) along `dim`, computed without overflow or log(0).

    TODO: return log_softmax(x) along `dim` as a new Tensor, same shape and dtype as `x`.

    APPROACH:
        log softmax(x)_i = x_i - log(sum_j exp(x_j))        (the log-sum-exp, "lse")
        With m = max_j x_j:
            lse = m + log(sum_j exp(x_j - m))               every exponent <= 0, and the sum >= 1
        1. Check the input with module 02's `_check_tensor` (name "log_softmax").
        2. Valid dims are -ndim .. ndim-1; otherwise an IndexError such as
           "log_softmax(dim=2) is out of range for a tensor with ndim=2".
        3. Shift the array by its max along dim, then subtract the log of the sum of the
           shifted exponentials along dim, per slice (keep the reduced dim: it broadcasts).
        4. Wrap the result with module 02's `_like` (the input's dtype).

    EXAMPLE:
        >>> log_softmax(Tensor([[0.0, 0.0], [1e4, 0.0]])).data
        array([[-6.931472e-01, -6.931472e-01],
               [ 0.000000e+00, -1.000000e+04]], dtype=float32)

    HINTS:
        - Never take the log of a softmax: a probability that underflowed to 0 gives -inf.
        - The max is only a shift; any constant would be correct, the max is the one that is safe.
    """
    # BEGIN SOLUTION
    _check_tensor(x, "log_softmax")
    if not -x.ndim <= dim < x.ndim:
        raise IndexError(f"log_softmax(dim={dim}) is out of range for a tensor with ndim={x.ndim}")
    shifted = x.data - np.max(x.data, axis=dim, keepdims=True)          # max along dim is 0
    lse = np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))     # log of a sum >= 1: >= 0
    return _like(shifted - lse, x)
    # END SOLUTION


class LogSoftmaxBackward(Function):
    """out = log_softmax(x, dim)  ->  dx = grad - softmax(x) * sum(grad, dim)   (module 05)."""

    def backward(self, grad):
        """TODO (module 05): Return (dL/dx,) for out = log_softmax(x) along `dim`.

        APPROACH: out_i = x_i - lse(x), and d lse / dx_j = softmax(x)_j. By the chain rule,
        dx_j is g_j minus softmax(x)_j times the sum of g over the slice (g = grad; one sum
        per slice along dim, broadcast back). softmax(x) = exp(out): the saved output gives
        it without overflow. `dim` is in `self.params`.

        EXAMPLE: x [0, 0] (softmax [0.5, 0.5]), grad [1, 0] -> dx [0.5, -0.5].

        HINTS:
            - exp of a log-probability is <= 1: never overflows.
        """
        # BEGIN SOLUTION 05
        dim = self.params["dim"]
        return (grad - np.exp(self.output) * np.sum(grad, axis=dim, keepdims=True),)
        # END SOLUTION


class MSELoss:
    """Mean squared error: mean((pred - target)^2) over every element. For regression.

    pred and target must have the same shape. Unlike NumPy, no broadcasting: pred (N, 1)
    against target (N,) would broadcast to (N, N) and silently compute the wrong loss.
    """

    @graph_op(lambda: MSEBackward, inputs=("pred",))
    def forward(self, pred: Tensor, target) -> Tensor:
        """Mean of the squared differences, as a scalar Tensor with pred's dtype.

        TODO: return mean((pred - target)^2) as a Tensor of shape ().

        APPROACH:
            1. Check pred (name "MSELoss"); get the target's array with the given
               `_as_array` (the target may be a Tensor or an array).
            2. The shapes must be equal, not just broadcastable: a ValueError naming both,
               e.g. "MSELoss: pred has shape (4, 1) but target has shape (4,); they must match".
            3. Cast the target to pred's dtype (a float64 target would promote everything),
               then the mean of the squared differences; wrap it with `_like`.

        EXAMPLE:
            >>> MSELoss()(Tensor([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 0.0])).data
            array(4.3333335, dtype=float32)                  # (0 + 4 + 9) / 3

        HINTS:
            - The result is 0-d: Tensor(np.float32(4.33)).shape == ().
        """
        # BEGIN SOLUTION
        _check_tensor(pred, "MSELoss")
        t = _as_array(target)
        if t.shape != pred.shape:
            raise ValueError(
                f"MSELoss: pred has shape {pred.shape} but target has shape {t.shape}; they must match"
            )
        diff = pred.data - t.astype(pred.dtype, copy=False)
        return _like(np.mean(diff * diff), pred)
        # END SOLUTION

    def __call__(self, pred: Tensor, target) -> Tensor:
        return self.forward(pred, target)


class MSEBackward(Function):
    """loss = mean((pred - t)^2)  ->  dpred = grad * 2 * (pred - t) / N   (module 05)."""

    def backward(self, grad):
        """TODO (module 05): Return (dL/dpred,) for the mean squared error.

        APPROACH: d/dpred_i of (1/N) sum_j (pred_j - t_j)^2 is 2 (pred_i - t_i) / N, times the
        upstream grad (a scalar: the loss is 0-d). The target is `self.params["target"]`
        (through `_as_array`, cast to pred's dtype); it is data, not a parameter: no gradient.

        EXAMPLE: pred [1, 2], target [0, 0], grad 1 -> dpred [1, 2].

        HINTS:
            - N is the number of elements of pred (`pred.size`), not the batch size.
        """
        # BEGIN SOLUTION 05
        pred = self.saved_tensors[0]
        t = _as_array(self.params["target"]).astype(pred.dtype, copy=False)
        return (grad * (2.0 / pred.size) * (pred - t),)
        # END SOLUTION


class CrossEntropyLoss:
    """Negative log-likelihood of the right class, from raw logits, averaged over the batch.

        loss = -(1/N) * sum_i log softmax(logits[i])[targets[i]]

    logits: Tensor (N, C), one row of unnormalised scores per example (no Softmax before it).
    targets: (N,) integer class indices in [0, C), as a Tensor (float values like 2.0 are
    fine) or an np.ndarray. A model that puts probability p on the right class pays -log(p):
    0 when p = 1, log(C) for a uniform guess, and without bound as p -> 0.
    """

    @graph_op(lambda: CrossEntropyBackward, inputs=("logits",))
    def forward(self, logits: Tensor, targets) -> Tensor:
        """Mean cross-entropy of a batch, as a scalar Tensor with the logits' dtype.

        TODO: return -mean_i(log_softmax(logits)[i, targets[i]]) as a Tensor of shape ().

        APPROACH:
            1. Check logits (name "CrossEntropyLoss"); a ValueError naming the shape unless
               it is 2-D with at least one row: (N, C), N >= 1.
            2. The targets' array (`_as_array`) must have shape (N,): a ValueError naming
               both shapes otherwise.
            3. Every target must be a whole number (ValueError naming a bad value); as
               integers, each must lie in [0, C) (ValueError naming that value and C).
            4. Reuse your log_softmax over the class axis (you need its array only): (N, C).
               Pick, in row i, the column targets[i]: one indexing with two integer arrays
               (the row numbers and the targets) gives the N values, no loop.
            5. The loss is minus their mean; wrap it with `_like`.

        EXAMPLE:
            >>> CrossEntropyLoss()(Tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]]), np.array([0, 2])).data
            array(0.6690786, dtype=float32)      # (-log(e^2 / (e^2 + 2)) - log(1/3)) / 2

        HINTS:
            - A float target is whole when it is finite and rounding leaves it unchanged
              (inf survives rounding; nan equals nothing). Compare values, do not just
              cast: a cast would turn 2.5 into 2.
            - Indexing an array with two index arrays of length N picks N elements, one per
              (row, column) pair.
        """
        # BEGIN SOLUTION
        _check_tensor(logits, "CrossEntropyLoss")
        if logits.ndim != 2 or logits.shape[0] == 0:
            raise ValueError(f"CrossEntropyLoss: logits must have shape (N, C) with N >= 1; got shape {logits.shape}")
        n, c = logits.shape
        t = _as_array(targets)
        if t.shape != (n,):
            raise ValueError(
                f"CrossEntropyLoss: targets must have shape ({n},) to match logits of shape {logits.shape}; "
                f"got shape {t.shape}"
            )
        if t.dtype.kind not in "iu":                               # floats must be whole numbers
            whole = np.isfinite(t) & (t == np.round(t)) if t.dtype.kind == "f" else np.zeros(t.shape, bool)
            if not np.all(whole):
                raise ValueError(f"CrossEntropyLoss: targets must be integer class indices; got {t[~whole][0]}")
        idx = t.astype(np.int64)                                   # (N,)
        out_of_range = idx[(idx < 0) | (idx >= c)]
        if out_of_range.size:
            raise ValueError(
                f"CrossEntropyLoss: target {int(out_of_range[0])} is out of range for {c} classes "
                f"(valid: 0 .. {c - 1})"
            )
        logp = log_softmax(logits, dim=-1).data                    # (N, C)
        picked = logp[np.arange(n), idx]                           # (N,)
        return _like(-np.mean(picked), logits)
        # END SOLUTION

    def __call__(self, logits: Tensor, targets) -> Tensor:
        return self.forward(logits, targets)


class CrossEntropyBackward(Function):
    """loss = mean_i -log softmax(logits_i)[t_i]  ->  dlogits = grad * (softmax - one_hot) / N   (module 05)."""

    def backward(self, grad):
        """TODO (module 05): Return (dL/dlogits,) for the mean cross-entropy.

        APPROACH:
            1. p = softmax(logits) row by row, computed stably (subtract the row max).
            2. d loss / d logits = (p - one_hot(targets)) / N: the predicted probabilities
               minus 1 at the right class, averaged over the N rows.
            3. Multiply by the upstream grad (a scalar).

                 logits (N, C) --softmax--> p (N, C) --minus 1 at (i, targets[i])--> / N

        EXAMPLE: one row, uniform logits over 3 classes, target 0:
                 dlogits = [1/3 - 1, 1/3, 1/3].

        HINTS:
            - This is why frameworks fuse softmax and cross-entropy: the gradient is one
              subtraction, and never divides by a probability that underflowed to 0.
            - The targets are in `self.params` (get their array with `_as_array`; they
              index, so make them integers).
            - The subtraction needs no one-hot matrix: index p as the forward did.
        """
        # BEGIN SOLUTION 05
        logits = self.saved_tensors[0]                                   # (N, C)
        n = logits.shape[0]
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)                             # (N, C)
        p[np.arange(n), _as_array(self.params["targets"]).astype(np.int64)] -= 1.0
        return (p * (grad / n),)
        # END SOLUTION


class BinaryCrossEntropyLoss:
    """Cross-entropy of independent yes/no outcomes, from probabilities (after a Sigmoid).

        loss = -mean(t * log(p) + (1 - t) * log(1 - p)),   p clipped to [BCE_EPS, 1 - BCE_EPS]

    probs and targets have the same shape; targets are 0 or 1 (soft labels in between work too).
    """

    @graph_op(lambda: BCEBackward, inputs=("probs",))
    def forward(self, probs: Tensor, targets) -> Tensor:
        """Mean binary cross-entropy, as a scalar Tensor with probs' dtype.

        TODO: return the mean BCE over every element as a Tensor of shape ().

        APPROACH:
            1. Check probs (name "BinaryCrossEntropyLoss"); the targets' array (`_as_array`)
               must have probs' shape: a ValueError naming both otherwise.
            2. Clip the probabilities to [BCE_EPS, 1 - BCE_EPS]: a probability of exactly 0
               or 1 would give log(0) = -inf. Convert to float64 before clipping: in float32,
               1 - 1e-7 rounds to 0.99999988, so the clip would not be the one stated.
            3. The formula of the class docstring, averaged over every element; wrap the
               result with `_like` (probs' dtype).

        EXAMPLE:
            >>> BinaryCrossEntropyLoss()(Tensor([0.9, 0.2]), np.array([1.0, 0.0])).data
            array(0.16425204, dtype=float32)      # (-log(0.9) - log(0.8)) / 2

        HINTS:
            - NumPy's `clip` works element-wise.
        """
        # BEGIN SOLUTION
        _check_tensor(probs, "BinaryCrossEntropyLoss")
        t = _as_array(targets)
        if t.shape != probs.shape:
            raise ValueError(
                f"BinaryCrossEntropyLoss: probs has shape {probs.shape} but targets has shape {t.shape}; "
                f"they must match"
            )
        p = np.clip(probs.data.astype(np.float64), BCE_EPS, 1.0 - BCE_EPS)
        t = t.astype(np.float64)
        loss = -np.mean(t * np.log(p) + (1.0 - t) * np.log(1.0 - p))
        return _like(loss, probs)
        # END SOLUTION

    def __call__(self, probs: Tensor, targets) -> Tensor:
        return self.forward(probs, targets)


class BCEBackward(Function):
    """loss = -mean(t log p + (1 - t) log(1 - p))  ->  dp = grad * (p - t) / (p (1 - p) N)   (module 05)."""

    def backward(self, grad):
        """TODO (module 05): Return (dL/dprobs,) for the mean binary cross-entropy.

        APPROACH:
            1. p = clip(probs, BCE_EPS, 1 - BCE_EPS) in float64, as in the forward.
            2. d/dp of -(t log p + (1 - t) log(1 - p)) = (p - t) / (p (1 - p)); divide by N
               (the number of elements) for the mean; multiply by the upstream grad.
            3. Where the forward clipped p, the loss does not change with p: gradient 0.
            4. Return it in probs' dtype.

        EXAMPLE: p 0.5, t 1, N 1 -> dp = -2.

        HINTS:
            - Sigmoid followed by this loss gives p - t overall, the same as cross-entropy.
        """
        # BEGIN SOLUTION 05
        probs = self.saved_tensors[0]
        t = _as_array(self.params["targets"]).astype(np.float64)
        raw = probs.astype(np.float64)
        p = np.clip(raw, BCE_EPS, 1.0 - BCE_EPS)
        inside = (raw >= BCE_EPS) & (raw <= 1.0 - BCE_EPS)
        dp = grad * inside * (p - t) / (p * (1.0 - p) * probs.size)
        return (dp.astype(probs.dtype),)
        # END SOLUTION


# ---------------------------------------------------------------------------------------------
# Systems questions: what a loss costs in memory, and why the log-sum-exp trick is not optional.
# ---------------------------------------------------------------------------------------------


def loss_memory_bytes(batch_size: int, num_classes: int, dtype=np.float32) -> int:
    """Bytes a cross-entropy forward keeps alive: the logits plus the softmax probabilities.

        bytes = 2 * N * C * itemsize        (N = batch_size, C = num_classes)

    Why it matters: the backward pass (module 05) needs softmax(logits), an (N, C) array as
    large as the logits themselves, so both stay in memory until backward runs. For a small
    classifier this is nothing (MNIST: 64 x 10 floats). For a language model C is the whole
    vocabulary and N is every token of the batch: GPT-2's 50,257 tokens x a batch of
    8 sequences x 1,024 positions in float32 is 2 * 8192 * 50257 * 4 bytes, about 3.3 GB,
    more than the model's own weights. That is why large models fuse or chunk this loss.

    TODO: return the bytes of the formula above as an int.

    APPROACH:
        1. batch_size and num_classes must be positive ints: otherwise raise ValueError
           naming the bad value.
        2. np.dtype(dtype).itemsize is 4 for float32, 8 for float64, 2 for float16.

    EXAMPLE:
        >>> loss_memory_bytes(64, 10)                      # 2 * 64 * 10 * 4
        5120
        >>> loss_memory_bytes(64, 10, dtype=np.float64)
        10240

    HINTS:
        - isinstance(True, int) is True in Python; reject bools too.
    """
    # BEGIN SOLUTION
    for name, value in (("batch_size", batch_size), ("num_classes", num_classes)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise ValueError(f"loss_memory_bytes: {name} must be a positive int; got {value!r}")
    return int(2 * batch_size * num_classes * np.dtype(dtype).itemsize)
    # END SOLUTION


def exp_overflow_threshold(dtype=np.float32) -> float:
    """The largest x for which exp(x) is still finite in `dtype`: log of the dtype's max.

    Why it matters: a naive softmax or cross-entropy computes exp(logit). Past this threshold
    exp returns inf and the loss becomes nan. It is only about 88.7 for float32, 709.8 for
    float64 and 11.1 for float16: logits of a confident or badly initialised network easily
    pass 88, and under mixed precision (module 16) anything past 11 breaks. Subtracting the
    max first (log_softmax above) makes every exponent <= 0, so the threshold never matters.

    TODO: return log(largest finite value of dtype) as a Python float.

    APPROACH:
        1. dtype must be a floating dtype (np.float16/32/64); otherwise raise ValueError
           naming it.
        2. `np.finfo` describes a floating dtype, its largest finite value included; take
           the log of that value in float64.

    EXAMPLE:
        >>> round(exp_overflow_threshold(np.float32), 3)
        88.723

    HINTS:
        - `np.issubdtype` with `np.floating` tells floating dtypes from the rest.
    """
    # BEGIN SOLUTION
    dt = np.dtype(dtype)
    if not np.issubdtype(dt, np.floating):
        raise ValueError(f"exp_overflow_threshold: dtype must be a floating dtype; got {dt}")
    return float(np.log(np.float64(np.finfo(dt).max)))
    # END SOLUTION
