import { useState } from "react";
import { useMutation, useQuery } from "urql";
import { describeGraphql } from "../../app/errors";
import { Field } from "../../components/Field";
import { submitHandler, text } from "../../components/form";
import { when } from "../../components/format";
import { Empty, ErrorNotice, Loading } from "../../components/Notice";
import { SecretOnce } from "../../components/SecretOnce";
import {
  CreateWebhook,
  DeleteWebhook,
  EnableWebhook,
  RotateWebhookSecret,
  WebhookMessagesQuery,
  WebhooksQuery,
} from "./queries.tenant";

const WEBHOOK_TYPES = { additionalTypenames: ["WebhookEndpoint"] };

/** The event list as typed: comma- or space-separated mutation names, or `*`. */
export function eventList(s: string): string[] {
  return s
    .split(/[\s,]+/)
    .map((e) => e.trim())
    .filter(Boolean);
}

/** Webhook endpoints: add one (its signing secret shown once), rotate, re-enable, delete,
 * and each one's recent deliveries with their attempts. */
export function Webhooks() {
  const [{ data, fetching, error }, refetch] = useQuery({ query: WebhooksQuery });
  const [created, create] = useMutation(CreateWebhook);
  const [rotated, rotate] = useMutation(RotateWebhookSecret);
  const [enabled, enable] = useMutation(EnableWebhook);
  const [deleted, remove] = useMutation(DeleteWebhook);
  const [secret, setSecret] = useState("");
  const [open, setOpen] = useState<string | null>(null);
  const reload = () => refetch({ requestPolicy: "network-only" });

  const onCreate = submitHandler(async (form, f) => {
    const r = await create({ input: { url: text(f, "url").trim(), events: eventList(text(f, "events")) } }, WEBHOOK_TYPES);
    if (r.data) {
      setSecret(r.data.createWebhookEndpoint.secret);
      form.reset();
      reload();
    }
  });

  const failure = error ?? rotated.error ?? enabled.error ?? deleted.error;
  const endpoints = data?.webhookEndpoints ?? [];
  return (
    <section className="card wide" aria-labelledby="webhooks">
      <h2 id="webhooks">Webhooks</h2>
      {fetching && !data ? <Loading what="webhooks" /> : null}
      <ErrorNotice>{failure ? describeGraphql(failure) : ""}</ErrorNotice>
      {data && endpoints.length === 0 ? <Empty>No endpoints. Add one to be told of changes as they happen.</Empty> : null}
      {endpoints.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Endpoint</th>
              <th scope="col">Events</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {endpoints.map((e) => (
              <tr key={e.id}>
                <td className="wrap">{e.url}</td>
                <td>{e.events.join(", ")}</td>
                <td>
                  {e.enabled ? "Active" : `Disabled: ${e.disabledReason ?? "repeated failures"}`}
                  {e.consecutiveFailures > 0 ? ` · ${String(e.consecutiveFailures)} failed in a row` : ""}
                  {e.previousSecretUntil ? ` · old secret signs until ${when(e.previousSecretUntil)}` : ""}
                </td>
                <td className="actions">
                  <button type="button" className="link" aria-expanded={open === e.id} onClick={() => setOpen(open === e.id ? null : e.id)}>
                    Deliveries
                  </button>
                  <button
                    type="button"
                    className="link"
                    disabled={rotated.fetching}
                    onClick={() =>
                      void rotate({ id: e.id }).then((r) => {
                        if (r.data) setSecret(r.data.rotateWebhookSecret.secret);
                        reload();
                      })
                    }
                  >
                    Rotate secret
                  </button>
                  {e.enabled ? null : (
                    <button type="button" className="link" disabled={enabled.fetching} onClick={() => void enable({ id: e.id }).then(reload)}>
                      Enable
                    </button>
                  )}
                  <button
                    type="button"
                    className="link danger"
                    disabled={deleted.fetching}
                    onClick={() => {
                      if (window.confirm(`Delete the endpoint ${e.url}? Its queued deliveries are dropped.`))
                        void remove({ id: e.id }, WEBHOOK_TYPES).then(reload);
                    }}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {open ? <Deliveries endpointId={open} /> : null}
      <SecretOnce what="signing secret" secret={secret} testId="webhook-secret" />
      <form onSubmit={onCreate} aria-label="New webhook endpoint">
        <Field label="Endpoint URL" name="url" type="url" required placeholder="https://hooks.example.com/tessera" />
        <Field label="Events" name="events" required defaultValue="*" hint="Mutation names such as createRecord, updateRecord, or * for every event." />
        <ErrorNotice>{created.error ? describeGraphql(created.error) : ""}</ErrorNotice>
        <button type="submit" disabled={created.fetching}>
          Add endpoint
        </button>
      </form>
    </section>
  );
}

function Deliveries({ endpointId }: { endpointId: string }) {
  const [{ data, fetching, error }] = useQuery({ query: WebhookMessagesQuery, variables: { id: endpointId }, requestPolicy: "network-only" });
  const messages = data?.webhookMessages ?? [];
  return (
    <div className="deliveries" aria-label="Recent deliveries" role="region">
      <h3>Recent deliveries</h3>
      {fetching && !data ? <Loading what="deliveries" /> : null}
      <ErrorNotice>{error ? describeGraphql(error) : ""}</ErrorNotice>
      {data && messages.length === 0 ? <Empty>Nothing sent yet.</Empty> : null}
      {messages.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last answer</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {messages.map((m) => (
              <tr key={m.id}>
                <td>{m.eventType}</td>
                <td>{m.status}</td>
                <td>{m.attempts}</td>
                <td>{m.lastStatusCode != null ? `HTTP ${String(m.lastStatusCode)}` : (m.lastError ?? "")}</td>
                <td>{when(m.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
