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
