// Markers of an alarm's condition that come from the engine rather than
// from an operator: flapping, in a maintenance window, raised by an idle
// rule ("no events"). Words as well as colours. Kept apart from alarms.tsx,
// which only places them.
import { Alarm } from './api'
import { fmtAgo, fmtTime, Link } from './ui'
import './extra.css'

// Idle alarms: connector vigie, connector_name idle (internal/alarms/idle.go).
export const isIdle = (a: Alarm) => a.connector === 'vigie' && a.connector_name === 'idle'

// idleAfter reads the rule's silence from the output ("no events from web1
// for 10m"), in milliseconds; 0 when the output says nothing.
export function idleAfter(output: string): number {
  const m = / for ((?:\d+(?:\.\d+)?(?:h|m|s|ms))+)$/.exec(output)
  if (!m) return 0
  let ms = 0
  for (const [, n, u] of m[1].matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)) ms += Number(n) * { h: 3600e3, m: 60e3, s: 1e3, ms: 1 }[u]!
  return ms
}

// lastHeard is when the component last sent something: the engine's tag
// (silent_since), else about when, from the opening less the rule's
// silence (the engine looks every 30 s).
function lastHeard(a: Alarm): { at: string; exact: boolean } | undefined {
  const tag = a.tags?.silent_since
  if (tag && !isNaN(new Date(tag).getTime())) return { at: tag, exact: true }
  const after = idleAfter(a.output)
  return after ? { at: new Date(new Date(a.opened).getTime() - after).toISOString(), exact: false } : undefined
}

export function EngineMarks(props: { a: Alarm }) {
  const a = props.a
  const heard = isIdle(a) ? lastHeard(a) : undefined
  return (
    <>
      {a.flapping ? (
        <span class="mk mk-flap" data-marker="flapping" title="Its state changed too often lately">
          FLAPPING
        </span>
      ) : null}
      {a.in_maintenance ? (
        <span class="mk mk-maint" data-marker="maintenance" title="In a maintenance window: kept, never notifies">
          MAINTENANCE
        </span>
      ) : null}
      {isIdle(a) ? (
        <span class="mk mk-idle" data-marker="idle" title={heard ? `Nothing received since ${heard.exact ? '' : 'about '}${fmtTime(heard.at)}` : a.output}>
          NO EVENTS{heard && a.status === 'open' ? ` ${fmtAgo(heard.at)}` : ''}
        </span>
      ) : null}
    </>
  )
}

// IdleNote says, on an idle alarm's page, since when nothing came.
export function IdleNote(props: { a: Alarm }) {
  const a = props.a
  if (!isIdle(a)) return null
  const heard = lastHeard(a)
  return (
    <div class="idle-note" data-testid="idle-note">
      <strong>No events</strong> from <Link href={`/alarms?search=${encodeURIComponent(a.component)}`}>{a.component}</Link>
      {heard ? (
        <>
          {' '}
          since {heard.exact ? '' : 'about '}
          <strong>{fmtTime(heard.at)}</strong>
          {a.status === 'open' ? ` (${fmtAgo(heard.at)} of silence)` : ''}
        </>
      ) : null}
      . The idle rule <code>{a.resource}</code> raised this alarm at {fmtTime(a.opened)}; the component's next event resolves it.
    </div>
  )
}

export const engineStepLabels: Record<string, string> = {
  flapping: 'Flapping started',
  flappingend: 'Flapping ended',
  maintenance: 'Entered maintenance',
  maintenanceend: 'Left maintenance',
}
