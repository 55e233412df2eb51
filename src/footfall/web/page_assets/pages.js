// footfall's pages: the little behaviour that needs a script. Every page works without it.
(function () {
  "use strict";
  function ready(fn) { if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn); }
  ready(function () {
    // Settings on a phone: the tabs scroll sideways; bring the open one into view.
    var tab = document.querySelector(".tabs [aria-current=page]");
    var strip = tab && tab.closest(".tabs");
    if (strip && strip.scrollWidth > strip.clientWidth) {
      var a = tab.getBoundingClientRect(), b = strip.getBoundingClientRect();
      strip.scrollLeft += (a.left + a.width / 2) - (b.left + b.width / 2);
    }
    // Add a site: preselect the browser's time zone when the form is fresh.
    var zone = document.querySelector("select[data-browser-zone]");
    if (zone && zone.value === "Etc/UTC") {
      try {
        var mine = Intl.DateTimeFormat().resolvedOptions().timeZone;
        if (mine && zone.querySelector('option[value="' + mine + '"]')) zone.value = mine;
      } catch (e) { /* keep UTC */ }
    }
    // The snippet: the tag follows the chosen extensions.
    var box = document.querySelector("[data-snippet]");
    if (box) {
      var order = Array.prototype.map.call(document.querySelectorAll("[data-extension]"), function (c) { return c.value; });
      var update = function () {
        var chosen = order.filter(function (name) { return document.querySelector('[data-extension][value="' + name + '"]').checked; });
        var file = ["script"].concat(chosen, ["js"]).join(".");
        var id = chosen.indexOf("compat") >= 0 ? ' id="plausible"' : "";
        var domain = box.getAttribute("data-domain").replace(/&/g, "&amp;").replace(/"/g, "&quot;");
        box.value = "<script defer" + id + ' data-domain="' + domain + '" src="' + box.getAttribute("data-base") + "/js/" + file + '"></' + "script>";
      };
      document.querySelectorAll("[data-extension]").forEach(function (c) { c.addEventListener("change", update); });
    }
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var target = document.getElementById(button.getAttribute("data-copy"));
        target.select();
        if (navigator.clipboard) navigator.clipboard.writeText(target.value); else document.execCommand("copy");
        button.textContent = "Copied";
      });
    });
    // The waiting state: poll until the site's first pageview arrives.
    var waiting = document.querySelector("[data-waiting]");
    if (waiting && waiting.querySelector("[data-waiting-text]")) {
      var poll = function () {
        fetch(waiting.getAttribute("data-waiting"), { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : { received: false }; })
          .then(function (status) {
            if (status.received) {
              waiting.innerHTML = '<p class="ok"><strong>Data is arriving.</strong> <a data-dashboard-link href="' +
                waiting.getAttribute("data-dashboard") + '">Go to the dashboard</a></p>';
            } else { setTimeout(poll, 2000); }
          }, function () { setTimeout(poll, 5000); });
      };
      setTimeout(poll, 1000);
    }
  });
})();
