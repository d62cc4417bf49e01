// Canvas drawing shared by the panels: axes with a few ticks, lines, dots, bars.

export const COLORS = ['#1f6fc4', '#d9480f', '#2b8a3e', '#862e9c', '#e67700', '#0b7285'];
export const LEFT = '#1f6fc4';
export const RIGHT = '#d9480f';

// A plot area on a canvas with data ranges; x(v), y(v) map data to pixels.
export function frame(canvas, xr, yr, { title = '', logx = false, xlabel = '', ylabel = '' } = {}) {
  const ctx = canvas.getContext('2d');
  const W = canvas.width, H = canvas.height, L = 46, R = 10, T = title ? 20 : 8, B = 30;
  ctx.clearRect(0, 0, W, H);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, W, H);
  const tx = (v) => (logx ? Math.log(v) : v);
  const [x0, x1] = [tx(xr[0]), tx(xr[1])];
  const [y0, y1] = yr[0] === yr[1] ? [yr[0] - 1, yr[1] + 1] : yr;
  const f = {
    ctx, W, H,
    x: (v) => L + ((tx(v) - x0) / (x1 - x0 || 1)) * (W - L - R),
    y: (v) => H - B - ((v - y0) / (y1 - y0)) * (H - T - B),
  };
  ctx.strokeStyle = '#999';
  ctx.strokeRect(L, T, W - L - R, H - T - B);
  ctx.fillStyle = '#333';
  ctx.font = '11px sans-serif';
  ctx.textAlign = 'right';
  for (let i = 0; i <= 4; ++i) {
    const v = y0 + ((y1 - y0) * i) / 4;
    ctx.fillText(fmt(v), L - 4, f.y(v) + 4);
  }
  ctx.textAlign = 'center';
  const xticks = logx ? logTicks(xr) : [0, 1, 2, 3, 4].map((i) => xr[0] + ((xr[1] - xr[0]) * i) / 4);
  for (const v of xticks) ctx.fillText(fmt(v), f.x(v), H - B + 14);
  if (xlabel) ctx.fillText(xlabel, L + (W - L - R) / 2, H - 3);
  if (title) { ctx.textAlign = 'left'; ctx.fillText(title, L, 13); }
  if (ylabel) {
    ctx.save(); ctx.translate(10, T + (H - T - B) / 2); ctx.rotate(-Math.PI / 2);
    ctx.fillText(ylabel, 0, 0); ctx.restore();
  }
  return f;
}

function logTicks([a, b]) {
  const out = [];
  for (let v = 1; v <= b; v *= 2) if (v >= a) out.push(v);
  return out;
}

export function fmt(v) {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000 || a < 0.01) return v.toExponential(1);
  return a >= 10 ? v.toFixed(0) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
}

export function line(f, xs, ys, color, width = 1.5, dash = []) {
  const { ctx } = f;
  ctx.strokeStyle = color;
  ctx.lineWidth = width;
  ctx.setLineDash(dash);
  ctx.beginPath();
  let started = false;
  for (let i = 0; i < xs.length; ++i) {
    if (!Number.isFinite(ys[i])) continue;
    if (!started) ctx.moveTo(f.x(xs[i]), f.y(ys[i])); else ctx.lineTo(f.x(xs[i]), f.y(ys[i]));
    started = true;
  }
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.lineWidth = 1;
}

export function dots(f, xs, ys, color, r = 2.5) {
  const { ctx } = f;
  ctx.fillStyle = color;
  for (let i = 0; i < xs.length; ++i) {
    if (!Number.isFinite(ys[i])) continue;
    ctx.beginPath();
    ctx.arc(f.x(xs[i]), f.y(ys[i]), r, 0, 2 * Math.PI);
    ctx.fill();
  }
}

export function range(...arrays) {
  let lo = Infinity, hi = -Infinity;
  for (const a of arrays) for (const v of a) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (!Number.isFinite(lo)) return [0, 1];
  const pad = (hi - lo) * 0.05 || 0.5;
  return [lo - pad, hi + pad];
}
