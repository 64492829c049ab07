/* Suggestions while a customer types a new case's subject: a moment after they stop typing,
   fetch the open-a-case page for that subject and swap in its matching articles (the element
   marked data-live="suggestions"), so the answer can turn up before the case is opened.
   Served from the package (/portal/suggest.js) under the pages' Content-Security-Policy, which
   allows our own script files and nothing inline. Without JavaScript the "Search again"
   form does the same by a page load. */
"use strict";
(function () {
  var input = document.querySelector("input[data-suggest]");
  var panel = document.querySelector('[data-live="suggestions"]');
  if (!input || !panel || !window.fetch || !window.DOMParser) {
    return;
  }
  var timer = null;
  var asked = input.value.trim();

  function suggest() {
    var subject = input.value.trim();
    if (subject === asked || subject.length < 3) {
      return;
    }
    asked = subject;
    var url = new URL(input.getAttribute("data-suggest"), window.location.href);
    url.searchParams.set("subject", subject);
    fetch(url.toString(), { credentials: "same-origin" })
      .then(function (res) {
        return res.ok ? res.text() : null; // signed out or busy: keep what is shown
      })
      .then(function (html) {
        if (!html || subject !== asked) {
          return; // a later keystroke asked again meanwhile
        }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var next = fresh.querySelector('[data-live="suggestions"]');
        if (next) {
          panel.replaceWith(document.importNode(next, true));
          panel = document.querySelector('[data-live="suggestions"]');
          panel.setAttribute("data-for", subject);
        }
      })
      .catch(function () {});
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(suggest, 300);
  });
})();
