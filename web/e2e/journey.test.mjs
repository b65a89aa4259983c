// The team journey in a real browser: sign up, confirm the address from the mail, create a
// workspace, a team, a project and a record, invite a colleague who joins from the mailed
// link in a second browser, edits the record (with markup in its title), and the owner finds
// the change in the audit log and verifies the chain. Plus the attacks: markup renders as
// text, a cross-site form post is refused, and no page breaks its Content-Security-Policy.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { freePort, launchBrowser, startMail, startServer, watchedPage } from "./harness.mjs";

const shots = resolve(import.meta.dirname, "..", "..", "docs", "console");
const XSS = "<img src=x onerror=alert(1)>";
let mail, server, browser;

before(async () => {
  mail = await startMail();
  server = await startServer(mail);
  browser = await launchBrowser();
  mkdirSync(shots, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  mail?.stop();
});

async function shot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

async function signUp(page, name, email, password) {
  await page.goto(`${server.url}/signup`);
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("heading", { name: "Your workspaces" }).waitFor();
}

test("a team comes together in the console", async () => {
  const ada = await browser.newContext();
  const { page, problems } = await watchedPage(ada);

  // Sign up; the banner asks to confirm the address, the mailed link does it.
  await signUp(page, "Ada", "ada@example.com", "correct horse battery");
  await page.getByText("Confirm your address").waitFor();
  await shot(page, "workspaces");
  await page.goto(await mail.link("ada@example.com", "/verify-email"));
  await page.getByText("Your email address is confirmed.").waitFor();
  assert.equal(new URL(page.url()).hash, "", "the token leaves the address bar");

  // A workspace, a team, a project, a record.
  await page.goto(`${server.url}/`);
  await page.getByLabel("Name", { exact: true }).fill("Acme Legal");
  assert.equal(await page.getByLabel("Address").inputValue(), "acme_legal");
  await page.getByRole("button", { name: "Create workspace" }).click();
  await page.waitForURL(/\/w\/acme_legal$/);
  await page.getByLabel("Team name").fill("Litigation");
  await page.getByRole("button", { name: "Create team" }).click();
  await page.getByRole("heading", { name: "New project" }).waitFor();
  await page.getByRole("form", { name: "New project" }).getByLabel("Name").fill("Case 42");
  await page.getByRole("button", { name: "Create project" }).click();
  await page.getByRole("link", { name: "Case 42" }).click();
  await page.getByRole("form", { name: "New record" }).getByLabel("Title").fill("Draft the brief");
  await page.getByRole("button", { name: "Add record" }).click();
  await page.getByText("Draft the brief").waitFor();
  const projectUrl = page.url();
  await shot(page, "project");

  // Invite Grace; she joins from the mailed link in her own browser.
  await page.getByRole("link", { name: "Members" }).click();
  await page.getByRole("form", { name: "Invite someone" }).getByLabel("Email").fill("grace@example.com");
  await page.getByRole("button", { name: "Send invitation" }).click();
  await page.getByText("Invitation sent to grace@example.com").waitFor();
  await shot(page, "members");

  // Ada watches the project while Grace works on it.
  await page.goto(projectUrl);
  await page.getByRole("status").filter({ hasText: /^Live$/ }).waitFor();

  const graceCtx = await browser.newContext();
  const grace = await watchedPage(graceCtx);
  await grace.page.goto(await mail.link("grace@example.com", "/join/acme_legal"));
  await grace.page.getByRole("heading", { name: "Join Acme Legal" }).waitFor();
  await grace.page.getByLabel("Your name").fill("Grace");
  await grace.page.getByLabel("Password").fill("another long secret");
  await grace.page.getByRole("button", { name: "Create account and join" }).click();
  await grace.page.waitForURL(/\/w\/acme_legal$/);

  // Grace renames the record with markup in it: everyone sees it as text.
  await grace.page.goto(projectUrl);
  await grace.page.locator("li.record").getByRole("button", { name: "Edit", exact: true }).click();
  await grace.page.getByRole("form", { name: "Edit Draft the brief" }).getByLabel("Title").fill(XSS);
  const saved = Date.now();
  await grace.page.getByRole("button", { name: "Save", exact: true }).click();
  // Ada's page shows the change without a reload.
  await page.getByText(XSS, { exact: true }).waitFor({ timeout: 5000 });
  console.log(`live update: Grace's edit appeared in Ada's browser ${Date.now() - saved} ms after she saved`);
  await grace.page.getByText(XSS, { exact: true }).waitFor();
  assert.equal(await page.locator(".records img").count(), 0, "markup in a title is never rendered");

  // Ada sees Grace as a member, and the change in the audit log; the chain verifies.
  await page.getByRole("link", { name: "Members" }).click();
  await page.getByRole("cell", { name: "grace@example.com" }).waitFor();
  await page.getByRole("link", { name: "Audit log" }).click();
  await page.getByLabel("Action").fill("updateRecord");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.getByRole("button", { name: "updateRecord" }).first().click();
  await page.locator("td.after", { hasText: XSS }).waitFor();
  assert.equal(await page.locator("td.before", { hasText: "Draft the brief" }).count(), 1);
  await page.getByRole("button", { name: "Verify the chain" }).click();
  await page.getByText(/^Intact: \d+ entries/).waitFor();
  await shot(page, "audit");

  assert.deepEqual(problems, []);
  assert.deepEqual(grace.problems, []);
  await graceCtx.close();
  await ada.close();
});

test("a cross-site form cannot act for a signed-in person", async () => {
  const ctx = await browser.newContext();
  const { page } = await watchedPage(ctx);
  await signUp(page, "Victim", "victim@example.com", "victim passphrase!");

  // Another site posts a form at Tessera's API (text/plain, no preflight), with the
  // victim's browser.
  const port = await freePort();
  const evil = createServer((_, res) => {
    res.setHeader("Content-Type", "text/html");
    res.end(`<form method="POST" action="${server.url}/graphql" enctype="text/plain">
      <input name='{"query":"mutation { createWorkspace(name: \\"Evil\\", slug: \\"evil_ws\\") { slug } }","x":"' value='"}'>
      </form><script>document.forms[0].submit()</script>`);
  });
  await new Promise((r) => evil.listen(port, "127.0.0.1", r));
  try {
    // The forged request itself, not the console's own queries still in flight.
    const answer = page.waitForResponse(
      (r) => r.url() === `${server.url}/graphql` && r.request().method() === "POST" && (r.request().postData() ?? "").includes("evil_ws"),
    );
    await page.goto(`http://127.0.0.1:${port}/`);
    const resp = await answer;
    assert.notEqual(resp.status(), 200, "the forged post is refused");
  } finally {
    evil.close();
  }

  await page.goto(`${server.url}/`);
  await page.getByRole("heading", { name: "Your workspaces" }).waitFor();
  await page.getByText("You are not in a workspace yet").waitFor();
  assert.equal(await page.getByText("Evil").count(), 0);
  await ctx.close();
});

test("the demo owner signs in with what the server printed", async () => {
  const ctx = await browser.newContext();
  const { page, problems } = await watchedPage(ctx);
  const started = Date.now();
  await page.goto(`${server.url}/w/demo/members`);
  await page.waitForURL(/\/signin\?next=/);
  await page.getByLabel("Email").waitFor();
  // Printed, not asserted (issue 21's budget: under a second locally).
  const nav = await page.evaluate(() => performance.getEntriesByType("navigation")[0]?.toJSON());
  console.log(
    `first page on the demo: interactive after ${Math.round(nav?.domInteractive ?? -1)} ms, ` +
      `sign-in form usable after ${Date.now() - started} ms (cold cache)`,
  );
  await page.getByLabel("Email").fill(server.demo.email);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("alert").filter({ hasText: "Invalid email or password" }).waitFor();
  await page.getByLabel("Password").fill(server.demo.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForURL(/\/w\/demo\/members$/);
  await page.getByRole("cell", { name: server.demo.email }).waitFor();
  await shot(page, "signin-demo");
  assert.deepEqual(problems, []);
  await ctx.close();
});
