// End-to-end tests of the qualification rules and maintenance screens, and
// of the flapping, maintenance and idle markers on alarms.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { useVigie, apiCall, newPage, login, password, shots, base } from './harness.mjs'

// A configuration with one YAML rule (shown read-only) and an idle rule
// (the quickest it may be: 1m, looked at every 30 s).
const cfgDir = mkdtempSync(path.join(tmpdir(), 'vigie-e2e-rules-'))
const cfg = path.join(cfgDir, 'vigie.yaml')
writeFileSync(
  cfg,
  `events:
  rules:
    - name: yaml-drop-debug
      match: [{field: tags.severity, equals: debug}]
      actions: {drop: true}
alarms:
  idle_rules:
    - name: heartbeat
      match: {connector: e2e-idle}
      after: 1m
`,
)
useVigie({ VIGIE_CONFIG: cfg })

const ev = (component, resource, state, output, extra = {}) => ({
  connector: 'nagios', connector_name: 'e2e', event_type: 'check', source_type: 'resource', component, resource, state, output, ...extra,
})

async function post(...events) {
  const r = await apiCall('POST', '/events', events)
  assert.equal(r.status, 202, JSON.stringify(r.body))
}

// as calls the API as another user, with basic credentials.
async function as(user, pw, method, p, body) {
  const r = await fetch(base + '/api/v1' + p, {
    method,
    headers: { Authorization: 'Basic ' + Buffer.from(`${user}:${pw}`).toString('base64'), 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  })
  return r.status
}

let beat
test('idle: a watched component sends its first event (its silence is checked at the end)', async () => {
  beat = Date.now()
  await post({ connector: 'e2e-idle', connector_name: 'beat', event_type: 'check', source_type: 'component', component: 'idle-e2e', state: 0, output: 'alive' })
})

test('rules: an admin creates a rule (a field error first), dry-runs it, sees an alarm qualified red and the hit counted, edits and deletes it', async () => {
  const page = await newPage()
  await login(page, 'admin', password)
  await page.getByTestId('nav-rules').click()
  const table = page.getByTestId('rules')

  // The YAML rule is listed, marked and read-only.
  const yaml = table.locator('tr[data-rule=yaml-drop-debug]')
  await yaml.waitFor()
  assert.equal(await yaml.getAttribute('data-source'), 'config')
  assert.match(await yaml.textContent(), /from config/)
  assert.match(await yaml.textContent(), /tags\.severity\s*=\s*debug/)
  assert.match(await yaml.textContent(), /DROP/)
  assert.equal(await yaml.getByTestId('edit-rule').count(), 0)
  assert.equal(await yaml.getByTestId('delete-rule').count(), 0)

  // A bad regular expression: the API's error shows beside the condition.
  await page.getByTestId('new-rule').click()
  const form = page.getByTestId('rule-form')
  await form.locator('input[name=name]').fill('red-db-e2e')
  const cond = form.getByTestId('cond-row').first()
  assert.equal(await cond.locator('input[name=cond-field]').inputValue(), 'component')
  assert.equal(await cond.locator('select[name=cond-op]').inputValue(), 'regex')
  await cond.locator('input[name=cond-value]').fill('db-(')
  await form.locator('select[name=set_criticality]').selectOption('red')
  await form.locator('textarea[name=add_tags]').fill('team=dba')
  const fieldErr = cond.locator('.field-error[data-error-for="match[0].regex"]')
  // Tried before saving, the API's dry run finds the fault; saving too.
  await page.getByTestId('rule-try-open').click()
  const tryBox = form.getByTestId('rule-try')
  await tryBox.locator('textarea[name=try-json]').fill(JSON.stringify(ev('db-e2e-9', 'disk', 1, 'disk 80%')))
  await page.getByTestId('rule-try-go').click()
  await fieldErr.waitFor()
  assert.match(await fieldErr.textContent(), /^compiling "db-\(": missing closing \)$/)
  await page.getByTestId('save-rule').click()
  await fieldErr.waitFor()
  assert.match(await fieldErr.textContent(), /missing closing \)/)
  await page.screenshot({ path: path.join(shots, 'rule-form-error.png') })

  // Fixed, the rule turns the sample red.
  await cond.locator('input[name=cond-value]').fill('db-e2e-.*')
  await page.getByTestId('rule-try-go').click()
  await tryBox.locator('[data-testid=dry-result][data-matched=true] tr[data-field=criticality] [data-criticality=red]').waitFor()
  assert.equal(await fieldErr.count(), 0)
  await page.screenshot({ path: path.join(shots, 'rule-form-try.png') })
  await page.getByTestId('save-rule').click()
  const row = table.locator('tr[data-rule=red-db-e2e]')
  await row.waitFor()
  assert.equal(await form.count(), 0)
  assert.equal(await row.getAttribute('data-source'), 'api')
  assert.match(await row.textContent(), /component\s*~\s*db-e2e-\.\*/)
  await row.locator('[data-criticality=red]').waitFor()
  assert.equal(await row.getByTestId('rule-hits').textContent(), '0')

  // Dry run, built from fields: the rule matches and the event turns red.
  const dry = page.getByTestId('dry-run')
  await dry.locator('input[name=sample-component]').fill('db-e2e-1')
  await dry.locator('select[name=sample-state]').selectOption('1')
  await page.getByTestId('dry-run-go').click()
  const res = dry.getByTestId('dry-result')
  await res.waitFor()
  assert.equal(await res.getAttribute('data-matched'), 'true')
  assert.equal(await res.getAttribute('data-dropped'), 'false')
  assert.equal(await res.getByTestId('dry-rule').textContent(), 'red-db-e2e')
  await res.locator('tr[data-field=criticality] [data-criticality=red]').waitFor()
  assert.match(await res.locator('tr[data-field=tags]').textContent(), /team=dba/)
  await page.screenshot({ path: path.join(shots, 'rules-dry-run.png'), fullPage: true })

  // Dry run, pasted as JSON: the YAML rule drops a debug event.
  await page.getByTestId('dry-json').click()
  await dry.locator('textarea[name=sample-json]').fill(JSON.stringify(ev('web1', 'app', 1, 'verbose', { tags: { severity: 'debug' } })))
  await page.getByTestId('dry-run-go').click()
  await dry.locator('[data-testid=dry-result][data-dropped=true]').waitFor()
  assert.equal(await res.getByTestId('dry-rule').textContent(), 'yaml-drop-debug')
  assert.match(await res.getByTestId('dry-dropped').textContent(), /DROPPED/)
  // A sample the API refuses says which field.
  await dry.locator('textarea[name=sample-json]').fill(JSON.stringify(ev('web1', 'app', 7, 'x')))
  await page.getByTestId('dry-run-go').click()
  await dry.getByRole('alert').waitFor()
  assert.match(await dry.getByRole('alert').textContent(), /event\.state/)

  // A matching event: its alarm is red (state 1 alone would make it green)
  // and the rule counts one hit; the dry runs counted none.
  await post(ev('db-e2e-1', 'disk', 1, 'disk /var 81% full'))
  await page.getByTestId('nav-alarms').click()
  const alarmRow = page.getByTestId('alarms').locator('tr[data-component=db-e2e-1]')
  await alarmRow.locator('[data-criticality=red]').waitFor()
  await page.getByTestId('nav-rules').click()
  await table.locator('tr[data-rule=red-db-e2e] [data-testid=rule-hits]').waitFor()
  assert.equal(await row.getByTestId('rule-hits').textContent(), '1')
  await page.screenshot({ path: path.join(shots, 'rules.png'), fullPage: true })

  // Edit: orange now, and after another rule.
  assert.equal((await apiCall('POST', '/rules', { name: 'other-e2e', match: [{ field: 'component', equals: 'other' }], actions: { set_category: 'x' } })).status, 201)
  await page.getByTestId('nav-alarms').click()
  await page.getByTestId('nav-rules').click()
  await table.locator('tr[data-rule=other-e2e]').waitFor()
  const order = () => table.getByTestId('rule-row').evaluateAll((rs) => rs.map((r) => r.dataset.rule).join(' '))
  assert.equal(await order(), 'yaml-drop-debug red-db-e2e other-e2e')
  await row.getByTestId('edit-rule').click()
  assert.equal(await form.locator('input[name=name]').inputValue(), 'red-db-e2e')
  assert.equal(await form.locator('input[name=position]').inputValue(), '0')
  assert.equal(await form.getByTestId('cond-row').first().locator('input[name=cond-value]').inputValue(), 'db-e2e-.*')
  await form.locator('select[name=set_criticality]').selectOption('orange')
  await form.locator('input[name=position]').fill('1')
  await page.screenshot({ path: path.join(shots, 'rule-form-edit.png') })
  await page.getByTestId('save-rule').click()
  await row.locator('[data-criticality=orange]').waitFor()
  assert.equal(await order(), 'yaml-drop-debug other-e2e red-db-e2e')
  assert.equal((await apiCall('GET', '/rules/red-db-e2e')).body.actions.set_criticality, 'orange')
  // The hit counter is the rule's: moving and editing kept it.
  assert.equal(await row.getByTestId('rule-hits').textContent(), '1')

  // Delete.
  await row.getByTestId('delete-rule').click()
  await page.getByTestId('confirm-delete').click()
  await row.waitFor({ state: 'detached' })
  assert.equal((await apiCall('GET', '/rules/red-db-e2e')).status, 404)
  await page.context().close()
})

test('maintenance: an operator declares a window for a host; its alarm is marked MAINTENANCE until the window ends', async () => {
  assert.equal((await apiCall('POST', '/users', { login: 'olga', password: 'operator-pass-1', role: 'operator' })).status, 201)
  const page = await newPage()
  await login(page, 'olga', 'operator-pass-1')
  await page.getByTestId('nav-maintenance').click()
  await page.getByTestId('new-maintenance').click()
  const form = page.getByTestId('maintenance-form')

  // A weekly window with a bad duration: the API's error beside the field.
  await form.locator('input[name=name]').fill('backups')
  await form.locator('button[data-kind=weekly]').click()
  await form.locator('input[name=day][value=sat]').check()
  await form.locator('input[name=duration]').fill('forever')
  await form.locator('input[name=hosts]').fill('backup-e2e')
  await page.getByTestId('save-maintenance').click()
  await form.locator('.field-error[data-error-for="weekly.duration"]').waitFor()
  await page.screenshot({ path: path.join(shots, 'maintenance-form-error.png') })
  await form.locator('input[name=duration]').fill('3h')
  await page.getByTestId('save-maintenance').click()
  const table = page.getByTestId('maintenances')
  const weekly = table.locator('tr[data-name=backups]')
  await weekly.waitFor()
  assert.match(await weekly.textContent(), /every Sat at 22:00 for 3h/)
  // The next one, in the browser's time (UTC here): the coming Saturday.
  const sat = new Date()
  sat.setUTCDate(sat.getUTCDate() + ((6 - sat.getUTCDay() + 7) % 7))
  if (sat.getUTCDay() === new Date().getUTCDay() && new Date().getUTCHours() >= 22) sat.setUTCDate(sat.getUTCDate() + 7)
  assert.match(await weekly.getByTestId('next-start').textContent(), new RegExp(`next Sat, .*${String(sat.getUTCDate()).padStart(2, '0')}.* 10:00 PM your time`))
  assert.match(await weekly.textContent(), /host backup-e2e/)

  // A window over a match: an empty one (every source) is refused.
  await page.getByTestId('new-maintenance').click()
  await form.locator('input[name=name]').fill('racks')
  await form.locator('button[data-scope=match]').click()
  await page.getByTestId('save-maintenance').click()
  await form.locator('.field-error[data-error-for=match]').waitFor()
  await form.locator('input[name=match-component]').fill('rack-.*')
  await page.getByTestId('save-maintenance').click()
  await table.locator('tr[data-name=racks]').waitFor()
  assert.match(await table.locator('tr[data-name=racks]').textContent(), /match component ~ rack-\.\*/)
  assert.equal((await apiCall('GET', '/maintenances')).body.items.find((m) => m.name === 'racks').match.component, 'rack-.*')
  await table.locator('tr[data-name=racks]').getByTestId('delete-maintenance').click()
  await page.getByTestId('confirm-delete').click()
  await table.locator('tr[data-name=racks]').waitFor({ state: 'detached' })

  // A one-off window from now, over one host.
  await page.getByTestId('new-maintenance').click()
  await form.locator('input[name=name]').fill('switch upgrade')
  await form.locator('input[name=hosts]').fill('maint-e2e')
  await page.screenshot({ path: path.join(shots, 'maintenance-form.png') })
  await page.getByTestId('save-maintenance').click()
  const row = table.locator('tr[data-name="switch upgrade"]')
  await row.waitFor()
  assert.equal(await row.getAttribute('data-phase'), 'active')
  assert.match(await row.locator('[data-phase]').textContent(), /ACTIVE NOW/)
  assert.match(await row.textContent(), /olga/)
  assert.match(await page.getByTestId('maint-active').textContent(), /[12] active now/)
  await page.screenshot({ path: path.join(shots, 'maintenances.png') })

  // An event for the host: its alarm is in maintenance, in the list and on its page.
  await post(ev('maint-e2e', 'port 12', 3, 'link down'), ev('outside-e2e', 'port 1', 3, 'link down'))
  await page.getByTestId('nav-alarms').click()
  const alarms = page.getByTestId('alarms')
  await alarms.locator('tr[data-component=maint-e2e] [data-marker=maintenance]').waitFor()
  await alarms.locator('tr[data-component=outside-e2e]').waitFor()
  assert.equal(await alarms.locator('tr[data-component=outside-e2e] [data-marker=maintenance]').count(), 0)
  assert.match(await alarms.locator('tr[data-component=maint-e2e] [data-marker=maintenance]').textContent(), /MAINTENANCE/)
  await page.screenshot({ path: path.join(shots, 'alarms-maintenance.png') })
  await alarms.locator('tr[data-component=maint-e2e] a').click()
  await page.waitForURL(/\/alarms\/\d+$/)
  const alarmURL = page.url()
  await page.locator('h1 [data-marker=maintenance]').waitFor()
  await page.getByTestId('steps').locator('[data-step=maintenance]').waitFor()
  assert.match(await page.getByTestId('steps').textContent(), /Entered maintenance/)
  await page.screenshot({ path: path.join(shots, 'alarm-maintenance.png'), fullPage: true })

  // End the window now: the alarm leaves maintenance.
  await page.getByTestId('nav-maintenance').click()
  assert.equal(await row.getByTestId('delete-maintenance').textContent(), 'End now')
  await row.getByTestId('delete-maintenance').click()
  await page.getByTestId('confirm-delete').click()
  await row.waitFor({ state: 'detached' })
  await page.goto(alarmURL)
  await page.getByTestId('steps').locator('[data-step=maintenanceend]').waitFor()
  assert.equal(await page.locator('h1 [data-marker=maintenance]').count(), 0)
  await page.context().close()
})

test('flapping: an alarm whose state keeps changing is marked FLAPPING and found with the Flapping filter', async () => {
  // Open, worse, better, worse, better: five changes within the window.
  for (const state of [1, 3, 1, 3, 1]) await post(ev('flap-e2e', 'link', state, `state ${state}`))
  const a = (await apiCall('GET', '/alarms?component=flap-e2e&status=open')).body.items[0]
  assert.equal(a.flapping, true)
  const page = await newPage()
  await login(page, 'admin', password)
  await page.getByTestId('nav-alarms').click()
  await page.locator('button[data-status=flapping]').click()
  await page.waitForURL(/[?&]status=flapping/)
  const alarms = page.getByTestId('alarms')
  await alarms.locator('tr[data-component=flap-e2e] [data-marker=flapping]').waitFor()
  // Only flapping alarms are listed, once the filtered list has replaced
  // the one shown before the click.
  await alarms.locator('tr[data-component=db-e2e-1]').waitFor({ state: 'detached' })
  await page.waitForFunction(() => {
    const t = document.querySelector('[data-testid=alarms]')
    const rows = t.querySelectorAll('[data-testid=alarm-row]').length
    return rows > 0 && rows === t.querySelectorAll('[data-testid=alarm-row] [data-marker=flapping]').length
  })
  await page.screenshot({ path: path.join(shots, 'alarms-flapping.png') })
  await alarms.locator('tr[data-component=flap-e2e] a').click()
  await page.locator('h1 [data-marker=flapping]').waitFor()
  await page.getByTestId('steps').locator('[data-step=flapping]').waitFor()
  assert.match(await page.getByTestId('steps').textContent(), /Flapping started/)
  await page.context().close()
})

test('a viewer reads the rules and the windows but has no button to change them, and the API refuses', async () => {
  assert.equal((await apiCall('POST', '/maintenances', { name: 'racks', start: new Date(Date.now() + 86400e3).toISOString(), end: new Date(Date.now() + 90000e3).toISOString(), groups: ['dc1'] })).status, 201)
  assert.equal((await apiCall('POST', '/rules', { name: 'tag-site', match: [{ field: 'connector', equals: 'nagios' }], actions: { add_tags: { site: 'dc1' }, continue: true } })).status, 201)
  assert.equal((await apiCall('POST', '/users', { login: 'vic', password: 'viewer-pass-3', role: 'viewer' })).status, 201)
  const page = await newPage()
  await login(page, 'vic', 'viewer-pass-3')
  await page.getByTestId('nav-rules').click()
  await page.getByTestId('rules').locator('tr[data-rule=tag-site]').waitFor()
  assert.match(await page.getByTestId('rules').locator('tr[data-rule=tag-site]').textContent(), /then continue/)
  assert.equal(await page.getByTestId('new-rule').count(), 0)
  assert.equal(await page.getByTestId('edit-rule').count(), 0)
  assert.equal(await page.getByTestId('delete-rule').count(), 0)
  assert.equal(await page.getByTestId('dry-run').count(), 0)
  await page.screenshot({ path: path.join(shots, 'rules-viewer.png'), fullPage: true })
  await page.getByTestId('nav-maintenance').click()
  const row = page.getByTestId('maintenances').locator('tr[data-name=racks]')
  await row.waitFor()
  assert.equal(await row.getAttribute('data-phase'), 'scheduled')
  assert.match(await row.textContent(), /SCHEDULED/)
  assert.match(await row.textContent(), /group dc1/)
  assert.equal(await page.getByTestId('new-maintenance').count(), 0)
  assert.equal(await page.getByTestId('delete-maintenance').count(), 0)
  await page.screenshot({ path: path.join(shots, 'maintenances-viewer.png') })
  await page.context().close()
  assert.equal(await as('vic', 'viewer-pass-3', 'DELETE', '/rules/tag-site'), 403)
  assert.equal(await as('vic', 'viewer-pass-3', 'POST', '/maintenances', { name: 'x', start: new Date().toISOString(), end: new Date(Date.now() + 60e3).toISOString(), hosts: ['h'] }), 403)
})

test('idle: a component silent for the rule\'s minute gets a NO EVENTS alarm saying since when', async () => {
  // The first test's event started the minute; the engine looks every 30 s.
  const deadline = Date.now() + 150e3
  let a
  while (!a && Date.now() < deadline) {
    a = (await apiCall('GET', '/alarms?component=idle-e2e&connector=vigie&status=open')).body.items[0]
    if (!a) await new Promise((r) => setTimeout(r, 2000))
  }
  assert.ok(a, 'no idle alarm within 150 s')
  assert.match(a.output, /^no events from idle-e2e for 1m$/)
  // The engine tags when the component last spoke (to the second).
  assert.ok(Math.abs(new Date(a.tags.silent_since).getTime() - beat) < 3000, `silent_since ${a.tags.silent_since}, event posted at ${new Date(beat).toISOString()}`)
  const page = await newPage()
  await login(page, 'admin', password)
  await page.getByTestId('nav-alarms').waitFor()
  await page.goto(base + '/alarms?search=idle-e2e')
  const marker = page.getByTestId('alarms').locator('tr[data-component=idle-e2e] [data-marker=idle]')
  await marker.waitFor()
  assert.match(await marker.textContent(), /^NO EVENTS \d+m/)
  await page.screenshot({ path: path.join(shots, 'alarms-idle.png') })
  await page.goto(base + '/alarms/' + a.id)
  const note = page.getByTestId('idle-note')
  await note.waitFor()
  assert.match(await note.textContent(), /No events from idle-e2e since \d.+ \(\d+m \d+s of silence\)\. The idle rule heartbeat raised this alarm/)
  await page.screenshot({ path: path.join(shots, 'alarm-idle.png'), fullPage: true })
  await page.context().close()
})
