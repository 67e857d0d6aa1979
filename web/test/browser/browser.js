// Browser helpers for the app's tests: Chromium through playwright-core, one "player" per
// browser context (its own localStorage, so its own session), and a watch on every page
// that records console errors, uncaught exceptions, failed requests and HTTP errors, so a
// test can assert that none happened. Screenshots go to web/test/screenshots/ (gitignored).

import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SHOTS = path.join(HERE, "../screenshots");
const CHROMIUM = process.env.CHORUS_CHROMIUM || "/usr/bin/chromium";

/** Chromium, headless, as the CI machine runs it. */
export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
  });
}

/** The two sizes every main screen is photographed at. */
export const DESKTOP = { viewport: { width: 1280, height: 800 } };
export const MOBILE = { viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

/** The password every test player signs up with. */
export const PASSWORD = "correct-horse-battery";

/** How long a test waits for what a person would see. */
export const SEEN = { timeout: 15000 };

/** Signs `who` (a {@link player}) up as `name` through the app at `url`, as a person does, and waits for the lobby. */
export async function signUpThroughPage(who, url, name) {
  await who.page.goto(url);
  await who.page.getByRole("tab", { name: "Sign up" }).click();
  await who.page.getByLabel("Name").fill(name);
  await who.page.getByLabel("Password").fill(PASSWORD);
  await who.page.getByRole("button", { name: "Create account" }).click();
  await who.page.getByRole("heading", { name: "Lobby", level: 1 }).waitFor(SEEN);
}

/** Chromium's own line for a WebSocket that could not connect (a reconnect attempt). */
const WS_FAILED = /^WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/core\/game\/v1\/real-time\/(private|public)' failed/;

/**
 * A player: a page in a fresh context of `browser`, named `label` (its screenshots' suffix),
 * with every problem the page reports collected in `problems`.
 */
export async function player(browser, label, options) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const problems = [];
  /** Every response: url, status, bytes (transfer size of the body). */
  const responses = [];
  let reconnecting = false;
  let allowedWsFailures = 0;
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    if (reconnecting && WS_FAILED.test(m.text())) {
      allowedWsFailures++;
      return;
    }
    problems.push(`console error: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`uncaught: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
  page.on("response", async (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
    const entry = { url: r.url(), status: r.status(), bytes: 0 };
    responses.push(entry);
    try {
      entry.bytes = (await r.request().sizes()).responseBodySize;
    } catch {
      // the page went away before the body was read
    }
  });
  return {
    label,
    context,
    page,
    problems,
    responses,
    /** While true, Chromium's "WebSocket connection … failed" lines are expected (and counted). */
    set reconnecting(on) {
      reconnecting = on;
    },
    get allowedWsFailures() {
      return allowedWsFailures;
    },
    /** Saves a screenshot `<name>-<label>.png`. */
    async shot(name) {
      fs.mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SHOTS, `${name}-${label}.png`), fullPage: false });
    },
  };
}
