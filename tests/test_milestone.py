"""Milestones through their real gate and their real training, quick runs."""

from __future__ import annotations

import csv
import gzip
import json
import os
import pickle
import struct
import subprocess
import sys

import numpy as np
import pytest

from support import COURSE, build_submission

pytestmark = pytest.mark.slow


def _milestone(*args, number="1", **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TINYTORCH_", "FORCE"))}
    return subprocess.run([sys.executable, "-m", "grading", "milestone", number, *args], capture_output=True,
                          text=True, timeout=600, cwd=COURSE.root, env={**clean, **env})


def _assert_locked(tmp_path, number: str, keep: set, missing: list, first_passed: str):
    """Milestone `number` on a submission with only `keep` finished: refused, naming each module in
    `missing` as not_started and not the passed module `first_passed`, with nothing written."""
    build_submission(tmp_path, keep=keep)
    proc = _milestone("--quick", "--out", str(tmp_path / "out"), number=number, TINYTORCH_ROOT=str(tmp_path))
    assert proc.returncode != 0
    assert "locked" in proc.stderr and all(f"{m}: not_started" in proc.stderr for m in missing), proc.stderr
    assert f"{first_passed}:" not in proc.stderr.split("locked", 1)[1]
    assert not (tmp_path / "out" / "metrics.json").exists()


def test_milestone_1_is_locked_until_modules_01_to_04_pass(tmp_path):
    _assert_locked(tmp_path, "1", {"01", "02"}, ["03", "04"], "01")


def test_milestone_1_reaches_its_criterion_with_the_reference(tmp_path):
    out = tmp_path / "out"
    proc = _milestone("--quick", "--out", str(out), TINYTORCH_SOURCE="solutions")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["passed"] is True and metrics["forced"] is False
    assert metrics["accuracy"] >= COURSE.milestone("1").criteria["accuracy"]
    for png in ("decision_boundary.png", "convergence.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "report.md").read_text().startswith("# Milestone 1: Perceptron")


def test_force_runs_a_locked_milestone_and_says_so(tmp_path):
    # Everything finished except one systems question of module 04: 04 is `partial`, the
    # milestone is locked, and yet the perceptron can train.
    wrong_answer = "\n\ndef loss_memory_bytes(*args, **kwargs):\n    return -1\n"
    build_submission(tmp_path, edits={"04": lambda text: text + wrong_answer})
    out = tmp_path / "out"
    locked = _milestone("--quick", "--out", str(out), TINYTORCH_ROOT=str(tmp_path))
    assert locked.returncode != 0 and "04: partial" in locked.stderr
    forced = _milestone("--quick", "--force", "--out", str(out), TINYTORCH_ROOT=str(tmp_path))
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "FORCE" in forced.stdout
    assert json.loads((out / "metrics.json").read_text())["forced"] is True
    assert "does not count" in (out / "report.md").read_text()


def _tiny_mnist(root, n_train=600, n_test=200, seed=0):
    """MNIST's four files in the canonical gzipped IDX format, under root/mnist/, holding made-up
    digits: each class a fixed random pattern of ink, drawn with random brightness and noise."""
    rng = np.random.default_rng(seed)
    patterns = np.zeros((10, 28, 28))
    patterns[:, 6:22, 6:22] = rng.random((10, 16, 16)) < 0.25
    folder = root / "mnist"
    folder.mkdir(parents=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n)
        images = patterns[labels] * rng.uniform(150, 255, (n, 1, 1)) + rng.uniform(0, 60, (n, 28, 28))
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            array = np.clip(array, 0, 255).astype(np.uint8)
            header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
            (folder / f"{split}-{kind}-ubyte.gz").write_bytes(gzip.compress(header + array.tobytes()))
    return root


def test_milestone_2_is_locked_until_modules_01_to_07_pass(tmp_path):
    _assert_locked(tmp_path, "2", {"01", "02", "03", "04", "05"}, ["06", "07"], "05")


def test_milestone_2_trains_the_mlp_with_the_reference_on_a_tiny_mnist(tmp_path):
    out = tmp_path / "out"
    data = _tiny_mnist(tmp_path / "data")
    proc = _milestone("--quick", "--out", str(out), "--data-dir", str(data), number="2", TINYTORCH_SOURCE="solutions")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["passed"] is True and metrics["forced"] is False and metrics["quick"] is True
    assert 0.5 <= metrics["target"] <= metrics["accuracy"]             # well above chance (10%)
    assert metrics["data"]["n_train"] + metrics["data"]["n_val"] == 600 and metrics["data"]["n_test"] == 200
    assert metrics["mlp"]["params"] == 784 * 128 + 128 + 128 * 10 + 10 and metrics["baseline"]["params"] == 7850
    assert len(metrics["mlp"]["val_accuracy"]) == metrics["mlp"]["epochs_run"] >= metrics["mlp"]["best_epoch"] >= 1
    rows = {row["batch_size"]: row for row in metrics["memory"]}
    assert rows[128]["activation_memory_bytes"] == 128 * (784 + 128 + 10) * 4
    assert rows[128]["fixed_bytes"] == 4 * metrics["mlp"]["params"] * 4       # params, grads, Adam m and v
    for row in rows.values():                                               # the graph keeps more than the floor
        assert row["graph_activation_bytes"] > row["shape_activation_bytes"] > row["activation_memory_bytes"]
    assert rows[2048]["graph_activation_bytes"] > 60 * rows[32]["graph_activation_bytes"]   # linear in the batch
    assert (out / "training_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "mlp_best.npz").is_file() and (out / "baseline_best.npz").is_file()
    assert (out / "report.md").read_text().startswith("# Milestone 2: MLP on MNIST")


def _tiny_cifar(root, per_file=96, n_test=200, seed=0):
    """CIFAR-10's python batches (pickled dicts: b"data" uint8 (N, 3072), b"labels"), under
    root/cifar10/cifar-10-batches-py/, holding made-up photographs: each class a colour of its
    own in a band across the middle (so crops and flips keep it), on noise."""
    rng = np.random.default_rng(seed)
    colours = rng.uniform(0, 255, (10, 3, 1, 1))
    folder = root / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        n = n_test if name == "test_batch" else per_file
        labels = rng.integers(0, 10, n)
        images = rng.uniform(0, 255, (n, 3, 32, 32))
        images[:, :, 8:24, :] = 0.8 * colours[labels] + rng.uniform(0, 50, (n, 3, 16, 32))
        batch = {b"batch_label": name.encode(), b"labels": [int(v) for v in labels],
                 b"data": np.clip(images, 0, 255).astype(np.uint8).reshape(n, 3072),
                 b"filenames": [b"made_up.png"] * n}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=4))
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"class"] * 10}, protocol=4))
    return root


def test_milestone_3_is_locked_until_modules_01_to_09_pass(tmp_path):
    _assert_locked(tmp_path, "3", {"01", "02", "03", "04", "05", "06", "07", "08"}, ["09"], "08")


def test_milestone_3_trains_the_cnn_with_the_reference_on_a_tiny_cifar(tmp_path):
    out = tmp_path / "out"
    data = _tiny_cifar(tmp_path / "data")
    proc = _milestone("--quick", "--out", str(out), "--data-dir", str(data), number="3", TINYTORCH_SOURCE="solutions")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["passed"] is True and metrics["forced"] is False and metrics["quick"] is True
    assert 0.2 <= metrics["target"] <= metrics["accuracy"]              # well above chance (10%)
    assert metrics["criteria_target"] == COURSE.milestone("3").criteria["accuracy"]
    assert metrics["data"]["n_train"] + metrics["data"]["n_val"] == 5 * 96 and metrics["data"]["n_test"] == 200
    conv = 3 * 32 * 9 + 32 * 64 * 9 + 64 * 128 * 9                     # no conv bias: BatchNorm follows
    assert metrics["cnn"]["params"] == conv + 2 * (32 + 64 + 128) + 2048 * 10 + 10
    assert metrics["mlp"]["params"] == 3072 * 256 + 256 + 256 * 10 + 10
    cnn = metrics["cnn"]
    assert len(cnn["test_accuracy_per_epoch"]) == len(cnn["train_seconds_per_epoch_cumulative"]) == cnn["epochs_run"]
    assert cnn["test_accuracy_per_epoch"][cnn["best_epoch"] - 1] == cnn["test_accuracy"]   # BN statistics restored too
    layers = metrics["systems"]["layers"]
    assert [r["kind"] for r in layers].count("Conv2d") == 3 and layers[-1]["kind"] == "Linear"
    assert all(r["forward_ms"] > 0 and r["backward_ms"] > 0 for r in layers if r["kind"] in ("Conv2d", "Linear"))
    assert layers[0]["flops"] == 2 * 64 * 32 * 32 * 32 * 27 and layers[0]["im2col_bytes"] == 27 * 64 * 32 * 32 * 4
    split = metrics["systems"]["split"]
    assert sum(part["fraction_of_time"] for name, part in split.items() if "of which" not in name) == pytest.approx(1, abs=1e-3)
    for png in ("training_curves.png", "filters.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with np.load(out / "cnn_best_bn.npz") as bn:
        assert sorted(bn.files)[:2] == ["bn0_running_mean", "bn0_running_var"] and len(bn.files) == 6
    assert (out / "cnn_best.npz").is_file() and (out / "mlp_best.npz").is_file()
    assert (out / "report.md").read_text().startswith("# Milestone 3: CNN on CIFAR-10")


def _tiny_shakespeare(root):
    """A small stand-in for Tiny Shakespeare (no network here): speeches with names and a rhythm."""
    rng = np.random.default_rng(4)
    names = ["ROMEO", "JULIET", "MERCUTIO", "NURSE", "TYBALT"]
    words = "the and my lord love night thou art sweet fair death come hence what say good".split()
    speeches = []
    for _ in range(1500):
        line = " ".join(rng.choice(words, int(rng.integers(4, 9))))
        speeches.append(f"{rng.choice(names)}:\n{line.capitalize()}.\n")
    folder = root / "tinyshakespeare"
    folder.mkdir(parents=True)
    (folder / "input.txt").write_text("\n".join(speeches), encoding="utf-8")
    return root


def test_milestone_4_trains_the_gpt_with_the_reference_on_a_small_text(tmp_path):
    out = tmp_path / "out"
    data = _tiny_shakespeare(tmp_path / "data")
    proc = _milestone("--quick", "--out", str(out), "--data-dir", str(data), number="4", TINYTORCH_SOURCE="solutions")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["passed"] is True and metrics["forced"] is False
    assert metrics["val_loss"] < metrics["target"] and metrics["perplexity"] == pytest.approx(np.exp(metrics["val_loss"]))
    assert metrics["generation"]["same_tokens"] is True
    assert len(metrics["samples"]) == 3 and all(len(s) >= 100 for s in metrics["samples"].values())
    assert (out / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "# Milestone 4: TinyGPT on Tiny Shakespeare" in (out / "report.md").read_text()


def test_milestone_5_is_locked_until_modules_01_to_19_pass(tmp_path):
    _assert_locked(tmp_path, "5", {f"{i:02d}" for i in range(1, 20)} - {"18"}, ["18"], "17")


def test_milestone_5_profiles_prunes_quantizes_and_benchmarks_both_models_with_the_reference(tmp_path):
    out, data = tmp_path / "out", tmp_path / "data"
    _tiny_cifar(data)
    _tiny_shakespeare(data)
    nowhere = str(tmp_path / "no-checkpoints")                  # a quick run never reads them anyway
    proc = _milestone("--quick", "--out", str(out), "--data-dir", str(data), "--cnn-dir", nowhere, "--gpt-dir", nowhere,
                      number="5", TINYTORCH_SOURCE="solutions")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["passed"] is True and metrics["quick"] is True
    assert metrics["criteria_values"] == COURSE.milestone("5").criteria
    for name, baseline in (("cnn", "float32"), ("gpt", "float32, no cache")):
        part = metrics[name]
        assert "trained here (quick run)" in part["source"]
        rows = {r["model"]: r for r in part["rows"]}
        assert set(rows) >= {baseline, "pruned 50% + fused" if name == "cnn" else "pruned 50% + KV cache"}
        for row in rows.values():
            low, median, high = ((row["latency_p10_ms"], row["latency_ms"], row["latency_p90_ms"]) if name == "cnn" else
                                 (row["ms_per_token_p10"], row["ms_per_token"], row["ms_per_token_p90"]))
            assert 0 <= row["accuracy"] <= 1 and 0 < low <= median <= high
        result = part["result"]
        assert result["baseline"] == baseline and result["chosen"] in rows
        assert result["speedup"] == pytest.approx(rows[baseline][_latency(name)] / rows[result["chosen"]][_latency(name)])
        assert result["relative_accuracy_change"] == pytest.approx(
            (rows[result["chosen"]]["accuracy"] - rows[baseline]["accuracy"]) / rows[baseline]["accuracy"])
        assert part["frontier"] and set(part["frontier"]) <= set(rows)
        assert part["profile"]["parameters"] == rows[baseline]["parameters"] > 0
    cnn = {r["model"]: r for r in metrics["cnn"]["rows"]}
    assert cnn["pruned 70% + fused"]["parameters"] < cnn["pruned 50% + fused"]["parameters"] < cnn["float32"]["parameters"]
    assert cnn["fused"]["accuracy"] == cnn["float32"]["accuracy"]                    # folding BatchNorm is exact
    assert cnn["fused + int8"]["size_bytes"] < cnn["fused"]["size_bytes"]             # the Linear head in 1 byte
    assert cnn["fused + int8"]["accuracy"] == pytest.approx(cnn["float32"]["accuracy"], abs=0.05)
    gpt = {r["model"]: r for r in metrics["gpt"]["rows"]}
    assert gpt["float32 + KV cache"]["accuracy"] == gpt["float32, no cache"]["accuracy"]   # the cache changes no number
    assert gpt["int8 weights + KV cache"]["size_bytes"] < 0.5 * gpt["float32, no cache"]["size_bytes"]
    assert gpt["pruned 50% + KV cache"]["parameters"] < gpt["float32, no cache"]["parameters"]
    assert metrics["gpt"]["cache_same_tokens"] is True
    with open(out / "results.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert len(table) == len(cnn) + len(gpt) and {row["network"] for row in table} == {"cnn", "gpt"}
    for png in ("cnn_pareto_latency.png", "cnn_pareto_size.png", "gpt_pareto_latency.png", "gpt_pareto_size.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (out / "report.md").read_text()
    assert report.startswith("# Milestone 5: Systems capstone") and "Pareto frontier" in report


def _latency(name: str) -> str:
    return "latency_ms" if name == "cnn" else "ms_per_token"


CHECKPOINT_ROUND_TRIP = """
import json, sys
import numpy as np
from milestones.common import milestone_program
program = milestone_program("04_tinygpt")
folder = sys.argv[1]
tokenizer = program.CharTokenizer().build_vocab("to be or not to be")
model = program.GPT(tokenizer.vocab_size, 16, 1, 2, 8, rng=np.random.default_rng(0))
program.save_checkpoint(f"{folder}/gpt.npz", model, tokenizer)
loaded, chars = program.load_checkpoint(f"{folder}/gpt.npz")
ids = np.array([[1, 2, 3, 4]])
assert chars.id_to_char == tokenizer.id_to_char
assert np.array_equal(loaded(ids).data, model(ids).data)
wrong = {"vocab_size": tokenizer.vocab_size, "embed_dim": 8, "num_layers": 1, "num_heads": 2, "max_seq_len": 8}
np.savez(f"{folder}/bad.npz", config=json.dumps(wrong), chars=json.dumps(tokenizer.id_to_char),
         **{f"p{i}": p.data for i, p in enumerate(model.parameters())})
try:
    program.load_checkpoint(f"{folder}/bad.npz")
except ValueError as exc:
    assert "do not fit" in str(exc), exc
else:
    raise AssertionError("a checkpoint of another shape was loaded")
print("round trip ok")
"""


def test_milestone_4s_checkpoint_loads_back_into_the_same_model(tmp_path):
    """Milestone 5's full run starts from this file: the same outputs after loading, another shape refused."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TINYTORCH_", "FORCE"))}
    proc = subprocess.run([sys.executable, "-c", CHECKPOINT_ROUND_TRIP, str(tmp_path)], capture_output=True, text=True,
                          timeout=120, cwd=COURSE.root, env={**clean, "TINYTORCH_SOURCE": "solutions",
                                                             "PYTHONPATH": f"{COURSE.root}:{COURSE.root / 'tinytorch_stub'}"})
    assert proc.returncode == 0 and "round trip ok" in proc.stdout, proc.stdout + proc.stderr
