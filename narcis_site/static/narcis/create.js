// The create-a-portrait flow on the landing page: selfie (drag and drop, preview), two words with a live
// mecene concept, Generate (one token), live progress over the job's websocket, the result to download.
// Plain JS, no build step. API errors ({code, message, field}) are shown next to the field they concern.
(() => {
  "use strict";
  const section = document.getElementById("create");
  if (!section) return;
  const $ = (id) => document.getElementById(id);
  const form = $("create-form"), faceInput = $("face"), dropzone = $("dropzone"), ideaInput = $("idea");
  const MAX_BYTES = 10 * 1024 * 1024;
  const MAX_EXTRA = 3;
  const TYPES = ["image/jpeg", "image/png", "image/webp"];
  // Each stage's share of the overall bar; the bar ends at 100 only when the portrait is ready.
  const STAGES = {
    base: { label: "Painting your portrait", from: 0, to: 80 },
    detailing: { label: "Refining the face", from: 80, to: 99 },
  };
  let file = null, conceptSeed = null, conceptTimer = null, conceptTicket = 0, socket = null, job = null;
  let finished = false;

  const account = window.narcisAccount; // account.js: /api/me, the CSRF cookie it sets, the token count
  const csrfToken = account.csrfToken;
  const newKey = () =>
    window.crypto && crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`;

  // ---- errors, next to their field ----
  function showError(field, message) {
    const target = section.querySelector(`[data-error-for="${field}"]`) ||
      section.querySelector('[data-error-for="general"]');
    target.textContent = message;
    const box = section.querySelector(`[data-field="${field}"]`);
    if (box) box.classList.add("has-error");
  }
  function clearError(field) {
    const target = section.querySelector(`[data-error-for="${field}"]`);
    if (target) target.textContent = "";
    const box = section.querySelector(`[data-field="${field}"]`);
    if (box) box.classList.remove("has-error");
  }
  const clearErrors = () => ["face", "extra_faces", "idea", "general"].forEach(clearError);
  const fieldOf = (body) =>
    body.field === "concept_seed" ? "idea" : body.field || (body.code === "no_tokens" ? "general" : "general");

  // ---- 1. the selfie ----
  function takeFile(candidate) {
    clearError("face");
    if (!candidate) return;
    if (!TYPES.includes(candidate.type)) return showError("face", "Please choose a JPEG, PNG or WebP photo.");
    if (candidate.size > MAX_BYTES) return showError("face", "This photo is larger than 10 MB. Please choose a smaller one.");
    file = candidate;
    const preview = $("face-preview");
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.src = URL.createObjectURL(candidate);
    preview.hidden = false;
    $("dropzone-text").hidden = true;
  }
  faceInput.addEventListener("change", () => takeFile(faceInput.files[0]));
  ["dragenter", "dragover"].forEach((type) =>
    dropzone.addEventListener(type, (event) => { event.preventDefault(); dropzone.classList.add("over"); }));
  ["dragleave", "drop"].forEach((type) =>
    dropzone.addEventListener(type, () => dropzone.classList.remove("over")));
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    takeFile(event.dataTransfer.files[0]);
  });
  dropzone.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); faceInput.click(); }
  });

  // ---- 2. the words, with a live concept ----
  async function previewConcept() {
    const words = ideaInput.value.trim();
    const ticket = ++conceptTicket;
    if (!words) { $("concept").hidden = true; conceptSeed = null; return; }
    try {
      const response = await fetch(`/api/mecene?${new URLSearchParams({ idea: words })}`, { credentials: "same-origin" });
      const body = await response.json();
      if (ticket !== conceptTicket) return; // a later keystroke asked again
      if (!response.ok) {
        conceptSeed = null;
        $("concept").hidden = true;
        if (response.status !== 429) showError("idea", body.message);
        return;
      }
      clearError("idea");
      conceptSeed = body.seed;
      $("concept-idea").textContent = body.idea;
      $("concept-keywords").replaceChildren(...body.chosen.map((word) => {
        const item = document.createElement("li");
        item.textContent = word;
        return item;
      }));
      $("concept").hidden = false;
    } catch (error) {
      if (ticket === conceptTicket) $("concept").hidden = true; // the preview is a nicety; Generate still works
    }
  }
  ideaInput.addEventListener("input", () => {
    clearTimeout(conceptTimer);
    conceptTicket += 1; // an answer still on its way is for the old words: ignore it
    conceptSeed = null;
    conceptTimer = setTimeout(previewConcept, 450);
  });
  $("concept-again").addEventListener("click", previewConcept);

  // ---- 3. Generate ----
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    if (!file) return showError("face", "Please add a selfie first.");
    if (!ideaInput.value.trim()) return showError("idea", "Please type a short idea, such as 'corporate confidence'.");
    const extras = Array.from($("extra-faces").files);
    if (extras.length > MAX_EXTRA) return showError("extra_faces", `Choose at most ${MAX_EXTRA} more photos.`);
    const unfit = extras.findIndex((extra) => !TYPES.includes(extra.type) || extra.size > MAX_BYTES);
    if (unfit >= 0) return showError("extra_faces", `Photo ${unfit + 2}: please choose a JPEG, PNG or WebP photo of at most 10 MB.`);
    const data = new FormData();
    data.append("face", file);
    extras.forEach((extra) => data.append("extra_faces", extra));
    data.append("idea", ideaInput.value);
    data.append("wall_consent", $("wall-consent").checked ? "true" : "false");
    if (conceptSeed !== null) data.append("concept_seed", conceptSeed);
    const button = $("generate");
    button.disabled = true;
    try {
      await account.ready; // a click faster than /api/me would post without the CSRF cookie
      const response = await fetch("/api/generations", {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "Idempotency-Key": newKey() },
      });
      const body = await response.json().catch(() => ({ message: "Narcis did not answer properly. Please try again." }));
      if (!response.ok) {
        showError(fieldOf(body), body.message);
        if (body.code === "no_tokens") $("signup-nudge").hidden = section.dataset.authenticated === "true";
        return;
      }
      refreshBalance();
      watch(body.id);
    } catch (error) {
      showError("general", "We could not reach Narcis. Check your connection and try again.");
    } finally {
      button.disabled = false;
    }
  });

  const refreshBalance = () => account.refresh().catch(() => undefined); // the next load shows it anyway

  // ---- 4. progress ----
  function setBar(percent, label) {
    const value = Math.max(0, Math.min(100, Math.round(percent)));
    $("bar-fill").style.width = `${value}%`;
    $("bar").setAttribute("aria-valuenow", String(value));
    $("percent").textContent = `${value}%`;
    if (label) $("stage").textContent = label;
  }
  function show(view) {
    form.hidden = view !== "form";
    $("progress-view").hidden = view !== "progress";
    $("result").hidden = view !== "result";
  }
  function watch(id) {
    job = id;
    finished = false;
    show("progress");
    $("live-preview").hidden = true;
    $("cancel").hidden = false;
    setBar(0, "Waiting in line…");
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws/generations/${id}/`);
    socket.addEventListener("message", (message) => handle(JSON.parse(message.data)));
    socket.addEventListener("close", () => { if (!finished && job === id) setTimeout(() => poll(id), 2000); });
  }
  function handle(event) {
    switch (event.event) {
      case "snapshot":
        if (event.status === "succeeded") return done(event.result_url);
        if (event.status === "failed") return failed(event.message);
        if (event.status === "canceled") return canceled();
        if (event.status === "queued") return setBar(0, waiting(event.queue_position));
        return progress(event);
      case "queued": return setBar(0, waiting(event.position));
      case "started": return setBar(0, "Starting…");
      case "concept": return setBar(0, "Composing the concept…");
      case "progress": return progress(event);
      case "succeeded": return done(event.result_url);
      case "failed": return failed(event.message);
      case "canceled": return canceled();
      default: return undefined;
    }
  }
  const waiting = (ahead) => (ahead ? `Waiting in line: ${ahead} ahead of you…` : "You are next…");
  function progress(event) {
    const stage = STAGES[event.stage];
    if (!stage) return;
    setBar(stage.from + ((stage.to - stage.from) * (event.percent || 0)) / 100, `${stage.label}…`);
    if (event.preview) {
      const preview = $("live-preview");
      preview.src = event.preview;
      preview.hidden = false;
    }
  }
  function finish() {
    finished = true;
    $("live-preview").hidden = true;
    $("cancel").hidden = true;
    if (socket) socket.close();
  }
  function done(url) {
    finish();
    setBar(100, "Your portrait is ready");
    $("result-image").src = url;
    $("download").href = url;
    $("download").setAttribute("download", `narcis-portrait-${job.slice(0, 8)}.png`);
    $("result").hidden = false;
    refreshBalance();
  }
  function failed(message) {
    finish();
    show("form");
    showError("general", message || "Something went wrong while painting. Your token has been returned.");
    refreshBalance();
  }
  function canceled() {
    finish();
    show("form");
    showError("general", "Canceled. Your token has been returned.");
    refreshBalance();
  }
  async function poll(id) { // the socket dropped: follow the job over HTTP instead
    if (finished || job !== id) return;
    try {
      const detail = await (await fetch(`/api/generations/${id}`, { credentials: "same-origin" })).json();
      if (detail.status === "succeeded") return done(detail.result_url);
      if (detail.status === "failed") return failed(detail.error);
      if (detail.status === "canceled") return canceled();
      progress(detail.progress || {});
    } catch (error) { /* try again below */ }
    setTimeout(() => poll(id), 2000);
  }
  $("cancel").addEventListener("click", async () => {
    if (!job) return;
    await fetch(`/api/generations/${job}/cancel`, {
      method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrfToken() },
    }).catch(() => undefined);
  });
  $("another").addEventListener("click", () => { job = null; show("form"); clearErrors(); });
})();
