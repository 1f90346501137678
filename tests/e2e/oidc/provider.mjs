// TEST ONLY: a real OpenID Provider (panva/oidc-provider, OpenID Certified) on 127.0.0.1 for Rasure's
// single sign-on browser tests. Never deploy this: it serves plain http, generates a throwaway signing
// key at start, keeps everything in memory and uses oidc-provider's development login form.
//
// Environment (set by the pytest fixture in tests/e2e/test_sso.py):
//   OIDC_REDIRECT_URI   the Rasure callback of the live test server (registered for the one client)
//   OIDC_CLIENT_ID, OIDC_CLIENT_SECRET
//   OIDC_USERS_FILE     JSON {login: {password, email, preferred_username, name, groups}}, read at every
//                       sign-in so a test can change a user's groups "at the IdP"
// It listens on a free loopback port and prints "READY <issuer>" on stdout.
//
// Test-only choices, and why:
// - http, not https: a web client's redirect URI may be http when it uses the code flow (oidc-provider
//   forbids http only with the implicit flow), and the issuer is http so that no certificate is needed on
//   a CI machine. A real IdP (Entra ID) is https only, and Rasure's production settings expect that.
// - The development login form ("devInteractions") accepts any login; the middleware below checks the
//   password against OIDC_USERS_FILE first, so a wrong password is refused as at a real IdP.
// - conformIdTokenClaims: false puts the groups claim in the ID token as Entra ID does.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`provider.mjs: ${name} is not set`);
    process.exit(2);
  }
  return value;
};

const redirectUri = env('OIDC_REDIRECT_URI');
const clientId = env('OIDC_CLIENT_ID');
const clientSecret = env('OIDC_CLIENT_SECRET');
const usersFile = env('OIDC_USERS_FILE');
const loadUsers = () => JSON.parse(readFileSync(usersFile, 'utf8'));

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-only-1', use: 'sig', alg: 'RS256' };

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;

  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
      id_token_signed_response_alg: 'RS256',
    }],
    jwks: { keys: [signingKey] },
    cookies: { keys: ['test-only-cookie-key-not-secret'] },
    claims: {
      openid: ['sub', 'groups'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username', 'name'],
    },
    conformIdTokenClaims: false,
    // Rasure sends PKCE (S256); requiring it here makes the tests fail if it ever stops.
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    async findAccount(ctx, id) {
      const user = loadUsers()[id];
      if (!user) return undefined;
      return {
        accountId: id,
        async claims() {
          const fresh = loadUsers()[id] || user;
          return {
            sub: id,
            email: fresh.email,
            email_verified: true,
            preferred_username: fresh.preferred_username || id,
            name: fresh.name,
            groups: fresh.groups || [],
          };
        },
      };
    },
  });

  // The dev login form ignores the password: check it before the form's own handler runs. The body is
  // parsed here and handed on as req.body, which oidc-provider accepts from upstream middleware.
  provider.use(async (ctx, next) => {
    if (ctx.method === 'POST' && /^\/interaction\/[^/]+$/.test(ctx.path)) {
      const chunks = [];
      for await (const chunk of ctx.req) chunks.push(chunk);
      const body = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      ctx.req.body = body;
      if (body.prompt === 'login') {
        const user = loadUsers()[body.login];
        if (!user || user.password !== body.password) {
          ctx.status = 401;
          ctx.type = 'html';
          ctx.body = '<!doctype html><title>Sign-in failed</title><h1>Wrong login or password</h1>';
          return;
        }
      }
    }
    await next();
  });

  server.on('request', provider.callback());
  console.log(`READY ${issuer}`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
