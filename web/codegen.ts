import type { CodegenConfig } from "@graphql-codegen/cli";

// Two endpoints, two schemas: operations on a workspace (`/w/<slug>/graphql`) live in
// `*.tenant.ts` files, operations of the account (`/graphql`) in `*.global.ts` files.
const config: CodegenConfig = {
  overwrite: true,
  ignoreNoDocuments: false,
  generates: {
    "src/gql/tenant/": {
      schema: "../schema/schema.graphql",
      documents: ["src/**/*.tenant.ts"],
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: { useTypeImports: true, enumsAsTypes: true, scalars: { DateTime: "string", JSON: "unknown" } },
    },
    "src/gql/global/": {
      schema: "../schema/global.graphql",
      documents: ["src/**/*.global.ts"],
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: { useTypeImports: true, enumsAsTypes: true, scalars: { DateTime: "string", JSON: "unknown" } },
    },
  },
};

export default config;
