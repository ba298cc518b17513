// The harness every end-to-end file shares: one real vigie binary on a
// spare loopback port with a throwaway data dir, and Debian's headless
// Chromium driven by playwright-core. A file calls useVigie() once at its
// top; node --test runs each file in a process of its own.
import { before, after } from 'node:test'
import { spawn } from 'node:child_process'
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const here = path.dirname(fileURLToPath(import.meta.url))
const bin = process.env.VIGIE_BIN || path.join(here, '..', '..', 'bin', 'vigie')
export const shots = path.join(here, 'out')
export const password = 'e2e-' + Math.random().toString(36).slice(2, 12)
const auth = 'Basic ' + Buffer.from('admin:' + password).toString('base64')

// base is the server's URL once before() has run.
export let base
let server, browser, dataDir, serverLog = ''
let serverExited = false, stopping = false

export function freePort() {
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
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) })
      if (r.ok) return
    } catch {}
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error('vigie did not become ready:\n' + serverLog)
}

// apiCall calls the API as the admin.
export async function apiCall(method, p, body) {
  const r = await fetch(base + '/api/v1' + p, {
    signal: AbortSignal.timeout(15000),
    method,
    headers: { Authorization: auth, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  })
  const text = await r.text()
  return { status: r.status, body: text ? JSON.parse(text) : undefined }
}

// useVigie starts the server and the browser before the file's tests and
// stops them after. env adds to the server's environment.
export function useVigie(env = {}) {
  before(async () => {
    mkdirSync(shots, { recursive: true })
    dataDir = mkdtempSync(path.join(tmpdir(), 'vigie-e2e-'))
    const port = await freePort()
    base = `http://127.0.0.1:${port}`
    server = spawn(bin, ['server'], {
      env: { ...process.env, VIGIE_HTTP_LISTEN: `127.0.0.1:${port}`, VIGIE_DATA_DIR: dataDir, VIGIE_ADMIN_PASSWORD: password, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    server.stdout.on('data', (d) => (serverLog += d))
    server.stderr.on('data', (d) => (serverLog += d))
    server.on('exit', (code, signal) => {
      serverExited = true
      if (!stopping) console.error(`vigie exited early (code ${code}, signal ${signal}):\n${serverLog}`)
    })
    await waitReady(base + '/readyz', 30000)
    // playwright-core launches Debian's Chromium (it downloads no browser)
    // with a fresh temporary user-data dir of its own, removed on close.
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
    })
  })

  after(async () => {
    await browser?.close()
    if (server && !serverExited) {
      stopping = true
      const exited = new Promise((r) => server.once('exit', r))
      server.kill('SIGTERM')
      const t = setTimeout(() => server.kill('SIGKILL'), 10000)
      await exited
      clearTimeout(t)
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })
}

export async function newPage() {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 820 } })
  const page = await ctx.newPage()
  page.setDefaultTimeout(30000)
  return page
}

export async function login(page, user, pw) {
  await page.goto(base + '/')
  await page.fill('input[name=login]', user)
  await page.fill('input[name=password]', pw)
  await page.click('button[type=submit]')
}
