// Qualification rules: the ordered list the events go through before the
// alarms (YAML rules read-only, API rules editable), a form per rule and a
// dry-run panel that shows what the rules would do to a sample event.
import { useEffect, useState } from 'preact/hooks'
import { api, APIError, can, User } from './api'
import { CritBadge } from './alarms'
import { Empty, ErrorNote, Modal, useData } from './ui'
import './extra.css'

export type Condition = {
  field: string
  equals?: string
  regex?: string
  in?: string[]
  gt?: number
  gte?: number
  lt?: number
  lte?: number
  exists?: boolean
}
export type RuleActions = {
  set_criticality?: string
  set_domain?: string
  set_category?: string
  set?: Record<string, string>
  rename?: Record<string, string>
  add_tags?: Record<string, string>
  drop?: boolean
  continue?: boolean
}
export type Rule = { name: string; match: Condition[] | null; actions: RuleActions; source: 'config' | 'api'; hits: number; dropped: number }

// The fields the API matches on and writes to (internal/events/rules.Fields),
// offered in the form; tags.NAME is typed.
const fields = ['component', 'resource', 'connector', 'connector_name', 'event_type', 'source_type', 'state', 'output', 'long_output', 'perf_data', 'criticality', 'domain', 'category', 'tags.']
const operators = ['equals', 'regex', 'in', 'gt', 'gte', 'lt', 'lte', 'exists'] as const
type Op = (typeof operators)[number]
const opText: Record<Op, string> = { equals: '=', regex: '~', in: 'in', gt: '>', gte: '≥', lt: '<', lte: '≤', exists: 'exists' }
const numeric = (op: Op) => op === 'gt' || op === 'gte' || op === 'lt' || op === 'lte'

function opOf(c: Condition): Op {
  return operators.find((o) => c[o] !== undefined) ?? 'equals'
}

function valueText(c: Condition, op: Op): string {
  const v = c[op]
  if (Array.isArray(v)) return v.join(', ')
  return v === undefined ? '' : String(v)
}

// CondText: "component ~ db.*", readable at a glance.
function CondText(props: { c: Condition }) {
  const op = opOf(props.c)
  if (op === 'exists') {
    return (
      <span class="cond">
        <b>{props.c.field}</b> {props.c.exists ? 'exists' : 'is absent'}
      </span>
    )
  }
  return (
    <span class="cond">
      <b>{props.c.field}</b> <span class="op">{opText[op]}</span> <code>{op === 'in' ? '[' + valueText(props.c, op) + ']' : valueText(props.c, op)}</code>
    </span>
  )
}

const pairs = (m?: Record<string, string>) => Object.entries(m ?? {})

function ActionsText(props: { a: RuleActions }) {
  const a = props.a
  return (
    <span class="acts">
      {a.drop ? <span class="badge s-critical drop-badge">DROP</span> : null}
      {a.set_criticality ? (
        <span class="act">
          criticality <CritBadge c={a.set_criticality} />
        </span>
      ) : null}
      {a.set_domain ? <span class="act">domain = <code>{a.set_domain}</code></span> : null}
      {a.set_category ? <span class="act">category = <code>{a.set_category}</code></span> : null}
      {pairs(a.set).map(([k, v]) => (
        <span class="act">
          set {k} = <code>{v}</code>
        </span>
      ))}
      {pairs(a.rename).map(([k, v]) => (
        <span class="act">
          rename {k} → {v}
        </span>
      ))}
      {pairs(a.add_tags).length ? (
        <span class="act">
          tags +{' '}
          {pairs(a.add_tags).map(([k, v]) => (
            <span class="chip">
              {k}={v}
            </span>
          ))}
        </span>
      ) : null}
      {a.continue ? <span class="mk mk-xfer">then continue</span> : null}
    </span>
  )
}

export function RulesPage(props: { user: User }) {
  const manage = can(props.user, 'rules.manage')
  const { data, error, reload } = useData(() => api<{ items: Rule[] }>('GET', '/rules'), [])
  // The counters move with every event, which the stream does not tell:
  // a light poll while the page is in view.
  useEffect(() => {
    const t = setInterval(() => document.visibilityState === 'visible' && reload(), 10000)
    return () => clearInterval(t)
  }, [])
  const [edit, setEdit] = useState<Rule | 'new'>()
  const [del, setDel] = useState<Rule>()
  const rules = data?.items ?? []
  const apiIndex = (r: Rule) => rules.filter((x) => x.source === 'api').indexOf(r)
  return (
    <div class="rules-page">
      <div class="page-head">
        <h1>
          Qualification rules <span class="muted small-count">{data ? rules.length : ''}</span>
        </h1>
        <div class="buttons">
          <button onClick={reload} title="Counters change with every event">
            Refresh
          </button>
          {manage ? (
            <button class="primary" onClick={() => setEdit('new')} data-testid="new-rule">
              New rule
            </button>
          ) : null}
        </div>
      </div>
      <p class="lede">
        Every event goes through these rules, in this order, before the alarms. The first rule whose conditions all hold applies its actions and
        ends the list, unless it says <em>then continue</em>. Rules from the configuration file come first and are edited in the file.
      </p>
      <ErrorNote error={error} />
      <section class="card flush">
        {data && rules.length === 0 ? (
          <Empty>No rule: events keep the criticality their source gives.{manage ? ' Create one with “New rule”.' : ''}</Empty>
        ) : (
          <table class="grid rules" data-testid="rules">
            <thead>
              <tr>
                <th class="num">#</th>
                <th>Rule</th>
                <th>When (all hold)</th>
                <th>Then</th>
                <th class="num">Hits</th>
                <th class="num">Dropped</th>
                {manage ? <th /> : null}
              </tr>
            </thead>
            <tbody>
              {rules.map((r, i) => (
                <tr data-testid="rule-row" data-rule={r.name} data-source={r.source}>
                  <td class="num muted">{i + 1}</td>
                  <td class="nowrap">
                    <strong>{r.name}</strong>
                    <div>
                      {r.source === 'config' ? (
                        <span class="src src-config" title="events.rules in the configuration file: edit the file">
                          from config
                        </span>
                      ) : (
                        <span class="src src-api">from API</span>
                      )}
                    </div>
                  </td>
                  <td>
                    {(r.match ?? []).length ? (
                      <span class="conds">
                        {(r.match ?? []).map((c) => (
                          <CondText c={c} />
                        ))}
                      </span>
                    ) : (
                      <span class="muted">every event</span>
                    )}
                  </td>
                  <td>
                    <ActionsText a={r.actions} />
                  </td>
                  <td class="num" data-testid="rule-hits">
                    {r.hits}
                  </td>
                  <td class="num" data-testid="rule-dropped">
                    {r.dropped}
                  </td>
                  {manage ? (
                    <td class="row-actions">
                      {r.source === 'api' ? (
                        <span class="buttons">
                          <button onClick={() => setEdit({ ...r, position: apiIndex(r) } as Rule)} data-testid="edit-rule">
                            Edit
                          </button>
                          <button class="danger" onClick={() => setDel(r)} data-testid="delete-rule">
                            Delete
                          </button>
                        </span>
                      ) : (
                        <span class="muted small">read-only</span>
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
      {manage ? <DryRun rules={rules} /> : null}
      {edit ? (
        <RuleForm
          rule={edit === 'new' ? undefined : edit}
          count={rules.filter((r) => r.source === 'api').length}
          onClose={() => setEdit(undefined)}
          onSaved={() => {
            setEdit(undefined)
            reload()
          }}
        />
      ) : null}
      {del ? (
        <Modal title={`Delete rule ${del.name}?`} onClose={() => setDel(undefined)}>
          <DeleteRule
            rule={del}
            onClose={() => setDel(undefined)}
            onDone={() => {
              setDel(undefined)
              reload()
            }}
          />
        </Modal>
      ) : null}
    </div>
  )
}

function DeleteRule(props: { rule: Rule; onClose: () => void; onDone: () => void }) {
  const [err, setErr] = useState<string>()
  return (
    <>
      <p>Events will no longer go through it; its counters are lost.</p>
      <ErrorNote error={err} />
      <div class="actions">
        <button onClick={props.onClose}>Cancel</button>
        <button
          class="danger"
          data-testid="confirm-delete"
          onClick={() =>
            api('DELETE', `/rules/${encodeURIComponent(props.rule.name)}`).then(props.onDone, (e) => setErr(String(e.message ?? e)))
          }
        >
          Delete
        </button>
      </div>
    </>
  )
}

// The form edits conditions and actions as text rows; maps (set, rename,
// add_tags) as "key=value" lines.
type CondRow = { field: string; op: Op; value: string }
const toLines = (m?: Record<string, string>) => pairs(m).map(([k, v]) => `${k}=${v}`).join('\n')

function fromLines(s: string): Record<string, string> | undefined {
  const out: Record<string, string> = {}
  for (const line of s.split('\n')) {
    const t = line.trim()
    if (!t) continue
    const i = t.indexOf('=')
    if (i < 0) out[t] = ''
    else out[t.slice(0, i).trim()] = t.slice(i + 1).trim()
  }
  return Object.keys(out).length ? out : undefined
}

function condBody(c: CondRow): Condition {
  const out: Condition = { field: c.field.trim() }
  const v = c.value.trim()
  if (c.op === 'exists') out.exists = v !== 'false'
  else if (c.op === 'in') out.in = v.split(',').map((x) => x.trim()).filter(Boolean)
  // A value that is no number goes as it is: the API names the field.
  else if (numeric(c.op)) (out as Record<string, unknown>)[c.op] = v !== '' && !isNaN(Number(v)) ? Number(v) : v
  else out[c.op as 'equals' | 'regex'] = c.value
  return out
}

// errAt: the API's message when it names this key ("match[0].regex"),
// or a key under it ("actions.set.state" under "actions.set").
// inlineMessage drops the key the message starts with: the field it sits
// beside already says it.
export function inlineMessage(err: APIError): string {
  return err.field && err.message.startsWith(err.field + ': ') ? err.message.slice(err.field.length + 2) : err.message
}

function errAt(err: APIError | undefined, ...keys: string[]) {
  const f = err?.field
  if (!f) return null
  const hit = keys.some((k) => f === k || f.startsWith(k + '.') || f.startsWith(k + '['))
  return hit ? (
    <div class="field-error" data-error-for={f}>
      {inlineMessage(err!)}
    </div>
  ) : null
}

function RuleForm(props: { rule?: Rule & { position?: number }; count: number; onClose: () => void; onSaved: () => void }) {
  const r = props.rule
  const [name, setName] = useState(r?.name ?? '')
  // An edited rule shows its place (0 first) and moves when it changes.
  const [position, setPosition] = useState(r ? String(r.position ?? 0) : '')
  const [conds, setConds] = useState<CondRow[]>(
    (r?.match ?? []).map((c) => ({ field: c.field, op: opOf(c), value: valueText(c, opOf(c)) })).concat(r ? [] : [{ field: 'component', op: 'regex', value: '' }]),
  )
  const a = r?.actions ?? {}
  const [v, setV] = useState({
    crit: a.set_criticality ?? '',
    domain: a.set_domain ?? '',
    category: a.set_category ?? '',
    set: toLines(a.set),
    rename: toLines(a.rename),
    tags: toLines(a.add_tags),
    drop: !!a.drop,
    cont: !!a.continue,
  })
  const [err, setErr] = useState<APIError>()
  const [busy, setBusy] = useState(false)
  const setCond = (i: number, patch: Partial<CondRow>) => setConds(conds.map((c, j) => (j === i ? { ...c, ...patch } : c)))
  const body = () => {
    const actions: RuleActions = {}
    if (v.drop) actions.drop = true
    if (v.crit) actions.set_criticality = v.crit
    if (v.domain.trim()) actions.set_domain = v.domain.trim()
    if (v.category.trim()) actions.set_category = v.category.trim()
    const set = fromLines(v.set)
    const rename = fromLines(v.rename)
    const tags = fromLines(v.tags)
    if (set) actions.set = set
    if (rename) actions.rename = rename
    if (tags) actions.add_tags = tags
    if (v.cont) actions.continue = true
    return { name: name.trim(), match: conds.map(condBody), actions }
  }
  const save = async (e: Event) => {
    e.preventDefault()
    setBusy(true)
    try {
      const b: Record<string, unknown> = body()
      if (position.trim() !== '' && (!r || Number(position) !== (r.position ?? 0))) b.position = Number(position)
      if (r) await api('PUT', `/rules/${encodeURIComponent(r.name)}`, b)
      else await api('POST', '/rules', b)
      props.onSaved()
    } catch (x) {
      setErr(x instanceof APIError ? x : new APIError(0, 'error', String(x)))
    } finally {
      setBusy(false)
    }
  }
  // Try the rule as it stands on a sample, before saving: the API checks
  // it too, and its errors land beside the fields like a save's.
  const [trying, setTrying] = useState(false)
  const [tryText, setTryText] = useState(() =>
    sampleJSON({ connector: 'nagios', connector_name: 'nagios1', component: 'db-1', resource: 'disk', state: '2', output: 'disk /var 91% full', tags: '' }),
  )
  const [tryRes, setTryRes] = useState<DryResult>()
  const [tryErr, setTryErr] = useState<string>()
  const tryIt = async () => {
    setTryErr(undefined)
    setErr(undefined)
    let event: unknown
    try {
      event = JSON.parse(tryText)
    } catch (x) {
      setTryErr('The sample is not JSON: ' + String((x as Error).message))
      return
    }
    try {
      setTryRes(await api<DryResult>('POST', '/rules/dry-run', { rule: body(), event }))
    } catch (x) {
      setTryRes(undefined)
      if (x instanceof APIError && x.field?.startsWith('rule.')) {
        const f = x.field.slice(5)
        setErr(new APIError(x.status, x.code, x.message.replace(/^rule\./, ''), f))
      } else setTryErr(x instanceof APIError ? x.message : String(x))
    }
  }
  // An error the form shows beside a field is not repeated below.
  const shownInline = !!err?.field && /^(name|position|match|actions)/.test(err.field)
  const setAct = (k: keyof typeof v) => (e: Event) => {
    const t = e.target as HTMLInputElement
    setV({ ...v, [k]: t.type === 'checkbox' ? t.checked : t.value })
  }
  return (
    <Modal title={r ? `Edit rule ${r.name}` : 'New rule'} onClose={props.onClose}>
      <form class="form rule-form" onSubmit={save} data-testid="rule-form">
        <div class="row2">
          <label>
            Name
            <input name="name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} required autoFocus placeholder="red-db" />
            {errAt(err, 'name')}
          </label>
          <label>
            Position
            <input name="position" value={position} onInput={(e) => setPosition((e.target as HTMLInputElement).value)} inputMode="numeric" placeholder="last" />
            <small class="hint">{r ? `0 is the first of the API's ${props.count} rules` : `0 first; empty: last (after ${props.count})`}</small>
            {errAt(err, 'position')}
          </label>
        </div>
        <fieldset>
          <legend>When every condition holds</legend>
          {conds.map((c, i) => (
            <div class="cond-row" data-testid="cond-row">
              <div class="cond-inputs">
                <input name="cond-field" list="rule-fields" value={c.field} onInput={(e) => setCond(i, { field: (e.target as HTMLInputElement).value })} placeholder="field" aria-label="Field" />
                <select name="cond-op" value={c.op} onChange={(e) => setCond(i, { op: (e.target as HTMLSelectElement).value as Op })} aria-label="Operator">
                  {operators.map((o) => (
                    <option value={o}>{o}</option>
                  ))}
                </select>
                {c.op === 'exists' ? (
                  <select name="cond-value" value={c.value === 'false' ? 'false' : 'true'} onChange={(e) => setCond(i, { value: (e.target as HTMLSelectElement).value })} aria-label="Value">
                    <option value="true">is present</option>
                    <option value="false">is absent</option>
                  </select>
                ) : (
                  <input
                    name="cond-value"
                    value={c.value}
                    onInput={(e) => setCond(i, { value: (e.target as HTMLInputElement).value })}
                    aria-label="Value"
                    placeholder={c.op === 'regex' ? 'db.* (whole value)' : c.op === 'in' ? 'prod, preprod' : numeric(c.op) ? 'a number' : 'value'}
                    class={c.op === 'regex' ? 'mono' : ''}
                  />
                )}
                <button type="button" class="icon" aria-label="Remove condition" onClick={() => setConds(conds.filter((_, j) => j !== i))}>
                  ×
                </button>
              </div>
              {errAt(err, `match[${i}]`)}
            </div>
          ))}
          <datalist id="rule-fields">
            {fields.map((f) => (
              <option value={f} />
            ))}
          </datalist>
          <div>
            <button type="button" onClick={() => setConds([...conds, { field: '', op: 'equals', value: '' }])} data-testid="add-cond">
              Add condition
            </button>{' '}
            {conds.length === 0 ? <span class="hint">No condition: every event matches.</span> : null}
          </div>
        </fieldset>
        <fieldset>
          <legend>Then</legend>
          <label class="check">
            <input type="checkbox" name="drop" checked={v.drop} onChange={setAct('drop')} />
            Drop the event (it never reaches the alarms; counted)
          </label>
          {errAt(err, 'actions.drop')}
          {!v.drop ? (
            <>
              <div class="row3">
                <label>
                  Set criticality
                  <select name="set_criticality" value={v.crit} onChange={setAct('crit')}>
                    <option value="">— keep —</option>
                    <option value="red">RED</option>
                    <option value="orange">ORANGE</option>
                    <option value="green">GREEN</option>
                  </select>
                  {errAt(err, 'actions.set_criticality')}
                </label>
                <label>
                  Set domain
                  <input name="set_domain" value={v.domain} onInput={setAct('domain')} placeholder="database" />
                </label>
                <label>
                  Set category
                  <input name="set_category" value={v.category} onInput={setAct('category')} placeholder="storage" />
                </label>
              </div>
              <div class="row3">
                <label>
                  Set fields
                  <textarea name="set" rows={2} class="mono" value={v.set} onInput={setAct('set')} placeholder="tags.site=dc1" />
                  <small class="hint">field=value, one a line</small>
                  {errAt(err, 'actions.set')}
                </label>
                <label>
                  Rename
                  <textarea name="rename" rows={2} class="mono" value={v.rename} onInput={setAct('rename')} placeholder="tags.host=resource" />
                  <small class="hint">from=to, one a line</small>
                  {errAt(err, 'actions.rename')}
                </label>
                <label>
                  Add tags
                  <textarea name="add_tags" rows={2} class="mono" value={v.tags} onInput={setAct('tags')} placeholder="team=dba" />
                  <small class="hint">key=value, one a line</small>
                  {errAt(err, 'actions.add_tags')}
                </label>
              </div>
              <label class="check">
                <input type="checkbox" name="continue" checked={v.cont} onChange={setAct('cont')} />
                Then continue: the next rules apply too
              </label>
            </>
          ) : null}
          {err?.field === 'actions' ? errAt(err, 'actions') : null}
        </fieldset>
        {trying ? (
          <fieldset data-testid="rule-try">
            <legend>Try this rule, unsaved, on a sample event</legend>
            <textarea name="try-json" class="mono" rows={6} value={tryText} onInput={(e) => setTryText((e.target as HTMLTextAreaElement).value)} aria-label="Sample event" />
            <div>
              <button type="button" onClick={tryIt} data-testid="rule-try-go">
                Try
              </button>
            </div>
            <ErrorNote error={tryErr} />
            {tryRes ? <DryResultView res={tryRes} sample={tryText} /> : null}
          </fieldset>
        ) : null}
        {!shownInline ? <ErrorNote error={err?.message} /> : null}
        <div class="actions">
          {!trying ? (
            <button type="button" class="link try-link" onClick={() => setTrying(true)} data-testid="rule-try-open">
              Try it on a sample…
            </button>
          ) : null}
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy} data-testid="save-rule">
            {r ? 'Save' : 'Create rule'}
          </button>
        </div>
      </form>
    </Modal>
  )
}

// The dry-run panel: a sample event built from a few fields or pasted as
// JSON (the Canopsis form), run through every rule in force or one.
type Sample = { connector: string; connector_name: string; component: string; resource: string; state: string; output: string; tags: string }
type DryResult = { matched: boolean; rules: string[]; dropped: boolean; event: Record<string, unknown> }

function sampleJSON(s: Sample): string {
  const ev: Record<string, unknown> = {
    connector: s.connector,
    connector_name: s.connector_name,
    event_type: 'check',
    source_type: s.resource ? 'resource' : 'component',
    component: s.component,
    state: Number(s.state),
    output: s.output,
  }
  if (s.resource) ev.resource = s.resource
  const tags = fromLines(s.tags.replace(/,/g, '\n'))
  if (tags) ev.tags = tags
  return JSON.stringify(ev, null, 2)
}

function DryRun(props: { rules: Rule[] }) {
  const [mode, setMode] = useState<'build' | 'json'>('build')
  const [s, setS] = useState<Sample>({ connector: 'nagios', connector_name: 'nagios1', component: 'db-1', resource: 'disk', state: '2', output: 'disk /var 91% full', tags: '' })
  const [text, setText] = useState(sampleJSON(s))
  const [which, setWhich] = useState('')
  const [res, setRes] = useState<DryResult>()
  const [err, setErr] = useState<string>()
  const [busy, setBusy] = useState(false)
  const set = (k: keyof Sample) => (e: Event) => setS({ ...s, [k]: (e.target as HTMLInputElement).value })
  const run = async (e: Event) => {
    e.preventDefault()
    setErr(undefined)
    let event: unknown
    try {
      event = JSON.parse(mode === 'build' ? sampleJSON(s) : text)
    } catch (x) {
      setErr('The sample is not JSON: ' + String((x as Error).message))
      return
    }
    setBusy(true)
    try {
      setRes(await api<DryResult>('POST', '/rules/dry-run', which ? { name: which, event } : { event }))
    } catch (x) {
      setRes(undefined)
      setErr(x instanceof APIError ? (x.field ? `${x.field}: ` : '') + x.message.replace(/^[\w.[\]]+: /, '') : String(x))
    } finally {
      setBusy(false)
    }
  }
  const input = (k: keyof Sample, label: string, ph = '') => (
    <label>
      {label}
      <input name={`sample-${k}`} value={s[k]} onInput={set(k)} placeholder={ph} />
    </label>
  )
  return (
    <section class="card dryrun" data-testid="dry-run">
      <div class="card-head">
        <h2>Dry run</h2>
        <div class="seg" role="group" aria-label="Sample">
          <button
            class={mode === 'build' ? 'on' : ''}
            onClick={() => setMode('build')}
            aria-pressed={mode === 'build'}
          >
            Build
          </button>
          <button
            class={mode === 'json' ? 'on' : ''}
            onClick={() => {
              // The JSON starts from what was built.
              if (mode === 'build') setText(sampleJSON(s))
              setMode('json')
            }}
            aria-pressed={mode === 'json'}
            data-testid="dry-json"
          >
            JSON
          </button>
        </div>
      </div>
      <p class="muted small">What the rules would do to a sample event. Nothing is stored and no hit is counted.</p>
      <form class="form" onSubmit={run}>
        {mode === 'build' ? (
          <div class="row4">
            {input('connector', 'Connector')}
            {input('connector_name', 'Connector name')}
            {input('component', 'Component')}
            {input('resource', 'Resource', 'empty: the component itself')}
            <label>
              State
              <select name="sample-state" value={s.state} onChange={set('state')}>
                {['0 OK', '1 MINOR', '2 MAJOR', '3 CRITICAL'].map((x) => (
                  <option value={x[0]}>{x}</option>
                ))}
              </select>
            </label>
            {input('output', 'Output')}
            {input('tags', 'Tags', 'env=prod, site=dc1')}
          </div>
        ) : (
          <label>
            Event <span class="hint">in the Canopsis form, as POST /api/v1/events takes it</span>
            <textarea name="sample-json" class="mono" rows={9} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
          </label>
        )}
        <div class="dry-go">
          <label class="inline">
            Through
            <select name="dry-rule" value={which} onChange={(e) => setWhich((e.target as HTMLSelectElement).value)}>
              <option value="">every rule in force, in order</option>
              {props.rules.map((r) => (
                <option value={r.name}>only {r.name}</option>
              ))}
            </select>
          </label>
          <button type="submit" class="primary" disabled={busy} data-testid="dry-run-go">
            Try
          </button>
        </div>
      </form>
      <ErrorNote error={err} />
      {res ? <DryResultView res={res} sample={mode === 'build' ? sampleJSON(s) : text} /> : null}
    </section>
  )
}

function DryResultView(props: { res: DryResult; sample: string }) {
  const { res } = props
  let before: Record<string, unknown> = {}
  try {
    before = JSON.parse(props.sample)
  } catch {
    // Shown without highlights.
  }
  // The fields worth reading, in the order an operator reads them; time is
  // the server's now for a sample and says nothing.
  const keys = ['criticality', 'domain', 'category', 'connector', 'connector_name', 'component', 'resource', 'state', 'output', 'event_type', 'source_type', 'long_output', 'perf_data']
  const show = (x: unknown) => (x === undefined || x === '' ? '—' : typeof x === 'object' ? JSON.stringify(x) : String(x))
  const tags = (res.event.tags ?? {}) as Record<string, string>
  const tagsBefore = JSON.stringify(before.tags ?? {})
  return (
    <div class="dry-result" data-testid="dry-result" data-matched={String(res.matched)} data-dropped={String(res.dropped)}>
      <div class="dry-verdict">
        {res.matched ? (
          <>
            <span class="badge s-active">MATCHED</span> by{' '}
            {res.rules.map((n) => (
              <strong class="chip" data-testid="dry-rule">
                {n}
              </strong>
            ))}
          </>
        ) : (
          <span class="badge s-disabled">NO RULE MATCHED</span>
        )}
        {res.dropped ? <span class="badge s-critical" data-testid="dry-dropped">DROPPED: the event would not reach the alarms</span> : null}
      </div>
      {!res.dropped ? (
        <table class="grid compact dry-event">
          <tbody>
            {keys
              .filter((k) => res.event[k] !== undefined || before[k] !== undefined)
              .map((k) => {
                const changed = show(res.event[k]) !== show(before[k])
                return (
                  <tr class={changed ? 'changed' : ''} data-field={k}>
                    <th>{k}</th>
                    <td>
                      {k === 'criticality' && res.event[k] ? <CritBadge c={String(res.event[k])} /> : <span class="mono">{show(res.event[k])}</span>}
                      {changed ? <span class="was">changed, was {show(before[k])}</span> : null}
                    </td>
                  </tr>
                )
              })}
            <tr class={JSON.stringify(tags) !== tagsBefore ? 'changed' : ''} data-field="tags">
              <th>tags</th>
              <td>
                {pairs(tags).length
                  ? pairs(tags).map(([k, v]) => (
                      <span class="chip">
                        {k}={v}
                      </span>
                    ))
                  : '—'}
              </td>
            </tr>
          </tbody>
        </table>
      ) : null}
    </div>
  )
}
