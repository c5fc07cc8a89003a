#!/usr/bin/env python3
"""Enforced roles in real Chromium: alice drives and bob navigates in one shared JupyterLab.

Against a running `ope serve` whose modules include `roles-check` (a module with
`roles: {names: [driver, navigator], enforce: driver-edits}`), with two browsers and the
instructor's:
- the team's task notebook opens by itself, and each sees the other under their OPE name;
- bob is told he is read-only and why; his typing changes nothing for alice (nor for him); alice's
  edit reaches bob live;
- after a rotation bob edits and alice is read-only, without a reload;
- the research replay page shows what they did, in order (when the page exists).

Prints one JSON line at the end: {"ok": true|false, "step": ..., "error": ...}.

    .venv/bin/python scripts/e2e_roles.py --base-url http://127.0.0.1:PORT --credentials DATA/initial-credentials.txt --artifacts DIR
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import accounts, chromium, clear_jupyter_dialogs, click_in_jupyter, sign_in as lib_sign_in, wait  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--base-url", required=True)
parser.add_argument("--credentials", required=True)
parser.add_argument("--artifacts", required=True)
parser.add_argument("--module", default="roles-check")
parser.add_argument("--chromium", default="/usr/bin/chromium")
parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
args = parser.parse_args()
os.makedirs(args.artifacts, exist_ok=True)
base = args.base_url.rstrip("/")

passwords = {user: password for user, (_, password) in accounts(args.credentials).items()}

drivers = {}
step_name = "start"
shots = 0


def step(name):
    global step_name
    step_name = name
    print("step:", name, flush=True)


def browser(name):
    driver = chromium(args.chromium, args.chromedriver)
    drivers[name] = driver
    return driver


def shot(driver, name):
    global shots
    shots += 1
    driver.save_screenshot(os.path.join(args.artifacts, f"roles-{shots:02d}-{name}.png"))


def sign_in(driver, user):
    lib_sign_in(driver, base, user, passwords[user])


def in_frame(driver):
    driver.switch_to.default_content()
    driver.switch_to.frame(driver.find_element(By.ID, "workspace"))


def cells(driver):
    """The code cells' text in the notebook that is open in the frame."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .cm-content'))"
        ".map(e => e.textContent);")


def type_into_first_cell(driver, text):
    editor = click_in_jupyter(driver, lambda d: (d.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .cm-content") or [None])[0],
                              "a code cell that takes a click")
    editor.send_keys(Keys.CONTROL, Keys.HOME)
    editor.send_keys(text + "\n")


def bar(driver):
    found = driver.find_elements(By.ID, "ope-role-bar")
    return found[0].get_attribute("textContent") if found and found[0].is_displayed() else ""


def main():
    alice, bob, teacher = browser("alice"), browser("bob"), browser("teacher")
    for name, driver in (("alice", alice), ("bob", bob), ("teacher", teacher)):
        sign_in(driver, name)

    step("alice and bob are paired in a module with enforced roles")
    for driver in (alice, bob):
        driver.get(base + "/")
        wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, f"button[data-join='{args.module}']"), "the module's join button")
        driver.find_element(By.CSS_SELECTOR, f"button[data-join='{args.module}']").click()
        if driver is alice:
            wait(alice, lambda d: "/lobby" in d.current_url or "/sessions/" in d.current_url, "alice in the lobby")
    for driver in (alice, bob):
        wait(driver, lambda d: "/sessions/" in d.current_url, "the session page", 60)
    session = alice.current_url.rstrip("/").split("/")[-1]
    roles = {name: wait(d, lambda d: d.find_element(By.ID, "my-role").text.strip().lower() or None, "a role badge") for name, d in (("alice", alice), ("bob", bob))}
    assert roles == {"alice": "driver", "bob": "navigator"}, roles

    step("the team's task notebook opens by itself in both workspaces")
    for driver in (alice, bob):
        wait(driver, lambda d: d.execute_script(
            "const f = document.getElementById('workspace');"
            "return fetch('/api/sessions/' + arguments[0]).then(r => r.json()).then(s => !f.hidden && !!s.workspace && s.workspace.state === 'ready');",
            session), "the workspace frame", 180)
        in_frame(driver)
        wait(driver, lambda d: any("text_stats.ipynb" in (t.get_attribute("textContent") or "")
                                   for t in d.find_elements(By.CSS_SELECTOR, ".lm-DockPanel-tabBar .lm-TabBar-tab")),
             "text_stats.ipynb open in a tab", 120)
        clear_jupyter_dialogs(driver, "the task notebook")
        wait(driver, lambda d: cells(d), "the notebook's cells", 60)
        assert " - OPE" in driver.title or driver.title.endswith("OPE"), f"the tab's title is {driver.title!r}"
        driver.switch_to.default_content()

    step("bob is told he is read-only, and why")
    in_frame(bob)
    wait(bob, lambda d: bar(d).startswith("Read-only: Alice") and "is driving — roles rotate in" in bar(d), "bob's read-only bar", 30)
    shot(bob, "bob-read-only")
    in_frame(alice)
    wait(alice, lambda d: "You are driving" in bar(d), "alice's driving bar", 30)

    step("alice's edit reaches bob live")
    in_frame(bob)
    # The first code cell (always drawn; later ones may wait for a scroll) alike on both pages: the
    # shared document has finished its first sync on both.
    loaded = wait(bob, lambda d: cells(d)[:1], "bob's copy of the notebook", 60)
    in_frame(alice)
    wait(alice, lambda d: cells(d)[:1] == loaded, "alice's first cell equal to bob's", 60)
    type_into_first_cell(alice, "# alice drives")
    in_frame(bob)
    wait(bob, lambda d: any("# alice drives" in c for c in cells(d)), "alice's edit in bob's notebook", 60)

    step("bob's typing changes nothing, for alice or for him")
    type_into_first_cell(bob, "# bob was here")
    time.sleep(3)  # long enough for an edit to travel, had it been sent
    assert not any("bob was here" in c for c in cells(bob)), "bob's read-only cell took his typing"
    in_frame(alice)
    assert not any("bob was here" in c for c in cells(alice)), "bob's typing reached alice"
    shot(alice, "alice-unchanged")

    step("each sees the other under their OPE name")
    in_frame(alice)
    names = wait(alice, lambda d: d.execute_script(
        "return fetch(document.querySelector('body').dataset.baseUrl || JSON.parse(document.getElementById('jupyter-config-data').textContent).baseUrl + 'api/me')"
        ".then(r => r.json()).then(m => m.identity.display_name);"), "alice's identity in JupyterLab", 30)
    assert names.startswith("Alice"), names
    wait(alice, lambda d: d.execute_script(
        "return Array.from(document.querySelectorAll('.jp-CollaboratorsList .jp-Collaborator, .jp-collaborator-name, [class*=Collaborator]'))"
        ".some(e => (e.textContent || '').includes('Bob'));"), "Bob among alice's collaborators", 60)

    step("a rotation moves the keyboard at once")
    teacher.get(base + "/instructor")
    result = teacher.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "OPE.api('POST', '/api/sessions/' + arguments[0] + '/rotate').then(r => done('ok')).catch(e => done(String(e)));", session)
    assert result == "ok", result
    in_frame(bob)
    wait(bob, lambda d: "You are driving" in bar(d), "bob driving", 30)
    in_frame(alice)
    wait(alice, lambda d: bar(d).startswith("Read-only: Bob"), "alice read-only", 30)
    in_frame(bob)
    type_into_first_cell(bob, "# bob drives now")
    in_frame(alice)
    wait(alice, lambda d: any("# bob drives now" in c for c in cells(d)), "bob's edit in alice's notebook", 60)
    shot(alice, "alice-sees-bobs-edit")

    step("the research replay shows the session")
    teacher.get(base + "/instructor")
    status = teacher.execute_async_script(
        "const done = arguments[arguments.length - 1]; fetch('/research/sessions/' + arguments[0]).then(r => done(r.status));", session)
    if status == 404:
        print("no replay page on this server", flush=True)
    else:
        teacher.get(base + f"/research/sessions/{session}")
        wait(teacher, lambda d: "edited" in d.page_source, "the team's edits on the replay page", 30)
        shot(teacher, "replay")


if __name__ == "__main__":
    ok = True
    error = None
    try:
        main()
    except Exception as exc:  # noqa: BLE001 — reported, with the step it happened in
        ok = False
        error = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
        for name, driver in drivers.items():
            try:
                driver.switch_to.default_content()
                shot(driver, f"failed-{name}")
            except Exception:
                pass
    finally:
        for driver in drivers.values():
            try:
                driver.quit()
            except Exception:
                pass
    print(json.dumps({"ok": ok, "step": step_name, "error": error}), flush=True)
    sys.exit(0 if ok else 1)
