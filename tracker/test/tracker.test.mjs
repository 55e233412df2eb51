// What each tracker variant sends, run on a fake page (test/fake-browser.mjs).
// These bodies are the contract with the ingestion side: POST /api/event.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { compileVariant } from '../variants.mjs'
import { element, openPage } from './fake-browser.mjs'

const compiled = new Map()
async function script(...extensions) {
  const key = extensions.sort().join('.')
  if (!compiled.has(key)) compiled.set(key, (await compileVariant(extensions)).code)
  return compiled.get(key)
}

async function open(extensions, options) {
  return openPage(await script(...extensions), options)
}

const PAGEVIEW = { n: 'pageview', u: 'https://example.com/', d: 'example.com', r: null }

describe('pageviews', () => {
  test('a pageview is sent on load to the script origin, as text/plain JSON with keepalive', async () => {
    const page = await open([])
    assert.deepEqual(page.bodies(), [PAGEVIEW])
    const [request] = page.requests
    assert.equal(request.url, 'https://stats.example.org/api/event')
    assert.equal(request.init.method, 'POST')
    assert.equal(request.init.keepalive, true)
    assert.equal(typeof request.init.body, 'string', 'a string body: the browser sends text/plain;charset=UTF-8')
    assert.equal(request.init.headers, undefined)
  })

  test('data-api, a comma-separated data-domain and the referrer are sent as given', async () => {
    const page = await open([], {
      attributes: { 'data-domain': 'a.com,b.com', 'data-api': '/stats/api/event' },
      referrer: 'https://search.example/?q=x',
      url: 'https://a.com:8443/docs?x=1#top'
    })
    assert.equal(page.requests[0].url, '/stats/api/event')
    assert.deepEqual(page.bodies(), [
      { n: 'pageview', u: 'https://a.com:8443/docs?x=1#top', d: 'a.com,b.com', r: 'https://search.example/?q=x' }
    ])
  })

  test('history navigation sends a pageview per new path, none for the same path', async () => {
    const page = await open([])
    page.take()
    page.pushState('/pricing')
    page.pushState('/pricing?plan=pro')
    page.goBack('/')
    const pageviews = page.bodies().filter((body) => body.n === 'pageview')
    assert.deepEqual(
      pageviews.map((body) => body.u),
      ['https://example.com/pricing', 'https://example.com/']
    )
  })

  test('a page opened in the background is counted when first shown', async () => {
    const page = await open([], { visibilityState: 'hidden' })
    assert.deepEqual(page.bodies(), [])
    page.setVisibility('visible')
    assert.deepEqual(page.bodies(), [PAGEVIEW])
  })

  test('a page restored from the back/forward cache is counted again', async () => {
    const page = await open([])
    page.take()
    page.restoreFromBackForwardCache()
    assert.deepEqual(page.bodies().map((body) => body.n), ['engagement', 'pageview'])
  })

  test('hash mode: u keeps the hash, every hashchange is a pageview, h is 1', async () => {
    const page = await open(['hash'], { url: 'https://example.com/#/home' })
    page.changeHash('#/settings')
    const pageviews = page.bodies().filter((body) => body.n === 'pageview')
    assert.deepEqual(pageviews, [
      { ...PAGEVIEW, u: 'https://example.com/#/home', h: 1 },
      { ...PAGEVIEW, u: 'https://example.com/#/settings', h: 1 }
    ])
  })
})

describe('ignored visits', () => {
  test('localhost and file: pages send nothing and say why', async () => {
    for (const url of ['http://localhost:3000/', 'http://127.0.0.1/', 'file:///tmp/index.html']) {
      const page = await open([], { url })
      assert.deepEqual(page.bodies(), [], url)
      assert.deepEqual(page.warnings, ['Ignoring Event: localhost'], url)
    }
  })

  test('the local extension counts localhost', async () => {
    const page = await open(['local'], { url: 'http://localhost:3000/' })
    assert.deepEqual(page.bodies(), [{ ...PAGEVIEW, u: 'http://localhost:3000/' }])
  })

  test('automated browsers are ignored silently unless window.__plausible is set', async () => {
    assert.deepEqual((await open([], { webdriver: true })).bodies(), [])
    const optedIn = await open([], { webdriver: true, setup: (window) => (window.__plausible = true) })
    assert.deepEqual(optedIn.bodies(), [PAGEVIEW])
  })

  test('localStorage.plausible_ignore = "true" stops all events and calls the callback', async () => {
    const page = await open([], { localStorage: { plausible_ignore: 'true' } })
    let called = false
    page.window.plausible('Signup', { callback: () => (called = true) })
    assert.deepEqual(page.bodies(), [])
    assert.equal(called, true)
    assert.deepEqual(page.warnings, ['Ignoring Event: localStorage flag', 'Ignoring Event: localStorage flag'])
  })

  test('exclusions: data-exclude patterns with * and ** skip pageviews, not other events', async () => {
    const attributes = { 'data-exclude': '/admin/**, /blog/*/draft' }
    for (const path of ['/admin/', '/admin/users/1', '/blog/post/draft', '/blog/post/draft/']) {
      const page = await open(['exclusions'], { url: 'https://example.com' + path, attributes })
      page.window.plausible('Signup')
      assert.deepEqual(page.bodies().map((body) => body.n), ['Signup'], path)
    }
    for (const path of ['/blog/a/b/draft', '/administrator']) {
      const page = await open(['exclusions'], { url: 'https://example.com' + path, attributes })
      assert.deepEqual(page.bodies().map((body) => body.n), ['pageview'], path)
    }
  })

  test('exclusions: data-include counts only matching pages; hash mode matches the hash too', async () => {
    const include = { 'data-include': '/docs/**' }
    assert.equal((await open(['exclusions'], { url: 'https://example.com/docs/a', attributes: include })).bodies().length, 1)
    assert.equal((await open(['exclusions'], { url: 'https://example.com/blog', attributes: include })).bodies().length, 0)
    const hashed = { 'data-exclude': '/#/admin*' }
    assert.equal((await open(['exclusions', 'hash'], { url: 'https://example.com/#/admin', attributes: hashed })).bodies().length, 0)
    assert.equal((await open(['exclusions', 'hash'], { url: 'https://example.com/#/home', attributes: hashed })).bodies().length, 1)
  })

  test('without the exclusions extension, data-exclude is not applied', async () => {
    const page = await open([], { url: 'https://example.com/admin', attributes: { 'data-exclude': '/admin' } })
    assert.equal(page.bodies().length, 1)
  })
})

describe('window.plausible', () => {
  test('custom events carry props, i: false when not interactive, and report the status', async () => {
    const page = await open([])
    page.take()
    let result
    page.window.plausible('Signup', { props: { plan: 'pro' }, interactive: false, callback: (r) => (result = r) })
    await page.flush()
    assert.deepEqual(page.bodies(), [{ n: 'Signup', u: 'https://example.com/', d: 'example.com', r: null, p: { plan: 'pro' }, i: false }])
    assert.equal(result.status, 202)
  })

  test('calls queued before the script loaded are sent after the first pageview', async () => {
    const page = await open([], {
      setup(window) {
        window.plausible = function () {}
        window.plausible.q = [['Signup', { props: { plan: 'pro' } }]]
      }
    })
    assert.deepEqual(page.bodies().map((body) => [body.n, body.p]), [
      ['pageview', undefined],
      ['Signup', { plan: 'pro' }]
    ])
    assert.equal(page.window.plausible.l, true)
  })

  test('revenue is sent as $ only with the revenue extension', async () => {
    const revenue = { amount: 29.99, currency: 'EUR' }
    const withRevenue = await open(['revenue'])
    withRevenue.window.plausible('Purchase', { revenue })
    assert.deepEqual(withRevenue.bodies()[1].$, revenue)
    const without = await open([])
    without.window.plausible('Purchase', { revenue })
    assert.equal(without.bodies()[1].$, undefined)
  })

  test('manual: no automatic pageview; plausible("pageview", {u}) reports that URL', async () => {
    const page = await open(['manual'], { url: 'https://example.com/users/42' })
    assert.deepEqual(page.bodies(), [])
    page.window.plausible('pageview', { u: 'https://example.com/users/:id' })
    page.setVisibility('hidden')
    assert.deepEqual(page.bodies().map((body) => [body.n, body.u]), [
      ['pageview', 'https://example.com/users/:id'],
      ['engagement', 'https://example.com/users/:id']
    ])
  })

  test('pageview-props: event-* script attributes become props of every event; explicit props win', async () => {
    const page = await open(['pageview-props'], { attributes: { 'data-domain': 'example.com', 'event-author': 'Jane', 'event-lang': 'en' } })
    page.window.plausible('Share', { props: { lang: 'fr' } })
    assert.deepEqual(page.bodies().map((body) => body.p), [
      { author: 'Jane', lang: 'en' },
      { lang: 'fr', author: 'Jane' }
    ])
  })
})

describe('engagement', () => {
  test('hiding the page sends engagement: u, d and p of the pageview, scroll depth, engaged ms; no r', async () => {
    const page = await open(['pageview-props'], {
      attributes: { 'data-domain': 'example.com', 'event-author': 'Jane' },
      referrer: 'https://search.example/',
      scrollHeight: 4000,
      innerHeight: 1000
    })
    page.take()
    page.advance(1500)
    page.scrollTo(2000) // deepest point seen: 2000 + 1000 of 4000 px
    page.scrollTo(0)
    page.advance(500)
    page.setVisibility('hidden')
    assert.deepEqual(page.bodies(), [
      { n: 'engagement', u: 'https://example.com/', d: 'example.com', p: { author: 'Jane' }, sd: 75, e: 2000 }
    ])
  })

  test('time hidden or unfocused is not engaged time; nothing new, nothing sent', async () => {
    const page = await open([])
    page.take()
    page.advance(1000)
    page.setVisibility('hidden') // 1000 ms engaged, first report
    page.advance(60_000)
    page.setVisibility('visible')
    page.advance(2000)
    page.blur() // 2000 ms: under 3 s and no deeper scroll: not sent
    page.advance(60_000)
    page.focus()
    page.advance(1500)
    page.setVisibility('hidden') // 2000 + 1500 ms: sent
    assert.deepEqual(page.bodies().map((body) => [body.n, body.e, body.sd]), [
      ['engagement', 1000, 100],
      ['engagement', 3500, 100]
    ])
  })

  test('a single-page navigation closes the previous page with an engagement, then the pageview', async () => {
    const page = await open(['hash'], { url: 'https://example.com/#/a' })
    page.take()
    page.advance(4000)
    page.changeHash('#/b')
    assert.deepEqual(page.bodies(), [
      { n: 'engagement', u: 'https://example.com/#/a', d: 'example.com', sd: 100, e: 4000, h: 1 },
      { n: 'pageview', u: 'https://example.com/#/b', d: 'example.com', r: null, h: 1 }
    ])
  })

  test('an ignored pageview sends no engagement', async () => {
    const page = await open(['exclusions'], { url: 'https://example.com/admin', attributes: { 'data-exclude': '/admin' } })
    page.advance(5000)
    page.setVisibility('hidden')
    assert.deepEqual(page.bodies(), [])
  })
})

describe('outbound links and file downloads', () => {
  test('a click on a link to another host sends Outbound Link: Click without holding the navigation', async () => {
    const page = await open(['outbound-links'])
    page.take()
    const link = element('a', { href: 'https://other.example/page?x=1' })
    const event = page.click(element('span', {}, link))
    page.click(element('a', { href: '/internal' }))
    page.click(link, { button: 2 }) // right click: no
    page.click(link, { button: 1 }) // middle click opens a tab: yes
    const expected = { n: 'Outbound Link: Click', u: 'https://example.com/', d: 'example.com', r: null, p: { url: 'https://other.example/page?x=1' } }
    assert.deepEqual(page.bodies(), [expected, expected])
    assert.equal(event.defaultPrevented, false)
  })

  test('a click on a link to a file sends File Download with the URL less its query', async () => {
    const page = await open(['file-downloads'])
    page.take()
    page.click(element('a', { href: '/files/report.pdf?download=1' }))
    page.click(element('a', { href: '/notes.md' }))
    assert.deepEqual(page.bodies(), [
      { n: 'File Download', u: 'https://example.com/', d: 'example.com', r: null, p: { url: 'https://example.com/files/report.pdf' } }
    ])
  })

  test('add-file-types extends the default list, file-types replaces it', async () => {
    const extended = await open(['file-downloads'], { attributes: { 'data-domain': 'example.com', 'add-file-types': 'md,epub' } })
    extended.click(element('a', { href: '/notes.md' }))
    extended.click(element('a', { href: '/a.pdf' }))
    assert.equal(extended.bodies().filter((body) => body.n === 'File Download').length, 2)

    const replaced = await open(['file-downloads'], { attributes: { 'data-domain': 'example.com', 'file-types': 'md' } })
    replaced.click(element('a', { href: '/notes.md' }))
    replaced.click(element('a', { href: '/a.pdf' }))
    assert.equal(replaced.bodies().filter((body) => body.n === 'File Download').length, 1)
  })
})

describe('tagged events', () => {
  test('a click on a tagged element (or inside it) sends its event; + is a space', async () => {
    const page = await open(['tagged-events'])
    page.take()
    const button = element('button', { className: 'btn plausible-event-name=Sign+Up plausible-event-plan=Pro+Plus' })
    page.click(element('span', {}, button))
    page.click(element('button', { className: 'plausible-event-name--Newsletter plausible-event-source--footer' }))
    assert.deepEqual(page.bodies(), [
      { n: 'Sign Up', u: 'https://example.com/', d: 'example.com', r: null, p: { plan: 'Pro Plus' } },
      { n: 'Newsletter', u: 'https://example.com/', d: 'example.com', r: null, p: { source: 'footer' } }
    ])
  })

  test('a tagged link adds its url and is not also reported as outbound', async () => {
    const page = await open(['outbound-links', 'tagged-events'])
    page.take()
    page.click(element('a', { href: 'https://shop.example/', className: 'plausible-event-name=Shop' }))
    assert.deepEqual(page.bodies(), [{ n: 'Shop', u: 'https://example.com/', d: 'example.com', r: null, p: { url: 'https://shop.example/' } }])
  })

  test('a tagged form is reported when submitted, not when clicked inside', async () => {
    const page = await open(['tagged-events'])
    page.take()
    const form = element('form', { className: 'plausible-event-name=Contact' })
    page.click(element('button', { className: 'plausible-event-name=Click' }, form))
    const event = page.submit(form)
    assert.deepEqual(page.bodies().map((body) => body.n), ['Contact'])
    assert.equal(event.defaultPrevented, false)
  })

  test('with revenue, plausible-revenue-* classes become $', async () => {
    const page = await open(['revenue', 'tagged-events'])
    page.take()
    page.click(element('button', { className: 'plausible-event-name=Purchase plausible-revenue-amount=10.50 plausible-revenue-currency=EUR' }))
    page.click(element('button', { className: 'plausible-event-name=Free' }))
    assert.deepEqual(page.bodies().map((body) => body.$), [{ amount: '10.50', currency: 'EUR' }, undefined])
  })
})

describe('compat', () => {
  test('finds <script id="plausible">, posts with XMLHttpRequest to its origin', async () => {
    const page = await open(['compat'], { compat: true })
    assert.deepEqual(page.requests.map((request) => [request.transport, request.method, request.url, request.body]), [
      ['xhr', 'POST', 'https://stats.example.org/api/event', PAGEVIEW]
    ])
  })

  test('holds a same-tab outbound navigation until the event is delivered', async () => {
    const page = await open(['compat', 'outbound-links'], { compat: true })
    const event = page.click(element('a', { href: 'https://other.example/' }))
    assert.equal(event.defaultPrevented, true)
    assert.deepEqual(page.navigations, [])
    page.answerXhr(202)
    page.timers[0].callback() // the 5 s fallback does not navigate twice
    assert.deepEqual(page.navigations, ['https://other.example/'])

    const newTab = page.click(element('a', { href: 'https://other.example/', target: '_blank' }))
    assert.equal(newTab.defaultPrevented, false)
  })

  test('holds a tagged form submission until the event is delivered', async () => {
    const page = await open(['compat', 'tagged-events'], { compat: true })
    const form = element('form', { className: 'plausible-event-name=Contact' })
    assert.equal(page.submit(form).defaultPrevented, true)
    assert.equal(form.submitted, 0)
    page.answerXhr(202)
    assert.equal(form.submitted, 1)
  })
})
