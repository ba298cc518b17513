// Maintenance windows: the list (active now marked in words and colour),
// a form for one-off and weekly windows over hosts, host groups or a match,
// and deleting one (which ends it: its alarms leave maintenance).
import { useEffect, useState } from 'preact/hooks'
import { api, APIError, can, User } from './api'
import { Empty, ErrorNote, fmtTime, Modal, useData } from './ui'
import { inlineMessage } from './rules'
import './extra.css'

export type Maintenance = {
  id: number
  name: string
  start?: string
  end?: string
  weekly?: { days: string[]; start: string; duration: string; timezone?: string }
  hosts?: string[]
  groups?: string[]
  match?: { connector?: string; connector_name?: string; component?: string }
  author: string
  created: string
}

const days = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']
const dayIndex: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 }

// minutes of a Go duration ("2h", "90m", "1h30m").
function durMinutes(d: string): number {
  let m = 0
  for (const [, n, u] of d.matchAll(/([\d.]+)(h|m|s|ms|us|µs|ns)/g)) m += Number(n) * ({ h: 60, m: 1, s: 1 / 60 }[u] ?? 0)
  return m
}

// The weekday and minutes after midnight of now in a time zone.
function nowIn(tz: string, now: Date): { wd: number; min: number } {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: tz || 'UTC', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(now)
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? ''
  return { wd: dayIndex[get('weekday').toLowerCase()] ?? 0, min: Number(get('hour')) * 60 + Number(get('minute')) }
}

export type Phase = 'active' | 'scheduled' | 'over' | 'recurring'

// phase tells what a window is doing now, as the engine reckons it
// (internal/alarms/maintenance.go, window.active).
export function phase(m: Maintenance, now = new Date()): Phase {
  if (!m.weekly) {
    const s = new Date(m.start ?? 0).getTime()
    const e = new Date(m.end ?? 0).getTime()
    const t = now.getTime()
    return t < s ? 'scheduled' : t < e ? 'active' : 'over'
  }
  const w = m.weekly
  let at = 0
  const hm = /^(\d{1,2}):(\d{2})$/.exec(w.start)
  if (hm) at = Number(hm[1]) * 60 + Number(hm[2])
  const dur = durMinutes(w.duration)
  let here: { wd: number; min: number }
  try {
    here = nowIn(w.timezone ?? '', now)
  } catch {
    return 'recurring' // a zone this browser does not know
  }
  const on = new Set(w.days.map((d) => dayIndex[d.toLowerCase()]))
  for (let back = 0; back <= Math.floor(dur / 1440) + 1; back++) {
    const wd = (here.wd - back + 7 * 8) % 7
    if (!on.has(wd)) continue
    const since = back * 1440 + here.min - at
    if (since >= 0 && since < dur) return 'active'
  }
  return 'recurring'
}

// nextStart is when a weekly window next begins (after now), or
// undefined when its zone is unknown here.
export function nextStart(m: Maintenance, now = new Date()): Date | undefined {
  const w = m.weekly
  const hm = w && /^(\d{1,2}):(\d{2})$/.exec(w.start)
  if (!w || !hm) return undefined
  const at = Number(hm[1]) * 60 + Number(hm[2])
  let here: { wd: number; min: number }
  try {
    here = nowIn(w.timezone ?? '', now)
  } catch {
    return undefined
  }
  const on = new Set(w.days.map((d) => dayIndex[d.toLowerCase()]))
  for (let ahead = 0; ahead <= 7; ahead++) {
    if (!on.has((here.wd + ahead) % 7) || (ahead === 0 && at <= here.min)) continue
    const t = new Date(now.getTime() + (ahead * 1440 + at - here.min) * 60e3)
    t.setSeconds(0, 0)
    return t
  }
  return undefined
}

const phaseText: Record<Phase, string> = { active: 'ACTIVE NOW', scheduled: 'SCHEDULED', over: 'OVER', recurring: 'RECURRING' }

export function PhaseBadge(props: { p: Phase }) {
  return (
    <span class={`badge ph-${props.p}`} data-phase={props.p}>
      {phaseText[props.p]}
    </span>
  )
}

// fmtSpan: "Mon 23 Nov 07:49 → 09:49", the end's day only when it differs.
function fmtSpan(start?: string, end?: string): string {
  const s = new Date(start ?? 0)
  const e = new Date(end ?? 0)
  const day: Intl.DateTimeFormatOptions = { weekday: 'short', day: '2-digit', month: 'short' }
  const hm: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit' }
  const d = (x: Date) => x.toLocaleDateString([], day) + ' ' + x.toLocaleTimeString([], hm)
  return d(s) + ' → ' + (s.toDateString() === e.toDateString() ? e.toLocaleTimeString([], hm) : d(e))
}

function When(props: { m: Maintenance; now: Date }) {
  const m = props.m
  if (m.weekly) {
    const w = m.weekly
    const next = nextStart(m, props.now)
    return (
      <span>
        every {w.days.map((d) => d[0].toUpperCase() + d.slice(1)).join(', ')} at {w.start} for {w.duration} <span class="muted">({w.timezone || 'UTC'})</span>
        {next ? (
          <div class="muted small" data-testid="next-start">
            next {next.toLocaleDateString([], { weekday: 'short', day: '2-digit', month: 'short' })} {next.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })} your time
          </div>
        ) : null}
      </span>
    )
  }
  return (
    <span class="nowrap" title={`${new Date(m.start ?? 0).toLocaleString()} → ${new Date(m.end ?? 0).toLocaleString()}`}>
      {fmtSpan(m.start, m.end)}
    </span>
  )
}

function Scope(props: { m: Maintenance }) {
  const m = props.m
  const mt = m.match
  return (
    <span class="scope">
      {(m.hosts ?? []).map((h) => (
        <span class="chip" data-host={h}>
          host {h}
        </span>
      ))}
      {(m.groups ?? []).map((g) => (
        <span class="chip chip-group">group {g}</span>
      ))}
      {mt ? (
        <span class="chip chip-match">
          match{' '}
          {[
            ['connector', mt.connector],
            ['connector_name', mt.connector_name],
            ['component', mt.component],
          ]
            .filter(([, v]) => v)
            .map(([k, v]) => `${k} ~ ${v}`)
            .join(', ') || 'every source'}
        </span>
      ) : null}
    </span>
  )
}

export function MaintenancesPage(props: { user: User }) {
  const manage = can(props.user, 'maintenance.manage')
  const { data, error, reload } = useData(() => api<{ items: Maintenance[] }>('GET', '/maintenances'), [])
  const [creating, setCreating] = useState(false)
  const [del, setDel] = useState<Maintenance>()
  const [showOver, setShowOver] = useState(false)
  // The phases move with the clock.
  const [now, setNow] = useState(new Date())
  useEffect(() => {
    const t = setInterval(() => setNow(new Date()), 30000)
    return () => clearInterval(t)
  }, [])
  const order: Record<Phase, number> = { active: 0, scheduled: 1, recurring: 2, over: 3 }
  const all = (data?.items ?? []).map((m) => ({ m, p: phase(m, now) })).sort((a, b) => order[a.p] - order[b.p] || a.m.id - b.m.id)
  const over = all.filter((x) => x.p === 'over').length
  const shown = showOver ? all : all.filter((x) => x.p !== 'over')
  const active = all.filter((x) => x.p === 'active').length
  return (
    <div class="maint-page">
      <div class="page-head">
        <h1>
          Maintenance windows{' '}
          <span class="muted small-count" data-testid="maint-active">
            {data ? `${active} active now` : ''}
          </span>
        </h1>
        <div class="buttons">
          {over ? (
            <button onClick={() => setShowOver(!showOver)} aria-pressed={showOver}>
              {showOver ? 'Hide' : 'Show'} {over} over
            </button>
          ) : null}
          {manage ? (
            <button class="primary" onClick={() => setCreating(true)} data-testid="new-maintenance">
              New window
            </button>
          ) : null}
        </div>
      </div>
      <p class="lede">
        During a window, events are kept and the alarms of its hosts are marked <span class="mk mk-maint">MAINTENANCE</span>; they will never notify.
      </p>
      <ErrorNote error={error} />
      <section class="card flush">
        {data && shown.length === 0 ? (
          <Empty>No maintenance window{over ? ' to come (see the ones over)' : ''}.</Empty>
        ) : (
          <table class="grid" data-testid="maintenances">
            <thead>
              <tr>
                <th>Status</th>
                <th>Name</th>
                <th>When</th>
                <th>Scope</th>
                <th>By</th>
                {manage ? <th /> : null}
              </tr>
            </thead>
            <tbody>
              {shown.map(({ m, p }) => (
                <tr data-testid="maint-row" data-name={m.name} data-phase={p} class={p === 'active' ? 'row-active' : p === 'over' ? 'closed' : ''}>
                  <td>
                    <PhaseBadge p={p} />
                  </td>
                  <td class="strong">{m.name}</td>
                  <td>
                    <When m={m} now={now} />
                  </td>
                  <td>
                    <Scope m={m} />
                  </td>
                  <td class="nowrap" title={`Created ${fmtTime(m.created)}`}>
                    {m.author || '—'}
                  </td>
                  {manage ? (
                    <td class="row-actions">
                      <button class="danger" onClick={() => setDel(m)} data-testid="delete-maintenance">
                        {p === 'active' ? 'End now' : 'Delete'}
                      </button>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {!data && !error ? <div class="loading">Loading…</div> : null}
      </section>
      {creating ? (
        <MaintenanceForm
          onClose={() => setCreating(false)}
          onSaved={() => {
            setCreating(false)
            reload()
          }}
        />
      ) : null}
      {del ? <DeleteMaintenance m={del} active={phase(del) === 'active'} onClose={() => setDel(undefined)} onDone={() => (setDel(undefined), reload())} /> : null}
    </div>
  )
}

function DeleteMaintenance(props: { m: Maintenance; active: boolean; onClose: () => void; onDone: () => void }) {
  const [err, setErr] = useState<string>()
  return (
    <Modal title={props.active ? `End ${props.m.name} now?` : `Delete ${props.m.name}?`} onClose={props.onClose}>
      <p>{props.active ? 'The window is deleted: its alarms leave maintenance at once and notify again.' : 'The window is deleted.'}</p>
      <ErrorNote error={err} />
      <div class="actions">
        <button onClick={props.onClose}>Cancel</button>
        <button class="danger" data-testid="confirm-delete" onClick={() => api('DELETE', `/maintenances/${props.m.id}`).then(props.onDone, (e) => setErr(String(e.message ?? e)))}>
          {props.active ? 'End now' : 'Delete'}
        </button>
      </div>
    </Modal>
  )
}

function localInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`
}

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean)

function MaintenanceForm(props: { onClose: () => void; onSaved: () => void }) {
  const now = new Date()
  now.setSeconds(0, 0)
  const [kind, setKind] = useState<'once' | 'weekly'>('once')
  const [scope, setScope] = useState<'hosts' | 'groups' | 'match'>('hosts')
  const [v, setV] = useState({
    name: '',
    start: localInput(now),
    end: localInput(new Date(now.getTime() + 2 * 3600e3)),
    wstart: '22:00',
    duration: '2h',
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone ?? '',
    hosts: '',
    groups: '',
    connector: '',
    connector_name: '',
    component: '',
  })
  const [wdays, setWdays] = useState<string[]>([])
  const [err, setErr] = useState<APIError>()
  const [busy, setBusy] = useState(false)
  // Names to pick from, for those who may read the inventory.
  const hosts = useData(() => api<{ items: { name: string }[] }>('GET', '/hosts?limit=1000').catch(() => ({ items: [] })), [])
  const groups = useData(() => api<{ items: { name: string }[] }>('GET', '/hostgroups').catch(() => ({ items: [] })), [])
  const set = (k: keyof typeof v) => (e: Event) => setV({ ...v, [k]: (e.target as HTMLInputElement).value })
  const fe = (...keys: string[]) =>
    err?.field && keys.includes(err.field) ? (
      <div class="field-error" data-error-for={err.field}>
        {inlineMessage(err)}
      </div>
    ) : null
  const save = async (e: Event) => {
    e.preventDefault()
    const body: Record<string, unknown> = { name: v.name.trim() }
    if (kind === 'once') {
      const s = new Date(v.start)
      const en = new Date(v.end)
      if (isNaN(s.getTime()) || isNaN(en.getTime())) {
        setErr(new APIError(400, 'invalid', 'start and end are required', isNaN(s.getTime()) ? 'start' : 'end'))
        return
      }
      body.start = s.toISOString()
      body.end = en.toISOString()
    } else {
      body.weekly = { days: days.filter((d) => wdays.includes(d)), start: v.wstart, duration: v.duration.trim(), timezone: v.timezone.trim() || undefined }
    }
    if (scope === 'hosts') body.hosts = list(v.hosts)
    if (scope === 'groups') body.groups = list(v.groups)
    if (scope === 'match') {
      const m: Record<string, string> = {}
      for (const k of ['connector', 'connector_name', 'component'] as const) if (v[k].trim()) m[k] = v[k].trim()
      // An empty match would cover every alarm: refuse it here.
      if (Object.keys(m).length === 0) {
        setErr(new APIError(400, 'invalid', 'give at least one pattern: an empty match covers every source', 'match'))
        return
      }
      body.match = m
    }
    setBusy(true)
    try {
      await api('POST', '/maintenances', body)
      props.onSaved()
    } catch (x) {
      setErr(x instanceof APIError ? x : new APIError(0, 'error', String(x)))
    } finally {
      setBusy(false)
    }
  }
  const inline = !!err?.field && /^(name|start|end|weekly|hosts|groups|match)/.test(err.field)
  return (
    <Modal title="New maintenance window" onClose={props.onClose}>
      <form class="form" onSubmit={save} data-testid="maintenance-form">
        <label>
          Name
          <input name="name" value={v.name} onInput={set('name')} required autoFocus placeholder="core switch firmware upgrade" />
          {fe('name')}
        </label>
        <div class="seg" role="group" aria-label="Kind">
          <button type="button" class={kind === 'once' ? 'on' : ''} aria-pressed={kind === 'once'} onClick={() => setKind('once')} data-kind="once">
            One-off
          </button>
          <button type="button" class={kind === 'weekly' ? 'on' : ''} aria-pressed={kind === 'weekly'} onClick={() => setKind('weekly')} data-kind="weekly">
            Weekly
          </button>
        </div>
        {kind === 'once' ? (
          <div class="row2">
            <label>
              Start <span class="hint">(local time)</span>
              <input type="datetime-local" name="start" value={v.start} onInput={set('start')} required />
              {fe('start')}
            </label>
            <label>
              End
              <input type="datetime-local" name="end" value={v.end} onInput={set('end')} required />
              {fe('end')}
            </label>
          </div>
        ) : (
          <fieldset>
            <legend>Every week</legend>
            <div class="days" role="group" aria-label="Days">
              {days.map((d) => (
                <label class="check day">
                  <input
                    type="checkbox"
                    name="day"
                    value={d}
                    checked={wdays.includes(d)}
                    onChange={(e) => setWdays((e.target as HTMLInputElement).checked ? [...wdays, d] : wdays.filter((x) => x !== d))}
                  />
                  {d[0].toUpperCase() + d.slice(1)}
                </label>
              ))}
            </div>
            {fe('weekly', 'weekly.days')}
            <div class="row3">
              <label>
                At
                <input type="time" name="wstart" value={v.wstart} onInput={set('wstart')} required />
                {fe('weekly.start')}
              </label>
              <label>
                For
                <input name="duration" value={v.duration} onInput={set('duration')} required />
                <small class="hint">2h, 90m; up to 168h</small>
                {fe('weekly.duration')}
              </label>
              <label>
                Time zone
                <input name="timezone" value={v.timezone} onInput={set('timezone')} placeholder="UTC" />
                {fe('weekly.timezone')}
              </label>
            </div>
          </fieldset>
        )}
        <fieldset>
          <legend>Scope</legend>
          <div class="seg" role="group" aria-label="Scope">
            {(
              [
                ['hosts', 'Hosts'],
                ['groups', 'Host groups'],
                ['match', 'Match'],
              ] as const
            ).map(([k, l]) => (
              <button type="button" class={scope === k ? 'on' : ''} aria-pressed={scope === k} onClick={() => setScope(k)} data-scope={k}>
                {l}
              </button>
            ))}
          </div>
          {scope === 'hosts' ? (
            <label>
              Hosts
              <input name="hosts" value={v.hosts} onInput={set('hosts')} list="maint-hosts" placeholder="core-sw1, db1" />
              <small class="hint">host names, as alarms name their component; separated by commas</small>
              <datalist id="maint-hosts">
                {(hosts.data?.items ?? []).map((h) => (
                  <option value={h.name} />
                ))}
              </datalist>
              {fe('hosts')}
            </label>
          ) : scope === 'groups' ? (
            <label>
              Host groups
              <input name="groups" value={v.groups} onInput={set('groups')} list="maint-groups" placeholder="dc1-network" />
              <small class="hint">separated by commas; the hosts in them when the window is applied</small>
              <datalist id="maint-groups">
                {(groups.data?.items ?? []).map((g) => (
                  <option value={g.name} />
                ))}
              </datalist>
              {fe('groups', 'hosts')}
            </label>
          ) : (
            <>
              <p class="hint small">Whole-value regular expressions; an empty field matches every source.</p>
              <div class="row3">
                {(['connector', 'connector_name', 'component'] as const).map((k) => (
                  <label>
                    {k.replace('_', ' ')}
                    <input name={`match-${k}`} class="mono" value={v[k]} onInput={set(k)} placeholder={k === 'component' ? 'web.*' : ''} />
                    {fe('match.' + k)}
                  </label>
                ))}
              </div>
              {fe('hosts', 'match')}
            </>
          )}
        </fieldset>
        {!inline ? <ErrorNote error={err?.message} /> : null}
        <div class="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy} data-testid="save-maintenance">
            Create window
          </button>
        </div>
      </form>
    </Modal>
  )
}
