"""Visible tests for module 08 (dataloader). Run them with `make test M=08`.

Files in the canonical formats are written from known arrays, independently of the code under
test (by the writers in tinytorch.testing): IDX headers with struct.pack, gzip with the gzip
module, CIFAR batches as pickled dicts with byte-string keys, as in the original files. Nothing touches the network: the data
sets are read from a small folder under tmp_path, in the layout tinytorch.datasets expects.
Batches are checked against the rows they should hold, found by plain NumPy indexing.
"""

import pickle

import numpy as np
import pytest

from tinytorch.core.tensor import Tensor
from tinytorch.data.loader import (
    DataLoader,
    Dataset,
    RandomCrop,
    RandomHorizontalFlip,
    TensorDataset,
    batches_per_epoch,
    bytes_per_epoch,
    load_mnist,
    parse_cifar_batch,
    parse_idx,
)
from tinytorch.testing import assert_close, cifar_batch, id_dataset, write_idx, write_pickle

SEED = 0
IDX_IMAGES, IDX_LABELS = 0x00000803, 0x00000801


def make_rng(seed=SEED):
    return np.random.default_rng(seed)


def epoch_ids(loader):
    """The example ids of one epoch, batch by batch (y holds the ids)."""
    return [np.asarray(batch[1].data).tolist() for batch in loader]


# ------------------------------------------------------------------------------ TensorDataset


@pytest.mark.points(3)
def test_tensor_dataset_rows_and_dtypes():
    x = make_rng().standard_normal((5, 2, 3)).astype(np.float32)
    y = np.array([4, 0, 3, 1, 2], dtype=np.int64)
    ds = TensorDataset(Tensor(x), Tensor(y, dtype=np.int64))
    assert len(ds) == 5, f"len(TensorDataset(x (5, 2, 3), y (5,))) should be 5; got {len(ds)}"
    item = ds[2]
    assert isinstance(item, tuple) and len(item) == 2, (
        f"TensorDataset(x, y)[2] should be a tuple (x[2], y[2]); got {type(item).__name__} {item!r}")
    assert all(isinstance(t, Tensor) for t in item), (
        f"TensorDataset(x, y)[2] should hold Tensors; got {[type(t).__name__ for t in item]}")
    assert_close(item[0], x[2], what="TensorDataset(x, y)[2][0]")
    assert item[1].shape == () and int(item[1].data) == 3, f"TensorDataset(x, y)[2][1] should be y[2] = 3; got {item[1]!r}"
    assert np.issubdtype(item[1].dtype, np.integer), (
        f"TensorDataset(x, y)[2][1] should keep y's integer dtype (labels stay integers); got {item[1].dtype}")


@pytest.mark.points(2)
def test_tensor_dataset_mismatched_first_dimension_names_shapes():
    with pytest.raises(ValueError) as info:
        TensorDataset(Tensor(np.zeros((4, 2))), Tensor(np.zeros(3)))
    message = str(info.value)
    assert "(4, 2)" in message and "(3,)" in message, (
        f"TensorDataset(x (4, 2), y (3,)) should raise a ValueError naming both shapes (4, 2) and (3,); "
        f"the message was: {message}")


# -------------------------------------------------------------------------------- DataLoader


@pytest.mark.points(3)
def test_dataloader_batches_in_order():
    ds, x = id_dataset(10)
    batches = list(DataLoader(ds, batch_size=4))
    sizes = [len(b[1].data) for b in batches]
    assert sizes == [4, 4, 2], f"DataLoader(10 examples, batch_size=4) should give batches of 4, 4, 2; got {sizes}"
    for b, (xb, yb) in enumerate(batches):
        rows = slice(4 * b, 4 * b + 4)
        assert isinstance(xb, Tensor) and isinstance(yb, Tensor), (
            f"batch {b} should be a tuple of Tensors; got {type(xb).__name__}, {type(yb).__name__}")
        assert_close(xb, x[rows], what=f"batch {b} of DataLoader(10 examples, batch_size=4): its inputs")
        want = list(range(10))[rows]
        assert yb.data.tolist() == want, f"batch {b}: labels should be {want}; got {yb.data.tolist()}"
        assert np.issubdtype(yb.dtype, np.integer), f"batch {b}: labels should stay integers; got {yb.dtype}"


@pytest.mark.points(3)
def test_dataloader_len_and_drop_last():
    ds, _ = id_dataset(10)
    for drop_last, expected in ((False, [4, 4, 2]), (True, [4, 4])):
        loader = DataLoader(ds, batch_size=4, drop_last=drop_last)
        sizes = [len(b[1].data) for b in loader]
        what = f"DataLoader(10 examples, batch_size=4, drop_last={drop_last})"
        assert sizes == expected, f"{what}: batch sizes should be {expected}; got {sizes}"
        assert len(loader) == len(expected), f"len({what}) should be {len(expected)}; got {len(loader)}"


@pytest.mark.points(3)
def test_dataloader_shuffle_covers_every_sample_once_and_reshuffles():
    ds, x = id_dataset(50)
    loader = DataLoader(ds, batch_size=8, shuffle=True, seed=SEED)
    first, second = epoch_ids(loader), epoch_ids(loader)
    for name, epoch in (("first", first), ("second", second)):
        flat = [i for batch in epoch for i in batch]
        assert sorted(flat) == list(range(50)), (
            f"the {name} epoch of DataLoader(50 examples, batch_size=8, shuffle=True) should hold every "
            f"example exactly once; got ids {sorted(flat)}")
    flat_first = [i for batch in first for i in batch]
    assert flat_first != list(range(50)), "shuffle=True should not give the examples in their stored order"
    assert first != second, "shuffle=True should draw a new order every epoch; two epochs came out the same"
    for xb, yb in loader:                       # inputs and labels move together
        assert_close(xb, x[yb.data], what="a shuffled batch: inputs should be the rows of its labels' examples")


@pytest.mark.points(2)
def test_dataloader_same_seed_same_sequence_of_epochs():
    ds, _ = id_dataset(30)
    a = DataLoader(ds, batch_size=7, shuffle=True, seed=42)
    b = DataLoader(ds, batch_size=7, shuffle=True, seed=42)
    c = DataLoader(ds, batch_size=7, shuffle=True, seed=43)
    runs_a = [epoch_ids(a) for _ in range(3)]
    runs_b = [epoch_ids(b) for _ in range(3)]
    assert runs_a == runs_b, "two DataLoaders with seed=42 should produce the same three epochs, in order"
    assert runs_a[0] != epoch_ids(c), "seeds 42 and 43 should give different orders"


@pytest.mark.points(2)
def test_dataloader_stacks_a_custom_dataset():
    class Squares(Dataset):
        def __len__(self):
            return 7

        def __getitem__(self, i):
            return np.array([i, i * i], dtype=np.float32), i % 3

    batches = list(DataLoader(Squares(), batch_size=3))
    assert len(batches) == 3, f"DataLoader(7 examples, batch_size=3) should give 3 batches; got {len(batches)}"
    xb, yb = batches[1]
    assert_close(xb, np.array([[3, 9], [4, 16], [5, 25]], dtype=np.float32),
                 what="batch 1 of a custom Dataset returning (array([i, i*i]), i % 3): the arrays, stacked")
    assert yb.data.tolist() == [0, 1, 2] and np.issubdtype(yb.dtype, np.integer), (
        f"batch 1: the int labels i % 3 stacked into an integer Tensor [0, 1, 2]; got {yb.data!r}")


# ------------------------------------------------------------------------------ file formats


@pytest.mark.points(3)
def test_parse_idx_gzipped_images_and_raw_labels(tmp_path):
    images = make_rng().integers(0, 256, size=(3, 4, 5), dtype=np.uint8)
    labels = np.array([7, 0, 9], dtype=np.uint8)
    got = parse_idx(write_idx(tmp_path / "imgs-idx3-ubyte.gz", images, IDX_IMAGES))
    assert got.dtype == np.uint8 and got.shape == (3, 4, 5), (
        f"parse_idx of a gzipped images file of shape (3, 4, 5) should give uint8 (3, 4, 5); got {got.dtype} {got.shape}")
    assert np.array_equal(got, images), "parse_idx of a gzipped images file: the pixel values differ from those written"
    got = parse_idx(write_idx(tmp_path / "labels-idx1-ubyte", labels, IDX_LABELS, compress=False))
    assert got.shape == (3,) and got.tolist() == [7, 0, 9], (
        f"parse_idx of a raw (not gzipped) labels file holding [7, 0, 9]; got {got!r}")


@pytest.mark.points(2)
def test_parse_idx_wrong_magic_names_the_file(tmp_path):
    path = write_idx(tmp_path / "weird-idx.gz", np.zeros((2, 3), np.uint8), 0x00000802)
    with pytest.raises(ValueError) as info:
        parse_idx(path)
    message = str(info.value)
    assert "weird-idx.gz" in message and "magic" in message.lower(), (
        f"parse_idx of a file whose magic number is 0x00000802 should raise a ValueError naming the file "
        f"and its magic number; the message was: {message}")


@pytest.mark.points(2)
def test_parse_idx_truncated_data_names_the_file(tmp_path):
    path = write_idx(tmp_path / "short-idx3-ubyte.gz", np.ones((2, 4, 4), np.uint8), IDX_IMAGES, cut=1)
    with pytest.raises(ValueError) as info:
        parse_idx(path)
    message = str(info.value)
    assert "short-idx3-ubyte.gz" in message and "truncated" in message.lower(), (
        f"parse_idx of an images file one byte shorter than its header promises should raise a ValueError "
        f"naming the file and saying 'truncated'; the message was: {message}")


@pytest.mark.points(3)
def test_parse_cifar_batch_known_content(tmp_path):
    images = make_rng().integers(0, 256, size=(4, 3, 32, 32), dtype=np.uint8)
    labels = [3, 9, 0, 5]
    got_images, got_labels = parse_cifar_batch(write_pickle(tmp_path / "data_batch_1", cifar_batch(images, labels)))
    assert got_images.shape == (4, 3, 32, 32) and got_images.dtype == np.uint8, (
        f"parse_cifar_batch of a batch of 4 images should give uint8 (4, 3, 32, 32); "
        f"got {got_images.dtype} {got_images.shape}")
    assert np.array_equal(got_images, images), (
        "parse_cifar_batch: images differ from those written (a row of b'data' is the red plane, then green, "
        "then blue, each row by row)")
    assert got_labels.dtype == np.int64 and got_labels.tolist() == labels, (
        f"parse_cifar_batch: labels should be int64 {labels}; got {got_labels.dtype} {got_labels.tolist()}")


class _RunsCodeWhenLoaded:
    """Pickles as a call to eval: loading it with pickle.load runs the code (here a harmless one
    that builds a valid batch). A CIFAR batch needs no function calls, so a reader must refuse it."""

    def __reduce__(self):
        return eval, ("{b'data': __import__('numpy').zeros((1, 3072), 'uint8'), b'labels': [0]}",)


@pytest.mark.points(2)
def test_parse_cifar_batch_refuses_a_pickle_that_runs_code(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps(_RunsCodeWhenLoaded(), protocol=2))
    with pytest.raises(ValueError) as info:
        parse_cifar_batch(path)
    assert "data_batch_1" in str(info.value), (
        f"the ValueError should name the file; the message was: {info.value}")


# --------------------------------------------------------------------------------- data sets


@pytest.mark.points(3)
def test_load_mnist_from_a_local_folder(tmp_path):
    rng = make_rng(1)
    folder = tmp_path / "mnist"
    folder.mkdir()
    train_x = rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8)
    test_x = rng.integers(0, 256, size=(4, 28, 28), dtype=np.uint8)
    train_y, test_y = np.array([5, 0, 4, 1, 9, 2], np.uint8), np.array([7, 2, 1, 0], np.uint8)
    write_idx(folder / "train-images-idx3-ubyte.gz", train_x, IDX_IMAGES)
    write_idx(folder / "train-labels-idx1-ubyte.gz", train_y, IDX_LABELS)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", test_x, IDX_IMAGES)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", test_y, IDX_LABELS)

    train, test = load_mnist(tmp_path)
    for name, ds, x, y in (("train", train, train_x, train_y), ("test", test, test_x, test_y)):
        assert isinstance(ds, TensorDataset) and len(ds) == len(y), (
            f"load_mnist(folder)[{name!r}] should be a TensorDataset of {len(y)} examples; got {type(ds).__name__}")
        images, labels = ds.tensors
        assert images.dtype == np.float32, f"load_mnist: {name} images should be float32; got {images.dtype}"
        assert_close(images, x[:, None, :, :] / 255.0,
                     what=f"load_mnist: {name} images, shape (N, 1, 28, 28), pixels / 255")
        assert labels.dtype == np.int64 and labels.data.tolist() == y.tolist(), (
            f"load_mnist: {name} labels should be int64 {y.tolist()}; got {labels.dtype} {labels.data.tolist()}")


# ------------------------------------------------------------------------------ augmentation


@pytest.mark.points(2)
def test_random_horizontal_flip_mirrors_the_chosen_images_only():
    images = np.arange(64 * 2 * 3 * 4, dtype=np.float32).reshape(64, 2, 3, 4)   # every value distinct
    original = images.copy()
    out = RandomHorizontalFlip(p=0.5, rng=SEED)(images)
    assert np.array_equal(images, original), "RandomHorizontalFlip must not change its input array"
    assert out.shape == images.shape, f"RandomHorizontalFlip should keep the shape {images.shape}; got {out.shape}"
    flipped = []
    for n in range(len(images)):
        if np.array_equal(out[n], images[n]):
            flipped.append(False)
        elif np.array_equal(out[n], images[n][..., ::-1]):
            flipped.append(True)
        else:
            raise AssertionError(f"RandomHorizontalFlip: image {n} of the output is neither the input image "
                                 "nor that image mirrored left-right (all channels, last axis reversed)")
    assert 0 < sum(flipped) < 64, (
        f"RandomHorizontalFlip(p=0.5) should decide per image; it flipped {sum(flipped)} of 64 images")


@pytest.mark.points(3)
def test_random_crop_is_a_window_of_the_zero_padded_image():
    n, c, size, pad = 16, 3, 8, 2
    images = 1.0 + np.arange(n * c * size * size, dtype=np.float32).reshape(n, c, size, size)
    out = RandomCrop(size, padding=pad, rng=SEED)(images)
    assert out.shape == (n, c, size, size), (
        f"RandomCrop(8, padding=2) on (16, 3, 8, 8) should give (16, 3, 8, 8); got {out.shape}")
    padded = np.zeros((n, c, size + 2 * pad, size + 2 * pad), np.float32)
    padded[:, :, pad:pad + size, pad:pad + size] = images
    offsets = []
    for k in range(n):
        found = [(i, j) for i in range(2 * pad + 1) for j in range(2 * pad + 1)
                 if np.array_equal(out[k], padded[k, :, i:i + size, j:j + size])]
        assert found, (f"RandomCrop(8, padding=2): output image {k} is not any 8x8 window of its image padded "
                       f"with 2 zeros on every side (all channels, the same window)")
        offsets.append(found[0])
    assert len(set(offsets)) > 1, f"RandomCrop should draw an offset per image; all 16 used {offsets[0]}"


# ----------------------------------------------------------------------------------- systems


@pytest.mark.points(2)
def test_bytes_and_batches_per_epoch():
    assert bytes_per_epoch(50_000, (3, 32, 32), np.float32) == 614_400_000, (
        f"bytes_per_epoch(50000, (3, 32, 32), float32): 50000 * 3072 * 4 = 614400000; "
        f"got {bytes_per_epoch(50_000, (3, 32, 32), np.float32)}")
    assert bytes_per_epoch(50_000, (3, 32, 32), np.uint8) == 153_600_000, (
        f"bytes_per_epoch(50000, (3, 32, 32), uint8): 153600000; got {bytes_per_epoch(50_000, (3, 32, 32), np.uint8)}")
    assert batches_per_epoch(50_000, 64) == 782, (
        f"batches_per_epoch(50000, 64): ceil(781.25) = 782; got {batches_per_epoch(50_000, 64)}")
    assert batches_per_epoch(50_000, 64, drop_last=True) == 781, (
        f"batches_per_epoch(50000, 64, drop_last=True): 781; got {batches_per_epoch(50_000, 64, drop_last=True)}")
