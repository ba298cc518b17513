// Host groups and their SNMP templates: the list of groups, and an editor
// for what every member of a group polls (value services by OID or name
// with thresholds, and an interface discovery). Saving applies the
// template to every member at once (PATCH /hostgroups/{id}).
import { useState } from 'preact/hooks'
import { api, APIError, can, User } from './api'
import { Empty, ErrorNote, Modal, useData } from './ui'
import { inlineMessage } from './rules'
import './extra.css'

type TemplateService = { name: string; oid: string; label?: string; warning?: string; critical?: string; interval?: string }
type TemplateDiscovery = {
  name?: string
  types?: number[]
  only_up?: boolean
  health?: boolean
  interfaces?: boolean
  warning?: string
  critical?: string
  interval?: string
  every?: string
}
export type SNMPTemplate = { snmp?: Record<string, unknown>; services: TemplateService[]; discovery?: TemplateDiscovery }
export type HostGroup = { id: number; name: string; description: string; source: string; hosts: number; snmp_template?: SNMPTemplate }

export function HostGroupsPage(props: { user: User }) {
  const write = can(props.user, 'hosts.write')
  const { data, error, reload } = useData(() => api<{ items: HostGroup[] }>('GET', '/hostgroups?limit=1000'), [])
  const [editing, setEditing] = useState<HostGroup>()
  return (
    <div>
      <div class="page-head">
        <h1>Host groups</h1>
      </div>
      <p class="lede">A group's SNMP template is what every member polls, present and future: its services are created on each member and follow the template.</p>
      <ErrorNote error={error} />
      <section class="card flush">
        {data && data.items.length === 0 ? (
          <Empty>No host group yet: give a host a group and it appears here.</Empty>
        ) : (
          <table class="grid" data-testid="hostgroups">
            <thead>
              <tr>
                <th>Name</th>
                <th>Hosts</th>
                <th>SNMP template</th>
                {write ? <th /> : null}
              </tr>
            </thead>
            <tbody>
              {(data?.items ?? []).map((g) => (
                <tr data-testid="hostgroup-row" data-name={g.name}>
                  <td class="strong">
                    {g.name}
                    {g.description ? <div class="muted small">{g.description}</div> : null}
                  </td>
                  <td>{g.hosts}</td>
                  <td data-testid="template-summary">{summary(g.snmp_template)}</td>
                  {write ? (
                    <td class="row-actions">
                      {g.source === 'config' ? (
                        <span class="muted small" title="Defined in the YAML files: edit them">from config</span>
                      ) : (
                        <button onClick={() => setEditing(g)} data-testid="edit-template">
                          {g.snmp_template ? 'Edit template' : 'Add template'}
                        </button>
                      )}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {!data && !error ? <div class="loading">Loading…</div> : null}
      </section>
      {editing ? (
        <TemplateEditor
          group={editing}
          onClose={() => setEditing(undefined)}
          onSaved={() => {
            setEditing(undefined)
            reload()
          }}
        />
      ) : null}
    </div>
  )
}

function summary(t?: SNMPTemplate): string {
  if (!t) return '—'
  const parts = [`${t.services.length} service${t.services.length === 1 ? '' : 's'}`]
  if (t.discovery) parts.push(t.discovery.interfaces === false ? 'health discovery' : 'interface discovery')
  return parts.join(', ')
}

const settingKeys = ['version', 'community', 'port', 'timeout', 'retries', 'user', 'auth_protocol', 'auth_password', 'priv_protocol', 'priv_password'] as const

// TemplateEditor edits one group's template; the server validates and
// names the field at fault (snmp_template.services[2].oid), shown beside it.
function TemplateEditor(props: { group: HostGroup; onClose: () => void; onSaved: () => void }) {
  const t = props.group.snmp_template
  const [settings, setSettings] = useState<Record<string, string>>(
    Object.fromEntries(Object.entries(t?.snmp ?? {}).map(([k, v]) => [k, String(v)])),
  )
  const [items, setItems] = useState<TemplateService[]>(t?.services ?? [])
  const [disc, setDisc] = useState<boolean>(!!t?.discovery)
  const d0 = t?.discovery ?? {}
  const [dv, setDv] = useState({
    name: d0.name ?? '',
    types: (d0.types ?? []).join(', '),
    only_up: d0.only_up ?? true,
    health: d0.health ?? false,
    warning: d0.warning ?? '',
    critical: d0.critical ?? '',
    every: d0.every ?? '',
  })
  const [err, setErr] = useState<APIError>()
  const [busy, setBusy] = useState(false)
  const fe = (field: string) =>
    err?.field === field ? (
      <div class="field-error" data-error-for={field}>
        {inlineMessage(err)}
      </div>
    ) : null
  const setItem = (i: number, k: keyof TemplateService, v: string) => setItems(items.map((it, j) => (j === i ? { ...it, [k]: v } : it)))

  const body = (): SNMPTemplate => {
    const snmp: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(settings)) {
      if (v.trim() === '') continue
      snmp[k] = k === 'port' || k === 'retries' ? Number(v) : v.trim()
    }
    const out: SNMPTemplate = {
      services: items.map((it) => {
        const s: TemplateService = { name: it.name.trim(), oid: it.oid.trim() }
        for (const k of ['warning', 'critical', 'interval'] as const) if (it[k]?.trim()) s[k] = it[k]!.trim()
        return s
      }),
    }
    if (Object.keys(snmp).length) out.snmp = snmp
    if (disc) {
      const d: TemplateDiscovery = { only_up: dv.only_up, health: dv.health }
      if (dv.name.trim()) d.name = dv.name.trim()
      const types = dv.types.split(',').map((x) => x.trim()).filter(Boolean).map(Number)
      if (types.length) d.types = types
      if (dv.warning.trim()) d.warning = dv.warning.trim()
      if (dv.critical.trim()) d.critical = dv.critical.trim()
      if (dv.every.trim()) d.every = dv.every.trim()
      out.discovery = d
    }
    return out
  }
  const send = async (tmpl: SNMPTemplate | null) => {
    setBusy(true)
    setErr(undefined)
    try {
      await api('PATCH', `/hostgroups/${props.group.id}`, { snmp_template: tmpl })
      props.onSaved()
    } catch (x) {
      setErr(x instanceof APIError ? x : new APIError(0, 'error', String(x)))
    } finally {
      setBusy(false)
    }
  }
  const inline = !!err?.field && err.field.startsWith('snmp_template.')
  return (
    <Modal title={`SNMP template of ${props.group.name}`} onClose={props.onClose}>
      <form
        class="form"
        data-testid="template-form"
        onSubmit={(e) => {
          e.preventDefault()
          send(body())
        }}
      >
        <fieldset>
          <legend>Settings</legend>
          <p class="hint small">Defaults of every SNMP service of the members (the template's and their own); a host's own SNMP settings, then a service's, win over them.</p>
          <div class="row3">
            {settingKeys.map((k) => (
              <label>
                {k.replace('_', ' ')}
                <input
                  name={`snmp-${k}`}
                  type={k.endsWith('password') || k === 'community' ? 'password' : 'text'}
                  value={settings[k] ?? ''}
                  onInput={(e) => setSettings({ ...settings, [k]: (e.target as HTMLInputElement).value })}
                  placeholder={k === 'version' ? '2c' : k === 'port' ? '161' : ''}
                />
                {fe(`snmp_template.snmp.${k}`)}
              </label>
            ))}
          </div>
        </fieldset>
        <fieldset>
          <legend>Services</legend>
          <p class="hint small">One snmp service per row on every member: a numeric OID or a known name (sysUpTime.0, ifHCInOctets.1); thresholds are Nagios ranges.</p>
          <table class="grid" data-testid="template-items">
            <thead>
              <tr>
                <th>Name</th>
                <th>OID or name</th>
                <th>Warning</th>
                <th>Critical</th>
                <th>Interval</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {items.map((it, i) => (
                <tr data-testid="template-item">
                  {(['name', 'oid', 'warning', 'critical', 'interval'] as const).map((k) => (
                    <td>
                      <input
                        name={`item-${k}`}
                        class={k === 'oid' ? 'mono' : ''}
                        value={it[k] ?? ''}
                        onInput={(e) => setItem(i, k, (e.target as HTMLInputElement).value)}
                        placeholder={k === 'interval' ? '1m' : ''}
                      />
                      {fe(`snmp_template.services[${i}].${k}`)}
                    </td>
                  ))}
                  <td>
                    <button type="button" class="danger" onClick={() => setItems(items.filter((_, j) => j !== i))} data-testid="remove-item">
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <button type="button" onClick={() => setItems([...items, { name: '', oid: '' }])} data-testid="add-item">
            Add a service
          </button>
        </fieldset>
        <fieldset>
          <legend>
            <label class="check">
              <input type="checkbox" name="discovery" checked={disc} onChange={(e) => setDisc((e.target as HTMLInputElement).checked)} />
              Interface discovery
            </label>
          </legend>
          {disc ? (
            <>
              <div class="row3">
                <label>
                  Name pattern
                  <input name="disc-name" class="mono" value={dv.name} onInput={(e) => setDv({ ...dv, name: (e.target as HTMLInputElement).value })} placeholder="^(Gi|Te)" />
                  {fe('snmp_template.discovery.name')}
                </label>
                <label>
                  ifTypes
                  <input name="disc-types" value={dv.types} onInput={(e) => setDv({ ...dv, types: (e.target as HTMLInputElement).value })} placeholder="6, 24" />
                  {fe('snmp_template.discovery.types')}
                </label>
                <label>
                  Rediscover every
                  <input name="disc-every" value={dv.every} onInput={(e) => setDv({ ...dv, every: (e.target as HTMLInputElement).value })} placeholder="6h (empty: on joining)" />
                  {fe('snmp_template.discovery.every')}
                </label>
                <label>
                  Warning (utilisation %)
                  <input name="disc-warning" value={dv.warning} onInput={(e) => setDv({ ...dv, warning: (e.target as HTMLInputElement).value })} />
                  {fe('snmp_template.discovery.warning')}
                </label>
                <label>
                  Critical (utilisation %)
                  <input name="disc-critical" value={dv.critical} onInput={(e) => setDv({ ...dv, critical: (e.target as HTMLInputElement).value })} />
                  {fe('snmp_template.discovery.critical')}
                </label>
              </div>
              <label class="check">
                <input type="checkbox" name="disc-only-up" checked={dv.only_up} onChange={(e) => setDv({ ...dv, only_up: (e.target as HTMLInputElement).checked })} />
                Only interfaces that are up
              </label>
              <label class="check">
                <input type="checkbox" name="disc-health" checked={dv.health} onChange={(e) => setDv({ ...dv, health: (e.target as HTMLInputElement).checked })} />
                Device health too (uptime, CPU, memory, storage, sensors)
              </label>
            </>
          ) : null}
        </fieldset>
        {!inline ? <ErrorNote error={err?.message} /> : null}
        <div class="actions">
          {props.group.snmp_template ? (
            <button type="button" class="danger" disabled={busy} onClick={() => send(null)} data-testid="remove-template">
              Remove template
            </button>
          ) : null}
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy} data-testid="save-template">
            Save and apply
          </button>
        </div>
      </form>
    </Modal>
  )
}
