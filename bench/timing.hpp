// What every benchmark worker shares (bench_minigrad and bench_libtorch): how a case is timed and
// how a worker talks to the driver (bench/bench.py).
//
// Timing: a few warm-up runs, then individually timed repetitions until both a minimum count and
// a minimum total time are reached; the result is the median (robust to the other engineers'
// compiles and to the occasional page fault). Each repetition may have an untimed setup (a
// backward needs a fresh forward), so the setup and the timed part are separate callables.
//
// Protocol: the worker reads one request per line on stdin, `<case> <threads> <min_seconds>`,
// and answers one line of JSON on stdout: {"us": median, "reps": n, ...extra} or
// {"skip": "why"}. `quit` ends it. The same worker serves every case, so the driver can
// interleave implementations case by case.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

struct Timing {
  double median_us = 0;
  int64_t reps = 0;
};

inline double now_us() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double, std::micro>(clock::now().time_since_epoch()).count();
}

// Runs setup() then timed() repeatedly; returns the median of timed()'s durations.
inline Timing time_case(const std::function<void()>& setup, const std::function<void()>& timed,
                        double min_seconds, int64_t min_reps = 15, int64_t max_reps = 20000) {
  const double warmup_end = now_us() + 0.2e6 * min_seconds;
  for (int i = 0; i < 3 || (now_us() < warmup_end && i < max_reps); ++i) {
    setup();
    timed();
  }
  // Slow cases (an L-sized training step) settle for 5 repetitions: the median of 5 is enough
  // when each one runs for tens of milliseconds, and `make bench` must finish in minutes.
  setup();
  const double probe0 = now_us();
  timed();
  if (now_us() - probe0 > 20e3) min_reps = std::min<int64_t>(min_reps, 5);
  std::vector<double> samples;
  double total = 0;
  while ((static_cast<int64_t>(samples.size()) < min_reps || total < min_seconds * 1e6) &&
         static_cast<int64_t>(samples.size()) < max_reps) {
    setup();
    const double t0 = now_us();
    timed();
    const double dt = now_us() - t0;
    samples.push_back(dt);
    total += dt;
  }
  std::nth_element(samples.begin(), samples.begin() + samples.size() / 2, samples.end());
  return {samples[samples.size() / 2], static_cast<int64_t>(samples.size())};
}

// Resident set size now and at its peak, in KiB, from /proc/self/status (VmRSS, VmHWM).
inline std::map<std::string, int64_t> memory_status_kib() {
  std::map<std::string, int64_t> out;
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    for (const char* key : {"VmRSS", "VmHWM"}) {
      if (line.rfind(key, 0) == 0) out[key] = std::stoll(line.substr(line.find(':') + 1));
    }
  }
  return out;
}

// A JSON object written field by field (numbers and strings only: all a worker reports).
class Json {
 public:
  Json& num(const std::string& key, double v) {
    return raw(key, std::isfinite(v) ? fmt(v) : std::string("null"));
  }
  Json& str(const std::string& key, const std::string& v) {
    std::string quoted = "\"";
    quoted.append(v).append("\"");
    return raw(key, quoted);
  }
  Json& raw(const std::string& key, const std::string& v) {
    if (!body_.empty()) body_.append(", ");
    body_.append("\"").append(key).append("\": ").append(v);
    return *this;
  }
  std::string text() const { return "{" + body_ + "}"; }

 private:
  static std::string fmt(double v) {
    std::ostringstream s;
    s.precision(9);
    s << v;
    return s.str();
  }
  std::string body_;
};

// The request loop. `run(case, threads, min_seconds)` returns the JSON answer.
inline int serve(const std::function<std::string(const std::string&, int, double)>& run) {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string name;
    int threads = 1;
    double min_seconds = 0.2;
    in >> name >> threads >> min_seconds;
    if (name.empty()) continue;
    if (name == "quit") break;
    std::string answer;
    try {
      answer = run(name, threads, min_seconds);
    } catch (const std::exception& e) {
      std::string what = e.what();
      std::replace(what.begin(), what.end(), '"', '\'');
      answer = Json().str("skip", "error: " + what).text();
    }
    std::cout << answer << std::endl;
  }
  return 0;
}

// "bn_train_fwd:256x256" -> {"bn_train_fwd", "256x256"}
inline std::pair<std::string, std::string> split_case(const std::string& name) {
  const auto colon = name.find(':');
  if (colon == std::string::npos) return {name, ""};
  return {name.substr(0, colon), name.substr(colon + 1)};
}

// "256x256" -> {256, 256}
inline std::vector<int64_t> parse_dims(const std::string& text) {
  std::vector<int64_t> dims;
  std::istringstream in(text);
  std::string part;
  while (std::getline(in, part, 'x')) dims.push_back(std::stoll(part));
  return dims;
}

// The three MLPs of the benchmark: in -> hidden (BN, ReLU) -> hidden (BN, ReLU) -> classes.
struct MlpSize {
  int64_t in, hidden, classes, batch;
};
inline MlpSize mlp_size(const std::string& name) {
  if (name == "S") return {2, 64, 2, 128};
  if (name == "M") return {784, 512, 10, 256};
  if (name == "L") return {1024, 2048, 10, 1024};
  throw std::invalid_argument("unknown MLP size " + name);
}

}  // namespace bench
