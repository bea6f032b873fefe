/* The designers' frame, shared by every designer page (forms now; views, dashboards and flows
   later): the draft (load, autosave with If-Match, conflicts), a settings panel generated from a
   kind's JSON Schema (`config_schema`), and the validator's JSON pointers mapped to the
   elements that carry them (`data-pointer`). No page-specific knowledge here. */
(function () {
  "use strict";

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") node.textContent = v;
      else if (k === "className") node.className = v;
      else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }

  function readJson(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  /* The app's draft: `change()` after each edit saves it (debounced) with the version it was
     loaded at; a draft someone else saved meanwhile is never overwritten (409: onConflict). */
  function Draft(url, definition, version, hooks) {
    this.url = url;
    this.definition = definition;
    this.version = version;
    this.hooks = hooks || {};
    this.timer = null;
    this.saving = false;
    this.pending = false;
    this.stale = false;
  }
  Draft.prototype.status = function (state, detail) {
    if (this.hooks.onStatus) this.hooks.onStatus(state, detail);
  };
  Draft.prototype.change = function () {
    var self = this;
    if (this.stale) return;
    this.status("dirty");
    clearTimeout(this.timer);
    this.timer = setTimeout(function () { self.save(); }, 600);
  };
  Draft.prototype.save = function () {
    var self = this;
    clearTimeout(this.timer);
    this.timer = null;
    if (this.stale) return Promise.resolve();
    if (this.saving) { this.pending = true; return Promise.resolve(); }
    this.saving = true;
    this.status("saving");
    return fetch(this.url, {
      method: "PUT", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "If-Match": '"' + this.version + '"', "X-CSRFToken": csrfToken() },
      body: JSON.stringify(this.definition)
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (body) { return [resp, body]; });
    }).then(function (pair) {
      var resp = pair[0], body = pair[1];
      self.saving = false;
      if (resp.status === 409) {
        self.stale = true;
        self.status("conflict", body.detail);
        if (self.hooks.onConflict) self.hooks.onConflict(body);
        return;
      }
      if (!resp.ok) { self.status("error", body.detail || resp.statusText); return; }
      self.version = body.version;
      self.status(body.valid ? "saved" : "invalid", body.errors);
      if (self.hooks.onSaved) self.hooks.onSaved(body.errors || []);
      if (self.pending) { self.pending = false; self.save(); }
    }).catch(function () {
      self.saving = false;
      self.status("error");
    });
  };
  /* Whether an edit is not saved yet (leaving the page now would lose it). */
  Draft.prototype.unsaved = function () { return !this.stale && (!!this.timer || this.saving); };

  /* After a conflict, when the admin chooses to keep their version: read the draft's current
     version and save this one over it (a deliberate overwrite, never a silent one). */
  Draft.prototype.overwrite = function () {
    var self = this;
    return fetch(this.url, { credentials: "same-origin", headers: { "Accept": "application/json" } }).then(function (resp) {
      if (!resp.ok) { self.status("error"); return; }
      self.version = Number((resp.headers.get("ETag") || "").replace(/\D/g, ""));
      self.stale = false;
      return self.save();
    });
  };

  /* Save now and wait: before leaving for the publish page. */
  Draft.prototype.flush = function () {
    if (this.timer || this.saving) return this.save();
    return Promise.resolve();
  };

  /* ---- settings generated from a JSON Schema -------------------------------------------- */

  function labelFor(key, words) { return (words.settings && words.settings[key]) || key.replace(/_/g, " "); }

  function setValue(target, key, value) {
    if (value === "" || value === null || value === undefined || value === false || (Array.isArray(value) && !value.length)) delete target[key];
    else target[key] = value;
  }

  /* One input for a property of the schema; returns its wrapper (with data-pointer). `ctx`:
     {target, pointer, words, onChange, editors: {key: function(prop, ctx) -> element}}. */
  function settingInput(key, prop, ctx) {
    var id = "fl-set-" + key;
    var value = ctx.target[key];
    var wrap = el("div", { className: "fl-setting mb-3", "data-pointer": ctx.pointer + "/" + key, "data-setting": key });
    var custom = ctx.editors && ctx.editors[key];
    var input;
    function changed(v) { setValue(ctx.target, key, v); ctx.onChange(key); }
    if (custom) {
      var made = custom(prop, ctx, changed);
      if (!made) return null;
      wrap.appendChild(made);
    } else if (prop.type === "boolean") {
      input = el("input", { type: "checkbox", className: "form-check-input", id: id, checked: !!value,
        onchange: function () { changed(this.checked); } });
      wrap.appendChild(el("div", { className: "form-check form-switch" }, [input,
        el("label", { className: "form-check-label", "for": id, text: labelFor(key, ctx.words) })]));
      input = null;  // labelled already
    } else if (prop.enum) {
      input = el("select", { className: "form-select form-select-sm", id: id,
        onchange: function () { changed(this.value); } },
        [el("option", { value: "", text: "—" })].concat(prop.enum.map(function (v) {
          return el("option", { value: v, text: (ctx.words.values && ctx.words.values[v]) || v, selected: v === value });
        })));
    } else if (prop.type === "integer" || prop.type === "number") {
      input = el("input", { type: "number", className: "form-control form-control-sm", id: id,
        step: prop.type === "integer" ? "1" : "any", min: prop.minimum, max: prop.maximum,
        value: value === undefined ? "" : value,
        oninput: function () {
          var n = this.value === "" ? "" : Number(this.value);
          changed(n === "" || isNaN(n) ? "" : n);
        } });
    } else if (prop.type === "array" && prop.items && prop.items.type === "string") {
      input = el("input", { type: "text", className: "form-control form-control-sm", id: id,
        value: (value || []).join(", "),
        oninput: function () { changed(this.value.split(",").map(function (s) { return s.trim(); }).filter(Boolean)); } });
    } else if (prop.type === "string" || prop.type === undefined && !prop.oneOf && !prop.items) {
      input = el("input", { type: "text", className: "form-control form-control-sm", id: id,
        value: value === undefined ? "" : value, maxlength: prop.maxLength,
        oninput: function () { changed(this.value); } });
    } else {
      return null;  // a setting with no generic input (nested rules, linkage): left as it is
    }
    if (input) {
      wrap.appendChild(el("label", { className: "form-label", "for": id, text: labelFor(key, ctx.words) }));
      wrap.appendChild(input);
    }
    var help = ctx.words.help && ctx.words.help[key];
    if (help) wrap.appendChild(el("div", { className: "form-text", text: help }));
    wrap.appendChild(el("div", { className: "invalid-feedback", "data-error-for": "" }));
    return wrap;
  }

  /* A panel of inputs for `schema.properties` (in order), editing `target` in place. */
  function settingsPanel(container, schema, ctx) {
    var props = (schema && schema.properties) || {};
    (schema["x-order"] || Object.keys(props)).forEach(function (key) {
      var node = settingInput(key, props[key], ctx);
      if (node) container.appendChild(node);
    });
    return container;
  }

  /* ---- the validator's pointers, shown where they belong ------------------------------- */

  function parentsOf(pointer) {
    var parts = pointer.split("/"), out = [];
    for (var i = parts.length; i > 0; i--) out.push(parts.slice(0, i).join("/"));
    return out;
  }

  /* Mark each error on the deepest element of `root` whose data-pointer is the error's
     pointer or one of its parents; returns the errors no element took. */
  function showErrors(root, errors) {
    root.querySelectorAll(".is-invalid, .fl-has-error").forEach(function (n) { n.classList.remove("is-invalid", "fl-has-error"); });
    root.querySelectorAll("[data-error-for]").forEach(function (n) { n.textContent = ""; });
    var left = [];
    (errors || []).forEach(function (err) {
      var target = null;
      parentsOf(err.pointer || "").some(function (p) {
        target = root.querySelector('[data-pointer="' + p.replace(/"/g, '\\"') + '"]');
        return !!target;
      });
      if (!target) { left.push(err); return; }
      target.classList.add("fl-has-error");
      var field = target.querySelector("input, select, textarea");
      if (field) field.classList.add("is-invalid");
      var slot = target.querySelector("[data-error-for]");
      if (slot) slot.textContent = (slot.textContent ? slot.textContent + " " : "") + err.message;
    });
    return left;
  }

  window.FLDesigner = { el: el, readJson: readJson, Draft: Draft, settingsPanel: settingsPanel,
                        settingInput: settingInput, setValue: setValue, showErrors: showErrors };
})();
