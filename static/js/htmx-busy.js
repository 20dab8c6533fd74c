// While htmx refreshes part of a page, mark that part aria-busy so screen readers wait for the
// new content instead of reading the old one (RGAA 7.5); the stylesheet dims it meanwhile.
// htmx re-sends htmx:afterRequest from the nearest element still in the page when the one that
// made the request was swapped out, so both events reach document.body.
(function () {
  "use strict";

  function target(event) {
    return event.detail && event.detail.target;
  }

  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var element = target(event);
    if (element) {
      element.setAttribute("aria-busy", "true");
    }
  });

  document.body.addEventListener("htmx:afterRequest", function (event) {
    var element = target(event);
    if (element) {
      element.removeAttribute("aria-busy");
    }
  });
})();
