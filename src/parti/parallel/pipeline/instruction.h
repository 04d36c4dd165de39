// One step of a pipeline schedule on one stage (DESIGN principle 4: schedules are data).
//   forward F, backward B (input and weight gradients together), or split as in zero-bubble
//   schedules: backward_input I then backward_weight W; send/recv of a chunk's activation (to
//   the next chunk's stage) or of its input gradient (to the previous chunk's stage); the
//   stage's gradient reduction and optimizer step.
// `chunk` is the model chunk, numbered over the whole model: with P stages and V virtual stages
// the layers form P V chunks and chunk c lives on stage c mod P (Megatron's interleaving).
// Text form: "F3.c1" (forward of micro-batch 3, chunk 1), "B", "I", "W" likewise; "SA3.c1>2"
// (send chunk 1's activation of micro-batch 3 to stage 2), "RA3.c2<1" (receive chunk 2's input
// from stage 1), "SG", "RG" the same for gradients; "REDUCE", "STEP".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace parti::parallel::pipeline {

enum class Op : uint8_t {
  forward,
  backward,
  backward_input,
  backward_weight,
  send_act,
  recv_act,
  send_grad,
  recv_grad,
  reduce_grads,
  optimizer_step,
};

struct Instruction {
  Op op;
  int chunk = 0;
  int micro_batch = 0;
  int peer = -1;  // the other stage of a send or recv
  bool operator==(const Instruction&) const = default;
};

bool is_compute(Op op);
bool is_receive(Op op);
// Receives are posted one compute ahead: before list[i] runs, those of list[i, end) are posted,
// where end is the index of the second compute instruction from i (or the list's end). The
// executor does it; the planner's memory walk replays it.
size_t receive_horizon(const std::vector<Instruction>& list, size_t i);
std::string format(const Instruction& instruction);
// The inverse of format; throws ConfigError naming the text when it is not an instruction.
Instruction parse_instruction(const std::string& text);

}  // namespace parti::parallel::pipeline
