// The sales dashboard: sign-in against the Cognito user pool, then the API's figures for a range.
//
// Every amount on the page is the API's own string (e.g. "34.88"), only grouped and given the
// currency's symbol here: the page never does arithmetic on money. The chart needs numbers to
// draw its bars, so only the chart's geometry is a float; its labels show the API's strings.
"use strict";

(() => {
  const SESSION_KEY = "salesmetrics.dashboard.session";
  const LOOKBACK_DAYS = 3650; // how far back "the last 30 days with data" looks (the API allows 3660)
  const POLL_MS = 1000;
  const IMPORT_WAIT_MS = 5 * 60 * 1000;
  const RETRACT_WAIT_MS = 2 * 60 * 1000;
  const BREAKDOWN_LIMIT = 10;

  const state = {
    config: null,
    session: null, // {token, email, expiresAt}
    challenge: null, // {name, session, email}
    range: null, // {start, end}
    granularity: "day",
    currency: "SGD",
    chart: null,
    changes: null, // {importId, nextToken}
    generation: 0, // bumps on every range load, so a late answer never paints over a newer one
  };

  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  // ------------------------------------------------------------------ formatting (no float maths)

  function currencySymbol(currency) {
    try {
      const parts = new Intl.NumberFormat("en", { style: "currency", currency }).formatToParts(0);
      const symbol = parts.find((p) => p.type === "currency");
      if (symbol) return /^[A-Za-z]+$/.test(symbol.value) ? symbol.value + " " : symbol.value;
    } catch (_) {
      // an unknown currency code: show the code itself
    }
    return currency + " ";
  }

  function groupDigits(digits) {
    return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  // "-1234.50" -> "-SGD 1,234.50": the API's digits, grouped; never parsed into a number.
  function formatMoney(text, currency = state.currency) {
    const match = /^(-?)(\d+)\.(\d{2})$/.exec(String(text));
    if (!match) return String(text);
    return `${match[1]}${currencySymbol(currency)}${groupDigits(match[2])}.${match[3]}`;
  }

  function formatCount(value) {
    const text = String(value);
    const match = /^(-?)(\d+)(\.\d+)?$/.exec(text);
    return match ? match[1] + groupDigits(match[2]) + (match[3] || "") : text;
  }

  function formatChange(text) {
    if (text === null || text === undefined) return "no previous figure";
    return (text.startsWith("-") ? "" : "+") + text + "%";
  }

  function formatDate(iso) {
    const [y, m, d] = iso.split("-").map(Number);
    return new Date(Date.UTC(y, m - 1, d)).toLocaleDateString("en-GB", {
      day: "numeric", month: "short", year: "numeric", timeZone: "UTC",
    });
  }

  function formatTime(iso) {
    if (!iso) return "";
    const when = new Date(iso);
    return Number.isNaN(when.getTime()) ? iso : when.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
  }

  // Dates are calendar days (YYYY-MM-DD), computed in UTC so no time zone shifts them.
  function isoDay(date) {
    return date.toISOString().slice(0, 10);
  }

  function addDays(iso, days) {
    const [y, m, d] = iso.split("-").map(Number);
    return isoDay(new Date(Date.UTC(y, m - 1, d + days)));
  }

  function today() {
    const now = new Date();
    return isoDay(new Date(Date.UTC(now.getFullYear(), now.getMonth(), now.getDate())));
  }

  function hasSales(period) {
    return period.order_count > 0 || period.refund_count > 0 || period.revenue_sgd !== "0.00";
  }

  // ------------------------------------------------------------------ small DOM helpers

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "text") node.textContent = value;
      else if (name === "className") node.className = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) node.append(child);
    return node;
  }

  function setState(name, text, kind = "info") {
    for (const node of $$(`[data-state="${name}"]`)) {
      node.textContent = text || "";
      node.dataset.kind = text ? kind : "";
      node.hidden = !text;
    }
  }

  function notice(text, kind = "info") {
    const node = $("#notice");
    node.textContent = text || "";
    node.dataset.kind = kind;
    node.hidden = !text;
  }

  function moneyCell(text, extra = {}) {
    return el("td", { className: "num", "data-value": text, text: formatMoney(text), ...extra });
  }

  // ------------------------------------------------------------------ configuration and session

  async function loadConfig() {
    let response = await fetch("config.json", { cache: "no-store" });
    // 503 while the service starts (the local demo ingests its sample first): wait for it.
    for (let attempt = 0; response.status === 503 && attempt < 120; attempt += 1) {
      notice("The service is starting; this page signs in as soon as it answers…");
      await sleep(POLL_MS);
      response = await fetch("config.json", { cache: "no-store" });
    }
    notice("");
    if (!response.ok) throw new Error(`config.json answered ${response.status}`);
    const config = await response.json();
    for (const name of ["cognito_endpoint", "client_id", "api_base"]) {
      if (!config[name]) throw new Error(`config.json has no ${name}`);
    }
    return config;
  }

  function saveSession(session) {
    state.session = session;
    if (session) sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
    else sessionStorage.removeItem(SESSION_KEY);
  }

  function restoreSession() {
    try {
      const session = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
      if (session && session.token && session.expiresAt > Date.now()) return session;
    } catch (_) {
      // a damaged entry: sign in again
    }
    sessionStorage.removeItem(SESSION_KEY);
    return null;
  }

  // ------------------------------------------------------------------ Cognito (its JSON API)

  async function cognito(action, payload) {
    let response;
    try {
      response = await fetch(state.config.cognito_endpoint, {
        method: "POST",
        headers: {
          "Content-Type": "application/x-amz-json-1.1",
          "X-Amz-Target": `AWSCognitoIdentityProviderService.${action}`,
        },
        body: JSON.stringify(payload),
      });
    } catch (error) {
      throw new Error(`The sign-in service could not be reached (${error.message}).`);
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const type = String(data.__type || "").split("#").pop();
      if (type === "NotAuthorizedException" || type === "UserNotFoundException") {
        throw new Error(data.message === "Password attempts exceeded" ? data.message + "." : "Incorrect email or password.");
      }
      if (type === "InvalidPasswordException") throw new Error(data.message || "That password is not allowed.");
      if (type === "CodeMismatchException") throw new Error("That code is not right; try the current one.");
      throw new Error(data.message || `Sign-in failed (${response.status}).`);
    }
    return data;
  }

  function afterAuth(email, data) {
    if (data.AuthenticationResult) {
      const result = data.AuthenticationResult;
      // The access token: API Gateway's JWT authorizer accepts it (its client_id is the audience).
      saveSession({
        token: result.AccessToken,
        email,
        expiresAt: Date.now() + (Number(result.ExpiresIn) || 3600) * 1000,
      });
      state.challenge = null;
      showApp();
      return;
    }
    state.challenge = { name: data.ChallengeName, session: data.Session, email };
    if (data.ChallengeName === "NEW_PASSWORD_REQUIRED") showSignInStep("new-password");
    else if (data.ChallengeName === "SOFTWARE_TOKEN_MFA") showSignInStep("mfa");
    else throw new Error(`Sign-in needs a step this page does not offer (${data.ChallengeName}); ask your administrator.`);
  }

  function showSignInStep(step) {
    for (const form of $$("#signin form")) form.hidden = form.dataset.step !== step;
    const first = $(`#signin form[data-step="${step}"] input`);
    if (first) first.focus();
  }

  async function signIn(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const email = form.email.value.trim();
    $("#signin-error").textContent = "";
    form.querySelector("button").disabled = true;
    try {
      const data = await cognito("InitiateAuth", {
        AuthFlow: "USER_PASSWORD_AUTH",
        ClientId: state.config.client_id,
        AuthParameters: { USERNAME: email, PASSWORD: form.password.value },
      });
      form.password.value = "";
      afterAuth(email, data);
    } catch (error) {
      $("#signin-error").textContent = error.message;
    } finally {
      form.querySelector("button").disabled = false;
    }
  }

  async function answerChallenge(event, responses) {
    event.preventDefault();
    const form = event.currentTarget;
    const challenge = state.challenge;
    $("#signin-error").textContent = "";
    form.querySelector("button").disabled = true;
    try {
      const data = await cognito("RespondToAuthChallenge", {
        ChallengeName: challenge.name,
        ClientId: state.config.client_id,
        Session: challenge.session,
        ChallengeResponses: { USERNAME: challenge.email, ...responses(form) },
      });
      form.reset();
      afterAuth(challenge.email, data);
    } catch (error) {
      $("#signin-error").textContent = error.message;
    } finally {
      form.querySelector("button").disabled = false;
    }
  }

  function showSignIn(message) {
    $("#app").hidden = true;
    $("#who").hidden = true;
    $("#signin").hidden = false;
    showSignInStep("password");
    $("#signin-error").textContent = message || "";
    document.body.dataset.view = "signin";
  }

  function signOut() {
    saveSession(null);
    notice("");
    showSignIn();
  }

  function expireSession() {
    saveSession(null);
    showSignIn("Your session has ended: sign in again.");
  }

  // ------------------------------------------------------------------ the API

  async function api(path, { method = "GET", body, raw = false } = {}) {
    if (!state.session) throw new ApiError(401, "Not signed in.");
    const headers = { Authorization: `Bearer ${state.session.token}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(state.config.api_base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch (error) {
      throw new ApiError(0, `The API could not be reached (${error.message}).`);
    }
    if (response.status === 401) {
      expireSession();
      throw new ApiError(401, "Your session has ended: sign in again.");
    }
    if (!response.ok) {
      let message = "";
      try {
        message = (await response.json()).message || "";
      } catch (_) {
        // not JSON: the status says enough
      }
      throw new ApiError(response.status, message || `the API answered ${response.status}`);
    }
    return raw ? response : response.json();
  }

  function query(params) {
    return new URLSearchParams(params).toString();
  }

  // ------------------------------------------------------------------ the range

  async function defaultRange() {
    const end = today();
    const start = addDays(end, -(LOOKBACK_DAYS - 1));
    const months = await api(`/metrics/revenue/series?${query({ start, end, granularity: "month" })}`);
    const month = months.periods.filter(hasSales).pop();
    if (!month) return { start: addDays(end, -29), end, empty: true };
    const days = await api(`/metrics/revenue/series?${query({ start: month.start, end: month.end, granularity: "day" })}`);
    const last = days.periods.filter(hasSales).pop();
    const lastDay = last ? last.start : month.end;
    return { start: addDays(lastDay, -29), end: lastDay, empty: false };
  }

  function rangeFromHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    const start = params.get("start");
    const end = params.get("end");
    const granularity = params.get("granularity");
    if (granularity && ["day", "week", "month"].includes(granularity)) state.granularity = granularity;
    if (/^\d{4}-\d{2}-\d{2}$/.test(start || "") && /^\d{4}-\d{2}-\d{2}$/.test(end || "")) return { start, end };
    return null;
  }

  function writeHash() {
    const params = query({ ...state.range, granularity: state.granularity });
    history.replaceState(null, "", `#${params}`);
  }

  async function applyRange(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const start = form.start.value;
    const end = form.end.value;
    $("#range-error").textContent = "";
    if (!start || !end) {
      $("#range-error").textContent = "Choose both dates.";
      return;
    }
    if (start > end) {
      $("#range-error").textContent = "The start date is after the end date.";
      return;
    }
    state.range = { start, end };
    writeHash();
    await loadAll();
  }

  // ------------------------------------------------------------------ figures

  async function loadFigures(generation) {
    const section = $("#figures-section");
    section.setAttribute("aria-busy", "true");
    setState("figures", "Loading the figures…");
    try {
      const data = await api(`/metrics/revenue?${query({ ...state.range, compare: "previous_period" })}`);
      if (generation !== state.generation) return;
      state.currency = data.currency || state.currency;
      const comparison = data.comparison;
      for (const node of $$("[data-metric]")) {
        const field = node.dataset.metric;
        node.dataset.value = String(data[field]);
        node.textContent = node.dataset.kind === "money" ? formatMoney(data[field]) : formatCount(data[field]);
      }
      for (const node of $$("[data-change]")) {
        const text = comparison ? comparison.change_pct[node.dataset.change] : null;
        node.dataset.value = text === null || text === undefined ? "" : text;
        node.textContent = formatChange(text);
        const rising = text !== null && text !== undefined && !text.startsWith("-") && text !== "0.0";
        const falling = text !== null && text !== undefined && text.startsWith("-");
        // Refunds are negative amounts, so a rise (towards zero) is fewer refunds: good there too.
        node.dataset.trend = rising ? "good" : falling ? "bad" : "flat";
      }
      for (const node of $$("[data-previous]")) {
        const value = comparison ? comparison[node.dataset.previous] : "";
        node.dataset.value = String(value);
        node.textContent = comparison
          ? `was ${node.dataset.kind === "money" ? formatMoney(value) : formatCount(value)}`
          : "";
      }
      $("#range-compare").textContent = comparison
        ? `Compared with ${formatDate(comparison.start)} – ${formatDate(comparison.end)}`
        : "";
      $("#range-compare").dataset.start = comparison ? comparison.start : "";
      $("#range-compare").dataset.end = comparison ? comparison.end : "";
      const empty = data.order_count === 0 && data.refund_count === 0 && data.total_revenue_sgd === "0.00";
      setState("figures", empty ? "No sales in this range." : "");
    } catch (error) {
      if (generation !== state.generation || error.status === 401) return;
      setState("figures", `The figures could not be loaded: ${error.message}`, "error");
    } finally {
      section.setAttribute("aria-busy", "false");
    }
  }

  // ------------------------------------------------------------------ the chart

  function dayStartSeconds(iso) {
    const [y, m, d] = iso.split("-").map(Number);
    return Date.UTC(y, m - 1, d) / 1000;
  }

  function drawChart(periods) {
    const host = $('[data-chart="series"]');
    host.dataset.granularity = state.granularity;
    host.dataset.points = String(periods.length);
    host.dataset.first = periods.length ? periods[0].start : "";
    host.dataset.last = periods.length ? periods[periods.length - 1].end : "";
    if (state.chart) {
      state.chart.destroy();
      state.chart = null;
    }
    host.replaceChildren();
    if (!periods.length || typeof window.uPlot !== "function") return;
    const labels = periods.map((p) => p.revenue_sgd);
    const xs = periods.map((p) => dayStartSeconds(p.start));
    // Drawing only: bar heights are floats; every number shown comes from `labels`.
    const ys = periods.map((p) => Number(p.revenue_sgd));
    const width = Math.max(280, host.clientWidth || 600);
    const bars = window.uPlot.paths && window.uPlot.paths.bars ? window.uPlot.paths.bars({ size: [0.7, 40] }) : undefined;
    const options = {
      width,
      height: 260,
      tzDate: (ts) => window.uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      // Half a period of room either side, so the first and last bars are drawn whole.
      scales: {
        x: {
          time: true,
          range: (_u, min, max) => {
            const half = xs.length > 1 ? (max - min) / (xs.length - 1) / 2 : 43200;
            return [min - half, max + half];
          },
        },
      },
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      axes: [
        { stroke: "#1f2933", grid: { stroke: "#e4e7eb" } },
        {
          stroke: "#1f2933",
          grid: { stroke: "#e4e7eb" },
          size: 70,
          values: (_u, ticks) => ticks.map((t) => groupDigits(String(Math.round(t)))),
        },
      ],
      series: [
        { label: "From", value: (_u, ts) => (ts === null ? "" : formatDate(isoDay(new Date(ts * 1000)))) },
        {
          label: `Revenue (${state.currency})`,
          stroke: "#1d4ed8",
          fill: "rgba(29, 78, 216, 0.35)",
          width: 1,
          paths: bars,
          points: { show: false },
          value: (u, _v, _s, index) => (index === null || index === undefined ? "" : formatMoney(labels[index])),
        },
      ],
    };
    state.chart = new window.uPlot(options, [xs, ys], host);
  }

  async function loadSeries(generation) {
    setState("series", "Loading the chart…");
    $("#chart-unit").textContent = state.granularity;
    for (const input of $$('input[name="granularity"]')) input.checked = input.value === state.granularity;
    try {
      const data = await api(`/metrics/revenue/series?${query({ ...state.range, granularity: state.granularity })}`);
      if (generation !== state.generation) return;
      const tbody = $('[data-table="series"] tbody');
      tbody.replaceChildren(
        ...data.periods.map((p) =>
          el(
            "tr",
            { "data-start": p.start, "data-end": p.end },
            el("td", { text: formatDate(p.start) }),
            el("td", { text: formatDate(p.end) }),
            moneyCell(p.revenue_sgd, { "data-field": "revenue_sgd" }),
            el("td", { className: "num", "data-field": "order_count", "data-value": p.order_count, text: formatCount(p.order_count) }),
            moneyCell(p.average_order_value_sgd, { "data-field": "average_order_value_sgd" }),
            moneyCell(p.refunds_sgd, { "data-field": "refunds_sgd" }),
          ),
        ),
      );
      drawChart(data.periods);
      setState("series", data.periods.some(hasSales) ? "" : "No sales to chart in this range.");
    } catch (error) {
      if (generation !== state.generation || error.status === 401) return;
      drawChart([]);
      setState("series", `The chart could not be loaded: ${error.message}`, "error");
    }
  }

  async function changeGranularity(event) {
    state.granularity = event.target.value;
    writeHash();
    await loadSeries(state.generation);
  }

  // ------------------------------------------------------------------ breakdowns

  async function loadBreakdown(dimension, generation) {
    setState(dimension, "Loading…");
    try {
      const data = await api(`/metrics/revenue/by/${dimension}?${query({ ...state.range, limit: BREAKDOWN_LIMIT })}`);
      if (generation !== state.generation) return;
      const rows = data.rows.map((row) =>
        el(
          "tr",
          { "data-key": row.key },
          el("th", { scope: "row", text: row.key }),
          moneyCell(row.revenue_sgd, { "data-field": "revenue_sgd" }),
          el("td", { className: "num", "data-field": "quantity", "data-value": String(row.quantity), text: formatCount(row.quantity) }),
          el("td", { className: "num", "data-field": "sale_count", "data-value": row.sale_count, text: formatCount(row.sale_count) }),
        ),
      );
      if (data.others) {
        rows.push(
          el(
            "tr",
            { "data-key": "(others)", className: "others" },
            el("th", { scope: "row", text: `${data.others.key_count} more` }),
            moneyCell(data.others.revenue_sgd, { "data-field": "revenue_sgd" }),
            el("td", { className: "num", "data-field": "quantity", "data-value": String(data.others.quantity), text: formatCount(data.others.quantity) }),
            el("td", { className: "num", text: "" }),
          ),
        );
      }
      $(`[data-table="${dimension}"] tbody`).replaceChildren(...rows);
      setState(dimension, rows.length ? "" : "Nothing sold in this range.");
    } catch (error) {
      if (generation !== state.generation || error.status === 401) return;
      $(`[data-table="${dimension}"] tbody`).replaceChildren();
      setState(dimension, `Could not be loaded: ${error.message}`, "error");
    }
  }

  function filenameOf(response, fallback) {
    const disposition = response.headers.get("Content-Disposition") || "";
    const match = /filename="?([^";]+)"?/i.exec(disposition);
    return match ? match[1] : fallback;
  }

  function saveBlob(blob, filename) {
    const url = URL.createObjectURL(blob);
    const link = el("a", { href: url, download: filename });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  async function downloadCsv(event) {
    const dimension = event.currentTarget.dataset.csv;
    const button = event.currentTarget;
    button.disabled = true;
    try {
      // The whole breakdown (the API's maximum limit), not only the rows on screen.
      const response = await api(
        `/metrics/revenue/by/${dimension}?${query({ ...state.range, limit: 1000, format: "csv" })}`,
        { raw: true },
      );
      saveBlob(await response.blob(), filenameOf(response, `${dimension}-${state.range.start}-${state.range.end}.csv`));
    } catch (error) {
      if (error.status !== 401) setState(dimension, `The CSV could not be downloaded: ${error.message}`, "error");
    } finally {
      button.disabled = false;
    }
  }

  // ------------------------------------------------------------------ imports

  // "uploads/2026/12/01/<32 hex>-sales.csv" -> "sales.csv": the name the user gave the file.
  function fileName(key) {
    return key.split("/").pop().replace(/^[0-9a-f]{32}-/, "");
  }

  function importRow(record) {
    const actions = el("td", { className: "actions" });
    if (record.rows_rejected > 0 && record.rejects_key) {
      actions.append(el("button", { type: "button", className: "link", "data-action": "rejects", "data-import": record.import_id, text: "Rejected rows" }));
    }
    actions.append(el("button", { type: "button", className: "link", "data-action": "changes", "data-import": record.import_id, text: "Changes" }));
    if (!["IN_PROGRESS", "RETRACTING", "RETRACTED"].includes(record.status)) {
      actions.append(el("button", { type: "button", className: "link danger", "data-action": "retract", "data-import": record.import_id, "data-key": record.key, text: "Retract" }));
    }
    return el(
      "tr",
      { "data-import": record.import_id, "data-status": record.status, "data-key": record.key },
      el("td", { className: "wide-only", text: formatTime(record.started_at) }),
      el("td", { className: "file", title: record.key, text: fileName(record.key) }),
      el("td", {}, el("span", { className: `status status-${record.status.toLowerCase()}`, text: record.status.replace("_", " ").toLowerCase() })),
      el("td", { className: "num wide-only", "data-field": "rows_total", text: formatCount(record.rows_total) }),
      el("td", { className: "num", "data-field": "rows_rejected", text: formatCount(record.rows_rejected) }),
      el("td", { className: "num wide-only", text: `${formatCount(record.sales_created)} / ${formatCount(record.sales_updated)}` }),
      actions,
    );
  }

  async function loadImports() {
    setState("imports", "Loading the imports…");
    try {
      const data = await api(`/imports?${query({ limit: 20 })}`);
      $('[data-table="imports"] tbody').replaceChildren(...data.imports.map(importRow));
      setState("imports", data.imports.length ? "" : "No imports yet: upload a sales export.");
      return data.imports;
    } catch (error) {
      if (error.status !== 401) setState("imports", `The imports could not be loaded: ${error.message}`, "error");
      return [];
    }
  }

  async function importAction(event) {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const importId = button.dataset.import;
    if (button.dataset.action === "rejects") await downloadRejects(importId, button);
    else if (button.dataset.action === "changes") await showChanges(importId, null);
    else if (button.dataset.action === "retract") confirmRetract(importId, button.dataset.key);
  }

  async function downloadRejects(importId, button) {
    button.disabled = true;
    try {
      // The API answers a redirect to a short-lived S3 link; fetch follows it (without our token).
      const response = await api(`/imports/${encodeURIComponent(importId)}/rejects`, { raw: true });
      saveBlob(await response.blob(), `rejects-${importId}.csv`);
    } catch (error) {
      if (error.status !== 401) setState("imports", `The rejected rows could not be downloaded: ${error.message}`, "error");
    } finally {
      button.disabled = false;
    }
  }

  function unavailable(error) {
    return error.status === 404 || error.status === 405;
  }

  async function showChanges(importId, nextToken) {
    const panel = $("#changes");
    panel.hidden = false;
    $("#changes-import").textContent = importId;
    const tbody = $('[data-table="changes"] tbody');
    if (!nextToken) tbody.replaceChildren();
    $("#changes-more").hidden = true;
    setState("changes", "Loading the changes…");
    const params = { limit: 50 };
    if (nextToken) params.next_token = nextToken;
    try {
      const data = await api(`/imports/${encodeURIComponent(importId)}/changes?${query(params)}`);
      for (const change of data.changes) {
        tbody.append(
          el(
            "tr",
            { "data-sale": change.sale_id, "data-change": change.change },
            el("th", { scope: "row", text: change.sale_id }),
            el("td", { text: change.change }),
            el("td", {
              text:
                (change.sale_date ? formatDate(change.sale_date) : "") +
                (change.previous_sale_date && change.previous_sale_date !== change.sale_date
                  ? ` (was ${formatDate(change.previous_sale_date)})`
                  : ""),
            }),
            change.total_sgd === null || change.total_sgd === undefined ? el("td") : moneyCell(change.total_sgd),
            change.previous_total_sgd === null || change.previous_total_sgd === undefined ? el("td") : moneyCell(change.previous_total_sgd),
          ),
        );
      }
      state.changes = { importId, nextToken: data.next_token };
      $("#changes-more").hidden = !data.next_token;
      setState("changes", tbody.children.length ? "" : "This import changed no sales.");
    } catch (error) {
      if (error.status === 401) return;
      if (unavailable(error)) {
        setState("changes", `This API does not list an import's changes (it answered ${error.status}: ${error.message}).`, "error");
      } else {
        setState("changes", `The changes could not be loaded: ${error.message}`, "error");
      }
    }
    panel.scrollIntoView({ block: "nearest" });
  }

  function confirmRetract(importId, key) {
    const dialog = $("#retract-dialog");
    $("#retract-text").textContent =
      `The sales ${fileName(key)} added or changed go back to what they were before it, and the figures follow. ` +
      "The file itself stays in the bucket.";
    dialog.dataset.import = importId;
    dialog.returnValue = "";
    dialog.showModal();
  }

  async function onRetractDialogClose() {
    const dialog = $("#retract-dialog");
    if (dialog.returnValue !== "confirm") return;
    await retract(dialog.dataset.import);
  }

  async function retract(importId) {
    notice(`Retracting ${importId}…`);
    try {
      let record = await api(`/imports/${encodeURIComponent(importId)}`, { method: "DELETE" });
      const deadline = Date.now() + RETRACT_WAIT_MS;
      while (record.status !== "RETRACTED" && Date.now() < deadline) {
        await sleep(POLL_MS);
        record = await api(`/imports/${encodeURIComponent(importId)}`);
      }
      if (record.status !== "RETRACTED") {
        notice(`${importId} is still ${record.status.toLowerCase()}; the figures will follow when it is done.`, "error");
      } else {
        notice(`Retracted ${fileName(record.key)}: the figures no longer include it.`);
      }
      await loadAll();
    } catch (error) {
      if (error.status === 401) return;
      if (unavailable(error)) {
        notice(`Retracting is not available on this API (it answered ${error.status}: ${error.message}).`, "error");
      } else {
        notice(`The import could not be retracted: ${error.message}`, "error");
      }
    }
  }

  // ------------------------------------------------------------------ upload

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  function put(url, file, contentType, onProgress) {
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open("PUT", url);
      request.setRequestHeader("Content-Type", contentType);
      request.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) onProgress(event.loaded, event.total);
      });
      request.addEventListener("load", () =>
        request.status >= 200 && request.status < 300
          ? resolve()
          : reject(new Error(`the upload was refused (${request.status})`)),
      );
      request.addEventListener("error", () => reject(new Error("the upload could not reach the bucket")));
      request.send(file);
    });
  }

  async function upload(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const file = form.file.files[0];
    if (!file) return;
    const status = $("#upload-status");
    const progress = $("#upload-progress");
    const button = form.querySelector("button");
    status.hidden = false;
    progress.value = 0;
    progress.removeAttribute("data-done");
    button.disabled = true;
    $("#upload-label").textContent = `Uploading ${file.name}`;
    setState("upload", "Asking for an upload link…");
    try {
      const grant = await api("/uploads", { method: "POST", body: { filename: file.name } });
      setState("upload", `Uploading ${file.name}…`);
      await put(grant.upload_url, file, grant.content_type, (loaded, total) => {
        progress.value = Math.floor((loaded * 100) / total);
        setState("upload", `Uploading ${file.name}: ${progress.value}%`);
      });
      progress.value = 100;
      progress.dataset.done = "true";
      setState("upload", `Uploaded ${file.name}; waiting for its import…`);
      const record = await followImport(grant.key);
      if (!record) {
        setState("upload", `${file.name} was uploaded but its import has not finished yet; it will show below when it does.`, "error");
      } else {
        const kind = record.status === "FAILED" ? "error" : "info";
        setState(
          "upload",
          `${file.name}: ${record.status.toLowerCase()} — ${formatCount(record.rows_ingested)} rows imported, ` +
            `${formatCount(record.rows_rejected)} rejected. ${record.message || ""}`.trim(),
          kind,
        );
        $("#upload-message").dataset.status = record.status;
      }
      form.reset();
      await loadAll();
    } catch (error) {
      if (error.status !== 401) setState("upload", `The upload failed: ${error.message}`, "error");
    } finally {
      button.disabled = false;
    }
  }

  async function followImport(key) {
    const deadline = Date.now() + IMPORT_WAIT_MS;
    while (Date.now() < deadline) {
      const imports = await loadImports();
      const record = imports.find((r) => r.key === key);
      if (record && record.status !== "IN_PROGRESS") return record;
      setState("upload", record ? "Importing…" : "Uploaded; waiting for its import to start…");
      await sleep(POLL_MS);
    }
    return null;
  }

  // ------------------------------------------------------------------ putting it together

  async function loadAll() {
    state.generation += 1;
    const generation = state.generation;
    $("#range-start").value = state.range.start;
    $("#range-end").value = state.range.end;
    await Promise.all([
      loadFigures(generation),
      loadSeries(generation),
      ...["item", "location", "payment_method"].map((d) => loadBreakdown(d, generation)),
      loadImports(),
    ]);
    document.body.dataset.loaded = String(generation);
  }

  async function showApp() {
    $("#signin").hidden = true;
    $("#app").hidden = false;
    $("#who").hidden = false;
    $("#who-name").textContent = state.session.email;
    document.body.dataset.view = "app";
    state.range = rangeFromHash();
    if (!state.range) {
      setState("figures", "Finding your latest sales…");
      try {
        const found = await defaultRange();
        state.range = { start: found.start, end: found.end };
        if (found.empty) notice("No sales yet: upload a sales export to see your figures.");
      } catch (error) {
        if (error.status === 401) return;
        const end = today();
        state.range = { start: addDays(end, -29), end };
        notice(`Your latest sales could not be found (${error.message}); showing the last 30 days.`, "error");
      }
    }
    writeHash();
    await loadAll();
  }

  async function start() {
    $("#signin-form").addEventListener("submit", signIn);
    $("#newpassword-form").addEventListener("submit", (e) => answerChallenge(e, (f) => ({ NEW_PASSWORD: f.new_password.value })));
    $("#mfa-form").addEventListener("submit", (e) => answerChallenge(e, (f) => ({ SOFTWARE_TOKEN_MFA_CODE: f.code.value.trim() })));
    $("#sign-out").addEventListener("click", signOut);
    $("#range-form").addEventListener("submit", applyRange);
    for (const input of $$('input[name="granularity"]')) input.addEventListener("change", changeGranularity);
    for (const button of $$("[data-csv]")) button.addEventListener("click", downloadCsv);
    $('[data-table="imports"]').addEventListener("click", importAction);
    $("#upload-form").addEventListener("submit", upload);
    $("#retract-dialog").addEventListener("close", onRetractDialogClose);
    $("#changes-close").addEventListener("click", () => { $("#changes").hidden = true; });
    $("#changes-more").addEventListener("click", () => state.changes && showChanges(state.changes.importId, state.changes.nextToken));
    window.addEventListener("resize", () => {
      const host = $('[data-chart="series"]');
      if (state.chart && host.clientWidth) state.chart.setSize({ width: Math.max(280, host.clientWidth), height: 260 });
    });

    try {
      state.config = await loadConfig();
    } catch (error) {
      notice(`The dashboard is not set up: ${error.message}.`, "error");
      return;
    }
    state.session = restoreSession();
    if (state.session) await showApp();
    else showSignIn();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
