#!/usr/bin/env python3
"""The session replay page in real Chromium, driven through chromedriver.

An instructor opens the replay of a finished session whose record the test seeded (chat, a bot
prompt, a role change, edits, runs with output, two notebook snapshots, a test run): the timeline
shows them in order, scrubbing to a moment shows that moment's notebook, "next execution" jumps to
the run, and playing at 10x moves the clock. Then the replay of a session with 5,000 events must
load and scrub quickly; the times are printed.

Run by the Swift test CLITests/ReplayBrowserTests against a fresh `ope serve`. Exits 0 when every
step passed (the last line is a JSON summary); otherwise prints the failing step and exits 1.
The browser set-up and waits follow scripts/e2e_browser.py.
"""
import argparse
import json
import os
import sys
import time

from selenium.webdriver.common.by import By

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import accounts, chromium, sign_in, wait as lib_wait  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--base-url", required=True)
parser.add_argument("--credentials", required=True, help="initial-credentials.txt of the server's data dir")
parser.add_argument("--artifacts", required=True)
parser.add_argument("--session", required=True, help="the small seeded session")
parser.add_argument("--big-session", required=True, help="the seeded session with thousands of events")
parser.add_argument("--chromium", default="/usr/bin/chromium")
parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
args = parser.parse_args()
os.makedirs(args.artifacts, exist_ok=True)
base = args.base_url.rstrip("/")

passwords = accounts(args.credentials)

step_name = "start"
figures = {}


def step(name):
    global step_name
    step_name = name
    print("step:", name, flush=True)


def wait(driver, condition, what, timeout=30):
    return lib_wait(driver, condition, what, timeout, poll=0.1)


def shot(driver, name):
    driver.save_screenshot(os.path.join(args.artifacts, name + ".png"))


def texts(driver, selector):
    return [element.text for element in driver.find_elements(By.CSS_SELECTOR, selector)]


def scrub_to(driver, ms):
    """Moves the scrub bar to `ms` as a person dragging it would; returns how long the page took to redraw (ms)."""
    return driver.execute_script(
        "const s = document.getElementById('scrub'); const t = performance.now(); s.value = String(arguments[0]);"
        " s.dispatchEvent(new Event('input')); document.body.offsetHeight; return performance.now() - t;", ms)


def clock(driver):
    return driver.find_element(By.ID, "clock").text


def notebook_text(driver):
    return driver.find_element(By.ID, "notebooks").text


def open_replay(driver, session):
    began = time.monotonic()
    driver.get(f"{base}/research/sessions/{session}")
    wait(driver, lambda d: d.find_element(By.ID, "replay").get_attribute("data-loaded"), "the replay's data", 60)
    return time.monotonic() - began


driver = None
try:
    driver = chromium(args.chromium, args.chromedriver, 1366, 900)

    step("an instructor signs in")
    instructor = next(name for name, (role, _) in passwords.items() if role == "instructor")
    sign_in(driver, base, instructor, passwords[instructor][1])

    step("the research page leads to the replay")
    driver.get(base + "/research")
    field = driver.find_element(By.CSS_SELECTOR, "#replay-form input[name=id]")
    field.send_keys(args.session)
    field.submit()
    wait(driver, lambda d: d.current_url.endswith("/research/sessions/" + args.session), "the replay page")
    wait(driver, lambda d: d.find_element(By.ID, "replay").get_attribute("data-loaded"), "the replay's data")
    shot(driver, "01-replay-start")

    step("the timeline shows the session in order")
    kinds = [li.get_attribute("data-kind") for li in driver.find_elements(By.CSS_SELECTOR, "#timeline li")]
    expected = ["session", "bot", "chat", "edit", "snapshot", "execution", "edit", "snapshot", "role", "chat", "execution", "test", "session"]
    assert kinds == expected, f"timeline kinds {kinds}"
    lines = texts(driver, "#timeline li .text")
    assert lines[2] == "alice: <b>not bold</b> let's go", f"chat shown as {lines[2]!r}"
    assert not driver.find_elements(By.CSS_SELECTOR, "#timeline b"), "a chat message's markup became HTML"
    assert "roles: alice navigator, bob driver (rotate)" in lines[8], lines[8]
    run = driver.find_elements(By.CSS_SELECTOR, "#timeline li")[5]
    assert run.find_element(By.CSS_SELECTOR, "pre.code").text == "print(len(words))"
    assert run.find_element(By.CSS_SELECTOR, "pre.output").text == "13"
    assert "ZeroDivisionError" in driver.find_elements(By.CSS_SELECTOR, "#timeline li")[10].text
    svg = driver.find_elements(By.CSS_SELECTOR, ".contrib-chart svg rect[data-metric=edits]")
    assert len(svg) == 2, f"{len(svg)} edit bars in the contribution chart"

    step("at the start no notebook is shown")
    assert "No snapshot yet" in notebook_text(driver), notebook_text(driver)

    step("scrubbing to 0:25 shows the first snapshot and no later edit")
    scrub_to(driver, 25000)
    wait(driver, lambda d: "words = 'first version'" in notebook_text(d), "the first snapshot at 0:25")
    assert "second version" not in notebook_text(driver)
    assert clock(driver).startswith("0:25"), clock(driver)
    current = driver.find_element(By.CSS_SELECTOR, "#timeline li.current")
    assert current.get_attribute("data-kind") == "snapshot", current.text
    dimmed = driver.execute_script(
        "return [...document.querySelectorAll('#timeline li')].filter((li) => li.closest('.future')).length")
    assert dimmed == 8, f"{dimmed} entries dimmed as still to come"
    shot(driver, "02-scrubbed-0-25")

    step("scrubbing to 0:45 lists the edit made since the snapshot")
    scrub_to(driver, 45000)
    wait(driver, lambda d: "alice (driver): 5 updates, 150 bytes" in notebook_text(d), "the edit after the first snapshot")
    assert "first version" in notebook_text(driver)

    step("scrubbing to 0:55 shows the second snapshot with its output")
    scrub_to(driver, 55000)
    wait(driver, lambda d: "words = 'second version'" in notebook_text(d), "the second snapshot at 0:55")
    assert "14" in notebook_text(driver) and "first version" not in notebook_text(driver)
    shot(driver, "03-scrubbed-0-55")

    step("next execution jumps to bob's run")
    driver.find_element(By.CSS_SELECTOR, "#jumps button[data-kind=execution]").click()
    wait(driver, lambda d: clock(d).startswith("1:20"), "the clock at the run (1:20)")
    current = driver.find_element(By.CSS_SELECTOR, "#timeline li.current")
    assert current.get_attribute("data-kind") == "execution" and "1/0" in current.text, current.text
    driver.find_element(By.CSS_SELECTOR, "#jumps button[data-kind=execution]").click()
    wait(driver, lambda d: "No execution after" in d.find_element(By.ID, "jump-status").text, "no later execution said")
    scrub_to(driver, 0)
    driver.find_element(By.CSS_SELECTOR, "#jumps button[data-kind=execution]").click()
    wait(driver, lambda d: clock(d).startswith("0:30"), "the first run (0:30)")
    shot(driver, "04-next-execution")

    step("playing at 10x moves the clock ten seconds a second")
    driver.find_element(By.CSS_SELECTOR, "input[name=speed][value='10']").click()
    driver.find_element(By.ID, "play").click()
    began = time.monotonic()
    wait(driver, lambda d: int(d.find_element(By.ID, "scrub").get_attribute("value")) >= 60000, "the replay at 1:00", 20)
    elapsed = time.monotonic() - began
    driver.find_element(By.ID, "play").click()
    figures["play_10x_30s_took_s"] = round(elapsed, 2)
    assert elapsed < 15, f"30 s of replay at 10x took {elapsed:.1f} s"
    wait(driver, lambda d: d.find_element(By.ID, "play").text == "Play", "paused")

    step("a session with 5,000 events loads and scrubs quickly")
    figures["big_session_load_s"] = round(open_replay(driver, args.big_session), 2)
    count = int(driver.find_element(By.ID, "replay").get_attribute("data-loaded"))
    assert count == 5002, f"{count} entries"
    scrub_times = [scrub_to(driver, 1599000)]
    assert "x = 4999 + 0" in notebook_text(driver), notebook_text(driver)[:200]
    scrub_times += [scrub_to(driver, ms) for ms in (400000, 900000, 1500000, 100000)]
    figures["big_session_scrub_redraw_ms"] = [round(t, 1) for t in scrub_times]
    driver.find_element(By.CSS_SELECTOR, "#jumps button[data-kind=execution]").click()
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "#timeline li.current").get_attribute("data-kind") == "execution", "the next run")
    shot(driver, "05-big-session")
    print(json.dumps({"ok": True, **figures}), flush=True)
except Exception as error:  # noqa: BLE001 - report any failure with its step
    if driver:
        try:
            shot(driver, "failed-" + step_name.replace(" ", "-")[:40])
        except Exception:
            pass
    print(json.dumps({"ok": False, "step": step_name, "error": str(error)}), flush=True)
    sys.exit(1)
finally:
    if driver:
        driver.quit()
