"""Module 09: spatial layers, convolution and pooling for images.

What you build
    conv_output_size    the output-size formula every spatial layer shares
    im2col / col2im     unfold image patches into the columns of a matrix, and fold them back
    conv2d + Conv2d     2-D convolution: one big matrix product, and its backward rule
    max_pool2d, avg_pool2d + MaxPool2d, AvgPool2d   downsampling, and their backward rules
    batch_norm2d + BatchNorm2d   per-channel normalisation with running statistics
    Flatten             (N, C, H, W) -> (N, C*H*W), the bridge to Linear layers
    Every image is NCHW: (batch, channels, height, width), PyTorch's layout.

Why it matters
    A Linear layer from a 3x32x32 image to a 32x32x32 feature map has 100 million weights and
    ignores that neighbouring pixels belong together. A 3x3 convolution computing the same map
    has 896: it looks at small patches and reuses one filter at every position. That one idea
    (locality + weight sharing) is why CNNs work on images.

    The naive convolution is 6 nested loops over batch, output channel, rows, columns, input
    channel and kernel offsets: far too slow in Python. The classic trick (Caffe, the first
    GPU frameworks) is im2col: copy every patch into a column of a matrix, and the whole
    convolution is one matrix product, which NumPy hands to an optimised BLAS routine.

        x (N, C, H, W)             W_mat (O, C*kh*kw)     cols (C*kh*kw, N*OH*OW)
        +---------+                one row per filter     one column per patch
        | [p0]    |     im2col
        |    [p1] |   --------->   [ w0 ........ ]    @   [ p0 p1 ... ]   =   (O, N*OH*OW)
        |  ...    |                [ w1 ........ ]        [ :  :      ]       -> (N, O, OH, OW)
        +---------+                [ ...         ]        [ :  :      ]

    Loops are allowed over the kh*kw kernel offsets only (9 iterations for a 3x3 kernel), never
    over pixels or batch items: each iteration then moves a whole (N, C, OH, OW) block at once.

Who uses it later
    milestone 3   a CNN (Conv2d, BatchNorm2d, ReLU, MaxPool2d, Flatten, Linear) on CIFAR-10
    15 profiling  FLOPs and memory of conv layers (the formulas of the systems questions here)
    18 compression structured pruning removes whole conv filters

Backward rules
    Each differentiable op is a function decorated with `graph_op`, with its `...Backward`
    class right above it, as in modules 02 and 04. The backward rules are your work in this
    module (module 05 wrote those of the earlier ops). Layers (`Conv2d`, `BatchNorm2d`, ...)
    call these functions and add their bias through Tensor ops, so autograd does the rest.

The systems angle
    `conv2d_flops`: the arithmetic of a conv layer; `im2col_bytes`: the price of the im2col
    trick, a matrix kh*kw times larger than the input; `conv_param_count` against
    `dense_equivalent_param_count`: what weight sharing saves.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tinytorch.core.layers import PARAM_DTYPE, Module, linear_param_count
from tinytorch.core.tensor import FLOPS_PER_MULTIPLY_ADD, Function, Tensor, graph_op

HE_GAIN = 2.0                   # He/Kaiming init: Var(w) = HE_GAIN / fan_in, for ReLU networks
BN_EPS = 1e-5                   # added to the variance before the square root
BN_MOMENTUM = 0.1               # running = (1 - momentum) * running + momentum * batch statistic
BATCH_AXES = (0, 2, 3)          # BatchNorm2d's statistics: over N, H and W, one per channel


# ---------------------------------------------------------------------- given helpers


def _pair(value, name: str, who: str, minimum: int = 1) -> tuple:
    """An int or a pair of ints as a pair (height, width), each >= minimum (given).

    `kernel_size=3` means (3, 3); `kernel_size=(3, 5)` is 3 rows by 5 columns.
    """
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum
                             for v in pair):
        raise ValueError(f"{who}: {name} must be an int >= {minimum} or a pair of them; got {value!r}")
    return int(pair[0]), int(pair[1])


def _check_image(x, who: str) -> None:
    """Raise unless `x` is a 4-D Tensor (N, C, H, W), naming `who` and the shape (given)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{who} expects a Tensor of shape (N, C, H, W); got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"{who} expects input of shape (N, C, H, W); got shape {x.shape} "
                         f"({x.ndim} dimensions)")


def _offset_view(a: np.ndarray, i: int, j: int, stride: tuple, out_size: tuple) -> np.ndarray:
    """The (N, C, OH, OW) view of `a` that kernel offset (i, j) reads at every output position (given).

    Output pixel (oh, ow) of a window op reads input pixel (oh * sh + i, ow * sw + j) at
    offset (i, j) of its window. Over all outputs, that is one strided slice: no copy, and
    writing into the view writes into `a`.

        a (H, W) = 5x5, kernel 3x3, stride 2 -> out 2x2; offset (1, 2) reads the x's:
            . . . . .
            . . x . x          rows 1, 3 (i = 1, step 2), columns 2, 4 (j = 2, step 2)
            . . . . .
            . . x . x
            . . . . .
    """
    (sh, sw), (oh, ow) = stride, out_size
    return a[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]


# ---------------------------------------------------------------------- output size


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Length of the output along one dimension of a convolution or pooling window.

    TODO: Return the number of window positions along the dimension; raise ValueError when
    the kernel is larger than the padded input.

    APPROACH:
        1. Padding adds `padding` zeros on BOTH sides.
        2. A kernel longer than the padded length fits nowhere: a ValueError naming kernel,
           size and padding, e.g. "kernel 5 is larger than the padded input 4 (size 2,
           padding 1)".
        3. The window starts at 0, stride, 2 * stride, ... as long as it still fits: count
           those starts (the diagram has 3).

            size 7, kernel 3, stride 2:   [x x x] . . . .     start 0
                                           . . [x x x] . .     start 2
                                           . . . . [x x x]     start 4   -> 3 outputs

    EXAMPLE:
        >>> conv_output_size(32, 3, padding=1)         # "same" convolution
        32
        >>> conv_output_size(7, 3, stride=2)
        3

    HINTS:
        - Floor division: a last partial window is dropped, as in PyTorch.
    """
    raise NotImplementedError("Module 09 (spatial): write conv_output_size (see its docstring)")


# ---------------------------------------------------------------------- im2col and col2im


def im2col(x: np.ndarray, kernel_size: tuple, stride: tuple = (1, 1), padding: tuple = (0, 0)) -> np.ndarray:
    """Every kh x kw patch of the zero-padded images `x` as one column of a matrix.

    x is a NumPy array (N, C, H, W); the result has shape (C * kh * kw, N * OH * OW) and x's
    dtype. Column (n, oh, ow) holds the patch under output pixel (oh, ow) of image n; its rows
    are in the order (c, i, j): channel, kernel row, kernel column, the order of
    weight.reshape(O, C * kh * kw). So the whole convolution is W_mat @ cols.

    TODO: Pad, view the windows without copying, and copy them into the 2-D matrix.

    APPROACH:
        1. OH and OW from your conv_output_size.
        2. The padded images: zeros (N, C, H + 2ph, W + 2pw) of x's dtype, x copied into the
           middle.
        3. `sliding_window_view` over the two spatial axes views every stride-1 window
           without copying: (N, C, H', W', kh, kw). For the stride, keep every sh-th window
           position along H' and every sw-th along W': (N, C, OH, OW, kh, kw).
        4. Transpose the axes into the order (C, kh, kw, N, OH, OW), then reshape to
           (C * kh * kw, N * OH * OW): this reshape makes the one real copy.

            x[0, 0] = 1 2 3       kernel 2x2, stride 1, N = C = 1:   cols = [[1 2 4 5]
                      4 5 6       4 patches, one per column                  [2 3 5 6]
                      7 8 9                                                  [4 5 7 8]
                                                                             [5 6 8 9]]

    EXAMPLE:
        >>> im2col(np.arange(9.0).reshape(1, 1, 3, 3), (2, 2)).shape
        (4, 4)
        >>> im2col(np.zeros((2, 3, 32, 32)), (3, 3), padding=(1, 1)).shape     # 2*32*32 patches
        (27, 2048)

    HINTS:
        - sliding_window_view makes no copy: it is a view with two more strides (print
          its `strides`). The same matrix can be built with a loop over the kh * kw kernel
          offsets instead: the given `_offset_view` is what one offset reads at every
          output position, one (N, C, OH, OW) block of the (C, kh, kw, N, OH, OW) result.
        - Why this layout: the copy in step 4 moves runs of OW neighbouring numbers, and the
          product's result (O, N*OH*OW) reaches NCHW by swapping the two outer axes only.
          Putting the channels innermost instead (rows (N*OH*OW), columns (kh, kw, C)) makes
          a 3-channel image's copies move 3 numbers at a time: measured 1.5-2x slower for a
          first conv layer. Memory layout is a performance decision.
    """
    raise NotImplementedError("Module 09 (spatial): write im2col (see its docstring)")


def col2im(cols: np.ndarray, shape: tuple, kernel_size: tuple, stride: tuple = (1, 1),
           padding: tuple = (0, 0)) -> np.ndarray:
    """Fold patch columns back into images of `shape` (N, C, H, W), adding where patches overlap.

    The adjoint of im2col: im2col copied each input pixel into every patch that contains it;
    col2im sends each entry of `cols` back to the pixel it came from and sums them. That is
    exactly the backward pass of im2col: dL/dx = col2im(dL/dcols).

    TODO: Return an array of `shape` (cols' dtype) where each pixel holds the sum of the
    entries of `cols` that im2col copied from it; entries from the zero padding are dropped.

    APPROACH:
        1. View cols as (C, kh, kw, N, OH, OW): im2col's row and column order, unfolded.
        2. Start from zeros of the padded shape (N, C, H + 2ph, W + 2pw).
        3. For each kernel offset (i, j) (a loop of kh * kw iterations, never over pixels):
           the (C, N, OH, OW) block of that offset, with its first two axes swapped to NCHW,
           is added into the pixels that offset read: the given `_offset_view` of the
           padded array (writing into the view writes into the array).
        4. Crop the padding off and return a contiguous array.

            stride 1, kernel 3: input pixel (5, 5) is in 9 patches, at offset (0, 0) of the
            patch at (5, 5), ..., (2, 2) of the patch at (3, 3): its gradient has 9 terms.

    EXAMPLE:
        >>> col2im(np.ones((4, 4)), (1, 1, 3, 3), (2, 2))[0, 0]    # patches containing each pixel
        array([[1., 2., 1.],
               [2., 4., 2.],
               [1., 2., 1.]])

    HINTS:
        - `+=`, not `=`: with stride 1 neighbouring patches overlap, and a pixel's gradient is
          the sum over every patch it is in.
        - np.add.at would also work and is many times slower; slices of a whole block are one
          vectorised add each.
    """
    raise NotImplementedError("Module 09 (spatial): write col2im (see its docstring)")


# ---------------------------------------------------------------------- convolution


class Conv2dBackward(Function):
    """out = conv2d(x, weight)  ->  dweight = g @ cols^T, dx = col2im(W_mat^T @ g)."""

    def backward(self, grad):
        """TODO: Return (dL/dx, dL/dweight) for out = conv2d(x, weight, stride, padding).

        APPROACH: The forward was out_mat = W_mat @ cols (a matmul), so the matmul rule applies:
            1. x and weight are the saved arrays; stride and padding are in self.params
               (graph_op records defaults too): pairs with `_pair`, as the forward made them.
            2. Bring grad (N, O, OH, OW) into out_mat's layout, the matrix (O, N*OH*OW):
               the output-channel axis first, then flatten the other three.
            3. dweight: recompute cols from x with im2col (see HINTS); the product of the
               diagram gives (O, C*kh*kw), which reshapes to weight's shape.
            4. dx: the product of the diagram gives dcols; col2im folds it back to x's shape.
            5. Compute each only if `self.needs_input_grad` asks (the first layer's input is
               data: no dx needed, which skips col2im).

                forward   out_mat (O, P) = W_mat (O, K) @ cols (K, P)        P = N*OH*OW
                backward  dW_mat (O, K)  = G (O, P) times cols^T (P, K)      K = C*kh*kw
                          dcols (K, P)   = W_mat^T (K, O) times G (O, P)  --col2im-->  dx

        EXAMPLE: x (2, 3, 8, 8), weight (4, 3, 3, 3), padding 1: dx (2, 3, 8, 8), dweight (4, 3, 3, 3).

        HINTS:
            - PyTorch saves the input, not the unfolded matrix: cols is kh*kw times larger
              than x (see im2col_bytes), so recomputing it is cheaper than keeping it alive
              in the graph until backward.
        """
        raise NotImplementedError("Module 09 (spatial): write Conv2dBackward.backward (see its docstring)")


@graph_op(Conv2dBackward, inputs=("x", "weight"))
def conv2d(x: Tensor, weight: Tensor, stride=1, padding=0) -> Tensor:
    """2-D convolution (cross-correlation, as in every DL library) of images x with filters weight.

        out[n, o, oh, ow] = sum over c, i, j of
                            x_padded[n, c, oh * sh + i, ow * sw + j] * weight[o, c, i, j]

    x (N, C, H, W), weight (O, C, kh, kw) -> out (N, O, OH, OW), OH = conv_output_size(H, kh,
    sh, ph). stride and padding are ints or (height, width) pairs. No bias: Conv2d adds it.

    TODO: Check the inputs, then compute the convolution as one matrix product.

    APPROACH:
        1. Check x with the given `_check_image`; weight must be a 4-D Tensor whose dim 1
           equals x's channels, else a ValueError naming both shapes, e.g. "conv2d: input
           of shape (2, 4, 8, 8) has 4 channels, weight of shape (8, 3, 3, 3) expects
           (O, 4, kh, kw)".
        2. Stride and padding as pairs with the given `_pair` (padding may be 0). A kernel
           that does not fit the padded input: a ValueError naming x's shape, the kernel
           and the padding.
        3. Unfold the images with your im2col; flatten each filter into a row of W_mat;
           one matrix product (diagram).
        4. The product is (O, N*OH*OW): split it into (O, N, OH, OW), bring the batch axis
           first (NCHW), and return a contiguous copy as a Tensor.

        W_mat (O, C*kh*kw)  @  cols (C*kh*kw, N*OH*OW)  =  (O, N*OH*OW)  ->  (N, O, OH, OW)
        one row per filter     one column per patch         each filter . each patch

    EXAMPLE:
        >>> x = Tensor(np.ones((1, 1, 3, 3))); w = Tensor(np.ones((1, 1, 2, 2)))
        >>> conv2d(x, w).data[0, 0]                    # each output sums a 2x2 patch of ones
        array([[4., 4.],
               [4., 4.]])
        >>> conv2d(x, w, padding=1).shape
        (1, 1, 4, 4)

    HINTS:
        - One (O, K) @ (K, N*OH*OW) product is one call into BLAS: thousands of times faster
          than the six nested Python loops it replaces.
        - The result keeps the inputs' dtype: float32 for training, float64 for gradcheck.
    """
    raise NotImplementedError("Module 09 (spatial): write conv2d (see its docstring)")


class Conv2d(Module):
    """A 2-D convolution layer: `out_channels` learned filters of shape (in_channels, kh, kw).

        weight (out_channels, in_channels, kh, kw)   He init, std = sqrt(2 / (in_channels*kh*kw))
        bias   (out_channels,)                       zeros; one number per filter

        x (N, in, H, W) --conv2d(stride, padding)--> (N, out, OH, OW) --+ bias--> out

    Same layout as PyTorch's nn.Conv2d (unlike Linear here, nothing is transposed).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 bias: bool = True, rng: np.random.Generator | None = None):
        """Check the arguments and create the filters (and bias).

        TODO: Set in_channels, out_channels, kernel_size, stride, padding (the last three as
        (height, width) pairs), weight and bias (or None).

        APPROACH:
            1. Initialise the Module base class first.
            2. in_channels and out_channels: positive ints (not bools), else ValueError, e.g.
               "Conv2d: in_channels must be a positive int, got 0".
            3. kernel_size, stride and padding as pairs with the given `_pair` (who "Conv2d";
               padding may be 0).
            4. Without an rng, a fresh unseeded Generator.
            5. weight (out, in, kh, kw): He init, normal with mean 0 and variance
               HE_GAIN / fan_in, where fan_in counts the inputs of one output pixel (a whole
               patch, over every input channel); PARAM_DTYPE, requires grad.
            6. bias: zeros (out_channels,) PARAM_DTYPE that require grad, or None.

        EXAMPLE:
            >>> conv = Conv2d(3, 16, 3, padding=1, rng=np.random.default_rng(0))
            >>> conv.weight.shape, conv.bias.shape, conv.kernel_size, conv.padding
            ((16, 3, 3, 3), (16,), (3, 3), (1, 1))

        HINTS:
            - He init as in module 03's he_normal, with fan_in counted over the whole patch.
            - Assign weight before bias: parameters() returns them in attribute order.
        """
        raise NotImplementedError("Module 09 (spatial): write Conv2d.__init__ (see its docstring)")

    def forward(self, x: Tensor) -> Tensor:
        """conv2d(x, weight) + bias, for x of shape (N, in_channels, H, W).

        TODO: Check x, then return the convolution plus the bias of each output channel.

        APPROACH:
            1. Check x with `_check_image` (who "Conv2d"); a wrong number of channels is a
               ValueError such as "Conv2d(in_channels=3) got input with 4 channels: shape
               (2, 4, 8, 8)".
            2. Your conv2d with this layer's weight, stride and padding: (N, O, OH, OW).
            3. With a bias: one number per output channel, so view it as (1, O, 1, 1) and add
               it, broadcast over N, H and W. Tensor ops: autograd gives the bias its
               gradient by itself.

        EXAMPLE:
            >>> Conv2d(3, 8, 3, stride=2, padding=1)(Tensor(np.zeros((4, 3, 32, 32)))).shape
            (4, 8, 16, 16)

        HINTS:
            - Checking channels here, not only in conv2d, names the layer in the message: in a
              deep network that says which layer got the wrong input.
        """
        raise NotImplementedError("Module 09 (spatial): write Conv2d.forward (see its docstring)")

    def __repr__(self) -> str:
        return (f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None})")


# ---------------------------------------------------------------------- pooling


def _pool_geometry(shape: tuple, kernel_size, stride, who: str):
    """(kernel, stride, (OH, OW)) of a pooling window on an input of `shape` (N, C, H, W) (given).

    stride None means stride = kernel: windows side by side. There is no padding.
    """
    kernel = _pair(kernel_size, "kernel_size", who)
    stride = kernel if stride is None else _pair(stride, "stride", who)
    h, w = shape[2:]
    if kernel[0] > h or kernel[1] > w:
        raise ValueError(f"{who}: kernel {kernel} is larger than the input {(h, w)}: input shape {shape}")
    return kernel, stride, (conv_output_size(h, kernel[0], stride[0]), conv_output_size(w, kernel[1], stride[1]))


class MaxPool2dBackward(Function):
    """out = max over each window  ->  dx = grad at the (first) maximum of each window, 0 elsewhere."""

    def backward(self, grad):
        """TODO: Return (dL/dx,) for out = max_pool2d(x, kernel_size, stride).

        APPROACH: Only the largest element of a window reached the output, so it alone gets
        that output's gradient. When several elements tie for the maximum (zeros after a ReLU
        often do), give it to the first one in the window, in row-major order, as PyTorch does.
            1. The geometry (kernel, stride, output size) comes from the given
               `_pool_geometry`, with the kernel size and stride recorded in self.params.
            2. Start from dx = zeros like x, and keep "the gradient not yet handed out" of
               every window: at first all of grad (a copy, never grad itself).
            3. Visit the kernel offsets in row-major order. At each, the given `_offset_view`
               of x says, for every window at once, whether this offset holds the maximum
               (the saved output); hand those windows' remaining gradient to dx at this
               offset, through the same view of dx, and mark it as handed out.

        EXAMPLE: x [[1, 3], [2, 0]] with kernel 2 -> out 3; grad 1 -> dx [[0, 1], [0, 0]].

        HINTS:
            - `+=` on the view writes into dx; with stride < kernel, windows overlap and one
              pixel can be the maximum of two windows: it gets both gradients.
            - Routing to every element equal to the maximum (without `remaining`) would hand a
              tied window's gradient out twice or more: the sum of dx would exceed that of grad.
        """
        raise NotImplementedError("Module 09 (spatial): write MaxPool2dBackward.backward (see its docstring)")


@graph_op(MaxPool2dBackward, inputs=("x",))
def max_pool2d(x: Tensor, kernel_size, stride=None) -> Tensor:
    """The maximum of each kh x kw window, per channel: (N, C, H, W) -> (N, C, OH, OW).

    TODO: Return the window maxima as a Tensor with x's dtype; stride defaults to the kernel
    size (windows side by side, no overlap); no padding.

    APPROACH:
        1. Check x with `_check_image`; the given `_pool_geometry` gives kernel, stride and
           output size, and checks them.
        2. Start from a copy of what offset (0, 0) reads (`_offset_view`), then fold in
           every other offset's view with an element-wise maximum, written in place
           (NumPy's maximum takes an `out=` argument).
        3. Return the result as a Tensor.

            kernel 2, stride 2:   1 3 | 0 2
                                  2 0 | 1 1        ->   3 2
                                  ----+----             4 5
                                  4 1 | 5 0
                                  0 2 | 1 3

    EXAMPLE:
        >>> max_pool2d(Tensor(np.arange(16.0).reshape(1, 1, 4, 4)), 2).data[0, 0]
        array([[ 5.,  7.],
               [13., 15.]])

    HINTS:
        - A loop of kh * kw whole-array maxima: 4 iterations for the usual 2x2 pool.
    """
    raise NotImplementedError("Module 09 (spatial): write max_pool2d (see its docstring)")


class AvgPool2dBackward(Function):
    """out = mean of each window  ->  dx = grad / (kh * kw) to every element of the window."""

    def backward(self, grad):
        """TODO: Return (dL/dx,) for out = avg_pool2d(x, kernel_size, stride).

        APPROACH: Each element of a window counts 1 / (kh * kw) in its mean, so it gets
        that share of the window's gradient. Start from zeros like x; for each kernel
        offset, add the share into what that offset read (`_offset_view` of dx). Elements
        in no window (the edge when the size does not divide) keep 0.

        EXAMPLE: x (1, 1, 2, 2), kernel 2 -> out (1, 1, 1, 1); grad 1 -> dx all 0.25.

        HINTS:
            - The geometry comes from _pool_geometry, as in MaxPool2dBackward.
        """
        raise NotImplementedError("Module 09 (spatial): write AvgPool2dBackward.backward (see its docstring)")


@graph_op(AvgPool2dBackward, inputs=("x",))
def avg_pool2d(x: Tensor, kernel_size, stride=None) -> Tensor:
    """The mean of each kh x kw window, per channel: (N, C, H, W) -> (N, C, OH, OW).

    TODO: As max_pool2d, with the mean instead of the maximum.

    APPROACH: Sum the kh * kw offset views into an array of the output's shape, divide by
    kh * kw, and return it as a Tensor with x's dtype.

    EXAMPLE:
        >>> avg_pool2d(Tensor(np.arange(16.0).reshape(1, 1, 4, 4)), 2).data[0, 0]
        array([[ 2.5,  4.5],
               [10.5, 12.5]])

    HINTS:
        - Start from zeros of x's dtype and add each view in place (`+=`): no new array per
          offset.
    """
    raise NotImplementedError("Module 09 (spatial): write avg_pool2d (see its docstring)")


class MaxPool2d(Module):
    """max_pool2d as a layer: keeps the strongest response of each window (no parameters)."""

    def __init__(self, kernel_size, stride=None):
        super().__init__()
        self.kernel_size = _pair(kernel_size, "kernel_size", "MaxPool2d")
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride", "MaxPool2d")

    def forward(self, x: Tensor) -> Tensor:
        """TODO: Pool x with this layer's kernel size and stride (max_pool2d does the work).

        APPROACH: One line.

        EXAMPLE:
            >>> MaxPool2d(2)(Tensor(np.zeros((8, 16, 32, 32)))).shape
            (8, 16, 16, 16)

        HINTS:
            - __init__ (given) already turned a stride of None into the kernel size.
        """
        raise NotImplementedError("Module 09 (spatial): write MaxPool2d.forward (see its docstring)")

    def __repr__(self) -> str:
        return f"MaxPool2d(kernel_size={self.kernel_size}, stride={self.stride})"


class AvgPool2d(Module):
    """avg_pool2d as a layer: the mean of each window (no parameters)."""

    def __init__(self, kernel_size, stride=None):
        super().__init__()
        self.kernel_size = _pair(kernel_size, "kernel_size", "AvgPool2d")
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride", "AvgPool2d")

    def forward(self, x: Tensor) -> Tensor:
        """TODO: Pool x with this layer's kernel size and stride (avg_pool2d does the work).

        APPROACH: One line.

        EXAMPLE:
            >>> AvgPool2d(4)(Tensor(np.zeros((8, 16, 32, 32)))).shape
            (8, 16, 8, 8)

        HINTS:
            - Global average pooling is AvgPool2d(H) on an H x H map: one number per channel.
        """
        raise NotImplementedError("Module 09 (spatial): write AvgPool2d.forward (see its docstring)")

    def __repr__(self) -> str:
        return f"AvgPool2d(kernel_size={self.kernel_size}, stride={self.stride})"


# ---------------------------------------------------------------------- batch normalisation


def _channel(v: np.ndarray) -> np.ndarray:
    """A per-channel vector (C,) shaped (1, C, 1, 1) to broadcast against NCHW (given)."""
    return v.reshape(1, -1, 1, 1)


class BatchNorm2dBackward(Function):
    """out = gamma * xhat + beta, xhat = (x - mean) / sqrt(var + eps), statistics of the batch."""

    def backward(self, grad):
        """TODO: Return (dL/dx, dL/dgamma, dL/dbeta) for the training-mode batch_norm2d.

        APPROACH: Per channel, over the M = N * H * W values of the batch:
            1. The saved inputs are x, gamma and beta; eps is in self.params. Recompute
               the mean, the variance (biased: divide by M), inv_std = 1 / sqrt(var + eps)
               and xhat = (x - mean) inv_std, as in the forward.
            2. out = gamma xhat + beta, so dbeta sums grad over BATCH_AXES, and dgamma sums
               grad times xhat over them: (C,) each.
            3. The mean and the variance depend on every x of the channel, so dx has three
               terms (the derivation is in the README). They simplify to gamma inv_std / M
               times (M g - dbeta - xhat dgamma), with g = grad and every (C,) vector viewed
               as (1, C, 1, 1) by the given `_channel`.

        EXAMPLE: gamma = 1 and grad = 1 everywhere: dx = 0. Adding a constant to every input
        of a channel changes nothing after normalisation, so the gradient has no such part.

        HINTS:
            - Check: the sum of dx over BATCH_AXES is 0 for every channel.
            - Each of dx, dgamma, dbeta only if `self.needs_input_grad` asks for it.
        """
        raise NotImplementedError("Module 09 (spatial): write BatchNorm2dBackward.backward (see its docstring)")


@graph_op(BatchNorm2dBackward, inputs=("x", "gamma", "beta"))
def batch_norm2d(x: Tensor, gamma: Tensor, beta: Tensor, running_mean: Tensor | None = None,
                 running_var: Tensor | None = None, momentum: float = BN_MOMENTUM,
                 eps: float = BN_EPS) -> Tensor:
    """Training-mode batch normalisation: normalise each channel with the batch's own statistics.

        mean_c = mean of x[:, c, :, :]          var_c = mean of (x[:, c] - mean_c)^2 (biased)
        out[:, c] = gamma_c * (x[:, c] - mean_c) / sqrt(var_c + eps) + beta_c

    When running_mean and running_var (Tensors (C,)) are given, they are also updated in place,
    PyTorch's convention (the running variance uses the unbiased estimate, divided by M - 1):
        running_mean = (1 - momentum) * running_mean + momentum * mean_c
        running_var  = (1 - momentum) * running_var  + momentum * var_c * M / (M - 1)

    TODO: Check the shapes, update the running statistics if given, return the normalised
    Tensor (x's shape and dtype).

    APPROACH:
        1. Check x with `_check_image`; gamma and beta must be Tensors of shape (C,), else
           ValueError naming the shapes. M = N * H * W must be > 1, else ValueError (the
           variance of one value is 0 and its unbiased estimate divides by 0).
        2. The per-channel statistics of the array: mean and biased variance over
           BATCH_AXES, (C,) each.
        3. Normalise and scale by the formula above, every (C,) vector viewed as
           (1, C, 1, 1) by the given `_channel` so that it broadcasts over N, H and W.
        4. With running buffers: give each its new value by the formulas above (the
           buffer's own dtype), replacing its array. Return the output as a Tensor of x's
           dtype.

    EXAMPLE:
        >>> x = Tensor(np.random.default_rng(0).normal(5, 3, (8, 2, 4, 4)))
        >>> out = batch_norm2d(x, Tensor(np.ones(2)), Tensor(np.zeros(2)))
        >>> out.data.mean(axis=(0, 2, 3)).round(6) + 0, out.data.var(axis=(0, 2, 3)).round(3)
        (array([0., 0.]), array([1., 1.]))

    HINTS:
        - x.data.var is biased (ddof=0): right for normalising the batch; the running
          estimate of the population variance wants the unbiased one (ddof=1).
        - Do all of this in one fused function so that the backward rule is one formula, not
          a chain of a dozen small Tensor ops (and their saved arrays).
    """
    raise NotImplementedError("Module 09 (spatial): write batch_norm2d (see its docstring)")


class BatchNorm2d(Module):
    """Batch normalisation (Ioffe and Szegedy, 2015) for NCHW feature maps, one (gamma, beta) per channel.

        train mode: normalise with the statistics of this batch, and update
                    running_mean / running_var (buffers, not parameters)
        eval mode:  normalise with running_mean / running_var: the output of one image no
                    longer depends on the rest of its batch

    Parameters: gamma (C,) ones, beta (C,) zeros, requires_grad=True. Buffers: running_mean
    (C,) zeros, running_var (C,) ones, Tensors without requires_grad (so parameters() skips
    them and no optimizer touches them).
    """

    def __init__(self, num_features: int, eps: float = BN_EPS, momentum: float = BN_MOMENTUM):
        """TODO: Check num_features and create gamma, beta, running_mean and running_var.

        APPROACH:
            1. Initialise the Module base class first.
            2. num_features: a positive int (not a bool), else ValueError, e.g.
               "BatchNorm2d: num_features must be a positive int, got 0".
            3. Store num_features, eps and momentum (floats).
            4. gamma = ones, beta = zeros: (num_features,) PARAM_DTYPE Tensors, requires_grad=True.
            5. running_mean = zeros, running_var = ones: the same, without requires_grad.

        EXAMPLE:
            >>> bn = BatchNorm2d(16)
            >>> [p.shape for p in bn.parameters()], bn.running_var.data[:3]
            ([(16,), (16,)], array([1., 1., 1.], dtype=float32))

        HINTS:
            - gamma = 1, beta = 0 start as the identity on normalised values.
        """
        raise NotImplementedError("Module 09 (spatial): write BatchNorm2d.__init__ (see its docstring)")

    def forward(self, x: Tensor) -> Tensor:
        """Normalise x (N, C, H, W): batch statistics in train mode, running ones in eval mode.

        TODO: Check x; in train mode return batch_norm2d(...) with the running buffers; in eval
        mode compute (x - running_mean) / sqrt(running_var + eps) * gamma + beta with Tensor ops.

        APPROACH:
            1. Check x with `_check_image` (who "BatchNorm2d"); a wrong number of channels is
               a ValueError such as "BatchNorm2d(num_features=16) got input with 8 channels:
               shape (4, 8, 5, 5)".
            2. Train: your batch_norm2d, with this layer's parameters, its running buffers
               (so they get updated), momentum and eps.
            3. Eval: the running statistics are constants, computed with NumPy: the mean
               viewed as (1, C, 1, 1), and inv_std = 1 / sqrt(running_var + eps). The rest
               with Tensor ops, so that gamma and beta still get gradients (fine-tuning in
               eval mode is allowed): subtract the mean, multiply by gamma times inv_std,
               add beta, each per-channel factor viewed as (1, C, 1, 1) with reshape.

        EXAMPLE:
            >>> bn = BatchNorm2d(2); bn.running_mean.data[:] = [1, 2]; bn.eval()
            >>> bn(Tensor(np.full((1, 2, 1, 1), 3.0))).data.ravel().round(4)   # (3 - mean) / sqrt(1 + eps)
            array([2., 1.])

        HINTS:
            - The running constants in float32 would turn a float64 input into float32:
              cast them to x's dtype.
        """
        raise NotImplementedError("Module 09 (spatial): write BatchNorm2d.forward (see its docstring)")

    def __repr__(self) -> str:
        return f"BatchNorm2d({self.num_features}, eps={self.eps}, momentum={self.momentum})"


# ---------------------------------------------------------------------- Flatten


class Flatten(Module):
    """(N, C, H, W) -> (N, C*H*W): the bridge from feature maps to Linear layers."""

    def forward(self, x: Tensor) -> Tensor:
        """TODO: Keep the batch dimension, merge all the others, with Tensor.reshape.

        APPROACH:
            1. x must be a Tensor with at least 2 dimensions, else ValueError naming its shape.
            2. Reshape to (N, the product of the other dimensions) with the Tensor's own
               reshape: gradients flow back through ReshapeBackward.

        EXAMPLE:
            >>> Flatten()(Tensor(np.zeros((8, 64, 4, 4)))).shape
            (8, 1024)

        HINTS:
            - Compute the product (math.prod) rather than passing -1: with N = 0 the -1 could
              not be inferred.
        """
        raise NotImplementedError("Module 09 (spatial): write Flatten.forward (see its docstring)")

    def __repr__(self) -> str:
        return "Flatten()"


# ---------------------------------------------------------------------- systems questions


def conv2d_flops(batch: int, in_channels: int, out_channels: int, height: int, width: int,
                 kernel_size, stride=1, padding=0) -> int:
    """Floating-point operations of one Conv2d forward pass (without the bias).

    TODO: Return 2 * (number of multiply-adds) as an int.

    APPROACH:
        1. Kernel, stride and padding as pairs with `_pair` (ints or pairs, as Conv2d
           takes them).
        2. OH and OW from your conv_output_size.
        3. Each of the batch * out_channels * OH * OW outputs is a dot product of length
           in_channels * kh * kw: that many multiply-adds, FLOPS_PER_MULTIPLY_ADD each.

    EXAMPLE:
        >>> conv2d_flops(1, 3, 32, 32, 32, 3, padding=1)      # 32*32*32 outputs x 27 MACs x 2
        1769472

    HINTS:
        - It is the matmul_flops of module 01 for the im2col product:
          (O, C*kh*kw) @ (C*kh*kw, N*OH*OW).
    """
    raise NotImplementedError("Module 09 (spatial): write conv2d_flops (see its docstring)")


def im2col_bytes(batch: int, in_channels: int, height: int, width: int, kernel_size, stride=1,
                 padding=0, dtype=np.float32) -> int:
    """Bytes of the im2col matrix of a Conv2d forward pass: the price of the one-matmul trick.

    TODO: Return rows * columns * bytes per element, as an int.

    APPROACH: rows = in_channels * kh * kw (one patch), columns = batch * OH * OW (one per
    output position), bytes per element = np.dtype(dtype).itemsize.

    EXAMPLE:
        >>> im2col_bytes(64, 32, 16, 16, 3, padding=1)       # 288 rows x 16384 columns x 4 bytes
        18874368

    HINTS:
        - With stride 1 every pixel is copied kh * kw times: a 3x3 conv's im2col matrix is 9x
          its input. That is why backward recomputes it instead of keeping it.
    """
    raise NotImplementedError("Module 09 (spatial): write im2col_bytes (see its docstring)")


def conv_param_count(in_channels: int, out_channels: int, kernel_size, bias: bool = True) -> int:
    """Number of trainable numbers of Conv2d(in_channels, out_channels, kernel_size, bias).

    TODO: Return out * in * kh * kw weights, plus out biases when bias=True.

    EXAMPLE:
        >>> conv_param_count(3, 32, 3)
        896

    HINTS:
        - No height or width: the same filters slide over an image of any size.
    """
    raise NotImplementedError("Module 09 (spatial): write conv_param_count (see its docstring)")


def dense_equivalent_param_count(in_channels: int, out_channels: int, height: int, width: int,
                                 kernel_size, stride=1, padding=0, bias: bool = True) -> int:
    """Parameters of a Linear layer mapping the same input to the same output as the Conv2d.

    The Linear sees the flattened image (in_channels * height * width numbers) and produces the
    flattened feature map (out_channels * OH * OW numbers), with its own weight for every pair.

    TODO: Return the parameter count of that Linear layer: module 03's linear_param_count
    counts it from the two flattened sizes (OH, OW from conv_output_size).

    EXAMPLE:
        >>> dense_equivalent_param_count(3, 32, 32, 32, 3, padding=1)     # vs 896 for the conv
        100696064

    HINTS:
        - The ratio to conv_param_count is what locality and weight sharing save: over 100,000x
          here. The conv computes the same kind of output with far fewer degrees of freedom.
    """
    raise NotImplementedError("Module 09 (spatial): write dense_equivalent_param_count (see its docstring)")
