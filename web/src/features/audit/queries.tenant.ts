import { graphql } from "../../gql/tenant";

export const AuditEntriesQuery = graphql(`
  query AuditEntries($after: Int!, $from: DateTime, $to: DateTime, $actions: [String!]!, $actorUser: ID, $targetId: String) {
    auditEntries(first: 50, after: $after, from: $from, to: $to, actions: $actions, actorUser: $actorUser, targetId: $targetId) {
      seq
      at
      actorType
      actorUser
      action
      targetType
      targetId
      clientIp
      payload
      erased
      hash
    }
  }
`);

export const AuditStatusQuery = graphql(`
  query AuditStatus {
    auditStatus {
      ok
      entries
      lastSeq
      checkpoints
      firstBadSeq
      reason
      lastCheckpoint {
        seq
        signedAt
        keyId
      }
    }
  }
`);
