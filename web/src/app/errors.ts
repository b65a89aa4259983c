import type { CombinedError } from "urql";
import type { ApiFailure } from "./api";

// Plain words for each `extensions.code` (docs/errors.md). The server's own message is
// shown when a code has no sentence here, or when it carries the specific detail.
const PLAIN: Record<string, string> = {
  NETWORK: "Tessera could not be reached. Check your connection and try again.",
  UNAUTHENTICATED: "Your session has ended. Sign in again.",
  FORBIDDEN: "You are not allowed to do this.",
  NOT_FOUND: "This does not exist, or you cannot see it.",
  INTERNAL: "Something went wrong on the server. Try again; if it persists, tell your administrator.",
  UNAVAILABLE: "Tessera is briefly unavailable. Try again in a moment.",
  TIMEOUT: "This took too long and was cancelled. Nothing was changed.",
  RATE_LIMITED: "Too many attempts. Wait a minute and try again.",
  MFA_REQUIRED: "This workspace requires a second factor. Add an authenticator app or a passkey in Security.",
  SECOND_FACTOR_REQUIRED: "Confirm with your authenticator code or a passkey first.",
  SSO_REQUIRED: "This workspace signs in through its single sign-on.",
  WORKSPACE_FROZEN: "This workspace is frozen by its operator for now; nothing is lost. Try again once they lift it.",
  SLUG_TAKEN: "Another workspace already has this address. Choose another.",
  SLUG_RESERVED: "This address is reserved. Choose another.",
  SLUG_INVALID: "Use 3 to 40 lowercase letters, digits or _, starting with a letter.",
  INVITATION_NOT_FOUND: "This invitation link is not valid. Ask for a new one.",
  INVITATION_EXPIRED: "This invitation has expired. Ask the person who invited you to resend it.",
  INVITATION_REVOKED: "This invitation was withdrawn.",
  INVITATION_USED: "This invitation was accepted already. Sign in instead.",
  INVITATION_EMAIL_MISMATCH: "This invitation is for another email address than the one you are signed in with.",
  ALREADY_MEMBER: "This person is already a member.",
  LAST_OWNER: "The workspace needs an owner. Make someone else owner first.",
  EMAIL_NOT_VERIFIED: "Confirm your email address first: open the link we sent you.",
  TOKEN_INVALID: "This link is not valid.",
  TOKEN_EXPIRED: "This link has expired. Ask for a new one.",
  TOKEN_USED: "This link was used already.",
  IP_NOT_ALLOWED: "This workspace accepts requests only from its allowed networks, and yours is not one of them.",
  WOULD_LOCK_OUT: "This list leaves out your own address: saving it would lock you out.",
};

// Codes whose server message names the specific problem (which field, which rule).
const DETAILED = new Set(["BAD_USER_INPUT", "CONFLICT", "FORBIDDEN", "BAD_REQUEST", "GONE", "UNAUTHENTICATED", "WORKSPACE_FROZEN", "IP_NOT_ALLOWED", "WOULD_LOCK_OUT"]);

export function describe(code: string, message: string): string {
  if (DETAILED.has(code) && message) return capitalize(message);
  return PLAIN[code] ?? (message ? capitalize(message) : "Something went wrong.");
}

export function describeApi(e: ApiFailure): string {
  return describe(e.code, e.message);
}

export function codeOf(e: CombinedError): string {
  const code = e.graphQLErrors[0]?.extensions["code"];
  if (typeof code === "string") return code;
  return e.networkError ? "NETWORK" : "INTERNAL";
}

export function describeGraphql(e: CombinedError): string {
  return describe(codeOf(e), e.graphQLErrors[0]?.message ?? "");
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
