"use strict";
// Shared helpers for OPE's pages. Text from people is only ever put into the page with
// textContent, never as HTML.
const OPE = {
  csrf: document.body.dataset.csrf || "",
  user: document.body.dataset.user || "",

  el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  },

  /** Shows a message at the top of the page; `link` is [href, text]. Empty text hides it. */
  banner(text, kind, link) {
    const banner = document.getElementById("banner");
    if (!banner) return;
    banner.replaceChildren();
    banner.hidden = !text;
    banner.className = "banner " + (kind || "info");
    if (!text) return;
    banner.append(OPE.el("span", "", text));
    if (link) {
      const a = OPE.el("a", "", link[1]);
      a.href = link[0];
      banner.append(" ", a);
    }
  },

  /** The sign-in ended (signed out elsewhere, expired, account disabled): said at once, over the page. */
  signedOut() {
    OPE.banner("You were signed out — sign in again.", "error signed-out",
      ["/login?next=" + encodeURIComponent(location.pathname), "Sign in again"]);
  },

  /** Calls the JSON API; errors come back as Error objects whose message is in words. */
  async api(method, path, body, contentType) {
    const headers = { "X-CSRF-Token": OPE.csrf };
    let payload;
    if (body !== undefined) {
      headers["Content-Type"] = contentType || "application/json";
      payload = contentType ? body : JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
    } catch (error) {
      throw new Error("The server cannot be reached. Check your connection; OPE keeps trying.");
    }
    if (response.status === 401) {
      OPE.signedOut();
      throw new Error("You are signed out.");
    }
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!response.ok) {
      const message = data && data.error ? data.error : "The server answered " + response.status + ".";
      const error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return data;
  },

  clock(iso) {
    const date = iso ? new Date(iso) : new Date();
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  },

  duration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    const m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + String(s).padStart(2, "0");
  },
};

// Forms that change something are sent once: a second click while the first is on its way does nothing.
// A form with data-confirm asks first (leaving a team cannot be undone).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.dataset.confirm && !form.dataset.sent && !confirm(form.dataset.confirm)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.method && form.method.toLowerCase() === "post" && !form.dataset.script) {
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
    for (const button of form.querySelectorAll("button")) button.disabled = true;
  }
});
