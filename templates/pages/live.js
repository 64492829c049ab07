/* The console's live panels: every data-refresh seconds, fetch this very page again and swap
   in the elements marked data-live (the counts, at risk, the queues), so the lists stay
   current while the rest of the page (a half-filled filter, the scroll position) stays put.
   Served from the package (/console/live.js) under the pages' Content-Security-Policy, which
   allows our own script files and nothing inline. Without JavaScript the <noscript> meta
   refresh reloads the whole page instead. */
"use strict";
(function () {
  var clock = document.querySelector("[data-refresh]");
  var seconds = clock ? parseInt(clock.getAttribute("data-refresh"), 10) : 0;
  if (!seconds || !window.fetch || !window.DOMParser) {
    return;
  }
  var busy = false;

  function swap(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    var panels = document.querySelectorAll("[data-live]");
    for (var i = 0; i < panels.length; i++) {
      var name = panels[i].getAttribute("data-live");
      var next = fresh.querySelector('[data-live="' + name + '"]');
      if (next) {
        panels[i].replaceWith(document.importNode(next, true));
      }
    }
    document.body.setAttribute("data-refreshed", new Date().toISOString());
  }

  function refresh() {
    if (busy || document.hidden) {
      return;
    }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (res) {
        if (res.redirected) {
          window.location.assign(res.url); // signed out meanwhile: to the login form
          return null;
        }
        return res.ok ? res.text() : null; // a 503 now and then: keep what is shown
      })
      .then(function (html) {
        if (html) {
          swap(html);
        }
      })
      .catch(function () {}) // offline for a moment: the next tick tries again
      .then(function () {
        busy = false;
      });
  }

  setInterval(refresh, seconds * 1000);
  document.addEventListener("visibilitychange", refresh);
})();
