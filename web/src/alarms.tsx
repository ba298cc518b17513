// The alarm console: the operators' main screen (a live, filtered list with
// bulk actions), one alarm's detail with its steps and actions, and the
// overview's tiles of open alarms by criticality.
import { ComponentChildren } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { Alarm, AlarmStep, api, APIError, can, liveConnected, onLive, User } from './api'
import { Empty, ErrorNote, fmtAgo, fmtTime, Link, Modal, navigate, onRoute, useData } from './ui'
import { EngineMarks, engineStepLabels, IdleNote } from './alarmmarks'

export const criticalities = ['red', 'orange', 'green'] as const
const stateNames = ['OK', 'MINOR', 'MAJOR', 'CRITICAL']
const stateName = (n: number) => stateNames[n] ?? String(n)

// Criticality badges carry their name as text as well as colour.
export function CritBadge(props: { c: string; locked?: boolean }) {
  return (
    <span class={`badge crit c-${props.c}`} data-criticality={props.c} title={props.locked ? 'Set by hand and locked: events no longer change it' : undefined}>
      {props.c.toUpperCase()}
      {props.locked ? <small> locked</small> : null}
    </span>
  )
}

function StateText(props: { n: number }) {
  return (
    <span class={`st st-${props.n}`} data-state={stateName(props.n)}>
      {stateName(props.n)}
    </span>
  )
}

function StatusChip(props: { s: string }) {
  return <span class={`status status-${props.s}`}>{props.s}</span>
}

// fmtShort: hours and minutes today, else the day too.
function fmtShort(iso?: string): string {
  if (!iso) return '—'
  const d = new Date(iso)
  const hm: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit' }
  return d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString([], hm) : d.toLocaleString([], { month: 'short', day: '2-digit', ...hm })
}

const snoozed = (a: Alarm, now = Date.now()) => !!a.snooze_until && new Date(a.snooze_until).getTime() > now

// Markers: acknowledged, snoozed, transferred — words, not only icons.
function Markers(props: { a: Alarm }) {
  const a = props.a
  const assignees = a.assignees ?? []
  return (
    <span class="markers">
      <EngineMarks a={a} />
      {a.acked ? (
        <span class="mk mk-ack" title={`Acknowledged by ${a.ack_by ?? '?'} ${fmtTime(a.ack_time)}${a.ack_comment ? ': ' + a.ack_comment : ''}`} data-marker="ack">
          ACK
        </span>
      ) : null}
      {snoozed(a) ? (
        <span class="mk mk-snooze" title={`Snoozed until ${fmtTime(a.snooze_until)}`} data-marker="snooze">
          SNOOZED {fmtShort(a.snooze_until)}
        </span>
      ) : null}
      {assignees.length ? (
        <span class="mk mk-xfer" title={`Transferred to ${assignees.join(', ')}`} data-marker="transfer">
          TO {assignees.join(', ')}
        </span>
      ) : null}
    </span>
  )
}

// Sound: a short two-tone beep from WebAudio (no files; CSP allows none).
const soundKey = 'vigie.alarmSound'
let audio: AudioContext | undefined

function soundOn(): boolean {
  try {
    return localStorage.getItem(soundKey) === 'on'
  } catch {
    return false
  }
}

function beep() {
  try {
    audio ??= new AudioContext()
    if (audio.state === 'suspended') void audio.resume()
    const t = audio.currentTime
    for (const [i, f] of [880, 660].entries()) {
      const o = audio.createOscillator()
      const g = audio.createGain()
      o.type = 'sine'
      o.frequency.value = f
      g.gain.setValueAtTime(0.0001, t + i * 0.18)
      g.gain.exponentialRampToValueAtTime(0.25, t + i * 0.18 + 0.02)
      g.gain.exponentialRampToValueAtTime(0.0001, t + i * 0.18 + 0.16)
      o.connect(g).connect(audio.destination)
      o.start(t + i * 0.18)
      o.stop(t + i * 0.18 + 0.17)
    }
  } catch {
    // No audio here: the highlight is enough.
  }
}

// Filters live in the URL query, so that a link shares a view; so does
// the sort (the API's sort=, "-" for descending), which is no filter.
type Filters = Record<'status' | 'criticality' | 'state' | 'ack' | 'snoozed' | 'connector' | 'domain' | 'group' | 'search' | 'since' | 'until' | 'sort', string>
const filterKeys: (keyof Filters)[] = ['status', 'criticality', 'state', 'ack', 'snoozed', 'connector', 'domain', 'group', 'search', 'since', 'until', 'sort']

function readFilters(): Filters {
  const p = new URLSearchParams(location.search)
  const f = {} as Filters
  for (const k of filterKeys) f[k] = p.get(k) ?? ''
  return f
}

function writeFilters(f: Filters) {
  const p = new URLSearchParams()
  for (const k of filterKeys) if (f[k]) p.set(k, f[k])
  const qs = p.toString()
  history.replaceState(null, '', '/alarms' + (qs ? '?' + qs : ''))
}

// The API's query for the filters: status "all" is the API's default
// (open and resolved); none is open; times are local in the form.
function apiQuery(f: Filters, limit: number, cursor?: string): string {
  const q = filterQuery(f)
  if (f.sort) q.set('sort', f.sort)
  q.set('limit', String(limit))
  if (cursor) q.set('cursor', cursor)
  return q.toString()
}

// filterQuery is the API's filters alone: what /alarms/count takes.
function filterQuery(f: Filters): URLSearchParams {
  const q = new URLSearchParams()
  if (f.status === '') q.set('status', 'open')
  else if (f.status !== 'all') q.set('status', f.status)
  for (const k of ['criticality', 'state', 'ack', 'snoozed', 'connector', 'domain', 'group', 'search'] as const) if (f[k]) q.set(k, f[k])
  for (const k of ['since', 'until'] as const) {
    const t = f[k] ? new Date(f[k]) : undefined
    if (t && !isNaN(t.getTime())) q.set(k, t.toISOString().replace(/\.\d+Z$/, 'Z'))
  }
  return q
}

type Counts = { total: number; by_criticality: Record<string, number> }

// useAlarmCount counts the alarms of a filter query, again on live alarm
// changes at most every two seconds: the header and the overview's tiles.
function useAlarmCount(query: string): Counts | undefined {
  const [c, setC] = useState<Counts>()
  useEffect(() => {
    let alive = true
    const load = () =>
      api<Counts>('GET', '/alarms/count?' + query).then(
        (n) => alive && setC(n),
        () => undefined,
      )
    load()
    let t: number | undefined
    const off = onLive((ev) => {
      if ((ev.type !== 'alarm' && ev.type !== 'open') || t) return
      t = window.setTimeout(() => {
        t = undefined
        load()
      }, 2000)
    })
    return () => {
      alive = false
      off()
      clearTimeout(t)
    }
  }, [query])
  return c
}

// Sortable columns: the API's sort key and the direction a first click
// sorts in (worst, newest and biggest first; names A to Z).
const sortable: Record<string, { key: string; desc: boolean }> = {
  Criticality: { key: 'criticality', desc: true },
  State: { key: 'state', desc: true },
  Component: { key: 'component', desc: false },
  Count: { key: 'count', desc: true },
  'First seen': { key: 'opened', desc: true },
  'Last seen': { key: 'last', desc: true },
}

// SortHead is a column header that sorts the list: a first click in the
// column's natural direction, the next ones flip it.
function SortHead(props: { label: string; sort: string; onSort: (s: string) => void; class?: string }) {
  const col = sortable[props.label]
  const on = props.sort.replace(/^-/, '') === col.key
  const desc = props.sort.startsWith('-')
  const next = on ? (desc ? col.key : '-' + col.key) : (col.desc ? '-' : '') + col.key
  return (
    <th class={`sortable${on ? ' sorted' : ''}${props.class ? ' ' + props.class : ''}`} aria-sort={on ? (desc ? 'descending' : 'ascending') : 'none'} data-sort={col.key}>
      <button class="sort" onClick={() => props.onSort(next)} title={`Sort by ${props.label.toLowerCase()}`}>
        {props.label}
        <span class="arrow" aria-hidden="true">
          {on ? (desc ? '▼' : '▲') : '↕'}
        </span>
      </button>
    </th>
  )
}

type Page = { items: Alarm[]; next_cursor?: string }
const pageSize = 100

// useAlarmList loads the first page, more on demand, and keeps what is
// loaded up to date on live alarm events: changed alarms at once, the list
// again at most once a second.
function useAlarmList(f: Filters, onRed: (a: Alarm[]) => void) {
  const [items, setItems] = useState<Alarm[]>([])
  const [next, setNext] = useState<string>()
  const [loaded, setLoaded] = useState(false)
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  const count = useRef(pageSize)
  const gen = useRef(0)
  const query = apiQuery(f, 0)
  const reload = () => {
    const g = ++gen.current
    api<Page>('GET', '/alarms?' + apiQuery(f, Math.min(1000, Math.max(pageSize, count.current)))).then(
      (p) => {
        if (g !== gen.current) return
        setItems(p.items)
        setNext(p.next_cursor)
        setLoaded(true)
        setError(undefined)
      },
      (e) => g === gen.current && setError(String(e.message ?? e)),
    )
  }
  const itemsRef = useRef(items)
  itemsRef.current = items
  const reloadRef = useRef(reload)
  reloadRef.current = reload
  const onRedRef = useRef(onRed)
  onRedRef.current = onRed
  useEffect(() => {
    count.current = pageSize
    setLoaded(false)
    reload()
    let timer: number | undefined
    let last = 0
    // Changes are applied in batches (a storm of events renders a few
    // times a second, not once per event).
    const pending = new Map<number, { op?: string; alarm: Alarm }>()
    let flushTimer: number | undefined
    const flush = () => {
      flushTimer = undefined
      const batch = [...pending.values()]
      pending.clear()
      const shown = new Map(itemsRef.current.map((x) => [x.id, x]))
      // A new red alarm, or one that turns red, is told (highlight, sound).
      const red = batch.filter(({ op, alarm: a }) => {
        const was = shown.get(a.id)
        return a.criticality === 'red' && (op === 'opened' || (op === 'updated' && was && was.criticality !== 'red'))
      })
      if (red.length) onRedRef.current(red.map((c) => c.alarm))
      const changed = new Map(batch.map((c) => [c.alarm.id, c]))
      setItems((l) =>
        l.some((x) => changed.has(x.id))
          ? l.filter((x) => changed.get(x.id)?.op !== 'deleted').map((x) => changed.get(x.id)?.alarm ?? x)
          : l,
      )
    }
    const off = onLive((ev) => {
      if (ev.type === 'alarm' && ev.alarm) {
        const prev = pending.get(ev.alarm.id)
        // An alarm opened and updated within a batch is still new.
        pending.set(ev.alarm.id, { op: prev?.op === 'opened' && ev.op === 'updated' ? 'opened' : ev.op, alarm: ev.alarm })
        flushTimer ??= window.setTimeout(flush, 200)
      } else if (ev.type !== 'open') return
      // The list follows, at most once a second.
      if (timer) return
      // (after the batch above, so that a new alarm comes highlighted)
      const wait = Math.max(250, last + 1000 - Date.now())
      timer = window.setTimeout(() => {
        timer = undefined
        last = Date.now()
        reloadRef.current()
      }, wait)
    })
    const poll = window.setInterval(() => liveConnected() || reloadRef.current(), 15000)
    return () => {
      off()
      clearInterval(poll)
      clearTimeout(timer)
      clearTimeout(flushTimer)
    }
  }, [query])
  const more = async () => {
    if (!next) return
    setBusy(true)
    // A reload in flight asked for the rows shown before this page: its
    // answer would drop the page. Reloads from now on ask for them all.
    gen.current++
    count.current = items.length + pageSize
    try {
      const p = await api<Page>('GET', '/alarms?' + apiQuery(f, pageSize, next))
      setItems((l) => {
        const seen = new Set(l.map((a) => a.id))
        const out = l.concat(p.items.filter((a) => !seen.has(a.id)))
        count.current = out.length
        return out
      })
      setNext(p.next_cursor)
    } catch (e) {
      setError(String((e as Error).message ?? e))
    } finally {
      setBusy(false)
    }
  }
  return { items, next, loaded, error, busy, more, reload }
}

// Times for the snooze form: presets and the datetime-local value.
function localInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`
}

function snoozePresets(): { label: string; at: Date }[] {
  const now = new Date()
  const tomorrow = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, 8, 0, 0)
  return [
    { label: '1 h', at: new Date(now.getTime() + 3600e3) },
    { label: '4 h', at: new Date(now.getTime() + 4 * 3600e3) },
    { label: 'tomorrow 8:00', at: tomorrow },
  ]
}

function SnoozeFields(props: { value: string; onChange: (v: string) => void }) {
  return (
    <>
      <div class="presets">
        {snoozePresets().map((p) => (
          <button type="button" class={props.value === localInput(p.at) ? 'on' : ''} onClick={() => props.onChange(localInput(p.at))} data-preset={p.label}>
            {p.label}
          </button>
        ))}
      </div>
      <label>
        Until
        <input type="datetime-local" name="until" value={props.value} onInput={(e) => props.onChange((e.target as HTMLInputElement).value)} required />
      </label>
    </>
  )
}

// ActionForm is the small form of one action: a modal with its fields.
function ActionForm(props: { title: string; testid: string; submitLabel: string; danger?: boolean; onClose: () => void; onSubmit: () => Promise<unknown>; children?: ComponentChildren }) {
  const [err, setErr] = useState<string>()
  const [busy, setBusy] = useState(false)
  return (
    <Modal title={props.title} onClose={props.onClose}>
      <form
        class="form"
        data-testid={props.testid}
        onSubmit={async (e) => {
          e.preventDefault()
          setBusy(true)
          try {
            await props.onSubmit()
            props.onClose()
          } catch (x) {
            setErr(x instanceof APIError ? x.message : String(x))
          } finally {
            setBusy(false)
          }
        }}
      >
        {props.children}
        <ErrorNote error={err} />
        <div class="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class={props.danger ? 'danger' : 'primary'} disabled={busy} data-testid="submit-action">
            {props.submitLabel}
          </button>
        </div>
      </form>
    </Modal>
  )
}

function CommentField(props: { value: string; onChange: (v: string) => void; required?: boolean; label?: string }) {
  return (
    <label>
      <span>
        {props.label ?? 'Comment'} {props.required ? null : <span class="hint">(optional)</span>}
      </span>
      <textarea name="comment" rows={3} value={props.value} onInput={(e) => props.onChange((e.target as HTMLTextAreaElement).value)} required={props.required} maxLength={4096} />
    </label>
  )
}

type BulkAction = 'ack' | 'unack' | 'snooze' | 'archive' | 'delete'
type BulkResult = { id: number; ok: boolean; error?: string }

function BulkForm(props: { action: BulkAction; ids: number[]; canArchive: boolean; onClose: () => void; onDone: (r: BulkResult[]) => void }) {
  const [comment, setComment] = useState('')
  const [until, setUntil] = useState(localInput(snoozePresets()[0].at))
  const [archiveFirst, setArchiveFirst] = useState(props.canArchive)
  const n = props.ids.length
  const what = `${n} alarm${n === 1 ? '' : 's'}`
  const run = async () => {
    let body: Record<string, unknown> = { ids: props.ids, action: props.action, comment }
    if (props.action === 'snooze') body.until = new Date(until).toISOString()
    if (props.action === 'delete' && archiveFirst) body = { ids: props.ids, action: 'archive', comment }
    const r = await api<{ results: BulkResult[] }>('POST', '/alarms/bulk', body)
    props.onDone(r.results)
  }
  const titles: Record<BulkAction, string> = {
    ack: `Acknowledge ${what}`,
    unack: `Remove the acknowledgement of ${what}`,
    snooze: `Snooze ${what}`,
    archive: `Archive ${what}`,
    delete: `Delete ${what}?`,
  }
  return (
    <ActionForm
      title={titles[props.action]}
      testid="bulk-form"
      submitLabel={props.action === 'delete' ? (archiveFirst ? 'Archive' : 'Delete') : titles[props.action].split(' ')[0]}
      danger={props.action === 'delete'}
      onClose={props.onClose}
      onSubmit={run}
    >
      {props.action === 'snooze' ? <SnoozeFields value={until} onChange={setUntil} /> : null}
      {props.action === 'delete' ? (
        <>
          <label class="check" hidden={!props.canArchive}>
            <input type="checkbox" name="archive" checked={archiveFirst} onChange={(e) => setArchiveFirst((e.target as HTMLInputElement).checked)} />
            Archive instead (kept and searchable)
          </label>
          {!archiveFirst ? <p class="warn-text">The alarms and their steps are purged. This cannot be undone.</p> : null}
        </>
      ) : (
        <CommentField value={comment} onChange={setComment} />
      )}
    </ActionForm>
  )
}

export function AlarmsPage(props: { user: User }) {
  const u = props.user
  const [f, setF] = useState<Filters>(readFilters)
  const [search, setSearch] = useState(f.search)
  const [selected, setSelected] = useState<Set<number>>(new Set())
  const [flash, setFlash] = useState<Set<number>>(new Set())
  const [sound, setSound] = useState(soundOn)
  const [bulk, setBulk] = useState<BulkAction>()
  const [outcome, setOutcome] = useState<string>()
  const soundRef = useRef(sound)
  soundRef.current = sound
  const [beeps, setBeeps] = useState(0)
  const lastBeep = useRef(0)
  const list = useAlarmList(f, (reds) => {
    // One beep for a burst.
    if (soundRef.current && Date.now() - lastBeep.current > 1500) {
      lastBeep.current = Date.now()
      beep()
      setBeeps((n) => n + 1)
    }
    const ids = reds.map((a) => a.id)
    setFlash((s) => new Set([...s, ...ids]))
    window.setTimeout(
      () =>
        setFlash((s) => {
          const n = new Set(s)
          for (const id of ids) n.delete(id)
          return n
        }),
      6000,
    )
  })
  const set = (k: keyof Filters, v: string) => {
    const n = { ...f, [k]: v }
    writeFilters(n)
    setF(n)
  }
  // Browsers start audio only after a gesture on the page: with the sound
  // remembered on, the first click or key readies it.
  useEffect(() => {
    if (!sound) return
    const ready = () => {
      try {
        audio ??= new AudioContext()
        if (audio.state === 'suspended') void audio.resume()
      } catch {
        // No audio here.
      }
    }
    window.addEventListener('pointerdown', ready, { once: true })
    window.addEventListener('keydown', ready, { once: true })
    return () => {
      window.removeEventListener('pointerdown', ready)
      window.removeEventListener('keydown', ready)
    }
  }, [sound])
  // A link to this page with other filters (the nav, the overview's
  // tiles, back and forward) shows them.
  useEffect(
    () =>
      onRoute(() => {
        if (location.pathname !== '/alarms') return
        const n = readFilters()
        setF(n)
        setSearch(n.search)
      }),
    [],
  )
  // Text search: after a short pause in typing.
  useEffect(() => {
    if (search === f.search) return
    const t = setTimeout(() => set('search', search), 300)
    return () => clearTimeout(t)
  }, [search])
  // The selection keeps the alarms still listed.
  useEffect(() => {
    setSelected((s) => {
      const ids = new Set(list.items.map((a) => a.id))
      const n = new Set([...s].filter((id) => ids.has(id)))
      return n.size === s.size ? s : n
    })
  }, [list.items])

  const bulkPerms: [BulkAction, string, string][] = [
    ['ack', 'alarms.ack', 'Ack'],
    ['unack', 'alarms.ack', 'Unack'],
    ['snooze', 'alarms.snooze', 'Snooze'],
    ['archive', 'alarms.archive', 'Archive'],
    ['delete', 'alarms.delete', 'Delete'],
  ]
  const allowed = bulkPerms.filter(([, p]) => can(u, p))
  const selectable = allowed.length > 0
  const toggle = (id: number) =>
    setSelected((s) => {
      const n = new Set(s)
      if (n.has(id)) n.delete(id)
      else n.add(id)
      return n
    })
  const allOn = list.items.length > 0 && list.items.every((a) => selected.has(a.id))
  const filtered = filterKeys.some((k) => k !== 'status' && k !== 'sort' && f[k])
  const counted = useAlarmCount(filterQuery(f).toString())
  const head = (label: string, cls?: string) => <SortHead label={label} sort={f.sort} onSort={(v) => set('sort', v)} class={cls} />
  const now = Date.now()
  const sel = (k: keyof Filters, label: string, options: [string, string][]) => (
    <select value={f[k]} onChange={(e) => set(k, (e.target as HTMLSelectElement).value)} aria-label={label} name={k} class={f[k] ? 'set' : ''}>
      <option value="">{label}: any</option>
      {options.map(([v, l]) => (
        <option value={v}>{l}</option>
      ))}
    </select>
  )
  return (
    <div class="alarms-page">
      <div class="page-head">
        <h1>
          Alarms{' '}
          <span class="muted small-count" data-testid="alarm-count" title={counted ? criticalities.map((c) => `${counted.by_criticality[c] ?? 0} ${c}`).join(', ') : undefined}>
            {counted ? counted.total : ''}
          </span>
        </h1>
        <div class="buttons">
          <div class="seg" role="group" aria-label="Status">
            {[
              ['', 'Open'],
              ['resolved', 'Resolved'],
              ['all', 'Open + resolved'],
              ['archived', 'Archived'],
              ['flapping', 'Flapping'],
            ].map(([v, l]) => (
              <button class={f.status === v ? 'on' : ''} aria-pressed={f.status === v} onClick={() => set('status', v)} data-status={v || 'open'}>
                {l}
              </button>
            ))}
          </div>
          <button
            class={`sound${sound ? ' on' : ''}`}
            aria-pressed={sound}
            data-testid="sound"
            data-beeps={beeps}
            title="Play a short sound when a new red alarm opens"
            onClick={() => {
              const n = !sound
              setSound(n)
              try {
                localStorage.setItem(soundKey, n ? 'on' : 'off')
              } catch {
                // Not remembered; still on for this page.
              }
              if (n) beep()
            }}
          >
            {sound ? 'Sound on' : 'Sound off'}
          </button>
        </div>
      </div>
      <div class="filters wrap" data-testid="alarm-filters">
        <input type="search" name="search" placeholder="Search component, resource, output" value={search} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} aria-label="Search alarms" />
        {sel('criticality', 'Criticality', criticalities.map((c) => [c, c.toUpperCase()]))}
        {sel('state', 'State', [3, 2, 1, 0].map((n) => [String(n), stateName(n)]))}
        {sel('ack', 'Ack', [
          ['true', 'Acked'],
          ['false', 'Not acked'],
        ])}
        {sel('snoozed', 'Snooze', [
          ['true', 'Snoozed'],
          ['false', 'Not snoozed'],
        ])}
        {(
          [
            ['connector', 'Connector'],
            ['domain', 'Domain'],
            ['group', 'Host group'],
          ] as const
        ).map(([k, l]) => (
          <input
            type="text"
            name={k}
            placeholder={l}
            value={f[k]}
            onChange={(e) => set(k, (e.target as HTMLInputElement).value.trim())}
            aria-label={l}
            class={`narrow${f[k] ? ' set' : ''}`}
          />
        ))}
        <span class="range" role="group" aria-label="Time range">
          <label class="inline">
            last event from
            <input type="datetime-local" name="since" value={f.since} onChange={(e) => set('since', (e.target as HTMLInputElement).value)} aria-label="Last event from" />
          </label>
          <label class="inline">
            opened before
            <input type="datetime-local" name="until" value={f.until} onChange={(e) => set('until', (e.target as HTMLInputElement).value)} aria-label="Opened before" />
          </label>
        </span>
        {filtered ? (
          <button
            class="link"
            onClick={() => {
              const n = { ...readFilters() }
              for (const k of filterKeys) if (k !== 'status' && k !== 'sort') n[k] = ''
              setSearch('')
              writeFilters(n)
              setF(n)
            }}
          >
            Clear filters
          </button>
        ) : null}
      </div>
      {selectable && selected.size > 0 ? (
        <div class="bulkbar" data-testid="bulk-bar">
          <strong>{selected.size} selected</strong>
          {allowed.map(([a, , l]) => (
            <button class={a === 'delete' ? 'danger' : ''} onClick={() => setBulk(a)} data-testid={`bulk-${a}`}>
              {l}
            </button>
          ))}
          <button class="link" onClick={() => setSelected(new Set())}>
            Clear selection
          </button>
        </div>
      ) : null}
      {outcome ? (
        <div class="note dismiss" data-testid="bulk-outcome">
          {outcome}
          <button class="icon" aria-label="Dismiss" onClick={() => setOutcome(undefined)}>
            ×
          </button>
        </div>
      ) : null}
      <ErrorNote error={list.error} />
      <section class="card flush">
        {list.loaded && list.items.length === 0 ? (
          <Empty>{filtered ? 'No alarm matches these filters.' : f.status === '' ? 'No open alarm. All quiet.' : 'No alarm here.'}</Empty>
        ) : (
          <table class="grid dense" data-testid="alarms">
            <thead>
              <tr>
                {selectable ? (
                  <th class="sel">
                    <input
                      type="checkbox"
                      aria-label="Select all"
                      checked={allOn}
                      onChange={() => setSelected(allOn ? new Set() : new Set(list.items.map((a) => a.id)))}
                      data-testid="select-all"
                    />
                  </th>
                ) : null}
                {head('Criticality')}
                {head('State')}
                {head('Component')}
                <th>Resource</th>
                <th>Connector</th>
                <th>Output</th>
                {head('Count', 'num')}
                {head('First seen')}
                {head('Last seen')}
                <th>Ack / snooze / to</th>
              </tr>
            </thead>
            <tbody>
              {list.items.map((a) => (
                <tr
                  class={`clickable${flash.has(a.id) ? ' flash' : ''}${selected.has(a.id) ? ' selected' : ''}${a.status !== 'open' ? ' closed' : ''}`}
                  data-testid="alarm-row"
                  data-alarm={a.id}
                  data-component={a.component}
                  data-resource={a.resource}
                  onClick={(e) => {
                    if ((e.target as HTMLElement).closest('input,a,button')) return
                    navigate(`/alarms/${a.id}`)
                  }}
                >
                  {selectable ? (
                    <td class="sel">
                      <input type="checkbox" aria-label={`Select alarm ${a.id}`} checked={selected.has(a.id)} onChange={() => toggle(a.id)} data-testid="select" />
                    </td>
                  ) : null}
                  <td>
                    <CritBadge c={a.criticality} locked={a.criticality_locked} />
                  </td>
                  <td class="nowrap">
                    <StateText n={a.state} />
                    {a.status !== 'open' ? <StatusChip s={a.status} /> : null}
                  </td>
                  <td class="strong">
                    <Link href={`/alarms/${a.id}`}>{a.component}</Link>
                  </td>
                  <td>{a.resource || <span class="muted">—</span>}</td>
                  <td class="nowrap conn" title={`${a.connector} / ${a.connector_name}`}>
                    {a.connector}
                    <span class="muted">/{a.connector_name}</span>
                  </td>
                  <td class="output clip" title={a.output}>
                    {a.output}
                  </td>
                  <td class="num">{a.count}</td>
                  <td class="nowrap" title={`${fmtAgo(a.opened, now)} ago`}>
                    {fmtTime(a.opened)}
                  </td>
                  <td class="nowrap" title={`${fmtAgo(a.last_event, now)} ago`}>
                    {fmtTime(a.last_event)}
                  </td>
                  <td>
                    <Markers a={a} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {!list.loaded ? <div class="loading">Loading…</div> : null}
      </section>
      {list.next ? (
        <div class="more">
          <button onClick={list.more} disabled={list.busy} data-testid="load-more">
            {list.busy ? 'Loading…' : 'Load more'}
          </button>
        </div>
      ) : null}
      {bulk ? (
        <BulkForm
          action={bulk}
          ids={[...selected]}
          canArchive={can(u, 'alarms.archive')}
          onClose={() => setBulk(undefined)}
          onDone={(r) => {
            const bad = r.filter((x) => !x.ok)
            setOutcome(
              `${r.length - bad.length} of ${r.length} done` + (bad.length ? `; refused: ${bad.map((x) => `#${x.id} (${x.error})`).join(', ')}` : '.'),
            )
            setSelected(new Set(bad.map((x) => x.id)))
            list.reload()
          }}
        />
      ) : null}
    </div>
  )
}

const stepLabels: Record<string, string> = {
  open: 'Opened',
  stateinc: 'State worse',
  statedec: 'State better',
  resolving: 'Resolving (OK received)',
  resolve: 'Resolved',
  ack: 'Acknowledged',
  unack: 'Acknowledgement removed',
  comment: 'Comment',
  snooze: 'Snoozed',
  criticality: 'Criticality set',
  cancel: 'Cancelled',
  archive: 'Archived',
  transfer: 'Transferred',
  ...engineStepLabels,
}

function stepValue(s: AlarmStep): string {
  if (!s.value) return ''
  if (s.type === 'snooze') return 'until ' + fmtTime(s.value)
  // The API writes the users as Go prints a list: [ann bob].
  // Older steps hold Go's "[a b]"; newer ones "a, b (teams t)".
  if (s.type === 'transfer') return 'to ' + (s.value.startsWith('[') ? s.value.slice(1, -1).split(' ').filter(Boolean).join(', ') : s.value)
  return s.value
}

function Steps(props: { steps: AlarmStep[] }) {
  const steps = [...props.steps].reverse()
  return (
    <ol class="timeline" data-testid="steps">
      {steps.map((s) => (
        <li class={`step t-${s.type}`} data-step={s.type}>
          <span class="when nowrap" title={new Date(s.time).toLocaleString()}>
            {fmtTime(s.time)}
          </span>
          <span class="dot" />
          <div class="what">
            <strong>{stepLabels[s.type] ?? s.type}</strong> {s.type === 'criticality' && s.value ? <CritBadge c={s.value.split(' ')[0]} locked={s.value.includes('locked')} /> : <span>{stepValue(s)}</span>}{' '}
            {['open', 'stateinc', 'statedec'].includes(s.type) ? <StateText n={s.state} /> : null} <span class="muted">by {s.author || 'system'}</span>
            {s.comment ? <div class="comment">{s.comment}</div> : null}
          </div>
        </li>
      ))}
    </ol>
  )
}

type Dialog = '' | 'ack' | 'unack' | 'comment' | 'snooze' | 'criticality' | 'transfer' | 'cancel' | 'archive' | 'delete'

export function AlarmPage(props: { id: string; user: User }) {
  const u = props.user
  const [dialog, setDialog] = useState<Dialog>('')
  const { data: a, error, reload } = useData(() => api<Alarm>('GET', `/alarms/${props.id}`), [props.id])
  // Live: this alarm's changes (useData leaves alarm events to us).
  useEffect(() => {
    let t: number | undefined
    return onLive((ev) => {
      if (ev.type !== 'alarm' || String(ev.id) !== props.id || t) return
      t = window.setTimeout(() => {
        t = undefined
        reload()
      }, 300)
    })
  }, [props.id])
  if (error) return <ErrorNote error={error} />
  if (!a) return <div class="loading">Loading…</div>
  const open = a.status === 'open'
  const btn = (d: Dialog, label: string, perm: string, show: boolean, cls = '') =>
    show && can(u, perm) ? (
      <button class={cls} onClick={() => setDialog(d)} data-testid={`action-${d}`}>
        {label}
      </button>
    ) : null
  const act = (path: string, body: unknown) => api<Alarm>('POST', `/alarms/${a.id}/${path}`, body).then(reload)
  const tags = Object.entries(a.tags ?? {})
  return (
    <div class="alarm-page">
      <div class="crumbs">
        <Link href="/alarms">Alarms</Link> / #{a.id}
      </div>
      <div class="page-head">
        <h1>
          <CritBadge c={a.criticality} locked={a.criticality_locked} /> {a.component}
          {a.resource ? <span class="muted">/ {a.resource}</span> : null} <StatusChip s={a.status} /> <Markers a={a} />
        </h1>
        <div class="buttons wrap" data-testid="alarm-actions">
          {btn('ack', 'Acknowledge', 'alarms.ack', open && !a.acked, 'primary')}
          {btn('unack', 'Remove ack', 'alarms.ack', open && a.acked)}
          {btn('comment', 'Comment', 'alarms.ack', true)}
          {btn('snooze', 'Snooze', 'alarms.snooze', open)}
          {btn('criticality', 'Criticality', 'alarms.ack', open)}
          {btn('transfer', 'Transfer', 'alarms.transfer', a.status !== 'archived')}
          {btn('cancel', 'Cancel alarm', 'alarms.ack', open)}
          {btn('archive', 'Archive', 'alarms.archive', a.status !== 'archived')}
          {btn('delete', 'Delete', 'alarms.delete', true, 'danger')}
        </div>
      </div>
      <IdleNote a={a} />
      <div class="alarm-grid">
        <section class="card facts">
          <dl>
            <dt>Output</dt>
            <dd class="output" data-testid="alarm-output">
              {a.output || '—'}
            </dd>
            {a.long_output ? (
              <>
                <dt>Details</dt>
                <dd>
                  <pre>{a.long_output}</pre>
                </dd>
              </>
            ) : null}
            <dt>State</dt>
            <dd>
              <StateText n={a.state} /> <span class="muted">worst</span> <StateText n={a.worst_state} />
            </dd>
            <dt>Criticality</dt>
            <dd>
              {a.criticality.toUpperCase()}
              {a.criticality_locked ? ' (set by hand, locked)' : ''}
            </dd>
            <dt>Connector</dt>
            <dd class="mono">
              {a.connector} / {a.connector_name}
            </dd>
            <dt>Component / resource</dt>
            <dd>
              {a.component} / {a.resource || '—'}
            </dd>
            <dt>Events</dt>
            <dd>
              {a.count}, first {fmtTime(a.opened)}, last {fmtTime(a.last_event)} <span class="muted">({fmtAgo(a.last_event)} ago)</span>
            </dd>
            {a.resolved ? (
              <>
                <dt>Resolved</dt>
                <dd>{fmtTime(a.resolved)}</dd>
              </>
            ) : null}
            {a.resolve_at ? (
              <>
                <dt>Resolves at</dt>
                <dd>{fmtTime(a.resolve_at)} unless the problem comes back</dd>
              </>
            ) : null}
            <dt>Acknowledged</dt>
            <dd data-testid="alarm-ack">{a.acked ? `by ${a.ack_by} ${fmtTime(a.ack_time)}${a.ack_comment ? ' — ' + a.ack_comment : ''}` : 'no'}</dd>
            <dt>Snoozed</dt>
            <dd data-testid="alarm-snooze">{snoozed(a) ? `until ${fmtTime(a.snooze_until)}` : 'no'}</dd>
            <dt>Transferred to</dt>
            <dd>{(a.assignees ?? []).length ? (a.assignees ?? []).map((x) => <span class="chip">{x}</span>) : '—'}</dd>
            <dt>Domain / category</dt>
            <dd>
              {a.domain || '—'} / {a.category || '—'}
            </dd>
            {tags.length ? (
              <>
                <dt>Tags</dt>
                <dd>
                  {tags.map(([k, v]) => (
                    <span class="chip">
                      {k}={v}
                    </span>
                  ))}
                </dd>
              </>
            ) : null}
            <dt>Updated</dt>
            <dd>{fmtTime(a.updated)}</dd>
          </dl>
        </section>
        <section class="card">
          <h2>
            Steps <span class="muted">{a.steps?.length ?? 0}</span>
          </h2>
          <Steps steps={a.steps ?? []} />
        </section>
      </div>
      {dialog ? <AlarmActionForm a={a} dialog={dialog} user={u} act={act} onClose={() => setDialog('')} /> : null}
    </div>
  )
}

function AlarmActionForm(props: { a: Alarm; dialog: Dialog; user: User; act: (path: string, body: unknown) => Promise<unknown>; onClose: () => void }) {
  const { a, dialog, act, onClose } = props
  const [comment, setComment] = useState('')
  const [until, setUntil] = useState(localInput(snoozePresets()[0].at))
  const [crit, setCrit] = useState<string>(a.criticality)
  const [lock, setLock] = useState(true)
  const [users, setUsers] = useState<string[]>([])
  const [userText, setUserText] = useState('')
  const [teams, setTeams] = useState<string[]>([])
  const [teamText, setTeamText] = useState('')
  const canArchive = can(props.user, 'alarms.archive')
  const [archiveFirst, setArchiveFirst] = useState(canArchive && a.status !== 'archived')
  const canList = can(props.user, 'users.manage')
  const known = useData(() => (dialog === 'transfer' && canList ? api<{ items: { login: string; teams?: string[]; disabled?: boolean }[] }>('GET', '/users?limit=1000') : Promise.resolve(undefined)), [dialog])
  const common = { onClose, testid: `form-${dialog}` }
  const c = <CommentField value={comment} onChange={setComment} />
  switch (dialog) {
    case 'ack':
    case 'unack':
    case 'cancel':
    case 'archive': {
      const titles = { ack: ['Acknowledge the alarm', 'Acknowledge'], unack: ['Remove the acknowledgement', 'Remove'], cancel: ['Cancel the alarm (resolve it by hand)', 'Cancel the alarm'], archive: ['Archive the alarm', 'Archive'] }[dialog]
      return (
        <ActionForm {...common} title={titles[0]} submitLabel={titles[1]} onSubmit={() => act(dialog, { comment })}>
          {c}
        </ActionForm>
      )
    }
    case 'comment':
      return (
        <ActionForm {...common} title="Comment" submitLabel="Add comment" onSubmit={() => act('comment', { comment })}>
          <CommentField value={comment} onChange={setComment} required />
        </ActionForm>
      )
    case 'snooze':
      return (
        <ActionForm {...common} title="Snooze the alarm" submitLabel="Snooze" onSubmit={() => act('snooze', { until: new Date(until).toISOString(), comment })}>
          <SnoozeFields value={until} onChange={setUntil} />
          {c}
        </ActionForm>
      )
    case 'criticality':
      return (
        <ActionForm {...common} title="Set the criticality" submitLabel="Set" onSubmit={() => act('criticality', { criticality: crit, lock, comment })}>
          <label>
            Criticality
            <select name="criticality" value={crit} onChange={(e) => setCrit((e.target as HTMLSelectElement).value)}>
              {criticalities.map((x) => (
                <option value={x}>{x.toUpperCase()}</option>
              ))}
            </select>
          </label>
          <label class="check">
            <input type="checkbox" name="lock" checked={lock} onChange={(e) => setLock((e.target as HTMLInputElement).checked)} />
            Lock it: events no longer change it
          </label>
          {c}
        </ActionForm>
      )
    case 'transfer': {
      const list = known.data?.items
      const chosen = list ? users : userText.split(',').map((s) => s.trim()).filter(Boolean)
      const teamList = list ? [...new Set(list.filter((x) => !x.disabled).flatMap((x) => x.teams ?? []))].sort() : undefined
      const chosenTeams = teamList ? teams : teamText.split(',').map((s) => s.trim()).filter(Boolean)
      const check = (name: string, value: string, on: string[], set: (v: string[]) => void) => (
        <label class="check">
          <input type="checkbox" name={name} value={value} checked={on.includes(value)} onChange={(e) => set((e.target as HTMLInputElement).checked ? [...on, value] : on.filter((y) => y !== value))} />
          {value}
        </label>
      )
      return (
        <ActionForm
          {...common}
          title="Transfer the alarm"
          submitLabel="Transfer"
          onSubmit={() =>
            chosen.length || chosenTeams.length ? act('transfer', { users: chosen, teams: chosenTeams, comment }) : Promise.reject(new Error('Choose at least one user or team.'))
          }
        >
          {list ? (
            <fieldset>
              <legend>To</legend>
              <div class="userpick">{list.map((x) => check('user', x.login, users, setUsers))}</div>
              {teamList?.length ? (
                <>
                  <div class="hint">or a team (its members now)</div>
                  <div class="userpick">{teamList.map((x) => check('team', x, teams, setTeams))}</div>
                </>
              ) : null}
            </fieldset>
          ) : (
            <>
              <label>
                To <span class="hint">(logins, separated by commas)</span>
                <input name="users" value={userText} onInput={(e) => setUserText((e.target as HTMLInputElement).value)} />
              </label>
              <label>
                Or teams <span class="hint">(their members now, separated by commas)</span>
                <input name="teams" value={teamText} onInput={(e) => setTeamText((e.target as HTMLInputElement).value)} />
              </label>
            </>
          )}
          {c}
        </ActionForm>
      )
    }
    case 'delete':
      return (
        <ActionForm
          {...common}
          title={`Delete alarm #${a.id}?`}
          submitLabel={archiveFirst ? 'Archive' : 'Delete'}
          danger
          onSubmit={async () => {
            await api('DELETE', `/alarms/${a.id}${archiveFirst ? '?archive=true' : ''}`)
            navigate('/alarms')
          }}
        >
          <label class="check" hidden={!canArchive || a.status === 'archived'}>
            <input type="checkbox" name="archive" checked={archiveFirst} onChange={(e) => setArchiveFirst((e.target as HTMLInputElement).checked)} />
            Archive instead (kept and searchable)
          </label>
          {!archiveFirst ? <p class="warn-text">The alarm and its steps are purged. This cannot be undone.</p> : null}
        </ActionForm>
      )
  }
  return null
}

// AlarmTiles: open alarms by criticality (GET /alarms/count), each a
// link to the filtered list.
export function AlarmTiles() {
  const c = useAlarmCount('status=open')
  const counts = c && Object.fromEntries(criticalities.map((k) => [k, String(c.by_criticality[k] ?? 0)]))
  const total = c?.total
  return (
    <section class="tiles-block">
      <h2>
        <Link href="/alarms">Open alarms</Link> <span class="muted">{total ?? ''}</span>
      </h2>
      <div class="tiles">
        {criticalities.map((c) => (
          <Link href={`/alarms?criticality=${c}`} class={`tile t-${c}${counts?.[c] === '0' ? ' zero' : ''}`} testid={`tile-alarms-${c}`}>
            <span class="n">{counts?.[c] ?? '…'}</span>
            <span class="l">{c.toUpperCase()}</span>
          </Link>
        ))}
      </div>
    </section>
  )
}
