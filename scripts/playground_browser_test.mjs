// The playground's test in a real browser: headless Chromium, driven over the DevTools protocol
// (a WebSocket; Node 20 needs --experimental-websocket). scripts/test_playground.sh runs it:
//
//   node --experimental-websocket scripts/playground_browser_test.mjs WEB_DIR TWIN TRAIN_MLP \
//        WORK_DIR [SCREENSHOT_DIR]
//
// WEB_DIR is the built page (make -f playground/wasm.mk), TWIN the native build of the page's
// driver (playground_native), TRAIN_MLP the native train_mlp. It serves WEB_DIR on 127.0.0.1,
// loads the page, and checks, printing one line per check:
//   - the page loads without console errors or exceptions (and none appear later); settings the
//     driver refuses show its message;
//   - its first 10 training steps' losses are the native twin's, and on 45 points (one step per
//     epoch) train_mlp's metrics.csv rows, to 1e-5 relative;
//   - Start trains, Pause stops; spirals with BatchNorm reach 90% test accuracy in the page;
//   - the BatchNorm panel in train() and eval() shows what the library does in each mode;
//   - the gap, running-statistics and backward panels agree with their formulas;
//   - a training step's time in the page and natively (printed).
// With SCREENSHOT_DIR, each panel is saved there as playground_{train,inside,backward}.png.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { serve } from '../playground/serve.mjs';

const [webDir, twin, trainMlp, workDir, shotDir] = process.argv.slice(2);
if (!workDir) {
  console.error('usage: playground_browser_test.mjs WEB_DIR TWIN TRAIN_MLP WORK_DIR [SCREENSHOT_DIR]');
  process.exit(2);
}
let failures = 0;
function check(what, ok, detail = '') {
  console.log(`${ok ? 'ok   ' : 'FAIL '} ${what}${detail ? ': ' + detail : ''}`);
  if (!ok) failures += 1;
}
const relative = (a, b) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);

// ---- the page, served as `make playground` serves it ----
const { server, url: baseUrl } = await serve(webDir);
const pageUrl = `${baseUrl}index.html`;

// ---- Chromium, and one page over the DevTools protocol ----
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'playground-chromium-'));
const chromium = spawn(process.env.CHROMIUM || 'chromium', [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
  '--remote-debugging-port=0', `--user-data-dir=${profile}`, 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'] });
const browserUrl = await new Promise((resolve, reject) => {
  let text = '';
  const timer = setTimeout(() => reject(new Error('chromium did not start in 60 s:\n' + text)), 60000);
  chromium.stderr.on('data', (chunk) => {
    text += chunk;
    const m = text.match(/DevTools listening on (ws:\/\/\S+)/);
    if (m) { clearTimeout(timer); resolve(m[1]); }
  });
  chromium.on('exit', (code) => reject(new Error(`chromium exited (${code}):\n${text}`)));
});

const socket = new WebSocket(browserUrl);
await new Promise((resolve, reject) => { socket.onopen = resolve; socket.onerror = reject; });
let nextId = 1;
const pending = new Map();
const problems = [];  // console errors and exceptions, as the page reports them
socket.onmessage = (event) => {
  const msg = JSON.parse(event.data);
  if (msg.id && pending.has(msg.id)) {
    const { resolve, reject } = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error) reject(new Error(JSON.stringify(msg.error))); else resolve(msg.result);
  } else if (msg.method === 'Runtime.exceptionThrown') {
    const d = msg.params.exceptionDetails;
    problems.push(`exception: ${d.exception ? d.exception.description : d.text}`);
  } else if (msg.method === 'Runtime.consoleAPICalled' && ['error', 'assert'].includes(msg.params.type)) {
    problems.push(`console.${msg.params.type}: ${msg.params.args.map((a) => a.value ?? a.description).join(' ')}`);
  } else if (msg.method === 'Log.entryAdded' && msg.params.entry.level === 'error') {
    problems.push(`log: ${msg.params.entry.text} ${msg.params.entry.url || ''}`);
  }
};
let sessionId;
function send(method, params = {}) {
  const id = nextId++;
  socket.send(JSON.stringify({ id, method, params, sessionId }));
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}
const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
({ sessionId } = await send('Target.attachToTarget', { targetId, flatten: true }));
for (const domain of ['Runtime', 'Log', 'Page']) await send(`${domain}.enable`);
await send('Emulation.setDeviceMetricsOverride', { width: 1060, height: 1400, deviceScaleFactor: 1, mobile: false });

// Runs `expression` (async allowed) in the page; returns its value (JSON-serialisable).
async function page(expression) {
  const r = await send('Runtime.evaluate', { expression: `(async () => (${expression}))()`, awaitPromise: true, returnByValue: true });
  if (r.exceptionDetails) throw new Error(`in the page: ${expression}\n${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
  return r.result.value;
}
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
function native(...requests) {
  const out = execFileSync(twin, requests.map((r) => JSON.stringify(r)), { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
  return out.trim().split('\n').map((line) => JSON.parse(line));
}

try {
  // ---- loading ----
  await send('Page.navigate', { url: pageUrl });
  let ready = false;
  for (let t = 0; t < 300 && !ready; ++t) {
    await sleep(100);
    ready = await page('window.playground && window.playground.ready === true').catch(() => false);
  }
  check('the page loads minigrad and builds its three panels', ready,
    ready ? '' : `status "${await page("document.getElementById('status')?.textContent")}"; ${problems.join(' | ')}`);
  if (!ready) throw new Error('the page did not load');
  check('no console errors or exceptions while loading', problems.length === 0, problems.join(' | '));

  // ---- a setting the library refuses: its message on the page, no exception ----
  const refused = await page("(() => { const b = document.getElementById('batch'); b.value = '1'; b.dispatchEvent(new Event('change')); const t = document.getElementById('train-readout').textContent; b.value = '32'; b.dispatchEvent(new Event('change')); return t; })()");
  check('a batch of 1 is refused with the driver\'s message on the page', refused === 'playground: expected a batch size from 2 to the 1200 training points, got 1', `"${refused}"`);
  const badX = await page("(() => { const x = document.getElementById('bw-x'); x.value = '1, 2'; document.getElementById('bw-forward').click(); const t = document.getElementById('bw-table').textContent; x.value = '1, 2, 6'; document.getElementById('bw-forward').click(); return t; })()");
  check('two values of x are refused with the driver\'s message on the page', badX === 'playground: backward_graph expected 3 values of x and of dy, got 2 and 3', `"${badX}"`);

  // ---- the first 10 steps against the native twin and train_mlp ----
  const pageLosses = await page("window.playground.train.steps(10)");
  const [, twinSteps] = native({ cmd: 'new_run' }, { cmd: 'step', steps: 10 });
  const worstTwin = Math.max(...pageLosses.map((l, k) => relative(l, twinSteps.losses[k])));
  check('the page\'s first 10 losses (spirals, BatchNorm, seed 0) are the native driver\'s, 1e-5 relative',
    pageLosses.length === 10 && worstTwin <= 1e-5, `worst ${worstTwin.toExponential(2)}; page ${pageLosses.map((l) => l.toFixed(6)).join(' ')}`);

  const dir = path.join(workDir, 'train_mlp_45');
  fs.rmSync(dir, { recursive: true, force: true });
  execFileSync(trainMlp, ['--samples', '45', '--epochs', '10', '--schedule', 'none', '--brief', '--out', dir], { stdio: 'ignore' });
  const rows = fs.readFileSync(path.join(dir, 'metrics.csv'), 'utf8').trim().split('\n').slice(1).map((r) => r.split(',').map(Number));
  const small = await page("window.playground.call('new_run', {id: 'check', samples: 45}) && window.playground.call('step', {id: 'check', steps: 10}).losses");
  const worstMlp = Math.max(...small.map((l, k) => relative(l, rows[k][1])));
  check('on 45 points (one step per epoch) the page\'s 10 losses are train_mlp --schedule none\'s, 1e-5 relative',
    small.length === 10 && worstMlp <= 1e-5, `worst ${worstMlp.toExponential(2)} (metrics.csv prints 6 decimals)`);

  // ---- Start / Pause, then train to 90% ----
  const before = await page('window.playground.train.state.runs.left.losses.length');
  await page("document.getElementById('start').click()");
  await sleep(1500);
  await page("document.getElementById('start').click()");
  const after = await page('window.playground.train.state.runs.left.losses.length');
  await sleep(300);
  const still = await page('window.playground.train.state.runs.left.losses.length');
  check('Start trains both networks frame by frame, Pause stops them', after > before && still === after, `${before} -> ${after} -> ${still} steps`);

  await page("(document.getElementById('dataset').value = 'spirals', document.getElementById('norm-left').value = 'batch', document.getElementById('norm-right').value = 'none', document.getElementById('reset').click(), true)");
  let acc = 0, steps = 0;
  while (acc < 0.9 && steps < 37 * 30) {
    await page('window.playground.train.steps(37)');
    steps += 37;
    acc = await page('window.playground.train.state.runs.left.last.test_acc');
  }
  const right = await page('window.playground.train.state.runs.right.last.test_acc');
  check('spirals with BatchNorm reach 90% test accuracy in the page', acc >= 0.9,
    `${(100 * acc).toFixed(1)}% after ${steps} steps (${steps / 37} epochs); without BatchNorm ${(100 * right).toFixed(1)}%`);
  const caption = await page("document.getElementById('caption-left').textContent");
  check('the caption shows that accuracy', caption.includes(`${(100 * acc).toFixed(1)}%`), caption);

  // ---- Inside BatchNorm: train() against eval() on the same batch ----
  await page("(document.getElementById('bn-layer').value = '0', document.getElementById('bn-mode').value = 'train', document.getElementById('bn-mode').dispatchEvent(new Event('change')), true)");
  const trainView = await page('window.playground.inside.view');
  const trainCaption = await page("document.getElementById('bn-modes-caption').textContent");
  await page("(document.getElementById('bn-mode').value = 'eval', document.getElementById('bn-mode').dispatchEvent(new Event('change')), true)");
  const evalView = await page('window.playground.inside.view');
  const evalCaption = await page("document.getElementById('bn-modes-caption').textContent");
  const s = trainView.state, C = s.channels, N = s.batch.N, tm = trainView.modes, em = evalView.modes;
  let meanErr = 0, runErr = 0, evalErr = 0;
  for (let c = 0; c < C; ++c) {
    meanErr = Math.max(meanErr, Math.abs(tm.y_mean[c] - s.bias[c]));
    runErr = Math.max(runErr, Math.abs(tm.after.running_mean[c] - (0.9 * tm.before.running_mean[c] + 0.1 * s.batch.mean[c])),
      Math.abs(tm.after.running_var[c] - (0.9 * tm.before.running_var[c] + 0.1 * s.batch.var_unbiased[c])));
    for (let i = 0; i < N; ++i) {
      const want = ((em.x[i * C + c] - s.running_mean[c]) / Math.sqrt(s.running_var[c] + s.eps)) * s.weight[c] + s.bias[c];
      evalErr = Math.max(evalErr, Math.abs(em.y[i * C + c] - want));
    }
  }
  check('train(): each channel\'s output mean is beta (batch statistics normalise)', meanErr < 1e-5, `worst ${meanErr.toExponential(2)}`);
  check('train(): the forward moves running_mean/var by momentum 0.1 (unbiased variance) and says so',
    runErr < 1e-5 && trainCaption.includes('updated') && tm.after.num_batches_tracked === tm.before.num_batches_tracked + 1,
    `worst ${runErr.toExponential(2)}; "${trainCaption}"`);
  check('eval(): y = (x - running_mean) / sqrt(running_var + eps) * gamma + beta on the same batch',
    evalErr < 1e-4 && JSON.stringify(em.x) === JSON.stringify(tm.x), `worst ${evalErr.toExponential(2)}`);
  check('eval(): running statistics unchanged, and the panel says so',
    JSON.stringify(em.before) === JSON.stringify(em.after) && evalCaption.includes('left unchanged') && evalCaption !== trainCaption,
    `"${evalCaption}"`);

  await page("document.getElementById('bn-gap-run').click()");
  const gap = await page('window.playground.inside.view.gap.rows');
  const gapErr = Math.max(...gap.map((r) => Math.max(Math.abs(r.ratio_min - r.predicted), Math.abs(r.ratio_max - r.predicted))));
  check('the measured eval/train ratio is sqrt((n-1)/n) for every batch size n', gapErr < 1e-5,
    gap.map((r) => `n=${r.n}: ${r.ratio_mean.toFixed(4)}`).join(', '));
  await page("(document.getElementById('bn-momentum').value = '0.1', document.getElementById('bn-run').click(), true)");
  const run = await page('window.playground.inside.view.running');
  let ema = 0, sum = 0, emaErr = 0, avgErr = 0;
  run.batch_mean.forEach((m, k) => {
    ema = 0.9 * ema + 0.1 * m;
    sum += m;
    emaErr = Math.max(emaErr, Math.abs(run.momentum_mean[k] - ema));
    avgErr = Math.max(avgErr, Math.abs(run.none_mean[k] - sum / (k + 1)));
  });
  check('running_mean with momentum 0.1 is the exponential average from 0, with None the plain average',
    emaErr < 1e-5 && avgErr < 1e-5, `after ${run.batch_mean.length} batches: momentum ${run.momentum_mean.at(-1).toFixed(4)}, None ${run.none_mean.at(-1).toFixed(4)}, target ${run.target_mean.toFixed(4)}`);

  // ---- the backward, stepped ----
  await page("document.getElementById('bw-forward').click()");
  for (let k = 0; k < 5; ++k) await page("document.getElementById('bw-back').click()");
  const partial = await page('window.playground.backward.view.reached');
  await page("document.getElementById('bw-all').click()");
  const g = await page('window.playground.backward.view.graph');
  const table = await page("document.getElementById('bw-table').textContent");
  check('Step back reveals one node per click; All the way reaches all 13',
    partial === 5 && g.nodes.length === 13 && (await page('window.playground.backward.view.reached')) === 13);
  check('hand-derived dx = autograd = staged (1e-12) = central differences (1e-7), shown in the table',
    g.max_diff.fused_vs_autograd < 1e-12 && g.max_diff.fused_vs_staged < 1e-12 && g.max_diff.fused_vs_finite_difference < 1e-7
    && table.includes(g.fused.dx[0].toFixed(9)), JSON.stringify(g.max_diff));

  // ---- a training step's time: page against native (default run, after its first epoch) ----
  const timing = { steps: 100, rounds: 5 };
  const pageTime = await page(`window.playground.call('new_run', {id: 'timing'}) && window.playground.call('step', {id: 'timing', steps: 37}) && window.playground.call('time_steps', {id: 'timing', ...${JSON.stringify(timing)}})`);
  const [, , nativeTime] = native({ cmd: 'new_run' }, { cmd: 'step', steps: 37 }, { cmd: 'time_steps', ...timing });
  console.log(`timing: one training step (2-64-64-3 with BatchNorm, batch 32), best of 5 rounds of 100 steps: ` +
    `page ${pageTime.us_per_step_best.toFixed(1)} us, native ${nativeTime.us_per_step_best.toFixed(1)} us, ` +
    `ratio ${(pageTime.us_per_step_best / nativeTime.us_per_step_best).toFixed(2)} ` +
    `(means: page ${pageTime.us_per_step_mean.toFixed(1)} us, native ${nativeTime.us_per_step_mean.toFixed(1)} us)`);

  // ---- screenshots ----
  if (shotDir) {
    fs.mkdirSync(shotDir, { recursive: true });
    await page("(document.getElementById('bn-mode').value = 'train', document.getElementById('bn-mode').dispatchEvent(new Event('change')), true)");
    for (const [id, name] of [['panel-train', 'train'], ['panel-inside', 'inside'], ['panel-backward', 'backward']]) {
      const r = await page(`(() => { const b = document.getElementById('${id}').getBoundingClientRect(); return {x: b.x + scrollX, y: b.y + scrollY, width: b.width, height: b.height}; })()`);
      const shot = await send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true, clip: { ...r, scale: 1 } });
      fs.writeFileSync(path.join(shotDir, `playground_${name}.png`), Buffer.from(shot.data, 'base64'));
    }
    console.log(`screenshots: ${shotDir}/playground_{train,inside,backward}.png`);
  }
  check('no console errors or exceptions during the session', problems.length === 0, problems.join(' | '));
} catch (e) {
  check('the session ran to its end', false, e.stack);
} finally {
  socket.close();
  // Chromium's helpers keep writing to the profile for a moment after it is told to stop.
  const exited = chromium.exitCode !== null ? Promise.resolve() : new Promise((done) => chromium.once('exit', done));
  chromium.kill();
  if (await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]) === false) chromium.kill('SIGKILL');
  server.close();
  await sleep(500);
  try {
    fs.rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  } catch (e) {
    console.log(`note: could not remove Chromium's profile ${profile}: ${e.message}`);
  }
}
console.log(failures ? `playground browser test: ${failures} check(s) failed` : 'playground browser test: all checks passed');
process.exit(failures ? 1 : 0);
