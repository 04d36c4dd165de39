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
  parti::cli::add_prepare(app);
  parti::cli::add_train(app);
  parti::cli::add_generate(app);
  parti::cli::add_eval(app);
  parti::cli::add_tokenize(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const parti::Error& e) {
    std::cerr << "parti: error: " << e.what() << std::endl;
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "parti: error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
