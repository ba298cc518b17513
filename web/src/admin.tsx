import { useState } from 'preact/hooks'
import { api, APIError, User } from './api'
import { Badge, Empty, ErrorNote, fmtTime, Modal, useData } from './ui'

type UserRow = User & { teams: string[]; domains: string[]; disabled: boolean; created_at: string }
type Role = { name: string; permissions: string[]; builtin: boolean }
type Audit = { id: number; at: string; user: string; role: string; action: string; object: string; remote_addr: string; outcome: string; detail?: string }
type Session = { id: number; remote_addr: string; user_agent: string; created_at: string; last_seen: string; current: boolean }

const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean)

function UserForm(props: { user?: UserRow; roles: Role[]; onClose: () => void; onSaved: (link?: string) => void }) {
  const u = props.user
  const [v, setV] = useState({ login: u?.login ?? '', role: u?.role ?? 'viewer', teams: (u?.teams ?? []).join(', '), domains: (u?.domains ?? []).join(', '), password: '' })
  const [err, setErr] = useState<APIError>()
  const set = (k: string) => (e: Event) => setV({ ...v, [k]: (e.target as HTMLInputElement).value })
  const save = async (e: Event) => {
    e.preventDefault()
    const body: Record<string, unknown> = { login: v.login.trim(), role: v.role, teams: list(v.teams), domains: list(v.domains) }
    if (v.password) body.password = v.password
    try {
      const r = u ? await api<{ activation_url?: string }>('PATCH', `/users/${u.id}`, body) : await api<{ activation_url?: string }>('POST', '/users', body)
      props.onSaved(r.activation_url)
    } catch (x) {
      setErr(x as APIError)
    }
  }
  return (
    <Modal title={u ? `Edit user ${u.login}` : 'Add user'} onClose={props.onClose}>
      <form class="form" onSubmit={save} data-testid="user-form">
        <div class="row2">
          <label>
            Login
            <input name="login" value={v.login} onInput={set('login')} required autoFocus />
          </label>
          <label>
            Role
            <select name="role" value={v.role} onChange={set('role')}>
              {props.roles.map((r) => (
                <option value={r.name}>{r.name}</option>
              ))}
            </select>
          </label>
        </div>
        <div class="row2">
          <label>
            Teams
            <input name="teams" value={v.teams} onInput={set('teams')} placeholder="noc, network" />
          </label>
          <label>
            Domains
            <input name="domains" value={v.domains} onInput={set('domains')} placeholder="empty: every domain" />
          </label>
        </div>
        <label>
          {u ? 'New password' : 'Password'}
          <input name="password" type="password" value={v.password} onInput={set('password')} autoComplete="new-password" placeholder={u ? 'leave empty to keep' : 'leave empty to send an activation link'} />
        </label>
        <ErrorNote error={err?.message} />
        <div class="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" data-testid="save-user">
            {u ? 'Save' : 'Add user'}
          </button>
        </div>
      </form>
    </Modal>
  )
}

export function UsersPage(props: { me: User }) {
  const users = useData(() => api<{ items: UserRow[] }>('GET', '/users'), [])
  const roles = useData(() => api<{ items: Role[] }>('GET', '/roles'), [])
  const locks = useData(() => api<{ items: { key: string; until: string }[] }>('GET', '/lockouts'), [])
  const [editing, setEditing] = useState<UserRow | null | undefined>(undefined)
  const [link, setLink] = useState('')
  const [error, setError] = useState('')
  const act = (f: () => Promise<unknown>) => f().then(users.reload, (e) => setError(e.message))
  return (
    <div>
      <div class="page-head">
        <h1>Users</h1>
        <button class="primary" onClick={() => setEditing(null)} data-testid="add-user">
          + Add user
        </button>
      </div>
      <ErrorNote error={users.error || error} />
      {link ? (
        <div class="note" data-testid="activation-link">
          Activation link (shown once; send it to the person): <span class="mono">{location.origin + link}</span>
        </div>
      ) : null}
      <section class="card flush">
        <table class="grid" data-testid="users">
          <thead>
            <tr>
              <th>Login</th>
              <th>Role</th>
              <th>Teams</th>
              <th>Domains</th>
              <th>Status</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(users.data?.items ?? []).map((u) => (
              <tr>
                <td>{u.login}</td>
                <td>
                  <span class="chip">{u.role}</span>
                </td>
                <td>{u.teams.join(', ') || '—'}</td>
                <td>{u.domains.join(', ') || 'all'}</td>
                <td>{u.disabled ? <Badge state="DISABLED" /> : <Badge state="ACTIVE" />}</td>
                <td class="buttons">
                  <button onClick={() => setEditing(u)}>Edit</button>
                  {u.id !== props.me.id ? (
                    <>
                      <button onClick={() => act(() => api('PATCH', `/users/${u.id}`, { disabled: !u.disabled }))}>{u.disabled ? 'Enable' : 'Disable'}</button>
                      <button class="danger" onClick={() => confirm(`Delete user ${u.login}?`) && act(() => api('DELETE', `/users/${u.id}`))}>
                        Delete
                      </button>
                    </>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {locks.data && locks.data.items.length > 0 ? (
        <section class="card flush">
          <h2 class="pad">Locked out after failed sign-ins</h2>
          <table class="grid compact" data-testid="lockouts">
            <tbody>
              {locks.data.items.map((l) => (
                <tr>
                  <td class="mono">{l.key}</td>
                  <td>until {fmtTime(l.until)}</td>
                  <td class="buttons">
                    <button onClick={() => act(() => api('DELETE', `/lockouts/${encodeURIComponent(l.key)}`)).then(locks.reload)}>Lift</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
      <section class="card flush">
        <h2 class="pad">Roles</h2>
        <table class="grid compact">
          <tbody>
            {(roles.data?.items ?? []).map((r) => (
              <tr>
                <td class="nowrap">
                  <span class="chip">{r.name}</span>
                </td>
                <td class="mono">{r.permissions.join('  ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {editing !== undefined && roles.data ? (
        <UserForm
          user={editing ?? undefined}
          roles={roles.data.items}
          onClose={() => setEditing(undefined)}
          onSaved={(l) => {
            setEditing(undefined)
            setLink(l ?? '')
            users.reload()
          }}
        />
      ) : null}
    </div>
  )
}

export function AuditPage() {
  const [user, setUser] = useState('')
  const [action, setAction] = useState('')
  const q = new URLSearchParams({ limit: '200' })
  if (user) q.set('user', user)
  if (action) q.set('action', action)
  const { data, error } = useData(() => api<{ items: Audit[] }>('GET', '/audit?' + q.toString()), [user, action])
  return (
    <div>
      <div class="page-head">
        <h1>Audit</h1>
      </div>
      <div class="filters">
        <input type="search" placeholder="User" value={user} onInput={(e) => setUser((e.target as HTMLInputElement).value)} aria-label="User" />
        <input type="search" placeholder="Action starts with (login, POST …)" value={action} onInput={(e) => setAction((e.target as HTMLInputElement).value)} aria-label="Action" />
      </div>
      <ErrorNote error={error} />
      <section class="card flush">
        {data && data.items.length === 0 ? (
          <Empty>Nothing recorded.</Empty>
        ) : (
          <table class="grid compact" data-testid="audit">
            <thead>
              <tr>
                <th>When</th>
                <th>User</th>
                <th>Action</th>
                <th>Object</th>
                <th>From</th>
                <th>Outcome</th>
                <th>Detail</th>
              </tr>
            </thead>
            <tbody>
              {(data?.items ?? []).map((a) => (
                <tr>
                  <td class="nowrap">{fmtTime(a.at)}</td>
                  <td>
                    {a.user} {a.role ? <span class="muted">({a.role})</span> : null}
                  </td>
                  <td class="mono">{a.action}</td>
                  <td class="mono">{a.object}</td>
                  <td class="mono">{a.remote_addr}</td>
                  <td>
                    <span class={`outcome ${/^(ok|2\d\d)$/.test(a.outcome) ? 'good' : 'bad'}`}>{a.outcome}</span>
                  </td>
                  <td class="mono output">{a.detail}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  )
}

export function AccountPage(props: { me: User }) {
  const sessions = useData(() => api<{ items: Session[] }>('GET', '/sessions'), [])
  const [pw, setPw] = useState({ current_password: '', new_password: '' })
  const [msg, setMsg] = useState('')
  const [err, setErr] = useState('')
  const change = async (e: Event) => {
    e.preventDefault()
    setMsg('')
    setErr('')
    try {
      await api('POST', '/me/password', pw)
      setMsg('Password changed; your other sessions were ended.')
      setPw({ current_password: '', new_password: '' })
      sessions.reload()
    } catch (x) {
      setErr((x as Error).message)
    }
  }
  return (
    <div>
      <div class="page-head">
        <h1>Account: {props.me.login}</h1>
      </div>
      <section class="card flush">
        <h2 class="pad">Sessions</h2>
        <table class="grid" data-testid="sessions">
          <thead>
            <tr>
              <th>From</th>
              <th>Browser</th>
              <th>Signed in</th>
              <th>Last seen</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(sessions.data?.items ?? []).map((s) => (
              <tr>
                <td class="mono">{s.remote_addr}</td>
                <td class="output">{s.user_agent}</td>
                <td class="nowrap">{fmtTime(s.created_at)}</td>
                <td class="nowrap">{fmtTime(s.last_seen)}</td>
                <td>{s.current ? <span class="chip">this session</span> : <button onClick={() => api('DELETE', `/sessions/${s.id}`).then(sessions.reload)}>End</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section class="card">
        <h2>Change password</h2>
        <form class="form narrow" onSubmit={change}>
          <label>
            Current password
            <input type="password" value={pw.current_password} onInput={(e) => setPw({ ...pw, current_password: (e.target as HTMLInputElement).value })} required autoComplete="current-password" />
          </label>
          <label>
            New password
            <input type="password" value={pw.new_password} onInput={(e) => setPw({ ...pw, new_password: (e.target as HTMLInputElement).value })} required autoComplete="new-password" />
          </label>
          <ErrorNote error={err} />
          {msg ? <div class="note">{msg}</div> : null}
          <div>
            <button type="submit" class="primary">
              Change password
            </button>
          </div>
        </form>
      </section>
    </div>
  )
}
