// The page's connection to minigrad: one function, call(cmd, args), that sends a JSON request to
// the WebAssembly build's playground_call (playground/session.hpp lists the commands) and
// returns its answer, or throws the library's error message.

export async function loadMinigrad() {
  // createMinigrad is defined by minigrad.js (Emscripten, -sMODULARIZE=1, the .wasm inlined).
  const module = await globalThis.createMinigrad();
  return function call(cmd, args = {}) {
    const text = module.ccall('playground_call', 'string', ['string'], [JSON.stringify({ cmd, ...args })]);
    const answer = JSON.parse(text);
    if (answer.error) throw new Error(answer.error);
    return answer;
  };
}
