"""Module 08: data loading, from the files on disk to shuffled mini-batches of Tensors.

What you build
    Dataset, TensorDataset   the interface (len(ds), ds[i]) and examples that are rows of arrays
    DataLoader               batches of `batch_size` examples, in a new random order every epoch
    parse_idx                LeCun's IDX format (MNIST), gzipped or raw, checked before it is trusted
    parse_cifar_batch        one batch file of CIFAR-10 (python version)
    load_mnist, load_cifar10 (train, test) TensorDatasets of float32 images and int64 labels
    RandomHorizontalFlip, RandomCrop, Compose   data augmentation on a whole batch at once

Why it matters
    SGD assumes each mini-batch is a fair sample of the data. Files are stored sorted or in
    blocks (a class at a time, a writer at a time), so the loader must shuffle, and shuffle anew
    every epoch: with one fixed order the model sees the same batches in the same sequence and
    the noise that helps SGD generalise becomes a fixed bias. A seed makes the whole sequence of
    epochs reproducible, which is what makes a bug or a result repeatable.

    The loader runs once per training step, so its speed matters as much as the model's: a
    Python loop over examples or, worse, over pixels easily costs more than a small model's
    forward pass. Everything here works on whole arrays: a batch of a TensorDataset is one
    fancy-indexing operation, and the augmentations act on all images of a batch at once.

    Files on disk are input you do not control: a truncated download or the wrong file must
    stop with a message naming the file, not become a silently wrong array. And a pickle can
    run code when it is loaded, so CIFAR's pickled batches go through a restricted unpickler.

Who uses it later
    07 training   Trainer.train_epoch(loader): a DataLoader is exactly the `batches` it takes
    09 spatial    Conv2d and MaxPool2d consume the (N, C, H, W) batches of load_cifar10
    milestones    the MNIST MLP and the CIFAR-10 CNN read their data with load_mnist/load_cifar10

    One epoch of DataLoader(TensorDataset(X, y), batch_size=4, shuffle=True, seed=0), 10 examples:

        order = rng.permutation(10) = [4 6 2 7 | 3 5 9 0 | 8 1]    (a new order every epoch)
                                       batch 0   batch 1   batch 2: 2 examples (dropped if drop_last)
        batch 0 = (X[[4, 6, 2, 7]], y[[4, 6, 2, 7]])             # (4, C, H, W), (4,): one indexing each

The two file formats

    MNIST, IDX (big-endian; each of the four files gzipped):
        offset  bytes          meaning
        0       4              magic number: 0x00 0x00, type 0x08 (unsigned byte), number of dims
                               -> 0x00000803 for images (N, rows, cols), 0x00000801 for labels (N,)
        4       4 per dim      each dimension as a big-endian unsigned 32-bit integer
        4+4*nd  N*rows*cols    the values, row-major: pixels 0 (background) .. 255 (ink), or labels 0-9

    CIFAR-10, python version: cifar-10-batches-py/data_batch_1..5 and test_batch, each a pickled
    dict with byte-string keys:
        b"data"     uint8 array (N, 3072); a row is the red 32x32 plane, then green, then blue,
                    each plane row-major -> reshape to (N, 3, 32, 32)
        b"labels"   list of N ints in 0..9
        b"filenames", b"batch_label"   not needed
"""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np

from tinytorch.core.losses import _as_array   # given in module 04: the array behind a Tensor, list or number
from tinytorch.core.tensor import Tensor
from tinytorch.core.tensor import _wrap as _share   # a Tensor around an array itself, without the
                                                     # copy Tensor() makes: only for arrays nothing
                                                     # else holds (a fresh batch, the loaded images)
from tinytorch.datasets import fetch, unpickle_cifar_batch   # course helpers: find (or download and
                                                            # verify) the files; load a pickle safely

DEFAULT_BATCH_SIZE = 32
GZIP_MAGIC = b"\x1f\x8b"                     # the first two bytes of every gzip file
IDX_MAGIC_LABELS = 0x00000801                # unsigned bytes, 1 dimension: (N,)
IDX_MAGIC_IMAGES = 0x00000803                # unsigned bytes, 3 dimensions: (N, rows, cols)
IDX_NDIM = {IDX_MAGIC_LABELS: 1, IDX_MAGIC_IMAGES: 3}    # magic number -> number of dimensions
MNIST_FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
               "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST_BATCH = "test_batch"
CIFAR_IMAGE_SHAPE = (3, 32, 32)              # (channels R, G, B; rows; columns)
NUM_CLASSES = 10                             # MNIST: digits 0-9; CIFAR-10: 10 classes
PIXEL_MAX = 255.0                            # uint8 pixels: 0 .. 255
DEFAULT_FLIP_P = 0.5
DEFAULT_CROP_PADDING = 4


def _to_tensor(array) -> Tensor:
    """A Tensor of `array` that keeps its dtype (given).

    Tensor(array) alone turns integer arrays into float32 (module 01's rule for model inputs);
    labels must stay integers, so the loader always passes the dtype explicitly.
    """
    array = np.asarray(array)
    return Tensor(array, dtype=array.dtype)


# ---------------------------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------------------------


class Dataset:
    """What DataLoader needs of a data set: its length and indexed access (given).

        len(ds)    the number of examples
        ds[i]      example i, a tuple such as (image, label)

    Subclass it for data computed on the fly or read lazily from disk; DataLoader calls
    ds[i] for each example of a batch and stacks the results.
    """

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


class TensorDataset(Dataset):
    """Examples that are the rows of Tensors in memory: example i is (t[i] for t in tensors).

        images (N, 1, 28, 28)    labels (N,)
        ds = TensorDataset(images, labels)
        ds[i] -> (images[i] (1, 28, 28), labels[i] ())

    Every Tensor keeps its dtype (float32 images, int64 labels). DataLoader does not call ds[i]
    for a TensorDataset: it indexes `ds.tensors` with a whole batch of indices at once.
    """

    def __init__(self, *tensors):
        """Store the tensors as `self.tensors` after checking that their first dimensions agree.

        TODO: set self.tensors to a tuple of Tensors, one per argument, after checking them.

        APPROACH:
            1. No argument at all: ValueError("TensorDataset: needs at least one tensor").
            2. Keep a Tensor as it is; turn anything else (an array, a list) into one with
               the given `_to_tensor` (which keeps its dtype).
            3. Every tensor needs a first dimension (ndim >= 1), and all first dimensions must
               be equal. Otherwise a ValueError naming every shape, e.g.
               "TensorDataset: every tensor must have the same first dimension; got shapes (4, 2), (3,)".
            4. Store them as a tuple.

        EXAMPLE:
            >>> ds = TensorDataset(Tensor(np.zeros((4, 2))), np.arange(4))
            >>> len(ds.tensors), ds.tensors[1].dtype
            (2, dtype('int64'))
            >>> TensorDataset(np.zeros((4, 2)), np.zeros(3))
            ValueError: TensorDataset: every tensor must have the same first dimension; got shapes (4, 2), (3,)

        HINTS:
            - Joining the shapes' strings with ", " writes them as the message wants them.
            - A set of the first dimensions holds one element exactly when they all agree.
        """
        # BEGIN SOLUTION
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        tensors = tuple(t if isinstance(t, Tensor) else _to_tensor(t) for t in tensors)
        shapes = [tuple(t.shape) for t in tensors]
        listed = ", ".join(str(s) for s in shapes)
        if any(len(s) == 0 for s in shapes):
            raise ValueError(f"TensorDataset: every tensor needs a first dimension (one row per "
                             f"example); got shapes {listed}")
        if len({s[0] for s in shapes}) != 1:
            raise ValueError(f"TensorDataset: every tensor must have the same first dimension; "
                             f"got shapes {listed}")
        self.tensors = tensors
        # END SOLUTION

    def __len__(self) -> int:
        """The number of examples: the first dimension of the tensors.

        TODO: return it as a Python int.

        EXAMPLE:
            >>> len(TensorDataset(np.zeros((4, 2)), np.arange(4)))
            4
        """
        # BEGIN SOLUTION
        return int(self.tensors[0].shape[0])
        # END SOLUTION

    def __getitem__(self, index) -> tuple:
        """Example `index`: a tuple holding row `index` of every tensor, each as a Tensor.

        TODO: check the index, then return a tuple with row `index` of each tensor.

        APPROACH:
            1. index must be an int (or a NumPy integer, not a bool) in
               -len(self) <= index < len(self); negative indices count from the end, as for
               a list. Otherwise an IndexError, e.g. "TensorDataset: index 10 is out of
               range for 10 examples".
            2. One Tensor per stored tensor: the row of its array, through `_to_tensor`.

        EXAMPLE:
            >>> x, y = TensorDataset(np.ones((4, 2), np.float32), np.arange(4))[-1]
            >>> x.shape, y.data, y.dtype
            ((2,), array(3), dtype('int64'))

        HINTS:
            - _to_tensor keeps the label an integer; Tensor(...) alone would make it float32.
        """
        # BEGIN SOLUTION
        n = len(self)
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not -n <= index < n:
            raise IndexError(f"TensorDataset: index {index!r} is out of range for {n} examples")
        return tuple(_to_tensor(t.data[index]) for t in self.tensors)
        # END SOLUTION


# ---------------------------------------------------------------------------------------------
# DataLoader
# ---------------------------------------------------------------------------------------------


class DataLoader:
    """Mini-batches of a Dataset; one `for batch in loader` loop is one epoch.

        loader = DataLoader(TensorDataset(images, labels), batch_size=64, shuffle=True, seed=0)
        len(loader)                    # batches per epoch: ceil(N / 64), floor if drop_last
        for x, y in loader:            # x (64, C, H, W) float32, y (64,) int64; the last batch
            ...                        # may be smaller unless drop_last=True

    shuffle=True draws a new permutation from self.rng at the start of every epoch; the
    generator is created once, from `seed`, so two loaders with the same seed produce the same
    sequence of epochs, and each epoch of one loader has a different order.

    transform, if given, is called on the array of the first element of every batch (the
    inputs; labels are left alone) and must return an array, e.g. RandomCrop(32, padding=4).
    """

    def __init__(self, dataset, batch_size: int = DEFAULT_BATCH_SIZE, shuffle: bool = False,
                 drop_last: bool = False, seed=None, transform=None):
        """Check the arguments and keep them; create the random generator.

        TODO: set self.dataset, self.batch_size (int), self.shuffle, self.drop_last,
              self.transform and self.rng.

        APPROACH:
            1. dataset must have __len__ and __getitem__; otherwise TypeError naming its type.
            2. batch_size must be an int >= 1 (not a bool, not a float); otherwise
               ValueError, e.g. "DataLoader: batch_size must be an int >= 1; got 0".
            3. transform must be None or callable; otherwise TypeError.
            4. Store the arguments, and create the random generator from `seed` (an int,
               None or a Generator: NumPy's default_rng accepts all three).

        EXAMPLE:
            >>> loader = DataLoader(TensorDataset(np.zeros((10, 3))), batch_size=4)
            >>> loader.batch_size, loader.shuffle, loader.drop_last
            (4, False, False)

        HINTS:
            - Create the generator here, once. Creating it in __iter__ from the seed would give
              every epoch the same order.
        """
        # BEGIN SOLUTION
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"DataLoader: dataset must have __len__ and __getitem__; got {type(dataset).__name__}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be an int >= 1; got {batch_size!r}")
        if transform is not None and not callable(transform):
            raise TypeError(f"DataLoader: transform must be callable or None; got {type(transform).__name__}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.transform = transform
        self.rng = np.random.default_rng(seed)
        # END SOLUTION

    def __len__(self) -> int:
        """The number of batches of one epoch.

        TODO: ceil(N / batch_size), or floor(N / batch_size) with drop_last (N = len(dataset)).

        EXAMPLE:
            >>> ds = TensorDataset(np.zeros((10, 3)))
            >>> len(DataLoader(ds, batch_size=4)), len(DataLoader(ds, batch_size=4, drop_last=True))
            (3, 2)

        HINTS:
            - batches_per_epoch (systems question 2, at the end of this file) is this formula.
        """
        # BEGIN SOLUTION
        return batches_per_epoch(len(self.dataset), self.batch_size, self.drop_last)
        # END SOLUTION

    def collate(self, indices: np.ndarray) -> tuple:
        """The batch of the examples at `indices` (an int array): a tuple of Tensors.

        Element k of the batch stacks element k of every example along a new first dimension:
        examples (x0, y0), (x1, y1), (x2, y2) -> (Tensor [x0, x1, x2], Tensor [y0, y1, y2]).

        TODO: build that tuple, vectorised for a TensorDataset.

        APPROACH:
            1. A TensorDataset: index each stored tensor's array with the whole index array
               at once (no loop over examples), and wrap each result with `_share`.
            2. Any other Dataset: fetch the examples one by one (`dataset[i]` with a Python
               int); an example that is not a tuple or list counts as a 1-tuple. Then, for
               each position k, stack the k-th elements of all examples (as arrays: module
               04's `_as_array`) along a new first axis, and wrap it with `_share`.

        EXAMPLE:
            >>> loader = DataLoader(TensorDataset(np.arange(10.0).reshape(5, 2), np.arange(5)))
            >>> x, y = loader.collate(np.array([4, 0]))
            >>> x.data, y.data
            (array([[8., 9.], [0., 1.]]), array([4, 0]))

        HINTS:
            - t.data[indices] with an index array copies the selected rows in one C loop;
              stacking 64 rows one by one in Python is many times slower. The result is a
              new array, so _share can wrap it without a second copy.
            - Items a custom Dataset returns may be Tensors, arrays or numbers: _as_array
              handles all three; np.stack keeps their dtype.
        """
        # BEGIN SOLUTION
        if isinstance(self.dataset, TensorDataset):
            return tuple(_share(t.data[indices]) for t in self.dataset.tensors)
        examples = [self.dataset[int(i)] for i in indices]
        examples = [e if isinstance(e, (tuple, list)) else (e,) for e in examples]
        return tuple(_share(np.stack([_as_array(e[k]) for e in examples]))
                     for k in range(len(examples[0])))
        # END SOLUTION

    def __iter__(self):
        """Yield the batches of one epoch, each a tuple of Tensors (see collate).

        TODO: choose the order of the epoch, cut it into batches, collate each, apply the
              transform to its first element, and yield it.

        APPROACH:
            1. The order of this epoch: a fresh permutation of 0..N-1 from self.rng when
               shuffling, else 0..N-1 in order.
            2. Cut the order into consecutive slices of batch_size indices; len(self) is the
               number of batches (it already accounts for drop_last, and the last slice may
               be shorter). Collate each slice.
            3. With a transform: call it on the array of the batch's first element and put
               the result back as a Tensor (`_to_tensor`), the other elements unchanged.
            4. Yield the batch.

                order [4 6 2 7 3 5 9 0 8 1], batch_size 4:  [4 6 2 7] [3 5 9 0] [8 1]

        EXAMPLE:
            >>> loader = DataLoader(TensorDataset(np.arange(5.0), np.arange(5)), batch_size=2)
            >>> [x.data.tolist() for x, _ in loader]
            [[0.0, 1.0], [2.0, 3.0], [4.0]]

        HINTS:
            - A method containing `yield` is a generator: each `for` loop over the loader runs
              it afresh, which is one new epoch, with a new permutation.
        """
        # BEGIN SOLUTION
        n = len(self.dataset)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for b in range(len(self)):
            indices = order[b * self.batch_size:(b + 1) * self.batch_size]
            batch = self.collate(indices)
            if self.transform is not None:
                batch = (_to_tensor(self.transform(batch[0].data)),) + batch[1:]
            yield batch
        # END SOLUTION


# ---------------------------------------------------------------------------------------------
# The canonical file formats
# ---------------------------------------------------------------------------------------------


def parse_idx(path) -> np.ndarray:
    """The uint8 array stored in an MNIST IDX file (gzipped or raw), after checking every size.

    Layout: see the module docstring. Images (magic 0x00000803) give an array (N, rows, cols),
    labels (magic 0x00000801) an array (N,).

    TODO: read the bytes, decompress them if they are gzip, check the header and the size,
          and return the values as a uint8 array of the shape the header gives.

    APPROACH:
        1. Read the whole file as bytes (a Path may be given as a string).
        2. Bytes that start with GZIP_MAGIC are gzip: decompress them. A damaged or truncated
           gzip stream raises OSError or EOFError: turn it into a ValueError naming the file.
        3. The magic number is the first 4 bytes as a big-endian integer. Not a key of
           IDX_NDIM (or a file shorter than 4 bytes): a ValueError naming the file and
           containing the word "magic", e.g. "t.gz: magic number 0x00000802 is not an IDX
           file of MNIST (expected 0x00000803 for images or 0x00000801 for labels)".
        4. IDX_NDIM gives the number of dimensions; each is the next 4-byte big-endian
           integer. A file too short for its header: ValueError naming the file and saying
           "truncated".
        5. After the header (4 + 4 * ndim bytes), the data must be exactly one byte per
           value of the shape:
               fewer -> ValueError naming the file, saying "truncated", with the shape
               more  -> ValueError naming the file, saying "trailing bytes", with the shape
        6. View the data bytes as uint8 with np.frombuffer (its `offset` skips the header;
           no copy) and give them the shape.

    EXAMPLE:
        >>> parse_idx("mnist/train-labels-idx1-ubyte.gz")[:5]
        array([5, 0, 4, 1, 9], dtype=uint8)
        >>> parse_idx("mnist/train-images-idx3-ubyte.gz").shape
        (60000, 28, 28)

    HINTS:
        - Big-endian: the most significant byte first. 60000 is stored as 00 00 ea 60.
          `int.from_bytes` reads one such integer; np.frombuffer with the big-endian uint32
          dtype ">u4" reads all dimensions at once.
        - Name the file with its path in every message: a student with four files open needs
          to know which one is broken.
    """
    # BEGIN SOLUTION
    path = Path(path)
    content = path.read_bytes()
    if content[:2] == GZIP_MAGIC:
        try:
            content = gzip.decompress(content)
        except (OSError, EOFError) as e:          # BadGzipFile is an OSError; a cut stream EOFError
            raise ValueError(f"{path}: damaged or truncated gzip data ({e})") from e
    magic = int.from_bytes(content[:4], "big") if len(content) >= 4 else None
    if magic not in IDX_NDIM:
        found = f"0x{magic:08x}" if magic is not None else f"missing ({len(content)} bytes)"
        raise ValueError(f"{path}: magic number {found} is not an IDX file of MNIST (expected "
                         f"0x{IDX_MAGIC_IMAGES:08x} for images or 0x{IDX_MAGIC_LABELS:08x} for labels)")
    ndim = IDX_NDIM[magic]
    header_size = 4 + 4 * ndim
    if len(content) < header_size:
        raise ValueError(f"{path}: truncated header: {len(content)} bytes, a {ndim}-D IDX header "
                         f"takes {header_size}")
    shape = tuple(int.from_bytes(content[4 + 4 * k:8 + 4 * k], "big") for k in range(ndim))
    expected, found = math.prod(shape), len(content) - header_size
    if found != expected:
        problem = "truncated" if found < expected else "trailing bytes"
        raise ValueError(f"{path}: {problem}: the header promises shape {shape}, {expected} bytes of "
                         f"data; the file holds {found}")
    return np.frombuffer(content, dtype=np.uint8, offset=header_size).reshape(shape)
    # END SOLUTION


def parse_cifar_batch(path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 batch file: (images uint8 (N, 3, 32, 32), labels int64 (N,)), checked.

    TODO: load the dict with unpickle_cifar_batch, check it, and return the images in
          (N, channels, rows, cols) order and the labels as int64.

    APPROACH:
        1. Load the dict with the given `unpickle_cifar_batch` (never pickle.load: a pickle
           can run code).
        2. It must be a dict holding b"data" and b"labels"; otherwise a ValueError naming
           the file and the missing key.
        3. The data, as an array: uint8 with shape (N, 3072); otherwise a ValueError naming
           the file, the dtype and the shape found.
        4. The labels, as an array: 1-D with N entries, whole numbers in
           0..NUM_CLASSES-1; otherwise a ValueError naming the file.
        5. Return the images as (N, *CIFAR_IMAGE_SHAPE) and the labels as int64.

    EXAMPLE:
        >>> images, labels = parse_cifar_batch("cifar10/cifar-10-batches-py/test_batch")
        >>> images.shape, images.dtype, labels[:3]
        ((10000, 3, 32, 32), dtype('uint8'), array([3, 8, 8]))

    HINTS:
        - A row is [1024 red | 1024 green | 1024 blue], each plane row by row, so a plain
          reshape to (N, 3, 32, 32) puts each value in its place: no transpose needed.
        - 3072 = math.prod(CIFAR_IMAGE_SHAPE).
        - labels.dtype.kind in "iu" is True for signed and unsigned integers.
    """
    # BEGIN SOLUTION
    batch = unpickle_cifar_batch(path)
    if not isinstance(batch, dict):
        raise ValueError(f"{path}: a CIFAR-10 batch is a dict; got {type(batch).__name__}")
    for key in (b"data", b"labels"):
        if key not in batch:
            raise ValueError(f"{path}: missing key {key!r} (keys: {', '.join(repr(k) for k in batch)})")
    data, labels = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"])
    row = math.prod(CIFAR_IMAGE_SHAPE)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != row:
        raise ValueError(f"{path}: b'data' should be uint8 of shape (N, {row}); got {data.dtype} {data.shape}")
    if labels.shape != (len(data),):
        raise ValueError(f"{path}: {len(data)} images but b'labels' has shape {labels.shape}")
    if labels.size and (labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise ValueError(f"{path}: labels must be whole numbers in 0..{NUM_CLASSES - 1}")
    return data.reshape(len(data), *CIFAR_IMAGE_SHAPE), labels.astype(np.int64)
    # END SOLUTION


# ---------------------------------------------------------------------------------------------
# The data sets
# ---------------------------------------------------------------------------------------------


def load_mnist(data_dir=None, normalize: bool = True) -> tuple[TensorDataset, TensorDataset]:
    """MNIST as (train, test) TensorDatasets of images float32 (N, 1, 28, 28) and labels int64 (N,).

    Images get a channel dimension of 1, so that the same code (and module 09's Conv2d) handles
    MNIST and CIFAR-10 alike; an MLP flattens them with x.reshape(N, 784). normalize=True
    divides the pixels by 255 into [0, 1]; normalize=False keeps 0..255 (still float32).

    Where the files come from: fetch("mnist", data_dir) (course infrastructure) returns the
    folder holding the four files of MNIST_FILES: data_dir/mnist/ if given (or $TINYTORCH_DATA),
    else the cache, downloading and verifying them the first time.

    TODO: for each split "train", "test": parse both files, check they fit together, convert,
          and wrap them in a TensorDataset. Return (train, test).

    APPROACH:
        1. The folder comes from the given `fetch` (data set "mnist").
        2. Per split, MNIST_FILES names the images file and the labels file; parse both
           with your parse_idx: images (N, 28, 28) and labels (N,), uint8.
        3. images must be 3-D and labels 1-D (a swapped file), with as many labels as images;
           otherwise ValueError naming both files and both shapes. Labels must be < NUM_CLASSES.
        4. Images: insert the channel axis, (N, 1, 28, 28), and convert to float32 (a new
           array); with normalize, divide it by PIXEL_MAX in place. Labels: int64.
        5. A TensorDataset of both, each wrapped with `_share` (no second copy).

    EXAMPLE:
        >>> train, test = load_mnist()
        >>> len(train), len(test), train.tensors[0].shape, train.tensors[1].dtype
        (60000, 10000, (60000, 1, 28, 28), dtype('int64'))

    HINTS:
        - Use parse_idx, not the readers of tinytorch.datasets: reading the format is the job
          of this module.
        - Dividing in place, and wrapping with `_share` (no copy), keep one array of 188 MB
          (60,000 x 784 float32), not three.
    """
    # BEGIN SOLUTION
    folder = Path(fetch("mnist", data_dir))
    splits = []
    for split in ("train", "test"):
        images_name, labels_name = MNIST_FILES[split]
        images, labels = parse_idx(folder / images_name), parse_idx(folder / labels_name)
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise ValueError(f"{folder}: {images_name} (shape {images.shape}) and {labels_name} "
                             f"(shape {labels.shape}) should hold N images and N labels")
        if labels.size and labels.max() >= NUM_CLASSES:
            raise ValueError(f"{folder / labels_name}: labels must be in 0..{NUM_CLASSES - 1}; found {labels.max()}")
        x = images[:, None].astype(np.float32)                   # (N, 1, rows, cols)
        if normalize:
            x /= PIXEL_MAX
        splits.append(TensorDataset(_share(x), _share(labels.astype(np.int64))))
    return splits[0], splits[1]
    # END SOLUTION


def load_cifar10(data_dir=None, normalize: bool = True) -> tuple[TensorDataset, TensorDataset]:
    """CIFAR-10 as (train, test) TensorDatasets of images float32 (N, 3, 32, 32), labels int64 (N,).

    train: data_batch_1 .. data_batch_5 in that order (50,000 images); test: test_batch (10,000).
    normalize=True divides the pixels by 255 into [0, 1]; normalize=False keeps 0..255.

    Where the files come from: fetch("cifar10", data_dir) returns the folder that holds
    cifar-10-batches-py/ (data_dir/cifar10/ if given, else the cache, downloading, checking and
    unpacking the archive the first time).

    TODO: parse the five training batches and the test batch, convert, and return
          (TensorDataset(x_train, y_train), TensorDataset(x_test, y_test)).

    APPROACH:
        1. The batch files are in the CIFAR_FOLDER inside the folder `fetch` returns
           (data set "cifar10").
        2. Train: parse the CIFAR_TRAIN_BATCHES in order and concatenate their images, and
           their labels, along the first axis. Test: the CIFAR_TEST_BATCH.
        3. Convert images as in load_mnist (float32, divided by PIXEL_MAX when normalize)
           and wrap both arrays with `_share`.

    EXAMPLE:
        >>> train, test = load_cifar10()
        >>> len(train), len(test), train.tensors[0].shape
        (50000, 10000, (50000, 3, 32, 32))

    HINTS:
        - Concatenate the uint8 arrays first and convert once: 150 MB of uint8 become 600 MB
          of float32 (see bytes_per_epoch).
    """
    # BEGIN SOLUTION
    folder = Path(fetch("cifar10", data_dir)) / CIFAR_FOLDER
    train = [parse_cifar_batch(folder / name) for name in CIFAR_TRAIN_BATCHES]
    parts = [(np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train])),
             parse_cifar_batch(folder / CIFAR_TEST_BATCH)]
    datasets = []
    for images, labels in parts:
        x = images.astype(np.float32)                            # (N, 3, 32, 32)
        if normalize:
            x /= PIXEL_MAX
        datasets.append(TensorDataset(_share(x), _share(labels)))
    return datasets[0], datasets[1]
    # END SOLUTION


# ---------------------------------------------------------------------------------------------
# Data augmentation: random changes that keep the label, on a whole batch at once
# ---------------------------------------------------------------------------------------------


class RandomHorizontalFlip:
    """Mirror each image of a batch left-right with probability p, independently per image.

    A cat looking left is still a cat: flipping doubles the variety of images the model sees
    at no cost. Works on a batch array (N, C, H, W) (or (N, H, W)); the last axis is the width.

        image          flipped
        [1 2 3]        [3 2 1]
        [4 5 6]   ->   [6 5 4]
    """

    def __init__(self, p: float = DEFAULT_FLIP_P, rng=None):
        if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be a number in [0, 1]; got {p!r}")
        self.p = float(p)
        self.rng = np.random.default_rng(rng)      # rng: a Generator, a seed, or None

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """A copy of `images` in which each image is mirrored with probability self.p.

        TODO: draw one decision per image, and mirror (reverse the last axis of) the chosen
              images only, without a Python loop over the batch.

        APPROACH:
            1. Work on an array with at least 3 dimensions (N, ..., H, W); otherwise a
               ValueError naming the shape.
            2. One decision per image: a uniform draw from self.rng below p means "flip".
               That is an (N,) boolean array.
            3. Start from a copy (the caller's batch stays as it was) and write the mirrored
               chosen images into it, all at once: boolean indexing on the first axis
               selects them, a reversed slice of the last axis mirrors them.

        EXAMPLE:
            >>> RandomHorizontalFlip(p=1.0)(np.array([[[1, 2, 3], [4, 5, 6]]]))
            array([[[3, 2, 1],
                    [6, 5, 4]]])

        HINTS:
            - An Ellipsis (`...`) in an index stands for "all the axes in between", whatever
              their number: the same code serves (N, H, W) and (N, C, H, W).
            - Draw from self.rng, so that a seeded transform repeats itself.
        """
        # BEGIN SOLUTION
        images = np.asarray(images)
        if images.ndim < 3:
            raise ValueError(f"RandomHorizontalFlip: expects a batch (N, ..., H, W); got shape {images.shape}")
        flip = self.rng.random(len(images)) < self.p                # (N,)
        out = images.copy()
        out[flip] = images[flip, ..., ::-1]
        return out
        # END SOLUTION

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class RandomCrop:
    """Pad each image of a batch with zeros, then cut a size x size window at a random place.

    Shifting an image by a few pixels keeps its label; the network learns that position does
    not matter. Each image of the batch gets its own offset.

        padding=1, size=3, one 3x3 image:

        0 0 0 0 0                          top=2, left=1:
        0 a b c 0                          . . . . .
        0 d e f 0      window at           . . . . .
        0 g h i 0      (top, left)   ->    . d e f .  ->  [d e f]
        0 0 0 0 0                          . g h i .      [g h i]
                                           . 0 0 0 .      [0 0 0]
    """

    def __init__(self, size, padding: int = DEFAULT_CROP_PADDING, rng=None):
        sizes = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
        if len(sizes) != 2 or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1
                                  for s in sizes):
            raise ValueError(f"RandomCrop: size must be an int >= 1 or a pair (height, width); got {size!r}")
        if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
            raise ValueError(f"RandomCrop: padding must be an int >= 0; got {padding!r}")
        self.size = (int(sizes[0]), int(sizes[1]))
        self.padding = int(padding)
        self.rng = np.random.default_rng(rng)      # rng: a Generator, a seed, or None

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """Crops of shape (N, ..., *self.size), one random window of the padded batch per image.

        TODO: zero-pad the last two axes by self.padding, draw one (top, left) offset per
              image, and return the windows, without a Python loop over pixels or images.

        APPROACH:
            1. Work on an array with at least 3 dimensions (N, ..., H, W); otherwise a
               ValueError naming the shape. A crop larger than the padded images: a
               ValueError naming the crop and the padded size.
            2. The padded batch: zeros of (N, ..., H + 2p, W + 2p) and the images' dtype, with
               the images copied into the middle.
            3. One random (top, left) corner per image, drawn from self.rng: every corner
               from which the (h, w) window still fits is allowed. Two (N,) integer arrays.
            4. NumPy's `sliding_window_view` over the last two axes views every window of the
               padded batch without copying: (N, ..., H+2p-h+1, W+2p-w+1, h, w).
            5. Pick one window per image with one fancy indexing: the image numbers, the
               tops and the lefts, three (N,) arrays -> (N, ..., h, w).

        EXAMPLE:
            >>> crops = RandomCrop(32, padding=4, rng=0)(np.ones((64, 3, 32, 32), np.float32))
            >>> crops.shape, crops.dtype
            ((64, 3, 32, 32), dtype('float32'))

        HINTS:
            - In the view, the window whose top-left corner is at (i, j) of image n sits at
              index n, then the in-between axes, then i, j.
            - A loop `for n in range(N)` would work too, but it runs N times per batch; a loop
              over pixels would run N * h * w times.
        """
        # BEGIN SOLUTION
        images = np.asarray(images)
        if images.ndim < 3:
            raise ValueError(f"RandomCrop: expects a batch (N, ..., H, W); got shape {images.shape}")
        (h, w), p = self.size, self.padding
        n, height, width = len(images), images.shape[-2], images.shape[-1]
        if h > height + 2 * p or w > width + 2 * p:
            raise ValueError(f"RandomCrop: crop {self.size} is larger than the padded images "
                             f"({height + 2 * p}, {width + 2 * p})")
        padded = np.zeros(images.shape[:-2] + (height + 2 * p, width + 2 * p), dtype=images.dtype)
        padded[..., p:p + height, p:p + width] = images
        top = self.rng.integers(0, height + 2 * p - h + 1, size=n)       # (N,)
        left = self.rng.integers(0, width + 2 * p - w + 1, size=n)       # (N,)
        windows = np.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(-2, -1))
        return windows[np.arange(n), ..., top, left, :, :]               # (N, ..., h, w)
        # END SOLUTION

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class Compose:
    """Several transforms applied one after another: Compose([f, g])(x) = g(f(x))."""

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for i, t in enumerate(self.transforms):
            if not callable(t):
                raise TypeError(f"Compose: transform {i} ({type(t).__name__}) is not callable")

    def __call__(self, images):
        """Apply every transform of self.transforms in order; return the last result.

        TODO: feed the output of each transform into the next.

        EXAMPLE:
            >>> augment = Compose([RandomCrop(32, padding=4), RandomHorizontalFlip()])
            >>> augment(np.zeros((8, 3, 32, 32))).shape
            (8, 3, 32, 32)

        HINTS:
            - With no transforms, the input comes back unchanged.
        """
        # BEGIN SOLUTION
        for transform in self.transforms:
            images = transform(images)
        return images
        # END SOLUTION

    def __repr__(self) -> str:
        return f"Compose([{', '.join(repr(t) for t in self.transforms)}])"


# ---------------------------------------------------------------------------------------------
# Systems questions: how much data moves in an epoch?
# ---------------------------------------------------------------------------------------------


def bytes_per_epoch(num_samples: int, sample_shape, dtype=np.float32) -> int:
    """Bytes of input the loader copies in one epoch: every sample once.

    Why it matters: CIFAR-10's training images are 50,000 x 3 x 32 x 32 values, 153.6 MB as
    uint8 but 614.4 MB as float32. That is the memory a loaded data set takes, and what the
    loader's indexing copies every epoch; at a few GB/s of memory bandwidth it is a fraction
    of a second per epoch here, but for ImageNet (1.28 million 3x224x224 images, 770 GB as
    float32) it decides whether the data fits in memory at all.

    TODO: return num_samples * (values per sample) * (bytes per value) as a Python int.

    EXAMPLE:
        >>> bytes_per_epoch(50_000, (3, 32, 32), np.float32)
        614400000
        >>> bytes_per_epoch(50_000, (3, 32, 32), np.uint8)
        153600000

    HINTS:
        - math.prod(sample_shape) values per sample; np.dtype(dtype).itemsize bytes per value.
    """
    # BEGIN SOLUTION
    return int(num_samples * math.prod(sample_shape) * np.dtype(dtype).itemsize)
    # END SOLUTION


def batches_per_epoch(num_samples: int, batch_size: int, drop_last: bool = False) -> int:
    """Optimizer steps in one epoch: ceil(num_samples / batch_size), floor with drop_last.

    Why it matters: the number of steps, not of epochs, is what a learning-rate schedule and a
    time budget count. A smaller batch gives more, noisier steps per epoch; drop_last trades the
    last few examples for batches of equal size (BatchNorm statistics, timing per step).

    TODO: return the count as a Python int; batch_size must be an int >= 1 (ValueError).

    EXAMPLE:
        >>> batches_per_epoch(50_000, 64), batches_per_epoch(50_000, 64, drop_last=True)
        (782, 781)
        >>> batches_per_epoch(10, 5, drop_last=True)
        2

    HINTS:
        - No floats needed: integer division and its remainder (`divmod`) say how many full
          batches there are and whether a partial one is left over.
    """
    # BEGIN SOLUTION
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batches_per_epoch: batch_size must be an int >= 1; got {batch_size!r}")
    full, rest = divmod(int(num_samples), int(batch_size))
    return int(full + (1 if rest and not drop_last else 0))
    # END SOLUTION
