// Lighthouse (npm lighthouse 12.2.3, its default mobile settings and simulated throttling) on
// the console's users page and account page, signed in: Debian's chromium under puppeteer-core
// (Lighthouse's own dependency) signs in through the page as a person does, then each page is
// a Lighthouse navigation in that tab, keeping its sessionStorage (disableStorageReset), so the
// page audited is the signed-in one. Fails unless performance, accessibility and best
// practices are each at least 95 on both; the HTML reports go to REPORT_DIR.
//
// Usage: node run.mjs BASE_URL DOMAIN USER_ID PASSWORD REPORT_DIR
import { mkdirSync, writeFileSync } from "node:fs";
import { navigation, generateReport } from "lighthouse";
import puppeteer from "puppeteer-core";

const [base, domain, userId, password, reports] = process.argv.slice(2);
const CATEGORIES = ["performance", "accessibility", "best-practices"];
const MINIMUM = 95;
const PAGES = [
  ["users", "#/users", "Users"],
  ["account", "#/account", "My account"],
];

mkdirSync(reports, { recursive: true });
const browser = await puppeteer.launch({
  executablePath: process.env.CHROME_PATH ?? "/usr/bin/chromium",
  headless: true,
  // The test runs as root in a container, where chromium's sandbox cannot start.
  args: ["--no-sandbox"],
});
let failed = false;
try {
  const page = await browser.newPage();
  await page.goto(`${base}/console/`);
  const field = async (name, value) => {
    const input = await page.waitForSelector(`input[name="${name}"]`);
    await input.click({ clickCount: 3 });
    await input.type(value);
  };
  await field("domain_id", domain);
  await field("user_id", userId);
  await field("password", password);
  await page.click('button[type="submit"]');
  await page.waitForFunction(() => document.querySelector("h1")?.textContent === "Users");

  for (const [name, hash, heading] of PAGES) {
    const result = await navigation(page, `${base}/console/${hash}`, {
      flags: { disableStorageReset: true, onlyCategories: CATEGORIES, logLevel: "error" },
    });
    const lhr = result.lhr;
    const shown = await page.evaluate(() => document.querySelector("h1")?.textContent);
    if (shown !== heading) {
      console.error(`lighthouse ${name}: the page audited shows "${shown}", not "${heading}" (not signed in?)`);
      failed = true;
    }
    writeFileSync(`${reports}/${name}.html`, generateReport(lhr, "html"));
    const scores = CATEGORIES.map((id) => [id, Math.round((lhr.categories[id]?.score ?? 0) * 100)]);
    console.log(`lighthouse ${name}: ${scores.map(([id, score]) => `${id} ${score}`).join(", ")}`);
    for (const [id, score] of scores) {
      if (score < MINIMUM) {
        failed = true;
        const category = lhr.categories[id];
        const lost = category.auditRefs
          .map((ref) => lhr.audits[ref.id])
          .filter((audit) => audit.score !== null && audit.score < 1 && audit.scoreDisplayMode !== "informative")
          .map((audit) => `${audit.id} (${audit.displayValue ?? audit.score})`);
        console.error(`lighthouse ${name}: ${id} ${score} < ${MINIMUM}: ${lost.join(", ")}`);
      }
    }
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
