"""Module 18: compression, making a trained network smaller and cheaper by removing weights.

What you build
    measure_sparsity, layer_sparsity   how many weights are exactly zero (overall, per layer)
    magnitude_mask, magnitude_prune    unstructured pruning: zero the smallest |w| of each matrix
    apply_masks, fine_tune             keep the pruned weights at zero while training goes on
    unit_scores, units_to_keep         rank hidden units / conv filters by their L2 norm
    slice_outputs, slice_batchnorm, slice_inputs    cut whole units out of the layers around them
    find_chains, structured_prune      structured pruning: the matrices really shrink
    distillation_loss                  train a small student to imitate a large teacher
    Every weight layout is the course's: Linear.weight (in, out), Conv2d.weight (O, C, kh, kw).

Why it matters
    Trained networks are over-parameterised: most weights can go with little loss of accuracy,
    once the rest are fine-tuned. There are two ways to remove them, and only one of them makes a
    NumPy (or GPU) network faster:

        unstructured (magnitude)              structured (whole units)
        W (in, out), 50% zeros                W (in, out) -> (in, out / 2)

        [ .3  0   0  -.8]                     [ .3 -.8]      the columns of the removed units
        [ 0  .5  -.6  0 ]                     [ 0   0 ]      are gone, and so are the matching
        [ .9  0   0   .2]                     [ .9  .2]      ROWS of the next layer's weight

        same shape, same matmul: no faster    a smaller matmul: fewer FLOPs and bytes
        needs a sparse format to save bytes   works with every dense kernel as it is

    A hidden unit j of an MLP is column j of the first Linear (and its bias j) plus row j of the
    second. A conv filter o is weight[o] of the first Conv2d, channel o of the BatchNorm2d after
    it, and input channel o of the next Conv2d (or, through a Flatten of (C, H, W) maps, the
    H*W consecutive rows c*H*W .. c*H*W + H*W - 1 of the next Linear). Remove all of them
    together and the network computes exactly what it computed with those units zeroed.

Who uses it later
    19 benchmarking      accuracy, size and latency of pruned models against the originals
    milestone 5          prune the CNN and the TinyGPT's MLP blocks, fine-tune, compare

Decisions (and where this differs from PyTorch)
    - Masks: magnitude_prune stores each layer's mask as a NumPy bool array in
      `layer.weight_mask` (True = kept). An array is not a Tensor, so parameters() ignores it and
      no optimizer changes it. `apply_masks(model)` zeroes the masked weights again; fine_tune
      calls it after every optimizer step. PyTorch's torch.nn.utils.prune instead replaces
      `weight` by a computed attribute `weight_orig * weight_mask` (a forward pre-hook).
    - Structured pruning changes each Tensor's `.data` in place (same Tensor objects, new
      shapes, .grad reset to None). An optimizer with state (momentum, Adam) made before must
      be made again. PyTorch's prune.ln_structured only zeroes; it never shrinks a matrix.

The systems angle
    `mlp_flops` and `structured_speedup`: halving every hidden layer of an MLP divides the FLOPs
    of a hidden-to-hidden matmul by 4 (both of its sizes shrink). `sparse_storage_bytes` and
    `sparse_break_even_sparsity`: a sparse matrix stores an index beside every kept value, so
    float32 weights with int32 indices need more than 50% zeros before sparse storage is smaller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tinytorch.core.activations import GELU, ReLU, Sigmoid, Tanh
from tinytorch.core.layers import Dropout, Linear, Module, Sequential, named_modules
from tinytorch.core.losses import CrossEntropyLoss, log_softmax
from tinytorch.core.spatial import AvgPool2d, BatchNorm2d, Conv2d, Flatten, MaxPool2d
from tinytorch.core.tensor import FLOPS_PER_MULTIPLY_ADD, Tensor, _as_tensor

MASK_ATTR = "weight_mask"            # where magnitude_prune keeps a layer's mask (True = kept)
DEFAULT_SPARSITY = 0.9               # magnitude_prune: fraction of each weight matrix zeroed
DEFAULT_PRUNE_RATIO = 0.5            # structured_prune: fraction of hidden units removed
MIN_KEPT_UNITS = 1                   # structured pruning never removes every unit of a layer
DEFAULT_TEMPERATURE = 4.0            # distillation: softens the teacher's probabilities
DEFAULT_ALPHA = 0.5                  # distillation: weight of the soft (teacher) term

WEIGHT_LAYERS = (Linear, Conv2d)                       # the layers whose weights are pruned
ELEMENTWISE = (ReLU, Sigmoid, Tanh, GELU, Dropout)     # act on each number on its own
PER_CHANNEL = (MaxPool2d, AvgPool2d)                   # act on each channel of a map on its own


# ---------------------------------------------------------------------- given helpers


def _weight_layers(model) -> list:
    """The (path, layer) pairs of every Linear and Conv2d under `model`, in tree order (given)."""
    return [(path, m) for path, m in named_modules(model) if isinstance(m, WEIGHT_LAYERS)]


def _check_fraction(value, name: str, who: str) -> float:
    """`value` as a float in [0, 1), or a ValueError naming `who`, `name` and the value (given).

    1 is refused: removing every weight (or unit) of a layer leaves nothing to compute with.
    """
    if (isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating))
            or not 0.0 <= value < 1.0):
        raise ValueError(f"{who}: {name} must be a number in [0, 1), got {value!r}")
    return float(value)


def _prune_count(fraction: float, n: int) -> int:
    """How many of `n` entries a `fraction` removes: fraction * n rounded half up (given).

    Half up, not Python's round (which rounds 2.5 to 2, half to even): 0.5 of 5 units is 3.
        _prune_count(0.9, 100) = 90    _prune_count(0.5, 5) = 3    _prune_count(0.6, 8) = 5
    """
    return int(math.floor(fraction * n + 0.5))


def _set_data(tensor: Tensor, array: np.ndarray) -> None:
    """Give `tensor` the new values `array` (a contiguous copy) and forget its gradient (given).

    The Tensor object stays the same (a model and its optimizer keep pointing at it); its old
    .grad has the old shape, so it goes.
    """
    tensor.data = np.ascontiguousarray(array)
    tensor.grad = None


@dataclass
class PruneChain:
    """Two weight layers of a Sequential joined by hidden units that structured pruning may remove.

        first      the Linear / Conv2d whose OUTPUT units (columns / filters) are removed
        norms      the BatchNorm2d layers between them (their channels are removed too)
        second     the Linear / Conv2d whose INPUT units (rows / channels) are removed
        positions  numbers per unit at the input of `second`: 1, or H*W when a Flatten of
                   (C, H, W) maps lies between a Conv2d and a Linear
        start, end the indices of `first` and `second` in the Sequential's `layers`
    """

    first: Module
    norms: tuple
    second: Module
    positions: int
    start: int
    end: int


# ---------------------------------------------------------------------- measuring sparsity


def layer_sparsity(model) -> dict:
    """The fraction of exactly-zero weights of every Linear and Conv2d, by path.

    TODO: Return {path: zeros / size} for every weight layer of `model` (its `weight` only:
    biases and BatchNorm parameters do not count), in tree order.

    APPROACH:
        1. The layers and their paths come from _weight_layers.
        2. For each, count the entries of its weight array equal to 0 and divide by the number
           of entries. Return a plain Python float per layer.

    EXAMPLE:
        >>> model = Sequential(Linear(4, 3), ReLU(), Linear(3, 2))
        >>> model.layers[0].weight.data[0] = 0          # one row of 3 out of 12 weights
        >>> layer_sparsity(model)
        {'layers.0': 0.25, 'layers.2': 0.0}

    HINTS:
        - -0.0 == 0 is True: a weight multiplied by a False mask may be -0.0 and counts.
    """
    raise NotImplementedError("Module 18 (compression): write layer_sparsity (see its docstring)")


def measure_sparsity(model) -> float:
    """The fraction of exactly-zero entries over all the weight matrices and kernels of `model`.

    Only the `weight` of every Linear and Conv2d counts. Biases, BatchNorm's gamma and beta,
    and any other parameter do not: they are few, and pruning never removes them.

    TODO: Return (zeros over all weights) / (entries of all weights); ValueError when the model
    has no Linear or Conv2d.

    APPROACH:
        1. _weight_layers(model); none at all: ValueError naming the model's type, e.g.
           "measure_sparsity: Sequential has no Linear or Conv2d weights".
        2. Add up the zeros and the sizes over the layers, then divide once. (The mean of the
           per-layer fractions would weigh a 10-weight layer like a 10,000-weight one.)

    EXAMPLE:
        >>> model = Sequential(Linear(4, 3), ReLU(), Linear(3, 2))     # 12 + 6 weights
        >>> model.layers[2].weight.data[:] = 0                          # 6 zeros
        >>> round(measure_sparsity(model), 4)
        0.3333

    HINTS:
        - A freshly built Linear has a zero bias: counting biases would report sparsity in a
          model that was never pruned.
    """
    raise NotImplementedError("Module 18 (compression): write measure_sparsity (see its docstring)")


# ---------------------------------------------------------------------- magnitude pruning


def magnitude_mask(weight: np.ndarray, sparsity: float) -> np.ndarray:
    """The keep-mask of one weight array: False at its `_prune_count(sparsity, size)` smallest |w|.

    Ties: among entries of equal |w|, the one that comes first in row-major (flattened) order is
    pruned first, so the count is always exact and the result never depends on the sort.

        weight [[ 0.5, -0.1],      |w| order (stable): 0.1 (1), 0.2 (3), 0.5 (0), 0.9 (2)
                [-0.9,  0.2]]      sparsity 0.5 -> prune 2:  mask [[ True, False],
                                                                  [ True, False]]

    TODO: Check sparsity, then return a bool array of weight's shape with exactly
    _prune_count(sparsity, weight.size) False entries at the smallest magnitudes.

    APPROACH:
        1. Check sparsity with the given _check_fraction (the function named in its message:
           magnitude_mask).
        2. k = the number to prune. Order the flattened magnitudes with a STABLE sort (NumPy's
           argsort takes kind="stable"); the first k positions of that order are pruned.
        3. Start from an all-True flat mask, set those k positions to False, reshape to
           weight's shape.

    EXAMPLE:
        >>> magnitude_mask(np.array([[0.5, -0.1], [-0.9, 0.2]]), 0.5)
        array([[ True, False],
               [ True, False]])
        >>> int(magnitude_mask(np.ones((10, 10)), 0.9).sum())      # all tied: the first 90 go
        10

    HINTS:
        - A threshold (|w| <= the k-th smallest) prunes too many when values tie at the
          threshold; selecting positions from the sort never does.
        - The sort is over the absolute values: -0.9 is a large weight, not a small one.
    """
    raise NotImplementedError("Module 18 (compression): write magnitude_mask (see its docstring)")


def magnitude_prune(model, sparsity: float = DEFAULT_SPARSITY) -> dict:
    """Zero the `sparsity` fraction of smallest-|w| weights of EVERY weight matrix, separately.

    Per matrix, not over the whole model: one global threshold would empty a layer whose
    weights are small (the last layer of a network often is) and leave a large one untouched.
    Each layer keeps its mask in `layer.weight_mask` (a NumPy bool array, True = kept), so that
    apply_masks can zero the pruned weights again after the optimizer moved them.

    A second call recomputes every mask from the current weights (the zeros of the first call
    are the smallest magnitudes, so they stay pruned when the sparsity grows): gradual pruning
    is 0.5, fine-tune, 0.75, fine-tune, 0.9, fine-tune.

    TODO: Check sparsity; for each Linear and Conv2d, compute its mask, store it in the layer,
    zero the pruned weights; return {path: number of weights zeroed}.

    APPROACH:
        1. Check sparsity (as magnitude_mask does, but naming "magnitude_prune"); the model
           must have weight layers (ValueError otherwise, naming its type).
        2. For each (path, layer) of _weight_layers: the mask of its weight array; store it
           in the attribute MASK_ATTR; set the weight to zero where the mask is False, keeping
           its dtype; record how many entries the mask prunes.

    EXAMPLE:
        >>> model = Sequential(Linear(10, 10), ReLU(), Linear(10, 4))
        >>> magnitude_prune(model, 0.9)
        {'layers.0': 90, 'layers.2': 36}
        >>> measure_sparsity(model), int(model.layers[2].weight_mask.sum())
        (0.9, 4)

    HINTS:
        - Biases are not pruned: each one is used by a whole row of outputs, and there are few.
        - The attribute name is the constant MASK_ATTR; setattr with it keeps the name in one
          place.
    """
    raise NotImplementedError("Module 18 (compression): write magnitude_prune (see its docstring)")


def apply_masks(model) -> int:
    """Zero again every weight that a stored mask prunes; return how many layers had a mask.

    Why it is needed: the gradient of a pruned weight is not zero (the weight is 0, but the loss
    still changes if it moves), and Adam's or momentum's state moves it even when the gradient
    is 0. After optimizer.step() the zeros are gone; apply_masks puts them back.

    TODO: For each Linear and Conv2d that has a mask (attribute MASK_ATTR), multiply its weight
    by the mask in place (dtype kept) and count it. A mask whose shape differs from the weight's
    is a ValueError naming the layer's path and both shapes.

    APPROACH:
        1. Walk _weight_layers(model); getattr with a default of None tells which have masks.
        2. Check the shapes, then zero the weight where the mask is False.
        3. Return the number of layers masked (0 for a model never pruned).

    EXAMPLE:
        >>> magnitude_prune(model, 0.5); model.layers[0].weight.data += 1.0
        >>> apply_masks(model), measure_sparsity(model)
        (2, 0.5)

    HINTS:
        - Multiplying by a bool array keeps a float32 array float32; np.where does too.
    """
    raise NotImplementedError("Module 18 (compression): write apply_masks (see its docstring)")


def fine_tune(model, optimizer, loss_fn, batches, epochs: int = 1) -> list:
    """Train `model` on `batches` for `epochs` passes, re-applying the pruning masks after every step.

    TODO: Return the list of the losses of every step (Python floats, epochs * len(batches)
    of them), with the masks applied after each optimizer step.

    APPROACH:
        1. epochs: a positive int (not a bool), else ValueError naming the value.
        2. Put the model in training mode and apply the masks once (weights changed since
           pruning would otherwise train from non-zero values).
        3. For each epoch, for each (x, y) of batches: the usual training step of module 07
           (zero the gradients, forward, loss, backward, step), then apply_masks, then record
           the loss as a float.
        4. An epoch that saw no batch: ValueError ("fine_tune: batches is empty"). `batches`
           must be iterable again for every epoch: a list, or a DataLoader.

    EXAMPLE:
        >>> magnitude_prune(model, 0.8)
        >>> losses = fine_tune(model, SGD(model.parameters(), lr=0.1), MSELoss(), batches, epochs=3)
        >>> len(losses) == 3 * len(batches), measure_sparsity(model)
        (True, 0.8)

    HINTS:
        - Masks after the step, not before: the step is what moves the pruned weights.
        - x may be a NumPy array: _as_tensor makes a Tensor of it.
    """
    raise NotImplementedError("Module 18 (compression): write fine_tune (see its docstring)")


# ---------------------------------------------------------------------- structured pruning


def unit_scores(layer) -> np.ndarray:
    """The L2 norm of every output unit of a Linear (column + bias) or Conv2d (filter + bias).

        Linear  weight (in, out):      score_j = sqrt(sum_i weight[i, j]^2 + bias[j]^2)    (out,)
        Conv2d  weight (O, C, kh, kw): score_o = sqrt(sum of weight[o]^2 + bias[o]^2)      (O,)

    A unit whose weights and bias are all small produces a nearly constant output, which the
    next layer could absorb: that is the cheapest unit to remove. (Without a bias, the bias
    term is 0.)

    TODO: Return the scores as a float64 array, one per output unit; TypeError for any other
    layer.

    APPROACH:
        1. Linear: units are columns, so square and sum over axis 0. Conv2d: units are the
           first axis, so sum over every other axis.
        2. Add the squared bias when there is one, then the square root.
        3. Anything else: TypeError naming its type.

    EXAMPLE:
        >>> layer = Linear(2, 3); layer.weight.data[:] = [[3, 0, 1], [4, 0, 1]]
        >>> unit_scores(layer)                                  # bias is zero
        array([5.        , 0.        , 1.41421356])

    HINTS:
        - Work in float64: two float32 norms that differ in the 7th digit must still order
          the same way as in the tests.
    """
    raise NotImplementedError("Module 18 (compression): write unit_scores (see its docstring)")


def units_to_keep(scores: np.ndarray, prune_ratio: float) -> np.ndarray:
    """The indices of the units that survive: all but the `_prune_count(prune_ratio, n)` lowest scores.

    At least MIN_KEPT_UNITS unit always stays (0.5 of 1 unit would round up to 1). Ties: the
    unit with the lower index is removed first (a stable sort), as in magnitude_mask.

    TODO: Return the kept indices as a sorted int64 array.

    APPROACH:
        1. Check prune_ratio (naming "units_to_keep").
        2. remove = the prune count, but no more than n - MIN_KEPT_UNITS.
        3. A stable argsort of the scores lists the units from the weakest; drop the first
           `remove` of them, then sort what is left by index (the surviving units keep their
           order, so the layer's outputs stay in the same order).

    EXAMPLE:
        >>> units_to_keep(np.array([0.3, 2.0, 0.1, 0.9, 1.5]), 0.5)      # removes 3: 0.1, 0.3, 0.9
        array([1, 4])
        >>> units_to_keep(np.array([1.0, 1.0, 1.0, 1.0]), 0.5)           # ties: lower index first
        array([2, 3])

    HINTS:
        - Returned in the order of the sort, the kept units would be reshuffled: the next layer
          would read unit 4 where it expects unit 1.
    """
    raise NotImplementedError("Module 18 (compression): write units_to_keep (see its docstring)")


def slice_outputs(layer, keep: np.ndarray) -> None:
    """Keep only the output units `keep` of a Linear (columns) or a Conv2d (filters), in place.

        Linear  weight (in, out) -> (in, K)          bias (out,) -> (K,)      out_features = K
        Conv2d  weight (O, C, kh, kw) -> (K, C, ..)  bias (O,) -> (K,)        out_channels = K

    TODO: Slice weight, bias and a stored mask (MASK_ATTR) along the output axis, and update
    the size attribute the layer's forward checks; TypeError for any other layer.

    APPROACH:
        1. Pick the output axis from the layer's type (the course's Linear stores (in, out)).
        2. New values through _set_data, so the Tensors stay the same objects and lose their
           stale gradients; the bias, if any, along its only axis.
        3. A mask from magnitude_prune has the weight's shape: slice it the same way, or
           apply_masks would refuse it (and fine-tuning after both prunings would break).
        4. out_features (Linear) or out_channels (Conv2d) = len(keep).

    EXAMPLE:
        >>> layer = Linear(4, 6); slice_outputs(layer, np.array([0, 2, 5]))
        >>> layer.weight.shape, layer.bias.shape, layer.out_features
        ((4, 3), (3,), 3)

    HINTS:
        - Indexing with an integer array copies: the old array is not kept alive by a view.
    """
    raise NotImplementedError("Module 18 (compression): write slice_outputs (see its docstring)")


def slice_batchnorm(bn: BatchNorm2d, keep: np.ndarray) -> None:
    """Keep only the channels `keep` of a BatchNorm2d: gamma, beta AND the running statistics.

    TODO: Slice the four (C,) Tensors and set num_features; TypeError for anything but a
    BatchNorm2d.

    APPROACH:
        1. gamma and beta are parameters; running_mean and running_var are buffers. All four
           have one entry per channel, and all four must shrink (through _set_data).
        2. num_features = len(keep): forward checks the input's channels against it.

    EXAMPLE:
        >>> bn = BatchNorm2d(4); bn.running_mean.data[:] = [1, 2, 3, 4]
        >>> slice_batchnorm(bn, np.array([1, 3])); bn.running_mean.data, bn.num_features
        (array([2., 4.], dtype=float32), 2)

    HINTS:
        - Forgetting the running statistics passes in train mode (batch statistics) and breaks
          in eval mode, with a shape error or, worse, the statistics of other channels.
    """
    raise NotImplementedError("Module 18 (compression): write slice_batchnorm (see its docstring)")


def slice_inputs(layer, keep: np.ndarray, positions: int = 1) -> None:
    """Keep only the input units `keep` of a Linear (rows) or a Conv2d (input channels), in place.

    `positions` is the number of inputs each unit feeds: 1, or H*W when a Flatten turned each
    of C channels of (H, W) maps into H*W consecutive numbers (the layout (C, H, W) -> C*H*W):

        channels 0 1 2, H*W = 4:   rows of the Linear   0 1 2 3 | 4 5 6 7 | 8 9 10 11
        keep [0, 2]             -> rows kept            0 1 2 3 |         | 8 9 10 11

    TODO: Slice the weight (and a stored mask) along the input axis and update in_features
    (Linear) or in_channels (Conv2d); TypeError for other layers; ValueError when positions is
    not 1 for a Conv2d.

    APPROACH:
        1. Linear: the rows to keep are, for every kept unit u in order, the `positions`
           consecutive rows starting at u * positions. Build them without a Python loop over
           rows (broadcast the unit starts against an arange of positions, then flatten).
        2. Conv2d: input channels are axis 1 of the weight.
        3. _set_data the weight, slice a mask the same way, update the size attribute. The
           bias belongs to the outputs: it does not change.

    EXAMPLE:
        >>> layer = Linear(12, 5); slice_inputs(layer, np.array([0, 2]), positions=4)
        >>> layer.weight.shape, layer.in_features
        ((8, 5), 8)

    HINTS:
        - Rows, not columns: in the course's layout, the inputs of a Linear are the first axis.
    """
    raise NotImplementedError("Module 18 (compression): write slice_inputs (see its docstring)")


def find_chains(sequential: Sequential) -> list:
    """The PruneChains of one Sequential: pairs of weight layers joined only by per-unit layers.

    A chain starts at every Linear or Conv2d of `sequential.layers` and follows the layers
    after it while each one treats every unit (or channel) on its own:

        after a Linear:   ELEMENTWISE layers (activations, Dropout)          ... then a Linear
        after a Conv2d:   ELEMENTWISE, PER_CHANNEL (pooling) and BatchNorm2d ... then a Conv2d,
                          or a Flatten, more ELEMENTWISE layers, then a Linear
                          (positions = that Linear's in_features / the Conv2d's out_channels)

    Anything else (a Softmax mixes units, another module, the end of the list) ends the search
    without a chain: that layer's outputs are the model's, or go somewhere it cannot follow.
    Sequentials nested inside this one are not entered (structured_prune visits them itself).

    TODO: Return the chains, in the order of their first layer.

    APPROACH:
        1. For each index i holding a Linear or Conv2d, walk j = i + 1, ... over the allowed
           layers, collecting BatchNorm2d layers and noting a Flatten (after a Flatten, only
           ELEMENTWISE layers may follow: pooling and BatchNorm need maps).
        2. Stop at the first other layer. It closes a chain when it is a Linear after a Linear,
           a Conv2d after a Conv2d (no Flatten), or a Linear after a Conv2d and a Flatten.
        3. Through a Flatten, the Linear's in_features must be a multiple of the Conv2d's
           out_channels: ValueError naming both layers' sizes otherwise.
        4. Append PruneChain(first, tuple(norms), second, positions, i, j).

    EXAMPLE:
        >>> seq = Sequential(Conv2d(3, 8, 3, padding=1), BatchNorm2d(8), ReLU(), MaxPool2d(2),
        ...                  Flatten(), Linear(8 * 4 * 4, 10))
        >>> [(c.start, c.end, c.positions, len(c.norms)) for c in find_chains(seq)]
        [(0, 5, 16, 1)]

    HINTS:
        - A Linear followed by a Conv2d (or the reverse without a Flatten) is no chain.
        - A Softmax is not ELEMENTWISE: each of its outputs depends on every unit.
    """
    raise NotImplementedError("Module 18 (compression): write find_chains (see its docstring)")


def structured_prune(model, prune_ratio: float = DEFAULT_PRUNE_RATIO) -> dict:
    """Remove the `prune_ratio` fraction of weakest hidden units / filters of every chain, in place.

    Every Sequential in the tree is searched (the model itself, one stored in an attribute, a
    Sequential subclass such as a transformer's MLP), and every chain found is pruned, in order:
    scores (unit_scores of the chain's first layer, as it is at that moment), kept units
    (units_to_keep), then the first layer's outputs, the BatchNorm channels and the second
    layer's inputs. When chains share a layer (Linear, ReLU, Linear, ReLU, Linear), the second
    chain scores its first layer after the first chain removed some of its input rows: those
    rows multiplied units that are gone, so leaving them out of the norm is right.

    Returns a report:
        {"params_before": int, "params_after": int,        sizes of model.parameters()
         "chains": [{"first": "layers.0", "second": "layers.2",
                     "units_before": 16, "units_after": 8, "kept": [1, 4, ...]}, ...]}

    TODO: Check prune_ratio, find the chains of every Sequential, prune each, return the report;
    ValueError when there is nothing to prune.

    APPROACH:
        1. Check prune_ratio with _check_fraction (naming structured_prune).
        2. The Sequentials are the Modules of named_modules that are Sequential instances;
           collect (path of the Sequential, chain) for the chains of each.
        3. No chain anywhere: ValueError saying there is nothing to prune, naming the model's
           type (a single layer, or layers that never feed one another through units).
        4. Count the parameters (the sum of sizes of model.parameters()) before and after.
        5. Per chain: scores, kept indices, slice the first layer's outputs, each norm, the
           second layer's inputs (with the chain's positions); report its paths as
           "<sequential path>.layers.<index>" (just "layers.<index>" for the model itself) and
           the kept indices as a list of ints.

    EXAMPLE:
        >>> model = Sequential(Linear(4, 16), ReLU(), Linear(16, 3))
        >>> report = structured_prune(model, 0.5)
        >>> report["params_before"], report["params_after"], model.layers[0].weight.shape
        (131, 67, (4, 8))

    HINTS:
        - Removing unit j everywhere gives exactly the outputs of the unpruned model with column
          j (and bias j) of the first layer and row j of the second set to zero: the tests
          check this, in eval mode.
        - Every Tensor keeps its identity; an optimizer with momentum or Adam state must be
          made again (its state has the old shapes).
    """
    raise NotImplementedError("Module 18 (compression): write structured_prune (see its docstring)")


# ---------------------------------------------------------------------- knowledge distillation


def distillation_loss(student_logits: Tensor, teacher_logits, targets, temperature: float = DEFAULT_TEMPERATURE,
                      alpha: float = DEFAULT_ALPHA) -> Tensor:
    """Knowledge distillation (Hinton et al., 2015): learn from the teacher's soft probabilities.

        p = softmax(teacher / T)          q = softmax(student / T)          (N, K) each
        soft = T^2 * mean over the batch of  sum_k p_k * (log p_k - log q_k)     KL(p || q)
        hard = CrossEntropyLoss()(student, targets)
        loss = alpha * soft + (1 - alpha) * hard

    A teacher that says "this 7 looks a bit like a 1" teaches more than the label 7 alone; a
    temperature T > 1 makes those small probabilities large enough to learn from. The gradient
    of the soft term shrinks like 1 / T^2, hence the factor T^2 (the paper's, and PyTorch's
    KLDivLoss(reduction="batchmean") times T^2 in the usual recipe).

    TODO: Return the loss as a scalar Tensor with the student's dtype, through whose ops the
    gradient flows to student_logits (the teacher is a constant: no gradient to it).

    APPROACH:
        1. student_logits: a 2-D Tensor (N, K) (TypeError / ValueError otherwise); the teacher's
           values (a Tensor or an array) must have the same shape: ValueError naming both.
           temperature > 0 and 0 <= alpha <= 1: ValueError naming the value.
        2. The teacher's log-probabilities at temperature T, computed in NumPy with the
           log-sum-exp shift (constants); p is their exp.
        3. The student's log-probabilities: module 04's log_softmax of the student logits
           divided by T, a Tensor op with a backward rule.
        4. soft: the KL divergence written with Tensor ops where the student appears (the
           p * log p part is a constant), summed, divided by N, times T^2.
        5. Combine with the hard cross-entropy (module 04) by alpha.

    EXAMPLE:
        >>> s = Tensor([[2.0, 0.0, -1.0]], requires_grad=True)
        >>> round(float(distillation_loss(s, s.data, np.array([0]), alpha=1.0).data), 6)
        0.0                                             # the student already is the teacher
        >>> distillation_loss(s, np.zeros((1, 3)), np.array([0])).backward(); s.grad.shape
        (1, 3)

    HINTS:
        - Never the log of a softmax: take log_softmax, so that a probability that rounds to 0
          costs no -inf.
        - The gradient of the soft term with respect to the student logits is
          alpha * T * (q - p) / N: a handy check.
    """
    raise NotImplementedError("Module 18 (compression): write distillation_loss (see its docstring)")


# ---------------------------------------------------------------------- systems questions


def mlp_flops(batch: int, widths) -> int:
    """FLOPs of the matmuls of one forward pass of an MLP with layer sizes `widths` (no biases).

    widths = [in, hidden_1, ..., out]: Linear(widths[i], widths[i + 1]) for every i.

    TODO: Return the sum over the Linear layers of FLOPS_PER_MULTIPLY_ADD * batch * in * out.

    APPROACH: One (batch, a) @ (a, b) product per layer: batch * a * b multiply-adds. At least
    two widths, all positive ints: ValueError otherwise, naming the widths.

    EXAMPLE:
        >>> mlp_flops(1, [784, 512, 512, 10])
        1337344

    HINTS:
        - It is module 01's matmul_flops, once per layer.
    """
    raise NotImplementedError("Module 18 (compression): write mlp_flops (see its docstring)")


def structured_speedup(widths, prune_ratio: float) -> float:
    """How many times fewer FLOPs an MLP needs after structured_prune(model, prune_ratio).

    The input and output sizes are the data's and the task's: they stay. Every hidden width w
    loses min(_prune_count(prune_ratio, w), w - MIN_KEPT_UNITS) units, as structured_prune
    removes them.

    TODO: Return mlp_flops(1, widths) / mlp_flops(1, pruned widths) as a float.

    APPROACH: Build the pruned list of widths (first and last unchanged), then the ratio.

    EXAMPLE:
        >>> round(structured_speedup([784, 512, 512, 10], 0.5), 3)       # hidden 512 -> 256
        2.488

    HINTS:
        - The 512 x 512 layer shrinks 4x (both of its sizes halve), the first and last only
          2x: the deeper and wider the hidden part, the closer the speed-up gets to
          1 / (1 - ratio)^2.
    """
    raise NotImplementedError("Module 18 (compression): write structured_speedup (see its docstring)")


def sparse_storage_bytes(num_weights: int, sparsity: float, dtype=np.float32, index_dtype=np.int32) -> int:
    """Bytes of a weight matrix stored sparse: every kept value with one flat index beside it.

    (A coordinate list with flattened indices; CSR stores one index per value too, plus one
    offset per row, which we leave out.)

    TODO: Return kept * (value bytes + index bytes), where kept is what remains of the
    num_weights once _prune_count of them (for this sparsity) are removed.

    APPROACH: Item sizes from np.dtype(...).itemsize.

    EXAMPLE:
        >>> sparse_storage_bytes(1_000_000, 0.9)        # dense float32: 4,000,000 bytes
        800000
        >>> sparse_storage_bytes(1_000_000, 0.4)        # larger than dense
        4800000

    HINTS:
        - Unstructured pruning saves nothing in a dense array: the zeros take 4 bytes each,
          and the matmul multiplies them all the same.
    """
    raise NotImplementedError("Module 18 (compression): write sparse_storage_bytes (see its docstring)")


def sparse_break_even_sparsity(dtype=np.float32, index_dtype=np.int32) -> float:
    """The sparsity above which sparse storage (value + index per kept weight) beats dense.

    TODO: Solve (1 - s) * (value + index bytes) = value bytes for s and return it.

    APPROACH: s = index bytes / (value bytes + index bytes).

    EXAMPLE:
        >>> sparse_break_even_sparsity()                               # float32 values, int32 indices
        0.5
        >>> sparse_break_even_sparsity(np.int8, np.int32)              # int8 values (module 17)
        0.8

    HINTS:
        - Quantized weights are small, so their indices weigh more: pruning and quantization do
          not simply multiply their savings.
    """
    raise NotImplementedError("Module 18 (compression): write sparse_break_even_sparsity (see its docstring)")
