/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  query Me {\n    me {\n      id\n      email\n      displayName\n      emailVerified\n    }\n  }\n": typeof types.MeDocument,
    "\n  mutation ResendVerification {\n    resendVerification\n  }\n": typeof types.ResendVerificationDocument,
    "\n  mutation AcceptInvitation($workspace: String!, $token: String!) {\n    acceptInvitation(workspace: $workspace, token: $token) {\n      slug\n      name\n    }\n  }\n": typeof types.AcceptInvitationDocument,
    "\n  query Factors {\n    mySecondFactors {\n      totp\n      passkeys\n      recoveryCodesLeft\n    }\n    myPasskeys {\n      id\n      name\n      createdAt\n      lastUsedAt\n    }\n  }\n": typeof types.FactorsDocument,
    "\n  mutation BeginTotp($secondFactor: String) {\n    beginTotpEnrollment(secondFactor: $secondFactor) {\n      secret\n      uri\n      qrSvg\n    }\n  }\n": typeof types.BeginTotpDocument,
    "\n  mutation ConfirmTotp($code: String!) {\n    confirmTotp(code: $code)\n  }\n": typeof types.ConfirmTotpDocument,
    "\n  mutation DisableTotp($secondFactor: String) {\n    disableTotp(secondFactor: $secondFactor)\n  }\n": typeof types.DisableTotpDocument,
    "\n  mutation RegenerateRecoveryCodes($secondFactor: String) {\n    regenerateRecoveryCodes(secondFactor: $secondFactor)\n  }\n": typeof types.RegenerateRecoveryCodesDocument,
    "\n  mutation StartPasskey($secondFactor: String) {\n    startPasskeyRegistration(secondFactor: $secondFactor)\n  }\n": typeof types.StartPasskeyDocument,
    "\n  mutation FinishPasskey($ceremonyId: ID!, $name: String!, $credential: JSON!) {\n    finishPasskeyRegistration(ceremonyId: $ceremonyId, name: $name, credential: $credential) {\n      passkey {\n        id\n        name\n      }\n      recoveryCodes\n    }\n  }\n": typeof types.FinishPasskeyDocument,
    "\n  mutation RenamePasskey($id: ID!, $name: String!) {\n    renamePasskey(id: $id, name: $name) {\n      id\n      name\n    }\n  }\n": typeof types.RenamePasskeyDocument,
    "\n  mutation DeletePasskey($id: ID!, $secondFactor: String) {\n    deletePasskey(id: $id, secondFactor: $secondFactor)\n  }\n": typeof types.DeletePasskeyDocument,
    "\n  query Security {\n    me {\n      id\n      email\n      securityEvents(first: 20) {\n        id\n        at\n        action\n        ip\n        userAgent\n      }\n    }\n    mySessions {\n      id\n      aal\n      createdAt\n      lastSeenAt\n      userAgent\n      ip\n      current\n    }\n    mySecondFactors {\n      totp\n      passkeys\n      recoveryCodesLeft\n    }\n  }\n": typeof types.SecurityDocument,
    "\n  mutation RevokeSession($id: ID!) {\n    revokeSession(id: $id)\n  }\n": typeof types.RevokeSessionDocument,
    "\n  mutation RevokeOtherSessions {\n    revokeOtherSessions\n  }\n": typeof types.RevokeOtherSessionsDocument,
    "\n  mutation ChangePassword($current: String!, $next: String!, $secondFactor: String) {\n    changePassword(currentPassword: $current, newPassword: $next, secondFactor: $secondFactor)\n  }\n": typeof types.ChangePasswordDocument,
    "\n  query Workspaces {\n    workspaces {\n      slug\n      name\n      role\n    }\n  }\n": typeof types.WorkspacesDocument,
    "\n  mutation CreateWorkspace($name: String!, $slug: String!) {\n    createWorkspace(name: $name, slug: $slug) {\n      slug\n      name\n      role\n    }\n  }\n": typeof types.CreateWorkspaceDocument,
    "\n  query DeletedWorkspaces {\n    myDeletedWorkspaces {\n      slug\n      name\n      deletedAt\n      purgeAfter\n    }\n  }\n": typeof types.DeletedWorkspacesDocument,
    "\n  mutation RestoreWorkspace($slug: String!) {\n    restoreWorkspace(slug: $slug)\n  }\n": typeof types.RestoreWorkspaceDocument,
};
const documents: Documents = {
    "\n  query Me {\n    me {\n      id\n      email\n      displayName\n      emailVerified\n    }\n  }\n": types.MeDocument,
    "\n  mutation ResendVerification {\n    resendVerification\n  }\n": types.ResendVerificationDocument,
    "\n  mutation AcceptInvitation($workspace: String!, $token: String!) {\n    acceptInvitation(workspace: $workspace, token: $token) {\n      slug\n      name\n    }\n  }\n": types.AcceptInvitationDocument,
    "\n  query Factors {\n    mySecondFactors {\n      totp\n      passkeys\n      recoveryCodesLeft\n    }\n    myPasskeys {\n      id\n      name\n      createdAt\n      lastUsedAt\n    }\n  }\n": types.FactorsDocument,
    "\n  mutation BeginTotp($secondFactor: String) {\n    beginTotpEnrollment(secondFactor: $secondFactor) {\n      secret\n      uri\n      qrSvg\n    }\n  }\n": types.BeginTotpDocument,
    "\n  mutation ConfirmTotp($code: String!) {\n    confirmTotp(code: $code)\n  }\n": types.ConfirmTotpDocument,
    "\n  mutation DisableTotp($secondFactor: String) {\n    disableTotp(secondFactor: $secondFactor)\n  }\n": types.DisableTotpDocument,
    "\n  mutation RegenerateRecoveryCodes($secondFactor: String) {\n    regenerateRecoveryCodes(secondFactor: $secondFactor)\n  }\n": types.RegenerateRecoveryCodesDocument,
    "\n  mutation StartPasskey($secondFactor: String) {\n    startPasskeyRegistration(secondFactor: $secondFactor)\n  }\n": types.StartPasskeyDocument,
    "\n  mutation FinishPasskey($ceremonyId: ID!, $name: String!, $credential: JSON!) {\n    finishPasskeyRegistration(ceremonyId: $ceremonyId, name: $name, credential: $credential) {\n      passkey {\n        id\n        name\n      }\n      recoveryCodes\n    }\n  }\n": types.FinishPasskeyDocument,
    "\n  mutation RenamePasskey($id: ID!, $name: String!) {\n    renamePasskey(id: $id, name: $name) {\n      id\n      name\n    }\n  }\n": types.RenamePasskeyDocument,
    "\n  mutation DeletePasskey($id: ID!, $secondFactor: String) {\n    deletePasskey(id: $id, secondFactor: $secondFactor)\n  }\n": types.DeletePasskeyDocument,
    "\n  query Security {\n    me {\n      id\n      email\n      securityEvents(first: 20) {\n        id\n        at\n        action\n        ip\n        userAgent\n      }\n    }\n    mySessions {\n      id\n      aal\n      createdAt\n      lastSeenAt\n      userAgent\n      ip\n      current\n    }\n    mySecondFactors {\n      totp\n      passkeys\n      recoveryCodesLeft\n    }\n  }\n": types.SecurityDocument,
    "\n  mutation RevokeSession($id: ID!) {\n    revokeSession(id: $id)\n  }\n": types.RevokeSessionDocument,
    "\n  mutation RevokeOtherSessions {\n    revokeOtherSessions\n  }\n": types.RevokeOtherSessionsDocument,
    "\n  mutation ChangePassword($current: String!, $next: String!, $secondFactor: String) {\n    changePassword(currentPassword: $current, newPassword: $next, secondFactor: $secondFactor)\n  }\n": types.ChangePasswordDocument,
    "\n  query Workspaces {\n    workspaces {\n      slug\n      name\n      role\n    }\n  }\n": types.WorkspacesDocument,
    "\n  mutation CreateWorkspace($name: String!, $slug: String!) {\n    createWorkspace(name: $name, slug: $slug) {\n      slug\n      name\n      role\n    }\n  }\n": types.CreateWorkspaceDocument,
    "\n  query DeletedWorkspaces {\n    myDeletedWorkspaces {\n      slug\n      name\n      deletedAt\n      purgeAfter\n    }\n  }\n": types.DeletedWorkspacesDocument,
    "\n  mutation RestoreWorkspace($slug: String!) {\n    restoreWorkspace(slug: $slug)\n  }\n": types.RestoreWorkspaceDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Me {\n    me {\n      id\n      email\n      displayName\n      emailVerified\n    }\n  }\n"): (typeof documents)["\n  query Me {\n    me {\n      id\n      email\n      displayName\n      emailVerified\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ResendVerification {\n    resendVerification\n  }\n"): (typeof documents)["\n  mutation ResendVerification {\n    resendVerification\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AcceptInvitation($workspace: String!, $token: String!) {\n    acceptInvitation(workspace: $workspace, token: $token) {\n      slug\n      name\n    }\n  }\n"): (typeof documents)["\n  mutation AcceptInvitation($workspace: String!, $token: String!) {\n    acceptInvitation(workspace: $workspace, token: $token) {\n      slug\n      name\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Factors {\n    mySecondFactors {\n      totp\n      passkeys\n      recoveryCodesLeft\n    }\n    myPasskeys {\n      id\n      name\n      createdAt\n      lastUsedAt\n    }\n  }\n"): (typeof documents)["\n  query Factors {\n    mySecondFactors {\n      totp\n      passkeys\n      recoveryCodesLeft\n    }\n    myPasskeys {\n      id\n      name\n      createdAt\n      lastUsedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation BeginTotp($secondFactor: String) {\n    beginTotpEnrollment(secondFactor: $secondFactor) {\n      secret\n      uri\n      qrSvg\n    }\n  }\n"): (typeof documents)["\n  mutation BeginTotp($secondFactor: String) {\n    beginTotpEnrollment(secondFactor: $secondFactor) {\n      secret\n      uri\n      qrSvg\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConfirmTotp($code: String!) {\n    confirmTotp(code: $code)\n  }\n"): (typeof documents)["\n  mutation ConfirmTotp($code: String!) {\n    confirmTotp(code: $code)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DisableTotp($secondFactor: String) {\n    disableTotp(secondFactor: $secondFactor)\n  }\n"): (typeof documents)["\n  mutation DisableTotp($secondFactor: String) {\n    disableTotp(secondFactor: $secondFactor)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RegenerateRecoveryCodes($secondFactor: String) {\n    regenerateRecoveryCodes(secondFactor: $secondFactor)\n  }\n"): (typeof documents)["\n  mutation RegenerateRecoveryCodes($secondFactor: String) {\n    regenerateRecoveryCodes(secondFactor: $secondFactor)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation StartPasskey($secondFactor: String) {\n    startPasskeyRegistration(secondFactor: $secondFactor)\n  }\n"): (typeof documents)["\n  mutation StartPasskey($secondFactor: String) {\n    startPasskeyRegistration(secondFactor: $secondFactor)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation FinishPasskey($ceremonyId: ID!, $name: String!, $credential: JSON!) {\n    finishPasskeyRegistration(ceremonyId: $ceremonyId, name: $name, credential: $credential) {\n      passkey {\n        id\n        name\n      }\n      recoveryCodes\n    }\n  }\n"): (typeof documents)["\n  mutation FinishPasskey($ceremonyId: ID!, $name: String!, $credential: JSON!) {\n    finishPasskeyRegistration(ceremonyId: $ceremonyId, name: $name, credential: $credential) {\n      passkey {\n        id\n        name\n      }\n      recoveryCodes\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RenamePasskey($id: ID!, $name: String!) {\n    renamePasskey(id: $id, name: $name) {\n      id\n      name\n    }\n  }\n"): (typeof documents)["\n  mutation RenamePasskey($id: ID!, $name: String!) {\n    renamePasskey(id: $id, name: $name) {\n      id\n      name\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeletePasskey($id: ID!, $secondFactor: String) {\n    deletePasskey(id: $id, secondFactor: $secondFactor)\n  }\n"): (typeof documents)["\n  mutation DeletePasskey($id: ID!, $secondFactor: String) {\n    deletePasskey(id: $id, secondFactor: $secondFactor)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Security {\n    me {\n      id\n      email\n      securityEvents(first: 20) {\n        id\n        at\n        action\n        ip\n        userAgent\n      }\n    }\n    mySessions {\n      id\n      aal\n      createdAt\n      lastSeenAt\n      userAgent\n      ip\n      current\n    }\n    mySecondFactors {\n      totp\n      passkeys\n      recoveryCodesLeft\n    }\n  }\n"): (typeof documents)["\n  query Security {\n    me {\n      id\n      email\n      securityEvents(first: 20) {\n        id\n        at\n        action\n        ip\n        userAgent\n      }\n    }\n    mySessions {\n      id\n      aal\n      createdAt\n      lastSeenAt\n      userAgent\n      ip\n      current\n    }\n    mySecondFactors {\n      totp\n      passkeys\n      recoveryCodesLeft\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RevokeSession($id: ID!) {\n    revokeSession(id: $id)\n  }\n"): (typeof documents)["\n  mutation RevokeSession($id: ID!) {\n    revokeSession(id: $id)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RevokeOtherSessions {\n    revokeOtherSessions\n  }\n"): (typeof documents)["\n  mutation RevokeOtherSessions {\n    revokeOtherSessions\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ChangePassword($current: String!, $next: String!, $secondFactor: String) {\n    changePassword(currentPassword: $current, newPassword: $next, secondFactor: $secondFactor)\n  }\n"): (typeof documents)["\n  mutation ChangePassword($current: String!, $next: String!, $secondFactor: String) {\n    changePassword(currentPassword: $current, newPassword: $next, secondFactor: $secondFactor)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Workspaces {\n    workspaces {\n      slug\n      name\n      role\n    }\n  }\n"): (typeof documents)["\n  query Workspaces {\n    workspaces {\n      slug\n      name\n      role\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateWorkspace($name: String!, $slug: String!) {\n    createWorkspace(name: $name, slug: $slug) {\n      slug\n      name\n      role\n    }\n  }\n"): (typeof documents)["\n  mutation CreateWorkspace($name: String!, $slug: String!) {\n    createWorkspace(name: $name, slug: $slug) {\n      slug\n      name\n      role\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query DeletedWorkspaces {\n    myDeletedWorkspaces {\n      slug\n      name\n      deletedAt\n      purgeAfter\n    }\n  }\n"): (typeof documents)["\n  query DeletedWorkspaces {\n    myDeletedWorkspaces {\n      slug\n      name\n      deletedAt\n      purgeAfter\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RestoreWorkspace($slug: String!) {\n    restoreWorkspace(slug: $slug)\n  }\n"): (typeof documents)["\n  mutation RestoreWorkspace($slug: String!) {\n    restoreWorkspace(slug: $slug)\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;