import { graphql } from "../../gql/tenant";

export const ProjectsQuery = graphql(`
  query Projects($after: String) {
    teams(first: 100) {
      nodes {
        id
        name
        visibility
      }
    }
    projects(first: 25, after: $after) {
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        id
        name
        description
        updatedAt
        team {
          id
          name
        }
      }
    }
  }
`);

export const CreateTeam = graphql(`
  mutation CreateTeam($input: CreateTeamInput!) {
    createTeam(input: $input) {
      id
      name
      visibility
    }
  }
`);

export const CreateProject = graphql(`
  mutation CreateProject($input: CreateProjectInput!) {
    createProject(input: $input) {
      id
      name
    }
  }
`);

export const ProjectQuery = graphql(`
  query Project($id: ID!, $after: String) {
    project(id: $id) {
      id
      name
      description
      archivedAt
      team {
        id
        name
      }
      records(first: 25, after: $after) {
        pageInfo {
          hasNextPage
          endCursor
        }
        nodes {
          id
          title
          body
          status
          updatedAt
        }
      }
    }
  }
`);

export const CreateRecord = graphql(`
  mutation CreateRecord($input: CreateRecordInput!) {
    createRecord(input: $input) {
      id
      title
      body
      status
      updatedAt
    }
  }
`);

export const UpdateRecord = graphql(`
  mutation UpdateRecord($id: ID!, $input: UpdateRecordInput!) {
    updateRecord(id: $id, input: $input) {
      id
      title
      body
      status
      updatedAt
    }
  }
`);

export const ArchiveRecord = graphql(`
  mutation ArchiveRecord($id: ID!) {
    archiveRecord(id: $id) {
      id
      archivedAt
    }
  }
`);

export const HistoryQuery = graphql(`
  query History($type: EntityType!, $id: ID!) {
    history(entityType: $type, id: $id) {
      version
      at
      actorUser
      changes
      restoredFrom
    }
  }
`);

export const RestoreVersion = graphql(`
  mutation RestoreVersion($type: EntityType!, $id: ID!, $version: Int!) {
    restoreVersion(entityType: $type, id: $id, version: $version) {
      version
    }
  }
`);

export const AttachmentsQuery = graphql(`
  query Attachments($type: AttachedTo!, $id: ID!) {
    attachments(entityType: $type, entityId: $id) {
      id
      filename
      contentType
      size
      sha256
      createdAt
      contentUrl
    }
  }
`);
