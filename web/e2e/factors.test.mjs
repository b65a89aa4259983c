// Second factors in a real browser: an authenticator app enrolled from its QR page and used
// (with a recovery code) at sign-in, and a passkey registered and used to sign in through
// Chromium's virtual authenticator (DevTools WebAuthn domain). Also the workspace settings:
// an export followed to its download, and an API token shown once, used, and revoked.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { after, before, test } from "node:test";
import { launchBrowser, startMail, startServer, watchedPage } from "./harness.mjs";

let mail, server, browser;
const shots = resolve(import.meta.dirname, "..", "..", "docs", "console");

before(async () => {
  mail = await startMail();
  server = await startServer(mail);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  mail?.stop();
});

/** RFC 6238: the 6-digit code of a base32 seed for the current 30-second step. */
function totp(base32) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of base32.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(ch).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const at = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

async function signUp(page, name, email, password) {
  await page.goto(`${server.url}/signup`);
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("heading", { name: "Your workspaces" }).waitFor();
}

async function signOut(page) {
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/signin$/);
}

test("an authenticator app is enrolled from its QR code and asked for at sign-in", async () => {
  const ctx = await browser.newContext();
  const { page, problems } = await watchedPage(ctx);
  await signUp(page, "Tess", "tess@example.com", "a very long passphrase");
  await page.getByRole("link", { name: "Security" }).click();
  await page.getByRole("button", { name: "Set up an authenticator app" }).click();
  await page.getByRole("img", { name: "QR code of the authenticator seed" }).waitFor();
  const secret = await page.getByTestId("totp-secret").textContent();
  await page.getByLabel("Code from the app").fill(totp(secret));
  await page.getByRole("button", { name: "Turn on" }).click();
  await page.getByText("The authenticator app is on.").waitFor();
  const codes = await page.getByRole("list", { name: "Recovery codes" }).locator("code").allTextContents();
  assert.equal(codes.length, 10);
  await page.screenshot({ path: `${shots}/security.png`, fullPage: true });

  await signOut(page);
  await page.getByLabel("Email").fill("tess@example.com");
  await page.getByLabel("Password").fill("a very long passphrase");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByLabel("Code").fill("000000");
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByRole("alert").waitFor();
  // A recovery code works once.
  await page.getByLabel("Code").fill(codes[0]);
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByRole("heading", { name: "Your workspaces" }).waitFor();
  assert.deepEqual(problems, []);
  await ctx.close();
});

test("a passkey is registered and signs in, with the browser's virtual authenticator", async () => {
  const ctx = await browser.newContext();
  const { page, problems } = await watchedPage(ctx);
  const cdp = await ctx.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  await signUp(page, "Pat", "pat@example.com", "pat's long passphrase");
  await page.getByRole("link", { name: "Security" }).click();
  await page.getByLabel("Passkey name").fill("Test laptop");
  await page.getByRole("button", { name: "Add a passkey" }).click();
  await page.getByText("Test laptop").waitFor();
  await page.getByRole("list", { name: "Recovery codes" }).waitFor();

  await signOut(page);
  // The sign-in page offers the passkey in autofill at once (the virtual authenticator
  // answers by itself), or through its button: either way, no password.
  const home = page.getByRole("heading", { name: "Your workspaces" });
  await Promise.race([home.waitFor(), page.getByRole("button", { name: "Sign in with a passkey" }).click().catch(() => {})]);
  await home.waitFor();
  assert.deepEqual(problems, []);
  await ctx.close();
});

test("an owner exports the workspace and mints an API token that is shown once", async () => {
  const ctx = await browser.newContext();
  const { page, problems } = await watchedPage(ctx);
  await signUp(page, "Owen", "owen@example.com", "owen's long passphrase");
  await page.getByLabel("Name", { exact: true }).fill("Exporters");
  await page.getByRole("button", { name: "Create workspace" }).click();
  await page.waitForURL(/\/w\/exporters$/);
  await page.getByRole("link", { name: "Settings" }).click();

  await page.getByRole("button", { name: "Export workspace" }).click();
  const download = page.getByRole("link", { name: "Download" });
  await download.waitFor({ timeout: 30_000 });
  const [file] = await Promise.all([page.waitForEvent("download"), download.click()]);
  const exported = JSON.parse(readFileSync(await file.path(), "utf8"));
  assert.ok(exported && typeof exported === "object");

  await page.getByLabel("Token name", { exact: true }).fill("nightly");
  await page.getByRole("button", { name: "Create token" }).click();
  const token = await page.getByTestId("new-token").textContent();
  assert.match(token, /^tsr_/);
  const ask = () =>
    fetch(`${server.url}/w/exporters/graphql`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ query: "{ viewer { role } }" }),
    });
  assert.equal((await ask()).status, 200);
  await page.getByRole("button", { name: "Revoke" }).click();
  await page.getByText("No API tokens.").waitFor();
  assert.equal((await ask()).status, 401);
  // Shown once: after a reload the secret is nowhere on the page.
  await page.reload();
  await page.getByRole("heading", { name: "API tokens" }).waitFor();
  assert.equal(await page.getByText(token).count(), 0);
  await page.screenshot({ path: `${shots}/settings.png`, fullPage: true });
  assert.deepEqual(problems, []);
  await ctx.close();
});
