"use strict";
// The session replay: the record on one timeline, a scrub bar, play at 1× or 10×, jumps to the
// next event of a kind, and each notebook as of the moment shown (its latest snapshot at or before
// that moment, and the attributed edits made since). Text from people goes in with textContent.
(() => {
  const root = document.getElementById("replay");
  if (!root) return;
  const session = root.dataset.session;
  const list = document.getElementById("timeline");
  const scrub = document.getElementById("scrub");
  const clock = document.getElementById("clock");
  const playButton = document.getElementById("play");
  const notebooks = document.getElementById("notebooks");
  const errorBox = document.getElementById("replay-error");
  const jumpStatus = document.getElementById("jump-status");
  let entries = [];
  let items = [];
  let duration = 0;
  let now = 0;
  let current = -1;
  let shownKey = null;
  let playing = null;
  const CHUNK = 100;
  let chunks = [];
  let marked = -1;

  /** Milliseconds as m:ss (h:mm:ss past an hour). */
  function clockText(ms) {
    const s = Math.floor(ms / 1000);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const rest = String(s % 60).padStart(2, "0");
    return h ? h + ":" + String(m).padStart(2, "0") + ":" + rest : m + ":" + rest;
  }

  function item(entry) {
    const li = OPE.el("li", "kind-" + entry.kind);
    li.dataset.id = entry.id;
    li.dataset.kind = entry.kind;
    li.dataset.offset = entry.offset;
    const p = entry.payload || {};
    if (entry.kind === "execution" && p.outcome) li.classList.add("outcome-" + p.outcome);
    const at = OPE.el("a", "at", clockText(entry.offset));
    at.href = "#t=" + entry.offset;
    at.title = entry.time;
    at.addEventListener("click", (event) => { event.preventDefault(); stop(); show(entry.offset); });
    li.append(at, OPE.el("span", "kind", entry.kind), OPE.el("span", "text", entry.text));
    if (entry.role && entry.kind !== "role") li.append(" ", OPE.el("span", "meta", "(" + entry.role + ")"));
    if (entry.kind === "execution") {
      if (p.code) li.append(OPE.el("pre", "code", p.code));
      const output = [p.output, p.errorName && !(p.output || "").includes(p.errorName) ? p.errorName + ": " + (p.errorValue || "") : null].filter(Boolean).join("\n");
      if (output) li.append(OPE.el("pre", "output", output));
    } else if (entry.kind === "test" && p.output) {
      const details = OPE.el("details");
      details.append(OPE.el("summary", "", "output"), OPE.el("pre", "output", p.output));
      li.append(details);
    }
    return li;
  }

  /** The index of the last entry at or before `t` (ms), or -1. */
  function lastAtOrBefore(t) {
    let lo = 0;
    let hi = entries.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (entries[mid].offset <= t) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found;
  }

  function show(t) {
    now = Math.max(0, Math.min(duration, t));
    scrub.value = String(now);
    clock.textContent = clockText(now) + " / " + clockText(duration);
    const index = lastAtOrBefore(now);
    if (index !== current) {
      markFuture(index);
      if (current >= 0) items[current].classList.remove("current");
      if (index >= 0) {
        const li = items[index];
        li.classList.add("current");
        list.scrollTop = Math.max(0, li.offsetTop - list.clientHeight / 2);
      }
      current = index;
      root.dataset.current = index >= 0 ? entries[index].id : "";
    }
    renderNotebooks(index);
  }

  /**
   * Dims what is still to come after entry `index`. The entries sit in lists of CHUNK: whole lists
   * are dimmed at once and only the entries of the list holding the moment one by one, so a jump
   * across thousands of entries restyles a few dozen elements, not thousands.
   */
  function markFuture(index) {
    const chunk = index < 0 ? -1 : Math.floor(index / CHUNK);
    chunks.forEach((ol, k) => ol.classList.toggle("future", k > chunk));
    if (marked >= 0 && marked !== chunk) for (const li of chunks[marked].children) li.classList.remove("future");
    if (chunk >= 0) for (let i = chunk * CHUNK; i < Math.min(items.length, (chunk + 1) * CHUNK); i++) items[i].classList.toggle("future", i > index);
    marked = chunk;
  }

  /** Each notebook as of entry `index`: its latest snapshot, and the edits to it after that. */
  function notebooksAt(index) {
    const documents = new Map();
    for (let i = 0; i <= index; i++) {
      const entry = entries[i];
      const p = entry.payload || {};
      if (entry.kind === "snapshot" && p.document) {
        documents.set(p.document, { snapshot: entry, edits: [] });
      } else if (entry.kind === "edit" && p.document) {
        if (!documents.has(p.document)) documents.set(p.document, { snapshot: null, edits: [] });
        documents.get(p.document).edits.push(entry);
      }
    }
    return documents;
  }

  function renderNotebooks(index) {
    const documents = notebooksAt(index);
    const key = [...documents].map(([name, d]) => name + "@" + (d.snapshot ? d.snapshot.id : "-") + "+" + d.edits.length).join("|");
    if (key === shownKey) return;
    shownKey = key;
    notebooks.replaceChildren();
    if (!documents.size) {
      notebooks.append(OPE.el("p", "meta", "No snapshot yet at this moment."));
      return;
    }
    for (const [name, state] of documents) {
      const box = OPE.el("article", "notebook");
      box.dataset.document = name;
      box.append(OPE.el("h3", "", name));
      if (state.snapshot) {
        box.dataset.snapshot = state.snapshot.id;
        box.append(OPE.el("p", "meta", "As of the snapshot at " + clockText(state.snapshot.offset)));
        for (const cell of state.snapshot.payload.cells || []) {
          const div = OPE.el("div", "cell cell-" + cell.type);
          if (cell.type === "code") div.append(OPE.el("span", "count", "[" + (cell.executionCount == null ? " " : cell.executionCount) + "]"));
          div.append(OPE.el("pre", "source", cell.source));
          if (cell.output) div.append(OPE.el("pre", "output", cell.output));
          box.append(div);
        }
      } else {
        box.append(OPE.el("p", "meta", "No snapshot of this notebook yet."));
      }
      if (state.edits.length) {
        box.append(OPE.el("p", "meta", state.snapshot ? "Edits since the snapshot:" : "Edits so far:"));
        const ul = OPE.el("ul", "edits");
        for (const edit of state.edits) {
          const p = edit.payload;
          ul.append(OPE.el("li", "", clockText(edit.offset) + " " + (edit.actor || "someone") + (p.role ? " (" + p.role + ")" : "") + ": " +
            p.updates + (p.updates === 1 ? " update" : " updates") + (p.bytes != null ? ", " + p.bytes + " bytes" : "")));
        }
        box.append(ul);
      }
      notebooks.append(box);
    }
  }

  function speed() {
    const checked = root.querySelector("input[name=speed]:checked");
    return checked ? Number(checked.value) : 1;
  }
  function stop() {
    if (playing) clearInterval(playing);
    playing = null;
    playButton.textContent = "Play";
  }
  playButton.addEventListener("click", () => {
    if (playing) { stop(); return; }
    if (now >= duration) show(0);
    let last = performance.now();
    playButton.textContent = "Pause";
    playing = setInterval(() => {
      const t = performance.now();
      show(now + (t - last) * speed());
      last = t;
      if (now >= duration) stop();
    }, 100);
  });
  scrub.addEventListener("input", () => { stop(); show(Number(scrub.value)); });
  for (const button of document.querySelectorAll("#jumps button[data-kind]")) {
    button.addEventListener("click", () => {
      const kind = button.dataset.kind;
      let next = -1;
      for (let i = current + 1; i < entries.length; i++) {
        if (entries[i].kind === kind) { next = i; break; }
      }
      if (next < 0) { jumpStatus.textContent = "No " + button.textContent + " after this moment."; return; }
      jumpStatus.textContent = "";
      stop();
      show(entries[next].offset);
    });
  }

  async function load() {
    try {
      const replay = await OPE.api("GET", "/api/sessions/" + encodeURIComponent(session) + "/replay");
      entries = replay.entries;
      duration = replay.duration;
      scrub.max = String(duration);
      items = entries.map(item);
      const fragment = document.createDocumentFragment();
      chunks = [];
      items.forEach((li, i) => {
        if (i % CHUNK === 0) {
          chunks.push(OPE.el("ol", "chunk future"));
          chunks[chunks.length - 1].start = i + 1;
          fragment.appendChild(chunks[chunks.length - 1]);
        }
        chunks[chunks.length - 1].appendChild(li);
      });
      list.replaceChildren(fragment);
      if (!entries.length) list.append(OPE.el("p", "meta", "Nothing recorded."));
      root.dataset.loaded = String(entries.length);
      const hash = /^#t=(\d+)$/.exec(location.hash);
      show(hash ? Number(hash[1]) : 0);
    } catch (error) {
      errorBox.textContent = error.message;
      errorBox.hidden = false;
    }
  }
  load();
})();
