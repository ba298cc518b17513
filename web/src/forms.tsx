import { useState } from 'preact/hooks'
import { api, APIError, CheckSpec, Host, Service } from './api'
import { Modal, ErrorNote } from './ui'

// A field's type says how it is edited and sent: 'list' is comma-separated
// and sent as an array, 'lines' is one item per line, sent as an array.
type Field = { key: string; label: string; type?: 'text' | 'number' | 'checkbox' | 'select' | 'list' | 'lines'; options?: string[]; placeholder?: string; hint?: string }

// Kind-specific parameters of a service check, as the API names them.
const kindFields: Record<string, Field[]> = {
  tcp: [
    { key: 'port', label: 'Port', type: 'number', placeholder: '22' },
    { key: 'send', label: 'Send', placeholder: 'optional text to send' },
    { key: 'expect', label: 'Expect', placeholder: 'optional substring of the answer' },
    { key: 'tls', label: 'TLS', type: 'checkbox' },
  ],
  http: [
    { key: 'url', label: 'URL', placeholder: 'https://example.org/health' },
    { key: 'method', label: 'Method', type: 'select', options: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'] },
    { key: 'expect_status', label: 'Expected status', placeholder: '200-399' },
    { key: 'body_regex', label: 'Body regex', placeholder: 'optional' },
    { key: 'cert_days_warning', label: 'Certificate days (warning)', type: 'number', placeholder: '20' },
  ],
  icmp: [
    { key: 'count', label: 'Packets', type: 'number', placeholder: '3' },
    { key: 'warning', label: 'Warning (rta ms,loss%)', placeholder: '100,20%' },
    { key: 'critical', label: 'Critical (rta ms,loss%)', placeholder: '500,60%' },
  ],
  dns: [
    { key: 'name', label: 'Name to look up', placeholder: 'example.org' },
    { key: 'type', label: 'Record type', type: 'select', options: ['A', 'AAAA', 'CNAME', 'MX', 'NS', 'PTR', 'SOA', 'SRV', 'TXT'] },
    { key: 'server', label: 'Server', placeholder: 'default: resolv.conf' },
    { key: 'expect', label: 'Expected answers', type: 'list', placeholder: 'optional, e.g. 192.0.2.10, 192.0.2.11' },
  ],
  exec: [
    { key: 'command', label: 'Plugin command', placeholder: 'check_disk -w 20% -c 10% -p /', hint: 'A Nagios-compatible plugin, split into words like a shell does (no shell runs)' },
    { key: 'args', label: 'Arguments', type: 'lines', placeholder: 'optional, one per line', hint: 'Added after the command as they are, one argument per line; $HOSTADDRESS$ and $HOSTNAME$ are replaced' },
  ],
  // vigie's own health: database, time-series store (stopped on a full disk).
  self: [],
  // One SNMP object; the host's SNMP settings apply.
  snmp: [
    { key: 'oid', label: 'OID or name', placeholder: 'sysUpTime.0, ifHCInOctets.2, 1.3.6.1.2.1.1.5.0', hint: "A numeric OID or a known name with its index; the host's SNMP settings apply" },
    { key: 'warning', label: 'Warning', placeholder: 'Nagios range (rate per second for counters)' },
    { key: 'critical', label: 'Critical', placeholder: 'Nagios range' },
    { key: 'expect', label: 'Expect', placeholder: 'optional substring of a string value' },
  ],
  snmp_interface: [
    { key: 'interface', label: 'Interface name', placeholder: 'eth0 (ifName or ifDescr)' },
    { key: 'index', label: 'ifIndex', type: 'number', placeholder: 'optional when the name is given' },
    { key: 'warning', label: 'Warning utilisation %', placeholder: '80' },
    { key: 'critical', label: 'Critical utilisation %', placeholder: '95' },
  ],
}

const kinds = Object.keys(kindFields)

function fieldError(err: APIError | undefined, key: string) {
  if (!err || !err.field) return null
  if (err.field === key || err.field === 'check.' + key) return <div class="field-error">{err.message}</div>
  return null
}

function useSubmit(onDone: () => void) {
  const [err, setErr] = useState<APIError>()
  const [busy, setBusy] = useState(false)
  const submit = async (f: () => Promise<unknown>) => {
    setBusy(true)
    try {
      await f()
      onDone()
    } catch (e) {
      setErr(e instanceof APIError ? e : new APIError(0, 'error', String(e)))
    } finally {
      setBusy(false)
    }
  }
  return { err, busy, submit }
}

export function HostForm(props: { host?: Host; onClose: () => void; onSaved: (h: Host) => void }) {
  const h = props.host
  const [v, setV] = useState({
    name: h?.name ?? '',
    address: h?.address ?? '',
    groups: (h?.groups ?? []).join(', '),
    domain: h?.domain ?? '',
    location: h?.location ?? '',
    notes: h?.notes ?? '',
    hostCheck: h?.check?.kind ?? (h ? (h.address ? 'icmp' : 'none') : 'icmp'),
    interval: h?.interval ?? '',
  })
  let saved: Host
  const { err, busy, submit } = useSubmit(() => props.onSaved(saved))
  const set = (k: string) => (e: Event) => setV({ ...v, [k]: (e.target as HTMLInputElement).value })
  const save = (e: Event) => {
    e.preventDefault()
    const body: Record<string, unknown> = {
      name: v.name.trim(),
      address: v.address.trim(),
      groups: v.groups.split(',').map((s) => s.trim()).filter(Boolean),
      domain: v.domain.trim(),
      location: v.location.trim(),
      notes: v.notes,
    }
    // Keep a custom host check's parameters when its kind is unchanged.
    if (!h || v.hostCheck !== h.check?.kind) body.check = { kind: v.hostCheck }
    if (v.interval.trim()) body.interval = v.interval.trim()
    submit(async () => {
      saved = h ? await api<Host>('PATCH', `/hosts/${h.id}`, body) : await api<Host>('POST', '/hosts', body)
    })
  }
  return (
    <Modal title={h ? `Edit host ${h.name}` : 'Add host'} onClose={props.onClose}>
      <form onSubmit={save} class="form" data-testid="host-form">
        <label>
          Name
          <input name="name" value={v.name} onInput={set('name')} required autoFocus placeholder="web1" />
          {fieldError(err, 'name')}
        </label>
        <label>
          Address
          <input name="address" value={v.address} onInput={set('address')} placeholder="10.0.0.5 or web1.example.org" />
          {fieldError(err, 'address')}
        </label>
        <label>
          Host check
          <select name="hostCheck" value={v.hostCheck} onChange={set('hostCheck')}>
            <option value="icmp">icmp (ping): UP or DOWN</option>
            <option value="none">none: always UP</option>
          </select>
          {fieldError(err, 'check')}
        </label>
        <div class="row2">
          <label>
            Groups
            <input name="groups" value={v.groups} onInput={set('groups')} placeholder="linux, web" />
          </label>
          <label>
            Domain
            <input name="domain" value={v.domain} onInput={set('domain')} placeholder="network, system, database…" />
          </label>
        </div>
        <div class="row2">
          <label>
            Location
            <input name="location" value={v.location} onInput={set('location')} placeholder="DC1, rack 4" />
          </label>
          <label>
            Check interval
            <input name="interval" value={v.interval} onInput={set('interval')} placeholder="1m" />
            {fieldError(err, 'interval')}
          </label>
        </div>
        <label>
          Notes
          <textarea name="notes" value={v.notes} onInput={set('notes')} rows={2} />
        </label>
        <ErrorNote error={err?.message} />
        <div class="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy} data-testid="save-host">
            {h ? 'Save' : 'Add host'}
          </button>
        </div>
      </form>
    </Modal>
  )
}

export function ServiceForm(props: { host: Host; service?: Service; onClose: () => void; onSaved: (s: Service) => void }) {
  const s = props.service
  const [kind, setKind] = useState(s?.check.kind ?? 'tcp')
  const initial: Record<string, string | boolean> = {}
  for (const [k, val] of Object.entries(s?.check ?? {})) {
    if (k === 'kind' || (typeof val === 'object' && !Array.isArray(val))) continue
    const lines = kindFields[s!.check.kind]?.find((f) => f.key === k)?.type === 'lines'
    initial[k] = typeof val === 'boolean' ? val : Array.isArray(val) ? val.join(lines ? '\n' : ', ') : String(val)
  }
  const [params, setParams] = useState(initial)
  const [v, setV] = useState({
    name: s?.name ?? '',
    interval: s?.interval ?? '1m',
    retry_interval: s?.retry_interval ?? '20s',
    max_attempts: String(s?.max_attempts ?? 3),
    timeout: s?.timeout ?? '10s',
  })
  let saved: Service
  const { err, busy, submit } = useSubmit(() => props.onSaved(saved))
  const set = (k: string) => (e: Event) => setV({ ...v, [k]: (e.target as HTMLInputElement).value })
  const setParam = (f: Field) => (e: Event) => {
    const t = e.target as HTMLInputElement
    setParams({ ...params, [f.key]: f.type === 'checkbox' ? t.checked : t.value })
  }
  const save = (e: Event) => {
    e.preventDefault()
    // Parameters the form does not show (set through the API or the CLI)
    // are kept while the kind stays the same.
    const check: CheckSpec = s && s.check.kind === kind ? { ...s.check } : { kind }
    for (const f of kindFields[kind]) {
      delete check[f.key]
      const val = params[f.key]
      if (val === undefined || val === false || (typeof val === 'string' && val.trim() === '')) continue
      if (typeof val === 'boolean') check[f.key] = val
      else if (f.type === 'number') check[f.key] = isNaN(Number(val)) ? val : Number(val)
      else if (f.type === 'list') check[f.key] = val.split(',').map((x) => x.trim()).filter(Boolean)
      else if (f.type === 'lines') check[f.key] = val.split('\n').map((x) => x.trim()).filter(Boolean)
      else check[f.key] = val
    }
    const body = {
      name: v.name.trim(),
      check,
      interval: v.interval.trim(),
      retry_interval: v.retry_interval.trim(),
      max_attempts: Number(v.max_attempts),
      timeout: v.timeout.trim(),
    }
    submit(async () => {
      saved = s ? await api<Service>('PATCH', `/services/${s.id}`, body) : await api<Service>('POST', '/services', { host: props.host.id, ...body })
    })
  }
  return (
    <Modal title={s ? `Edit service ${s.name}` : `Add service to ${props.host.name}`} onClose={props.onClose}>
      <form onSubmit={save} class="form" data-testid="service-form">
        <div class="row2">
          <label>
            Name
            <input name="name" value={v.name} onInput={set('name')} required autoFocus placeholder="ssh" />
            {fieldError(err, 'name')}
          </label>
          <label>
            Check kind
            <select name="kind" value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)}>
              {kinds.map((k) => (
                <option value={k}>{k}</option>
              ))}
            </select>
            {fieldError(err, 'kind')}
          </label>
        </div>
        <fieldset>
          <legend>{kind} parameters</legend>
          {kindFields[kind].map((f) =>
            f.type === 'checkbox' ? (
              <label class="check">
                <input type="checkbox" name={f.key} checked={params[f.key] === true || params[f.key] === 'true'} onChange={setParam(f)} />
                {f.label}
              </label>
            ) : f.type === 'select' ? (
              <label>
                {f.label}
                <select name={f.key} value={String(params[f.key] ?? f.options![0])} onChange={setParam(f)}>
                  {f.options!.map((o) => (
                    <option value={o}>{o}</option>
                  ))}
                </select>
              </label>
            ) : f.type === 'lines' ? (
              <label>
                {f.label}
                <textarea name={f.key} value={String(params[f.key] ?? '')} onInput={setParam(f)} placeholder={f.placeholder} rows={3} class="mono" />
                {f.hint ? <small class="hint">{f.hint}</small> : null}
                {fieldError(err, f.key)}
              </label>
            ) : (
              <label>
                {f.label}
                <input name={f.key} value={String(params[f.key] ?? '')} onInput={setParam(f)} placeholder={f.placeholder} inputMode={f.type === 'number' ? 'numeric' : undefined} />
                {f.hint ? <small class="hint">{f.hint}</small> : null}
                {fieldError(err, f.key)}
              </label>
            ),
          )}
        </fieldset>
        <div class="row4">
          <label>
            Interval
            <input name="interval" value={v.interval} onInput={set('interval')} />
            {fieldError(err, 'interval')}
          </label>
          <label>
            Retry interval
            <input name="retry_interval" value={v.retry_interval} onInput={set('retry_interval')} />
            {fieldError(err, 'retry_interval')}
          </label>
          <label>
            Max attempts
            <input name="max_attempts" value={v.max_attempts} onInput={set('max_attempts')} inputMode="numeric" />
            {fieldError(err, 'max_attempts')}
          </label>
          <label>
            Timeout
            <input name="timeout" value={v.timeout} onInput={set('timeout')} />
            {fieldError(err, 'timeout')}
          </label>
        </div>
        <ErrorNote error={err?.message} />
        <div class="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy} data-testid="save-service">
            {s ? 'Save' : 'Add service'}
          </button>
        </div>
      </form>
    </Modal>
  )
}

export function ConfirmDelete(props: { what: string; onClose: () => void; onConfirm: () => Promise<void> }) {
  const { err, busy, submit } = useSubmit(props.onClose)
  return (
    <Modal title={`Delete ${props.what}?`} onClose={props.onClose}>
      <p>This cannot be undone. Its state history is deleted with it.</p>
      <ErrorNote error={err?.message} />
      <div class="actions">
        <button onClick={props.onClose}>Cancel</button>
        <button class="danger" disabled={busy} data-testid="confirm-delete" onClick={() => submit(props.onConfirm)}>
          Delete
        </button>
      </div>
    </Modal>
  )
}
