// parti: prepare data, train, evaluate, sample, tokenize, benchmark, print
// pipeline schedules. See README.md.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <thread>

#include "parti/cli/commands.h"
#include "parti/cli/config_file.h"
#include "parti/core/check.h"
#include "parti/core/cpu.h"

int main(int argc, char** argv) {
  parti::core::select_blas_kernel(argv);
  parti::core::keep_freed_memory();
  std::unique_ptr<parti::dist::MpiEnv> mpi;
  if (parti::dist::launched_by_mpi()) {
    mpi = std::make_unique<parti::dist::MpiEnv>(&argc, &argv);
  }
  const parti::cli::Runtime runtime{mpi.get()};
  const std::string where =
      runtime.size() > 1 ? "rank " + std::to_string(runtime.rank()) + ": " : "";
  // One rank's error ends the whole job (the others would wait in their next collective). When
  // several ranks fail alike (a flag every rank reads), rank 0's message is the one: the others
  // wait a second before reporting, and rank 0's abort ends them first.
  auto fail = [&](const std::string& message, int code) {
    if (runtime.rank() > 0) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    std::cerr << "parti: error: " << where << message << std::endl;
    if (runtime.size() > 1) {
      parti::dist::MpiEnv::abort_job(code);
    }
    return code;
  };
  CLI::App app{"parti: train GPT-style language models"};
  app.require_subcommand(1);
  // A flag given twice takes its last value, so scripts can append overrides.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  parti::cli::add_prepare(app);
  parti::cli::add_train(app, runtime);
  parti::cli::add_generate(app);
  parti::cli::add_eval(app);
  parti::cli::add_export(app);
  parti::cli::add_tokenize(app);
  parti::cli::add_bench(app, runtime);
  parti::cli::add_schedule(app);
  parti::cli::add_plan(app);
  parti::cli::add_elastic(app);
  try {
    // `train --config FILE`: the file's flags go before the command line's (config_file.h).
    const CLI::App* train = app.get_subcommand("train");
    std::vector<std::string> args = parti::cli::expand_config(
        std::vector<std::string>(argv + 1, argv + argc),
        [&](const std::string& flag) { return train->get_option_no_throw(flag) != nullptr; });
    std::reverse(args.begin(), args.end());  // CLI11 takes the words last first
    app.parse(args);
  } catch (const parti::RunStopped& e) {
    if (runtime.rank() == 0) {
      std::cerr << "parti: stopped: " << e.what() << std::endl;
    }
    return e.code();
  } catch (const parti::AgreedError& e) {
    if (e.report()) {  // the set-up checks' failure, known to every rank (train/agree.h)
      std::cerr << "parti: error: " << where << e.what() << std::endl;
    }
    return e.code();
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      return app.exit(e);  // --help
    }
    return fail(std::string(e.what()) + " (see --help)", parti::kExitInput);
  } catch (const parti::ConfigError& e) {
    return fail(e.what(), parti::kExitInput);
  } catch (const parti::DataError& e) {
    return fail(e.what(), parti::kExitInput);
  } catch (const parti::CheckpointError& e) {
    return fail(e.what(), parti::kExitInput);
  } catch (const std::exception& e) {
    return fail(e.what(), parti::kExitError);
  }
  return 0;
}
