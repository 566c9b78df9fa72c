/**
 * Chat, messaging, e-mail and social APIs: Slack, Discord, Telegram, Microsoft Teams, Zapier,
 * Twilio, Vonage, SendGrid, Mailgun, Mailchimp, Mailjet, Postmark, Brevo, Zoom, Intercom, Zendesk,
 * Twitch, Facebook, Twitter/X.
 */
import { decodeBase64 } from '../checks.ts';
import type { MatchContext, PatternRule } from '../types.ts';
import { all, assign, expand, KW_TOKEN, random, secret, UUID } from './helpers.ts';

const raw = String.raw;

/** A Discord bot token's first segment is the base64 of the bot's numeric snowflake id. */
function discordId(value: string): number | null {
  const first = value.slice(0, value.indexOf('.'));
  const id = decodeBase64(first)?.toString('latin1');
  return id !== undefined && /^[1-9][0-9]{16,19}$/.test(id) ? 0.95 : null;
}

/** Twitter bearer tokens are URL-encoded (`%2B`, `%3D`) or sit next to their name. */
function twitterContext(value: string, ctx: MatchContext): number | null {
  if (value.includes('%')) return 0.9;
  const before = ctx.text.slice(Math.max(0, ctx.start - 80), ctx.start).toLowerCase();
  return /twitter|bearer|x_api|tweet/.test(before) ? 0.85 : null;
}

export const COMMS_RULES: readonly PatternRule[] = [
  secret({
    id: 'slack-bot-token',
    description: 'Slack bot token',
    keywords: ['xoxb-'],
    pattern: raw`xoxb-[0-9]{10,13}-[0-9]{10,13}-[A-Za-z0-9]{24}`,
    validate: random({ prefix: /^xoxb-[0-9]{10,13}-[0-9]{10,13}-/, alphabet: 62, confidence: 0.97 }),
    severity: 'critical',
  }),
  secret({
    id: 'slack-user-token',
    description: 'Slack user token',
    keywords: ['xoxp-'],
    pattern: raw`xoxp-[0-9]{10,13}-[0-9]{10,13}-[0-9]{10,13}-[a-f0-9]{32}`,
    validate: random({ prefix: /^xoxp-(?:[0-9]{10,13}-){3}/, alphabet: 16, confidence: 0.97 }),
    severity: 'critical',
  }),
  secret({
    id: 'slack-app-token',
    description: 'Slack app-level token',
    keywords: ['xapp-'],
    pattern: raw`xapp-[0-9]-[A-Z0-9]{9,12}-[0-9]{10,13}-[a-f0-9]{64}`,
    validate: random({ prefix: /^xapp-[0-9]-[A-Z0-9]{9,12}-[0-9]{10,13}-/, alphabet: 16, confidence: 0.97 }),
  }),
  secret({
    id: 'slack-config-token',
    description: 'Slack configuration access or refresh token',
    keywords: ['xoxe.xox', 'xoxe-1-'],
    pattern: raw`(?:xoxe\.xox[bp]-1|xoxe-1)-[A-Za-z0-9]{100,200}`,
    validate: random({ prefix: /^(?:xoxe\.xox[bp]-1|xoxe-1)-/, alphabet: 62, confidence: 0.95 }),
  }),
  secret({
    id: 'slack-legacy-token',
    description: 'Slack legacy workspace, refresh or session token',
    keywords: ['xoxa-', 'xoxo-', 'xoxr-', 'xoxs-'],
    pattern: raw`xox[aors]-[0-9]{1,13}-[A-Za-z0-9-]{20,120}`,
    validate: random({ prefix: /^xox[aors]-[0-9]{1,13}-/, alphabet: 62, confidence: 0.9 }),
  }),
  secret({
    id: 'slack-webhook-url',
    description: 'Slack incoming webhook URL',
    keywords: ['hooks.slack.com/services/'],
    pattern: raw`hooks\.slack\.com/services/T[A-Z0-9]{8,12}/B[A-Z0-9]{8,12}/[A-Za-z0-9]{24}`,
    validate: random({ prefix: /^hooks\.slack\.com\/services\/T[A-Z0-9]{8,12}\/B[A-Z0-9]{8,12}\//, alphabet: 62, confidence: 0.97 }),
  }),
  secret({
    id: 'slack-workflow-webhook-url',
    description: 'Slack workflow / trigger webhook URL',
    keywords: ['hooks.slack.com/workflows/', 'hooks.slack.com/triggers/'],
    pattern: raw`hooks\.slack\.com/(?:workflows|triggers)/T[A-Z0-9]{8,12}/A[A-Z0-9]{8,12}/[0-9]{15,20}/[A-Za-z0-9]{32}`,
    validate: random({ prefix: /^.*\//, alphabet: 62, confidence: 0.95 }),
  }),
  secret({
    id: 'discord-bot-token',
    description: 'Discord bot token (with context; first segment decodes to the bot id)',
    keywords: ['discord', 'bot_token', 'bot-token', 'bottoken'],
    contextBefore: 120,
    pattern: raw`[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,40}`,
    boundary: 'token',
    validate: discordId,
  }),
  secret({
    id: 'discord-webhook-url',
    description: 'Discord webhook URL',
    keywords: ['discord.com/api/webhooks/', 'discordapp.com/api/webhooks/'],
    pattern: raw`discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_-]{60,68}`,
    boundary: 'token',
    validate: random({ prefix: /^.*\//, alphabet: 64, confidence: 0.97 }),
  }),
  secret({
    id: 'telegram-bot-token',
    description: 'Telegram Bot API token',
    keywords: expand(':aa', KW_TOKEN),
    pattern: raw`[0-9]{8,10}:AA[A-Za-z0-9_-]{33}`,
    boundary: 'token',
    validate: random({ prefix: /^[0-9]{8,10}:AA/, alphabet: 64, confidence: 0.93 }),
  }),
  secret({
    id: 'microsoft-teams-webhook-url',
    description: 'Microsoft Teams incoming webhook URL',
    keywords: ['webhook.office.com'],
    pattern: raw`\.webhook\.office\.com/webhookb2/[a-f0-9-]{36}@[a-f0-9-]{36}/IncomingWebhook/[A-Za-z0-9]{32}/[a-f0-9-]{36}`,
    boundary: 'none',
    confidence: 0.95,
  }),
  secret({
    id: 'zapier-webhook-url',
    description: 'Zapier catch-hook URL',
    keywords: ['hooks.zapier.com/hooks/catch/'],
    pattern: raw`hooks\.zapier\.com/hooks/catch/[0-9]{5,10}/[a-z0-9]{6,8}`,
    confidence: 0.85,
    severity: 'medium',
  }),
  secret({
    id: 'twilio-api-key',
    description: 'Twilio API key SID (SK + 32 hex)',
    keywords: ['twilio'],
    contextBefore: 120,
    pattern: raw`SK[0-9a-f]{32}`,
    validate: random({ prefix: 2, alphabet: 16, confidence: 0.85 }),
  }),
  secret({
    id: 'twilio-auth-token',
    description: 'Twilio auth token (32 hex, with context)',
    keywords: ['twilio'],
    pattern: assign(raw`twilio[A-Za-z0-9_.-]{0,16}(?:token|secret)`, raw`[a-f0-9]{32}`),
    flags: 'i',
    group: 1,
    validate: random({ alphabet: 16, confidence: 0.9 }),
    severity: 'critical',
  }),
  secret({
    id: 'vonage-api-secret',
    description: 'Vonage / Nexmo API secret (with context)',
    keywords: ['vonage', 'nexmo'],
    pattern: assign(raw`(?:vonage|nexmo)[A-Za-z0-9_.-]{0,16}secret`, raw`[A-Za-z0-9]{16}`),
    flags: 'i',
    group: 1,
    validate: random({ alphabet: 62, confidence: 0.8 }),
  }),
  secret({
    id: 'sendgrid-api-key',
    description: 'SendGrid API key',
    keywords: expand('sg.', KW_TOKEN),
    pattern: raw`SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}`,
    boundary: 'token',
    validate: random({ prefix: 3, alphabet: 64, confidence: 0.97 }),
  }),
  secret({
    id: 'mailgun-api-key',
    description: 'Mailgun private API key (key- format)',
    keywords: ['key-'],
    pattern: raw`key-[a-f0-9]{32}`,
    validate: random({ prefix: 4, alphabet: 16, confidence: 0.85 }),
  }),
  secret({
    id: 'mailgun-private-key',
    description: 'Mailgun API key (current format, with context)',
    keywords: ['mailgun'],
    pattern: assign(raw`mailgun[A-Za-z0-9_.-]{0,16}(?:key|secret|token)`, raw`[a-f0-9]{32}-[a-f0-9]{8}-[a-f0-9]{8}`),
    flags: 'i',
    group: 1,
    validate: random({ alphabet: 16, confidence: 0.9 }),
  }),
  secret({
    id: 'mailchimp-api-key',
    description: 'Mailchimp API key (hex + datacenter)',
    keywords: expand('-us', '0123456789'),
    pattern: raw`[a-f0-9]{32}-us[0-9]{1,2}`,
    validate: random({ alphabet: 16, confidence: 0.9 }),
  }),
  secret({
    id: 'mailjet-api-secret',
    description: 'Mailjet API secret (with context)',
    keywords: ['mailjet', 'mj_apikey'],
    pattern: assign(raw`mailjet[A-Za-z0-9_.-]{0,16}(?:secret|key)|mj_apikey_private`, raw`[a-f0-9]{32}`),
    flags: 'i',
    group: 1,
    validate: random({ alphabet: 16, confidence: 0.85 }),
  }),
  secret({
    id: 'postmark-server-token',
    description: 'Postmark server / account token (UUID, with context)',
    keywords: ['postmark'],
    pattern: assign(raw`postmark[A-Za-z0-9_.-]{0,16}(?:token|key)`, UUID),
    flags: 'i',
    group: 1,
    validate: random({ alphabet: 17, confidence: 0.85 }),
  }),
  secret({
    id: 'brevo-api-key',
    description: 'Brevo (Sendinblue) API or SMTP key',
    keywords: ['xkeysib-', 'xsmtpsib-'],
    pattern: raw`x(?:keysib|smtpsib)-[a-f0-9]{64}-[A-Za-z0-9]{16}`,
    validate: random({ prefix: /^x(?:keysib|smtpsib)-/, alphabet: 16, length: 64, confidence: 0.97 }),
  }),
  secret({
    id: 'zoom-api-secret',
    description: 'Zoom API / SDK secret (with context)',
    keywords: ['zoom'],
    pattern: assign(raw`zoom[A-Za-z0-9_.-]{0,16}(?:secret|token)`, raw`[A-Za-z0-9_-]{20,48}`),
    flags: 'i',
    group: 1,
    boundary: 'token',
    validate: random({ alphabet: 64, confidence: 0.8, minClasses: 2 }),
  }),
  secret({
    id: 'intercom-access-token',
    description: 'Intercom access token (with context)',
    keywords: ['intercom'],
    pattern: assign(raw`intercom[A-Za-z0-9_.-]{0,16}(?:token|key)`, raw`[A-Za-z0-9=_-]{59,60}`),
    flags: 'i',
    group: 1,
    boundary: 'token',
    validate: random({ alphabet: 64, confidence: 0.85 }),
  }),
  secret({
    id: 'zendesk-api-token',
    description: 'Zendesk API token (with context)',
    keywords: ['zendesk'],
    pattern: assign(raw`zendesk[A-Za-z0-9_.-]{0,16}(?:token|key)`, raw`[A-Za-z0-9]{40}`),
    flags: 'i',
    group: 1,
    validate: random({ alphabet: 62, confidence: 0.85 }),
  }),
  secret({
    id: 'twitch-client-secret',
    description: 'Twitch client secret / OAuth token (with context)',
    keywords: ['twitch'],
    pattern: assign(raw`twitch[A-Za-z0-9_.-]{0,16}(?:secret|token)`, raw`[a-z0-9]{30}`),
    flags: 'i',
    group: 1,
    validate: random({ alphabet: 36, confidence: 0.85 }),
  }),
  secret({
    id: 'facebook-access-token',
    description: 'Facebook / Meta Graph API access token',
    keywords: expand('eaa', 'bcdefghijklmnopqrstuvwxyz'),
    pattern: raw`EAA[B-Z][A-Za-z0-9]{90,250}`,
    validate: random({ prefix: 4, alphabet: 62, confidence: 0.9 }),
  }),
  secret({
    id: 'twitter-bearer-token',
    description: 'Twitter / X API bearer token',
    keywords: ['aaaaaaaaaaaaaaaaaaaaa'],
    pattern: raw`AAAAAAAAAAAAAAAAAAAAA[A-Za-z0-9%]{30,150}`,
    validate: all(random({ prefix: /^A{21,}/, alphabet: 64 }), twitterContext),
  }),
];
