"""What OPE's Chromium journeys share (scripts/e2e_*.py): the browser, waits, accounts, sign-in."""

from __future__ import annotations

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
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
