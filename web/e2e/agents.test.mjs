// End-to-end tests of the Agents page: a token made in the console and
// shown once, an agent enrolling with it, a config pushed (a field error
// first), the token revoked; the page is the admin's only.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { useVigie, apiCall, newPage, login, password, shots, base } from './harness.mjs'

useVigie()

// enrol calls the agent side of the API with a bearer token.
async function enrol(token, body = { host: 'e2e-agent', interval: '10s', version: 'e2e', services: ['cpu', 'memory'] }) {
  const r = await fetch(base + '/api/v1/agent/enrol', {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  })
  const text = await r.text()
  return { status: r.status, body: text ? JSON.parse(text) : undefined }
}

test('agents: an admin makes a token (shown once), an agent enrols with it, a config is pushed, the token is revoked', async () => {
  const page = await newPage()
  await login(page, 'admin', password)
  await page.getByTestId('nav-agents').click()
  await page.getByRole('heading', { name: /Agents/ }).waitFor()
  await page.locator('.empty', { hasText: 'No agent token yet' }).waitFor()

  // A new token: name and a desired interval.
  await page.getByTestId('new-agent-token').click()
  const form = page.getByTestId('agent-token-form')
  await form.locator('input[name=name]').fill('e2e-agent')
  await form.locator('input[name=interval]').fill('30s')
  await page.screenshot({ path: path.join(shots, 'agents-new.png') })
  await form.getByTestId('create-agent-token').click()

  // The token, once, with the command to run the agent.
  const shown = page.getByTestId('token-shown')
  await shown.waitFor()
  const token = await shown.getByTestId('new-token').inputValue()
  assert.match(token, /^vga_\S{20,}$/)
  assert.match(await shown.textContent(), /Shown once/)
  const cmd = await shown.getByTestId('install-command').inputValue()
  assert.ok(cmd.includes(token), cmd)
  assert.ok(cmd.includes(`vigie-agent --server ${base} \\\n  --token-file /etc/vigie/agent.token`), cmd)
  await page.screenshot({ path: path.join(shots, 'agents-token-shown.png') })
  await shown.getByTestId('token-done').click()

  const row = page.locator('tr[data-testid=agent-row][data-name=e2e-agent]')
  await row.waitFor()
  assert.equal(await row.getAttribute('data-live'), 'waiting')
  assert.match(await row.textContent(), /NOT ENROLLED/)
  assert.match(await row.getByTestId('desired').textContent(), /every 30s/)

  // Reloading shows it no more: neither the page nor the API has it.
  await page.reload()
  await row.waitFor()
  assert.equal(await page.getByTestId('token-shown').count(), 0)
  assert.ok(!(await page.content()).includes(token))
  const listed = await apiCall('GET', '/agent-tokens')
  assert.ok(!JSON.stringify(listed.body).includes(token))

  // An agent enrols with it: the list shows the bound host, heard from.
  const en = await enrol(token)
  assert.equal(en.status, 200, JSON.stringify(en.body))
  assert.equal(en.body.host, 'e2e-agent')
  assert.equal(en.body.config?.interval, '30s')
  await row.locator('[data-testid=agent-host] a', { hasText: 'e2e-agent' }).waitFor({ timeout: 15000 })
  await page.waitForFunction(() => document.querySelector('tr[data-name=e2e-agent]')?.getAttribute('data-live') === 'heard')
  assert.match(await row.textContent(), /HEARD/)
  assert.match(await row.textContent(), /every 10s · agent e2e/)
  assert.equal(await row.locator('[data-testid=agent-host] a').getAttribute('href'), `/hosts/${en.body.host_id}`)
  await page.screenshot({ path: path.join(shots, 'agents-list.png') })

  // A bad interval: the API's error beside the field; then a good one.
  await row.getByTestId('push-config').click()
  const cf = page.getByTestId('agent-config-form')
  assert.equal(await cf.locator('input[name=interval]').inputValue(), '30s')
  await cf.locator('input[name=interval]').fill('5ms')
  await cf.locator('input[name=collect][value=cpu]').check()
  await cf.getByTestId('save-agent-config').click()
  const fe = cf.locator('[data-error-for=interval]')
  await fe.waitFor()
  assert.match(await fe.textContent(), /between 1s and 1h/)
  await page.screenshot({ path: path.join(shots, 'agents-config-error.png') })
  await cf.locator('input[name=interval]').fill('1m')
  await cf.locator('input[name=collect][value=memory]').check()
  await cf.getByTestId('save-agent-config').click()
  await cf.waitFor({ state: 'detached' })
  await page.waitForFunction(() => /every 1m/.test(document.querySelector('tr[data-name=e2e-agent] [data-testid=desired]')?.textContent ?? ''))
  assert.match(await row.getByTestId('desired').textContent(), /cpu, memory/)
  const got = await apiCall('GET', `/agent-tokens/${listed.body.items[0].id}`)
  assert.deepEqual(got.body.config, { version: 2, interval: '1m0s', collect: ['cpu', 'memory'] })

  // Revoked after a confirmation: the agent is refused.
  await row.getByTestId('revoke-token').click()
  const dlg = page.getByRole('dialog', { name: /Revoke e2e-agent/ })
  await dlg.waitFor()
  await page.screenshot({ path: path.join(shots, 'agents-revoke.png') })
  await dlg.getByTestId('confirm-revoke').click()
  await row.waitFor({ state: 'detached' })
  assert.equal((await enrol(token)).status, 401)
  await page.context().close()
})

test('agents: a viewer or an operator has no Agents entry, and the API refuses them', async () => {
  for (const [login_, pw, role] of [
    ['vic', 'viewer-pass-9', 'viewer'],
    ['opal', 'operator-pass-9', 'operator'],
  ]) {
    assert.equal((await apiCall('POST', '/users', { login: login_, password: pw, role })).status, 201)
    const page = await newPage()
    await login(page, login_, pw)
    await page.getByTestId('who').waitFor()
    await page.getByTestId('nav-hosts').waitFor()
    assert.equal(await page.getByTestId('nav-agents').count(), 0, role)
    // Typed by hand, /agents is the overview.
    await page.goto(base + '/agents')
    await page.getByTestId('who').waitFor()
    assert.equal(await page.getByTestId('new-agent-token').count(), 0, role)
    const r = await fetch(base + '/api/v1/agent-tokens', { headers: { Authorization: 'Basic ' + Buffer.from(`${login_}:${pw}`).toString('base64') } })
    assert.equal(r.status, 403, role)
    await page.context().close()
  }
})
