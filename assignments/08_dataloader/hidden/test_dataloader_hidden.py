"""Hidden tests for module 08 (dataloader): TensorDataset edge cases, argument errors, the
vectorised batch path, drop_last corners, transforms inside the loader, every malformed IDX
and CIFAR file, CIFAR batches as Python 2 wrote them, load_cifar10 from a local folder,
load_mnist options and errors, crop offsets, seeded augmentation, and the systems functions."""

import gzip
import struct

import numpy as np
import pytest

from tinytorch.core.tensor import Tensor
from tinytorch.data.loader import (
    Compose,
    DataLoader,
    Dataset,
    RandomCrop,
    RandomHorizontalFlip,
    TensorDataset,
    batches_per_epoch,
    bytes_per_epoch,
    load_cifar10,
    load_mnist,
    parse_cifar_batch,
    parse_idx,
)
from tinytorch.testing import assert_close, cifar_batch, cifar_rows, id_dataset, idx_bytes, write_idx, write_pickle

SEED = 5
IDX_IMAGES, IDX_LABELS = 0x00000803, 0x00000801
MNIST_NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def make_rng(seed=SEED):
    return np.random.default_rng(seed)


def sizes(loader):
    return [len(batch[0].data) for batch in loader]


def py2_cifar_pickle(data, labels):
    """The bytes Python 2 with NumPy 1.x wrote for a CIFAR batch (the original files are such
    pickles): protocol 2, str keys (SHORT_BINSTRING), numpy.core.multiarray._reconstruct."""
    def s(b):
        return b"U" + bytes([len(b)]) + b

    def g(module, name):
        return b"c" + module + b"\n" + name + b"\n"

    def i(v):
        return b"J" + struct.pack("<i", v)

    raw = np.ascontiguousarray(data, dtype=np.uint8).tobytes()
    dtype = (g(b"numpy", b"dtype") + s(b"u1") + i(0) + i(1) + b"\x87R"
             + b"(" + i(3) + s(b"|") + b"NNN" + i(-1) + i(-1) + i(0) + b"tb")
    array = (g(b"numpy.core.multiarray", b"_reconstruct") + g(b"numpy", b"ndarray")
             + i(0) + b"\x85" + s(b"b") + b"\x87R"
             + b"(" + i(1) + i(data.shape[0]) + i(data.shape[1]) + b"\x86" + dtype + b"\x89"
             + b"T" + struct.pack("<I", len(raw)) + raw + b"tb")
    label_list = b"](" + b"".join(i(int(v)) for v in labels) + b"e"
    return (b"\x80\x02}(" + s(b"batch_label") + s(b"training batch 1 of 5") + s(b"data") + array
            + s(b"labels") + label_list + b"u.")


def mnist_folder(root, n_train=5, n_test=3, n_train_labels=None):
    rng = make_rng(11)
    folder = root / "mnist"
    folder.mkdir()
    arrays = [rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
              rng.integers(0, 10, size=n_train if n_train_labels is None else n_train_labels, dtype=np.uint8),
              rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
              rng.integers(0, 10, size=n_test, dtype=np.uint8)]
    for name, array in zip(MNIST_NAMES, arrays):
        write_idx(folder / name, array, IDX_IMAGES if array.ndim == 3 else IDX_LABELS)
    return arrays


# ------------------------------------------------------------------------------ TensorDataset


@pytest.mark.points(1)
def test_tensor_dataset_accepts_arrays_and_negative_indices():
    x = make_rng().standard_normal((4, 3)).astype(np.float32)
    ds = TensorDataset(x, np.array([10, 11, 12, 13]))
    assert all(isinstance(t, Tensor) for t in ds.tensors), (
        f"TensorDataset(array, array).tensors should hold Tensors; got {[type(t).__name__ for t in ds.tensors]}")
    xi, yi = ds[-1]
    assert_close(xi, x[3], what="TensorDataset(x, y)[-1][0] (the last row, as for a list)")
    assert int(yi.data) == 13 and np.issubdtype(yi.dtype, np.integer), (
        f"TensorDataset(x, y)[-1][1] should be the integer 13; got {yi.data!r} ({yi.dtype})")


@pytest.mark.points(1)
def test_tensor_dataset_index_out_of_range_raises_index_error():
    ds, _ = id_dataset(4)
    for bad in (4, -5):
        with pytest.raises(IndexError):
            ds[bad]


@pytest.mark.points(1)
def test_tensor_dataset_needs_tensors_with_a_first_dimension():
    with pytest.raises(ValueError):
        TensorDataset()
    with pytest.raises(ValueError):
        TensorDataset(Tensor(np.float32(3.0)))


# -------------------------------------------------------------------------------- DataLoader


@pytest.mark.parametrize("batch_size", [0, 2.5, True])
@pytest.mark.points(1)
def test_dataloader_rejects_bad_batch_size(batch_size):
    ds, _ = id_dataset(4)
    with pytest.raises(ValueError) as info:
        DataLoader(ds, batch_size=batch_size)
    assert "batch_size" in str(info.value), (
        f"DataLoader(ds, batch_size={batch_size!r}) should raise a ValueError naming batch_size; "
        f"the message was: {info.value}")


@pytest.mark.points(2)
def test_dataloader_indexes_a_tensor_dataset_by_batch_not_per_item(monkeypatch):
    ds, x = id_dataset(20)

    def per_item(self, index):
        raise AssertionError("DataLoader called TensorDataset.__getitem__ once per example; "
                             "index ds.tensors with the batch's index array instead")

    monkeypatch.setattr(TensorDataset, "__getitem__", per_item)
    batches = list(DataLoader(ds, batch_size=6, shuffle=True, seed=1))
    assert [len(b[1].data) for b in batches] == [6, 6, 6, 2]
    for xb, yb in batches:
        assert_close(xb, x[yb.data], what="a batch of a TensorDataset: the rows of its labels' examples")


@pytest.mark.points(2)
def test_dataloader_drop_last_corner_cases():
    ds12, _ = id_dataset(12)
    ds3, _ = id_dataset(3)
    cases = [(ds12, 4, True, [4, 4, 4]), (ds12, 4, False, [4, 4, 4]), (ds12, 5, True, [5, 5]),
             (ds3, 10, False, [3]), (ds3, 10, True, [])]
    for ds, batch_size, drop_last, expected in cases:
        loader = DataLoader(ds, batch_size=batch_size, drop_last=drop_last)
        what = f"DataLoader({len(ds)} examples, batch_size={batch_size}, drop_last={drop_last})"
        assert sizes(loader) == expected, f"{what}: batch sizes should be {expected}; got {sizes(loader)}"
        assert len(loader) == len(expected), f"len({what}) should be {len(expected)}; got {len(loader)}"


@pytest.mark.points(2)
def test_dataloader_transform_changes_the_inputs_only():
    ds, x = id_dataset(10)
    seen = []

    def double(batch):
        seen.append(type(batch))
        return batch * 2.0

    batches = list(DataLoader(ds, batch_size=4, transform=double))
    assert len(seen) == 3, f"the transform should run once per batch (3 batches); it ran {len(seen)} times"
    assert all(issubclass(t, np.ndarray) for t in seen), (
        f"the transform should receive the inputs' array; it received {[t.__name__ for t in seen]}")
    for b, (xb, yb) in enumerate(batches):
        assert isinstance(xb, Tensor), f"batch {b}: the transformed inputs should be a Tensor; got {type(xb).__name__}"
        assert_close(xb, 2.0 * x[4 * b:4 * b + 4], what=f"batch {b} with transform=lambda a: a * 2: the inputs")
        assert yb.data.tolist() == list(range(10))[4 * b:4 * b + 4], f"batch {b}: the labels should not be transformed"
    crop_ds = TensorDataset(np.ones((5, 1, 6, 6), np.float32), np.arange(5))
    xb, yb = next(iter(DataLoader(crop_ds, batch_size=5, transform=RandomCrop(4, padding=0, rng=0))))
    assert xb.shape == (5, 1, 4, 4) and yb.shape == (5,), (
        f"a transform may change the inputs' shape (RandomCrop(4) on (5, 1, 6, 6)); got {xb.shape}, labels {yb.shape}")


@pytest.mark.points(1)
def test_dataloader_without_shuffle_repeats_the_stored_order():
    ds, _ = id_dataset(9)
    loader = DataLoader(ds, batch_size=4, seed=3)
    for epoch in range(2):
        ids = [i for batch in loader for i in batch[1].data.tolist()]
        assert ids == list(range(9)), f"shuffle=False, epoch {epoch}: examples should come in order; got {ids}"


@pytest.mark.points(1)
def test_dataloader_custom_dataset_of_single_values_and_tensors():
    class Values(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return Tensor(np.full(2, i, dtype=np.float32)), np.int64(i)

    xb, yb = list(DataLoader(Values(), batch_size=5))[0]
    assert_close(xb, np.repeat(np.arange(5, dtype=np.float32)[:, None], 2, axis=1),
                 what="a custom Dataset returning (Tensor, np.int64): the Tensors stacked")
    assert yb.data.tolist() == [0, 1, 2, 3, 4]


# ------------------------------------------------------------------------------ file formats


@pytest.mark.points(2)
def test_parse_idx_trailing_bytes_names_the_file(tmp_path):
    path = tmp_path / "long-idx1-ubyte"
    path.write_bytes(idx_bytes(np.arange(4, dtype=np.uint8), IDX_LABELS) + b"\x00\x00")
    with pytest.raises(ValueError) as info:
        parse_idx(path)
    message = str(info.value)
    assert "long-idx1-ubyte" in message and "trailing" in message.lower(), (
        f"parse_idx of a labels file 2 bytes longer than its header says should raise a ValueError naming the "
        f"file and saying 'trailing bytes'; the message was: {message}")


@pytest.mark.points(1)
def test_parse_idx_dimensions_are_big_endian(tmp_path):
    images = make_rng().integers(0, 256, size=(2, 258, 3), dtype=np.uint8)     # 258 = 0x00000102
    got = parse_idx(write_idx(tmp_path / "tall-idx3-ubyte.gz", images, IDX_IMAGES))
    assert got.shape == (2, 258, 3) and np.array_equal(got, images), (
        f"parse_idx of images of shape (2, 258, 3): dimensions are big-endian uint32; got shape {got.shape}")


@pytest.mark.points(1)
def test_parse_idx_damaged_gzip_and_short_header(tmp_path):
    whole = gzip.compress(idx_bytes(np.ones((3, 5, 5), np.uint8), IDX_IMAGES))
    cut = tmp_path / "cut-idx3-ubyte.gz"
    cut.write_bytes(whole[:len(whole) // 2])
    with pytest.raises(ValueError) as info:
        parse_idx(cut)
    assert "cut-idx3-ubyte.gz" in str(info.value), f"a cut gzip stream: name the file; the message was: {info.value}"
    short = tmp_path / "short-header"
    short.write_bytes(struct.pack(">II", IDX_IMAGES, 3))           # the magic and only one of 3 dimensions
    with pytest.raises(ValueError) as info:
        parse_idx(short)
    assert "short-header" in str(info.value), f"a header cut short: name the file; the message was: {info.value}"
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with pytest.raises(ValueError):
        parse_idx(empty)


@pytest.mark.points(2)
def test_parse_cifar_batch_reads_python2_pickles(tmp_path):
    images = make_rng().integers(0, 256, size=(3, 3, 32, 32), dtype=np.uint8)
    path = tmp_path / "data_batch_2"
    path.write_bytes(py2_cifar_pickle(cifar_rows(images), [9, 1, 4]))
    got_images, got_labels = parse_cifar_batch(path)
    assert np.array_equal(got_images, images) and got_labels.tolist() == [9, 1, 4], (
        "parse_cifar_batch of a batch as Python 2 + NumPy 1.x pickled it (the original CIFAR-10 files) "
        "should give back the images and labels")


@pytest.mark.parametrize("missing", [b"data", b"labels"])
@pytest.mark.points(1)
def test_parse_cifar_batch_missing_key_names_it(tmp_path, missing):
    batch = cifar_batch(np.zeros((2, 3, 32, 32), np.uint8), [0, 1])
    del batch[missing]
    with pytest.raises(ValueError) as info:
        parse_cifar_batch(write_pickle(tmp_path / "data_batch_3", batch))
    message = str(info.value)
    assert "data_batch_3" in message and missing.decode() in message, (
        f"parse_cifar_batch of a batch without {missing!r} should raise a ValueError naming the file and "
        f"the key; the message was: {message}")


@pytest.mark.parametrize("problem", ["narrow rows", "float data", "labels count", "label 10"])
@pytest.mark.points(1)
def test_parse_cifar_batch_bad_sizes_and_values(tmp_path, problem):
    batch = cifar_batch(np.zeros((3, 3, 32, 32), np.uint8), [0, 1, 2])
    if problem == "narrow rows":
        batch[b"data"] = np.zeros((3, 3000), np.uint8)
    elif problem == "float data":
        batch[b"data"] = batch[b"data"].astype(np.float64)
    elif problem == "labels count":
        batch[b"labels"] = [0, 1]
    else:
        batch[b"labels"] = [0, 10, 2]
    with pytest.raises(ValueError) as info:
        parse_cifar_batch(write_pickle(tmp_path / "test_batch", batch))
    assert "test_batch" in str(info.value), (
        f"parse_cifar_batch of a batch with {problem} should raise a ValueError naming the file; "
        f"the message was: {info.value}")


# --------------------------------------------------------------------------------- data sets


@pytest.mark.points(3)
def test_load_cifar10_from_a_local_folder(tmp_path):
    rng = make_rng(21)
    folder = tmp_path / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    train_images, train_labels = [], []
    for k in range(1, 6):                                       # 2 images per training batch
        images = rng.integers(0, 256, size=(2, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, size=2)
        write_pickle(folder / f"data_batch_{k}", cifar_batch(images, labels))
        train_images.append(images)
        train_labels.append(labels)
    test_images = rng.integers(0, 256, size=(3, 3, 32, 32), dtype=np.uint8)
    write_pickle(folder / "test_batch", cifar_batch(test_images, [1, 2, 3]))
    write_pickle(folder / "batches.meta", {b"label_names": [b"airplane"] * 10, b"num_cases_per_batch": 2})

    train, test = load_cifar10(tmp_path)
    expected = [("train", train, np.concatenate(train_images), np.concatenate(train_labels)),
                ("test", test, test_images, np.array([1, 2, 3]))]
    for name, ds, images, labels in expected:
        x, y = ds.tensors
        assert x.dtype == np.float32, f"load_cifar10: {name} images should be float32; got {x.dtype}"
        assert_close(x, images / 255.0, what=f"load_cifar10: {name} images (N, 3, 32, 32) / 255, "
                                              "data_batch_1 first")
        assert y.dtype == np.int64 and y.data.tolist() == labels.tolist(), (
            f"load_cifar10: {name} labels should be int64 {labels.tolist()}; got {y.dtype} {y.data.tolist()}")
    raw_train, _ = load_cifar10(tmp_path, normalize=False)
    assert_close(raw_train.tensors[0], np.concatenate(train_images).astype(np.float32),
                 what="load_cifar10(normalize=False): train images, pixel values 0..255")


@pytest.mark.points(1)
def test_load_mnist_without_normalize_and_test_split(tmp_path):
    train_x, train_y, test_x, test_y = mnist_folder(tmp_path)
    train, test = load_mnist(tmp_path, normalize=False)
    assert_close(train.tensors[0], train_x[:, None].astype(np.float32),
                 what="load_mnist(normalize=False): train images (N, 1, 28, 28), values 0..255")
    assert train.tensors[0].dtype == np.float32, f"images should be float32; got {train.tensors[0].dtype}"
    assert_close(test.tensors[0], test_x[:, None].astype(np.float32), what="load_mnist(normalize=False): test images")
    assert test.tensors[1].data.tolist() == test_y.tolist(), "load_mnist: test labels come from t10k-labels-idx1-ubyte.gz"


@pytest.mark.points(2)
def test_load_mnist_mismatched_counts_name_the_files(tmp_path):
    mnist_folder(tmp_path, n_train=5, n_train_labels=4)
    with pytest.raises(ValueError) as info:
        load_mnist(tmp_path)
    message = str(info.value)
    assert "train-images-idx3-ubyte.gz" in message and "train-labels-idx1-ubyte.gz" in message, (
        f"load_mnist with 5 training images but 4 labels should raise a ValueError naming both files; "
        f"the message was: {message}")


# ------------------------------------------------------------------------------ augmentation


@pytest.mark.points(2)
def test_random_crop_offsets_cover_every_position():
    n, size, pad = 300, 4, 1
    images = 1.0 + np.arange(n * size * size, dtype=np.float32).reshape(n, 1, size, size)
    out = RandomCrop(size, padding=pad, rng=SEED)(images)
    padded = np.pad(images, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    offsets = set()
    for k in range(n):
        found = [(i, j) for i in range(2 * pad + 1) for j in range(2 * pad + 1)
                 if np.array_equal(out[k], padded[k, :, i:i + size, j:j + size])]
        assert found, f"RandomCrop(4, padding=1): output image {k} is not a window of its padded image"
        offsets.add(found[0])
    every = {(i, j) for i in range(3) for j in range(3)}
    assert offsets == every, (
        f"RandomCrop(4, padding=1) on 300 images should use all 9 offsets (0..2 in each direction, "
        f"both ends included); used {sorted(offsets)}")


@pytest.mark.points(1)
def test_random_crop_rectangular_without_padding():
    images = make_rng().standard_normal((6, 2, 5, 7)).astype(np.float32)
    out = RandomCrop((3, 4), padding=0, rng=1)(images)
    assert out.shape == (6, 2, 3, 4), (
        f"RandomCrop((3, 4), padding=0) on (6, 2, 5, 7) should give (6, 2, 3, 4); got {out.shape}")
    for k in range(6):
        assert any(np.array_equal(out[k], images[k, :, i:i + 3, j:j + 4]) for i in range(3) for j in range(4)), (
            f"RandomCrop((3, 4), padding=0): image {k} should be a 3x4 window of the image")
    same = RandomCrop(5, padding=0, rng=2)(images[:, :, :, :5])
    assert np.array_equal(same, images[:, :, :, :5]), "RandomCrop(5, padding=0) of 5x5 images should return them as they are"


@pytest.mark.points(1)
def test_seeded_transforms_repeat_and_differ_by_seed():
    images = make_rng().standard_normal((32, 3, 8, 8)).astype(np.float32)
    for make in (lambda seed: RandomHorizontalFlip(0.5, rng=seed), lambda seed: RandomCrop(8, padding=2, rng=seed)):
        a, b, c = make(7)(images), make(7)(images), make(8)(images)
        name = type(make(0)).__name__
        assert np.array_equal(a, b), f"{name} with rng=7 twice should give the same output"
        assert not np.array_equal(a, c), f"{name} with rng=7 and rng=8 should give different outputs"
    flip = RandomHorizontalFlip(0.5, rng=7)
    assert not np.array_equal(flip(images), flip(images)), "each call of RandomHorizontalFlip should draw anew"


@pytest.mark.points(1)
def test_random_horizontal_flip_rate_and_extremes():
    images = make_rng().standard_normal((2000, 1, 2, 3)).astype(np.float32)
    mirrored = images[..., ::-1]
    assert np.array_equal(RandomHorizontalFlip(p=0.0, rng=0)(images), images), "p=0 should flip no image"
    assert np.array_equal(RandomHorizontalFlip(p=1.0, rng=0)(images), mirrored), "p=1 should flip every image"
    out = RandomHorizontalFlip(p=0.3, rng=0)(images)
    flipped = np.all(out == mirrored, axis=(1, 2, 3))
    kept = np.all(out == images, axis=(1, 2, 3))
    assert np.all(flipped | kept), "every image should be either kept or mirrored"
    assert abs(flipped.mean() - 0.3) < 0.04, f"p=0.3 should flip about 30% of 2000 images; flipped {flipped.mean():.1%}"


@pytest.mark.points(1)
def test_random_horizontal_flip_takes_grayscale_batches_and_refuses_single_images():
    """A batch is (N, ..., H, W): (N, H, W) grayscale images are flipped too; one (H, W) image is refused."""
    images = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3)          # 5 grayscale 2x3 images
    for p, want in ((1.0, images[:, :, ::-1]), (0.0, images)):
        out = RandomHorizontalFlip(p=p, rng=0)(images)
        assert np.array_equal(out, want), (
            f"RandomHorizontalFlip(p={p}) of a 3-D batch (5, 2, 3) (N, H, W) should "
            f"{'mirror every image' if p else 'return the images unchanged'}; got {out.tolist()}")
    with pytest.raises(ValueError) as info:
        RandomHorizontalFlip(p=1.0, rng=0)(images[0])
    assert "(2, 3)" in str(info.value), (
        f"RandomHorizontalFlip of one 2-D image (2, 3) should raise a ValueError naming the shape; got: {info.value}")


@pytest.mark.points(1)
def test_compose_applies_in_order():
    images = np.arange(2 * 1 * 4 * 4, dtype=np.float32).reshape(2, 1, 4, 4)
    out = Compose([lambda a: a + 1.0, lambda a: a * 10.0])(images)
    assert_close(out, (images + 1.0) * 10.0, what="Compose([a + 1, a * 10])(x): (x + 1) * 10")
    assert np.array_equal(Compose([])(images), images), "Compose([]) should return its input"


# ----------------------------------------------------------------------------------- systems


@pytest.mark.points(1)
def test_bytes_and_batches_per_epoch_more_cases():
    assert bytes_per_epoch(60_000, (1, 28, 28), np.float64) == 376_320_000, "MNIST train as float64: 376320000 bytes"
    assert bytes_per_epoch(10, (), np.int64) == 80, "10 scalar int64 labels: 80 bytes"
    assert bytes_per_epoch(7, [2, 3], np.float32) == 168, "sample_shape given as a list [2, 3]: 7 * 6 * 4 = 168"
    cases = [((0, 8), 0), ((64, 64), 1), ((65, 64), 2), ((65, 64, True), 1), ((63, 64, True), 0)]
    for args, expected in cases:
        got = batches_per_epoch(*args)
        assert got == expected, f"batches_per_epoch{args}: expected {expected}; got {got}"
    with pytest.raises(ValueError):
        batches_per_epoch(10, 0)
