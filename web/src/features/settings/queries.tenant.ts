import { graphql } from "../../gql/tenant";

export const SettingsQuery = graphql(`
  query Settings {
    viewer {
      role
      permissions
    }
    mfaRequired
  }
`);

export const ExportsQuery = graphql(`
  query Exports {
    exports(first: 10) {
      id
      status
      createdAt
      finishedAt
      size
      sha256
      error
      contentUrl
    }
  }
`);

export const StartExport = graphql(`
  mutation StartExport {
    startExport {
      id
      status
      createdAt
    }
  }
`);

export const ApiTokensQuery = graphql(`
  query ApiTokens {
    apiTokens {
      id
      name
      scopes
      createdAt
      lastUsedAt
      revokedAt
    }
  }
`);

export const CreateApiToken = graphql(`
  mutation CreateApiToken($name: String!, $scopes: [ApiTokenScope!]!) {
    createApiToken(name: $name, scopes: $scopes) {
      secret
      apiToken {
        id
        name
        scopes
        createdAt
      }
    }
  }
`);

export const RevokeApiToken = graphql(`
  mutation RevokeApiToken($id: ID!) {
    revokeApiToken(id: $id) {
      id
      revokedAt
    }
  }
`);

export const SetMfaRequired = graphql(`
  mutation SetMfaRequired($required: Boolean!) {
    setMfaRequired(required: $required)
  }
`);

export const DeleteWorkspace = graphql(`
  mutation DeleteWorkspace($confirmSlug: String!) {
    deleteWorkspace(confirmSlug: $confirmSlug)
  }
`);

export const WebhooksQuery = graphql(`
  query Webhooks {
    webhookEndpoints {
      id
      url
      events
      enabled
      disabledReason
      consecutiveFailures
      previousSecretUntil
      createdAt
    }
  }
`);

export const WebhookMessagesQuery = graphql(`
  query WebhookMessages($id: ID!) {
    webhookMessages(endpointId: $id, first: 20) {
      id
      eventType
      status
      attempts
      createdAt
      deliveredAt
      lastStatusCode
      lastError
    }
  }
`);

export const CreateWebhook = graphql(`
  mutation CreateWebhook($input: CreateWebhookEndpointInput!) {
    createWebhookEndpoint(input: $input) {
      endpoint {
        id
      }
      secret
    }
  }
`);

export const RotateWebhookSecret = graphql(`
  mutation RotateWebhookSecret($id: ID!) {
    rotateWebhookSecret(id: $id) {
      endpoint {
        id
        previousSecretUntil
      }
      secret
    }
  }
`);

export const EnableWebhook = graphql(`
  mutation EnableWebhook($id: ID!) {
    enableWebhookEndpoint(id: $id) {
      id
      enabled
    }
  }
`);

export const DeleteWebhook = graphql(`
  mutation DeleteWebhook($id: ID!) {
    deleteWebhookEndpoint(id: $id)
  }
`);

export const SsoQuery = graphql(`
  query SsoSettings {
    sso {
      issuer
      clientId
      jitRole
      ssoOnly
      callbackUrl
      startUrl
    }
  }
`);

export const ConfigureSso = graphql(`
  mutation ConfigureSso($issuer: String!, $clientId: String!, $clientSecret: String!, $jitRole: SsoJitRole) {
    configureSso(issuer: $issuer, clientId: $clientId, clientSecret: $clientSecret, jitRole: $jitRole) {
      issuer
      clientId
      jitRole
      ssoOnly
      callbackUrl
      startUrl
    }
  }
`);

export const SetSsoOnly = graphql(`
  mutation SetSsoOnly($only: Boolean!) {
    setSsoOnly(only: $only)
  }
`);

export const AuditRetentionQuery = graphql(`
  query AuditRetention {
    auditRetention {
      days
      firstKept
    }
  }
`);

export const SetAuditRetention = graphql(`
  mutation SetAuditRetention($days: Int!) {
    setAuditRetention(days: $days)
  }
`);

export const NetworkAccessQuery = graphql(`
  query NetworkAccess {
    networkAccess {
      allowlist
      yourAddress
      youAreInside
    }
  }
`);

export const SetIpAllowlist = graphql(`
  mutation SetIpAllowlist($networks: [String!]!) {
    setIpAllowlist(networks: $networks) {
      allowlist
      yourAddress
      youAreInside
    }
  }
`);

export const ScimQuery = graphql(`
  query Scim {
    scim {
      baseUrl
      tokens {
        id
        name
        createdAt
        lastUsedAt
        revokedAt
      }
    }
  }
`);

export const CreateScimToken = graphql(`
  mutation CreateScimToken($name: String!) {
    createScimToken(name: $name) {
      secret
      scimToken {
        id
      }
    }
  }
`);

export const RevokeScimToken = graphql(`
  mutation RevokeScimToken($id: ID!) {
    revokeScimToken(id: $id) {
      id
      revokedAt
    }
  }
`);
