"""How fast the console shows a large domain (issue 36): a bench script, not a test.

    cargo build --release --bin users-local
    python3 -m venv target/tools/bench-venv && target/tools/bench-venv/bin/pip install playwright==1.65.3
    target/tools/bench-venv/bin/python scripts/bench/console_users.py target/release/users-local [USERS]

It makes a domain of USERS users (100,000 by default) and one admin with a password in a data
folder (`cargo bench -p shared --bench console_domain`, one transaction), serves it with
`users-local serve` on 127.0.0.1, signs the admin in to the console in Debian's chromium, then
measures, each time by the page's own clock (the time until the table holds its 20 rows):

- time to an interactive users table: a reload of the signed-in console (the session is
  renewed from sessionStorage's refresh token, then `list` answers the first page), 11 times;
- a page change: "Next" after the page settled (a reader looks at a page first; the next one
  was fetched ahead meanwhile), 20 times; and a jump to a page not fetched ahead (the
  addresses of pages 1000, 1100, … 2900), 20 times, which waits for `list`.

and prints the median and the spread of each (docs/performance.md).
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time

from playwright.sync_api import expect, sync_playwright

DOMAIN = "domain-local"
PASSWORD = "Wonderland1"


def seed(data, users):
    """The domain, in one transaction (shared/benches/console_domain.rs)."""
    started = time.monotonic()
    subprocess.run(["cargo", "bench", "-q", "-p", "shared", "--bench", "console_domain", "--", data, str(users)],
                   check=True)
    print(f"seeded {users} users in {time.monotonic() - started:.0f} s (the build included)")


def serve(binary, data):
    process = subprocess.Popen([binary, "serve", "--port", "0"], env=dict(os.environ, DATA_DIR=data),
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in process.stdout:
        if line.startswith("users-local listening on "):
            return process, line.split()[3]
    raise SystemExit("users-local did not start")


def spread(name, samples):
    ms = sorted(s * 1000 for s in samples)
    print(f"{name}: median {statistics.median(ms):.0f} ms (min {ms[0]:.0f}, max {ms[-1]:.0f}, n={len(ms)})")


def main():
    binary = sys.argv[1]
    users = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    data = tempfile.mkdtemp(prefix="console-bench-")
    seed(data, users)
    process, base = serve(binary, data)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{base}/console/")
            page.get_by_label("User ID").fill("root-user")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            rows = page.locator("tbody tr")
            expect(rows).to_have_count(20, timeout=60_000)
            expect(page.locator("caption")).to_contain_text(f"{users + 1} users")
            # Timed by the page's own clock, polling once per animation frame (Playwright's
            # own waits poll every 100-1000 ms: too coarse for this).
            until_shown = """async ([action, n]) => {
                const t0 = performance.now();
                if (action === 'next') document.querySelector('nav.pager button:last-child').click();
                if (action === 'jump') location.hash = `#/users?page=${n}`;
                for (;;) {
                    const caption = document.querySelector('caption')?.textContent ?? '';
                    if (caption.includes(`page ${n} of`) && document.querySelectorAll('tbody tr').length === 20) {
                        return (action === 'load' ? performance.now() : performance.now() - t0) / 1000;
                    }
                    await new Promise((r) => requestAnimationFrame(r));
                }
            }"""
            loads = []
            for _ in range(11):
                page.reload()
                # From the navigation's start (the page's time origin) to the full table.
                loads.append(page.evaluate(until_shown, ["load", 1]))
            spread("time to an interactive table (reload, signed in)", loads)
            # A reader looks at a page before the next: the next page, fetched ahead meanwhile,
            # shows at once on Next.
            changes = []
            for page_number in range(2, 22):
                page.wait_for_timeout(1000)  # a second on the page (a load state is once per navigation)
                changes.append(page.evaluate(until_shown, ["next", page_number]))
            spread("page change (Next, the page fetched ahead)", changes)
            # A page not fetched ahead: a jump through the address, which waits for `list`.
            jumps = []
            for page_number in range(1000, 3000, 100):
                page.wait_for_timeout(1000)
                jumps.append(page.evaluate(until_shown, ["jump", page_number]))
            spread("page change (a jump, not fetched ahead)", jumps)
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=15)


if __name__ == "__main__":
    main()
