// footfall's tracker script: counts pageviews and events on a website and
// sends them to footfall (or any server speaking Plausible's event protocol).
//
// One source builds every variant. The build replaces each EXT_* name below
// with true or false (esbuild `define`) and the minifier drops the code of
// extensions that are off:
//   EXT_COMPAT          <script id="plausible">, XMLHttpRequest (no currentScript, no fetch)
//   EXT_EXCLUSIONS      data-include / data-exclude path patterns
//   EXT_FILE_DOWNLOADS  "File Download" events for links to files
//   EXT_HASH            hash-based routing: pages are path + #hash, body has h: 1
//   EXT_LOCAL           also count localhost, file: and automated browsers
//   EXT_MANUAL          no automatic pageviews; plausible('pageview', {u}) instead
//   EXT_OUTBOUND_LINKS  "Outbound Link: Click" events for links to other hosts
//   EXT_PAGEVIEW_PROPS  event-<key>="value" script attributes become props
//   EXT_REVENUE         the revenue option (and revenue classes) become `$`
//   EXT_TAGGED_EVENTS   events from plausible-event-* CSS classes
import { track } from './track'
import { startEngagement } from './engagement'
import { startPageviews } from './pageviews'
import { startClickTracking } from './clicks'

startEngagement()

if (!EXT_MANUAL) startPageviews()

if (EXT_OUTBOUND_LINKS || EXT_FILE_DOWNLOADS || EXT_TAGGED_EVENTS) startClickTracking()

// Calls made before the script loaded were queued by the snippet
//   window.plausible = window.plausible || function () { (window.plausible.q = window.plausible.q || []).push(arguments) }
var queue = (window.plausible && window.plausible.q) || []
for (var i = 0; i < queue.length; i++) track.apply(null, queue[i])

window.plausible = track
// Loaded: what Plausible's installation checks look for.
track.l = true
