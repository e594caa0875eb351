"""The course's data sets: found locally, in the cache, or downloaded, and always checked.

Milestones 2-5 (and module 08's data loader) get their data here:

    from tinytorch.datasets import load_mnist, load_cifar10, load_tinyshakespeare
    x_train, y_train, x_test, y_test = load_mnist(ctx.data_dir)

`fetch(name)` finds a data set's canonical files, in this order:

  1. a local folder: the `data_dir` argument, else $TINYTORCH_DATA (milestones: --data-dir).
     Layout: DIR/mnist/*.gz, DIR/cifar10/cifar-10-batches-py/ (or DIR/cifar10/cifar-10-python.tar.gz),
     DIR/tinyshakespeare/input.txt; the files directly in DIR are accepted too. Each file is checked
     against its canonical checksum and a file that differs is USED, with a one-line note: the
     user chose that folder (a subset, a re-encoded copy), and the note says it is not the original.
  2. the cache, $TINYTORCH_CACHE or $XDG_CACHE_HOME/tinytorch-classroom/data (default
     ~/.cache/...), one folder per data set. Only files that match the canonical sums count.
  3. a download into the cache: each mirror in turn, a few rounds with growing pauses, into a
     temporary file that is renamed into place only after its SHA-256 matched. A file from the
     network that does not match is an error and is never kept.

When all of that fails, `DataError` says what to download, from where, and where to put it.

Command line:
    python -m tinytorch.datasets fetch mnist|cifar10|tinyshakespeare|all [--data-dir DIR]
    python -m tinytorch.datasets checksums DIR
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib
import os
import pickle
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from tinytorch.contract import DATA_ENV, PICKLE_GLOBALS

# --- settings, in one place --------------------------------------------------------------------
CACHE_ENV = "TINYTORCH_CACHE"            # the cache folder (default: XDG cache / tinytorch-classroom/data)
TIMEOUT_SECONDS = 60                     # per network read, not for the whole file
ROUNDS = 3                               # passes over all of a file's URLs before giving up
BACKOFF_SECONDS = 2.0                    # pause before the second round; doubled for each later one
CHUNK_BYTES = 1 << 20
USER_AGENT = "tinytorch-classroom-data/1 (+python urllib)"
MISMATCH = "does not match the canonical SHA-256 (a subset or re-encoding?); using it anyway"


class DataError(RuntimeError):
    """A data set could not be found or fetched; the message says what to do."""


@dataclass(frozen=True)
class RemoteFile:
    """One canonical file: its name, SHA-256, size in bytes and where to download it (in order)."""
    name: str
    sha256: str
    size: int
    urls: tuple[str, ...]


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    files: tuple[RemoteFile, ...]
    layout: str                                   # where the files go in a local folder (for messages)
    extracted: dict[str, str] = field(default_factory=dict)   # file in the unpacked folder -> MD5


# --- the canonical files ------------------------------------------------------------------------
# MNIST: the four IDX files of LeCun, Cortes and Burges. yann.lecun.com no longer serves them
# reliably; these two mirrors hold the same bytes (torchvision downloads from the first,
# TensorFlow from the second). SHA-256 sums as listed by torchvision (pytorch/vision,
# torchvision/prototype/datasets/_builtin/mnist.py) and, identically, by several independent
# projects that download from these mirrors; sizes as the original site lists them.
MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://storage.googleapis.com/cvdf-datasets/mnist/")
_MNIST = (("train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422),
          ("train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881),
          ("t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877),
          ("t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542))

# CIFAR-10, python version, from its authors' page. No official mirror exists. SHA-256 as listed
# by torchvision (torchvision/prototype/datasets/_builtin/cifar.py) and by Keras/TensorFlow
# (keras datasets/cifar10.py, `file_hash`). The MD5 sums of the unpacked files are the ones
# torchvision checks (torchvision/datasets/cifar.py; also mmcls): they tell whether an unpacked
# folder holds the original batches (the archive's SHA-256 cannot, once it is unpacked).
CIFAR_DIR = "cifar-10-batches-py"
CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST = "test_batch"
_CIFAR_MD5 = {"data_batch_1": "c99cafc152244af753f735de768cd75f", "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
              "data_batch_3": "54ebc095f3ab1f0389bbae665268c751", "data_batch_4": "634d18415352ddfa80567beed471001a",
              "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb", "test_batch": "40351d587109b95175f43aff81a1287e",
              "batches.meta": "5ff9c542aee3614f3951f8cda6e48888"}

# Tiny Shakespeare, from Karpathy's char-rnn repository. The jsDelivr URL serves the same git
# file; one public project lists TensorFlow's shakespeare.txt with the same SHA-256 (not confirmed
# twice, so it is tried last; the SHA-256 check decides either way). The sum is listed by many
# independent projects that pin this file.
_SHAKESPEARE_URLS = ("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
                     "https://cdn.jsdelivr.net/gh/karpathy/char-rnn@master/data/tinyshakespeare/input.txt",
                     "https://storage.googleapis.com/download.tensorflow.org/data/shakespeare.txt")

DATASETS: dict[str, Dataset] = {
    "mnist": Dataset(
        "mnist", "MNIST",
        tuple(RemoteFile(name, sha, size, tuple(m + name for m in MNIST_MIRRORS)) for name, sha, size in _MNIST),
        layout="DIR/mnist/ holding the four .gz files"),
    "cifar10": Dataset(
        "cifar10", "CIFAR-10",
        (RemoteFile("cifar-10-python.tar.gz", "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
                    170498071, ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",)),),
        layout=f"DIR/cifar10/{CIFAR_DIR}/ (unpacked) or DIR/cifar10/cifar-10-python.tar.gz",
        extracted=_CIFAR_MD5),
    "tinyshakespeare": Dataset(
        "tinyshakespeare", "Tiny Shakespeare",
        (RemoteFile("input.txt", "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
                    1115394, _SHAKESPEARE_URLS),),
        layout="DIR/tinyshakespeare/input.txt"),
}


# --- small helpers ------------------------------------------------------------------------------
def _note(message: str) -> None:
    """Progress and notes go to stderr, so `fetch` on the command line prints only paths."""
    print(message, file=sys.stderr, flush=True)


def _digest(path: Path, algorithm: str = "sha256") -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            h.update(chunk)
    return h.hexdigest()


def sha256_of(path: str | Path) -> str:
    return _digest(Path(path), "sha256")


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def cache_root() -> Path:
    """$TINYTORCH_CACHE, else $XDG_CACHE_HOME/tinytorch-classroom/data, else ~/.cache/..."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "tinytorch-classroom" / "data"


def dataset(name: str) -> Dataset:
    if name not in DATASETS:
        raise DataError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]


def _local_root(data_dir) -> Path | None:
    chosen = data_dir if data_dir not in (None, "") else os.environ.get(DATA_ENV) or None
    if chosen is None:
        return None
    root = Path(chosen).expanduser()
    if not root.is_dir():
        source = "data_dir" if data_dir not in (None, "") else DATA_ENV
        raise DataError(f"{source}={chosen}: no such folder. Point it at a folder laid out as "
                        f"DIR/mnist/, DIR/cifar10/, DIR/tinyshakespeare/, or unset it to use the cache "
                        f"({cache_root()}).")
    return root


def _how_to_get(ds: Dataset, problem: str, tried: list[str] | None = None) -> str:
    """The DataError message: what went wrong, what to download, where to put it."""
    folder = cache_root() / ds.name
    lines, tried = [f"{ds.title}: {problem}"], tried or []
    if tried:                                     # each distinct failure once, with how often it happened
        lines += ["Tried:"] + [f"  {t}" + (f" ({tried.count(t)} times)" if tried.count(t) > 1 else "")
                               for t in dict.fromkeys(tried)]
    lines.append("Download by hand:")
    for f in ds.files:
        lines.append(f"  {f.name} ({_mb(f.size)}, SHA-256 {f.sha256}) from any of")
        lines += [f"    {u}" for u in f.urls]
    lines.append(f"and put {'it' if len(ds.files) == 1 else 'them'} in {folder}/")
    lines.append(f"or point at a local copy: {DATA_ENV}=DIR (milestones: --data-dir DIR), with {ds.layout}.")
    return "\n".join(lines)


# --- download -----------------------------------------------------------------------------------
class _ChecksumMismatch(Exception):
    pass


def _open(url: str):
    """One HTTP(S) or file:// request (the tests replace this to keep off the network)."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    return urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS)


def _download_once(url: str, remote: RemoteFile, dest: Path, label: str | None) -> int:
    """Stream `url` into a temporary file beside `dest`; rename it into place only if its SHA-256
    matches. Returns the size. `label`: rewrite that line with a percentage (terminals only)."""
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, _open(url) as response:
            total = int(response.headers.get("Content-Length") or 0)
            h, done, shown = hashlib.sha256(), 0, time.monotonic()
            while chunk := response.read(CHUNK_BYTES):
                out.write(chunk)
                h.update(chunk)
                done += len(chunk)
                if label and total and time.monotonic() - shown > 0.5:
                    sys.stderr.write(f"\r{label} {100 * done // total:3d}%")
                    sys.stderr.flush()
                    shown = time.monotonic()
            out.flush()
            os.fsync(out.fileno())
        got = h.hexdigest()
        if got != remote.sha256:
            raise _ChecksumMismatch(f"got SHA-256 {got}, expected {remote.sha256}; not kept")
        os.replace(tmp, dest)
        return done
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _download(ds: Dataset, remote: RemoteFile, folder: Path) -> Path:
    """Download `remote` into `folder`: each URL in turn, ROUNDS times, pausing longer each round.
    One line per attempt. Raises DataError listing every attempt and what to do by hand."""
    folder.mkdir(parents=True, exist_ok=True)
    dest, tried, tty = folder / remote.name, [], sys.stderr.isatty()
    for round_ in range(ROUNDS):
        if round_:
            time.sleep(BACKOFF_SECONDS * 2 ** (round_ - 1))
        for url in remote.urls:
            label = f"{ds.name}: downloading {remote.name} from {url} ..."
            if tty:
                sys.stderr.write(label)
                sys.stderr.flush()
            start = "\r" if tty else ""
            try:
                size = _download_once(url, remote, dest, label if tty else None)
            except (OSError, ValueError, EOFError, _ChecksumMismatch) as e:   # URLError, HTTPError, timeouts: OSError
                reason = getattr(e, "reason", None) or e
                tried.append(f"{url}: {reason}")
                _note(f"{start}{label} failed: {reason}")
                continue
            _note(f"{start}{label} {_mb(size)}, SHA-256 ok")
            return dest
    raise DataError(_how_to_get(ds, f"could not download {remote.name} (and no local copy was found).", tried))


def _ensure(ds: Dataset, remote: RemoteFile) -> Path:
    """`remote` in the cache: the copy there if it matches its SHA-256, else a fresh verified download."""
    folder = cache_root() / ds.name
    path = folder / remote.name
    if path.is_file():
        if sha256_of(path) == remote.sha256:
            return path
        _note(f"{ds.name}: {path} in the cache does not match the canonical SHA-256; downloading it again")
    return _download(ds, remote, folder)


# --- safe unpacking -----------------------------------------------------------------------------
def _safe_members(tar: tarfile.TarFile, archive: Path, top: str) -> list[tarfile.TarInfo]:
    """The members under `top/`; refuses the whole archive if any member could land outside the target."""
    keep = []
    for member in tar.getmembers():
        parts = PurePosixPath(member.name.replace("\\", "/")).parts
        if member.name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
            raise DataError(f"{archive}: member {member.name!r} would be written outside the target folder; "
                            "refusing to unpack this archive")
        if not (member.isfile() or member.isdir()):
            raise DataError(f"{archive}: member {member.name!r} is a link or special file; refusing to unpack "
                            "this archive (the canonical one holds only plain files)")
        if parts and parts[0] == top:
            keep.append(member)
    return keep


def extract_tar(archive: Path, into: Path, top: str) -> Path:
    """Unpack the `top/` folder of `archive` to `into/top`, through a temporary folder renamed into place."""
    into.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=into, prefix=".unpack-"))
    try:
        try:
            with tarfile.open(archive, "r:*") as tar:
                members = _safe_members(tar, archive, top)
                if hasattr(tarfile, "data_filter"):          # PEP 706: tarfile itself refuses unsafe members too
                    tar.extractall(tmp, members=members, filter="data")
                else:
                    tar.extractall(tmp, members=members)
        except (tarfile.TarError, EOFError, OSError) as e:
            raise DataError(f"{archive}: cannot unpack ({e})") from e
        if not (tmp / top).is_dir():
            raise DataError(f"{archive} holds no {top}/ folder; is it the right archive?")
        final = into / top
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp / top, final)
        return final
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- finding each data set ----------------------------------------------------------------------
def _files_folder(ds: Dataset, root: Path | None) -> Path:
    """MNIST and Tiny Shakespeare: a folder holding all of `ds.files`."""
    if root is not None:
        for folder in (root / ds.name, root):
            present = [f for f in ds.files if (folder / f.name).is_file()]
            if not present:
                continue
            missing = [f.name for f in ds.files if f not in present]
            if missing:
                raise DataError(_how_to_get(ds, f"{folder} holds only some of the files; missing: {', '.join(missing)}."))
            for f in ds.files:
                if sha256_of(folder / f.name) != f.sha256:
                    _note(f"{ds.name}: {folder / f.name} {MISMATCH}")
            return folder
        _note(f"{ds.name}: not in {root} (looked for {root / ds.name}/); trying the cache")
    for f in ds.files:
        _ensure(ds, f)
    return cache_root() / ds.name


def _unpacked_matches(ds: Dataset, folder: Path) -> bool | None:
    """None if a batch needed for loading is missing, else whether all unpacked files match their MD5."""
    if not all((folder / name).is_file() for name in (*CIFAR_TRAIN, CIFAR_TEST)):
        return None
    return all((folder / n).is_file() and _digest(folder / n, "md5") == md5 for n, md5 in ds.extracted.items())


def _cifar_from_archive(ds: Dataset, archive: Path, cache: Path) -> Path:
    """A local cifar-10-python.tar.gz, unpacked into the cache (a copy that differs: into its own folder)."""
    digest = sha256_of(archive)
    if digest == ds.files[0].sha256:
        if _unpacked_matches(ds, cache / CIFAR_DIR):
            return cache
        target = cache
    else:
        _note(f"{ds.name}: {archive} {MISMATCH}")
        target = cache / f"local-{digest[:12]}"
        if (target / CIFAR_DIR).is_dir():            # unpacked before (atomically), keyed by the archive's sum
            return target
    _note(f"{ds.name}: unpacking {archive} into {target}/")
    extract_tar(archive, target, CIFAR_DIR)
    return target


def _cifar_folder(ds: Dataset, root: Path | None) -> Path:
    """CIFAR-10: the folder that holds cifar-10-batches-py/."""
    cache = cache_root() / ds.name
    if root is not None:
        for folder in [root / ds.name, root] + ([root.parent] if root.name == CIFAR_DIR else []):
            if (folder / CIFAR_DIR).is_dir():
                state = _unpacked_matches(ds, folder / CIFAR_DIR)
                if state is None:
                    raise DataError(_how_to_get(ds, f"{folder / CIFAR_DIR} lacks some of "
                                                    f"{', '.join(CIFAR_TRAIN)}, {CIFAR_TEST}."))
                if not state:
                    _note(f"{ds.name}: the files in {folder / CIFAR_DIR} do not match the canonical checksums "
                          "(a subset or re-encoding?); using them anyway")
                return folder
            if (folder / ds.files[0].name).is_file():
                return _cifar_from_archive(ds, folder / ds.files[0].name, cache)
        _note(f"{ds.name}: not in {root} (looked for {root / ds.name / CIFAR_DIR}/); trying the cache")
    if _unpacked_matches(ds, cache / CIFAR_DIR):
        return cache
    archive = _ensure(ds, ds.files[0])
    _note(f"{ds.name}: unpacking {archive.name} into {cache}/")
    extract_tar(archive, cache, CIFAR_DIR)
    if not _unpacked_matches(ds, cache / CIFAR_DIR):
        raise DataError(f"{ds.name}: the files unpacked from the verified {archive} do not match their canonical "
                        f"MD5 sums; delete {cache} and try again")
    archive.unlink()                 # the unpacked batches are checked on every use; this saves 170 MB
    return cache


def fetch(name: str, data_dir: str | Path | None = None) -> Path:
    """The local path of data set `name` (where it looks: see the module docstring).

    mnist -> the folder holding the four .gz files; cifar10 -> the folder holding
    cifar-10-batches-py/; tinyshakespeare -> the path of input.txt.
    """
    ds = dataset(name)
    root = _local_root(data_dir)
    if ds.extracted:
        return _cifar_folder(ds, root)
    folder = _files_folder(ds, root)
    return folder / ds.files[0].name if len(ds.files) == 1 else folder


# --- readers ------------------------------------------------------------------------------------
IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file (LeCun's format; gzipped or raw) as an array.

    Header: two zero bytes, a type byte (0x08 = unsigned byte), the number of dimensions, then
    each dimension as a big-endian uint32; then the values, row-major.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":                   # gzip's magic number
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:        # BadGzipFile is an OSError; a cut-off stream an EOFError
            raise ValueError(f"{path}: damaged or truncated gzip file ({e})") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES or raw[3] == 0:
        raise ValueError(f"{path}: not an IDX file (magic number {raw[:4].hex() or 'missing'}; "
                         "expected 0000 then a type byte and the number of dimensions, e.g. 00000803)")
    dtype, ndim = np.dtype(IDX_DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes, need {header})")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(f"{path}: {'truncated' if len(raw) < expected else 'trailing bytes'}: the header "
                         f"promises shape {shape} ({expected} bytes), the file has {len(raw)} bytes")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def load_mnist(data_dir: str | Path | None = None):
    """(x_train, y_train, x_test, y_test): images uint8 (N, 28, 28), labels int64 (N,)."""
    folder = fetch("mnist", data_dir)
    arrays = []
    for split in ("train", "t10k"):
        images = read_idx(folder / f"{split}-images-idx3-ubyte.gz")
        labels = read_idx(folder / f"{split}-labels-idx1-ubyte.gz")
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"{folder}: {split} images {images.shape} and labels {labels.shape} do not fit together")
        arrays += [images, labels.astype(np.int64)]
    return tuple(arrays)


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles a CIFAR batch: dicts, lists, bytes, numbers and numpy arrays, nothing else.

    A pickle can name any importable function and call it (os.system, eval ...). A CIFAR batch
    only needs numpy's array rebuilders, so every other global is refused before it is imported.
    """
    def find_class(self, module, name):
        if (module, name) not in PICKLE_GLOBALS:
            raise pickle.UnpicklingError(f"refused global {module}.{name}: a CIFAR batch needs only numpy arrays")
        if module.startswith(("numpy.core", "numpy._core")):    # NumPy 2 renamed numpy.core: either spelling
            for where in (module, module.replace("numpy.core", "numpy._core"), module.replace("numpy._core", "numpy.core")):
                try:
                    return getattr(importlib.import_module(where), name)
                except (ImportError, AttributeError):
                    continue
        return getattr(np, name)


def unpickle_cifar_batch(path: str | Path):
    """The object pickled in CIFAR batch file `path`, loaded safely (module 08 uses this).

    Byte-string keys (b"data", b"labels") as in the original Python 2 files. Anything that is
    not a pickle of plain data and numpy arrays raises ValueError naming the file: a pickle can
    run code while it loads, so course code never calls pickle.load itself.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            return _BatchUnpickler(f, encoding="bytes").load()
    except Exception as e:                      # refused globals, truncation, garbage: say which file
        raise ValueError(f"{path}: not a CIFAR-10 batch ({type(e).__name__}: {e})") from e


def read_cifar_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch: images uint8 (N, 3, 32, 32) (channels R, G, B) and labels int64 (N,)."""
    path = Path(path)
    loaded = unpickle_cifar_batch(path)
    if not isinstance(loaded, dict) or b"data" not in loaded or b"labels" not in loaded:
        raise ValueError(f"{path}: not a CIFAR-10 batch (expected a dict with b'data' and b'labels')")
    data, labels = np.asarray(loaded[b"data"]), np.asarray(loaded[b"labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or data.shape[0] != len(labels):
        raise ValueError(f"{path}: b'data' is {data.dtype} {data.shape} for {len(labels)} labels; "
                         "expected uint8 (N, 3072)")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{path}: labels outside 0..9")
    return data.reshape(-1, 3, 32, 32), labels


def load_cifar10(data_dir: str | Path | None = None):
    """(x_train, y_train, x_test, y_test): images uint8 (N, 3, 32, 32) (CHW, RGB), labels int64 (N,)."""
    folder = fetch("cifar10", data_dir) / CIFAR_DIR
    train = [read_cifar_batch(folder / name) for name in CIFAR_TRAIN]
    x_test, y_test = read_cifar_batch(folder / CIFAR_TEST)
    return np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]), x_test, y_test


def load_tinyshakespeare(data_dir: str | Path | None = None) -> str:
    """The whole text (1,115,394 characters for the canonical file)."""
    return fetch("tinyshakespeare", data_dir).read_text(encoding="utf-8")


# --- command line -------------------------------------------------------------------------------
def checksums(folder: Path) -> list[str]:
    """`sha256  path` for every file under `folder` (sha256sum's format), with a remark on each
    file the course knows by name: whether it is the canonical file."""
    sha_by_name = {f.name: f.sha256 for ds in DATASETS.values() for f in ds.files}
    md5_by_name = {n: md5 for ds in DATASETS.values() for n, md5 in ds.extracted.items()}
    lines = []
    found = [Path(d) / n for d, _, names in os.walk(folder, followlinks=True) for n in names]   # symlinks too
    for path in sorted(p for p in found if p.is_file()):
        sha, remark = sha256_of(path), ""
        if path.name in sha_by_name:
            remark = "canonical" if sha == sha_by_name[path.name] else "NOT canonical (SHA-256 differs)"
        elif path.name in md5_by_name:
            same = _digest(path, "md5") == md5_by_name[path.name]
            remark = "canonical (MD5)" if same else "NOT canonical (MD5 differs)"
        lines.append(f"{sha}  {path.relative_to(folder)}" + (f"  # {remark}" if remark else ""))
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tinytorch.datasets", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_fetch = sub.add_parser("fetch", help="find or download a data set; prints its path")
    p_fetch.add_argument("name", choices=[*DATASETS, "all"])
    p_fetch.add_argument("--data-dir", type=Path, default=None,
                         help=f"a folder holding local copies (also ${DATA_ENV})")
    p_sums = sub.add_parser("checksums", help="print the SHA-256 of every file under DIR")
    p_sums.add_argument("dir", type=Path)
    args = parser.parse_args(argv)
    if args.command == "checksums":
        if not args.dir.is_dir():
            parser.error(f"{args.dir}: no such folder")
        print("\n".join(checksums(args.dir)))
        return 0
    names = list(DATASETS) if args.name == "all" else [args.name]
    try:
        for name in names:
            print(fetch(name, args.data_dir), flush=True)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
