import { graphql } from "../../gql/tenant";

export const MembersQuery = graphql(`
  query Members($after: String) {
    viewer {
      userId
      role
      permissions
    }
    members(first: 50, after: $after) {
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        id
        email
        displayName
        role
      }
    }
  }
`);

export const InvitationsQuery = graphql(`
  query Invitations {
    invitations(status: [PENDING, EXPIRED]) {
      id
      email
      role
      status
      expiresAt
      sentCount
    }
  }
`);

export const InviteMember = graphql(`
  mutation InviteMember($email: String!, $role: MemberRole!) {
    inviteMember(email: $email, role: $role) {
      id
      email
      role
      status
      expiresAt
      sentCount
    }
  }
`);

export const ResendInvitation = graphql(`
  mutation ResendInvitation($id: ID!) {
    resendInvitation(id: $id) {
      id
      status
      expiresAt
      sentCount
    }
  }
`);

export const RevokeInvitation = graphql(`
  mutation RevokeInvitation($id: ID!) {
    revokeInvitation(id: $id) {
      id
      status
    }
  }
`);

export const ChangeMemberRole = graphql(`
  mutation ChangeMemberRole($userId: ID!, $role: MemberRole!) {
    changeMemberRole(userId: $userId, role: $role) {
      id
      role
    }
  }
`);

export const RemoveMember = graphql(`
  mutation RemoveMember($userId: ID!) {
    removeMember(userId: $userId)
  }
`);

export const LeaveWorkspace = graphql(`
  mutation LeaveWorkspace {
    leaveWorkspace
  }
`);

export const TransferOwnership = graphql(`
  mutation TransferOwnership($userId: ID!) {
    transferOwnership(userId: $userId) {
      id
      role
    }
  }
`);
