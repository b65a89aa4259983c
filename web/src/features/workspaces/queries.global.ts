import { graphql } from "../../gql/global";

export const WorkspacesQuery = graphql(`
  query Workspaces {
    workspaces {
      slug
      name
      role
    }
  }
`);

export const CreateWorkspace = graphql(`
  mutation CreateWorkspace($name: String!, $slug: String!) {
    createWorkspace(name: $name, slug: $slug) {
      slug
      name
      role
    }
  }
`);

export const DeletedWorkspacesQuery = graphql(`
  query DeletedWorkspaces {
    myDeletedWorkspaces {
      slug
      name
      deletedAt
      purgeAfter
    }
  }
`);

export const RestoreWorkspace = graphql(`
  mutation RestoreWorkspace($slug: String!) {
    restoreWorkspace(slug: $slug)
  }
`);
