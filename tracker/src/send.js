// Delivers one event body to the server.
//
// The body is JSON sent as a string, so the browser labels it
// `text/plain;charset=UTF-8`: a "simple" CORS request, with no preflight, that
// the server reads as JSON all the same. keepalive lets the request outlive
// the page, so an event sent on a click that navigates away, or as the tab
// closes, still arrives.
//
// callback, when given, receives {status} once the server answered, or
// {error} when the request failed.
import { endpoint } from './script-tag'

// compat: old browsers have no fetch, and navigation cancels the request, so
// callers that navigate away wait for the callback.
function sendWithXMLHttpRequest(body, callback) {
  var request = new XMLHttpRequest()
  request.open('POST', endpoint, true)
  request.send(JSON.stringify(body))
  request.onreadystatechange = function () {
    if (request.readyState == 4 && callback) {
      callback(request.status ? { status: request.status } : { error: new Error('Network error') })
    }
  }
}

export function send(body, callback) {
  if (EXT_COMPAT) return sendWithXMLHttpRequest(body, callback)
  if (window.fetch) {
    fetch(endpoint, { method: 'POST', keepalive: true, body: JSON.stringify(body) }).then(
      function (response) {
        callback && callback({ status: response.status })
      },
      function (error) {
        callback && callback({ error: error })
      }
    )
  }
}
