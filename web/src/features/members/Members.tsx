import { useState } from "react";
import { submitHandler, text } from "../../components/form";
import { useParams } from "react-router";
import { useMutation, useQuery } from "urql";
import { describeGraphql } from "../../app/errors";
import { Field } from "../../components/Field";
import { Empty, ErrorNotice, Loading, Success } from "../../components/Notice";
import { Page } from "../../components/Page";
import { Pager, usePager } from "../../components/Pager";
import type { MemberRole } from "../../gql/tenant/graphql";
import {
  ChangeMemberRole,
  InvitationsQuery,
  InviteMember,
  LeaveWorkspace,
  MembersQuery,
  RemoveMember,
  ResendInvitation,
  RevokeInvitation,
  TransferOwnership,
} from "./queries.tenant";

const ROLES: Record<MemberRole, string> = { OWNER: "Owner", ADMIN: "Admin", MEMBER: "Member" };
const MEMBER_TYPES = { additionalTypenames: ["Member", "MemberConnection"] };
const INVITATION_TYPES = { additionalTypenames: ["Invitation"] };

/** Members and invitations: invite, resend, revoke, change role, remove, transfer, leave. */
export function Members() {
  const pager = usePager();
  const [{ data, fetching, error }] = useQuery({ query: MembersQuery, variables: { after: pager.after } });
  const manages = data?.viewer.permissions.includes("members:manage") ?? false;
  return (
    <Page title="Members">
      {fetching && !data ? <Loading what="members" /> : null}
      <ErrorNotice>{error ? describeGraphql(error) : ""}</ErrorNotice>
      {data ? (
        <>
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                {manages ? <th scope="col">Actions</th> : null}
              </tr>
            </thead>
            <tbody>
              {data.members.nodes.map((m) => (
                <MemberRow key={m.id} member={m} me={data.viewer} manages={manages} />
              ))}
            </tbody>
          </table>
          <Pager pager={pager} hasNext={data.members.pageInfo.hasNextPage} endCursor={data.members.pageInfo.endCursor} />
          {manages ? <Invitations viewerRole={data.viewer.role} /> : null}
          <Leave />
        </>
      ) : null}
    </Page>
  );
}

interface MemberRowProps {
  member: { id: string; email: string; displayName: string; role: MemberRole };
  me: { userId: string; role: MemberRole };
  manages: boolean;
}

function MemberRow({ member, me, manages }: MemberRowProps) {
  const [change, doChange] = useMutation(ChangeMemberRole);
  const [remove, doRemove] = useMutation(RemoveMember);
  const [transfer, doTransfer] = useMutation(TransferOwnership);
  const self = member.id === me.userId;
  // Admins manage members and admins; only owners touch owners or make them.
  const canEdit = manages && !self && (me.role === "OWNER" || member.role !== "OWNER");
  const roles = (Object.keys(ROLES) as MemberRole[]).filter((r) => me.role === "OWNER" || r !== "OWNER");
  const failure = change.error ?? remove.error ?? transfer.error;
  return (
    <tr>
      <td>
        {member.displayName}
        {self ? <span className="muted"> (you)</span> : null}
      </td>
      <td>{member.email}</td>
      <td>
        {canEdit ? (
          <select
            aria-label={`Role of ${member.displayName}`}
            value={member.role}
            disabled={change.fetching}
            onChange={(e) => void doChange({ userId: member.id, role: e.target.value as MemberRole }, MEMBER_TYPES)}
          >
            {roles.map((r) => (
              <option key={r} value={r}>
                {ROLES[r]}
              </option>
            ))}
          </select>
        ) : (
          ROLES[member.role]
        )}
      </td>
      {manages ? (
        <td>
          {canEdit ? (
            <div className="actions">
              <button
                type="button"
                className="link danger"
                disabled={remove.fetching}
                onClick={() => {
                  if (window.confirm(`Remove ${member.displayName} from this workspace? Their access ends at once.`))
                    void doRemove({ userId: member.id }, MEMBER_TYPES);
                }}
              >
                Remove
              </button>
              {me.role === "OWNER" ? (
                <button
                  type="button"
                  className="link"
                  disabled={transfer.fetching}
                  onClick={() => {
                    if (window.confirm(`Make ${member.displayName} the owner? You become an admin.`))
                      void doTransfer({ userId: member.id }, MEMBER_TYPES);
                  }}
                >
                  Transfer ownership
                </button>
              ) : null}
            </div>
          ) : null}
          <ErrorNotice>{failure ? describeGraphql(failure) : ""}</ErrorNotice>
        </td>
      ) : null}
    </tr>
  );
}

function Invitations({ viewerRole }: { viewerRole: MemberRole }) {
  const [{ data, error }, refetch] = useQuery({ query: InvitationsQuery });
  const [invite, doInvite] = useMutation(InviteMember);
  const [resend, doResend] = useMutation(ResendInvitation);
  const [revoke, doRevoke] = useMutation(RevokeInvitation);
  const [sent, setSent] = useState("");
  const roles = (Object.keys(ROLES) as MemberRole[]).filter((r) => viewerRole === "OWNER" || r !== "OWNER");

  const onInvite = submitHandler(async (form, f) => {
    const r = await doInvite(
      { email: text(f, "email").trim(), role: text(f, "role") as MemberRole },
      INVITATION_TYPES,
    );
    if (r.data) {
      setSent(r.data.inviteMember.email);
      form.reset();
      // The first invitation joins an empty list, which no cached type marks stale.
      refetch({ requestPolicy: "network-only" });
    }
  });

  const failure = error ?? resend.error ?? revoke.error;
  return (
    <>
      <h2>Invitations</h2>
      <ErrorNotice>{failure ? describeGraphql(failure) : ""}</ErrorNotice>
      {data && data.invitations.length === 0 ? <Empty>No pending invitations.</Empty> : null}
      {data && data.invitations.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Status</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {data.invitations.map((i) => (
              <tr key={i.id}>
                <td>{i.email}</td>
                <td>{ROLES[i.role]}</td>
                <td>
                  {i.status === "PENDING" ? "Pending until " : "Expired on "}
                  <time dateTime={i.expiresAt}>{new Date(i.expiresAt).toLocaleDateString()}</time>
                </td>
                <td className="actions">
                  <button type="button" className="link" disabled={resend.fetching} onClick={() => void doResend({ id: i.id }, INVITATION_TYPES)}>
                    Resend
                  </button>
                  <button type="button" className="link danger" disabled={revoke.fetching} onClick={() => void doRevoke({ id: i.id }, INVITATION_TYPES)}>
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <form className="card" onSubmit={onInvite} aria-labelledby="invite">
        <h3 id="invite">Invite someone</h3>
        <Field label="Email" name="email" type="email" required />
        <div className="field">
          <label htmlFor="invite-role">Role</label>
          <select id="invite-role" name="role" defaultValue="MEMBER">
            {roles.map((r) => (
              <option key={r} value={r}>
                {ROLES[r]}
              </option>
            ))}
          </select>
        </div>
        <ErrorNotice>{invite.error ? describeGraphql(invite.error) : ""}</ErrorNotice>
        {sent ? <Success>Invitation sent to {sent}. The link is valid for 7 days.</Success> : null}
        <button type="submit" disabled={invite.fetching}>
          Send invitation
        </button>
      </form>
    </>
  );
}

function Leave() {
  const { slug = "" } = useParams();
  const [result, leave] = useMutation(LeaveWorkspace);
  return (
    <div className="card danger-zone">
      <h2>Leave this workspace</h2>
      <p className="muted">You lose access at once. An owner can invite you again.</p>
      <ErrorNotice>{result.error ? describeGraphql(result.error) : ""}</ErrorNotice>
      <button
        type="button"
        className="danger"
        disabled={result.fetching}
        onClick={() => {
          if (!window.confirm(`Leave ${slug}?`)) return;
          void leave({}).then((r) => {
            if (r.data) window.location.assign("/");
          });
        }}
      >
        Leave workspace
      </button>
    </div>
  );
}
