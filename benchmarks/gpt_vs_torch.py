"""Milestone 4's TinyGPT: time to a validation loss of 1.65 nats, the reference against PyTorch.

PyTorch trains the same model (pre-norm GPT, 4 layers, width 128, 4 heads, context 128, learned
positions, tanh GELU, untied head, GPT-2 init) with the same optimiser settings, schedule,
clipping, batch size and evaluation as milestones/04_tinygpt/tinygpt.py (imported from there, so the
two cannot drift), on the same text and the same split, and records when its validation loss
first reaches the target. The reference's time comes from a milestone run's metrics.json (its
cumulative time at each evaluation). Goal: <= 2.5x.

    python benchmarks/gpt_vs_torch.py [--metrics milestones/04_tinygpt/out/metrics.json] [--threads 1]
    make bench GPT=1                    # the same, after `make milestone N=4` wrote metrics.json

PyTorch is only needed here (pip install torch==2.13.0); data: TINYTORCH_DATA or the cache.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TINYTORCH_SOURCE", "solutions")     # the milestone's data code runs on the reference
METRICS = REPO / "milestones" / "04_tinygpt" / "out" / "metrics.json"
TARGET = 1.65
LIMIT_S = 1200


def torch_model(vocab: int, embed_dim: int, num_layers: int, num_heads: int, max_seq_len: int):
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(embed_dim), nn.LayerNorm(embed_dim)
            self.attn = nn.MultiheadAttention(embed_dim, num_heads, batch_first=True)
            self.mlp = nn.Sequential(nn.Linear(embed_dim, 4 * embed_dim), nn.GELU(approximate="tanh"),
                                     nn.Linear(4 * embed_dim, embed_dim))
            self.register_buffer("mask", torch.triu(torch.ones(max_seq_len, max_seq_len, dtype=torch.bool), 1))

        def forward(self, x):
            t = x.shape[1]
            h = self.ln1(x)
            x = x + self.attn(h, h, h, attn_mask=self.mask[:t, :t], need_weights=False)[0]
            return x + self.mlp(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok, self.pos = nn.Embedding(vocab, embed_dim), nn.Embedding(max_seq_len, embed_dim)
            self.blocks = nn.ModuleList(Block() for _ in range(num_layers))
            self.ln_f, self.head = nn.LayerNorm(embed_dim), nn.Linear(embed_dim, vocab)
            for module in self.modules():                                   # GPT-2's initialisation
                if isinstance(module, (nn.Linear, nn.Embedding)):
                    nn.init.normal_(module.weight, std=0.02)
                if isinstance(module, nn.Linear) and module.bias is not None:
                    nn.init.zeros_(module.bias)
            for block in self.blocks:
                nn.init.zeros_(block.attn.in_proj_bias)
                nn.init.normal_(block.attn.in_proj_weight, std=0.02)
                nn.init.normal_(block.attn.out_proj.weight, std=0.02 / math.sqrt(2 * num_layers))
                nn.init.normal_(block.mlp[2].weight, std=0.02 / math.sqrt(2 * num_layers))

        def forward(self, idx):
            x = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
            for block in self.blocks:
                x = block(x)
            return self.head(self.ln_f(x))

    return GPT()


def train_torch(threads: int, data_dir: str | None) -> list[tuple[float, int, float]]:
    """(seconds, step, validation loss) at every evaluation, until the target or the time limit."""
    import numpy as np
    import torch

    from milestones.common import milestone_program

    m4 = milestone_program("04_tinygpt")
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    ctx = argparse.Namespace(quick=False, data_dir=data_dir)
    data = m4.load_data(ctx)
    cfg = m4.MODEL
    model = torch_model(data["tokenizer"].vocab_size, **cfg)
    optimizer = torch.optim.AdamW(model.parameters(), lr=m4.LR, betas=m4.BETAS, weight_decay=m4.WEIGHT_DECAY)
    rng = np.random.default_rng(1)
    val = [m4.windows(data["val"], m4.BATCH_SIZE, cfg["max_seq_len"], rng) for _ in range(m4.EVAL_BATCHES)]
    loss_fn = torch.nn.functional.cross_entropy
    record, step, started = [], 0, time.perf_counter()
    while time.perf_counter() - started < LIMIT_S:
        for _ in range(m4.EVAL_EVERY):
            for group in optimizer.param_groups:
                group["lr"] = m4.lr_at(step, m4.MAX_STEPS, m4.WARMUP_STEPS)
            x, y = m4.windows(data["train"], m4.BATCH_SIZE, cfg["max_seq_len"], rng)
            logits = model(torch.from_numpy(x))
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), torch.from_numpy(y).reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), m4.CLIP_NORM)
            optimizer.step()
            step += 1
        with torch.no_grad():
            val_loss = float(np.mean([loss_fn(model(torch.from_numpy(x)).reshape(-1, data["tokenizer"].vocab_size),
                                              torch.from_numpy(y).reshape(-1)).item() for x, y in val]))
        record.append((time.perf_counter() - started, step, val_loss))
        print(f"  PyTorch  step {step:5d}  val loss {val_loss:.4f}  {record[-1][0]:.0f} s", flush=True)
        if val_loss <= TARGET:
            break
    return record


def first_at_target(record) -> tuple[float, int] | None:
    return next(((seconds, step) for seconds, step, loss in record if loss <= TARGET), None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", default=str(METRICS), help="metrics.json of a full milestone 4 run")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OPENBLAS_NUM_THREADS", "1")))
    parser.add_argument("--data-dir", default=os.environ.get("TINYTORCH_DATA"))
    args = parser.parse_args()
    metrics = json.loads(Path(args.metrics).read_text())
    ours = first_at_target(list(zip(metrics["round_seconds"], metrics["round_steps"], metrics["val_curve"])))
    print(f"reference: {'%.0f s (step %d)' % ours if ours else 'did not reach'} {TARGET} in its run "
          f"({metrics['train_seconds']:.0f} s, best val {min(metrics['val_curve']):.3f})")
    theirs = first_at_target(train_torch(args.threads, args.data_dir))
    print(f"PyTorch {args.threads} thread(s): {'%.0f s (step %d)' % theirs if theirs else 'did not reach it'}")
    if ours and theirs:
        print(f"time to validation {TARGET}: reference / PyTorch = {ours[0] / theirs[0]:.2f}x  (goal <= 2.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
