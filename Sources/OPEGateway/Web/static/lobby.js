"use strict";
// The lobby: position and time waited, and off to the session as soon as the team is formed.
(() => {
  const lobby = document.getElementById("lobby");
  if (!lobby) return;
  const since = new Date(lobby.dataset.since);
  const waited = document.getElementById("waited");
  const position = document.getElementById("position");
  const status = document.getElementById("lobby-status");
  setInterval(() => { waited.textContent = OPE.duration((Date.now() - since.getTime()) / 1000); }, 1000);

  async function poll() {
    try {
      const state = await OPE.api("GET", "/api/lobby");
      OPE.banner("");
      if (state.status === "matched" && state.session) {
        status.textContent = "Your team is ready. Opening your session…";
        location.assign("/sessions/" + encodeURIComponent(state.session));
        return;
      }
      if (state.status === "waiting") position.textContent = state.position;
      if (state.status === "gave_up" || state.status === "gaveUp") {
        status.textContent = "Nobody else joined in time, so you left the queue. You can join again from the list of exercises.";
        return;
      }
      if (state.status === "idle") {
        status.textContent = "You are not in the queue any more.";
        return;
      }
    } catch (error) {
      OPE.banner(error.message, "error");
    }
    setTimeout(poll, 1500);
  }
  poll();
})();
