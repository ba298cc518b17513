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
}

export type Change = { state: string; state_type: string; output: string; start: string; end: string | null }

export type Overview = {
  hosts: Record<string, number>
  services: Record<string, number>
  problems: Service[]
  host_problems: Host[]
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
// that something changed; they refetch what they show, at most every 500 ms.
type Listener = () => void
const listeners = new Set<Listener>()
let source: EventSource | null = null
let connected = false

export function liveConnected() {
  return connected
}

function notify() {
  for (const l of listeners) l()
}

export function startLive() {
  if (source) return
  source = new EventSource('/api/v1/stream')
  source.onopen = () => {
    connected = true
    notify()
  }
  source.onerror = () => {
    connected = false
  }
  source.addEventListener('status', notify)
  source.addEventListener('inventory', notify)
}

export function stopLive() {
  source?.close()
  source = null
  connected = false
}

export function onLive(l: Listener): () => void {
  listeners.add(l)
  return () => listeners.delete(l)
}
