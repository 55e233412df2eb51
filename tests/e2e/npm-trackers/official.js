// @plausible-analytics/tracker (Plausible's current npm tracker), exposed to test pages.
import { init, track } from '@plausible-analytics/tracker'

window.officialTracker = { init, track }
