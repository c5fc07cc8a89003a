"use strict";
// The session page: team room (chat, bot, presence, typing, roles), tasks, tests and the workspace.
(() => {
  const root = document.getElementById("session");
  if (!root) return;
  const id = root.dataset.session;
  const me = OPE.user;
  const messages = document.getElementById("messages");
  const input = document.getElementById("chat-input");
  const notice = document.getElementById("workspace-notice");
  const frame = document.getElementById("workspace");
  const testResult = document.getElementById("test-result");
  const names = {};
  for (const li of document.querySelectorAll("#members li")) names[li.dataset.user] = li.querySelector(".name").textContent;
  let lastId = 0, socket = null, retry = 0, detail = null, currentTask = null, over = false, lastTyping = 0;
  // How long the server asked us to wait before reconnecting (its room's core is away), if it did.
  let serverRetryMs = 0;
  const pending = new Map();
  let historyDone = false; // after "synced": messages are news, not history
  const typing = new Map();

  // Tasks
  function showTask(task) {
    const articles = document.querySelectorAll("article.instructions");
    if (![...articles].some((a) => a.dataset.task === task)) return;
    currentTask = task;
    for (const article of articles) article.hidden = article.dataset.task !== task;
    for (const tab of document.querySelectorAll("button.tab")) tab.setAttribute("aria-pressed", String(tab.dataset.task === task));
  }
  for (const tab of document.querySelectorAll("button.tab")) tab.addEventListener("click", () => showTask(tab.dataset.task));
  const firstTab = document.querySelector("button.tab");
  if (firstTab) showTask(firstTab.dataset.task);

  // The side panel (team, task, chat) can be hidden so the workspace gets the whole width; the
  // choice is remembered, and chat that arrives while it is hidden is counted on the button.
  const toggle = OPE.el("button", "side-toggle");
  toggle.type = "button";
  toggle.id = "toggle-side";
  toggle.setAttribute("aria-controls", "side");
  let unread = 0;
  function setSide(hidden) {
    root.classList.toggle("side-hidden", hidden);
    if (!hidden) unread = 0;
    toggle.textContent = hidden ? "Show team & chat" + (unread ? " (" + unread + " new)" : "") : "Hide team & chat";
    toggle.setAttribute("aria-expanded", String(!hidden));
    try { localStorage.setItem("ope.sideHidden", hidden ? "1" : ""); } catch (error) { /* private mode */ }
  }
  toggle.addEventListener("click", () => setSide(!root.classList.contains("side-hidden")));
  const headerNav = document.querySelector("header.top nav");
  if (headerNav) headerNav.append(toggle);
  let storedSide = "";
  try { storedSide = localStorage.getItem("ope.sideHidden") || ""; } catch (error) { /* private mode */ }
  setSide(storedSide === "1");
  const loadedAt = Date.now();
  /** Counts a message that arrived while the panel is hidden (not the history shown at load). */
  const countUnread = (time) => {
    if (!root.classList.contains("side-hidden") || !(Date.parse(time) > loadedAt - 5000)) return;
    unread += 1;
    setSide(true);
  };

  // Tests
  const taskTitle = (task) => {
    const tab = document.querySelector(`button.tab[data-task="${CSS.escape(task || "")}"]`);
    return tab ? tab.textContent : task;
  };
  /** Shows a test run: a line per test, failures first with their first line in view, and the
   *  whole output one click away (opened at its start, where the first failure is). */
  function showTests(run) {
    const cases = Array.isArray(run.cases) ? run.cases : [];
    const problems = cases.filter((c) => c.outcome === "failed" || c.outcome === "error");
    const others = cases.filter((c) => c.outcome !== "failed" && c.outcome !== "error");
    const passed = others.filter((c) => c.outcome === "passed" || c.outcome === "xpassed");
    testResult.replaceChildren();
    testResult.className = "test-result " + (run.passed ? "passed" : "failed");
    let summary;
    if (cases.length && problems.length) summary = "✘ " + problems.length + " of " + cases.length + " tests failed";
    else if (cases.length && run.passed) summary = "✔ All " + passed.length + " tests passed";
    else summary = run.passed ? "✔ Tests passed" : "✘ Tests failed";
    testResult.append(OPE.el("p", "summary", summary + " · " + taskTitle(run.task)));
    const note = (run.output || "").split("\n").find((line) => line.startsWith("[OPE]"));
    if (note) testResult.append(OPE.el("p", "note", note.replace("[OPE] ", "")));
    if (cases.length) {
      const list = OPE.el("ul", "cases");
      for (const c of problems) {
        const li = OPE.el("li", "case " + c.outcome);
        li.append(OPE.el("span", "mark", "✘ "), OPE.el("span", "name", c.name));
        if (c.message) li.append(OPE.el("div", "why", c.message));
        list.append(li);
      }
      for (const c of others) {
        const li = OPE.el("li", "case " + c.outcome);
        const mark = c.outcome === "passed" || c.outcome === "xpassed" ? "✔ " : "– ";
        li.append(OPE.el("span", "mark", mark), OPE.el("span", "name", c.name + (c.outcome === "passed" ? "" : " (" + c.outcome + ")")));
        if (c.message && c.outcome === "skipped") li.append(OPE.el("div", "why", c.message));
        list.append(li);
      }
      testResult.append(list);
    }
    if (run.output) {
      const details = OPE.el("details", "output");
      details.append(OPE.el("summary", "", "Full output"), OPE.el("pre", "", run.output));
      // Without a per-test list the output is all there is to read: open it.
      details.open = !cases.length;
      testResult.append(details);
    }
    testResult.scrollTop = 0;
  }

  // Messages
  /** A message in the chat; `html` only ever comes from the server's Markdown renderer (its
   *  allow-list escapes anything else), for the bot's messages. */
  function add(kind, from, text, time, eventId, html) {
    if (eventId && messages.querySelector(`li[data-id="${eventId}"]`)) return null;
    const li = OPE.el("li", "message " + kind);
    if (eventId) li.dataset.id = eventId;
    const head = OPE.el("div", "head");
    if (from) head.append(OPE.el("span", "from", from));
    head.append(OPE.el("time", "meta", OPE.clock(time)));
    const body = OPE.el("div", "text" + (html ? " rendered" : ""), html ? "" : text);
    if (html) body.innerHTML = html;
    li.append(head, body);
    const atBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 40;
    messages.append(li);
    if (atBottom) messages.scrollTop = messages.scrollHeight;
    return li;
  }
  const system = (text, time, eventId) => add("system", "", text, time, eventId);

  // Team
  function setRoles(roles) {
    for (const [user, role] of Object.entries(roles || {})) {
      const li = document.querySelector(`#members li[data-user="${CSS.escape(user)}"]`);
      if (li) li.querySelector(".role").textContent = role;
      if (user === me) document.getElementById("my-role").textContent = role;
    }
    // The workspace's extension shows who may type: a nudge makes it ask the proxy again at once
    // (the message carries nothing it would trust).
    if (frame && frame.contentWindow && frame.src) {
      try { frame.contentWindow.postMessage({ type: "ope-roles" }, new URL(frame.src).origin); } catch (e) { /* not loaded yet */ }
    }
  }
  /** The team is now `members`: anyone else left it; a team that grew is no longer one person. */
  function teamChanged(members) {
    for (const li of document.querySelectorAll("#members li")) if (!members.includes(li.dataset.user)) li.remove();
    const alone = document.getElementById("alone-notice");
    if (alone && members.length > 1) alone.hidden = true;
  }
  function setPresence(user, online) {
    const li = document.querySelector(`#members li[data-user="${CSS.escape(user)}"]`);
    if (li) li.classList.toggle("online", online);
  }
  function renderTyping() {
    const who = [...typing.keys()].filter((u) => u !== me).map((u) => names[u] || u);
    document.getElementById("typing").textContent = who.length ? who.join(", ") + (who.length === 1 ? " is typing…" : " are typing…") : "";
  }
  function setPhase(phase) {
    document.getElementById("phase").textContent = phase;
    if ((phase === "completed" || phase === "abandoned") && !over) {
      over = true;
      OPE.banner("This session has ended. Thank you for working together!", "info", ["/", "Back to the exercises"]);
      input.disabled = true;
      // The record stays readable; nothing more can be run or said.
      const run = document.getElementById("run-tests");
      run.disabled = true;
      run.title = "The session has ended";
      testResult.textContent = testResult.textContent || "The session has ended: tests can no longer be run.";
    }
  }

  // Workspace
  /** Points the frame at the workspace under `base`, unless it already shows a page of it: a
   *  notebook someone opened stays open; only a workspace that moved (a restart) reloads. */
  function pointFrame(base) {
    const root = new URL(base, location.href).href;
    if (!frame.src.startsWith(root)) frame.src = root + "lab";
  }
  function showWorkspace(ws) {
    if (ws && ws.state === "ready" && ws.url) {
      pointFrame(ws.url);
      frame.hidden = false;
      notice.hidden = true;
      return;
    }
    frame.hidden = !frame.src;
    notice.hidden = false;
    if (!ws) notice.textContent = "This server runs without workspaces.";
    else if (ws.state === "failed") notice.textContent = "The workspace could not start: " + (ws.reason || "unknown reason") + ". Ask your instructor for help.";
    else if (ws.state === "stopped") notice.textContent = "The workspace is stopped (" + (ws.reason || "idle") + "). It starts again when you use it.";
    else notice.textContent = "Your team's workspace is starting…";
  }
  async function refresh() {
    try {
      detail = await OPE.api("GET", "/api/sessions/" + encodeURIComponent(id));
      const list = document.getElementById("members");
      for (const member of detail.members) {
        names[member.username] = member.displayName;
        if (list.querySelector(`li[data-user="${CSS.escape(member.username)}"]`)) continue;
        // A late joiner: add them to the team list.
        const li = OPE.el("li");
        li.dataset.user = member.username;
        li.append(OPE.el("span", "dot"), " ", OPE.el("span", "name", member.displayName), " ", OPE.el("span", "role", member.role));
        li.firstChild.setAttribute("aria-hidden", "true");
        list.append(li);
      }
      teamChanged(detail.members.map((m) => m.username));
      setRoles(detail.roles);
      setPhase(detail.phase);
      renderRotation();
      for (const member of detail.members) setPresence(member.username, member.connected);
      showWorkspace(detail.workspace);
      if (!detail.workspace || detail.workspace.state !== "ready") setTimeout(refresh, 2000);
    } catch (error) {
      if (error.status === 403 || error.status === 404) OPE.banner(error.message, "error", ["/", "Back to the exercises"]);
    }
  }
  function renderRotation() {
    const rotation = document.getElementById("rotation");
    if (!detail || !detail.nextRotation || over) { rotation.textContent = ""; return; }
    const seconds = (new Date(detail.nextRotation).getTime() - Date.now()) / 1000;
    rotation.textContent = seconds > 0 ? "· roles rotate in " + OPE.duration(seconds) : "· roles rotate now";
    if (seconds < -3) refresh();
  }
  setInterval(renderRotation, 1000);

  // Room
  function handle(m) {
    if (m.id) lastId = Math.max(lastId, m.id);
    switch (m.type) {
      case "welcome":
        setRoles(m.roles);
        setPhase(m.phase);
        break;
      case "synced":
        historyDone = true;
        OPE.banner("");
        break;
      case "chat": {
        const mine = m.from === me;
        const waiting = m.clientId && pending.get(m.clientId);
        if (waiting) { waiting.remove(); pending.delete(m.clientId); }
        if (add("chat" + (mine ? " mine" : ""), names[m.from] || m.from, m.text, m.time, m.id) && !mine) countUnread(m.time);
        typing.delete(m.from);
        renderTyping();
        break;
      }
      case "ack": {
        const li = pending.get(m.clientId);
        if (li) li.classList.remove("sending");
        break;
      }
      case "bot":
        if (add("bot", m.from || "Bot", m.text, m.time, m.id, m.html)) countUnread(m.time);
        break;
      case "hint":
        if (add("hint", "Instructor " + (m.from || ""), m.text, m.time, m.id)) countUnread(m.time);
        break;
      case "command":
        if (m.text && m.text.startsWith("task ")) showTask(m.text.slice(5).trim());
        break;
      case "roles":
        setRoles(m.roles);
        system("New roles: " + Object.entries(m.roles || {}).map(([u, r]) => (names[u] || u) + " " + r).join(", "), m.time, m.id);
        refresh();
        break;
      case "presence":
        setPresence(m.user, m.state === "join");
        break;
      case "typing":
        if (m.active) typing.set(m.user, Date.now()); else typing.delete(m.user);
        renderTyping();
        break;
      case "member":
        names[m.user] = names[m.user] || m.user;
        refresh();
        break;
      case "left":
        if (m.user === me && historyDone) {
          // Left in another window of theirs: this one is no longer part of the team.
          over = true;
          input.disabled = true;
          document.getElementById("run-tests").disabled = true;
          OPE.banner("You left this team.", "info", ["/", "Back to the exercises"]);
          break;
        }
        system((names[m.user] || m.user) + " left the session" + (m.members && m.members.length === 1 && m.members[0] === me ? "; you are working on your own now." : "."), m.time, m.id);
        if (m.members) teamChanged(m.members);
        break;
      case "phase":
        setPhase(m.phase);
        break;
      case "test":
        showTests({ task: m.task, passed: m.passed, output: m.text, cases: m.cases });
        system("Tests for " + taskTitle(m.task) + (m.passed ? " passed." : " failed."), m.time, m.id);
        break;
      case "workspace": {
        const words = {
          started: "The workspace is ready.",
          crashed: "The workspace crashed and is restarting; your files are kept.",
          stopped: "The workspace stopped" + (m.reason ? " (" + m.reason + ")" : "") + ".",
          failed: "The workspace could not start" + (m.reason ? ": " + m.reason.split("\n").slice(-1)[0] : "") + ".",
          limit: "Workspace limit: " + (m.reason || "a limit was reached") + ".",
        };
        system(words[m.state] || "Workspace: " + m.state, m.time, m.id);
        if (m.state === "started" && m.message) pointFrame(m.message);
        if (m.state !== "limit") refresh();
        break;
      }
      case "event": {
        const type = m.event && m.event.type;
        const payload = (m.event && m.event.payload) || {};
        if (type === "external_bot.unavailable") system((payload.bot || "The assistant") + " is not answering right now; it will get your messages when it is back.", m.time, m.id);
        if (type === "external_bot.recovered") system((payload.bot || "The assistant") + " is back.", m.time, m.id);
        break;
      }
      case "signed_out":
        signedOutHere();
        break;
      case "error":
        if (m.code === "unavailable") { serverRetryMs = m.retryAfterMs || 0; OPE.banner(m.message || "The room is not reachable now.", "warning"); break; }
        if (m.code === "rate_limited") OPE.banner("You are sending messages too fast. Wait a moment.", "warning");
        else OPE.banner(m.message || "Something went wrong.", "error");
        break;
    }
  }

  /** The sign-in ended (signed out elsewhere, a disabled account): say so over the page, stop
   *  the room, and keep the chat box (and what is typed in it) where it is, unusable. */
  function signedOutHere() {
    over = true;
    OPE.signedOut();
    input.disabled = true;
    for (const button of document.querySelectorAll("#chat-form button, #run-tests")) button.disabled = true;
    // JupyterLab's own connections were closed too: dim it, so its error dialogs are not mistaken for the cause.
    if (frame) frame.classList.add("signed-out");
  }

  function connect() {
    const protocol = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(protocol + "//" + location.host + "/api/sessions/" + encodeURIComponent(id) + "/ws" + (lastId ? "?after=" + lastId : ""));
    socket.addEventListener("open", () => { retry = 0; });
    socket.addEventListener("message", (event) => {
      try { handle(JSON.parse(event.data)); } catch (error) { console.error(error); }
    });
    socket.addEventListener("close", async (event) => {
      if (event.code === 4401) signedOutHere(); // the server closed the room: the sign-in ended
      for (const [clientId, li] of pending) {
        li.classList.remove("sending");
        li.classList.add("failed");
        li.querySelector(".text").textContent += " (not sent — send it again)";
        pending.delete(clientId);
      }
      if (over) return;
      OPE.banner("Connection lost. Reconnecting…", "warning");
      retry += 1;
      if (retry % 3 === 0) {
        // Still failing: is it the sign-in, or a server that is away?
        try { await OPE.api("GET", "/api/me"); } catch (error) { if (error.message === "You are signed out.") return; }
      }
      // Full jitter: after a gateway restart every page reconnects at once, and spread over a
      // growing window (up to 1 s, 2 s, 4 s … 10 s) they do not all land in the same moment.
      const window = Math.max(serverRetryMs, Math.min(10000, 500 * 2 ** Math.min(retry, 5)));
      serverRetryMs = 0;
      setTimeout(connect, 100 + Math.random() * window);
    });
  }

  document.getElementById("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      OPE.banner("Not connected right now, so the message was not sent. It stays in the box; send it again in a moment.", "warning");
      return;
    }
    const clientId = (self.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Math.random()).slice(2);
    socket.send(JSON.stringify({ type: "chat", text, clientId }));
    const li = add("chat mine sending", names[me] || me, text);
    pending.set(clientId, li);
    input.value = "";
  });
  input.addEventListener("input", () => {
    if (socket && socket.readyState === WebSocket.OPEN && Date.now() - lastTyping > 2000) {
      lastTyping = Date.now();
      socket.send(JSON.stringify({ type: "typing", active: true }));
    }
  });
  setInterval(() => {
    for (const [user, at] of typing) if (Date.now() - at > 5000) typing.delete(user);
    renderTyping();
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "heartbeat" }));
  }, 5000);

  document.getElementById("run-tests").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    if (!currentTask) return;
    button.disabled = true;
    testResult.className = "test-result";
    testResult.textContent = "Running the tests for " + taskTitle(currentTask) + "…";
    try {
      showTests(await OPE.api("POST", "/api/sessions/" + encodeURIComponent(id) + "/tests", { task: currentTask }));
    } catch (error) {
      testResult.textContent = error.message;
    } finally {
      button.disabled = over;
    }
  });

  refresh();
  connect();
})();
