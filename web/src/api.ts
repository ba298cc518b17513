// The console talks only to the public REST API and its event stream.

export type Perf = { label: string; value: number; unit?: string; warn?: string; crit?: string; min?: number; max?: number }

export type Status = {
  state: string
  state_type: string
  attempt: number
  output: string
  long_output: string
  perfdata: Perf[]
  duration_seconds: number
  last_check: string | null
  next_check: string | null
  last_state_change: string | null
  flapping: boolean
  percent_state_change: number
  unreachable: boolean
}

export type CheckSpec = { kind: string; [k: string]: unknown }

export type Host = Status & {
  id: number
  name: string
  address: string
  groups: string[]
  tags: Record<string, string>
  domain: string
  location: string
  notes: string
  check?: CheckSpec
  snmp?: Record<string, unknown>
  interval: string
  retry_interval: string
  max_attempts: number
  enabled: boolean
  source: string
  services: Record<string, number>
}

export type Service = Status & {
  id: number
  host_id: number
  host_name: string
  name: string
  check: CheckSpec
  interval: string
  retry_interval: string
  max_attempts: number
  timeout: string
  enabled: boolean
  source: string
  // template is the host group whose SNMP template made the service.
  template?: string
}

export type Change = { state: string; state_type: string; output: string; start: string; end: string | null }

export type Overview = {
  hosts: Record<string, number>
  services: Record<string, number>
  problems: Service[]
  host_problems: Host[]
}

// Alarms: what GET /alarms and /alarms/{id} answer.
export type AlarmStep = { id: number; type: string; author: string; time: string; comment?: string; state: number; value?: string }
export type Alarm = {
  id: number
  connector: string
  connector_name: string
  component: string
  resource: string
  status: 'open' | 'resolved' | 'archived'
  state: number
  worst_state: number
  criticality: 'red' | 'orange' | 'green'
  criticality_locked: boolean
  output: string
  long_output: string
  count: number
  domain: string
  category: string
  tags: Record<string, string> | null
  opened: string
  last_event: string
  updated: string
  resolved?: string
  resolve_at?: string
  acked: boolean
  ack_by?: string
  ack_time?: string
  ack_comment?: string
  snooze_until?: string
  assignees: string[] | null
  flapping?: boolean
  in_maintenance?: boolean
  steps?: AlarmStep[]
}

export type User = { id: number; login: string; role: string; permissions: string[] }

export function can(u: User, perm: string): boolean {
  return u.permissions.includes(perm)
}

export class APIError extends Error {
  constructor(public status: number, public code: string, message: string, public field?: string) {
    super(message)
  }
}

let csrf = ''

export function setCSRF(token: string) {
  csrf = token
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {}
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf
  const resp = await fetch('/api/v1' + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  })
  if (resp.status === 401 && path !== '/login') {
    window.dispatchEvent(new Event('vigie:unauthenticated'))
  }
  if (resp.status === 204) return undefined as T
  const text = await resp.text()
  const data = text ? JSON.parse(text) : undefined
  if (!resp.ok) {
    const e = data?.error ?? {}
    throw new APIError(resp.status, e.code ?? 'error', e.message ?? resp.statusText, e.field)
  }
  return data as T
}

// Live updates: one EventSource for the whole console. Listeners are told
// that something changed, and what when the event says so (a status or
// inventory event's kind and id); they refetch what they show.
export type LiveEvent = { type: string; kind?: string; id?: number; op?: string; alarm?: Alarm }
type Listener = (ev: LiveEvent) => void
const listeners = new Set<Listener>()
let source: EventSource | null = null
let connected = false

export function liveConnected() {
  return connected
}

function notify(ev: LiveEvent) {
  for (const l of listeners) l(ev)
}

function fromMessage(m: MessageEvent): LiveEvent {
  try {
    const d = JSON.parse(m.data)
    if (m.type === 'alarm') return { type: m.type, kind: 'alarm', id: d.alarm?.id, op: d.op, alarm: d.alarm }
    return { type: m.type, kind: d.kind, id: d.id }
  } catch {
    return { type: m.type }
  }
}

let retry: number | undefined

export function startLive() {
  if (source) return
  const es = new EventSource('/api/v1/stream')
  source = es
  es.onopen = () => {
    connected = true
    // Something may have changed while the stream was down.
    notify({ type: 'open' })
  }
  es.onerror = () => {
    connected = false
    // The browser reconnects by itself unless the answer was not a stream
    // (a proxy error, a restart): then start over a little later. The
    // pages poll meanwhile.
    if (es.readyState === EventSource.CLOSED && source === es) {
      source = null
      clearTimeout(retry)
      retry = window.setTimeout(startLive, 5000)
    }
  }
  es.addEventListener('status', (m) => notify(fromMessage(m)))
  es.addEventListener('inventory', (m) => notify(fromMessage(m)))
  es.addEventListener('alarm', (m) => notify(fromMessage(m)))
}

export function stopLive() {
  clearTimeout(retry)
  source?.close()
  source = null
  connected = false
}

export function onLive(l: Listener): () => void {
  listeners.add(l)
  return () => listeners.delete(l)
}

// Prometheus-compatible range queries, for graphs.
export type PromMatrix = { metric: Record<string, string>; values: [number, string][] }[]

export async function queryRange(query: string, start: number, end: number, step: number, signal?: AbortSignal): Promise<PromMatrix> {
  const params = new URLSearchParams({ query, start: String(start), end: String(end), step: String(step) })
  const resp = await fetch('/prometheus/api/v1/query_range', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-CSRF-Token': csrf },
    body: params.toString(),
    credentials: 'same-origin',
    signal,
  })
  if (resp.status === 401) window.dispatchEvent(new Event('vigie:unauthenticated'))
  const j = await resp.json().catch(() => undefined)
  if (!resp.ok || j?.status !== 'success') throw new APIError(resp.status, j?.errorType ?? 'error', j?.error ?? resp.statusText)
  return j.data.result as PromMatrix
}

// Dashboards: what GET /hosts/{id}/dashboard answers.
export type DashThreshold = { level: 'warning' | 'critical'; range: string; value?: number; bound?: 'upper' | 'lower'; series?: string[]; text: string }
export type DashPanel = {
  id: string
  kind: 'metric' | 'checks'
  title: string
  metric: string
  unit: string
  counter: boolean
  queries: { expr: string; legend: string }[]
  min_window_seconds: number
  state_query?: string
  thresholds: DashThreshold[]
  omitted?: number
}
export type DashGroup = { service: string; service_id?: number; kind?: string; state?: string; panels: DashPanel[] }
export type Dashboard = { host: string; host_id: number; start: string; end: string; groups: DashGroup[]; truncated?: boolean }
