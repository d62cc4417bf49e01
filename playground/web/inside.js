// Panel 2, "Inside BatchNorm": one BatchNorm1d of the left network of panel 1.
import { LEFT, RIGHT, dots, fmt, frame, line, range } from './plots.js';

const $ = (id) => document.getElementById(id);
const SHOWN_CHANNELS = 16;

export function makeInsidePanel(call) {
  const view = { state: null, modes: null, other: null, running: null, gap: null };
  const layer = () => Number($('bn-layer').value);
  const channel = () => Number($('bn-channel').value);

  function refresh() {
    try {
      view.state = call('bn_state', { id: 'left', layer: layer() });
    } catch (e) {
      // A left network without BatchNorm1d, or a layer it does not have: the library's message.
      $('bn-readout').textContent = `${e.message}. Choose BatchNorm for the left network in panel 1.`;
      view.state = view.modes = null;
      return;
    }
    const mode = $('bn-mode').value, other = mode === 'train' ? 'eval' : 'train';
    view.modes = view.state.batch ? call('bn_modes', { id: 'left', layer: layer(), mode }) : null;
    view.other = view.state.batch ? call('bn_modes', { id: 'left', layer: layer(), mode: other }) : null;
    draw();
  }

  function drawStats() {
    const s = view.state, b = s.batch;
    const C = Math.min(SHOWN_CHANNELS, s.channels), cs = [...Array(C).keys()];
    const f = frame($('bn-stats'), [-0.5, C - 0.5], range(b ? b.mean.slice(0, C) : [], b ? b.var.slice(0, C) : [],
      s.running_mean.slice(0, C), s.running_var.slice(0, C), [0]), { title: `channels 0-${C - 1}: mean (blue), variance (orange)`, xlabel: 'channel' });
    const { ctx } = f;
    for (const c of cs) {
      if (b) {
        ctx.fillStyle = LEFT + '66';
        ctx.fillRect(f.x(c - 0.38), f.y(Math.max(0, b.mean[c])), f.x(0.36) - f.x(0), Math.abs(f.y(b.mean[c]) - f.y(0)));
        ctx.fillStyle = RIGHT + '66';
        ctx.fillRect(f.x(c + 0.02), f.y(b.var[c]), f.x(0.36) - f.x(0), Math.abs(f.y(b.var[c]) - f.y(0)));
      }
    }
    dots(f, cs.map((c) => c - 0.2), s.running_mean.slice(0, C), LEFT, 3.5);
    dots(f, cs.map((c) => c + 0.2), s.running_var.slice(0, C), RIGHT, 3.5);
  }

  // The chosen mode's outputs (large dots) and the other mode's (small) for one channel.
  function drawModes() {
    const m = view.modes, o = view.other, c = Math.min(channel(), m.channels - 1), C = m.channels, N = m.N;
    const xs = [...Array(N).keys()].map((i) => m.x[i * C + c]);
    const ys = [...Array(N).keys()].map((i) => m.y[i * C + c]);
    const ys_other = [...Array(N).keys()].map((i) => o.y[i * C + c]);
    const f = frame($('bn-modes'), range(xs), range(ys, ys_other, [-2.5, 2.5]),
      { title: `channel ${c}: train() blue, eval() orange (${m.mode}() large)`, xlabel: 'x (the layer input)' });
    const color = (mode) => (mode === 'train' ? LEFT : RIGHT);
    dots(f, xs, ys_other, color(o.mode), 2);
    dots(f, xs, ys, color(m.mode), 3.5);
    const changed = m.before.running_mean[c] !== m.after.running_mean[c];
    $('bn-modes-caption').textContent = `In ${m.mode}() the ${N} outputs of channel ${c} have mean ${fmt(m.y_mean[c])} ` +
      `and variance ${fmt(m.y_var[c])}; this forward ${changed ? 'updated' : 'left unchanged'} running_mean ` +
      `(${fmt(m.before.running_mean[c])} -> ${fmt(m.after.running_mean[c])}) and num_batches_tracked ` +
      `(${m.before.num_batches_tracked} -> ${m.after.num_batches_tracked}).`;
  }

  function readout() {
    const s = view.state, b = s.batch, m = view.modes, c = Math.min(channel(), s.channels - 1);
    const lines = [`BatchNorm1d(${s.channels}, eps=${s.eps}, momentum=${s.momentum === null ? 'None' : s.momentum}) ` +
      `at net[${s.module}], num_batches_tracked = ${s.num_batches_tracked}`];
    if (b) {
      lines.push(`channel ${c}: batch of N = ${b.N}: mean ${fmt(b.mean[c])}, biased var ${fmt(b.var[c])} (normalises), ` +
        `unbiased var ${fmt(b.var_unbiased[c])} (feeds running_var)`);
      lines.push(`           running_mean ${fmt(s.running_mean[c])}, running_var ${fmt(s.running_var[c])}; ` +
        `gamma ${fmt(s.weight[c])}, beta ${fmt(s.bias[c])}`);
      const stats = m.mode === 'train' ? `the batch's mean and biased variance` : `running_mean and running_var`;
      lines.push(`mode ${m.mode}(): y = (x - mean) / sqrt(var + eps) * gamma + beta with ${stats}`);
    }
    $('bn-readout').textContent = lines.join('\n');
  }

  function draw() {
    if (!view.state) return;
    drawStats();
    if (view.modes) drawModes();
    readout();
  }

  function followRunning() {
    const m = Number($('bn-momentum').value);
    $('bn-m-label').textContent = String(m);
    view.running = call('bn_running', { id: 'left', layer: layer(), channel: channel(), momentum: m, steps: Number($('bn-steps').value) });
    const r = view.running, ks = r.batch_mean.map((_, i) => i + 1);
    const f = frame($('bn-running'), [1, ks.length], range(r.batch_mean, r.momentum_mean, r.none_mean, [r.target_mean, 0]),
      { title: `running_mean of channel ${r.channel}`, xlabel: 'batches seen' });
    dots(f, ks, r.batch_mean, '#888', 2);
    line(f, ks, r.momentum_mean, LEFT, 2);
    line(f, ks, r.none_mean, RIGHT, 2);
    line(f, [1, ks.length], [r.target_mean, r.target_mean], '#222', 1, [5, 4]);
  }

  function measureGap() {
    view.gap = call('bn_gap', { id: 'left', layer: layer() });
    const rows = view.gap.rows, ns = rows.map((r) => r.n);
    const f = frame($('bn-gap'), [ns[0], ns[ns.length - 1]], [0, Math.max(1.05, ...rows.map((r) => r.trained_gap))],
      { logx: true, xlabel: 'batch size n', title: 'eval / train ratio, and the whole gap' });
    const fine = [];
    for (let n = ns[0]; n <= ns[ns.length - 1]; n *= 1.05) fine.push(n);
    line(f, fine, fine.map((n) => Math.sqrt((n - 1) / n)), LEFT, 1.5);
    dots(f, ns, rows.map((r) => r.ratio_mean), LEFT, 4);
    line(f, ns, rows.map((r) => r.trained_gap), RIGHT, 2);
  }

  $('bn-refresh').onclick = refresh;
  for (const id of ['bn-layer', 'bn-channel', 'bn-mode']) $(id).onchange = refresh;
  $('bn-run').onclick = followRunning;
  $('bn-gap-run').onclick = measureGap;
  return { view, refresh, followRunning, measureGap };
}
