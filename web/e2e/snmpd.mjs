// Debian's real snmpd for the SNMP end-to-end files: started before their
// tests on a spare loopback UDP port with a config written here (community
// public, plus what the file adds), stopped after. net-snmp's own tools
// query it for the values the console must show.
import { before, after } from 'node:test'
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import dgram from 'node:dgram'
import path from 'node:path'

const snmpdBin = '/usr/sbin/snmpd'
export const haveSnmpd = existsSync(snmpdBin)
if (!haveSnmpd && process.env.CI === 'true') throw new Error('snmpd is missing (CI=true: no test may skip); scripts/install-deps.sh installs it')

// port is the agent's UDP port once before() has run.
export let port
let agent, dir

function udpPort() {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4')
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

// tool runs a net-snmp tool (snmpget, snmpbulkwalk…) against the agent
// with v2c and numeric OIDs, and returns its output.
export function tool(name, ...args) {
  return execFileSync(name, ['-m', '', '-On', '-v2c', '-c', 'public', `127.0.0.1:${port}`, ...args], { env: { ...process.env, MIBS: '' } }).toString()
}

// value is the value in a tool's "OID = TYPE: value" line.
export function value(out) {
  const m = out.match(/= (?:[A-Za-z0-9-]+: )?(.*)/)
  return m ? m[1].trim().replace(/^"|"$/g, '') : ''
}

// useSnmpd starts the agent before the file's tests, with extraConf
// appended to its snmpd.conf, and stops it after.
export function useSnmpd(extraConf = '') {
  before(async () => {
    if (!haveSnmpd) return
    dir = mkdtempSync(path.join(tmpdir(), 'vigie-e2e-snmpd-'))
    port = await udpPort()
    const conf = path.join(dir, 'snmpd.conf')
    writeFileSync(conf, `[snmp] persistentDir ${dir}/persist\nagentAddress udp:127.0.0.1:${port}\nrocommunity public 127.0.0.1\n${extraConf}`)
    agent = spawn(snmpdBin, ['-f', '-Lf', path.join(dir, 'snmpd.log'), '-C', '-c', conf, '-m', ''], { env: { ...process.env, MIBS: '' }, stdio: 'ignore' })
    const deadline = Date.now() + 10000
    for (;;) {
      try {
        tool('snmpget', '1.3.6.1.2.1.1.3.0')
        break
      } catch (e) {
        if (Date.now() > deadline) throw new Error('snmpd did not answer: ' + e)
        await new Promise((r) => setTimeout(r, 150))
      }
    }
  })
  after(() => {
    agent?.kill('SIGKILL')
    if (dir) rmSync(dir, { recursive: true, force: true })
  })
}
