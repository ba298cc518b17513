import { ComponentChildren } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { liveConnected, onLive } from './api'

// Router: history API, a path and a listener.
const routeListeners = new Set<() => void>()
window.addEventListener('popstate', () => routeListeners.forEach((l) => l()))

export function navigate(path: string) {
  if (path === location.pathname + location.search) return
  history.pushState(null, '', path)
  routeListeners.forEach((l) => l())
  window.scrollTo(0, 0)
}

// onRoute tells l of every navigation (pushState by the console, back and
// forward), also those that keep the path and change the query.
export function onRoute(l: () => void): () => void {
  routeListeners.add(l)
  return () => {
    routeListeners.delete(l)
  }
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname)
  useEffect(() => {
    const l = () => setPath(location.pathname)
    routeListeners.add(l)
    return () => {
      routeListeners.delete(l)
    }
  }, [])
  return path
}

export function Link(props: { href: string; children: ComponentChildren; class?: string; testid?: string }) {
  return (
    <a
      href={props.href}
      class={props.class}
      data-testid={props.testid}
      onClick={(e) => {
        if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return
        e.preventDefault()
        navigate(props.href)
      }}
    >
      {props.children}
    </a>
  )
}

// State badges carry their state as text as well as colour.
export function Badge(props: { state: string; unreachable?: boolean; flapping?: boolean; soft?: boolean }) {
  const label = props.unreachable ? 'UNREACHABLE' : props.state
  return (
    <span class="badges">
      <span class={`badge s-${label.toLowerCase()}${props.soft ? ' soft' : ''}`} data-state={label} title={props.soft ? 'SOFT: being confirmed' : undefined}>
        {label}
        {props.soft ? <small> soft</small> : null}
      </span>
      {props.flapping ? <span class="badge s-flapping" title="Flapping">FLAPPING</span> : null}
    </span>
  )
}

export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const d = new Date(iso)
  const today = new Date()
  const sameDay = d.toDateString() === today.toDateString()
  return sameDay
    ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
    : d.toLocaleString([], { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit' })
}

export function fmtAgo(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—'
  let s = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000))
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${s % 60}s`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h}h ${m % 60}m`
  return `${Math.floor(h / 24)}d ${h % 24}h`
}

// useData loads something and reloads it on live events (debounced), on a
// slow poll while the stream is down, and when deps change.
export function useData<T>(load: () => Promise<T>, deps: unknown[]): { data?: T; error?: string; reload: () => void } {
  const [data, setData] = useState<T>()
  const [error, setError] = useState<string>()
  const loadRef = useRef(load)
  loadRef.current = load
  const timer = useRef<number>()
  const run = () => {
    loadRef.current().then(
      (d) => {
        setData(d)
        setError(undefined)
      },
      (e) => setError(String(e.message ?? e)),
    )
  }
  useEffect(() => {
    run()
    const off = onLive((ev) => {
      // Alarm changes concern the alarm views, which listen themselves.
      if (ev.type === 'alarm' || timer.current) return
      timer.current = window.setTimeout(() => {
        timer.current = undefined
        run()
      }, 500)
    })
    // A light poll only while the live stream is down.
    const poll = window.setInterval(() => liveConnected() || run(), 15000)
    return () => {
      off()
      clearInterval(poll)
      if (timer.current) clearTimeout(timer.current)
      timer.current = undefined
    }
  }, deps)
  return { data, error, reload: run }
}

export function Modal(props: { title: string; onClose: () => void; children: ComponentChildren }) {
  useEffect(() => {
    const esc = (e: KeyboardEvent) => e.key === 'Escape' && props.onClose()
    window.addEventListener('keydown', esc)
    return () => window.removeEventListener('keydown', esc)
  }, [])
  return (
    <div class="modal-back" onClick={(e) => e.target === e.currentTarget && props.onClose()}>
      <div class="modal" role="dialog" aria-label={props.title}>
        <div class="modal-head">
          <h2>{props.title}</h2>
          <button class="icon" aria-label="Close" onClick={props.onClose}>
            ×
          </button>
        </div>
        {props.children}
      </div>
    </div>
  )
}

export function ErrorNote(props: { error?: string }) {
  return props.error ? (
    <div class="error" role="alert">
      {props.error}
    </div>
  ) : null
}

export function Empty(props: { children: ComponentChildren }) {
  return <div class="empty">{props.children}</div>
}
