// PostGraphile configured the way it serves one tenant of a schema-per-tenant database with
// Row-Level Security: connected as Tessera's runtime login role, and every request wrapped in
// a transaction that sets the same transaction-local tenant settings Tessera sets (`role`,
// `search_path`, `tessera.tenant_id`), which PostGraphile does through `pgSettings`.
// Used by `bench api` (src/bin/bench.rs); the values come from the environment.
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const settings = {
  role: env("PEER_ROLE"),
  search_path: `${env("PEER_SCHEMA")}, public`,
  "tessera.tenant_id": env("PEER_TENANT_ID"),
};

export default {
  extends: [PostGraphileAmberPreset],
  pgServices: [
    makePgService({
      connectionString: env("PEER_DATABASE_URL"),
      schemas: [env("PEER_SCHEMA")],
      pgSettings: () => settings,
      pgSettingsForIntrospection: { role: settings.role },
      pubsub: false,
    }),
  ],
  grafserv: { host: "127.0.0.1", port: Number(env("PEER_PORT")) },
};
