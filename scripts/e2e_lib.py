"""What OPE's Chromium journeys share (scripts/e2e_*.py): the browser, waits, accounts, sign-in."""

from __future__ import annotations

import time

from selenium import webdriver
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    ElementNotInteractableException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def chromium(binary: str, chromedriver: str, width: int = 1366, height: int = 850) -> webdriver.Chrome:
    """Headless Chromium through chromedriver, as the journeys run it."""
    options = Options()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--window-size={width},{height}",
                 "--disable-extensions", "--no-first-run", "--password-store=basic"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    driver.set_page_load_timeout(60)
    return driver


def wait(driver, condition, what: str, timeout: float = 30, poll: float = 0.2):
    """Waits until `condition(driver)` is truthy and returns it. A page that re-renders between
    finding an element and reading it is looked at again at the next poll, not failed."""
    try:
        return WebDriverWait(driver, timeout, poll_frequency=poll, ignored_exceptions=(StaleElementReferenceException,)).until(lambda d: condition(d))
    except TimeoutException:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def accounts(credentials: str) -> dict[str, tuple[str, str]]:
    """user → (platform role, password), from a data dir's initial-credentials.txt."""
    found = {}
    for line in open(credentials, encoding="utf-8"):
        parts = line.split()
        if len(parts) == 3 and parts[1] in ("participant", "instructor", "admin"):
            found[parts[0]] = (parts[1], parts[2])
    return found


def sign_in(driver, base: str, user: str, password: str) -> None:
    driver.get(base + "/login")
    wait(driver, lambda d: d.find_elements(By.ID, "username"), "the sign-in page")
    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "sign-in").click()
    wait(driver, lambda d: "/login" not in d.current_url, f"{user} signed in")


def answer_jupyter_dialogs(driver) -> str:
    """Inside a JupyterLab frame: answers the dialog a person would answer before typing — "the
    document is taking some time to load" (Continue waiting: a busy machine syncs slowly). Returns
    the text of a dialog still showing ("" when none is)."""
    for button in driver.find_elements(By.XPATH, "//div[contains(@class,'jp-Dialog')]//button[normalize-space()='Continue waiting']"):
        try:
            button.click()
        except Exception:
            pass
    left = driver.find_elements(By.CSS_SELECTOR, ".jp-Dialog")
    try:
        return " ".join(left[0].text.split()) if left else ""
    except StaleElementReferenceException:
        return "(a dialog closing)"


def clear_jupyter_dialogs(driver, what: str, timeout: float = 120) -> None:
    """Waits until no JupyterLab dialog covers `what`, answering those a person would; when one
    stays, the error says what it says."""
    seen = [""]

    def clear(d):
        seen[0] = answer_jupyter_dialogs(d)
        return not seen[0]
    try:
        wait(driver, clear, f"no JupyterLab dialog over {what}", timeout)
    except AssertionError as error:
        raise AssertionError(f"{error}; the dialog says: {seen[0]!r}") from None


def click_in_jupyter(driver, find, what: str, timeout: float = 120):
    """Clicks the element `find(driver)` returns once it is there and no dialog covers it — a
    JupyterLab dialog may open at any moment on a busy machine (a document slow to load) — and
    returns it. The error names what took the click instead."""
    blocked = [""]

    def attempt(d):
        answer_jupyter_dialogs(d)
        element = find(d)
        if not element:
            return None
        d.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        try:
            element.click()
        except ElementClickInterceptedException as error:
            blocked[0] = error.msg.split("Other element would receive the click:")[-1].split("\n")[0].strip()
            covering = answer_jupyter_dialogs(d)
            if covering:
                blocked[0] += f" (a dialog: {covering!r})"
            return None
        return element
    try:
        return wait(driver, attempt, what, timeout)
    except AssertionError as error:
        raise AssertionError(f"{error}; the click went to {blocked[0]!r}" if blocked[0] else str(error)) from None


def type_in_jupyter(driver, find, what: str, *keys, timeout: float = 120):
    """Clicks the element `find(driver)` returns (as `click_in_jupyter`) and types `keys` into it,
    one `send_keys` each. JupyterLab may draw a cell again between the click and the keys (its
    shared document syncing on a busy machine): the element then takes no keys, and the click and
    the typing are tried again on the cell as it is drawn now. Returns the element typed into."""
    deadline = time.monotonic() + timeout

    def attempt(d):
        element = click_in_jupyter(d, find, what, max(1.0, deadline - time.monotonic()))
        try:
            for key in keys:
                element.send_keys(*key)
        except (ElementNotInteractableException, StaleElementReferenceException):
            return None
        return element
    return wait(driver, attempt, what + " (typed into)", timeout)
