"""Module 01: the Tensor, an n-dimensional array that every later module builds on.

What you build
    A `Tensor` class that wraps a NumPy array (`.data`) and gives it the interface of a
    PyTorch tensor: element-wise arithmetic with broadcasting, matrix multiplication,
    reshape/transpose, reductions (sum/mean/max), indexing, and a readable repr. Every
    operation returns a *new* Tensor; none changes its inputs.

Why it matters
    A neural network is a chain of tensor operations. A linear layer is `x @ W + b`, a loss is
    a `mean` of element-wise terms, attention is two batched matmuls and a softmax. If these
    few operations are right (shapes, broadcasting, dtypes, clear errors), everything above
    them is short; if they are wrong, every later module inherits the bug.

What later modules use it for
    02 activations   element-wise math on `.data`, returned as Tensors
    03 layers        `x @ W + b`: matmul with a batch dimension, bias broadcast over rows
    04 losses        `sum`, `mean`, `max` with `axis` and `keepdims` (log-sum-exp)
    05 autograd      wakes up the dormant `requires_grad`, `.grad` and `backward()` declared
                     here, and writes a backward rule for each op you write now
    12 attention     batched matmul `(B, H, T, D) @ (B, H, D, T)` and `transpose(-2, -1)`

This file, in order: the shape rules (write them first), the graph hooks (given), the Tensor,
module 05's part (skip it in module 01), the given helpers and the systems questions.

Shapes in comments follow nanoGPT: `# (B, T, C)` is batch, time (sequence), channels.

The systems angle
    A Tensor is bytes in memory and an op is arithmetic on them. Two questions are graded
    as functions at the end of this file: how many floating-point operations a matmul costs
    (`matmul_flops`) and how many bytes a tensor occupies (`tensor_nbytes`). Keep them in
    mind: a (B, T, C) = (32, 1024, 768) float32 activation is already 96 MiB.

    Memory note: the constructor copies its input so that a Tensor never aliases the
    caller's array. Results of ops pass through the same constructor, so they are fresh
    arrays too; simple and safe, at the price of one extra copy per op.

Conventions
    * float32 is the default dtype (`DEFAULT_DTYPE`): it halves memory and doubles the
      throughput of float64, and is what deep learning trains in. Floating NumPy data keeps
      its own dtype (module 05 checks gradients in float64).
    * Python numbers are "weak": `x * 0.5` keeps x's dtype, as in PyTorch and NumPy 2.
    * Bad input raises a ValueError / IndexError / TypeError whose message names the shapes
      involved, never a bare NumPy error from deep inside.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from tinytorch.binding import arguments_binder

DEFAULT_DTYPE = np.float32      # dtype of Tensors built from Python numbers, lists and ints
FLOPS_PER_MULTIPLY_ADD = 2      # one multiply + one add: the unit of a dot product


# ---------------------------------------------------------------------- shape rules
# Write these three first: every Tensor op below relies on them.


def _broadcast_shape(op: str, shape_a: tuple, shape_b: tuple) -> tuple:
    """The shape that `shape_a` and `shape_b` broadcast to, or a ValueError naming both.

    TODO: Implement NumPy's broadcasting rule and return the result shape.

    APPROACH:
        1. Line the shapes up from the right: the shorter one behaves as if padded with 1s
           on the left.
        2. Each pair of sizes: equal -> that size; one of them is 1 -> the other one; else
           the shapes do not broadcast: a ValueError whose message names the verb `op` and
           both shapes (as in the EXAMPLE).
        3. The result is a tuple, one size per aligned position.

              (4, 1)            (2, 3)
            +    (5,)         +    (4,)
            = (4, 5)          = ValueError: 3 vs 4 in the last dimension

    EXAMPLE:
        >>> _broadcast_shape("add", (4, 1), (5,))
        (4, 5)
        >>> _broadcast_shape("add", (2, 3), (4,))
        Traceback (most recent call last):
        ValueError: cannot add Tensor of shape (2, 3) and (4,): shapes do not broadcast

    HINTS:
        - A size-1 dimension is "stretched" without copying (NumPy uses a stride of 0):
          adding a bias of shape (C,) to (B, T, C) costs no extra memory.
        - Do not call np.broadcast_shapes here: writing the rule is the exercise.
    """
    # BEGIN SOLUTION
    ndim = max(len(shape_a), len(shape_b))
    padded_a = (1,) * (ndim - len(shape_a)) + tuple(shape_a)
    padded_b = (1,) * (ndim - len(shape_b)) + tuple(shape_b)
    result = []
    for size_a, size_b in zip(padded_a, padded_b):
        if size_a == size_b or size_b == 1:
            result.append(size_a)
        elif size_a == 1:
            result.append(size_b)
        else:
            raise ValueError(
                f"cannot {op} Tensor of shape {tuple(shape_a)} and {tuple(shape_b)}: "
                f"shapes do not broadcast"
            )
    return tuple(result)
    # END SOLUTION


def _normalize_dim(dim, ndim: int, op: str) -> int:
    """`dim` as a non-negative dimension index of a Tensor with `ndim` dimensions.

    TODO: Map a dim in [-ndim, ndim) to [0, ndim); raise IndexError otherwise.

    APPROACH:
        1. `dim` must be an int (NumPy integers too, but not a bool): else TypeError.
        2. Out of range: an IndexError naming `op`, the dim and ndim, e.g. "transpose: dim -2
           is out of range for a Tensor with 1 dimension(s) (valid: -1 to 0)".
        3. A negative dim counts from the end, as in a list: -1 is the last dimension.

    EXAMPLE:
        >>> _normalize_dim(-1, 3, "sum")
        2

    HINTS:
        - A 0-d Tensor has no valid dim at all.
        - `bool` is a subclass of `int` in Python: `isinstance(True, int)` is True.
    """
    # BEGIN SOLUTION
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: a dim must be an int; got {dim!r}")
    if not -ndim <= dim < ndim:
        valid = f"valid: {-ndim} to {ndim - 1}" if ndim else "a 0-d Tensor has none"
        raise IndexError(
            f"{op}: dim {dim} is out of range for a Tensor with {ndim} dimension(s) ({valid})"
        )
    return int(dim) + ndim if dim < 0 else int(dim)
    # END SOLUTION


def _normalize_axes(axis, ndim: int, op: str):
    """`axis` of a reduction as None or a tuple of distinct non-negative dims.

    TODO: None -> None; an int -> a 1-tuple; a tuple/list -> a tuple; each entry through
    `_normalize_dim`; a repeated dim -> ValueError.

    APPROACH: Treat a single int as a one-entry tuple, so that one path handles both;
    normalise each entry with your `_normalize_dim` (it raises for bad dims). Look for a
    repeated dim after normalising: 0 and -3 name the same dim of a 3-D Tensor.

    EXAMPLE:
        >>> _normalize_axes((0, -1), 3, "sum")
        (0, 2)
        >>> _normalize_axes(None, 3, "sum") is None
        True

    HINTS:
        - `axis=(0, -3)` on a 3-D Tensor names dim 0 twice: ValueError.
    """
    # BEGIN SOLUTION
    if axis is None:
        return None
    entries = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    axes = tuple(_normalize_dim(a, ndim, op) for a in entries)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: axis {axis} names a dimension more than once (ndim={ndim})")
    return axes
    # END SOLUTION


# ---------------------------------------------------------------------- the graph hooks (given)
# Dormant in modules 01-04, woken up by module 05 (autograd). Read them now, change nothing.
#
# Each op of the Tensor below carries a decorator, `@graph_op(lambda: AddBackward, ...)`. After
# your body has computed the result, the decorator records on it *how* it was made: a Function
# node that remembers the op's inputs and knows the op's backward rule. Module 05 writes those
# rules (the `...Backward` classes after the Tensor) and `Tensor.backward`, which walks the
# recorded nodes from a loss back to the parameters:
#
#     w (leaf) --+
#                +--> MatMulBackward --> y --> SumBackward --> loss        loss.backward()
#     x (leaf) --+                                                         fills w.grad
#
# Nothing is recorded unless an input has requires_grad=True and grad mode is on (see
# `no_grad` in module 05), so these hooks cost nothing in modules 01-04.


class _GradMode:
    """Whether ops record the graph; `tinytorch.core.autograd.no_grad` switches it off."""

    enabled = True


class Function:
    """A node of the graph: the op that made a Tensor, its inputs, and its backward rule.

    Built by `graph_op` when an op runs on Tensors that require gradients:
        inputs            the op's input Tensors, in the op's order (the edges of the graph)
        saved_tensors     their arrays, saved for the backward rule (x for relu', a and b for *)
        output            the result's array (sigmoid' = s * (1 - s) needs s)
        params            the op's other arguments by name (axis, keepdims, dim, key, targets)
        needs_input_grad  for each input, whether it wants a gradient (skip the others' work)

    A subclass writes `backward(grad)`: given dL/d(output), return dL/d(input) for each input,
    in order, each with that input's shape (or None for an input that needs none).
    """

    def __init__(self, inputs: tuple, output: np.ndarray, params: dict):
        self.inputs = inputs
        self.saved_tensors = tuple(t.data for t in inputs)
        self.output = output
        self.params = params
        self.needs_input_grad = tuple(t.requires_grad for t in inputs)

    def backward(self, grad: np.ndarray) -> tuple:
        raise NotImplementedError(f"{type(self).__name__} has no backward rule")

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


def _resolve_node(node, op) -> type:
    """The Function subclass that `graph_op(node)` names: `node` itself, or what `node()` returns (given)."""
    rule = node if isinstance(node, type) else node()
    if not (isinstance(rule, type) and issubclass(rule, Function)):
        raise TypeError(f"graph_op on {op.__qualname__}: expected a Function subclass, or a function "
                        f"of no arguments returning one; got {rule!r}")
    return rule


def graph_op(node, inputs: tuple = ("self",)):
    """Decorate an op so that its result records a `node` (a Function subclass) when needed.

    `node` is the Function subclass, or a function of no arguments that returns it. The second
    form lets an op come before its rule in the file: the Tensor's methods are written here
    in module 01, their rules after the class, in module 05's part. A decorator's arguments
    run when the `def` runs, before the rule's class exists; a lambda's body runs only when
    called. So `@graph_op(lambda: AddBackward, ...)` looks the class up at the op's first call
    (the whole file has run by then) and keeps it. An op defined below its rule (module 09)
    names the class directly: `@graph_op(Conv2dBackward, ...)`.

    `inputs` names the op's parameters that are Tensors gradients flow to; Python numbers and
    arrays among them become constant Tensors. Every other parameter lands in the node's
    `params` by name, with its default when the caller left it out, so a backward rule reads
    `self.params["axis"]` and never repeats the op's defaults. A method's own object, when it
    is not an input (an activation layer), is `params["module"]`. Given: read, do not change.
    """

    def decorate(op):
        bind = arguments_binder(op)
        rule = None                    # the Function subclass, resolved at the first call

        @functools.wraps(op)
        def recorded(*args, **kwargs):
            nonlocal rule
            if rule is None:
                rule = _resolve_node(node, op)
            out = op(*args, **kwargs)
            if not _GradMode.enabled or not isinstance(out, Tensor):
                return out
            if not any(isinstance(a, Tensor) and a.requires_grad for a in (*args, *kwargs.values())):
                return out
            params = bind(args, kwargs)
            like = params.get("self") if isinstance(params.get("self"), Tensor) else None
            tensors = tuple(_as_tensor(params.pop(name, None), like=like) for name in inputs)
            if "self" in params:
                params["module"] = params.pop("self")
            if any(t.requires_grad for t in tensors):
                out.requires_grad = True
                out._grad_fn = rule(tensors, out.data, params)
            return out

        return recorded

    return decorate


# ---------------------------------------------------------------------- the Tensor


class Tensor:
    """An n-dimensional array of numbers with a PyTorch-like interface, backed by NumPy.

    Attributes
        data           np.ndarray holding the values (owned by this Tensor: a copy)
        requires_grad  bool; stored now, used from module 05 (autograd)
        grad           None until module 05 fills it with the gradient of a loss
    """

    # Make NumPy hand mixed expressions to us: `ndarray + Tensor` calls Tensor.__radd__ and
    # `ndarray @ Tensor` calls Tensor.__rmatmul__, instead of NumPy looping over the Tensor.
    __array_ufunc__ = None

    # The Function node that made this Tensor (module 05); None for a Tensor you created.
    _grad_fn = None

    def __init__(self, data, requires_grad=False, dtype=None):
        """Build a Tensor from a Tensor, np.ndarray, (nested) list, or a number.

        TODO: Set `self.data` (an np.ndarray that is a *copy* of the input),
        `self.requires_grad` (a bool) and `self.grad` (None).

        APPROACH:
            1. A Tensor argument contributes its array (so `Tensor(t)` copies t).
            2. Choose the dtype: an explicit `dtype` wins; else floating NumPy data
               (an array or a NumPy scalar with a float dtype) keeps its dtype; everything
               else (Python numbers, lists, int and bool arrays) becomes DEFAULT_DTYPE.
            3. Store a copy, never the caller's array: a Tensor must not change when the
               caller later writes into the array it passed.

        EXAMPLE:
            >>> Tensor([[1, 2], [3, 4]]).dtype                # int list -> float32
            dtype('float32')
            >>> Tensor(np.zeros(3, dtype=np.float64)).dtype   # float64 array is kept
            dtype('float64')
            >>> a = np.ones(2); t = Tensor(a); a[0] = 5.0; t.data.tolist()   # a copy
            [1.0, 1.0]

        HINTS:
            - A dtype's `kind` is "f" for float16/32/64 (a cheaper test than
              `np.issubdtype`, which says the same).
            - NumPy data is an `np.ndarray` or a NumPy scalar (`np.generic`); telling it
              from Python data matters: a Python float would otherwise become float64.
            - `np.array` copies by default; `np.asarray` does not.
        """
        # BEGIN SOLUTION
        if isinstance(data, Tensor):
            data = data.data
        if dtype is None:
            is_numpy = isinstance(data, (np.ndarray, np.generic))
            if is_numpy and np.asarray(data).dtype.kind == "f":
                dtype = np.asarray(data).dtype
            else:
                dtype = DEFAULT_DTYPE
        try:
            self.data = np.array(data, dtype=dtype)  # np.array copies: no aliasing
        except (TypeError, ValueError) as exc:
            raise type(exc)(
                f"Tensor(data): cannot convert {type(data).__name__} to an array of "
                f"{np.dtype(dtype)}: {exc}"
            ) from None
        self.requires_grad = bool(requires_grad)
        self.grad = None
        # END SOLUTION

    # ------------------------------------------------------------------ properties (given)

    @property
    def shape(self) -> tuple:
        """Size of each dimension, e.g. (2, 3)."""
        return self.data.shape

    @property
    def size(self) -> int:
        """Total number of elements (the product of the shape; 1 for a 0-d Tensor)."""
        return int(self.data.size)

    @property
    def ndim(self) -> int:
        """Number of dimensions (0 for a scalar Tensor)."""
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        """NumPy dtype of the elements, e.g. dtype('float32')."""
        return self.data.dtype

    def __array__(self, dtype=None, copy=None):
        """Let `np.asarray(tensor)` see the values (given; used by plotting and tests)."""
        return self.data if dtype is None else self.data.astype(dtype)

    # ------------------------------------------------------------------ element-wise ops

    @graph_op(lambda: AddBackward, inputs=("self", "other"))
    def __add__(self, other):
        """Element-wise `self + other` with broadcasting.

        TODO: Return a new Tensor holding the element-wise sum of the two arrays, after
        checking that the two shapes broadcast.

        APPROACH:
            1. Convert `other` with the given `_as_tensor` helper, with this Tensor as
               `like`: numbers and arrays become Tensors, and a Python number keeps this
               Tensor's dtype.
            2. Check the shapes with your `_broadcast_shape` (verb "add") before computing:
               its error names both shapes, NumPy's would not.
            3. Add the two arrays (NumPy broadcasts them); the sum becomes a new Tensor.

        EXAMPLE:
            >>> Tensor([[1, 2, 3], [4, 5, 6]]) + Tensor([10, 20, 30])   # (2, 3) + (3,)
            Tensor([[11., 22., 33.],
                    [14., 25., 36.]], shape=(2, 3))

        HINTS:
            - The same three steps, with another operator and verb, give `__sub__`,
              `__mul__` and `__truediv__`.
        """
        # BEGIN SOLUTION
        other = _as_tensor(other, like=self)
        _broadcast_shape("add", self.shape, other.shape)
        return Tensor(self.data + other.data)
        # END SOLUTION

    def __radd__(self, other):
        """`other + self` when `other` is not a Tensor (e.g. `2.0 + t`, `array + t`).

        TODO: Return `other + self` as a Tensor.

        APPROACH: Convert `other` as `__add__` does, then let the converted Tensor do the
        work with its own `__add__`, keeping the operands in their original order (`other`
        on the left).

        EXAMPLE:
            >>> 1.0 + Tensor([1, 2])
            Tensor([2., 3.], shape=(2,))

        HINTS:
            - Python calls `t.__radd__(x)` for `x + t` when `x` does not know Tensors.
        """
        # BEGIN SOLUTION
        return _as_tensor(other, like=self).__add__(self)
        # END SOLUTION

    @graph_op(lambda: SubBackward, inputs=("self", "other"))
    def __sub__(self, other):
        """Element-wise `self - other` with broadcasting.

        TODO: Like `__add__`, with subtraction (verb "subtract" in the error message).

        APPROACH: The three steps of `__add__`, with the verb "subtract".

        EXAMPLE:
            >>> Tensor([5, 7]) - 2
            Tensor([3., 5.], shape=(2,))

        HINTS:
            - Order matters: this is `self - other`, not `other - self`.
        """
        # BEGIN SOLUTION
        other = _as_tensor(other, like=self)
        _broadcast_shape("subtract", self.shape, other.shape)
        return Tensor(self.data - other.data)
        # END SOLUTION

    def __rsub__(self, other):
        """`other - self` when `other` is not a Tensor (e.g. `1.0 - t`).

        TODO: Return `other - self` as a Tensor.

        APPROACH: As `__radd__`: convert `other`, then subtract `self` from it.

        EXAMPLE:
            >>> 10 - Tensor([1, 2])
            Tensor([9., 8.], shape=(2,))

        HINTS:
            - `1 - t` is not `t - 1`: keep `other` on the left.
        """
        # BEGIN SOLUTION
        return _as_tensor(other, like=self).__sub__(self)
        # END SOLUTION

    @graph_op(lambda: MulBackward, inputs=("self", "other"))
    def __mul__(self, other):
        """Element-wise `self * other` with broadcasting (not a matrix product).

        TODO: Like `__add__`, with multiplication (verb "multiply").

        APPROACH: The three steps of `__add__`, with the verb "multiply".

        EXAMPLE:
            >>> Tensor([[1], [2]]) * Tensor([10, 20, 30])      # (2, 1) * (3,) -> (2, 3)
            Tensor([[10., 20., 30.],
                    [20., 40., 60.]], shape=(2, 3))

        HINTS:
            - `*` multiplies matching elements; `@` (matmul) is the matrix product.
        """
        # BEGIN SOLUTION
        other = _as_tensor(other, like=self)
        _broadcast_shape("multiply", self.shape, other.shape)
        return Tensor(self.data * other.data)
        # END SOLUTION

    def __rmul__(self, other):
        """`other * self` when `other` is not a Tensor (e.g. `0.5 * t`).

        TODO: Return `other * self` as a Tensor.

        APPROACH: As `__radd__`: convert `other`, then multiply.

        EXAMPLE:
            >>> 3 * Tensor([1, 2])
            Tensor([3., 6.], shape=(2,))

        HINTS:
            - Keep `other` on the left, as for `__rsub__` (so error messages read right).
        """
        # BEGIN SOLUTION
        return _as_tensor(other, like=self).__mul__(self)
        # END SOLUTION

    @graph_op(lambda: DivBackward, inputs=("self", "other"))
    def __truediv__(self, other):
        """Element-wise `self / other` with broadcasting.

        TODO: Like `__add__`, with true division (verb "divide").

        APPROACH: The three steps of `__add__`, with the verb "divide".

        EXAMPLE:
            >>> Tensor([1, 2]) / 4
            Tensor([0.25, 0.5 ], shape=(2,))

        HINTS:
            - Division by zero follows IEEE floats (inf or nan), as in NumPy and PyTorch;
              no need to check for it (`np.errstate` can silence NumPy's warning).
        """
        # BEGIN SOLUTION
        other = _as_tensor(other, like=self)
        _broadcast_shape("divide", self.shape, other.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            return Tensor(self.data / other.data)
        # END SOLUTION

    def __rtruediv__(self, other):
        """`other / self` when `other` is not a Tensor (e.g. `1.0 / t`).

        TODO: Return `other / self` as a Tensor.

        APPROACH: As `__radd__`: convert `other`, then divide it by `self`.

        EXAMPLE:
            >>> 1 / Tensor([2, 4])
            Tensor([0.5 , 0.25], shape=(2,))

        HINTS:
            - `1 / t` is the reciprocal of t, not `t / 1`.
        """
        # BEGIN SOLUTION
        return _as_tensor(other, like=self).__truediv__(self)
        # END SOLUTION

    @graph_op(lambda: NegBackward)
    def __neg__(self):
        """`-self`, element-wise.

        TODO: Return a new Tensor with every element negated.

        APPROACH: Negate the array into a new one; the result has this Tensor's shape and
        dtype.

        EXAMPLE:
            >>> -Tensor([1, -2])
            Tensor([-1.,  2.], shape=(2,))

        HINTS:
            - Return a new Tensor; do not change `self.data` in place.
        """
        # BEGIN SOLUTION
        return Tensor(-self.data)
        # END SOLUTION

    # ------------------------------------------------------------------ matrix product

    @graph_op(lambda: MatMulBackward, inputs=("self", "other"))
    def matmul(self, other):
        """Matrix product `self @ other` with NumPy's rules (2-D, batched N-D, 1-D).

        TODO: Check the shapes, with errors that name both, then return the matrix product
        of the two arrays as a new Tensor.

        APPROACH:
            1. Convert `other` as `__add__` does.
            2. A 0-d operand has no matrix dimensions: a ValueError naming both shapes.
            3. The inner dimensions must agree: the last dim of `self` against the
               second-to-last of `other` (its only dim if `other` is 1-D). Otherwise a
               ValueError such as "matmul: Tensor of shape (2, 3) @ (4, 5): inner
               dimensions 3 and 4 differ".
            4. The leading (batch) dimensions, all but the last two, broadcast like an
               element-wise op; a ValueError naming both shapes if they do not.
            5. NumPy's matrix product does the arithmetic; return its result as a new Tensor.

                 (B, T, C) @ (C, D)  ->  (B, T, D)       # batch dims broadcast
                  M x K   @   K x N  ->   M x N          # K must agree

        EXAMPLE:
            >>> Tensor([[1, 2]]) @ Tensor([[3], [4]])       # (1, 2) @ (2, 1) -> (1, 1)
            Tensor([[11.]], shape=(1, 1))
            >>> Tensor(np.ones((8, 4, 3))).matmul(np.ones((3, 5))).shape
            (8, 4, 5)

        HINTS:
            - NumPy treats a 1-D left operand as a row (1, K) and a 1-D right operand as
              a column (K, 1), then drops that dimension from the result.
            - `np.broadcast_shapes` raises its own ValueError when shapes disagree: catch
              it and raise yours, which names the two Tensors' shapes.
        """
        # BEGIN SOLUTION
        other = _as_tensor(other, like=self)
        a, b = self.shape, other.shape
        where = "matmul: Tensor of shape {} @ {}"               # formatted only on error
        if self.ndim == 0 or other.ndim == 0:
            raise ValueError(f"{where.format(a, b)}: both operands need at least 1 dimension "
                             f"(got a 0-d Tensor)")
        k_left = a[-1]
        k_right = b[0] if other.ndim == 1 else b[-2]
        if k_left != k_right:
            raise ValueError(f"{where.format(a, b)}: inner dimensions {k_left} and {k_right} differ")
        try:
            if len(a) > 2 or len(b) > 2:
                np.broadcast_shapes(a[:-2], b[:-2])  # batch dims, e.g. (B, H) of (B, H, T, D)
        except ValueError:
            raise ValueError(
                f"{where.format(a, b)}: batch dimensions {a[:-2]} and {b[:-2]} do not broadcast"
            ) from None
        return _wrap(np.matmul(self.data, other.data))      # a fresh array: no second copy
        # END SOLUTION

    def __matmul__(self, other):
        """`self @ other`: the same as `self.matmul(other)`.

        TODO: Delegate to `matmul`.

        APPROACH: One line.

        EXAMPLE:
            >>> (Tensor(np.eye(2)) @ Tensor([[1, 2], [3, 4]])).shape
            (2, 2)

        HINTS:
            - Python calls `a.__matmul__(b)` for `a @ b`.
        """
        # BEGIN SOLUTION
        return self.matmul(other)
        # END SOLUTION

    def __rmatmul__(self, other):
        """`other @ self` when `other` is not a Tensor (e.g. `ndarray @ t`).

        TODO: Return `other @ self` as a Tensor.

        APPROACH: As `__radd__`: convert `other`, then let it multiply `self` with its own
        `matmul`.

        EXAMPLE:
            >>> np.ones((1, 2), dtype=np.float32) @ Tensor([[1], [2]])
            Tensor([[3.]], shape=(1, 1))

        HINTS:
            - The matrix product does not commute: keep `other` on the left.
        """
        # BEGIN SOLUTION
        return _as_tensor(other, like=self).matmul(self)
        # END SOLUTION

    # ------------------------------------------------------------------ shape ops

    @graph_op(lambda: ReshapeBackward)
    def reshape(self, *shape):
        """Same elements in a new shape: `t.reshape(2, 3)` or `t.reshape((2, 3))`.

        TODO: Return a new Tensor with the requested shape; at most one dimension may be
        -1 (inferred from the others).

        APPROACH:
            1. Accept both call styles: if `shape` is a single tuple/list, unpack it.
            2. Validate: every entry an int >= 0, or -1 (at most once).
            3. If there is a -1, infer it from `self.size` and the product of the others.
            4. If the sizes multiply to another number than `self.size`: a ValueError naming
               the old and the requested shape, e.g. "cannot reshape Tensor of shape (2, 3)
               (6 elements) into (4, 2)".
            5. Reshape the array to the full shape and return it as a new Tensor.

        EXAMPLE:
            >>> Tensor(np.arange(6)).reshape(2, -1).shape      # (6,) -> (2, 3)
            (2, 3)

        HINTS:
            - `math.prod(())` is 1, the size of a 0-d Tensor.
            - A -1 cannot be inferred when the other dimensions multiply to 0.
        """
        # BEGIN SOLUTION
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        requested = tuple(shape)

        def fail(reason):
            return ValueError(
                f"cannot reshape Tensor of shape {self.shape} ({self.size} elements) "
                f"into {requested}: {reason}"
            )

        if not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in requested):
            raise TypeError(f"reshape: dimensions must be ints; got {requested}")
        if any(d < -1 for d in requested):
            raise fail("dimensions must be >= 0 (or -1 to infer one)")
        if list(requested).count(-1) > 1:
            raise fail("only one dimension can be -1")
        known = math.prod(d for d in requested if d != -1)
        if -1 in requested:
            if known == 0 or self.size % known != 0:
                raise fail("the -1 dimension cannot be inferred")
            requested_full = tuple(self.size // known if d == -1 else int(d) for d in requested)
        else:
            requested_full = tuple(int(d) for d in requested)
        if math.prod(requested_full) != self.size:
            raise fail(f"that shape holds {math.prod(requested_full)} elements")
        return Tensor(self.data.reshape(requested_full))
        # END SOLUTION

    @graph_op(lambda: TransposeBackward)
    def transpose(self, dim0=-2, dim1=-1):
        """Swap two dimensions; by default the last two (the matrix transpose).

        TODO: Return a new Tensor with dimensions `dim0` and `dim1` swapped.

        APPROACH:
            1. Normalise both dims with your `_normalize_dim` (op "transpose"): negative
               dims work and out-of-range ones raise IndexError, so a 1-D Tensor with the
               default dims raises, as in PyTorch.
            2. Swap exactly those two axes of the array (NumPy has a function for it; `.T`
               reverses all axes, which is wrong beyond 2-D) and return a new Tensor.

        EXAMPLE:
            >>> Tensor(np.zeros((2, 3, 4))).transpose().shape       # (B, T, C) -> (B, C, T)
            (2, 4, 3)
            >>> Tensor(np.zeros((2, 3, 4))).transpose(0, -1).shape
            (4, 3, 2)

        HINTS:
            - Attention computes `q @ k.transpose(-2, -1)`: (B, T, D) @ (B, D, T).
        """
        # BEGIN SOLUTION
        d0 = _normalize_dim(dim0, self.ndim, "transpose")
        d1 = _normalize_dim(dim1, self.ndim, "transpose")
        return Tensor(np.swapaxes(self.data, d0, d1))
        # END SOLUTION

    # ------------------------------------------------------------------ reductions

    @graph_op(lambda: SumBackward)
    def sum(self, axis=None, keepdims=False):
        """Sum of elements over `axis` (None = all; an int; or a tuple of ints).

        TODO: Return the sum as a new Tensor.

        APPROACH:
            1. Normalise `axis` with your `_normalize_axes` (op "sum"): None stays None, ints
               and tuples become a tuple of non-negative dims, bad axes raise.
            2. Let NumPy reduce the array over those axes, passing `keepdims` on; return
               the result as a new Tensor.

        EXAMPLE:
            >>> x = Tensor([[1, 2, 3], [4, 5, 6]])     # (2, 3)
            >>> x.sum().item(), x.sum(axis=0).shape, x.sum(axis=1, keepdims=True).shape
            (21.0, (3,), (2, 1))

        HINTS:
            - `keepdims=True` keeps reduced dims as size 1, so the result broadcasts back
              against the input: `x - x.mean(axis=-1, keepdims=True)`.
        """
        # BEGIN SOLUTION
        axes = _normalize_axes(axis, self.ndim, "sum")
        return Tensor(self.data.sum(axis=axes, keepdims=keepdims))
        # END SOLUTION

    @graph_op(lambda: MeanBackward)
    def mean(self, axis=None, keepdims=False):
        """Arithmetic mean over `axis` (same `axis`/`keepdims` rules as `sum`).

        TODO: Return the mean as a new Tensor; the mean of zero elements is an error.

        APPROACH:
            1. Normalise `axis` as `sum` does (op "mean").
            2. Count the elements averaged into each output: all of them for axis None, else
               the product of the sizes of the reduced dims. A count of 0 is a ValueError
               naming the shape (NumPy would return nan with a warning).
            3. NumPy's mean over those axes, `keepdims` passed on, as a new Tensor.

        EXAMPLE:
            >>> Tensor([[1, 2], [3, 4]]).mean(axis=1)
            Tensor([1.5, 3.5], shape=(2,))

        HINTS:
            - mean = sum / count; NumPy's `.mean` does both and keeps float32.
        """
        # BEGIN SOLUTION
        axes = _normalize_axes(axis, self.ndim, "mean")
        count = self.size if axes is None else math.prod(self.shape[d] for d in axes)
        if count == 0:
            raise ValueError(
                f"mean of an empty Tensor is undefined: shape {self.shape}, axis={axis}"
            )
        return Tensor(self.data.mean(axis=axes, keepdims=keepdims))
        # END SOLUTION

    @graph_op(lambda: MaxBackward)
    def max(self, axis=None, keepdims=False):
        """Largest element over `axis` (same `axis`/`keepdims` rules as `sum`).

        TODO: Return the maximum as a new Tensor; the max of zero elements is an error.

        APPROACH: As `mean`: normalise the axes, a ValueError naming the shape if the
        reduced dimensions hold no elements, then NumPy's max over those axes.

        EXAMPLE:
            >>> Tensor([[1, 5], [7, 2]]).max(axis=0)
            Tensor([7., 5.], shape=(2,))

        HINTS:
            - Losses subtract `x.max(axis=-1, keepdims=True)` before `exp` so that it never
              overflows (module 04).
        """
        # BEGIN SOLUTION
        axes = _normalize_axes(axis, self.ndim, "max")
        count = self.size if axes is None else math.prod(self.shape[d] for d in axes)
        if count == 0:
            raise ValueError(
                f"max of an empty Tensor is undefined: shape {self.shape}, axis={axis}"
            )
        return Tensor(self.data.max(axis=axes, keepdims=keepdims))
        # END SOLUTION

    # ------------------------------------------------------------------ indexing & access

    @graph_op(lambda: GetItemBackward)
    def __getitem__(self, key):
        """`t[key]` as a new Tensor: ints, slices, `None`, `...`, and integer arrays.

        TODO: Index `self.data` as NumPy does and wrap the result in a new Tensor.

        APPROACH:
            1. Pass the key through the given `_index_key` helper: a Tensor used as an index
               holds floats, and NumPy indexes with integers only.
            2. Index the array. Catch NumPy's IndexError and raise your own, naming the key
               and this Tensor's shape.
            3. Return the result as a new Tensor (a copy: changing it never changes `self`).

        EXAMPLE:
            >>> x = Tensor([[1, 2, 3], [4, 5, 6]])
            >>> x[1].shape, x[:, 1:].shape, x[[0, 0, 1]].shape
            ((3,), (2, 2), (3, 3))

        HINTS:
            - An embedding lookup (module 11) is integer-array indexing: `W[token_ids]`.
        """
        # BEGIN SOLUTION
        key = _index_key(key)
        try:
            out = self.data[key]
        except IndexError as exc:
            raise IndexError(f"index {key!r} is invalid for Tensor of shape {self.shape}: {exc}") from None
        return Tensor(out)
        # END SOLUTION

    def __len__(self):
        """Size of the first dimension, as for a list; a 0-d Tensor has no length.

        TODO: Return the size of the first dimension; raise TypeError for a 0-d Tensor.

        APPROACH: A 0-d Tensor has no first dimension: check for that before reading the
        shape.

        EXAMPLE:
            >>> len(Tensor(np.zeros((4, 3))))
            4

        HINTS:
            - PyTorch says "len() of a 0-d tensor"; say something as clear.
        """
        # BEGIN SOLUTION
        if self.ndim == 0:
            raise TypeError("len() of a 0-d Tensor: it has no first dimension (use .item())")
        return self.shape[0]
        # END SOLUTION

    def item(self):
        """The single value of a one-element Tensor, as a Python float.

        TODO: Return the only element as a Python float; raise ValueError naming the shape
        if the Tensor does not hold exactly one element.

        APPROACH: Count the elements, not the dims: shape (1, 1) holds one, (2,) does not.
        Then convert that element to a Python float (not a NumPy scalar).

        EXAMPLE:
            >>> Tensor([[3.5]]).item()
            3.5

        HINTS:
            - Used to log a loss: `loss.item()`.
        """
        # BEGIN SOLUTION
        if self.size != 1:
            raise ValueError(
                f"item() needs a Tensor with exactly one element; got shape {self.shape} "
                f"({self.size} elements)"
            )
        return float(self.data.reshape(()))
        # END SOLUTION

    def numpy(self):
        """The underlying np.ndarray (not a copy: changing it changes the Tensor).

        TODO: Return the Tensor's own array, not a copy.

        APPROACH: One line.

        EXAMPLE:
            >>> Tensor([1, 2]).numpy()
            array([1., 2.], dtype=float32)

        HINTS:
            - Like PyTorch's `.numpy()`, this shares memory with the Tensor.
        """
        # BEGIN SOLUTION
        return self.data
        # END SOLUTION

    def __repr__(self):
        """E.g. `Tensor([[1., 2.]], shape=(1, 2))`, plus `, requires_grad=True` if set.

        TODO: Return a string with the values, the shape, the dtype if it is not float32,
        and `requires_grad=True` when it is set.

        APPROACH:
            1. Format the values with `np.array2string`: a ", " separator gives the list
               look of the EXAMPLE, and its `prefix` (the text printed before the values,
               here "Tensor(") makes NumPy indent continuation lines under the first value.
            2. Then the parts, each after ", ": `shape=...`; `dtype=...`, only if it is not
               the default; `requires_grad=True`, only if set. Close the parenthesis.

        EXAMPLE:
            >>> Tensor([[1, 2]], requires_grad=True)
            Tensor([[1., 2.]], shape=(1, 2), requires_grad=True)

        HINTS:
            - Build a list of the parts and join them: no special case for the commas.
        """
        # BEGIN SOLUTION
        values = np.array2string(self.data, separator=", ", prefix="Tensor(")
        parts = [values, f"shape={self.shape}"]
        if self.dtype != DEFAULT_DTYPE:
            parts.append(f"dtype={self.dtype}")
        if self.requires_grad:
            parts.append("requires_grad=True")
        return f"Tensor({', '.join(parts)})"
        # END SOLUTION

    # ------------------------------------------------------------------ autograd (module 05)

    def backward(self, gradient=None):
        """Fill `.grad` of every leaf Tensor that requires grad with d(self)/d(leaf).

        Not part of module 01: module 05 (autograd) writes this body; leave it until then.

        TODO: Run the chain rule from this Tensor back through the recorded graph.

        APPROACH:
            1. `self` must require grad (else RuntimeError: nothing to differentiate). The
               seed is `gradient` (an array/Tensor of self's shape; ValueError naming both
               shapes otherwise) or, for a one-element Tensor, 1 (RuntimeError for a larger
               Tensor without `gradient`: which direction?).
            2. Your `_topological_order` lists every Tensor after the Tensors it was made
               from. Walk it in reverse (from self back to the leaves), keeping the gradient
               reached so far for each Tensor, keyed by identity (`id`): Tensors compare
               element-wise, so they cannot be dict keys by value.
            3. At a Tensor made by an op (its `_grad_fn` is set): run that node's rule once,
               on the Tensor's complete gradient, and add each returned gradient to the
               entry of the matching input (a Tensor used twice gets both contributions:
               the "diamond" below).
            4. At a leaf with requires_grad: add the gradient into `.grad`, a Tensor of the
               leaf's shape and dtype (so two backward calls accumulate, as in PyTorch).

                x --+--> a = x * 2 --+
                    |                +--> y = a + b       dy/dx = 2 + 3: both paths add
                    +--> b = x * 3 --+

        EXAMPLE:
            >>> x = Tensor([1.0, 2.0], requires_grad=True)
            >>> (x * x).sum().backward(); x.grad
            Tensor([2., 4.], shape=(2,))

        HINTS:
            - Add gradients into new arrays, never in place: two inputs of an add receive
              the very same array.
            - Store a leaf's gradient in the leaf's own dtype.
        """
        # BEGIN SOLUTION 05
        if not self.requires_grad:
            raise RuntimeError("backward() on a Tensor that does not require grad: no input of it "
                               "has requires_grad=True, so there is nothing to differentiate")
        if gradient is None:
            if self.size != 1:
                raise RuntimeError(f"backward() without a gradient needs a one-element Tensor; this one "
                                   f"has shape {self.shape}: pass gradient= of that shape")
            seed = np.ones(self.shape, dtype=self.dtype)
        else:
            seed = np.array(gradient.data if isinstance(gradient, Tensor) else gradient, dtype=self.dtype)
            if seed.shape != self.shape:
                raise ValueError(f"backward(gradient=...): gradient has shape {seed.shape}, "
                                 f"the Tensor has shape {self.shape}")
        grads = {id(self): seed}
        stored = set()                 # ids of arrays already handed to a leaf's .grad
        for node in reversed(_topological_order(self)):
            grad = grads.pop(id(node), None)
            if grad is None:
                continue
            if node._grad_fn is None:
                if node.requires_grad:
                    grad = np.asarray(grad, dtype=node.dtype)
                    if node.grad is not None:
                        node.grad = _wrap(node.grad.data + grad)
                    elif grad.base is None and grad.flags.writeable and id(grad) not in stored:
                        node.grad = _wrap(grad)        # a fresh array nobody else holds: no copy
                    else:
                        node.grad = Tensor(grad)       # a view, or shared with another leaf: copy
                    stored.add(id(node.grad.data))
                continue
            for parent, g in zip(node._grad_fn.inputs, node._grad_fn.backward(grad)):
                if g is None or not parent.requires_grad:
                    continue
                if g.shape != parent.shape:
                    raise RuntimeError(f"{type(node._grad_fn).__name__}.backward returned a gradient of shape "
                                       f"{g.shape} for an input of shape {parent.shape}")
                grads[id(parent)] = g if id(parent) not in grads else grads[id(parent)] + g
        # END SOLUTION

    def detach(self) -> "Tensor":
        """The same values, cut from the graph: a Tensor that shares `.data` and requires no grad (given)."""
        return _wrap(self.data)


# ============================================================================================
# MODULE 05 (AUTOGRAD) STARTS HERE. In module 01, skip to "given helpers" below: nothing in
# this part runs in your tests, and its bodies raise NotImplementedError naming module 05.
# ============================================================================================
#
# ---------------------------------------------------------------------- backward rules (module 05)
# One rule per op of the Tensor above, found by its `@graph_op(lambda: ...Backward)`. Each rule
# gets `grad` = dL/d(output), an array of the output's shape, and returns dL/d(input) for each
# input (None where `needs_input_grad` is False). The chain rule for one op is all a rule knows.


def _unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum `grad` down to `shape`: the gradient of an input that broadcasting stretched.

    TODO: Return an array of shape `shape` that sums `grad` over every broadcast dimension.

    APPROACH:
        1. Broadcasting added leading dimensions: sum them away (axis 0, while grad has more
           dims than `shape`).
        2. It also stretched size-1 dimensions: for every dim where `shape` has 1 and grad
           does not, sum over it with keepdims=True.
        3. Return the result (it now has exactly `shape`).

            forward   b (3,) --broadcast--> (4, 3)  used 4 times, once per row
            backward  grad (4, 3) --sum rows--> (3,) every use adds its share

    EXAMPLE:
        >>> _unbroadcast(np.ones((4, 3)), (3,))
        array([4., 4., 4.])
        >>> _unbroadcast(np.ones((2, 5)), (2, 1)).shape
        (2, 1)

    HINTS:
        - A bias (C,) added to (B, T, C) gets the sum over B and T of the gradient.
    """
    # BEGIN SOLUTION 05
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    stretched = tuple(d for d, size in enumerate(shape) if size == 1 and grad.shape[d] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad
    # END SOLUTION


def _keepdims_shape(shape: tuple, axis, op: str) -> tuple:
    """The shape a reduction over `axis` gives with keepdims=True (given)."""
    axes = _normalize_axes(axis, len(shape), op)
    axes = range(len(shape)) if axes is None else axes
    return tuple(1 if d in axes else size for d, size in enumerate(shape))


class AddBackward(Function):
    """out = a + b  ->  da = grad, db = grad (each summed back to its own shape)."""

    def backward(self, grad):
        """TODO: Return (dL/da, dL/db) for out = a + b with broadcasting.

        APPROACH: d(a + b)/da = 1, so dL/da = grad; the same for b. Each input may have been
        broadcast: sum each gradient back to its input's shape with your `_unbroadcast`.

        EXAMPLE: a (2, 3) + b (3,), grad of ones (2, 3) -> da ones (2, 3), db [2, 2, 2].

        HINTS:
            - `self.saved_tensors` holds the input arrays (a, b); you only need their shapes.
        """
        # BEGIN SOLUTION 05
        a, b = self.saved_tensors
        return _unbroadcast(grad, a.shape), _unbroadcast(grad, b.shape)
        # END SOLUTION


class SubBackward(Function):
    """out = a - b  ->  da = grad, db = -grad."""

    def backward(self, grad):
        """TODO: Return (dL/da, dL/db) for out = a - b with broadcasting.

        APPROACH: As AddBackward, with the sign of b's gradient flipped.

        EXAMPLE: a (2,) - b (), grad [1, 1] -> da [1, 1], db -2.

        HINTS:
            - Unbroadcast after negating or before: the sum is linear.
        """
        # BEGIN SOLUTION 05
        a, b = self.saved_tensors
        return _unbroadcast(grad, a.shape), _unbroadcast(-grad, b.shape)
        # END SOLUTION


class MulBackward(Function):
    """out = a * b  ->  da = grad * b, db = grad * a."""

    def backward(self, grad):
        """TODO: Return (dL/da, dL/db) for the element-wise product out = a * b.

        APPROACH: d(a*b)/da = b and d(a*b)/db = a, element by element; multiply by grad,
        then `_unbroadcast` each to its input's shape. Compute only what `needs_input_grad`
        asks for (return None for the other): Dropout multiplies by a constant mask.

        EXAMPLE: a [2, 3] * b [4, 5], grad [1, 1] -> da [4, 5], db [2, 3].

        HINTS:
            - micrograd: `self.grad += other.data * out.grad`; the same rule, on arrays.
        """
        # BEGIN SOLUTION 05
        a, b = self.saved_tensors
        da = _unbroadcast(grad * b, a.shape) if self.needs_input_grad[0] else None
        db = _unbroadcast(grad * a, b.shape) if self.needs_input_grad[1] else None
        return da, db
        # END SOLUTION


class DivBackward(Function):
    """out = a / b  ->  da = grad / b, db = -grad * a / b**2."""

    def backward(self, grad):
        """TODO: Return (dL/da, dL/db) for out = a / b.

        APPROACH: d(a/b)/da = 1/b; d(a/b)/db = -a/b^2. Multiply by grad, unbroadcast each,
        skip the inputs that need no gradient.

        EXAMPLE: a [1, 2] / b [2, 4], grad [1, 1] -> da [0.5, 0.25], db [-0.25, -0.125].

        HINTS:
            - -a/b^2 = -out/b: the saved output (`self.output`) gives the same number.
        """
        # BEGIN SOLUTION 05
        a, b = self.saved_tensors
        da = _unbroadcast(grad / b, a.shape) if self.needs_input_grad[0] else None
        db = _unbroadcast(-grad * a / (b * b), b.shape) if self.needs_input_grad[1] else None
        return da, db
        # END SOLUTION


class NegBackward(Function):
    """out = -a  ->  da = -grad."""

    def backward(self, grad):
        """TODO: Return (dL/da,) for out = -a.

        APPROACH: One line; note the 1-tuple.

        EXAMPLE: grad [1, 2] -> ([-1, -2],)

        HINTS:
            - Every rule returns a tuple with one entry per input.
        """
        # BEGIN SOLUTION 05
        return (-grad,)
        # END SOLUTION


class MatMulBackward(Function):
    """out = a @ b  ->  da = grad @ b^T, db = a^T @ grad (batch dims summed back)."""

    def backward(self, grad):
        """TODO: Return (dL/da, dL/db) for out = a @ b, for 2-D, batched and 1-D operands.

        APPROACH:
            1. 2-D: each gradient is a matrix product of grad with the OTHER input,
               transposed; the shapes leave one way to write each (diagram).
            2. Batched (..., M, K) @ (..., K, N): the same, where "transposed" swaps only the
               last two dims; then `_unbroadcast` to each input's shape (batch dims may have
               been broadcast, e.g. (B, T, C) @ (C, D)).
            3. A 1-D a acts as a row (1, K), a 1-D b as a column (K, 1), and NumPy dropped
               that dim from the result: work with the 2-D views, give grad its dropped dim
               back, and reshape each gradient to its input's shape at the end.
            4. Skip the input that needs no gradient (the data x of `x @ W`).

                 A (M, K) @ B (K, N) = out (M, N)          G = dL/d(out) (M, N)
                 dA (M, K) = G (M, N) times B^T (N, K)
                 dB (K, N) = A^T (K, M) times G (M, N)

        EXAMPLE: a (4, 3) @ b (3, 2): da has shape (4, 3), db (3, 2).

        HINTS:
            - Check shapes on paper first: each gradient has its input's shape, always.
        """
        # BEGIN SOLUTION 05
        a, b = self.saved_tensors
        a2 = a.reshape(1, -1) if a.ndim == 1 else a                 # (.., M, K)
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b                 # (.., K, N)
        g = np.expand_dims(grad, -1) if b.ndim == 1 else grad       # put back the dims
        g = np.expand_dims(g, -2) if a.ndim == 1 else g              # NumPy dropped: (.., M, N)
        da = db = None
        if self.needs_input_grad[0]:
            da = _unbroadcast(g @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            db = _unbroadcast(np.swapaxes(a2, -1, -2) @ g, b2.shape).reshape(b.shape)
        return da, db
        # END SOLUTION


class ReshapeBackward(Function):
    """out = a.reshape(shape)  ->  da = grad.reshape(a.shape)."""

    def backward(self, grad):
        """TODO: Return (dL/da,): the gradient put back into the input's shape.

        APPROACH: Reshaping moves no values, so the gradient of each element is the
        gradient of the same element in the output; only the shape changes back.

        EXAMPLE: a (2, 3) -> out (6,); grad (6,) -> da (2, 3).

        HINTS:
            - The input's shape is `self.saved_tensors[0].shape`.
        """
        # BEGIN SOLUTION 05
        return (grad.reshape(self.saved_tensors[0].shape),)
        # END SOLUTION


class TransposeBackward(Function):
    """out = a.transpose(d0, d1)  ->  da = grad.transpose(d0, d1) (a swap is its own inverse)."""

    def backward(self, grad):
        """TODO: Return (dL/da,) for a swap of two dims.

        APPROACH: A swap is its own inverse: swap the same two dims of grad. They are in
        `self.params`, under the op's parameter names.

        EXAMPLE: a (2, 3, 4).transpose(0, 2) -> (4, 3, 2); grad (4, 3, 2) -> da (2, 3, 4).

        HINTS:
            - `params` holds every argument of the op by name, defaults included
              (`graph_op` records them).
        """
        # BEGIN SOLUTION 05
        return (np.swapaxes(grad, self.params["dim0"], self.params["dim1"]),)
        # END SOLUTION


class SumBackward(Function):
    """out = a.sum(axis)  ->  da = grad copied to every element that was summed."""

    def backward(self, grad):
        """TODO: Return (dL/da,) for a sum over `axis` (None, an int or a tuple).

        APPROACH:
            1. Each input element adds to exactly one output element with weight 1, so its
               gradient is that output's gradient.
            2. Put the reduced dims back into grad as size 1: the given `_keepdims_shape`
               computes that shape from the input's shape and `axis` (whatever keepdims was).
            3. Broadcast that to the input's shape: a read-only view is fine, since a rule
               never writes into a gradient.

        EXAMPLE: a (2, 3).sum(axis=1) -> (2,); grad [1, 2] -> da [[1, 1, 1], [2, 2, 2]].

        HINTS:
            - `self.params["axis"]` and `self.params["keepdims"]`.
        """
        # BEGIN SOLUTION 05
        a = self.saved_tensors[0]
        kept = grad.reshape(_keepdims_shape(a.shape, self.params["axis"], "sum"))
        return (np.broadcast_to(kept, a.shape),)
        # END SOLUTION


class MeanBackward(Function):
    """out = a.mean(axis)  ->  da = grad / count, copied to every element averaged."""

    def backward(self, grad):
        """TODO: Return (dL/da,) for a mean over `axis`.

        APPROACH: As SumBackward, divided by the number of elements averaged into each
        output: the input's size over the output's.

        EXAMPLE: a (2, 2).mean() -> (); grad 1 -> da [[0.25, 0.25], [0.25, 0.25]].

        HINTS:
            - `self.output` is the result's array; its size is the number of outputs.
        """
        # BEGIN SOLUTION 05
        a = self.saved_tensors[0]
        count = a.size // max(self.output.size, 1)
        kept = grad.reshape(_keepdims_shape(a.shape, self.params["axis"], "mean"))
        return (np.broadcast_to(kept / count, a.shape),)
        # END SOLUTION


class MaxBackward(Function):
    """out = a.max(axis)  ->  da = grad at the position(s) of the maximum, 0 elsewhere."""

    def backward(self, grad):
        """TODO: Return (dL/da,) for a max over `axis`.

        APPROACH:
            1. Only the largest element of each slice reached the output: it gets the
               gradient, the others 0.
            2. Give the output and grad their reduced dims back as size 1
               (`_keepdims_shape`): comparing the input with the output then marks, by
               broadcasting, the maxima of every slice.
            3. When several elements tie for the maximum, split the gradient equally among
               them (count the maxima of each slice), as PyTorch's amax does.

        EXAMPLE: a [1, 5, 2].max() -> 5; grad 1 -> da [0, 1, 0].

        HINTS:
            - `self.output` holds the maxima; reshape it like grad.
        """
        # BEGIN SOLUTION 05
        a = self.saved_tensors[0]
        axis = self.params["axis"]
        kept_shape = _keepdims_shape(a.shape, axis, "max")
        mask = a == self.output.reshape(kept_shape)                  # True at each maximum
        ties = mask.sum(axis=_normalize_axes(axis, a.ndim, "max"), keepdims=True)
        return (mask * (grad.reshape(kept_shape) / ties),)
        # END SOLUTION


class GetItemBackward(Function):
    """out = a[key]  ->  da = zeros with grad added at the positions that `key` read."""

    def backward(self, grad):
        """TODO: Return (dL/da,) for indexing with ints, slices, arrays and masks.

        APPROACH:
            1. Start from zeros of the input's shape and dtype.
            2. Add grad at the indexed positions with `np.add.at`: unlike an indexed `+=`,
               it adds once *per occurrence*, so `a[[0, 0]]` gives position 0 a gradient of
               2 (an embedding row looked up twice, module 11).
            3. The key is in `self.params`; convert it with `_index_key`, as the forward did
               (Tensors used as indices become int arrays).

        EXAMPLE: a (3,)[[0, 0, 2]]; grad [1, 1, 1] -> da [2, 0, 1].

        HINTS:
            - `np.add.at` is unbuffered: repeated indices accumulate.
        """
        # BEGIN SOLUTION 05
        a = self.saved_tensors[0]
        da = np.zeros_like(a)
        np.add.at(da, _index_key(self.params["key"]), grad)
        return (da,)
        # END SOLUTION


# ---------------------------------------------------------------------- the graph walk (module 05)


def _topological_order(root: Tensor) -> list:
    """Every Tensor `root` depends on through the graph, each after all Tensors it was made from.

    Module 05 writes this body; leave it until then.

    TODO: Return the list of Tensors reachable from `root` by following `_grad_fn.inputs`,
    in an order where every Tensor comes after its inputs (`root` last), each exactly once.

    APPROACH: Depth-first search with an explicit stack, not recursion (a 10,000-op chain
    would overflow Python's recursion limit of 1,000). A Tensor may join the order only
    once all its inputs have. So each Tensor meets the stack twice: a first visit marks
    it as seen and pushes it back, below its inputs, flagged as "expanded"; when that
    second entry comes off the stack, everything above it (its inputs) is done, and the
    Tensor joins the order. The inputs of a Tensor are those of its `_grad_fn` (a leaf
    has none).

    EXAMPLE:
        >>> x = Tensor([1.0], requires_grad=True); y = x * 2; z = y + x
        >>> [t is x for t in _topological_order(z)][0], _topological_order(z)[-1] is z
        (True, True)

    HINTS:
        - Track visited Tensors by `id(t)`: a Tensor used twice (x above) must appear once.
    """
    # BEGIN SOLUTION 05
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        if tensor._grad_fn is not None:
            stack.extend((parent, False) for parent in tensor._grad_fn.inputs if id(parent) not in visited)
    return order
    # END SOLUTION


# ============================================================================================
# END OF MODULE 05'S PART. Module 01 again from here.
# ============================================================================================

# ---------------------------------------------------------------------- given helpers (read, do not change)


def _as_tensor(value, like: Tensor | None = None) -> Tensor:
    """The operand `value` as a Tensor (given).

    Tensors pass through unchanged. A Python number becomes a 0-d Tensor with the dtype of
    `like` when `like` is floating, so `float32_tensor * 0.5` stays float32 (a Python number
    is "weak", as in NumPy 2 and PyTorch). Anything else goes through `Tensor(value)`.
    """
    if isinstance(value, Tensor):
        return value
    is_python_number = isinstance(value, (bool, int, float)) and not isinstance(value, np.generic)
    if is_python_number and like is not None and like.dtype.kind == "f":
        return Tensor(value, dtype=like.dtype)
    return Tensor(value)


def _wrap(array: np.ndarray) -> Tensor:
    """A Tensor around `array` itself, without the constructor's copy (given).

    For arrays that nobody else holds (a gradient just computed) or that are meant to be shared
    (`detach`). Everything else goes through `Tensor(...)`, which copies.
    """
    out = Tensor.__new__(Tensor)
    out.data, out.requires_grad, out.grad = array, False, None
    return out


def _index_key(key):
    """An indexing key with Tensors replaced by NumPy integer arrays (given).

    Tensors hold floats, so `t[Tensor([0, 2])]` converts the index Tensor to integers
    first (its values must be whole numbers). Tuples are converted element by element.
    """
    if isinstance(key, tuple):
        return tuple(_index_key(k) for k in key)
    if isinstance(key, Tensor):
        data = key.data
        if np.issubdtype(data.dtype, np.floating):
            if not np.all(np.equal(np.mod(data, 1), 0)):
                raise IndexError(f"a Tensor used as an index must hold whole numbers; got {data}")
            return data.astype(np.intp)
        return data
    return key


# ---------------------------------------------------------------------- systems questions


def matmul_flops(m: int, k: int, n: int) -> int:
    """Floating-point operations of an (m, k) @ (k, n) matrix product.

    TODO: Return the FLOP count as an int; raise ValueError for a negative dimension.

    APPROACH: Count the outputs, then the work of one: each is a dot product of length k,
    one multiply-add (FLOPS_PER_MULTIPLY_ADD = 2 FLOPs) per inner index. (Strictly, a dot
    product needs k - 1 adds; the convention counts k, as if accumulating into a zero, and
    is what hardware FLOP rates assume.) Check every dimension first.

    EXAMPLE:
        >>> matmul_flops(2, 3, 4)       # 8 outputs x 3 multiply-adds x 2
        48

    HINTS:
        - A GPT-2 small layer's (1024, 768) @ (768, 3072) MLP matmul is ~4.8 GFLOPs: compute
          time grows with m*k*n, memory only with m*k + k*n + m*n.
    """
    # BEGIN SOLUTION
    dims = {"m": m, "k": k, "n": n}
    for name, value in dims.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"matmul_flops: {name} must be an int; got {value!r}")
        if value < 0:
            raise ValueError(f"matmul_flops: {name} must be >= 0; got {value}")
    return FLOPS_PER_MULTIPLY_ADD * int(m) * int(k) * int(n)
    # END SOLUTION


def tensor_nbytes(shape, dtype=np.float32) -> int:
    """Bytes needed to store the elements of a tensor of `shape` and `dtype`.

    TODO: Return number of elements x bytes per element, as an int; raise ValueError for a
    negative dimension.

    APPROACH:
        1. Accept an int (a 1-D shape) or a tuple/list of ints.
        2. Number of elements = product of the shape (1 for the 0-d shape ()).
        3. Bytes per element = `np.dtype(dtype).itemsize` (float32: 4, float64: 8).

    EXAMPLE:
        >>> tensor_nbytes((32, 1024, 768))             # (B, T, C) activations, float32
        100663296
        >>> tensor_nbytes((2, 3), np.float64)
        48

    HINTS:
        - Only the elements count here, not the small Python object around them.
        - Halving the dtype (float32 -> float16) halves the bytes: that is module 17's
          quantization in one line.
    """
    # BEGIN SOLUTION
    dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
            raise TypeError(f"tensor_nbytes: shape {shape} must hold ints; got {d!r}")
        if d < 0:
            raise ValueError(f"tensor_nbytes: shape {shape} has a negative dimension {d}")
    return math.prod(int(d) for d in dims) * np.dtype(dtype).itemsize
    # END SOLUTION
