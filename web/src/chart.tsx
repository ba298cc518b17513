import { useEffect, useRef, useState } from 'preact/hooks'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { Change } from './api'

// The state chart's levels: the higher, the worse. Each state is drawn in
// its colour, as a band as tall as it is bad.
const levels: { state: string; y: number; stroke: string; fill: string }[] = [
  { state: 'OK', y: 1, stroke: '#16a34a', fill: 'rgba(22,163,74,0.35)' },
  { state: 'WARNING', y: 2, stroke: '#d97706', fill: 'rgba(245,158,11,0.45)' },
  { state: 'UNKNOWN', y: 3, stroke: '#7c3aed', fill: 'rgba(124,58,237,0.4)' },
  { state: 'CRITICAL', y: 4, stroke: '#dc2626', fill: 'rgba(220,38,38,0.45)' },
  { state: 'PENDING', y: 0.5, stroke: '#94a3b8', fill: 'rgba(148,163,184,0.35)' },
]
const axisNames: Record<number, string> = { 1: 'OK', 2: 'WARNING', 3: 'UNKNOWN', 4: 'CRITICAL' }
const gridColour = '#e2e8f0'
const axisColour = '#64748b'

// useResize follows the element's width changes (window resize,
// layout change) with the uPlot chart.
function useResize(el: { current: HTMLElement | null }, plot: { current: uPlot | null }, height: number) {
  useEffect(() => {
    if (!el.current || typeof ResizeObserver === 'undefined') return
    const ro = new ResizeObserver(() => {
      const w = el.current?.clientWidth
      if (w && plot.current && Math.abs(plot.current.width - w) > 1) plot.current.setSize({ width: w, height })
    })
    ro.observe(el.current)
    return () => ro.disconnect()
  }, [])
}

function localTime(ts: number): string {
  return new Date(ts * 1000).toLocaleString([], { month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
}

// StateChart draws a service's state over a window as a step chart, from
// its state periods (newest first, as the API gives them).
export function StateChart(props: { changes: Change[]; from: number; to: number }) {
  const el = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const readout = useRef<HTMLDivElement>(null)
  const height = 150
  useResize(el, plot, height)
  useEffect(() => {
    if (!el.current) return
    // Points at each period's start and end; one series per state, null
    // outside that state's periods, so that each draws only its own.
    const periods = [...props.changes]
      .reverse()
      .map((c) => ({
        c,
        start: Math.max(new Date(c.start).getTime() / 1000, props.from),
        end: Math.min(c.end ? new Date(c.end).getTime() / 1000 : props.to, props.to),
      }))
      .filter((p) => p.end >= props.from && p.end >= p.start)
    // A period shorter than a few pixels would not show at all: widen it
    // to the left, from the newest (open) one back.
    const width = el.current.clientWidth || 800
    const minDur = ((props.to - props.from) * 3) / width
    for (let i = periods.length - 1; i >= 0; i--) {
      const p = periods[i]
      if (i < periods.length - 1) p.end = Math.min(p.end, periods[i + 1].start)
      p.start = Math.max(props.from, Math.min(p.start, p.end - minDur))
    }
    const xs: number[] = []
    const ys: (number | null)[][] = levels.map(() => [])
    const at: Change[] = []
    for (const p of periods) {
      const lvl = levels.findIndex((l) => l.state === p.c.state)
      const k = lvl < 0 ? 2 : lvl
      for (const x of [p.start, p.end]) {
        xs.push(x)
        at.push(p.c)
        levels.forEach((l, i) => ys[i].push(i === k ? l.y : null))
      }
    }
    if (xs.length === 0) {
      xs.push(props.from, props.to)
      at.push(undefined as unknown as Change, undefined as unknown as Change)
      levels.forEach((_, i) => ys[i].push(null, null))
    }
    plot.current = new uPlot(
      {
        width,
        height,
        legend: { show: false },
        cursor: { y: false, points: { show: false }, drag: { x: false, y: false } },
        scales: { y: { range: [0, 4.4] }, x: { time: true, range: [props.from, props.to] } },
        axes: [
          { stroke: axisColour, grid: { stroke: gridColour }, ticks: { stroke: gridColour }, values: timeLabels, space: 70 },
          {
            stroke: axisColour,
            size: 76,
            splits: () => [1, 2, 3, 4],
            values: (_u, vals) => vals.map((v) => axisNames[v] ?? ''),
            grid: { stroke: gridColour },
            ticks: { show: false },
          },
        ],
        series: [
          {},
          ...levels.map((l) => ({
            label: l.state,
            stroke: l.stroke,
            width: 2,
            fill: l.fill,
            fillTo: 0,
            spanGaps: false,
            paths: uPlot.paths.stepped!({ align: 1 }),
            points: { show: false },
          })),
        ],
        hooks: {
          setCursor: [
            (u) => {
              if (!readout.current) return
              const i = u.cursor.idx
              const c = i == null ? undefined : at[i]
              readout.current.textContent = c ? `${localTime(u.data[0][i!])}: ${c.state} ${c.state_type === 'SOFT' ? '(soft) ' : ''}— ${c.output}` : ''
            },
          ],
        },
      },
      [xs, ...ys] as uPlot.AlignedData,
      el.current,
    )
    return () => {
      plot.current?.destroy()
      plot.current = null
    }
  }, [props.changes, props.from, props.to])
  return (
    <div class="chart-wrap">
      <div class="chart" ref={el} data-testid="state-chart" />
      <div class="readout muted" ref={readout} />
    </div>
  )
}

// fmtUnit writes a value with its unit, scaled for reading: seconds as
// ms or µs, bytes in KiB, MiB…, large plain numbers with k, M, G; a
// trailing "/s" (rates) is kept. The server's PNGs scale the same way.
export function fmtUnit(v: number | null | undefined, unit = ''): string {
  if (v == null || !isFinite(v)) return '—'
  const rate = unit.endsWith('/s')
  const base = rate ? unit.slice(0, -2) : unit
  const suffix = rate ? '/s' : ''
  const num = (x: number) => String(+x.toPrecision(3))
  const time: Record<string, number> = { s: 1, ms: 1e-3, us: 1e-6, 'µs': 1e-6 }
  if (base in time) {
    const secs = v * time[base]
    const a = Math.abs(secs)
    if (a === 0) return '0' + suffix
    if (a < 1e-3) return `${num(secs * 1e6)} µs${suffix}`
    if (a < 1) return `${num(secs * 1e3)} ms${suffix}`
    if (a < 120 || rate) return `${num(secs)} s${suffix}`
    if (a < 7200) return `${num(secs / 60)} min`
    return `${num(secs / 3600)} h`
  }
  const bytes = ['B', 'KB', 'MB', 'GB', 'TB']
  if (bytes.includes(base)) {
    let b = v * Math.pow(1024, bytes.indexOf(base))
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
    let i = 0
    while (Math.abs(b) >= 1024 && i < units.length - 1) {
      b /= 1024
      i++
    }
    return `${num(b)} ${units[i]}${suffix}`
  }
  if (base === '%') return `${num(v)}%${suffix}`
  let prefix = ''
  for (const [f, p] of [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ] as [number, string][]) {
    if (Math.abs(v) >= f) {
      v /= f
      prefix = p
      break
    }
  }
  return num(v) + prefix + (base ? ' ' + base : '') + suffix
}

// The lines' colours; the server's PNGs use the same ones in the same
// order.
export const palette = ['#2563eb', '#0891b2', '#7c3aed', '#db2777', '#16a34a', '#ea580c', '#4f46e5', '#0d9488', '#a16207', '#64748b']
const thresholdColour = { warning: '#d97706', critical: '#dc2626' }

export type Line = { label: string; values: (number | null)[] }
export type ThresholdLine = { level: 'warning' | 'critical'; value: number }
// A state band under a check's duration: one state per point (0..3), with
// its names and colours.
export type StateBand = { values: (number | null)[]; names: string[] }
const stateColours = ['#16a34a', '#f59e0b', '#dc2626', '#7c3aed']
const hostStateColours = ['#16a34a', '#dc2626', '#94a3b8']

// timeLabels writes the time axis' labels in the user's locale: clock
// times (with the day where it changes) for steps under a day, days for
// steps under a month, months beyond.
function timeLabels(_u: uPlot, splits: number[], _axis: number, _space: number, incr: number): string[] {
  let lastDay = ''
  return splits.map((ts, i) => {
    const d = new Date(ts * 1000)
    if (incr >= 28 * 86400) return d.toLocaleDateString([], { month: 'short', year: 'numeric' })
    if (incr >= 86400) return d.toLocaleDateString([], { month: 'short', day: 'numeric' })
    const day = d.toLocaleDateString([], { month: 'short', day: 'numeric' })
    const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    const show = i > 0 && day !== lastDay && (d.getHours() === 0 || incr >= 3600)
    lastDay = day
    return show ? `${day} ${time}` : time
  })
}

function isolated(u: uPlot, si: number): number[] {
  const vals = u.data[si]
  const out: number[] = []
  for (let i = 0; i < vals.length; i++) {
    if (vals[i] != null && (i === 0 || vals[i - 1] == null) && (i === vals.length - 1 || vals[i + 1] == null)) out.push(i)
  }
  return out
}

function lastIndex(vals: (number | null)[]): number {
  for (let i = vals.length - 1; i >= 0; i--) if (vals[i] != null) return i
  return -1
}

// PanelChart draws lines on a time axis with uPlot, with threshold lines,
// an optional state band and a legend whose values follow the cursor
// (else show the latest). The plot is made once per shape (lines, unit,
// thresholds) and fed new data in place, so that live updates never
// flicker. Charts with the same sync key share the cursor.
export function PanelChart(props: {
  xs: number[]
  lines: Line[]
  unit: string
  thresholds: ThresholdLine[]
  band?: StateBand
  from: number
  to: number
  sync?: string
  testid?: string
}) {
  const el = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const legendVals = useRef<(HTMLSpanElement | null)[]>([])
  const bandVal = useRef<HTMLSpanElement>(null)
  const data = useRef(props)
  data.current = props
  const [hidden, setHidden] = useState<Set<number>>(new Set())
  const height = 180
  useResize(el, plot, height)
  const shape = props.lines.map((l) => l.label).join('\u0000') + '|' + props.unit + '|' + props.thresholds.map((t) => t.level + t.value).join(',') + '|' + !!props.band

  // showValues writes each line's value at index i (else its latest).
  const showValues = (i: number | null | undefined) => {
    const p = data.current
    p.lines.forEach((l, k) => {
      const span = legendVals.current[k]
      if (!span) return
      const j = i ?? lastIndex(l.values)
      span.textContent = j < 0 ? '—' : fmtUnit(l.values[j], p.unit)
    })
    if (bandVal.current && p.band) {
      const j = i ?? lastIndex(p.band.values)
      const v = j < 0 ? null : p.band.values[j]
      bandVal.current.textContent = v == null ? '—' : p.band.names[v] ?? String(v)
      bandVal.current.className = 'band-state' + (v == null ? '' : ' s-' + (p.band.names[v] ?? '').toLowerCase())
    }
  }

  useEffect(() => {
    if (!el.current) return
    const width = el.current.clientWidth || 600
    const p = data.current
    const series: uPlot.Series[] = [
      {},
      ...p.lines.map((l, i) => ({
        label: l.label,
        stroke: palette[i % palette.length],
        width: 1.75,
        fill: p.lines.length === 1 ? 'rgba(37,99,235,0.07)' : undefined,
        // Lone values (between gaps) show as dots, else they would not show.
        points: { show: true, size: 6, fill: palette[i % palette.length], filter: isolated },
        spanGaps: false,
      })),
    ]
    const opts: uPlot.Options = {
      width,
      height,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, sync: p.sync ? { key: p.sync } : undefined, points: { size: 6 } },
      scales: {
        x: { time: true, range: () => [data.current.from, data.current.to] },
        y: {
          range: (_u, min, max) => {
            const ths = data.current.thresholds.map((t) => t.value)
            let lo = Math.min(0, min ?? 0, ...ths)
            let hi = Math.max(max ?? 0, ...ths)
            if (!isFinite(lo)) lo = 0
            if (!isFinite(hi) || hi <= lo) hi = lo + 1
            else hi += (hi - lo) * 0.08
            return [lo, hi]
          },
        },
      },
      axes: [
        { stroke: axisColour, grid: { stroke: gridColour }, ticks: { stroke: gridColour }, values: timeLabels, space: 70 },
        { stroke: axisColour, size: 64, grid: { stroke: gridColour }, ticks: { show: false }, values: (_u, vals) => vals.map((v) => fmtUnit(v, data.current.unit)) },
      ],
      series,
      hooks: {
        setCursor: [(u) => showValues(u.cursor.idx)],
        draw: [
          (u) => {
            const ctx = u.ctx
            const { left, top, width: w, height: h } = u.bbox
            const d = data.current
            ctx.save()
            // Thresholds: dashed lines across the plot.
            ctx.lineWidth = 1.5 * devicePixelRatio
            ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio])
            for (const t of d.thresholds) {
              const y = Math.round(u.valToPos(t.value, 'y', true)) + 0.5
              if (y < top || y > top + h) continue
              ctx.strokeStyle = thresholdColour[t.level]
              ctx.beginPath()
              ctx.moveTo(left, y)
              ctx.lineTo(left + w, y)
              ctx.stroke()
            }
            ctx.setLineDash([])
            // The state band along the bottom of the plot.
            if (d.band) {
              const colours = d.band.names.length === 3 ? hostStateColours : stateColours
              const bh = 6 * devicePixelRatio
              const xs = u.data[0]
              for (let i = 0; i < xs.length; i++) {
                const v = d.band.values[i]
                if (v == null) continue
                const x0 = u.valToPos(xs[i], 'x', true)
                const x1 = i + 1 < xs.length ? u.valToPos(xs[i + 1], 'x', true) : x0 + 2
                ctx.fillStyle = colours[v] ?? '#94a3b8'
                ctx.fillRect(x0, top + h - bh, Math.max(1, x1 - x0), bh)
              }
            }
            ctx.restore()
          },
        ],
      },
    }
    plot.current = new uPlot(opts, [p.xs, ...p.lines.map((l) => l.values)] as uPlot.AlignedData, el.current)
    showValues(null)
    return () => {
      plot.current?.destroy()
      plot.current = null
    }
  }, [shape])

  // New data (a live update, another range) in place.
  useEffect(() => {
    const u = plot.current
    if (!u) return
    u.setData([props.xs, ...props.lines.map((l) => l.values)] as uPlot.AlignedData)
    showValues(u.cursor.idx)
  }, [props.xs, props.lines, props.band, props.from, props.to])

  const toggle = (i: number) => {
    const next = new Set(hidden)
    if (next.has(i)) next.delete(i)
    else next.add(i)
    setHidden(next)
    plot.current?.setSeries(i + 1, { show: !next.has(i) })
  }
  // A line that starts late in the range (a new service) says since when.
  let first = Infinity
  for (const l of props.lines) {
    const i = l.values.findIndex((v) => v != null)
    if (i >= 0) first = Math.min(first, props.xs[i])
  }
  const late = isFinite(first) && first - props.from > (props.to - props.from) * 0.1
  return (
    <div class="chart-wrap">
      <div class="chart" ref={el} data-testid={props.testid} />
      <div class="legend">
        {props.lines.map((l, i) => (
          <button type="button" class={'entry' + (hidden.has(i) ? ' off' : '')} onClick={() => toggle(i)} title={hidden.has(i) ? 'Show this line' : 'Hide this line'}>
            <span class="swatch" style={{ background: palette[i % palette.length] }} />
            <span class="name">{l.label}</span>
            <span class="val" ref={(e) => {
              legendVals.current[i] = e
            }} />
          </button>
        ))}
        {props.band ? (
          <span class="entry static">
            <span class="name">state</span>
            <span ref={bandVal} class="band-state" />
          </span>
        ) : null}
        {late ? <span class="since muted">data since {new Date(first * 1000).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })}</span> : null}
      </div>
    </div>
  )
}
