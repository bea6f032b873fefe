/* Formloom page behaviours. Plain JavaScript, no build step; each one is opt-in through
   data attributes, and all listeners are delegated on `document` so content swapped in by
   htmx works without re-initialising anything.

   data-confirm="Question?"   on a form, submit button, link or button: ask before acting
   hx-confirm="Question?"     same dialog for htmx requests
   data-no-disable            on a form: keep its buttons enabled after submit
   data-subform="items"       repeated rows named items-<n>-<field> (see initSubforms)
   data-autodismiss="6000"    on an .alert: close it after that many milliseconds
   data-history-back          on a link: go back when there is history, else follow href
   data-autosubmit            on a select: changing it submits its form
   data-check-all="task"      on a checkbox: (un)ticks the form's checkboxes named "task"
   data-copy-target="id"      on a button: copies the value of that input (data-copied-label
                              replaces the button's text once copied)
   data-select-on-focus       on an input: focusing it selects its text
   data-print                 on a button: prints the page
   data-badge-color="#hex"    on a .fl-badge: its colour (pages may not carry style="…")
   data-percent="40"          on a .progress-bar: its width
   form[data-rules-form]      on a record's form page: fields linked to another form fill
                              themselves (see "data linkage")
*/
(function () {
  "use strict";

  /* ---- confirm dialog --------------------------------------------------------------- */

  function isDanger(el) {
    if (!el) return false;
    if (el.hasAttribute && el.hasAttribute("data-confirm-danger")) return true;
    if (/\bbtn(-outline)?-danger\b/.test(el.className || "")) return true;
    return Boolean(el.querySelector && el.querySelector(".btn-danger, .btn-outline-danger"));
  }

  // Resolves true when the user confirms. Uses the dialog in base.html, falling back to the
  // browser's confirm() when Bootstrap or the dialog is missing (e.g. a bare error page).
  function askConfirm(message, danger) {
    var modalEl = document.getElementById("fl-confirm");
    if (!modalEl || !window.bootstrap) return Promise.resolve(window.confirm(message));
    return new Promise(function (resolve) {
      var ok = modalEl.querySelector("[data-confirm-ok]");
      var confirmed = false;
      var modal = window.bootstrap.Modal.getOrCreateInstance(modalEl);
      function onOk() { confirmed = true; modal.hide(); }
      modalEl.querySelector("[data-confirm-message]").textContent = message;
      ok.className = "btn " + (danger ? "btn-danger" : "btn-primary");
      ok.addEventListener("click", onOk);
      modalEl.addEventListener("shown.bs.modal", function () { ok.focus(); }, { once: true });
      modalEl.addEventListener("hidden.bs.modal", function () {
        ok.removeEventListener("click", onOk);
        resolve(confirmed);
      }, { once: true });
      modal.show();
    });
  }

  // Forms: capture phase, so nothing else (htmx included) sees the submit before the user
  // has confirmed. A confirmed submit is replayed with the same submitter button.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter || null;
    var message = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (!message) return;
    if (form.dataset.flConfirmed === "1") { delete form.dataset.flConfirmed; return; }
    event.preventDefault();
    event.stopPropagation();
    askConfirm(message, isDanger(submitter || form)).then(function (ok) {
      if (!ok) return;
      form.dataset.flConfirmed = "1";
      if (form.requestSubmit) form.requestSubmit(submitter || undefined);
      else form.submit();
    });
  }, true);

  // Links and plain buttons: same idea, the confirmed click is replayed.
  document.addEventListener("click", function (event) {
    var el = event.target.closest("a[data-confirm], button[type=button][data-confirm]");
    if (!el) return;
    if (el.dataset.flConfirmed === "1") { delete el.dataset.flConfirmed; return; }
    event.preventDefault();
    event.stopPropagation();
    askConfirm(el.getAttribute("data-confirm"), isDanger(el)).then(function (ok) {
      if (!ok) return;
      el.dataset.flConfirmed = "1";
      el.click();
    });
  }, true);

  // htmx asks through this event before any hx-confirm request.
  document.addEventListener("htmx:confirm", function (event) {
    var question = event.detail && event.detail.question;
    if (!question) return;
    event.preventDefault();
    askConfirm(question, isDanger(event.detail.elt)).then(function (ok) {
      if (ok) event.detail.issueRequest(true);
    });
  });

  /* ---- no double posts -------------------------------------------------------------- */

  function submitButtons(form) {
    var own = Array.prototype.slice.call(form.querySelectorAll("button:not([type=button]):not([type=reset]), input[type=submit]"));
    if (form.id) {
      own = own.concat(Array.prototype.slice.call(document.querySelectorAll('[form="' + form.id + '"]')));
    }
    return own;
  }

  function lockForm(form, submitter) {
    submitButtons(form).forEach(function (btn) {
      btn.disabled = true;
      btn.setAttribute("data-fl-locked", "");
    });
    if (submitter && submitter.classList.contains("btn")) submitter.classList.add("is-submitting");
  }

  function unlockAll() {
    document.querySelectorAll("[data-fl-locked]").forEach(function (btn) {
      btn.disabled = false;
      btn.removeAttribute("data-fl-locked");
      btn.classList.remove("is-submitting");
    });
  }

  // Bubble phase: runs after the confirm step and after htmx, which cancels its own submits.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || form.hasAttribute("data-no-disable")) return;
    // A form opening a new tab or downloading a file leaves this page usable.
    if ((form.getAttribute("target") || "").toLowerCase() === "_blank") return;
    // Deferred: a submitter disabled now would drop its name=value from the posted data.
    var submitter = event.submitter || null;
    window.setTimeout(function () { lockForm(form, submitter); }, 0);
  });

  // Back/forward cache restores the page as it was: with its buttons still disabled.
  window.addEventListener("pageshow", function (event) { if (event.persisted) unlockAll(); });

  /* ---- subform rows ----------------------------------------------------------------- */
  /* Markup:
       <div data-subform="items" data-subform-min="0" data-subform-max="50">
         <table><tbody data-subform-rows>
           <tr data-subform-row>… name="items-0-title" … <button type="button" data-subform-remove></tr>
         </tbody></table>
         <div data-subform-empty>No rows yet</div>            (optional)
         <template data-subform-template><tr data-subform-row>… name="items-__index__-title" …</tr></template>
         <button type="button" data-subform-add>Add row</button>
       </div>
     Rows are renumbered 0..n-1 after every change, as WTForms' FieldList expects. */

  var RENUMBERED = ["name", "id", "for", "aria-describedby", "aria-labelledby", "aria-controls", "list"];

  function escapeRegExp(text) { return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }

  function ownRows(container) {
    return Array.prototype.filter.call(
      container.querySelectorAll("[data-subform-row]"),
      function (row) { return row.closest("[data-subform]") === container; }
    );
  }

  function renumberRow(row, pattern, prefix, index) {
    var elements = [row].concat(Array.prototype.slice.call(row.querySelectorAll("*")));
    elements.forEach(function (el) {
      RENUMBERED.forEach(function (attr) {
        var value = el.getAttribute(attr);
        if (value) el.setAttribute(attr, value.replace(pattern, "$1" + prefix + "-" + index + "-"));
      });
    });
    row.querySelectorAll("[data-subform-number]").forEach(function (el) { el.textContent = String(index + 1); });
  }

  function refreshSubform(container) {
    var prefix = container.getAttribute("data-subform");
    var pattern = new RegExp("(^|\\s)" + escapeRegExp(prefix) + "-(\\d+|__index__)-", "g");
    var rows = ownRows(container);
    rows.forEach(function (row, index) { renumberRow(row, pattern, prefix, index); });
    var min = parseInt(container.getAttribute("data-subform-min") || "0", 10);
    var max = parseInt(container.getAttribute("data-subform-max") || "0", 10);
    container.querySelectorAll("[data-subform-add]").forEach(function (btn) {
      btn.disabled = max > 0 && rows.length >= max;
    });
    rows.forEach(function (row) {
      row.querySelectorAll("[data-subform-remove]").forEach(function (btn) { btn.disabled = rows.length <= min; });
    });
    var empty = container.querySelector("[data-subform-empty]");
    if (empty) empty.hidden = rows.length > 0;
    container.dispatchEvent(new CustomEvent("formloom:subform-change", { bubbles: true, detail: { count: rows.length } }));
  }

  function addRow(container) {
    var template = container.querySelector("template[data-subform-template]");
    var body = container.querySelector("[data-subform-rows]");
    if (!template || !body) return;
    var fragment = template.content.cloneNode(true);
    var row = fragment.querySelector("[data-subform-row]");
    body.appendChild(fragment);
    refreshSubform(container);
    var first = row && row.querySelector("input:not([type=hidden]), select, textarea");
    if (first) first.focus();
    if (window.htmx && row) window.htmx.process(row);
  }

  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-subform-add]");
    if (add) {
      var container = add.closest("[data-subform]");
      if (container) addRow(container);
      return;
    }
    var remove = event.target.closest("[data-subform-remove]");
    if (!remove) return;
    var row = remove.closest("[data-subform-row]");
    var owner = row && row.closest("[data-subform]");
    if (!owner) return;
    row.remove();
    refreshSubform(owner);
  });

  function initSubforms(root) {
    root.querySelectorAll("[data-subform]").forEach(refreshSubform);
  }

  /* ---- data linkage (数据联动) -------------------------------------------------------- */
  /* On a record's form page (…/a/<app>/f/<form>/new or …/r/<id>/edit) the page asks
     <form>/linkage which fields are filled from another form and which inputs each reads;
     when one of those inputs changes it asks for the value saving would fill, and fills it.
     "overwrite": false -> filled and read-only; true -> filled unless the user typed there.
     Subform rows (added ones too) read and fill their own inputs. The server fills the same
     values on save, so this is a convenience, never the authority. */

  var FORM_PAGE = /^(.*\/a\/[^\/]+\/f\/[^\/]+)\/(?:new|r\/\d+\/edit)\/?$/;

  function namedIn(scope, name) {
    return Array.prototype.filter.call(scope.querySelectorAll("[name]"), function (el) {
      return el.name === name && !el.hasAttribute("data-picker-proto");
    });
  }

  function inputValues(scope, name) {
    var out = [];
    namedIn(scope, name).forEach(function (el) {
      if (el.disabled && el.type !== "radio") return;
      if (el.type === "checkbox" || el.type === "radio") { if (el.checked) out.push(el.value); }
      else if (el.tagName === "SELECT") Array.prototype.forEach.call(el.selectedOptions, function (o) { out.push(o.value); });
      else out.push(el.value);
    });
    return out.filter(function (v) { return v !== ""; });
  }

  function lockInput(el) {
    if (el.type === "radio") { el.disabled = !el.checked; return; }
    if (el.tagName === "SELECT") {
      Array.prototype.forEach.call(el.options, function (o) { o.disabled = !o.selected; });
      return;
    }
    if (el.type === "checkbox") { el.onclick = function () { return false; }; return; }
    el.readOnly = true;
  }

  function setInput(els, value, locked) {
    var text = value === null || value === undefined ? "" : String(value);
    els.forEach(function (el) {
      if (el.type === "radio") { el.disabled = false; el.checked = el.value === text; }
      else if (el.type === "checkbox") el.checked = value === true;
      else if (el.tagName === "SELECT") {
        Array.prototype.forEach.call(el.options, function (o) { o.disabled = false; });
        el.value = text;
      } else el.value = text;
    });
    els.forEach(function (el) { if (locked) lockInput(el); });
    if (els.length) els[0].dispatchEvent(new Event("change", { bubbles: true }));
  }

  function linkedNames(form, link) {
    var pattern = link.subform
      ? new RegExp("^" + escapeRegExp(link.subform) + "-\\d+-" + escapeRegExp(link.key) + "$")
      : new RegExp("^" + escapeRegExp(link.key) + "$");
    return Array.prototype.filter.call(form.querySelectorAll("[name]"), function (el) {
      return pattern.test(el.name);
    });
  }

  // Says where the value comes from; a locked input is shaded as read-only inputs are.
  function markLinked(form) {
    (form.flLinkage || []).forEach(function (link) {
      linkedNames(form, link).forEach(function (el) {
        if (link.note) el.title = link.note;
        if (link.overwrite) return;
        lockInput(el);
        if (el.type !== "radio" && el.type !== "checkbox") el.classList.add("bg-body-tertiary");
      });
    });
  }

  function fillLinked(form, link, scope, prefix) {
    var targets = namedIn(scope, prefix + link.key);
    if (!targets.length) return;  // hidden from this user, or shown read-only
    var typed = targets.some(function (el) { return el.dataset.flTyped === "1"; });
    if (link.overwrite && typed && inputValues(scope, prefix + link.key).length) return;
    var params = new URLSearchParams({ field: link.field });
    link.reads.forEach(function (key) {
      inputValues(scope, prefix + key).forEach(function (v) { params.append(key, v); });
    });
    var ticket = (form.flLinkageTicket = (form.flLinkageTicket || 0) + 1);
    var slot = prefix + link.key;
    form.flLinkageLatest = form.flLinkageLatest || {};
    form.flLinkageLatest[slot] = ticket;
    var url = form.flLinkageUrl + (form.flLinkageUrl.indexOf("?") < 0 ? "?" : "&") + params.toString();
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (resp) { return resp.ok ? resp.json() : null; })
      .then(function (body) {
        if (!body || form.flLinkageLatest[slot] !== ticket) return;  // a later change answers instead
        targets.forEach(function (el) { delete el.dataset.flTyped; });
        setInput(namedIn(scope, slot), body.value, !link.overwrite);
      })
      .catch(function () { /* offline: saving fills it */ });
  }

  function changedName(el) {
    var picker = el.closest && el.closest("[data-link-picker]");
    if (picker) {
      if (el !== picker) return null;  // typing in a picker's search box changes no value
      var proto = picker.querySelector("[data-picker-proto]");
      return proto ? proto.name : null;
    }
    return el.name || null;
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form[data-rules-form]");
    if (!form || !form.flLinkage || !form.flLinkage.length) return;
    var name = changedName(event.target);
    if (!name) return;
    var row = event.target.closest("[data-subform-row]");
    var owner = row && row.closest("[data-subform]");
    var subform = owner ? owner.getAttribute("data-subform") : null;
    var prefix = "";
    var key = name;
    if (subform) {
      var m = name.match(new RegExp("^(" + escapeRegExp(subform) + "-\\d+-)(.+)$"));
      if (!m) return;
      prefix = m[1];
      key = m[2];
    }
    form.flLinkage.forEach(function (link) {
      if (link.subform === subform && link.reads.indexOf(key) >= 0) fillLinked(form, link, row || form, prefix);
    });
  });

  // What the user types into a linked field is theirs: an "overwrite" field keeps it.
  ["input", "change"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      if (event.isTrusted && event.target.name && event.target.closest("form[data-rules-form]")) {
        event.target.dataset.flTyped = "1";
      }
    });
  });

  document.addEventListener("formloom:subform-change", function (event) {
    var form = event.target.closest("form[data-rules-form]");
    if (form) markLinked(form);
  });

  // A form page finds its endpoint from its address; another page (a task's) names it in
  // data-linkage-url.
  function initLinkage(root) {
    if (!window.fetch) return;
    var match = window.location.pathname.match(FORM_PAGE);
    root.querySelectorAll("form[data-rules-form]").forEach(function (form) {
      if (form.flLinkageUrl) return;
      var named = form.getAttribute("data-linkage-url");
      if (!named && !match) return;
      form.flLinkageUrl = named || match[1] + "/linkage";
      fetch(form.flLinkageUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (resp) { return resp.ok ? resp.json() : { fields: [] }; })
        .then(function (body) {
          form.flLinkage = body.fields || [];
          markLinked(form);
        })
        .catch(function () { form.flLinkage = []; });
    });
  }

  /* ---- end of data linkage ---------------------------------------------------------- */

  /* ---- htmx: CSRF header ------------------------------------------------------------ */

  function sameOrigin(path) {
    try { return new URL(path, window.location.href).origin === window.location.origin; }
    catch (e) { return false; }
  }

  // Flask-WTF reads X-CSRFToken on POST/PUT/PATCH/DELETE; never send it to another site.
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && sameOrigin(event.detail.path)) event.detail.headers["X-CSRFToken"] = meta.content;
  });

  /* ---- flashes ---------------------------------------------------------------------- */

  function closeAlert(alert) {
    if (window.bootstrap && window.bootstrap.Alert) window.bootstrap.Alert.getOrCreateInstance(alert).close();
    else alert.remove();
  }

  // Timer pauses while the pointer or focus is on the message, so it can still be read.
  function scheduleDismiss(alert) {
    if (alert.dataset.flTimer) return;
    alert.dataset.flTimer = "1";
    var delay = parseInt(alert.getAttribute("data-autodismiss"), 10) || 6000;
    var timer = null;
    function start() { timer = window.setTimeout(function () { closeAlert(alert); }, delay); }
    function pause() { window.clearTimeout(timer); }
    alert.addEventListener("mouseenter", pause);
    alert.addEventListener("focusin", pause);
    alert.addEventListener("mouseleave", start);
    alert.addEventListener("focusout", start);
    start();
  }

  function initAlerts(root) {
    root.querySelectorAll(".alert[data-autodismiss]").forEach(scheduleDismiss);
  }

  /* ---- small helpers ---------------------------------------------------------------- */
  /* The Content-Security-Policy lets pages run no inline script, handler or style: what a
     template would once have said in onclick= or style= is a data attribute read here. */

  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-history-back]");
    if (!link || window.history.length <= 1 || !document.referrer) return;
    event.preventDefault();
    window.history.back();
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) window.print();
  });

  document.addEventListener("change", function (event) {
    var select = event.target.closest("[data-autosubmit]");
    if (select && select.form) select.form.requestSubmit();
  });

  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-check-all]");
    if (!all || !all.form) return;
    var name = all.getAttribute("data-check-all");
    Array.prototype.forEach.call(all.form.elements, function (box) {
      if (box.type === "checkbox" && box.name === name) box.checked = all.checked;
    });
  });

  // The Clipboard API where the page is a secure context, else select and copy.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var input = document.getElementById(button.getAttribute("data-copy-target"));
    if (!input) return;
    function done() {
      var label = button.querySelector("span");
      if (label) label.textContent = button.getAttribute("data-copied-label");
      var icon = button.querySelector(".bi");
      if (icon) icon.className = "bi bi-check2";
    }
    function fallback() {  // no Clipboard API, or it refused (say, the window lost focus)
      input.select();
      if (document.execCommand("copy")) done();
    }
    input.select();
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(input.value).then(done, fallback);
    else fallback();
  });

  document.addEventListener("focusin", function (event) {
    if (event.target.matches("[data-select-on-focus]")) event.target.select();
  });

  var HEX_COLOR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

  function initDataStyles(root) {
    root.querySelectorAll("[data-badge-color]").forEach(function (el) {
      var color = el.getAttribute("data-badge-color");
      if (HEX_COLOR.test(color)) el.style.setProperty("--fl-badge", color);
    });
    root.querySelectorAll("[data-percent]").forEach(function (el) {
      var percent = Number(el.getAttribute("data-percent"));
      if (percent >= 0 && percent <= 100) el.style.width = percent + "%";
    });
  }

  /* ---- background refreshes in progress ------------------------------------------------ */

  // [data-refresh-poll] rows (the Lookups and rollups page, a record's "updating" notice) fetch
  // their JSON ({status, done, percent, changed}) every 2 s and move
  // their bar ([data-refresh-bar], [data-refresh-done], [data-refresh-percent]); once none is
  // queued or running any more, the page reloads to show how they ended.
  function initRefreshPoll(root) {
    var rows = Array.prototype.slice.call(root.querySelectorAll("[data-refresh-poll]"));
    if (!rows.length || document.body.dataset.flRefreshPoll) return;
    document.body.dataset.flRefreshPoll = "1";
    var working = {};
    var numbers;
    try { numbers = new Intl.NumberFormat((document.documentElement.lang || "").replace("_", "-") || undefined); }
    catch (e) { numbers = new Intl.NumberFormat(); }
    rows.forEach(function (row) { working[row.getAttribute("data-refresh-poll")] = row; });
    function paint(row, state) {
      var bar = row.querySelector("[data-refresh-bar]");
      if (bar) {
        bar.style.width = state.percent + "%";
        if (bar.parentNode) bar.parentNode.setAttribute("aria-valuenow", state.percent);
      }
      var done = row.querySelector("[data-refresh-done]");
      if (done) done.textContent = numbers.format(state.done);
      var percent = row.querySelector("[data-refresh-percent]");
      if (percent) percent.textContent = String(state.percent);
      var changed = row.querySelector("[data-refresh-changed]");
      if (changed) changed.textContent = String(state.changed);
    }
    function round() {
      var urls = Object.keys(working);
      Promise.all(urls.map(function (url) {
        return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (state) {
            if (!state) return;
            paint(working[url], state);
            if (state.status !== "queued" && state.status !== "running") delete working[url];
          });
      })).then(function () {
        if (!Object.keys(working).length) { window.location.reload(); return; }
        window.setTimeout(round, 2000);
      }, function () { window.setTimeout(round, 5000); });
    }
    window.setTimeout(round, 2000);
  }

  function init(root) {
    initDataStyles(root);
    initSubforms(root);
    initAlerts(root);
    initLinkage(root);
    initRefreshPoll(root);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }
  // New content from htmx: subforms and flashes inside it need the same set-up.
  document.addEventListener("htmx:load", function (event) { init(event.detail.elt.parentNode || document); });
})();
