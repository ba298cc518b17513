// End-to-end: the alarm list sorts by its column headers (the sort kept in
// the URL, aria-sort and an arrow on the column), and the header count and
// the overview's tiles come from GET /api/v1/alarms/count.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { useVigie, apiCall, newPage, login, password, shots, base } from './harness.mjs'

useVigie()

const rowsOf = (page) => page.$$eval('[data-testid=alarms] tr[data-testid=alarm-row]', (trs) => trs.map((tr) => tr.dataset.component))

// waitOrder waits until the rows are exactly these components, in order.
async function waitOrder(page, want) {
  try {
    await page.waitForFunction(
      (w) => JSON.stringify([...document.querySelectorAll('[data-testid=alarms] tr[data-testid=alarm-row]')].map((tr) => tr.dataset.component)) === w,
      JSON.stringify(want),
      { timeout: 10000 },
    )
  } catch {
    assert.deepEqual(await rowsOf(page), want)
  }
}

test('alarms: column headers sort the list, the sort lives in the URL, the count comes from the API', async () => {
  const ev = (component, state) => ({
    connector: 'nagios', connector_name: 'sort-e2e', event_type: 'check', source_type: 'resource', component, resource: 'svc', state,
    output: `state ${state} on ${component}`,
  })
  // In this order, so that the ids (newest first by default) differ from
  // every sort below.
  const posted = await apiCall('POST', '/events', [ev('b-web', 1), ev('a-db', 3), ev('c-lb', 2), ev('d-dns', 3), ev('e-mail', 1)])
  assert.equal(posted.status, 202)
  const page = await newPage()
  await login(page, 'admin', password)
  await page.getByTestId('nav-alarms').click()
  await waitOrder(page, ['e-mail', 'd-dns', 'c-lb', 'a-db', 'b-web'])

  // The header count is the API's.
  const counted = (await apiCall('GET', '/alarms/count?status=open')).body
  assert.equal(counted.total, 5)
  await page.waitForFunction(() => document.querySelector('[data-testid=alarm-count]')?.textContent === '5')

  const th = (key) => page.locator(`[data-testid=alarms] th[data-sort=${key}]`)
  assert.equal(await th('component').getAttribute('aria-sort'), 'none')

  // Component: A to Z first, then Z to A.
  await th('component').locator('button').click()
  await waitOrder(page, ['a-db', 'b-web', 'c-lb', 'd-dns', 'e-mail'])
  assert.match(page.url(), /[?&]sort=component(&|$)/)
  assert.equal(await th('component').getAttribute('aria-sort'), 'ascending')
  assert.equal(await th('component').locator('.arrow').textContent(), '▲')
  await page.screenshot({ path: path.join(shots, 'alarms-sorted-component.png') })
  await th('component').locator('button').click()
  await waitOrder(page, ['e-mail', 'd-dns', 'c-lb', 'b-web', 'a-db'])
  assert.match(page.url(), /[?&]sort=-component(&|$)/)
  assert.equal(await th('component').getAttribute('aria-sort'), 'descending')

  // State: worst first; equal states newest first.
  await th('state').locator('button').click()
  await waitOrder(page, ['d-dns', 'a-db', 'c-lb', 'e-mail', 'b-web'])
  assert.equal(await th('state').getAttribute('aria-sort'), 'descending')
  assert.equal(await th('component').getAttribute('aria-sort'), 'none')
  await page.screenshot({ path: path.join(shots, 'alarms-sorted-state.png') })

  // A link keeps the sort (and the filters beside it).
  await page.goto(base + '/alarms?sort=criticality&search=-')
  await waitOrder(page, ['b-web', 'e-mail', 'c-lb', 'a-db', 'd-dns'])
  assert.equal(await th('criticality').getAttribute('aria-sort'), 'ascending')

  // The search box narrows the list and the count.
  await page.fill('input[name=search]', 'on d-dn')
  await waitOrder(page, ['d-dns'])
  await page.waitForFunction(() => document.querySelector('[data-testid=alarm-count]')?.textContent === '1')
  assert.match(page.url(), /sort=criticality/)

  // The overview's tiles count the open alarms by criticality.
  await page.goto(base + '/')
  await page.waitForFunction((n) => document.querySelector('[data-testid=tile-alarms-red] .n')?.textContent === n, String(counted.by_criticality.red))
  assert.equal(await page.locator('[data-testid=tile-alarms-orange] .n').textContent(), String(counted.by_criticality.orange))
  assert.equal(await page.locator('[data-testid=tile-alarms-green] .n').textContent(), String(counted.by_criticality.green))
  await page.context().close()
})
