// What the browser tests run against: the real binary (`serve --demo` in a temporary data
// directory, so a private PostgreSQL of its own), MailDev as its SMTP server, and Debian's
// Chromium driven by playwright-core.
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const root = resolve(import.meta.dirname, "..", "..");

export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.on("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

function waitForLine(child, pattern, what, ms = 90_000) {
  return new Promise((ok, fail) => {
    let seen = "";
    const timer = setTimeout(() => fail(new Error(`${what} did not start:\n${seen}`)), ms);
    const onData = (d) => {
      seen += d.toString();
      const m = seen.match(pattern);
      if (m) {
        clearTimeout(timer);
        ok(m);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (d) => (seen += d.toString()));
    child.on("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`${what} exited (${code}):\n${seen}`));
    });
  });
}

/** MailDev on free ports; `mails(to)` reads what it received. */
export async function startMail() {
  const [smtp, web] = [await freePort(), await freePort()];
  const child = spawn("node", [join(root, "tests/mail/server.mjs"), String(smtp), String(web), "tessera", "mail-secret"], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  await waitForLine(child, /READY/, "MailDev");
  return {
    smtp,
    async mails(to) {
      const list = await (await fetch(`http://127.0.0.1:${web}/api/email`)).json();
      return list.filter((m) => m.envelope.to.some((t) => t.address.toLowerCase() === to));
    },
    /** The first link in the newest mail to `to` whose path starts with `path`, waiting for it. */
    async link(to, path) {
      for (let i = 0; i < 100; i++) {
        const found = (await this.mails(to))
          .reverse()
          .map((m) => m.text.match(new RegExp(`https?://[^\\s]*${path}[^\\s]*`)))
          .find(Boolean);
        if (found) return found[0];
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no mail to ${to} with a ${path} link`);
    },
    stop() {
      child.stdin.end();
    },
  };
}

/** `tessera serve --demo` on a free port, mailing through `mail`. */
export async function startServer(mail) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "tessera-e2e-"));
  // As root, the private cluster runs as the postgres user, which must reach its folder.
  chmodSync(dir, 0o755);
  const bin = process.env.TESSERA_BIN ?? join(root, "target/debug/tessera");
  const env = { ...process.env };
  // The demo's own private PostgreSQL, whatever the surrounding shell points at.
  for (const k of ["TESSERA_DATABASE_URL", "TESSERA_MIGRATOR_DATABASE_URL", "TESSERA_DATABASE_URL_FILE", "TESSERA_MIGRATOR_DATABASE_URL_FILE"]) delete env[k];
  // A suite's people all sign up and create workspaces from 127.0.0.1, more than the 5 a
  // minute one address gets of each by default (limits the API tests check), so the suites'
  // server allows more.
  const config = join(dir, "tessera.toml");
  writeFileSync(config, "[auth]\nsignup_per_minute_per_ip = 100\nworkspace_creations_per_minute_per_ip = 100\n");
  const child = spawn(bin, ["serve", "--demo"], {
    cwd: dir,
    env: {
      ...env,
      TESSERA_DATA_DIR: join(dir, "data"),
      TESSERA_LISTEN: `127.0.0.1:${port}`,
      TESSERA_SMTP_HOST: "127.0.0.1",
      TESSERA_SMTP_PORT: String(mail.smtp),
      TESSERA_SMTP_TLS: "none",
      TESSERA_SMTP_USERNAME: "tessera",
      TESSERA_SMTP_PASSWORD: "mail-secret",
      TESSERA_ALLOW_LOOPBACK_OUTBOUND: "true",
      TESSERA_RATE_LIMITS_ENABLED: "false",
      TESSERA_CONFIG: config,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const [, url, email, password] = await waitForLine(
    child,
    /Tessera Console: (\S+?)\/?[^\S\n]*\n\s+sign in as (\S+)\s*\n\s+password\s+(\S+)/,
    "tessera serve --demo",
  );
  return {
    url,
    demo: { email, password },
    async stop() {
      const exited = new Promise((r) => child.on("exit", r));
      child.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
}

/**
 * A page that records Content-Security-Policy violations, console errors and dialogs (an
 * injected `alert` would open one), for the test to assert there were none.
 */
export async function watchedPage(context) {
  const page = await context.newPage();
  const problems = [];
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  page.on("console", (m) => {
    if (m.type() === "error" && /CSP violation|Content Security Policy/.test(m.text())) problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("dialog", async (d) => {
    if (d.type() === "alert") problems.push(`alert opened: ${d.message()}`);
    await d.accept();
  });
  return { page, problems };
}

/** The test OpenID provider (tests/oidc) on a free port, with `clients` registered. */
export async function startOidc(clients) {
  const port = await freePort();
  const child = spawn("node", [join(root, "tests/oidc/provider.mjs"), String(port), JSON.stringify(clients)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  await waitForLine(child, /ready/, "the OpenID provider");
  return {
    issuer: `http://127.0.0.1:${port}`,
    stop() {
      child.kill();
    },
  };
}
