// Loads minigrad (WebAssembly) and builds the three panels. window.playground is what the
// browser test (scripts/playground_browser_test.mjs) drives.
import { loadMinigrad } from './minigrad_api.js';
import { makeBackwardPanel } from './backward.js';
import { makeInsidePanel } from './inside.js';
import { makeTrainPanel } from './train.js';

const call = await loadMinigrad();
// Panel 2 looks at panel 1's left network: it redraws whenever panel 1 evaluates that network.
let inside = null;
const train = makeTrainPanel(call, () => inside && inside.refresh());
inside = makeInsidePanel(call);
inside.refresh();
const backward = makeBackwardPanel(call);
document.getElementById('status').textContent = 'minigrad is loaded.';
window.playground = { call, train, inside, backward, ready: true };
