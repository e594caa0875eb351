"""Module 06: optimizers, the rules that turn gradients into better parameters.

What you build
    Optimizer   the base class: holds the list of parameters, `zero_grad()` clears their
                gradients, `step()` (defined by each subclass) updates them
    SGD         p -= lr * g, with optional momentum and L2 weight decay (PyTorch's semantics)
    Adam        per-element step sizes from running means of g and g^2, bias-corrected
    AdamW       Adam with decoupled weight decay: shrink p directly, not through the gradient

Why it matters
    Module 05 tells you which way is downhill (p.grad); an optimizer decides how far to go.
    Plain SGD takes the same step size on every parameter. Momentum keeps a running velocity,
    so it rolls through flat regions and damps zig-zags across narrow valleys. Adam divides each
    element's step by the root of its recent squared gradients, so rarely-updated and
    steep parameters both move at a sensible speed; it is the default for transformers.

    The training step that every later module runs:

        optimizer.zero_grad()          # p.grad = None for every p: gradients accumulate otherwise
        loss = loss_fn(model(x), y)
        loss.backward()                # fills p.grad (module 05)
        optimizer.step()               # p.data -= ... IN PLACE, for every p with a gradient

    In place matters: the model and the optimizer hold the same Tensor objects, and a step
    that rebinds `p = p - lr * g` would change a local name and leave the model untouched.
    `p.data -= lr * g` writes into the array both of them see, and builds no graph.

Who uses it later
    07 training     Trainer(model, Adam(model.parameters()), loss_fn) runs the step above
    milestones      MNIST MLP and CIFAR CNN (SGD with momentum or Adam), TinyGPT (AdamW)

The systems angle
    An optimizer's state is memory: SGD keeps nothing, momentum one array per parameter, Adam
    two. With the parameters and their gradients, training a model with Adam holds four copies
    of every weight (`training_memory_bytes`): a 7-billion-parameter model in float32 needs
    112 GB before a single activation is stored.

Conventions
    * Every update writes into `p.data` in place and keeps its dtype (float32 stays float32).
    * A parameter whose `.grad` is None is skipped: no update, and no state is created for it.
    * The state of a parameter (velocity, moments) is an array of the parameter's shape and dtype.
"""

from __future__ import annotations

import math

import numpy as np

from tinytorch.core.tensor import Tensor

DEFAULT_SGD_LR = 0.01           # SGD(params) without lr
DEFAULT_ADAM_LR = 0.001         # Adam / AdamW without lr: the value from the Adam paper
DEFAULT_BETAS = (0.9, 0.999)    # decay rates of Adam's first (mean) and second (mean of g^2) moments
DEFAULT_EPS = 1e-8              # added to sqrt(v_hat): no division by zero where g has been 0
DEFAULT_ADAMW_WEIGHT_DECAY = 0.01
OPTIMIZER_NAMES = ("sgd", "sgd_momentum", "adam", "adamw")   # the names the systems functions know


# ---------------------------------------------------------------------------------------------
# Given helpers (read, do not change)
# ---------------------------------------------------------------------------------------------


def _check_hyper(who: str, name: str, value, low: float, high: float = math.inf,
                 high_inclusive: bool = False, low_inclusive: bool = True) -> float:
    """`value` as a float, or an error naming `who`, `name` and the value (given).

    A real number (not a bool) is required: TypeError otherwise. It must lie in the interval
    from `low` to `high` (each end included or not as asked): ValueError otherwise, also for nan.

        >>> _check_hyper("SGD", "lr", -0.1, 0.0)
        ValueError: SGD: lr must be >= 0.0; got -0.1
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{who}: {name} must be a number; got {type(value).__name__} {value!r}")
    value = float(value)
    above = value >= low if low_inclusive else value > low
    below = value <= high if high_inclusive else value < high
    if not (above and below):
        left = "[" if low_inclusive else "("
        right = "]" if high_inclusive else ")"
        if high == math.inf:
            rule = f"{'>=' if low_inclusive else '>'} {low}"
        else:
            rule = f"in {left}{low}, {high}{right}"
        raise ValueError(f"{who}: {name} must be {rule}; got {value}")
    return value


def _grad_of(who: str, index: int, p: Tensor):
    """The gradient of parameter `index` as an array of p's dtype, or None if it has none (given).

    Accepts a Tensor or an np.ndarray in p.grad. A gradient of another shape than its parameter
    is always a bug upstream, so it raises a ValueError naming both shapes instead of letting
    NumPy broadcast it silently into the update.
    """
    if p.grad is None:
        return None
    g = np.asarray(p.grad.data if isinstance(p.grad, Tensor) else p.grad)
    if g.shape != p.data.shape:
        raise ValueError(
            f"{who}: parameter {index} has shape {p.data.shape} but its grad has shape {g.shape}"
        )
    return g.astype(p.data.dtype, copy=False)


# ---------------------------------------------------------------------------------------------
# Optimizer: the base class
# ---------------------------------------------------------------------------------------------


class Optimizer:
    """Base class of every optimizer: the parameters, zero_grad(), and an abstract step().

        model = Sequential(Linear(4, 8), ReLU(), Linear(8, 2))
        opt = SGD(model.parameters(), lr=0.1)
        opt.params          # [L0.weight, L0.bias, L2.weight, L2.bias]: the very same Tensors

    A subclass calls `super().__init__(params)`, checks and stores its hyper-parameters (as
    attributes: `self.lr` can be changed between steps, which is how a learning-rate schedule in
    module 07 works) and defines `step()`.
    """

    def __init__(self, params):
        """Store the parameters to optimize as a list, after checking them.

        TODO: set self.params to a list of the Tensors in `params`, with clear errors for
              anything else.

        APPROACH:
            1. A single Tensor is a common mistake (Optimizer(layer.weight) instead of
               Optimizer([layer.weight]) or Optimizer(model.parameters())): raise
               TypeError("Optimizer: params must be an iterable of Tensors such as
               model.parameters(); got a single Tensor").
            2. Make a list of params, once; something that is not iterable: a TypeError
               naming the type received.
            3. An empty list: a ValueError starting "Optimizer: got an empty list of
               parameters". (Usually a model whose parameters() is wrong: better to stop
               here than to train nothing for an hour.)
            4. Each item must be a Tensor: otherwise a TypeError naming its index and type,
               e.g. "Optimizer: params[2] is a ndarray, not a Tensor".
            5. The same Tensor twice would be updated twice per step: a ValueError naming
               both indices, e.g. "Optimizer: params[0] and params[3] are the same Tensor".
            6. Store the list as `self.params`.

        EXAMPLE:
            >>> w = Tensor([1.0, 2.0], requires_grad=True)
            >>> Optimizer([w]).params[0] is w
            True
            >>> Optimizer([])
            ValueError: Optimizer: got an empty list of parameters ...

        HINTS:
            - Compare Tensors by identity (`id(t)` or `is`), never `==` (element-wise).
            - Remember the first index of each Tensor's id: a repeat then names both.
            - Read params once: model.parameters() may be a generator that can be read only once.
        """
        # BEGIN SOLUTION
        if isinstance(params, Tensor):
            raise TypeError("Optimizer: params must be an iterable of Tensors such as "
                            "model.parameters(); got a single Tensor")
        try:
            params = list(params)
        except TypeError:
            raise TypeError("Optimizer: params must be an iterable of Tensors such as "
                            f"model.parameters(); got {type(params).__name__}") from None
        if not params:
            raise ValueError("Optimizer: got an empty list of parameters; is model.parameters() "
                             "finding the model's Tensors?")
        first_index: dict[int, int] = {}
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"Optimizer: params[{i}] is a {type(p).__name__}, not a Tensor")
            if id(p) in first_index:
                raise ValueError(f"Optimizer: params[{first_index[id(p)]}] and params[{i}] "
                                 f"are the same Tensor; list each parameter once")
            first_index[id(p)] = i
        self.params = params
        # END SOLUTION

    def zero_grad(self) -> None:
        """Forget the gradients of every parameter: set p.grad = None.

        Why: backward() ADDS into .grad (module 05), so that a parameter used twice gets both
        contributions. The price is that gradients of the previous batch are still there at the
        next backward unless you clear them, once per step.

        TODO: set .grad to None on every Tensor of self.params.

        EXAMPLE:
            >>> w = Tensor([1.0], requires_grad=True); w.grad = Tensor([0.5])
            >>> opt = SGD([w]); opt.zero_grad(); w.grad is None
            True

        HINTS:
            - None, not a Tensor of zeros: it costs no memory, and step() then skips p.
        """
        # BEGIN SOLUTION
        for p in self.params:
            p.grad = None
        # END SOLUTION

    def step(self) -> None:
        """Update every parameter that has a gradient (defined by each subclass; given)."""
        raise NotImplementedError(f"{type(self).__name__} must define step()")


# ---------------------------------------------------------------------------------------------
# SGD with momentum and weight decay
# ---------------------------------------------------------------------------------------------


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum and L2 weight decay.

    For each parameter p with gradient g, at every step (PyTorch's torch.optim.SGD):

        g = g + weight_decay * p            L2 penalty (weight_decay / 2) * |p|^2, through g
        v = g                               first step of p (momentum > 0)
        v = momentum * v + g                later steps
        p = p - lr * v                      (with momentum = 0: p = p - lr * g, no v kept)

    Momentum as a ball rolling downhill: v is a running sum of past gradients, decayed by
    `momentum` per step. Along a direction where g keeps its sign, steps grow up to
    1 / (1 - momentum) times (10x for 0.9); across a valley, where g flips sign, they cancel.
    """

    def __init__(self, params, lr: float = DEFAULT_SGD_LR, momentum: float = 0.0,
                 weight_decay: float = 0.0):
        """Check and store the hyper-parameters; no velocity exists before the first step.

        TODO: call the base __init__, check lr, momentum and weight_decay, store them as
              self.lr, self.momentum, self.weight_decay, and prepare one empty velocity slot per
              parameter (self.velocities).

        APPROACH:
            1. Let the base class check and store the parameters.
            2. Check each hyper-parameter with the given `_check_hyper` (who "SGD"), which
               returns it as a float: lr >= 0; 0 <= momentum < 1 (momentum 1 never forgets
               a gradient); weight_decay >= 0.
            3. `velocities`: one slot per parameter, same index as in `self.params`, empty
               (None) until that parameter's first step.

        EXAMPLE:
            >>> opt = SGD([Tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.9)
            >>> opt.lr, opt.momentum, opt.velocities
            (0.1, 0.9, [None])
            >>> SGD([w], lr=-1)
            ValueError: SGD: lr must be >= 0.0; got -1.0

        HINTS:
            - _check_hyper(who, name, value, low, high) is given above; its high end is
              excluded unless high_inclusive=True.
        """
        # BEGIN SOLUTION
        super().__init__(params)
        self.lr = _check_hyper("SGD", "lr", lr, 0.0)
        self.momentum = _check_hyper("SGD", "momentum", momentum, 0.0, 1.0)
        self.weight_decay = _check_hyper("SGD", "weight_decay", weight_decay, 0.0)
        self.velocities = [None] * len(self.params)
        # END SOLUTION

    def step(self) -> None:
        """One SGD update of every parameter that has a gradient, in place.

        TODO: apply the update rule of the class docstring to each p in self.params whose
              grad is not None; leave the others (and their velocity slot) untouched.

        APPROACH: For each parameter, in order (its index finds its velocity):
            1. Its gradient as an array of its dtype comes from the given `_grad_of` (which
               also checks the shape); None means no gradient: skip the parameter.
            2. With weight decay, add the L2 term to the gradient, into a new array.
            3. With momentum, the step direction is the velocity: the first step's velocity
               is the gradient itself (a copy), later ones follow the class docstring's
               rule. Store it back in its slot. Without momentum, the direction is the
               gradient and no velocity is kept.
            4. Move the parameter against the direction, scaled by lr, writing into its
               array in place (the model holds the same Tensor).

        EXAMPLE:
            >>> w = Tensor([1.0], requires_grad=True)
            >>> opt = SGD([w], lr=0.1, momentum=0.9)
            >>> w.grad = Tensor([1.0]); opt.step(); w.data        # v = 1
            array([0.9], dtype=float32)
            >>> w.grad = Tensor([1.0]); opt.step(); w.data        # v = 0.9 * 1 + 1 = 1.9
            array([0.71], dtype=float32)

        HINTS:
            - An augmented `+=` on the array from _grad_of would write into p.grad's own
              data when the dtypes match: build a new array instead.
            - Copy g when it becomes the first velocity: the velocity must not be the same
              array as the gradient, which the caller may change or clear.
        """
        # BEGIN SOLUTION
        for i, p in enumerate(self.params):
            g = _grad_of("SGD", i, p)
            if g is None:
                continue
            if self.weight_decay:
                g = g + self.weight_decay * p.data                   # L2 through the gradient
            if self.momentum:
                v = self.velocities[i]
                v = g.copy() if v is None else self.momentum * v + g
                self.velocities[i] = v
                g = v
            p.data -= self.lr * g                                    # in place, keeps the dtype
        # END SOLUTION


# ---------------------------------------------------------------------------------------------
# Adam and AdamW
# ---------------------------------------------------------------------------------------------


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015): a step per element from running moments of the gradient.

    For each parameter p with gradient g; t counts the steps of THIS parameter (1, 2, ...):

        g     = g + weight_decay * p                 L2 through the gradient (as in SGD)
        m     = beta1 * m + (1 - beta1) * g          running mean of g        (m starts at 0)
        v     = beta2 * v + (1 - beta2) * g^2        running mean of g^2      (v starts at 0)
        m_hat = m / (1 - beta1^t)                    bias correction: m and v start at 0, so
        v_hat = v / (1 - beta2^t)                    early averages are too small; this undoes it
        p     = p - lr * m_hat / (sqrt(v_hat) + eps)

    Bias correction at t = 1 with beta1 = 0.9: m = 0.1 * g, and m_hat = 0.1 * g / 0.1 = g.
    Without it the first steps would be about 10x (m) and 31x (sqrt v) off. The step size is
    about lr whatever the scale of g: m_hat / sqrt(v_hat) is about +-1 for a steady gradient.
    """

    def __init__(self, params, lr: float = DEFAULT_ADAM_LR, betas=DEFAULT_BETAS,
                 eps: float = DEFAULT_EPS, weight_decay: float = 0.0):
        """Check and store the hyper-parameters; prepare empty per-parameter state.

        TODO: call the base __init__, check and store self.lr, self.betas (a tuple of two
              floats), self.eps and self.weight_decay, and create one empty slot per parameter
              in self.m, self.v (the moments) and self.steps (the step count t of each).

        APPROACH:
            1. Let the base class check and store the parameters.
            2. With `_check_hyper`: lr >= 0; betas a tuple or list of exactly two numbers
               (ValueError otherwise, naming what was given), each in [0, 1): beta = 1 would
               never update the average; eps > 0 (its low end excluded); weight_decay >= 0.
               Name the class of `self` in messages, so that AdamW's errors say AdamW.
            3. Per parameter, by index: a first and a second moment, empty (None) until its
               first step, and a step count starting at 0.

        EXAMPLE:
            >>> opt = Adam([w], lr=0.01)
            >>> opt.betas, opt.eps, opt.steps
            ((0.9, 0.999), 1e-08, [0])
            >>> Adam([w], betas=(0.9, 1.0))
            ValueError: Adam: beta2 must be in [0.0, 1.0); got 1.0

        HINTS:
            - Name the betas "beta1" and "beta2" in messages.
        """
        # BEGIN SOLUTION
        super().__init__(params)
        who = type(self).__name__
        self.lr = _check_hyper(who, "lr", lr, 0.0)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{who}: betas must be a pair (beta1, beta2); got {betas!r}")
        self.betas = (_check_hyper(who, "beta1", betas[0], 0.0, 1.0),
                      _check_hyper(who, "beta2", betas[1], 0.0, 1.0))
        self.eps = _check_hyper(who, "eps", eps, 0.0, low_inclusive=False)
        self.weight_decay = _check_hyper(who, "weight_decay", weight_decay, 0.0)
        n = len(self.params)
        self.m = [None] * n          # first moments, created at a parameter's first step
        self.v = [None] * n          # second moments
        self.steps = [0] * n         # t of each parameter
        # END SOLUTION

    def _adam_update(self, i: int, p: Tensor, g: np.ndarray) -> None:
        """Update the moments of params[i] with gradient g, then p itself, in place.

        The part Adam and AdamW share (everything but the weight decay).

        TODO: lines 2-6 of the class docstring for one parameter: create m and v at its first
              step, count the step, update m and v, bias-correct, move p.

        APPROACH:
            1. At the parameter's first step, create its two moments: zeros of p's shape and
               dtype.
            2. Count the step: t is this parameter's own step number, from 1.
            3. Update both moments by the class docstring's rules, in place (see HINTS).
            4. Bias-correct, and move p by the class docstring's last line, in place.

        EXAMPLE:
            >>> w = Tensor([1.0], requires_grad=True); opt = Adam([w], lr=0.1)
            >>> w.grad = Tensor([4.0]); opt.step(); w.data     # m_hat = 4, v_hat = 16: step 0.1
            array([0.9], dtype=float32)

        HINTS:
            - `np.zeros_like` copies shape and dtype: float32 state for float32 weights.
            - The step count is per parameter: one that had no gradient for a while has taken
              fewer steps, and its bias correction must say so.
            - Why in place: every `a * b` allocates a new array of the parameter's size. For a
              (784, 128) weight that is 400 KB per temporary, and ten of them per step cost
              more than the arithmetic (the memory has to be mapped and zeroed each time).
              Augmented assignments (`*=`, `+=`, `/=`) on the stored arrays write into them.
              The bias corrections c1 = 1 - beta1^t and c2 = 1 - beta2^t are scalars: fold
              them into the scalars (lr over c1, sqrt(v) over sqrt(c2)) and no array-sized
              m_hat or v_hat is ever built.
        """
        # BEGIN SOLUTION
        if self.m[i] is None:
            self.m[i] = np.zeros_like(p.data)
            self.v[i] = np.zeros_like(p.data)
        self.steps[i] += 1
        t = self.steps[i]
        beta1, beta2 = self.betas
        m, v = self.m[i], self.v[i]
        m *= beta1
        m += (1.0 - beta1) * g                                         # beta1 m + (1 - beta1) g
        v *= beta2
        v += (1.0 - beta2) * (g * g)                                   # beta2 v + (1 - beta2) g^2
        denom = np.sqrt(v)
        denom /= math.sqrt(1.0 - beta2 ** t)                           # sqrt(v_hat)
        denom += self.eps
        step = m / denom
        step *= self.lr / (1.0 - beta1 ** t)                           # lr * m_hat / (...)
        p.data -= step
        # END SOLUTION

    def step(self) -> None:
        """One Adam update of every parameter that has a gradient.

        TODO: for each parameter with a gradient, add the L2 term (weight_decay * p) to the
              gradient, then call self._adam_update.

        APPROACH: For each parameter, by index: get its gradient with `_grad_of` (named
        after the class); none -> skip it (no state is created, its step count does not
        move). With weight decay, add the L2 term into a new gradient array, as SGD does.
        Then `_adam_update` does the rest.

        EXAMPLE:
            >>> a, b = Tensor([1.0], requires_grad=True), Tensor([1.0], requires_grad=True)
            >>> opt = Adam([a, b]); a.grad = Tensor([1.0]); opt.step()
            >>> opt.steps, b.data                 # b had no grad: untouched, no state
            ([1, 0], array([1.], dtype=float32))

        HINTS:
            - In Adam the L2 term goes through m and v, so it is divided by sqrt(v_hat) like
              the rest of the gradient: weights with large gradients are barely decayed.
              That is the flaw AdamW fixes.
        """
        # BEGIN SOLUTION
        for i, p in enumerate(self.params):
            g = _grad_of(type(self).__name__, i, p)
            if g is None:
                continue
            if self.weight_decay:
                g = g + self.weight_decay * p.data                   # coupled: goes through m, v
            self._adam_update(i, p, g)
        # END SOLUTION


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), the default for transformers.

    For each parameter p with gradient g:

        p = p - lr * weight_decay * p        shrink p directly, before the update
        then Adam's update with g itself     (g is NOT given a weight_decay * p term)

    In Adam with weight_decay, the decay term passes through m and v and ends up divided by
    sqrt(v_hat), so a weight with large gradients is hardly decayed at all. AdamW shrinks every
    weight by the same factor (1 - lr * weight_decay) per step, whatever its gradients.
    Same hyper-parameters as Adam, but weight_decay defaults to 0.01.
    """

    def __init__(self, params, lr: float = DEFAULT_ADAM_LR, betas=DEFAULT_BETAS,
                 eps: float = DEFAULT_EPS, weight_decay: float = DEFAULT_ADAMW_WEIGHT_DECAY):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def step(self) -> None:
        """One AdamW update: decay each parameter that has a gradient, then Adam's update.

        TODO: like Adam.step, but the weight decay shrinks p.data directly instead of being
              added to the gradient.

        APPROACH: As Adam.step, except the decay: a parameter without a gradient is skipped
        (no decay either); one with a gradient first shrinks in place by the factor of the
        class docstring, then `_adam_update` runs with the gradient unchanged.

        EXAMPLE:
            >>> w = Tensor([2.0], requires_grad=True); opt = AdamW([w], lr=0.1, weight_decay=0.5)
            >>> w.grad = Tensor([3.0]); opt.step(); w.data   # 2 - 0.1*0.5*2 = 1.9, then -0.1
            array([1.8], dtype=float32)

        HINTS:
            - Decay first, then the Adam update (PyTorch's order). The decay uses p before this
              step's update.
        """
        # BEGIN SOLUTION
        for i, p in enumerate(self.params):
            g = _grad_of(type(self).__name__, i, p)
            if g is None:
                continue
            if self.weight_decay:
                p.data -= self.lr * self.weight_decay * p.data       # decoupled: not through m, v
            self._adam_update(i, p, g)
        # END SOLUTION


# ---------------------------------------------------------------------------------------------
# Systems questions: what does an optimizer cost in memory?
# ---------------------------------------------------------------------------------------------


def optimizer_state_bytes(optimizer_name: str, num_params: int, dtype=np.float32) -> int:
    """Bytes of optimizer state for a model of `num_params` numbers (parameters not included).

        optimizer_name   state arrays per parameter
        "sgd"            0      plain SGD keeps nothing between steps
        "sgd_momentum"   1      the velocity v
        "adam", "adamw"  2      the moments m and v

    (Adam's per-parameter step counts are one small int per Tensor, not per number: ignored.)

    Why it matters: the state is as big as the model, per array. Switching a model from SGD to
    Adam adds two model-sized arrays; for a large language model that is the difference between
    fitting on a GPU and not (see training_memory_bytes).

    TODO: return (state arrays per parameter) * num_params * (bytes per element of dtype).

    APPROACH:
        1. optimizer_name must be one of OPTIMIZER_NAMES: ValueError naming it and the known
           ones otherwise.
        2. num_params must be an int >= 0 (not a bool): ValueError otherwise.
        3. np.dtype(dtype).itemsize is 4 for float32, 8 for float64, 2 for float16.

    EXAMPLE:
        >>> optimizer_state_bytes("adam", 1_000_000)                 # 2 * 1e6 * 4 bytes
        8000000
        >>> optimizer_state_bytes("sgd_momentum", 1000, dtype=np.float64)
        8000

    HINTS:
        - A dict from name to number of arrays keeps this to a few lines.
    """
    # BEGIN SOLUTION
    arrays_per_param = {"sgd": 0, "sgd_momentum": 1, "adam": 2, "adamw": 2}
    if optimizer_name not in arrays_per_param:
        known = ", ".join(repr(name) for name in OPTIMIZER_NAMES)
        raise ValueError(f"optimizer_state_bytes: unknown optimizer {optimizer_name!r}; known: {known}")
    if isinstance(num_params, bool) or not isinstance(num_params, (int, np.integer)) or num_params < 0:
        raise ValueError(f"optimizer_state_bytes: num_params must be an int >= 0; got {num_params!r}")
    return int(arrays_per_param[optimizer_name] * num_params * np.dtype(dtype).itemsize)
    # END SOLUTION


def training_memory_bytes(optimizer_name: str, num_params: int, dtype=np.float32) -> int:
    """Bytes that training holds for the weights alone: parameters + gradients + optimizer state.

        "sgd"            params + grads               2 copies of the model
        "sgd_momentum"   params + grads + v           3 copies
        "adam", "adamw"  params + grads + m + v       4 copies

    Activations come on top and grow with the batch size (module 07 counts them).
    "Adam costs 3x the parameters" counts params + m + v; with the gradients it is 4x.

    Why it matters: a 7-billion-parameter model is 28 GB of float32 weights, but training it
    with Adam needs 112 GB before the first activation: more than one large GPU holds. That is
    why large models keep their optimizer state sharded across GPUs or in lower precision.

    TODO: return the bytes of the parameters and of their gradients (one model-sized
          array each), plus the optimizer state.

    EXAMPLE:
        >>> training_memory_bytes("adam", 1_000_000)                # 4 * 1e6 * 4
        16000000
        >>> training_memory_bytes("sgd", 1_000_000)                 # 2 * 1e6 * 4
        8000000

    HINTS:
        - Reuse optimizer_state_bytes: it already checks the arguments.
    """
    # BEGIN SOLUTION
    state = optimizer_state_bytes(optimizer_name, num_params, dtype)
    return int(state + 2 * num_params * np.dtype(dtype).itemsize)
    # END SOLUTION
