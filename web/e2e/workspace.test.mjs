// The rest of a workspace in a real browser: goals and ideas (an idea becomes a project),
// files attached and downloaded through the signing proxy, a webhook endpoint whose secret
// is shown once, the audit log of a date range downloaded, single sign-on configured and
// used through the test OpenID provider, members provisioned over SCIM, an IP allowlist set
// without locking its owner out,
// and a deleted workspace restored.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { after, before, test } from "node:test";
import { launchBrowser, startMail, startOidc, startServer, watchedPage } from "./harness.mjs";

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

async function ownerWithWorkspace(ctx, email, name, slug) {
  const watched = await watchedPage(ctx);
  const { page } = watched;
  await page.goto(`${server.url}/signup`);
  await page.getByLabel("Your name").fill("Owner");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("a long enough secret");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("heading", { name: "Your workspaces" }).waitFor();
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Address").fill(slug);
  await page.getByRole("button", { name: "Create workspace" }).click();
  await page.waitForURL(new RegExp(`/w/${slug}$`));
  return watched;
}

test("goals, ideas and files in the console", async () => {
  const ctx = await browser.newContext({ acceptDownloads: true });
  const { page, problems } = await ownerWithWorkspace(ctx, "olive@example.com", "Olive Labs", "olive");

  // A goal, edited, with its history.
  await page.getByRole("link", { name: "Goals" }).click();
  await page.getByRole("form", { name: "New goal" }).getByLabel("Title").fill("Ship the beta");
  await page.getByRole("button", { name: "Add goal" }).click();
  await page.getByText("Ship the beta").waitFor();
  await page.locator("li.record").getByRole("button", { name: "Edit", exact: true }).click();
  await page.getByRole("form", { name: "Edit Ship the beta" }).getByLabel("Title").fill("Ship the beta in May");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByText("Ship the beta in May").waitFor();
  await page.getByRole("button", { name: "History", exact: true }).click();
  await page.getByText(/Version 2/).waitFor();

  // A team, then an idea that becomes its project.
  await page.getByRole("link", { name: "Projects" }).click();
  await page.getByLabel("Team name").fill("Research");
  await page.getByRole("button", { name: "Create team" }).click();
  await page.getByRole("heading", { name: "New project" }).waitFor();
  // The team is renamed in place.
  await page.getByRole("region", { name: "Teams" }).getByRole("button", { name: "Edit", exact: true }).click();
  await page.getByRole("form", { name: "Edit team Research" }).getByLabel("Team name").fill("Research Lab");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByRole("region", { name: "Teams" }).getByText("Research Lab", { exact: true }).waitFor();
  await page.getByRole("link", { name: "Ideas" }).click();
  await page.getByRole("form", { name: "New idea" }).getByLabel("Title").fill("Offline mode");
  await page.getByRole("button", { name: "Add idea" }).click();
  await page.getByText("Offline mode").waitFor();
  await page.getByRole("button", { name: "Make it a project" }).click();
  await page.getByRole("button", { name: "Create project" }).click();
  await page.getByRole("link", { name: "Offline mode" }).click();
  await page.getByRole("heading", { name: "Offline mode" }).waitFor();

  // The project serves the goal; its history shows the change.
  await page.getByRole("button", { name: "Edit project" }).click();
  await page.getByLabel("Goal it serves").selectOption({ label: "Ship the beta in May" });
  await page.getByRole("button", { name: "Save project" }).click();
  await page.getByText("Serves Ship the beta in May").waitFor();
  await page.getByRole("button", { name: "Project history" }).click();
  await page.getByText(/Version 2/).waitFor();

  // A record with a file: uploaded with progress, downloaded through the signing proxy.
  await page.getByRole("form", { name: "New record" }).getByLabel("Title").fill("Sync design");
  await page.getByRole("button", { name: "Add record" }).click();
  await page.getByText("Sync design").waitFor();
  await page.getByRole("button", { name: "Files" }).click();
  const record = page.locator("li.record").filter({ hasText: "Sync design" });
  await record.getByText("No files attached.").waitFor();
  await record
    .getByLabel("Attach a file")
    .setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("offline first\n") });
  const link = page.getByRole("link", { name: "notes.txt" });
  await link.waitFor();
  const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
  const saved = await download.path();
  assert.equal(readFileSync(saved, "utf8"), "offline first\n");
  await page.screenshot({ path: resolve(shots, "files.png"), fullPage: true });

  // One table as CSV from the settings.
  await page.getByRole("link", { name: "Settings" }).click();
  const [csv] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "records", exact: true }).click()]);
  assert.match(readFileSync(await csv.path(), "utf8"), /^id,.*title/);

  // At 360 px wide, no page scrolls sideways.
  await page.setViewportSize({ width: 360, height: 740 });
  const projectUrl = `${server.url}/w/olive`;
  for (const path of ["", "/goals", "/ideas", "/members", "/admin/audit", "/settings"]) {
    await page.goto(`${projectUrl}${path}`);
    await page.getByRole("heading", { level: 1 }).waitFor();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 361, `${path || "/"} is ${String(width)} px wide at 360`);
  }
  await page.screenshot({ path: resolve(shots, "narrow.png"), fullPage: false });

  assert.deepEqual(problems, []);
  await ctx.close();
});

test("webhooks, the audit export and single sign-on in the settings", async () => {
  const ctx = await browser.newContext({ acceptDownloads: true });
  const { page, problems } = await ownerWithWorkspace(ctx, "sam@example.com", "Sam Corp", "samcorp");

  // A webhook endpoint: its signing secret is shown once.
  await page.getByRole("link", { name: "Settings" }).click();
  const hooks = page.getByRole("form", { name: "New webhook endpoint" });
  await hooks.getByLabel("Endpoint URL").fill("http://127.0.0.1:9/hook");
  await hooks.getByLabel("Events").fill("createGoal, updateRecord");
  await page.getByRole("button", { name: "Add endpoint" }).click();
  const secret = await page.getByTestId("webhook-secret").textContent();
  assert.match(secret, /^whsec_/);
  await page.getByRole("cell", { name: "createGoal, updateRecord" }).waitFor();
  await page.getByRole("button", { name: "Deliveries" }).click();
  await page.getByText("Nothing sent yet.").waitFor();
  await page.reload();
  await page.getByRole("cell", { name: "createGoal, updateRecord" }).waitFor();
  assert.equal(await page.getByTestId("webhook-secret").count(), 0, "the secret is not shown again");

  // Single sign-on through the test provider, registered with the callback Tessera shows.
  const callback = `${server.url}/auth/oidc/samcorp/callback`;
  const oidc = await startOidc([{ client_id: "samcorp-console", client_secret: "console-secret", redirect_uris: [callback] }]);
  try {
    const sso = page.getByRole("form", { name: "Configure single sign-on" });
    await sso.getByLabel("Issuer URL").fill(oidc.issuer);
    await sso.getByLabel("Client ID").fill("samcorp-console");
    await sso.getByLabel("Client secret").fill("console-secret");
    await sso.getByLabel("New people at their first sign-in").selectOption("MEMBER");
    await page.getByRole("button", { name: "Save single sign-on" }).click();
    await page.getByText(callback).waitFor();
    await page.screenshot({ path: resolve(shots, "settings-sso.png"), fullPage: true });

    const other = await browser.newContext();
    const { page: pat, problems: patProblems } = await watchedPage(other);
    await pat.goto(`${server.url}/signin`);
    await pat.getByRole("link", { name: /SSO/ }).click();
    await pat.getByLabel("Workspace address").fill("samcorp");
    await pat.getByRole("button", { name: "Continue" }).click();
    await pat.locator("input[name=login]").fill("pat");
    await pat.locator("input[name=password]").fill("anything");
    await pat.locator("button[type=submit]").click();
    await pat.locator("button[type=submit]", { hasText: /Continue|Authorize/ }).click();
    await pat.getByRole("heading", { name: "Your workspaces" }).waitFor();
    await pat.getByText("pat@corp.test").waitFor();
    await pat.getByRole("link", { name: /Sam Corp/ }).waitFor();
    assert.deepEqual(patProblems, []);
    await other.close();
  } finally {
    oidc.stop();
  }

  // Audit retention: 7 years by default, set by the owner.
  await page.getByText("Entries are kept for 7 years").waitFor();
  await page.getByLabel("Keep entries for (days)").fill("365");
  await page.getByRole("button", { name: "Save retention" }).click();
  await page.getByText("Retention set to 1 year.").waitFor();

  // The audit log of today, as JSON Lines with hashes: the SSO sign-in is in it.
  await page.getByRole("link", { name: "Audit log" }).click();
  const today = new Date().toISOString().slice(0, 10);
  await page.getByLabel("From", { exact: true }).fill(today);
  await page.getByLabel("To", { exact: true }).fill(today);
  await page.getByRole("button", { name: "Filter" }).click();
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "JSON Lines" }).click()]);
  const lines = readFileSync(await download.path(), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines[0].format, "tessera-audit-export-v1");
  const actions = lines.map((l) => l.action).filter(Boolean);
  assert.ok(actions.includes("createWebhookEndpoint"), actions.join(","));
  assert.ok(actions.includes("configureSso"), actions.join(","));
  assert.ok(actions.includes("setAuditRetention"), actions.join(","));
  assert.ok(lines.slice(1).every((l) => !l.action || /^[0-9a-f]{64}$/.test(l.hash)));

  assert.deepEqual(problems, []);
  await ctx.close();
});

test("an owner limits the workspace to their networks without locking themselves out", async () => {
  const ctx = await browser.newContext();
  const { page, problems } = await ownerWithWorkspace(ctx, "nia@example.com", "Nia Bank", "niabank");
  await page.getByRole("link", { name: "Settings" }).click();
  const section = page.getByRole("region", { name: "Network access" });
  await section.getByText("Every address may reach this workspace.").waitFor();
  const mine = (await page.getByTestId("your-address").textContent()).trim();
  assert.match(mine, /^(127\.0\.0\.1|::1)$/);
  const editor = page.getByLabel("Allowed networks, one per line");

  // Markup typed into the list is refused as an entry and shown as text, never run.
  await editor.fill('<img src=x onerror="alert(1)">');
  await page.getByRole("button", { name: "Save allowlist" }).click();
  await section.getByText(/is not an IP address or network/).waitFor();
  assert.equal(await page.locator("img[src=x]").count(), 0);

  // A list without the owner's own address is refused with the reason.
  await editor.fill("203.0.113.0/24");
  await page.getByRole("button", { name: "Save allowlist" }).click();
  await section.getByText(/would lock you out/).waitFor();
  await page.getByRole("button", { name: "Add my address" }).click();
  assert.equal(await editor.inputValue(), `203.0.113.0/24\n${mine}`);
  await page.getByRole("button", { name: "Save allowlist" }).click();
  await section.getByText("Allowlist saved; it applies from the next request.").waitFor();
  const list = section.getByRole("list", { name: "Allowed networks" });
  await list.getByText("203.0.113.0/24").waitFor();
  await list.getByText(mine.includes(":") ? `${mine}/128` : `${mine}/32`).waitFor();
  await page.screenshot({ path: resolve(shots, "settings-network.png"), fullPage: true });
  // The workspace still works from here.
  await page.getByRole("link", { name: "Projects", exact: true }).click();
  await page.getByRole("heading", { name: "Projects" }).waitFor();

  // Emptied again: every address.
  await page.getByRole("link", { name: "Settings" }).click();
  await editor.fill("");
  await page.getByRole("button", { name: "Save allowlist" }).click();
  await section.getByText("Every address may reach this workspace again.").waitFor();
  assert.deepEqual(problems, []);
  await ctx.close();
});

test("an identity provider provisions and deprovisions members with a SCIM token from the settings", async () => {
  const ctx = await browser.newContext();
  const { page, problems } = await ownerWithWorkspace(ctx, "ivy@example.com", "Ivy Health", "ivyhealth");
  await page.getByRole("link", { name: "Settings" }).click();
  const section = page.getByRole("region", { name: "Provisioning (SCIM)" });
  await section.getByText("No SCIM tokens.").waitFor();
  const base = (await page.getByTestId("scim-base-url").textContent()).trim();
  assert.equal(base, `${server.url}/scim/v2/ivyhealth`);
  await section.getByLabel("SCIM token name").fill("Okta");
  await page.getByRole("button", { name: "Create SCIM token" }).click();
  const token = (await page.getByTestId("new-scim-token").textContent()).trim();
  assert.match(token, /^tsc_/);
  await section.getByRole("cell", { name: "Okta" }).waitFor();

  // The provider (here: fetch, as Okta would send it) adds a person.
  const scim = (method, path, body) =>
    fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/scim+json" },
      body: body ? JSON.stringify(body) : undefined,
    });
  const created = await scim("POST", "/Users", {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
    userName: "kai@example.com",
    name: { givenName: "Kai", familyName: "Moss" },
    emails: [{ value: "kai@example.com", primary: true }],
    active: true,
  });
  assert.equal(created.status, 201);
  const { id } = await created.json();
  await page.getByRole("link", { name: "Members", exact: true }).click();
  await page.getByText("kai@example.com").waitFor();

  // Deactivated by the provider: gone from the members at once.
  const patched = await scim("PATCH", `/Users/${id}`, {
    schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    Operations: [{ op: "replace", path: "active", value: false }],
  });
  assert.equal(patched.status, 200);
  await page.reload();
  await page.getByText("owner", { exact: false }).first().waitFor();
  assert.equal(await page.getByText("kai@example.com").count(), 0);

  // A revoked token is refused.
  await page.getByRole("link", { name: "Settings" }).click();
  await section.getByRole("button", { name: "Revoke" }).click();
  await section.getByText("No SCIM tokens.").waitFor();
  assert.equal((await scim("GET", "/Users")).status, 401);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test("a deleted workspace is restored from the workspaces page", async () => {
  const ctx = await browser.newContext();
  const { page, problems } = await ownerWithWorkspace(ctx, "rex@example.com", "Rex Studio", "rexstudio");
  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByLabel("Type rexstudio to confirm").fill("rexstudio");
  await page.getByRole("button", { name: "Delete workspace" }).click();
  await page.getByText("The workspace is deleted.").waitFor();
  await page.getByRole("link", { name: "Tessera" }).click();
  await page.getByRole("heading", { name: "Recently deleted" }).waitFor();
  await page.getByRole("button", { name: "Restore" }).click();
  await page.getByRole("link", { name: /Rex Studio/ }).click();
  await page.getByRole("heading", { name: "Projects" }).waitFor();
  assert.deepEqual(problems, []);
  await ctx.close();
});

test("GraphiQL runs the signed-in member's queries, under its own policy", async () => {
  const ctx = await browser.newContext();
  const { page, problems } = await ownerWithWorkspace(ctx, "gia@example.com", "Gia Works", "giaworks");
  await page.getByRole("link", { name: "GraphiQL" }).click();
  await page.waitForURL(/\/w\/giaworks\/graphiql$/);
  // Run once the editor holds the default query.
  await page.locator(".graphiql-query-editor").getByText("permissions").first().waitFor();
  await page.locator(".graphiql-execute-button").click();
  // The editor renders tokens in spans with non-breaking spaces: read the panel's text.
  const response = page.locator(".graphiql-response");
  await page.waitForFunction(() => /"role":\s"OWNER"/u.test(document.querySelector(".graphiql-response")?.innerText.replace(/\u00a0/g, " ") ?? ""));
  assert.match((await response.innerText()).replace(/\u00a0/g, " "), /"workspace:delete"/);
  // The schema came with the page: the documentation explorer knows the workspace's types.
  await page.getByRole("button", { name: /Show Documentation Explorer/i }).click();
  await page.getByText("Query", { exact: true }).first().waitFor();
  await page.screenshot({ path: resolve(shots, "graphiql.png") });
  assert.deepEqual(problems, []);

  // Signed out, the page sends people to sign in first.
  const stranger = await browser.newContext();
  const { page: other } = await watchedPage(stranger);
  await other.goto(`${server.url}/w/giaworks/graphiql`);
  await other.waitForURL(/\/signin\?next=/);
  await stranger.close();
  await ctx.close();
});
