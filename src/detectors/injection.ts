/**
 * Prompt-injection scoring for content an agent reads (tool results, resource contents): text
 * that tries to become instructions. Signals, each with a weight:
 *
 * - instruction override ("ignore previous instructions", "you are now", "new instructions:"),
 *   concealment ("do not tell the user"), requests aimed at the reading model's own output
 *   ("… in your response", "integrate the following code into your solution") — the indirect
 *   injection shapes of BIPIA (Yi et al., 2023) — and exfiltration requests;
 * - chat-template role tokens (`<|im_start|>`, `[INST]`, `<<SYS>>`, `### System:`, `<system>`);
 * - hidden Unicode (tag characters carrying invisible ASCII, bidi controls, zero-width runs);
 * - markdown images / links whose URL carries data (the zero-click exfiltration channel);
 * - encoded payloads (base64 / hex) that decode to instructions.
 *
 * Score = 1 − Π(1 − w) over the strongest signal of each type (noisy-OR), so independent
 * evidence adds up and one repeated phrase does not. Weights and the default threshold were set
 * on the BIPIA training split (see eval/results.md for the held-out numbers).
 */
import { decodeBase64, printableRatio } from './checks.ts';
import { normalize, type Normalized } from './normalize.ts';

export interface InjectionSignal {
  readonly type: string;
  /** UTF-16 offsets in the original text. */
  readonly start: number;
  readonly end: number;
  readonly weight: number;
}

export interface InjectionResult {
  /** 0..1. */
  readonly score: number;
  readonly signals: InjectionSignal[];
}

/** Score at or above which content is treated as an injection (per-route override expected). */
export const DEFAULT_INJECTION_THRESHOLD = 0.5;

interface PhraseRule {
  readonly type: string;
  readonly re: RegExp;
  readonly weight: number;
}

// Bounded gaps (`[^.\n]{0,40}`) keep each pattern linear and each phrase inside one sentence.
const PHRASES: readonly PhraseRule[] = [
  {
    type: 'override',
    re: /\b(?:ignore|disregard|forget|override|bypass|neglect|abandon)\b[^.\n]{0,40}\b(?:previous|prior|above|earlier|preceding|all|any|your|the|these|those|system|original|initial|existing)\b[^.\n]{0,30}\b(?:instructions?|prompts?|directions?|directives?|rules|guidelines|commands?|context|messages?|constraints|polic(?:y|ies)|guardrails|programming|training)\b/g,
    weight: 0.9,
  },
  {
    type: 'override',
    re: /\b(?:new|updated|revised|real|actual|true) (?:instructions?|task|system prompt|directives?|orders)\s*[:\-]|\bfrom now on,? you (?:are|will|must|should)\b|\byou are (?:now|no longer)\b|\bpretend (?:to be|you are)\b|\bact as (?:if|though)\b|\broleplay as\b|\bdeveloper mode\b|\bdo anything now\b|\bjailbreak(?:ed)?\b/g,
    weight: 0.7,
  },
  {
    type: 'prompt-leak',
    re: /\b(?:reveal|print|show|output|repeat|leak|disclose|tell me)\b[^.\n]{0,30}\b(?:your|the) (?:system prompt|instructions|initial prompt|hidden prompt|guidelines)\b/g,
    weight: 0.8,
  },
  {
    type: 'concealment',
    re: /\b(?:do not|don't|never|without)\b[^.\n]{0,25}\b(?:tell|telling|inform|informing|mention|mentioning|reveal|revealing|notify|notifying|alert|alerting|show|showing)\b[^.\n]{0,20}\b(?:the )?user\b|\bthe user (?:must|should|does) not (?:know|see|be told|notice)\b/g,
    weight: 0.85,
  },
  {
    type: 'addressed-to-model',
    re: /\b(?:dear|attention|note (?:to|for)|message (?:to|for)|hey|hello|instructions for) (?:the )?(?:ai|assistant|llm|language model|chatbot|model|agent)s?\b|\bif you are an? (?:ai|llm|language model|assistant|agent)\b|\b(?:ai|llm) (?:assistant|agent)s?,? (?:must|should|please|reading)\b/g,
    weight: 0.7,
  },
  {
    // BIPIA-style task injection: an instruction about the reader's own output. The gap may
    // cross dots inside names (`www.example.com`) but not a sentence end.
    type: 'output-directive',
    re: /\b(?:add|include|insert|integrate|incorporate|append|prepend|mention|modify|change|alter|replace|provide|write|translate|rewrite|render|convert|remove|encode|enhance|augment|embed|tease|hint|suggest|offer|promote|introduce|misspell|scramble|jumble|rearrange|anagram|group|combine|substitute|respond|answer|reply|begin|start|end|conclude|format|express|emphasi[sz]e|stress|highlight|invite|encourage|direct|recommend|ensure|make|keep|use|put|sign|close|finish|structure|present|deliver|give|return|output|print|say)\b(?:[^.\n]|\.(?=\S)){0,120}?\byour (?:response|reply|answer|message|output|summary|explanation|elucidation|next message|final answer)s?\b/g,
    weight: 0.75,
  },
  {
    type: 'output-directive',
    re: /\byour (?:response|reply|answer|output)s? (?:should|must|will|needs? to)\b|\bin your (?:response|reply|answer)s?,\s/g,
    weight: 0.6,
  },
  {
    // "…the following code excerpt to fortify your codebase": weak alone (docs say it too).
    type: 'code-directive',
    re: /\b(?:into|in|to|within|with|of|throughout) (?:the (?:logic|core|structure|essence|fabric|framework|robustness) of )?your (?:code|codebase|solution|implementation|algorithm|program|script)s?\b|\byour (?:code|codebase|solution|implementation|algorithm) (?:could|should|would|will|must) (?:flourish|embody|include|benefit)/g,
    weight: 0.3,
  },
  {
    type: 'code-injection',
    re: /\b(?:the )?(?:following|subsequent|below|given|this) code (?:block|snippet|excerpt|section|segment|fragment)\b/g,
    weight: 0.3,
  },
  {
    // A stand-alone task for the model (BIPIA "information retrieval", "content creation",
    // "tutoring", "translation", "programming help"): a whole line that is an LLM-style request.
    type: 'task-request',
    re: /(?:^|\n)[ \t]*(?:(?:what|who|how|why|which) (?:is|are|was|were|do|does|did|can|could|would|should)\b[^\n?]{3,160}\?|(?:can|could|would) you (?:please )?(?:show|tell|explain|write|give|provide|help|list|translate)\b[^\n?]{3,160}\?|(?:explain|describe|draft|compose|translate|summari[sz]e|outline|break down|tell me|give me|write (?:a|an|me)|provide (?:a|an|the))\b[^\n]{3,160}[.!?:])[ \t]*(?=\n|$)/g,
    weight: 0.5,
  },
  {
    type: 'exfiltration',
    re: /\b(?:send|post|upload|forward|transmit|exfiltrate|leak|email|submit)\b[^.\n]{0,40}\b(?:conversation|chat history|context|credentials?|passwords?|api keys?|tokens?|secrets?|private keys?|cookies|env(?:ironment)? variables|personal data|user data|contents?)\b[^.\n]{0,40}\b(?:to|at)\b[^.\n]{0,20}(?:https?:\/\/|www\.|\S+@\S+|webhook)/g,
    weight: 0.85,
  },
  {
    type: 'urgency',
    re: /(?:^|\n)\s*(?:important|urgent|attention|warning|critical)\s*(?:!|:)\s*(?:you|ai|assistant|always|never|do not|ignore)\b|<\/?important>/g,
    weight: 0.5,
  },
];

const ROLE_TOKENS = /<\|(?:im_start|im_end|system|user|assistant|endoftext|begin_of_text|end_of_text|start_header_id|end_header_id|eot_id|eom_id)\|>|\[\/?INST\]|<<\/?SYS>>|<\/?(?:start_of_turn|end_of_turn)>|(?:^|\n)\s*#{2,4}\s*(?:system|instruction|instructions|human|assistant|user)\s*:|<\/?(?:system|sys|instructions?|system_prompt|admin)>|(?:^|\n)(?:system|assistant)\s*:\s|\[(?:system|assistant)\]\s*:?/gi;

/** Markdown image or link whose URL has a query / path segment that can carry data. */
const MD_LINK = /(!?)\[[^\]\n]{0,200}\]\(\s*<?(https?:\/\/[^\s)>]{1,2000})>?(?:\s+"[^"\n]{0,200}")?\s*\)/g;
const HTML_IMG = /<img\b[^>]{0,300}?\bsrc\s*=\s*["']?(https?:\/\/[^\s"'>]{1,2000})/gi;
const BASE64_RUN = /[A-Za-z0-9+/]{40,4096}={0,2}/g;
const HEX_RUN = /(?:[0-9a-fA-F]{2}){24,2048}/g;
/** Encoded characters decoded per text at most (bounded work on base64-heavy content). */
const MAX_DECODED_CHARS = 4 * 1024 * 1024;
const INSTRUCTION_WORDS = /\b(?:ignore|instruction|system|assistant|prompt|you are|you must|execute|send|forward|do not tell|password|secret|reveal)\b/i;

/** Does a URL carry data: long or encoded query values, template holes, or a long opaque path. */
function urlCarriesData(url: string): number {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 0;
  }
  let w = 0;
  for (const [, v] of u.searchParams) {
    if (/[{}$<>]|%7B|%24/i.test(v)) w = Math.max(w, 0.85);
    else if (v.length >= 40) w = Math.max(w, 0.8);
    else if (v.length >= 20 && /[A-Za-z0-9+/=_-]{20,}/.test(v)) w = Math.max(w, 0.6);
  }
  if (/\{[^}]{1,40}\}|\$\{|%7B/i.test(u.pathname)) w = Math.max(w, 0.85);
  const lastSeg = u.pathname.split('/').pop() ?? '';
  if (lastSeg.length >= 48 && /^[A-Za-z0-9+=_-]+$/.test(lastSeg)) w = Math.max(w, 0.5);
  return w;
}

export interface InjectionOptions {
  /** Skip the (costlier) encoded-payload decoding (default false). */
  readonly skipEncoded?: boolean;
}

export function scoreInjection(text: string, options: InjectionOptions = {}): InjectionResult {
  return scoreNormalized(normalize(text), options);
}

export function scoreNormalized(n: Normalized, options: InjectionOptions = {}): InjectionResult {
  const signals: InjectionSignal[] = [];
  const t = n.text;
  const lower = t.toLowerCase();
  // toLowerCase keeps lengths for the scripts that matter here; if it doesn't, match on `t`.
  const hay = lower.length === t.length ? lower : t;
  const add = (type: string, s: number, e: number, weight: number): void => {
    const [os, oe] = n.toOriginal(s, e);
    signals.push({ type, start: os, end: oe, weight });
  };

  for (const p of PHRASES) {
    p.re.lastIndex = 0;
    for (let m = p.re.exec(hay); m !== null; m = p.re.exec(hay)) add(p.type, m.index, m.index + m[0].length, p.weight);
  }
  ROLE_TOKENS.lastIndex = 0;
  for (let m = ROLE_TOKENS.exec(t); m !== null; m = ROLE_TOKENS.exec(t)) {
    const chatml = m[0].startsWith('<|') || m[0].includes('INST') || m[0].includes('SYS>>');
    add('role-token', m.index, m.index + m[0].length, chatml ? 0.9 : 0.7);
  }

  // Hidden Unicode: report the runs; tag characters smuggle whole messages.
  const h = n.hidden;
  for (const r of n.hiddenRuns) {
    const w = r.cls === 'tag' ? 0.9 : r.cls === 'bidi' ? 0.5 : r.cls === 'zeroWidth' ? (r.end - r.start >= 3 ? 0.5 : 0.2) : 0.1;
    if (w >= 0.2) signals.push({ type: `hidden-${r.cls}`, start: r.start, end: r.end, weight: w });
  }
  if (h.zeroWidth >= 8) signals.push({ type: 'hidden-zeroWidth', start: 0, end: 0, weight: 0.6 });
  if (n.tagText.length > 0) {
    // The invisible ASCII is itself scanned like visible text.
    const inner = scoreInjection(n.tagText);
    if (inner.score > 0) signals.push({ type: 'hidden-instructions', start: n.hiddenRuns.find((r) => r.cls === 'tag')?.start ?? 0, end: n.hiddenRuns.find((r) => r.cls === 'tag')?.end ?? 0, weight: Math.max(0.95, inner.score) });
  }

  // Links and images that can carry data out when rendered.
  MD_LINK.lastIndex = 0;
  for (let m = MD_LINK.exec(t); m !== null; m = MD_LINK.exec(t)) {
    const w = urlCarriesData(m[2]!);
    if (w > 0) add(m[1] === '!' ? 'image-exfiltration' : 'link-exfiltration', m.index, m.index + m[0].length, m[1] === '!' ? w : w * 0.7);
  }
  HTML_IMG.lastIndex = 0;
  for (let m = HTML_IMG.exec(t); m !== null; m = HTML_IMG.exec(t)) {
    const w = urlCarriesData(m[1]!);
    if (w > 0) add('image-exfiltration', m.index, m.index + m[0].length, w);
  }

  dangerousCode(hay, add);
  if (!options.skipEncoded) encodedPayloads(t, add);
  return { score: combine(signals), signals };
}

/** Code that collects something sensitive and sends it out, or destroys / hijacks the host. */
const CODE_SEND = /\brequests\.(?:get|post|put)\b|\burllib\.request\b|\burlopen\(|\bhttp\.client\b|\bhttpx\.|\bsocket\.socket\b|\bsmtplib\b|\bftplib\b|\bparamiko\b|\bpublish\.single\b|\baiohttp\b|\burlretrieve\b|\bfetch\(|\bcurl\b|\bwget\b|\byagmail\b|\bbluetooth\b/g;
const CODE_SOURCE = /\bos\.environ\b|\bpsutil\b|\bcookie|\bgetpass\b|\.ssh\b|\/etc\/|\bsubprocess\b|\busb\.core\b|\bdriverquery\b|\bsounddevice\b|\bos\.rename\b|\bshutil\.move\b|\bcontacts\b|\bcsv\.reader\b|process\.env\b|\bdocument\.cookie\b|\blocalstorage\b/g;
const CODE_DESTROY = /\brm -rf\b|\bdd if=\/dev\/|\bos\.remove\(\s*["']\/(?:lib|usr|etc|bin)|\bsystemctl (?:stop|disable)\b|\brc\.local\b|\bexec\(open\(|\bminer\b|\bchmod \+x\b|\bmkfs\b/g;

function dangerousCode(t: string, add: (type: string, s: number, e: number, w: number) => void): void {
  CODE_DESTROY.lastIndex = 0;
  const d = CODE_DESTROY.exec(t);
  if (d) add('dangerous-code', d.index, d.index + d[0].length, 0.55);
  // Collect-then-send within one code-sized window.
  CODE_SEND.lastIndex = 0;
  const sends: number[] = [];
  for (let m = CODE_SEND.exec(t); m !== null && sends.length < 256; m = CODE_SEND.exec(t)) sends.push(m.index);
  if (sends.length === 0) return;
  CODE_SOURCE.lastIndex = 0;
  for (let m = CODE_SOURCE.exec(t); m !== null; m = CODE_SOURCE.exec(t)) {
    const at = m.index;
    const near = sends.find((x) => Math.abs(x - at) <= 600);
    if (near !== undefined) {
      add('dangerous-code', Math.min(near, at), Math.max(near, at) + m[0].length, 0.55);
      return;
    }
  }
}

function encodedPayloads(t: string, add: (type: string, s: number, e: number, w: number) => void): void {
  // Decoding is linear in what is decoded, so the budget counts characters, not runs: a count
  // let a text padded with harmless base64 runs push a payload past it.
  let budget = MAX_DECODED_CHARS;
  BASE64_RUN.lastIndex = 0;
  for (let m = BASE64_RUN.exec(t); m !== null && budget > 0; m = BASE64_RUN.exec(t)) {
    const s = m[0];
    budget -= s.length;
    const d = decodeBase64(s.length % 4 === 1 ? s.slice(0, -1) : s);
    if (d === undefined || printableRatio(d) < 0.9) continue;
    const text = d.toString('latin1');
    if (!/[a-z]{3,} [a-z]{2,} [a-z]{2,}/i.test(text)) continue;
    add('encoded-payload', m.index, m.index + s.length, INSTRUCTION_WORDS.test(text) ? 0.85 : 0.3);
  }
  HEX_RUN.lastIndex = 0;
  for (let m = HEX_RUN.exec(t); m !== null && budget > 0; m = HEX_RUN.exec(t)) {
    budget -= m[0].length;
    const d = Buffer.from(m[0], 'hex');
    if (printableRatio(d) < 0.9) continue;
    const text = d.toString('latin1');
    if (!/[a-z]{3,} [a-z]{2,} [a-z]{2,}/i.test(text)) continue;
    add('encoded-payload', m.index, m.index + m[0].length, INSTRUCTION_WORDS.test(text) ? 0.85 : 0.3);
  }
}

/** Noisy-OR over the strongest signal of each type. */
export function combine(signals: readonly { type: string; weight: number }[]): number {
  const best = new Map<string, number>();
  for (const s of signals) best.set(s.type, Math.max(best.get(s.type) ?? 0, s.weight));
  let keep = 1;
  for (const w of best.values()) keep *= 1 - Math.min(0.999, Math.max(0, w));
  return Math.round((1 - keep) * 1000) / 1000;
}
