/* Dashboards: each [data-widget] fetches its rows from the widget data API and draws them
   (ECharts for charts; HTML for KPI cards, tables and pivots). Clicking a number opens the
   records behind it (the widget's drill link with that row's keys). No inline script: the
   page's CSP allows only files like this one. */
(function () {
  "use strict";
  var grid = document.querySelector("[data-dashboard]");
  if (!grid) { return; }
  var locale = (grid.dataset.locale || "zh").indexOf("en") === 0 ? "en-US" : "zh-CN";
  var text = function (name) { return grid.dataset["text" + name.charAt(0).toUpperCase() + name.slice(1)] || ""; };
  var charts = [];

  function el(tag, cls, content) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (content !== undefined && content !== null) { node.textContent = content; }
    return node;
  }

  function fmt(value, col) {
    if (value === null || value === undefined) { return "—"; }
    if (col.format === "date") { return String(value); }
    var digits = col.precision !== undefined ? col.precision : (Number.isInteger(value) ? 0 : 2);
    var opts = {minimumFractionDigits: digits, maximumFractionDigits: digits};
    if (col.format === "percent") {
      return new Intl.NumberFormat(locale, {style: "percent", minimumFractionDigits: 0, maximumFractionDigits: 1}).format(value);
    }
    if (col.format === "currency") {
      opts.style = "currency"; opts.currency = col.currency || "CNY";
    }
    try { return new Intl.NumberFormat(locale, opts).format(value); } catch (e) { return String(value); }
  }

  function label(body, colIndex, value) {
    var col = body.columns[colIndex];
    if (value === null || value === undefined) { return text("none"); }
    if (value === "$others") { return text("others"); }
    var map = (body.labels || {})[col.key];
    if (map && Object.prototype.hasOwnProperty.call(map, value)) { return map[value]; }
    if (value === true) { return "✓"; }
    if (value === false) { return "✗"; }
    return String(value);
  }

  function drillUrl(card, keys, measure) {
    var url = new URL(card.dataset.drill, window.location.href);
    url.searchParams.set("keys", JSON.stringify(keys));
    if (measure) { url.searchParams.set("measure", measure); }
    return url.toString();
  }

  function state(card, kind, message) {
    var body = card.querySelector("[data-body]");
    body.textContent = "";
    var box = el("div", "fl-widget-state", message);
    box.dataset.state = kind;
    if (kind === "error") { box.setAttribute("role", "alert"); }
    body.appendChild(box);
  }

  function split(body) {
    var dims = [], measures = [];
    body.columns.forEach(function (c, i) { (c.role === "dimension" ? dims : measures).push(i); });
    return {dims: dims, measures: measures};
  }

  function link(card, content, keys, measure) {
    var a = el("a", "fl-drill", content);
    a.href = drillUrl(card, keys, measure);
    a.title = text("drill");
    return a;
  }

  // -- KPI and tables ----------------------------------------------------------------
  function kpi(card, body, target) {
    var last = body.columns.length - 1;
    var col = body.columns[last];
    var value = body.rows.length ? body.rows[0][last] : null;
    var box = el("div", "fl-kpi");
    box.appendChild(link(card, fmt(value, col), [], col.key)).classList.add("fl-kpi-value");
    if (body.compare) {
      var change = body.compare.change;
      var line = el("div", "fl-kpi-compare " + (change > 0 ? "fl-up" : change < 0 ? "fl-down" : ""));
      var arrow = change > 0 ? "▲ " : change < 0 ? "▼ " : "";
      line.textContent = body.compare.value === null ? text("noPrevious") :
        (change === null ? "—" : arrow + fmt(Math.abs(change), {format: "percent"})) + " " +
        text("previous") + " (" + fmt(body.compare.value, col) + ")";
      box.appendChild(line);
    }
    if (body.target) {
      var pct = Math.max(0, Math.min(1, body.target.progress || 0));
      var bar = el("div", "progress fl-kpi-progress");
      bar.setAttribute("role", "progressbar");
      bar.setAttribute("aria-valuenow", String(Math.round(pct * 100)));
      bar.setAttribute("aria-valuemin", "0");
      bar.setAttribute("aria-valuemax", "100");
      var fill = el("div", "progress-bar");
      fill.style.width = (pct * 100).toFixed(1) + "%";
      bar.appendChild(fill);
      box.appendChild(bar);
      box.appendChild(el("div", "fl-kpi-target", fmt(body.target.progress, {format: "percent"}) + " " + text("target") +
        " " + fmt(body.target.value, col)));
    }
    target.appendChild(box);
  }

  function table(card, body, target, ranked) {
    var parts = split(body);
    var wrap = el("div", "fl-table-wrap");
    var t = el("table", "table table-sm fl-table fl-widget-table");
    var head = t.createTHead().insertRow();
    if (ranked) { head.appendChild(el("th", "fl-num", "#")); }
    body.columns.forEach(function (c) { head.appendChild(el("th", c.role === "measure" ? "fl-num" : "", c.label)); });
    var tb = t.createTBody();
    body.rows.forEach(function (row, r) {
      var tr = tb.insertRow();
      if (ranked) { tr.appendChild(el("td", "fl-num fl-rank", String(r + 1))); }
      parts.dims.forEach(function (i) { tr.appendChild(el("th", "", label(body, i, row[i]))).setAttribute("scope", "row"); });
      parts.measures.forEach(function (i) {
        var td = el("td", "fl-num");
        td.appendChild(link(card, fmt(row[i], body.columns[i]), body.keys[r], body.columns[i].key));
        tr.appendChild(td);
      });
    });
    (body.totals || []).forEach(function (tot) {
      if (tot.dimensions.length) { return; }
      var tr = t.createTFoot().insertRow();
      tr.appendChild(el("th", "", text("total"))).colSpan = parts.dims.length + (ranked ? 1 : 0);
      parts.measures.forEach(function (i, j) { tr.appendChild(el("td", "fl-num", fmt(tot.rows[0][j], body.columns[i]))); });
    });
    wrap.appendChild(t);
    target.appendChild(wrap);
  }

  function pivot(card, body, target, options) {
    var parts = split(body);
    var nRows = options.rows || 1;
    var rowDims = parts.dims.slice(0, nRows), colDims = parts.dims.slice(nRows);
    var measures = parts.measures;
    var key = function (row, idx) { return JSON.stringify(idx.map(function (i) { return row[i]; })); };
    var rowKeys = [], colKeys = [], seenR = {}, seenC = {}, cells = {};
    body.rows.forEach(function (row, r) {
      var rk = key(row, rowDims), ck = key(row, colDims);
      if (!seenR[rk]) { seenR[rk] = row; rowKeys.push(rk); }
      if (!seenC[ck]) { seenC[ck] = row; colKeys.push(ck); }
      cells[rk + "|" + ck] = {row: row, keys: body.keys[r]};
    });
    var totals = {};
    (body.totals || []).forEach(function (t) { totals[t.dimensions.join(",")] = t; });
    var names = function (idx) { return idx.map(function (i) { return body.columns[i].key; }).join(","); };
    var rowTot = totals[names(rowDims)], colTot = totals[names(colDims)], grand = totals[""];
    var lookup = function (tot, k, n) {
      if (!tot) { return null; }
      for (var i = 0; i < tot.rows.length; i++) { if (JSON.stringify(tot.rows[i].slice(0, n)) === k) { return tot.rows[i].slice(n); } }
      return null;
    };
    var wrap = el("div", "fl-table-wrap");
    var t = el("table", "table table-sm fl-table fl-pivot");
    var h1 = t.createTHead().insertRow();
    h1.appendChild(el("th", "", rowDims.map(function (i) { return body.columns[i].label; }).join(" / "))).colSpan = rowDims.length;
    colKeys.forEach(function (ck) {
      var th = el("th", "fl-num", colDims.map(function (i) { return label(body, i, seenC[ck][i]); }).join(" · "));
      th.colSpan = measures.length;
      h1.appendChild(th);
    });
    if (rowTot) { h1.appendChild(el("th", "fl-num fl-total", text("total"))).colSpan = measures.length; }
    if (measures.length > 1) {
      var h2 = t.tHead.insertRow();
      h2.appendChild(el("th")).colSpan = rowDims.length;
      colKeys.concat(rowTot ? ["t"] : []).forEach(function () {
        measures.forEach(function (i) { h2.appendChild(el("th", "fl-num fl-sub", body.columns[i].label)); });
      });
    }
    var tb = t.createTBody();
    // Subtotals of the first row dimension (with two or more row dimensions), computed in SQL.
    var subCells = rowDims.length > 1 ? totals[names([rowDims[0]].concat(colDims))] : null;
    var subRows = rowDims.length > 1 ? totals[names([rowDims[0]])] : null;
    var subtotal = function (first) {
      var tr = tb.insertRow();
      tr.className = "fl-subtotal";
      var th = el("th", "", label(body, rowDims[0], first) + " · " + text("total"));
      th.colSpan = rowDims.length;
      th.setAttribute("scope", "row");
      tr.appendChild(th);
      colKeys.forEach(function (ck) {
        var vals = lookup(subCells, JSON.stringify([first].concat(JSON.parse(ck))), colDims.length + 1) || [];
        measures.forEach(function (i, j) { tr.appendChild(el("td", "fl-num", fmt(vals[j], body.columns[i]))); });
      });
      if (rowTot) {
        var vals = lookup(subRows, JSON.stringify([first]), 1) || [];
        measures.forEach(function (i, j) { tr.appendChild(el("td", "fl-num fl-total", fmt(vals[j], body.columns[i]))); });
      }
    };
    rowKeys.forEach(function (rk, n) {
      var first = seenR[rk][rowDims[0]];
      if (subCells && n > 0 && JSON.stringify(seenR[rowKeys[n - 1]][rowDims[0]]) !== JSON.stringify(first)) {
        subtotal(seenR[rowKeys[n - 1]][rowDims[0]]);
      }
      var tr = tb.insertRow();
      rowDims.forEach(function (i) { tr.appendChild(el("th", "", label(body, i, seenR[rk][i]))).setAttribute("scope", "row"); });
      colKeys.forEach(function (ck) {
        var cell = cells[rk + "|" + ck];
        measures.forEach(function (i) {
          var td = el("td", "fl-num");
          if (cell) { td.appendChild(link(card, fmt(cell.row[i], body.columns[i]), cell.keys, body.columns[i].key)); }
          tr.appendChild(td);
        });
      });
      if (rowTot) {
        var vals = lookup(rowTot, rk, rowDims.length) || [];
        measures.forEach(function (i, j) { tr.appendChild(el("td", "fl-num fl-total", fmt(vals[j], body.columns[i]))); });
      }
    });
    if (subCells && rowKeys.length) { subtotal(seenR[rowKeys[rowKeys.length - 1]][rowDims[0]]); }
    if (colTot || grand) {
      var tr = t.createTFoot().insertRow();
      tr.appendChild(el("th", "", text("total"))).colSpan = rowDims.length;
      colKeys.forEach(function (ck) {
        var vals = lookup(colTot, ck, colDims.length) || [];
        measures.forEach(function (i, j) { tr.appendChild(el("td", "fl-num", fmt(vals[j], body.columns[i]))); });
      });
      if (rowTot) {
        var g = grand && grand.rows.length ? grand.rows[0] : [];
        measures.forEach(function (i, j) { tr.appendChild(el("td", "fl-num fl-total", fmt(g[j], body.columns[i]))); });
      }
    }
    wrap.appendChild(t);
    target.appendChild(wrap);
  }

  // -- charts ---------------------------------------------------------------------------
  function chart(card, body, target, options) {
    if (!window.echarts) { state(card, "error", text("error")); return; }
    var kind = card.dataset.type;
    var parts = split(body);
    var box = el("div", "fl-chart");
    box.dataset.kind = kind;
    box.setAttribute("role", "img");
    box.setAttribute("aria-label", card.querySelector(".fl-widget-title").textContent);
    target.appendChild(box);
    var ec = window.echarts.init(box, null, {renderer: "canvas"});
    charts.push(ec);
    var tooltipFmt = function (col) { return function (v) { return fmt(v, col); }; };
    var option, clicks = [];
    var first = parts.dims[0], m0 = parts.measures[0];
    if (kind === "pie" || kind === "funnel") {
      var data = body.rows.map(function (row, r) { clicks.push([body.keys[r], body.columns[m0].key]); return {name: label(body, first, row[first]), value: row[m0]}; });
      option = {tooltip: {trigger: "item", renderMode: "richText", valueFormatter: tooltipFmt(body.columns[m0])},
        legend: {type: "scroll", bottom: 0},
        series: [kind === "pie" ? {type: "pie", radius: options.donut ? ["40%", "68%"] : "68%", center: ["50%", "45%"], data: data,
          label: {show: true, formatter: "{b}"}} :
          {type: "funnel", sort: "none", min: 0, max: Math.max.apply(null, data.map(function (d) { return d.value || 0; }).concat([1])), left: "10%", width: "80%", top: 10, bottom: 40, data: data, label: {position: "inside"}}]};
    } else if (kind === "gauge") {
      var lastCol = body.columns.length - 1;
      var v = body.rows.length ? body.rows[0][lastCol] : 0;
      var max = options.max || (body.target && body.target.value) || Math.max(1, (v || 0) * 1.25);
      option = {series: [{type: "gauge", min: options.min || 0, max: max, progress: {show: true},
        detail: {valueAnimation: false, formatter: function (x) { return fmt(x, body.columns[lastCol]); }, fontSize: 20},
        data: [{value: v || 0, name: body.target ? fmt(body.target.progress, {format: "percent"}) + " " + text("target") : ""}]}]};
      clicks.push([[], body.columns[lastCol].key]);
    } else {
      var categories = [], index = {}, series = [];
      body.rows.forEach(function (row) {
        var k = JSON.stringify(row[first]);
        if (!(k in index)) { index[k] = categories.length; categories.push(label(body, first, row[first])); }
      });
      var keysAt = [];
      body.rows.forEach(function (row, r) { keysAt[index[JSON.stringify(row[first])]] = body.keys[r][0]; });
      var stacked = options.mode === "stacked" || options.stacked;
      var type = kind === "area" ? "line" : kind;
      var make = function (name, col) {
        return {name: name, type: type, data: categories.map(function () { return null; }), stack: stacked ? "all" : undefined,
          smooth: !!options.smooth, areaStyle: kind === "area" ? {} : undefined, colKey: col.key,
          tooltip: {valueFormatter: tooltipFmt(col)}, emphasis: {focus: "series"}, keyList: []};
      };
      if (parts.dims.length > 1) {
        var second = parts.dims[1], byValue = {};
        body.rows.forEach(function (row, r) {
          var sk = JSON.stringify(row[second]);
          if (!(sk in byValue)) { byValue[sk] = series.length; series.push(make(label(body, second, row[second]), body.columns[m0])); }
          var s = series[byValue[sk]];
          s.data[index[JSON.stringify(row[first])]] = row[m0];
          s.keyList[index[JSON.stringify(row[first])]] = body.keys[r];
        });
      } else {
        parts.measures.forEach(function (i) {
          var s = make(body.columns[i].label, body.columns[i]);
          body.rows.forEach(function (row, r) { s.data[index[JSON.stringify(row[first])]] = row[i]; s.keyList[index[JSON.stringify(row[first])]] = body.keys[r]; });
          series.push(s);
        });
      }
      var valueAxis = {type: "value", axisLabel: {formatter: function (x) { return fmt(x, {format: body.columns[m0].format === "percent" ? "percent" : "number", precision: 0}); }}};
      var catAxis = {type: "category", data: categories, axisLabel: {hideOverlap: true}};
      option = {tooltip: {trigger: "axis", renderMode: "richText"}, legend: {type: "scroll", bottom: 0, show: series.length > 1},
        grid: {left: 8, right: 16, top: 16, bottom: series.length > 1 ? 40 : 16, containLabel: true},
        xAxis: options.horizontal ? valueAxis : catAxis, yAxis: options.horizontal ? Object.assign({}, catAxis, {inverse: true}) : valueAxis,
        series: series.map(function (s) { var copy = Object.assign({}, s); delete copy.keyList; delete copy.colKey; return copy; })};
      ec.on("click", function (p) {
        var s = series[p.seriesIndex];
        if (s && s.keyList[p.dataIndex]) { window.location.href = drillUrl(card, s.keyList[p.dataIndex], s.colKey); }
      });
    }
    option.aria = {enabled: true};  // ECharts describes the chart to screen readers
    ec.setOption(option);
    if (clicks.length) {
      ec.on("click", function (p) {
        var c = clicks[p.dataIndex] || clicks[0];
        window.location.href = drillUrl(card, c[0], c[1]);
      });
    }
    box.dataset.rendered = "1";
  }

  function draw(card, body) {
    var target = card.querySelector("[data-body]");
    target.textContent = "";
    var options = JSON.parse(card.dataset.options || "{}");
    var renders = card.dataset.renders;
    var noGroups = !body.rows.length || (renders !== "kpi" && card.dataset.type !== "gauge" &&
      body.rows.every(function (row) { return split(body).measures.every(function (i) { return !row[i]; }); }));
    if (noGroups && renders !== "kpi") { state(card, "empty", text("empty")); return; }
    if (renders === "kpi") { kpi(card, body, target); }
    else if (renders === "table") { table(card, body, target, card.dataset.type === "leaderboard"); }
    else if (renders === "pivot") { pivot(card, body, target, options); }
    else { chart(card, body, target, options); }
    var foot = card.querySelector("[data-foot]");
    foot.textContent = "";
    if (body.capped && body.capped.groups > body.capped.limit) { foot.textContent = text("capped").replace("{limit}", body.capped.limit).replace("{groups}", body.capped.groups); }
    if (body.more) { foot.textContent = text("more"); }
    card.dataset.loaded = "1";
  }

  Array.prototype.forEach.call(grid.querySelectorAll("[data-widget]"), function (card) {
    fetch(card.dataset.url, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (resp) {
        return resp.json().then(function (body) { return {ok: resp.ok, body: body}; }, function () { return {ok: false, body: {}}; });
      })
      .then(function (answer) {
        if (!answer.ok) { state(card, "error", (answer.body && answer.body.detail) || text("error")); card.dataset.loaded = "error"; return; }
        draw(card, answer.body);
      })
      .catch(function () { state(card, "error", text("error")); card.dataset.loaded = "error"; });
  });

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  var printButton = document.querySelector("[data-print]");
  if (printButton) { printButton.addEventListener("click", function () { window.print(); }); }
}());
