// window.plausible(name, options): builds one event body and sends it, unless
// this visit must not be counted. This is also the path of every automatic
// event (pageviews, clicks), so all of them obey the same rules.
//
// Body fields: n name, u page URL, d domain, r referrer (or null),
// p props {key: value}, $ revenue {amount, currency}, h 1 in hash mode,
// i false for a non-interactive event. For example:
//   {"n":"pageview","u":"https://example.com/a","d":"example.com","r":null}
import { scriptEl, domain } from './script-tag'
import { send } from './send'
import { beforePageview, afterPageview } from './engagement'

var LOCALHOST = /^localhost$|^127(\.[0-9]+){0,2}\.[0-9]+$|^\[::1?\]$/

// Plausible's wildcard syntax: ** matches anything, * anything but a slash.
function pathMatchesAny(patterns) {
  var path = location.pathname + (EXT_HASH ? location.hash : '')
  return patterns.split(',').some(function (pattern) {
    return new RegExp(
      '^' +
        pattern
          .trim()
          .replace(/\*\*/g, '.*')
          .replace(/([^.])\*/g, '$1[^\\s/]*') +
        '/?$'
    ).test(path)
  })
}

// Why this event must not be sent: a reason to log, '' to drop it silently,
// or undefined to send it.
function ignoreReason(isPageview) {
  if (!EXT_LOCAL) {
    if (LOCALHOST.test(location.hostname) || location.protocol == 'file:') {
      return 'localhost'
    }
    // Headless and automated browsers, unless a test opts in.
    if (
      (window._phantom || window.__nightmare || navigator.webdriver || window.Cypress) &&
      !window.__plausible
    ) {
      return ''
    }
  }
  try {
    if (localStorage.plausible_ignore == 'true') return 'localStorage flag'
  } catch (e) {
    // Storage can be blocked (sandboxed frames, privacy settings): count the visit.
  }
  if (EXT_EXCLUSIONS && isPageview && isExcluded()) return 'exclusion rule'
}

// data-include: count only these pages; data-exclude: never count these.
function isExcluded() {
  var include = scriptEl.getAttribute('data-include')
  var exclude = scriptEl.getAttribute('data-exclude')
  return (include && !pathMatchesAny(include)) || (exclude && pathMatchesAny(exclude))
}

// event-<key>="value" attributes on the script tag; explicit props win.
function addScriptTagProps(body) {
  var props = (body.p = body.p || {})
  scriptEl.getAttributeNames().forEach(function (attribute) {
    var key = attribute.slice(6)
    if (attribute.slice(0, 6) == 'event-') {
      props[key] = props[key] || scriptEl.getAttribute(attribute)
    }
  })
}

export function track(name, options) {
  options = options || {}
  var isPageview = name == 'pageview'
  if (isPageview) beforePageview()

  var reason = ignoreReason(isPageview)
  if (reason != null) {
    if (reason) console.warn('Ignoring Event: ' + reason)
    if (isPageview) afterPageview()
    return options.callback && options.callback()
  }

  var body = {
    n: name,
    // Only the manual extension lets the page report another URL.
    u: (EXT_MANUAL && options.u) || location.href,
    d: domain,
    r: document.referrer || null
  }
  if (options.props) body.p = options.props
  if (options.interactive === false) body.i = false
  if (EXT_REVENUE && options.revenue) body.$ = options.revenue
  if (EXT_PAGEVIEW_PROPS) addScriptTagProps(body)
  if (EXT_HASH) body.h = 1

  if (isPageview) afterPageview(body)
  send(body, options.callback)
}
