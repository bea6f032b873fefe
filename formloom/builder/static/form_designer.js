/* The form designer: the palette of field types, the form's fields (drag to add and reorder,
   subform columns inside their subform), and the chosen field's settings, generated from its
   type's `config_schema`. Every edit changes the draft held by FLDesigner.Draft, which saves it. */
(function () {
  "use strict";
  var D = window.FLDesigner;
  var root = document.querySelector("[data-form-designer]");
  if (!D || !root) return;
  var el = D.el;
  var data = D.readJson("fl-designer-data");
  var words = D.readJson("fl-designer-words");
  var types = {};
  data.types.forEach(function (t) { types[t.type] = t; });
  var def = data.draft;
  var state = { form: 0, path: null, errors: [] };  // path: [j] or [j, k] (a subform column)

  var statusNode = root.querySelector("[data-draft-status]");
  var draft = new D.Draft(data.draftUrl, def, data.version, {
    onStatus: function (s, detail) {
      statusNode.dataset.state = s;
      statusNode.textContent = words.status[s] || s;
      if (s === "invalid") statusNode.textContent = words.status.invalid.replace("{n}", detail.length);
    },
    onSaved: function (errors) { state.errors = errors; markErrors(); },
    onConflict: function () { root.querySelector("[data-conflict]").hidden = false; root.classList.add("fl-stale"); }
  });

  function form() { return def.forms[state.form]; }
  function fieldsAt(path) {  // the list holding the field at `path`
    return path.length === 1 ? form().fields : form().fields[path[0]].fields;
  }
  function fieldAt(path) { return path && fieldsAt(path)[path[path.length - 1]]; }
  function pointerOf(path) {
    var p = "/forms/" + state.form + "/fields/" + path[0];
    return path.length === 2 ? p + "/fields/" + path[1] : p;
  }
  function label(f) {
    var en = data.locale.indexOf("en") === 0;
    return (en && f.label_en) || f.label || f.key;
  }
  function published(key) { return (data.published[form().key] || []).indexOf(key) >= 0; }
  function newKey(list, base) {
    var keys = {}, n = 1;
    (function walk(items) { items.forEach(function (f) { keys[f.key] = 1; if (f.fields) walk(f.fields); }); })(form().fields);
    (list || []).forEach(function (f) { keys[f.key] = 1; });
    while (keys[base + "_" + n]) n++;
    return base + "_" + n;
  }
  function newField(type) {
    var t = types[type];
    var f = { key: newKey(null, "field"), type: type, label: t.label };
    (t.schema.required || []).forEach(function (req) {
      if (req === "options") f.options = [{ value: "option_1", label: words.option + " 1" }];
      else if (req === "fields") f.fields = [{ key: newKey(null, "column"), type: data.types[0].type, label: words.column }];
      else if (req === "form") f.form = (def.forms.find(function (x) { return x !== form(); }) || form()).key;
      else if (req === "expr") f.expr = "1";
      else if (req === "pattern") f.pattern = "{YYYY}{MM}-{seq:4}";
    });
    return f;
  }
  function changed(rerender) {
    if (rerender) renderCanvas();
    draft.change();
  }

  /* ---- palette -------------------------------------------------------------------------- */
  function renderPalette() {
    var box = root.querySelector("[data-palette]");
    data.groups.forEach(function (pair) {
      var g = pair[0];
      var list = el("div", { className: "fl-palette-list", "data-palette-list": "" });
      data.types.filter(function (t) { return t.group === g; }).forEach(function (t) {
        list.appendChild(el("button", { type: "button", className: "fl-palette-item", "data-type": t.type,
          title: words.addHint, onclick: function () { add(t.type, clickTarget(t)); } },
          [el("i", { className: "bi bi-" + t.icon, "aria-hidden": "true" }), el("span", { text: t.label })]));
      });
      box.appendChild(el("div", { className: "fl-palette-group" }, [el("h3", { text: pair[1] }), list]));
      if (window.Sortable) {
        window.Sortable.create(list, { group: { name: "fields", pull: "clone", put: false }, sort: false,
                                       animation: 120, forceFallback: true });
      }
    });
  }

  /* Where a click on the palette adds: into the chosen subform (or beside the chosen column),
     when the type may be a column; at the end of the form otherwise. */
  function clickTarget(t) {
    var sub = state.path && (state.path.length === 2 ? state.path[0]
              : (types[(fieldAt(state.path) || {}).type] || {}).rows ? state.path[0] : null);
    if (sub !== null && sub !== undefined && t.in_subform && !t.rows) return [sub, (form().fields[sub].fields || []).length];
    return [form().fields.length];
  }

  function add(type, path) {
    if (path.length === 2 && !types[type].in_subform) return;
    if (path.length === 2 && !form().fields[path[0]].fields) form().fields[path[0]].fields = [];
    var list = fieldsAt(path);
    list.splice(path[path.length - 1], 0, newField(type));
    state.path = path;
    changed(true);
    renderSettings();
  }

  /* ---- the form's fields -------------------------------------------------------------- */
  function renderTabs() {
    var tabs = root.querySelector("[data-form-tabs]");
    tabs.textContent = "";
    def.forms.forEach(function (f, i) {
      var en = data.locale.indexOf("en") === 0;
      tabs.appendChild(el("li", { className: "nav-item" }, [el("button", { type: "button",
        className: "nav-link" + (i === state.form ? " active" : ""), "data-form-index": i, "data-form-tab": f.key,
        onclick: function () { state.form = i; state.path = null; renderAll(); } },
        [(en && f.name_en) || f.name || f.key])]));
    });
    tabs.appendChild(el("li", { className: "nav-item" }, [el("button", { type: "button", className: "nav-link fl-add-form",
      "data-add-form": "", onclick: addForm }, [el("i", { className: "bi bi-plus-lg", "aria-hidden": "true" }), words.addForm])]));
  }

  function addForm() {
    var keys = def.forms.map(function (f) { return f.key; }), n = def.forms.length + 1;
    while (keys.indexOf("form_" + n) >= 0) n++;
    def.forms.push({ key: "form_" + n, name: words.form + " " + n, title_field: "title",
                     fields: [{ key: "title", type: data.types[0].type, label: words.title }] });
    state.form = def.forms.length - 1;
    state.path = null;
    renderAll();
    draft.change();
  }

  function card(f, path) {
    var t = types[f.type] || { icon: "question-circle", label: f.type };
    var node = el("div", { className: "fl-field-card fl-w-" + (f.width || "full") + (samePath(path, state.path) ? " is-selected" : ""),
      "data-pointer": pointerOf(path), "data-field-key": f.key, tabindex: "0", role: "button",
      onclick: function (e) { e.stopPropagation(); select(path); },
      onkeydown: function (e) { if (e.key === "Enter") { e.preventDefault(); select(path); } } }, [
      el("div", { className: "fl-field-head" }, [
        el("i", { className: "bi bi-grip-vertical fl-drag", "aria-hidden": "true" }),
        el("span", { className: "fl-field-label", text: label(f) }),
        f.required ? el("span", { className: "fl-req", text: "*", "aria-hidden": "true" }) : null,
        el("span", { className: "fl-field-type" }, [el("i", { className: "bi bi-" + t.icon, "aria-hidden": "true" }), t.label]),
        el("button", { type: "button", className: "btn btn-sm btn-link fl-field-remove", "aria-label": words.remove,
          title: words.remove, onclick: function (e) { e.stopPropagation(); remove(path); } },
          [el("i", { className: "bi bi-trash", "aria-hidden": "true" })])]),
      el("div", { className: "fl-field-error", "data-error-for": "" })]);
    if (t.rows) {
      var inner = el("div", { className: "fl-canvas fl-canvas-sub", "data-list": path[0] });
      (f.fields || []).forEach(function (c, k) { inner.appendChild(card(c, [path[0], k])); });
      node.appendChild(el("div", { className: "fl-sub-hint", text: words.subformHint }));
      node.appendChild(inner);
      sortable(inner, [path[0]]);
    }
    return node;
  }

  function samePath(a, b) { return !!a && !!b && a.join(".") === b.join("."); }

  function renderCanvas() {
    var canvas = root.querySelector("[data-canvas]");
    canvas.textContent = "";
    canvas.dataset.pointer = "/forms/" + state.form + "/fields";
    canvas.parentNode.onclick = function (e) {
      if (e.target === canvas || e.target === canvas.parentNode) { state.path = null; renderCanvas(); renderSettings(); }
    };
    form().fields.forEach(function (f, j) { canvas.appendChild(card(f, [j])); });
    if (!form().fields.length) canvas.appendChild(el("p", { className: "fl-canvas-empty", text: words.empty }));
    sortable(canvas, []);
    markErrors();
  }

  function sortable(list, parent) {
    if (!window.Sortable) return;
    window.Sortable.create(list, {
      group: { name: "fields", put: function (to, from, item) {
        return !parent.length || (item.dataset.type ? types[item.dataset.type].in_subform && !types[item.dataset.type].rows
                                                    : !item.querySelector(".fl-canvas-sub")); } },
      handle: ".fl-field-head", animation: 120, forceFallback: true, filter: ".fl-field-remove", preventOnFilter: false,
      onAdd: function (evt) {
        var type = evt.item.dataset.type;
        if (type) {  // from the palette
          evt.item.remove();
          add(type, parent.concat([evt.newIndex]));
        }
      },
      onEnd: function (evt) {
        if (evt.item.dataset.type) return;
        var fromPath = pathOfList(evt.from), toPath = pathOfList(evt.to);
        if (!fromPath || !toPath || (evt.from === evt.to && evt.oldIndex === evt.newIndex)) return;
        var moved = fieldsAt(fromPath.concat([0])).splice(evt.oldIndex, 1)[0];
        fieldsAt(toPath.concat([0])).splice(evt.newIndex, 0, moved);
        state.path = toPath.concat([evt.newIndex]);
        changed(true);
        renderSettings();
      }
    });
  }
  function pathOfList(list) {
    if (list.matches("[data-canvas]")) return [];
    return list.dataset.list !== undefined ? [Number(list.dataset.list)] : null;
  }

  function remove(path) {
    var f = fieldAt(path);
    if (published(f.key) && !window.confirm(words.removePublished)) return;
    fieldsAt(path).splice(path[path.length - 1], 1);
    state.path = null;
    changed(true);
    renderSettings();
  }

  function select(path) {
    state.path = path;
    root.querySelectorAll(".fl-field-card.is-selected").forEach(function (n) { n.classList.remove("is-selected"); });
    var node = root.querySelector('[data-pointer="' + pointerOf(path) + '"]');
    if (node) node.classList.add("is-selected");
    renderSettings();
  }

  /* ---- settings ------------------------------------------------------------------------- */
  var COMMON = { type: "object", properties: {
    label: { type: "string", maxLength: 200 }, label_en: { type: "string", maxLength: 200 },
    key: { type: "string" }, help: { type: "string", maxLength: 2000 }, required: { type: "boolean" },
    unique: { type: "boolean" }, hidden: { type: "boolean" }, readonly: { type: "boolean" },
    width: { "enum": ["full", "half", "third", "quarter"] }, "default": { type: "string" } } };

  function renderSettings() {
    var box = root.querySelector("[data-settings]");
    box.textContent = "";
    var f = fieldAt(state.path);
    if (!f) { renderFormSettings(box); return; }
    var t = types[f.type] || { schema: {}, label: f.type };
    var pointer = pointerOf(state.path);
    box.appendChild(el("h2", { className: "fl-settings-title" }, [el("i", { className: "bi bi-" + (t.icon || "gear"),
      "aria-hidden": "true" }), t.label]));
    box.appendChild(el("button", { type: "button", className: "btn btn-sm btn-link fl-back", "data-form-settings": "",
      onclick: function () { state.path = null; renderCanvas(); renderSettings(); } },
      [el("i", { className: "bi bi-arrow-left", "aria-hidden": "true" }), " ", words.backToForm]));
    box.appendChild(typePicker(f, pointer));
    var ctx = { target: f, pointer: pointer, words: words, editors: commonEditors(f, t),
      onChange: function (key) { if (key === "label" || key === "required" || key === "width" || key === "label_en") renderCanvasKeepSettings(); draft.change(); } };
    D.settingsPanel(box, COMMON, ctx);
    var own = el("div", { className: "fl-settings-own" });
    ctx.editors = typeEditors(f, t);
    D.settingsPanel(own, t.schema, ctx);
    if (own.children.length) {
      box.appendChild(el("h3", { className: "fl-settings-sub", text: words.typeSettings }));
      box.appendChild(own);
    }
    markErrors();
  }

  /* The field's type; a new type keeps the settings both types have and gets the ones it needs. */
  function typePicker(f, pointer) {
    var inSub = state.path.length === 2;
    var sel = el("select", { className: "form-select form-select-sm", id: "fl-set-type", onchange: function () {
      var t = types[this.value], fresh = newField(this.value), keep = {};
      Object.keys(COMMON.properties).concat(Object.keys(t.schema.properties || {})).forEach(function (k) { keep[k] = 1; });
      Object.keys(f).forEach(function (k) { if (!keep[k] && k !== "type") delete f[k]; });
      if (!t.unique) delete f.unique;
      if (f["default"] !== undefined && (t.options || t.computed || t.rows)) delete f["default"];
      f.type = this.value;
      (t.schema.required || []).forEach(function (k) { if (f[k] === undefined) f[k] = fresh[k]; });
      changed(true);
      renderSettings();
    } }, data.types.filter(function (t) { return !inSub || (t.in_subform && !t.rows); }).map(function (t) {
      return el("option", { value: t.type, text: t.label, selected: t.type === f.type });
    }));
    return el("div", { className: "fl-setting mb-3", "data-pointer": pointer + "/type" }, [
      el("label", { className: "form-label", "for": "fl-set-type", text: words.settings.type }), sel,
      el("div", { className: "invalid-feedback", "data-error-for": "" })]);
  }

  function renderCanvasKeepSettings() {
    var active = document.activeElement && document.activeElement.id;
    renderCanvas();
    if (active) { var n = document.getElementById(active); if (n) n.focus(); }
  }

  function commonEditors(f, t) {
    var skip = function () { return null; };
    var editors = {};
    if (!t.unique) editors.unique = skip;
    if (t.computed) { editors.required = skip; editors["default"] = skip; editors.readonly = skip; }
    if (t.rows || t.options) editors["default"] = t.options ? optionDefault : skip;
    if (t.rows) editors.width = skip;
    if (published(f.key)) {
      editors.key = function (prop, ctx) {
        return el("div", {}, [el("label", { className: "form-label", "for": "fl-set-key", text: words.settings.key }),
          el("input", { type: "text", className: "form-control form-control-sm", id: "fl-set-key", value: f.key, readonly: true }),
          el("div", { className: "form-text", text: words.keyLocked })]);
      };
    }
    return editors;
  }

  function optionDefault(prop, ctx, changed) {
    var sel = el("select", { className: "form-select form-select-sm", id: "fl-set-default", onchange: function () { changed(this.value); } },
      [el("option", { value: "", text: "—" })].concat((ctx.target.options || []).map(function (o) {
        var v = typeof o === "string" ? o : o.value;
        return el("option", { value: v, text: typeof o === "string" ? o : (o.label || v), selected: ctx.target["default"] === v });
      })));
    return el("div", {}, [el("label", { className: "form-label", "for": "fl-set-default", text: words.settings["default"] }), sel]);
  }

  function typeEditors(f, t) {
    var editors = { fields: function () { return null; } };
    var props = t.schema.properties || {};
    if (props.options && props.options.items && props.options.items.oneOf) editors.options = optionsEditor;
    if (t.expression) editors.expr = formulaEditor;
    if (t.refers_to_record && props.form) editors.form = formPicker;
    if (t.numbered && props.pattern) editors.pattern = serialPattern;
    return editors;
  }

  /* A serial number's pattern, with what the numbers will look like today. */
  function serialPattern(prop, ctx, changed) {
    var preview = el("div", { className: "form-text", "data-serial-preview": "" });
    function show(pattern) {
      var d = new Date(), pad = function (n, w) { return String(n).padStart(w, "0"); };
      var text = (pattern || "").replace(/\{YYYY\}/g, d.getFullYear()).replace(/\{YY\}/g, pad(d.getFullYear() % 100, 2))
        .replace(/\{MM\}/g, pad(d.getMonth() + 1, 2)).replace(/\{DD\}/g, pad(d.getDate(), 2))
        .replace(/\{seq(?::(\d+))?\}/g, function (m, w) { return pad(1, Number(w || 1)); });
      preview.textContent = words.serialPreview.replace("{example}", text);
    }
    var input = el("input", { type: "text", className: "form-control form-control-sm", id: "fl-set-pattern", value: ctx.target.pattern || "",
      spellcheck: "false", oninput: function () { changed(this.value); show(this.value); } });
    show(ctx.target.pattern);
    return el("div", {}, [el("label", { className: "form-label", "for": "fl-set-pattern", text: words.settings.serial_pattern }), input,
      el("div", { className: "form-text", text: words.serialHelp }), preview]);
  }

  function formPicker(prop, ctx, changed) {
    var en = data.locale.indexOf("en") === 0;
    var sel = el("select", { className: "form-select form-select-sm", id: "fl-set-form", onchange: function () { changed(this.value); } },
      def.forms.map(function (x) { return el("option", { value: x.key, text: (en && x.name_en) || x.name || x.key, selected: ctx.target.form === x.key }); }));
    return el("div", {}, [el("label", { className: "form-label", "for": "fl-set-form", text: words.settings.form }), sel]);
  }

  function formulaEditor(prop, ctx, changed) {
    var list = el("datalist", { id: "fl-formula-words" });
    var keys = [];
    (function walk(items, prefix) {
      items.forEach(function (x) { if (x !== ctx.target) keys.push(prefix + x.key); if (x.fields) walk(x.fields, x.key + "."); });
    })(form().fields, "");
    keys.concat(Object.keys(data.functions).map(function (n) { return data.functions[n]; })).forEach(function (w) {
      list.appendChild(el("option", { value: w }));
    });
    var area = el("textarea", { className: "form-control form-control-sm fl-formula", id: "fl-set-expr", rows: "3",
      spellcheck: "false", value: null, oninput: function () { changed(this.value); } });
    area.value = ctx.target.expr || "";
    var insert = el("input", { type: "text", className: "form-control form-control-sm", list: "fl-formula-words",
      placeholder: words.insertHint, "aria-label": words.insertHint,
      onchange: function () {
        var w = this.value.replace(/\(.*$/, "(");
        if (!w) return;
        var at = area.selectionStart || area.value.length;
        area.value = area.value.slice(0, at) + w + area.value.slice(at);
        this.value = "";
        changed(area.value);
        area.focus();
      } });
    return el("div", {}, [el("label", { className: "form-label", "for": "fl-set-expr", text: words.settings.expr }), area,
      el("div", { className: "fl-formula-insert" }, [insert, list]),
      el("div", { className: "form-text", text: words.formulaHelp })]);
  }

  function optionsEditor(prop, ctx, changed) {
    var f = ctx.target;
    f.options = (f.options || []).map(function (o) { return typeof o === "string" ? { value: o, label: o } : o; });
    var rows = el("div", { className: "fl-options", "data-options": "" });
    function redraw() {
      rows.textContent = "";
      f.options.forEach(function (o, i) {
        function set(key, v) { D.setValue(o, key, v); changed(f.options); }
        rows.appendChild(el("div", { className: "fl-option", "data-pointer": ctx.pointer + "/options/" + i }, [
          el("i", { className: "bi bi-grip-vertical fl-drag", "aria-hidden": "true" }),
          el("input", { type: "color", className: "form-control form-control-color form-control-sm", value: o.color || "#2563eb",
            "aria-label": words.optionColor, oninput: function () { set("color", this.value); } }),
          el("input", { type: "text", className: "form-control form-control-sm", value: o.label || "", placeholder: words.optionLabel,
            "aria-label": words.optionLabel, "data-option-label": i, oninput: function () { set("label", this.value); } }),
          el("input", { type: "text", className: "form-control form-control-sm fl-option-value", value: o.value, placeholder: words.optionValue,
            "aria-label": words.optionValue, oninput: function () { set("value", this.value); } }),
          el("button", { type: "button", className: "btn btn-sm btn-link", "aria-label": words.remove, title: words.remove,
            onclick: function () { f.options.splice(i, 1); redraw(); changed(f.options); } }, [el("i", { className: "bi bi-x-lg", "aria-hidden": "true" })]),
          el("div", { className: "invalid-feedback", "data-error-for": "" })]));
      });
    }
    redraw();
    if (window.Sortable) {
      window.Sortable.create(rows, { handle: ".fl-drag", animation: 120, forceFallback: true, onEnd: function (evt) {
        f.options.splice(evt.newIndex, 0, f.options.splice(evt.oldIndex, 1)[0]);
        redraw();
        changed(f.options);
      } });
    }
    var addBtn = el("button", { type: "button", className: "btn btn-sm btn-light", "data-add-option": "", onclick: function () {
      var n = f.options.length + 1, values = f.options.map(function (o) { return o.value; });
      while (values.indexOf("option_" + n) >= 0) n++;
      f.options.push({ value: "option_" + n, label: words.option + " " + n });
      redraw();
      changed(f.options);
      rows.querySelector('[data-option-label="' + (f.options.length - 1) + '"]').focus();
    } }, [el("i", { className: "bi bi-plus-lg", "aria-hidden": "true" }), words.addOption]);
    return el("div", {}, [el("div", { className: "form-label", text: words.settings.options }), rows, addBtn]);
  }

  function renderFormSettings(box) {
    var f = form();
    box.appendChild(el("h2", { className: "fl-settings-title" }, [el("i", { className: "bi bi-table", "aria-hidden": "true" }), words.formSettings]));
    var ctx = { target: f, pointer: "/forms/" + state.form, words: words, onChange: function (key) {
      if (key === "name" || key === "name_en") renderTabs();
      draft.change();
    }, editors: { title_field: function (prop, c, changed) {
      var sel = el("select", { className: "form-select form-select-sm", id: "fl-set-title_field", onchange: function () { changed(this.value); } },
        [el("option", { value: "", text: "—" })].concat(f.fields.filter(function (x) { return !types[x.type] || !types[x.type].rows; }).map(function (x) {
          return el("option", { value: x.key, text: label(x), selected: f.title_field === x.key });
        })));
      return el("div", {}, [el("label", { className: "form-label", "for": "fl-set-title_field", text: words.settings.title_field }), sel]);
    } } };
    D.settingsPanel(box, { properties: { name: { type: "string" }, name_en: { type: "string" }, title_field: {} } }, ctx);
    box.appendChild(el("p", { className: "fl-muted small", text: words.pickField }));
    box.appendChild(el("h3", { className: "fl-settings-sub", text: words.rules }));
    box.appendChild(rulesEditor(f));
    if (def.forms.length > 1) {
      box.appendChild(el("button", { type: "button", className: "btn btn-sm btn-outline-danger mt-3", "data-remove-form": "",
        onclick: function () {
          if (!window.confirm(data.published[f.key] ? words.removeFormPublished : words.removeForm)) return;
          def.forms.splice(state.form, 1);
          state.form = 0;
          state.path = null;
          renderAll();
          draft.change();
        } }, [el("i", { className: "bi bi-trash", "aria-hidden": "true" }), " ", words.removeFormButton]));
    }
    box.appendChild(el("h3", { className: "fl-settings-sub", text: words.appSettings }));
    D.settingsPanel(box, { properties: { name: { type: "string" }, name_en: { type: "string" }, description: { type: "string" },
                                         icon: {}, color: {} } },
      { target: def, pointer: "", words: words, editors: { icon: iconPicker, color: colorPicker }, onChange: function () { draft.change(); } });
    box.querySelectorAll("[data-pointer='/name'] input, [data-pointer='/name_en'] input, [data-pointer='/description'] input")
      .forEach(function (n) { n.id = n.id + "-app"; n.previousSibling.setAttribute("for", n.id); });
    markErrors();
  }

  /* Show/require rules: when one field's value meets a test, show (or require) other fields.
     A rule whose condition is more than one test is kept as it is and said to be so. */
  var OPS = ["eq", "ne", "gt", "lt", "contains", "is_empty", "is_not_empty"];
  function rulesEditor(f) {
    var box = el("div", { className: "fl-rules", "data-rules": "" });
    var plain = f.fields.filter(function (x) { return !(types[x.type] || {}).rows; });
    function redraw() {
      box.textContent = "";
      (f.rules || []).forEach(function (rule, k) { box.appendChild(ruleRow(rule, k)); });
      box.appendChild(el("button", { type: "button", className: "btn btn-sm btn-light", "data-add-rule": "", onclick: function () {
        f.rules = f.rules || [];
        f.rules.push({ when: { field: plain[0].key, op: "eq", value: "" }, show: [] });
        redraw();
        draft.change();
      } }, [el("i", { className: "bi bi-plus-lg", "aria-hidden": "true" }), words.addRule]));
      markErrors();
    }
    function ruleRow(rule, k) {
      var pointer = "/forms/" + state.form + "/rules/" + k;
      var row = el("div", { className: "fl-rule", "data-pointer": pointer, "data-rule": k });
      var when = rule.when || {};
      if (!when.field) {
        row.appendChild(el("p", { className: "small fl-muted", text: words.ruleComplex }));
      } else {
        var target = f.fields.find(function (x) { return x.key === when.field; }) || {};
        var fieldSel = el("select", { className: "form-select form-select-sm", "aria-label": words.ruleField, "data-rule-field": "",
          onchange: function () { when.field = this.value; when.value = ""; redraw(); draft.change(); } },
          plain.map(function (x) { return el("option", { value: x.key, text: label(x), selected: x.key === when.field }); }));
        var opSel = el("select", { className: "form-select form-select-sm", "aria-label": words.ruleOp, "data-rule-op": "",
          onchange: function () { when.op = this.value; if (/empty/.test(this.value)) delete when.value; redraw(); draft.change(); } },
          OPS.map(function (o) { return el("option", { value: o, text: words.ops[o], selected: o === when.op }); }));
        var parts = [el("span", { className: "fl-rule-word", text: words.ruleWhen }), fieldSel, opSel];
        if (!/empty/.test(when.op)) parts.push(valueInput(target, when));
        row.appendChild(el("div", { className: "fl-rule-when", "data-pointer": pointer + "/when" },
          parts.concat([el("div", { className: "invalid-feedback", "data-error-for": "" })])));
      }
      ["show", "require"].forEach(function (what) {
        var list = el("div", { className: "fl-rule-fields", "data-pointer": pointer + "/" + what });
        list.appendChild(el("span", { className: "fl-rule-word", text: words[what === "show" ? "ruleShow" : "ruleRequire"] }));
        plain.forEach(function (x, i) {
          var id = "fl-rule-" + k + "-" + what + "-" + i;
          list.appendChild(el("span", { className: "form-check form-check-inline" }, [
            el("input", { type: "checkbox", className: "form-check-input", id: id, checked: (rule[what] || []).indexOf(x.key) >= 0,
              "data-rule-target": what + ":" + x.key, onchange: function () {
                var keys = (rule[what] || []).filter(function (key) { return key !== x.key; });
                if (this.checked) keys.push(x.key);
                D.setValue(rule, what, keys);
                draft.change();
              } }),
            el("label", { className: "form-check-label", "for": id, text: label(x) })]));
        });
        list.appendChild(el("div", { className: "invalid-feedback", "data-error-for": "" }));
        row.appendChild(list);
      });
      row.appendChild(el("button", { type: "button", className: "btn btn-sm btn-link text-danger", onclick: function () {
        f.rules.splice(k, 1);
        if (!f.rules.length) delete f.rules;
        redraw();
        draft.change();
      } }, [el("i", { className: "bi bi-trash", "aria-hidden": "true" }), " ", words.removeRule]));
      return row;
    }
    function valueInput(target, when) {
      var t = types[target.type] || {};
      if (t.options) {
        return el("select", { className: "form-select form-select-sm", "aria-label": words.ruleValue, "data-rule-value": "",
          onchange: function () { when.value = this.value; draft.change(); } },
          [el("option", { value: "", text: "—" })].concat((target.options || []).map(function (o) {
            var v = typeof o === "string" ? o : o.value;
            return el("option", { value: v, text: typeof o === "string" ? o : (o.label || v), selected: when.value === v });
          })));
      }
      return el("input", { type: t.kind === "number" ? "number" : "text", className: "form-control form-control-sm",
        "aria-label": words.ruleValue, "data-rule-value": "", value: when.value === undefined ? "" : when.value,
        oninput: function () {
          when.value = t.kind === "number" && this.value !== "" ? Number(this.value) : this.value;
          draft.change();
        } });
    }
    redraw();
    return box;
  }

  function iconPicker(prop, ctx, changed) {
    var preview = el("i", { className: "bi bi-" + (def.icon || data.icons[0]), "aria-hidden": "true" });
    var sel = el("select", { className: "form-select form-select-sm", id: "fl-set-icon", onchange: function () {
      changed(this.value); preview.className = "bi bi-" + (this.value || data.icons[0]);
    } }, [el("option", { value: "", text: "—" })].concat(data.icons.map(function (n) {
      return el("option", { value: n, text: n.replace(/-/g, " "), selected: def.icon === n });
    })));
    return el("div", {}, [el("label", { className: "form-label", "for": "fl-set-icon", text: words.settings.icon }),
      el("div", { className: "fl-icon-pick" }, [el("span", { className: "fl-icon-preview" }, [preview]), sel])]);
  }

  function colorPicker(prop, ctx, changed) {
    var names = ["blue", "green", "orange", "purple", "cyan", "pink", "slate", "red"];
    var row = el("div", { className: "fl-swatches", role: "radiogroup", "aria-label": words.settings.color });
    names.forEach(function (n) {
      var id = "fl-set-color-" + n;
      row.appendChild(el("input", { type: "radio", className: "btn-check", name: "fl-app-color", id: id, value: n,
        checked: (def.color || "blue") === n, onchange: function () { changed(n === "blue" ? "" : n); } }));
      row.appendChild(el("label", { className: "fl-swatch fl-tile-" + n, "for": id, title: words.values[n] || n },
        [el("span", { className: "visually-hidden", text: words.values[n] || n })]));
    });
    return el("div", {}, [el("div", { className: "form-label", text: words.settings.color }), row]);
  }

  /* ---- errors --------------------------------------------------------------------------- */
  function markErrors() {
    var left = D.showErrors(root, state.errors);
    var list = root.querySelector("[data-error-list]");
    list.textContent = "";
    left.forEach(function (err) {
      list.appendChild(el("li", {}, [el("strong", { text: pointerWords(err.pointer || "") }), " ", err.message]));
    });
    root.querySelectorAll("[data-form-index]").forEach(function (tab) {
      var mine = "/forms/" + tab.dataset.formIndex;
      tab.classList.toggle("fl-has-error", state.errors.some(function (e) {
        return (e.pointer || "") === mine || (e.pointer || "").indexOf(mine + "/") === 0;
      }));
    });
    list.closest("[data-errors]").hidden = !left.length;
    // A formula's problem points at its token: the formula again, marked from that column.
    root.querySelectorAll("[data-formula-caret]").forEach(function (n) { n.remove(); });
    state.errors.forEach(function (err) {
      var at = /column (\d+)/.exec(err.message || "");
      var box = at && root.querySelector('[data-pointer="' + err.pointer + '"] .fl-formula');
      if (!box) return;
      var col = Number(at[1]) - 1, text = box.value.split("\n")[0];
      box.parentNode.insertBefore(el("div", { className: "fl-formula-caret", "data-formula-caret": "" }, [
        el("span", { text: text.slice(0, col) }), el("mark", { text: text.slice(col, col + 1) || " " }),
        el("span", { text: text.slice(col + 1) })]), box.nextSibling);
    });
    // A field's card shows that something inside it is wrong, even when its settings are closed.
    state.errors.forEach(function (err) {
      var m = (err.pointer || "").match(/^\/forms\/(\d+)\/fields\/(\d+)(\/fields\/(\d+))?/);
      if (!m || Number(m[1]) !== state.form) return;
      var node = root.querySelector('[data-pointer="' + m[0] + '"]');
      if (node) node.classList.add("fl-has-error");
    });
  }

  /* A pointer in the admin's words: "Form 2 › Region › options", never JSON. */
  function pointerWords(pointer) {
    var tokens = pointer.split("/").slice(1), node = def, out = [];
    for (var i = 0; i < tokens.length; i++) {
      var tok = tokens[i], next = node && node[tok];
      if (Array.isArray(node) && next && typeof next === "object") {
        var en = data.locale.indexOf("en") === 0;
        out.push((en && (next.name_en || next.label_en)) || next.name || next.label || next.key || String(Number(tok) + 1));
      } else if (!Array.isArray(next) || tok === "options") {
        out.push((words.settings && words.settings[tok]) || tok.replace(/_/g, " "));
      }
      node = next;
    }
    return out.length ? out.join(" › ") + ":" : words.appSettings + ":";
  }

  function renderAll() { renderTabs(); renderCanvas(); renderSettings(); }

  root.querySelector("[data-publish]").addEventListener("click", function (e) {
    e.preventDefault();
    var href = this.href;
    draft.flush().then(function () { if (!draft.stale) window.location = href; });
  });
  root.querySelector("[data-reload]").addEventListener("click", function () { window.location.reload(); });
  window.addEventListener("beforeunload", function (e) {
    if (!draft.unsaved()) return;
    draft.save();
    e.preventDefault();
    e.returnValue = "";
  });
  root.querySelector("[data-overwrite]").addEventListener("click", function () {
    if (!window.confirm(words.overwriteConfirm)) return;
    root.querySelector("[data-conflict]").hidden = true;
    root.classList.remove("fl-stale");
    draft.overwrite();
  });
  var chosen = def.forms.findIndex(function (f) { return f.key === data.form; });
  state.form = chosen >= 0 ? chosen : 0;
  renderPalette();
  renderAll();
  state.errors = data.errors || [];
  markErrors();
})();
