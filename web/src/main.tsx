import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { AccountPage, AuditPage, UsersPage } from './admin'
import { AgentsPage } from './agents'
import { AlarmPage, AlarmsPage } from './alarms'
import { MaintenancesPage } from './maintenances'
import { RulesPage } from './rules'
import { HostGroupsPage } from './snmptemplate'
import { api, can, liveConnected, onLive, setCSRF, startLive, stopLive, User } from './api'
import { ActivatePage, HostPage, HostsPage, LoginPage, OverviewPage, ServicePage, ServicesPage } from './pages'
import { Link, navigate, usePath } from './ui'
import './style.css'

function LiveDot() {
  const [on, setOn] = useState(liveConnected())
  useEffect(() => {
    const t = setInterval(() => setOn(liveConnected()), 2000)
    const off = onLive(() => setOn(true))
    return () => {
      clearInterval(t)
      off()
    }
  }, [])
  return (
    <span class={`live ${on ? 'on' : 'off'}`} title={on ? 'Live updates connected' : 'Live updates reconnecting; refreshing every 15 s'}>
      {on ? 'live' : 'polling'}
    </span>
  )
}

// toLogin sends the browser to /login, remembering where it was.
function toLogin() {
  if (location.pathname === '/login') return
  const here = location.pathname + location.search
  navigate(here === '/' ? '/login' : '/login?next=' + encodeURIComponent(here))
}

// afterLogin is the page to show once signed in: where the user was going,
// if that is a page of the console.
function afterLogin(): string {
  const next = new URLSearchParams(location.search).get('next') ?? '/'
  return next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/'
}

function App() {
  const path = usePath()
  const [user, setUser] = useState<User | null | undefined>(undefined)

  useEffect(() => {
    api<{ user: User; permissions: string[]; csrf_token: string }>('GET', '/me').then(
      (me) => {
        setCSRF(me.csrf_token)
        setUser({ ...me.user, permissions: me.permissions })
      },
      () => setUser(null),
    )
    // Any 401 (the session expired or was ended elsewhere): sign in again.
    const out = () => {
      stopLive()
      setUser(null)
    }
    window.addEventListener('vigie:unauthenticated', out)
    return () => window.removeEventListener('vigie:unauthenticated', out)
  }, [])

  useEffect(() => {
    if (user) startLive()
  }, [user])

  useEffect(() => {
    if (user === null && path !== '/activate') toLogin()
    else if (user && path === '/login') navigate(afterLogin())
  }, [user, path])

  if (path === '/activate') return <ActivatePage />
  if (user === undefined) return <div class="loading">Loading…</div>
  if (user === null) {
    return (
      <LoginPage
        onLogin={(u, csrf) => {
          setCSRF(csrf)
          setUser(u)
        }}
      />
    )
  }
  if (path === '/login') return <div class="loading">Loading…</div>

  let page
  let m
  if ((m = path.match(/^\/hosts\/([^/]+)$/))) page = <HostPage id={m[1]} user={user} />
  else if ((m = path.match(/^\/services\/(\d+)$/))) page = <ServicePage id={m[1]} user={user} />
  else if ((m = path.match(/^\/alarms\/(\d+)$/)) && can(user, 'alarms.read')) page = <AlarmPage id={m[1]} user={user} />
  else if (path === '/alarms' && can(user, 'alarms.read')) page = <AlarmsPage user={user} />
  // Both lists answer to alarms.read; changing them needs rules.manage or
  // maintenance.manage, which the pages check for their buttons.
  else if (path === '/rules' && can(user, 'alarms.read')) page = <RulesPage user={user} />
  else if (path === '/maintenance' && can(user, 'alarms.read')) page = <MaintenancesPage user={user} />
  else if (path === '/hosts') page = <HostsPage user={user} />
  else if (path === '/hostgroups') page = <HostGroupsPage user={user} />
  else if (path === '/services') page = <ServicesPage />
  else if (path === '/users' && can(user, 'users.manage')) page = <UsersPage me={user} />
  else if (path === '/audit' && can(user, 'audit.read')) page = <AuditPage />
  else if (path === '/agents' && can(user, 'agents.manage')) page = <AgentsPage user={user} />
  else if (path === '/account') page = <AccountPage me={user} />
  else page = <OverviewPage user={user} />

  const nav = (href: string, label: string) => (
    <Link href={href} class={path === href || (href !== '/' && path.startsWith(href)) ? 'active' : ''} testid={`nav-${label.toLowerCase()}`}>
      {label}
    </Link>
  )
  return (
    <div class="shell">
      <header class="top">
        <Link href="/" class="brand">
          <span class="logo" /> vigie
        </Link>
        <nav>
          {nav('/', 'Overview')}
          {can(user, 'alarms.read') ? nav('/alarms', 'Alarms') : null}
          {can(user, 'alarms.read') ? nav('/rules', 'Rules') : null}
          {can(user, 'alarms.read') ? nav('/maintenance', 'Maintenance') : null}
          {nav('/hosts', 'Hosts')}
          {nav('/hostgroups', 'Groups')}
          {nav('/services', 'Services')}
          {can(user, 'agents.manage') ? nav('/agents', 'Agents') : null}
          {can(user, 'users.manage') ? nav('/users', 'Users') : null}
          {can(user, 'audit.read') ? nav('/audit', 'Audit') : null}
        </nav>
        <div class="spacer" />
        <LiveDot />
        <Link href="/account" class="who" testid="who">
          {user.login} <span class="role">{user.role}</span>
        </Link>
        <button
          class="ghost"
          onClick={async () => {
            await api('POST', '/logout').catch(() => undefined)
            stopLive()
            navigate('/login')
            setUser(null)
          }}
        >
          Sign out
        </button>
      </header>
      <main key={path}>{page}</main>
    </div>
  )
}

render(<App />, document.getElementById('app')!)
