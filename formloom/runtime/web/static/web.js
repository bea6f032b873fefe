/* Record pages: link pickers, show/require rules and formulas while typing.
   Plain JavaScript, delegated listeners (content swapped in by htmx works as is).

   [data-link-picker]        a link field: chips (hidden inputs) + a search box + results
                             (its [data-picker-url] asked with fetch, newest answer only)
   [data-rules-form]         a record form whose [data-rule] slots follow their rules
   [data-compute-url]        a record form whose [data-computed] values (formulas, subtotals,
                             the next serial number) follow the input
   The server decides on save; the page only keeps up and shows what it cannot judge.
*/
(function () {
  "use strict";

  /* ---- link picker ------------------------------------------------------------------ */

  function pickerOf(el) { return el && el.closest("[data-link-picker]"); }

  /* Each picker keeps one search state: the pending timer, the request in flight (aborted
     when a newer one starts or the list closes) and a sequence number, so that results of
     an older request never replace a newer one's and nothing reopens a closed list. The
     list shown always answers the text in the box: while a newer answer is on its way the
     old options are marked disabled and ignored, so a click picks exactly what the list shows. */
  var DEBOUNCE_MS = 200;
  var states = new WeakMap();

  function stateOf(picker) {
    var st = states.get(picker);
    if (!st) { st = { seq: 0, timer: null, controller: null, shownFor: null, enter: false }; states.set(picker, st); }
    return st;
  }

  function cancel(picker) {
    var st = stateOf(picker);
    st.seq += 1;
    if (st.timer) { clearTimeout(st.timer); st.timer = null; }
    if (st.controller) { st.controller.abort(); st.controller = null; }
    st.enter = false;
  }

  function closeResults(picker) {
    cancel(picker);
    var st = stateOf(picker);
    st.shownFor = null;
    var results = picker.querySelector("[data-picker-results]");
    var search = picker.querySelector(".fl-picker-search");
    if (results) { results.innerHTML = ""; results.removeAttribute("aria-busy"); }
    if (search) search.setAttribute("aria-expanded", "false");
  }

  function markStale(picker) {
    var results = picker.querySelector("[data-picker-results]");
    if (!results || !results.firstElementChild) return;
    results.setAttribute("aria-busy", "true");
    results.querySelectorAll("[data-picker-choose]").forEach(function (o) { o.setAttribute("aria-disabled", "true"); });
  }

  function search(picker, now) {
    var st = stateOf(picker);
    var box = picker.querySelector(".fl-picker-search");
    var q = box.value;
    cancel(picker);
    if (st.shownFor !== q) markStale(picker);
    var seq = st.seq;
    var run = function () {
      st.timer = null;
      var controller = new AbortController();
      st.controller = controller;
      var url = box.getAttribute("data-picker-url");
      url += (url.indexOf("?") >= 0 ? "&" : "?") + "q=" + encodeURIComponent(q);
      fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin", signal: controller.signal })
        .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
        .then(function (html) {
          // Only the newest request of a list still open may show its answer.
          if (seq !== st.seq || box.value !== q) return;
          st.controller = null;
          var results = picker.querySelector("[data-picker-results]");
          results.innerHTML = html;
          results.removeAttribute("aria-busy");
          st.shownFor = q;
          box.setAttribute("aria-expanded", "true");
          if (st.enter) {
            st.enter = false;
            var first = picker.querySelector("[data-picker-choose]");
            if (first) choose(first);
          }
        })
        .catch(function () { /* aborted, or the server refused: the list stays as it was */ });
    };
    if (now) run(); else st.timer = setTimeout(run, DEBOUNCE_MS);
  }

  function changed(picker) {
    picker.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function makeChip(picker, id, title) {
    var name = picker.querySelector("[data-picker-proto]").getAttribute("name");
    var chip = document.createElement("span");
    chip.className = "fl-chip";
    chip.setAttribute("data-picker-item", "");
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = id;
    var text = document.createElement("span");
    text.className = "fl-chip-text";
    text.textContent = title;
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "fl-chip-remove";
    remove.setAttribute("data-picker-remove", "");
    remove.setAttribute("aria-label", (picker.getAttribute("data-remove-label") || "Remove") + " " + title);
    remove.innerHTML = '<i class="bi bi-x" aria-hidden="true"></i>';
    chip.appendChild(input);
    chip.appendChild(text);
    chip.appendChild(remove);
    return chip;
  }

  function choose(option) {
    var picker = pickerOf(option);
    if (!picker) return;
    var chosen = picker.querySelector("[data-picker-chosen]");
    var id = option.getAttribute("data-id");
    var multiple = picker.getAttribute("data-multiple") === "1";
    var present = Array.prototype.some.call(chosen.querySelectorAll("input"), function (i) { return i.value === id; });
    if (!multiple) chosen.innerHTML = "";
    if (!present || !multiple) chosen.appendChild(makeChip(picker, id, option.getAttribute("data-title")));
    var search = picker.querySelector(".fl-picker-search");
    search.value = "";
    closeResults(picker);
    // Back to the search box only to add more: focusing it opens the list again.
    quietFocus = true;
    try {
      if (multiple) search.focus();
      else chosen.querySelector("[data-picker-remove]").focus();
    } finally { quietFocus = false; }
    changed(picker);
  }

  document.addEventListener("click", function (event) {
    var option = event.target.closest("[data-picker-choose]");
    if (option) { if (option.getAttribute("aria-disabled") !== "true") choose(option); return; }
    var remove = event.target.closest("[data-picker-remove]");
    if (remove) {
      var picker = pickerOf(remove);
      remove.closest("[data-picker-item]").remove();
      if (picker) { changed(picker); picker.querySelector(".fl-picker-search").focus(); }
      return;
    }
    // A click anywhere else closes every open result list.
    document.querySelectorAll("[data-link-picker]").forEach(function (picker) {
      if (!picker.contains(event.target)) closeResults(picker);
    });
  });

  function options(picker) {
    return Array.prototype.slice.call(picker.querySelectorAll("[data-picker-choose]"));
  }

  document.addEventListener("keydown", function (event) {
    var picker = pickerOf(event.target);
    if (!picker) return;
    var list = options(picker);
    var at = list.indexOf(event.target);
    var st = stateOf(picker);
    var box = picker.querySelector(".fl-picker-search");
    if (event.key === "Escape") {
      event.preventDefault();  // a search box would clear itself, and that input reopen the list
      closeResults(picker);
      quietFocus = true;
      try { box.focus(); } finally { quietFocus = false; }
    } else if (event.key === "ArrowDown" && !list.length && event.target === box) {
      event.preventDefault();
      search(picker, true);  // reopens a list closed by Escape or a choice
    } else if (event.key === "ArrowDown" && list.length) {
      event.preventDefault();
      list[Math.min(at + 1, list.length - 1)].focus();
    } else if (event.key === "ArrowUp" && at >= 0) {
      event.preventDefault();
      if (at === 0) picker.querySelector(".fl-picker-search").focus();
      else list[at - 1].focus();
    } else if (event.key === "Enter" && event.target.classList.contains("fl-picker-search")) {
      // Enter in the search box picks the first match instead of submitting the form.
      // The list still answers older text: pick the first match of what was typed, once known.
      event.preventDefault();
      if (st.shownFor === box.value && list.length) choose(list[0]);
      else { search(picker, true); st.enter = true; }
    }
  });

  // Pressing on an option must not take focus from the search box first (Safari would
  // then close the list before the click lands).
  document.addEventListener("mousedown", function (event) {
    if (event.target.closest("[data-picker-choose]")) event.preventDefault();
  });

  // Leaving a picker (Tab, a click elsewhere) closes its list (clicks are handled above too).
  document.addEventListener("focusout", function (event) {
    var picker = pickerOf(event.target);
    if (picker && !(event.relatedTarget && picker.contains(event.relatedTarget))) closeResults(picker);
  });

  function isSearch(el) { return el && el.classList && el.classList.contains("fl-picker-search"); }

  document.addEventListener("input", function (event) {
    if (isSearch(event.target)) search(pickerOf(event.target), false);
  });

  // Focusing the box by hand opens the list; the picker focusing it after a choice does not.
  var quietFocus = false;
  document.addEventListener("focusin", function (event) {
    if (!isSearch(event.target) || quietFocus) return;
    var picker = pickerOf(event.target);
    if (picker && !picker.contains(event.relatedTarget)) search(picker, true);
  });

  /* ---- show / require rules --------------------------------------------------------- */

  function valuesOf(form, key) {
    var elements = Array.prototype.filter.call(form.elements, function (el) {
      return el.name === key && !el.disabled;
    });
    if (!elements.length) {
      // A picker with nothing chosen has no inputs yet: that is a blank value, not "unknown".
      var proto = form.querySelector('[data-picker-proto][name="' + key + '"]');
      return proto ? [] : null;
    }
    var out = [];
    elements.forEach(function (el) {
      if (el.type === "checkbox" || el.type === "radio") { if (el.checked) out.push(el.value); }
      else if (el.tagName === "SELECT") {
        Array.prototype.forEach.call(el.selectedOptions, function (o) { out.push(o.value); });
      } else out.push(el.value);
    });
    return out.filter(function (v) { return v !== ""; });
  }

  function equals(vals, expected) {
    if (typeof expected === "boolean") return (vals.length > 0) === expected;  // a checkbox
    if (!vals.length) return false;
    if (typeof expected === "number") return Number(vals[0]) === expected;
    return vals[0] === String(expected);
  }

  // true / false, or null when the page cannot judge (references, unknown operators).
  function evaluate(cond, get) {
    if (!cond || typeof cond !== "object") return null;
    if (cond.all || cond.any) {
      var parts = (cond.all || cond.any).map(function (c) { return evaluate(c, get); });
      if (parts.indexOf(null) >= 0) return null;
      return cond.all ? parts.every(Boolean) : parts.some(Boolean);
    }
    if (cond.not) { var inner = evaluate(cond.not, get); return inner === null ? null : !inner; }
    var expected = cond.value;
    if (expected !== null && typeof expected === "object" && !Array.isArray(expected)) return null;
    var vals = get(cond.field);
    if (vals === null) return null;
    var list = Array.isArray(expected) ? expected.map(String) : [];
    var num = vals.length ? Number(vals[0]) : NaN;
    switch (cond.op) {
      case "eq": return equals(vals, expected);
      case "ne": return !equals(vals, expected);
      case "in": return vals.length > 0 && list.indexOf(vals[0]) >= 0;
      case "not_in": return !(vals.length > 0 && list.indexOf(vals[0]) >= 0);
      case "is_empty": return vals.length === 0;
      case "is_not_empty": return vals.length > 0;
      case "has_any": return vals.some(function (v) { return list.indexOf(v) >= 0; });
      case "has_all": return list.every(function (v) { return vals.indexOf(v) >= 0; });
      case "contains": return vals.length > 0 && vals[0].toLowerCase().indexOf(String(expected).toLowerCase()) >= 0;
      case "gt": case "gte": case "lt": case "lte":
        if (!vals.length) return false;
        if (isNaN(num) || typeof expected !== "number") return null;
        return { gt: num > expected, gte: num >= expected, lt: num < expected, lte: num <= expected }[cond.op];
      default: return null;
    }
  }

  function holds(conditions, get) {
    // Unknown counts as holding: showing a field by mistake is harmless, hiding one is not.
    return conditions.some(function (c) { return evaluate(c, get) !== false; });
  }

  function applyRules(form) {
    var get = function (key) { return valuesOf(form, key); };
    form.querySelectorAll("[data-rule]").forEach(function (slot) {
      var rule;
      try { rule = JSON.parse(slot.getAttribute("data-rule")); } catch (e) { return; }
      if (rule.show && rule.show.length) slot.hidden = !holds(rule.show, get);
      if (rule.require && rule.require.length) slot.classList.toggle("fl-not-required", !holds(rule.require, get));
    });
  }

  function initRules(root) {
    root.querySelectorAll("form[data-rules-form]").forEach(applyRules);
  }

  ["input", "change"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var form = event.target.closest && event.target.closest("form[data-rules-form]");
      if (!form) return;
      // Typing in a picker's search box changes no value; the picker reports its own changes.
      if (pickerOf(event.target) && !event.target.hasAttribute("data-link-picker")) return;
      applyRules(form);
    });
  });

  /* ---- formulas while typing ---------------------------------------------------------- */
  /* form[data-compute-url]: the form's formulas, subtotals and totals follow the input. The
     page posts what it would save (files left out) a moment after the last keystroke; the
     server computes through the same formulas a save uses, and stays the judge on save. An
     older answer never overwrites a newer one (aborted, and sequence-numbered). */

  var COMPUTE_MS = 250;
  var computing = new WeakMap();

  function showComputed(form, answer) {
    Object.keys(answer.fields || {}).forEach(function (key) {
      form.querySelectorAll('[data-computed="' + key + '"]').forEach(function (el) {
        var text = answer.fields[key];
        el.textContent = text || "—";
        el.classList.toggle("fl-muted", !text);
      });
    });
    Object.keys(answer.rows || {}).forEach(function (key) {
      var prefix = new RegExp("^" + key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "-(\\d+)-");
      form.querySelectorAll('[data-subform="' + key + '"] [data-subform-rows] > tr').forEach(function (tr) {
        var index = null;
        tr.querySelectorAll("[name]").forEach(function (el) {
          var m = prefix.exec(el.getAttribute("name"));
          if (m && index === null) index = m[1];
        });
        var row = (index !== null && answer.rows[key][index]) || {};
        tr.querySelectorAll("[data-computed-cell]").forEach(function (td) {
          td.textContent = row[td.getAttribute("data-computed-cell")] || "";
        });
      });
    });
  }

  function recompute(form, now) {
    var url = form.getAttribute("data-compute-url");
    if (!url) return;
    var st = computing.get(form);
    if (!st) { st = { seq: 0, timer: null, controller: null }; computing.set(form, st); }
    st.seq += 1;
    var seq = st.seq;
    if (st.timer) clearTimeout(st.timer);
    if (st.controller) st.controller.abort();
    st.timer = setTimeout(function () {
      st.timer = null;
      var body = new FormData(form);
      form.querySelectorAll("input[type=file]").forEach(function (i) { body.delete(i.name); });
      var controller = new AbortController();
      st.controller = controller;
      fetch(url, { method: "POST", body: body, credentials: "same-origin", signal: controller.signal,
                   headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (answer) { if (seq === st.seq) { st.controller = null; showComputed(form, answer); } })
        .catch(function () { /* aborted or refused: the values shown stay; the save decides */ });
    }, now ? 0 : COMPUTE_MS);
  }

  ["input", "change"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var form = event.target.closest && event.target.closest("form[data-compute-url]");
      if (!form) return;
      if (pickerOf(event.target) && !event.target.hasAttribute("data-link-picker")) return;
      recompute(form, false);
    });
  });

  // Removing a row changes no input: the totals follow it all the same.
  document.addEventListener("click", function (event) {
    var remove = event.target.closest && event.target.closest("[data-subform-remove]");
    var form = remove && remove.closest("form[data-compute-url]");
    if (form) setTimeout(function () { recompute(form, false); }, 0);
  });

  // The form leaves judging to the server (novalidate), but a number input the browser could
  // not read would be sent empty, losing what was typed: stop and say so there instead.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-rules-form]")) return;
    var bad = Array.prototype.filter.call(form.elements, function (el) { return el.validity && el.validity.badInput; });
    if (!bad.length) return;
    event.preventDefault();
    bad[0].reportValidity();
  }, true);

  function init() {
    initRules(document);
    document.querySelectorAll("form[data-compute-url]").forEach(function (form) { recompute(form, true); });
    var summary = document.getElementById("fl-error-summary") || document.getElementById("fl-conflict");
    if (summary) summary.focus();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
