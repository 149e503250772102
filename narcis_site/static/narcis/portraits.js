// My portraits: the live progress of queued and running portraits over their websockets (the page
// reloads when one ends, to show its result), and a confirmation before anything is deleted.
(() => {
  "use strict";
  // Each stage's share of the bar, as on the create page.
  const STAGES = {
    base: { label: "Painting", from: 0, to: 80 },
    detailing: { label: "Refining the face", from: 80, to: 99 },
  };
  const ENDINGS = ["succeeded", "failed", "canceled"];

  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  function follow(card) {
    const id = card.dataset.jobId;
    const stage = card.querySelector(".stage");
    const bar = card.querySelector(".bar");
    if (!stage || !bar) return;
    const show = (percent, label) => {
      const value = Math.max(0, Math.min(100, Math.round(percent)));
      bar.firstElementChild.style.width = `${value}%`;
      bar.setAttribute("aria-valuenow", String(value));
      if (label) stage.textContent = label;
    };
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/generations/${id}/`);
    let ended = false;
    socket.addEventListener("message", (message) => {
      const event = JSON.parse(message.data);
      const status = event.event === "snapshot" ? event.status : event.event;
      if (ENDINGS.includes(status)) {
        ended = true;
        show(100, "Done");
        socket.close();
        setTimeout(() => location.reload(), 300);
        return;
      }
      if (status === "queued") show(0, event.queue_position || event.position ? "Waiting in line…" : "Next in line…");
      const step = STAGES[event.stage];
      if (step) show(step.from + ((step.to - step.from) * (event.percent || 0)) / 100, `${step.label}…`);
    });
    // The socket dropped (a deploy, a network change): look again in a while.
    socket.addEventListener("close", () => { if (!ended) setTimeout(() => location.reload(), 5000); });
  }
  document.querySelectorAll(".portrait-card[data-live]").forEach(follow);
})();
