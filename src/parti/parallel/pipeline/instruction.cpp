#include "parti/parallel/pipeline/instruction.h"

#include <cctype>
#include <cstdio>

#include "parti/core/check.h"

namespace parti::parallel::pipeline {
namespace {

struct Name {
  Op op;
  const char* text;
};
constexpr Name kNames[] = {
    {Op::forward, "F"},           {Op::backward, "B"},   {Op::backward_input, "I"},
    {Op::backward_weight, "W"},   {Op::send_act, "SA"},  {Op::recv_act, "RA"},
    {Op::send_grad, "SG"},        {Op::recv_grad, "RG"}, {Op::reduce_grads, "REDUCE"},
    {Op::optimizer_step, "STEP"},
};

const char* name_of(Op op) {
  for (const Name& n : kNames) {
    if (n.op == op) {
      return n.text;
    }
  }
  return "?";
}

bool is_send(Op op) { return op == Op::send_act || op == Op::send_grad; }

}  // namespace

bool is_receive(Op op) { return op == Op::recv_act || op == Op::recv_grad; }

bool is_compute(Op op) {
  return op == Op::forward || op == Op::backward || op == Op::backward_input ||
         op == Op::backward_weight;
}

size_t receive_horizon(const std::vector<Instruction>& list, size_t i) {
  size_t j = i;
  for (int computes = 0; j < list.size(); ++j) {
    if (is_compute(list[j].op) && ++computes == 2) {
      break;
    }
  }
  return j;
}

std::string format(const Instruction& in) {
  if (in.op == Op::reduce_grads || in.op == Op::optimizer_step) {
    return name_of(in.op);
  }
  std::string out = str_cat(name_of(in.op), in.micro_batch, ".c", in.chunk);
  if (is_send(in.op)) {
    out += str_cat(">", in.peer);
  } else if (is_receive(in.op)) {
    out += str_cat("<", in.peer);
  }
  return out;
}

Instruction parse_instruction(const std::string& text) {
  for (const Name& n : kNames) {
    if (n.op == Op::reduce_grads || n.op == Op::optimizer_step) {
      if (text == n.text) {
        return {n.op};
      }
      continue;
    }
    const std::string prefix = n.text;
    if (text.rfind(prefix, 0) != 0 || text.size() <= prefix.size() ||
        std::isdigit(static_cast<unsigned char>(text[prefix.size()])) == 0) {
      continue;
    }
    int micro = 0, chunk = 0, peer = -1, used = 0;
    const std::string rest = text.substr(prefix.size());
    const char* r = rest.c_str();
    bool ok = false;
    if (is_send(n.op)) {
      ok = std::sscanf(r, "%d.c%d>%d%n", &micro, &chunk, &peer, &used) == 3;
    } else if (is_receive(n.op)) {
      ok = std::sscanf(r, "%d.c%d<%d%n", &micro, &chunk, &peer, &used) == 3;
    } else {
      ok = std::sscanf(r, "%d.c%d%n", &micro, &chunk, &used) == 2;
    }
    if (ok && static_cast<size_t>(used) == rest.size()) {
      return {n.op, chunk, micro, peer};
    }
  }
  throw ConfigError(str_cat("'", text, "' is not a pipeline instruction (e.g. F3.c0, SA3.c0>1)"));
}

}  // namespace parti::parallel::pipeline
