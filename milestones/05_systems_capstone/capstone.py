"""Milestone 5: the systems capstone. Your CNN and your TinyGPT, profiled, pruned, quantized, benchmarked.

What this milestone proves
    Modules 15-19 turn a working library into a measured, faster and smaller one. This program
    takes the two models you trained (milestone 3's CNN and milestone 4's GPT), finds where their
    time goes with your Profiler (15), makes versions of each with your quantization (17), your
    structured pruning followed by fine-tuning (18) and, for the GPT, your KV cache (14), and
    compares every version fairly with your Benchmark (19): the same inputs, warm-up, repeats,
    the median latency with its spread.

        trained model --profile--> where the time goes (per layer: ms, FLOPs, bytes)
             |
             +--> int8 weights (17)                       4x smaller Linear weights, same speed or slower
             +--> prune p of the units (18) --fine-tune-->   fewer FLOPs: really faster
             +--> pruned + int8
             +--> GPT: the KV cache (14) for every version   one position per new token, not the context
             |
        Benchmark (19): accuracy, latency (p10-p90), size  -->  Pareto frontiers, the chosen version

    The bar (course.toml), for BOTH models: a version at least 2x faster than the original with
    less than 5% relative accuracy loss. CNN: test accuracy, latency of a forward pass on a batch
    of test images. GPT: next-character accuracy on held-out validation windows (the loss is
    reported beside it), latency per generated character. The version is chosen on one set of
    data (CIFAR-10's validation split; half of the GPT's validation windows) and judged on
    another (the test set; the other half), so the choice cannot flatter the result.

    Where the models come from: milestone 3's and milestone 4's checkpoints (their out/ folders,
    or --cnn-dir and --gpt-dir) when present. Otherwise this program trains small versions of the
    same networks first, in a few minutes, and the report says so. A --quick run always trains
    tiny versions on a small slice of the data (the course's own tests).

The systems angle
    Pruning removes whole filters and hidden units, so every matrix really shrinks: FLOPs and
    time fall together. Quantization stores each Linear weight in 1 byte instead of 4, but
    NumPy has no int8 matrix product in BLAS: int8 saves memory here, not time, and the tables
    show it. The KV cache changes no number the model computes, only how much it recomputes.

How to run
    make milestone N=5                            # after modules 01-19 pass (uses the checkpoints)
    make milestone N=5 QUICK=1 OUT=/tmp/m5        # a short run (seconds)
    python -m grading milestone 5 --cnn-dir DIR --gpt-dir DIR    # checkpoints from elsewhere

Outputs (in --out, default milestones/05_systems_capstone/out/)
    cnn_pareto_latency.png, cnn_pareto_size.png    accuracy against latency and against size
    gpt_pareto_latency.png, gpt_pareto_size.png
    results.csv                                    every version of both models, every column
    metrics.json, report.md
"""

from __future__ import annotations

import copy
import csv
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # run as a script: find `milestones`

from milestones.common import REPO, Context, Outcome, Progress, count_params, main, milestone_program, setup  # noqa: E402

setup()                                   # one BLAS thread, plots to files: before NumPy loads
import numpy as np  # noqa: E402

from tinytorch.benchmarking.benchmark import (  # noqa: E402
    Benchmark, accuracy, as_batches, latency_stats, pareto_frontier, plot_pareto_frontier, time_call)
from tinytorch.core.autograd import no_grad  # noqa: E402
from tinytorch.core.layers import Sequential, named_modules  # noqa: E402
from tinytorch.core.losses import CrossEntropyLoss  # noqa: E402
from tinytorch.core.optimizers import AdamW  # noqa: E402
from tinytorch.core.tensor import Tensor  # noqa: E402
from tinytorch.core.training import Trainer  # noqa: E402
from tinytorch.manifest import load_course  # noqa: E402
from tinytorch.core.activations import ReLU  # noqa: E402
from tinytorch.core.spatial import BatchNorm2d, Conv2d, MaxPool2d  # noqa: E402
from tinytorch.optimization.compression import distillation_loss, fine_tune, structured_prune  # noqa: E402
from tinytorch.optimization.quantization import calibrate, model_size_bytes, quantize_model  # noqa: E402
from tinytorch.profiling.profiler import Profiler  # noqa: E402

cnn_program = milestone_program("03_cnn")            # build_cnn, load_data, loaders, train, bn_buffers
gpt_program = milestone_program("04_tinygpt")        # GPT settings, load_data, windows, train, checkpoints

# ---------------------------------------------------------------------------------------------
# Settings: everything a student might want to change, in one place
# ---------------------------------------------------------------------------------------------

CRITERIA = load_course().milestone("5").criteria
MIN_SPEEDUP = CRITERIA["speedup"]                     # 2.0: the chosen version's latency speed-up ...
MAX_RELATIVE_LOSS = CRITERIA["relative_accuracy_loss"]  # 0.05: ... with less than 5% of the accuracy lost

PRUNE_RATIOS = (0.5, 0.7)      # fractions of each pruned layer's units (filters, hidden units) removed
LATENCY_ROUNDS = 5             # latency: rounds in which every version takes its turn (drift hits all alike) ...
LATENCY_CALLS = 3              # ... of this many timed calls per version (after one warm-up call)

CNN_LATENCY_BATCH = 100        # test images per forward pass timed (and per accuracy batch)
CNN_FT_EPOCHS = 2              # fine-tuning after pruning, over the training split ...
CNN_FT_LR = 1e-3               # ... AdamW from this rate, cosine to a hundredth of it, ...
DISTILL_ALPHA = 0.5            # ... learning from the original model too (module 18's distillation_loss)
DISTILL_TEMPERATURE = 4.0
CNN_CALIBRATION_BATCHES = 4    # training batches that fix the int8 input ranges
CNN_FALLBACK = dict(train_images=20_000, epochs=3)    # no milestone-3 checkpoint: a short training

GPT_EVAL_BATCHES = 8           # batches of validation windows (of the model's context) per half
GPT_PROMPT = "ROMEO:\nWhat say you, "                  # the generation latency's prompt
GPT_NEW_TOKENS = 96            # characters generated per timed call (prompt + these fit the context)
GPT_FT_STEPS = 200             # fine-tuning steps after pruning (batches of training windows)
GPT_FT_LR = 3e-4               # AdamW, milestone 4's final rate
GPT_FALLBACK_STEPS = 400       # no milestone-4 checkpoint: its model trained this many steps (~5 min)

QUICK = dict(cnn_ft_epochs=1, cnn_train_epochs=2, gpt_eval_batches=4, gpt_new_tokens=24,
             gpt_ft_steps=30, gpt_train_steps=150, gpt_prompt="RO",
             min_speedup=1.0, max_loss=0.25, latency_rounds=2)   # a quick run's bar: the pipeline works, on tiny models


# ---------------------------------------------------------------------------------------------
# Shared steps: distillation, version choice, rows, plots
# ---------------------------------------------------------------------------------------------


class Distilled:
    """`epochs` passes over `loader` as one pass for fine_tune, each step at its cosine learning rate,
    each batch (x, (y, the teacher's logits for x)) for distillation_loss."""

    def __init__(self, loader, epochs: int, optimizer, lr: float, teacher):
        self.loader, self.epochs, self.optimizer, self.lr, self.teacher = loader, epochs, optimizer, lr, teacher
        self.steps = epochs * len(loader)

    def __len__(self) -> int:
        return self.steps

    def __iter__(self):
        step = 0
        for _ in range(self.epochs):
            for x, y in self.loader:
                progress = step / max(1, self.steps - 1)
                self.optimizer.lr = self.lr * (0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * progress)))
                with no_grad():
                    teacher = self.teacher(x).data
                yield x, (y, teacher)
                step += 1


def distilled_loss(logits, target):
    """Module 18's distillation_loss, with the labels and the teacher's logits that Distilled yields."""
    labels, teacher = target
    return distillation_loss(logits, teacher, labels, temperature=DISTILL_TEMPERATURE, alpha=DISTILL_ALPHA)


def fold_batchnorm(model):
    """An inference copy of a CNN with every Conv2d -> BatchNorm2d -> ReLU -> MaxPool2d block fused.

    In eval mode a BatchNorm2d is a per-channel affine map, y = s * (conv(x) - mean) + beta with
    s = gamma / sqrt(var + eps): folded into the convolution (weights times s, a bias of
    beta - s * mean) it costs nothing. ReLU and max-pooling commute (max of ReLUs = ReLU of the
    max), so the ReLU moves after the pool and runs on a quarter of the numbers. The outputs are
    the same up to float rounding; each block's three passes over its feature maps become one.
    """
    fused = copy.deepcopy(model)
    for _, seq in named_modules(fused):
        if not isinstance(seq, Sequential):
            continue
        layers, out, i = seq.layers, [], 0
        while i < len(layers):
            block = layers[i:i + 4]
            if (len(block) == 4 and isinstance(block[0], Conv2d) and isinstance(block[1], BatchNorm2d)
                    and isinstance(block[2], ReLU) and isinstance(block[3], MaxPool2d)):
                conv, bn = block[0], block[1]
                scale = bn.gamma.data / np.sqrt(bn.running_var.data + bn.eps)                  # (C,)
                folded = Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
                                padding=conv.padding, bias=True)
                folded.weight.data = (conv.weight.data * scale[:, None, None, None]).astype(conv.weight.dtype)
                shift = conv.bias.data if conv.bias is not None else 0.0
                folded.bias.data = (bn.beta.data + scale * (shift - bn.running_mean.data)).astype(conv.weight.dtype)
                out += [folded, block[3], block[2]]
                i += 4
            else:
                out.append(layers[i])
                i += 1
        seq.layers = out
    return fused.eval()


def stored_bytes(model) -> int:
    """module 17's model_size_bytes of what the model stores for good: its weights and buffers.

    model_size_bytes counts what a model holds now, and a MultiHeadAttention holds the attention
    weights of its last forward pass (`last_weights`, (B, H, T, T)): after calibration or a
    benchmark they would count as model size. They are dropped first, in every version alike.
    """
    for _, module in named_modules(model):
        if getattr(module, "last_weights", None) is not None:
            module.last_weights = None
    return model_size_bytes(model)


def benchmark(versions: dict, datasets: dict, metrics: list, describe) -> list[dict]:
    """Module 19's Benchmark, one version at a time so that each prints its line as it finishes.

    Every version gets the same arrays: one Benchmark per version measures exactly what one
    Benchmark of all of them would. (Latency is timed apart, the versions taking turns:
    `interleaved_latency`.)
    `describe(row)` adds this program's own columns to a row and returns its line.
    """
    rows = []
    for name, version in versions.items():
        row = Benchmark({name: version}, datasets, metrics).run()[0]
        print(f"  {describe(row)}", flush=True)
        rows.append(row)
    return rows


def interleaved_latency(calls: dict, rounds: int) -> dict:
    """{name: {"median_ms", "p10_ms", "p90_ms"}} of each zero-argument function, with module 19's timer.

    The functions take turns: `rounds` rounds of LATENCY_CALLS timed calls each (one warm-up call in
    the first). Timing one version after another would hand a slow spell of the machine (another
    program, the CPU's clock) to whichever version ran then; taking turns spreads it over all.
    """
    times = {name: [] for name in calls}
    for round_ in range(rounds):
        for name, fn in calls.items():
            times[name] += time_call(fn, warmup=1 if round_ == 0 else 0, repeats=LATENCY_CALLS)
    return {name: latency_stats(t) for name, t in times.items()}


def choose(rows: list[dict], baseline: str, latency: str) -> dict:
    """The fastest version whose selection accuracy is within MAX_RELATIVE_LOSS of the baseline's."""
    base = next(r for r in rows if r["model"] == baseline)
    floor = (1 - MAX_RELATIVE_LOSS) * base["select_accuracy"]
    eligible = [r for r in rows if r["select_accuracy"] >= floor]
    return min(eligible, key=lambda r: r[latency])


def judge(rows: list[dict], baseline: str, chosen: dict, latency: str) -> dict:
    """The chosen version against the baseline on the held-out data: speed-up and relative loss."""
    base = next(r for r in rows if r["model"] == baseline)
    return {"baseline": baseline, "chosen": chosen["model"],
            "speedup": base[latency] / chosen[latency],
            "baseline_accuracy": base["accuracy"], "chosen_accuracy": chosen["accuracy"],
            "relative_accuracy_change": (chosen["accuracy"] - base["accuracy"]) / base["accuracy"],
            "size_ratio": base["size_bytes"] / chosen["size_bytes"]}


def plots(rows: list[dict], out: Path, prefix: str, latency: str) -> list[str]:
    """The Pareto frontiers (module 19): accuracy against latency, and against size."""
    names = [f"{prefix}_pareto_latency.png", f"{prefix}_pareto_size.png"]
    plot_pareto_frontier(rows, out / names[0], x=latency, y="accuracy")
    plot_pareto_frontier(rows, out / names[1], x="size_bytes", y="accuracy")
    return names


def profiled(profile, runs: int = 3) -> list[dict]:
    """Profiler.profile_forward_pass's rows (`profile()` returns them), times averaged over `runs`
    runs after one warm-up run: one forward pass alone is at the mercy of a slow spell."""
    profile()
    all_runs = [profile() for _ in range(runs)]
    return [{**row, "time_ms": float(np.mean([r[i]["time_ms"] for r in all_runs]))} for i, row in enumerate(all_runs[0])]


def profile_rows(rows: list[dict], top: int = 6) -> list[dict]:
    """The `top` layers by forward time, as plain numbers (Profiler.profile_forward_pass's rows)."""
    total = sum(r["time_ms"] for r in rows) or 1.0
    ranked = sorted(rows, key=lambda r: r["time_ms"], reverse=True)[:top]
    return [{"name": r["name"], "type": r["type"], "time_ms": round(float(r["time_ms"]), 3),
             "fraction": round(float(r["time_ms"]) / total, 4), "flops": int(r["flops"]),
             "output_bytes": int(r["output_bytes"])} for r in ranked]


# ---------------------------------------------------------------------------------------------
# The CNN
# ---------------------------------------------------------------------------------------------


def cnn_source(ctx: Context, data: dict, seeds) -> tuple:
    """(model, how it was obtained): milestone 3's checkpoint, or a short training of the same CNN."""
    model_seed, order_seed = seeds
    model = cnn_program.build_cnn(np.random.default_rng(model_seed))
    folder = Path(ctx.options["cnn_dir"])
    weights, buffers = folder / "cnn_best.npz", folder / "cnn_best_bn.npz"
    if not ctx.quick and weights.is_file() and buffers.is_file():
        trainer = Trainer(model, AdamW(model.parameters()), CrossEntropyLoss())
        trainer.load_checkpoint(weights)
        with np.load(buffers) as saved:
            for name, tensor in cnn_program.bn_buffers(model).items():
                tensor.data = np.array(saved[name], copy=True)
        return model, f"milestone 3's checkpoint ({weights})"
    epochs = QUICK["cnn_train_epochs"] if ctx.quick else CNN_FALLBACK["epochs"]
    small = data if ctx.quick else {**data, "x_train": data["x_train"][:CNN_FALLBACK["train_images"]],
                                    "y_train": data["y_train"][:CNN_FALLBACK["train_images"]]}
    why = "quick run" if ctx.quick else f"no checkpoint in {folder}"
    print(f"CNN: {why}: training milestone 3's CNN for {epochs} epochs on {len(small['y_train']):,} images",
          flush=True)
    loader = cnn_program.train_loader(small, cnn_program.BATCH_SIZE, np.random.default_rng(order_seed), augment=True)
    result = cnn_program.train("CNN", model, AdamW(model.parameters(), lr=cnn_program.LR,
                                                   weight_decay=cnn_program.WEIGHT_DECAY),
                               small, epochs, loader, ctx.out / "cnn_trained.npz", cnn_program.LR, track_test=False)
    return model, (f"trained here ({why}): {epochs} epochs on {len(small['y_train']):,} images, "
                   f"test accuracy {result['test_accuracy']:.1%}")


def cnn_versions(ctx: Context, model, data: dict, rng: np.random.Generator) -> tuple[dict, dict]:
    """{name: model} of every version, and what pruning and quantizing reported.

    Every version but the original is deployed with its BatchNorms folded into the convolutions
    (`fold_batchnorm`, exact); pruned versions are fine-tuned, with distillation from the
    original, before they are folded.
    """
    versions, notes = {"float32": model, "fused": fold_batchnorm(model)}, {}
    calibration = [x for x, _ in cnn_program.eval_loader(data, "train")][:CNN_CALIBRATION_BATCHES]

    def quantized(source, name):
        q = copy.deepcopy(source)
        report = quantize_model(q)
        calibrate(q, calibration)
        notes[name] = {"layers": report["layers"], "bytes_before": stored_bytes(source), "bytes_after": stored_bytes(q)}
        return q.eval()

    versions["fused + int8"] = quantized(versions["fused"], "fused + int8")
    epochs = QUICK["cnn_ft_epochs"] if ctx.quick else CNN_FT_EPOCHS
    for ratio in PRUNE_RATIOS:
        name = f"pruned {ratio:.0%}"
        pruned = copy.deepcopy(model)
        report = structured_prune(pruned, ratio)
        optimizer = AdamW(pruned.parameters(), lr=CNN_FT_LR, weight_decay=cnn_program.WEIGHT_DECAY)
        batches = Distilled(cnn_program.train_loader(data, cnn_program.BATCH_SIZE, rng, augment=True), epochs,
                            optimizer, CNN_FT_LR, model)
        print(f"  {name}: {report['params_before']:,} -> {report['params_after']:,} parameters; fine-tuning "
              f"{epochs} epoch(s), {len(batches)} steps, distilling from the original", flush=True)
        started = time.perf_counter()
        losses = fine_tune(pruned, optimizer, distilled_loss, Progress(batches, name), epochs=1)
        notes[name] = {"params_before": report["params_before"], "params_after": report["params_after"],
                       "units": [[c["units_before"], c["units_after"]] for c in report["chains"]],
                       "fine_tune_steps": len(losses), "fine_tune_seconds": round(time.perf_counter() - started, 1),
                       "fine_tune_last_loss": float(np.mean(losses[-20:]))}
        versions[f"{name} + fused"] = fold_batchnorm(pruned.eval())
        versions[f"{name} + fused + int8"] = quantized(versions[f"{name} + fused"], f"{name} + fused + int8")
    return versions, notes


def cnn_data_seed(ctx: Context, own_seed) -> tuple:
    """(seed of the data split, milestone 3's metrics or None).

    With milestone 3's checkpoint, its own split: the seed it ran with (its metrics.json), spawned
    as its program does, so that the images it trained on stay out of this program's validation
    split and its test accuracy can be checked here. Otherwise this program's own seed.
    """
    folder = Path(ctx.options["cnn_dir"])
    metrics = folder / "metrics.json"
    if ctx.quick or not (folder / "cnn_best.npz").is_file() or not metrics.is_file():
        return own_seed, None
    earlier = json.loads(metrics.read_text(encoding="utf-8"))
    return np.random.SeedSequence(earlier.get("seed", 0)).spawn(6)[0], earlier


def run_cnn(ctx: Context, seeds) -> dict:
    own_data_seed, model_seed, order_seed, tune_seed = seeds
    data_seed, earlier = cnn_data_seed(ctx, own_data_seed)
    data = cnn_program.load_data(ctx, np.random.default_rng(data_seed))
    print(f"CNN data: {len(data['y_train']):,} train, {len(data['y_val']):,} validation, "
          f"{len(data['y_test']):,} test images", flush=True)
    model, source = cnn_source(ctx, data, (model_seed, order_seed))
    model.eval()

    profiler = Profiler()
    x = Tensor(data["x_test"][:CNN_LATENCY_BATCH])
    with no_grad():
        features = model.layers[0](x)
        layers = [{**row, "name": f"{part}.{row['name']}"}
                  for part, sub, inputs in (("features", model.layers[0], x), ("head", model.layers[1], features))
                  for row in profiled(lambda: profiler.profile_forward_pass(sub, inputs))]
    profile = {"parameters": profiler.count_parameters(model),
               "flops_per_image": profiler.count_flops(model, (1, *cnn_program.IMAGE_SHAPE)),
               "top_layers": profile_rows(layers)}
    print(f"CNN profile: {profile['parameters']:,} parameters, {profile['flops_per_image'] / 1e6:.1f} MFLOPs per "
          f"image; slowest layer {profile['top_layers'][0]['name']} ({profile['top_layers'][0]['type']}, "
          f"{profile['top_layers'][0]['fraction']:.0%} of the time)",
          flush=True)

    versions, notes = cnn_versions(ctx, model, data, np.random.default_rng(tune_seed))
    test = [(data["x_test"][i:i + CNN_LATENCY_BATCH], data["y_test"][i:i + CNN_LATENCY_BATCH])
            for i in range(0, len(data["y_test"]), CNN_LATENCY_BATCH)]
    rounds = QUICK["latency_rounds"] if ctx.quick else LATENCY_ROUNDS
    print(f"CNN benchmark: {len(versions)} versions on {len(data['y_test']):,} test images; latency of a batch of "
          f"{CNN_LATENCY_BATCH}, {rounds} x {LATENCY_CALLS} timed calls each, the versions taking turns", flush=True)
    val = as_batches((data["x_val"], data["y_val"]), "validation")
    x = Tensor(test[0][0])

    def forward(version):
        def run():
            with no_grad():
                version(x)
        return run

    latencies = interleaved_latency({name: forward(v.eval()) for name, v in versions.items()}, rounds)

    def describe(row: dict) -> str:
        row.update({"latency_ms": latencies[row["model"]]["median_ms"],
                    "latency_p10_ms": latencies[row["model"]]["p10_ms"],
                    "latency_p90_ms": latencies[row["model"]]["p90_ms"]})
        row["size_bytes"] = stored_bytes(versions[row["model"]])
        row["select_accuracy"] = accuracy(versions[row["model"]], val)
        return (f"{row['model']:28s} test {row['accuracy']:.2%}  val {row['select_accuracy']:.2%}  "
                f"{row['latency_ms']:7.1f} ms  {row['size_bytes'] / 1024:7.1f} KiB")

    rows = benchmark(versions, {"test": test}, ["accuracy", "memory", "parameters"], describe)
    chosen = choose(rows, "float32", "latency_ms")
    if earlier is not None:
        source += f"; milestone 3 measured {earlier['accuracy']:.2%} test accuracy, here {rows[0]['accuracy']:.2%}"
    return {"source": source, "profile": profile, "notes": notes, "rows": rows,
            "result": judge(rows, "float32", chosen, "latency_ms"),
            "frontier": [r["model"] for r in pareto_frontier(rows, x="latency_ms", y="accuracy")],
            "plots": plots(rows, ctx.out, "cnn", "latency_ms")}


# ---------------------------------------------------------------------------------------------
# The GPT
# ---------------------------------------------------------------------------------------------


def gpt_source(ctx: Context, data: dict, seeds) -> tuple:
    """(model, how it was obtained): milestone 4's checkpoint, or a short training of the same GPT."""
    model_seed, train_seed = seeds
    path = Path(ctx.options["gpt_dir"]) / gpt_program.CHECKPOINT
    if not ctx.quick and path.is_file():
        model, tokenizer = gpt_program.load_checkpoint(path)
        if tokenizer.id_to_char != data["tokenizer"].id_to_char:
            raise SystemExit(f"{path}: its characters are not those of this text; run milestone 4 again")
        return model, f"milestone 4's checkpoint ({path})"
    shape = gpt_program.QUICK["model"] if ctx.quick else gpt_program.MODEL
    steps = QUICK["gpt_train_steps"] if ctx.quick else GPT_FALLBACK_STEPS
    why = "quick run" if ctx.quick else f"no checkpoint at {path}"
    print(f"GPT: {why}: training milestone 4's GPT for {steps} steps", flush=True)
    model = gpt_program.enable_kv_cache(gpt_program.GPT(data["tokenizer"].vocab_size, **shape,
                                                        rng=np.random.default_rng(model_seed)))
    settings = {"batch_size": gpt_program.QUICK["batch_size"] if ctx.quick else gpt_program.BATCH_SIZE,
                "eval_every": max(1, steps // 4), "max_steps": steps, "warmup": min(gpt_program.WARMUP_STEPS, steps // 10),
                "eval_batches": 4, "time_budget": float("inf")}
    result = gpt_program.train(model, data, settings, np.random.default_rng(train_seed))
    return model, (f"trained here ({why}): {result['steps']} steps, "
                   f"validation loss {min(result['history'].val['loss']):.3f}")


class GPTVersion:
    """A version of the GPT as Benchmark sees it (forward on windows) plus how it generates."""

    def __init__(self, model, use_cache: bool):
        self.model, self.use_cache = model, use_cache

    def __call__(self, x):
        return self.model(x)

    def eval(self):
        self.model.eval()
        return self

    def parameters(self) -> list:
        return self.model.parameters()


def gpt_versions(ctx: Context, model, data: dict, rng: np.random.Generator) -> tuple[dict, dict]:
    context, batch = model.max_seq_len, gpt_program.QUICK["batch_size"] if ctx.quick else gpt_program.BATCH_SIZE
    versions = {"float32, no cache": GPTVersion(model, False), "float32 + KV cache": GPTVersion(model, True)}
    notes = {}

    def quantized(source, name):
        """int8 weights, dequantized in each forward (weight-only): calibrated (static) int8 would run
        NumPy's integer matmul, which has no BLAS: tens of times slower for a GPT's matrices."""
        q = copy.deepcopy(source)
        report = quantize_model(q)
        notes[name] = {"layers": report["layers"], "bytes_before": stored_bytes(source), "bytes_after": stored_bytes(q)}
        return GPTVersion(q, True)

    versions["int8 weights + KV cache"] = quantized(model, "int8 weights + KV cache")
    steps = QUICK["gpt_ft_steps"] if ctx.quick else GPT_FT_STEPS
    loss_fn = CrossEntropyLoss()

    def next_char_loss(logits, y):                                         # (B, T, V) against (B, T)
        b, t, v = logits.shape
        return loss_fn(logits.reshape(b * t, v), np.asarray(y).reshape(b * t))

    for ratio in PRUNE_RATIOS:
        name = f"pruned {ratio:.0%} + KV cache"
        pruned = copy.deepcopy(model)
        report = structured_prune(pruned, ratio)
        print(f"  {name}: MLP hidden units {report['chains'][0]['units_before']} -> "
              f"{report['chains'][0]['units_after']} in {len(report['chains'])} blocks; "
              f"fine-tuning {steps} steps", flush=True)
        batches = [gpt_program.windows(data["train"], batch, context, rng) for _ in range(steps)]
        started = time.perf_counter()
        losses = fine_tune(pruned, AdamW(pruned.parameters(), lr=GPT_FT_LR, betas=gpt_program.BETAS,
                                         weight_decay=gpt_program.WEIGHT_DECAY),
                           next_char_loss, Progress(batches, name), epochs=1)
        pruned.eval()
        notes[name] = {"params_before": report["params_before"], "params_after": report["params_after"],
                       "fine_tune_steps": len(losses), "fine_tune_seconds": round(time.perf_counter() - started, 1),
                       "fine_tune_last_loss": float(np.mean(losses[-20:]))}
        versions[name] = GPTVersion(pruned, True)
        versions[f"pruned {ratio:.0%} + int8 weights + KV cache"] = quantized(pruned, f"pruned {ratio:.0%} + int8 weights")
    return versions, notes


def run_gpt(ctx: Context, seeds) -> dict:
    model_seed, train_seed, eval_seed, tune_seed = seeds
    data = gpt_program.load_data(ctx)
    model, source = gpt_source(ctx, data, (model_seed, train_seed))
    model.eval()
    tokenizer, context = data["tokenizer"], model.max_seq_len
    batch = gpt_program.QUICK["batch_size"] if ctx.quick else gpt_program.BATCH_SIZE
    n_eval = QUICK["gpt_eval_batches"] if ctx.quick else GPT_EVAL_BATCHES
    eval_rng = np.random.default_rng(eval_seed)
    select = [gpt_program.windows(data["val"], batch, context, eval_rng) for _ in range(n_eval)]
    judged = [gpt_program.windows(data["val"], batch, context, eval_rng) for _ in range(n_eval)]

    profiler = Profiler()
    with no_grad():
        layers = profiled(lambda: profiler.profile_forward_pass(model, judged[0][0]))
    profile = {"parameters": profiler.count_parameters(model),
               "flops_per_window": profiler.count_flops(model, (1, context)), "top_layers": profile_rows(layers)}
    print(f"GPT profile: {profile['parameters']:,} parameters, {profile['flops_per_window'] / 1e6:.0f} MFLOPs per "
          f"window of {context}; slowest part {profile['top_layers'][0]['name']} "
          f"({profile['top_layers'][0]['fraction']:.0%})", flush=True)

    versions, notes = gpt_versions(ctx, model, data, np.random.default_rng(tune_seed))
    rounds = QUICK["latency_rounds"] if ctx.quick else LATENCY_ROUNDS
    print(f"GPT benchmark: {len(versions)} versions on {n_eval * batch} validation windows of {context} "
          f"characters; generating {GPT_NEW_TOKENS if not ctx.quick else QUICK['gpt_new_tokens']} characters "
          f"timed {rounds} x {LATENCY_CALLS} times each, the versions taking turns", flush=True)
    text = QUICK["gpt_prompt"] if ctx.quick else GPT_PROMPT
    prompt = np.asarray([tokenizer.encode(text)], dtype=np.int64)                   # (1, T0)
    tokens = min(QUICK["gpt_new_tokens"] if ctx.quick else GPT_NEW_TOKENS, context - prompt.shape[1])
    loss_fn, greedy = CrossEntropyLoss(), {}

    def generate(version):
        return lambda: version.model.generate(prompt, tokens, top_k=1, use_cache=version.use_cache)

    calls = interleaved_latency({name: generate(v) for name, v in versions.items()}, rounds)
    latencies = {name: {k: ms / tokens for k, ms in stats.items()} for name, stats in calls.items()}   # per character

    def describe(row: dict) -> str:
        version = versions[row["model"]]
        generation = latencies[row["model"]]
        row.update({"ms_per_token": generation["median_ms"], "ms_per_token_p10": generation["p10_ms"],
                    "ms_per_token_p90": generation["p90_ms"], "size_bytes": stored_bytes(version.model),
                    "select_accuracy": accuracy(version, as_batches(select, "selection")),
                    "val_loss": gpt_program.mean_loss(version.model, loss_fn, judged)})
        greedy[row["model"]] = version.model.generate(prompt, tokens, top_k=1, use_cache=version.use_cache)
        return (f"{row['model']:36s} accuracy {row['accuracy']:.2%}  loss {row['val_loss']:.3f}  "
                f"{row['ms_per_token']:6.2f} ms/char  {row['size_bytes'] / 1024:7.1f} KiB")

    # Latency here is per generated character (describe), not Benchmark's forward pass on a batch.
    rows = benchmark(versions, {"validation": judged}, ["accuracy", "memory", "parameters"], describe)
    chosen = choose(rows, "float32, no cache", "ms_per_token")
    return {"source": source, "profile": profile, "notes": notes, "rows": rows,
            "result": judge(rows, "float32, no cache", chosen, "ms_per_token"),
            "cache_same_tokens": bool(np.array_equal(greedy["float32, no cache"], greedy["float32 + KV cache"])),
            "sample": tokenizer.decode(greedy[chosen["model"]][0].tolist()),
            "frontier": [r["model"] for r in pareto_frontier(rows, x="ms_per_token", y="accuracy")],
            "plots": plots(rows, ctx.out, "gpt", "ms_per_token")}


# ---------------------------------------------------------------------------------------------
# The milestone
# ---------------------------------------------------------------------------------------------


def write_csv(path: Path, parts: dict) -> None:
    rows = [{"network": name, **row} for name, part in parts.items() for row in part["rows"]]
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def run(ctx: Context) -> Outcome:
    cnn_seeds, gpt_seeds = np.random.SeedSequence(ctx.seed).spawn(2)
    started = time.perf_counter()
    cnn = run_cnn(ctx, cnn_seeds.spawn(4))
    cnn_seconds = time.perf_counter() - started
    gpt = run_gpt(ctx, gpt_seeds.spawn(4))
    parts = {"cnn": cnn, "gpt": gpt}
    write_csv(ctx.out / "results.csv", parts)

    metrics = {"criteria_values": {"speedup": MIN_SPEEDUP, "relative_accuracy_loss": MAX_RELATIVE_LOSS},
               "seconds": {"cnn": round(cnn_seconds, 1), "gpt": round(time.perf_counter() - started - cnn_seconds, 1)},
               "settings": {"prune_ratios": list(PRUNE_RATIOS), "latency_rounds": LATENCY_ROUNDS,
                            "latency_calls": LATENCY_CALLS,
                            "cnn_latency_batch": CNN_LATENCY_BATCH, "cnn_fine_tune_epochs": CNN_FT_EPOCHS,
                            "gpt_fine_tune_steps": GPT_FT_STEPS, "gpt_new_tokens": GPT_NEW_TOKENS},
               **{name: {k: v for k, v in part.items() if k != "plots"} for name, part in parts.items()}}
    checks = {}
    min_speedup, max_loss = (QUICK["min_speedup"], QUICK["max_loss"]) if ctx.quick else (MIN_SPEEDUP, MAX_RELATIVE_LOSS)
    metrics["targets"] = {"speedup": min_speedup, "relative_accuracy_loss": max_loss}
    for name, label, measure in (("cnn", "CNN", "test accuracy"), ("gpt", "GPT", "next-character accuracy")):
        r = parts[name]["result"]
        checks[f"{label}: '{r['chosen']}' is {r['speedup']:.1f}x faster (>= {min_speedup:g}x)"] = \
            r["speedup"] >= min_speedup
        checks[f"{label}: {measure} {r['baseline_accuracy']:.1%} -> {r['chosen_accuracy']:.1%}, "
               f"{r['relative_accuracy_change']:+.1%} relative (less than {max_loss:.0%} lost)"] = \
            r["relative_accuracy_change"] > -max_loss
    checks["GPT: greedy generation gives the same characters with and without the KV cache"] = gpt["cache_same_tokens"]
    return Outcome(metrics=metrics, checks=checks, lines=report_lines(metrics, ctx.quick),
                   plots=cnn["plots"] + gpt["plots"])


def _kib(n: int) -> str:
    return f"{n / 1024:,.1f} KiB"


def _table(rows: list[dict], keys: tuple, unit: str, extra: tuple = ()) -> list[str]:
    """A markdown table of the versions; keys = the median, p10 and p90 latency columns."""
    median, low, high = keys
    head = ["version", "accuracy", *[e[0] for e in extra], f"latency ({unit})", "p10-p90", "size",
            "trainable parameters"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["model"], f"{r['accuracy']:.2%}", *[e[1](r) for e in extra], f"{r[median]:.2f}",
                 f"{r[low]:.2f}-{r[high]:.2f}", _kib(r["size_bytes"]), f"{r['parameters']:,}"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def report_lines(m: dict, quick: bool) -> list[str]:
    lines = ["## How the versions were chosen", "",
             f"For each network, the fastest version whose accuracy on the selection data (CIFAR-10's validation "
             f"split; one half of the GPT's validation windows) stays within {MAX_RELATIVE_LOSS:.0%} of the "
             f"original's is chosen; the criteria judge it on data the choice never saw (the test set; the other "
             f"half). Latencies are medians over {m['settings']['latency_rounds'] * m['settings']['latency_calls']} timed calls "
             f"after a warm-up, the versions taking turns, with the "
             "10th-90th percentile spread: two versions whose spreads overlap have not been shown to differ.", ""]
    if quick:
        lines += ["*Quick run: tiny models on a slice of the data; the numbers only show that the pipeline works.*", ""]
    for name, label, unit in (("cnn", "CNN (milestone 3)", "ms per batch"), ("gpt", "TinyGPT (milestone 4)", "ms per character")):
        part, r = m[name], m[name]["result"]
        keys = (("latency_ms", "latency_p10_ms", "latency_p90_ms") if name == "cnn"
                else ("ms_per_token", "ms_per_token_p10", "ms_per_token_p90"))
        extra = () if name == "cnn" else (("loss (nats)", lambda row: f"{row['val_loss']:.3f}"),)
        top = ", ".join(f"{t['name']} ({t['type']}) {t['fraction']:.0%}" for t in part["profile"]["top_layers"][:4])
        lines += [f"## {label}", "", f"Model: {part['source']}.", "",
                  f"Profile (module 15): {part['profile']['parameters']:,} parameters; where a forward pass's time "
                  f"goes: {top}.", "", *_table(part["rows"], keys, unit, extra), "",
                  f"**Chosen: {r['chosen']}**, {r['speedup']:.1f}x faster than {r['baseline']} and "
                  f"{r['size_ratio']:.1f}x smaller; accuracy {r['baseline_accuracy']:.2%} -> "
                  f"{r['chosen_accuracy']:.2%} ({r['relative_accuracy_change']:+.1%} relative). "
                  f"Pareto frontier (latency, accuracy): {', '.join(part['frontier'])}.", ""]
        for version, note in part["notes"].items():
            if "bytes_before" in note:
                lines.append(f"- {version}: {note['layers']} Linear layer(s) to int8, "
                             f"{_kib(note['bytes_before'])} -> {_kib(note['bytes_after'])}")
            else:
                lines.append(f"- {version}: {note['params_before']:,} -> {note['params_after']:,} parameters, "
                             f"fine-tuned {note['fine_tune_steps']} steps ({note['fine_tune_seconds']:.0f} s, "
                             f"last loss {note['fine_tune_last_loss']:.3f})")
        lines.append("")
    lines += ["## What the numbers say", "",
              "- Folding each BatchNorm into the convolution before it (and moving the ReLU after the pool) changes "
              "no prediction and removes two passes over every feature map: the CNN's free speed-up.",
              "- Pruning removes whole filters and hidden units: the matrices shrink, so FLOPs and time fall together; "
              "fine-tuning, learning from the original model's outputs (distillation), wins back most of the accuracy "
              "the cut lost.",
              "- int8 stores each Linear weight in one byte instead of four, but NumPy has no int8 matrix product in "
              "BLAS: the int8 versions are smaller, not faster (compare their latencies; a QuantizedLinear is for "
              "inference only, so its weights are not trainable parameters).",
              "- The KV cache changes no number the GPT computes (the same greedy characters with and without it) "
              "and turns each new character from a pass over the whole context into a pass over one position.",
              "", "Sample from the chosen GPT version (greedy):", "", "```", m["gpt"]["sample"], "```", ""]
    return lines


def add_arguments(parser) -> None:
    parser.add_argument("--cnn-dir", default=str(REPO / "milestones" / "03_cnn" / "out"),
                        help="milestone 3's output folder: cnn_best.npz and cnn_best_bn.npz (default: %(default)s)")
    parser.add_argument("--gpt-dir", default=str(REPO / "milestones" / "04_tinygpt" / "out"),
                        help=f"milestone 4's output folder: {gpt_program.CHECKPOINT} (default: %(default)s)")


if __name__ == "__main__":
    main("5", run, add_arguments=add_arguments)
