#!/usr/bin/env python3
"""The whole OPE journey in real Chromium windows, driven through chromedriver.

Two participants sign in, join the lobby, are matched, see each other, chat, get the bot's greeting
and roles, edit one notebook together, run the tests; an instructor sees the team on the dashboard
and sends a hint both see. Every page visited is saved as a screenshot in --artifacts.

Run by the Swift test CLITests/BrowserJourneyTests against a fresh `ope serve`. Exits 0 when every
step passed; otherwise prints the failing step and exits 1 (screenshots show where it stopped).
"""
import argparse
import json
import os
import sys
import time

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import accounts, chromium, click_in_jupyter, type_in_jupyter, wait  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--base-url", required=True)
parser.add_argument("--credentials", required=True, help="initial-credentials.txt of the server's data dir")
parser.add_argument("--artifacts", required=True)
parser.add_argument("--chromium", default="/usr/bin/chromium")
parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
parser.add_argument("--control-dir", help="restart handshake with the test: we create restart-requested, it creates restarted")
args = parser.parse_args()
os.makedirs(args.artifacts, exist_ok=True)
base = args.base_url.rstrip("/")

passwords = {user: password for user, (_, password) in accounts(args.credentials).items()}

shots = []
drivers = {}
step_name = "start"


def step(name):
    global step_name
    step_name = name
    print("step:", name, flush=True)


SIZES = ((1366, 850), (1024, 768))  # a common laptop, and a small classroom screen


def browser(name, width=1366, height=850):
    driver = chromium(args.chromium, args.chromedriver, width, height)
    drivers[name] = driver
    resize(driver, width, height)  # the viewport, not the window, is what a page gets
    return driver


def shot(driver, name):
    path = os.path.join(args.artifacts, f"{len(shots) + 1:02d}-{name}.png")
    driver.save_screenshot(path)
    shots.append(path)


def resize(driver, width, height):
    """Sets the viewport (not the window) to width x height, and waits for the page to follow."""
    driver.set_window_size(width, height)
    inner = driver.execute_script("return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight]")
    driver.set_window_size(width + inner[0], height + inner[1])
    wait(driver, lambda d: d.execute_script("return [window.innerWidth, window.innerHeight]") == [width, height], f"a {width}x{height} viewport", 10)


def fits_the_window(driver, where):
    """The session page is exactly the window: nothing clipped, the chat's input in view."""
    over = driver.execute_script("return document.documentElement.scrollHeight - window.innerHeight")
    assert over <= 1, f"{where} is {over}px taller than the window"
    bottom = driver.execute_script("return document.getElementById('chat-input').getBoundingClientRect().bottom - window.innerHeight")
    assert bottom <= 0, f"{where}: the chat input is {bottom:.0f}px below the fold"


def no_horizontal_scroll(driver, where):
    wide = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert wide <= 1, f"{where} scrolls sideways by {wide}px"


def sign_in(driver, user):
    driver.get(base + "/")
    wait(driver, lambda d: "/login" in d.current_url, "the sign-in page")
    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(passwords[user])
    driver.find_element(By.ID, "sign-in").click()
    wait(driver, lambda d: "/login" not in d.current_url, f"{user} signed in")


def texts(driver, selector):
    return [element.text for element in driver.find_elements(By.CSS_SELECTOR, selector)]


def message_with(driver, kind, fragment, timeout=40):
    return wait(driver, lambda d: any(fragment in t for t in texts(d, f"#messages li.{kind}")), f"a {kind} message with '{fragment}'", timeout)


# --- Lobby, leaving and dashboard checks (issue 12 items 9 and 10) ---------------------------


def check_lobby_wait_limit_and_give_up(driver):
    """The lobby says how long one may wait and counts down; when it gives up it says so and offers
    to join again. Uses the test-only module `lobby-wait` (teams of two, gives up after 20 s)."""
    driver.get(base + "/")
    driver.find_element(By.CSS_SELECTOR, "button[data-join='lobby-wait']").click()
    wait(driver, lambda d: "/lobby" in d.current_url, "the lobby of lobby-wait")
    limit = driver.find_element(By.ID, "wait-limit").text
    assert "You can wait up to 20 seconds" in limit and "leave the queue" in limit, f"the wait limit is not said: {limit!r}"
    wait(driver, lambda d: d.find_element(By.ID, "time-left").text in [f"0:{n:02d}" for n in range(1, 20)], "the countdown")
    for width, height in SIZES:
        resize(driver, width, height)
        no_horizontal_scroll(driver, f"the lobby at {width}x{height}")
        shot(driver, f"lobby-waiting-{width}x{height}")
    wait(driver, lambda d: d.find_element(By.ID, "lobby-gave-up").is_displayed(), "the lobby to give up", 45)
    assert not driver.find_element(By.ID, "lobby-waiting").is_displayed(), "'Waiting for your team' still shows after giving up"
    assert "Nobody else joined in time" in driver.find_element(By.ID, "lobby-gave-up").text
    assert driver.find_element(By.ID, "join-again").is_displayed()
    for width, height in SIZES:
        resize(driver, width, height)
        shot(driver, f"lobby-gave-up-{width}x{height}")
    resize(driver, 1366, 850)
    driver.find_element(By.ID, "back-to-exercises").click()
    wait(driver, lambda d: d.current_url.rstrip("/") == base, "back on the exercises")


def check_hint_confirmed(row):
    """'Send hint' says in words that the hint went out, and to which team."""
    wait(row.parent, lambda d: "Sent to team" in row.find_element(By.CSS_SELECTOR, ".hint-status").text, "the hint's confirmation")


def check_dashboard_first_screen_and_research(teacher, session):
    """At laptop sizes the live team, with its current task, is on the first screen of the dashboard;
    the research page's radio buttons sit next to their words. Screenshots of both pages."""
    for width, height in SIZES:
        resize(teacher, width, height)
        teacher.get(base + "/instructor")
        row = wait(teacher, lambda d: (d.find_elements(By.CSS_SELECTOR, f"tr[data-session='{session}']") or [None])[0], "the team on the dashboard")
        task = wait(teacher, lambda d: row.find_element(By.CSS_SELECTOR, "td.task-cell").text.strip() not in ("", "–") and row.find_element(By.CSS_SELECTOR, "td.task-cell").text, "the team's current task")
        assert task in ("Text statistics", "Run-length encoding"), f"current task shown as {task!r}"
        bottom = teacher.execute_script("return arguments[0].getBoundingClientRect().bottom", row)
        viewport = teacher.execute_script("return window.innerHeight")
        assert bottom <= viewport, f"the live team is below the fold at {width}x{height} ({bottom:.0f} > {viewport})"
        no_horizontal_scroll(teacher, f"the dashboard at {width}x{height}")
        shot(teacher, f"dashboard-{width}x{height}")
        teacher.get(base + "/research")
        gap = teacher.execute_script(
            "const input = document.querySelector('input[name=format][value=csv]'); const range = document.createRange();"
            "const text = [...input.closest('label').childNodes].find(n => n.nodeType === 3 && n.textContent.trim());"
            "range.selectNodeContents(text); return range.getBoundingClientRect().left - input.getBoundingClientRect().right;")
        assert 0 <= gap < 16, f"a radio button sits {gap:.0f}px from its label at {width}x{height}"
        no_horizontal_scroll(teacher, f"the research page at {width}x{height}")
        shot(teacher, f"research-{width}x{height}")
    resize(teacher, 1366, 850)


def check_leaving_a_session(leaver, partner):
    """A member leaves the session (after confirming) and the partner's page says so."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait
    leaver.find_element(By.ID, "leave-session").click()
    alert = WebDriverWait(leaver, 10).until(expected_conditions.alert_is_present())
    assert "Leave this team for good?" in alert.text, alert.text
    alert.accept()
    wait(leaver, lambda d: "You left your team" in d.find_element(By.TAG_NAME, "main").text, "the leaver told they left")
    message_with(partner, "system", "left the session")
    wait(partner, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#members li")) == 1, "the leaver off the partner's team list")
    shot(partner, "partner-sees-member-leave")
    shot(leaver, "leaver-back-on-exercises")


def accounts_sign_out_elsewhere(driver, user):
    """(accounts) `user` signs out everywhere in another window, asking to revoke their tokens too:
    the session page open in `driver` says so within a few seconds, over the page, and its chat box
    stays where it was, in view."""
    step(f"{user} signs out everywhere in another window; the session page says so at once")
    before = driver.execute_script("return document.getElementById('chat-input').getBoundingClientRect().top")
    other = browser(f"{user}-elsewhere")
    sign_in(other, user)
    other.get(base + "/account")
    other.find_element(By.CSS_SELECTOR, "#signout-everywhere input[name='revokeTokens']")
    other.find_element(By.CSS_SELECTOR, "#signout-everywhere button").click()
    wait(other, lambda d: "signedOut" in d.current_url, "the signed-out page in the other window")
    started = time.monotonic()
    banner = wait(driver, lambda d: (d.find_elements(By.CSS_SELECTOR, "#banner.signed-out:not([hidden])") or [None])[0], "the signed-out banner", 10)
    elapsed = time.monotonic() - started
    assert "You were signed out" in banner.text, f"the banner says: {banner.text}"
    assert elapsed < 5, f"the banner took {elapsed:.1f}s"
    box = driver.execute_script(
        "const r = document.getElementById('chat-input').getBoundingClientRect(); return {top: r.top, bottom: r.bottom, height: window.innerHeight};")
    assert driver.find_element(By.ID, "chat-input").is_displayed(), "the chat box is hidden"
    assert box["top"] < box["height"] and abs(box["top"] - before) < 1, f"the chat box moved or left the screen: {box}, was at {before}"
    shot(driver, f"{user}-signed-out-elsewhere")
    other.quit()
    del drivers[f"{user}-elsewhere"]


def accounts_admin_page():
    """(accounts) The admin's account page at 1366x850 and 1024x768: every account listed, no
    sideways scrolling, a screenshot of each."""
    step("the admin manages accounts on /admin")
    admin = browser("admin", 1366, 850)
    sign_in(admin, "admin")
    admin.get(base + "/admin")
    wait(admin, lambda d: d.find_elements(By.CSS_SELECTOR, "#users tr[data-user='alice']"), "alice in the accounts table")
    for width, height in SIZES:
        resize(admin, width, height)
        no_horizontal_scroll(admin, f"the admin page at {width}x{height}")
        shot(admin, f"admin-accounts-{width}x{height}")
    admin.quit()
    del drivers["admin"]


try:
    step("alice and bob sign in and see the exercises")
    alice = browser("alice")
    bob = browser("bob")
    sign_in(alice, "alice")
    sign_in(bob, "bob")
    wait(alice, lambda d: d.find_elements(By.CSS_SELECTOR, "button[data-join='python-intro']"), "the python-intro card")
    no_horizontal_scroll(alice, "the exercises page")
    shot(alice, "alice-exercises")

    step("the lobby says how long one may wait, and says so when it gives up")
    check_lobby_wait_limit_and_give_up(alice)

    step("alice joins and waits in the lobby")
    alice.find_element(By.CSS_SELECTOR, "button[data-join='python-intro']").click()
    wait(alice, lambda d: "/lobby" in d.current_url, "the lobby")
    wait(alice, lambda d: d.find_element(By.ID, "position").text == "1", "position 1")
    shot(alice, "alice-lobby")

    step("bob joins; both are matched into one session")
    bob.find_element(By.CSS_SELECTOR, "button[data-join='python-intro']").click()
    wait(bob, lambda d: "/sessions/" in d.current_url, "bob's session page")
    wait(alice, lambda d: "/sessions/" in d.current_url, "alice taken from the lobby to the session", 20)
    session = bob.current_url.rsplit("/", 1)[-1]
    assert alice.current_url.endswith(session), "alice and bob are in different sessions"

    step("they see each other and get the bot's greeting and roles")
    for driver in (alice, bob):
        wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#members li.online")) == 2, "both members online")
        message_with(driver, "bot", "I'm OPE_Bot")
        message_with(driver, "bot", "Your roles:")
        # The plan's Markdown is shown as formatting, not as asterisks.
        first_task = message_with(driver, "bot", "First task")
        assert "**" not in " ".join(texts(driver, "#messages li.bot")), "the bot's Markdown shows raw"
        assert driver.find_elements(By.CSS_SELECTOR, "#messages li.bot strong"), "the bot's bold text is not bold"
    roles = {name: wait(d, lambda d: d.find_element(By.ID, "my-role").text.strip().lower() if d.find_element(By.ID, "my-role").text.strip().lower() in ("driver", "navigator") else None, "a role badge") for name, d in (("alice", alice), ("bob", bob))}
    assert roles["alice"] != roles["bob"], f"both got {roles['alice']}"
    no_horizontal_scroll(alice, "the session page")
    shot(alice, "alice-session")

    step("they chat; text is shown as text, typing is shown")
    box = alice.find_element(By.ID, "chat-input")
    box.send_keys("Hello <b>bob</b>, shall I drive?")
    box.send_keys(Keys.ENTER)
    message_with(bob, "chat", "Hello <b>bob</b>, shall I drive?")
    assert not bob.find_elements(By.CSS_SELECTOR, "#messages b"), "chat text was rendered as HTML"
    # A one-line message is one line tall, like the bot's (the panel's own rule once made each 192 px).
    tallest = bob.execute_script("return Math.max(...Array.from(document.querySelectorAll('#messages li.chat')).map(e => e.getBoundingClientRect().height))")
    assert tallest < 90, f"a short chat message is {tallest:.0f}px tall"
    bob.find_element(By.ID, "chat-input").send_keys("sure")

    def sees_bob_typing(d):
        # The page shows a teammate typing for 5-10 s after their last keystroke, as long as they
        # keep typing. On a busy machine one poll can take longer than that, so bob keeps typing
        # (spaces, which the room trims off his message) until alice has seen it.
        if "is typing" in d.find_element(By.ID, "typing").text:
            return True
        bob.find_element(By.ID, "chat-input").send_keys(" ")
        return False

    wait(alice, sees_bob_typing, "bob's typing indicator")
    bob.find_element(By.ID, "chat-input").send_keys(Keys.ENTER)
    message_with(alice, "chat", "sure")
    shot(bob, "bob-chat")

    if args.control_dir:
        step("the server restarts under the open pages; they reconnect without a reload")
        alice.execute_script("window.__marker = 'same page';")
        open(os.path.join(args.control_dir, "restart-requested"), "w").close()
        wait(alice, lambda d: "Reconnecting" in d.find_element(By.ID, "banner").text, "the reconnecting notice", 60)
        shot(alice, "alice-server-away")
        wait(alice, lambda d: os.path.exists(os.path.join(args.control_dir, "restarted")), "the server back", 120)
        wait(bob, lambda d: not d.find_element(By.ID, "banner").is_displayed(), "bob reconnected", 60)
        bob.find_element(By.ID, "chat-input").send_keys("still there after the restart?")
        bob.find_element(By.ID, "chat-input").send_keys(Keys.ENTER)
        message_with(alice, "chat", "still there after the restart?", 60)
        wait(alice, lambda d: not d.find_element(By.ID, "banner").is_displayed(), "alice's notice gone", 30)
        assert alice.execute_script("return window.__marker") == "same page", "the page was reloaded"
        assert len([t for t in texts(alice, "#messages li.chat") if "after the restart" in t]) == 1, "the message is shown once"
        assert len([t for t in texts(alice, "#messages li.chat") if "shall I drive" in t]) == 1, "history is not shown twice"

    step("one types into the shared notebook, the other sees it")
    for driver in (alice, bob):
        # Ready, and the frame on the workspace's current address (a restart may have moved it).
        wait(driver, lambda d: d.execute_script(
            "const f = document.getElementById('workspace');"
            "return fetch('/api/sessions/' + arguments[0]).then(r => r.json()).then(s => !f.hidden && !!s.workspace"
            " && s.workspace.state === 'ready' && f.src.startsWith(new URL(s.workspace.url, location.href).href));", session),
            "the workspace frame on the ready workspace", 120)
        driver.execute_script(
            "const f = document.getElementById('workspace'); f.src = new URL('lab/tree/text_stats.ipynb', f.src).href;"
        )
    marker = "# shared edit from alice"
    # The first code cell (always drawn; later ones may wait for a scroll) alike on both pages: the
    # shared document has finished its first sync on both.
    first_cell = "const e = document.querySelector('.jp-Notebook .jp-CodeCell .cm-content'); return e ? e.textContent : null;"
    bob.switch_to.frame(bob.find_element(By.ID, "workspace"))
    loaded = wait(bob, lambda d: d.execute_script(first_cell), "the notebook's first cell in bob's JupyterLab", 120)
    bob.switch_to.default_content()
    alice.switch_to.frame(alice.find_element(By.ID, "workspace"))
    wait(alice, lambda d: d.execute_script(first_cell) == loaded, "alice's first cell equal to bob's", 120)
    type_in_jupyter(alice, lambda d: (d.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-CodeCell .cm-content") or [None])[0],
                    "a code cell in alice's JupyterLab that takes a click", (Keys.CONTROL, Keys.HOME), (marker + "\n",))
    alice.switch_to.default_content()
    bob.switch_to.frame(bob.find_element(By.ID, "workspace"))
    wait(bob, lambda d: any(marker in (e.get_attribute("textContent") or "") for e in d.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-CodeCell .cm-content")), "alice's edit in bob's notebook", 60)
    bob.switch_to.default_content()
    shot(bob, "bob-sees-alices-edit")

    step("they run the tests and both see a readable result")
    alice.find_element(By.ID, "run-tests").click()
    for driver in (alice, bob):
        wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#test-result .summary"), "the test result", 90)
        # Found afresh each time: the result panel is drawn again when the room's copy of the result arrives.
        wait(driver, lambda d: any("Text statistics" in e.text and "tests failed" in e.text for e in d.find_elements(By.CSS_SELECTOR, "#test-result .summary")), "the result's summary line", 10)
        # The first failure and why it failed are in view without scrolling; the output is one click away.
        visible = driver.execute_script(
            "const panel = document.getElementById('test-result'), first = panel.querySelector('.case.failed .why');"
            "if (!first) return 'no failure listed';"
            "const p = panel.getBoundingClientRect(), f = first.getBoundingClientRect();"
            "if (f.top < p.top || f.bottom > p.bottom) return 'the first failure is scrolled away';"
            "if (panel.scrollWidth > panel.clientWidth + 1) return 'the result scrolls sideways';"
            "if (p.height < 120) return 'the result is ' + p.height + 'px tall';"
            "return 'ok';")
        assert visible == "ok", visible
        output = driver.find_element(By.CSS_SELECTOR, "#test-result details.output")
        assert output.get_attribute("open") is None, "the full output is open from the start"
    alice.find_element(By.CSS_SELECTOR, "#test-result details.output summary").click()
    wait(alice, lambda d: "NotImplementedError" in d.find_element(By.CSS_SELECTOR, "#test-result details.output pre").text, "the full output after a click", 10)
    shot(alice, "alice-test-result")
    fits_the_window(alice, "the session page with a test result")

    step("the instructor sees the team and sends a hint both see")
    teacher = browser("teacher")
    sign_in(teacher, "teacher")
    wait(teacher, lambda d: "/instructor" in d.current_url, "the dashboard")
    row = wait(teacher, lambda d: (d.find_elements(By.CSS_SELECTOR, f"tr[data-session='{session}']") or [None])[0], "the team on the dashboard")
    wait(teacher, lambda d: "alice" in row.text and "bob" in row.text and "active" in row.text, "members and phase in the team's row")
    no_horizontal_scroll(teacher, "the dashboard")
    shot(teacher, "teacher-dashboard")
    hint = row.find_element(By.CSS_SELECTOR, "input")
    hint.send_keys("Check what happens with an empty text.")
    row.find_element(By.CSS_SELECTOR, "form button").click()
    check_hint_confirmed(row)
    for driver in (alice, bob):
        message_with(driver, "hint", "Check what happens with an empty text.")
    shot(alice, "alice-hint")

    step("a rotation keeps exactly one driver, and both pages show it")
    before = {name: d.find_element(By.ID, "my-role").text.strip().lower() for name, d in (("alice", alice), ("bob", bob))}
    rotated = teacher.execute_script(
        "return OPE.api('POST', '/api/sessions/' + arguments[0] + '/rotate', {}).then(() => 'ok', e => e.message);", session)
    assert rotated == "ok", f"the instructor's rotation was refused: {rotated}"
    for name, driver in (("alice", alice), ("bob", bob)):
        wait(driver, lambda d: d.find_element(By.ID, "my-role").text.strip().lower() not in ("", before[name]), f"{name}'s new role", 20)
    after = {name: d.find_element(By.ID, "my-role").text.strip().lower() for name, d in (("alice", alice), ("bob", bob))}
    assert sorted(after.values()) == ["driver", "navigator"], f"after the rotation the pair is {after}"
    assert after["alice"] == before["bob"] and after["bob"] == before["alice"], f"the pair did not swap: {before} -> {after}"
    shot(alice, "alice-after-rotation")

    teacher.get(base + "/research")
    shot(teacher, "teacher-research-export")

    step("at laptop sizes the dashboard shows live teams and their task first")
    check_dashboard_first_screen_and_research(teacher, session)

    step("a participant's notebook script runs with no platform rights when the instructor opens it")
    # alice saves a notebook whose output is a script, marked trusted as JupyterLab itself marks
    # what its user ran, so the workspace signs it; the teacher then opens it.
    workspace_base = alice.execute_script(
        "return fetch('/api/sessions/' + arguments[0]).then(r => r.json()).then(s => new URL(s.workspace.url, location.href).href);", session)
    probe = """
(async () => {
  const platform = %s, out = {origin: location.origin};
  try { const r = await fetch(platform + '/api/me', {credentials: 'include'}); out.read = 'READ ' + r.status + ' ' + (await r.text()).slice(0, 60); }
  catch (e) { out.read = 'blocked: ' + e.name; }
  try { const r = await fetch(platform + '/api/tokens', {method: 'POST', credentials: 'include', headers: {'Content-Type': 'application/json'}, body: '{"name": "stolen"}'}); out.mint = 'status ' + r.status; }
  catch (e) { out.mint = 'blocked: ' + e.name; }
  const div = document.createElement('div'); div.id = 'ope-probe-result'; div.textContent = JSON.stringify(out); document.body.appendChild(div);
})();
""" % json.dumps(base)
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
                "cells": [{"cell_type": "code", "id": "probe", "metadata": {"trusted": True}, "execution_count": 1, "source": "display(HTML(...))",
                           "outputs": [{"output_type": "display_data", "metadata": {}, "data": {"text/html": "<b>harmless</b><script>" + probe + "</script>"}}]}]}
    alice.get(workspace_base + "lab")  # on the workspace origin, as JupyterLab's own page is (its API answers forbid scripts)
    saved = alice.execute_script(
        "return fetch(arguments[0] + 'api/contents/probe.ipynb', {method: 'PUT', credentials: 'include', headers: {'Content-Type': 'application/json'},"
        " body: JSON.stringify({type: 'notebook', format: 'json', content: arguments[1]})}).then(r => r.status);", workspace_base, notebook)
    assert saved in (200, 201), f"alice could not save the notebook: {saved}"
    alice.get(base + "/sessions/" + session)
    teacher.get(workspace_base + "lab/tree/probe.ipynb")
    result = wait(teacher, lambda d: (d.find_elements(By.ID, "ope-probe-result") or [None])[0], "the notebook's script to run in the teacher's browser", 120)
    outcome = json.loads(result.get_attribute("textContent"))
    shot(teacher, "teacher-opens-participant-notebook")
    assert outcome["origin"] != base, f"the notebook ran on the platform's origin: {outcome}"
    assert not outcome["read"].startswith("READ 200"), f"the notebook read the platform as the teacher: {outcome}"
    assert not outcome["mint"].startswith("status 2"), f"the notebook made an API token as the teacher: {outcome}"
    print("probe:", json.dumps(outcome), flush=True)

    step("a SQL pair uses the SQL console in their notebook")
    admin = browser("admin")
    sign_in(admin, "admin")
    for name in ("carol", "dave"):
        passwords[name] = "sql-console-" + name + "-pw"
        made = admin.execute_script(
            "return OPE.api('POST', '/api/users', {username: arguments[0], displayName: arguments[1], password: arguments[2]}).then(() => 'ok', e => e.message);",
            name, name.capitalize(), passwords[name])
        assert made == "ok", f"the admin could not add {name}: {made}"
    admin.quit()
    del drivers["admin"]
    carol = browser("carol")
    dave = browser("dave")
    for name, driver in (("carol", carol), ("dave", dave)):
        sign_in(driver, name)
        wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "button[data-join='sql-joins']"), "the sql-joins card")
        driver.find_element(By.CSS_SELECTOR, "button[data-join='sql-joins']").click()
    for driver in (carol, dave):
        wait(driver, lambda d: "/sessions/" in d.current_url, "the SQL pair's session", 60)
    sql_session = carol.current_url.rsplit("/", 1)[-1]
    wait(carol, lambda d: d.execute_script(
        "return fetch('/api/sessions/' + arguments[0]).then(r => r.json()).then(s => !!s.workspace && s.workspace.state === 'ready');", sql_session),
        "the SQL pair's workspace", 180)
    dave.quit()
    del drivers["dave"]
    carol.execute_script("const f = document.getElementById('workspace'); f.src = new URL('lab/tree/sql_console.ipynb', f.src).href;")
    carol.switch_to.frame(carol.find_element(By.ID, "workspace"))
    first_code = wait(carol, lambda d: (d.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-CodeCell .cm-content") or [None])[0], "the SQL console notebook", 120)
    wait(carol, lambda d: "--file schema.sql" in (first_code.get_attribute("textContent") or ""), "the console's first cell", 30)
    # Keys pressed before the notebook's kernel is up run nothing: wait for it, as a person would.
    wait(carol, lambda d: any("ipykernel) | Idle" in (e.text or "") for e in d.find_elements(By.CSS_SELECTOR, ".jp-StatusBar-Widget")),
         "the notebook's kernel to be idle", 180)
    click_in_jupyter(carol, lambda d: first_code, "the SQL console's first cell, taking a click")
    # Run the schema cell, step over the text, list the tables, select the students.
    keys = ActionChains(carol)
    for _ in range(4):
        keys.key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT)
    keys.perform()
    wait(carol, lambda d: any("Ada Lovelace" in (e.get_attribute("textContent") or "") for e in d.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output")),
         "the students table under the %%sql cell", 180)
    outputs = " ".join((e.get_attribute("textContent") or "") for e in carol.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output"))
    assert "enrollments" in outputs, f"SHOW TABLES did not list the tables: {outputs[:400]}"
    assert "Error" not in outputs, f"a SQL cell failed: {outputs[:600]}"
    carol.switch_to.default_content()
    shot(carol, "carol-sql-console")
    carol.quit()
    del drivers["carol"]

    accounts_sign_out_elsewhere(bob, "bob")
    step("bob signs in again and leaves the session; alice's page says so")
    sign_in(bob, "bob")
    bob.get(base + "/sessions/" + session)
    wait(bob, lambda d: d.find_elements(By.ID, "leave-session"), "bob's session page again")
    check_leaving_a_session(bob, alice)

    step("a narrow screen needs no sideways scrolling")
    alice.set_window_size(400, 800)
    time.sleep(0.5)
    no_horizontal_scroll(alice, "the session page at 400px")
    shot(alice, "alice-session-narrow")

    step("every page at 1366x850 and 1024x768")
    alice.set_window_size(1366, 850)
    for width, height in SIZES:
        for driver in (alice, teacher):
            resize(driver, width, height)
        tag = f"{width}x{height}"
        alice.get(base + "/")
        wait(alice, lambda d: d.find_elements(By.CSS_SELECTOR, "button[data-join='python-intro']"), "the exercises")
        no_horizontal_scroll(alice, f"the exercises at {tag}")
        shot(alice, f"{tag}-exercises")
        alice.get(base + "/sessions/" + session)
        wait(alice, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#messages li")) > 3, "the session page's history")
        no_horizontal_scroll(alice, f"the session page at {tag}")
        fits_the_window(alice, f"the session page at {tag}")
        wait(alice, lambda d: d.find_element(By.ID, "workspace").is_displayed(), "the workspace frame", 60)
        alice.switch_to.frame(alice.find_element(By.ID, "workspace"))
        wait(alice, lambda d: d.find_elements(By.CSS_SELECTOR, "#jp-main-dock-panel"), f"JupyterLab in the frame at {tag}", 120)
        alice.switch_to.default_content()
        shot(alice, f"{tag}-session")
        # The side panel folds away so the workspace gets the whole width.
        alice.find_element(By.ID, "toggle-side").click()
        wide = alice.execute_script("return document.getElementById('workspace').getBoundingClientRect().width")
        assert wide >= width - 2, f"with the panel hidden the workspace is {wide}px wide at {tag}"
        shot(alice, f"{tag}-session-panel-hidden")
        alice.find_element(By.ID, "toggle-side").click()
        assert alice.find_element(By.ID, "chat-input").is_displayed(), "the panel did not come back"
        for page in ("instructor", "research"):
            teacher.get(base + "/" + page)
            wait(teacher, lambda d: d.find_elements(By.CSS_SELECTOR, "main h1"), f"the {page} page")
            no_horizontal_scroll(teacher, f"the {page} page at {tag}")
            shot(teacher, f"{tag}-{page}")
    resize(alice, 1366, 850)

    accounts_admin_page()

    step("signing out ends the sign-in everywhere")
    alice.find_element(By.CSS_SELECTOR, "form.logout button").click()
    wait(alice, lambda d: "signedOut" in d.current_url, "the signed-out page")
    shot(alice, "alice-signed-out")
    for width, height in SIZES:
        resize(alice, width, height)
        alice.get(base + "/login")
        wait(alice, lambda d: d.find_elements(By.ID, "sign-in"), "the sign-in page")
        no_horizontal_scroll(alice, f"the sign-in page at {width}x{height}")
        shot(alice, f"{width}x{height}-sign-in")

    print(json.dumps({"ok": True, "session": session, "screenshots": len(shots)}))
    status = 0
except Exception as error:  # noqa: BLE001 - report any failure with its step
    for name, driver in drivers.items():
        try:
            driver.switch_to.default_content()
            shot(driver, f"failed-{name}")
        except Exception:
            pass
    print(json.dumps({"ok": False, "step": step_name, "error": f"{type(error).__name__}: {error}", "screenshots": len(shots)}))
    status = 1
finally:
    for driver in drivers.values():
        try:
            driver.quit()
        except Exception:
            pass
sys.exit(status)
