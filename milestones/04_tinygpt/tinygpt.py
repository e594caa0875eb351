"""Milestone 4: a character-level GPT trained on Tiny Shakespeare with your own modules 01-14.

What this milestone proves
    Your tokenizer (10), embeddings (11), attention (12) and transformer (13) make a GPT; your
    autograd (05), AdamW (06) and gradient clipping (07) train it; your KV cache (14) makes it
    write fast. The model reads 128 characters of Shakespeare and predicts each next one:

        "First Citizen:\\nBefore we proceed any further, hear me spe"  ->  "ak"

        chars -> CharTokenizer (66 ids) -> GPT: token + position embeddings (128)
              -> 4 x [LayerNorm -> 4-head causal attention -> + ; LayerNorm -> MLP 128-512-128 -> +]
              -> LayerNorm -> Linear(128, 66) -> logits for the next character at every position

    Training samples random windows of 128 characters from the first 90% of the text; the last
    10% is never trained on and measures the model: the validation cross-entropy in nats per
    character (and its exponential, the perplexity). Every EVAL_EVERY steps the validation loss
    is measured on the same batches; the best checkpoint is kept and restored at the end.

    The bar (course.toml): validation loss below 2.0 nats per character (perplexity 7.4). A
    uniform guess over 66 characters scores 4.19; knowing only character frequencies, about 3.3;
    a well-tuned 10M-parameter GPT on a GPU about 1.47. This 0.8M-parameter model, on 2 CPU
    cores, reaches about 1.6 in well under 20 minutes with the reference solutions.

    The systems angle: generation speed in characters per second with and without the KV cache,
    on the same model and prompt, and the cache's size.

How to run
    make milestone N=4                      # after modules 01-14 pass
    FORCE=1 make milestone N=4              # explore before they pass (the result does not count)
    make milestone N=4 QUICK=1 OUT=/tmp/m4  # a short run (seconds)
    make milestone N=4 DATA=DIR             # DIR/tinyshakespeare/input.txt

Outputs (in --out, default milestones/04_tinygpt/out/)
    loss_curve.png          training loss and validation loss against steps
    samples.txt             the three samples
    gpt_best.npz            the trained model and its characters (milestone 5 starts from it)
    metrics.json, report.md
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # run as a script: find `milestones`

from milestones.common import Context, Outcome, Progress, count_params, fit, main, save_figure, setup  # noqa: E402

setup()                                   # one BLAS thread, plots to files: before NumPy loads
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tinytorch.core.autograd import no_grad  # noqa: E402
from tinytorch.core.losses import CrossEntropyLoss  # noqa: E402
from tinytorch.core.optimizers import AdamW  # noqa: E402
from tinytorch.core.training import clip_grad_norm  # noqa: E402
from tinytorch.datasets import load_tinyshakespeare  # noqa: E402
from tinytorch.generation.kv_cache import enable_kv_cache, kv_cache_bytes  # noqa: E402
from tinytorch.manifest import load_course  # noqa: E402
from tinytorch.models.transformer import GPT  # noqa: E402
from tinytorch.text.tokenization import CharTokenizer  # noqa: E402

# ---------------------------------------------------------------------------------------------
# Settings: everything a student might want to change, in one place
# ---------------------------------------------------------------------------------------------

TARGET_LOSS = load_course().milestone("4").criteria["val_loss"]     # 2.0 nats per character
QUICK_TARGET = 3.0          # --quick: a tiny model for a few hundred steps; uniform is 4.19

MODEL = dict(embed_dim=128, num_layers=4, num_heads=4, max_seq_len=128)    # 0.8M parameters
BATCH_SIZE = 32
LR = 3e-3                   # AdamW, after a linear warm-up ...
MIN_LR = 3e-4               # ... cosine-annealed to this at the last step
WARMUP_STEPS = 100
WEIGHT_DECAY = 0.01         # AdamW's default (decoupled)
BETAS = (0.9, 0.99)
CLIP_NORM = 1.0             # gradient clipping (module 07)
EVAL_EVERY = 250            # steps between validation measurements (fit's "epoch")
MAX_STEPS = 1250            # the schedule's length: about 16 minutes at 0.75 s a step on one core
TIME_BUDGET_S = 18 * 60     # on a slower machine: stop starting new rounds after this many seconds
PATIENCE = 4                # stop after this many rounds without a better validation loss
EVAL_BATCHES = 16           # validation batches per measurement (the same ones each time)
FINAL_EVAL_BATCHES = 64     # for the final, reported validation loss
VAL_FRACTION = 0.1          # the last 10% of the text
PROMPTS = ("ROMEO:\n", "JULIET:\n", "First Citizen:\n")
SAMPLE_CHARS = 200          # per sample (at least 100, the criterion)
TEMPERATURE = 0.8
SPEED_TOKENS = 127          # characters generated to measure speed (the whole context after 1)

QUICK = dict(model=dict(embed_dim=32, num_layers=2, num_heads=2, max_seq_len=32), batch_size=16,
             eval_every=50, max_steps=150, text_chars=100_000, eval_batches=4, final_eval_batches=8,
             sample_chars=100, speed_tokens=31, warmup=10)

# ---------------------------------------------------------------------------------------------
# Data: characters to ids, a train and a validation split, random windows
# ---------------------------------------------------------------------------------------------


def load_data(ctx: Context) -> dict:
    """Tiny Shakespeare as int64 ids: the first 90% to train on, the rest to validate."""
    text = load_tinyshakespeare(ctx.data_dir)
    if ctx.quick:
        text = text[:QUICK["text_chars"]]
    tokenizer = CharTokenizer().build_vocab(text)
    ids = np.asarray(tokenizer.encode(text), dtype=np.int64)
    split = int(len(ids) * (1 - VAL_FRACTION))
    return {"tokenizer": tokenizer, "train": ids[:split], "val": ids[split:], "chars": len(text)}


def windows(ids: np.ndarray, batch_size: int, context: int, rng: np.random.Generator):
    """(x, y): `batch_size` random windows of `context` ids, and the same windows shifted by one."""
    starts = rng.integers(0, len(ids) - context - 1, batch_size)
    x = np.stack([ids[s:s + context] for s in starts])                     # (B, T)
    y = np.stack([ids[s + 1:s + context + 1] for s in starts])             # (B, T)
    return x, y


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


def lr_at(step: int, total: int, warmup: int) -> float:
    """Linear warm-up to LR, then cosine to MIN_LR at `total` steps."""
    if step < warmup:
        return LR * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return MIN_LR + 0.5 * (LR - MIN_LR) * (1 + np.cos(np.pi * progress))


def batch_loss(model, loss_fn, x: np.ndarray, y: np.ndarray):
    logits = model(x)                                                      # (B, T, V)
    b, t, v = logits.shape
    return loss_fn(logits.reshape(b * t, v), y.reshape(b * t))             # mean nats per character


def mean_loss(model, loss_fn, batches) -> float:
    with no_grad():
        return float(np.mean([batch_loss(model, loss_fn, x, y).data for x, y in batches]))


def train(model, data: dict, settings: dict, rng: np.random.Generator) -> dict:
    """AdamW with warm-up, cosine decay and clipping; evaluate every `eval_every` steps; keep the best."""
    context, batch = model.max_seq_len, settings["batch_size"]
    params = model.parameters()
    optimizer = AdamW(params, lr=LR, betas=BETAS, weight_decay=WEIGHT_DECAY)
    loss_fn = CrossEntropyLoss()
    val_batches = [windows(data["val"], batch, context, rng) for _ in range(settings["eval_batches"])]
    state = {"step": 0, "train_curve": [], "rounds": [], "started": time.perf_counter()}
    total, warmup = settings["max_steps"], settings["warmup"]

    def train_round() -> float:
        losses = []
        for _ in Progress(range(settings["eval_every"]), "GPT"):
            optimizer.lr = lr_at(state["step"], total, warmup)
            x, y = windows(data["train"], batch, context, rng)
            optimizer.zero_grad()
            loss = batch_loss(model, loss_fn, x, y)
            loss.backward()
            clip_grad_norm(params, CLIP_NORM)
            optimizer.step()
            losses.append(float(loss.data))
            state["step"] += 1
        state["train_curve"].append((state["step"], float(np.mean(losses[-50:]))))
        return float(np.mean(losses))

    def restore(kept) -> None:
        for p, array in zip(params, kept):
            p.data = array

    def evaluate() -> dict:
        loss = mean_loss(model, loss_fn, val_batches)
        state["rounds"].append((round(time.perf_counter() - state["started"], 1), state["step"]))
        return {"loss": loss}

    history = fit(train_round, evaluate,
                  epochs=max(1, total // settings["eval_every"]), patience=PATIENCE, metric="loss", mode="min",
                  save_state=lambda: [p.data.copy() for p in params], load_state=restore, optimizer=optimizer,
                  label="GPT", stop=lambda: time.perf_counter() - state["started"] > settings["time_budget"])
    return {"history": history, "train_curve": state["train_curve"], "steps": state["step"], "rounds": state["rounds"],
            "seconds": time.perf_counter() - state["started"], "loss_fn": loss_fn}


# ---------------------------------------------------------------------------------------------
# The checkpoint milestone 5 reads
# ---------------------------------------------------------------------------------------------

CHECKPOINT = "gpt_best.npz"


def save_checkpoint(path: Path, model, tokenizer) -> None:
    """The model's parameters (in parameters() order), its shape and the tokenizer's characters."""
    config = {"vocab_size": tokenizer.vocab_size, "embed_dim": model.embed_dim, "num_layers": model.num_layers,
              "num_heads": model.num_heads, "max_seq_len": model.max_seq_len}
    arrays = {f"p{i}": p.data for i, p in enumerate(model.parameters())}
    np.savez(path, config=json.dumps(config), chars=json.dumps(tokenizer.id_to_char), **arrays)


def load_checkpoint(path: Path):
    """(model, tokenizer) from `save_checkpoint`'s file; a ValueError naming the file if it does not fit."""
    with np.load(path) as f:
        config, chars = json.loads(str(f["config"])), json.loads(str(f["chars"]))
        arrays = [f[f"p{i}"] for i in range(sum(k.startswith("p") for k in f.files))]
    model = enable_kv_cache(GPT(**config))
    params = model.parameters()
    if len(params) != len(arrays) or any(p.shape != a.shape for p, a in zip(params, arrays)):
        raise ValueError(f"{path}: the saved parameters do not fit GPT({config})")
    for p, a in zip(params, arrays):
        p.data = a.astype(p.data.dtype, copy=True)
    tokenizer = CharTokenizer()
    tokenizer.set_vocab(chars[1:])                                         # id 0 is the unknown token
    if tokenizer.id_to_char != chars:
        raise ValueError(f"{path}: the saved characters do not rebuild the same tokenizer")
    return model, tokenizer


# ---------------------------------------------------------------------------------------------
# Writing: samples and generation speed
# ---------------------------------------------------------------------------------------------


def sample(model, tokenizer, prompt: str, chars: int, seed: int) -> str:
    """`chars` characters after `prompt`. generate() never goes past the context, so a longer sample
    is written in chunks: each chunk continues the last half-context of what was written so far."""
    ids = np.asarray([tokenizer.encode(prompt)], dtype=np.int64)              # (1, T0)
    keep = model.max_seq_len // 2
    rng = np.random.default_rng(seed)
    while ids.shape[1] < len(prompt) + chars:
        window = ids[:, -keep:]
        steps = min(model.max_seq_len - window.shape[1], len(prompt) + chars - ids.shape[1])
        out = model.generate(window, steps, temperature=TEMPERATURE, seed=int(rng.integers(2 ** 31)))
        ids = np.concatenate([ids, out[:, window.shape[1]:]], axis=1)
    return tokenizer.decode(ids[0].tolist())


def generation_speed(model, tokens: int) -> dict:
    """Characters per second generating `tokens` greedily, with and without the KV cache."""
    prompt = np.zeros((1, 1), dtype=np.int64)
    speeds, outputs = {}, {}
    for cached in (True, False, True, False):          # interleaved: the better of two runs each
        start = time.perf_counter()
        outputs[cached] = model.generate(prompt, tokens, top_k=1, use_cache=cached)
        rate = tokens / (time.perf_counter() - start)
        speeds[cached] = max(rate, speeds.get(cached, 0.0))
    return {"cached_tokens_per_s": speeds[True], "uncached_tokens_per_s": speeds[False],
            "speedup": speeds[True] / speeds[False], "same_tokens": bool(np.array_equal(outputs[True], outputs[False]))}


def plot_curve(path: Path, run: dict) -> None:
    fig, ax = plt.subplots(figsize=(7, 4))
    steps, losses = zip(*run["train_curve"])
    ax.plot(steps, losses, label="training loss (last 50 steps)", color="tab:blue")
    val = run["history"].val["loss"]
    ax.plot(steps[:len(val)], val, "o-", label="validation loss", color="tab:orange")
    ax.axhline(TARGET_LOSS, color="gray", linestyle="--", label=f"target {TARGET_LOSS:g}")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats per character)")
    ax.set_title("TinyGPT on Tiny Shakespeare")
    ax.legend()
    save_figure(fig, path)


# ---------------------------------------------------------------------------------------------
# The milestone
# ---------------------------------------------------------------------------------------------


def run(ctx: Context) -> Outcome:
    settings = {"model": QUICK["model"] if ctx.quick else MODEL,
                "batch_size": QUICK["batch_size"] if ctx.quick else BATCH_SIZE,
                "eval_every": QUICK["eval_every"] if ctx.quick else EVAL_EVERY,
                "max_steps": QUICK["max_steps"] if ctx.quick else MAX_STEPS,
                "eval_batches": QUICK["eval_batches"] if ctx.quick else EVAL_BATCHES,
                "warmup": QUICK["warmup"] if ctx.quick else WARMUP_STEPS,
                "time_budget": float("inf") if ctx.quick else TIME_BUDGET_S}
    model_seed, data_seed, sample_seed = np.random.SeedSequence(ctx.seed).spawn(3)
    started = time.perf_counter()
    data = load_data(ctx)
    data_seconds = time.perf_counter() - started
    tokenizer = data["tokenizer"]
    print(f"Data: {data['chars']:,} characters, {len(data['train']):,} to train on and {len(data['val']):,} to "
          f"validate ({data_seconds:.1f} s)", flush=True)
    model = enable_kv_cache(GPT(tokenizer.vocab_size, **settings["model"], rng=np.random.default_rng(model_seed)))
    print(f"GPT: {count_params(model):,} parameters, vocabulary {tokenizer.vocab_size}, context "
          f"{model.max_seq_len}; batch {settings['batch_size']}, AdamW lr {LR:g} -> {MIN_LR:g}", flush=True)
    result = train(model, data, settings, np.random.default_rng(data_seed))

    rng = np.random.default_rng(data_seed)
    final_batches = [windows(data["val"], settings["batch_size"], model.max_seq_len, rng)
                     for _ in range(QUICK["final_eval_batches"] if ctx.quick else FINAL_EVAL_BATCHES)]
    val_loss = mean_loss(model, result["loss_fn"], final_batches)
    save_checkpoint(ctx.out / CHECKPOINT, model, tokenizer)
    chars = QUICK["sample_chars"] if ctx.quick else SAMPLE_CHARS
    samples = {prompt: sample(model, tokenizer, prompt, chars, int(sample_seed.generate_state(1)[0]) + i)
               for i, prompt in enumerate(PROMPTS)}
    (ctx.out / "samples.txt").write_text("\n\n".join(f"--- {p!r}\n{s}" for p, s in samples.items()) + "\n",
                                         encoding="utf-8")
    speed = generation_speed(model, QUICK["speed_tokens"] if ctx.quick else SPEED_TOKENS)
    plot_curve(ctx.out / "loss_curve.png", result)

    target = QUICK_TARGET if ctx.quick else TARGET_LOSS
    history = result["history"]
    metrics = {
        "val_loss": val_loss, "perplexity": float(np.exp(val_loss)), "target": target,
        "steps": result["steps"], "train_seconds": round(result["seconds"], 1),
        "best_round": history.best_epoch, "rounds": history.epochs_run, "val_curve": history.val["loss"],
        "round_seconds": [r[0] for r in result["rounds"]], "round_steps": [r[1] for r in result["rounds"]],
        "train_curve": result["train_curve"], "parameters": count_params(model),
        "vocab_size": tokenizer.vocab_size, "generation": speed,
        "kv_cache_bytes": kv_cache_bytes(1, model.num_layers, model.num_heads,
                                         model.embed_dim // model.num_heads, model.max_seq_len),
        "samples": samples,
        "data": {"characters": data["chars"], "train_ids": len(data["train"]), "val_ids": len(data["val"]),
                 "seconds": round(data_seconds, 2)},
        "settings": {**settings["model"], "batch_size": settings["batch_size"], "lr": LR, "min_lr": MIN_LR,
                     "warmup": settings["warmup"], "weight_decay": WEIGHT_DECAY, "clip": CLIP_NORM,
                     "eval_every": settings["eval_every"], "temperature": TEMPERATURE},
    }
    checks = {
        f"validation loss {val_loss:.3f} < {target:g} nats per character": val_loss < target,
        f"three samples of at least {min(chars, 100)} characters": all(len(s) >= min(chars, 100) for s in samples.values()),
        "cached and uncached greedy generation give the same characters": speed["same_tokens"],
    }
    return Outcome(metrics=metrics, checks=checks, lines=report_lines(metrics), plots=["loss_curve.png"])


def report_lines(m: dict) -> list[str]:
    s, g = m["settings"], m["generation"]
    lines = [
        "## Results",
        "",
        f"A GPT of {m['parameters']:,} parameters ({s['num_layers']} layers, width {s['embed_dim']}, "
        f"{s['num_heads']} heads, context {s['max_seq_len']}) trained for {m['steps']:,} steps of "
        f"{s['batch_size']} windows ({m['train_seconds']:.0f} s) with AdamW (lr {s['lr']:g} after "
        f"{s['warmup']} warm-up steps, cosine to {s['min_lr']:g}, weight decay {s['weight_decay']:g}, "
        f"gradients clipped at {s['clip']:g}).",
        "",
        "| validation loss (nats/char) | perplexity | best round | characters/s, KV cache | without | speed-up |",
        "|---|---|---|---|---|---|",
        f"| **{m['val_loss']:.3f}** | {m['perplexity']:.2f} | {m['best_round']} of {m['rounds']} | "
        f"{g['cached_tokens_per_s']:.0f} | {g['uncached_tokens_per_s']:.0f} | {g['speedup']:.1f}x |",
        "",
        f"The KV cache of one sequence at full context holds {m['kv_cache_bytes'] / 1024:.0f} KiB; it turns "
        "each generated character from a pass over the whole context into a pass over one position.",
        "",
        "## Samples (temperature {:g})".format(s["temperature"]),
        "",
    ]
    for prompt, text in m["samples"].items():
        lines += ["```", text, "```", ""]
    return lines


if __name__ == "__main__":
    main("4", run)
