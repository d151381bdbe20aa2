// The SVG chart: read IOPS against threads, one line per mode and per peer, one panel per workload
// and writer count, y scales independent (cached reads are ~100x direct ones). Drawn with
// vega-lite compiled to vega and rendered to SVG on the server (no browser, no canvas).
// fio counterpart: fio_generate_plots / fio2gnuplot.
import type { TopLevelSpec } from 'vega-lite';
import type { BenchReport } from './report.js';

export interface ChartPoint {
  panel: string;
  series: string;
  threads: number;
  iops: number;
}

function panelName(workload: string, writers: number): string {
  if (workload === 'async') return 'async reads · x = iodepth (one event loop)';
  return `${workload} reads · ${writers} writer${writers === 1 ? '' : 's'}`;
}

/** One point per job, and each peer's points repeated in every panel of its workload. */
export function chartPoints(r: BenchReport): ChartPoint[] {
  const pts: ChartPoint[] = [];
  const panels = new Map<string, { workload: string; writers: number }>();
  // Async cells run on one thread: their x is the iodepth.
  for (const j of r.jobs) {
    const panel = panelName(j.workload, j.writers);
    panels.set(panel, { workload: j.workload, writers: j.writers });
    pts.push({ panel, series: `dioread ${j.mode}`, threads: j.iodepth ?? j.threads, iops: j.read.iops });
  }
  for (const [panel, p] of panels) {
    for (const b of r.baselines) if (b.workload === p.workload) pts.push({ panel, series: b.name, threads: b.iodepth ?? b.threads, iops: b.read.iops });
  }
  return pts;
}

const SERIES_ORDER = ['dioread none', 'dioread shared', 'dioread exclusive', 'sab-memcpy', 'node-fs', 'lmdb', 'node-fs-direct', 'fio', 'node-fs-promises', 'fio-uring'];

export function chartSpec(r: BenchReport): TopLevelSpec {
  const values = chartPoints(r);
  const panels = [...new Set(values.map((v) => v.panel))];
  const writerCounts = new Set(r.jobs.map((j) => j.writers)).size;
  const cfg = r.config as { block_size?: number; seconds?: number };
  const series = SERIES_ORDER.filter((name) => values.some((v) => v.series === name));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'dioread: read IOPS against threads',
      subtitle: `${cfg.block_size ?? 4096}-byte random reads, ${cfg.seconds ?? '?'} s per point; ${r.version}`,
    },
    data: { values },
    facet: { field: 'panel', type: 'nominal', title: null, sort: panels },
    columns: Math.max(1, writerCounts),
    spec: {
      width: 300,
      height: 200,
      layer: [
        {
          mark: { type: 'line', point: true, strokeWidth: 2 },
          encoding: {
            x: { field: 'threads', type: 'quantitative', title: 'reader threads (fio: numjobs; async: iodepth)', scale: { type: 'log', base: 2 }, axis: { values: [...new Set(values.map((v) => v.threads))].sort((a, b) => a - b), format: 'd' } },
            y: { field: 'iops', type: 'quantitative', title: 'read IOPS', axis: { format: '~s' } },
            color: { field: 'series', type: 'nominal', title: 'reader', scale: { domain: series } },
            // Solid lines for dioread, dashed for the peers; same field and domain: one legend.
            strokeDash: { field: 'series', type: 'nominal', title: 'reader', scale: { domain: series, range: series.map((s) => (s.startsWith('dioread') ? [1, 0] : [5, 3])) } },
            tooltip: [{ field: 'series' }, { field: 'threads' }, { field: 'iops', format: ',.0f' }],
          },
        },
      ],
    },
    resolve: { scale: { y: 'independent', x: 'independent' }, axis: { x: 'independent' } },
    config: { font: 'sans-serif' },
  };
}

/** Why no chart can be drawn here (vega or vega-lite not installed), or null when it can. */
export async function chartMissing(): Promise<string | null> {
  try {
    await Promise.all([import('vega'), import('vega-lite')]);
    return null;
  } catch (err) {
    return `vega and vega-lite (dev dependencies of dioread, about 19 MB: npm install vega vega-lite, or npm ci in dioread's repository) do not load here: ${(err as Error).message.split('\n')[0]}`;
  }
}

/** Render the chart to an SVG string (vega and vega-lite are loaded only here: they are big, and dev dependencies). */
export async function renderSvg(r: BenchReport): Promise<string> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vl.compile(chartSpec(r)).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
