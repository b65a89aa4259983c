// A real OpenID provider for the integration tests, on 127.0.0.1 only.
// Usage: node provider.mjs <port> '<clients JSON>'
// Every login is accepted (development interactions); the account id typed at login becomes
// the subject, `<id>@corp.test` its verified email. Clients whose id ends in `-slow` get
// authorization codes that expire after one second; clients may ask for HS256 ID tokens.
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const clients = JSON.parse(process.argv[3]);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: clients.map((c) => ({
    ...c,
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  conformIdTokenClaims: false,
  findAccount: async (_ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, email: `${id}@corp.test`, email_verified: true, name: id }),
  }),
  ttl: {
    AuthorizationCode: (_ctx, _code, client) => (client.clientId.endsWith('-slow') ? 1 : 60),
  },
  pkce: { required: () => true },
  // HS256 is enabled only so a test can show Tessera refusing it.
  enabledJWA: { idTokenSigningAlgValues: ['RS256', 'HS256'] },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['test-only-cookie-signing-key'] },
});

provider.listen(port, '127.0.0.1', () => {
  console.log('ready');
});
