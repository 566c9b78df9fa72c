/**
 * The prompt-injection patterns (see injection.ts for what each signal means and how the score is
 * combined). Shared by the reference scanner, which runs each one over the whole text, and the
 * fast scanner, which runs sticky copies of them only where a trigger word makes a match possible:
 * both must report exactly the same matches, so there is one definition.
 */
import { decodeBase64, printableRatio } from './checks.ts';

export interface PhraseRule {
  readonly type: string;
  readonly re: RegExp;
  readonly weight: number;
}

// Bounded gaps (`[^.\n]{0,40}`) keep each pattern linear and each phrase inside one sentence.
export const PHRASES: readonly PhraseRule[] = [
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
    re: /\b(?:send|post|upload|forward|transmit|exfiltrate|leak|email|submit)\b[^.\n]{0,40}\b(?:conversation|chat history|context|credentials?|passwords?|api keys?|tokens?|secrets?|private keys?|cookies|env(?:ironment)? variables|personal data|user data|contents?)\b[^.\n]{0,40}\b(?:to|at)\b[^.\n]{0,20}(?:https?:\/\/|www\.|[^\s@]{1,64}@[^\s@]|webhook)/g,
    weight: 0.85,
  },
  {
    type: 'urgency',
    re: /(?:^|\n)\s*(?:important|urgent|attention|warning|critical)\s*(?:!|:)\s*(?:you|ai|assistant|always|never|do not|ignore)\b|<\/?important>/g,
    weight: 0.5,
  },
];

export const ROLE_TOKENS = /<\|(?:im_start|im_end|system|user|assistant|endoftext|begin_of_text|end_of_text|start_header_id|end_header_id|eot_id|eom_id)\|>|\[\/?INST\]|<<\/?SYS>>|<\/?(?:start_of_turn|end_of_turn)>|(?:^|\n)\s*#{2,4}\s*(?:system|instruction|instructions|human|assistant|user)\s*:|<\/?(?:system|sys|instructions?|system_prompt|admin)>|(?:^|\n)(?:system|assistant)\s*:\s|\[(?:system|assistant)\]\s*:?/gi;

/**
 * Markdown image or link whose URL has a query / path segment that can carry data. The URL is
 * matched atomically (`(?=(…))\2`: JavaScript has no possessive quantifier): the character after
 * its longest run is never a URL character, so no shorter run can be followed by `>`, space or
 * `)` either, and the matches are the same as with backtracking. Backtracking tried every
 * shorter run first, up to 2,000 steps per unclosed `![x](http://…`: ~1.3 s per MB of them.
 */
export const MD_LINK = /(!?)\[[^\]\n]{0,200}\]\(\s*<?(?=(https?:\/\/[^\s)>]{1,2000}))\2>?(?:\s+"[^"\n]{0,200}")?\s*\)/g;
export const HTML_IMG = /<img\b[^>]{0,300}?\bsrc\s*=\s*["']?(https?:\/\/[^\s"'>]{1,2000})/gi;
export const BASE64_RUN = /[A-Za-z0-9+/]{40,4096}={0,2}/g;
export const HEX_RUN = /(?:[0-9a-fA-F]{2}){24,2048}/g;
/** Encoded characters decoded per text at most (bounded work on base64-heavy content). */
export const MAX_DECODED_CHARS = 4 * 1024 * 1024;
export const INSTRUCTION_WORDS = /\b(?:ignore|instruction|system|assistant|prompt|you are|you must|execute|send|forward|do not tell|password|secret|reveal)\b/i;

/**
 * False when urlCarriesData is 0 without parsing (most links): no query (`?`), no `{` or `%`
 * (the WHATWG parser percent-encodes `{` in a path, so a template hole in `pathname` needs one of
 * them in the input), and no run of 48 [A-Za-z0-9+=_-] (a last segment that long comes from such
 * a run: percent-encoding would add a `%`, and dot segments only remove whole segments).
 */
function mayCarryData(url: string): boolean {
  let run = 0;
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 63 || c === 123 || c === 37) return true;
    const opaque = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 43 || c === 61 || c === 95 || c === 45;
    run = opaque ? run + 1 : 0;
    if (run >= 48) return true;
  }
  return false;
}

/** Does a URL carry data: long or encoded query values, template holes, or a long opaque path. */
export function urlCarriesData(url: string): number {
  if (!mayCarryData(url)) return 0;
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

/** Code that collects something sensitive and sends it out, or destroys / hijacks the host. */
export const CODE_SEND = /\brequests\.(?:get|post|put)\b|\burllib\.request\b|\burlopen\(|\bhttp\.client\b|\bhttpx\.|\bsocket\.socket\b|\bsmtplib\b|\bftplib\b|\bparamiko\b|\bpublish\.single\b|\baiohttp\b|\burlretrieve\b|\bfetch\(|\bcurl\b|\bwget\b|\byagmail\b|\bbluetooth\b/g;
export const CODE_SOURCE = /\bos\.environ\b|\bpsutil\b|\bcookie|\bgetpass\b|\.ssh\b|\/etc\/|\bsubprocess\b|\busb\.core\b|\bdriverquery\b|\bsounddevice\b|\bos\.rename\b|\bshutil\.move\b|\bcontacts\b|\bcsv\.reader\b|process\.env\b|\bdocument\.cookie\b|\blocalstorage\b/g;
export const CODE_DESTROY = /\brm -rf\b|\bdd if=\/dev\/|\bos\.remove\(\s*["']\/(?:lib|usr|etc|bin)|\bsystemctl (?:stop|disable)\b|\brc\.local\b|\bexec\(open\(|\bminer\b|\bchmod \+x\b|\bmkfs\b/g;

const SENTENCE_LIKE = /[a-z]{3,} [a-z]{2,} [a-z]{2,}/i;

/** Weight of a decoded base64 / hex payload: 0 unless it reads like text, more if like orders. */
export function payloadWeight(d: Buffer | undefined): number {
  if (d === undefined || printableRatio(d) < 0.9) return 0;
  const text = d.toString('latin1');
  if (!SENTENCE_LIKE.test(text)) return 0;
  return INSTRUCTION_WORDS.test(text) ? 0.85 : 0.3;
}

/** The base64 decode of one BASE64_RUN match, as the scanners have always done it. */
export function decodeBase64Run(s: string): Buffer | undefined {
  return decodeBase64(s.length % 4 === 1 ? s.slice(0, -1) : s);
}

/** Reports a match in normalized-text offsets. */
export type AddSignal = (type: string, start: number, end: number, weight: number) => void;

/**
 * One text's pattern matches, reported part by part so the caller can keep the signal order
 * (phrases, role tokens, hidden Unicode, links, code, encoded payloads) the score has always had.
 */
export interface InjectionScanner {
  /** PHRASES in order, each rule's matches left to right, then ROLE_TOKENS. */
  phrasesAndRoles(add: AddSignal): void;
  /** MD_LINK, then HTML_IMG matches whose URL carries data. */
  links(add: AddSignal): void;
  dangerousCode(add: AddSignal): void;
  encodedPayloads(add: AddSignal): void;
}

/** JavaScript's `\s`: ECMA-262 WhiteSpace (Zs included) and LineTerminator. */
export function isRegExpSpace(c: number): boolean {
  return (
    c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
  );
}
