// The planner's memory model: the bytes one rank holds, by kind, for a model, a layout and a
// precision. It mirrors what the trainer allocates (docs/planner.md has the formulas):
//   parameters, gradients, moments   the stage's tensors (tp parts, 64-byte aligned slices),
//                                    whole or as ZeRO shards over dp (unit by unit), plus the
//                                    units ZeRO-3 gathers and ZeRO-2/3 stage for a reduction
//   activations                      what forward saves per micro-batch (per module, by recompute
//                                    mode, split by tp and sp), times the micro-batch-chunks in
//                                    flight on the stage, plus one block's backward scratch;
//                                    with pipelining, a walk of the stage's real instruction list
//                                    as the executor runs it (receives posted a compute ahead,
//                                    zero-bubble weight gradients queued until W)
//   buffers                          the sublayer workspace (tp gathers, partial sums)
#pragma once

#include <string>
#include <vector>

#include "parti/model/config.h"
#include "parti/parallel/layout.h"

namespace parti::plan {

// Bytes per element of each kind. fp32: Parti's trainer. bf16: mixed precision as Megatron-LM
// runs it (bf16 weights and activations, fp32 gradient buffers, fp32 master weights and moments).
struct Precision {
  std::string name = "fp32";
  double param = 4, grad = 4, master = 0, moments = 8, activation = 4;
  std::string dtype() const { return name; }  // the matmul rate to use
};
Precision precision_of(const std::string& name);  // fp32 | bf16

struct Workload {
  model::ModelConfig model;
  int global_batch = 8;  // sequences per optimizer step
  // The attention kernel: "materialized" writes the T x T scores and keeps the probabilities for
  // backward (Parti's trainer; Megatron-LM before FlashAttention), "flash" keeps only each row's
  // log-sum-exp and makes the scores again in backward (FlashAttention, cuDNN's fused kernel).
  std::string attention = "materialized";
  // Element-wise work: "fused" (one kernel per norm, rotary embedding and activation: Parti's
  // trainer, Megatron-LM, torch.compile) or "eager" (PyTorch eager's chains of small ops; the
  // family's footprint says how many more passes).
  std::string kernels = "fused";
  // The loss over the logits: "fused" (a kernel each way in the activations' type: Parti's
  // trainer, torch.compile, Megatron-LM's --cross-entropy-loss-fusion), "autocast" (PyTorch's
  // cross_entropy under autocast: fp32 log-softmax and its backward, a kernel a pass) or
  // "vocab-parallel" (Megatron-LM's default: the logits up-cast to fp32, then max, subtract,
  // exp, sum and divide, each a pass, the fp32 softmax kept for backward). The unfused two keep
  // fp32 for backward.
  std::string loss = "fused";
  // Data parallelism's collectives overlap compute (Parti's bucketed reducer, PyTorch's DDP and
  // FSDP) or run after it (Megatron-LM without --overlap-grad-reduce).
  bool dp_overlap = true;
  // ZeRO-1 as Megatron-LM's distributed optimizer: the gradients reduce-scattered (not
  // all-reduced) and, under dp overlap, the updated parameters all-gathered behind the next
  // step's first forward (--overlap-param-gather); else as Parti's trainer, an all-reduce and a
  // gather after the step.
  bool distributed_optimizer = false;
  // Sequence parallelism's collectives run in chunks beside the products they feed or follow
  // (Megatron-LM's --tp-comm-overlap, Transformer Engine's userbuffers): each block's hidden
  // behind its linear layers up to the profile's overlap; else on the critical path (Parti's
  // trainer, Megatron-LM without the flag).
  bool tp_comm_overlap = false;
  // Dropout probabilities (Megatron-LM's --attention-dropout and --hidden-dropout; GPT-3-style
  // recipes train with 0.1, Llama-style ones with none; Parti's trainer has none). Above zero,
  // a 1-byte mask per element: on the attention probabilities where the kernel materializes them
  // (a flash kernel draws its mask in registers), on the residual stream after each sublayer and
  // after the embedding.
  double attention_dropout = 0;
  double hidden_dropout = 0;
  // bf16: a bf16 copy of the weights kept beside the fp32 master (Megatron-LM, DeepSpeed), or
  // none: the fp32 weights are the master, cast where they are used (autocast) or gathered
  // (PyTorch FSDP's mixed precision: torchtitan, llm-foundry).
  bool weights_copy = true;
  // Data parallelism's gradient buckets (ZeRO 0-1), MiB: a bucket's collective starts once it
  // holds this much (the trainer's --bucket-mb; Megatron-Core's --ddp-bucket-size, by default
  // max(40M, 1M x dp) parameters of fp32 gradients). Under a pipeline the trainer reduces the
  // whole buffer in one collective after the schedule; the distributed optimizer in buckets.
  double bucket_mb = 25;
  // Without sp each tp rank holds the whole activation a pipeline stage sends: Parti's trainer
  // sends it from every tp rank; Megatron-LM's scatter/gather (its default before sequence
  // parallelism) sends a 1/t piece from each, which the next stage's tp group all-gathers.
  bool pp_scatter_gather = false;
  // Pipeline sends overlap the receive beside them (Parti's trainer posts them with isend,
  // Megatron-LM batches each with its receive), or each send and receive is a blocking transfer
  // of its own in the schedule's order (DeepSpeed's pipeline engine: receive the gradient, send
  // the activation, backward; send the gradient, receive the activation, forward): a middle
  // stage's slot then waits for four transfers, not two.
  bool pp_blocking_sends = false;
  // Each weight-gradient product adds into the gradient buffer (Parti's trainer; Megatron-LM's
  // gradient accumulation fusion, its default since 2022), or writes the micro-batch's gradient
  // in the weights' type for a kernel of its own to add into the fp32 buffer (Megatron-LM
  // before 2022, DeepSpeed, PyTorch autograd across micro-batches): per micro-batch a read of
  // that gradient and a read and write of the buffer, over the rank's weights.
  bool grad_accumulation_fusion = true;
  // Under ZeRO-2/3 the embedding (the largest unit) never lives whole: Parti's trainer reduces
  // its gradient to each owner and broadcasts its weights from them in pieces of about the
  // largest other unit (parallel/data), where PyTorch FSDP and DeepSpeed reduce-scatter and
  // all-gather it as any other unit. A piece's reduction or broadcast brings or takes a whole
  // piece to or from every rank but its owner.
  bool embedding_pieces = true;
};

// The fp32 master is the run's only copy of the weights (bf16 without --weights-copy).
inline bool master_only(const Workload& w, const Precision& p) {
  return !w.weights_copy && p.master > 0;
}

// The trainer's layout (parallel/layout.h): one struct, one validate, for `train` and `plan`.
using parallel::Layout;

// What is wrong with a layout for a workload (parallel::validate: the trainer's rules, in its
// words). Empty: legal.
std::vector<std::string> check_layout(const Workload& w, const Layout& l);

struct Memory {
  double params = 0, grads = 0, optim = 0, activations = 0, buffers = 0;
  double total() const { return params + grads + optim + activations + buffers; }
};

// Per pipeline stage (dp rank 0, tp rank 0, as the trainer's JSONL reports it). `exact`: every
// stage, walking the schedule's lowered instruction lists; otherwise (the search's fast path) the
// first stage (the most in flight, the extra blocks of an uneven split) and the last (the head)
// only, with closed forms for the micro-batch-chunks in flight (see in_flight()).
std::vector<Memory> stage_memory(const Workload& w, const Layout& l, const Precision& p,
                                 bool exact = true);
// The stage with the most bytes.
Memory peak_memory(const std::vector<Memory>& stages);

// Micro-batch-chunks forwarded and not yet finished (weight gradient included) on stage s at
// once, at most: the closed form for each schedule (the ctest checks it against simulate()).
int in_flight(const std::string& schedule, int P, int M, int V, int s);

// Parameter elements each pipeline stage holds (one tp rank's part, before ZeRO sharding).
std::vector<double> stage_parameters(const Workload& w, const Layout& l);

// One stage's gradients in the order backward finishes them (one tp rank's part): the head's
// (the final norm and an untied output projection), each block's (all of one size), then the
// embedding's (a tied table is final only after the lookup's backward, and the positions).
struct GradientUnits {
  double head = 0, block = 0, embedding = 0;
  int blocks = 0;
  int count() const { return blocks + (head > 0 ? 1 : 0) + (embedding > 0 ? 1 : 0); }  // units
};
GradientUnits gradient_units(const Workload& w, const Layout& l, int stage);

// The blocks of each chunk (P V chunks, model order), as the trainer splits them.
std::vector<int> chunk_layers(const Workload& w, const Layout& l);

}  // namespace parti::plan
