// What the site owner configured on the <script> tag: the site's domain and
// where events are sent. Read once, when the script runs.

// `compat` is for pages where document.currentScript is unavailable (very old
// browsers, some script loaders): the tag must then carry id="plausible".
export var scriptEl = EXT_COMPAT
  ? document.getElementById('plausible')
  : document.currentScript

// data-domain may list several sites, comma separated; the server splits it.
export var domain = scriptEl.getAttribute('data-domain')

export var endpoint =
  scriptEl.getAttribute('data-api') ||
  (EXT_COMPAT
    ? scriptEl.src.split('/').slice(0, 3).join('/')
    : new URL(scriptEl.src).origin) + '/api/event'
