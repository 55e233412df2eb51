// Events from clicks and form submissions: outbound links, file downloads and
// tagged elements (CSS classes such as plausible-event-name=Signup).
//
//   {"n":"Outbound Link: Click","u":"...","d":"...","r":null,"p":{"url":"https://other.site/x"}}
//   {"n":"File Download","u":"...","d":"...","r":null,"p":{"url":"https://example.com/a.pdf"}}
//   {"n":"Signup","u":"...","d":"...","r":null,"p":{"plan":"Pro plus","url":"<link href, for links>"}}
//
// Events go out with fetch keepalive, which survives the navigation a click
// starts, so links and forms behave exactly as without the script. Only the
// compat build (XMLHttpRequest, cancelled by navigation) holds a same-tab
// navigation or a tagged form's submission until the request is done, 5 s at
// most.
import { scriptEl } from './script-tag'
import { track } from './track'

// How many ancestors of the clicked element are searched for a tag.
var ANCESTORS = 3

var fileTypes

function isElement(el, tagName) {
  return el && el.tagName && el.tagName.toLowerCase() == tagName
}

// An <a> with a real href (an SVG link's href is an object, not a string).
function isLink(el) {
  return isElement(el, 'a') && typeof el.href == 'string' && el.href
}

function isTagged(el) {
  return /plausible-event-name(=|--)\S/.test(el && el.className)
}

function isTaggedWithin(el, depth) {
  return el && depth <= ANCESTORS && (isTagged(el) || isTaggedWithin(el.parentNode, depth + 1))
}

// Name, props and revenue from the classes of a tagged element (or of its
// parent): plausible-event-<key>=<value>, with + standing for a space, and
// with the revenue extension plausible-revenue-amount / -currency.
function taggedEvent(el) {
  var tagged = isTagged(el) ? el : el.parentNode
  var event = { props: {} }
  var classes = (tagged && tagged.classList) || []
  for (var i = 0; i < classes.length; i++) {
    var match = classes[i].match(/plausible-event-(.+)(=|--)(.+)/)
    if (match) {
      var value = match[3].replace(/\+/g, ' ')
      if (match[1].toLowerCase() == 'name') event.name = value
      else event.props[match[1]] = value
    }
    if (EXT_REVENUE) {
      match = classes[i].match(/plausible-revenue-(.+)(=|--)(.+)/)
      if (match) (event.revenue = event.revenue || {})[match[1]] = match[3]
    }
  }
  return event
}

// Compat only: holds the default action (following a link, submitting a form)
// until the event is delivered, or 5 s at most.
function holdDefaultAction(domEvent, options, action) {
  var done
  options.callback = function () {
    if (!done) {
      done = true
      action()
    }
  }
  setTimeout(options.callback, 5000)
  domEvent.preventDefault()
}

function trackEvent(domEvent, link, event) {
  var options = { props: event.props }
  if (EXT_REVENUE) options.revenue = event.revenue
  if (
    EXT_COMPAT &&
    link &&
    !domEvent.defaultPrevented &&
    domEvent.type == 'click' &&
    !(domEvent.ctrlKey || domEvent.metaKey || domEvent.shiftKey) &&
    /^(_(self|parent|top))?$/i.test(link.target)
  ) {
    holdDefaultAction(domEvent, options, function () {
      location.href = link.href
    })
  }
  track(event.name, options)
}

function onTaggedClick(domEvent) {
  var el = domEvent.target
  var link
  var tagged
  for (var i = 0; el && i <= ANCESTORS; i++, el = el.parentNode) {
    // Inside a form only the submission counts, not the clicks that lead to it.
    if (isElement(el, 'form')) return
    if (isLink(el)) link = el
    if (isTagged(el)) tagged = el
  }
  if (tagged) {
    var event = taggedEvent(tagged)
    if (link) event.props.url = link.href
    trackEvent(domEvent, link, event)
  }
}

function onTaggedSubmit(domEvent) {
  var form = domEvent.target
  var event = taggedEvent(form)
  if (event.name) {
    var options = { props: event.props }
    if (EXT_REVENUE) options.revenue = event.revenue
    if (EXT_COMPAT) {
      holdDefaultAction(domEvent, options, function () {
        form.submit()
      })
    }
    track(event.name, options)
  }
}

function onLinkClick(domEvent) {
  var link = domEvent.target
  while (link && !isLink(link)) link = link.parentNode
  // A tagged link is reported once, as its tagged event.
  if (!link || (EXT_TAGGED_EVENTS && isTaggedWithin(link, 0))) return
  if (EXT_OUTBOUND_LINKS && link.host && link.host != location.host) {
    return trackEvent(domEvent, link, { name: 'Outbound Link: Click', props: { url: link.href } })
  }
  if (EXT_FILE_DOWNLOADS && isDownload(link)) {
    trackEvent(domEvent, link, { name: 'File Download', props: { url: withoutQuery(link) } })
  }
}

function withoutQuery(link) {
  return link.href.split('?')[0]
}

function isDownload(link) {
  return fileTypes.indexOf(withoutQuery(link).split('.').pop()) >= 0
}

function onClick(domEvent) {
  // Left clicks, and middle clicks (auxclick, button 1) that open a new tab.
  if (domEvent.type == 'click' || domEvent.button == 1) {
    if (EXT_TAGGED_EVENTS) onTaggedClick(domEvent)
    if (EXT_OUTBOUND_LINKS || EXT_FILE_DOWNLOADS) onLinkClick(domEvent)
  }
}

function attribute(name) {
  return scriptEl.getAttribute(name) || scriptEl.getAttribute('data-' + name)
}

// Plausible's default list; file-types replaces it, add-file-types extends it.
function readFileTypes() {
  var extra = attribute('add-file-types')
  fileTypes = (
    attribute('file-types') ||
    'pdf,xlsx,docx,txt,rtf,csv,exe,key,pps,ppt,pptx,7z,pkg,rar,gz,zip,avi,mov,mp4,mpeg,wmv,midi,mp3,wav,wma,dmg'
  ).split(',')
  if (extra) fileTypes = fileTypes.concat(extra.split(','))
}

export function startClickTracking() {
  if (EXT_FILE_DOWNLOADS) readFileTypes()
  document.addEventListener('click', onClick)
  document.addEventListener('auxclick', onClick)
  if (EXT_TAGGED_EVENTS) document.addEventListener('submit', onTaggedSubmit)
}
