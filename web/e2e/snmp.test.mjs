// End-to-end test of the console's SNMP panel against Debian's real snmpd,
// started here on a loopback port with a config this file writes; values
// are compared with net-snmp's own snmpget and snmpbulkwalk.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { useVigie, apiCall, newPage, login, password, shots, base } from './harness.mjs'
import { useSnmpd, haveSnmpd, tool, value as toolValue, port as agentPort } from './snmpd.mjs'

// A short interval so that the interfaces discovered have rates within
// the test (the second poll gives the first rate).
useVigie({ VIGIE_SCHEDULER_INTERVAL: '2s' })

const user = 'e2euser'
const authPass = 'e2e-auth-pass'
const privPass = 'e2e-priv-pass'
useSnmpd(`createUser ${user} SHA "${authPass}" AES "${privPass}"\nrouser ${user} priv\n`)

test('SNMP panel: test v3 credentials, save them, discover interfaces with rates, walk the device', { skip: !haveSnmpd && 'snmpd is not installed' }, async () => {
  const created = await apiCall('POST', '/hosts', { name: 'e2e-switch', address: '127.0.0.1', domain: 'network', check: { kind: 'none' } })
  assert.equal(created.status, 201)
  const id = created.body.id

  const page = await newPage()
  await login(page, 'admin', password)
  await page.getByTestId('nav-hosts').waitFor()
  await page.goto(`${base}/hosts/${id}`)
  const panel = page.getByTestId('snmp-panel')
  await panel.waitFor()

  // v3 settings with a wrong password first: the test says so.
  const form = page.getByTestId('snmp-settings')
  await form.locator('select[name=snmp-version]').selectOption('3')
  await form.locator('input[name=snmp-port]').fill(String(agentPort))
  await form.locator('input[name=snmp-user]').fill(user)
  await form.locator('input[name=snmp-auth_password]').fill('not-the-password')
  await form.locator('input[name=snmp-priv_password]').fill(privPass)
  await page.getByTestId('snmp-test').click()
  const result = page.getByTestId('snmp-test-result')
  await result.getByText(/authentication failed/).waitFor()
  assert.doesNotMatch(await result.textContent(), /not-the-password/)

  await form.locator('input[name=snmp-auth_password]').fill(authPass)
  await page.getByTestId('snmp-test').click()
  const sysName = toolValue(tool('snmpget', '1.3.6.1.2.1.1.5.0'))
  await result.getByText(new RegExp(`OK — ${sysName} \\(3 authPriv`)).waitFor()
  await page.screenshot({ path: path.join(shots, 'snmp-test-ok.png'), fullPage: true })

  await page.getByTestId('snmp-save').click()
  await page.waitForFunction(async (hid) => {
    const r = await fetch(`/api/v1/hosts/${hid}`)
    const h = await r.json()
    return h.snmp && h.snmp.user === 'e2euser'
  }, id)
  const saved = await apiCall('GET', `/hosts/${id}`)
  assert.equal(saved.body.snmp.version, '3')
  assert.equal(saved.body.snmp.auth_password, '********', 'secrets are never read back')
  assert.equal(saved.body.snmp.priv_password, '********')

  // Discover the interfaces that are up: one service each, with rates.
  await page.locator('input[name=discover-health]').check()
  await page.getByTestId('snmp-discover').click()
  await page.getByTestId('snmp-discovery').getByText(/\d+ created/).waitFor()
  assert.match(await page.getByTestId('snmp-discovery').textContent(), /health: uptime, .*memory available/)
  const services = await apiCall('GET', `/hosts/${id}/services?limit=1000`)
  assert.ok(services.body.items.some((s) => s.name === 'uptime' && s.check.kind === 'snmp'), 'an uptime service')
  const table = page.getByTestId('snmp-interfaces')
  await table.waitFor()
  const walked = tool('snmpbulkwalk', '1.3.6.1.2.1.2.2.1.8') // ifOperStatus
  const up = walked.split('\n').filter((l) => /INTEGER: (1|up)\b/.test(l)).length
  assert.ok(up > 0, 'the agent has an interface up')
  assert.equal(await table.locator('tbody tr').count(), up)
  // The first rate comes with the second poll (the interval is 2 s here).
  await table.locator('[data-testid=if-in]', { hasText: /b\/s/ }).first().waitFor({ timeout: 30000 })
  await page.screenshot({ path: path.join(shots, 'snmp-interfaces.png'), fullPage: true })
  // A graph per interface: the host dashboard (reloaded) has a group for
  // the interface's service with its traffic panel.
  const ifName = await table.locator('tbody tr').first().getAttribute('data-interface')
  await page.reload()
  const group = page.locator(`[data-testid=dash-group][data-service="if ${ifName}"]`)
  // Panels draw once scrolled into view.
  const bps = group.locator('[data-testid=panel][data-title="in_bps, out_bps"]')
  await bps.waitFor({ timeout: 30000 })
  await bps.scrollIntoViewIfNeeded()
  await bps.locator('canvas').first().waitFor({ timeout: 30000 })
  await group.locator('[data-testid=panel][data-title="in_octets, out_octets"]').waitFor()
  assert.match(await bps.textContent(), /b\/s/)
  await group.screenshot({ path: path.join(shots, 'snmp-interface-graphs.png') })

  // Walk ifDescr: the same values as snmpbulkwalk.
  await page.locator('input[name=walk-oid]').fill('ifDescr')
  await page.getByTestId('snmp-walk').click()
  const walk = page.getByTestId('snmp-walk-result')
  await walk.waitFor()
  const ref = tool('snmpbulkwalk', '1.3.6.1.2.1.2.2.1.2').trim().split('\n')
  assert.equal(await walk.locator('tbody tr').count(), ref.length)
  const first = ref[0].match(/^\.(\S+) = STRING: "?([^"]*)"?/)
  const row = walk.locator(`tr[data-oid="${first[1]}"]`)
  assert.match(await row.textContent(), new RegExp(`ifDescr\\.\\d+.*${first[2]}`))
  await page.screenshot({ path: path.join(shots, 'snmp-walk.png'), fullPage: true })
  await page.context().close()
})
