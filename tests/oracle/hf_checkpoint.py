"""A Hugging Face model folder as transformers saves one, written without transformers (not
installable here), and its loss in PyTorch. Usage:
  hf_checkpoint.py write OUT gpt2|llama     random weights, config.json and model.safetensors
  hf_checkpoint.py loss OUT TOKENS_BIN      {"loss": ...} on the first window, as `parti eval`

GPT-2 is written as GPT2LMHeadModel.save_pretrained writes it: names under `transformer.`, Conv1D
(in, out) weights, the causal-mask buffers `attn.bias` and a tied `lm_head.weight`, in float16.
Llama as LlamaForCausalLM: `model.` names, (out, in) weights, untied lm_head, in bfloat16. The
loss reads the file back the way a Hugging Face loader does (prefix dropped, buffers ignored,
widened to float32) and runs the oracle's forward (gpt_oracle.py).
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt_oracle import forward  # noqa: E402
from hf_folder import expected_gpt2, expected_llama, first_window  # noqa: E402

DTYPES = {torch.float16: "F16", torch.bfloat16: "BF16", torch.float32: "F32"}


def write_safetensors(path, tensors):
    header, blobs, at = {}, [], 0
    for name, t in tensors.items():
        raw = t.contiguous().view(torch.uint8).numpy().tobytes() if t.dtype == torch.bfloat16 \
            else t.contiguous().numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [at, at + len(raw)]}
        blobs.append(raw)
        at += len(raw)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    header.pop("__metadata__", None)
    out = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        chunk = bytearray(raw[8 + length + begin:8 + length + end])
        if e["dtype"] == "BF16":
            t = torch.frombuffer(chunk, dtype=torch.int16).view(torch.bfloat16)
        else:
            t = torch.frombuffer(chunk, dtype={"F16": torch.float16, "F32": torch.float32}[e["dtype"]])
        out[name] = t.float().reshape(e["shape"])
    return out


def gpt2_config():
    return {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": 50257,
            "n_embd": 64, "n_layer": 2, "n_head": 4, "n_positions": 32, "n_ctx": 32,
            "n_inner": None, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5,
            "resid_pdrop": 0.1, "embd_pdrop": 0.1, "attn_pdrop": 0.1, "initializer_range": 0.02,
            "tie_word_embeddings": True, "bos_token_id": 50256, "eos_token_id": 50256,
            "torch_dtype": "float16", "transformers_version": "4.44.0"}


def llama_config():
    return {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 128256,
            "hidden_size": 64, "intermediate_size": 160, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "hidden_act": "silu",
            "max_position_embeddings": 32, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
            "rope_scaling": None, "attention_bias": False, "mlp_bias": False,
            "tie_word_embeddings": False, "bos_token_id": 128000, "eos_token_id": 128001,
            "torch_dtype": "bfloat16", "transformers_version": "4.44.0"}


def write(out, family):
    torch.manual_seed(7)
    c = gpt2_config() if family == "gpt2" else llama_config()
    shapes, _ = (expected_gpt2 if family == "gpt2" else expected_llama)(c)
    dtype = torch.float16 if family == "gpt2" else torch.bfloat16
    tensors = {}
    for name, shape in shapes.items():
        ones = name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight", "norm.weight"))
        t = 1.0 + 0.1 * torch.randn(shape) if ones else 0.05 * torch.randn(shape)
        tensors[("transformer." if family == "gpt2" else "") + name] = t.to(dtype)
    if family == "gpt2":
        T = c["n_positions"]
        mask = torch.tril(torch.ones(T, T)).view(1, 1, T, T).to(dtype)
        for l in range(c["n_layer"]):
            tensors[f"transformer.h.{l}.attn.bias"] = mask
        tensors["lm_head.weight"] = tensors["transformer.wte.weight"]
    os.makedirs(out, exist_ok=True)
    write_safetensors(f"{out}/model.safetensors", tensors)
    with open(f"{out}/config.json", "w") as f:
        json.dump(c, f, indent=2)
    return 0


def loss(out, tokens_bin):
    with open(f"{out}/config.json") as f:
        c = json.load(f)
    _, oracle = (expected_gpt2 if c["model_type"] == "gpt2" else expected_llama)(c)
    P = {k.removeprefix("transformer."): v for k, v in read_safetensors(f"{out}/model.safetensors").items()}
    T = c.get("max_position_embeddings", c.get("n_positions"))
    window = first_window(tokens_bin, T + 1)
    with torch.no_grad():
        logits = forward(P, window[None, :T], oracle)
        value = F.cross_entropy(logits[0], window[1:])
    print(json.dumps({"loss": value.item()}))
    return 0


if __name__ == "__main__":
    sys.exit(write(sys.argv[2], sys.argv[3]) if sys.argv[1] == "write" else loss(sys.argv[2], sys.argv[3]))
