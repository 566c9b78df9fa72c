/**
 * The inspectors a route can configure (`routes[].inspectors`), one schema per `type`. Part of
 * the config schema (schema.ts); kept apart because each content inspector brings its own knobs.
 */
import { z } from 'zod';
import { CustomRuleSet } from '../detectors/custom.ts';

import { always, httpUrl, isString, nonNegativeInt, positiveInt, uniqueBy } from './primitives.ts';

const inspectorName = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must match [a-z0-9-]+');

export const MethodDenyInspectorSchema = z
  .object({
    type: z.literal('method-deny'),
    name: inspectorName.optional(),
    methods: z
      .array(z.string().regex(/^[^\s:]+(?::\S+)?$/, 'expected "method" or "method:glob"'))
      .min(1)
      .describe('Client requests refused: "method" or "method:targetGlob", e.g. "tools/call:delete_*".'),
  })
  .strict()
  .describe('Refuses client requests by method, optionally narrowed to a tool/prompt/resource name.');

const redactPattern = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_-]+$/, 'must match [A-Za-z0-9_-]+'),
    regex: z.string().min(1),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (!isString(p?.regex)) return;
    try {
      // Same flags the redact inspector compiles with.
      new RegExp(p.regex, 'gu');
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['regex'], message: (err as Error).message });
    }
  }, always);

export const RedactInspectorSchema = z
  .object({
    type: z.literal('redact'),
    name: inspectorName.optional(),
    patterns: z
      .array(redactPattern)
      .min(1)
      .superRefine((patterns, ctx) => uniqueBy(patterns, 'name', ctx), always),
    replacement: z.string().default('[REDACTED:{name}]').describe('Mask text; "{name}" becomes the pattern name.'),
    windowChars: positiveInt
      .default(256)
      .describe('Longest match guaranteed to be caught across a chunk boundary on the streaming path.'),
  })
  .strict()
  .describe('Replaces regex matches in every string of every message, both directions.');

const dlpAction = z.enum(['redact', 'block', 'alert']);
const contentFamily = z.enum(['secret', 'pii', 'marker', 'custom']);

export const DlpInspectorSchema = z
  .object({
    type: z.literal('dlp'),
    name: inspectorName.optional(),
    families: z.array(contentFamily).min(1).default(['secret', 'pii', 'marker']).describe('Detector families to run (custom runs when custom rules are given).'),
    minConfidence: z.number().min(0).max(1).default(0.5).describe('Findings below this confidence are ignored.'),
    direction: z.enum(['both', 'request', 'response']).default('both').describe('Client→server (request), server→client (response) or both.'),
    actions: z
      .object({
        default: dlpAction.default('redact').describe("What a finding does: 'redact' masks it as [REDACTED:<type>], 'block' refuses the message (or cuts the stream), 'alert' only reports it."),
        families: z.partialRecord(contentFamily, dlpAction).default({}).describe('Action per family, e.g. { pii: alert }.'),
        types: z.record(z.string().regex(/^[a-z0-9-]+$/), dlpAction).default({}).describe('Action per finding type (rule id), e.g. { private-key: block }.'),
      })
      .strict()
      .prefault({}),
    custom: z
      .object({
        dictionaries: z
          .array(z.object({ id: z.string().regex(/^[a-z0-9-]+$/), terms: z.array(z.string().min(1)).min(1), caseSensitive: z.boolean().optional(), wholeWord: z.boolean().optional() }).strict())
          .default([]),
        regexes: z
          .array(z.object({ id: z.string().regex(/^[a-z0-9-]+$/), pattern: z.string().min(1), caseInsensitive: z.boolean().optional(), keywords: z.array(z.string().min(1)).optional(), maxLength: positiveInt.optional() }).strict())
          .default([])
          .describe('RE2 syntax (linear time): a pattern RE2 cannot run is a config error.'),
      })
      .strict()
      .prefault({}),
    crossEventHoldMs: nonNegativeInt.default(50).describe('An SSE event whose last text could be the start of a secret waits this long for the next event, so a secret split across two events is redacted in both.'),
  })
  .strict()
  .superRefine((d, ctx) => {
    const regexes = d?.custom?.regexes;
    if (!Array.isArray(regexes)) return;
    regexes.forEach((r, i) => {
      try {
        new CustomRuleSet({ regexes: [r] });
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['custom', 'regexes', i, 'pattern'], message: (err as Error).message });
      }
    });
  }, always)
  .describe('Streaming DLP over every string a message carries: secrets, PII, confidential markers, custom rules.');

export const PromptInjectionInspectorSchema = z
  .object({
    type: z.literal('prompt-injection'),
    name: inspectorName.optional(),
    threshold: z.number().min(0).max(1).default(0.5).describe('Score (0..1) at or above which a result counts as an injection.'),
    action: z.enum(['block', 'alert']).default('block').describe("'block': the client gets an error instead of the content; 'alert': forwarded and reported."),
    maxChars: positiveInt.default(200_000).describe('Longest text sent to the external classifier per message (its head and tail); the local detector scores the whole text.'),
    classifier: z
      .object({
        url: httpUrl.describe('POST {"text"} → {"score": 0..1}, e.g. a model behind an HTTP endpoint.'),
        timeoutMs: positiveInt.default(2000),
        onFailure: z.enum(['open', 'closed']).default('open').describe("'open': keep the local score when the classifier fails; 'closed': treat the content as an injection."),
      })
      .strict()
      .optional(),
  })
  .strict()
  .describe('Indirect prompt-injection detection in tool results, resource contents and prompts.');

export const ToolPoisoningInspectorSchema = z
  .object({
    type: z.literal('tool-poisoning'),
    name: inspectorName.optional(),
    hideSuspicious: z.boolean().default(false).describe('Also remove definitions scored suspicious (poisoned ones are always removed).'),
    maxDescriptionLength: positiveInt.default(4096).describe('Longer descriptions are suspicious.'),
  })
  .strict()
  .describe('Scans tools/list (and prompt/resource lists) for poisoned definitions; poisoned tools are hidden and their calls refused.');

export const InspectorSchema = z.discriminatedUnion('type', [
  MethodDenyInspectorSchema,
  RedactInspectorSchema,
  DlpInspectorSchema,
  PromptInjectionInspectorSchema,
  ToolPoisoningInspectorSchema,
]);
