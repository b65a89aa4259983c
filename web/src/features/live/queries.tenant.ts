import { graphql } from "../../gql/tenant";

export const WorkspaceChanged = graphql(`
  subscription WorkspaceChanged {
    workspaceChanged {
      seq
      action
      entity
      id
      resync
    }
  }
`);
