/* Table view: the filter builder and inline edit of cells.

   [data-filter-builder]  rows of field -> operator -> value; on submit they become one
                          condition ({"all": [...]}) in the form's [data-filter-value] input,
                          so the filter is in the URL. Fields, their operators and options
                          come from data-fields; operator names from data-operators.
   [data-cell-url]        a table whose [data-edit] cells change in place: click (or Enter),
                          type, Enter or leaving the cell saves with the row's version;
                          Escape gives up. A refused change keeps the old value and says why.
*/
(function () {
  "use strict";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text != null) node.textContent = text;
    return node;
  }

  function json(text, fallback) {
    try { return JSON.parse(text); } catch (e) { return fallback; }
  }

  /* ---- filter builder -------------------------------------------------------------- */

  var NO_VALUE = { is_empty: 1, is_not_empty: 1 };
  var LIST = { "in": 1, not_in: 1, has_any: 1, has_all: 1 };

  function initBuilder(box) {
    var form = box.closest("form");
    var hidden = form.querySelector("[data-filter-value]");
    var fields = json(box.getAttribute("data-fields"), []);
    var opNames = json(box.getAttribute("data-operators"), {});
    var byKey = {};
    fields.forEach(function (f) { byKey[f.key] = f; });
    var t = function (name) { return box.getAttribute("data-text-" + name) || name; };

    function valueInput(f, op, value) {
      if (NO_VALUE[op]) return el("span", { "data-filter-novalue": "" });
      var input;
      if (f.options) {
        input = el("select", { "class": "form-select fl-filter-select", "aria-label": t("value"), "data-filter-input": "" });
        if (LIST[op]) input.multiple = true;
        f.options.forEach(function (o) {
          var opt = el("option", { value: o[0] }, o[1]);
          if (Array.isArray(value) ? value.indexOf(o[0]) >= 0 : value === o[0]) opt.selected = true;
          input.appendChild(opt);
        });
      } else if (f.kind === "user") {
        input = el("select", { "class": "form-select fl-filter-select", "aria-label": t("value"), "data-filter-input": "" });
        input.appendChild(el("option", { value: "me" }, t("me")));
      } else if (f.kind === "date" || f.kind === "datetime") {
        return dateInput(value);
      } else {
        var type = f.kind === "number" ? "number" : "text";
        input = el("input", { "class": "form-control fl-filter-value", type: type, "aria-label": t("value"), "data-filter-input": "" });
        if (type === "number") input.setAttribute("step", "any");
        if (value != null && typeof value !== "object") input.value = value;
      }
      return input;
    }

    /* A date: a day picked, or relative to today in the app's time zone ({"today": -7}). */
    function dateInput(value) {
      var box = el("span", { "class": "fl-filter-date", "data-filter-input": "", "data-date": "" });
      var mode = el("select", { "class": "form-select fl-filter-select", "aria-label": t("when"), "data-date-mode": "" });
      [["on", t("on-day")], ["today", t("today")], ["ago", t("days-ago")], ["ahead", t("days-ahead")]].forEach(function (m) {
        mode.appendChild(el("option", { value: m[0] }, m[1]));
      });
      var day = el("input", { "class": "form-control fl-filter-value", type: "date", "aria-label": t("value"), "data-date-day": "" });
      var n = el("input", { "class": "form-control fl-filter-days", type: "number", min: "0", step: "1", "aria-label": t("days"), "data-date-n": "" });
      var rel = value && typeof value === "object" && typeof value.today === "number" ? value.today : null;
      if (rel === null) { mode.value = "on"; if (typeof value === "string") day.value = value; }
      else if (rel === 0) mode.value = "today";
      else { mode.value = rel < 0 ? "ago" : "ahead"; n.value = Math.abs(rel); }
      function show() {
        day.hidden = mode.value !== "on";
        n.hidden = mode.value !== "ago" && mode.value !== "ahead";
      }
      mode.addEventListener("change", show);
      show();
      [mode, day, n].forEach(function (x) { box.appendChild(x); });
      return box;
    }

    function dateValue(box) {
      var mode = box.querySelector("[data-date-mode]").value;
      if (mode === "today") return { today: 0 };
      if (mode === "on") return box.querySelector("[data-date-day]").value || null;
      var n = parseInt(box.querySelector("[data-date-n]").value, 10);
      if (isNaN(n)) return null;
      return { today: mode === "ago" ? -n : n };
    }

    function addRow(leaf) {
      var f = byKey[leaf && leaf.field] || fields[0];
      if (!f) return;
      var row = el("div", { "class": "fl-filter-row", "data-filter-row": "" });
      row.appendChild(el("span", { "class": "fl-filter-joint" }, box.querySelector("[data-filter-row]") ? joint() : t("where")));
      var fieldSel = el("select", { "class": "form-select fl-filter-select", "aria-label": t("field"), "data-filter-field": "" });
      fields.forEach(function (x) {
        var opt = el("option", { value: x.key }, x.label);
        if (x.key === f.key) opt.selected = true;
        fieldSel.appendChild(opt);
      });
      var opSel = el("select", { "class": "form-select fl-filter-select", "aria-label": t("operator"), "data-filter-op": "" });
      var slot = el("span", { "class": "fl-filter-slot" });
      var remove = el("button", { type: "button", "class": "btn btn-link fl-clear", "aria-label": t("remove"), title: t("remove") });
      remove.appendChild(el("i", { "class": "bi bi-x-lg", "aria-hidden": "true" }));

      function fillOps(chosen) {
        var field = byKey[fieldSel.value];
        opSel.innerHTML = "";
        field.ops.forEach(function (op) {
          var opt = el("option", { value: op }, opNames[op] || op);
          if (op === chosen) opt.selected = true;
          opSel.appendChild(opt);
        });
      }
      function fillValue(value) {
        slot.innerHTML = "";
        slot.appendChild(valueInput(byKey[fieldSel.value], opSel.value, value));
      }
      fillOps(leaf && leaf.op);
      fillValue(leaf && leaf.value);
      fieldSel.addEventListener("change", function () { fillOps(null); fillValue(null); });
      opSel.addEventListener("change", function () { fillValue(null); });
      remove.addEventListener("click", function () {
        row.remove();
        var first = box.querySelector("[data-filter-row] .fl-filter-joint");
        if (first) first.textContent = t("where");
        if (!box.querySelector("[data-filter-row]")) { hidden.value = ""; form.submit(); }
      });
      [fieldSel, opSel, slot, remove].forEach(function (n) { row.appendChild(n); });
      var apply = box.querySelector("[data-filter-apply]");
      box.insertBefore(row, apply);
      return row;
    }

    function leafOf(row) {
      var field = byKey[row.querySelector("[data-filter-field]").value];
      var op = row.querySelector("[data-filter-op]").value;
      if (NO_VALUE[op]) return { field: field.key, op: op };
      var input = row.querySelector("[data-filter-input]");
      var value;
      if (input.multiple) {
        value = Array.prototype.filter.call(input.options, function (o) { return o.selected; }).map(function (o) { return o.value; });
        if (!value.length) return null;
      } else if (field.kind === "user") {
        value = { "var": "user.id" };
      } else if (input.hasAttribute("data-date")) {
        value = dateValue(input);
        if (value === null) return null;
      } else {
        value = input.value;
        if (value === "") return null;
        if (field.kind === "number") value = Number(value);
      }
      if (LIST[op] && !Array.isArray(value)) value = String(value).split(",").map(function (s) { return s.trim(); });
      return { field: field.key, op: op, value: value };
    }

    /* Every condition (all) or any one of them (any): the joint word says which. */
    var match = el("select", { "class": "form-select form-select-sm fl-filter-match", "aria-label": t("match"), "data-filter-match": "" });
    match.appendChild(el("option", { value: "all" }, t("match-all")));
    match.appendChild(el("option", { value: "any" }, t("match-any")));
    function joint() { return match.value === "any" ? t("or") : t("and"); }
    match.addEventListener("change", function () {
      box.querySelectorAll("[data-filter-row] .fl-filter-joint").forEach(function (j, i) { if (i > 0) j.textContent = joint(); });
    });
    var apply = el("button", { type: "submit", "class": "btn btn-primary btn-sm" }, t("apply"));
    var foot = el("div", { "class": "fl-filter-foot", "data-filter-apply": "" });
    foot.appendChild(match);
    foot.appendChild(apply);
    box.appendChild(foot);
    apply = foot;
    var current = json(hidden.value, null);
    if (current && current.any) match.value = "any";
    var leaves = current && current.all ? current.all : current && current.any ? current.any : current ? [current] : [];
    var simple = leaves.every(function (l) { return l && l.field && byKey[l.field] && l.op; });
    if (simple) leaves.forEach(addRow);
    else box.insertBefore(el("p", { "class": "fl-muted fl-filter-custom" }, t("custom")), apply);
    box.hidden = !box.querySelector("[data-filter-row]");

    form.querySelector("[data-filter-add]").addEventListener("click", function () {
      box.hidden = false;
      var custom = box.querySelector(".fl-filter-custom");
      if (custom) { custom.remove(); hidden.value = ""; }
      var row = addRow(null);
      if (row) row.querySelector("[data-filter-field]").focus();
    });
    form.addEventListener("submit", function () {
      if (box.querySelector(".fl-filter-custom")) return;  // the link's own filter stays as it is
      var parts = Array.prototype.map.call(box.querySelectorAll("[data-filter-row]"), leafOf).filter(Boolean);
      var group = {};
      group[match.value] = parts;
      hidden.value = parts.length === 0 ? "" : JSON.stringify(parts.length === 1 ? parts[0] : group);
      if (!hidden.value) hidden.disabled = true;  // no empty filter= in the URL
    });
  }

  document.querySelectorAll("[data-filter-builder]").forEach(initBuilder);

  /* ---- inline edit ----------------------------------------------------------------- */

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  /* The totals row and the groups' counts and totals, as the server now has them: the
     same page read again, its [data-view-totals] and [data-view-groups] put in place. */
  function refreshSums() {
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        ["[data-view-totals]", "[data-view-groups]"].forEach(function (sel) {
          var now = document.querySelector(sel), then = fresh.querySelector(sel);
          if (now && then) now.replaceWith(document.importNode(then, true));
        });
      })
      .catch(function () { /* the sums stay as they were; a reload shows them */ });
  }

  function startEdit(td) {
    if (td.querySelector("[data-cell-input]")) return;
    var table = td.closest("[data-cell-url]");
    var spec = json(td.getAttribute("data-input"), { type: "text" });
    var shown = td.querySelector("[data-cell]");
    var old = td.getAttribute("data-raw") || "";
    var input;
    if (spec.type === "select") {
      input = el("select", { "class": "form-select form-select-sm" });
      spec.options.forEach(function (o) {
        var opt = el("option", { value: o[0] }, o[1]);
        if (o[0] === old) opt.selected = true;
        input.appendChild(opt);
      });
    } else {
      input = el("input", { "class": "form-control form-control-sm", type: spec.type });
      if (spec.type === "number") input.setAttribute("step", "any");
      input.value = old;
    }
    input.setAttribute("data-cell-input", "");
    input.setAttribute("aria-label", td.getAttribute("data-label") || "");
    var note = td.querySelector("[data-cell-error]");
    if (note) note.remove();
    shown.hidden = true;
    td.appendChild(input);
    input.focus();
    var done = false;

    function finish() {
      input.remove();
      shown.hidden = false;
      td.focus();
    }
    function fail(text) {
      finish();
      var msg = el("div", { "class": "fl-cell-error", role: "alert", "data-cell-error": "" }, text);
      td.appendChild(msg);
    }
    function save() {
      if (done) return;
      done = true;
      if (input.value === old) { finish(); return; }
      var row = td.closest("[data-record]");
      var body = new FormData();
      body.append("record", row.getAttribute("data-record"));
      body.append("version", row.getAttribute("data-version"));
      body.append("field", td.getAttribute("data-edit"));
      body.append("value", input.value);
      input.disabled = true;
      td.setAttribute("aria-busy", "true");
      fetch(table.getAttribute("data-cell-url"), { method: "POST", body: body, credentials: "same-origin",
                                                     headers: { Accept: "application/json", "X-CSRFToken": csrf() } })
        .then(function (r) {
          return r.json().then(function (a) { return { ok: r.ok, answer: a }; }, function () { return { ok: false, answer: {} }; });
        })
        .then(function (res) {
          td.removeAttribute("aria-busy");
          if (!res.ok) { fail(res.answer.message || table.getAttribute("data-text-failed")); return; }
          shown.innerHTML = res.answer.html;
          td.setAttribute("data-raw", res.answer.raw);
          row.setAttribute("data-version", res.answer.version);
          finish();
          refreshSums();
        })
        .catch(function () { td.removeAttribute("aria-busy"); fail(table.getAttribute("data-text-failed")); });
    }
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); save(); }
      if (e.key === "Escape") { done = true; finish(); }
    });
    input.addEventListener("blur", save);
    if (spec.type === "select") input.addEventListener("change", save);
  }

  document.addEventListener("click", function (e) {
    var td = e.target.closest && e.target.closest("[data-cell-url] td[data-edit]");
    if (!td || e.target.closest("a, [data-cell-input]")) return;
    startEdit(td);
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Enter" || !e.target.matches || !e.target.matches("[data-cell-url] td[data-edit]")) return;
    e.preventDefault();
    startEdit(e.target);
  });
})();
