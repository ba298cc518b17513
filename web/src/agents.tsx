// Agents: the vigie-agent tokens (permission agents.manage, admin only).
// The list says which host each token reports as and whether its agent is
// heard from; a new token is shown once with the command to run the agent;
// the desired configuration is pushed from here; a token is revoked with a
// confirmation.
import { useEffect, useState } from 'preact/hooks'
import { api, APIError, can, User } from './api'
import { Empty, ErrorNote, fmtAgo, fmtTime, Link, Modal, useData } from './ui'
import './extra.css'

export type AgentConfig = { version: number; interval?: string; collect?: string[] }
export type AgentToken = {
  id: number
  name: string
  host_id?: number
  host?: string
  created_at: string
  last_seen?: string
  interval?: string
  version?: string
  config: AgentConfig
  token?: string
}

// The agent's built-in collectors (internal/agent/config.go, Collectors).
const collectors = ['cpu', 'load', 'memory', 'swap', 'filesystems', 'disks', 'network', 'processes', 'uptime']

// seconds of a Go duration ("10s", "1m30s").
function durSeconds(d?: string): number {
  let s = 0
  for (const [, n, u] of (d ?? '').matchAll(/([\d.]+)(h|m(?!s)|s|ms)/g)) s += Number(n) * ({ h: 3600, m: 60, s: 1, ms: 0.001 }[u] ?? 0)
  return s
}

export type Liveness = 'heard' | 'silent' | 'waiting'

// liveness reckons as the server does: silent after 3 of its intervals
// without contact (README, "Liveness").
export function liveness(a: AgentToken, now = Date.now()): Liveness {
  if (!a.host_id || !a.last_seen) return 'waiting'
  const every = durSeconds(a.interval) || durSeconds(a.config?.interval) || 10
  return now - new Date(a.last_seen).getTime() > 3 * every * 1000 ? 'silent' : 'heard'
}

const liveText: Record<Liveness, string> = { heard: 'HEARD', silent: 'SILENT', waiting: 'NOT ENROLLED' }
const liveTitle: Record<Liveness, string> = {
  heard: 'The agent sent something within 3 of its intervals',
  silent: 'No word from the agent for 3 of its intervals: its host is UNREACHABLE',
  waiting: 'No agent has enrolled with this token yet',
}
const liveClass: Record<Liveness, string> = { heard: 's-ok', silent: 's-critical', waiting: 's-pending' }

function LiveBadge(props: { l: Liveness }) {
  return (
    <span class={`badge ${liveClass[props.l]}`} data-live={props.l} title={liveTitle[props.l]}>
      {liveText[props.l]}
    </span>
  )
}

function ConfigText(props: { c?: AgentConfig }) {
  const c = props.c
  if (!c || !c.version) return <span class="muted">the agent's own</span>
  return (
    <span data-testid="desired">
      {c.interval ? <span class="chip">every {c.interval}</span> : null}
      {c.collect?.length ? <span class="mono small">{c.collect.join(', ')}</span> : <span class="muted small">all collectors</span>}
      <span class="muted small" title="Version of the desired configuration: it grows with each push"> · rev {c.version}</span>
    </span>
  )
}

export function AgentsPage(props: { user: User }) {
  const manage = can(props.user, 'agents.manage')
  const { data, error, reload } = useData(() => api<{ items: AgentToken[] }>('GET', '/agent-tokens'), [])
  const [creating, setCreating] = useState(false)
  const [created, setCreated] = useState<AgentToken>()
  const [editing, setEditing] = useState<AgentToken>()
  const [revoking, setRevoking] = useState<AgentToken>()
  // Liveness moves with the clock; agents are not in the live stream.
  const [now, setNow] = useState(Date.now())
  useEffect(() => {
    const t = setInterval(() => {
      setNow(Date.now())
      reload()
    }, 10000)
    return () => clearInterval(t)
  }, [])
  const items = data?.items ?? []
  const silent = items.filter((a) => liveness(a, now) === 'silent').length
  return (
    <div class="agents-page">
      <div class="page-head">
        <h1>
          Agents{' '}
          <span class="muted small-count" data-testid="agents-count">
            {data ? `${items.length} token${items.length === 1 ? '' : 's'}${silent ? `, ${silent} silent` : ''}` : ''}
          </span>
        </h1>
        <div class="buttons">
          {manage ? (
            <button class="primary" onClick={() => setCreating(true)} data-testid="new-agent-token">
              New agent token
            </button>
          ) : null}
        </div>
      </div>
      <p class="lede">
        A token lets one <span class="mono">vigie-agent</span> enrol: it creates or joins the host of its name and stays bound to it. Secrets are shown once, when made.
      </p>
      <ErrorNote error={error} />
      <section class="card flush">
        {data && items.length === 0 ? (
          <Empty>No agent token yet.</Empty>
        ) : data ? (
          <table class="grid" data-testid="agent-tokens">
            <thead>
              <tr>
                <th>Agent</th>
                <th>Name</th>
                <th>Host</th>
                <th>Last contact</th>
                <th>Desired config</th>
                <th>Reports</th>
                <th>Created</th>
                {manage ? <th /> : null}
              </tr>
            </thead>
            <tbody>
              {items.map((a) => {
                const l = liveness(a, now)
                return (
                  <tr data-testid="agent-row" data-name={a.name} data-live={l}>
                    <td>
                      <LiveBadge l={l} />
                    </td>
                    <td class="strong">{a.name}</td>
                    <td data-testid="agent-host">
                      {a.host_id ? <Link href={`/hosts/${a.host_id}`}>{a.host}</Link> : <span class="muted">not enrolled</span>}
                    </td>
                    <td class="nowrap" title={a.last_seen ? new Date(a.last_seen).toLocaleString() : undefined}>
                      {a.last_seen ? `${fmtAgo(a.last_seen, now)} ago` : <span class="muted">never</span>}
                    </td>
                    <td>
                      <ConfigText c={a.config} />
                    </td>
                    <td class="nowrap small">
                      {a.interval ? `every ${a.interval}` : <span class="muted">—</span>}
                      {a.version ? <span class="muted" title="vigie-agent version"> · agent {a.version}</span> : null}
                    </td>
                    <td class="nowrap" title={new Date(a.created_at).toLocaleString()}>
                      {fmtTime(a.created_at)}
                    </td>
                    {manage ? (
                      <td class="row-actions">
                        <span class="buttons">
                          <button onClick={() => setEditing(a)} data-testid="push-config">
                            Config…
                          </button>
                          <button class="danger" onClick={() => setRevoking(a)} data-testid="revoke-token">
                            Revoke
                          </button>
                        </span>
                      </td>
                    ) : null}
                  </tr>
                )
              })}
            </tbody>
          </table>
        ) : null}
        {!data && !error ? <div class="loading">Loading…</div> : null}
      </section>
      {creating ? (
        <NewTokenForm
          onClose={() => setCreating(false)}
          onCreated={(t) => {
            setCreating(false)
            setCreated(t)
            reload()
          }}
        />
      ) : null}
      {created ? <TokenShown t={created} onClose={() => setCreated(undefined)} /> : null}
      {editing ? <ConfigForm a={editing} onClose={() => setEditing(undefined)} onSaved={() => (setEditing(undefined), reload())} /> : null}
      {revoking ? <RevokeToken a={revoking} onClose={() => setRevoking(undefined)} onDone={() => (setRevoking(undefined), reload())} /> : null}
    </div>
  )
}

// configField says which field of the config form an API error belongs to:
// the server names "config" and starts its message with the key.
function configField(err?: APIError): 'interval' | 'collect' | undefined {
  if (!err) return undefined
  const m = bare(err)
  if (err.field === 'interval' || m.startsWith('interval') || /duration/i.test(m)) return 'interval'
  if (err.field === 'collect' || m.startsWith('collect')) return 'collect'
  return undefined
}

// bare is the message without the field names the server puts first
// ("config: interval: must be…" → "must be…" beside the interval).
function bare(err: APIError): string {
  return err.message.replace(/^config: /, '')
}

function FieldError(props: { err?: APIError; at: string }) {
  if (!props.err) return null
  return (
    <div class="field-error" data-error-for={props.at}>
      {bare(props.err).replace(/^(interval|collect): /, '')}
    </div>
  )
}

// ConfigFields edits an interval and a set of collectors; none ticked
// means every collector.
function ConfigFields(props: { interval: string; collect: string[]; setInterval: (s: string) => void; setCollect: (c: string[]) => void; err?: APIError }) {
  const at = configField(props.err)
  return (
    <>
      <label>
        Interval
        <input name="interval" class="mono" value={props.interval} onInput={(e) => props.setInterval((e.target as HTMLInputElement).value)} placeholder="the agent's own (10s)" />
        <small class="hint">1s to 1h, e.g. 10s, 1m; empty keeps the agent's</small>
        {at === 'interval' ? <FieldError err={props.err} at="interval" /> : null}
      </label>
      <fieldset>
        <legend>Collectors</legend>
        <div class="days" role="group" aria-label="Collectors">
          {collectors.map((c) => (
            <label class="check day">
              <input
                type="checkbox"
                name="collect"
                value={c}
                checked={props.collect.includes(c)}
                onChange={(e) => props.setCollect((e.target as HTMLInputElement).checked ? [...props.collect, c] : props.collect.filter((x) => x !== c))}
              />
              {c}
            </label>
          ))}
        </div>
        <small class="hint">none ticked: every collector</small>
        {at === 'collect' ? <FieldError err={props.err} at="collect" /> : null}
      </fieldset>
    </>
  )
}

function configBody(interval: string, collect: string[]): Record<string, unknown> {
  const b: Record<string, unknown> = {}
  if (interval.trim()) b.interval = interval.trim()
  if (collect.length) b.collect = collectors.filter((c) => collect.includes(c))
  return b
}

function NewTokenForm(props: { onClose: () => void; onCreated: (t: AgentToken) => void }) {
  const [name, setName] = useState('')
  const [interval, setIv] = useState('')
  const [collect, setCollect] = useState<string[]>([])
  const [err, setErr] = useState<APIError>()
  const [busy, setBusy] = useState(false)
  const save = async (e: Event) => {
    e.preventDefault()
    const body: Record<string, unknown> = { name: name.trim() }
    const c = configBody(interval, collect)
    if (Object.keys(c).length) body.config = c
    setBusy(true)
    try {
      props.onCreated(await api<AgentToken>('POST', '/agent-tokens', body))
    } catch (x) {
      setErr(x instanceof APIError ? x : new APIError(0, 'error', String(x)))
    } finally {
      setBusy(false)
    }
  }
  const inline = err?.field === 'name' || !!configField(err)
  return (
    <Modal title="New agent token" onClose={props.onClose}>
      <form class="form" onSubmit={save} data-testid="agent-token-form">
        <label>
          Name
          <input name="name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} required autoFocus placeholder="web-01" />
          <small class="hint">usually the host's name; tagged on the host it creates</small>
          {err?.field === 'name' ? <div class="field-error" data-error-for="name">{err.message}</div> : null}
        </label>
        <p class="hint small">Desired configuration (optional): sent to the agent when it enrols.</p>
        <ConfigFields interval={interval} collect={collect} setInterval={setIv} setCollect={setCollect} err={err} />
        {!inline ? <ErrorNote error={err?.message} /> : null}
        <div class="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy} data-testid="create-agent-token">
            Create token
          </button>
        </div>
      </form>
    </Modal>
  )
}

function CopyBox(props: { text: string; testid: string; multiline?: boolean }) {
  const [copied, setCopied] = useState(false)
  const copy = async (e: Event) => {
    const box = (e.currentTarget as HTMLElement).parentElement?.querySelector('textarea, input') as HTMLInputElement | null
    try {
      await navigator.clipboard.writeText(props.text)
    } catch {
      box?.select()
      document.execCommand('copy')
    }
    setCopied(true)
    setTimeout(() => setCopied(false), 2000)
  }
  return (
    <div class="copybox">
      {props.multiline ? (
        <textarea readOnly class="mono" wrap="off" rows={props.text.split('\n').length + 1} value={props.text} data-testid={props.testid} onFocus={(e) => (e.target as HTMLTextAreaElement).select()} />
      ) : (
        <input readOnly class="mono" value={props.text} data-testid={props.testid} onFocus={(e) => (e.target as HTMLInputElement).select()} />
      )}
      <button type="button" onClick={copy} data-testid={props.testid + '-copy'}>
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  )
}

function TokenShown(props: { t: AgentToken; onClose: () => void }) {
  const tok = props.t.token ?? ''
  const origin = location.origin
  // Short lines (a here-document, a continued command): nothing to
  // scroll sideways, and plain sh.
  const install = `install -d -m 0755 /etc/vigie
install -m 0600 /dev/stdin /etc/vigie/agent.token <<'EOF'
${tok}
EOF
vigie-agent --server ${origin} \\
  --token-file /etc/vigie/agent.token`
  return (
    <Modal title={`Agent token ${props.t.name}`} onClose={props.onClose}>
      <div class="form token-shown" data-testid="token-shown">
        <div class="once-note" role="note">
          <b>Shown once.</b> Copy it now: vigie keeps only its hash, and this page will not show it again. Lost, it is revoked and made anew.
        </div>
        <label>
          Token
          <CopyBox text={tok} testid="new-token" />
        </label>
        <label>
          On the host <small class="hint">(the token in a file of mode 0600, then the agent)</small>
          <CopyBox text={install} testid="install-command" multiline />
        </label>
        <p class="hint small">
          As a service: put the file in <span class="mono">/etc/vigie/agent.token</span>, install <span class="mono">packaging/vigie-agent.service</span> (it hands the token over as a
          systemd credential, <span class="mono">--token-file %d/agent.token</span>) and <span class="mono">systemctl enable --now vigie-agent</span>. <span class="mono">--token {'<token>'}</span> works too, but shows
          in <span class="mono">ps</span>.
        </p>
        <div class="actions">
          <button class="primary" onClick={props.onClose} data-testid="token-done">
            I have copied it
          </button>
        </div>
      </div>
    </Modal>
  )
}

function ConfigForm(props: { a: AgentToken; onClose: () => void; onSaved: () => void }) {
  const [interval, setIv] = useState(props.a.config?.interval ?? '')
  const [collect, setCollect] = useState<string[]>(props.a.config?.collect ?? [])
  const [err, setErr] = useState<APIError>()
  const [busy, setBusy] = useState(false)
  const save = async (e: Event) => {
    e.preventDefault()
    setBusy(true)
    try {
      await api('PUT', `/agent-tokens/${props.a.id}/config`, configBody(interval, collect))
      props.onSaved()
    } catch (x) {
      setErr(x instanceof APIError ? x : new APIError(0, 'error', String(x)))
    } finally {
      setBusy(false)
    }
  }
  return (
    <Modal title={`Configuration of ${props.a.name}`} onClose={props.onClose}>
      <form class="form" onSubmit={save} data-testid="agent-config-form">
        <p class="hint small">
          The agent{props.a.host ? ` on ${props.a.host}` : ''} applies it with the answer to its next push
          {props.a.config?.version ? ` (now version ${props.a.config.version})` : ''}.
        </p>
        <ConfigFields interval={interval} collect={collect} setInterval={setIv} setCollect={setCollect} err={err} />
        {!configField(err) ? <ErrorNote error={err?.message} /> : null}
        <div class="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy} data-testid="save-agent-config">
            Push config
          </button>
        </div>
      </form>
    </Modal>
  )
}

function RevokeToken(props: { a: AgentToken; onClose: () => void; onDone: () => void }) {
  const [err, setErr] = useState<string>()
  return (
    <Modal title={`Revoke ${props.a.name}?`} onClose={props.onClose}>
      <p>
        The agent{props.a.host ? ` on ${props.a.host}` : ''} is refused from its next request and its host goes UNREACHABLE once silent. The host, its services and its data stay. This cannot be undone: a new
        token means enrolling again.
      </p>
      <ErrorNote error={err} />
      <div class="actions">
        <button onClick={props.onClose}>Cancel</button>
        <button class="danger" data-testid="confirm-revoke" onClick={() => api('DELETE', `/agent-tokens/${props.a.id}`).then(props.onDone, (e) => setErr(String(e.message ?? e)))}>
          Revoke
        </button>
      </div>
    </Modal>
  )
}
