import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { Change } from './api'

const serviceLevels: Record<string, number> = { OK: 0, WARNING: 1, UNKNOWN: 2, CRITICAL: 3 }
const levelNames = ['OK', 'WARNING', 'UNKNOWN', 'CRITICAL']

// StateChart draws a service's state over a window as a step line, from its
// state periods (newest first, as the API gives them).
export function StateChart(props: { changes: Change[]; from: number; to: number }) {
  const el = useRef<HTMLDivElement>(null)
  useEffect(() => {
    if (!el.current) return
    const xs: number[] = []
    const ys: (number | null)[] = []
    const periods = [...props.changes].reverse()
    for (const c of periods) {
      const start = Math.max(new Date(c.start).getTime() / 1000, props.from)
      const end = Math.min(c.end ? new Date(c.end).getTime() / 1000 : props.to, props.to)
      if (end < props.from) continue
      const y = serviceLevels[c.state] ?? 2
      xs.push(start, end)
      ys.push(y, y)
    }
    if (xs.length === 0) {
      xs.push(props.from, props.to)
      ys.push(null, null)
    }
    const width = el.current.clientWidth || 800
    const plot = new uPlot(
      {
        width,
        height: 160,
        legend: { show: false },
        cursor: { y: false },
        scales: { y: { range: [-0.3, 3.3] }, x: { time: true, range: [props.from, props.to] } },
        axes: [
          { stroke: '#64748b', grid: { stroke: '#e2e8f0' } },
          {
            stroke: '#64748b',
            size: 80,
            splits: () => [0, 1, 2, 3],
            values: (_u, vals) => vals.map((v) => levelNames[v] ?? ''),
            grid: { stroke: '#e2e8f0' },
          },
        ],
        series: [
          {},
          {
            label: 'state',
            stroke: '#334155',
            width: 2,
            fill: 'rgba(51,65,85,0.08)',
            paths: uPlot.paths.stepped!({ align: 1 }),
            points: { show: false },
          },
        ],
      },
      [xs, ys],
      el.current,
    )
    const resize = () => plot.setSize({ width: el.current?.clientWidth || width, height: 160 })
    window.addEventListener('resize', resize)
    return () => {
      window.removeEventListener('resize', resize)
      plot.destroy()
    }
  }, [props.changes, props.from, props.to])
  return <div class="chart" ref={el} data-testid="state-chart" />
}

// MetricChart draws one series from the Prometheus-compatible API, with the
// thresholds of the current perfdata as flat lines.
export function MetricChart(props: { title: string; unit?: string; xs: number[]; ys: (number | null)[]; warn?: number; crit?: number; from: number; to: number }) {
  const el = useRef<HTMLDivElement>(null)
  useEffect(() => {
    if (!el.current) return
    const width = el.current.clientWidth || 600
    const series: uPlot.Series[] = [{}, { label: props.title, stroke: '#2563eb', width: 2, fill: 'rgba(37,99,235,0.08)', points: { show: props.xs.length < 40 } }]
    const data: (number | null)[][] = [props.xs, props.ys]
    for (const [v, color, label] of [
      [props.warn, '#d97706', 'warning'],
      [props.crit, '#dc2626', 'critical'],
    ] as [number | undefined, string, string][]) {
      if (v === undefined) continue
      series.push({ label, stroke: color, width: 1, dash: [6, 4], points: { show: false } })
      data.push(props.xs.map(() => v))
    }
    const plot = new uPlot(
      {
        width,
        height: 180,
        legend: { show: true },
        scales: { x: { time: true, range: [props.from, props.to] }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.15 : 1] } },
        axes: [
          { stroke: '#64748b', grid: { stroke: '#e2e8f0' } },
          { stroke: '#64748b', size: 70, grid: { stroke: '#e2e8f0' }, values: (_u, vals) => vals.map((v) => `${+v.toPrecision(4)}${props.unit ?? ''}`) },
        ],
        series,
      },
      data as uPlot.AlignedData,
      el.current,
    )
    const resize = () => plot.setSize({ width: el.current?.clientWidth || width, height: 180 })
    window.addEventListener('resize', resize)
    return () => {
      window.removeEventListener('resize', resize)
      plot.destroy()
    }
  }, [props.xs, props.ys, props.warn, props.crit, props.from, props.to])
  return <div class="chart" ref={el} data-testid={`metric-chart-${props.title}`} />
}
