import { graphql } from "../../gql/global";

export const MeQuery = graphql(`
  query Me {
    me {
      id
      email
      displayName
      emailVerified
    }
  }
`);

export const ResendVerification = graphql(`
  mutation ResendVerification {
    resendVerification
  }
`);

export const AcceptInvitation = graphql(`
  mutation AcceptInvitation($workspace: String!, $token: String!) {
    acceptInvitation(workspace: $workspace, token: $token) {
      slug
      name
    }
  }
`);
