import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { api, APIError, Dashboard, DashGroup, DashPanel, liveConnected, onLive, queryRange } from './api'
import { fmtUnit, Line, PanelChart, StateBand } from './chart'
import { Badge, Empty, ErrorNote, Link } from './ui'

// The range picker's choices; the choice lives in the URL (?range=7d) so
// that a reload or a shared link keeps it.
export const ranges: [string, number][] = [
  ['1h', 3600],
  ['6h', 6 * 3600],
  ['24h', 24 * 3600],
  ['7d', 7 * 86400],
  ['30d', 30 * 86400],
  ['90d', 90 * 86400],
  ['1y', 365 * 86400],
]
const defaultRange = '6h'
// Live updates refresh the graphs at most this often, and only for ranges
// up to a day: a point of a longer one spans many checks.
const liveEvery = 10_000
const liveMaxRange = 86400

export function secondsOf(range: string): number {
  return ranges.find(([r]) => r === range)?.[1] ?? 6 * 3600
}

export function useRange(): [string, (r: string) => void] {
  const read = () => {
    const r = new URLSearchParams(location.search).get('range') ?? ''
    return ranges.some(([k]) => k === r) ? r : defaultRange
  }
  const [range, setRange] = useState(read)
  useEffect(() => {
    const back = () => setRange(read())
    window.addEventListener('popstate', back)
    return () => window.removeEventListener('popstate', back)
  }, [])
  const set = (r: string) => {
    const q = new URLSearchParams(location.search)
    q.set('range', r)
    history.replaceState(null, '', location.pathname + '?' + q.toString())
    setRange(r)
  }
  return [range, set]
}

export function RangePicker(props: { range: string; onChange: (r: string) => void }) {
  return (
    <div class="seg" role="group" aria-label="Time range" data-testid="range-picker">
      {ranges.map(([r]) => (
        <button type="button" class={props.range === r ? 'on' : ''} aria-pressed={props.range === r} onClick={() => props.onChange(r)} data-range={r}>
          {r}
        </button>
      ))}
    </div>
  )
}

// Steps are round durations; the first that gives at most one point per
// pixel of a chart (300 to 600 points a range).
const niceSteps = [1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800]

export function stepFor(seconds: number, width: number): number {
  const raw = seconds / Math.min(600, Math.max(300, Math.round(width)))
  return niceSteps.find((s) => s >= raw) ?? Math.ceil(raw)
}

// withWindow puts the rate window in a counter's query: at least two steps
// and two check intervals.
function withWindow(expr: string, step: number, minWindow: number): string {
  return expr.split('$window').join(`${Math.max(2 * step, minWindow || 120)}s`)
}

type Frame = { from: number; to: number; step: number; seconds: number; range: string; tick: number }

// useDashboard loads a host's dashboard and tells when to refresh: on the
// host's own live events (its services' results, inventory changes),
// at most every 10 s, for ranges up to 24 h.
function useDashboard(hostId: number | string, range: string, width: number) {
  const [dash, setDash] = useState<Dashboard>()
  const [error, setError] = useState<string>()
  const [tick, setTick] = useState(0)
  const seconds = secondsOf(range)
  const frame = useMemo<Frame>(() => {
    const step = stepFor(seconds, width)
    // The last point is now, not the end of the current step: a point
    // evaluated in the future would find no sample within PromQL's five
    // minutes of look-back once steps are longer than that.
    const to = Math.floor(Date.now() / 1000)
    return { from: to - seconds, to, step, seconds, range, tick }
  }, [range, tick, Math.round(width / 100)])
  useEffect(() => {
    let stale = false
    api<Dashboard>('GET', `/hosts/${hostId}/dashboard?range=${range}`).then(
      (d) => {
        if (stale) return
        setDash(d)
        setError(undefined)
      },
      (e: APIError) => !stale && setError(e.message),
    )
    return () => {
      stale = true
    }
  }, [hostId, range, tick])
  // Live refresh, throttled.
  const ids = useRef(new Set<number>())
  ids.current = new Set((dash?.groups ?? []).map((g) => g.service_id ?? 0).filter((i) => i > 0))
  const last = useRef(Date.now())
  const timer = useRef<number>()
  useEffect(() => {
    if (seconds > liveMaxRange) return
    const later = () => {
      if (timer.current) return
      // Give the store a moment to write the result's samples.
      const wait = Math.max(1500, last.current + liveEvery - Date.now())
      timer.current = window.setTimeout(() => {
        timer.current = undefined
        last.current = Date.now()
        setTick((t) => t + 1)
      }, wait)
    }
    const off = onLive((ev) => {
      const mine =
        ev.type === 'open' ||
        ev.type === 'inventory' ||
        (ev.type === 'status' && ((ev.kind === 'service' && ids.current.has(ev.id ?? 0)) || (ev.kind === 'host' && String(ev.id) === String(hostId))))
      if (mine) later()
    })
    // While the stream is down, a slow poll.
    const poll = window.setInterval(() => liveConnected() || later(), 60_000)
    return () => {
      off()
      clearInterval(poll)
      clearTimeout(timer.current)
      timer.current = undefined
    }
  }, [hostId, seconds])
  return { dash, error, frame, live: seconds <= liveMaxRange }
}

// useWidth follows an element's width.
function useWidth(el: { current: HTMLElement | null }): number {
  const [w, setW] = useState(1200)
  useEffect(() => {
    if (!el.current) return
    setW(el.current.clientWidth)
    if (typeof ResizeObserver === 'undefined') return
    const ro = new ResizeObserver(() => el.current && setW(el.current.clientWidth))
    ro.observe(el.current)
    return () => ro.disconnect()
  }, [])
  return w
}

// HostDashboard is the host page's graphs: every panel the API builds from
// what the store holds for the host, by service, with the range picker.
export function HostDashboard(props: { hostId: number; hostName: string }) {
  const [range, setRange] = useRange()
  const box = useRef<HTMLDivElement>(null)
  const width = useWidth(box)
  const { dash, error, frame, live } = useDashboard(props.hostId, range, width / 2)
  const groups = dash?.groups ?? []
  return (
    <section class="dashboard" data-testid="host-dashboard" ref={box}>
      <div class="dash-head">
        <h2>Graphs</h2>
        <span class="muted small" data-testid="live-note">
          {live ? 'updates live' : 'live updates for ranges up to 24 h'}
        </span>
        <RangePicker range={range} onChange={setRange} />
      </div>
      <ErrorNote error={error} />
      {dash && groups.length === 0 ? (
        <div class="card">
          <Empty>
            Nothing measured for {props.hostName} in the last {range}. Add a service: every check's response time and performance data become graphs here.
            Metrics sent by remote write or agents with the label <code>host="{props.hostName}"</code> appear here too.
          </Empty>
        </div>
      ) : null}
      {groups.map((g) => (
        <GroupPanels group={g} host={props.hostName} frame={frame} key={g.service} />
      ))}
      {dash?.truncated ? <div class="note">This host has more series than a dashboard shows (5,000); some are left out.</div> : null}
    </section>
  )
}

// ServiceGraphs is one service's group of the host dashboard, on the
// service page.
export function ServiceGraphs(props: { hostId: number; hostName: string; service: string; range: string }) {
  const box = useRef<HTMLDivElement>(null)
  const width = useWidth(box)
  const { dash, error, frame } = useDashboard(props.hostId, props.range, width / 2)
  const g = dash?.groups.find((g) => g.service === props.service)
  return (
    <div ref={box} data-testid="service-graphs">
      <ErrorNote error={error} />
      {dash && !g ? <Empty>No measurements from this service in the last {props.range} yet.</Empty> : null}
      {g ? <GroupPanels group={g} host={props.hostName} frame={frame} bare /> : null}
    </div>
  )
}

function GroupPanels(props: { group: DashGroup; host: string; frame: Frame; bare?: boolean }) {
  const g = props.group
  const panels = (
    <div class="graphs">
      {g.panels.map((p) => (
        <Panel panel={p} host={props.host} service={g.service} frame={props.frame} key={p.id} />
      ))}
    </div>
  )
  if (props.bare) return panels
  return (
    <section class="card dash-group" data-testid="dash-group" data-service={g.service}>
      <div class="group-head">
        <h3>
          {g.service ? g.service_id ? <Link href={`/services/${g.service_id}`}>{g.service}</Link> : g.service : 'Host'}
          {g.kind ? <span class="chip">{g.kind === 'none' ? 'no check' : g.kind}</span> : null}
          {!g.service && !g.kind ? <span class="muted small"> series without a service label</span> : null}
        </h3>
        {g.state && g.state !== 'PENDING' ? <Badge state={g.state} /> : null}
      </div>
      {g.panels.length === 0 ? <Empty>No results from this service in this range yet.</Empty> : panels}
    </section>
  )
}

type PanelData = { xs: number[]; lines: Line[]; band?: StateBand; frame: Frame }

const serviceStateNames = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN']
const hostStateNames = ['UP', 'DOWN', 'UNREACHABLE']

// loadPanel reads a panel's queries over the frame, on one grid of times.
async function loadPanel(p: DashPanel, service: string, f: Frame, signal: AbortSignal): Promise<PanelData> {
  const n = Math.round((f.to - f.from) / f.step) + 1
  const xs = Array.from({ length: n }, (_, i) => f.from + i * f.step)
  const onGrid = (values: [number, string][]) => {
    const out: (number | null)[] = new Array(n).fill(null)
    for (const [t, v] of values) {
      const i = Math.round((t - f.from) / f.step)
      const x = Number(v)
      if (i >= 0 && i < n && isFinite(x)) out[i] = x
    }
    return out
  }
  const results = await Promise.all(p.queries.map((q) => queryRange(withWindow(q.expr, f.step, p.min_window_seconds), f.from, f.to, f.step, signal)))
  const lines: Line[] = []
  results.forEach((res, i) => {
    res.forEach((r, j) => lines.push({ label: p.queries[i].legend + (j > 0 ? ` (${j + 1})` : ''), values: onGrid(r.values) }))
  })
  let band: StateBand | undefined
  if (p.state_query) {
    const res = await queryRange(p.state_query, f.from, f.to, f.step, signal)
    band = { values: res[0] ? onGrid(res[0].values) : new Array(n).fill(null), names: service ? serviceStateNames : hostStateNames }
  }
  return { xs, lines, band, frame: f }
}

// pngHref is the panel as an image drawn by the server, for mail and
// reports: its queries, title, unit, range and the lines of thresholds
// that apply to all of its series.
function pngHref(p: DashPanel, host: string, service: string, f: Frame): string {
  const pngStep = f.seconds / 500 // graph.png's: one point per two pixels of 1000
  const query = p.queries.map((q) => withWindow(q.expr, Math.ceil(pngStep), p.min_window_seconds)).join(' or ')
  const q = new URLSearchParams({
    query,
    start: String(f.from),
    end: String(f.to),
    width: '1000',
    height: '360',
    title: `${host}${service ? ' ' + service : ''}: ${p.title}`,
  })
  if (p.unit) q.set('unit', p.unit)
  for (const level of ['warning', 'critical'] as const) {
    const t = p.thresholds.find((t) => t.level === level && t.value !== undefined && !t.series)
    if (t) q.set(level, String(t.value))
  }
  try {
    q.set('tz', Intl.DateTimeFormat().resolvedOptions().timeZone)
  } catch {
    // UTC then.
  }
  return '/api/v1/graph.png?' + q.toString()
}

// Panel loads its data when on screen, and again when the frame moves
// (range change, live update) while on screen.
function Panel(props: { panel: DashPanel; host: string; service: string; frame: Frame }) {
  const p = props.panel
  const el = useRef<HTMLDivElement>(null)
  const [visible, setVisible] = useState(typeof IntersectionObserver === 'undefined')
  const [data, setData] = useState<PanelData>()
  const [error, setError] = useState<string>()
  useEffect(() => {
    if (!el.current || typeof IntersectionObserver === 'undefined') return
    const io = new IntersectionObserver((es) => setVisible(es.some((e) => e.isIntersecting)), { rootMargin: '600px' })
    io.observe(el.current)
    return () => io.disconnect()
  }, [])
  const f = props.frame
  const key = `${f.tick}|${f.from}|${f.to}|${f.step}|${p.queries.map((q) => q.expr).join(';')}|${p.state_query ?? ''}`
  const loaded = useRef('')
  useEffect(() => {
    if (!visible || loaded.current === key) return
    const ctl = new AbortController()
    loadPanel(p, props.service, f, ctl.signal).then(
      (d) => {
        loaded.current = key
        setData(d)
        setError(undefined)
      },
      (e) => {
        if (!ctl.signal.aborted) setError(String(e.message ?? e))
      },
    )
    return () => ctl.abort()
  }, [visible, key])
  const lines = useMemo(() => data?.lines ?? [], [data])
  const hasData = lines.some((l) => l.values.some((v) => v != null)) || data?.band?.values.some((v) => v != null)
  const drawn = p.thresholds.filter((t) => t.value !== undefined)
  const text = p.thresholds.filter((t) => t.value === undefined)
  const unitNote = p.counter ? `${p.unit} (rate)` : p.unit
  return (
    <div class="graph panel" ref={el} data-testid="panel" data-panel={p.id} data-title={p.title} data-span={data ? data.frame.to - data.frame.from : undefined}
      data-points={lines[0]?.values.filter((v) => v != null).length ?? 0}
    >
      <div class="graph-title">
        <span class="title">{p.title}</span>
        {unitNote ? <span class="muted unit">{unitNote}</span> : null}
        <a class="png" href={pngHref(p, props.host, props.service, f)} download={`${props.host}-${props.service || 'host'}-${p.title}.png`.replace(/[^\w.-]+/g, '_')} data-testid="png" title="Download as PNG (drawn by the server)">
          PNG
        </a>
      </div>
      <ErrorNote error={error} />
      {!data ? (
        <div class="chart-placeholder">{visible ? 'Loading…' : ''}</div>
      ) : hasData ? (
        <PanelChart
          xs={data.xs}
          lines={lines}
          unit={p.unit}
          thresholds={drawn.map((t) => ({ level: t.level, value: t.value! }))}
          band={data.band}
          from={data.frame.from}
          to={data.frame.to}
          sync={'dash'}
          testid={`chart-${p.id}`}
        />
      ) : (
        <div class="chart-placeholder">No data in the last {f.range}{f.seconds < 86400 ? '; try a longer range.' : '.'}</div>
      )}
      {p.thresholds.length || p.omitted ? (
        <div class="keys" data-testid="threshold-keys">
          {drawn.map((t) => (
            <span class={`key k-${t.level === 'warning' ? 'warn' : 'crit'}`}>
              {t.level} {t.bound === 'lower' ? 'below' : 'above'} {fmtUnit(t.value, p.unit)}
              {t.series ? ` (${t.series.join(', ')})` : ''}
            </span>
          ))}
          {text.map((t) => (
            <span class={`key-text k-${t.level === 'warning' ? 'warn' : 'crit'}`}>{t.text}</span>
          ))}
          {p.omitted ? <span class="muted">{p.omitted} more series not drawn</span> : null}
        </div>
      ) : null}
    </div>
  )
}
