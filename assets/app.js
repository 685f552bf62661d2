// Portico's pages work without this file; with it, they follow the live stream
// and the account switcher moves on selection. No inline script anywhere: the
// Content-Security-Policy allows only files from this site.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  document.addEventListener("change", function (event) {
    var select = event.target.closest ? event.target.closest("select.js-navigate") : null;
    if (select && select.value.charAt(0) === "/" && select.value.charAt(1) !== "/") {
      window.location.assign(select.value);
    }
  });

  // Live: one stream of changes for the signed-in person. The part of the page
  // marked #live is fetched again (htmx swaps it in) when a record of a type it
  // shows changes in the account on screen; the bell's count is fetched again
  // after any change (notifications are written just after the change, hence
  // the short wait). Changes arriving together are refreshed once.
  function followChanges() {
    var bell = document.getElementById("bell");
    if (!bell || !window.EventSource || !window.htmx) return;
    var account = document.body.getAttribute("data-account");
    var live = document.getElementById("live");
    var types = live ? (live.getAttribute("data-live") || "").split(" ") : [];
    var announcer = document.getElementById("live-announcer");
    var listTimer = null;
    var bellTimer = null;
    var refreshList = function () {
      listTimer = null;
      window.htmx.ajax("GET", window.location.href, { target: "#live", select: "#live", swap: "outerHTML" }).then(function () {
        var fresh = document.getElementById("live");
        if (fresh) {
          fresh.classList.add("just-changed");
          window.setTimeout(function () { fresh.classList.remove("just-changed"); }, 2000);
        }
        if (announcer) {
          announcer.textContent = "";
          announcer.textContent = announcer.getAttribute("data-message") || "";
        }
      });
    };
    var refreshBell = function () {
      bellTimer = null;
      window.htmx.ajax("GET", "/notifications/bell", { target: "#bell", select: "#bell", swap: "outerHTML" });
    };
    var changed = function (change) {
      if (live && (!change || (change.account_id === account && types.indexOf(change.type) >= 0))) {
        if (!listTimer) listTimer = window.setTimeout(refreshList, 100);
      }
      if (!bellTimer) bellTimer = window.setTimeout(refreshBell, 1000);
    };
    var source = null;
    var connect = function () {
      source = new EventSource("/api/v1/events");
      source.addEventListener("record", function (event) {
        var change;
        try { change = JSON.parse(event.data); } catch (error) { return; }
        changed(change);
      });
      source.addEventListener("reset", function () { changed(null); });
      // The session ended (signed out elsewhere, revoked): back to sign-in.
      source.addEventListener("revoked", function () {
        source.close();
        window.location.assign("/sign-in?next=" + encodeURIComponent(window.location.pathname + window.location.search));
      });
    };
    connect();
    // A page left behind (kept by the browser to come back to) lets go of its
    // stream: a browser opens only six connections to a site, and each stream
    // held by a page no one looks at is one fewer for the page in front.
    window.addEventListener("pagehide", function () {
      if (source) source.close();
      source = null;
    });
    // Back on it: the stream again, and whatever changed meanwhile.
    window.addEventListener("pageshow", function (event) {
      if (!event.persisted || source) return;
      connect();
      changed(null);
    });
  }

  // An invitation link carries its token after "#" (never sent to a server): it
  // goes into the form, and out of the address bar.
  function takeInvitationToken() {
    var field = document.getElementById("token");
    var match = window.location.hash.match(/^#token=([A-Za-z0-9_-]+)$/);
    if (!field || !match) return;
    field.value = match[1];
    var wrapper = field.closest(".js-token-field");
    if (wrapper) wrapper.hidden = true;
    window.history.replaceState(null, "", window.location.pathname);
  }

  // Uploading a document: a file dropped on the field is the one chosen; a file
  // over the limit is refused before a byte is sent; the upload shows its
  // progress. The server's answer is the page it would have shown without
  // JavaScript: the list on success, the form with its error otherwise.
  function enhanceUpload() {
    var form = document.querySelector("form.upload-form");
    if (!form || !window.XMLHttpRequest || !window.FormData) return;
    var input = form.querySelector("input[type=file]");
    var zone = form.querySelector(".drop-zone");
    var progressBox = form.querySelector(".upload-progress");
    var progress = form.querySelector("progress");
    var status = form.querySelector(".upload-status");
    var button = form.querySelector("button[type=submit]");
    var limit = parseInt(form.getAttribute("data-max-bytes") || "0", 10);
    var say = function (text) { status.textContent = text; };

    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("dragging");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("dragging"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        input.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
    input.addEventListener("change", function () {
      var file = input.files[0];
      var tooLarge = file && limit > 0 && file.size > limit;
      say(tooLarge ? form.getAttribute("data-too-large") : "");
      input.setAttribute("aria-invalid", tooLarge ? "true" : "false");
    });

    form.addEventListener("submit", function (event) {
      var file = input.files[0];
      if (!file) return;
      event.preventDefault();
      if (limit > 0 && file.size > limit) {
        say(form.getAttribute("data-too-large"));
        input.focus();
        return;
      }
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.upload.addEventListener("progress", function (progressEvent) {
        if (progressEvent.lengthComputable) {
          progress.value = Math.round((100 * progressEvent.loaded) / progressEvent.total);
        }
      });
      request.addEventListener("load", function () {
        progress.value = 100;
        if (request.status >= 200 && request.status < 300) {
          say(form.getAttribute("data-done"));
          // Where the server sent the form, loaded anew: when that is this very
          // page (a request's files), assigning it would only move to an anchor.
          var next = new URL(request.responseURL || window.location.href);
          var here = new URL(window.location.href);
          if (next.pathname + next.search === here.pathname + here.search) {
            window.location.reload();
          } else {
            window.location.assign(next.href);
          }
          return;
        }
        // The form again, with the server's reason next to it.
        var answer = new DOMParser().parseFromString(request.responseText, "text/html");
        var main = answer.querySelector("main");
        if (main) {
          document.querySelector("main").replaceWith(main);
          main.focus();
          enhanceUpload();
        } else {
          say(form.getAttribute("data-failed"));
          button.disabled = false;
        }
      });
      request.addEventListener("error", function () {
        say(form.getAttribute("data-failed"));
        button.disabled = false;
        progressBox.hidden = true;
      });
      button.disabled = true;
      progress.value = 0;
      progressBox.hidden = false;
      request.send(new FormData(form));
    });
  }

  // An export being prepared: its list is fetched again every two seconds
  // until nothing in it is waiting or being prepared (without this, the page's
  // "Check again" link does the same by hand). The announcer says it changed.
  function followExport() {
    if (!window.htmx || !document.getElementById("exports")) return;
    var announcer = document.getElementById("live-announcer");
    var poll = function () {
      var list = document.getElementById("exports");
      if (!list || !list.hasAttribute("data-building")) return;
      window.setTimeout(function () {
        window.htmx.ajax("GET", window.location.pathname, { target: "#exports", select: "#exports", swap: "outerHTML" }).then(function () {
          var fresh = document.getElementById("exports");
          if (fresh && !fresh.hasAttribute("data-building") && announcer) {
            announcer.textContent = "";
            announcer.textContent = announcer.getAttribute("data-message") || "";
          }
          poll();
        });
      }, 2000);
    };
    poll();
  }

  // Signing in: once the address's domain is typed, the page asks which
  // provider that domain signs in with (the domain only: the address never
  // leaves the form) and shows the organisation's sign-in when there is one.
  function offerSingleSignOn() {
    var email = document.getElementById("email");
    if (!email || !window.htmx || !document.getElementById("sso-offer")) return;
    var asked = null;
    var timer = null;
    var ask = function () {
      timer = null;
      var at = email.value.lastIndexOf("@");
      var domain = at > 0 ? email.value.slice(at + 1).trim().toLowerCase() : "";
      if (domain === asked) return;
      asked = domain;
      if (domain.indexOf(".") < 1) {
        var choice = document.getElementById("sso-choice");
        if (choice) choice.innerHTML = "";
        return;
      }
      window.htmx.ajax("GET", "/sign-in?domain=" + encodeURIComponent(domain), { target: "#sso-choice", select: "#sso-choice", swap: "outerHTML" });
    };
    email.addEventListener("input", function () {
      if (timer) window.clearTimeout(timer);
      timer = window.setTimeout(ask, 400);
    });
    email.addEventListener("change", ask);
    if (email.value) ask();
  }

  // A generated form's choice (an S3 bucket or a local folder): only the chosen
  // variant's fieldset is shown, and only its fields are sent. Without this
  // script every variant shows and the server reads the chosen one alone.
  function showChosenVariants() {
    var variants = document.querySelectorAll("fieldset.variant[data-choice]");
    if (!variants.length) return;
    var update = function () {
      for (var i = 0; i < variants.length; i++) {
        var choice = document.getElementById(variants[i].getAttribute("data-choice"));
        var shown = !choice || choice.value === variants[i].getAttribute("data-value");
        variants[i].hidden = !shown;
        variants[i].disabled = !shown;
      }
    };
    document.addEventListener("change", function (event) {
      if (event.target.tagName === "SELECT") update();
    });
    update();
  }

  function start() {
    showChosenVariants();
    offerSingleSignOn();
    takeInvitationToken();
    enhanceUpload();
    followChanges();
    followExport();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
