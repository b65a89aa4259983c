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

export const ProjectSettingsQuery = graphql(`
  query ProjectSettings($id: ID!) {
    project(id: $id) {
      id
      name
      description
      archivedAt
      goal {
        id
        title
      }
    }
    goals(first: 100) {
      nodes {
        id
        title
      }
    }
  }
`);

export const UpdateProject = graphql(`
  mutation UpdateProject($id: ID!, $input: UpdateProjectInput!) {
    updateProject(id: $id, input: $input) {
      id
      name
      description
      goal {
        id
        title
      }
    }
  }
`);

export const ArchiveProject = graphql(`
  mutation ArchiveProject($id: ID!) {
    archiveProject(id: $id) {
      id
      archivedAt
    }
  }
`);

export const TeamsQuery = graphql(`
  query Teams {
    teams(first: 100) {
      nodes {
        id
        name
        visibility
        archivedAt
        members {
          id
          email
          displayName
        }
      }
    }
    members(first: 100) {
      nodes {
        id
        email
        displayName
      }
    }
  }
`);

export const UpdateTeam = graphql(`
  mutation UpdateTeam($id: ID!, $input: UpdateTeamInput!) {
    updateTeam(id: $id, input: $input) {
      id
      name
      visibility
    }
  }
`);

export const ArchiveTeam = graphql(`
  mutation ArchiveTeam($id: ID!) {
    archiveTeam(id: $id) {
      id
      archivedAt
    }
  }
`);

export const AddTeamMember = graphql(`
  mutation AddTeamMember($teamId: ID!, $userId: ID!) {
    addTeamMember(teamId: $teamId, userId: $userId) {
      id
    }
  }
`);

export const RemoveTeamMember = graphql(`
  mutation RemoveTeamMember($teamId: ID!, $userId: ID!) {
    removeTeamMember(teamId: $teamId, userId: $userId) {
      id
    }
  }
`);
