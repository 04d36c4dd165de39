// lower: sends and receives around the compute instructions; make_schedule: name -> lowered list.
#include "parti/core/check.h"
#include "parti/parallel/pipeline/schedule.h"

namespace parti::parallel::pipeline {

void lower(Schedule& s) {
  const int last = s.chunks - 1;
  for (auto& list : s.per_rank) {
    std::vector<Instruction> out;
    for (const Instruction& in : list) {
      const int c = in.chunk, m = in.micro_batch;
      const bool backward = in.op == Op::backward || in.op == Op::backward_input;
      if (in.op == Op::forward && c > 0) {
        out.push_back({Op::recv_act, c, m, s.stage_of(c - 1)});
      }
      if (backward && c < last) {
        out.push_back({Op::recv_grad, c, m, s.stage_of(c + 1)});
      }
      out.push_back(in);
      if (in.op == Op::forward && c < last) {
        out.push_back({Op::send_act, c, m, s.stage_of(c + 1)});
      }
      if (backward && c > 0) {
        out.push_back({Op::send_grad, c, m, s.stage_of(c - 1)});
      }
    }
    out.push_back({Op::reduce_grads});
    out.push_back({Op::optimizer_step});
    list = std::move(out);
  }
}

std::string schedule_error(const std::string& name, int stages, int micro_batches,
                           int virtual_stages) {
  if (name != "gpipe" && name != "1f1b" && name != "zb" && name != "interleaved") {
    return str_cat("--schedule ", name, ": expected gpipe, 1f1b, interleaved or zb");
  }
  if (stages < 1 || micro_batches < 1 || virtual_stages < 1) {
    return "a schedule needs --pp, --micro-batches (per step) and --virtual-stages >= 1";
  }
  if (name != "interleaved" && virtual_stages != 1) {
    return str_cat("--virtual-stages ", virtual_stages, " needs --schedule interleaved (", name,
                   " runs one chunk a stage)");
  }
  if (name == "interleaved" && (stages < 2 || virtual_stages < 2)) {
    return str_cat("--schedule interleaved needs --pp >= 2 and --virtual-stages >= 2, got --pp ",
                   stages, " --virtual-stages ", virtual_stages);
  }
  if (name == "interleaved" && micro_batches % stages != 0) {
    return str_cat("--schedule interleaved needs the ", micro_batches,
                   " micro-batches per step to be a multiple of --pp ", stages);
  }
  return "";
}

Schedule make_schedule(const std::string& name, int stages, int micro_batches, int virtual_stages) {
  const std::string error = schedule_error(name, stages, micro_batches, virtual_stages);
  PARTI_CHECK(error.empty(), ConfigError, error);
  Schedule s;
  if (name == "gpipe") {
    s = make_gpipe(stages, micro_batches);
  } else if (name == "1f1b") {
    s = make_1f1b(stages, micro_batches);
  } else if (name == "zb") {
    s = make_zb_h1(stages, micro_batches);
  } else {
    s = make_interleaved(stages, micro_batches, virtual_stages);
  }
  lower(s);
  return s;
}

}  // namespace parti::parallel::pipeline
