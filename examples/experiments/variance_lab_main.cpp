// Variance lab: naive E[x^2] - E[x]^2, two-pass and Welford in float32 against float64, on 1000
// samples of standard deviation 1 and mean 1, 1e2, 1e4, 1e6. Prints a table and writes
// variance_lab.svg (relative error against the mean, log-log).
//
//   build/release/examples/variance_lab [output dir]
#include <fmt/core.h>

#include "common/plot.hpp"
#include "experiments/variance_lab.hpp"

int main(int argc, char** argv) {
  namespace var = experiments::variance;
  const std::string dir = examples::output_dir(argc, argv);
  fmt::print("Variance of 1000 float32 samples, std 1; relative error against float64\n\n");
  fmt::print("{:>8} {:>12} | {:>12} {:>10} | {:>12} {:>10} | {:>12} {:>10}\n", "mean",
             "float64 var", "naive", "error", "two-pass", "error", "Welford", "error");
  examples::Series naive{"naive E[x^2]-E[x]^2", {}, {}, "#d62728", false, true};
  examples::Series two_pass{"two-pass", {}, {}, "#1f77b4", false, true};
  examples::Series welford{"Welford", {}, {}, "#2ca02c", false, true};
  for (double mean : {1.0, 1e2, 1e4, 1e6}) {
    const var::Row r = var::measure(mean);
    fmt::print(
        "{:>8.0e} {:>12.6f} | {:>12.6g} {:>10.2e} | {:>12.6f} {:>10.2e} | {:>12.6f} {:>10.2e}\n",
        mean, r.reference, r.naive, r.naive_error, r.two_pass, r.two_pass_error, r.welford,
        r.welford_error);
    // An exact result (error 0) cannot sit on a log axis: it is drawn at 1e-9.
    for (auto [s, e] : {std::pair{&naive, r.naive_error}, std::pair{&two_pass, r.two_pass_error},
                        std::pair{&welford, r.welford_error}}) {
      s->x.push_back(mean);
      s->y.push_back(std::max(e, 1e-9));
    }
  }
  const std::string svg = dir + "/variance_lab.svg";
  examples::write_line_plot(svg,
                            {.title = "float32 variance: relative error vs float64",
                             .x_label = "mean of the data (std 1)",
                             .y_label = "relative error",
                             .log_x = true,
                             .log_y = true},
                            {naive, two_pass, welford});
  fmt::print("\nwrote {}\n", svg);
}
