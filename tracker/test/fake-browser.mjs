// Just enough of a browser to run a compiled tracker variant in Node and see
// what it sends: a window with location, history, fetch and XMLHttpRequest, a
// document with the tracker's <script> tag, DOM-like elements to click, and a
// clock the test moves by hand. Browser behaviour itself (real navigation,
// keepalive, layout) is for the Chromium tests.
import vm from 'node:vm'

function eventTarget(target = {}) {
  const listeners = {}
  target.addEventListener = (type, listener) => {
    ;(listeners[type] = listeners[type] || []).push(listener)
  }
  target.dispatchEvent = (event) => {
    for (const listener of listeners[event.type] || []) listener(event)
    return !event.defaultPrevented
  }
  return target
}

function domEvent(type, target, fields = {}) {
  return {
    type,
    target,
    button: 0,
    defaultPrevented: false,
    preventDefault() {
      this.defaultPrevented = true
    },
    ...fields
  }
}

/**
 * Runs `code` (a compiled tracker) on a page.
 *
 * options: url of the page, script attributes (data-domain and so on), the
 * script's src, referrer, visibilityState, focused, localStorage contents,
 * webdriver, scrollHeight / innerHeight, and `setup(window)` to run before the
 * script (for example to queue calls in window.plausible.q).
 */
export function openPage(code, options = {}) {
  const page = {
    requests: [],
    warnings: [],
    navigations: [],
    now: 1_000_000
  }
  let url = new URL(options.url || 'https://example.com/')
  const location = {
    get href() {
      return url.href
    },
    set href(next) {
      page.navigations.push(String(next))
    },
    get hostname() {
      return url.hostname
    },
    get host() {
      return url.host
    },
    get protocol() {
      return url.protocol
    },
    get pathname() {
      return url.pathname
    },
    get hash() {
      return url.hash
    }
  }

  const attributes = { 'data-domain': 'example.com', ...options.attributes }
  const scriptEl = {
    src: options.src || 'https://stats.example.org/js/script.js',
    getAttribute: (name) => (name in attributes ? attributes[name] : null),
    getAttributeNames: () => Object.keys(attributes)
  }

  const scrollingElement = { scrollHeight: options.scrollHeight || 800 }
  const document = eventTarget({
    currentScript: options.compat ? null : scriptEl,
    getElementById: (id) => (options.compat && id === 'plausible' ? scriptEl : null),
    referrer: options.referrer || '',
    visibilityState: options.visibilityState || 'visible',
    hasFocus: () => page.focused,
    scrollingElement,
    documentElement: scrollingElement
  })
  page.focused = options.focused !== false

  class XMLHttpRequest {
    open(method, endpoint) {
      this.method = method
      this.endpoint = endpoint
    }
    send(body) {
      page.requests.push({ url: this.endpoint, method: this.method, transport: 'xhr', body: JSON.parse(body) })
      page.pendingXhr = this
    }
  }

  const windowTarget = eventTarget()
  const window = {
    location,
    document,
    navigator: { webdriver: !!options.webdriver },
    localStorage: options.localStorage || {},
    innerHeight: options.innerHeight || 800,
    pageYOffset: 0,
    history: {
      pushState(state, title, next) {
        url = new URL(next, url)
      }
    },
    fetch(endpoint, init) {
      page.requests.push({ url: endpoint, init, transport: 'fetch', body: JSON.parse(init.body) })
      return Promise.resolve({ status: 202 })
    },
    XMLHttpRequest,
    URL,
    Error,
    Math,
    JSON,
    Date: {
      now: () => page.now
    },
    setTimeout: (callback, ms) => {
      page.timers = page.timers || []
      page.timers.push({ callback, ms })
    },
    console: {
      warn: (message) => page.warnings.push(message)
    },
    addEventListener: windowTarget.addEventListener
  }
  window.window = window
  if (options.setup) options.setup(window)

  vm.createContext(window)
  vm.runInContext(Buffer.from(code).toString('utf8'), window)

  Object.assign(page, {
    window,
    document,
    scriptEl,
    // Bodies sent so far, oldest first; `take()` empties the list.
    bodies: () => page.requests.map((request) => request.body),
    take() {
      const bodies = page.bodies()
      page.requests.length = 0
      return bodies
    },
    advance(ms) {
      page.now += ms
    },
    pushState(next) {
      window.history.pushState({}, '', next)
    },
    goBack(previous) {
      url = new URL(previous, url)
      windowTarget.dispatchEvent(domEvent('popstate', window))
    },
    changeHash(hash) {
      url = new URL(hash, url)
      windowTarget.dispatchEvent(domEvent('hashchange', window))
    },
    setVisibility(state) {
      document.visibilityState = state
      document.dispatchEvent(domEvent('visibilitychange', document))
    },
    blur() {
      page.focused = false
      windowTarget.dispatchEvent(domEvent('blur', window))
    },
    focus() {
      page.focused = true
      windowTarget.dispatchEvent(domEvent('focus', window))
    },
    scrollTo(y, scrollHeight) {
      if (scrollHeight) scrollingElement.scrollHeight = scrollHeight
      window.pageYOffset = y
      document.dispatchEvent(domEvent('scroll', document))
    },
    restoreFromBackForwardCache() {
      windowTarget.dispatchEvent(domEvent('pageshow', window, { persisted: true }))
    },
    // A left click; with {button: 1} (middle) or 2 (right), an auxclick.
    click(target, fields = {}) {
      const event = domEvent(fields.button ? 'auxclick' : 'click', target, fields)
      document.dispatchEvent(event)
      return event
    },
    submit(form) {
      const event = domEvent('submit', form)
      document.dispatchEvent(event)
      return event
    },
    // Completes the last XMLHttpRequest (compat builds) with a status.
    answerXhr(status = 202) {
      const request = page.pendingXhr
      request.readyState = 4
      request.status = status
      request.onreadystatechange()
    },
    // Settles pending fetch promises, so callbacks have run.
    flush: () => new Promise((resolve) => setImmediate(resolve))
  })
  return page
}

/**
 * A DOM-like element: element('a', {href, className, target}, parent).
 * Links get an absolute href and their host, as in a browser.
 */
export function element(tagName, fields = {}, parentNode = null) {
  const el = { tagName: tagName.toUpperCase(), parentNode, className: '', ...fields }
  el.classList = el.className.split(' ').filter(Boolean)
  if (tagName === 'a' && fields.href !== undefined) {
    const href = new URL(fields.href, 'https://example.com/')
    el.href = href.href
    el.host = href.host
    el.target = fields.target || ''
  }
  if (tagName === 'form') {
    el.submitted = 0
    el.submit = () => el.submitted++
  }
  return el
}
