// Before the session ends for lack of activity, say so, with a button to stay signed in; if it
// ends anyway, keep what the person typed and give it back after they log in again
// (templates/base.html, clspdr/session.py).
//
// The deadline is counted from the last request this page (or another tab) made, with the
// margin clspdr/session.py gives for a session saved at most once a minute: the warning comes
// at least two minutes before the real end. "Rester connecté" posts to the keep-alive, which
// saves the session. Nothing is extended without that click.
//
// What is typed into a form sent by POST (not passwords) is kept in this tab's sessionStorage,
// keyed by the page's path and the field, and never sent anywhere. It is given back only after
// the session ended: when this page saw the deadline pass, or when a page of this tab was shown
// signed out (the login page after a redirect). Any other signed-in page load forgets it, so a
// saved form is never filled again with old text; a successful htmx save forgets it at once. Logging out clears the storage (Clear-Site-Data, clspdr/middleware.py).
(function () {
  "use strict";

  var PREFIX = "clspdr:draft:";
  var ACTIVITY = "clspdr:session-activity";
  var TEXT_TYPES = ["text", "search", "email", "url", "tel", "number", "date", "month", "time"];
  var TICK = 1000;

  var box = document.getElementById("session-timeout");
  var texts = document.getElementById("session-texts");
  var store = null;
  try {
    store = window.sessionStorage;
  } catch (error) {
    store = null; // storage disabled: the warning still works
  }

  function text(name) {
    var node = texts && texts.content.querySelector('[data-text="' + name + '"]');
    return node ? node.textContent.trim() : "";
  }

  // --- Drafts ---------------------------------------------------------------------------------

  function draftKey(path) {
    return PREFIX + (path || window.location.pathname);
  }

  function readDraft(key) {
    if (!store) {
      return null;
    }
    try {
      return JSON.parse(store.getItem(key) || "null");
    } catch (error) {
      return null;
    }
  }

  function writeDraft(key, draft) {
    if (!store) {
      return;
    }
    try {
      if (draft && Object.keys(draft.fields).length) {
        store.setItem(key, JSON.stringify(draft));
      } else {
        store.removeItem(key);
      }
    } catch (error) {
      // quota reached: the draft is not kept, the page goes on
    }
  }

  function allDraftKeys() {
    var keys = [];
    for (var i = 0; store && i < store.length; i++) {
      if (store.key(i).indexOf(PREFIX) === 0) {
        keys.push(store.key(i));
      }
    }
    return keys;
  }

  function isKept(field) {
    var form = field.form;
    if (!form || !field.name || field.disabled || field.name === "csrfmiddlewaretoken") {
      return false;
    }
    if ((form.getAttribute("method") || "get").toLowerCase() !== "post") {
      return false;
    }
    var tag = field.tagName.toLowerCase();
    return tag === "textarea" || tag === "select" ||
      (tag === "input" && TEXT_TYPES.indexOf((field.type || "text").toLowerCase()) !== -1);
  }

  function fieldKey(field) {
    return (field.form.getAttribute("action") || "") + "|" + field.name;
  }

  function changed(field) {
    if (field.tagName.toLowerCase() === "select") {
      return Array.prototype.some.call(field.options, function (option) {
        return option.selected !== option.defaultSelected;
      });
    }
    return field.value !== field.defaultValue;
  }

  function keptFields() {
    return Array.prototype.filter.call(
      document.querySelectorAll("form textarea, form select, form input"), isKept
    );
  }

  var sessionEnded = false;

  // What differs from what the server sent, for the whole page.
  function snapshot(state) {
    var fields = {};
    keptFields().forEach(function (field) {
      if (changed(field)) {
        fields[fieldKey(field)] = field.value;
      }
    });
    writeDraft(draftKey(), { state: sessionEnded ? "restorable" : state, fields: fields });
  }

  function forgetForm(form) {
    var draft = readDraft(draftKey());
    if (!draft) {
      return;
    }
    var prefix = (form.getAttribute("action") || "") + "|";
    Object.keys(draft.fields).forEach(function (key) {
      if (key.indexOf(prefix) === 0) {
        delete draft.fields[key];
      }
    });
    writeDraft(draftKey(), draft);
  }

  function markAllRestorable() {
    allDraftKeys().forEach(function (key) {
      var draft = readDraft(key);
      if (draft) {
        draft.state = "restorable";
        writeDraft(key, draft);
      }
    });
  }

  function say(message) {
    var region = document.getElementById("messages");
    if (!region || !message) {
      return;
    }
    var paragraph = document.createElement("p");
    paragraph.className = "message message--info";
    paragraph.textContent = message;
    region.appendChild(paragraph);
  }

  // After a login, give the text back; any other signed-in load of the page forgets it, and
  // forgets what was left unsaved on other pages while signed in.
  function restore() {
    var key = draftKey();
    allDraftKeys().forEach(function (other) {
      var kept = readDraft(other);
      if (other !== key && (!kept || kept.state !== "restorable")) {
        writeDraft(other, null);
      }
    });
    var draft = readDraft(key);
    if (!draft || draft.state !== "restorable") {
      writeDraft(key, null);
      return;
    }
    var restored = false;
    keptFields().forEach(function (field) {
      var value = draft.fields[fieldKey(field)];
      if (typeof value === "string" && field.value !== value) {
        field.value = value;
        field.dispatchEvent(new Event("input", { bubbles: true }));
        restored = true;
      }
    });
    writeDraft(key, { state: "typing", fields: draft.fields });
    if (restored) {
      say(text("restored"));
    }
  }

  function isLoginPage(xhr) {
    if (!box || !xhr || !xhr.responseURL) {
      return false;
    }
    try {
      return new URL(xhr.responseURL).pathname === box.dataset.loginUrl;
    } catch (error) {
      return false;
    }
  }

  function loginUrl() {
    var next = window.location.pathname + window.location.search;
    return box.dataset.loginUrl + "?next=" + encodeURIComponent(next);
  }

  // A page shown signed out: whatever this tab kept is to be given back after the login.
  if (!box) {
    markAllRestorable();
    return;
  }

  restore();

  document.addEventListener("input", function (event) {
    if (isKept(event.target)) {
      snapshot("typing");
    }
  });
  document.addEventListener("change", function (event) {
    if (isKept(event.target)) {
      snapshot("typing");
    }
  });
  // Kept until a signed-in page proves the post went through (see restore()).
  document.addEventListener("submit", function () {
    snapshot("submitted");
  }, true);

  // --- The deadline ---------------------------------------------------------------------------

  var loadedAt = Date.now();
  var idleMs = Number(box.dataset.idle) * 1000;
  var warnMs = Number(box.dataset.warn) * 1000;
  var absoluteEnd = loadedAt + Number(box.dataset.absolute) * 1000;
  var lastActivity = loadedAt;
  var shown = null; // "warning" or "expired"
  var timer = null;
  var focusBefore = null;

  function shareActivity(at) {
    lastActivity = Math.max(lastActivity, at);
    try {
      window.localStorage.setItem(ACTIVITY, String(lastActivity));
    } catch (error) {
      // other tabs will not know: this one still counts right
    }
  }

  function otherTabsActivity() {
    try {
      return Number(window.localStorage.getItem(ACTIVITY)) || 0;
    } catch (error) {
      return 0;
    }
  }

  function deadline() {
    return Math.min(lastActivity + idleMs, absoluteEnd);
  }

  function clockTime(at) {
    var date = new Date(at);
    var minutes = String(date.getMinutes());
    return date.getHours() + " h " + (minutes.length < 2 ? "0" + minutes : minutes);
  }

  function typing() {
    var focused = document.activeElement;
    return focused && /^(input|textarea|select)$/i.test(focused.tagName);
  }

  function hide() {
    box.textContent = "";
    shown = null;
    if (focusBefore && focusBefore.isConnected) {
      focusBefore.focus();
    }
    focusBefore = null;
  }

  function render(message, control) {
    var wrapper = document.createElement("div");
    wrapper.className = "message message--warning";
    wrapper.setAttribute("role", "alert"); // inserted with its text: read out at once
    var paragraph = document.createElement("p");
    paragraph.textContent = message;
    wrapper.appendChild(paragraph);
    wrapper.appendChild(control);
    box.textContent = "";
    box.appendChild(wrapper);
    // Someone typing keeps typing (the alert is read to them); otherwise the control is next.
    if (!typing()) {
      focusBefore = document.activeElement;
      control.focus();
    }
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrftoken"] || "";
    } catch (error) {
      return "";
    }
  }

  function stay(button) {
    button.disabled = true;
    fetch(box.dataset.keepaliveUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" },
    }).then(function (response) {
      if (!response.ok) {
        throw new Error(String(response.status));
      }
      return response.json();
    }).then(function (answer) {
      var now = Date.now();
      absoluteEnd = now + Number(answer.absolute) * 1000;
      shareActivity(now);
      hide();
    }).catch(function () {
      expire();
    });
  }

  function warn() {
    if (shown === "warning") {
      return;
    }
    shown = "warning";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button";
    button.textContent = text("stay");
    button.addEventListener("click", function () { stay(button); });
    render(text("warning").replace("{heure}", clockTime(deadline())), button);
  }

  function expire() {
    if (shown === "expired") {
      return;
    }
    window.clearInterval(timer);
    sessionEnded = true;
    snapshot("restorable");
    shown = "expired";
    var link = document.createElement("a");
    link.className = "button";
    link.href = loginUrl();
    link.textContent = text("relogin");
    render(text("expired"), link);
  }

  function tick() {
    lastActivity = Math.max(lastActivity, otherTabsActivity());
    var now = Date.now();
    if (now >= deadline()) {
      expire();
    } else if (now >= deadline() - warnMs) {
      warn();
    } else if (shown === "warning") {
      hide(); // another tab kept the session
    }
  }

  shareActivity(loadedAt);
  timer = window.setInterval(tick, TICK);

  // --- htmx requests --------------------------------------------------------------------------

  // The form a request sends, noted before it goes: a form swapped out by the answer is gone
  // from the page, and htmx then says the request came from its nearest remaining parent.
  var sentForms = new WeakMap();
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var detail = event.detail;
    var verb = detail.requestConfig ? detail.requestConfig.verb : "get";
    var form = detail.elt && detail.elt.closest ? detail.elt.closest("form") : null;
    if (verb !== "get" && form && detail.xhr) {
      sentForms.set(detail.xhr, form);
    }
  });

  // A request the server answered signed in pushed the deadline, as a page load does.
  document.body.addEventListener("htmx:afterRequest", function (event) {
    var detail = event.detail;
    if (!detail.successful || isLoginPage(detail.xhr)) {
      return;
    }
    shareActivity(Date.now());
    var form = detail.xhr && sentForms.get(detail.xhr);
    if (form) {
      forgetForm(form); // saved (or shown again by the server with what was sent)
    }
  });

  // The session ended before a post: the server redirected it to the login page, which htmx
  // would put in place of the form. Keep the text and go to the login page instead.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    if (isLoginPage(event.detail.xhr)) {
      event.detail.shouldSwap = false;
      sessionEnded = true;
      snapshot("restorable");
      window.location.assign(loginUrl());
    }
  });
})();
