"""tinytorch.datasets: local folders, the cache, verified downloads, safe readers. Never the network.

Every test swaps the canonical file table for small files it writes itself (their SHA-256 known),
served from file:// URLs; `_open` is replaced by a guard that refuses anything but file://.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import struct
import tarfile

import numpy as np
import pytest

from tinytorch import datasets as data

SHA_T10K_IMAGES = "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
SHA_T10K_LABELS = "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
SHA_SHAKESPEARE = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"


# --- fixtures: an isolated cache, no network, small fake data sets ----------------------------
@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Cache under tmp_path, no TINYTORCH_DATA, fast retries, and a record of every URL opened."""
    monkeypatch.setenv("TINYTORCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("TINYTORCH_DATA", raising=False)
    monkeypatch.setattr(data, "ROUNDS", 2)
    monkeypatch.setattr(data, "BACKOFF_SECONDS", 0.25)
    sleeps, opened = [], []
    monkeypatch.setattr(data.time, "sleep", sleeps.append)
    real_open = data._open

    def guarded(url):
        opened.append(url)
        assert url.startswith("file://"), f"a test tried the network: {url}"
        return real_open(url)

    monkeypatch.setattr(data, "_open", guarded)
    return {"cache": tmp_path / "cache", "opened": opened, "sleeps": sleeps}


def idx(array: np.ndarray) -> bytes:
    """IDX bytes written by hand from the format's definition (ubyte only)."""
    assert array.dtype == np.uint8
    return struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def mnist_files(n_train=6, n_test=4) -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    out = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        out[f"{split}-images-idx3-ubyte.gz"] = gzip.compress(idx(rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)))
        out[f"{split}-labels-idx1-ubyte.gz"] = gzip.compress(idx(rng.integers(0, 10, n, dtype=np.uint8)))
    return out


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def spec(name: str, files: dict[str, bytes], urls=None, extracted=None) -> data.Dataset:
    """A fake Dataset whose canonical sums are those of `files`; urls: file name -> list of URLs."""
    urls = urls or {}
    return data.Dataset(name, name.upper(),
                        tuple(data.RemoteFile(n, sha(c), len(c), tuple(urls.get(n, ()))) for n, c in files.items()),
                        layout=f"DIR/{name}/", extracted=extracted or {})


def write(folder, files: dict[str, bytes]):
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return folder


def serve(folder, files: dict[str, bytes]) -> dict[str, list[str]]:
    """Write `files` into `folder` and return file:// URLs for them."""
    write(folder, files)
    return {name: [(folder / name).as_uri()] for name in files}


def listing(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --- local folders ------------------------------------------------------------------------------
def test_local_folder_with_matching_files_is_used_without_a_note_or_network(tmp_path, monkeypatch, capsys, isolated):
    files = mnist_files()
    monkeypatch.setitem(data.DATASETS, "mnist", spec("mnist", files))
    write(tmp_path / "local" / "mnist", files)
    assert data.fetch("mnist", tmp_path / "local") == tmp_path / "local" / "mnist"
    assert "does not match" not in capsys.readouterr().err
    assert isolated["opened"] == [] and not isolated["cache"].exists()


def test_local_file_that_differs_is_used_with_a_one_line_note(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(data.DATASETS, "tinyshakespeare", spec("tinyshakespeare", {"input.txt": b"To be"}))
    write(tmp_path / "local" / "tinyshakespeare", {"input.txt": b"Not to be"})
    path = data.fetch("tinyshakespeare", tmp_path / "local")
    assert path == tmp_path / "local" / "tinyshakespeare" / "input.txt"
    assert data.load_tinyshakespeare(tmp_path / "local") == "Not to be"
    notes = [line for line in capsys.readouterr().err.splitlines() if "does not match" in line]
    assert len(notes) == 2, notes                  # one per fetch: fetch() and load_tinyshakespeare()
    assert str(path) in notes[0] and "canonical SHA-256" in notes[0] and "using it anyway" in notes[0]


def test_files_directly_in_the_folder_and_the_env_variable(tmp_path, monkeypatch):
    files = mnist_files()
    monkeypatch.setitem(data.DATASETS, "mnist", spec("mnist", files))
    write(tmp_path / "flat", files)
    write(tmp_path / "nested" / "mnist", files)
    monkeypatch.setenv("TINYTORCH_DATA", str(tmp_path / "flat"))
    assert data.fetch("mnist") == tmp_path / "flat"
    assert data.fetch("mnist", tmp_path / "nested") == tmp_path / "nested" / "mnist"   # the argument wins


def test_a_local_folder_missing_some_files_is_an_error_naming_them(tmp_path, monkeypatch):
    files = mnist_files()
    monkeypatch.setitem(data.DATASETS, "mnist", spec("mnist", files))
    write(tmp_path / "local" / "mnist", {k: v for k, v in files.items() if not k.startswith("t10k-labels")})
    with pytest.raises(data.DataError, match="missing: t10k-labels-idx1-ubyte.gz"):
        data.fetch("mnist", tmp_path / "local")


def test_a_local_folder_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(data.DataError, match="no such folder"):
        data.fetch("mnist", tmp_path / "nowhere")


def test_a_local_folder_without_the_data_set_falls_back_to_the_cache(tmp_path, monkeypatch, capsys, isolated):
    content = {"input.txt": b"cached text"}
    monkeypatch.setitem(data.DATASETS, "tinyshakespeare", spec("tinyshakespeare", content))
    write(isolated["cache"] / "tinyshakespeare", content)
    (tmp_path / "local").mkdir()
    assert data.fetch("tinyshakespeare", tmp_path / "local") == isolated["cache"] / "tinyshakespeare" / "input.txt"
    assert "not in" in capsys.readouterr().err


# --- cache and download -------------------------------------------------------------------------
def test_cache_hit_opens_no_url(monkeypatch, isolated):
    files = mnist_files()
    urls = {n: ["file:///nonexistent/" + n] for n in files}
    monkeypatch.setitem(data.DATASETS, "mnist", spec("mnist", files, urls))
    write(isolated["cache"] / "mnist", files)
    assert data.fetch("mnist") == isolated["cache"] / "mnist"
    assert isolated["opened"] == []


def test_download_is_verified_cached_and_reused(tmp_path, monkeypatch, capsys, isolated):
    files = mnist_files()
    monkeypatch.setitem(data.DATASETS, "mnist", spec("mnist", files, serve(tmp_path / "server", files)))
    folder = data.fetch("mnist")
    assert folder == isolated["cache"] / "mnist"
    assert listing(folder) == sorted(files)                     # no temporary files left beside them
    assert all((folder / n).read_bytes() == c for n, c in files.items())
    assert capsys.readouterr().err.count("SHA-256 ok") == 4     # one line per file
    for n in files:
        (tmp_path / "server" / n).unlink()                      # the server is gone: the cache serves
    x_train, y_train, x_test, y_test = data.load_mnist()
    assert x_train.shape == (6, 28, 28) and x_train.dtype == np.uint8 and y_test.shape == (4,)
    assert len(isolated["opened"]) == 4


def test_download_with_the_wrong_checksum_is_refused_and_nothing_is_kept(tmp_path, monkeypatch, isolated):
    ds = spec("tinyshakespeare", {"input.txt": b"the real text"})
    served = serve(tmp_path / "server", {"input.txt": b"a tampered text"})
    monkeypatch.setitem(data.DATASETS, "tinyshakespeare",
                        data.Dataset(ds.name, ds.title, (data.RemoteFile("input.txt", ds.files[0].sha256, 13,
                                                                         tuple(served["input.txt"])),), ds.layout))
    with pytest.raises(data.DataError, match="expected " + ds.files[0].sha256):
        data.fetch("tinyshakespeare")
    assert listing(isolated["cache"] / "tinyshakespeare") == []


class _Broken:
    """A response that sends a few bytes, then drops the connection."""
    headers = {"Content-Length": "1000"}

    def __init__(self):
        self.sent = False

    def read(self, n):
        if self.sent:
            raise ConnectionResetError("connection reset by peer")
        self.sent = True
        return b"x" * 100

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_an_interrupted_download_leaves_no_partial_file(monkeypatch, isolated):
    monkeypatch.setitem(data.DATASETS, "tinyshakespeare",
                        spec("tinyshakespeare", {"input.txt": b"x" * 1000}, {"input.txt": ["https://example.invalid/t"]}))
    monkeypatch.setattr(data, "_open", lambda url: _Broken())
    with pytest.raises(data.DataError, match="connection reset"):
        data.fetch("tinyshakespeare")
    assert listing(isolated["cache"] / "tinyshakespeare") == []


def test_retries_every_mirror_with_backoff_then_says_what_to_do(tmp_path, monkeypatch, isolated):
    files = {"input.txt": b"text"}
    urls = [(tmp_path / "gone1").as_uri(), (tmp_path / "gone2").as_uri()]
    monkeypatch.setitem(data.DATASETS, "tinyshakespeare", spec("tinyshakespeare", files, {"input.txt": urls}))
    monkeypatch.setattr(data, "ROUNDS", 3)
    with pytest.raises(data.DataError) as error:
        data.fetch("tinyshakespeare")
    assert isolated["opened"] == urls * 3
    assert isolated["sleeps"] == [0.25, 0.5]
    message = str(error.value)
    assert urls[0] in message and urls[1] in message and "(3 times)" in message
    assert f"put it in {isolated['cache'] / 'tinyshakespeare'}/" in message
    assert "TINYTORCH_DATA=DIR" in message and "--data-dir" in message and sha(b"text") in message


def test_a_broken_mirror_falls_through_to_the_next(tmp_path, monkeypatch, isolated):
    files = {"input.txt": b"text"}
    good = serve(tmp_path / "server", files)["input.txt"]
    monkeypatch.setitem(data.DATASETS, "tinyshakespeare",
                        spec("tinyshakespeare", files, {"input.txt": [(tmp_path / "gone").as_uri(), *good]}))
    assert data.fetch("tinyshakespeare").read_bytes() == b"text"
    assert len(isolated["opened"]) == 2 and isolated["sleeps"] == []


def test_a_cached_file_that_differs_is_downloaded_again(tmp_path, monkeypatch, capsys, isolated):
    files = {"input.txt": b"the real text"}
    monkeypatch.setitem(data.DATASETS, "tinyshakespeare",
                        spec("tinyshakespeare", files, serve(tmp_path / "server", files)))
    write(isolated["cache"] / "tinyshakespeare", {"input.txt": b"damaged"})
    assert data.fetch("tinyshakespeare").read_bytes() == b"the real text"
    assert "in the cache does not match" in capsys.readouterr().err


def test_cache_location_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("TINYTORCH_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.cache_root() == tmp_path / "xdg" / "tinytorch-classroom" / "data"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.cache_root() == tmp_path / "home" / ".cache" / "tinytorch-classroom" / "data"
    monkeypatch.setenv("TINYTORCH_CACHE", str(tmp_path / "mine"))
    assert data.cache_root() == tmp_path / "mine"


# --- IDX ----------------------------------------------------------------------------------------
def test_read_idx_reads_raw_and_gzipped_files(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a.idx").write_bytes(idx(images))
    (tmp_path / "a.idx.gz").write_bytes(gzip.compress(idx(images)))
    for name in ("a.idx", "a.idx.gz"):
        got = data.read_idx(tmp_path / name)
        assert got.dtype == np.uint8 and got.shape == (2, 3, 4) and np.array_equal(got, images), name


@pytest.mark.parametrize("damage, message", [
    (lambda b: b"\x89PNG" + b[4:], "not an IDX file"),
    (lambda b: b"\x08\x03" + b[2:], "not an IDX file"),                    # type and dims right, zeros wrong
    (lambda b: b"\x00\x00\x08\x03" + b[4:10], "truncated"),                  # cut inside the header
    (lambda b: b[:-1], "truncated"),                                        # one pixel short
    (lambda b: b + b"\x00", "trailing bytes"),
    (lambda b: gzip.compress(b)[:40], "damaged or truncated gzip"),
])
def test_read_idx_names_the_file_when_it_is_wrong(tmp_path, damage, message):
    path = tmp_path / "bad-idx3-ubyte"
    path.write_bytes(damage(idx(np.zeros((3, 28, 28), np.uint8))))
    with pytest.raises(ValueError, match=message) as error:
        data.read_idx(path)
    assert str(path) in str(error.value)


# --- CIFAR --------------------------------------------------------------------------------------
def cifar_batch(n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {b"batch_label": b"test", b"labels": [int(v) for v in rng.integers(0, 10, n)],
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"filenames": [b"f.png"] * n}


def cifar_files(n=4) -> dict[str, bytes]:
    """A small cifar-10-batches-py/, pickled as decode.py and the original do (protocol 4, bytes keys)."""
    names = [*data.CIFAR_TRAIN, data.CIFAR_TEST]
    files = {name: pickle.dumps(cifar_batch(n, seed), protocol=4) for seed, name in enumerate(names)}
    files["batches.meta"] = pickle.dumps({b"label_names": [b"airplane"] * 10}, protocol=4)
    return files


def md5s(files):
    return {n: hashlib.md5(c).hexdigest() for n, c in files.items()}


def cifar_tar(files: dict[str, bytes], extra=()) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(f"{data.CIFAR_DIR}/{name}")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        for info, content in extra:
            tar.addfile(info, io.BytesIO(content) if content is not None else None)
    return buffer.getvalue()


def test_read_cifar_batch_returns_chw_images_and_labels(tmp_path):
    batch = cifar_batch(5, seed=1)
    (tmp_path / "b").write_bytes(pickle.dumps(batch, protocol=4))
    x, y = data.read_cifar_batch(tmp_path / "b")
    assert x.shape == (5, 3, 32, 32) and x.dtype == np.uint8 and y.dtype == np.int64
    assert np.array_equal(x[2, 1], batch[b"data"][2, 1024:2048].reshape(32, 32))   # channel 1 = green plane
    assert y.tolist() == batch[b"labels"]


def test_read_cifar_batch_accepts_the_old_numpy_module_name(tmp_path):
    """The original batches (Python 2, numpy 1) name numpy.core.multiarray._reconstruct."""
    old = pickle.dumps(cifar_batch(3, seed=2), protocol=3)     # protocol < 4 names globals as text
    old = old.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    assert b"cnumpy.core.multiarray\n_reconstruct" in old
    (tmp_path / "b").write_bytes(old)
    x, y = data.read_cifar_batch(tmp_path / "b")
    assert x.shape == (3, 3, 32, 32) and len(y) == 3


class _Evil:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_a_pickle_that_calls_os_system_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    (tmp_path / "b").write_bytes(pickle.dumps({b"data": _Evil(f"touch {marker}"), b"labels": []}, protocol=4))
    with pytest.raises(ValueError, match=r"refused global (os|posix)\.system") as error:
        data.read_cifar_batch(tmp_path / "b")
    assert str(tmp_path / "b") in str(error.value)
    assert not marker.exists()


def test_a_pickle_of_something_else_is_refused(tmp_path):
    (tmp_path / "b").write_bytes(pickle.dumps({b"data": [1, 2, 3], b"labels": [0]}))
    with pytest.raises(ValueError, match="expected uint8"):
        data.read_cifar_batch(tmp_path / "b")


def test_cifar_download_unpacks_into_the_cache_and_loads(tmp_path, monkeypatch, capsys, isolated):
    files = cifar_files()
    archive = cifar_tar(files)
    urls = serve(tmp_path / "server", {"cifar-10-python.tar.gz": archive})
    monkeypatch.setitem(data.DATASETS, "cifar10",
                        spec("cifar10", {"cifar-10-python.tar.gz": archive}, urls, extracted=md5s(files)))
    assert data.fetch("cifar10") == isolated["cache"] / "cifar10"
    assert listing(isolated["cache"] / "cifar10") == [data.CIFAR_DIR]           # archive removed, no temp folder
    x_train, y_train, x_test, y_test = data.load_cifar10()                       # from the cache now
    assert x_train.shape == (20, 3, 32, 32) and y_train.shape == (20,) and x_test.shape == (4, 3, 32, 32)
    assert len(isolated["opened"]) == 1
    assert "does not match" not in capsys.readouterr().err


def test_local_unpacked_cifar_that_differs_is_used_with_a_note(tmp_path, monkeypatch, capsys):
    files = cifar_files()
    monkeypatch.setitem(data.DATASETS, "cifar10",
                        spec("cifar10", {"cifar-10-python.tar.gz": b"unused"}, extracted=md5s(files)))
    decoded = cifar_files()
    decoded["data_batch_3"] = pickle.dumps(cifar_batch(4, seed=99), protocol=4)   # a re-encoded batch
    write(tmp_path / "local" / "cifar10" / data.CIFAR_DIR, decoded)
    assert data.fetch("cifar10", tmp_path / "local") == tmp_path / "local" / "cifar10"
    assert "do not match the canonical checksums" in capsys.readouterr().err
    write(tmp_path / "local" / "cifar10" / data.CIFAR_DIR, files)                 # now the originals: no note
    data.fetch("cifar10", tmp_path / "local")
    assert "do not match" not in capsys.readouterr().err


def test_a_local_cifar_archive_that_differs_is_unpacked_into_its_own_cache_folder(tmp_path, monkeypatch, capsys,
                                                                                  isolated):
    files = cifar_files()
    monkeypatch.setitem(data.DATASETS, "cifar10",
                        spec("cifar10", {"cifar-10-python.tar.gz": b"the canonical bytes"}, extracted=md5s(files)))
    archive = cifar_tar(files)
    write(tmp_path / "local" / "cifar10", {"cifar-10-python.tar.gz": archive})
    folder = data.fetch("cifar10", tmp_path / "local")
    assert folder == isolated["cache"] / "cifar10" / f"local-{sha(archive)[:12]}"
    assert (folder / data.CIFAR_DIR / "test_batch").read_bytes() == files["test_batch"]
    assert "does not match the canonical SHA-256" in capsys.readouterr().err
    assert not (isolated["cache"] / "cifar10" / data.CIFAR_DIR).exists()          # the canonical slot stays empty


def test_an_archive_with_a_path_traversal_member_is_refused(tmp_path):
    evil = tarfile.TarInfo("../evil.txt")
    evil.size = 4
    (tmp_path / "a.tar.gz").write_bytes(cifar_tar(cifar_files(), extra=[(evil, b"evil")]))
    with pytest.raises(data.DataError, match="outside the target folder"):
        data.extract_tar(tmp_path / "a.tar.gz", tmp_path / "out", data.CIFAR_DIR)
    assert not (tmp_path / "evil.txt").exists() and listing(tmp_path / "out") == []


def test_an_archive_with_a_symlink_is_refused(tmp_path):
    link = tarfile.TarInfo(f"{data.CIFAR_DIR}/data_batch_1")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    (tmp_path / "a.tar.gz").write_bytes(cifar_tar({}, extra=[(link, None)]))
    with pytest.raises(data.DataError, match="link or special file"):
        data.extract_tar(tmp_path / "a.tar.gz", tmp_path / "out", data.CIFAR_DIR)
    assert listing(tmp_path / "out") == []


# --- the canonical table and the command line ---------------------------------------------------
def test_the_canonical_table_is_complete():
    mnist, cifar, text = (data.DATASETS[n] for n in ("mnist", "cifar10", "tinyshakespeare"))
    assert sorted(f.name for f in mnist.files) == sorted(["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                                          "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"])
    by_name = {f.name: f.sha256 for f in mnist.files}
    assert by_name["t10k-images-idx3-ubyte.gz"] == SHA_T10K_IMAGES
    assert by_name["t10k-labels-idx1-ubyte.gz"] == SHA_T10K_LABELS
    assert text.files[0].sha256 == SHA_SHAKESPEARE
    assert cifar.files[0].urls == ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",)
    assert sorted(cifar.extracted) == sorted([*data.CIFAR_TRAIN, data.CIFAR_TEST, "batches.meta"])
    for ds in (mnist, cifar, text):
        for f in ds.files:
            assert len(f.sha256) == 64 and int(f.sha256, 16) >= 0, f.name
            assert f.urls and all(u.startswith("https://") for u in f.urls), f.urls
    assert all(len(f.urls) >= 2 and all(u.endswith("/" + f.name) for u in f.urls) for f in mnist.files)
    assert text.files[0].urls[0] == "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"


def test_cli_fetch_prints_the_path_and_fails_with_the_instructions(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(data.DATASETS, "tinyshakespeare", spec("tinyshakespeare", {"input.txt": b"text"}))
    write(tmp_path / "local" / "tinyshakespeare", {"input.txt": b"text"})
    assert data.main(["fetch", "tinyshakespeare", "--data-dir", str(tmp_path / "local")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "local" / "tinyshakespeare" / "input.txt")
    assert data.main(["fetch", "tinyshakespeare"]) == 1                          # no URLs, nothing cached
    err = capsys.readouterr().err
    assert err.startswith("error: TINYSHAKESPEARE: could not download input.txt") and "TINYTORCH_DATA" in err


def test_cli_checksums_says_which_files_are_canonical(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(data.DATASETS, "tinyshakespeare", spec("tinyshakespeare", {"input.txt": b"text"}))
    write(tmp_path / "d" / "tinyshakespeare", {"input.txt": b"text"})
    write(tmp_path / "d" / "mnist", {"t10k-labels-idx1-ubyte.gz": b"not the labels", "notes.md": b"hi"})
    assert data.main(["checksums", str(tmp_path / "d")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"{sha(b'hi')}  mnist/notes.md",
                     f"{sha(b'not the labels')}  mnist/t10k-labels-idx1-ubyte.gz  # NOT canonical (SHA-256 differs)",
                     f"{sha(b'text')}  tinyshakespeare/input.txt  # canonical"]
