// Engagement: how far down the page a visitor scrolled and how long they were
// actually engaged with it (tab visible and focused), reported as an
// `engagement` event for the current pageview. Plausible derives scroll depth
// and time on page from these events.
//
// One is sent when the page is hidden or loses focus, and before the next
// pageview of a single-page app, but only when there is something new to
// report: a deeper scroll than last sent, or at least 3 s more engaged time.
// Its body repeats the pageview's `u`, `d` and `p` (never `r`):
//   {"n":"engagement","u":"...","d":"...","p":{...},"sd":57,"e":12040,"h":1}
import { domain } from './script-tag'
import { send } from './send'

var listening = false

// The pageview being measured; `ignored` when its pageview was not sent.
var ignored
var pageUrl
var pageProps
var sentScrollDepth

// Engaged milliseconds: banked so far, plus the running stretch since
// `engagedSince` (0 when the page is hidden or unfocused).
var engagedMs = 0
var engagedSince = 0

// Deepest point seen, in pixels from the top of the document.
var maxScrollPx

// The scrolling element is <html>, or <body> in quirks mode; its scrollHeight
// is the whole document, never less than the viewport.
function documentHeight() {
  return (document.scrollingElement || document.documentElement).scrollHeight
}

function scrolledToPx() {
  return Math.min(documentHeight(), pageYOffset + innerHeight)
}

function engagedTime() {
  return engagedMs + (engagedSince && Date.now() - engagedSince)
}

function sendEngagement() {
  var time = engagedTime()
  if (!ignored && (sentScrollDepth < maxScrollPx || time >= 3000)) {
    sentScrollDepth = maxScrollPx
    engagedSince = engagedMs = 0
    var body = {
      n: 'engagement',
      u: pageUrl,
      d: domain,
      p: pageProps,
      sd: Math.round((maxScrollPx / documentHeight()) * 100),
      e: time
    }
    if (EXT_HASH) body.h = 1
    send(body)
  }
}

function onVisibilityOrFocusChange() {
  if (document.visibilityState == 'visible' && document.hasFocus()) {
    engagedSince = engagedSince || Date.now()
  } else {
    engagedMs = engagedTime()
    engagedSince = 0
    sendEngagement()
  }
}

export function startEngagement() {
  maxScrollPx = scrolledToPx()
  document.addEventListener('scroll', function () {
    maxScrollPx = Math.max(maxScrollPx, scrolledToPx())
  })
}

// Called for every pageview, before deciding whether it is sent: closes the
// previous page of a single-page app.
export function beforePageview() {
  if (listening) {
    sendEngagement()
    maxScrollPx = scrolledToPx()
  }
}

// Called once a pageview is sent (body) or ignored (no body).
export function afterPageview(body) {
  ignored = !body
  if (body) {
    pageUrl = body.u
    pageProps = body.p
    sentScrollDepth = -1
    engagedMs = 0
    engagedSince = Date.now()
    if (!listening) {
      listening = true
      document.addEventListener('visibilitychange', onVisibilityOrFocusChange)
      addEventListener('blur', onVisibilityOrFocusChange)
      addEventListener('focus', onVisibilityOrFocusChange)
    }
  }
}
