// What a person sees while htmx talks to the server, on every page (templates/base.html).
//
// While a request runs, the part it will refresh is aria-busy, so screen readers wait for the new
// content instead of reading the old one (RGAA 7.5); the stylesheet dims it meanwhile.
//
// When a request fails, htmx 2 swaps nothing: the form stays as typed and htmx re-enables its
// button, but without a word the person would believe it was saved. So every failure (an error
// status, no connection, no answer within htmx.config.timeout) shows one of the messages of
// base.html's <template id="request-failures">, just before the form the person used (or before
// what the request was to refresh), in a role="alert" box. After a click or a submit the focus
// goes to it; someone typing in a filter keeps typing, the alert is read to them.
// Not failures here: a 403 with HX-Redirect (expired session) is followed by htmx before it
// counts as an error, and htmx:sendAbort is hx-sync replacing a request by a newer one.
(function () {
  "use strict";

  var failures = document.getElementById("request-failures");
  var shown = new Map(); // the element a message stands before -> that message

  // The form the person used, or else the part the request was to refresh (a pagination link
  // lives inside the results it replaces), or else the element that made the request.
  function anchorOf(detail) {
    var form = detail.elt.closest("form");
    if (form) {
      return form;
    }
    var refreshed = detail.target;
    return refreshed && refreshed !== document.body ? refreshed : detail.elt;
  }

  function clear(isStale) {
    shown.forEach(function (message, anchor) {
      if (isStale(anchor)) {
        message.remove();
        shown.delete(anchor);
      }
    });
  }

  // After a click or a submit the person waits for the answer, and the button they pressed was
  // disabled meanwhile (hx-disabled-elt), which drops the focus: it goes to the message.
  function takesFocus(detail) {
    var trigger = detail.requestConfig && detail.requestConfig.triggeringEvent;
    var focused = document.activeElement;
    return !trigger || trigger.type === "submit" || trigger.type === "click" ||
      !focused || focused === document.body;
  }

  function show(event, cause) {
    var detail = event.detail;
    var verb = detail.requestConfig ? detail.requestConfig.verb : "get";
    var text = failures && failures.content.querySelector(
      '[data-failure="' + (verb === "get" ? "show" : "save") + "-" + cause + '"]'
    );
    if (!text) {
      return;
    }
    var anchor = anchorOf(detail);
    clear(function (other) { return other === anchor; });
    var message = document.createElement("div");
    message.className = "message message--error request-failure";
    message.setAttribute("role", "alert");
    message.tabIndex = -1;
    message.textContent = text.textContent.trim();
    anchor.before(message);
    shown.set(anchor, message);
    if (takesFocus(detail)) {
      message.focus();
    }
  }

  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var refreshed = event.detail.target;
    if (refreshed) {
      refreshed.setAttribute("aria-busy", "true");
    }
    // A new attempt from the same place: the last failure no longer applies.
    var anchor = anchorOf(event.detail);
    clear(function (other) { return other === anchor; });
  });

  // htmx re-sends htmx:afterRequest from the nearest element still in the page when the one that
  // made the request was swapped out, so it always reaches document.body, failures included.
  document.body.addEventListener("htmx:afterRequest", function (event) {
    var refreshed = event.detail.target;
    if (refreshed) {
      refreshed.removeAttribute("aria-busy");
    }
  });

  // What a message stood before was replaced by a later request: the message is out of date.
  document.body.addEventListener("htmx:afterSwap", function () {
    clear(function (anchor) { return !anchor.isConnected; });
  });

  document.body.addEventListener("htmx:responseError", function (event) {
    show(event, event.detail.xhr.status >= 500 ? "server" : "refused");
  });
  document.body.addEventListener("htmx:sendError", function (event) {
    show(event, "unreachable");
  });
  document.body.addEventListener("htmx:timeout", function (event) {
    show(event, "timeout");
  });
})();
