// plausible-tracker (Plausible's earlier npm tracker: props as a JSON string), exposed to test pages.
import Plausible from 'plausible-tracker'

window.legacyTracker = Plausible
