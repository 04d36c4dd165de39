// parti: prepare data, train, evaluate, sample, tokenize. See README.md.
#include <CLI/CLI.hpp>
#include <iostream>

#include "parti/cli/commands.h"
#include "parti/core/check.h"
#include "parti/core/cpu.h"

int main(int argc, char** argv) {
  parti::core::select_blas_kernel(argv);
  CLI::App app{"parti: train GPT-style language models"};
  app.require_subcommand(1);
  // A flag given twice takes its last value, so scripts can append overrides.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  parti::cli::add_prepare(app);
  parti::cli::add_train(app);
  parti::cli::add_generate(app);
  parti::cli::add_eval(app);
  parti::cli::add_tokenize(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      return app.exit(e);  // --help
    }
    std::cerr << "parti: error: " << e.what() << " (see --help)" << std::endl;
    return e.get_exit_code();
  } catch (const parti::Error& e) {
    std::cerr << "parti: error: " << e.what() << std::endl;
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "parti: error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
