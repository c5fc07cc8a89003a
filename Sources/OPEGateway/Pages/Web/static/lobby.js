"use strict";
// The lobby: position, time waited and time left, and off to the session as soon as the team is
// formed. When the lobby gives up, the page says so and offers to join again.
(() => {
  const lobby = document.getElementById("lobby");
  if (!lobby) return;
  const waitingPart = document.getElementById("lobby-waiting");
  const gaveUpPart = document.getElementById("lobby-gave-up");
  if (!gaveUpPart.hidden) return; // the page was rendered after the lobby gave up
  const since = new Date(lobby.dataset.since);
  let giveUpAt = new Date(lobby.dataset.giveUpAt);
  const waited = document.getElementById("waited");
  const timeLeft = document.getElementById("time-left");
  const position = document.getElementById("position");
  const status = document.getElementById("lobby-status");
  let done = false;

  function showTimes() {
    waited.textContent = OPE.duration((Date.now() - since.getTime()) / 1000);
    timeLeft.textContent = OPE.duration((giveUpAt.getTime() - Date.now()) / 1000);
  }
  const timer = setInterval(showTimes, 1000);
  showTimes();

  function gaveUp() {
    done = true;
    clearInterval(timer);
    waitingPart.hidden = true;
    gaveUpPart.hidden = false;
    document.title = "No team this time · OPE";
  }

  async function poll() {
    try {
      const state = await OPE.api("GET", "/api/lobby");
      OPE.banner("");
      if (state.status === "matched" && state.session) {
        done = true;
        clearInterval(timer);
        const target = "/sessions/" + encodeURIComponent(state.session);
        if (state.teamSize === 1) {
          // Placed alone: say so, and give them a moment to read it before the session opens.
          status.textContent = (state.message || "You are working on your own for now.") + " Opening your session…";
          setTimeout(() => location.assign(target), 3000);
        } else {
          status.textContent = "Your team is ready. Opening your session…";
          location.assign(target);
        }
        return;
      }
      if (state.status === "waiting") {
        position.textContent = state.position;
        if (state.giveUpAt) giveUpAt = new Date(state.giveUpAt);
      }
      if (state.status === "gave_up") { gaveUp(); return; }
      if (state.status === "idle") {
        done = true;
        clearInterval(timer);
        status.textContent = "You are not in the queue any more.";
        return;
      }
    } catch (error) {
      OPE.banner(error.message, "error");
    }
    if (!done) setTimeout(poll, 1500);
  }
  poll();
})();
