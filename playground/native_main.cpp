// playground_native: the page's driver (session.hpp) as a native program, the twin the browser
// test compares the page with. Each argument is one JSON request; each answer is printed as one
// line of JSON, in order. Exit code 1 if any answer is an error. One thread, as in the page.
//
//   playground_native '{"cmd":"new_run","dataset":"spirals"}' '{"cmd":"step","steps":10}'
#include <iostream>

#include <omp.h>

#include "session.hpp"

int main(int argc, char** argv) {
  omp_set_num_threads(1);  // as train_mlp by default (--threads 1) and the page (one thread)
  int status = 0;
  for (int i = 1; i < argc; ++i) {
    playground::Json answer;
    try {
      answer = playground::handle(playground::Json::parse(argv[i]));
    } catch (const playground::Json::parse_error& e) {
      answer = {{"error", std::string("playground_native: the request is not JSON: ") + e.what()}};
    }
    if (answer.contains("error")) status = 1;
    std::cout << answer.dump() << '\n';
  }
  return status;
}
