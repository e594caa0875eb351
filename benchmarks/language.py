"""The language modules against their yardsticks, each measured side by side in one run.

    attention          scaled dot-product attention forward + backward, B 8, T 256, 4 heads of 32,
                       causal: the reference's fused op (module 12 on 01-05) vs its composed version
                       (what fusing gains) and vs PyTorch on the same thread count, each side in its
                       own worker process. Goal: <= 2x PyTorch.
    generation         256 new tokens from milestone 4's model shape, greedy, with the KV cache
                       (module 14) vs without (recomputing the sequence each step). Goal: >= 5x.
    BPE training       module 10's BPETokenizer on Tiny Shakespeare to 512 ids (reference; limit 30 s).

    python benchmarks/language.py          (make bench runs it; PyTorch is optional)

Data for BPE: TINYTORCH_DATA (a local folder) or the course's download cache.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TINYTORCH_SOURCE", "solutions")

ATTENTION = dict(batch=8, seq_len=256, heads=4, head_dim=32)
GENERATION = dict(vocab=65, embed_dim=128, layers=4, heads=4, context=512, prompt=16, new_tokens=256)
ROUNDS, STEPS = 3, 10
THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _attention_inputs():
    import numpy as np
    rng = np.random.default_rng(0)
    shape = (ATTENTION["batch"], ATTENTION["heads"], ATTENTION["seq_len"], ATTENTION["head_dim"])
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(3)]


def _attention_ours(composed: bool = False):
    from tinytorch.core.attention import attention_composed, causal_mask, scaled_dot_product_attention
    from tinytorch.core.tensor import Tensor

    arrays, mask = _attention_inputs(), causal_mask(ATTENTION["seq_len"])
    run = attention_composed if composed else scaled_dot_product_attention

    def step():
        q, k, v = (Tensor(a, requires_grad=True) for a in arrays)
        out, _ = run(q, k, v, mask)
        out.sum().backward()
    return step


def _attention_torch():
    import torch

    arrays = [torch.from_numpy(a) for a in _attention_inputs()]

    def step():
        q, k, v = (a.clone().requires_grad_(True) for a in arrays)
        torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True).sum().backward()
    return step


def worker(side: str, threads: str) -> None:
    """Time one side in this process; print milliseconds per forward + backward (median)."""
    if side == "torch":
        import torch
        torch.set_num_threads(int(threads))
    step = {"ours": _attention_ours, "composed": lambda: _attention_ours(composed=True),
            "torch": _attention_torch}[side]()
    for _ in range(3):
        step()
    times = []
    for _ in range(STEPS):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    print(f"{statistics.median(times) * 1e3:.3f}")


def bench_attention() -> list[tuple]:
    """Fused attention vs composed (module 12's two versions) and vs PyTorch, each in fresh
    processes with the same thread count, the sides taking turns."""
    has_torch = importlib.util.find_spec("torch") is not None
    rows = []
    for threads in ("1", "2"):
        env = {**os.environ, "TINYTORCH_SOURCE": "solutions", **{name: threads for name in THREADS}}
        sides = ("ours", "composed", "torch") if has_torch else ("ours", "composed")
        times: dict[str, list[float]] = {side: [] for side in sides}
        for _ in range(ROUNDS):                         # alternated: drift hits every side
            for side in times:
                out = subprocess.run([sys.executable, __file__, "--worker", side, threads], env=env, cwd=REPO,
                                     check=True, capture_output=True, text=True).stdout
                times[side].append(float(out.split()[-1]))
        best = {side: min(values) for side, values in times.items()}
        label = f"{threads} thread{'s' if threads != '1' else ''}"
        rows.append((f"attention fwd+bwd, {label}: composed vs fused", best["composed"], best["ours"],
                     best["composed"] / best["ours"], "fusing's gain (informative)"))
        if has_torch:
            rows.append((f"attention fwd+bwd, {label}: fused vs PyTorch", best["ours"], best["torch"],
                         best["ours"] / best["torch"], "<= 2x (baseline: PyTorch)"))
        else:
            rows.append((f"attention fwd+bwd, {label} vs PyTorch: not installed", float("nan"), float("nan"),
                         float("nan"), "pip install torch==2.13.0 to compare"))
    return rows


def bench_generation() -> list[tuple]:
    """Greedy generation with and without the KV cache, in this process, interleaved."""
    import numpy as np
    from tinytorch.generation.kv_cache import enable_kv_cache
    from tinytorch.models.transformer import GPT

    g = GENERATION
    np.random.seed(0)
    model = enable_kv_cache(GPT(g["vocab"], g["embed_dim"], g["layers"], g["heads"], g["context"]))
    prompt = np.random.default_rng(0).integers(0, g["vocab"], (1, g["prompt"]))
    seconds: dict[bool, list[float]] = {True: [], False: []}
    outputs = {}
    for _ in range(ROUNDS):
        for cached in (True, False):
            start = time.perf_counter()
            outputs[cached] = model.generate(prompt, g["new_tokens"], top_k=1, use_cache=cached)
            seconds[cached].append(time.perf_counter() - start)
    same = np.array_equal(outputs[True], outputs[False])
    with_cache, without = min(seconds[True]), min(seconds[False])
    return [(f"generate {g['new_tokens']} tokens, cache vs none ({'same tokens' if same else 'TOKENS DIFFER'})",
             without, with_cache, without / with_cache, ">= 5x faster with the cache")]


def bench_bpe() -> list[tuple]:
    from tinytorch.datasets import DataError, load_tinyshakespeare
    from tinytorch.text.tokenization import BPETokenizer

    try:
        text = load_tinyshakespeare(os.environ.get("TINYTORCH_DATA"))
    except DataError as exc:
        return [(f"BPE training: no data ({str(exc).splitlines()[0][:60]})", float("nan"), 30.0, float("nan"), "")]
    start = time.perf_counter()
    tokenizer = BPETokenizer().train(text, 512)
    seconds = time.perf_counter() - start
    tokens = len(tokenizer.encode(text))
    return [(f"BPE train Tiny Shakespeare -> 512 ids ({len(text) / tokens:.2f} chars/token)", seconds, 30.0,
             seconds / 30.0, "<= 1 (baseline: the 30 s limit)")]


def main() -> int:
    print(f"{'language modules':52s} {'ours':>10s} {'baseline':>10s} {'ratio':>7s}  goal")
    for bench in (bench_attention, bench_generation, bench_bpe):
        for name, ours, base, ratio, goal in bench():
            unit = "s" if "BPE" in name or "generate" in name else "ms"
            print(f"{name:52s} {ours:8.2f} {unit:<2s}{base:8.2f} {unit:<2s}{ratio:6.2f}x  {goal}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3])
        sys.exit(0)
    sys.exit(main())
