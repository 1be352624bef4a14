// The customer page (docs/customer-page.md). No framework and no build step: it reads the
// profile's public config, sends one request, then polls that callback's status until it ends.
"use strict";

(function () {
  const base = location.pathname.replace(/\/+$/, "");        // /page/<profile sid>
  const storageKey = "ari-callback:" + base;                  // a reload resumes the callback it asked for
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const $ = (id) => document.getElementById(id);
  let config = null, pollTimer = null, lastAnnounced = "";

  // ------------------------------------------------------------------------------ helpers
  async function api(path, options) {
    const response = await fetch(base + path, Object.assign({ cache: "no-store" }, options));
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    return { ok: response.ok, status: response.status, body: body || {} };
  }

  function post(path, payload) {
    return api(path, { method: "POST", headers: { "Content-Type": "application/json" },
                       body: JSON.stringify(payload || {}) });
  }

  function el(tag, attributes, text) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([k, v]) => { if (v !== false && v != null) node.setAttribute(k, v === true ? "" : v); });
    if (text != null) node.textContent = text;
    return node;
  }

  const when = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short",
                                                    hour: "2-digit", minute: "2-digit", timeZone: zone });
  const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", timeZone: zone });
  const formatTime = (iso) => (iso ? when.format(new Date(iso)) : "");

  function formatWait(seconds) {
    if (seconds == null) return "–";
    if (seconds < 60) return "less than a minute";
    const minutes = Math.round(seconds / 60);
    if (minutes < 60) return "about " + minutes + (minutes === 1 ? " minute" : " minutes");
    return "about " + Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
  }

  // ------------------------------------------------------------------------------- errors
  function clearErrors() {
    $("alert").hidden = true;
    $("alert").textContent = "";
    document.querySelectorAll(".field-error").forEach((p) => { p.hidden = true; p.textContent = ""; });
    document.querySelectorAll("[aria-invalid]").forEach((n) => n.removeAttribute("aria-invalid"));
  }

  // Shows each message beside its field and all of them in the alert (read out at once), then
  // puts the focus on the first field at fault so a keyboard user lands where the fix is.
  function showErrors(problems) {
    $("alert").textContent = problems.map((p) => p.message).join(" ");
    $("alert").hidden = false;
    let first = null;
    problems.forEach((p) => {
      const target = fieldOf(p.field);
      if (!target) return;
      target.error.textContent = p.message;
      target.error.hidden = false;
      target.control.setAttribute("aria-invalid", "true");
      first = first || target.control;
    });
    (first || $("alert")).focus();
  }

  function fieldOf(name) {
    if (name === "number") return { control: $("number"), error: $("number-error") };
    if (name === "option") return { control: document.querySelector("input[name=option]:not(:disabled)") || $("options"),
                                     error: $("option-error") };
    if (name === "start_at") return { control: $("slot"), error: $("slot-error") };
    const question = $("q-" + name);
    return question ? { control: question, error: $("q-" + name + "-error") } : null;
  }

  function serverProblems(result) {
    const body = result.body;
    const messages = { callback_pending: "A callback to this number is already waiting for this option.",
                       option_paused: "This option is paused: it takes no callbacks just now.",
                       option_closed: "This option is closed.", profile_paused: "Callbacks are paused just now.",
                       invalid_number: "Please enter a phone number: digits, and + for the country code.",
                       slot_full: "That time is now full: please pick another one.",
                       origin_not_allowed: "This page cannot be used from here." };
    const items = body.errors && body.errors.length ? body.errors : [{ field: body.field, error_id: body.error_id }];
    return items.map((e) => ({ field: (e.field || "").replace(/^answers\./, ""),
                               message: messages[e.error_id] || friendly(e, body) }));
  }

  function friendly(error, body) {
    if (!error.error_id && !body.error_id) return "Something went wrong. Please try again.";
    const question = config && config.questions.find((q) => q.sid === error.field);
    if (question) return "Please check your answer to “" + question.text + "”.";
    return (error.message || body.message || "The request was refused") + ".";
  }

  // ------------------------------------------------------------------------------ the form
  function renderOptions() {
    const list = $("option-list");
    list.replaceChildren();
    config.options.forEach((option) => {
      const id = "option-" + option.sid;
      const row = el("div", { class: "choice" + (option.selectable ? "" : " unavailable") });
      const note = option.status === "paused" ? "Paused: not taking callbacks just now"
        : option.status === "closed" ? "Closed"
        : !option.open_now && option.next_open ? "Opens " + formatTime(option.next_open) + "; you can ask now" : "";
      const label = el("label", { for: id }, option.name);
      if (note) label.append(el("span", { class: "status-note" }, note));
      row.append(el("input", { type: "radio", name: "option", id: id, value: option.sid,
                               disabled: !option.selectable, "aria-describedby": "option-error" }), label);
      list.append(row);
    });
    const first = config.options.find((o) => o.selectable);
    if (first) $("option-" + first.sid).checked = true;
  }

  function renderQuestions() {
    const box = $("questions");
    box.replaceChildren();
    config.questions.forEach((q) => {
      const id = "q-" + q.sid;
      const field = el("div", { class: "field" });
      field.append(el("label", { for: id }, q.text + (q.required ? " (required)" : " (optional)")));
      let control;
      if (q.type === "choice" || q.type === "yes_no") {
        control = el("select", { id: id });
        control.append(el("option", { value: "" }, "Choose…"));
        (q.type === "yes_no" ? ["yes", "no"] : q.choices).forEach((c) => control.append(el("option", { value: c }, c)));
      } else {
        control = el("input", { id: id, type: "text", inputmode: q.type === "number" ? "numeric" : false,
                                maxlength: 200, autocomplete: "off" });
      }
      control.setAttribute("aria-describedby", id + "-error");
      if (q.required) control.setAttribute("aria-required", "true");
      field.append(control, el("p", { id: id + "-error", class: "field-error", hidden: true }));
      box.append(field);
    });
  }

  async function loadSlots() {
    const select = $("slot");
    const option = selectedOption();
    select.replaceChildren(el("option", { value: "" }, option ? "Loading times…" : "Choose an option first"));
    if (!option || !$("when-slot").checked) return;
    const result = await api("/options/" + encodeURIComponent(option) + "/slots");
    select.replaceChildren(el("option", { value: "" }, "Choose a time…"));
    (result.ok ? result.body : []).forEach((slot) => {
      const text = formatTime(slot.start) + "–" + clock.format(new Date(slot.end)) + (slot.available ? "" : " (full)");
      select.append(el("option", { value: slot.start, disabled: !slot.available }, text));
    });
  }

  const selectedOption = () => { const c = document.querySelector("input[name=option]:checked"); return c ? c.value : ""; };

  function formProblems(payload) {
    const problems = [];
    if (!payload.option) problems.push({ field: "option", message: "Please choose what your call is about." });
    if (!/^\+?[0-9*#]{1,32}$/.test(payload.number)) {
      problems.push({ field: "number", message: "Please enter a phone number: digits, and + for the country code." });
    }
    config.questions.forEach((q) => {
      if (q.required && !payload.answers[q.sid]) problems.push({ field: q.sid, message: "Please answer “" + q.text + "”." });
    });
    if ($("when-slot").checked && !payload.start_at) problems.push({ field: "start_at", message: "Please choose a time." });
    return problems;
  }

  function readForm() {
    const answers = {};
    config.questions.forEach((q) => { const v = $("q-" + q.sid).value.trim(); if (v) answers[q.sid] = v; });
    const payload = { option: selectedOption(), number: $("number").value.replace(/[\s().\-\/]/g, ""),
                      answers: answers, timezone: zone };
    if (config.sms) payload.sms = $("sms").checked;
    if (config.scheduling && $("when-slot").checked) payload.start_at = $("slot").value || null;
    return payload;
  }

  async function submit(event) {
    event.preventDefault();
    clearErrors();
    const payload = readForm();
    const problems = formProblems(payload);
    if (problems.length) return showErrors(problems);
    $("submit").disabled = true;
    try {
      const result = await post("/callbacks", payload);
      if (!result.ok) return showErrors(serverProblems(result));
      sessionStorage.setItem(storageKey, result.body.id);
      showStatus(result.body);
      $("waiting-title").focus();
      schedulePoll();
    } catch (e) {
      showErrors([{ message: "We could not reach the server. Please check your connection and try again." }]);
    } finally {
      $("submit").disabled = false;
    }
  }

  // ------------------------------------------------------------------------ the status view
  const finished = (phase) => ["completed", "failed", "cancelled"].includes(phase);

  function phaseText(s) {
    switch (s.phase) {
      case "waiting": return (s.retrying ? "We could not reach you; we will try again. " : "")
        + (s.position ? "You are number " + s.position + " in line." : "You are in line.");
      case "scheduled": return "We will call you at " + formatTime(s.start_at) + ".";
      case "calling": return "We are calling you now on " + s.number + ".";
      case "finding_agent": return "Connecting you to an agent…";
      case "connected": return "You are connected.";
      case "completed": return "Your callback is done. Thank you!";
      case "cancelled": return "Your callback is cancelled.";
      default: return "We could not reach you. You can ask again.";
    }
  }

  function showStatus(s) {
    $("loading").hidden = true;
    $("request-form").hidden = true;
    $("waiting").hidden = false;
    $("waiting").dataset.phase = s.phase;
    const text = phaseText(s);
    if (text !== lastAnnounced) { $("live").textContent = text; lastAnnounced = text; }  // read out on change only
    $("position").textContent = s.position != null ? String(s.position) : "–";
    $("wait").textContent = s.phase === "waiting" ? formatWait(s.estimated_wait) : "–";
    $("position-row").hidden = $("wait-row").hidden = s.phase !== "waiting";
    $("start-row").hidden = s.phase !== "scheduled";
    $("start").textContent = formatTime(s.start_at);
    $("about").textContent = s.option_name || "";
    $("called-number").textContent = s.number || "";
    $("cancel").hidden = !s.can_cancel || s.phase === "connected";   // on the phone: hanging up is theirs
    $("again").hidden = !finished(s.phase);
    if (finished(s.phase)) sessionStorage.removeItem(storageKey);
  }

  function schedulePoll() {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(poll, (config && config.poll_interval_ms) || 2000);
  }

  async function poll() {
    const id = sessionStorage.getItem(storageKey);
    if (!id) return;
    try {
      const result = await api("/callbacks/" + encodeURIComponent(id));
      if (result.status === 404) { sessionStorage.removeItem(storageKey); return showForm(); }
      if (result.ok) { showStatus(result.body); if (finished(result.body.phase)) return; }
    } catch (e) { /* offline for a moment: the next poll tries again */ }
    schedulePoll();
  }

  async function cancel() {
    const id = sessionStorage.getItem(storageKey);
    clearErrors();
    $("cancel").disabled = true;
    try {
      const result = await post("/callbacks/" + encodeURIComponent(id) + "/cancel");
      if (!result.ok && result.status !== 409) return showErrors(serverProblems(result));
      await poll();
      $("waiting-title").focus();
    } finally {
      $("cancel").disabled = false;
    }
  }

  function showForm() {
    clearTimeout(pollTimer);
    lastAnnounced = "";
    $("waiting").hidden = true;
    $("loading").hidden = true;
    $("request-form").hidden = false;
  }

  // ------------------------------------------------------------------------------ start
  async function start() {
    $("request-form").addEventListener("submit", submit);
    $("cancel").addEventListener("click", cancel);
    $("again").addEventListener("click", () => { showForm(); $("number").focus(); });
    $("when").addEventListener("change", (event) => {   // the radios only: picking a slot must not reload them
      if (event.target.name !== "when") return;
      $("slot-field").hidden = !$("when-slot").checked;
      loadSlots();
    });
    $("option-list").addEventListener("change", loadSlots);
    const result = await api("/config.json").catch(() => ({ ok: false, body: {} }));
    if (!result.ok) {
      $("loading").hidden = true;
      return showErrors([{ message: "This page is not available." }]);
    }
    config = result.body;
    document.title = "Request a callback: " + config.name;
    $("title").textContent = config.name;
    renderOptions();
    renderQuestions();
    $("when").hidden = !config.scheduling;
    $("slot-zone").textContent = "(your time, " + zone + ")";
    $("sms-field").hidden = !config.sms;
    if (!config.options.some((o) => o.selectable)) {
      showErrors([{ message: "Callbacks are not available just now." }]);
    }
    if (sessionStorage.getItem(storageKey)) return poll();
    showForm();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
