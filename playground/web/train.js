// Panel 1, "Train live": two networks from the same seed (left, right), trained a few steps per
// animation frame; their decision regions and the loss and accuracy curves redrawn as they learn.
import { COLORS, LEFT, RIGHT, dots, frame, line, range } from './plots.js';

const $ = (id) => document.getElementById(id);
const NORM_NAMES = { batch: 'BatchNorm', layer: 'LayerNorm', none: 'no norm' };
const STEPS_PER_FRAME = 4;
const EVAL_EVERY = 20;  // steps between test evaluations and redraws of the regions

// onEvaluate() is called after each evaluation of the left network (panel 2 redraws then).
export function makeTrainPanel(call, onEvaluate = () => {}) {
  const state = { runs: {}, running: false };

  function settings() {
    return {
      dataset: $('dataset').value,
      classes: Number($('classes').value),
      hidden: $('hidden').value.split(',').map((s) => Number(s.trim())).filter((v) => v > 0),
      batch_size: Number($('batch').value),
      lr: Number($('lr').value),
      momentum: Number($('momentum').value),
      weight_decay: Number($('wd').value),
      seed: Number($('seed').value),
    };
  }

  function reset() {
    pause();
    state.runs = {};
    const s = settings();
    const sides = { left: $('norm-left').value, right: $('norm-right').value };
    $('figure-right').style.display = sides.right === 'off' ? 'none' : '';
    for (const [id, norm] of Object.entries(sides)) {
      if (norm === 'off') continue;
      let made;
      try {
        made = call('new_run', { id, norm, points: true, ...s });
      } catch (e) {  // a setting the library refuses: its message, and no network until fixed
        state.runs = {};
        $('train-readout').textContent = e.message;
        return;
      }
      state.runs[id] = { id, norm, made, losses: [], acc: [], last: null, boundary: null };
    }
    for (const run of Object.values(state.runs)) evaluate(run);
    draw();
  }

  function evaluate(run) {
    run.last = call('evaluate', { id: run.id });
    run.acc.push([run.losses.length, run.last.test_acc]);
    run.boundary = call('boundary', { id: run.id, grid: 75, box: [-1.6, 1.6, -1.6, 1.6] });
    if (run.id === 'left') onEvaluate();
  }

  // n steps of every run; returns the left run's losses of these steps.
  function stepAll(n) {
    let out = [];
    for (const run of Object.values(state.runs)) {
      const answer = call('step', { id: run.id, steps: n });
      const before = run.losses.length;
      run.losses.push(...answer.losses);
      run.step = answer.step;
      run.epoch = answer.epoch;
      if (Math.floor(run.losses.length / EVAL_EVERY) > Math.floor(before / EVAL_EVERY) || n === 1) evaluate(run);
      if (run.id === 'left') out = answer.losses;
    }
    return out;
  }

  function frameLoop() {
    if (!state.running) return;
    stepAll(STEPS_PER_FRAME);
    draw();
    requestAnimationFrame(frameLoop);
  }
  function start() {
    if (state.running || !state.runs.left) return;
    state.running = true;
    $('start').textContent = 'Pause';
    requestAnimationFrame(frameLoop);
  }
  function pause() {
    state.running = false;
    $('start').textContent = 'Start';
  }

  function drawBoundary(run, canvas, caption) {
    const ctx = canvas.getContext('2d');
    const W = canvas.width, H = canvas.height, box = [-1.6, 1.6, -1.6, 1.6];
    const b = run.boundary, G = b.grid;
    const img = ctx.createImageData(W, H);
    for (let py = 0; py < H; ++py)
      for (let px = 0; px < W; ++px) {
        const cell = Math.floor((py * G) / H) * G + Math.floor((px * G) / W);
        const rgb = hex(COLORS[b.class[cell] % COLORS.length]);
        const a = 0.15 + 0.35 * b.prob[cell];
        const o = 4 * (py * W + px);
        for (let k = 0; k < 3; ++k) img.data[o + k] = Math.round(255 * (1 - a) + rgb[k] * a);
        img.data[o + 3] = 255;
      }
    ctx.putImageData(img, 0, 0);
    const toPx = ([x, y]) => [((x - box[0]) / (box[1] - box[0])) * W, ((box[3] - y) / (box[3] - box[2])) * H];
    for (const [set, stroke] of [[run.made.train, null], [run.made.test, '#000']]) {
      for (let i = 0; i < set.x.length; ++i) {
        const [px, py] = toPx(set.x[i]);
        ctx.beginPath();
        ctx.arc(px, py, stroke ? 2.6 : 1.8, 0, 2 * Math.PI);
        ctx.fillStyle = COLORS[set.y[i] % COLORS.length];
        ctx.fill();
        if (stroke) { ctx.strokeStyle = stroke; ctx.stroke(); }
      }
    }
    const l = run.last;
    caption.textContent = `${run.id}: ${NORM_NAMES[run.norm]}. ${run.made.model}. Step ${run.losses.length}` +
      ` (epoch ${(run.losses.length / run.made.steps_per_epoch).toFixed(1)}): test accuracy ` +
      `${(100 * l.test_acc).toFixed(1)}%, test loss ${l.test_loss.toFixed(3)}, train accuracy ${(100 * l.train_acc).toFixed(1)}%.`;
  }

  function draw() {
    const left = state.runs.left, right = state.runs.right;
    if (left) drawBoundary(left, $('boundary-left'), $('caption-left'));
    if (right) drawBoundary(right, $('boundary-right'), $('caption-right'));
    const runs = Object.values(state.runs);
    const steps = Math.max(10, ...runs.map((r) => r.losses.length));
    const f = frame($('curves'), [0, steps], [0, Math.max(1.2, ...range(...runs.map((r) => r.losses.slice(-400))))],
      { xlabel: 'step', title: 'loss (thin), test accuracy (thick)' });
    for (const r of runs) {
      const color = r.id === 'left' ? LEFT : RIGHT;
      line(f, r.losses.map((_, i) => i + 1), r.losses, color + '88', 1);
      line(f, r.acc.map((a) => a[0]), r.acc.map((a) => a[1]), color, 3);
    }
    const l = left && left.last;
    $('train-readout').textContent = l ? `left test accuracy ${(100 * l.test_acc).toFixed(1)}%` +
      (right ? `, right ${(100 * right.last.test_acc).toFixed(1)}%` : '') : '';
  }

  $('reset').onclick = reset;
  $('start').onclick = () => (state.running ? pause() : start());
  $('step').onclick = () => { pause(); if (state.runs.left) { stepAll(1); draw(); } };
  for (const id of ['dataset', 'classes', 'hidden', 'batch', 'lr', 'momentum', 'wd', 'seed', 'norm-left', 'norm-right'])
    $(id).onchange = reset;
  reset();

  return {
    state, reset, start, pause, draw,
    // Steps without drawing in between (the browser test fast-forwards with it).
    steps(n) { const l = stepAll(n); for (const r of Object.values(state.runs)) evaluate(r); draw(); return l; },
  };
}

function hex(c) {
  return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
}
