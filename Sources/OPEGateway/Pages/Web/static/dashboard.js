"use strict";
// The instructor dashboard: modules, the lobby queue and live sessions, refreshed every few seconds.
(() => {
  const root = document.getElementById("dashboard");
  if (!root) return;
  const errorBox = document.getElementById("dash-error");
  const sessionRows = new Map();

  function fail(error) {
    errorBox.textContent = error.message;
    errorBox.hidden = false;
  }
  function ago(iso) {
    if (!iso) return "–";
    const seconds = (Date.now() - new Date(iso).getTime()) / 1000;
    if (seconds < 60) return "just now";
    return Math.floor(seconds / 60) + " min ago";
  }
  function button(text, onClick, className) {
    const b = OPE.el("button", className || "", text);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  function renderModules(modules, queue) {
    const body = document.getElementById("modules");
    body.replaceChildren();
    for (const module of modules) {
      const row = OPE.el("tr");
      const waiting = (queue.find((q) => q.module === module.id) || { waiting: [] }).waiting.length;
      row.append(OPE.el("td", "", module.title), OPE.el("td", "", module.mode), OPE.el("td", "", module.open ? "open" : "closed"), OPE.el("td", "", String(waiting)));
      const actions = OPE.el("td");
      actions.append(button(module.open ? "Close" : "Open", () => change(module.id, { open: !module.open })));
      actions.append(" ", button(module.mode === "dynamic" ? "Use fixed groups" : "Use the lobby", () => change(module.id, { mode: module.mode === "dynamic" ? "static" : "dynamic" }), "secondary"));
      row.append(actions);
      body.append(row);
    }
  }
  async function change(module, body) {
    try { await OPE.api("POST", "/api/modules/" + encodeURIComponent(module) + "/matching", body); load(); } catch (error) { fail(error); }
  }

  function renderQueue(queue) {
    const list = document.getElementById("queue");
    list.replaceChildren();
    for (const entry of queue) {
      for (const person of entry.waiting) {
        list.append(OPE.el("li", "", person.username + " · " + entry.module + " · waiting " + OPE.duration((Date.now() - new Date(person.since).getTime()) / 1000)));
      }
    }
    if (!list.children.length) list.append(OPE.el("li", "meta", "Nobody is waiting."));
  }

  /** Who is in a team, in words: "Alice, Bob". */
  function teamName(session) { return session.members.map((m) => m.displayName).join(", ") || session.id; }

  /** Last activity in words, and what it was when it was editing in JupyterLab. */
  function activityText(activity) {
    if (!activity || !activity.lastActivity) return "nothing yet";
    const when = ago(activity.lastActivity);
    const editing = activity.lastEdit && activity.lastEdit === activity.lastActivity;
    return when + (editing ? " (editing" + (activity.lastEditBy ? ", " + activity.lastEditBy : "") + ")" : "");
  }

  /** Who did what so far: the server's chart (fetched again only when a figure changed) and the figures in words. */
  function renderContributions(cell, session) {
    const figures = session.activity && session.activity.contributions;
    if (!figures || !figures.members.length) {
      cell.textContent = "–";
      delete cell.dataset.key;
      return;
    }
    const key = figures.members.map((m) => [m.user, m.edits, m.executions, m.chatMessages, m.testRuns,
      Object.entries(m.roleSeconds).map(([r, s]) => r + Math.floor(s / 60)).join("")].join(",")).join(";");
    if (cell.dataset.key === key) return;
    cell.dataset.key = key;
    const words = figures.members.map((m) => m.user + ": " + m.edits + " edits, " + m.executions + " runs, " + m.chatMessages + " chat, " + m.testRuns + " tests").join("; ");
    const img = OPE.el("img");
    img.alt = words;
    img.src = "/api/sessions/" + encodeURIComponent(session.id) + "/contributions.svg?v=" + encodeURIComponent(key);
    cell.replaceChildren(img, OPE.el("div", "meta", words));
  }

  function renderSessions(sessions) {
    const body = document.getElementById("sessions");
    for (const placeholder of body.querySelectorAll("tr.empty")) placeholder.remove();
    const seen = new Set();
    for (const session of sessions) {
      seen.add(session.id);
      let row = sessionRows.get(session.id);
      if (!row) {
        row = OPE.el("tr");
        row.dataset.session = session.id;
        for (let i = 0; i < 6; i++) row.append(OPE.el("td"));
        row.children[1].className = "task-cell";
        row.children[5].className = "contrib";
        const actions = OPE.el("td", "actions");
        const form = OPE.el("form", "inline hint-form");
        form.dataset.script = "1";
        const hint = OPE.el("input");
        hint.maxLength = 1000;
        hint.required = true;
        hint.setAttribute("aria-label", "Hint for this team");
        hint.placeholder = "Hint for this team";
        const send = OPE.el("button", "", "Send hint");
        const said = OPE.el("span", "hint-status");
        said.setAttribute("role", "status");
        said.setAttribute("aria-live", "polite");
        form.append(hint, send, said);
        form.addEventListener("submit", async (event) => {
          event.preventDefault();
          const name = row.dataset.team || session.id;
          send.disabled = true;
          said.className = "hint-status";
          said.textContent = "Sending…";
          try {
            await OPE.api("POST", "/api/sessions/" + encodeURIComponent(session.id) + "/hint", { text: hint.value });
            hint.value = "";
            said.className = "hint-status ok";
            said.textContent = "Sent to team " + name + " at " + OPE.clock() + ".";
          } catch (error) {
            said.className = "hint-status error";
            said.textContent = "Not sent to team " + name + ": " + error.message;
          } finally {
            send.disabled = false;
          }
        });
        const open = OPE.el("a", "", "Open");
        open.href = "/sessions/" + encodeURIComponent(session.id);
        const replay = OPE.el("a", "", "Replay");
        replay.href = "/research/sessions/" + encodeURIComponent(session.id);
        actions.append(form, open, " ", replay, " ", button("End", async () => {
          if (!confirm("End this team's session? Their workspace stops.")) return;
          try { await OPE.api("POST", "/api/sessions/" + encodeURIComponent(session.id) + "/end"); load(); } catch (error) { fail(error); }
        }, "danger"));
        row.append(actions);
        body.append(row);
        sessionRows.set(session.id, row);
      }
      row.dataset.team = teamName(session);
      const cells = row.children;
      cells[0].replaceChildren(
        OPE.el("div", "", session.members.map((m) => (m.connected ? "● " : "○ ") + m.displayName).join(", ")),
        OPE.el("div", "meta", session.module + " · " + session.phase),
      );
      const task = session.activity && session.activity.currentTask;
      cells[1].textContent = task ? task.title : "–";
      cells[2].textContent = Object.entries(session.roles).map(([u, r]) => u + ": " + r).join(", ");
      cells[3].textContent = activityText(session.activity);
      cells[4].textContent = session.activity ? Object.entries(session.activity.tests).map(([t, ok]) => t + (ok ? " ✔" : " ✘")).join(", ") || "none yet" : "–";
      renderContributions(cells[5], session);
      const stuck = session.activity && session.activity.stuck;
      row.classList.toggle("stuck", !!stuck);
      row.title = stuck ? "Stuck: " + stuck : "";
      if (stuck) cells[0].lastChild.textContent = session.module + " · " + session.phase + " · stuck: " + stuck;
    }
    for (const [id, row] of sessionRows) if (!seen.has(id)) { row.remove(); sessionRows.delete(id); }
    if (!sessions.length && !body.querySelector("tr.empty")) {
      const empty = OPE.el("tr", "empty");
      const cell = OPE.el("td", "meta", "No team is working right now.");
      cell.colSpan = 7;
      empty.append(cell);
      body.append(empty);
    }
  }

  async function load() {
    try {
      const [modules, sessions, queue] = await Promise.all([
        OPE.api("GET", "/api/modules"), OPE.api("GET", "/api/sessions"), OPE.api("GET", "/api/lobby/queue"),
      ]);
      errorBox.hidden = true;
      renderModules(modules, queue);
      renderQueue(queue);
      renderSessions(sessions);
    } catch (error) { fail(error); }
  }

  document.getElementById("hint-all").addEventListener("submit", async (event) => {
    event.preventDefault();
    const field = document.getElementById("hint-all-text");
    const said = document.getElementById("hint-all-status");
    try {
      const result = await OPE.api("POST", "/api/hints", { text: field.value });
      field.value = "";
      said.className = "hint-status ok";
      said.textContent = result.sent === 0 ? "No team is working right now, so nobody got it." :
        "Sent to " + result.sent + (result.sent === 1 ? " team" : " teams") + " at " + OPE.clock() + ".";
    } catch (error) {
      said.className = "hint-status error";
      said.textContent = "Not sent: " + error.message;
    }
  });
  document.getElementById("hint-all").dataset.script = "1";
  document.getElementById("groups-form").dataset.script = "1";
  document.getElementById("groups-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = document.getElementById("groups-file").files[0];
    const module = document.getElementById("groups-module").value;
    if (!file) return;
    try {
      const result = await OPE.api("PUT", "/api/modules/" + encodeURIComponent(module) + "/groups", await file.text(), "text/csv");
      OPE.banner("Uploaded " + Object.keys(result.groups).length + " groups for " + module + "; it now uses fixed groups.", "info");
      load();
    } catch (error) { fail(error); }
  });
  load();
  setInterval(load, 3000);
})();
