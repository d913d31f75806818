"""The console in a real browser (issue 36; `./scripts/test.sh` runs this).

Debian's chromium (/usr/bin/chromium), driven by Playwright, against `users-local serve` on
127.0.0.1 with its console at /console/:

1. An admin signs in with user id and password (token/issue, then token/grant DOMAIN), and
   the users table shows the domain: searched, sorted by a column, paged; the view is in the
   URL, so loading that URL again shows the same page.
2. A wrong password shows the one generic message of a failed sign-in.
3. A user with EMAIL MFA signs in in two steps, the code read from the server's outbox.
4. An admin creates a user (a mailed temporary password), sees a validation error at its
   field, marks its email verified, mails it a temporary password, finds it with search and a
   filter, disables and deletes it (a confirmation naming it), turns another's MFA off;
   disabling the last admin reads as a sentence. That first sign-in with a
   temporary password leads straight to the password change, and on into the console.
   One flow with the keyboard only: sign in, open a user from the table, disable it.
   An access token that expired is renewed from the refresh token, and the page goes on.
   A user an admin requires OTP of is led at first sign-in to set it up on its account page
   (the QR code the page draws, decoded from its screenshot by zxing-cpp; pyotp gives the
   code), the requirement is cleared, and then signs in with a code.
   My account: profile, email verified with the mailed code (a wrong one refused), a new
   password, an authenticator app by QR, sign-in with its code, MFA off with a code, codes by
   email on. The overview's charts: each table row leads to the users table filtered to
   match, showing as many users; a column of the chart does too.
5. axe-core on each page: no serious or critical violation. No page logs an error or a
   Content-Security-Policy violation, and the answers carry the security headers (CSP,
   nosniff, no referrer; index.html no-cache, assets immutable and gzipped).

6. Lighthouse 12.2.3 (scripts/lighthouse/run.mjs, its dependencies installed by
   `npm ci` there) on the users page and the account page, signed in: performance,
   accessibility and best practices each at least 95; its reports go to `lighthouse/` beside
   the screenshots' folder.

Screenshots of each page at 1280x800 go to the folder given (docs/console/ holds the
committed ones).

Usage: console_browser.py USERS_LOCAL_BINARY SCREENSHOT_DIR
       console_browser.py --api BASE_URL ADMIN_USER_ID PASSWORD [SCREENSHOT_DIR]   (the
       deployed functions' console: a shorter flow, see `through_the_lambda_functions`)
"""

import io
import os
import re
import subprocess
import sys
import time

import zxingcpp
from axe_playwright_python.sync_playwright import Axe
from PIL import Image
from playwright.sync_api import expect, sync_playwright

from authenticator import Authenticator
from real_clients import DOMAIN, Server

PASSWORD = "Wonderland1"


def prepare(server):
    """The domain the browser sees: an admin who signs in, 45 users, one with EMAIL MFA on."""
    def call(path, body, token):
        status, answer = server.post(path, body, token)
        assert status == 200, (path, status, answer)
        return answer

    user = {"auth_type": "LOCAL", "password": PASSWORD, "permission_group": "DOMAIN", "domain_id": DOMAIN}
    call("/identity/v2/user/create", dict(user, user_id="root-user", name="Root", role_id="managed-domain-admin"),
         server.admin)
    for i in range(45):
        team = ["core", "edge", "data"][i % 3]
        call("/identity/v2/user/create",
             dict(user, user_id=f"user-{i:02d}", name=f"Person {i:02d}", email=f"p{i:02d}@example.com",
                  tags={"team": team}), server.admin)
    call("/identity/v2/user/create", dict(user, user_id="mfa-user", name="Mfa User"), server.admin)
    own = server.token("mfa-user")
    target = {"user_id": "mfa-user", "domain_id": DOMAIN}
    call("/identity/v2/user/enable-mfa", dict(target, mfa_type="EMAIL", options={"email": "mfa@example.com"}), own)
    call("/identity/v2/user/confirm-mfa", dict(target, verify_code=server.last_code("mfa@example.com")), own)


class Browser:
    def __init__(self, playwright, server, shots):
        self.server, self.shots = server, shots
        self.browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        self.problems = []
        self.pending = set()
        self.trail = []

    def page(self):
        context = self.browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        # Refused requests (a wrong password's 401, a non-admin's DOMAIN grant's 403) are the
        # API's answers, which the page handles; anything else logged as an error (a script
        # error, a Content-Security-Policy violation) is a problem.
        page.on("console", lambda m: m.type == "error" and not m.text.startswith("Failed to load resource")
                and self.problems.append(f"console: {m.text}"))
        page.on("response", lambda r: r.status == 404 and self.problems.append(f"404: {r.url}"))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        # Requests sent and not yet answered, named when a flow stops.
        page.on("request", lambda r: self.pending.add(f"{r.method} {r.url}"))
        page.on("requestfinished", lambda r: self.pending.discard(f"{r.method} {r.url}"))
        page.on("requestfailed", lambda r: self.pending.discard(f"{r.method} {r.url}"))
        # The API's answers and the page's console, in order, named when a flow stops.
        page.on("response", lambda r: "/identity/" in r.url and self.trail.append(f"{r.status} {r.url}"))
        page.on("console", lambda m: self.trail.append(f"console {m.type}: {m.text}"))
        return page

    def check(self, page, name):
        """axe on the page as it is, and its screenshot (when there is a folder for them)."""
        results = Axe().run(page)
        serious = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
        assert not serious, f"{name}: {[(v['id'], v['impact'], v['help']) for v in serious]}"
        if self.shots:
            page.screenshot(path=os.path.join(self.shots, f"{name}.png"))

    def sign_in(self, page, user_id, password=PASSWORD):
        page.goto(f"{self.server.base}/console/")
        page.get_by_label("User ID").fill(user_id)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()


def admin_finds_users(b):
    page = b.page()
    b.sign_in(page, "root-user")
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    expect(page.locator("caption")).to_have_text("47 users, page 1 of 3")
    # No token outside the tab's memory and sessionStorage: none in localStorage or a cookie.
    assert page.evaluate("localStorage.length") == 0
    assert page.context.cookies() == []
    assert "eyJ" not in page.evaluate("JSON.stringify(Object.values(localStorage))")
    b.check(page, "users")
    page.get_by_label("Search").fill("person 1")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("caption")).to_have_text("10 users, page 1 of 1")
    page.get_by_role("button", name="Name").click()
    page.get_by_role("button", name="Name ▲").click()
    expect(page.locator("tbody tr").first.locator("td").first).to_have_text("user-19")
    # The view is in the URL: the same address shows the same page after a reload.
    url = page.url
    assert "q=person+1" in url and "sort=name" in url and "desc=1" in url, url
    page.reload()
    expect(page.locator("tbody tr").first.locator("td").first).to_have_text("user-19")
    page.get_by_label("Search").fill("")
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_role("button", name="Next").click()
    expect(page.locator("caption")).to_have_text("47 users, page 2 of 3")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def wrong_password_is_the_generic_message(b):
    page = b.page()
    b.sign_in(page, "root-user", "Not-the-password1")
    expect(page.get_by_role("alert")).to_contain_text("the user_id or password is wrong")
    b.check(page, "sign-in-failed")


def admin_manages_a_user(b):
    """Create (a mailed temporary password), a validation error at its field, find with
    search and a filter, disable, delete after a confirmation naming the user; the last
    admin's protection read as a sentence."""
    page = b.page()
    b.sign_in(page, "root-user")
    page.get_by_role("link", name="New user").click()
    page.get_by_label("User ID").fill("newbie")
    page.get_by_label("Name").fill("New Bie")
    page.get_by_label("Email").fill("newbie@example.com")
    b.check(page, "user-new")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="New Bie (newbie)")).to_be_visible()
    assert b.server.mails_to("newbie@example.com"), "the temporary password's mail"
    page.get_by_label("Timezone").fill("Mars/Olympus")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#timezone-error")).to_contain_text("IANA time zone")
    b.check(page, "user-error")
    page.get_by_label("Timezone").fill("Asia/Seoul")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    b.check(page, "user")
    page.get_by_role("button", name="Mark email verified").click()
    expect(page.get_by_role("status")).to_have_text("The email is marked verified.")
    expect(page.get_by_text("newbie@example.com (verified)")).to_be_visible()
    page.get_by_role("button", name="Reset password").click()
    expect(page.get_by_role("status")).to_have_text("A temporary password was mailed.")
    assert len(b.server.mails_to("newbie@example.com")) == 2, "the reset's mail"
    page.get_by_role("link", name="← Users").click()
    page.get_by_label("Search").fill("newbie")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("caption")).to_have_text("1 users, page 1 of 1")
    expect(page).to_have_url(re.compile(r"q=newbie"))
    page.get_by_label("State").select_option("ENABLED")
    expect(page).to_have_url(re.compile(r"q=newbie.*state=ENABLED|state=ENABLED.*q=newbie"))
    expect(page.locator("caption")).to_have_text("1 users, page 1 of 1")
    page.get_by_role("link", name="newbie").click()
    page.get_by_role("button", name="Disable").click()
    expect(page.get_by_role("status")).to_have_text("Disabled.")
    page.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete newbie?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Delete newbie").click()
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    page.get_by_label("Search").fill("newbie")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("caption")).to_contain_text("0 users")
    # An admin turns a user's MFA off (the user lost its phone).
    page.goto(f"{b.server.base}/console/#/user/mfa-user")
    page.get_by_role("button", name="Turn MFA off").click()
    expect(page.get_by_role("status")).to_have_text("MFA is off.")
    # The domain's last enabled admin cannot be disabled: a sentence, not a code.
    page.goto(f"{b.server.base}/console/#/user/root-user")
    page.get_by_role("button", name="Disable").click()
    expect(page.get_by_role("alert")).to_contain_text("last enabled administrator")


def keyboard_only(b):
    """One flow with the keyboard alone: sign in, open a user from the table, disable it."""
    page = b.page()
    page.goto(f"{b.server.base}/console/")
    expect(page.get_by_label("User ID")).to_be_visible()
    page.keyboard.press("Tab")  # the domain (filled in)
    page.keyboard.press("Tab")
    page.keyboard.type("root-user")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Users")).to_be_visible()

    def tab_to(text):
        for _ in range(60):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement && document.activeElement.textContent.trim()") == text:
                return
        raise AssertionError(f"{text!r} cannot be reached with Tab")

    expect(page.locator("tbody tr")).to_have_count(20)
    tab_to("user-07")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Person 07 (user-07)")).to_be_visible()
    expect(page.get_by_role("button", name="Disable")).to_be_visible()
    tab_to("Disable")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Disabled.")


def first_sign_in_changes_the_temporary_password(b):
    call = b.server.post
    status, _ = call("/identity/v2/user/create",
                     {"user_id": "temp", "auth_type": "LOCAL", "permission_group": "DOMAIN", "domain_id": DOMAIN,
                      "email": "temp@example.com", "reset_password": True}, b.server.admin)
    assert status == 200
    temporary = b.server.temporary_password("temp@example.com")
    page = b.page()
    b.sign_in(page, "temp", temporary)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    b.check(page, "password-change")
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("New password again").fill("short")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#password-error")).to_be_visible()
    page.get_by_label("New password", exact=True).fill("Chosen-Password-7")
    page.get_by_label("New password again").fill("Chosen-Password-7")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()


def required_otp_is_set_up_at_first_sign_in(b):
    """An admin requires OTP: the first sign-in leads straight to the account page's MFA
    set-up (the QR code and its key, shown once), an authenticator (pyotp) gives the code,
    the requirement is cleared (a full session, from a new grant), and the next sign-in asks
    for a code."""
    status, _ = b.server.post(
        "/identity/v2/user/create",
        {"user_id": "otp-user", "auth_type": "LOCAL", "password": PASSWORD, "permission_group": "DOMAIN",
         "domain_id": DOMAIN, "enforce_mfa_state": "ENABLED", "enforce_mfa_type": "OTP"}, b.server.admin)
    assert status == 200
    page = b.page()
    b.sign_in(page, "otp-user")
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    expect(page.get_by_text("An administrator requires MFA for your account")).to_be_visible()
    # Restricted: nothing but the MFA set-up (no profile, no navigation).
    expect(page.get_by_role("heading", name="Profile")).to_have_count(0)
    expect(page.get_by_role("navigation", name="Console")).to_have_count(0)
    page.get_by_role("button", name="Show the code for my app").click()
    app = scan_the_qr_code(page, "otp-user")
    b.check(page, "mfa-set-up")
    page.get_by_label("Code", exact=True).fill(app.code())
    page.get_by_role("button", name="Turn MFA on").click()
    expect(page.get_by_text("MFA is on: a code from your authenticator app")).to_be_visible()
    # The requirement is cleared: the new grant's token is a full one.
    expect(page.get_by_role("navigation", name="Console")).to_be_visible()
    expect(page.get_by_role("heading", name="Profile")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    b.sign_in(page, "otp-user")
    expect(page.get_by_label("Verification code")).to_be_visible()
    page.get_by_label("Verification code").fill(app.code())
    page.get_by_role("button", name="Verify and sign in").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    expect(page.get_by_text("Signed in as otp-user")).to_be_visible()


def scan_the_qr_code(page, user_id):
    """The authenticator app, enrolled from the QR code the page drew: the key shown beside it
    must be the one the QR code holds (the page's <svg> is rendered and decoded by the test:
    `qr_uri`), and pyotp reads that URI."""
    qr = page.get_by_role("img", name="The QR code for your authenticator app")
    expect(qr).to_be_visible()
    uri = qr_uri(qr)
    key = page.locator("code").inner_text()
    assert f"secret={key}" in uri and f":{user_id}?" in uri, (uri, key)
    return Authenticator(uri)


def qr_uri(locator):
    """The text of the QR code `locator` shows, decoded by zxing-cpp from its screenshot."""
    image = Image.open(io.BytesIO(locator.screenshot()))
    found = zxingcpp.read_barcodes(image)
    assert len(found) == 1 and found[0].format == zxingcpp.BarcodeFormat.QRCode, found
    return found[0].text


def change_password(page, password):
    """The account page's password form: the new password twice."""
    page.get_by_label("New password", exact=True).fill(password)
    page.get_by_label("New password again").fill(password)
    page.get_by_role("button", name="Change password").click()


def account_of_a_user(b):
    """A user's own account: the profile saved; the email verified with the mailed code; a new
    password (signed in again with it, the page goes on); an authenticator app set up by its
    QR code, sign-in with its code, MFA turned off with a current code; codes by email turned
    on with the mailed code, and a new password then leads to a sign-in with a code."""
    page = b.page()
    b.sign_in(page, "user-05")
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    # A user who is not an admin has no users table to go to.
    expect(page.get_by_role("link", name="Users", exact=True)).to_have_count(0)
    page.get_by_label("Timezone").fill("Asia/Seoul")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    b.check(page, "account")

    expect(page.get_by_text("p05@example.com: not verified")).to_be_visible()
    page.get_by_role("button", name="Mail me a code").click()
    expect(page.get_by_text("A code was mailed to p05@example.com")).to_be_visible()
    page.get_by_label("Code from the mail").fill("000000" if b.server.last_code("p05@example.com") != "000000" else "111111")
    page.get_by_role("button", name="Verify email").click()
    expect(page.get_by_role("region", name="Email").get_by_role("alert")).to_be_visible()
    page.get_by_label("Code from the mail").fill(b.server.last_code("p05@example.com"))
    page.get_by_role("button", name="Verify email").click()
    expect(page.get_by_role("region", name="Email").get_by_role("status")).to_have_text("Your email is verified.")
    expect(page.get_by_text("p05@example.com: verified")).to_be_visible()

    change_password(page, "Another-Password-5")
    expect(page.get_by_role("status").filter(has_text="password")).to_have_text("Your password was changed.")

    page.get_by_label("An authenticator app").check()
    page.get_by_role("button", name="Show the code for my app").click()
    app = scan_the_qr_code(page, "user-05")
    page.get_by_label("Code", exact=True).fill(app.code())
    page.get_by_role("button", name="Turn MFA on").click()
    expect(page.get_by_role("region", name="Multi-factor authentication").get_by_role("status")).to_have_text("MFA is on.")
    b.check(page, "account-mfa-on")
    page.get_by_role("button", name="Sign out").click()

    b.sign_in(page, "user-05", "Another-Password-5")
    page.get_by_label("Verification code").fill(app.code())
    page.get_by_role("button", name="Verify and sign in").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    page.get_by_role("button", name="Turn MFA off…").click()
    expect(page.get_by_text("Enter a code from your authenticator app.")).to_be_visible()
    page.get_by_label("Code", exact=True).fill(app.code())
    page.get_by_role("button", name="Turn MFA off").click()
    expect(page.get_by_role("region", name="Multi-factor authentication").get_by_role("status")).to_have_text("MFA is off.")

    page.get_by_label("A code by email").check()
    page.get_by_label("Email for codes").fill("codes05@example.com")
    page.get_by_role("button", name="Mail me a code").last.click()
    expect(page.get_by_text("A code was mailed to codes05@example.com")).to_be_visible()
    page.get_by_label("Code", exact=True).fill(b.server.last_code("codes05@example.com"))
    page.get_by_role("button", name="Turn MFA on").click()
    expect(page.get_by_role("region", name="Multi-factor authentication").get_by_role("status")).to_have_text("MFA is on.")
    expect(page.get_by_text("a code mailed to codes05@example.com")).to_be_visible()
    # A new password with MFA on: the sign-in that follows needs a code, so the console sends
    # the user to sign in again, saying why.
    change_password(page, "Third-Password-5")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Your password was changed. Sign in with it, and the code.")
    b.sign_in(page, "user-05", "Third-Password-5")
    # The code field shows once the sign-in's code is mailed (read only then: not the code the
    # console's own sign-in after the change had mailed).
    expect(page.get_by_label("Verification code")).to_be_visible()
    page.get_by_label("Verification code").fill(b.server.last_code("codes05@example.com"))
    page.get_by_role("button", name="Verify and sign in").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()


def overview_links_to_the_filtered_table(b):
    """The overview's charts: each row of each chart's table links to the users table filtered
    to match, which counts as many users as the row; a bar of the chart (the mouse's way)
    leads to the same view."""
    page = b.page()
    b.sign_in(page, "root-user")
    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.locator("table.figures")).to_have_count(6)
    b.check(page, "overview")
    month = time.strftime("%Y-%m", time.gmtime())
    checked = []
    for chart, row in [("Users by state", "ENABLED"), ("Users by state", "DISABLED"), ("Users by auth type", "LOCAL"),
                       ("Users by MFA state", "ENABLED"), ("Users by role", "USER"), ("Users by role", "DOMAIN_ADMIN"),
                       ("Sign-ups per month", month), ("Last access", "Not for 90 days"),
                       ("Last access", "Within 90 days")]:
        section = page.get_by_role("region", name=chart)
        line = section.locator("tbody tr").filter(has=page.get_by_role("link", name=row, exact=True))
        count = int(line.locator("td").inner_text())
        line.get_by_role("link", name=row, exact=True).click()
        expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
        expect(page.locator("caption")).to_have_text(re.compile(rf"^{count} users, page 1 of "))
        checked.append((chart, row, count))
        page.go_back()
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        expect(page.locator("table.figures")).to_have_count(6)
    # Every user was created this month, and this month's column is a link too.
    total = dict(((c, r), n) for c, r, n in checked)
    assert total[("Sign-ups per month", month)] == total[("Users by auth type", "LOCAL")], checked
    page.locator(f'svg [data-href="#/users?created={month}"]').click()
    expect(page.get_by_text(f"Only users created in {month}.")).to_be_visible()
    expect(page.locator("caption")).to_have_text(re.compile(rf"^{total[('Sign-ups per month', month)]} users"))
    b.check(page, "users-filtered")
    return checked


def mfa_sign_in_takes_the_mailed_code(b):
    page = b.page()
    b.sign_in(page, "mfa-user")
    expect(page.get_by_label("Verification code")).to_be_visible()
    b.check(page, "sign-in-code")
    page.get_by_label("Verification code").fill(b.server.last_code("mfa@example.com"))
    page.get_by_role("button", name="Verify and sign in").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    expect(page.get_by_text("Signed in as mfa-user")).to_be_visible()


class Renewal:
    """An expired access token is renewed from the refresh token without losing the page. The
    server issues access tokens of 1 s (ACCESS_TOKEN_TTL), which verification still accepts
    for its 60 s of leeway (SPEC section 5): signed in first, the page is used again once that
    minute is over, while the other flows ran."""

    def __init__(self, b):
        self.page = b.page()
        b.sign_in(self.page, "root-user")
        expect(self.page.locator("caption")).to_contain_text("page 1 of")
        self.signed_in = time.monotonic()

    def check(self):
        time.sleep(max(0.0, self.signed_in + 62 - time.monotonic()))
        with self.page.expect_response(lambda r: "/identity/v2/token/grant" in r.url) as renewal:
            self.page.get_by_role("button", name="Next").click()
        assert renewal.value.status == 200, renewal.value.status
        expect(self.page.locator("caption")).to_contain_text("page 2 of")
        expect(self.page.get_by_role("heading", name="Users")).to_be_visible()


def lighthouse(server, reports):
    """Lighthouse on the users page and the account page, signed in as the admin
    (scripts/lighthouse/run.mjs): performance, accessibility and best practices each >= 95."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lighthouse", "run.mjs")
    subprocess.run(["node", script, server.base, DOMAIN, "root-user", PASSWORD, reports], check=True)


class Api:
    """The API and console of a deployment (here `sam local start-api` running the Lambda
    functions on moto), as the flows need it: its base URL."""

    def __init__(self, base):
        self.base = base


FAVICON = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "console", "dist",
                            "favicon.svg")).read()


def through_the_lambda_functions(base, admin_id, password, shots=None):
    """The console served by the users-console function, on the API's origin, and the API's
    functions behind it (scripts/sam_local.py runs this against `sam local start-api`): an
    admin signs in, the users table, the overview's chart rows lead to the matching filtered
    table, an authenticator app set up on the account page from the QR code, and the next
    sign-in takes its code. axe on the overview and the account page."""
    with sync_playwright() as playwright:
        b = Browser(playwright, Api(base), shots)
        page = b.page()
        # chromium asks for the favicon again at each change of the hash, beside the page's own
        # calls; sam local start-api has left a request unanswered when asked two things at
        # once (the HTTP API on AWS has no such limit), so the favicon is answered here
        # (console_on_the_api checks it is served). The page's calls all go to the functions.
        page.route("**/console/favicon.svg", lambda route: route.fulfill(
            status=200, content_type="image/svg+xml", body=FAVICON))
        try:
            b.sign_in(page, admin_id, password)
            expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible(timeout=60_000)
            expect(page.locator("caption")).to_have_text(re.compile(r"^\d+ users, page 1 of"), timeout=60_000)
            page.get_by_role("link", name="Overview").click()
            expect(page.locator("table.figures")).to_have_count(6, timeout=60_000)
            b.check(page, "overview")
            line = page.get_by_role("region", name="Users by auth type").locator("tbody tr").filter(
                has=page.get_by_role("link", name="LOCAL", exact=True))
            count = int(line.locator("td").inner_text())
            line.get_by_role("link", name="LOCAL", exact=True).click()
            expect(page.locator("caption")).to_have_text(re.compile(rf"^{count} users, page 1 of "), timeout=60_000)
            page.get_by_role("link", name="My account").click()
            expect(page.get_by_role("heading", name="My account")).to_be_visible(timeout=60_000)
            page.get_by_label("An authenticator app").check()
            page.get_by_role("button", name="Show the code for my app").click()
            app = scan_the_qr_code(page, admin_id)
            b.check(page, "account-otp")
            page.get_by_label("Code", exact=True).fill(app.code())
            page.get_by_role("button", name="Turn MFA on").click()
            expect(page.get_by_role("region", name="Multi-factor authentication").get_by_role("status")).to_have_text(
                "MFA is on.", timeout=60_000)
            page.get_by_role("button", name="Sign out").click()
            b.sign_in(page, admin_id, password)
            page.get_by_label("Verification code").fill(app.code())
            page.get_by_role("button", name="Verify and sign in").click()
            expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible(timeout=60_000)
        except Exception:
            # What the page showed when the flow stopped: its text, and a screenshot if there is a folder.
            print(f"the page at {page.url}:\n{page.locator('body').inner_text()}\nproblems: {b.problems}\nunanswered: {b.pending}\ntrail: {b.trail}")
            if shots:
                page.screenshot(path=os.path.join(shots, "failure.png"))
            raise
        b.browser.close()
    assert not b.problems, b.problems
    print("ok   the console in chromium through the Lambda functions: sign-in, the users table, the overview's "
          "chart to its filtered table, OTP set up from the QR code and a sign-in with its code; axe clean")


def main():
    if sys.argv[1] == "--api":
        if len(sys.argv) > 5:
            os.makedirs(sys.argv[5], exist_ok=True)
        through_the_lambda_functions(*sys.argv[2:6])
        return
    binary, shots = sys.argv[1], sys.argv[2]
    os.makedirs(shots, exist_ok=True)
    os.environ["ACCESS_TOKEN_TTL"] = "1"
    server = Server(binary)
    try:
        prepare(server)
        with sync_playwright() as playwright:
            b = Browser(playwright, server, shots)
            page = b.page()
            assets = []
            page.on("response", lambda r: "/console/assets/" in r.url and assets.append(r))
            index = page.goto(f"{server.base}/console/")
            headers = index.headers
            assert "script-src 'self'" in headers["content-security-policy"], headers
            assert "frame-ancestors 'none'" in headers["content-security-policy"], headers
            assert headers["x-content-type-options"] == "nosniff", headers
            assert headers["referrer-policy"] == "no-referrer", headers
            assert headers["cache-control"] == "no-cache", headers
            page.wait_for_load_state("networkidle")
            assert assets, "no asset loaded"
            for asset in assets:
                assert asset.headers["cache-control"] == "public, max-age=31536000, immutable", asset.headers
                assert asset.headers.get("content-encoding") == "gzip", asset.headers
            b.check(page, "sign-in")
            renewal = Renewal(b)
            admin_finds_users(b)
            wrong_password_is_the_generic_message(b)
            mfa_sign_in_takes_the_mailed_code(b)
            admin_manages_a_user(b)
            keyboard_only(b)
            first_sign_in_changes_the_temporary_password(b)
            required_otp_is_set_up_at_first_sign_in(b)
            account_of_a_user(b)
            overview_links_to_the_filtered_table(b)
            renewal.check()
            b.browser.close()
        assert not b.problems, b.problems
        lighthouse(server, os.path.join(os.path.dirname(os.path.abspath(shots)), "lighthouse"))
    finally:
        server.close()
    print(f"console in chromium: sign-in, the users table (search, filters, sort, pages, the URL), the "
          f"generic failure, EMAIL MFA, create / edit / disable / delete, the forced password change, a "
          f"keyboard-only flow, an expired token renewed, OTP set up when required, my account (profile, email, password, "
          f"OTP by QR, EMAIL MFA), the overview's charts and their filtered tables; axe clean on every page; screenshots in {shots}")


if __name__ == "__main__":
    main()
