// End-to-end tests of the console: the real vigie binary, the real API and
// a real headless Chromium (Debian's), driven by playwright-core.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const here = path.dirname(fileURLToPath(import.meta.url))
const bin = process.env.VIGIE_BIN || path.join(here, '..', '..', 'bin', 'vigie')
const shots = path.join(here, 'out')
const password = 'e2e-' + Math.random().toString(36).slice(2, 12)
const auth = 'Basic ' + Buffer.from('admin:' + password).toString('base64')

let server, base, browser, dataDir, serverLog = ''

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
    s.on('error', reject)
  })
}

async function waitReady(url, ms) {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    try {
      const r = await fetch(url)
      if (r.ok) return
    } catch {}
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error('vigie did not become ready:\n' + serverLog)
}

async function apiCall(method, p, body) {
  const r = await fetch(base + '/api/v1' + p, {
    method,
    headers: { Authorization: auth, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  })
  const text = await r.text()
  return { status: r.status, body: text ? JSON.parse(text) : undefined }
}

before(async () => {
  mkdirSync(shots, { recursive: true })
  dataDir = mkdtempSync(path.join(tmpdir(), 'vigie-e2e-'))
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  server = spawn(bin, ['server'], {
    env: { ...process.env, VIGIE_HTTP_LISTEN: `127.0.0.1:${port}`, VIGIE_DATA_DIR: dataDir, VIGIE_ADMIN_PASSWORD: password },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  server.stdout.on('data', (d) => (serverLog += d))
  server.stderr.on('data', (d) => (serverLog += d))
  await waitReady(base + '/readyz', 30000)
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  })
})

after(async () => {
  await browser?.close()
  if (server) {
    server.kill('SIGTERM')
    await new Promise((r) => server.once('exit', r))
  }
  rmSync(dataDir, { recursive: true, force: true })
})

async function newPage() {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 820 } })
  const page = await ctx.newPage()
  page.setDefaultTimeout(30000)
  return page
}

async function login(page, user, pw) {
  await page.goto(base + '/')
  await page.fill('input[name=login]', user)
  await page.fill('input[name=password]', pw)
  await page.click('button[type=submit]')
}

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
  await page.getByTestId('host-dashboard').getByTestId('metric-chart-time').locator('canvas').waitFor()
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
  await page.getByTestId('metric-chart-time').locator('canvas').waitFor()
  // The PNG export renders on the server, with the session cookie.
  const png = await page.evaluate(async () => {
    const href = document.querySelector('[data-testid=png-time]').getAttribute('href')
    const r = await fetch(href)
    return { status: r.status, type: r.headers.get('content-type') }
  })
  assert.deepEqual(png, { status: 200, type: 'image/png' })
  await page.screenshot({ path: path.join(shots, 'service-page.png'), fullPage: true })

  await page.getByTestId('nav-overview').click()
  await page.getByTestId('problems').locator('[data-state=CRITICAL]').waitFor()
  await page.screenshot({ path: path.join(shots, 'overview.png') })

  await page.getByTestId('nav-hosts').click()
  await page.getByTestId('hosts').locator('text=e2e-host').waitFor()
  await page.screenshot({ path: path.join(shots, 'hosts.png') })
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
