import { useState } from "react";
import { Link, NavLink, Navigate, Outlet, useLocation, useNavigate, useParams } from "react-router";
import { Provider, useMutation, useQuery } from "urql";
import { postJson } from "./api";
import { workspaceClient } from "./clients";
import { codeOf, describeGraphql } from "./errors";
import { ErrorNotice, Loading } from "../components/Notice";
import { MeQuery, ResendVerification } from "../features/auth/queries.global";
import { LiveUpdates } from "../features/live/LiveUpdates";
import { WorkspacesQuery } from "../features/workspaces/queries.global";

/** Pages for a signed-in account: the top bar, and a redirect to sign-in without a session. */
export function Shell() {
  const location = useLocation();
  const [{ data, fetching, error }] = useQuery({ query: MeQuery });
  if (fetching && !data) return <Loading what="your account" />;
  if (error && codeOf(error) === "UNAUTHENTICATED") {
    const next = location.pathname + location.search;
    return <Navigate to={next === "/" ? "/signin" : `/signin?next=${encodeURIComponent(next)}`} replace />;
  }
  if (!data) return <ErrorNotice>{error ? describeGraphql(error) : "Could not load your account."}</ErrorNotice>;
  return (
    <>
      <header className="topbar">
        <Link to="/" className="brand">
          Tessera
        </Link>
        <WorkspaceSwitcher />
        <nav aria-label="Account" className="account">
          <NavLink to="/account/security">Security</NavLink>
          <span className="muted">{data.me.email}</span>
          <SignOut />
        </nav>
      </header>
      {!data.me.emailVerified ? <VerifyBanner email={data.me.email} /> : null}
      <main>
        <Outlet />
      </main>
    </>
  );
}

function WorkspaceSwitcher() {
  const { slug } = useParams();
  const navigate = useNavigate();
  const [{ data }] = useQuery({ query: WorkspacesQuery });
  if (!data || data.workspaces.length === 0) return null;
  return (
    <label className="switcher">
      <span className="visually-hidden">Workspace</span>
      <select value={slug ?? ""} onChange={(e) => void navigate(e.target.value ? `/w/${e.target.value}` : "/")}>
        <option value="">All workspaces</option>
        {data.workspaces.map((w) => (
          <option key={w.slug} value={w.slug}>
            {w.name}
          </option>
        ))}
      </select>
    </label>
  );
}

function SignOut() {
  return (
    <button
      type="button"
      className="link"
      onClick={() => void postJson("/auth/signout", {}).then(() => window.location.assign("/signin"))}
    >
      Sign out
    </button>
  );
}

function VerifyBanner({ email }: { email: string }) {
  const [result, resend] = useMutation(ResendVerification);
  const [sent, setSent] = useState(false);
  return (
    <div className="banner" role="region" aria-label="Email verification">
      Confirm your address: we sent a link to {email}.{" "}
      {sent ? (
        "A new link is on its way."
      ) : (
        <button type="button" className="link" disabled={result.fetching} onClick={() => void resend({}).then((r) => setSent(!r.error))}>
          Send it again
        </button>
      )}
      <ErrorNotice>{result.error ? describeGraphql(result.error) : ""}</ErrorNotice>
    </div>
  );
}

/** A workspace's pages, with its own GraphQL client (`/w/<slug>/graphql`). */
export function WorkspaceLayout() {
  const { slug = "" } = useParams();
  const { client, live } = workspaceClient(slug);
  return (
    <Provider value={client}>
      <div className="workspace">
        <nav aria-label="Workspace" className="sidenav">
          <NavLink to={`/w/${slug}`} end>
            Projects
          </NavLink>
          <NavLink to={`/w/${slug}/goals`}>Goals</NavLink>
          <NavLink to={`/w/${slug}/ideas`}>Ideas</NavLink>
          <NavLink to={`/w/${slug}/members`}>Members</NavLink>
          <NavLink to={`/w/${slug}/admin/audit`}>Audit log</NavLink>
          <NavLink to={`/w/${slug}/settings`}>Settings</NavLink>
          {/* Its own page, with its own policy: a full navigation. */}
          <a href={`/w/${slug}/graphiql`}>GraphiQL</a>
          <LiveUpdates live={live} />
        </nav>
        <div className="content">
          <Outlet />
        </div>
      </div>
    </Provider>
  );
}
