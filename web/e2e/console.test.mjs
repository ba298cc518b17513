// End-to-end tests of the console: the real vigie binary, the real API and
// a real headless Chromium (Debian's), driven by playwright-core.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import path from 'node:path'
import { useVigie, apiCall, newPage, login, password, shots, base } from './harness.mjs'

useVigie()

test('a wrong password is refused with a message', async () => {
  const page = await newPage()
  await login(page, 'admin', 'not-the-password')
  const alert = page.getByRole('alert')
  await alert.waitFor()
  assert.match(await alert.textContent(), /invalid login or password/)
  await page.screenshot({ path: path.join(shots, 'login-error.png') })
  await page.context().close()
})

test('add a host and a TCP service, see it OK, then CRITICAL when the listener closes', async () => {
  // The target: a listener of our own that the test closes later.
  const sockets = new Set()
  const listener = net.createServer((s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.end()
  })
  await new Promise((r) => listener.listen(0, '127.0.0.1', r))
  const port = listener.address().port

  const page = await newPage()
  await login(page, 'admin', password)
  await page.getByTestId('nav-hosts').waitFor()
  await page.screenshot({ path: path.join(shots, 'overview-empty.png') })

  await page.getByTestId('nav-hosts').click()
  await page.getByTestId('add-host').click()
  const hf = page.getByTestId('host-form')
  await hf.locator('input[name=name]').fill('e2e-host')
  await hf.locator('input[name=address]').fill('127.0.0.1')
  await hf.locator('select[name=hostCheck]').selectOption('none')
  await hf.locator('input[name=groups]').fill('e2e, lab')
  await page.screenshot({ path: path.join(shots, 'form-host.png') })
  await page.getByTestId('save-host').click()

  // On the host page: add the service.
  await page.getByTestId('add-service').click()
  const sf = page.getByTestId('service-form')
  await sf.locator('input[name=name]').fill('listener')
  await sf.locator('select[name=kind]').selectOption('tcp')
  await sf.locator('input[name=port]').fill(String(port))
  await sf.locator('input[name=interval]').fill('2s')
  await sf.locator('input[name=retry_interval]').fill('1s')
  await sf.locator('input[name=max_attempts]').fill('1')
  await page.screenshot({ path: path.join(shots, 'form-service.png') })
  await page.getByTestId('save-service').click()

  const row = page.locator('tr[data-service=listener]')
  await row.locator('[data-state=OK]').waitFor()
  // The host's dashboard builds itself from what its services report.
  await page.getByTestId('host-dashboard').locator('[data-testid=panel][data-title=time] canvas').waitFor()
  await page.screenshot({ path: path.join(shots, 'host-page.png'), fullPage: true })

  // Close the listener and every open socket: the next checks fail.
  await new Promise((r) => {
    listener.close(r)
    for (const s of sockets) s.destroy()
  })
  await row.locator('[data-state=CRITICAL]').waitFor()
  assert.match(await row.textContent(), /refused/)

  await row.locator('a', { hasText: 'listener' }).click()
  await page.getByTestId('service-output').waitFor()
  await page.getByTestId('history').locator('[data-state=OK]').waitFor()
  await page.getByTestId('state-chart').locator('canvas').waitFor()
  // The response time graph comes from the time-series store.
  await page.getByTestId('service-graphs').locator('[data-testid=panel][data-title=time] canvas').waitFor()
  // The PNG export renders on the server, with the session cookie.
  const png = await page.evaluate(async () => {
    const href = document.querySelector('[data-testid=service-graphs] [data-testid=panel][data-title=time] [data-testid=png]').getAttribute('href')
    const r = await fetch(href)
    return { status: r.status, type: r.headers.get('content-type') }
  })
  assert.deepEqual(png, { status: 200, type: 'image/png' })
  await page.screenshot({ path: path.join(shots, 'service-page.png'), fullPage: true })

  // The edit form shows the service as it is.
  await page.getByTestId('edit-service').click()
  const ef = page.getByTestId('service-form')
  assert.equal(await ef.locator('input[name=port]').inputValue(), String(port))
  assert.equal(await ef.locator('input[name=interval]').inputValue(), '2s')
  await page.screenshot({ path: path.join(shots, 'form-service-edit.png') })
  await ef.getByRole('button', { name: 'Cancel' }).click()
  await ef.waitFor({ state: 'detached' })

  await page.getByTestId('nav-overview').click()
  await page.getByTestId('problems').locator('[data-state=CRITICAL]').waitFor()
  await page.screenshot({ path: path.join(shots, 'overview.png') })

  await page.getByTestId('nav-hosts').click()
  await page.getByTestId('hosts').locator('text=e2e-host').waitFor()
  await page.screenshot({ path: path.join(shots, 'hosts.png') })
  await page.context().close()
})

test('a host dashboard is built from what its services report', async (t) => {
  const listener = net.createServer((s) => s.end())
  await new Promise((r) => listener.listen(0, '127.0.0.1', r))
  t.after(() => new Promise((r) => listener.close(r)))
  const host = await apiCall('POST', '/hosts', { name: 'e2e-dash', address: '127.0.0.1', check: { kind: 'none' } })
  assert.equal(host.status, 201)
  for (const svc of [
    { name: 'port', check: { kind: 'tcp', port: listener.address().port } },
    { name: 'multi', check: { kind: 'exec', command: '/bin/echo', args: ['OK - three values | a=1ms;5;10 b=2ms;5;10 c=50%;80;90'] } },
  ]) {
    assert.equal((await apiCall('POST', '/services', { host: 'e2e-dash', interval: '2s', ...svc })).status, 201)
  }
  const page = await newPage()
  await login(page, 'admin', password)
  await page.getByTestId('nav-hosts').waitFor()
  await page.goto(base + '/hosts/' + host.body.id + '?range=1h')
  const dash = page.getByTestId('host-dashboard')
  const multi = dash.locator('[data-testid=dash-group][data-service=multi]')
  // a and b (both ms) share a panel, c (%) has its own; both with their
  // threshold keys.
  const ab = multi.locator('[data-testid=panel][data-title="a, b"]')
  const c = multi.locator('[data-testid=panel][data-title=c]')
  await ab.locator('canvas').first().waitFor()
  await c.locator('canvas').first().waitFor()
  assert.deepEqual(await ab.locator('.legend .name').allTextContents(), ['a', 'b'])
  assert.deepEqual(await c.locator('.legend .name').allTextContents(), ['c'])
  assert.deepEqual(await ab.getByTestId('threshold-keys').locator('.key').allTextContents(), ['warning above 5 ms', 'critical above 10 ms'])
  assert.deepEqual(await c.getByTestId('threshold-keys').locator('.key').allTextContents(), ['warning above 80%', 'critical above 90%'])
  assert.equal(await multi.locator('[data-testid=panel]').count(), 3) // a+b, c, checks
  // Panels load when on screen.
  const time = dash.locator('[data-testid=dash-group][data-service=port] [data-testid=panel][data-title=time]')
  await time.scrollIntoViewIfNeeded()
  await time.locator('canvas').waitFor()
  assert.equal(await ab.getAttribute('data-span'), '3600')
  // Live updates: new results (every 2 s) bring new points (every 10 s
  // at this range) without a reload.
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=panel][data-title="a, b"]')?.getAttribute('data-points')) >= 3, null, { timeout: 45000 })
  await page.evaluate(() => window.scrollTo(0, 0))
  await page.screenshot({ path: path.join(shots, 'host-dashboard-1h.png'), fullPage: true })

  // Another range: in the URL, and the charts are read again over it.
  await page.getByTestId('range-picker').locator('button[data-range="7d"]').click()
  await page.waitForURL(/[?&]range=7d/)
  await page.waitForFunction(() => document.querySelector('[data-testid=panel][data-title="a, b"]')?.getAttribute('data-span') === String(7 * 86400))
  await ab.locator('canvas').first().waitFor()
  await page.screenshot({ path: path.join(shots, 'host-dashboard-7d.png'), fullPage: true })
  // A reload keeps the range.
  await page.reload()
  await page.getByTestId('range-picker').locator('button[data-range="7d"][aria-pressed=true]').waitFor()

  // The PNG export: the panel's query over the range, drawn by the server.
  const href = await ab.getByTestId('png').getAttribute('href')
  const params = new URL(href, base).searchParams
  assert.equal(Number(params.get('end')) - Number(params.get('start')), 7 * 86400)
  assert.match(params.get('query'), /metric="a".* or .*metric="b"/)
  assert.equal(params.get('warning'), '5')
  const png = await page.evaluate(async (h) => {
    const r = await fetch(h)
    return { status: r.status, type: r.headers.get('content-type'), size: (await r.arrayBuffer()).byteLength }
  }, href)
  assert.equal(png.status, 200)
  assert.equal(png.type, 'image/png')
  assert.ok(png.size > 1000)
  await page.context().close()
})

test('the API error names the field in the form', async () => {
  const page = await newPage()
  await login(page, 'admin', password)
  await page.getByTestId('nav-hosts').click()
  await page.getByTestId('add-host').click()
  const hf = page.getByTestId('host-form')
  await hf.locator('input[name=name]').fill('bad-interval')
  await hf.locator('input[name=interval]').fill('10ms')
  await page.getByTestId('save-host').click()
  await hf.locator('.field-error').waitFor()
  assert.match(await hf.locator('.field-error').textContent(), /interval/)
  await page.context().close()
})

test('a viewer sees no write buttons, and the API refuses its writes', async () => {
  const created = await apiCall('POST', '/users', { login: 'vera', password: 'viewer-pass-1', role: 'viewer' })
  assert.equal(created.status, 201)
  const page = await newPage()
  await login(page, 'vera', 'viewer-pass-1')
  await page.getByTestId('who').waitFor()
  await page.getByTestId('nav-hosts').click()
  await page.getByTestId('hosts').waitFor()
  assert.equal(await page.getByTestId('add-host').count(), 0)
  assert.equal(await page.getByTestId('nav-users').count(), 0)
  assert.equal(await page.getByTestId('nav-audit').count(), 0)
  await page.getByTestId('hosts').locator('a', { hasText: 'e2e-host' }).click()
  await page.getByRole('heading', { name: /e2e-host/ }).waitFor()
  assert.equal(await page.getByTestId('add-service').count(), 0)
  assert.equal(await page.getByTestId('delete-host').count(), 0)
  // Whatever the console shows, the API says no.
  const status = await page.evaluate(async () => {
    const me = await (await fetch('/api/v1/me')).json()
    const r = await fetch('/api/v1/hosts', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token },
      body: JSON.stringify({ name: 'sneaky' }),
    })
    return r.status
  })
  assert.equal(status, 403)
  await page.context().close()
})

test('an operator sees the write buttons the viewer does not', async () => {
  const created = await apiCall('POST', '/users', { login: 'otto', password: 'operator-pass-1', role: 'operator' })
  assert.equal(created.status, 201)
  const page = await newPage()
  await login(page, 'otto', 'operator-pass-1')
  await page.getByTestId('nav-hosts').click()
  await page.getByTestId('add-host').waitFor()
  await page.getByTestId('hosts').locator('a', { hasText: 'e2e-host' }).click()
  await page.getByTestId('add-service').waitFor()
  await page.context().close()
})

test('a new user opens the activation link, chooses a password and signs in', async () => {
  const created = await apiCall('POST', '/users', { login: 'ada', role: 'viewer' })
  assert.equal(created.status, 201)
  assert.match(created.body.activation_url, /^\/activate\?token=/)
  const page = await newPage()
  await page.goto(base + created.body.activation_url)
  const form = page.getByTestId('activate-form')
  await form.locator('input[name=password]').fill('ada-password-1')
  await form.locator('input[name=again]').fill('ada-password-1')
  await form.locator('button[type=submit]').click()
  await form.getByText('Your password is set.').waitFor()
  await page.screenshot({ path: path.join(shots, 'activate.png') })
  await login(page, 'ada', 'ada-password-1')
  await page.getByTestId('who').waitFor()
  assert.match(await page.getByTestId('who').textContent(), /ada/)
  await page.context().close()
})

test('an admin adds a user in the console and finds it in the audit', async () => {
  const page = await newPage()
  await login(page, 'admin', password)
  await page.getByTestId('nav-users').click()
  await page.getByTestId('add-user').click()
  const form = page.getByTestId('user-form')
  await form.locator('input[name=login]').fill('olga')
  await form.locator('select[name=role]').selectOption('operator')
  await form.locator('input[name=teams]').fill('noc')
  await form.locator('input[name=domains]').fill('network, system')
  await page.screenshot({ path: path.join(shots, 'form-user.png') })
  await page.getByTestId('save-user').click()
  await page.getByTestId('activation-link').waitFor()
  await page.getByTestId('users').locator('td', { hasText: 'olga' }).waitFor()
  await page.screenshot({ path: path.join(shots, 'users.png') })
  await page.getByTestId('nav-audit').click()
  await page.getByTestId('audit').locator('td', { hasText: 'POST /api/v1/users' }).first().waitFor()
  const text = await page.getByTestId('audit').textContent()
  assert.match(text, /olga/)
  assert.doesNotMatch(text, new RegExp(password))
  await page.screenshot({ path: path.join(shots, 'audit.png') })
  await page.getByTestId('who').click()
  await page.getByTestId('sessions').locator('text=this session').waitFor()
  await page.screenshot({ path: path.join(shots, 'account.png') })
  await page.context().close()
})

test('an exec service with arguments, edited then deleted, and a host deleted', async () => {
  const page = await newPage()
  await login(page, 'admin', password)
  await page.getByTestId('nav-hosts').waitFor()
  const host = await apiCall('POST', '/hosts', { name: 'e2e-doomed', address: '127.0.0.1', check: { kind: 'none' } })
  assert.equal(host.status, 201)
  await page.goto(base + '/hosts/' + host.body.id)
  await page.getByTestId('add-service').click()
  const sf = page.getByTestId('service-form')
  await sf.locator('input[name=name]').fill('echo')
  await sf.locator('select[name=kind]').selectOption('exec')
  await sf.locator('input[name=command]').fill('/bin/echo')
  await sf.locator('textarea[name=args]').fill('OK - hello $HOSTNAME$\n| x=1;2;3')
  await page.screenshot({ path: path.join(shots, 'form-service-exec.png') })
  await page.getByTestId('save-service').click()
  await sf.waitFor({ state: 'detached' })
  const row = page.locator('tr[data-service=echo]')
  await row.locator('[data-state=OK]').waitFor()
  assert.match(await row.textContent(), /OK - hello e2e-doomed/)
  const svc = (await apiCall('GET', '/services?host=e2e-doomed')).body.items[0]
  assert.deepEqual(svc.check.args, ['OK - hello $HOSTNAME$', '| x=1;2;3'])

  // Edit: the arguments come back one per line and stay a list.
  await row.locator('a', { hasText: 'echo' }).click()
  await page.getByTestId('edit-service').click()
  const ef = page.getByTestId('service-form')
  assert.equal(await ef.locator('textarea[name=args]').inputValue(), 'OK - hello $HOSTNAME$\n| x=1;2;3')
  await ef.locator('input[name=timeout]').fill('5s')
  await page.getByTestId('save-service').click()
  await ef.waitFor({ state: 'detached' })
  await page.getByText('timeout 5s').waitFor()
  const edited = (await apiCall('GET', '/services/' + svc.id)).body
  assert.deepEqual(edited.check.args, ['OK - hello $HOSTNAME$', '| x=1;2;3'])

  // Delete the service, then the host.
  await page.getByTestId('delete-service').click()
  await page.screenshot({ path: path.join(shots, 'confirm-delete.png') })
  await page.getByTestId('confirm-delete').click()
  await page.waitForURL(base + '/hosts/' + host.body.id)
  await page.getByText('No services on this host yet.').waitFor()
  await page.getByTestId('delete-host').click()
  await page.getByTestId('confirm-delete').click()
  await page.waitForURL(base + '/hosts')
  await page.getByTestId('hosts').locator('text=e2e-host').waitFor()
  assert.equal(await page.getByTestId('hosts').locator('text=e2e-doomed').count(), 0)
  assert.equal((await apiCall('GET', '/hosts/' + host.body.id)).status, 404)
  await page.context().close()
})

test('without a session the console goes to /login and back where it was', async () => {
  const page = await newPage()
  const hosts = (await apiCall('GET', '/hosts?search=e2e-host')).body.items
  await page.goto(base + '/hosts/' + hosts[0].id)
  await page.waitForURL(/\/login\?next=/)
  await page.fill('input[name=login]', 'admin')
  await page.fill('input[name=password]', password)
  await page.click('button[type=submit]')
  await page.waitForURL(base + '/hosts/' + hosts[0].id)
  await page.getByRole('heading', { name: /e2e-host/ }).waitFor()
  // The session ends elsewhere: the next request answers 401 and the
  // console asks to sign in again.
  await page.evaluate(async () => {
    const me = await (await fetch('/api/v1/me')).json()
    await fetch('/api/v1/logout', { method: 'POST', headers: { 'X-CSRF-Token': me.csrf_token } })
  })
  // The console may notice by itself (a live refresh of the graphs);
  // else the next navigation tells it.
  await page.getByTestId('nav-hosts').click({ timeout: 5000 }).catch(() => {})
  await page.waitForURL(/\/login/)
  await page.getByTestId('login-form').waitFor()
  await page.context().close()
})

test('alarms: a red alarm appears live, is filtered, acknowledged and snoozed; two are archived in bulk; a viewer has no actions', async () => {
  const ev = (component, resource, state, output) => ({
    connector: 'nagios', connector_name: 'e2e', event_type: 'check', source_type: 'resource', component, resource, state, output,
  })
  const posted = await apiCall('POST', '/events', [
    ev('db1', 'disk', 2, 'disk /var 91% full'),
    ev('web9', 'http', 1, 'slow answers: 2.3 s'),
    ev('lb1', 'pool', 2, 'pool www: 1 of 3 members down'),
  ])
  assert.equal(posted.status, 202)
  const page = await newPage()
  await login(page, 'admin', password)
  await page.getByTestId('nav-alarms').click()
  const table = page.getByTestId('alarms')
  await table.locator('tr[data-component=db1]').waitFor()
  assert.equal(await table.locator('tr[data-component=db1] [data-criticality]').textContent(), 'ORANGE')

  // A new red alarm comes in while the page is open: it appears without a
  // reload, highlighted.
  await page.evaluate(() => (window.stillHere = true))
  assert.equal((await apiCall('POST', '/events', [ev('core-sw1', 'ping', 3, 'PING CRITICAL - 100% packet loss')])).status, 202)
  const red = table.locator('tr[data-component=core-sw1]')
  await table.locator('tr[data-component=core-sw1].flash').waitFor()
  assert.equal(await page.evaluate(() => window.stillHere), true)
  assert.equal(await red.locator('[data-criticality]').textContent(), 'RED')
  await page.screenshot({ path: path.join(shots, 'alarms-live.png') })

  // The sound toggle is off by default and remembered.
  const sound = page.getByTestId('sound')
  assert.equal(await sound.getAttribute('aria-pressed'), 'false')
  await sound.click()
  assert.equal(await page.evaluate(() => localStorage.getItem('vigie.alarmSound')), 'on')

  // Filter by criticality: in the URL, kept by a reload.
  await page.locator('select[name=criticality]').selectOption('red')
  await page.waitForURL(/[?&]criticality=red/)
  await table.locator('tr[data-component=db1]').waitFor({ state: 'detached' })
  assert.deepEqual(new Set(await table.locator('[data-criticality]').allTextContents()), new Set(['RED']))
  await page.reload()
  await red.waitFor()
  assert.equal(await page.locator('select[name=criticality]').inputValue(), 'red')
  assert.equal(await page.getByTestId('sound').getAttribute('aria-pressed'), 'true')
  assert.equal(await table.locator('tr[data-component=db1]').count(), 0)
  // With the sound on, the next red alarm beeps.
  assert.equal((await apiCall('POST', '/events', [ev('core-sw2', 'ping', 3, 'PING CRITICAL - 60% packet loss')])).status, 202)
  await table.locator('tr[data-component=core-sw2].flash').waitFor()
  assert.equal(await page.getByTestId('sound').getAttribute('data-beeps'), '1')

  // Open it, acknowledge with a comment, snooze.
  await red.locator('a', { hasText: 'core-sw1' }).click()
  await page.waitForURL(/\/alarms\/\d+$/)
  await page.getByTestId('action-ack').click()
  await page.getByTestId('form-ack').locator('textarea[name=comment]').fill('on it, calling the carrier')
  await page.getByTestId('form-ack').getByTestId('submit-action').click()
  await page.getByTestId('steps').locator('[data-step=ack]', { hasText: 'on it, calling the carrier' }).waitFor()
  assert.match(await page.getByTestId('alarm-ack').textContent(), /by admin/)
  await page.getByTestId('action-unack').waitFor()
  await page.getByTestId('action-snooze').click()
  const sf = page.getByTestId('form-snooze')
  await sf.locator('button[data-preset="4 h"]').click()
  await page.screenshot({ path: path.join(shots, 'alarm-snooze.png') })
  await sf.getByTestId('submit-action').click()
  await page.getByTestId('steps').locator('[data-step=snooze]').waitFor()
  assert.match(await page.getByTestId('alarm-snooze').textContent(), /^until /)
  // Transfer, to users and a team picked from the list (the admin may
  // read it): the team's members now become assignees too.
  assert.equal((await apiCall('POST', '/users', { login: 'nina', password: 'network-pass-1', role: 'operator', teams: ['network'] })).status, 201)
  await page.getByTestId('action-transfer').click()
  const tf = page.getByTestId('form-transfer')
  await tf.locator('input[name=user][value=admin]').check()
  await tf.locator('input[name=team][value=network]').check()
  await tf.locator('textarea[name=comment]').fill('for the network team')
  await page.screenshot({ path: path.join(shots, 'alarm-transfer.png') })
  await tf.getByTestId('submit-action').click()
  await page.getByTestId('steps').locator('[data-step=transfer]', { hasText: 'to admin, nina (teams network)' }).waitFor()
  // Criticality by hand, locked.
  await page.getByTestId('action-criticality').click()
  const cf = page.getByTestId('form-criticality')
  assert.equal(await cf.locator('input[name=lock]').isChecked(), true)
  await cf.getByTestId('submit-action').click()
  await page.getByTestId('steps').locator('[data-step=criticality]').waitFor()
  assert.equal(await page.locator('h1 [data-criticality=red]').textContent(), 'RED locked')
  await page.screenshot({ path: path.join(shots, 'alarm-detail.png'), fullPage: true })

  // The overview counts the open alarms by criticality.
  await page.getByTestId('nav-overview').click()
  // (Other tests' services open alarms of their own: count with the API.)
  const open = (await apiCall('GET', '/alarms?status=open')).body.items
  const want = (c) => String(open.filter((a) => a.criticality === c).length)
  await page.waitForFunction((n) => document.querySelector('[data-testid=tile-alarms-red] .n')?.textContent === n, want('red'))
  assert.equal(await page.locator('[data-testid=tile-alarms-orange] .n').textContent(), want('orange'))
  assert.equal(await page.locator('[data-testid=tile-alarms-green] .n').textContent(), want('green'))
  await page.screenshot({ path: path.join(shots, 'overview-alarms.png') })

  // Select two alarms and archive them in bulk.
  await page.getByTestId('nav-alarms').click()
  await table.locator('tr[data-component=lb1]').waitFor()
  await table.locator('tr[data-component=db1] [data-testid=select]').check()
  await table.locator('tr[data-component=lb1] [data-testid=select]').check()
  assert.match(await page.getByTestId('bulk-bar').textContent(), /2 selected/)
  // Live changes keep the selection.
  assert.equal((await apiCall('POST', '/events', [ev('web9', 'http', 1, 'slow answers: 3.1 s')])).status, 202)
  await table.locator('tr[data-component=web9]', { hasText: '3.1 s' }).waitFor()
  assert.equal(await table.locator('[data-testid=select]:checked').count(), 2)
  assert.match(await table.locator('tr[data-component=core-sw1]').textContent(), /ACK.*SNOOZED/)
  await page.screenshot({ path: path.join(shots, 'alarms.png') })
  await page.getByTestId('bulk-archive').click()
  await page.getByTestId('bulk-form').locator('textarea[name=comment]').fill('maintenance done')
  await page.getByTestId('bulk-form').getByTestId('submit-action').click()
  assert.match(await page.getByTestId('bulk-outcome').textContent(), /2 of 2 done/)
  await table.locator('tr[data-component=db1]').waitFor({ state: 'detached' })
  await table.locator('tr[data-component=lb1]').waitFor({ state: 'detached' })
  const archived = (await apiCall('GET', '/alarms?status=archived')).body.items.map((a) => a.component).sort()
  assert.deepEqual(archived, ['db1', 'lb1'])
  // Delete one for good from its page (archiving is the default).
  await table.locator('tr[data-component=core-sw2] a').click()
  await page.waitForURL(/\/alarms\/\d+$/)
  const sw2 = Number(page.url().split('/').pop())
  await page.getByTestId('action-delete').click()
  const df = page.getByTestId('form-delete')
  assert.equal(await df.locator('input[name=archive]').isChecked(), true)
  await df.locator('input[name=archive]').uncheck()
  await df.getByText('cannot be undone').waitFor()
  await page.screenshot({ path: path.join(shots, 'alarm-delete.png') })
  await df.getByTestId('submit-action').click()
  await page.waitForURL(base + '/alarms')
  assert.equal((await apiCall('GET', '/alarms/' + sw2)).status, 404)
  await table.locator('tr[data-component=web9]').waitFor()
  assert.equal(await table.locator('tr[data-component=core-sw2]').count(), 0)
  await page.locator('button[data-status=archived]').click()
  await page.waitForURL(/[?&]status=archived/)
  await table.locator('tr[data-component=lb1]').waitFor()
  await page.context().close()

  // A viewer sees the alarms and no action.
  assert.equal((await apiCall('POST', '/users', { login: 'vicky', password: 'viewer-pass-2', role: 'viewer' })).status, 201)
  const vp = await newPage()
  await login(vp, 'vicky', 'viewer-pass-2')
  await vp.getByTestId('nav-alarms').click()
  const vt = vp.getByTestId('alarms')
  await vt.locator('tr[data-component=core-sw1]').waitFor()
  assert.equal(await vp.getByTestId('select-all').count(), 0)
  assert.equal(await vt.getByTestId('select').count(), 0)
  await vp.screenshot({ path: path.join(shots, 'alarms-viewer.png') })
  await vt.locator('tr[data-component=core-sw1] a').click()
  await vp.getByTestId('steps').locator('[data-step=ack]').waitFor()
  assert.equal(await vp.locator('[data-testid^=action-]').count(), 0)
  await vp.context().close()

  // Cursor pages: "Load more" brings the next one.
  const many = Array.from({ length: 105 }, (_, i) => ({ ...ev(`node${String(i).padStart(3, '0')}`, 'cpu', 1, 'load high'), connector: 'gen' }))
  assert.equal((await apiCall('POST', '/events', many)).status, 202)
  const mp = await newPage()
  await login(mp, 'admin', password)
  await mp.getByTestId('nav-alarms').waitFor()
  await mp.goto(base + '/alarms?connector=gen')
  await mp.waitForFunction(() => document.querySelectorAll('[data-testid=alarm-row]').length === 100)
  await mp.getByTestId('load-more').click()
  await mp.waitForFunction(() => document.querySelectorAll('[data-testid=alarm-row]').length === 105)
  assert.equal(await mp.getByTestId('load-more').count(), 0)
  // The nav's link to the page clears the filters.
  await mp.getByTestId('nav-alarms').click()
  await mp.waitForURL(base + '/alarms')
  assert.equal(await mp.locator('input[name=connector]').inputValue(), '')
  await mp.getByTestId('load-more').waitFor()
  await mp.context().close()
})
