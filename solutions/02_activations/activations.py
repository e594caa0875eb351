"""Module 02: activations, the nonlinearities between layers.

What you build
    Sigmoid, ReLU, Tanh, GELU and Softmax: five element-wise (or row-wise) functions that take
    a Tensor and return a new Tensor of the same shape and dtype. Forward only for now; module 05
    gives each of them a backward rule.

Why it matters
    A stack of Linear layers without a nonlinearity between them collapses into one Linear
    layer: W2 @ (W1 @ x) = (W2 @ W1) @ x. Activations are what let depth buy expressiveness.
    They are also where numerics bite first: exp(1000) overflows to inf, and inf / inf is nan.
    Every function here must give finite, correct answers for inputs like +-1000.

Who uses it later
    03 layers    Sequential(Linear, ReLU, Linear, ...) and the He init chosen for ReLU
    04 losses    log_softmax is Softmax done in log space
    05 autograd  a backward rule beside each forward written here
    13 GPT       GELU in every MLP block, Softmax in every attention head

    function   output range         at 0    x -> -inf    x -> +inf
    Sigmoid    (0, 1)               0.5     0            1
    ReLU       [0, inf)             0       0            x
    Tanh       (-1, 1)              0       -1           1
    GELU       [~-0.17, inf)        0       0            x
    Softmax    (0, 1), each slice along `dim` sums to 1

Every forward follows the same three steps: check the input is a Tensor, compute on its NumPy
array `x.data`, and wrap the result in a new Tensor with the input's dtype.

Each activation class is followed by its `...Backward` class, named in its
`@graph_op(lambda: ...)`: that backward rule is module 05's work, skip it for now.
"""

from __future__ import annotations

import math

import numpy as np

from tinytorch.core.tensor import Function, Tensor, _wrap, graph_op

# GELU, tanh approximation (Hendrycks and Gimpel, 2016; the form GPT-2 uses):
#   GELU(x) ~= 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
GELU_SCALE = math.sqrt(2.0 / math.pi)   # ~0.7978845608
GELU_CUBIC = 0.044715

SIGMOID_SATURATION_THRESHOLD = 0.01     # sigmoid'(x) below this counts as "saturated"
SIGMOID_MAX_DERIVATIVE = 0.25           # sigmoid'(0) = 0.5 * (1 - 0.5), the largest it gets


def _check_tensor(x, who: str) -> None:
    """Raise a TypeError naming `who` and the type received unless `x` is a Tensor (given)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{who} expects a Tensor, got {type(x).__name__}")


def _like(values: np.ndarray, x: Tensor) -> Tensor:
    """Wrap a NumPy result in a Tensor with the same dtype as the input `x` (given).

    `values` is a fresh result (np.maximum, np.exp, ...): it becomes the Tensor's array without
    the constructor's copy, unless it is x's own array, which must never be shared.
    """
    array = np.asarray(values).astype(x.dtype, copy=False)
    return Tensor(array) if array is x.data else _wrap(array)


class Sigmoid:
    """sigmoid(x) = 1 / (1 + exp(-x)): squashes any real number into (0, 1).

    Used for probabilities of a yes/no outcome (with BinaryCrossEntropyLoss) and for gates.
    """

    @graph_op(lambda: SigmoidBackward, inputs=("x",))
    def forward(self, x: Tensor) -> Tensor:
        """Apply the sigmoid element-wise, without overflow for inputs of any size.

        TODO: return sigmoid(x) as a new Tensor of the same shape and dtype as `x`.

        APPROACH:
            1. Check the input with the given `_check_tensor` (name "Sigmoid"): a non-Tensor
               gets a TypeError naming the layer.
            2. The textbook formula 1 / (1 + exp(-x)) computes exp(1000) for x = -1000: an
               overflow. Use only exp of a value <= 0, which lies in (0, 1]:
                   e = exp(-|x|)
                   x >= 0:  sigmoid(x) = 1 / (1 + e)
                   x <  0:  sigmoid(x) = e / (1 + e)      (the same number, rearranged)
            3. Wrap the result with the given `_like`, which keeps the input's dtype.

        EXAMPLE:
            >>> Sigmoid()(Tensor([-1000.0, 0.0, 2.0])).data
            array([0.      , 0.5     , 0.880797], dtype=float32)

        HINTS:
            - np.where(cond, a, b) picks element-wise; both a and b are computed everywhere,
              so both must be safe everywhere.
        """
        # BEGIN SOLUTION
        _check_tensor(x, "Sigmoid")
        e = np.exp(-np.abs(x.data))                  # in (0, 1]: never overflows
        return _like(np.where(x.data >= 0, 1.0 / (1.0 + e), e / (1.0 + e)), x)
        # END SOLUTION

    def __call__(self, x: Tensor) -> Tensor:
        return self.forward(x)

    def parameters(self) -> list:
        """Activations have no trainable parameters."""
        return []


class SigmoidBackward(Function):
    """out = sigmoid(x)  ->  dx = grad * out * (1 - out)   (module 05)."""

    def backward(self, grad):
        """TODO (module 05): Return (dL/dx,) for out = sigmoid(x).

        APPROACH: sigmoid'(x) = s * (1 - s) with s = sigmoid(x), which the forward already
        computed: it is `self.output`. No exp needed.

        EXAMPLE: x = 0 -> s = 0.5 -> dx = grad * 0.25.

        HINTS:
            - Reusing the saved output is why the forward's result is kept in the graph.
        """
        # BEGIN SOLUTION 05
        s = self.output
        return (grad * s * (1.0 - s),)
        # END SOLUTION


class ReLU:
    """relu(x) = max(0, x): the default hidden-layer activation since AlexNet (2012).

    Cheap (one comparison), and its gradient is exactly 1 for every positive input, so it does
    not shrink signals the way a saturated sigmoid does.
    """

    @graph_op(lambda: ReLUBackward, inputs=("x",))
    def forward(self, x: Tensor) -> Tensor:
        """Apply max(0, x) element-wise.

        TODO: return a new Tensor, same shape and dtype as `x`, with negatives replaced by 0.

        APPROACH: Check the input as Sigmoid does (name "ReLU"); take the element-wise
        maximum of the array and 0; wrap it with `_like`.

        EXAMPLE:
            >>> ReLU()(Tensor([[-2.0, 0.0, 3.0]])).data
            array([[0., 0., 3.]], dtype=float32)

        HINTS:
            - NumPy's `maximum` is element-wise; its `max` is a reduction over the array.
            - Do not modify x.data in place: the caller still owns that array.
        """
        # BEGIN SOLUTION
        _check_tensor(x, "ReLU")
        return _like(np.maximum(x.data, 0), x)
        # END SOLUTION

    def __call__(self, x: Tensor) -> Tensor:
        return self.forward(x)

    def parameters(self) -> list:
        """Activations have no trainable parameters."""
        return []


class ReLUBackward(Function):
    """out = max(0, x)  ->  dx = grad where x > 0, else 0   (module 05)."""

    def backward(self, grad):
        """TODO (module 05): Return (dL/dx,) for out = relu(x).

        APPROACH: relu'(x) is 1 for x > 0 and 0 otherwise (take 0 at exactly 0, as PyTorch
        does): grad passes where the saved input was positive and is 0 elsewhere.

        EXAMPLE: x [-1, 2], grad [5, 5] -> dx [0, 5].

        HINTS:
            - Keep grad's dtype: multiply by the boolean mask, do not build a float64 mask.
        """
        # BEGIN SOLUTION 05
        return (grad * (self.saved_tensors[0] > 0),)
        # END SOLUTION


class Tanh:
    """tanh(x) = (e^x - e^-x) / (e^x + e^-x): like sigmoid but centred on 0, range (-1, 1).

    tanh(x) = 2 * sigmoid(2x) - 1, so it saturates just like sigmoid does.
    """

    @graph_op(lambda: TanhBackward, inputs=("x",))
    def forward(self, x: Tensor) -> Tensor:
        """Apply tanh element-wise.

        TODO: return tanh(x) as a new Tensor of the same shape and dtype as `x`.

        APPROACH: Check the input (name "Tanh"); NumPy's tanh is already stable for large
        |x| (the quotient above is not: inf / inf); wrap the result with `_like`.

        EXAMPLE:
            >>> Tanh()(Tensor([-1000.0, 0.0, 1.0])).data
            array([-1.       ,  0.       ,  0.7615942], dtype=float32)

        HINTS:
            - One line of NumPy; the point is to know which formula not to write.
        """
        # BEGIN SOLUTION
        _check_tensor(x, "Tanh")
        return _like(np.tanh(x.data), x)
        # END SOLUTION

    def __call__(self, x: Tensor) -> Tensor:
        return self.forward(x)

    def parameters(self) -> list:
        """Activations have no trainable parameters."""
        return []


class TanhBackward(Function):
    """out = tanh(x)  ->  dx = grad * (1 - out^2)   (module 05)."""

    def backward(self, grad):
        """TODO (module 05): Return (dL/dx,) for out = tanh(x).

        APPROACH: tanh'(x) = 1 - tanh(x)^2; tanh(x) is `self.output`.

        EXAMPLE: x = 0 -> dx = grad.

        HINTS:
            - Like sigmoid, tanh's derivative vanishes for large |x|.
        """
        # BEGIN SOLUTION 05
        t = self.output
        return (grad * (1.0 - t * t),)
        # END SOLUTION


class GELU:
    """Gaussian Error Linear Unit, tanh approximation: the activation of BERT and GPT.

        GELU(x) = 0.5 * x * (1 + tanh(GELU_SCALE * (x + GELU_CUBIC * x^3)))

    A smooth ReLU: close to x for large positive x, close to 0 for large negative x, and
    slightly negative (minimum about -0.17) just left of 0.
    """

    @graph_op(lambda: GELUBackward, inputs=("x",))
    def forward(self, x: Tensor) -> Tensor:
        """Apply the tanh approximation of GELU element-wise.

        TODO: return GELU(x) as a new Tensor of the same shape and dtype as `x`.

        APPROACH: Check the input (name "GELU"), evaluate the formula of the class
        docstring on the array, element-wise, and wrap the result with `_like`.

        EXAMPLE:
            >>> GELU()(Tensor([-1.0, 0.0, 1.0])).data
            array([-0.158808,  0.      ,  0.841192], dtype=float32)

        HINTS:
            - Use the named constants, not retyped digits.
            - tanh saturates to exactly +-1, so large |x| is safe here without extra care.
            - Cube by multiplying: on a float32 array NumPy's power with exponent 3 runs a
              general pow routine, about 50x slower than two multiplications (it is the
              slowest line of a GPT's training step if you leave it).
        """
        # BEGIN SOLUTION
        _check_tensor(x, "GELU")
        v = x.data
        inner = GELU_SCALE * (v + GELU_CUBIC * (v * v * v))          # not v ** 3: see HINTS
        return _like(0.5 * v * (1.0 + np.tanh(inner)), x)
        # END SOLUTION

    def __call__(self, x: Tensor) -> Tensor:
        return self.forward(x)

    def parameters(self) -> list:
        """Activations have no trainable parameters."""
        return []


class GELUBackward(Function):
    """out = GELU(x), tanh approximation  ->  dx = grad * GELU'(x)   (module 05)."""

    def backward(self, grad):
        """TODO (module 05): Return (dL/dx,) for the tanh approximation of GELU.

        APPROACH: Write GELU(x) = 0.5 x (1 + t) with t = tanh(u) and
        u = GELU_SCALE (x + GELU_CUBIC x^3). The product rule gives two terms,
        (0.5 x)' (1 + t) and 0.5 x t'; the chain rule gives t' = (1 - t^2) u'(x), and u'
        you differentiate by hand. Multiply GELU'(x) by grad.

        EXAMPLE: GELU'(0) = 0.5.

        HINTS:
            - Recompute t from x = `self.saved_tensors[0]`; the forward's output is not t.
        """
        # BEGIN SOLUTION 05
        x = self.saved_tensors[0]
        x2 = x * x
        t = 1.0 + GELU_CUBIC * x2                   # in place from here: a GPT's MLP holds
        t *= GELU_SCALE * x                         # millions of these, and every temporary
        np.tanh(t, out=t)                           # array costs a pass over memory
        slope = 1.0 + 3.0 * GELU_CUBIC * x2         # u'(x) / GELU_SCALE
        slope *= (0.5 * GELU_SCALE) * x
        slope *= 1.0 - t * t
        t += 1.0
        t *= 0.5
        slope += t
        slope *= grad
        return (slope,)
        # END SOLUTION


class Softmax:
    """softmax(x)_i = exp(x_i) / sum_j exp(x_j) along one dimension: scores -> probabilities.

    Every slice along `dim` of the output is positive and sums to 1. Default dim=-1 (the last
    axis), as for a (batch, classes) tensor of logits:

        logits (2, 3)           softmax(dim=-1)            each row sums to 1
        [[1, 2, 3],     --->    [[0.09, 0.24, 0.67],
         [1, 1, 1]]              [0.33, 0.33, 0.33]]
    """

    def __init__(self, dim: int = -1):
        self.dim = dim

    @graph_op(lambda: SoftmaxBackward, inputs=("x",))
    def forward(self, x: Tensor) -> Tensor:
        """Softmax along self.dim, stable for large inputs.

        TODO: return softmax(x) along self.dim, same shape and dtype as `x`.

        APPROACH:
            1. Check the input (name "Softmax").
            2. Valid dims are -ndim .. ndim-1; otherwise an IndexError such as
               "Softmax(dim=2) is out of range for a tensor with ndim=2".
            3. Subtract the max along dim. softmax(x) = softmax(x - c) for any constant c,
               and after the shift the largest exponent is exp(0) = 1: no overflow, and the
               sum is at least 1: no division by 0.
            4. exp, then divide by the sum along dim; wrap the result with `_like`.

        EXAMPLE:
            >>> Softmax(dim=-1)(Tensor([[1000.0, 1000.0], [0.0, -1000.0]])).data
            array([[0.5, 0.5],
                   [1. , 0. ]], dtype=float32)

        HINTS:
            - Reduce with keepdims=True: the max (and the sum) keep size 1 along dim, so
              they broadcast back against x.
        """
        # BEGIN SOLUTION
        _check_tensor(x, "Softmax")
        if not -x.ndim <= self.dim < x.ndim:
            raise IndexError(f"Softmax(dim={self.dim}) is out of range for a tensor with ndim={x.ndim}")
        e = x.data - np.max(x.data, axis=self.dim, keepdims=True)         # max along dim is 0
        np.exp(e, out=e)                                                   # in (0, 1], in place
        e /= np.sum(e, axis=self.dim, keepdims=True)
        return _like(e, x)
        # END SOLUTION

    def __call__(self, x: Tensor) -> Tensor:
        return self.forward(x)

    def parameters(self) -> list:
        """Activations have no trainable parameters."""
        return []


class SoftmaxBackward(Function):
    """out = softmax(x, dim)  ->  dx = out * (grad - sum(grad * out, dim))   (module 05)."""

    def backward(self, grad):
        """TODO (module 05): Return (dL/dx,) for out = softmax(x) along `dim`.

        APPROACH: Each output depends on every input of its slice: ds_j/dx_i = s_j (d_ij - s_i).
        The chain rule sums over the slice, dx_i = sum_j g_j ds_j/dx_i (g = grad); worked
        out by hand it is s_i times (g_i minus one number per slice: the sum of g weighted
        by s). So no Jacobian is built: one weighted sum per slice along `dim`, broadcast
        back. s is the saved output; `dim` is an attribute of the Softmax layer, which
        graph_op recorded as `self.params["module"]`.

        EXAMPLE: a constant grad gives dx = 0: adding a constant to every score changes nothing.

        HINTS:
            - The Jacobian of a (B, C) softmax would be B * C * C numbers; this is B * C.
        """
        # BEGIN SOLUTION 05
        s = self.output
        dim = self.params["module"].dim
        gs = grad * s                                                      # one temporary
        gs -= s * np.sum(gs, axis=dim, keepdims=True)                      # s*g - s*sum(g*s)
        return (gs,)
        # END SOLUTION


# ---------------------------------------------------------------------------------------------
# Systems questions: numbers that explain how these functions behave inside a network.
# ---------------------------------------------------------------------------------------------


def relu_zero_fraction(x) -> float:
    """Fraction of ReLU's outputs that are exactly zero for input `x` (a Tensor or an array).

    Why it matters: a zero output passes no signal forward and (module 05) no gradient back.
    For zero-mean pre-activations about half the units are off on any one input, which is fine;
    but a unit whose input is negative for *every* example is "dead" and never learns again
    (too large a learning rate or a large negative bias does it). Zeros are also an
    opportunity: sparse activations can be stored and multiplied more cheaply (module 18).

    TODO: return (number of outputs of ReLU(x) equal to 0) / (number of elements) as a float.

    APPROACH:
        1. Work on the array: a Tensor's own, or the input converted by NumPy.
        2. An empty input has no fraction: raise ValueError saying it is empty.
        3. ReLU outputs 0 exactly where the input is <= 0. Count those, divide by the size.

    EXAMPLE:
        >>> relu_zero_fraction(Tensor([-1.0, 0.0, 2.0, 3.0]))
        0.5

    HINTS:
        - np.mean of a boolean array is the fraction of True values.
        - Return a Python float (float(...)), not a NumPy scalar or a Tensor.
    """
    # BEGIN SOLUTION
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if data.size == 0:
        raise ValueError("relu_zero_fraction: the input is empty (size 0), so there is no fraction")
    return float(np.mean(data <= 0))
    # END SOLUTION


def sigmoid_saturation(x, threshold: float = SIGMOID_SATURATION_THRESHOLD) -> float:
    """Fraction of inputs where sigmoid's derivative s * (1 - s) is below `threshold`.

    Why it matters: backpropagation multiplies the gradient by sigmoid'(x) = s(1 - s) at every
    sigmoid layer. That factor is at most 0.25 (at x = 0), so ten sigmoid layers shrink the
    gradient by at least 0.25**10 ~ 1e-6; and where |x| is large, s(1 - s) is almost 0 (for
    |x| > ~4.6 it is below 0.01), so that unit's gradient all but vanishes. This is why deep
    sigmoid networks train slowly and why hidden layers use ReLU/GELU instead.

    TODO: return the fraction of elements of `x` where s * (1 - s) < threshold, s = sigmoid(x).

    APPROACH:
        1. threshold must be > 0; otherwise raise ValueError naming it.
        2. Take the array as relu_zero_fraction does; empty -> ValueError.
        3. s = sigmoid of the array (reuse Sigmoid, or the same stable formula), in float64.
        4. Return the fraction of s * (1 - s) < threshold as a Python float.

    EXAMPLE:
        >>> sigmoid_saturation(Tensor([0.0, 1.0, 10.0, -10.0]))     # s(1-s): .25, .20, 4.5e-5, 4.5e-5
        0.5

    HINTS:
        - A threshold above SIGMOID_MAX_DERIVATIVE makes every input count as saturated.
    """
    # BEGIN SOLUTION
    if not threshold > 0:
        raise ValueError(f"sigmoid_saturation: threshold must be > 0, got {threshold}")
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if data.size == 0:
        raise ValueError("sigmoid_saturation: the input is empty (size 0), so there is no fraction")
    s = Sigmoid()(Tensor(data.astype(np.float64))).data
    return float(np.mean(s * (1.0 - s) < threshold))
    # END SOLUTION
