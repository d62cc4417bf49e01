// Panel 3, "Step through the backward": the staged BatchNorm graph for N = 3, every node with its
// forward value and, once the engine has reached it, its gradient.
import { LEFT, RIGHT } from './plots.js';

const $ = (id) => document.getElementById(id);
const numbers = (id) => $(id).value.split(',').map((s) => Number(s.trim()));
const show = (v) => (Math.abs(v) < 1e-12 ? '0' : Number(v).toPrecision(4));

export function makeBackwardPanel(call) {
  const view = { graph: null, reached: 0 };

  function forward() {
    try {
      view.graph = call('backward_graph', {
        x: numbers('bw-x'), gamma: Number($('bw-gamma').value), beta: Number($('bw-beta').value), dy: numbers('bw-dy'),
      });
    } catch (e) {  // not three values of x or dy: the driver's message
      view.graph = null;
      $('bw-table').innerHTML = `<tr><td>${e.message}</td></tr>`;
    }
    view.reached = 0;
    draw();
  }
  function stepBack() {
    if (!view.graph) forward();
    if (!view.graph) return;
    view.reached = Math.min(view.reached + 1, view.graph.nodes.length);
    draw();
  }
  function all() {
    if (!view.graph) forward();
    if (!view.graph) return;
    view.reached = view.graph.nodes.length;
    draw();
  }

  // Columns by depth from x on the left to y on the right; gamma and beta sit in the column
  // before the node that uses them (below it).
  function layout(nodes, canvas) {
    const depth = new Array(nodes.length).fill(0);
    for (let i = nodes.length - 1; i >= 0; --i)  // inputs come after their consumers in the list
      for (const j of nodes[i].inputs) depth[i] = Math.max(depth[i], depth[j] + 1);
    nodes.forEach((n, i) => {
      if (n.name !== 'gamma' && n.name !== 'beta') return;
      const users = nodes.map((m, k) => (m.inputs.includes(i) ? depth[k] : Infinity));
      depth[i] = Math.min(...users) - 1;
    });
    const columns = {};
    const leafLast = (i) => (nodes[i].name === 'gamma' || nodes[i].name === 'beta' ? 1 : 0);
    nodes.forEach((_, i) => (columns[depth[i]] ||= []).push(i));
    for (const members of Object.values(columns)) members.sort((a, b) => leafLast(a) - leafLast(b));
    const maxDepth = Math.max(...depth), pos = [], dx = (canvas.width - 10) / (maxDepth + 1);
    for (const [d, members] of Object.entries(columns))
      members.forEach((i, k) => (pos[i] = [6 + Number(d) * dx, 8 + k * 122]));
    return { pos, w: dx - 8 };
  }

  function draw() {
    const canvas = $('bw-graph'), ctx = canvas.getContext('2d'), g = view.graph;
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (!g) return;
    const { pos, w } = layout(g.nodes, canvas), h = 112;
    ctx.strokeStyle = '#bbb';
    g.nodes.forEach((n, i) => n.inputs.forEach((j) => {
      ctx.beginPath();
      ctx.moveTo(pos[j][0] + w, pos[j][1] + 20);
      ctx.lineTo(pos[i][0], pos[i][1] + 20);
      ctx.stroke();
    }));
    g.nodes.forEach((n, i) => {
      const [x, y] = pos[i], done = i < view.reached, next = i === view.reached;
      ctx.fillStyle = done ? '#fff4e6' : '#f1f6fc';
      ctx.strokeStyle = next ? RIGHT : done ? RIGHT + '99' : LEFT;
      ctx.lineWidth = next ? 2.5 : 1;
      ctx.fillRect(x, y, w, h);
      ctx.strokeRect(x, y, w, h);
      ctx.lineWidth = 1;
      ctx.fillStyle = '#111';
      ctx.font = 'bold 11px sans-serif';
      ctx.fillText(n.name.replaceAll(' ', ''), x + 3, y + 12);
      ctx.font = '10px sans-serif';
      ctx.fillStyle = '#666';
      ctx.fillText(n.op ? n.op : 'leaf', x + 3, y + 23);
      ctx.font = '10px ui-monospace, monospace';
      ctx.fillStyle = '#111';
      n.value.forEach((v, k) => ctx.fillText(show(v), x + 3, y + 36 + 11 * k));
      if (done && n.grad) {
        ctx.fillStyle = RIGHT;
        n.grad.forEach((v, k) => ctx.fillText('g ' + show(v), x + 3, y + 72 + 11 * k));
      }
      if (done || next) {
        ctx.fillStyle = next ? RIGHT : '#666';
        ctx.fillText(next ? 'next' : `#${i + 1}`, x + w - 26, y + 23);
      }
    });
    table(g);
  }

  function table(g) {
    const done = view.reached >= g.nodes.length;
    const rows = [
      ['dx, autograd through the stages', g.autograd.dx, g.autograd.dgamma, g.autograd.dbeta],
      ['dx, hand-derived (fused BatchNorm1d)', g.fused.dx, g.fused.dgamma, g.fused.dbeta],
      ['dx, staged reference layer', g.staged.dx, null, null],
      [`dx, central differences (h = ${g.finite_difference.h})`, g.finite_difference.dx, g.finite_difference.dgamma, g.finite_difference.dbeta],
    ];
    let html = '<tr><th></th><th>x1</th><th>x2</th><th>x3</th><th>dgamma</th><th>dbeta</th></tr>';
    for (const [label, dx, dg, db] of rows) {
      const cells = done ? [...dx, dg, db].map((v) => (v === null ? '' : Number(v).toFixed(9))) : ['…', '…', '…', '…', '…'];
      html += `<tr><th>${label}</th>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
    }
    const d = g.max_diff;
    html += `<tr><th>largest difference from the hand-derived</th><td colspan="5">autograd ${d.fused_vs_autograd.toExponential(1)}, ` +
      `staged ${d.fused_vs_staged.toExponential(1)}, finite differences ${d.fused_vs_finite_difference.toExponential(1)}</td></tr>`;
    $('bw-table').innerHTML = html;
  }

  $('bw-forward').onclick = forward;
  $('bw-back').onclick = stepBack;
  $('bw-all').onclick = all;
  forward();
  return { view, forward, stepBack, all };
}
