// OPE's JupyterLab extension, written by hand as a module-federation container (the format
// JupyterLab loads prebuilt extensions in), because building one needs npm, which OPE's set-up
// does not have. It shares no modules with JupyterLab: it uses only the application object its
// plugin is activated with, and the DOM.
//
// What it does:
// - asks OPE's proxy (`<base>/ope/role`) who the member is and who drives; the session page that
//   frames the workspace nudges it when roles change, and it asks again every 30 s anyway;
// - when the module enforces roles and the member is not driving: a bar says so and why, every
//   notebook cell and text editor is read-only, and editing and running commands are refused with
//   the same message. (The proxy enforces it regardless: this only keeps the page honest.)
// - says OPE instead of JupyterLab in the tab's title, and opens the team's task files on the
//   first visit.
(function () {
  "use strict";
  var EDITING = /^(notebook:(run|insert|delete|cut|paste|move|merge|split|change-cell|undo|redo|replace|clear|restart|interrupt|shutdown|enter-edit|duplicate)|docmanager:(save|rename|delete|new-untitled|duplicate)|filebrowser:(delete|rename|paste|cut|create|new|duplicate)|console:(run|create)|runmenu:|kernelmenu:(restart|interrupt|shutdown)|fileeditor:(create|run)|terminal:create)/;

  function baseUrl() {
    try {
      var config = JSON.parse(document.getElementById("jupyter-config-data").textContent);
      return config.baseUrl || "/";
    } catch (e) {
      return "/";
    }
  }

  function activate(app) {
    var state = { readOnly: false, reason: "", role: null };
    var bar = document.createElement("div");
    bar.id = "ope-role-bar";
    bar.setAttribute("role", "status");
    // At the top, left of JupyterLab's own icons: clear of the menus on a narrow frame.
    bar.style.cssText = "position:fixed;top:2px;right:72px;max-width:60%;z-index:10000;padding:2px 10px;" +
      "font:13px var(--jp-ui-font-family,sans-serif);border-radius:6px;pointer-events:none;display:none";
    document.body.appendChild(bar);

    function show() {
      if (state.readOnly) {
        bar.textContent = "Read-only: " + state.reason;
        bar.style.background = "var(--jp-warn-color2,#ffe082)";
        bar.style.color = "var(--jp-ui-font-color0,#000)";
        bar.style.display = "block";
      } else if (state.enforced) {
        bar.textContent = "You are driving";
        bar.style.background = "var(--jp-success-color3,#c8e6c9)";
        bar.style.color = "var(--jp-ui-font-color0,#000)";
        bar.style.display = "block";
      } else {
        bar.style.display = "none";
      }
      apply();
    }

    // Every notebook cell and text editor follows the member's state; new cells and documents are
    // caught on the next pass.
    function mainWidgets() {
      var list = [];
      var widgets = app.shell.widgets("main");
      if (widgets && typeof widgets[Symbol.iterator] === "function") {
        for (var widget of widgets) list.push(widget);
      }
      return list;
    }

    // Read-only is set on each editor, not on the cells: a cell's own read-only flag is saved in
    // the shared notebook (`editable` in its metadata), and so would lock everyone's copy.
    function apply() {
      var list = mainWidgets();
      for (var i = 0; i < list.length; i++) {
        var content = list[i].content;
        if (!content) continue;
        var editors = [];
        if (content.widgets && content.widgets.length !== undefined) {
          for (var j = 0; j < content.widgets.length; j++) {
            if (content.widgets[j] && content.widgets[j].editor) editors.push(content.widgets[j].editor);
          }
        } else if (content.editor) {
          editors.push(content.editor);
        }
        for (var k = 0; k < editors.length; k++) {
          var editor = editors[k];
          if (typeof editor.getOption === "function" && editor.getOption("readOnly") === state.readOnly) continue;
          if (typeof editor.setOption === "function") editor.setOption("readOnly", state.readOnly);
        }
      }
    }

    // While read-only, what JupyterLab writes into a shared document by itself (that it is open,
    // its kernel) is kept from the team like any edit, so this page's copy of the document is a
    // little ahead of the team's, and the team's would not take its later edits. On taking the
    // keyboard, each open document is therefore opened afresh: a new copy, synced from the team's.
    function reopenDocuments() {
      var paths = [];
      mainWidgets().forEach(function (widget) {
        if (widget.context && widget.context.path && paths.indexOf(widget.context.path) < 0) paths.push(widget.context.path);
      });
      mainWidgets().forEach(function (widget) { if (widget.context) widget.dispose(); });
      paths.reduce(function (previous, path) {
        return previous.then(function () { return execute("docmanager:open", { path: path }).catch(function () {}); });
      }, Promise.resolve());
    }

    var execute = app.commands.execute.bind(app.commands);
    app.commands.execute = function (id, args) {
      if (state.readOnly && EDITING.test(id)) {
        bar.animate && bar.animate([{ opacity: 0.3 }, { opacity: 1 }], { duration: 400, iterations: 2 });
        return Promise.resolve(undefined);
      }
      return execute(id, args);
    };

    var first = true;
    function refresh() {
      fetch(baseUrl() + "ope/role", { credentials: "same-origin", cache: "no-store" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (role) {
          if (!role) return;
          var wasReadOnly = state.readOnly;
          state = { readOnly: !!role.readOnly, reason: role.reason || "", role: role.role, enforced: !!role.enforced };
          show();
          if (wasReadOnly && !state.readOnly) reopenDocuments();
          if (first) {
            first = false;
            openTaskFiles(role.openFiles || []);
          }
        })
        .catch(function () {});
    }

    function openTaskFiles(paths) {
      app.restored.then(function () {
        // Only on a fresh layout: a member who arranged their own tabs keeps them.
        if (mainWidgets().length > 1) return;
        // Notebooks last, so the task's notebook is the tab in front.
        var ordered = paths.filter(function (p) { return !/\.ipynb$/.test(p); }).concat(paths.filter(function (p) { return /\.ipynb$/.test(p); }));
        ordered.reduce(function (previous, path) {
          return previous.then(function () { return execute("docmanager:open", { path: path }).catch(function () {}); });
        }, Promise.resolve());
      });
    }

    window.addEventListener("message", function (event) {
      // A nudge from the page that frames the workspace: only a reason to ask the proxy again.
      if (event.source === window.parent && event.data && event.data.type === "ope-roles") refresh();
    });
    window.addEventListener("focus", refresh);
    setInterval(refresh, 30000);
    setInterval(apply, 1000);
    refresh();

    // "OPE" where JupyterLab names itself in the tab's title.
    var title = document.querySelector("title");
    if (title) {
      var rename = function () {
        if (document.title.indexOf("JupyterLab") >= 0) document.title = document.title.replace("JupyterLab", "OPE");
      };
      new MutationObserver(rename).observe(title, { childList: true, characterData: true, subtree: true });
      rename();
    }
  }

  var plugin = {
    id: "ope-workspace:team",
    description: "OPE: roles, names and task files in the team's JupyterLab",
    autoStart: true,
    requires: [],
    activate: activate,
  };

  var scope = (window._JUPYTERLAB = window._JUPYTERLAB || {});
  scope["ope-workspace"] = {
    init: function () { return Promise.resolve(); },
    get: function (module) {
      if (module !== "./extension") return Promise.reject(new Error("ope-workspace has no module " + module));
      return Promise.resolve(function () { return { __esModule: true, default: [plugin] }; });
    },
  };
})();
