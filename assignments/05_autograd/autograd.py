"""Module 05: autograd, gradients of any computation, by the chain rule, automatically.

What you build
    The backward half of every op you wrote in modules 01-04, and the machinery that chains
    them. Module 01 declared `requires_grad`, `.grad` and `backward()`, and every op already
    records, on its result, a Function node (see "the graph hooks" in tensor.py). Now:

    tensor.py       `_unbroadcast`, the `...Backward` rules of the Tensor ops (add, sub, mul,
                    div, neg, matmul, reshape, transpose, sum, mean, max, indexing),
                    `_topological_order` and `Tensor.backward`
    activations.py  SigmoidBackward, ReLUBackward, TanhBackward, GELUBackward, SoftmaxBackward
    losses.py       LogSoftmaxBackward, MSEBackward, CrossEntropyBackward, BCEBackward
    this file       `no_grad`, `gradcheck` (your own finite-difference checker) and the
                    systems questions

    One Tensor class, one file per concept: each backward rule sits beside the op it
    differentiates, as micrograd's `_backward` sits inside its operator.

Why it matters
    Training needs d(loss)/d(parameter) for millions of parameters. Writing those by hand
    (milestone 1 did, for one layer) does not scale; finite differences need two forward
    passes per parameter. Reverse mode needs one forward and one backward pass, whatever the
    number of parameters: each op passes gradients back to its inputs, in reverse
    topological order.

        forward:   x --(@ W)--> h --(+ b)--> z --(relu)--> a --(cross-entropy)--> loss
        backward:  dW <-------- dh <-------- dz <--------- da <---------------- 1

Who uses it later
    06 optimizers  read `.grad` of every parameter
    07 training    loss.backward() in every step; no_grad() in evaluation
    every later module: its layers are Tensor ops, so they are differentiable for free

The systems angle
    The graph keeps every array a backward rule needs alive until backward runs: activation
    memory, which grows with depth and batch size. `graph_memory_bytes` puts a number on it;
    `no_grad()` is how inference avoids paying it.
"""

from __future__ import annotations

import numpy as np

from tinytorch.core.tensor import Function, Tensor, _GradMode, _topological_order  # noqa: F401  (Function re-exported)

GRADCHECK_EPS = 1e-6      # step of the central finite differences (float64)
GRADCHECK_ATOL = 1e-5
GRADCHECK_RTOL = 1e-4


def is_grad_enabled() -> bool:
    """Whether ops record the graph right now (given)."""
    return _GradMode.enabled


class no_grad:
    """`with no_grad(): ...` runs ops without recording the graph (evaluation, optimizer steps).

    Inside the block, results of ops have requires_grad=False and no `_grad_fn`, so nothing is
    kept for a backward pass: less memory, less time. Blocks nest, and the previous mode comes
    back when the block ends, even through an exception.
    """

    def __enter__(self):
        """TODO: Remember the current grad mode, then switch recording off.

        APPROACH: Remember the current mode on the instance: __exit__ must restore it, and
        it may already be off (a no_grad inside a no_grad). Then switch recording off
        through the given `_GradMode` class. Return self (for `with no_grad() as ctx`).

        EXAMPLE:
            >>> w = Tensor([1.0], requires_grad=True)
            >>> with no_grad():
            ...     y = w * 2
            >>> y.requires_grad
            False

        HINTS:
            - `_GradMode` is a class; its attribute `enabled` is shared by every op.
        """
        raise NotImplementedError("Module 05 (autograd): write no_grad.__enter__ (see its docstring)")

    def __exit__(self, exc_type, exc, traceback):
        """TODO: Restore the grad mode saved by __enter__; let exceptions propagate.

        APPROACH: Put back the mode saved by __enter__ (not simply "on": a no_grad inside a
        no_grad must leave recording off), and return a false value.

        EXAMPLE:
            >>> with no_grad():
            ...     with no_grad():
            ...         pass
            ...     is_grad_enabled()
            False

        HINTS:
            - Returning True from __exit__ would swallow the exception.
        """
        raise NotImplementedError("Module 05 (autograd): write no_grad.__exit__ (see its docstring)")


class GradcheckError(AssertionError):
    """A backward rule disagrees with finite differences."""


def gradcheck(fn, inputs, eps: float = GRADCHECK_EPS, atol: float = GRADCHECK_ATOL,
              rtol: float = GRADCHECK_RTOL, seed: int = 0) -> bool:
    """Check the gradients of `fn(*inputs)` against central finite differences.

    TODO: Return True when, for every input with requires_grad, the gradient from backward
    matches the numerical one; otherwise raise GradcheckError naming the input, the index, and
    both values.

    APPROACH:
        1. Every input must be a float64 Tensor (float32 finite differences are noise):
           raise TypeError otherwise.
        2. Reduce the output to a scalar L: the sum of the output times fixed random
           weights of its shape, drawn from a Generator seeded with `seed`. (With weights
           of 1, a wrong rule that only gets the sum right would pass.)
        3. Analytic: clear every input's .grad, build L, run its backward, read the grads.
        4. Numeric, for each element of each input that requires grad: nudge it by +eps,
           evaluate L, by -eps, evaluate L, restore it; the central difference is
           (L+ - L-) / (2 eps). These evaluations need no graph: run them under no_grad.
        5. Compare element-wise: |analytic - numeric| <= atol + rtol * |numeric|.

    EXAMPLE:
        >>> x = Tensor(np.random.randn(3, 4), requires_grad=True)      # float64
        >>> gradcheck(lambda t: (t * t).sum(axis=1), [x])
        True

    HINTS:
        - Change `x.data` in place for the probes so that `fn` sees the same Tensor object.
        - Restore every probed value, even when an assertion is about to fail.
    """
    raise NotImplementedError("Module 05 (autograd): write gradcheck (see its docstring)")


# ---------------------------------------------------------------------------------------------
# Systems questions
# ---------------------------------------------------------------------------------------------


def graph_nodes(t: Tensor) -> int:
    """Number of Function nodes in the graph that produced `t` (0 for a leaf).

    TODO: Count the Tensors reachable from `t` that were made by an op (have a `_grad_fn`).

    APPROACH: Your `_topological_order` lists every reachable Tensor once; a Tensor made by
    an op carries its node in `_grad_fn`, a leaf carries none.

    EXAMPLE:
        >>> w = Tensor([1.0, 2.0], requires_grad=True)
        >>> graph_nodes(((w * 2) + w).sum())                 # mul, add, sum
        3

    HINTS:
        - Under no_grad() the same expression records 0 nodes.
    """
    raise NotImplementedError("Module 05 (autograd): write graph_nodes (see its docstring)")


def graph_memory_bytes(n_ops: int, shape, dtype=np.float32) -> int:
    """Bytes of arrays that the graph of a chain of `n_ops` element-wise ops keeps alive.

    For y = f_n(...f_2(f_1(x))) with each f element-wise (relu, tanh, * 2, ...) on a Tensor of
    `shape`, every node saves its input (and its output) for the backward pass, so until
    backward runs the graph holds x and every intermediate result: n_ops + 1 arrays.

    TODO: Return (n_ops + 1) * (bytes of one array of `shape` and `dtype`); ValueError for a
    negative n_ops or a negative dimension.

    APPROACH: Elements of one array: the product of the shape (1 for ()); bytes per
    element: the `itemsize` of NumPy's dtype object. Accept an int as a 1-D shape.

    EXAMPLE:
        >>> graph_memory_bytes(10, (32, 1024), np.float32)     # 11 arrays of 128 KiB
        1441792

    HINTS:
        - This is why deep networks run out of memory in training but not in inference
          (under no_grad nothing is saved), and why activation checkpointing exists.
    """
    raise NotImplementedError("Module 05 (autograd): write graph_memory_bytes (see its docstring)")
