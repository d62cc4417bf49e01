// Loads minigrad (WebAssembly) and builds the three panels. window.playground is what the
// browser test (scripts/playground_browser_test.mjs) drives.
import { loadMinigrad } from './minigrad_api.js';
import { makeBackwardPanel } from './backward.js';
import { makeInsidePanel } from './inside.js';
import { makeTrainPanel } from './train.js';

const call = await loadMinigrad();
const train = makeTrainPanel(call);
const inside = makeInsidePanel(call);
const backward = makeBackwardPanel(call);
// Panel 2 looks at panel 1's left network: redraw it when that network steps or is reset.
for (const id of ['step', 'reset']) document.getElementById(id).addEventListener('click', () => inside.refresh());
document.getElementById('start').addEventListener('click', () => inside.refresh());
document.getElementById('status').textContent = 'minigrad is loaded.';
window.playground = { call, train, inside, backward, ready: true };
