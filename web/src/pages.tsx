import { useState } from 'preact/hooks'
import { api, can, Change, Host, Overview, Service, User } from './api'
import { AlarmTiles } from './alarms'
import { StateChart } from './chart'
import { HostDashboard, RangePicker, secondsOf, ServiceGraphs, useRange } from './dashboard'
import { ConfirmDelete, HostForm, ServiceForm } from './forms'
import { SnmpPanel } from './snmp'
import { Badge, Empty, ErrorNote, fmtAgo, fmtTime, Link, navigate, useData } from './ui'

const hostStates = ['UP', 'DOWN', 'UNREACHABLE', 'PENDING']
const serviceStates = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN', 'PENDING']

function Tiles(props: { title: string; counts: Record<string, number>; order: string[]; href: (s: string) => string }) {
  const total = props.order.reduce((n, s) => n + (props.counts[s] ?? 0), 0)
  return (
    <section class="tiles-block">
      <h2>
        {props.title} <span class="muted">{total}</span>
      </h2>
      <div class="tiles">
        {props.order.map((s) => (
          <Link href={props.href(s)} class={`tile t-${s.toLowerCase()}${(props.counts[s] ?? 0) === 0 ? ' zero' : ''}`} testid={`tile-${s}`}>
            <span class="n">{props.counts[s] ?? 0}</span>
            <span class="l">{s}</span>
          </Link>
        ))}
      </div>
    </section>
  )
}

export function OverviewPage(props: { user: User }) {
  const { data, error } = useData(() => api<Overview>('GET', '/overview'), [])
  const now = Date.now()
  return (
    <div>
      <div class="page-head">
        <h1>Overview</h1>
      </div>
      <ErrorNote error={error} />
      {data ? (
        <>
          <div class="tiles-row">
            <Tiles title="Hosts" counts={data.hosts} order={hostStates} href={(s) => `/hosts?state=${s}`} />
            <Tiles title="Services" counts={data.services} order={serviceStates} href={(s) => `/services?state=${s}`} />
          </div>
          {can(props.user, 'alarms.read') ? (
            <div class="tiles-row alarms-row">
              <AlarmTiles />
            </div>
          ) : null}
          <section class="card">
            <h2>Current problems</h2>
            {data.host_problems.length === 0 && data.problems.length === 0 ? (
              <Empty>No problems. Everything that is checked is OK.</Empty>
            ) : (
              <table class="grid" data-testid="problems">
                <thead>
                  <tr>
                    <th>State</th>
                    <th>Host</th>
                    <th>Service</th>
                    <th>For</th>
                    <th>Output</th>
                  </tr>
                </thead>
                <tbody>
                  {data.host_problems.map((h) => (
                    <tr>
                      <td>
                        <Badge state={h.state} soft={h.state_type === 'SOFT'} />
                      </td>
                      <td>
                        <Link href={`/hosts/${h.id}`}>{h.name}</Link>
                      </td>
                      <td class="muted">host check</td>
                      <td class="nowrap">{fmtAgo(h.last_state_change, now)}</td>
                      <td class="output">{h.output}</td>
                    </tr>
                  ))}
                  {data.problems.map((s) => (
                    <tr>
                      <td>
                        <Badge state={s.state} unreachable={s.unreachable} flapping={s.flapping} soft={s.state_type === 'SOFT'} />
                      </td>
                      <td>
                        <Link href={`/hosts/${s.host_id}`}>{s.host_name}</Link>
                      </td>
                      <td>
                        <Link href={`/services/${s.id}`}>{s.name}</Link>
                      </td>
                      <td class="nowrap">{fmtAgo(s.last_state_change, now)}</td>
                      <td class="output">{s.output}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        </>
      ) : (
        <div class="loading">Loading…</div>
      )}
    </div>
  )
}

function counts(h: Host) {
  return (
    <span class="mini-counts">
      {serviceStates.map((s) =>
        h.services[s] ? (
          <span class={`mini m-${s.toLowerCase()}`} title={`${h.services[s]} ${s}`}>
            {h.services[s]} {s}
          </span>
        ) : null,
      )}
    </span>
  )
}

export function HostsPage(props: { user: User }) {
  const params = new URLSearchParams(location.search)
  const [search, setSearch] = useState(params.get('search') ?? '')
  const [state, setState] = useState(params.get('state') ?? '')
  const [adding, setAdding] = useState(false)
  const q = new URLSearchParams()
  if (search) q.set('search', search)
  if (state) q.set('state', state)
  q.set('limit', '500')
  const { data, error } = useData(() => api<{ items: Host[] }>('GET', '/hosts?' + q.toString()), [search, state])
  return (
    <div>
      <div class="page-head">
        <h1>Hosts</h1>
        {can(props.user, 'hosts.write') ? (
          <button class="primary" onClick={() => setAdding(true)} data-testid="add-host">
            + Add host
          </button>
        ) : null}
      </div>
      <div class="filters">
        <input type="search" placeholder="Search name, address, notes" value={search} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} aria-label="Search hosts" />
        <select value={state} onChange={(e) => setState((e.target as HTMLSelectElement).value)} aria-label="State">
          <option value="">All states</option>
          {hostStates.map((s) => (
            <option value={s}>{s}</option>
          ))}
        </select>
      </div>
      <ErrorNote error={error} />
      <section class="card flush">
        {data && data.items.length === 0 ? (
          <Empty>{search || state ? 'No host matches.' : 'No hosts yet. Add one to start monitoring.'}</Empty>
        ) : (
          <table class="grid" data-testid="hosts">
            <thead>
              <tr>
                <th>State</th>
                <th>Name</th>
                <th>Address</th>
                <th>Groups</th>
                <th>Services</th>
                <th>Last check</th>
              </tr>
            </thead>
            <tbody>
              {(data?.items ?? []).map((h) => (
                <tr class="clickable" onClick={() => navigate(`/hosts/${h.id}`)}>
                  <td>
                    <Badge state={h.state} soft={h.state_type === 'SOFT'} />
                  </td>
                  <td>
                    <Link href={`/hosts/${h.id}`}>{h.name}</Link>
                  </td>
                  <td class="mono">{h.address || '—'}</td>
                  <td>
                    {h.groups.map((g) => (
                      <span class="chip">{g}</span>
                    ))}
                  </td>
                  <td>{counts(h)}</td>
                  <td class="nowrap">{fmtTime(h.last_check)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {adding ? <HostForm onClose={() => setAdding(false)} onSaved={(h) => navigate(`/hosts/${h.id}`)} /> : null}
    </div>
  )
}

export function ServicesPage() {
  const params = new URLSearchParams(location.search)
  const [state, setState] = useState(params.get('state') ?? '')
  const q = new URLSearchParams({ limit: '1000' })
  if (state) q.set('state', state)
  const { data, error } = useData(() => api<{ items: Service[] }>('GET', '/services?' + q.toString()), [state])
  return (
    <div>
      <div class="page-head">
        <h1>Services</h1>
      </div>
      <div class="filters">
        <select value={state} onChange={(e) => setState((e.target as HTMLSelectElement).value)} aria-label="State">
          <option value="">All states</option>
          {serviceStates.map((s) => (
            <option value={s}>{s}</option>
          ))}
        </select>
      </div>
      <ErrorNote error={error} />
      <section class="card flush">
        {data && data.items.length === 0 ? <Empty>No service matches.</Empty> : <ServiceTable services={data?.items ?? []} showHost />}
      </section>
    </div>
  )
}

function ServiceTable(props: { services: Service[]; showHost?: boolean }) {
  return (
    <table class="grid" data-testid="services">
      <thead>
        <tr>
          <th>State</th>
          {props.showHost ? <th>Host</th> : null}
          <th>Service</th>
          <th>Kind</th>
          <th>Last check</th>
          <th>Output</th>
        </tr>
      </thead>
      <tbody>
        {props.services.map((s) => (
          <tr class="clickable" data-service={s.name} onClick={() => navigate(`/services/${s.id}`)}>
            <td>
              <Badge state={s.state} unreachable={s.unreachable} flapping={s.flapping} soft={s.state_type === 'SOFT'} />
            </td>
            {props.showHost ? (
              <td>
                <Link href={`/hosts/${s.host_id}`}>{s.host_name}</Link>
              </td>
            ) : null}
            <td>
              <Link href={`/services/${s.id}`}>{s.name}</Link>
              {s.template ? (
                <span class="chip chip-group" title="Made by the host group's SNMP template" data-testid="template-chip">
                  {s.template.replace(/\/discovery$/, '')}
                </span>
              ) : null}
            </td>
            <td class="mono">{s.check.kind}</td>
            <td class="nowrap">{fmtTime(s.last_check)}</td>
            <td class="output">{s.output}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

export function HostPage(props: { id: string; user: User }) {
  const host = useData(() => api<Host>('GET', `/hosts/${props.id}`), [props.id])
  const svcs = useData(() => api<{ items: Service[] }>('GET', `/hosts/${props.id}/services?limit=1000`), [props.id])
  const [dialog, setDialog] = useState<'' | 'edit' | 'delete' | 'add'>('')
  const h = host.data
  const admin = can(props.user, 'hosts.write')
  const managed = h?.source === 'config'
  if (host.error) return <ErrorNote error={host.error} />
  if (!h) return <div class="loading">Loading…</div>
  return (
    <div>
      <div class="crumbs">
        <Link href="/hosts">Hosts</Link> / {h.name}
      </div>
      <div class="page-head">
        <h1>
          {h.name} <Badge state={h.state} soft={h.state_type === 'SOFT'} />
        </h1>
        {!managed ? (
          <div class="buttons">
            {can(props.user, 'services.write') ? (
              <button class="primary" onClick={() => setDialog('add')} data-testid="add-service">
                + Add service
              </button>
            ) : null}
            {admin ? (
              <>
                <button onClick={() => setDialog('edit')} data-testid="edit-host">
                  Edit
                </button>
                <button class="danger" onClick={() => setDialog('delete')} data-testid="delete-host">
                  Delete
                </button>
              </>
            ) : null}
          </div>
        ) : null}
      </div>
      {managed ? <div class="note">This host comes from the configuration file; edit the file to change it.</div> : null}
      <section class="card facts">
        <dl>
          <dt>Address</dt>
          <dd class="mono">{h.address || '—'}</dd>
          <dt>Host check</dt>
          <dd>{h.check?.kind ?? (h.address ? 'icmp (default)' : 'none')}</dd>
          <dt>Output</dt>
          <dd class="output">{h.output || '—'}</dd>
          <dt>Last check</dt>
          <dd>{fmtTime(h.last_check)}</dd>
          <dt>Groups</dt>
          <dd>{h.groups.length ? h.groups.map((g) => <span class="chip">{g}</span>) : '—'}</dd>
          <dt>Domain / location</dt>
          <dd>
            {h.domain || '—'} / {h.location || '—'}
          </dd>
          {h.notes ? (
            <>
              <dt>Notes</dt>
              <dd>{h.notes}</dd>
            </>
          ) : null}
        </dl>
      </section>
      <section class="card flush">
        <h2 class="pad">Services</h2>
        {svcs.data && svcs.data.items.length === 0 ? <Empty>No services on this host yet.</Empty> : <ServiceTable services={svcs.data?.items ?? []} />}
      </section>
      {h.address && (h.snmp || can(props.user, 'hosts.write') || (svcs.data?.items ?? []).some((s) => s.check.kind.startsWith('snmp'))) ? (
        <SnmpPanel key={h.id} host={h} services={svcs.data?.items ?? []} user={props.user} onChanged={() => (host.reload(), svcs.reload())} />
      ) : null}
      {can(props.user, 'metrics.read') ? <HostDashboard hostId={h.id} hostName={h.name} /> : null}
      {dialog === 'edit' ? <HostForm host={h} onClose={() => setDialog('')} onSaved={() => (setDialog(''), host.reload())} /> : null}
      {dialog === 'add' ? <ServiceForm host={h} onClose={() => setDialog('')} onSaved={() => (setDialog(''), svcs.reload())} /> : null}
      {dialog === 'delete' ? (
        <ConfirmDelete
          what={`host ${h.name} and its services`}
          onClose={() => setDialog('')}
          onConfirm={async () => {
            await api('DELETE', `/hosts/${h.id}`)
            navigate('/hosts')
          }}
        />
      ) : null}
    </div>
  )
}

export function ServicePage(props: { id: string; user: User }) {
  const svc = useData(() => api<Service>('GET', `/services/${props.id}`), [props.id])
  const s = svc.data
  const host = useData(() => (s ? api<Host>('GET', `/hosts/${s.host_id}`) : Promise.resolve(undefined)), [s?.host_id])
  const [range, setRange] = useRange()
  const span = secondsOf(range)
  const to = Math.floor(Date.now() / 1000)
  const from = to - span
  const hist = useData(
    () => api<{ items: Change[] }>('GET', `/services/${props.id}/history?from=${new Date(from * 1000).toISOString().replace(/\.\d+Z$/, 'Z')}&limit=1000`),
    [props.id, span],
  )
  const [dialog, setDialog] = useState<'' | 'edit' | 'delete'>('')
  if (svc.error) return <ErrorNote error={svc.error} />
  if (!s) return <div class="loading">Loading…</div>
  const admin = can(props.user, 'services.write')
  const runChecks = can(props.user, 'checks.run')
  // The YAML files or a host group's SNMP template own these: edit them there.
  const managed = s.source === 'config' || s.source === 'template'
  return (
    <div>
      <div class="crumbs">
        <Link href="/hosts">Hosts</Link> / <Link href={`/hosts/${s.host_id}`}>{s.host_name}</Link> / {s.name}
      </div>
      <div class="page-head">
        <h1>
          {s.name} <Badge state={s.state} unreachable={s.unreachable} flapping={s.flapping} soft={s.state_type === 'SOFT'} />
        </h1>
        <div class="buttons">
          {runChecks ? (
            <button onClick={() => api('POST', `/services/${s.id}/check`).then(() => svc.reload())} data-testid="check-now">
              Check now
            </button>
          ) : null}
          {admin && !managed ? (
            <>
              <button onClick={() => setDialog('edit')} data-testid="edit-service">
                Edit
              </button>
              <button class="danger" onClick={() => setDialog('delete')} data-testid="delete-service">
                Delete
              </button>
            </>
          ) : null}
        </div>
      </div>
      {s.template ? (
        <div class="note" data-testid="template-note">
          This service comes from the SNMP template of host group {s.template.replace(/\/discovery$/, '')}; edit the template on the{' '}
          <Link href="/hostgroups">Groups</Link> page to change it.
        </div>
      ) : null}
      <section class="card facts">
        <dl>
          <dt>Output</dt>
          <dd class="output" data-testid="service-output">
            {s.output || '—'}
          </dd>
          {s.long_output ? (
            <>
              <dt>Details</dt>
              <dd>
                <pre>{s.long_output}</pre>
              </dd>
            </>
          ) : null}
          <dt>State</dt>
          <dd>
            {s.state_type ? `${s.state_type}, attempt ${s.attempt}/${s.max_attempts}` : 'waiting for the first check'}
            {s.last_state_change ? `, since ${fmtTime(s.last_state_change)} (${fmtAgo(s.last_state_change)})` : ''}
          </dd>
          <dt>Check</dt>
          <dd class="mono">
            {Object.entries(s.check)
              .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`)
              .join('  ')}
          </dd>
          <dt>Schedule</dt>
          <dd>
            every {s.interval}, retry every {s.retry_interval}, timeout {s.timeout}
          </dd>
          <dt>Last / next check</dt>
          <dd>
            {fmtTime(s.last_check)} / {fmtTime(s.next_check)}
            {s.last_check ? <span class="muted"> ({s.duration_seconds.toFixed(3)} s)</span> : null}
          </dd>
          {s.flapping || s.percent_state_change > 0 ? (
            <>
              <dt>State change</dt>
              <dd>{s.percent_state_change.toFixed(1)}% over the last 21 results</dd>
            </>
          ) : null}
        </dl>
      </section>
      {s.perfdata.length ? (
        <section class="card flush">
          <h2 class="pad">Performance data</h2>
          <table class="grid">
            <thead>
              <tr>
                <th>Metric</th>
                <th class="num">Value</th>
                <th>Warning</th>
                <th>Critical</th>
                <th>Min / max</th>
              </tr>
            </thead>
            <tbody>
              {s.perfdata.map((p) => (
                <tr>
                  <td class="mono">{p.label}</td>
                  <td class="num mono">
                    {p.value}
                    {p.unit ?? ''}
                  </td>
                  <td class="mono">{p.warn ?? ''}</td>
                  <td class="mono">{p.crit ?? ''}</td>
                  <td class="mono">{p.min !== undefined || p.max !== undefined ? `${p.min ?? '—'} / ${p.max ?? '—'}` : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
      {can(props.user, 'metrics.read') ? (
        <section class="card">
          <div class="card-head">
            <h2>Graphs</h2>
            <RangePicker range={range} onChange={setRange} />
          </div>
          <ServiceGraphs hostId={s.host_id} hostName={s.host_name} service={s.name} range={range} />
        </section>
      ) : null}
      <section class="card">
        <div class="card-head">
          <h2>State history</h2>
          {can(props.user, 'metrics.read') ? <span class="muted small">last {range}</span> : <RangePicker range={range} onChange={setRange} />}
        </div>
        {hist.data ? <StateChart changes={hist.data.items} from={from} to={to} /> : null}
        <table class="grid compact" data-testid="history">
          <thead>
            <tr>
              <th>State</th>
              <th>From</th>
              <th>To</th>
              <th>Output</th>
            </tr>
          </thead>
          <tbody>
            {(hist.data?.items ?? []).slice(0, 50).map((c) => (
              <tr>
                <td>
                  <Badge state={c.state} soft={c.state_type === 'SOFT'} />
                </td>
                <td class="nowrap">{fmtTime(c.start)}</td>
                <td class="nowrap">{c.end ? fmtTime(c.end) : 'now'}</td>
                <td class="output">{c.output}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {dialog === 'edit' && host.data ? <ServiceForm host={host.data} service={s} onClose={() => setDialog('')} onSaved={() => (setDialog(''), svc.reload())} /> : null}
      {dialog === 'delete' ? (
        <ConfirmDelete
          what={`service ${s.name}`}
          onClose={() => setDialog('')}
          onConfirm={async () => {
            await api('DELETE', `/services/${s.id}`)
            navigate(`/hosts/${s.host_id}`)
          }}
        />
      ) : null}
    </div>
  )
}

export function LoginPage(props: { onLogin: (u: User, csrf: string) => void }) {
  const [login, setLogin] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState('')
  const [busy, setBusy] = useState(false)
  const submit = async (e: Event) => {
    e.preventDefault()
    setBusy(true)
    setError('')
    try {
      const me = await api<{ user: User; permissions: string[]; csrf_token: string }>('POST', '/login', { login, password })
      props.onLogin({ ...me.user, permissions: me.permissions }, me.csrf_token)
    } catch (err) {
      setError((err as Error).message)
    } finally {
      setBusy(false)
    }
  }
  return (
    <div class="login">
      <form onSubmit={submit} class="form card" data-testid="login-form">
        <div class="brand big">
          <span class="logo" /> vigie
        </div>
        <label>
          Login
          <input name="login" value={login} onInput={(e) => setLogin((e.target as HTMLInputElement).value)} autoFocus required autoComplete="username" />
        </label>
        <label>
          Password
          <input name="password" type="password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} required autoComplete="current-password" />
        </label>
        <ErrorNote error={error} />
        <button type="submit" class="primary" disabled={busy}>
          Sign in
        </button>
      </form>
    </div>
  )
}

export function ActivatePage() {
  const token = new URLSearchParams(location.search).get('token') ?? ''
  const [password, setPassword] = useState('')
  const [again, setAgain] = useState('')
  const [error, setError] = useState('')
  const [done, setDone] = useState(false)
  const submit = async (e: Event) => {
    e.preventDefault()
    if (password !== again) {
      setError('The two passwords differ.')
      return
    }
    try {
      await api('POST', '/activate', { token, password })
      setDone(true)
    } catch (err) {
      setError((err as Error).message)
    }
  }
  return (
    <div class="login">
      <form onSubmit={submit} class="form card" data-testid="activate-form">
        <div class="brand big">
          <span class="logo" /> vigie
        </div>
        {done ? (
          <>
            <p>Your password is set.</p>
            <button type="button" class="primary" onClick={() => (location.href = '/')}>
              Sign in
            </button>
          </>
        ) : (
          <>
            <p class="muted">Choose your password (at least 8 characters).</p>
            <label>
              Password
              <input name="password" type="password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} required autoComplete="new-password" />
            </label>
            <label>
              Again
              <input name="again" type="password" value={again} onInput={(e) => setAgain((e.target as HTMLInputElement).value)} required autoComplete="new-password" />
            </label>
            <ErrorNote error={error} />
            <button type="submit" class="primary">
              Set password
            </button>
          </>
        )}
      </form>
    </div>
  )
}
