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
    "\n  query AuditEntries($after: Int!, $from: DateTime, $to: DateTime, $actions: [String!]!, $actorUser: ID, $targetId: String) {\n    auditEntries(first: 50, after: $after, from: $from, to: $to, actions: $actions, actorUser: $actorUser, targetId: $targetId) {\n      seq\n      at\n      actorType\n      actorUser\n      action\n      targetType\n      targetId\n      clientIp\n      payload\n      erased\n      hash\n    }\n  }\n": typeof types.AuditEntriesDocument,
    "\n  query AuditStatus {\n    auditStatus {\n      ok\n      entries\n      lastSeq\n      checkpoints\n      firstBadSeq\n      reason\n      lastCheckpoint {\n        seq\n        signedAt\n        keyId\n      }\n    }\n  }\n": typeof types.AuditStatusDocument,
    "\n  subscription WorkspaceChanged {\n    workspaceChanged {\n      seq\n      action\n      entity\n      id\n      resync\n    }\n  }\n": typeof types.WorkspaceChangedDocument,
    "\n  query Members($after: String) {\n    viewer {\n      userId\n      role\n      permissions\n    }\n    members(first: 50, after: $after) {\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        id\n        email\n        displayName\n        role\n      }\n    }\n  }\n": typeof types.MembersDocument,
    "\n  query Invitations {\n    invitations(status: [PENDING, EXPIRED]) {\n      id\n      email\n      role\n      status\n      expiresAt\n      sentCount\n    }\n  }\n": typeof types.InvitationsDocument,
    "\n  mutation InviteMember($email: String!, $role: MemberRole!) {\n    inviteMember(email: $email, role: $role) {\n      id\n      email\n      role\n      status\n      expiresAt\n      sentCount\n    }\n  }\n": typeof types.InviteMemberDocument,
    "\n  mutation ResendInvitation($id: ID!) {\n    resendInvitation(id: $id) {\n      id\n      status\n      expiresAt\n      sentCount\n    }\n  }\n": typeof types.ResendInvitationDocument,
    "\n  mutation RevokeInvitation($id: ID!) {\n    revokeInvitation(id: $id) {\n      id\n      status\n    }\n  }\n": typeof types.RevokeInvitationDocument,
    "\n  mutation ChangeMemberRole($userId: ID!, $role: MemberRole!) {\n    changeMemberRole(userId: $userId, role: $role) {\n      id\n      role\n    }\n  }\n": typeof types.ChangeMemberRoleDocument,
    "\n  mutation RemoveMember($userId: ID!) {\n    removeMember(userId: $userId)\n  }\n": typeof types.RemoveMemberDocument,
    "\n  mutation LeaveWorkspace {\n    leaveWorkspace\n  }\n": typeof types.LeaveWorkspaceDocument,
    "\n  mutation TransferOwnership($userId: ID!) {\n    transferOwnership(userId: $userId) {\n      id\n      role\n    }\n  }\n": typeof types.TransferOwnershipDocument,
    "\n  query Goals($after: String) {\n    goals(first: 25, after: $after) {\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        id\n        title\n        description\n        archivedAt\n        projects(first: 10) {\n          nodes {\n            id\n            name\n          }\n        }\n      }\n    }\n  }\n": typeof types.GoalsDocument,
    "\n  mutation CreateGoal($input: GoalInput!) {\n    createGoal(input: $input) {\n      id\n      title\n    }\n  }\n": typeof types.CreateGoalDocument,
    "\n  mutation UpdateGoal($id: ID!, $input: UpdateGoalInput!) {\n    updateGoal(id: $id, input: $input) {\n      id\n      title\n      description\n    }\n  }\n": typeof types.UpdateGoalDocument,
    "\n  mutation ArchiveGoal($id: ID!) {\n    archiveGoal(id: $id) {\n      id\n      archivedAt\n    }\n  }\n": typeof types.ArchiveGoalDocument,
    "\n  query Ideas($after: String) {\n    teams(first: 100) {\n      nodes {\n        id\n        name\n      }\n    }\n    ideas(first: 25, after: $after) {\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        id\n        title\n        body\n        archivedAt\n        promotedProject {\n          id\n          name\n        }\n      }\n    }\n  }\n": typeof types.IdeasDocument,
    "\n  mutation CreateIdea($input: IdeaInput!) {\n    createIdea(input: $input) {\n      id\n      title\n    }\n  }\n": typeof types.CreateIdeaDocument,
    "\n  mutation UpdateIdea($id: ID!, $input: UpdateIdeaInput!) {\n    updateIdea(id: $id, input: $input) {\n      id\n      title\n      body\n    }\n  }\n": typeof types.UpdateIdeaDocument,
    "\n  mutation ArchiveIdea($id: ID!) {\n    archiveIdea(id: $id) {\n      id\n      archivedAt\n    }\n  }\n": typeof types.ArchiveIdeaDocument,
    "\n  mutation PromoteIdea($id: ID!, $teamId: ID!) {\n    promoteIdea(id: $id, teamId: $teamId) {\n      idea {\n        id\n      }\n      project {\n        id\n        name\n      }\n    }\n  }\n": typeof types.PromoteIdeaDocument,
    "\n  query Projects($after: String) {\n    teams(first: 100) {\n      nodes {\n        id\n        name\n        visibility\n      }\n    }\n    projects(first: 25, after: $after) {\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        id\n        name\n        description\n        updatedAt\n        team {\n          id\n          name\n        }\n      }\n    }\n  }\n": typeof types.ProjectsDocument,
    "\n  mutation CreateTeam($input: CreateTeamInput!) {\n    createTeam(input: $input) {\n      id\n      name\n      visibility\n    }\n  }\n": typeof types.CreateTeamDocument,
    "\n  mutation CreateProject($input: CreateProjectInput!) {\n    createProject(input: $input) {\n      id\n      name\n    }\n  }\n": typeof types.CreateProjectDocument,
    "\n  query Project($id: ID!, $after: String) {\n    project(id: $id) {\n      id\n      name\n      description\n      archivedAt\n      team {\n        id\n        name\n      }\n      records(first: 25, after: $after) {\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        nodes {\n          id\n          title\n          body\n          status\n          updatedAt\n        }\n      }\n    }\n  }\n": typeof types.ProjectDocument,
    "\n  mutation CreateRecord($input: CreateRecordInput!) {\n    createRecord(input: $input) {\n      id\n      title\n      body\n      status\n      updatedAt\n    }\n  }\n": typeof types.CreateRecordDocument,
    "\n  mutation UpdateRecord($id: ID!, $input: UpdateRecordInput!) {\n    updateRecord(id: $id, input: $input) {\n      id\n      title\n      body\n      status\n      updatedAt\n    }\n  }\n": typeof types.UpdateRecordDocument,
    "\n  mutation ArchiveRecord($id: ID!) {\n    archiveRecord(id: $id) {\n      id\n      archivedAt\n    }\n  }\n": typeof types.ArchiveRecordDocument,
    "\n  query History($type: EntityType!, $id: ID!) {\n    history(entityType: $type, id: $id) {\n      version\n      at\n      actorUser\n      changes\n      restoredFrom\n    }\n  }\n": typeof types.HistoryDocument,
    "\n  mutation RestoreVersion($type: EntityType!, $id: ID!, $version: Int!) {\n    restoreVersion(entityType: $type, id: $id, version: $version) {\n      version\n    }\n  }\n": typeof types.RestoreVersionDocument,
    "\n  query Attachments($type: AttachedTo!, $id: ID!) {\n    attachments(entityType: $type, entityId: $id) {\n      id\n      filename\n      contentType\n      size\n      sha256\n      createdAt\n      contentUrl\n    }\n  }\n": typeof types.AttachmentsDocument,
    "\n  query ProjectSettings($id: ID!) {\n    project(id: $id) {\n      id\n      name\n      description\n      archivedAt\n      goal {\n        id\n        title\n      }\n    }\n    goals(first: 100) {\n      nodes {\n        id\n        title\n      }\n    }\n  }\n": typeof types.ProjectSettingsDocument,
    "\n  mutation UpdateProject($id: ID!, $input: UpdateProjectInput!) {\n    updateProject(id: $id, input: $input) {\n      id\n      name\n      description\n      goal {\n        id\n        title\n      }\n    }\n  }\n": typeof types.UpdateProjectDocument,
    "\n  mutation ArchiveProject($id: ID!) {\n    archiveProject(id: $id) {\n      id\n      archivedAt\n    }\n  }\n": typeof types.ArchiveProjectDocument,
    "\n  query Teams {\n    teams(first: 100) {\n      nodes {\n        id\n        name\n        visibility\n        archivedAt\n        members {\n          id\n          email\n          displayName\n        }\n      }\n    }\n    members(first: 100) {\n      nodes {\n        id\n        email\n        displayName\n      }\n    }\n  }\n": typeof types.TeamsDocument,
    "\n  mutation UpdateTeam($id: ID!, $input: UpdateTeamInput!) {\n    updateTeam(id: $id, input: $input) {\n      id\n      name\n      visibility\n    }\n  }\n": typeof types.UpdateTeamDocument,
    "\n  mutation ArchiveTeam($id: ID!) {\n    archiveTeam(id: $id) {\n      id\n      archivedAt\n    }\n  }\n": typeof types.ArchiveTeamDocument,
    "\n  mutation AddTeamMember($teamId: ID!, $userId: ID!) {\n    addTeamMember(teamId: $teamId, userId: $userId) {\n      id\n    }\n  }\n": typeof types.AddTeamMemberDocument,
    "\n  mutation RemoveTeamMember($teamId: ID!, $userId: ID!) {\n    removeTeamMember(teamId: $teamId, userId: $userId) {\n      id\n    }\n  }\n": typeof types.RemoveTeamMemberDocument,
    "\n  query Settings {\n    viewer {\n      role\n      permissions\n    }\n    mfaRequired\n  }\n": typeof types.SettingsDocument,
    "\n  query Exports {\n    exports(first: 10) {\n      id\n      status\n      createdAt\n      finishedAt\n      size\n      sha256\n      error\n      contentUrl\n    }\n  }\n": typeof types.ExportsDocument,
    "\n  mutation StartExport {\n    startExport {\n      id\n      status\n      createdAt\n    }\n  }\n": typeof types.StartExportDocument,
    "\n  query ApiTokens {\n    apiTokens {\n      id\n      name\n      scopes\n      createdAt\n      lastUsedAt\n      revokedAt\n    }\n  }\n": typeof types.ApiTokensDocument,
    "\n  mutation CreateApiToken($name: String!, $scopes: [ApiTokenScope!]!) {\n    createApiToken(name: $name, scopes: $scopes) {\n      secret\n      apiToken {\n        id\n        name\n        scopes\n        createdAt\n      }\n    }\n  }\n": typeof types.CreateApiTokenDocument,
    "\n  mutation RevokeApiToken($id: ID!) {\n    revokeApiToken(id: $id) {\n      id\n      revokedAt\n    }\n  }\n": typeof types.RevokeApiTokenDocument,
    "\n  mutation SetMfaRequired($required: Boolean!) {\n    setMfaRequired(required: $required)\n  }\n": typeof types.SetMfaRequiredDocument,
    "\n  mutation DeleteWorkspace($confirmSlug: String!) {\n    deleteWorkspace(confirmSlug: $confirmSlug)\n  }\n": typeof types.DeleteWorkspaceDocument,
    "\n  query Webhooks {\n    webhookEndpoints {\n      id\n      url\n      events\n      enabled\n      disabledReason\n      consecutiveFailures\n      previousSecretUntil\n      createdAt\n    }\n  }\n": typeof types.WebhooksDocument,
    "\n  query WebhookMessages($id: ID!) {\n    webhookMessages(endpointId: $id, first: 20) {\n      id\n      eventType\n      status\n      attempts\n      createdAt\n      deliveredAt\n      lastStatusCode\n      lastError\n    }\n  }\n": typeof types.WebhookMessagesDocument,
    "\n  mutation CreateWebhook($input: CreateWebhookEndpointInput!) {\n    createWebhookEndpoint(input: $input) {\n      endpoint {\n        id\n      }\n      secret\n    }\n  }\n": typeof types.CreateWebhookDocument,
    "\n  mutation RotateWebhookSecret($id: ID!) {\n    rotateWebhookSecret(id: $id) {\n      endpoint {\n        id\n        previousSecretUntil\n      }\n      secret\n    }\n  }\n": typeof types.RotateWebhookSecretDocument,
    "\n  mutation EnableWebhook($id: ID!) {\n    enableWebhookEndpoint(id: $id) {\n      id\n      enabled\n    }\n  }\n": typeof types.EnableWebhookDocument,
    "\n  mutation DeleteWebhook($id: ID!) {\n    deleteWebhookEndpoint(id: $id)\n  }\n": typeof types.DeleteWebhookDocument,
    "\n  query SsoSettings {\n    sso {\n      issuer\n      clientId\n      jitRole\n      ssoOnly\n      callbackUrl\n      startUrl\n    }\n  }\n": typeof types.SsoSettingsDocument,
    "\n  mutation ConfigureSso($issuer: String!, $clientId: String!, $clientSecret: String!, $jitRole: SsoJitRole) {\n    configureSso(issuer: $issuer, clientId: $clientId, clientSecret: $clientSecret, jitRole: $jitRole) {\n      issuer\n      clientId\n      jitRole\n      ssoOnly\n      callbackUrl\n      startUrl\n    }\n  }\n": typeof types.ConfigureSsoDocument,
    "\n  mutation SetSsoOnly($only: Boolean!) {\n    setSsoOnly(only: $only)\n  }\n": typeof types.SetSsoOnlyDocument,
    "\n  query AuditRetention {\n    auditRetention {\n      days\n      firstKept\n    }\n  }\n": typeof types.AuditRetentionDocument,
    "\n  mutation SetAuditRetention($days: Int!) {\n    setAuditRetention(days: $days)\n  }\n": typeof types.SetAuditRetentionDocument,
    "\n  query NetworkAccess {\n    networkAccess {\n      allowlist\n      yourAddress\n      youAreInside\n    }\n  }\n": typeof types.NetworkAccessDocument,
    "\n  mutation SetIpAllowlist($networks: [String!]!) {\n    setIpAllowlist(networks: $networks) {\n      allowlist\n      yourAddress\n      youAreInside\n    }\n  }\n": typeof types.SetIpAllowlistDocument,
    "\n  query Scim {\n    scim {\n      baseUrl\n      tokens {\n        id\n        name\n        createdAt\n        lastUsedAt\n        revokedAt\n      }\n    }\n  }\n": typeof types.ScimDocument,
    "\n  mutation CreateScimToken($name: String!) {\n    createScimToken(name: $name) {\n      secret\n      scimToken {\n        id\n      }\n    }\n  }\n": typeof types.CreateScimTokenDocument,
    "\n  mutation RevokeScimToken($id: ID!) {\n    revokeScimToken(id: $id) {\n      id\n      revokedAt\n    }\n  }\n": typeof types.RevokeScimTokenDocument,
};
const documents: Documents = {
    "\n  query AuditEntries($after: Int!, $from: DateTime, $to: DateTime, $actions: [String!]!, $actorUser: ID, $targetId: String) {\n    auditEntries(first: 50, after: $after, from: $from, to: $to, actions: $actions, actorUser: $actorUser, targetId: $targetId) {\n      seq\n      at\n      actorType\n      actorUser\n      action\n      targetType\n      targetId\n      clientIp\n      payload\n      erased\n      hash\n    }\n  }\n": types.AuditEntriesDocument,
    "\n  query AuditStatus {\n    auditStatus {\n      ok\n      entries\n      lastSeq\n      checkpoints\n      firstBadSeq\n      reason\n      lastCheckpoint {\n        seq\n        signedAt\n        keyId\n      }\n    }\n  }\n": types.AuditStatusDocument,
    "\n  subscription WorkspaceChanged {\n    workspaceChanged {\n      seq\n      action\n      entity\n      id\n      resync\n    }\n  }\n": types.WorkspaceChangedDocument,
    "\n  query Members($after: String) {\n    viewer {\n      userId\n      role\n      permissions\n    }\n    members(first: 50, after: $after) {\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        id\n        email\n        displayName\n        role\n      }\n    }\n  }\n": types.MembersDocument,
    "\n  query Invitations {\n    invitations(status: [PENDING, EXPIRED]) {\n      id\n      email\n      role\n      status\n      expiresAt\n      sentCount\n    }\n  }\n": types.InvitationsDocument,
    "\n  mutation InviteMember($email: String!, $role: MemberRole!) {\n    inviteMember(email: $email, role: $role) {\n      id\n      email\n      role\n      status\n      expiresAt\n      sentCount\n    }\n  }\n": types.InviteMemberDocument,
    "\n  mutation ResendInvitation($id: ID!) {\n    resendInvitation(id: $id) {\n      id\n      status\n      expiresAt\n      sentCount\n    }\n  }\n": types.ResendInvitationDocument,
    "\n  mutation RevokeInvitation($id: ID!) {\n    revokeInvitation(id: $id) {\n      id\n      status\n    }\n  }\n": types.RevokeInvitationDocument,
    "\n  mutation ChangeMemberRole($userId: ID!, $role: MemberRole!) {\n    changeMemberRole(userId: $userId, role: $role) {\n      id\n      role\n    }\n  }\n": types.ChangeMemberRoleDocument,
    "\n  mutation RemoveMember($userId: ID!) {\n    removeMember(userId: $userId)\n  }\n": types.RemoveMemberDocument,
    "\n  mutation LeaveWorkspace {\n    leaveWorkspace\n  }\n": types.LeaveWorkspaceDocument,
    "\n  mutation TransferOwnership($userId: ID!) {\n    transferOwnership(userId: $userId) {\n      id\n      role\n    }\n  }\n": types.TransferOwnershipDocument,
    "\n  query Goals($after: String) {\n    goals(first: 25, after: $after) {\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        id\n        title\n        description\n        archivedAt\n        projects(first: 10) {\n          nodes {\n            id\n            name\n          }\n        }\n      }\n    }\n  }\n": types.GoalsDocument,
    "\n  mutation CreateGoal($input: GoalInput!) {\n    createGoal(input: $input) {\n      id\n      title\n    }\n  }\n": types.CreateGoalDocument,
    "\n  mutation UpdateGoal($id: ID!, $input: UpdateGoalInput!) {\n    updateGoal(id: $id, input: $input) {\n      id\n      title\n      description\n    }\n  }\n": types.UpdateGoalDocument,
    "\n  mutation ArchiveGoal($id: ID!) {\n    archiveGoal(id: $id) {\n      id\n      archivedAt\n    }\n  }\n": types.ArchiveGoalDocument,
    "\n  query Ideas($after: String) {\n    teams(first: 100) {\n      nodes {\n        id\n        name\n      }\n    }\n    ideas(first: 25, after: $after) {\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        id\n        title\n        body\n        archivedAt\n        promotedProject {\n          id\n          name\n        }\n      }\n    }\n  }\n": types.IdeasDocument,
    "\n  mutation CreateIdea($input: IdeaInput!) {\n    createIdea(input: $input) {\n      id\n      title\n    }\n  }\n": types.CreateIdeaDocument,
    "\n  mutation UpdateIdea($id: ID!, $input: UpdateIdeaInput!) {\n    updateIdea(id: $id, input: $input) {\n      id\n      title\n      body\n    }\n  }\n": types.UpdateIdeaDocument,
    "\n  mutation ArchiveIdea($id: ID!) {\n    archiveIdea(id: $id) {\n      id\n      archivedAt\n    }\n  }\n": types.ArchiveIdeaDocument,
    "\n  mutation PromoteIdea($id: ID!, $teamId: ID!) {\n    promoteIdea(id: $id, teamId: $teamId) {\n      idea {\n        id\n      }\n      project {\n        id\n        name\n      }\n    }\n  }\n": types.PromoteIdeaDocument,
    "\n  query Projects($after: String) {\n    teams(first: 100) {\n      nodes {\n        id\n        name\n        visibility\n      }\n    }\n    projects(first: 25, after: $after) {\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        id\n        name\n        description\n        updatedAt\n        team {\n          id\n          name\n        }\n      }\n    }\n  }\n": types.ProjectsDocument,
    "\n  mutation CreateTeam($input: CreateTeamInput!) {\n    createTeam(input: $input) {\n      id\n      name\n      visibility\n    }\n  }\n": types.CreateTeamDocument,
    "\n  mutation CreateProject($input: CreateProjectInput!) {\n    createProject(input: $input) {\n      id\n      name\n    }\n  }\n": types.CreateProjectDocument,
    "\n  query Project($id: ID!, $after: String) {\n    project(id: $id) {\n      id\n      name\n      description\n      archivedAt\n      team {\n        id\n        name\n      }\n      records(first: 25, after: $after) {\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        nodes {\n          id\n          title\n          body\n          status\n          updatedAt\n        }\n      }\n    }\n  }\n": types.ProjectDocument,
    "\n  mutation CreateRecord($input: CreateRecordInput!) {\n    createRecord(input: $input) {\n      id\n      title\n      body\n      status\n      updatedAt\n    }\n  }\n": types.CreateRecordDocument,
    "\n  mutation UpdateRecord($id: ID!, $input: UpdateRecordInput!) {\n    updateRecord(id: $id, input: $input) {\n      id\n      title\n      body\n      status\n      updatedAt\n    }\n  }\n": types.UpdateRecordDocument,
    "\n  mutation ArchiveRecord($id: ID!) {\n    archiveRecord(id: $id) {\n      id\n      archivedAt\n    }\n  }\n": types.ArchiveRecordDocument,
    "\n  query History($type: EntityType!, $id: ID!) {\n    history(entityType: $type, id: $id) {\n      version\n      at\n      actorUser\n      changes\n      restoredFrom\n    }\n  }\n": types.HistoryDocument,
    "\n  mutation RestoreVersion($type: EntityType!, $id: ID!, $version: Int!) {\n    restoreVersion(entityType: $type, id: $id, version: $version) {\n      version\n    }\n  }\n": types.RestoreVersionDocument,
    "\n  query Attachments($type: AttachedTo!, $id: ID!) {\n    attachments(entityType: $type, entityId: $id) {\n      id\n      filename\n      contentType\n      size\n      sha256\n      createdAt\n      contentUrl\n    }\n  }\n": types.AttachmentsDocument,
    "\n  query ProjectSettings($id: ID!) {\n    project(id: $id) {\n      id\n      name\n      description\n      archivedAt\n      goal {\n        id\n        title\n      }\n    }\n    goals(first: 100) {\n      nodes {\n        id\n        title\n      }\n    }\n  }\n": types.ProjectSettingsDocument,
    "\n  mutation UpdateProject($id: ID!, $input: UpdateProjectInput!) {\n    updateProject(id: $id, input: $input) {\n      id\n      name\n      description\n      goal {\n        id\n        title\n      }\n    }\n  }\n": types.UpdateProjectDocument,
    "\n  mutation ArchiveProject($id: ID!) {\n    archiveProject(id: $id) {\n      id\n      archivedAt\n    }\n  }\n": types.ArchiveProjectDocument,
    "\n  query Teams {\n    teams(first: 100) {\n      nodes {\n        id\n        name\n        visibility\n        archivedAt\n        members {\n          id\n          email\n          displayName\n        }\n      }\n    }\n    members(first: 100) {\n      nodes {\n        id\n        email\n        displayName\n      }\n    }\n  }\n": types.TeamsDocument,
    "\n  mutation UpdateTeam($id: ID!, $input: UpdateTeamInput!) {\n    updateTeam(id: $id, input: $input) {\n      id\n      name\n      visibility\n    }\n  }\n": types.UpdateTeamDocument,
    "\n  mutation ArchiveTeam($id: ID!) {\n    archiveTeam(id: $id) {\n      id\n      archivedAt\n    }\n  }\n": types.ArchiveTeamDocument,
    "\n  mutation AddTeamMember($teamId: ID!, $userId: ID!) {\n    addTeamMember(teamId: $teamId, userId: $userId) {\n      id\n    }\n  }\n": types.AddTeamMemberDocument,
    "\n  mutation RemoveTeamMember($teamId: ID!, $userId: ID!) {\n    removeTeamMember(teamId: $teamId, userId: $userId) {\n      id\n    }\n  }\n": types.RemoveTeamMemberDocument,
    "\n  query Settings {\n    viewer {\n      role\n      permissions\n    }\n    mfaRequired\n  }\n": types.SettingsDocument,
    "\n  query Exports {\n    exports(first: 10) {\n      id\n      status\n      createdAt\n      finishedAt\n      size\n      sha256\n      error\n      contentUrl\n    }\n  }\n": types.ExportsDocument,
    "\n  mutation StartExport {\n    startExport {\n      id\n      status\n      createdAt\n    }\n  }\n": types.StartExportDocument,
    "\n  query ApiTokens {\n    apiTokens {\n      id\n      name\n      scopes\n      createdAt\n      lastUsedAt\n      revokedAt\n    }\n  }\n": types.ApiTokensDocument,
    "\n  mutation CreateApiToken($name: String!, $scopes: [ApiTokenScope!]!) {\n    createApiToken(name: $name, scopes: $scopes) {\n      secret\n      apiToken {\n        id\n        name\n        scopes\n        createdAt\n      }\n    }\n  }\n": types.CreateApiTokenDocument,
    "\n  mutation RevokeApiToken($id: ID!) {\n    revokeApiToken(id: $id) {\n      id\n      revokedAt\n    }\n  }\n": types.RevokeApiTokenDocument,
    "\n  mutation SetMfaRequired($required: Boolean!) {\n    setMfaRequired(required: $required)\n  }\n": types.SetMfaRequiredDocument,
    "\n  mutation DeleteWorkspace($confirmSlug: String!) {\n    deleteWorkspace(confirmSlug: $confirmSlug)\n  }\n": types.DeleteWorkspaceDocument,
    "\n  query Webhooks {\n    webhookEndpoints {\n      id\n      url\n      events\n      enabled\n      disabledReason\n      consecutiveFailures\n      previousSecretUntil\n      createdAt\n    }\n  }\n": types.WebhooksDocument,
    "\n  query WebhookMessages($id: ID!) {\n    webhookMessages(endpointId: $id, first: 20) {\n      id\n      eventType\n      status\n      attempts\n      createdAt\n      deliveredAt\n      lastStatusCode\n      lastError\n    }\n  }\n": types.WebhookMessagesDocument,
    "\n  mutation CreateWebhook($input: CreateWebhookEndpointInput!) {\n    createWebhookEndpoint(input: $input) {\n      endpoint {\n        id\n      }\n      secret\n    }\n  }\n": types.CreateWebhookDocument,
    "\n  mutation RotateWebhookSecret($id: ID!) {\n    rotateWebhookSecret(id: $id) {\n      endpoint {\n        id\n        previousSecretUntil\n      }\n      secret\n    }\n  }\n": types.RotateWebhookSecretDocument,
    "\n  mutation EnableWebhook($id: ID!) {\n    enableWebhookEndpoint(id: $id) {\n      id\n      enabled\n    }\n  }\n": types.EnableWebhookDocument,
    "\n  mutation DeleteWebhook($id: ID!) {\n    deleteWebhookEndpoint(id: $id)\n  }\n": types.DeleteWebhookDocument,
    "\n  query SsoSettings {\n    sso {\n      issuer\n      clientId\n      jitRole\n      ssoOnly\n      callbackUrl\n      startUrl\n    }\n  }\n": types.SsoSettingsDocument,
    "\n  mutation ConfigureSso($issuer: String!, $clientId: String!, $clientSecret: String!, $jitRole: SsoJitRole) {\n    configureSso(issuer: $issuer, clientId: $clientId, clientSecret: $clientSecret, jitRole: $jitRole) {\n      issuer\n      clientId\n      jitRole\n      ssoOnly\n      callbackUrl\n      startUrl\n    }\n  }\n": types.ConfigureSsoDocument,
    "\n  mutation SetSsoOnly($only: Boolean!) {\n    setSsoOnly(only: $only)\n  }\n": types.SetSsoOnlyDocument,
    "\n  query AuditRetention {\n    auditRetention {\n      days\n      firstKept\n    }\n  }\n": types.AuditRetentionDocument,
    "\n  mutation SetAuditRetention($days: Int!) {\n    setAuditRetention(days: $days)\n  }\n": types.SetAuditRetentionDocument,
    "\n  query NetworkAccess {\n    networkAccess {\n      allowlist\n      yourAddress\n      youAreInside\n    }\n  }\n": types.NetworkAccessDocument,
    "\n  mutation SetIpAllowlist($networks: [String!]!) {\n    setIpAllowlist(networks: $networks) {\n      allowlist\n      yourAddress\n      youAreInside\n    }\n  }\n": types.SetIpAllowlistDocument,
    "\n  query Scim {\n    scim {\n      baseUrl\n      tokens {\n        id\n        name\n        createdAt\n        lastUsedAt\n        revokedAt\n      }\n    }\n  }\n": types.ScimDocument,
    "\n  mutation CreateScimToken($name: String!) {\n    createScimToken(name: $name) {\n      secret\n      scimToken {\n        id\n      }\n    }\n  }\n": types.CreateScimTokenDocument,
    "\n  mutation RevokeScimToken($id: ID!) {\n    revokeScimToken(id: $id) {\n      id\n      revokedAt\n    }\n  }\n": types.RevokeScimTokenDocument,
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
export function graphql(source: "\n  query AuditEntries($after: Int!, $from: DateTime, $to: DateTime, $actions: [String!]!, $actorUser: ID, $targetId: String) {\n    auditEntries(first: 50, after: $after, from: $from, to: $to, actions: $actions, actorUser: $actorUser, targetId: $targetId) {\n      seq\n      at\n      actorType\n      actorUser\n      action\n      targetType\n      targetId\n      clientIp\n      payload\n      erased\n      hash\n    }\n  }\n"): (typeof documents)["\n  query AuditEntries($after: Int!, $from: DateTime, $to: DateTime, $actions: [String!]!, $actorUser: ID, $targetId: String) {\n    auditEntries(first: 50, after: $after, from: $from, to: $to, actions: $actions, actorUser: $actorUser, targetId: $targetId) {\n      seq\n      at\n      actorType\n      actorUser\n      action\n      targetType\n      targetId\n      clientIp\n      payload\n      erased\n      hash\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AuditStatus {\n    auditStatus {\n      ok\n      entries\n      lastSeq\n      checkpoints\n      firstBadSeq\n      reason\n      lastCheckpoint {\n        seq\n        signedAt\n        keyId\n      }\n    }\n  }\n"): (typeof documents)["\n  query AuditStatus {\n    auditStatus {\n      ok\n      entries\n      lastSeq\n      checkpoints\n      firstBadSeq\n      reason\n      lastCheckpoint {\n        seq\n        signedAt\n        keyId\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription WorkspaceChanged {\n    workspaceChanged {\n      seq\n      action\n      entity\n      id\n      resync\n    }\n  }\n"): (typeof documents)["\n  subscription WorkspaceChanged {\n    workspaceChanged {\n      seq\n      action\n      entity\n      id\n      resync\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Members($after: String) {\n    viewer {\n      userId\n      role\n      permissions\n    }\n    members(first: 50, after: $after) {\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        id\n        email\n        displayName\n        role\n      }\n    }\n  }\n"): (typeof documents)["\n  query Members($after: String) {\n    viewer {\n      userId\n      role\n      permissions\n    }\n    members(first: 50, after: $after) {\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        id\n        email\n        displayName\n        role\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Invitations {\n    invitations(status: [PENDING, EXPIRED]) {\n      id\n      email\n      role\n      status\n      expiresAt\n      sentCount\n    }\n  }\n"): (typeof documents)["\n  query Invitations {\n    invitations(status: [PENDING, EXPIRED]) {\n      id\n      email\n      role\n      status\n      expiresAt\n      sentCount\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation InviteMember($email: String!, $role: MemberRole!) {\n    inviteMember(email: $email, role: $role) {\n      id\n      email\n      role\n      status\n      expiresAt\n      sentCount\n    }\n  }\n"): (typeof documents)["\n  mutation InviteMember($email: String!, $role: MemberRole!) {\n    inviteMember(email: $email, role: $role) {\n      id\n      email\n      role\n      status\n      expiresAt\n      sentCount\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ResendInvitation($id: ID!) {\n    resendInvitation(id: $id) {\n      id\n      status\n      expiresAt\n      sentCount\n    }\n  }\n"): (typeof documents)["\n  mutation ResendInvitation($id: ID!) {\n    resendInvitation(id: $id) {\n      id\n      status\n      expiresAt\n      sentCount\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RevokeInvitation($id: ID!) {\n    revokeInvitation(id: $id) {\n      id\n      status\n    }\n  }\n"): (typeof documents)["\n  mutation RevokeInvitation($id: ID!) {\n    revokeInvitation(id: $id) {\n      id\n      status\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ChangeMemberRole($userId: ID!, $role: MemberRole!) {\n    changeMemberRole(userId: $userId, role: $role) {\n      id\n      role\n    }\n  }\n"): (typeof documents)["\n  mutation ChangeMemberRole($userId: ID!, $role: MemberRole!) {\n    changeMemberRole(userId: $userId, role: $role) {\n      id\n      role\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RemoveMember($userId: ID!) {\n    removeMember(userId: $userId)\n  }\n"): (typeof documents)["\n  mutation RemoveMember($userId: ID!) {\n    removeMember(userId: $userId)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation LeaveWorkspace {\n    leaveWorkspace\n  }\n"): (typeof documents)["\n  mutation LeaveWorkspace {\n    leaveWorkspace\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation TransferOwnership($userId: ID!) {\n    transferOwnership(userId: $userId) {\n      id\n      role\n    }\n  }\n"): (typeof documents)["\n  mutation TransferOwnership($userId: ID!) {\n    transferOwnership(userId: $userId) {\n      id\n      role\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Goals($after: String) {\n    goals(first: 25, after: $after) {\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        id\n        title\n        description\n        archivedAt\n        projects(first: 10) {\n          nodes {\n            id\n            name\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Goals($after: String) {\n    goals(first: 25, after: $after) {\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        id\n        title\n        description\n        archivedAt\n        projects(first: 10) {\n          nodes {\n            id\n            name\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateGoal($input: GoalInput!) {\n    createGoal(input: $input) {\n      id\n      title\n    }\n  }\n"): (typeof documents)["\n  mutation CreateGoal($input: GoalInput!) {\n    createGoal(input: $input) {\n      id\n      title\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateGoal($id: ID!, $input: UpdateGoalInput!) {\n    updateGoal(id: $id, input: $input) {\n      id\n      title\n      description\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateGoal($id: ID!, $input: UpdateGoalInput!) {\n    updateGoal(id: $id, input: $input) {\n      id\n      title\n      description\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ArchiveGoal($id: ID!) {\n    archiveGoal(id: $id) {\n      id\n      archivedAt\n    }\n  }\n"): (typeof documents)["\n  mutation ArchiveGoal($id: ID!) {\n    archiveGoal(id: $id) {\n      id\n      archivedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Ideas($after: String) {\n    teams(first: 100) {\n      nodes {\n        id\n        name\n      }\n    }\n    ideas(first: 25, after: $after) {\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        id\n        title\n        body\n        archivedAt\n        promotedProject {\n          id\n          name\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Ideas($after: String) {\n    teams(first: 100) {\n      nodes {\n        id\n        name\n      }\n    }\n    ideas(first: 25, after: $after) {\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        id\n        title\n        body\n        archivedAt\n        promotedProject {\n          id\n          name\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateIdea($input: IdeaInput!) {\n    createIdea(input: $input) {\n      id\n      title\n    }\n  }\n"): (typeof documents)["\n  mutation CreateIdea($input: IdeaInput!) {\n    createIdea(input: $input) {\n      id\n      title\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateIdea($id: ID!, $input: UpdateIdeaInput!) {\n    updateIdea(id: $id, input: $input) {\n      id\n      title\n      body\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateIdea($id: ID!, $input: UpdateIdeaInput!) {\n    updateIdea(id: $id, input: $input) {\n      id\n      title\n      body\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ArchiveIdea($id: ID!) {\n    archiveIdea(id: $id) {\n      id\n      archivedAt\n    }\n  }\n"): (typeof documents)["\n  mutation ArchiveIdea($id: ID!) {\n    archiveIdea(id: $id) {\n      id\n      archivedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation PromoteIdea($id: ID!, $teamId: ID!) {\n    promoteIdea(id: $id, teamId: $teamId) {\n      idea {\n        id\n      }\n      project {\n        id\n        name\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation PromoteIdea($id: ID!, $teamId: ID!) {\n    promoteIdea(id: $id, teamId: $teamId) {\n      idea {\n        id\n      }\n      project {\n        id\n        name\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Projects($after: String) {\n    teams(first: 100) {\n      nodes {\n        id\n        name\n        visibility\n      }\n    }\n    projects(first: 25, after: $after) {\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        id\n        name\n        description\n        updatedAt\n        team {\n          id\n          name\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Projects($after: String) {\n    teams(first: 100) {\n      nodes {\n        id\n        name\n        visibility\n      }\n    }\n    projects(first: 25, after: $after) {\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        id\n        name\n        description\n        updatedAt\n        team {\n          id\n          name\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateTeam($input: CreateTeamInput!) {\n    createTeam(input: $input) {\n      id\n      name\n      visibility\n    }\n  }\n"): (typeof documents)["\n  mutation CreateTeam($input: CreateTeamInput!) {\n    createTeam(input: $input) {\n      id\n      name\n      visibility\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateProject($input: CreateProjectInput!) {\n    createProject(input: $input) {\n      id\n      name\n    }\n  }\n"): (typeof documents)["\n  mutation CreateProject($input: CreateProjectInput!) {\n    createProject(input: $input) {\n      id\n      name\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Project($id: ID!, $after: String) {\n    project(id: $id) {\n      id\n      name\n      description\n      archivedAt\n      team {\n        id\n        name\n      }\n      records(first: 25, after: $after) {\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        nodes {\n          id\n          title\n          body\n          status\n          updatedAt\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Project($id: ID!, $after: String) {\n    project(id: $id) {\n      id\n      name\n      description\n      archivedAt\n      team {\n        id\n        name\n      }\n      records(first: 25, after: $after) {\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        nodes {\n          id\n          title\n          body\n          status\n          updatedAt\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateRecord($input: CreateRecordInput!) {\n    createRecord(input: $input) {\n      id\n      title\n      body\n      status\n      updatedAt\n    }\n  }\n"): (typeof documents)["\n  mutation CreateRecord($input: CreateRecordInput!) {\n    createRecord(input: $input) {\n      id\n      title\n      body\n      status\n      updatedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateRecord($id: ID!, $input: UpdateRecordInput!) {\n    updateRecord(id: $id, input: $input) {\n      id\n      title\n      body\n      status\n      updatedAt\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateRecord($id: ID!, $input: UpdateRecordInput!) {\n    updateRecord(id: $id, input: $input) {\n      id\n      title\n      body\n      status\n      updatedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ArchiveRecord($id: ID!) {\n    archiveRecord(id: $id) {\n      id\n      archivedAt\n    }\n  }\n"): (typeof documents)["\n  mutation ArchiveRecord($id: ID!) {\n    archiveRecord(id: $id) {\n      id\n      archivedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query History($type: EntityType!, $id: ID!) {\n    history(entityType: $type, id: $id) {\n      version\n      at\n      actorUser\n      changes\n      restoredFrom\n    }\n  }\n"): (typeof documents)["\n  query History($type: EntityType!, $id: ID!) {\n    history(entityType: $type, id: $id) {\n      version\n      at\n      actorUser\n      changes\n      restoredFrom\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RestoreVersion($type: EntityType!, $id: ID!, $version: Int!) {\n    restoreVersion(entityType: $type, id: $id, version: $version) {\n      version\n    }\n  }\n"): (typeof documents)["\n  mutation RestoreVersion($type: EntityType!, $id: ID!, $version: Int!) {\n    restoreVersion(entityType: $type, id: $id, version: $version) {\n      version\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Attachments($type: AttachedTo!, $id: ID!) {\n    attachments(entityType: $type, entityId: $id) {\n      id\n      filename\n      contentType\n      size\n      sha256\n      createdAt\n      contentUrl\n    }\n  }\n"): (typeof documents)["\n  query Attachments($type: AttachedTo!, $id: ID!) {\n    attachments(entityType: $type, entityId: $id) {\n      id\n      filename\n      contentType\n      size\n      sha256\n      createdAt\n      contentUrl\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ProjectSettings($id: ID!) {\n    project(id: $id) {\n      id\n      name\n      description\n      archivedAt\n      goal {\n        id\n        title\n      }\n    }\n    goals(first: 100) {\n      nodes {\n        id\n        title\n      }\n    }\n  }\n"): (typeof documents)["\n  query ProjectSettings($id: ID!) {\n    project(id: $id) {\n      id\n      name\n      description\n      archivedAt\n      goal {\n        id\n        title\n      }\n    }\n    goals(first: 100) {\n      nodes {\n        id\n        title\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateProject($id: ID!, $input: UpdateProjectInput!) {\n    updateProject(id: $id, input: $input) {\n      id\n      name\n      description\n      goal {\n        id\n        title\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateProject($id: ID!, $input: UpdateProjectInput!) {\n    updateProject(id: $id, input: $input) {\n      id\n      name\n      description\n      goal {\n        id\n        title\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ArchiveProject($id: ID!) {\n    archiveProject(id: $id) {\n      id\n      archivedAt\n    }\n  }\n"): (typeof documents)["\n  mutation ArchiveProject($id: ID!) {\n    archiveProject(id: $id) {\n      id\n      archivedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Teams {\n    teams(first: 100) {\n      nodes {\n        id\n        name\n        visibility\n        archivedAt\n        members {\n          id\n          email\n          displayName\n        }\n      }\n    }\n    members(first: 100) {\n      nodes {\n        id\n        email\n        displayName\n      }\n    }\n  }\n"): (typeof documents)["\n  query Teams {\n    teams(first: 100) {\n      nodes {\n        id\n        name\n        visibility\n        archivedAt\n        members {\n          id\n          email\n          displayName\n        }\n      }\n    }\n    members(first: 100) {\n      nodes {\n        id\n        email\n        displayName\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateTeam($id: ID!, $input: UpdateTeamInput!) {\n    updateTeam(id: $id, input: $input) {\n      id\n      name\n      visibility\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateTeam($id: ID!, $input: UpdateTeamInput!) {\n    updateTeam(id: $id, input: $input) {\n      id\n      name\n      visibility\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ArchiveTeam($id: ID!) {\n    archiveTeam(id: $id) {\n      id\n      archivedAt\n    }\n  }\n"): (typeof documents)["\n  mutation ArchiveTeam($id: ID!) {\n    archiveTeam(id: $id) {\n      id\n      archivedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AddTeamMember($teamId: ID!, $userId: ID!) {\n    addTeamMember(teamId: $teamId, userId: $userId) {\n      id\n    }\n  }\n"): (typeof documents)["\n  mutation AddTeamMember($teamId: ID!, $userId: ID!) {\n    addTeamMember(teamId: $teamId, userId: $userId) {\n      id\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RemoveTeamMember($teamId: ID!, $userId: ID!) {\n    removeTeamMember(teamId: $teamId, userId: $userId) {\n      id\n    }\n  }\n"): (typeof documents)["\n  mutation RemoveTeamMember($teamId: ID!, $userId: ID!) {\n    removeTeamMember(teamId: $teamId, userId: $userId) {\n      id\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Settings {\n    viewer {\n      role\n      permissions\n    }\n    mfaRequired\n  }\n"): (typeof documents)["\n  query Settings {\n    viewer {\n      role\n      permissions\n    }\n    mfaRequired\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Exports {\n    exports(first: 10) {\n      id\n      status\n      createdAt\n      finishedAt\n      size\n      sha256\n      error\n      contentUrl\n    }\n  }\n"): (typeof documents)["\n  query Exports {\n    exports(first: 10) {\n      id\n      status\n      createdAt\n      finishedAt\n      size\n      sha256\n      error\n      contentUrl\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation StartExport {\n    startExport {\n      id\n      status\n      createdAt\n    }\n  }\n"): (typeof documents)["\n  mutation StartExport {\n    startExport {\n      id\n      status\n      createdAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ApiTokens {\n    apiTokens {\n      id\n      name\n      scopes\n      createdAt\n      lastUsedAt\n      revokedAt\n    }\n  }\n"): (typeof documents)["\n  query ApiTokens {\n    apiTokens {\n      id\n      name\n      scopes\n      createdAt\n      lastUsedAt\n      revokedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateApiToken($name: String!, $scopes: [ApiTokenScope!]!) {\n    createApiToken(name: $name, scopes: $scopes) {\n      secret\n      apiToken {\n        id\n        name\n        scopes\n        createdAt\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateApiToken($name: String!, $scopes: [ApiTokenScope!]!) {\n    createApiToken(name: $name, scopes: $scopes) {\n      secret\n      apiToken {\n        id\n        name\n        scopes\n        createdAt\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RevokeApiToken($id: ID!) {\n    revokeApiToken(id: $id) {\n      id\n      revokedAt\n    }\n  }\n"): (typeof documents)["\n  mutation RevokeApiToken($id: ID!) {\n    revokeApiToken(id: $id) {\n      id\n      revokedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetMfaRequired($required: Boolean!) {\n    setMfaRequired(required: $required)\n  }\n"): (typeof documents)["\n  mutation SetMfaRequired($required: Boolean!) {\n    setMfaRequired(required: $required)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteWorkspace($confirmSlug: String!) {\n    deleteWorkspace(confirmSlug: $confirmSlug)\n  }\n"): (typeof documents)["\n  mutation DeleteWorkspace($confirmSlug: String!) {\n    deleteWorkspace(confirmSlug: $confirmSlug)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Webhooks {\n    webhookEndpoints {\n      id\n      url\n      events\n      enabled\n      disabledReason\n      consecutiveFailures\n      previousSecretUntil\n      createdAt\n    }\n  }\n"): (typeof documents)["\n  query Webhooks {\n    webhookEndpoints {\n      id\n      url\n      events\n      enabled\n      disabledReason\n      consecutiveFailures\n      previousSecretUntil\n      createdAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query WebhookMessages($id: ID!) {\n    webhookMessages(endpointId: $id, first: 20) {\n      id\n      eventType\n      status\n      attempts\n      createdAt\n      deliveredAt\n      lastStatusCode\n      lastError\n    }\n  }\n"): (typeof documents)["\n  query WebhookMessages($id: ID!) {\n    webhookMessages(endpointId: $id, first: 20) {\n      id\n      eventType\n      status\n      attempts\n      createdAt\n      deliveredAt\n      lastStatusCode\n      lastError\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateWebhook($input: CreateWebhookEndpointInput!) {\n    createWebhookEndpoint(input: $input) {\n      endpoint {\n        id\n      }\n      secret\n    }\n  }\n"): (typeof documents)["\n  mutation CreateWebhook($input: CreateWebhookEndpointInput!) {\n    createWebhookEndpoint(input: $input) {\n      endpoint {\n        id\n      }\n      secret\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RotateWebhookSecret($id: ID!) {\n    rotateWebhookSecret(id: $id) {\n      endpoint {\n        id\n        previousSecretUntil\n      }\n      secret\n    }\n  }\n"): (typeof documents)["\n  mutation RotateWebhookSecret($id: ID!) {\n    rotateWebhookSecret(id: $id) {\n      endpoint {\n        id\n        previousSecretUntil\n      }\n      secret\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation EnableWebhook($id: ID!) {\n    enableWebhookEndpoint(id: $id) {\n      id\n      enabled\n    }\n  }\n"): (typeof documents)["\n  mutation EnableWebhook($id: ID!) {\n    enableWebhookEndpoint(id: $id) {\n      id\n      enabled\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteWebhook($id: ID!) {\n    deleteWebhookEndpoint(id: $id)\n  }\n"): (typeof documents)["\n  mutation DeleteWebhook($id: ID!) {\n    deleteWebhookEndpoint(id: $id)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SsoSettings {\n    sso {\n      issuer\n      clientId\n      jitRole\n      ssoOnly\n      callbackUrl\n      startUrl\n    }\n  }\n"): (typeof documents)["\n  query SsoSettings {\n    sso {\n      issuer\n      clientId\n      jitRole\n      ssoOnly\n      callbackUrl\n      startUrl\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConfigureSso($issuer: String!, $clientId: String!, $clientSecret: String!, $jitRole: SsoJitRole) {\n    configureSso(issuer: $issuer, clientId: $clientId, clientSecret: $clientSecret, jitRole: $jitRole) {\n      issuer\n      clientId\n      jitRole\n      ssoOnly\n      callbackUrl\n      startUrl\n    }\n  }\n"): (typeof documents)["\n  mutation ConfigureSso($issuer: String!, $clientId: String!, $clientSecret: String!, $jitRole: SsoJitRole) {\n    configureSso(issuer: $issuer, clientId: $clientId, clientSecret: $clientSecret, jitRole: $jitRole) {\n      issuer\n      clientId\n      jitRole\n      ssoOnly\n      callbackUrl\n      startUrl\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetSsoOnly($only: Boolean!) {\n    setSsoOnly(only: $only)\n  }\n"): (typeof documents)["\n  mutation SetSsoOnly($only: Boolean!) {\n    setSsoOnly(only: $only)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AuditRetention {\n    auditRetention {\n      days\n      firstKept\n    }\n  }\n"): (typeof documents)["\n  query AuditRetention {\n    auditRetention {\n      days\n      firstKept\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetAuditRetention($days: Int!) {\n    setAuditRetention(days: $days)\n  }\n"): (typeof documents)["\n  mutation SetAuditRetention($days: Int!) {\n    setAuditRetention(days: $days)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query NetworkAccess {\n    networkAccess {\n      allowlist\n      yourAddress\n      youAreInside\n    }\n  }\n"): (typeof documents)["\n  query NetworkAccess {\n    networkAccess {\n      allowlist\n      yourAddress\n      youAreInside\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetIpAllowlist($networks: [String!]!) {\n    setIpAllowlist(networks: $networks) {\n      allowlist\n      yourAddress\n      youAreInside\n    }\n  }\n"): (typeof documents)["\n  mutation SetIpAllowlist($networks: [String!]!) {\n    setIpAllowlist(networks: $networks) {\n      allowlist\n      yourAddress\n      youAreInside\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Scim {\n    scim {\n      baseUrl\n      tokens {\n        id\n        name\n        createdAt\n        lastUsedAt\n        revokedAt\n      }\n    }\n  }\n"): (typeof documents)["\n  query Scim {\n    scim {\n      baseUrl\n      tokens {\n        id\n        name\n        createdAt\n        lastUsedAt\n        revokedAt\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateScimToken($name: String!) {\n    createScimToken(name: $name) {\n      secret\n      scimToken {\n        id\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateScimToken($name: String!) {\n    createScimToken(name: $name) {\n      secret\n      scimToken {\n        id\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RevokeScimToken($id: ID!) {\n    revokeScimToken(id: $id) {\n      id\n      revokedAt\n    }\n  }\n"): (typeof documents)["\n  mutation RevokeScimToken($id: ID!) {\n    revokeScimToken(id: $id) {\n      id\n      revokedAt\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;