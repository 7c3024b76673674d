// Draws a fault run as Jepsen does: one point per operation at (completion time, latency), on a
// log latency axis, coloured by outcome (ok blue, fail red, unknown orange; unknown ops are drawn
// at the time the client gave up), with every fault interval shaded behind them and labelled.
// Hand-written SVG: no chart library. Past `pointsMax` ok points are thinned evenly; failed and
// unknown ones are all kept (up to the same cap), since they are what the chart is for.

import type { FaultInterval, Op } from './history';

const outcomeColour = { ok: '#3b6fd4', fail: '#d9413a', unknown: '#f29d12' } as const;
const faultColour: Record<string, string> = {
  kill: '#e8a0a0',
  pause: '#c9a0e8',
  partition: '#a0c4e8',
  bridge: '#a0e8d8',
  'one-way': '#a0e8a8',
  'link-delay': '#e8e0a0',
  'link-drop': '#e8c8a0',
  clock: '#f0b0d0',
  membership: '#b8b8b8',
  transfer: '#d0d0f0',
};

const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderChart(ops: readonly Op[], faults: readonly FaultInterval[], title: string, pointsMax = 8000): string {
  const width = 1400;
  const height = 560;
  const left = 70;
  const right = 20;
  const top = 60;
  const bottom = 70;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const done = ops.filter((op) => op.completeMs >= 0);
  let endMs = 1000;
  let latencyMax = 10_000;
  for (const op of done) {
    endMs = Math.max(endMs, op.completeMs);
    latencyMax = Math.max(latencyMax, op.completeMs - op.invokeMs);
  }
  for (const f of faults) endMs = Math.max(endMs, f.endMs);
  const latencyMin = 1;
  const x = (ms: number): number => left + (ms / endMs) * plotW;
  const y = (latencyMs: number): number => {
    const l = Math.log10(Math.max(latencyMin, latencyMs));
    return top + plotH - ((l - Math.log10(latencyMin)) / (Math.log10(latencyMax) - Math.log10(latencyMin))) * plotH;
  };
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${left}" y="22" font-size="15" font-weight="bold">${escape(title)}</text>`);
  // Fault intervals, in lanes so overlapping labels stay readable.
  faults.forEach((f, i) => {
    const end = f.endMs < 0 ? endMs : f.endMs;
    const colour = faultColour[f.kind] ?? '#dddddd';
    out.push(`<rect x="${x(f.startMs).toFixed(1)}" y="${top}" width="${Math.max(1, x(end) - x(f.startMs)).toFixed(1)}" height="${plotH}" fill="${colour}" fill-opacity="0.45"><title>${escape(`${f.kind} ${f.detail} [${f.startMs}..${end} ms]`)}</title></rect>`);
    out.push(`<text x="${(x(f.startMs) + 2).toFixed(1)}" y="${top + 12 + (i % 3) * 12}" font-size="9" fill="#444">${escape(f.kind)}</text>`);
  });
  // Axes and grid.
  out.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  for (let decade = Math.log10(latencyMin); decade <= Math.log10(latencyMax) + 1e-9; decade++) {
    const value = 10 ** decade;
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${y(value).toFixed(1)}" y2="${y(value).toFixed(1)}" stroke="#ccc" stroke-dasharray="3,3"/>`);
    out.push(`<text x="${left - 6}" y="${(y(value) + 4).toFixed(1)}" text-anchor="end">${value >= 1000 ? `${value / 1000} s` : `${value} ms`}</text>`);
  }
  const tickS = endMs > 300_000 ? 60 : endMs > 60_000 ? 15 : 5;
  for (let s = 0; s * 1000 <= endMs; s += tickS) {
    out.push(`<line x1="${x(s * 1000).toFixed(1)}" x2="${x(s * 1000).toFixed(1)}" y1="${top + plotH}" y2="${top + plotH + 4}" stroke="#333"/>`);
    out.push(`<text x="${x(s * 1000).toFixed(1)}" y="${top + plotH + 16}" text-anchor="middle">${s}</text>`);
  }
  out.push(`<text x="${left + plotW / 2}" y="${height - 36}" text-anchor="middle">time since start (s)</text>`);
  out.push(`<text x="16" y="${top + plotH / 2}" transform="rotate(-90 16 ${top + plotH / 2})" text-anchor="middle">latency (log)</text>`);
  // Points.
  for (const outcome of ['ok', 'unknown', 'fail'] as const) {
    const mine = done.filter((op) => op.outcome === outcome);
    const stride = Math.max(1, mine.length / pointsMax);
    for (let i = 0; i < mine.length; i += stride) {
      const op = mine[Math.floor(i)];
      out.push(`<circle cx="${x(op.completeMs).toFixed(1)}" cy="${y(op.completeMs - op.invokeMs).toFixed(1)}" r="1.6" fill="${outcomeColour[outcome]}" fill-opacity="0.6"/>`);
    }
  }
  // Legend.
  let lx = left;
  const ly = height - 14;
  for (const outcome of ['ok', 'fail', 'unknown'] as const) {
    const n = done.filter((op) => op.outcome === outcome).length;
    out.push(`<circle cx="${lx + 5}" cy="${ly - 4}" r="4" fill="${outcomeColour[outcome]}"/><text x="${lx + 13}" y="${ly}">${outcome} (${n})</text>`);
    lx += 110;
  }
  for (const kind of [...new Set(faults.map((f) => f.kind))]) {
    out.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${faultColour[kind] ?? '#ddd'}"/><text x="${lx + 16}" y="${ly}">${escape(kind)}</text>`);
    lx += 20 + kind.length * 7;
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
