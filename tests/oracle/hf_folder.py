"""Checks that a Parti checkpoint step folder is a Hugging Face model folder. Usage:
hf_folder.py STEP_DIR TOKENS_BIN.

From config.json alone (Hugging Face's GPT2Config or LlamaConfig fields, as transformers reads
them) it derives every tensor name and shape GPT2LMHeadModel / LlamaForCausalLM expect and checks
model.safetensors holds exactly those, in float32. It then runs that model in PyTorch (the
oracle's forward, gpt_oracle.py) on the first window of max_position_embeddings + 1 tokens of
TOKENS_BIN and prints {"loss": mean next-token cross-entropy} for the test to compare with
`parti eval`. Exit status 1 on any mismatch.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt_oracle import forward, read_safetensors  # noqa: E402


def expected_llama(c):
    H, V, I = c["hidden_size"], c["vocab_size"], c["intermediate_size"]
    hd = c.get("head_dim", H // c["num_attention_heads"])
    q, kv = c["num_attention_heads"] * hd, c["num_key_value_heads"] * hd
    shapes = {"model.embed_tokens.weight": [V, H], "model.norm.weight": [H]}
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        shapes.update({p + "self_attn.q_proj.weight": [q, H], p + "self_attn.k_proj.weight": [kv, H],
                       p + "self_attn.v_proj.weight": [kv, H], p + "self_attn.o_proj.weight": [H, q],
                       p + "mlp.gate_proj.weight": [I, H], p + "mlp.up_proj.weight": [I, H],
                       p + "mlp.down_proj.weight": [H, I], p + "input_layernorm.weight": [H],
                       p + "post_attention_layernorm.weight": [H]})
    if not c["tie_word_embeddings"]:
        shapes["lm_head.weight"] = [V, H]
    oracle = {"family": "llama", "layers": c["num_hidden_layers"], "heads": c["num_attention_heads"],
              "kv_heads": c["num_key_value_heads"], "dim": H, "rope_theta": c["rope_theta"],
              "norm_eps": c["rms_norm_eps"], "tie_embeddings": c["tie_word_embeddings"]}
    return shapes, oracle


def expected_gpt2(c):
    C, V, T = c["n_embd"], c["vocab_size"], c["n_positions"]
    inner = c["n_inner"] or 4 * C
    shapes = {"wte.weight": [V, C], "wpe.weight": [T, C], "ln_f.weight": [C], "ln_f.bias": [C]}
    for l in range(c["n_layer"]):
        p = f"h.{l}."  # GPT2LMHeadModel loads GPT2Model's names under `transformer.`
        shapes.update({p + "ln_1.weight": [C], p + "ln_1.bias": [C], p + "ln_2.weight": [C],
                       p + "ln_2.bias": [C], p + "attn.c_attn.weight": [C, 3 * C],
                       p + "attn.c_attn.bias": [3 * C], p + "attn.c_proj.weight": [C, C],
                       p + "attn.c_proj.bias": [C], p + "mlp.c_fc.weight": [C, inner],
                       p + "mlp.c_fc.bias": [inner], p + "mlp.c_proj.weight": [inner, C],
                       p + "mlp.c_proj.bias": [C]})
    oracle = {"family": "gpt2", "layers": c["n_layer"], "heads": c["n_head"], "dim": C}
    return shapes, oracle


def first_window(path, length):
    with open(path, "rb") as f:
        raw = f.read()
    width = struct.unpack("<I", raw[20:24])[0]
    ids = np.frombuffer(raw[64:], dtype=np.uint16 if width == 2 else np.uint32)
    return torch.tensor(ids[:length].astype(np.int64))


def main(step_dir, tokens_bin):
    with open(f"{step_dir}/config.json") as f:
        c = json.load(f)
    family = {"llama": expected_llama, "gpt2": expected_gpt2}[c["model_type"]]
    shapes, oracle = family(c)
    with open(f"{step_dir}/model.safetensors", "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
    header.pop("__metadata__", None)
    got = {k: v["shape"] for k, v in header.items()}
    problems = [f"missing {k} {s}" for k, s in shapes.items() if k not in got]
    problems += [f"unexpected {k}" for k in got if k not in shapes]
    problems += [f"{k}: shape {got[k]}, expected {s}" for k, s in shapes.items()
                 if k in got and got[k] != s]
    problems += [f"{k}: dtype {v['dtype']}" for k, v in header.items() if v["dtype"] != "F32"]
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        return 1
    T = c.get("max_position_embeddings", c.get("n_positions"))
    window = first_window(tokens_bin, T + 1)
    with torch.no_grad():
        logits = forward(read_safetensors(f"{step_dir}/model.safetensors"), window[None, :T], oracle)
        loss = F.cross_entropy(logits[0], window[1:])
    print(json.dumps({"loss": loss.item(), "tensors": len(got)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
