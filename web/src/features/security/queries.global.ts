import { graphql } from "../../gql/global";

export const SecurityQuery = graphql(`
  query Security {
    me {
      id
      email
      securityEvents(first: 20) {
        id
        at
        action
        ip
        userAgent
      }
    }
    mySessions {
      id
      aal
      createdAt
      lastSeenAt
      userAgent
      ip
      current
    }
    mySecondFactors {
      totp
      passkeys
      recoveryCodesLeft
    }
  }
`);

export const RevokeSession = graphql(`
  mutation RevokeSession($id: ID!) {
    revokeSession(id: $id)
  }
`);

export const RevokeOtherSessions = graphql(`
  mutation RevokeOtherSessions {
    revokeOtherSessions
  }
`);

export const ChangePassword = graphql(`
  mutation ChangePassword($current: String!, $next: String!, $secondFactor: String) {
    changePassword(currentPassword: $current, newPassword: $next, secondFactor: $secondFactor)
  }
`);
