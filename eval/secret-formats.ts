/**
 * One generator per secret rule, written from the vendors' documented token formats (not from
 * the rule regexes), so a pattern that disagrees with the format shows up as a miss.
 *
 * Template language: `«…»` marks the span a detector must report; `{kind:N}` draws N random
 * characters (`b62`, `b64`, `b64u`, `hex`, `HEX`, `b32`, `b32l`, `lc`, `uc`, `alpha`, `digits`),
 * `{uuid}` a UUID, and a few helpers build structured values (JWT, PEM, checksummed tokens).
 * Nothing here is a real credential; every value is drawn at run time from a seeded RNG, so no
 * secret-looking literal sits in the repository.
 */
import { crc32 } from 'node:zlib';
import { ALPHA, type Rng } from './rng.ts';

export interface Sample {
  readonly rule: string;
  readonly text: string;
  /** Expected span (the value to redact). */
  readonly start: number;
  readonly end: number;
}

type Gen = (r: Rng) => string;

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
function base62(n: number, width: number): string {
  let s = '';
  do {
    s = B62[n % 62]! + s;
    n = Math.floor(n / 62);
  } while (n > 0);
  return s.padStart(width, '0');
}
/** GitHub / npm format: 30 random base62 + base62(CRC-32(random)), 6 characters. */
export function checksummed(prefix: string, r: Rng): string {
  const body = r.chars(ALPHA.b62, 30);
  return prefix + body + base62(crc32(body), 6);
}
export function uuid(r: Rng): string {
  const h = (n: number): string => r.chars(ALPHA.hex, n);
  return `${h(8)}-${h(4)}-4${h(3)}-${r.pick(['8', '9', 'a', 'b'])}${h(3)}-${h(12)}`;
}
const b64url = (s: string): string => Buffer.from(s).toString('base64url');
export function jwt(r: Rng): string {
  const header = b64url(JSON.stringify({ alg: r.pick(['HS256', 'RS256', 'ES256']), typ: 'JWT' }));
  const payload = b64url(JSON.stringify({ sub: String(r.int(1000, 99999)), name: 'user' + r.int(1, 999), iat: 1700000000 + r.int(0, 9999999) }));
  return `${header}.${payload}.${r.chars(ALPHA.b64u, 43)}`;
}
export function pemBody(r: Rng, lines: number): string {
  let out = '';
  for (let i = 0; i < lines; i++) out += r.chars(ALPHA.b64, 64) + '\n';
  return out + r.chars(ALPHA.b64, 20) + '==\n';
}
function pem(label: string): Gen {
  return (r) => `-----BEGIN ${label}-----\n${pemBody(r, r.int(6, 25))}-----END ${label}-----`;
}
function password(r: Rng): string {
  return r.chars(ALPHA.alpha, r.int(4, 8)) + r.chars(ALPHA.digits, r.int(2, 4)) + r.pick(['!', '#', '%', '&', '*', '+']) + r.chars(ALPHA.b62, r.int(2, 6));
}
function discordBot(r: Rng): string {
  const id = String(r.int(1, 9)) + r.chars(ALPHA.digits, 17);
  return `${Buffer.from(id).toString('base64').replace(/=+$/, '')}.${r.chars(ALPHA.b64u, 6)}.${r.chars(ALPHA.b64u, 38)}`;
}

/** Expands `{kind:N}` and named helpers in a template; `«»` marks the expected span. */
export function expand(template: string, r: Rng, rule: string): Sample {
  let text = '';
  let start = -1;
  let end = -1;
  const named: Record<string, Gen> = {
    uuid,
    jwt,
    password,
    discordBot,
    ghp: (x) => checksummed('ghp_', x),
    gho: (x) => checksummed('gho_', x),
    ghu: (x) => checksummed('ghu_', x),
    ghs: (x) => checksummed('ghs_', x),
    npm: (x) => checksummed('npm_', x),
    pemRsa: pem('RSA PRIVATE KEY'),
    pemEc: pem('EC PRIVATE KEY'),
    pemDsa: pem('DSA PRIVATE KEY'),
    pemOpenssh: pem('OPENSSH PRIVATE KEY'),
    pemPgp: pem('PGP PRIVATE KEY BLOCK'),
    pemPkcs8: pem('PRIVATE KEY'),
    pemEncrypted: pem('ENCRYPTED PRIVATE KEY'),
    ssh2: (x) => `---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\n${pemBody(x, 8)}---- END SSH2 ENCRYPTED PRIVATE KEY ----`,
    basic: (x) => Buffer.from(`${x.chars(ALPHA.lc, 6)}:${password(x)}`).toString('base64'),
    gcpJsonKey: (x) => `-----BEGIN PRIVATE KEY-----\\n${x.chars(ALPHA.b64, 64)}\\n${x.chars(ALPHA.b64, 64)}\\n${x.chars(ALPHA.b64, 40)}\\n-----END PRIVATE KEY-----`,
    kubeKey: (x) => Buffer.from(`-----BEGIN RSA PRIVATE KEY-----\n${pemBody(x, 8)}-----END RSA PRIVATE KEY-----\n`).toString('base64'),
    sentryOrg: (x) => 'sntrys_' + b64url(JSON.stringify({ iat: 1700000000, url: 'https://sentry.io', org: 'acme', region_url: 'https://us.sentry.io' })) + '_' + x.chars(ALPHA.b64u, 43),
    ops: (x) => 'ops_' + b64url(JSON.stringify({ signInAddress: 'my.1password.com', userAuth: { method: 'SRPg-4096', alg: 'PBES2g-HS256', iterations: 650000, salt: x.chars(ALPHA.b64u, 22) }, email: x.chars(ALPHA.lc, 10) + '@1passwordserviceaccounts.com', srpX: x.chars(ALPHA.hex, 64), muk: { alg: 'A256GCM', ext: true, k: x.chars(ALPHA.b64u, 43), key_ops: ['decrypt', 'encrypt'], kty: 'oct', kid: 'mp' }, secretKey: 'A3-' + x.chars(ALPHA.uc, 6), throttleSecret: { seed: x.chars(ALPHA.hex, 64), uuid: uuid(x) }, deviceUuid: x.chars(ALPHA.lc, 26) })),
    grafanaKey: (x) => Buffer.from(JSON.stringify({ k: x.chars(ALPHA.b62, 32), n: 'deploy-key', id: x.int(1, 999) })).toString('base64').replace(/=+$/, ''),
    azdo: (x) => x.chars(ALPHA.b62, 52) + 'JQQJ99' + 'BAACAAAAAAAAAAAAAS' + 'AZDO' + x.chars(ALPHA.b62, 4),
  };
  const re = /«|»|\{(\w+)(?::(\d+))?\}/g;
  let last = 0;
  for (let m = re.exec(template); m !== null; m = re.exec(template)) {
    text += template.slice(last, m.index);
    last = m.index + m[0].length;
    if (m[0] === '«') start = text.length;
    else if (m[0] === '»') end = text.length;
    else if (m[2] !== undefined) text += r.chars((ALPHA as Record<string, string>)[m[1]!]!, Number(m[2]));
    else {
      const g = named[m[1]!];
      if (!g) throw new Error(`unknown generator ${m[1]} in ${rule}`);
      text += g(r);
    }
  }
  text += template.slice(last);
  if (start < 0 || end < 0) throw new Error(`template for ${rule} has no «» span`);
  return { rule, text, start, end };
}

/**
 * Templates per rule. Context rules carry the variable name that makes the value meaningful;
 * prefix-format tokens appear bare (wrapped in varied carriers by the corpus builder).
 */
export const SECRET_TEMPLATES: Readonly<Record<string, readonly string[]>> = {
  'aws-access-key-id': ['«AKIA{b32:16}»', '«ASIA{b32:16}»'],
  'aws-secret-access-key': ['aws_secret_access_key = «{b64:40}»', 'AWS_SECRET_ACCESS_KEY="«{b64:40}»"'],
  'aws-session-token': ['aws_session_token = «IQoJb3JpZ2luX2VjE{b64:300}»'],
  'aws-mws-auth-token': ['«amzn.mws.{uuid}»'],
  'gcp-api-key': ['«AIza{b64u:35}»'],
  'gcp-service-account-key': ['{"type": "service_account", "private_key_id": "{hex:40}", "private_key": "«{gcpJsonKey}»\\n", "client_email": "svc@proj.iam.gserviceaccount.com"}'],
  'gcp-oauth-client-secret': ['«GOCSPX-{b64u:28}»'],
  'google-oauth-access-token': ['«ya29.{b64u:150}»'],
  'google-oauth-refresh-token': ['«1//0{b64u:100}»'],
  'firebase-cloud-messaging-key': ['«AAAA{b64u:7}:APA91b{b64u:134}»'],
  'azure-storage-account-key': ['DefaultEndpointsProtocol=https;AccountName=acme{lc:6};AccountKey=«{b64:86}==»;EndpointSuffix=core.windows.net'],
  'azure-shared-access-key': ['Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=«{b64:43}=»'],
  'azure-sas-token': ['https://acme.blob.core.windows.net/c/f.txt?sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-01-01T00:00:00Z&spr=https&sig=«{b62:43}%3D»'],
  'azure-ad-client-secret': ['client_secret = «{b62:3}8Q~{b64u:34}»'],
  'azure-devops-pat': ['«{azdo}»'],
  'azure-devops-pat-legacy': ['AZURE_DEVOPS_PAT=«{b32l:52}»'],
  'azure-cognitive-services-key': ['AZURE_OPENAI_API_KEY=«{hex:32}»'],
  'alibaba-access-key-id': ['«LTAI{b62:20}»'],
  'alibaba-access-key-secret': ['ALIBABA_CLOUD_ACCESS_KEY_SECRET=«{b62:30}»'],
  'tencent-cloud-secret-id': ['«AKID{b62:32}»'],
  'ibm-cloud-api-key': ['IBM_CLOUD_API_KEY=«{b64u:44}»'],
  'digitalocean-pat': ['«dop_v1_{hex:64}»'],
  'digitalocean-oauth-token': ['«doo_v1_{hex:64}»'],
  'digitalocean-refresh-token': ['«dor_v1_{hex:64}»'],
  'linode-token': ['LINODE_TOKEN=«{hex:64}»'],
  'heroku-api-key': ['«HRKU-AA{b64u:58}»'],
  'heroku-api-key-legacy': ['HEROKU_API_KEY=«{uuid}»'],
  'vercel-token': ['VERCEL_TOKEN=«{b62:24}»'],
  'netlify-token': ['NETLIFY_AUTH_TOKEN=«{b64u:43}»'],
  'cloudflare-api-token': ['CLOUDFLARE_API_TOKEN=«{b64u:40}»'],
  'cloudflare-global-api-key': ['CLOUDFLARE_API_KEY=«{hex:37}»'],
  'cloudflare-origin-ca-key': ['«v1.0-{hex:24}-{hex:146}»'],
  'fastly-api-token': ['FASTLY_API_TOKEN=«{b64u:32}»'],
  'flyio-token': ['«fo1_{b64u:43}»'],
  'render-api-key': ['«rnd_{b62:32}»'],
  'scalingo-api-token': ['«tk-us-{b64u:48}»'],
  'supabase-access-token': ['«sbp_{hex:40}»'],
  'supabase-secret-key': ['«sb_secret_{b64u:31}»'],
  'planetscale-token': ['«pscale_tkn_{b64u:43}»'],
  'planetscale-password': ['«pscale_pw_{b64u:43}»'],
  'planetscale-oauth-token': ['«pscale_oauth_{b64u:43}»'],
  'tailscale-key': ['«tskey-auth-{b62:12}-{b62:30}»', '«tskey-api-{b62:12}-{b62:33}»'],
  'ngrok-authtoken': ['NGROK_AUTHTOKEN=«2{b62:26}_{b62:21}»'],
  'github-pat': ['«{ghp}»'],
  'github-oauth-token': ['«{gho}»'],
  'github-user-token': ['«{ghu}»'],
  'github-app-token': ['«{ghs}»'],
  'github-refresh-token': ['«ghr_{b62:76}»'],
  'github-fine-grained-pat': ['«github_pat_11{b62:20}_{b62:59}»'],
  'gitlab-pat': ['«glpat-{b64u:20}»'],
  'gitlab-pipeline-trigger-token': ['«glptt-{hex:40}»'],
  'gitlab-runner-registration-token': ['«GR1348941{b64u:20}»'],
  'gitlab-runner-token': ['«glrt-{b64u:20}»'],
  'gitlab-deploy-token': ['«gldt-{b64u:20}»'],
  'gitlab-feed-token': ['«glft-{b64u:20}»'],
  'gitlab-oauth-app-secret': ['«gloas-{b64u:64}»'],
  'gitlab-scim-token': ['«glsoat-{b64u:20}»'],
  'gitlab-cicd-job-token': ['«glcbt-{b62:2}_{b64u:20}»'],
  'gitlab-incoming-mail-token': ['«glimt-{b64u:25}»'],
  'gitlab-agent-token': ['«glagent-{b64u:50}»'],
  'gitlab-feature-flag-token': ['«glffct-{b64u:20}»'],
  'bitbucket-app-password': ['«ATBB{b62:32}»'],
  'bitbucket-client-secret': ['BITBUCKET_CLIENT_SECRET=«{b64u:32}»'],
  'npm-token': ['«{npm}»'],
  'npmrc-auth-token': ['//registry.npmjs.org/:_authToken=«{b64:40}»'],
  'pypi-token': ['«pypi-AgEIcHlwaS5vcmc{b64u:150}»'],
  'docker-hub-pat': ['«dckr_pat_{b64u:27}»'],
  'rubygems-api-key': ['«rubygems_{hex:48}»'],
  'nuget-api-key': ['«oy2{lc:43}»'],
  'clojars-token': ['«CLOJARS_{lc:60}»'],
  'jfrog-api-key': ['«AKCp{b62:69}»'],
  'jfrog-reference-token': ['«cmVmdGtu{b62:56}»'],
  'sonarqube-token': ['«sqp_{hex:40}»', '«squ_{hex:40}»'],
  'sourcegraph-token': ['«sgp_{hex:16}_{hex:40}»'],
  'octopus-deploy-api-key': ['«API-{uc:27}»'],
  'circleci-token': ['«CCIPAT_{b62:22}_{hex:40}»'],
  'circleci-legacy-token': ['CIRCLE_TOKEN=«{hex:40}»'],
  'travis-ci-token': ['TRAVIS_API_TOKEN=«{b64u:22}»'],
  'buildkite-token': ['«bkua_{hex:40}»'],
  'postman-api-key': ['«PMAK-{hex:24}-{hex:34}»'],
  'slack-bot-token': ['«xoxb-{digits:12}-{digits:13}-{b62:24}»'],
  'slack-user-token': ['«xoxp-{digits:12}-{digits:12}-{digits:13}-{hex:32}»'],
  'slack-app-token': ['«xapp-1-A{uc:10}-{digits:13}-{hex:64}»'],
  'slack-config-token': ['«xoxe.xoxp-1-{b62:160}»'],
  'slack-legacy-token': ['«xoxr-{digits:12}-{b62:40}»'],
  'slack-webhook-url': ['https://«hooks.slack.com/services/T{uc:10}/B{uc:10}/{b62:24}»'],
  'slack-workflow-webhook-url': ['https://«hooks.slack.com/workflows/T{uc:10}/A{uc:10}/{digits:18}/{b62:32}»'],
  'discord-bot-token': ['DISCORD_BOT_TOKEN=«{discordBot}»'],
  'discord-webhook-url': ['https://«discord.com/api/webhooks/{digits:18}/{b64u:68}»'],
  'telegram-bot-token': ['«{digits:10}:AA{b64u:33}»'],
  'microsoft-teams-webhook-url': ['https://acme«.webhook.office.com/webhookb2/{uuid}@{uuid}/IncomingWebhook/{hex:32}/{uuid}»'],
  'zapier-webhook-url': ['https://«hooks.zapier.com/hooks/catch/{digits:8}/{lc:7}»/'],
  'twilio-api-key': ['TWILIO_API_KEY=«SK{hex:32}»'],
  'twilio-auth-token': ['TWILIO_AUTH_TOKEN=«{hex:32}»'],
  'vonage-api-secret': ['VONAGE_API_SECRET=«{b62:16}»'],
  'sendgrid-api-key': ['«SG.{b64u:22}.{b64u:43}»'],
  'mailgun-api-key': ['«key-{hex:32}»'],
  'mailgun-private-key': ['MAILGUN_API_KEY=«{hex:32}-{hex:8}-{hex:8}»'],
  'mailchimp-api-key': ['«{hex:32}-us14»'],
  'mailjet-api-secret': ['MAILJET_API_SECRET=«{hex:32}»'],
  'postmark-server-token': ['POSTMARK_SERVER_TOKEN=«{uuid}»'],
  'brevo-api-key': ['«xkeysib-{hex:64}-{b62:16}»'],
  'zoom-api-secret': ['ZOOM_CLIENT_SECRET=«{b62:32}»'],
  'intercom-access-token': ['INTERCOM_ACCESS_TOKEN=«{b64u:59}=»'],
  'zendesk-api-token': ['ZENDESK_API_TOKEN=«{b62:40}»'],
  'twitch-client-secret': ['TWITCH_CLIENT_SECRET=«{lc:30}»'],
  'facebook-access-token': ['«EAAB{b62:180}»'],
  'twitter-bearer-token': ['TWITTER_BEARER_TOKEN=«AAAAAAAAAAAAAAAAAAAAA{b62:30}%3D{b62:50}»'],
  'stripe-secret-key': ['«sk_live_{b62:99}»', '«sk_live_{b62:24}»'],
  'stripe-restricted-key': ['«rk_live_{b62:99}»'],
  'stripe-test-key': ['«sk_test_{b62:99}»'],
  'stripe-webhook-secret': ['«whsec_{b62:32}»'],
  'square-access-token': ['«EAAA{b64u:60}»', '«sq0atp-{b64u:22}»'],
  'square-oauth-secret': ['«sq0csp-{b64u:43}»'],
  'braintree-access-token': ['«access_token$production${lc:16}${hex:32}»'],
  'paypal-client-secret': ['PAYPAL_CLIENT_SECRET=«E{b64u:79}»'],
  'shopify-access-token': ['«shpat_{hex:32}»'],
  'shopify-custom-app-token': ['«shpca_{hex:32}»'],
  'shopify-private-app-token': ['«shppa_{hex:32}»'],
  'shopify-shared-secret': ['«shpss_{hex:32}»'],
  'plaid-secret': ['PLAID_SECRET=«{hex:30}»'],
  'plaid-access-token': ['«access-production-{uuid}»'],
  'flutterwave-secret-key': ['«FLWSECK-{hex:32}-X»'],
  'razorpay-key-secret': ['RAZORPAY_KEY_SECRET=«{b62:24}»'],
  'gocardless-access-token': ['GOCARDLESS_ACCESS_TOKEN=«live_{b64u:40}»'],
  'duffel-api-token': ['«duffel_live_{b64u:43}»'],
  'easypost-api-key': ['«EZAK{b62:54}»'],
  'shippo-api-token': ['«shippo_live_{hex:40}»'],
  'openai-api-key': ['«sk-proj-{b64u:74}T3BlbkFJ{b64u:74}»', '«sk-{b62:20}T3BlbkFJ{b62:20}»'],
  'anthropic-api-key': ['«sk-ant-api03-{b64u:93}AA»'],
  'anthropic-admin-key': ['«sk-ant-admin01-{b64u:93}AA»'],
  'anthropic-oauth-token': ['«sk-ant-oat01-{b64u:93}AA»'],
  'huggingface-token': ['«hf_{alpha:34}»'],
  'huggingface-org-token': ['«api_org_{alpha:34}»'],
  'cohere-api-key': ['COHERE_API_KEY=«{b62:40}»'],
  'replicate-api-token': ['«r8_{b62:37}»'],
  'groq-api-key': ['«gsk_{b62:52}»'],
  'mistral-api-key': ['MISTRAL_API_KEY=«{b62:32}»'],
  'perplexity-api-key': ['«pplx-{b62:48}»'],
  'xai-api-key': ['«xai-{b62:80}»'],
  'openrouter-api-key': ['«sk-or-v1-{hex:64}»'],
  'langsmith-api-key': ['«lsv2_pt_{hex:32}_{hex:10}»'],
  'langfuse-secret-key': ['«sk-lf-{uuid}»'],
  'pinecone-api-key': ['«pcsk_{b62:6}_{b62:64}»'],
  'deepseek-api-key': ['DEEPSEEK_API_KEY=«sk-{hex:32}»'],
  'elevenlabs-api-key': ['ELEVENLABS_API_KEY=«sk_{hex:48}»'],
  'together-api-key': ['TOGETHER_API_KEY=«{hex:64}»'],
  'fireworks-api-key': ['«fw_{b62:24}»'],
  'deepgram-api-key': ['DEEPGRAM_API_KEY=«{hex:40}»'],
  'assemblyai-api-key': ['ASSEMBLYAI_API_KEY=«{hex:32}»'],
  'wandb-api-key': ['WANDB_API_KEY=«{hex:40}»'],
  'datadog-api-key': ['DD_API_KEY=«{hex:32}»', 'datadog_api_key: «{hex:32}»'],
  'datadog-app-key': ['DD_APP_KEY=«{hex:40}»'],
  'new-relic-user-api-key': ['«NRAK-{uc:27}»'],
  'new-relic-insert-key': ['«NRII-{b64u:32}»'],
  'new-relic-license-key': ['«{hex:36}NRAL»'],
  'new-relic-browser-key': ['«NRJS-{hex:19}»'],
  'sentry-dsn': ['SENTRY_DSN=«https://{hex:32}@o{digits:6}.ingest.sentry.io/{digits:7}»'],
  'sentry-org-token': ['«{sentryOrg}»'],
  'sentry-user-token': ['«sntryu_{hex:64}»'],
  'pagerduty-api-key': ['PAGERDUTY_API_KEY=«u+{b64u:18}»'],
  'grafana-cloud-token': ['«glc_{b64:120}»'],
  'grafana-service-account-token': ['«glsa_{b62:32}_{hex:8}»'],
  'grafana-api-key': ['«{grafanaKey}»'],
  'dynatrace-api-token': ['«dt0c01.{uc:24}.{uc:64}»'],
  'honeycomb-api-key': ['HONEYCOMB_API_KEY=«{b62:32}»'],
  'splunk-hec-token': ['SPLUNK_HEC_TOKEN=«{uuid}»'],
  'opsgenie-api-key': ['OPSGENIE_API_KEY=«{uuid}»'],
  'launchdarkly-key': ['LAUNCHDARKLY_SDK_KEY=«sdk-{uuid}»'],
  'vault-service-token': ['«hvs.{b64u:95}»'],
  'vault-batch-token': ['«hvb.{b64u:160}»'],
  'vault-legacy-token': ['VAULT_TOKEN=«s.{b62:24}»'],
  'terraform-cloud-token': ['«{b62:14}.atlasv1.{b64u:67}»'],
  'doppler-token': ['«dp.pt.{b62:43}»', '«dp.st.prd.{b62:43}»'],
  'pulumi-access-token': ['«pul-{hex:40}»'],
  'onepassword-service-account-token': ['OP_SERVICE_ACCOUNT_TOKEN=«{ops}»'],
  'onepassword-secret-key': ['«A3-{uc:6}-{uc:6}-{uc:5}-{uc:5}-{uc:5}-{uc:5}»'],
  'age-secret-key': ['«AGE-SECRET-KEY-1{bech32:58}»'],
  'kubeconfig-client-key': ['    client-key-data: «{kubeKey}»'],
  'infracost-api-key': ['«ico-{b62:32}»'],
  'prefect-api-key': ['«pnu_{b62:36}»'],
  'harness-pat': ['«pat.{b64u:22}.{hex:24}.{b62:20}»'],
  'databricks-token': ['«dapi{hex:32}»'],
  'confluent-api-secret': ['CONFLUENT_API_SECRET=«{b64:64}»'],
  'algolia-api-key': ['ALGOLIA_ADMIN_API_KEY=«{hex:32}»'],
  'contentful-pat': ['«CFPAT-{b64u:43}»'],
  'mapbox-secret-token': ['«sk.eyJ1Ijoi{b64u:60}.{b64u:22}»'],
  'snyk-api-token': ['SNYK_TOKEN=«{uuid}»'],
  'codecov-token': ['CODECOV_TOKEN=«{uuid}»'],
  'atlassian-api-token': ['«ATATT3xFfGF0{b64u:180}»'],
  'atlassian-api-token-legacy': ['JIRA_API_TOKEN=«{b62:24}»'],
  'okta-api-token': ['OKTA_API_TOKEN=«00{b64u:40}»'],
  'auth0-client-secret': ['AUTH0_CLIENT_SECRET=«{b64u:64}»'],
  'notion-integration-token': ['«ntn_{digits:11}{b62:35}»', '«secret_{b62:43}»'],
  'airtable-pat': ['«pat{b62:14}.{hex:64}»'],
  'asana-pat': ['ASANA_ACCESS_TOKEN=«2/{digits:16}/{digits:16}:{b62:32}»'],
  'linear-api-key': ['«lin_api_{b62:40}»'],
  'linear-oauth-token': ['«lin_oauth_{hex:64}»'],
  'figma-pat': ['«figd_{b64u:40}»'],
  'dropbox-access-token': ['«sl.{b64u:140}»', '«sl.u.{b64u:700}»'],
  'box-access-token': ['BOX_DEVELOPER_TOKEN=«{b62:32}»'],
  'hubspot-private-app-token': ['«pat-na1-{uuid}»'],
  'clickup-api-token': ['«pk_{digits:8}_{uc:32}»'],
  'typeform-pat': ['«tfp_{b64u:59}»'],
  'readme-api-key': ['«rdme_{lc:70}»'],
  'frameio-api-token': ['«fio-u-{b64u:64}»'],
  'adafruit-io-key': ['«aio_{b62:28}»'],
  'yandex-api-key': ['«AQVN{b64u:36}»', '«y0_{b64u:56}»'],
  'private-key-rsa': ['«{pemRsa}»'],
  'private-key-ec': ['«{pemEc}»'],
  'private-key-dsa': ['«{pemDsa}»'],
  'private-key-openssh': ['«{pemOpenssh}»'],
  'private-key-pgp': ['«{pemPgp}»'],
  'private-key-pkcs8': ['«{pemPkcs8}»'],
  'private-key-encrypted': ['«{pemEncrypted}»'],
  'private-key-ssh2': ['«{ssh2}»'],
  'putty-private-key': ['«PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: key\nPublic-Lines: 2\n{b64:64}\n{b64:20}\nPrivate-Lines: 1\n{b64:44}\nPrivate-MAC:» {hex:64}'],
  'jwt': ['«{jwt}»'],
  'db-url-mongodb': ['mongodb+srv://app{lc:3}:«{password}»@cluster0.{lc:5}.mongodb.net/prod'],
  'db-url-postgres': ['postgres://svc_{lc:4}:«{password}»@db.{lc:6}.internal:5432/app'],
  'db-url-mysql': ['mysql://root{lc:2}:«{password}»@10.2.3.4:3306/shop'],
  'db-url-redis': ['redis://default:«{password}»@cache.{lc:5}.net:6379/0'],
  'db-url-amqp': ['amqps://bunny:«{password}»@mq.{lc:5}.io/vhost'],
  'db-url-mssql': ['sqlserver://sa{lc:2}:«{password}»@sql.{lc:5}.corp:1433'],
  'db-url-other': ['clickhouse://reader:«{password}»@ch.{lc:5}.io:8443/default'],
  'url-basic-auth': ['https://deploy:«{password}»@git.{lc:6}.com/org/repo.git'],
  'jdbc-password': ['jdbc:postgresql://db.{lc:5}.corp:5432/app?user=app&password=«{password}»'],
  'connection-string-password': ['Server=tcp:{lc:6}.database.windows.net,1433;Database=app;User ID=admin{lc:2};Password=«{password}»;Encrypt=true'],
  'bearer-token': ['curl -H "Authorization: Bearer «{b64u:40}»" https://api.{lc:6}.com/v1/me'],
  'basic-auth-header': ['Authorization: Basic «{basic}»'],
  'docker-config-auth': ['{"auths": {"registry.{lc:5}.io": {"auth": "«{basic}»"}}}'],
  'generic-api-key': ['MY_SERVICE_API_KEY="«{b62:32}»"', 'client_secret: «{b64u:40}»'],
  'generic-password': ['db_password = "«{password}»"'],
  'env-password': ['SMTP_PASSWORD=«{password}»'],
};
