import { graphql } from "../../gql/tenant";

export const GoalsQuery = graphql(`
  query Goals($after: String) {
    goals(first: 25, after: $after) {
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        id
        title
        description
        archivedAt
        projects(first: 10) {
          nodes {
            id
            name
          }
        }
      }
    }
  }
`);

export const CreateGoal = graphql(`
  mutation CreateGoal($input: GoalInput!) {
    createGoal(input: $input) {
      id
      title
    }
  }
`);

export const UpdateGoal = graphql(`
  mutation UpdateGoal($id: ID!, $input: UpdateGoalInput!) {
    updateGoal(id: $id, input: $input) {
      id
      title
      description
    }
  }
`);

export const ArchiveGoal = graphql(`
  mutation ArchiveGoal($id: ID!) {
    archiveGoal(id: $id) {
      id
      archivedAt
    }
  }
`);

export const IdeasQuery = graphql(`
  query Ideas($after: String) {
    teams(first: 100) {
      nodes {
        id
        name
      }
    }
    ideas(first: 25, after: $after) {
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        id
        title
        body
        archivedAt
        promotedProject {
          id
          name
        }
      }
    }
  }
`);

export const CreateIdea = graphql(`
  mutation CreateIdea($input: IdeaInput!) {
    createIdea(input: $input) {
      id
      title
    }
  }
`);

export const UpdateIdea = graphql(`
  mutation UpdateIdea($id: ID!, $input: UpdateIdeaInput!) {
    updateIdea(id: $id, input: $input) {
      id
      title
      body
    }
  }
`);

export const ArchiveIdea = graphql(`
  mutation ArchiveIdea($id: ID!) {
    archiveIdea(id: $id) {
      id
      archivedAt
    }
  }
`);

export const PromoteIdea = graphql(`
  mutation PromoteIdea($id: ID!, $teamId: ID!) {
    promoteIdea(id: $id, teamId: $teamId) {
      idea {
        id
      }
      project {
        id
        name
      }
    }
  }
`);
