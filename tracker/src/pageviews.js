// Automatic pageviews: one when the page is shown, one for every client-side
// navigation of a single-page app (history.pushState and popstate, or
// hashchange with the hash extension), and one when the page is restored
// from the back/forward cache.
import { track } from './track'

export function startPageviews() {
  var lastPath

  function pageview(isNavigation) {
    // History routers may push the same path again (a query change, a
    // re-render): that is not a new page. In hash mode every change counts.
    if (!EXT_HASH && isNavigation && lastPath == location.pathname) return
    lastPath = location.pathname
    track('pageview')
  }

  function onNavigation() {
    pageview(true)
  }

  if (EXT_HASH) {
    addEventListener('hashchange', onNavigation)
  } else {
    var history = window.history
    var pushState = history.pushState
    if (pushState) {
      history.pushState = function () {
        pushState.apply(this, arguments)
        onNavigation()
      }
      addEventListener('popstate', onNavigation)
    }
  }

  // A page opened in a background tab or prerendered is counted when seen.
  if (/^(hidden|prerender)$/.test(document.visibilityState)) {
    document.addEventListener('visibilitychange', function () {
      if (!lastPath && document.visibilityState == 'visible') pageview()
    })
  } else {
    pageview()
  }

  addEventListener('pageshow', function (event) {
    if (event.persisted) pageview()
  })
}
