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
                     here, and adds a backward rule beside each op you write now
    12 attention     batched matmul `(B, H, T, D) @ (B, H, D, T)` and `transpose(-2, -1)`

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

import math

import numpy as np

DEFAULT_DTYPE = np.float32      # dtype of Tensors built from Python numbers, lists and ints
FLOPS_PER_MULTIPLY_ADD = 2      # one multiply + one add: the unit of a dot product


# ---------------------------------------------------------------------- shape rules
# Write these three first: every Tensor op below relies on them.


def _broadcast_shape(op: str, shape_a: tuple, shape_b: tuple) -> tuple:
    """The shape that `shape_a` and `shape_b` broadcast to, or a ValueError naming both.

    TODO: Implement NumPy's broadcasting rule and return the result shape.

    APPROACH:
        1. Line the shapes up from the right (pad the shorter one with 1s on the left).
        2. For each pair of sizes: equal -> keep it; one of them is 1 -> take the other;
           else raise ValueError(f"cannot {op} Tensor of shape {shape_a} and {shape_b}:
           shapes do not broadcast").
        3. Return the tuple of result sizes.

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
    raise NotImplementedError("Module 01 (tensor): write _broadcast_shape (see its docstring)")


def _normalize_dim(dim, ndim: int, op: str) -> int:
    """`dim` as a non-negative dimension index of a Tensor with `ndim` dimensions.

    TODO: Map a dim in [-ndim, ndim) to [0, ndim); raise IndexError otherwise.

    APPROACH:
        1. `dim` must be an int (not a bool): else TypeError.
        2. If not `-ndim <= dim < ndim`: raise IndexError naming `op`, the dim and ndim,
           e.g. "transpose: dim -2 is out of range for a Tensor with 1 dimension(s)
           (valid: -1 to 0)".
        3. Return the dim made non-negative: `dim + ndim` if it is negative, else `dim`.

    EXAMPLE:
        >>> _normalize_dim(-1, 3, "sum")
        2

    HINTS:
        - A 0-d Tensor has no valid dim at all.
    """
    raise NotImplementedError("Module 01 (tensor): write _normalize_dim (see its docstring)")


def _normalize_axes(axis, ndim: int, op: str):
    """`axis` of a reduction as None or a tuple of distinct non-negative dims.

    TODO: None -> None; an int -> a 1-tuple; a tuple/list -> a tuple; each entry through
    `_normalize_dim`; a repeated dim -> ValueError.

    APPROACH: Wrap an int in a tuple, normalise every entry, check for duplicates with a
    set, return the tuple.

    EXAMPLE:
        >>> _normalize_axes((0, -1), 3, "sum")
        (0, 2)
        >>> _normalize_axes(None, 3, "sum") is None
        True

    HINTS:
        - `axis=(0, -3)` on a 3-D Tensor names dim 0 twice: ValueError.
    """
    raise NotImplementedError("Module 01 (tensor): write _normalize_axes (see its docstring)")


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

    def __init__(self, data, requires_grad=False, dtype=None):
        """Build a Tensor from a Tensor, np.ndarray, (nested) list, or a number.

        TODO: Set `self.data` (an np.ndarray that is a *copy* of the input),
        `self.requires_grad` (a bool) and `self.grad` (None).

        APPROACH:
            1. If `data` is a Tensor, take its `.data` array.
            2. Choose the dtype: an explicit `dtype` wins; else floating NumPy data
               (np.ndarray or NumPy scalar with a float dtype) keeps its dtype; everything
               else (Python numbers, lists, int and bool arrays) becomes DEFAULT_DTYPE.
            3. Store `np.array(data, dtype=...)` (np.array copies by default).

        EXAMPLE:
            >>> Tensor([[1, 2], [3, 4]]).dtype                # int list -> float32
            dtype('float32')
            >>> Tensor(np.zeros(3, dtype=np.float64)).dtype   # float64 array is kept
            dtype('float64')
            >>> a = np.ones(2); t = Tensor(a); a[0] = 5.0; t.data.tolist()   # a copy
            [1.0, 1.0]

        HINTS:
            - `np.issubdtype(arr.dtype, np.floating)` is True for float16/32/64.
            - `isinstance(data, (np.ndarray, np.generic))` tells NumPy data from Python data;
              a Python float would otherwise become float64.
        """
        raise NotImplementedError("Module 01 (tensor): write Tensor.__init__ (see its docstring)")

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

    def __add__(self, other):
        """Element-wise `self + other` with broadcasting.

        TODO: Return a new Tensor holding the element-wise sum of the two arrays, after
        checking that the two shapes broadcast.

        APPROACH:
            1. `other = _as_tensor(other, like=self)` (turns numbers/arrays into Tensors).
            2. `_broadcast_shape("add", self.shape, other.shape)` raises a clear error
               if the shapes are incompatible.
            3. Add the two `.data` arrays (NumPy broadcasts them) and wrap the sum in a
               new Tensor.

        EXAMPLE:
            >>> Tensor([[1, 2, 3], [4, 5, 6]]) + Tensor([10, 20, 30])   # (2, 3) + (3,)
            Tensor([[11., 22., 33.],
                    [14., 25., 36.]], shape=(2, 3))

        HINTS:
            - The same three lines, with another operator and verb, give `__sub__`,
              `__mul__` and `__truediv__`.
        """
        raise NotImplementedError("Module 01 (tensor): write Tensor.__add__ (see its docstring)")

    def __radd__(self, other):
        """`other + self` when `other` is not a Tensor (e.g. `2.0 + t`, `array + t`).

        TODO: Return `other + self` as a Tensor.

        APPROACH: Convert `other` with `_as_tensor(other, like=self)` and reuse `__add__`
        with the operands in the original order (`other` on the left).

        EXAMPLE:
            >>> 1.0 + Tensor([1, 2])
            Tensor([2., 3.], shape=(2,))

        HINTS:
            - Python calls `t.__radd__(x)` for `x + t` when `x` does not know Tensors.
        """
        raise NotImplementedError("Module 01 (tensor): write Tensor.__radd__ (see its docstring)")

    def __sub__(self, other):
        """Element-wise `self - other` with broadcasting.

        TODO: Like `__add__`, with subtraction (verb "subtract" in the error message).

        APPROACH: `_as_tensor`, `_broadcast_shape("subtract", ...)`, `Tensor(a - b)`.

        EXAMPLE:
            >>> Tensor([5, 7]) - 2
            Tensor([3., 5.], shape=(2,))

        HINTS:
            - Order matters: this is `self - other`, not `other - self`.
        """
        raise NotImplementedError("Module 01 (tensor): write Tensor.__sub__ (see its docstring)")

    def __rsub__(self, other):
        """`other - self` when `other` is not a Tensor (e.g. `1.0 - t`).

        TODO: Return `other - self` as a Tensor.

        APPROACH: Convert `other` with `_as_tensor(other, like=self)`, then subtract `self`
        from it.

        EXAMPLE:
            >>> 10 - Tensor([1, 2])
            Tensor([9., 8.], shape=(2,))

        HINTS:
            - `1 - t` is not `t - 1`: keep `other` on the left.
        """
        raise NotImplementedError("Module 01 (tensor): write Tensor.__rsub__ (see its docstring)")

    def __mul__(self, other):
        """Element-wise `self * other` with broadcasting (not a matrix product).

        TODO: Like `__add__`, with multiplication (verb "multiply").

        APPROACH: `_as_tensor`, `_broadcast_shape("multiply", ...)`, `Tensor(a * b)`.

        EXAMPLE:
            >>> Tensor([[1], [2]]) * Tensor([10, 20, 30])      # (2, 1) * (3,) -> (2, 3)
            Tensor([[10., 20., 30.],
                    [20., 40., 60.]], shape=(2, 3))

        HINTS:
            - `*` multiplies matching elements; `@` (matmul) is the matrix product.
        """
        raise NotImplementedError("Module 01 (tensor): write Tensor.__mul__ (see its docstring)")

    def __rmul__(self, other):
        """`other * self` when `other` is not a Tensor (e.g. `0.5 * t`).

        TODO: Return `other * self` as a Tensor.

        APPROACH: Convert `other` with `_as_tensor(other, like=self)` and multiply.

        EXAMPLE:
            >>> 3 * Tensor([1, 2])
            Tensor([3., 6.], shape=(2,))

        HINTS:
            - Keep `other` on the left, as for `__rsub__` (so error messages read right).
        """
        raise NotImplementedError("Module 01 (tensor): write Tensor.__rmul__ (see its docstring)")

    def __truediv__(self, other):
        """Element-wise `self / other` with broadcasting.

        TODO: Like `__add__`, with true division (verb "divide").

        APPROACH: `_as_tensor`, `_broadcast_shape("divide", ...)`, `Tensor(a / b)`.

        EXAMPLE:
            >>> Tensor([1, 2]) / 4
            Tensor([0.25, 0.5 ], shape=(2,))

        HINTS:
            - Division by zero follows IEEE floats (inf or nan), as in NumPy and PyTorch;
              no need to check for it.
        """
        raise NotImplementedError("Module 01 (tensor): write Tensor.__truediv__ (see its docstring)")

    def __rtruediv__(self, other):
        """`other / self` when `other` is not a Tensor (e.g. `1.0 / t`).

        TODO: Return `other / self` as a Tensor.

        APPROACH: Convert `other` with `_as_tensor(other, like=self)` and divide it by
        `self`.

        EXAMPLE:
            >>> 1 / Tensor([2, 4])
            Tensor([0.5 , 0.25], shape=(2,))

        HINTS:
            - `1 / t` is the reciprocal of t, not `t / 1`.
        """
        raise NotImplementedError("Module 01 (tensor): write Tensor.__rtruediv__ (see its docstring)")

    def __neg__(self):
        """`-self`, element-wise.

        TODO: Return a new Tensor with every element negated.

        APPROACH: `Tensor(-self.data)`.

        EXAMPLE:
            >>> -Tensor([1, -2])
            Tensor([-1.,  2.], shape=(2,))

        HINTS:
            - Return a new Tensor; do not change `self.data` in place.
        """
        raise NotImplementedError("Module 01 (tensor): write Tensor.__neg__ (see its docstring)")

    # ------------------------------------------------------------------ matrix product

    def matmul(self, other):
        """Matrix product `self @ other` with NumPy's rules (2-D, batched N-D, 1-D).

        TODO: Check the shapes, then return `Tensor(np.matmul(self.data, other.data))`.

        APPROACH:
            1. `other = _as_tensor(other, like=self)`.
            2. A 0-d operand has no matrix dimensions: raise ValueError naming both shapes.
            3. The inner dimensions must agree: `self.shape[-1]` against `other.shape[-2]`
               (or `other.shape[0]` if `other` is 1-D). Otherwise raise
               ValueError("matmul: Tensor of shape (2, 3) @ (4, 5): inner dimensions 3
               and 4 differ").
            4. Leading (batch) dimensions broadcast like element-wise ops; raise a
               ValueError naming both shapes if they do not.
            5. Return the product as a new Tensor.

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
            - `np.broadcast_shapes(a, b)` raises ValueError when batch shapes disagree.
        """
        raise NotImplementedError("Module 01 (tensor): write Tensor.matmul (see its docstring)")

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
        raise NotImplementedError("Module 01 (tensor): write Tensor.__matmul__ (see its docstring)")

    def __rmatmul__(self, other):
        """`other @ self` when `other` is not a Tensor (e.g. `ndarray @ t`).

        TODO: Return `other @ self` as a Tensor.

        APPROACH: Convert `other` with `_as_tensor(other, like=self)` and call its
        `matmul` with `self`.

        EXAMPLE:
            >>> np.ones((1, 2), dtype=np.float32) @ Tensor([[1], [2]])
            Tensor([[3.]], shape=(1, 1))

        HINTS:
            - The matrix product does not commute: keep `other` on the left.
        """
        raise NotImplementedError("Module 01 (tensor): write Tensor.__rmatmul__ (see its docstring)")

    # ------------------------------------------------------------------ shape ops

    def reshape(self, *shape):
        """Same elements in a new shape: `t.reshape(2, 3)` or `t.reshape((2, 3))`.

        TODO: Return a new Tensor with the requested shape; at most one dimension may be
        -1 (inferred from the others).

        APPROACH:
            1. Accept both call styles: if `shape` is a single tuple/list, unpack it.
            2. Validate: every entry an int >= 0, or -1 (at most once).
            3. If there is a -1, infer it from `self.size` and the product of the others.
            4. If the product differs from `self.size`, raise ValueError naming the old and
               the requested shape, e.g. "cannot reshape Tensor of shape (2, 3) (6
               elements) into (4, 2)".
            5. Return `Tensor(self.data.reshape(new_shape))`.

        EXAMPLE:
            >>> Tensor(np.arange(6)).reshape(2, -1).shape      # (6,) -> (2, 3)
            (2, 3)

        HINTS:
            - `math.prod(())` is 1, the size of a 0-d Tensor.
            - A -1 cannot be inferred when the other dimensions multiply to 0.
        """
        raise NotImplementedError("Module 01 (tensor): write Tensor.reshape (see its docstring)")

    def transpose(self, dim0=-2, dim1=-1):
        """Swap two dimensions; by default the last two (the matrix transpose).

        TODO: Return a new Tensor with dimensions `dim0` and `dim1` swapped.

        APPROACH:
            1. Normalise both dims with `_normalize_dim(dim, self.ndim, "transpose")`;
               it allows negative dims and raises IndexError if out of range (so a 1-D
               Tensor with the default dims raises, as in PyTorch).
            2. Return `Tensor(np.swapaxes(self.data, d0, d1))`.

        EXAMPLE:
            >>> Tensor(np.zeros((2, 3, 4))).transpose().shape       # (B, T, C) -> (B, C, T)
            (2, 4, 3)
            >>> Tensor(np.zeros((2, 3, 4))).transpose(0, -1).shape
            (4, 3, 2)

        HINTS:
            - Attention computes `q @ k.transpose(-2, -1)`: (B, T, D) @ (B, D, T).
        """
        raise NotImplementedError("Module 01 (tensor): write Tensor.transpose (see its docstring)")

    # ------------------------------------------------------------------ reductions

    def sum(self, axis=None, keepdims=False):
        """Sum of elements over `axis` (None = all; an int; or a tuple of ints).

        TODO: Return the sum as a new Tensor.

        APPROACH:
            1. `axes = _normalize_axes(axis, self.ndim, "sum")` (None stays None; ints and
               tuples become a tuple of non-negative dims; bad axes raise).
            2. Return `Tensor(self.data.sum(axis=axes, keepdims=keepdims))`.

        EXAMPLE:
            >>> x = Tensor([[1, 2, 3], [4, 5, 6]])     # (2, 3)
            >>> x.sum().item(), x.sum(axis=0).shape, x.sum(axis=1, keepdims=True).shape
            (21.0, (3,), (2, 1))

        HINTS:
            - `keepdims=True` keeps reduced dims as size 1, so the result broadcasts back
              against the input: `x - x.mean(axis=-1, keepdims=True)`.
        """
        raise NotImplementedError("Module 01 (tensor): write Tensor.sum (see its docstring)")

    def mean(self, axis=None, keepdims=False):
        """Arithmetic mean over `axis` (same `axis`/`keepdims` rules as `sum`).

        TODO: Return the mean as a new Tensor; the mean of zero elements is an error.

        APPROACH:
            1. `axes = _normalize_axes(axis, self.ndim, "mean")`.
            2. Count the elements averaged per output: all of them if `axes` is None, else
               the product of `self.shape[d]` for d in axes. If that count is 0, raise
               ValueError naming the shape (NumPy would return nan with a warning).
            3. Return `Tensor(self.data.mean(axis=axes, keepdims=keepdims))`.

        EXAMPLE:
            >>> Tensor([[1, 2], [3, 4]]).mean(axis=1)
            Tensor([1.5, 3.5], shape=(2,))

        HINTS:
            - mean = sum / count; NumPy's `.mean` does both and keeps float32.
        """
        raise NotImplementedError("Module 01 (tensor): write Tensor.mean (see its docstring)")

    def max(self, axis=None, keepdims=False):
        """Largest element over `axis` (same `axis`/`keepdims` rules as `sum`).

        TODO: Return the maximum as a new Tensor; the max of zero elements is an error.

        APPROACH: As `mean`: normalise the axes, raise ValueError naming the shape if the
        reduced dimensions hold no elements, then `self.data.max(axis=..., keepdims=...)`.

        EXAMPLE:
            >>> Tensor([[1, 5], [7, 2]]).max(axis=0)
            Tensor([7., 5.], shape=(2,))

        HINTS:
            - Losses subtract `x.max(axis=-1, keepdims=True)` before `exp` so that it never
              overflows (module 04).
        """
        raise NotImplementedError("Module 01 (tensor): write Tensor.max (see its docstring)")

    # ------------------------------------------------------------------ indexing & access

    def __getitem__(self, key):
        """`t[key]` as a new Tensor: ints, slices, `None`, `...`, and integer arrays.

        TODO: Index `self.data` as NumPy does and wrap the result in a new Tensor.

        APPROACH:
            1. `key = _index_key(key)` (turns Tensors used as indices into int arrays).
            2. `self.data[key]`; if NumPy raises IndexError, raise IndexError naming the key
               and `self.shape`.
            3. Return it as a new Tensor (a copy: changing it never changes `self`).

        EXAMPLE:
            >>> x = Tensor([[1, 2, 3], [4, 5, 6]])
            >>> x[1].shape, x[:, 1:].shape, x[[0, 0, 1]].shape
            ((3,), (2, 2), (3, 3))

        HINTS:
            - An embedding lookup (module 11) is integer-array indexing: `W[token_ids]`.
        """
        raise NotImplementedError("Module 01 (tensor): write Tensor.__getitem__ (see its docstring)")

    def __len__(self):
        """Size of the first dimension, as for a list; a 0-d Tensor has no length.

        TODO: Return `self.shape[0]`; raise TypeError for a 0-d Tensor.

        APPROACH: Check `self.ndim == 0` first.

        EXAMPLE:
            >>> len(Tensor(np.zeros((4, 3))))
            4

        HINTS:
            - PyTorch says "len() of a 0-d tensor"; say something as clear.
        """
        raise NotImplementedError("Module 01 (tensor): write Tensor.__len__ (see its docstring)")

    def item(self):
        """The single value of a one-element Tensor, as a Python float.

        TODO: Return `float(...)` of the only element; raise ValueError naming the shape if
        the Tensor does not hold exactly one element.

        APPROACH: Check `self.size == 1`, then `float(self.data.reshape(()))`.

        EXAMPLE:
            >>> Tensor([[3.5]]).item()
            3.5

        HINTS:
            - Used to log a loss: `loss.item()`.
        """
        raise NotImplementedError("Module 01 (tensor): write Tensor.item (see its docstring)")

    def numpy(self):
        """The underlying np.ndarray (not a copy: changing it changes the Tensor).

        TODO: Return `self.data`.

        APPROACH: One line.

        EXAMPLE:
            >>> Tensor([1, 2]).numpy()
            array([1., 2.], dtype=float32)

        HINTS:
            - Like PyTorch's `.numpy()`, this shares memory with the Tensor.
        """
        raise NotImplementedError("Module 01 (tensor): write Tensor.numpy (see its docstring)")

    def __repr__(self):
        """E.g. `Tensor([[1., 2.]], shape=(1, 2))`, plus `, requires_grad=True` if set.

        TODO: Return a string with the values, the shape, the dtype if it is not float32,
        and `requires_grad=True` when it is set.

        APPROACH:
            1. Format the values with
               `np.array2string(self.data, separator=", ", prefix="Tensor(")`.
            2. Append `, shape=...`; then `, dtype=float64` (only if not float32); then
               `, requires_grad=True` (only if set); close the parenthesis.

        EXAMPLE:
            >>> Tensor([[1, 2]], requires_grad=True)
            Tensor([[1., 2.]], shape=(1, 2), requires_grad=True)

        HINTS:
            - `prefix=` makes NumPy indent continuation lines under the first value.
        """
        raise NotImplementedError("Module 01 (tensor): write Tensor.__repr__ (see its docstring)")

    # ------------------------------------------------------------------ autograd (dormant)

    def backward(self, gradient=None):
        """Compute gradients of this Tensor with respect to its inputs (module 05).

        Declared now so that the Tensor's interface is complete from the start; not part
        of module 01 and not graded here. Module 05 (autograd) replaces this body, records
        how each Tensor was made, and fills `.grad` of every Tensor with requires_grad=True.
        """
        raise NotImplementedError(
            "Tensor.backward arrives in module 05 (autograd): it is not part of module 01. "
            "Leave this method as it is for now."
        )


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
    if is_python_number and like is not None and np.issubdtype(like.dtype, np.floating):
        return Tensor(value, dtype=like.dtype)
    return Tensor(value)


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

    APPROACH: The result has m * n elements. Each is a dot product of length k: k
    multiplies and k adds (one multiply-add per inner index, FLOPS_PER_MULTIPLY_ADD = 2).
    So the total is 2 * m * k * n. (Strictly, a dot product needs k - 1 adds; the
    convention counts k, as if accumulating into a zero, and is what hardware FLOP rates
    assume.)

    EXAMPLE:
        >>> matmul_flops(2, 3, 4)       # 8 outputs x 3 multiply-adds x 2
        48

    HINTS:
        - A GPT-2 small layer's (1024, 768) @ (768, 3072) MLP matmul is ~4.8 GFLOPs: compute
          time grows with m*k*n, memory only with m*k + k*n + m*n.
    """
    raise NotImplementedError("Module 01 (tensor): write matmul_flops (see its docstring)")


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
    raise NotImplementedError("Module 01 (tensor): write tensor_nbytes (see its docstring)")
