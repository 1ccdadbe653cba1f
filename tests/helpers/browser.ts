// A real browser for UI tests: Debian's Chromium (apt-get install -y chromium), driven by
// puppeteer-core over the DevTools protocol. Nothing is downloaded; a fresh profile per launch.
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import puppeteer, { type Browser } from "puppeteer-core";
import { skipUnless } from "./ci.js";
import { tempDir } from "./temp.js";

const root = new URL("../..", import.meta.url).pathname;

let found: string | null | undefined;

/** MEDFCL_CHROMIUM, or the first of chromium / chromium-browser that runs. */
export function chromiumPath(): string | null {
  if (found !== undefined) return found;
  const candidates = [process.env.MEDFCL_CHROMIUM, "chromium", "chromium-browser"].filter((c): c is string => Boolean(c));
  found = null;
  for (const c of candidates) {
    const r = spawnSync("sh", ["-c", `command -v "${c}"`], { encoding: "utf8" });
    if (r.status === 0 && r.stdout.trim()) {
      found = r.stdout.trim();
      break;
    }
  }
  return found;
}

/**
 * For `describe(name, { skip: browserSkipReason() })`: false when Chromium is there; a message when
 * it is not. Under CI=true a missing browser is an error, not a skip.
 */
export function browserSkipReason(): string | false {
  return skipUnless("the browser tests", chromiumPath() ? false : "chromium is not installed (apt-get install -y chromium, or MEDFCL_CHROMIUM=/path)", "MEDFCL_REQUIRE_BROWSER");
}

/** Where a test's screenshots go: test-output/<name>/ at the repo root (git-ignored; CI keeps it). */
export function testOutputDir(name: string): string {
  const dir = join(root, "test-output", name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * The few DOM types the page-side callbacks of `page.evaluate` use; the project compiles without the
 * DOM lib (it is a Node project), so tests cast `globalThis` to this.
 */
export interface PageGlobals {
  document: {
    documentElement: { scrollWidth: number; clientWidth: number };
    querySelector(selector: string): PageElement | null;
    querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
  };
  innerWidth: number;
  innerHeight: number;
}
export interface PageElement {
  textContent: string | null;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { left: number; right: number; top: number; bottom: number; width: number; height: number };
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
}

export interface LaunchedBrowser {
  browser: Browser;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<LaunchedBrowser> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error("chromium is not installed");
  const profile = tempDir("medfcl-chromium-");
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    // Root in CI containers has no user namespace sandbox; no GPU; nothing reaches the network.
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
      `--user-data-dir=${profile}`,
    ],
  });
  return {
    browser,
    async close() {
      await browser.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
