// End-to-end test of the host group SNMP template editor against Debian's
// real snmpd, started here on a loopback port: a template made in the
// console reaches every member, its values equal to snmpget's; a bad OID
// is named beside its field; removing an item removes its services.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { useVigie, apiCall, newPage, login, password, shots, base } from './harness.mjs'
import { useSnmpd, haveSnmpd, tool, value, port as agentPort } from './snmpd.mjs'

useVigie({ VIGIE_SCHEDULER_INTERVAL: '2s' })
useSnmpd()

const snmpget = (oid) => value(tool('snmpget', oid))

async function servicesOf(host) {
  const r = await apiCall('GET', `/services?limit=1000&host=${host}`)
  assert.equal(r.status, 200)
  return Object.fromEntries(r.body.items.map((s) => [s.name, s]))
}

async function until(what, cond) {
  const deadline = Date.now() + 30000
  for (;;) {
    if (await cond()) return
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what)
    await new Promise((r) => setTimeout(r, 200))
  }
}

test('host group SNMP template: edit in the console, every member polls it', { skip: !haveSnmpd && 'snmpd is not installed' }, async () => {
  for (const name of ['tsw1', 'tsw2']) {
    const r = await apiCall('POST', '/hosts', { name, address: '127.0.0.1', domain: 'network', check: { kind: 'none' }, groups: ['e2e-core'] })
    assert.equal(r.status, 201)
  }
  const page = await newPage()
  await login(page, 'admin', password)
  await page.getByTestId('nav-groups').click()
  const row = page.locator('[data-testid=hostgroup-row][data-name=e2e-core]')
  await row.waitFor()
  assert.equal(await row.getByTestId('template-summary').textContent(), '—')
  await row.getByTestId('edit-template').click()

  const form = page.getByTestId('template-form')
  await form.locator('input[name=snmp-version]').fill('2c')
  await form.locator('input[name=snmp-community]').fill('public')
  await form.locator('input[name=snmp-port]').fill(String(agentPort))
  const addItem = async (name, oid, critical) => {
    await form.getByTestId('add-item').click()
    const item = form.getByTestId('template-item').last()
    await item.locator('input[name=item-name]').fill(name)
    await item.locator('input[name=item-oid]').fill(oid)
    if (critical) await item.locator('input[name=item-critical]').fill(critical)
    await item.locator('input[name=item-interval]').fill('1s')
  }
  await addItem('mtu', 'ifMtu.1')
  await addItem('speed', 'ifSpeed.1', '0:0')
  await addItem('bad', 'ifFoo')
  await form.getByTestId('save-template').click()
  // The server names the field at fault; the editor shows it beside it.
  const fieldErr = form.locator('[data-error-for="snmp_template.services[2].oid"]')
  await fieldErr.waitFor()
  assert.match(await fieldErr.textContent(), /unknown name "ifFoo"/)
  await form.getByTestId('remove-item').last().click()
  await form.getByTestId('save-template').click()
  await form.waitFor({ state: 'detached' })
  await row.getByTestId('template-summary').getByText('2 services').waitFor()
  await page.screenshot({ path: path.join(shots, 'snmp-template.png'), fullPage: true })

  const group = await apiCall('GET', '/hostgroups/e2e-core')
  assert.equal(group.body.snmp_template.snmp.community, '********', 'secrets are never read back')
  const mtu = Number(snmpget('1.3.6.1.2.1.2.2.1.4.1'))
  for (const host of ['tsw1', 'tsw2']) {
    await until(`${host} to poll the template's values`, async () => {
      const s = await servicesOf(host)
      const v = s.mtu?.perfdata?.find((p) => p.label === 'ifMtu.1')?.value
      return s.mtu?.state === 'OK' && v === mtu && s.mtu.template === 'e2e-core' && s.speed?.state === 'CRITICAL'
    })
  }

  // Removing an item in the editor removes its services on every member;
  // the masked community sent back keeps the stored one, so the item kept
  // is not even rewritten.
  const before = (await servicesOf('tsw1')).mtu.updated_at
  await row.getByTestId('edit-template').click()
  await form.getByTestId('remove-item').last().click()
  await form.getByTestId('save-template').click()
  await form.waitFor({ state: 'detached' })
  await row.getByTestId('template-summary').getByText('1 service').waitFor()
  for (const host of ['tsw1', 'tsw2']) {
    const s = await servicesOf(host)
    assert.deepEqual(Object.keys(s), ['mtu'], `${host} keeps only the mtu item`)
  }
  assert.equal((await servicesOf('tsw1')).mtu.updated_at, before, 'the kept item is untouched (its community kept)')

  // On the host, the service says where it comes from and offers no edit.
  const host = await apiCall('GET', '/hosts/tsw1')
  await page.goto(`${base}/hosts/${host.body.id}`)
  const chip = page.locator('tr[data-service=mtu] [data-testid=template-chip]')
  await chip.waitFor()
  assert.equal(await chip.textContent(), 'e2e-core')
  await page.locator('tr[data-service=mtu] a', { hasText: 'mtu' }).click()
  await page.getByTestId('template-note').waitFor()
  assert.equal(await page.getByTestId('edit-service').count(), 0, 'a template service is edited through its template')
})
