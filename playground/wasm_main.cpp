// The page's one entry into minigrad: playground_call(request JSON) -> answer JSON (session.hpp).
// The answer's text stays valid until the next call; the page copies it out at once
// (web/minigrad_api.js).
#include <string>

#include <emscripten/emscripten.h>

#include "session.hpp"

extern "C" EMSCRIPTEN_KEEPALIVE const char* playground_call(const char* request) {
  static std::string answer;
  playground::Json reply;
  try {
    reply = playground::handle(playground::Json::parse(request));
  } catch (const playground::Json::parse_error& e) {
    reply = {{"error", std::string("playground: the request is not JSON: ") + e.what()}};
  }
  answer = reply.dump();
  return answer.c_str();
}
