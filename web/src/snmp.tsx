// The SNMP panel of a host page: the device's settings with a credentials
// test, a walk browser, interface discovery and the interface table with
// live rates. Everything goes through the public API.
import { useState } from 'preact/hooks'
import { api, APIError, can, Host, Service, User } from './api'
import { Badge, ErrorNote, navigate } from './ui'

type TestResult = { ok: boolean; error?: string; sys_name?: string; sys_descr?: string; sys_uptime_seconds?: number; security_level?: string; version: string; duration_seconds: number }
type WalkItem = { oid: string; name: string; type: string; value: string }
type Discovery = { created: number; updated: number; unchanged: number; skipped: number; interfaces: { name: string; oper_status: string; action: string }[]; health?: { service: string; action: string }[] }

// The settings the form edits, as the API names them.
const textKeys = ['community', 'user', 'auth_password', 'priv_password', 'context', 'timeout'] as const

function settingsOf(h: Host): Record<string, string> {
  const s = h.snmp ?? {}
  const v: Record<string, string> = { version: String(s.version ?? '2c'), port: s.port === undefined ? '' : String(s.port), retries: s.retries === undefined ? '' : String(s.retries) }
  for (const k of [...textKeys, 'auth_protocol', 'priv_protocol']) v[k] = s[k] === undefined ? '' : String(s[k])
  return v
}

// bodyOf keeps what is filled in: empty fields take vigie's defaults.
function bodyOf(v: Record<string, string>): Record<string, unknown> {
  const b: Record<string, unknown> = { version: v.version }
  if (v.port.trim()) b.port = isNaN(Number(v.port)) ? v.port : Number(v.port)
  if (v.retries.trim()) b.retries = isNaN(Number(v.retries)) ? v.retries : Number(v.retries)
  const keys = v.version === '3' ? ['user', 'auth_protocol', 'auth_password', 'priv_protocol', 'priv_password', 'context', 'timeout'] : ['community', 'timeout']
  for (const k of keys) if (v[k].trim()) b[k] = v[k].trim()
  return b
}

function fmtBps(v: number | undefined): string {
  if (v === undefined) return '—'
  const units = ['b/s', 'kb/s', 'Mb/s', 'Gb/s', 'Tb/s']
  let i = 0
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000
    i++
  }
  return `${i === 0 ? v.toFixed(0) : v.toFixed(2)} ${units[i]}`
}

function perfOf(s: Service, label: string): number | undefined {
  return s.perfdata.find((p) => p.label === label)?.value
}

export function SnmpPanel(props: { host: Host; services: Service[]; user: User; onChanged: () => void }) {
  const h = props.host
  const canWrite = can(props.user, 'hosts.write') && h.source !== 'config'
  const canDiscover = can(props.user, 'services.write')
  const [v, setV] = useState(() => settingsOf(h))
  const [err, setErr] = useState<APIError>()
  const [test, setTest] = useState<TestResult>()
  const [busy, setBusy] = useState('')
  const [walkOid, setWalkOid] = useState('system')
  const [walk, setWalk] = useState<{ items: WalkItem[]; truncated: boolean }>()
  const [walkErr, setWalkErr] = useState('')
  const [filter, setFilter] = useState('')
  const [onlyUp, setOnlyUp] = useState(true)
  const [health, setHealth] = useState(false)
  const [disc, setDisc] = useState<Discovery>()
  const [discErr, setDiscErr] = useState('')
  const set = (k: string) => (e: Event) => setV({ ...v, [k]: (e.target as HTMLInputElement).value })
  const field = (k: string, label: string, type = 'text', placeholder = '') => (
    <label>
      {label}
      <input name={`snmp-${k}`} type={type} value={v[k]} placeholder={placeholder} onInput={set(k)} disabled={!canWrite} autoComplete="off" />
      {err?.field === 'snmp.' + k ? <div class="field-error">{err.message}</div> : null}
    </label>
  )
  const run = async (what: string, f: () => Promise<void>) => {
    setBusy(what)
    try {
      await f()
    } finally {
      setBusy('')
    }
  }
  const save = () =>
    run('save', async () => {
      setErr(undefined)
      try {
        await api('PATCH', `/hosts/${h.id}`, { snmp: bodyOf(v) })
        props.onChanged()
      } catch (e) {
        setErr(e as APIError)
      }
    })
  const testCreds = () =>
    run('test', async () => {
      setErr(undefined)
      setTest(undefined)
      try {
        setTest(await api<TestResult>('POST', '/snmp/test', { host: h.id, snmp: bodyOf(v) }))
      } catch (e) {
        setErr(e as APIError)
      }
    })
  const doWalk = (e: Event) => {
    e.preventDefault()
    run('walk', async () => {
      setWalkErr('')
      try {
        setWalk(await api<{ items: WalkItem[]; truncated: boolean }>('GET', `/hosts/${h.id}/snmp/walk?oid=${encodeURIComponent(walkOid)}&max=500`))
      } catch (e) {
        setWalk(undefined)
        setWalkErr((e as Error).message)
      }
    })
  }
  const discover = () =>
    run('discover', async () => {
      setDiscErr('')
      try {
        const body: Record<string, unknown> = {}
        if (filter.trim()) body.name = filter.trim()
        if (onlyUp) body.oper_status = ['up']
        if (health) body.health = true
        setDisc(await api<Discovery>('POST', `/hosts/${h.id}/snmp/discover`, body))
        props.onChanged()
      } catch (e) {
        setDiscErr((e as Error).message)
      }
    })
  const ifaces = props.services.filter((s) => s.check.kind === 'snmp_interface')
  return (
    <section class="card" data-testid="snmp-panel">
      <div class="card-head">
        <h2>SNMP</h2>
        <span class="muted">{h.snmp ? `v${String(h.snmp.version ?? '2c')}` : 'not configured (v2c, community public, port 161 by default)'}</span>
      </div>
      <form class="form" data-testid="snmp-settings" onSubmit={(e) => (e.preventDefault(), save())}>
        <div class="row2">
          <label>
            Version
            <select name="snmp-version" value={v.version} onChange={set('version')} disabled={!canWrite}>
              <option value="1">1</option>
              <option value="2c">2c</option>
              <option value="3">3</option>
            </select>
          </label>
          {field('port', 'Port', 'text', '161')}
        </div>
        {v.version === '3' ? (
          <>
            <div class="row2">
              {field('user', 'User')}
              {field('context', 'Context', 'text', 'optional')}
            </div>
            <div class="row2">
              <label>
                Auth protocol
                <select name="snmp-auth_protocol" value={v.auth_protocol} onChange={set('auth_protocol')} disabled={!canWrite}>
                  <option value="">SHA (default)</option>
                  {['MD5', 'SHA', 'SHA224', 'SHA256', 'SHA384', 'SHA512'].map((p) => (
                    <option value={p}>{p}</option>
                  ))}
                </select>
              </label>
              {field('auth_password', 'Auth password', 'password', 'none: noAuthNoPriv')}
            </div>
            <div class="row2">
              <label>
                Privacy protocol
                <select name="snmp-priv_protocol" value={v.priv_protocol} onChange={set('priv_protocol')} disabled={!canWrite}>
                  <option value="">AES (default)</option>
                  {['DES', 'AES', 'AES192', 'AES256'].map((p) => (
                    <option value={p}>{p}</option>
                  ))}
                </select>
              </label>
              {field('priv_password', 'Privacy password', 'password', 'none: authNoPriv')}
            </div>
          </>
        ) : (
          field('community', 'Community', 'password', 'public')
        )}
        <div class="row2">
          {field('timeout', 'Timeout', 'text', '2s')}
          {field('retries', 'Retries', 'text', '1')}
        </div>
        <ErrorNote error={err && !err.field?.startsWith('snmp.') ? err.message : undefined} />
        <div class="buttons">
          <button type="button" onClick={testCreds} disabled={busy !== '' || !can(props.user, 'hosts.write')} data-testid="snmp-test">
            Test credentials
          </button>
          {canWrite ? (
            <button type="submit" class="primary" disabled={busy !== ''} data-testid="snmp-save">
              Save settings
            </button>
          ) : null}
        </div>
        {test ? (
          <div class={test.ok ? 'note' : 'note error'} role="status" data-testid="snmp-test-result">
            {test.ok ? (
              <>
                <b>OK</b> — {test.sys_name} ({test.version}
                {test.security_level ? ' ' + test.security_level : ''}, {(test.duration_seconds * 1000).toFixed(0)} ms): {test.sys_descr}
              </>
            ) : (
              <>
                <b>Failed</b> — {test.error}
              </>
            )}
          </div>
        ) : null}
      </form>

      <h3>Interfaces</h3>
      {canDiscover && h.source !== 'config' ? (
        <div class="snmp-row">
          <input name="discover-filter" placeholder="name filter (regular expression), optional" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
          <label class="snmp-check">
            <input type="checkbox" name="discover-up" checked={onlyUp} onChange={(e) => setOnlyUp((e.target as HTMLInputElement).checked)} /> only interfaces up
          </label>
          <label class="snmp-check">
            <input type="checkbox" name="discover-health" checked={health} onChange={(e) => setHealth((e.target as HTMLInputElement).checked)} /> health too (uptime, CPU, memory, disks, sensors)
          </label>
          <button onClick={discover} disabled={busy !== ''} data-testid="snmp-discover">
            Discover interfaces
          </button>
        </div>
      ) : null}
      <ErrorNote error={discErr} />
      {disc ? (
        <div class="note" data-testid="snmp-discovery">
          {disc.created} created, {disc.updated} updated, {disc.unchanged} unchanged, {disc.skipped} skipped
          {disc.health?.length ? ` — health: ${disc.health.map((x) => x.service).join(', ')}` : ''}
        </div>
      ) : null}
      {ifaces.length ? (
        <table class="grid" data-testid="snmp-interfaces">
          <thead>
            <tr>
              <th>State</th>
              <th>Interface</th>
              <th>In</th>
              <th>Out</th>
              <th>Utilisation in / out</th>
              <th>Output</th>
            </tr>
          </thead>
          <tbody>
            {ifaces.map((s) => {
              const inU = perfOf(s, 'in_utilisation')
              const outU = perfOf(s, 'out_utilisation')
              return (
                <tr class="clickable" data-interface={String(s.check.interface ?? s.name)} onClick={() => navigate(`/services/${s.id}`)}>
                  <td>
                    <Badge state={s.state} soft={s.state_type === 'SOFT'} />
                  </td>
                  <td>{s.name}</td>
                  <td class="nowrap mono" data-testid="if-in">
                    {fmtBps(perfOf(s, 'in_bps'))}
                  </td>
                  <td class="nowrap mono" data-testid="if-out">
                    {fmtBps(perfOf(s, 'out_bps'))}
                  </td>
                  <td class="nowrap mono">{inU === undefined ? '—' : `${inU.toFixed(1)}% / ${(outU ?? 0).toFixed(1)}%`}</td>
                  <td class="output">{s.output}</td>
                </tr>
              )
            })}
          </tbody>
        </table>
      ) : (
        <p class="muted">No interface services yet{canDiscover ? ': discover them from the device.' : '.'}</p>
      )}

      <h3>Walk</h3>
      <form class="snmp-row" onSubmit={doWalk} data-testid="snmp-walk-form">
        <input name="walk-oid" value={walkOid} onInput={(e) => setWalkOid((e.target as HTMLInputElement).value)} placeholder="system, ifTable, 1.3.6.1.2.1.25…" />
        <button type="submit" disabled={busy !== ''} data-testid="snmp-walk">
          Walk
        </button>
      </form>
      <ErrorNote error={walkErr} />
      {walk ? (
        <>
          <table class="grid" data-testid="snmp-walk-result">
            <thead>
              <tr>
                <th>Name</th>
                <th>OID</th>
                <th>Type</th>
                <th>Value</th>
              </tr>
            </thead>
            <tbody>
              {walk.items.map((it) => (
                <tr data-oid={it.oid}>
                  <td class="mono">{it.name}</td>
                  <td class="mono muted">{it.oid}</td>
                  <td>{it.type}</td>
                  <td class="output">{it.value}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {walk.truncated ? <p class="muted">First {walk.items.length} values; walk a narrower OID for the rest.</p> : null}
        </>
      ) : null}
    </section>
  )
}
