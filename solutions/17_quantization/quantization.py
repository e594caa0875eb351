"""Module 17: quantization, storing a trained network's weights in 8-bit integers.

What you build
    compute_qparams, quantize_affine   the affine int8 mapping: a scale and a zero point per tensor
    quantize_int8, dequantize_int8     float -> (int8, scale, zero point) -> float, error <= scale / 2
    int8_matmul                        int8 x int8 products summed in int32, zero points removed
    QuantizedLinear                    a Linear whose weight is int8: weight-only, or static (with
                                       a calibrated int8 input and the integer matmul)
    calibrate                          run sample batches, record each layer's input range
    model_size_bytes, quantize_model   the real storage of a model; replace EVERY Linear in place

Why it matters
    A trained float32 model spends 4 bytes on every weight. Most weights of a layer lie in a
    narrow range, and 256 evenly spaced levels over that range lose little: int8 storage is 4x
    smaller (GPT-2 small: 500 MB -> 125 MB for its matrices), and on hardware with int8 units
    (every phone NPU, x86 VNNI, GPU tensor cores) the matmul is 2-4x faster too.

    The affine mapping (TFLite, PyTorch's quantize_per_tensor): a real value x is stored as the
    integer q, and read back as scale * (q - zero_point).

        real:   low=-1.0          0.0                                    high=3.0
                 |-----------------|--------------------------------------|
        int8:  -128              -64                                     127
                                    ^ zero_point: 0.0 is stored EXACTLY (padding, ReLU zeros)
        scale = (high - low) / 255 = 0.0157      q = clip(round(x / scale) + zero_point, -128, 127)

    The range always contains 0 ([2, 5] is widened to [0, 5]), so that zero is one of the 256
    levels: a zero weight or a zero-padded input stays exactly zero. Every value inside the
    range comes back within half a step (scale / 2); values outside it are clipped.

    Two ways to run a quantized Linear:
        weight-only   int8 weight in memory, turned back into float32 for each call; the input
                      stays float. Saves memory; nothing to prepare.
        static        also the INPUT becomes int8, with a scale fixed beforehand by calibration
                      (the range seen on sample batches); int8 x int8 products are summed in
                      int32, and one multiplication by scale_x * scale_w gives the float result.
                      This is what int8 hardware runs.

Who uses it later
    19 benchmarking   size, latency and accuracy of quantized models against the float ones
    milestone 5       quantize the CNN's and the TinyGPT's Linear layers, measure what it costs

Decisions (and where this differs from PyTorch)
    - Per-tensor affine int8 for weights and inputs (PyTorch's default for weights is per-channel
      symmetric qint8, for activations per-tensor affine quint8 with 0..255).
    - Rounding to nearest, ties to even (np.round, as PyTorch's nearbyint).
    - Inference only: a QuantizedLinear has no trainable parameters (parameters() is empty),
      its output carries no graph, and gradients do not flow through it. Quantize a trained
      model; quantization-aware training is not covered.
    - The uncalibrated mode is called "weight_only" here. PyTorch's "dynamic" quantization would
      also quantize each input on the fly, with that batch's own range; ours keeps it float.
    - quantize_model replaces layers in place and returns a report; PyTorch's
      quantize_dynamic returns a new model by default.
    - The scale and zero point are stored as NumPy float64 and int64 scalars (PyTorch's
      q_scale() is a double, q_zero_point() an int64), so that model_size_bytes counts them.

Be honest about the CPU
    NumPy's integer matmul has no BLAS kernel: it is a plain C loop, many times slower than the
    float32 product, which runs in an optimised BLAS. So here int8 saves MEMORY, not time:
    `int8_matmul_time_ratio` measures by how much it loses. The speed gain needs integer
    hardware instructions (VNNI, ARM dot-product, tensor cores) and a library that uses them.

The systems angle
    `model_size_bytes`: what a model really stores, int8 weights at 1 byte each;
    `gpt_size_bytes`: the same by formula for a GPT configuration, before and after;
    `int8_max_error`: the worst-case rounding error for a range; `int8_matmul_time_ratio`: the
    measured price of integer matmuls without BLAS.
"""

from __future__ import annotations

import math
import time

import numpy as np

from tinytorch.core.autograd import no_grad
from tinytorch.core.layers import Linear, Module, named_modules
from tinytorch.core.tensor import Tensor, _wrap
from tinytorch.models.transformer import MLP_RATIO, gpt_param_count

QMIN, QMAX = -128, 127              # the int8 range: 256 levels
LEVELS = QMAX - QMIN                # steps between the lowest and the highest level: 255
QDTYPE = np.int8                    # how quantized values are stored
ACC_DTYPE = np.int32                # the accumulator of integer matmuls (as int8 hardware)
SCALE_DTYPE = np.float64            # a stored scale (PyTorch's q_scale() is a double)
ZERO_POINT_DTYPE = np.int64         # a stored zero point (PyTorch's q_zero_point() is an int64)
EMPTY_RANGE_SCALE = 1.0             # the scale of the range [0, 0] (an all-zero tensor)
MAX_ACC_TERMS = (2 ** 31 - 1) // (LEVELS * LEVELS)   # 33,025 products of |q - z| <= 255 fit int32
OUT_DTYPE = np.float32              # QuantizedLinear's output, and dequantize_int8's
FLOAT_BYTES = np.dtype(np.float32).itemsize
WEIGHT_ONLY, STATIC = "weight_only", "static"        # the two modes of a QuantizedLinear
LINEARS_PER_BLOCK = 6               # q, k, v, out projections + the MLP's two Linears
DEFAULT_MATMUL_SIZE = 128           # int8_matmul_time_ratio: (n, n) matrices
DEFAULT_REPEATS = 5                 # each timing is the fastest of this many runs
MIN_SECONDS = 1e-9                  # a timing is never reported below this: ratios stay finite


# ---------------------------------------------------------------------- given helpers


def _values(x, who: str) -> np.ndarray:
    """The numbers of a Tensor, an array, a list or a number as a NumPy array (given).

    A TypeError names `who` when they are not real numbers (strings, bools, complex).
    """
    values = np.asarray(x.data if isinstance(x, Tensor) else x)
    if values.dtype.kind not in "fiu":
        raise TypeError(f"{who} expects real numbers (a Tensor or an array); got dtype {values.dtype}")
    return values


def _best_time(fn, repeats: int) -> float:
    """The fastest of `repeats` calls of `fn()`, in seconds, never below MIN_SECONDS (given).

    The minimum, not the mean: other programs and the garbage collector can only ADD time to a
    run, so the fastest run is the best estimate of what the code itself costs.
    """
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return max(min(times), MIN_SECONDS)


# ---------------------------------------------------------------------- the affine int8 mapping


def compute_qparams(low: float, high: float) -> tuple:
    """The (scale, zero_point) that map the real range [low, high] onto the int8 levels -128..127.

        range  [min(low, 0), max(high, 0)]            0 is always inside, so it is stored exactly
        scale  = (range's width) / 255                 the real distance between two levels
        zero_point = round(-128 - range's low / scale)   the level that stores the real 0

    TODO: Check low and high, then return (scale as a Python float, zero_point as a Python int).

    APPROACH:
        1. low and high: finite real numbers with low <= high, else a ValueError naming both,
           e.g. "compute_qparams: need finite low <= high; got low=3.0, high=1.0".
        2. Widen the range to contain 0 (a range of positive values starts at 0; a negative one
           ends at 0).
        3. The scale spreads the width over the LEVELS steps. A width of 0 (both ends 0: an
           all-zero tensor) would give scale 0 and a division by zero later: use
           EMPTY_RANGE_SCALE instead (any positive scale stores 0 exactly).
        4. The zero point is the level of the real 0: the lowest level QMIN sits at the range's
           low end, and 0 lies (0 - low) / scale steps above it. Round it to the nearest level.

            [-1, 3]: scale 4 / 255,  0 is 63.75 steps above -1 -> level -128 + 64 = -64

    EXAMPLE:
        >>> compute_qparams(-1.0, 3.0)
        (0.01568627450980392, -64)
        >>> compute_qparams(2.0, 5.0)        # widened to [0, 5]: 0 is the lowest level
        (0.0196078431372549, -128)
        >>> compute_qparams(0.0, 0.0)
        (1.0, -128)

    HINTS:
        - Since 0 is in the range, the zero point always lands in [-128, 127]: no clipping needed.
        - Return Python numbers (float(...), int(...)), not NumPy scalars.
        - Ignoring the asymmetry (a scale from max(|low|, |high|) / 127 and zero point 0) is
          "symmetric" quantization: simpler, but half the levels are wasted on a range such as
          the output of a ReLU, which has no negative values.
    """
    # BEGIN SOLUTION
    if any(isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v)
           for v in (low, high)) or low > high:
        raise ValueError(f"compute_qparams: need finite low <= high; got low={low!r}, high={high!r}")
    low, high = min(float(low), 0.0), max(float(high), 0.0)
    width = high - low
    scale = width / LEVELS if width > 0 else EMPTY_RANGE_SCALE
    zero_point = int(np.round(QMIN - low / scale))
    return float(scale), zero_point
    # END SOLUTION


def quantize_affine(values, scale: float, zero_point: int) -> np.ndarray:
    """Real values -> int8 levels with a given scale and zero point: clip(round(x / scale) + zp).

        x = 0.5, scale 0.1, zero_point -28   ->   round(5.0) - 28 = -23
        x = 99.0 (far above the range)       ->   990 - 28 = 962, clipped to 127

    TODO: Check the arguments and return an int8 array of the values' shape.

    APPROACH:
        1. The values through the given `_values` (a Tensor or an array); any nan is a
           ValueError (it has no level). scale: a finite number > 0; zero_point: an int in
           [QMIN, QMAX] (not a bool). A ValueError names the value otherwise.
        2. Divide by the scale, round to the nearest integer, shift by the zero point, then
           clip to [QMIN, QMAX], and only then store as QDTYPE. Do the arithmetic in float64.

    EXAMPLE:
        >>> quantize_affine(np.array([0.0, 0.5, -1.0, 99.0]), 0.1, -28)
        array([-28, -23, -38, 127], dtype=int8)

    HINTS:
        - The order matters: converting to int8 BEFORE clipping wraps around (128 becomes
          -128): a value just above the range would come back as the most negative one.
        - Values outside the calibrated range are normal for inputs (a new batch is not the
          calibration batch): clipping is what keeps them at the nearest end.
        - np.round rounds halves to even (2.5 -> 2), as PyTorch does; floor would make the
          error up to a whole step instead of half.
    """
    # BEGIN SOLUTION
    values = _values(values, "quantize_affine")
    if np.isnan(values).any():
        raise ValueError("quantize_affine: cannot quantize nan")
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.integer, np.floating)) \
            or not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"quantize_affine: scale must be a finite number > 0; got {scale!r}")
    if isinstance(zero_point, bool) or not isinstance(zero_point, (int, np.integer)) \
            or not QMIN <= zero_point <= QMAX:
        raise ValueError(f"quantize_affine: zero_point must be an int in [{QMIN}, {QMAX}]; got {zero_point!r}")
    levels = np.round(values.astype(np.float64) / float(scale)) + int(zero_point)
    return np.clip(levels, QMIN, QMAX).astype(QDTYPE)
    # END SOLUTION


def quantize_int8(tensor) -> tuple:
    """Per-tensor affine int8 quantization: (q, scale, zero_point) from the tensor's own range.

        x       [-0.5, 0.0, 1.0, 2.0]       range [-0.5, 2.0], scale 2.5 / 255 = 0.0098
        q       [-128, -77, 25, 127]        zero_point -77: the real 0 is level -77

    TODO: Return q (a NumPy int8 array of the tensor's shape), the scale (float) and the zero
    point (int in [-128, 127]).

    APPROACH:
        1. The values through `_values`. An empty tensor has no range, and nan or inf none
           that means anything: a ValueError for each, naming the shape or the problem.
        2. The range is the values' minimum and maximum; compute_qparams widens it to
           contain 0 and gives the scale and zero point.
        3. quantize_affine with them gives q.

    EXAMPLE:
        >>> q, scale, zero_point = quantize_int8(Tensor([-0.5, 0.0, 1.0, 2.0]))
        >>> q, round(scale, 6), zero_point
        (array([-128,  -77,   25,  127], dtype=int8), 0.009804, -77)

    HINTS:
        - Every value lies inside its own range, so it comes back within scale / 2.
        - An all-zero tensor has the range [0, 0]: compute_qparams already handles it.
    """
    # BEGIN SOLUTION
    values = _values(tensor, "quantize_int8")
    if values.size == 0:
        raise ValueError(f"quantize_int8: an empty tensor (shape {values.shape}) has no range to quantize")
    if not np.isfinite(values).all():
        raise ValueError("quantize_int8: the tensor contains nan or inf, which have no int8 level")
    scale, zero_point = compute_qparams(float(values.min()), float(values.max()))
    return quantize_affine(values, scale, zero_point), scale, zero_point
    # END SOLUTION


def dequantize_int8(q, scale: float, zero_point: int) -> np.ndarray:
    """int8 levels -> real values: scale * (q - zero_point), as a float32 array of q's shape.

    TODO: Check that q is an int8 array and return the float32 values.

    APPROACH:
        1. q must be a NumPy array of dtype QDTYPE: a TypeError naming its type or dtype
           otherwise (an int64 array of levels was not produced by quantize_int8).
        2. Subtract the zero point in a wider integer type, multiply by the scale (in
           float64), and return the result as OUT_DTYPE.

    EXAMPLE:
        >>> dequantize_int8(np.array([-128, -77, 25, 127], dtype=np.int8), 2.5 / 255, -77)
        array([-0.5,  0. ,  1. ,  2. ], dtype=float32)

    HINTS:
        - In int8, 127 - (-128) overflows: widen before subtracting.
        - The level of the zero point comes back as exactly 0.0.
    """
    # BEGIN SOLUTION
    if not isinstance(q, np.ndarray) or q.dtype != QDTYPE:
        kind = f"an array of dtype {q.dtype}" if isinstance(q, np.ndarray) else type(q).__name__
        raise TypeError(f"dequantize_int8 expects an int8 NumPy array (from quantize_int8); got {kind}")
    return ((q.astype(ACC_DTYPE) - int(zero_point)) * float(scale)).astype(OUT_DTYPE)
    # END SOLUTION


# ---------------------------------------------------------------------- the integer matmul


def int8_matmul(a_q: np.ndarray, a_zero_point: int, b_q: np.ndarray, b_zero_point: int) -> np.ndarray:
    """(a_q - a_zero_point) @ (b_q - b_zero_point), from int8 arrays, summed exactly in int32.

        a_q (..., K) int8   @   b_q (K, N) int8   ->   (..., N) int32

    With a = scale_a * (a_q - za) and b = scale_b * (b_q - zb), the real product is
    a @ b = scale_a * scale_b * int8_matmul(a_q, za, b_q, zb): all the work is integer.

    TODO: Check the arguments; return the int32 product of the zero-point-shifted levels.

    APPROACH:
        1. a_q and b_q: NumPy arrays of dtype QDTYPE (TypeError otherwise); b_q 2-D and a_q at
           least 1-D with a last dimension equal to b_q's first: else a ValueError naming both
           shapes. K above MAX_ACC_TERMS could overflow the int32 sums: a ValueError naming K.
        2. Widen both to ACC_DTYPE, subtract each zero point, and take the matrix product
           (NumPy's integer matmul keeps ACC_DTYPE).

    EXAMPLE:
        >>> a = np.array([[1, 2]], dtype=np.int8); b = np.array([[3], [4]], dtype=np.int8)
        >>> int8_matmul(a, 0, b, 0), int8_matmul(a, 1, b, 0)
        (array([[11]], dtype=int32), array([[4]], dtype=int32))

    HINTS:
        - Each term (a_q - za)(b_q - zb) is at most 255 * 255 = 65,025 in size: int16 is too
          small for one product, int32 holds the sum of 33,025 of them.
        - Hardware multiplies the int8 levels themselves and removes the zero points afterwards:
          sum (a - za)(b - zb) = sum ab - zb sum a - za sum b + K za zb (gemmlowp's trick).
          Either way gives the same integers.
    """
    # BEGIN SOLUTION
    for name, q in (("a_q", a_q), ("b_q", b_q)):
        if not isinstance(q, np.ndarray) or q.dtype != QDTYPE:
            kind = f"dtype {q.dtype}" if isinstance(q, np.ndarray) else type(q).__name__
            raise TypeError(f"int8_matmul: {name} must be an int8 NumPy array; got {kind}")
    if b_q.ndim != 2 or a_q.ndim == 0 or a_q.shape[-1] != b_q.shape[0]:
        raise ValueError(f"int8_matmul: cannot multiply a_q of shape {a_q.shape} by b_q of shape {b_q.shape} "
                         f"(need (..., K) @ (K, N))")
    k = b_q.shape[0]
    if k > MAX_ACC_TERMS:
        raise ValueError(f"int8_matmul: K = {k} products could overflow the int32 sums "
                         f"(at most {MAX_ACC_TERMS})")
    a = a_q.astype(ACC_DTYPE) - int(a_zero_point)                     # (..., K)
    b = b_q.astype(ACC_DTYPE) - int(b_zero_point)                     # (K, N)
    return a @ b                                                      # (..., N) int32
    # END SOLUTION


# ---------------------------------------------------------------------- QuantizedLinear


class QuantizedLinear(Module):
    """A Linear for inference whose weight is stored as int8: y = x @ dequant(W) + b.

        qweight              (in, out) int8       the weight's levels (the course's layout)
        weight_scale         float64 scalar       from quantize_int8(linear.weight)
        weight_zero_point    int64 scalar
        bias                 (out,) float32 array, a copy of the Linear's (never quantized:
                             it is small, and it is added to int32 sums of scale_x * scale_w
                             units, which an 8-bit bias could not express), or None
        input_scale, input_zero_point   None until calibrated, then float64 / int64 scalars
        input_min, input_max            the input range observed during calibration (floats)
        observing            True while calibrate() runs: forward records its input's range

    mode is "weight_only" until the layer is calibrated, then "static":
        weight_only   y = x @ dequantize(qweight) + bias        x stays float
        static        y = scale_x * scale_w * int8_matmul(quantize(x), qweight) + bias

    Inference only: parameters() is empty (no Tensor requires grad), the output is a new Tensor
    without a graph, so no gradient flows through this layer. It is what a trained model is
    turned into, not something to train.
    """

    def __init__(self, linear: Linear):
        """TODO: Quantize the Linear's weight and keep what the class docstring lists.

        APPROACH:
            1. Initialise the Module base class first.
            2. `linear` must be a module 03 Linear: a TypeError naming its type otherwise.
            3. Keep in_features and out_features. quantize_int8 of its weight gives qweight and
               the weight's scale and zero point: store those as SCALE_DTYPE and
               ZERO_POINT_DTYPE scalars.
            4. The bias: a float32 COPY of the Linear's bias values (the Linear may change
               later; this layer must not), or None.
            5. Not calibrated yet: input_scale, input_zero_point, input_min and input_max are
               None, observing is False.

        EXAMPLE:
            >>> layer = QuantizedLinear(Linear(4, 3))
            >>> layer.qweight.dtype, layer.qweight.shape, layer.mode, layer.parameters()
            (dtype('int8'), (4, 3), 'weight_only', [])

        HINTS:
            - Store arrays and NumPy scalars, not Tensors that require grad: parameters() must
              find nothing to train here.
        """
        # BEGIN SOLUTION
        super().__init__()
        if not isinstance(linear, Linear):
            raise TypeError(f"QuantizedLinear expects a Linear layer; got {type(linear).__name__}")
        self.in_features = linear.in_features
        self.out_features = linear.out_features
        q, scale, zero_point = quantize_int8(linear.weight)
        self.qweight = q                                                  # (in, out) int8
        self.weight_scale = SCALE_DTYPE(scale)
        self.weight_zero_point = ZERO_POINT_DTYPE(zero_point)
        self.bias = None if linear.bias is None else np.array(linear.bias.data, dtype=OUT_DTYPE)   # (out,)
        self.input_scale = None
        self.input_zero_point = None
        self.input_min = None
        self.input_max = None
        self.observing = False
        # END SOLUTION

    @property
    def mode(self) -> str:
        """"static" once calibrated (an input scale is set), "weight_only" before (given)."""
        return STATIC if self.input_scale is not None else WEIGHT_ONLY

    def observe(self, x) -> None:
        """Widen the recorded input range [input_min, input_max] to include the values of x.

        TODO: Update input_min and input_max (Python floats) with x's smallest and largest value.

        APPROACH: The first call (both None) takes x's minimum and maximum as they are; every
        later call keeps the smaller of the two minima and the larger of the two maxima, so the
        range covers EVERY batch seen, not only the last one. An empty x (no values) has no
        minimum: it changes nothing.

        EXAMPLE:
            >>> layer = QuantizedLinear(Linear(2, 1))
            >>> layer.observe(np.array([[0.5, 2.0]])); layer.observe(np.array([[-1.0, 1.0]]))
            >>> layer.input_min, layer.input_max
            (-1.0, 2.0)

        HINTS:
            - x may be a Tensor or an array: `_values` gives its numbers.
        """
        # BEGIN SOLUTION
        values = _values(x, "QuantizedLinear.observe")
        if values.size == 0:
            return
        low, high = float(values.min()), float(values.max())
        self.input_min = low if self.input_min is None else min(self.input_min, low)
        self.input_max = high if self.input_max is None else max(self.input_max, high)
        # END SOLUTION

    def finish_calibration(self) -> None:
        """Fix the input's scale and zero point from the observed range: the layer becomes static.

        TODO: Set input_scale (SCALE_DTYPE) and input_zero_point (ZERO_POINT_DTYPE) from
        compute_qparams of [input_min, input_max].

        APPROACH: Without an observed range (observe never ran), a ValueError saying that
        this layer saw no input during calibration. Otherwise compute the two and store them
        as NumPy scalars of the dtypes above.

        EXAMPLE:
            >>> layer = QuantizedLinear(Linear(2, 1))
            >>> layer.observe(np.array([[0.0, 2.55]])); layer.finish_calibration()
            >>> layer.mode, round(float(layer.input_scale), 6), int(layer.input_zero_point)
            ('static', 0.01, -128)

        HINTS:
            - The range includes 0 (compute_qparams widens it), so a zero input stays exactly 0.
        """
        # BEGIN SOLUTION
        if self.input_min is None or self.input_max is None:
            raise ValueError(f"{self!r} saw no input during calibration: no range to fix its input scale")
        scale, zero_point = compute_qparams(self.input_min, self.input_max)
        self.input_scale = SCALE_DTYPE(scale)
        self.input_zero_point = ZERO_POINT_DTYPE(zero_point)
        # END SOLUTION

    def forward(self, x) -> Tensor:
        """x (..., in_features) -> (..., out_features) float32, as the layer's mode says.

        TODO: Check x; record its range while observing; compute the output in the current mode.

        APPROACH:
            1. The numbers of x (a Tensor or an array) through `_values`. Their last dimension
               must be in_features: a ValueError like Linear's otherwise, e.g.
               "QuantizedLinear(in_features=3) expects input of shape (..., 3); got (4, 5)".
            2. While `observing`, observe(x) first.
            3. weight_only: dequantize the weight (in, out) and multiply the float input by it.
               static: quantize x with the INPUT's scale and zero point (quantize_affine clips
               values beyond the calibrated range), int8_matmul with the weight's levels, then
               one multiplication of the int32 result by input_scale * weight_scale.
            4. Add the float bias if there is one. Return a float32 Tensor: `_wrap` it, the
               array is fresh.

                 static:  x (..., in) --quantize--> int8 --int8_matmul(qweight)--> int32 (..., out)
                          --* scale_x scale_w--> float --+ bias--> y (..., out)

        EXAMPLE:
            >>> layer = QuantizedLinear(Linear(3, 2))
            >>> y = layer(Tensor(np.ones((4, 3))))
            >>> y.shape, y.dtype, y.requires_grad
            ((4, 2), dtype('float32'), False)

        HINTS:
            - Dequantizing on every call costs time but keeps the memory saving: caching the
              float32 weight would store it again.
            - The output is a constant for autograd: it has no backward rule.
        """
        # BEGIN SOLUTION
        data = _values(x, "QuantizedLinear")
        if data.ndim == 0 or data.shape[-1] != self.in_features:
            raise ValueError(f"QuantizedLinear(in_features={self.in_features}) expects input of shape "
                             f"(..., {self.in_features}); got {tuple(data.shape)}")
        if self.observing:
            self.observe(data)
        if self.mode == STATIC:
            x_q = quantize_affine(data, self.input_scale, self.input_zero_point)                  # (..., in) int8
            acc = int8_matmul(x_q, self.input_zero_point, self.qweight, self.weight_zero_point)   # (..., out) int32
            out = acc * (float(self.input_scale) * float(self.weight_scale))                      # (..., out)
        else:
            weight = dequantize_int8(self.qweight, self.weight_scale, self.weight_zero_point)     # (in, out)
            out = data @ weight                                                                   # (..., out)
        if self.bias is not None:
            out = out + self.bias
        return _wrap(out.astype(OUT_DTYPE, copy=False))
        # END SOLUTION

    def __repr__(self) -> str:
        return (f"QuantizedLinear(in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, mode={self.mode!r})")


# ---------------------------------------------------------------------- whole models


def model_size_bytes(model) -> int:
    """The bytes a model really stores: every array of every Module in its tree, at its dtype's size.

    Counted, once each (by identity: a Tensor shared by two layers is stored once):
        a Tensor held in an attribute (a parameter or not)     its array's bytes
        a NumPy array held in an attribute                     its bytes (int8: 1 per value)
        a NumPy scalar held in an attribute                    its bytes (a float64 scale: 8)
        the same inside list and tuple attributes
    Not counted: Python numbers, strings, bools and None (sizes and flags: configuration, not
    data). So a float32 Linear(in, out) counts 4 * (in * out + out) bytes, and its
    QuantizedLinear in * out + 8 + 8 + 4 * out.

    It measures what the model holds NOW: module 12's MultiHeadAttention keeps its latest
    attention weights (B, H, T, T) in `last_weights` after a forward, and they count too (a
    BatchNorm's running statistics are Tensors without grad as well, and they are state).
    Compare sizes of models in the same situation: both fresh, or both after the same batch.

    TODO: Return the total as a Python int.

    APPROACH:
        1. Module 03's given `named_modules(model)` lists every Module of the tree once (the model
           itself too, when it is a Module).
        2. For each, look at every attribute value, and into lists and tuples; a Tensor
           contributes its array, an ndarray or a NumPy scalar itself.
        3. Keep the ids of what was counted: the same array (or Tensor) reached twice counts
           once. Sum the bytes (`nbytes` gives them for arrays and NumPy scalars alike).

    EXAMPLE:
        >>> model_size_bytes(Linear(64, 32))                        # 4 * (64 * 32 + 32)
        8320
        >>> model_size_bytes(QuantizedLinear(Linear(64, 32)))       # 2048 + 8 + 8 + 128
        2192

    HINTS:
        - np.float64 is a subclass of Python's float: test for NumPy scalars (np.generic)
          before deciding a value is a plain number.
        - Sub-Modules are listed by `named_modules` on their own: do not count them twice.
    """
    # BEGIN SOLUTION
    counted: set = set()
    total = 0

    def count(value) -> None:
        nonlocal total
        if isinstance(value, Tensor):
            value = value.data
        if isinstance(value, (np.ndarray, np.generic)):
            if id(value) not in counted:
                counted.add(id(value))
                total += int(value.nbytes)
        elif isinstance(value, (list, tuple)):
            for item in value:
                count(item)

    for _, module in named_modules(model):
        for value in vars(module).values():
            count(value)
    return total
    # END SOLUTION


def quantize_model(model) -> dict:
    """Replace EVERY Linear under `model` by a QuantizedLinear, in place; return a report.

    Linears are found wherever Module.parameters() looks: attributes (a GPT's `head`, the
    attention's q_proj, k_proj, v_proj, out_proj), lists (a Sequential's `layers`, a GPT's
    `blocks`), tuples, at any depth. Other layers (Conv2d, LayerNorm, Embedding) stay float. A
    Linear reached twice (shared) becomes ONE QuantizedLinear, put in both places.

        For a fresh GPT(20, 16, 2, 2, 12) (2 blocks of 6 Linears, and the head):
        {"layers": 13,                              distinct Linear layers quantized
         "paths": ["blocks.0.attn.q_proj", ..., "head"],   every place one was replaced, in
                                                    the order parameters() would reach them
         "bytes_before": 29776, "bytes_after": 10592}      model_size_bytes around it

    TODO: Replace the Linears, return the report; an error when there is nothing to quantize.

    APPROACH:
        1. `model` must be a Module (TypeError naming its type). A model that IS a Linear has
           no parent to put the replacement in: a ValueError saying to use
           QuantizedLinear(linear) instead.
        2. Measure model_size_bytes first.
        3. Walk the tree as parameters() does, depth first, attributes in order, each Module
           once. A small recursive helper takes one value and its path and returns what should
           stand in its place: a Linear -> its QuantizedLinear (made once per Linear: keep a
           dict from id(linear) to it, and record the path); a Module -> itself, after walking
           its own attributes; a list -> the same list, its items replaced in place; a tuple ->
           a new tuple of the replaced items; anything else -> itself. Set every attribute
           whose value changed. Paths: attribute names and list positions joined by dots
           ("blocks.0.mlp.layers.2"; "head" for the model's own attribute).
        4. Nothing replaced: a ValueError saying that the model (name its type) holds no
           Linear layer to quantize (e.g. it was quantized already).
        5. Measure again; return the report.

    EXAMPLE:
        >>> model = Sequential(Linear(64, 32), ReLU(), Linear(32, 10))
        >>> report = quantize_model(model)
        >>> report["layers"], report["paths"], report["bytes_before"], report["bytes_after"]
        (2, ['layers.0', 'layers.2'], 9640, 2568)
        >>> model.layers[0]
        QuantizedLinear(in_features=64, out_features=32, bias=True, mode='weight_only')

    HINTS:
        - Replace inside the list the Sequential holds, not in a copy of it: the model's
          forward reads that very list.
        - A MultiHeadAttention keeps its projections in attributes, a GPT its blocks in a list,
          and each block its MLP, a Sequential, in an attribute: every branch of the walk is
          needed for a GPT.
    """
    # BEGIN SOLUTION
    if not isinstance(model, Module):
        raise TypeError(f"quantize_model expects a Module; got {type(model).__name__}")
    if isinstance(model, Linear):
        raise ValueError("quantize_model: the model is itself a Linear, with no parent to hold its "
                         "replacement; use QuantizedLinear(linear) instead")
    bytes_before = model_size_bytes(model)
    quantized: dict = {}            # id(Linear) -> its QuantizedLinear
    paths: list = []
    visited: set = set()

    def replacement(value, path: str):
        if isinstance(value, Linear):
            if id(value) not in quantized:
                quantized[id(value)] = QuantizedLinear(value)
            paths.append(path)
            return quantized[id(value)]
        if isinstance(value, Module):
            visit(value, path)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                value[i] = replacement(item, f"{path}.{i}")
        elif isinstance(value, tuple):
            return tuple(replacement(item, f"{path}.{i}") for i, item in enumerate(value))
        return value

    def visit(module: Module, path: str) -> None:
        if id(module) in visited:
            return
        visited.add(id(module))
        for name, value in list(vars(module).items()):
            new = replacement(value, f"{path}.{name}" if path else name)
            if new is not value:
                setattr(module, name, new)

    visit(model, "")
    if not paths:
        raise ValueError(f"quantize_model: {type(model).__name__} holds no Linear layer to quantize "
                         f"(was it quantized already?)")
    return {"layers": len(quantized), "paths": paths, "bytes_before": bytes_before,
            "bytes_after": model_size_bytes(model)}
    # END SOLUTION


def calibrate(model, batches) -> dict:
    """Static quantization: run sample batches, fix every QuantizedLinear's input scale from them.

    Each batch is what the model's forward takes (an array or a Tensor of inputs; a GPT takes
    token ids), or an (inputs, targets) tuple from module 08's DataLoader, of which only the
    inputs are used. Afterwards every QuantizedLinear under the model is in "static" mode, its
    input range the minimum and maximum over ALL the batches. Calling it again starts over.

    Returns {path: (input_min, input_max)} for every QuantizedLinear, in tree order.

    TODO: Calibrate every QuantizedLinear under `model` and return the ranges.

    APPROACH:
        1. The QuantizedLinear layers among `named_modules(model)`: none is a ValueError
           saying to call quantize_model first.
        2. Start over on each: forget the input range and the input scale and zero point
           (back to weight_only, so that the batches run through the weight-only path), and
           switch observing on.
        3. Run the model on each batch under module 05's no_grad, counting them. Whatever
           happens, observing must be off afterwards (try / finally).
        4. No batch at all: a ValueError. A layer that saw no input (the forward never called
           it): a ValueError naming its path. Then finish_calibration on every layer, and
           return the ranges.

    EXAMPLE:
        >>> model = Sequential(Linear(4, 8), ReLU(), Linear(8, 2))
        >>> report = quantize_model(model)
        >>> ranges = calibrate(model, [np.ones((2, 4)), -np.ones((2, 4))])
        >>> list(ranges), ranges["layers.0"], model.layers[0].mode
        (['layers.0', 'layers.2'], (-1.0, 1.0), 'static')

    HINTS:
        - `batches` may be a generator: iterate over it once.
        - A list of token ids is a batch, not an (inputs, targets) pair: only a tuple is split.
    """
    # BEGIN SOLUTION
    layers = [(path, m) for path, m in named_modules(model) if isinstance(m, QuantizedLinear)]
    if not layers:
        raise ValueError(f"calibrate: {type(model).__name__} has no QuantizedLinear layer; "
                         f"call quantize_model(model) first")
    for _, layer in layers:
        layer.input_min = layer.input_max = None
        layer.input_scale = layer.input_zero_point = None
        layer.observing = True
    seen = 0
    try:
        with no_grad():
            for batch in batches:
                model(batch[0] if isinstance(batch, tuple) else batch)
                seen += 1
    finally:
        for _, layer in layers:
            layer.observing = False
    if seen == 0:
        raise ValueError("calibrate: no batch given; calibration needs sample inputs")
    for path, layer in layers:
        if layer.input_min is None:
            raise ValueError(f"calibrate: the QuantizedLinear at '{path}' saw no input in any batch "
                             f"(does the model's forward use it?)")
        layer.finish_calibration()
    return {path: (layer.input_min, layer.input_max) for path, layer in layers}
    # END SOLUTION


# ---------------------------------------------------------------------- systems questions


def int8_max_error(low: float, high: float) -> float:
    """The largest error quantize_int8 can make on a value inside [low, high]: half a step.

    TODO: Return scale / 2 for the scale compute_qparams gives this range.

    APPROACH: Rounding to the nearest level moves a value by at most half the distance between
    two levels. (Checks of low and high: compute_qparams already raises.)

    EXAMPLE:
        >>> int8_max_error(-1.0, 1.0)                  # 2 / 255 / 2
        0.00392156862745098
        >>> int8_max_error(0.0, 255.0)
        0.5

    HINTS:
        - One outlier of 100 in weights that are otherwise within +-1 multiplies the error of
          EVERY weight by about 50: why per-channel scales and clipping of outliers exist.
    """
    # BEGIN SOLUTION
    scale, _ = compute_qparams(low, high)
    return scale / 2
    # END SOLUTION


def gpt_size_bytes(vocab_size: int, embed_dim: int, num_layers: int, max_seq_len: int,
                   mlp_ratio: int = MLP_RATIO, quantized: bool = False) -> int:
    """model_size_bytes of a float32 GPT(vocab_size, embed_dim, num_layers, ...), by formula.

    quantized=False: every parameter at 4 bytes. quantized=True: as after quantize_model (not
    calibrated): every Linear weight at 1 byte plus its scale and zero point (SCALE_DTYPE and
    ZERO_POINT_DTYPE); the biases, the embedding tables and the LayerNorms stay float32.

    TODO: Return the bytes as an int, without building a model.

    APPROACH: With C = embed_dim, H = mlp_ratio * C, V = vocab_size:
        1. All parameters: module 13's gpt_param_count (num_heads changes nothing: pass 1).
        2. Linear weights: per block the four (C, C) projections, (C, H) and (H, C); then the
           head (C, V). LINEARS_PER_BLOCK Linears per block, plus the head.
        3. Float: 4 bytes per parameter. Quantized: the weights at 1 byte, every other
           parameter at 4, plus the bytes of one scale and one zero point per Linear.

    EXAMPLE:
        >>> gpt_size_bytes(65, 128, 4, 128)                     # milestone 4's model
        3305732
        >>> gpt_size_bytes(65, 128, 4, 128, quantized=True)     # 3.6x smaller
        921876

    HINTS:
        - The embedding tables stay float32 here: for a large vocabulary they are a big share
          of the model (GPT-2 small: 39M of its 124M parameters).
    """
    # BEGIN SOLUTION
    params = gpt_param_count(vocab_size, embed_dim, num_layers, 1, max_seq_len, mlp_ratio)
    c, hidden = embed_dim, mlp_ratio * embed_dim
    weights = num_layers * (4 * c * c + 2 * c * hidden) + c * vocab_size
    if not quantized:
        return FLOAT_BYTES * params
    linears = num_layers * LINEARS_PER_BLOCK + 1
    qparam_bytes = np.dtype(SCALE_DTYPE).itemsize + np.dtype(ZERO_POINT_DTYPE).itemsize
    return (FLOAT_BYTES * (params - weights) + np.dtype(QDTYPE).itemsize * weights
            + linears * qparam_bytes)
    # END SOLUTION


def int8_matmul_time_ratio(n: int = DEFAULT_MATMUL_SIZE, repeats: int = DEFAULT_REPEATS,
                           seed: int = 0) -> float:
    """Time of an (n, n) int8_matmul divided by the float32 (n, n) product, measured now.

    Above 1 means int8 is SLOWER. On this CPU it is, by far: NumPy multiplies integers in a
    plain loop, float32 in an optimised BLAS. (Measured 40-180x here for n = 64 to 512, on a
    busy 2-core machine; on int8 hardware with a library that uses it, the ratio is below 1.)

    TODO: Validate n and repeats; build random int8 (n, n) matrices and float32 ones of the
    same values; time int8_matmul and the float32 product with `_best_time`; return the ratio.

    APPROACH:
        1. n and repeats: ints >= 1 (not bools), else a ValueError naming the value.
        2. From np.random.default_rng(seed): two (n, n) matrices of random int8 levels, and
           their float32 copies.
        3. One `_best_time` call each: int8_matmul on the levels (zero points 0), and the
           float32 matrix product with @. Return int8 time / float32 time as a float.

    EXAMPLE:
        >>> int8_matmul_time_ratio(128) > 1             # on a CPU with NumPy
        True

    HINTS:
        - Call `int8_matmul` and `_best_time` by their module names: the tests replace them to
          check what you time, without timing anything themselves.
    """
    # BEGIN SOLUTION
    for name, value in (("n", n), ("repeats", repeats)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"int8_matmul_time_ratio: {name} must be an int >= 1; got {value!r}")
    rng = np.random.default_rng(seed)
    a_q = rng.integers(QMIN, QMAX + 1, size=(n, n)).astype(QDTYPE)          # (n, n)
    b_q = rng.integers(QMIN, QMAX + 1, size=(n, n)).astype(QDTYPE)          # (n, n)
    a, b = a_q.astype(np.float32), b_q.astype(np.float32)
    integer = _best_time(lambda: int8_matmul(a_q, 0, b_q, 0), repeats)
    floating = _best_time(lambda: a @ b, repeats)
    return float(integer / floating)
    # END SOLUTION
