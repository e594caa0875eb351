"""Module 03: layers, the building blocks that hold a network's parameters.

What you build
    Module      the base class of every layer and model: calling it runs `forward`, and
                `parameters()` finds every trainable Tensor inside it, however deeply nested
    Linear      y = x @ W + b, with Xavier or He initialisation
    Sequential  a list of layers applied one after another
    Dropout     inverted dropout: randomly zero activations while training, identity in eval

Why it matters
    A network is a tree of modules. The optimizer (module 06) needs a flat list of the Tensors
    to update; `model.parameters()` walks the tree to build it, so no layer has to register its
    weights by hand. A model also behaves differently while training and while evaluating
    (Dropout here, BatchNorm in module 09); `model.train()` / `model.eval()` flips one flag
    on every module in the tree at once.

    Initialisation matters as much as the formula: a 10-layer network whose weights are a little
    too large blows activations up by a constant factor per layer; a little too small and they
    shrink to 0. Xavier and He pick the scale that keeps the variance of activations roughly
    constant from layer to layer.

Who uses it later
    04 losses       losses on the outputs of Linear / Sequential models
    05 autograd     gradients flow through `x @ self.weight + self.bias` and `x * mask`, so every
                    forward here is written with Tensor operations, never raw NumPy on .data
    06 optimizers   SGD(model.parameters(), lr=...)
    07 training     model.train() / model.eval() around training and evaluation loops
    09 spatial      Conv2d, BatchNorm2d are Modules too

    An MLP, and the tree that parameters() walks:

        model = Sequential(Linear(784, 128), ReLU(), Dropout(0.2), Linear(128, 10))

        model (Sequential)
          +-- layers: list
                +-- [0] Linear   weight (784, 128), bias (128,)
                +-- [1] ReLU     (not a Module, no parameters)
                +-- [2] Dropout  (no parameters)
                +-- [3] Linear   weight (128, 10),  bias (10,)

        model.parameters() -> [L0.weight, L0.bias, L3.weight, L3.bias]
"""

from __future__ import annotations

import numpy as np

from tinytorch.core.tensor import Tensor, _as_tensor   # _as_tensor: given in module 01

PARAM_DTYPE = np.float32        # every parameter is float32, like Tensors by default
INITS = ("xavier", "he")        # the weight initialisations Linear knows
DEFAULT_INIT = "xavier"
DEFAULT_DROPOUT_P = 0.5


# ---------------------------------------------------------------------------------------------
# Weight initialisation
# ---------------------------------------------------------------------------------------------


def xavier_uniform(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """Glorot/Xavier uniform init: a (fan_in, fan_out) float32 array drawn from U(-a, a).

        a = sqrt(6 / (fan_in + fan_out))

    Why: U(-a, a) has variance a^2 / 3 = 2 / (fan_in + fan_out). That is the compromise between
    keeping the variance of activations constant going forward (needs 1 / fan_in) and of
    gradients going backward (needs 1 / fan_out). Suits tanh and sigmoid networks.

    TODO: return an array of shape (fan_in, fan_out), dtype PARAM_DTYPE, uniform in [-a, a].

    APPROACH: Compute the bound a of the formula above, draw the whole (fan_in, fan_out)
    array in one call to the generator's uniform distribution, and convert it to
    PARAM_DTYPE (a Generator draws float64).

    EXAMPLE:
        >>> w = xavier_uniform(3, 2, np.random.default_rng(0))
        >>> w.shape, w.dtype, bool(np.all(np.abs(w) <= np.sqrt(6 / 5)))
        ((3, 2), dtype('float32'), True)

    HINTS:
        - Draw from `rng`, never from np.random directly: the caller's seed must decide the
          values, so that two runs with the same seed give the same network.
    """
    raise NotImplementedError("Module 03 (layers): write xavier_uniform (see its docstring)")


def he_normal(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """He/Kaiming normal init: a (fan_in, fan_out) float32 array drawn from N(0, 2 / fan_in).

    Why: ReLU zeroes half of its inputs, which halves the variance of the signal at every
    layer. Doubling the weight variance (2 / fan_in instead of 1 / fan_in) makes up for it, so a
    deep ReLU network starts with activations of a steady size.

    TODO: return an array of shape (fan_in, fan_out), dtype PARAM_DTYPE, normal with mean 0 and
          standard deviation sqrt(2 / fan_in).

    APPROACH: As xavier_uniform, with the generator's normal distribution: mean 0 and the
    standard deviation above (fan_in: the number of inputs of each output unit).

    EXAMPLE:
        >>> w = he_normal(1000, 10, np.random.default_rng(0))
        >>> round(float(w.std()), 3)          # sqrt(2 / 1000) = 0.0447
        0.045

    HINTS:
        - rng.normal takes the standard deviation (scale), not the variance.
    """
    raise NotImplementedError("Module 03 (layers): write he_normal (see its docstring)")


INITIALIZERS = {"xavier": xavier_uniform, "he": he_normal}   # name -> function; keys are INITS


# ---------------------------------------------------------------------------------------------
# Module: the base class
# ---------------------------------------------------------------------------------------------


class Module:
    """Base class of every layer and model.

    A subclass calls `super().__init__()`, stores its parameters (Tensors with
    requires_grad=True) and its sub-modules as attributes, and defines `forward`. Everything
    else comes from here:

        class TwoLayer(Module):
            def __init__(self):
                super().__init__()
                self.hidden = Linear(4, 8)
                self.out = Linear(8, 2)

            def forward(self, x):
                return self.out(self.hidden(x))

        net = TwoLayer()
        net(x)              # same as net.forward(x)
        net.parameters()    # [hidden.weight, hidden.bias, out.weight, out.bias]
        net.eval()          # net.training, net.hidden.training, net.out.training all False

    Where parameters() looks: every attribute in the order it was first assigned
    (`vars(self)` keeps that order), and inside it:
        Tensor with requires_grad=True   -> a parameter
        Module                           -> its parameters, recursively
        list or tuple                    -> each element, recursively
        anything else                    -> ignored (ints, strings, None, arrays, rngs, ...)
    """

    def __init__(self):
        self.training = True        # train() / eval() flip this on the whole tree

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def parameters(self) -> list:
        """Every trainable Tensor of this module and its sub-modules, each exactly once.

        TODO: return a list of the Tensors found in this module's attributes (see the class
              docstring for where to look), in attribute order, without duplicates.

        APPROACH: A small recursive helper handles one value by the table of the class
        docstring (a sub-Module answers with its own parameters(); a list or tuple is
        looked into element by element). Run it on every attribute value, in order. Keep
        the result in a list, and beside it the ids of the Tensors already taken, so that
        a Tensor reached twice is listed once.

        EXAMPLE:
            >>> layer = Linear(3, 2)
            >>> [p.shape for p in layer.parameters()]
            [(3, 2), (2,)]
            >>> shared = Linear(2, 2)
            >>> len(Sequential(shared, shared).parameters())     # the same layer twice
            2

        HINTS:
            - Duplicates are by identity, not by value: two zero biases of the same shape are
              two different parameters. Compare id(t), never t == other (that is element-wise).
            - Weight tying (one Tensor used in two places) is why duplicates happen; the
              optimizer must update such a Tensor once, not twice.
        """
        raise NotImplementedError("Module 03 (layers): write Module.parameters (see its docstring)")

    def train(self, mode: bool = True) -> "Module":
        """Set `training = mode` on this module and on every sub-module; return self.

        TODO: set self.training, then do the same on each sub-module found in the attributes
              (a Module attribute, or a Module inside a list / tuple attribute, recursively).

        APPROACH: Set this module's flag (a bool), then walk the attributes as parameters()
        does, this time looking for Modules: a sub-Module is switched by its own train(),
        which recurses for you; lists and tuples are looked into. Return self, so that
        `model = Net().eval()` works.

        EXAMPLE:
            >>> model = Sequential(Linear(2, 2), Dropout(0.5))
            >>> model.train(False) is model, model[1].training
            (True, False)

        HINTS:
            - Objects that are not Modules (a ReLU from module 02, an rng) have no training flag:
              leave them alone.
        """
        raise NotImplementedError("Module 03 (layers): write Module.train (see its docstring)")

    def eval(self) -> "Module":
        """Switch this module and every sub-module to evaluation mode; return self.

        TODO: the same as train(False).

        EXAMPLE:
            >>> Dropout(0.5).eval().training
            False

        HINTS:
            - One line.
        """
        raise NotImplementedError("Module 03 (layers): write Module.eval (see its docstring)")


def named_modules(model) -> list:
    """Every Module of the tree under `model` as (path, module), parents first, each once (given).

    Paths join attribute names and list positions with dots, as PyTorch's Module.named_modules
    names them: "" is `model` itself, "head" its attribute, "layers.0" the first layer of a
    Sequential, "blocks.0.mlp.layers.2" a layer deep inside a GPT. A Module reached twice (shared)
    is listed once, at its first path. It looks where parameters() looks: attributes in order,
    and the items of lists and tuples. Anything that is not a Module gives [].
    Modules 17 and 18 use it to find the layers to quantize and to prune.
    """
    found, seen = [], set()

    def visit(value, path: str) -> None:
        if isinstance(value, Module):
            if id(value) in seen:
                return
            seen.add(id(value))
            found.append((path, value))
            for name, child in vars(value).items():
                visit(child, f"{path}.{name}" if path else name)
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                visit(item, f"{path}.{i}" if path else str(i))

    visit(model, "")
    return found


# ---------------------------------------------------------------------------------------------
# Linear
# ---------------------------------------------------------------------------------------------


class Linear(Module):
    """Fully connected layer: y = x @ weight + bias.

    NOTE: this course stores `weight` with shape (in_features, out_features), so the forward
    pass is `x @ W + b` with no transpose. PyTorch's nn.Linear stores the transpose,
    (out_features, in_features), and computes x @ W.T + b. Same layer, other layout.

        x (N, in)         weight (in, out)        bias (out,)      y (N, out)

                          [w00 w01]
        [x0 x1 x2]   @    [w10 w11]       +       [b0 b1]     =    [y0 y1]
                          [w20 w21]

        y_j = sum_i x_i * w_ij + b_j        (in=3, out=2: 6 weights + 2 biases = 8 parameters)

    Leading dimensions pass through: x of shape (..., in_features) -> (..., out_features).
    The bias (shape (out,)) broadcasts over every row.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 init: str = DEFAULT_INIT, rng: np.random.Generator | None = None):
        """Create the weight (and bias) of the layer.

        TODO: validate the arguments, then set self.in_features, self.out_features,
              self.weight (in_features, out_features) and self.bias (out_features,) or None.

        APPROACH:
            1. Initialise the Module base class first (it sets `training`).
            2. in_features and out_features must be ints > 0 (bool is not a size). Otherwise
               a ValueError naming the argument and its value, e.g.
               "Linear: in_features must be a positive int, got 0".
            3. init must be a key of INITIALIZERS. Otherwise a ValueError naming the value
               and listing the known ones (INITS).
            4. Without an rng, make a fresh unseeded Generator.
            5. weight: the initialiser named by `init`, drawn with rng, as a Tensor that
               requires grad, (in_features, out_features).
            6. bias: zeros (out_features,) of PARAM_DTYPE that require grad; or None when
               bias=False.

        EXAMPLE:
            >>> layer = Linear(3, 2, rng=np.random.default_rng(0))
            >>> layer.weight.shape, layer.bias.shape, layer.weight.requires_grad
            ((3, 2), (2,), True)
            >>> Linear(3, 2, init="zeros")
            ValueError: Linear: unknown init 'zeros'; known: 'xavier', 'he'

        HINTS:
            - isinstance(True, int) is True in Python: reject bools explicitly.
            - Accept NumPy integers too: isinstance(n, (int, np.integer)).
            - Assign weight before bias: parameters() returns them in attribute order.
        """
        raise NotImplementedError("Module 03 (layers): write Linear.__init__ (see its docstring)")

    def forward(self, x: Tensor) -> Tensor:
        """y = x @ weight + bias, for x of shape (..., in_features).

        TODO: check the last dimension of x, then return x @ self.weight (+ self.bias).

        APPROACH:
            1. Accept arrays too: convert x with the given `_as_tensor`.
            2. x needs a last dimension of size in_features. Otherwise a ValueError whose
               message contains the word in_features, its value and x's shape, e.g.
               "Linear(in_features=3) expects input of shape (..., 3); got (4, 5)".
               (In a deep Sequential, this says which layer got the wrong input.)
            3. Matrix product with the weight: (..., in) @ (in, out) -> (..., out).
            4. Add the bias, if there is one: (out,) broadcasts over the leading dims.

        EXAMPLE:
            >>> layer = Linear(3, 2)
            >>> layer(Tensor(np.ones((4, 3)))).shape
            (4, 2)

        HINTS:
            - Use Tensor operations (@ and +), not NumPy on .data: in module 05 gradients will
              flow through exactly these operations to weight and bias.
        """
        raise NotImplementedError("Module 03 (layers): write Linear.forward (see its docstring)")

    def __repr__(self) -> str:
        return (f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None})")


# ---------------------------------------------------------------------------------------------
# Sequential
# ---------------------------------------------------------------------------------------------


class Sequential(Module):
    """Layers applied one after another: Sequential(f, g, h)(x) = h(g(f(x))).

        x --> [Linear(4, 8)] --> [ReLU] --> [Linear(8, 3)] --> y
              (N, 4)->(N, 8)     (N, 8)     (N, 8)->(N, 3)

    Any callable works as a layer: Modules, and the activations of module 02 (which are plain
    classes, not Modules). The layers live in the list `self.layers`, which is where
    Module.parameters() and Module.train() find them.
    """

    def __init__(self, *layers):
        super().__init__()
        for i, layer in enumerate(layers):
            if not callable(layer):
                raise TypeError(f"Sequential: layer {i} ({type(layer).__name__}) is not callable")
        self.layers = list(layers)

    def forward(self, x):
        """Feed x through every layer in order and return the last output.

        TODO: apply self.layers one after another, each to the output of the one before.

        APPROACH: Feed each layer's output to the next, in order; return the last one
        (with no layers, the input comes back unchanged).

        EXAMPLE:
            >>> model = Sequential(Linear(4, 8), ReLU(), Linear(8, 3))
            >>> model(Tensor(np.ones((5, 4)))).shape
            (5, 3)

        HINTS:
            - Call layer(x), not layer.forward(x): __call__ is the one entry point of a layer.
        """
        raise NotImplementedError("Module 03 (layers): write Sequential.forward (see its docstring)")

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index):
        return self.layers[index]

    def __repr__(self) -> str:
        def show(layer) -> str:      # ReLU() rather than <...ReLU object at 0x...>
            own_repr = type(layer).__repr__ is not object.__repr__
            return repr(layer) if own_repr else f"{type(layer).__name__}()"

        lines = [f"  ({i}): {show(layer)}" for i, layer in enumerate(self.layers)]
        return "Sequential(\n" + "\n".join(lines) + "\n)" if lines else "Sequential()"


# ---------------------------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------------------------


class Dropout(Module):
    """Inverted dropout (Srivastava et al., 2014): a regulariser that is on only in training.

    While training, each element is zeroed with probability p, and the survivors are scaled by
    1 / (1 - p), so that the expected value of every element is unchanged:

        p = 0.25, keep probability 1 - p = 0.75, scale 1 / 0.75 = 1.333
        x     = [ 1.0   2.0   3.0   4.0 ]
        keep  = [  1     0     1     1  ]          (random; each 1 with probability 0.75)
        out   = [ 1.33  0.0   4.0   5.33]          = x * keep / (1 - p)

    In eval mode it returns its input unchanged: because of the scaling at training time,
    nothing needs rescaling at test time ("inverted").

    Why: a unit cannot rely on any particular other unit being present, so the network learns
    redundant features and overfits less.
    """

    def __init__(self, p: float = DEFAULT_DROPOUT_P, rng: np.random.Generator | None = None):
        """Store the drop probability p and the random generator.

        TODO: check 0 <= p < 1, then set self.p and self.rng.

        APPROACH:
            1. Initialise the Module base class first.
            2. p must be a number (not a bool) with 0 <= p < 1; otherwise a ValueError, as
               in the EXAMPLE. (p = 1 would drop everything and divide by 1 - p = 0.)
            3. Store p as a float, and rng (a fresh unseeded Generator when none is given).

        EXAMPLE:
            >>> Dropout(0.2).p
            0.2
            >>> Dropout(1.0)
            ValueError: Dropout: p must be a number in [0, 1), got 1.0

        HINTS:
            - `not 0 <= p < 1` is also True for nan, which is what you want.
        """
        raise NotImplementedError("Module 03 (layers): write Dropout.__init__ (see its docstring)")

    def forward(self, x: Tensor) -> Tensor:
        """Training: zero each element with probability p and scale the rest. Eval: identity.

        TODO: in eval mode (or when p == 0) return x itself; otherwise return x * mask, where
              mask holds 0 (dropped) or 1 / (1 - p) (kept), drawn anew on every call.

        APPROACH:
            1. Convert x with `_as_tensor`. In eval mode, or with p = 0, return it as it is.
            2. Draw one uniform number in [0, 1) per element of x from self.rng: comparing
               it with the keep probability 1 - p keeps each element with exactly that
               probability.
            3. The mask holds 0 where dropped and 1 / (1 - p) where kept: a PARAM_DTYPE
               Tensor of x's shape. Return x times the mask, a Tensor multiplication.

        EXAMPLE:
            >>> d = Dropout(0.5, rng=np.random.default_rng(0))
            >>> x = Tensor([1, 1, 1, 1, 1, 1])
            >>> d(x).data                                  # each value 0 or 1 / (1 - 0.5) = 2
            array([0., 2., 2., 2., 0., 0.], dtype=float32)
            >>> d.eval()(x).data
            array([1., 1., 1., 1., 1., 1.], dtype=float32)

        HINTS:
            - Draw from self.rng so that a seeded Dropout is reproducible.
            - Multiply Tensors (x * mask), not x.data: in module 05 the gradient flows back
              through the same mask.
        """
        raise NotImplementedError("Module 03 (layers): write Dropout.forward (see its docstring)")

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


# ---------------------------------------------------------------------------------------------
# Systems questions: how big and how costly is a layer?
# ---------------------------------------------------------------------------------------------


def linear_param_count(in_features: int, out_features: int, bias: bool = True) -> int:
    """Number of trainable numbers in Linear(in_features, out_features, bias).

    Why it matters: parameters are what a model stores, what the optimizer updates and (with
    Adam, module 06) keeps two more copies of. Fully connected layers are where parameters pile
    up: Linear(784, 128) on MNIST already holds 100,480 numbers; the first Linear of an MLP on
    a 224x224 RGB image with 4096 hidden units holds over 600 million. Convolutions (module 09)
    exist largely to avoid that.

    TODO: return the count as a Python int: in * out weights, plus out biases when bias=True.

    EXAMPLE:
        >>> linear_param_count(784, 128)
        100480
        >>> linear_param_count(784, 128, bias=False)
        100352

    HINTS:
        - Count from the shapes; no need to build the layer.
    """
    raise NotImplementedError("Module 03 (layers): write linear_param_count (see its docstring)")


def layer_memory_bytes(layer: Module) -> int:
    """Bytes taken by all parameters of `layer` (any Module), from their sizes and dtypes.

    Why it matters: a model must fit in memory (and, to run fast, in cache). float32 costs 4
    bytes per number, float64 8, int8 (module 17) 1. A parameter shared by two layers is stored
    once, so it counts once, which is what parameters() gives you.

    TODO: return the sum, over layer.parameters(), of (number of elements) * (bytes per element).

    APPROACH: A parameter takes (number of elements) x (bytes per element of its dtype:
    NumPy's dtype objects have an `itemsize`). Sum over parameters(); return a Python int.

    EXAMPLE:
        >>> layer_memory_bytes(Linear(784, 128))       # 100,480 float32 numbers
        401920

    HINTS:
        - p.data.nbytes gives the same answer for a NumPy array; itemsize makes the rule visible.
    """
    raise NotImplementedError("Module 03 (layers): write layer_memory_bytes (see its docstring)")


def linear_flops(batch: int, in_features: int, out_features: int, bias: bool = True) -> int:
    """Floating-point operations of one forward pass of Linear on a batch of `batch` rows.

    Counting rule: each output y[n, j] = sum_i x[n, i] * w[i, j] takes in_features multiplies
    and in_features adds, so the matmul costs 2 * batch * in_features * out_features. Adding
    the bias costs one more add per output: batch * out_features.

    Why it matters: almost all the compute of an MLP or a transformer is matmuls, and the cost
    grows with batch * in * out. Dividing FLOPs by a machine's FLOP/s gives a lower bound on
    the time of a layer (module 15 measures how close we get).

    TODO: return the count of the counting rule above, as a Python int.

    EXAMPLE:
        >>> linear_flops(32, 784, 128)                  # 6,422,528 + 4,096
        6426624
        >>> linear_flops(32, 784, 128, bias=False)
        6422528

    HINTS:
        - Return a Python int.
    """
    raise NotImplementedError("Module 03 (layers): write linear_flops (see its docstring)")
