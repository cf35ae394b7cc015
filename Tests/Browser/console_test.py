#!/usr/bin/env python3
"""Browser tests of the web console: a real headless Chromium driven by Selenium against the
built `aerosol serve` binary.

The module starts one server (free ports, a fresh data directory, --allow-private-webhooks) and
a small webhook receiver on 127.0.0.1; each test makes its own account and its own browser, so
tests do not depend on each other or on their order. Every page a test opens is checked for
browser console errors, for form controls without a label and for sideways scrolling at phone
width, and is screenshot at phone (390 px) and desktop width into screenshots/.

    python3 Tests/Browser/console_test.py --bin "$(swift build --show-bin-path)/aerosol"

Needs chromium and chromium-driver (Debian) and selenium (PyPI); keys for the simulated device
come from openssl, or from the cryptography package where openssl is missing.
"""

import argparse
import base64
import ctypes
import json
import os
import queue
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCREENSHOTS = os.path.join(ROOT, "screenshots")
PASSWORD = "correct horse battery"
# Generous for a loaded 2-core machine; each wait ends as soon as its condition holds.
WAIT = 20
# How soon a published event must show on an open events page.
LIVE_DEADLINE = 1.0
# Screen sizes of the screenshots: (label, width, height, mobile).
SCREENS = (("phone", 390, 844, True), ("desktop", 1280, 800, False))

options = argparse.Namespace(bin=None, chromium=None, chromedriver=None, keep=False)
server = None
receiver = None


# MARK: Processes and HTTP


def end_with_parent():
    """In the child: SIGTERM when the test runner dies (crashed or killed by a timeout)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG, Linux
    except (AttributeError, OSError):
        pass


class Process:
    """A child process whose output goes to a file that can be waited on."""

    def __init__(self, name, args, directory):
        self.name = name
        self.log_path = os.path.join(directory, f"{name}.log")
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            args, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=end_with_parent
        )

    def output(self):
        with open(self.log_path, "rb") as file:
            return file.read().decode("utf-8", "replace")

    def wait_for(self, pattern, timeout=WAIT):
        """The first match of `pattern` in the output, waiting for it to appear."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.output())
            if match:
                return match
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited ({self.process.returncode}):\n{self.output()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} never printed {pattern!r}:\n{self.output()[-3000:]}")
            time.sleep(0.05)  # Polls a log file: there is nothing to wait on.

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def run(*args):
    result = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


class Server:
    """`aerosol serve` on free ports with a fresh data directory."""

    def __init__(self):
        self.directory = tempfile.mkdtemp(prefix="aerosol-browser-")
        self.data = os.path.join(self.directory, "data")
        self.process = Process(
            "server",
            [
                options.bin, "serve", "--port", "0", "--device-port", "0", "--udp-device-port", "0", "--data-dir", self.data,
                "--allow-private-webhooks", "--log-level", "info",
            ],
            self.directory,
        )
        self.port = int(self.process.wait_for(r"aerosol listening on http://[^:\s]+:(\d+)").group(1))
        self.device_port = int(self.process.wait_for(r"device gateways? listening on tcp://[^:\s]+:(\d+)").group(1))
        self.base = f"http://127.0.0.1:{self.port}"

    def aerosol(self, *args):
        return run(options.bin, *args, "--data-dir", self.data)

    def create_user(self):
        email = f"user-{secrets.token_hex(4)}@example.com"
        self.aerosol("user", "create", email, "--password", PASSWORD)
        return email

    def stop(self):
        self.process.stop()
        if not options.keep:
            shutil.rmtree(self.directory, ignore_errors=True)


def http(method, url, fields=None, headers=None, auth=None):
    """(status, parsed JSON or text) of a request; `fields` go form-encoded."""
    body = urllib.parse.urlencode(fields).encode() if fields is not None else None
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    if body is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=WAIT) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


class API:
    """What curl would do: a token from POST /oauth/token, then Bearer requests."""

    def __init__(self, email):
        status, answer = http(
            "POST", server.base + "/oauth/token",
            {"grant_type": "password", "username": email, "password": PASSWORD}, auth="particle:particle",
        )
        assert status == 200, (status, answer)
        self.token = answer["access_token"]

    def call(self, method, path, fields=None, expect=200):
        status, answer = http(method, server.base + path, fields, {"Authorization": f"Bearer {self.token}"})
        assert status == expect, f"{method} {path}: {status} {answer}"
        return answer

    def publish(self, name, data):
        answer = self.call("POST", "/v1/devices/events", {"name": name, "data": data, "private": "true"})
        assert answer == {"ok": True}, answer


class Receiver:
    """A webhook target on 127.0.0.1 that records every request."""

    def __init__(self):
        self.requests = queue.Queue()
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace")
                received.put({"method": self.command, "path": self.path, "body": body})
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, path, timeout=WAIT):
        """The first request to `path` (others, for other tests, go back in the queue)."""
        deadline = time.monotonic() + timeout
        others = []
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the webhook receiver got no request to {path}")
                try:
                    request = self.requests.get(timeout=left)
                except queue.Empty:
                    continue
                if request["path"] == path:
                    return request
                others.append(request)
        finally:
            for request in others:
                self.requests.put(request)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def setUpModule():
    global server, receiver
    os.makedirs(SCREENSHOTS, exist_ok=True)
    for name in os.listdir(SCREENSHOTS):
        if name.endswith(".png"):
            os.remove(os.path.join(SCREENSHOTS, name))
    receiver = Receiver()
    server = Server()


def tearDownModule():
    if server:
        server.stop()
    if receiver:
        receiver.stop()


# MARK: The browser


# Form controls with no accessible name (no label, aria-label or text), and whether the page
# scrolls sideways.
PAGE_CHECKS = """
const unnamed = [];
for (const control of document.querySelectorAll("input, select, textarea, button")) {
  if (control.type === "hidden") continue;
  const named = (control.labels && control.labels.length > 0) || control.getAttribute("aria-label")
    || control.getAttribute("aria-labelledby") || (control.tagName === "BUTTON" && control.textContent.trim());
  if (!named) unnamed.push(control.outerHTML.slice(0, 120));
}
const width = document.documentElement.clientWidth;
// The innermost elements that stick out, box or content, unless a scrolling box clips them.
const right = (element) => {
  const box = element.getBoundingClientRect();
  return getComputedStyle(element).overflowX === "visible" ? Math.max(box.right, box.left + element.scrollWidth) : box.right;
};
const clipped = (element) => {
  for (let above = element.parentElement; above && above !== document.body; above = above.parentElement) {
    if (getComputedStyle(above).overflowX !== "visible") return true;
  }
  return false;
};
const out = [...document.querySelectorAll("body *")].filter((element) => right(element) > width + 0.5 && !clipped(element));
const wide = out.filter((element) => !out.some((other) => other !== element && element.contains(other)))
  .map((element) => element.outerHTML.slice(0, 120));
// Boxes that scroll or clip sideways and hide part of what they hold (an ID cut with an ellipsis
// is meant to be: its whole value is in its title and its text; a text field scrolls its text).
const hidden = [...document.querySelectorAll("body *")].filter((element) => {
  // Text fields scroll their own text by design.
  if (element.matches(".id, input, textarea, select, canvas") || element.clientWidth <= 1) return false;
  const overflow = getComputedStyle(element).overflowX;
  return overflow !== "visible" && element.scrollWidth > element.clientWidth + 1;
}).map((element) => element.outerHTML.slice(0, 120));
// Things that must stay on one line: IDs and times (a wrapped time reads "2:45:57 / AM").
const lines = (element) => {
  // The line boxes of its text, not its own box (a table cell is as tall as its row).
  const range = document.createRange();
  range.selectNodeContents(element);
  return new Set([...range.getClientRects()].filter((rect) => rect.width > 0).map((rect) => Math.round(rect.top))).size;
};
const wrapped = [...document.querySelectorAll(".id, time.when, td.time")]
  .filter((element) => element.getClientRects().length > 0 && lines(element) > 1)
  .map((element) => element.outerHTML.slice(0, 120));
return {unnamed, overflow: document.documentElement.scrollWidth - width, wide, hidden, wrapped};
"""


class ConsoleTestCase(unittest.TestCase):
    """A fresh account and a fresh browser for each test."""

    def setUp(self):
        self.email = server.create_user()
        self.api = API(self.email)
        chrome = webdriver.ChromeOptions()
        if options.chromium:
            chrome.binary_location = options.chromium
        for argument in (
            "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
            "--window-size=1280,800", "--hide-scrollbars", "--no-first-run", "--disable-extensions", "--lang=en-US",
        ):
            chrome.add_argument(argument)
        chrome.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(executable_path=options.chromedriver) if options.chromedriver else Service()
        self.driver = webdriver.Chrome(options=chrome, service=service)
        self.addCleanup(self.driver.quit)
        self.driver.set_page_load_timeout(60)
        self.driver.set_script_timeout(WAIT)
        self.wait = WebDriverWait(self.driver, WAIT, poll_frequency=0.05)
        # Messages of console errors that the test itself provokes (a 400 from the API).
        self.expected_errors = []

    def tearDown(self):
        # Errors logged after the last check (by a script still running) fail the test too.
        self.check_console()

    # MARK: Helpers

    def open(self, path):
        self.driver.get(server.base + path)

    def find(self, selector, root=None):
        return (root or self.driver).find_element(By.CSS_SELECTOR, selector)

    def find_all(self, selector, root=None):
        return (root or self.driver).find_elements(By.CSS_SELECTOR, selector)

    def visible(self, selector):
        return self.wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, selector)))

    def wait_until(self, condition, message, timeout=WAIT):
        return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(lambda _: condition(), message)

    def check_console(self):
        """Fails on any error in the browser's console since the last check."""
        errors = []
        for entry in self.driver.get_log("browser"):
            if entry["level"] != "SEVERE":
                continue
            if any(expected in entry["message"] for expected in self.expected_errors):
                continue
            errors.append(f"{entry.get('source', '')}: {entry['message']}")
        self.assertEqual(errors, [], f"browser console errors on {self.driver.current_url}")

    def check_page(self, name):
        """Console errors, unlabelled controls and sideways scrolling; then the screenshots."""
        self.check_console()
        for label, width, height, mobile in SCREENS:
            self.driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
            )
            # Two animation frames: the new width is laid out and painted.
            self.driver.execute_async_script("requestAnimationFrame(() => requestAnimationFrame(arguments[0]))")
            found = self.driver.execute_script(PAGE_CHECKS)
            self.assertEqual(found["unnamed"], [], f"{name}: form controls without a label")
            self.assertLessEqual(found["overflow"], 0, f"{name}: the page scrolls sideways at {width} px: {found['wide']}")
            self.assertEqual(found["wrapped"], [], f"{name}: IDs or times wrap at {width} px")
            if mobile:
                # At phone width nothing is cut off sideways: tables become cards, not scrollers.
                self.assertEqual(found["hidden"], [], f"{name}: content cut off sideways at {width} px")
            shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
            with open(os.path.join(SCREENSHOTS, f"{name}-{label}.png"), "wb") as file:
                file.write(base64.b64decode(shot["data"]))
        self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        self.check_console()

    def sign_in(self):
        self.open("/console/login")
        self.find("#email").send_keys(self.email)
        self.find("#password").send_keys(PASSWORD)
        self.find("#sign-in button[type=submit]").click()
        self.wait.until(EC.url_to_be(server.base + "/console/events"))
        self.wait_live()

    def wait_live(self, root=None):
        status = self.find(".status", root)
        self.wait_until(lambda: status.get_attribute("data-state") == "live", "the stream never went live")

    def row_names(self, prefix):
        """Names of the events shown (newest first) that start with `prefix`."""
        names = self.driver.execute_script(
            "return [...document.querySelectorAll('tbody.event-rows > tr')].map((row) => row.dataset.name)"
        )
        return [name for name in names if name.startswith(prefix)]

    def unique(self, word):
        return f"{word}-{secrets.token_hex(3)}"


# MARK: Tests


class SignInTests(ConsoleTestCase):
    def test_sign_in(self):
        self.open("/")
        self.wait.until(EC.url_to_be(server.base + "/console/login"))
        self.check_page("sign-in")

        self.find("#email").send_keys(self.email)
        self.find("#password").send_keys("not the password")
        self.find("#sign-in button[type=submit]").click()
        self.expected_errors.append("/console/login - Failed to load resource: the server responded with a status of 401")
        error = self.visible("#sign-in-error")
        self.assertIn("Wrong email or password", error.text)
        self.assertEqual(self.find("#email").get_attribute("value"), self.email)
        self.check_page("sign-in-error")

        self.find("#password").send_keys(PASSWORD)
        self.find("#sign-in button[type=submit]").click()
        self.wait.until(EC.url_to_be(server.base + "/console/events"))
        self.assertEqual(self.find(".who").get_attribute("textContent"), self.email)
        cookie = self.driver.get_cookie("aerosol_session")
        self.assertTrue(cookie["httpOnly"])
        self.assertEqual(cookie["sameSite"], "Strict")
        self.wait_live()

    def test_sign_out_refuses_the_old_session(self):
        self.sign_in()
        session = self.driver.get_cookie("aerosol_session")["value"]
        cookie = {"Cookie": f"aerosol_session={session}"}
        status, _ = http("GET", server.base + "/v1/devices", headers=cookie)
        self.assertEqual(status, 200)

        self.find("#sign-out").click()
        self.wait.until(EC.url_to_be(server.base + "/console/login"))
        self.assertIsNone(self.driver.get_cookie("aerosol_session"))
        self.open("/console/events")
        self.wait.until(EC.url_to_be(server.base + "/console/login"))
        self.visible("#sign-in")
        status, answer = http("GET", server.base + "/v1/devices", headers=cookie)
        self.assertEqual(status, 401, answer)
        self.assertEqual(answer["error"], "invalid_token")


class EventTests(ConsoleTestCase):
    def test_published_event_appears_within_a_second(self):
        self.sign_in()
        name = self.unique("temperature")
        self.api.publish(name, "21.5")
        acknowledged = time.monotonic()
        try:
            WebDriverWait(self.driver, LIVE_DEADLINE, poll_frequency=0.02).until(lambda _: self.row_names(name))
        except TimeoutException:
            self.fail(f"{name} was not on the page {LIVE_DEADLINE} s after the publish was acknowledged")
        elapsed = time.monotonic() - acknowledged
        row = self.find(f'tbody.event-rows > tr[data-name="{name}"]')
        self.assertEqual(self.find("td.data", row).text, "21.5")
        self.assertEqual(self.find("td:nth-child(3)", row).text, "api")
        print(f"\n    event shown {elapsed * 1000:.0f} ms after the publish was acknowledged", file=sys.stderr)

        # A JSON payload is shown formatted; the rate chart has drawn something.
        self.api.publish(name + "/json", json.dumps({"celsius": 21.5}))
        self.wait_until(lambda: self.row_names(name + "/json"), "the JSON event never showed")
        self.assertIn('"celsius": 21.5', self.find(f'tr[data-name="{name}/json"] td.data pre').text)
        # The events-per-second chart draws a bar at its next tick (once a second).
        bar = """const canvas = document.querySelector("canvas.rate");
            const pixels = canvas.getContext("2d").getImageData(0, 14, canvas.width, canvas.height - 14).data;
            for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) return true;
            return false;"""
        self.wait_until(lambda: self.driver.execute_script(bar), "the rate chart drew no bar")
        self.check_page("events")

    def test_pause_then_resume_shows_every_event(self):
        self.sign_in()
        prefix = self.unique("paused")
        pause = self.find(".pause")
        pause.click()
        status = self.find(".status")
        self.assertEqual(status.get_attribute("data-state"), "paused")
        self.assertEqual(pause.get_attribute("aria-pressed"), "true")
        self.assertTrue(self.find(".paused-note").is_displayed())

        names = [f"{prefix}/{index}" for index in range(3)]
        for index, name in enumerate(names):
            self.api.publish(name, str(index))
        self.assertEqual(self.row_names(prefix), [], "events showed while paused")
        self.check_page("events-paused")

        pause.click()
        self.assertEqual(pause.text, "Pause")
        self.wait_until(lambda: len(self.row_names(prefix)) >= 3, "the events published while paused never showed")
        self.wait_live()
        # Newest on top, each exactly once.
        self.assertEqual(self.row_names(prefix), list(reversed(names)))
        self.assertFalse(self.find(".paused-note").is_displayed())

    def test_prefix_filter(self):
        self.sign_in()
        wanted, other = self.unique("wanted"), self.unique("other")
        self.find("#prefix").send_keys(wanted)
        Select(self.find("#scope")).select_by_value("mine")
        self.find("#stream-form button[type=submit]").click()
        self.wait_live()
        self.api.publish(other, "no")
        self.api.publish(wanted, "yes")
        self.wait_until(lambda: self.row_names(wanted), "the matching event never showed")
        self.assertEqual(self.row_names(other), [])

        # Paused on a new filter before any event came: what is published meanwhile still shows.
        later = self.unique("later")
        self.find("#prefix").clear()
        self.find("#prefix").send_keys(later)
        self.find("#stream-form button[type=submit]").click()
        self.wait_live()
        self.find(".pause").click()
        self.api.publish(later, "kept")
        self.find(".pause").click()
        self.wait_until(lambda: self.row_names(later), "the event published while paused never showed")


class IntegrationTests(ConsoleTestCase):
    def test_create_webhook_and_see_its_delivery(self):
        self.sign_in()
        event = self.unique("webhooked")
        path = f"/in/{event}"
        self.open("/console/integrations")
        self.visible("#integration-form")
        self.check_page("integrations")
        # A new webhook has no secret to keep.
        self.assertIn("empty: requests are not signed", self.find("label[for=f-secret]").text)

        form = self.find("#integration-form")
        self.find('[name="name"]', form).send_keys("Browser test hook")
        self.find('[name="event"]', form).send_keys(event)
        self.find('[name="url"]', form).send_keys(f"http://127.0.0.1:{receiver.port}{path}")
        Select(self.find('[name="requestType"]', form)).select_by_visible_text("POST")
        self.find('[name="rateLimit"]', form).send_keys("0")
        self.find("#save-integration").click()
        self.wait.until(EC.url_matches(r"/console/integrations/[^/?]+$"))
        hook_id = self.driver.current_url.rsplit("/", 1)[1]
        self.assertEqual(self.find("#integration").get_attribute("data-id"), hook_id)
        # The edit form is filled from the API.
        self.wait_until(lambda: self.find("#f-event").get_attribute("value") == event, "the form was not filled")
        self.wait_until(lambda: self.find("#hook-state").text == "active", "the state never showed")

        self.api.publish(event, "42")
        request = receiver.wait_for(path)
        self.assertEqual(request["method"], "POST")
        # Without a body template the original sends the event as form fields.
        payload = urllib.parse.parse_qs(request["body"])
        self.assertEqual((payload["event"], payload["data"]), ([event], ["42"]))

        def delivered():
            rows = self.find_all("#deliveries tbody tr.delivered")
            return any(self.find("td:nth-child(2)", row).text == event for row in rows)

        self.wait_until(delivered, "the delivery never showed in the log")
        row = self.find("#deliveries tbody tr.delivered")
        self.assertEqual(self.find("td:nth-child(4)", row).text, "200")
        self.assertEqual(self.find("td:nth-child(6)", row).text, "delivered")
        # The chart drew a green (delivered) bar.
        green = self.driver.execute_script(
            """const canvas = document.getElementById("delivery-chart");
            const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            for (let i = 0; i < pixels.length; i += 4)
              if (pixels[i] === 0x15 && pixels[i + 1] === 0x80 && pixels[i + 2] === 0x3d) return true;
            return false;"""
        )
        self.assertTrue(green, "the delivery chart shows no delivered bar")
        self.check_page("integration")

        # The list shows it.
        self.open("/console/integrations")
        link = self.find("#integration-list tbody a")
        self.assertEqual(link.text, "Browser test hook")
        self.assertTrue(link.get_attribute("href").endswith(f"/console/integrations/{hook_id}"))

    def test_bad_form_value_shows_its_error_next_to_the_field(self):
        self.sign_in()
        self.open("/console/integrations")
        form = self.visible("#integration-form")
        self.find('[name="event"]', form).send_keys(self.unique("bad"))
        self.find('[name="url"]', form).send_keys("ftp://x")
        self.find("#save-integration").click()
        self.expected_errors.append("/v1/integrations - Failed to load resource: the server responded with a status of 400")

        error = self.visible('.field-error[data-for="url"]')
        self.assertIn("url must be an http:// or https:// URL", error.text)
        url = self.find('[name="url"]', form)
        self.assertEqual(url.get_attribute("aria-invalid"), "true")
        self.assertEqual(self.driver.switch_to.active_element, url)
        # The error sits right after its field, and no other field shows one.
        following = self.driver.execute_script("return arguments[0].nextElementSibling", url)
        self.assertEqual(following, error)
        shown = [slot.get_attribute("data-for") for slot in self.find_all(".field-error", form) if slot.text]
        self.assertEqual(shown, ["url"])
        self.assertIn("/console/integrations", self.driver.current_url)
        self.check_page("integration-form-error")

        # A form field that is not JSON is refused before the request, next to its field too.
        url.clear()
        url.send_keys(f"http://127.0.0.1:{receiver.port}/never")
        self.find('[name="headers"]', form).send_keys("not json")
        self.find("#save-integration").click()
        error = self.visible('.field-error[data-for="headers"]')
        self.assertIn("headers must be a JSON object", error.text)
        self.assertEqual(self.find('.field-error[data-for="url"]').text, "")
        self.assertEqual(self.api.call("GET", "/v1/integrations"), [])


class DeviceTests(ConsoleTestCase):
    def make_key(self, path):
        if shutil.which("openssl"):
            run("openssl", "genrsa", "-traditional", "-out", path, "1024")
            return
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        with open(path, "wb") as file:
            file.write(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.TraditionalOpenSSL,
                    serialization.NoEncryption(),
                )
            )

    def start_device(self):
        """A simulated device, provisioned, claimed by this test's user and online."""
        device_id = secrets.token_hex(12)
        directory = tempfile.mkdtemp(prefix="aerosol-device-", dir=server.directory)
        key = os.path.join(directory, "key.pem")
        server_key = os.path.join(directory, "server_key.der")
        self.make_key(key)
        server.aerosol("device", "provision", device_id, "--key", key)
        server.aerosol("keys", "server", "--address", "127.0.0.1", "--output", server_key)
        self.api.call("POST", "/v1/devices", {"id": device_id})
        device = Process(
            f"device-{device_id}",
            [
                options.bin, "device", "simulate", "--id", device_id, "--key", key, "--server-key", server_key,
                "--port", str(server.device_port), "--variable", "temp=double:21.5", "--function", "led=7",
            ],
            directory,
        )
        self.addCleanup(device.stop)
        device.wait_for(r"device [0-9a-f]{24} connected")

        def described():
            answer = self.api.call("GET", f"/v1/devices/{device_id}")
            return answer["online"] and answer["variables"] == {"temp": "double"} and answer["functions"] == ["led"]

        self.wait_until(described, "the device never came online with its variable and function")
        return device_id

    def test_read_a_variable_and_call_a_function(self):
        device_id = self.start_device()
        self.sign_in()
        self.open("/console/devices")
        link = self.find(f'#device-list a[href="/console/devices/{device_id}"]')
        self.assertEqual(self.find(".badge", link.find_element(By.XPATH, "ancestor::tr")).text, "online")
        self.check_page("devices")

        link.click()
        self.wait.until(EC.url_to_be(f"{server.base}/console/devices/{device_id}"))
        variable = self.find('li.variable[data-name="temp"]')
        self.find("button.read", variable).click()
        output = self.find("output", variable)
        self.wait_until(lambda: output.text == "21.5", f"the variable read showed {output.text!r}")
        self.assertNotIn("error", output.get_attribute("class"))

        function = self.find('form.function[data-name="led"]')
        self.find('input[name="arg"]', function).send_keys("on")
        self.find("button[type=submit]", function).click()
        output = self.find("output", function)
        self.wait_until(lambda: output.text == "returned 7", f"the function call showed {output.text!r}")
        self.wait_live(self.find("section.stream"))
        self.check_page("device")


class ProductAndTokenTests(ConsoleTestCase):
    def test_create_a_product_and_add_devices(self):
        self.sign_in()
        self.open("/console/products")
        self.check_page("products")
        slug = self.unique("fleet")
        self.find("#product-name").send_keys("Browser fleet")
        self.find("#product-slug").send_keys(slug)
        self.find("#create-product button[type=submit]").click()
        self.wait.until(EC.url_to_be(f"{server.base}/console/products/{slug}"))
        self.assertEqual(self.find("h1").text, "Browser fleet")
        self.wait_live(self.find("section.stream"))

        self.find("#device-ids").send_keys("not-a-device")
        self.find("#add-devices button[type=submit]").click()
        message = self.find("#add-devices .result")
        self.wait_until(lambda: "not device IDs: not-a-device" in message.text, "the add result never showed")

        # A device added: the list is reloaded with it, and the result is still there to read.
        device = secrets.token_hex(12)
        self.find("#device-ids").clear()
        self.find("#device-ids").send_keys(device)
        self.find("#add-devices button[type=submit]").click()
        self.wait_until(
            lambda: any(device in row.text for row in self.find_all("#product-devices tbody tr")),
            "the added device never showed in the list",
        )
        self.assertEqual(self.find("#add-devices .result").text, "added 1")
        id_cell = self.find(f"#product-devices code.id[title='{device}']")
        self.assertEqual(id_cell.get_attribute("textContent"), device)
        self.check_page("product")

        # Product events show on its stream.
        self.api.call("POST", f"/v1/products/{slug}/events", {"name": "fleet-event", "data": "1"})
        self.wait_until(lambda: self.row_names("fleet-event"), "the product event never showed")

    def test_an_expired_token_is_marked(self):
        status, grant = http(
            "POST", server.base + "/oauth/token",
            {"grant_type": "password", "username": self.email, "password": PASSWORD, "expires_in": "1"},
            auth="particle:particle",
        )
        self.assertEqual(status, 200)
        short = grant["access_token"][:8]
        self.sign_in()

        def marked():
            self.open("/console/tokens")
            rows = [row for row in self.find_all("#token-list tbody tr") if short in row.text]
            return rows and "expired" in rows[0].get_attribute("class").split()
        # It expires a second after it was made.
        self.wait_until(marked, "the expired token is not marked")
        self.check_page("tokens-expired")

    def test_create_and_revoke_a_token(self):
        self.sign_in()
        self.open("/console/tokens")
        self.check_page("tokens")
        before = len(self.find_all("#token-list tbody tr"))
        Select(self.find("#expires")).select_by_value("1")
        self.find("#create-token button[type=submit]").click()
        created = self.visible("#new-token code.token").text
        self.assertRegex(created, r"^[0-9a-f]{40}$")
        self.assertEqual(len(self.find_all("#token-list tbody tr")), before + 1)
        status, _ = http("GET", server.base + "/v1/devices", headers={"Authorization": f"Bearer {created}"})
        self.assertEqual(status, 200)
        self.check_page("tokens-created")

        # The page shows only a prefix of each token (never a whole one) and revokes by hash.
        self.assertNotIn(created, self.find("#token-list").get_attribute("outerHTML"))
        row = next(r for r in self.find_all("#token-list tbody tr") if created[:8] in r.text)
        self.find("button.revoke", row).click()
        self.wait.until(EC.staleness_of(row))
        self.assertFalse([r for r in self.find_all("#token-list tbody tr") if created[:8] in r.text])
        status, _ = http("GET", server.base + "/v1/devices", headers={"Authorization": f"Bearer {created}"})
        self.assertEqual(status, 401)
        # This session's own token has no revoke button.
        current = [row for row in self.find_all("#token-list tbody tr") if "this session" in row.text]
        self.assertEqual(len(current), 1)
        self.assertEqual(self.find_all("button.revoke", current[0]), [])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=os.environ.get("AEROSOL_BIN"), help="the aerosol binary (default: swift build's)")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM"), help="the browser (default: /usr/bin/chromium)")
    parser.add_argument("--chromedriver", default=os.environ.get("CHROMEDRIVER"), help="default: /usr/bin/chromedriver")
    parser.add_argument("--keep", action="store_true", help="keep the data directory and logs")
    known, rest = parser.parse_known_args()
    options.keep = known.keep
    options.bin = known.bin or os.path.join(
        run("swift", "build", "--package-path", ROOT, "--show-bin-path").strip(), "aerosol"
    )
    options.chromium = known.chromium or (shutil.which("chromium") or None)
    options.chromedriver = known.chromedriver or (shutil.which("chromedriver") or None)
    if not os.access(options.bin, os.X_OK):
        sys.exit(f"no aerosol binary at {options.bin}: run swift build --product aerosol first")
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
