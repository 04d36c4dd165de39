"""The same GPT-2 training step in PyTorch, for the side-by-side benchmark (bench/run).

Same shapes as `parti train` (pre-LN GPT-2, tied output projection, GELU-tanh, fp32), AdamW with
decay on matrices, gradient clipping at 1.0, batches drawn from the same token file. Prints one
JSON line: {"tokens_per_s": .., "step_ms": ..} averaged over the steps after the first.
Usage: pytorch_gpt.py --data DIR --layers L --heads H --dim C --seq-len T --micro-batch B
                      --steps S --threads N
"""
import argparse
import json
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, C, NH):
        super().__init__()
        self.NH = NH
        self.ln_1, self.ln_2 = nn.LayerNorm(C), nn.LayerNorm(C)
        self.c_attn, self.attn_proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
        self.c_fc, self.mlp_proj = nn.Linear(C, 4 * C), nn.Linear(4 * C, C)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.NH, C // self.NH).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // self.NH)
        mask = torch.ones(T, T, dtype=torch.bool).tril()
        att = att.masked_fill(~mask, float("-inf")).softmax(-1)
        x = x + self.attn_proj((att @ v).transpose(1, 2).reshape(B, T, C))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class Gpt(nn.Module):
    def __init__(self, L, NH, C, T, V):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(T, C)
        self.h = nn.ModuleList(Block(C, NH) for _ in range(L))
        self.ln_f = nn.LayerNorm(C)

    def forward(self, idx, targets):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for block in self.h:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.weight.T
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))


def main():
    p = argparse.ArgumentParser()
    for name in ("layers", "heads", "dim", "seq-len", "micro-batch", "steps", "threads"):
        p.add_argument("--" + name, type=int, required=True)
    p.add_argument("--data", required=True)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    tokens = np.fromfile(f"{a.data}/train.bin", dtype=np.uint16, offset=64).astype(np.int64)
    model = Gpt(a.layers, a.heads, a.dim, a.seq_len, 50257)
    params = list(model.parameters())
    opt = torch.optim.AdamW([{"params": [q for q in params if q.dim() >= 2], "weight_decay": 0.1},
                             {"params": [q for q in params if q.dim() < 2], "weight_decay": 0.0}],
                            lr=3e-4, betas=(0.9, 0.95), eps=1e-8)
    rng = np.random.default_rng(0)
    times = []
    for _ in range(a.steps):
        starts = rng.integers(0, len(tokens) - a.seq_len - 1, a.micro_batch)
        rows = np.stack([tokens[s:s + a.seq_len + 1] for s in starts])
        x, y = torch.from_numpy(rows[:, :-1]), torch.from_numpy(rows[:, 1:])
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        times.append(time.perf_counter() - t0)
    step = sum(times[1:]) / max(1, len(times) - 1)
    print(json.dumps({"tokens_per_s": a.micro_batch * a.seq_len / step, "step_ms": step * 1e3,
                      "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
