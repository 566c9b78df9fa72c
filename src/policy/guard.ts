/**
 * Literal prefilters: the parts of a rule plain JavaScript can answer exactly, read off the
 * compiled AST, so most rules are settled without running the CEL interpreter.
 *
 * A rule is a chain of `&&` conjuncts. In CEL a false conjunct makes the whole chain false
 * wherever it stands, even when another conjunct errors (cel-js: the left side's error is
 * absorbed by a false right side, and a false left side never evaluates the right). So:
 * - one conjunct known false → the rule is false, skipped unevaluated (`tool.name == "x" && …`
 *   for any other tool, `"admin" in principal.scopes && …` for a non-admin);
 * - every conjunct known true → the rule is true (`request.kind == "tool" && time.hour >= 9`);
 * - otherwise CEL evaluates the whole rule as written, errors and all.
 *
 * A conjunct is known only when it reads a fixed vocabulary field (never an open map) of the type
 * the schema declares, compared with a literal using an operator whose cel-js meaning is a plain
 * JS comparison. Anything unexpected in the input (wrong type, absent field, a container that is
 * not a plain object) yields "unknown", and CEL decides, so a malformed input still errors as it
 * would without the prefilter.
 */
import type { ASTNode } from '@marcbachmann/cel-js';
import type { CompiledRule } from './cel.ts';
import type { PolicyInput } from './vocabulary.ts';

/**
 * The values of the fields some prefilter reads, taken from one input (`Prefilters.read`): each
 * field is read once per decision however many rules test it.
 */
export type Facts = readonly unknown[];

/** True/false when JS knows the conjunct's CEL value for this input, undefined when it cannot tell. */
type Check = (facts: Facts) => boolean | undefined;

type FieldType = 'string' | 'bool' | 'int' | 'scopes';

/** Fixed fields of the vocabulary (cel.ts schemas) and their CEL types. Open maps are left out. */
const FIELDS: Readonly<Record<string, FieldType>> = {
  'principal.subject': 'string',
  'principal.method': 'string',
  'principal.issuer': 'string',
  'principal.clientId': 'string',
  'principal.scopes': 'scopes',
  'client.name': 'string',
  'client.version': 'string',
  'request.method': 'string',
  'request.era': 'string',
  'request.protocolVersion': 'string',
  'request.kind': 'string',
  'tool.name': 'string',
  'tool.annotations.readOnlyHint': 'bool',
  'tool.annotations.destructiveHint': 'bool',
  'tool.annotations.idempotentHint': 'bool',
  'tool.annotations.openWorldHint': 'bool',
  'tool.annotations.title': 'string',
  'resource.uri': 'string',
  'resource.uriTemplate': 'string',
  'prompt.name': 'string',
  'upstream.route': 'string',
  'upstream.url': 'string',
  'time.hour': 'int',
  'time.weekday': 'int',
  'session.id': 'string',
};

interface Field {
  readonly type: FieldType;
  /** Position of the field's value in `Facts`. */
  readonly slot: number;
}

/**
 * Only own enumerable properties of plain objects are read: those are what cel.ts copies or
 * passes to CEL unchanged. Anything else is left to CEL, which may reject it.
 */
function ownField(v: unknown, key: string): unknown {
  if (v === null || typeof v !== 'object') return undefined;
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return undefined;
  return Object.prototype.propertyIsEnumerable.call(v, key) ? (v as Record<string, unknown>)[key] : undefined;
}

function literal(node: ASTNode): unknown {
  return node.op === 'value' ? node.args : undefined;
}

/** Resolves `section.field` AST nodes to fields of the vocabulary (see `Prefilters`). */
type FieldOf = (node: ASTNode) => Field | undefined;

const FLIPPED: Readonly<Record<string, string>> = { '==': '==', '!=': '!=', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

/** The operators on two strings or two ints, as cel-js defines them (plain JS comparisons). */
function compare(op: string, a: string | bigint, b: string | bigint): boolean | undefined {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
  return undefined;
}

/** `field <op> literal` (either order): string field and string literal with ==/!=, or int field and int literal. */
function comparison(fieldOf: FieldOf, op: string, left: ASTNode, right: ASTNode): Check | undefined {
  let field = fieldOf(left);
  let lit = literal(right);
  if (field === undefined) {
    field = fieldOf(right);
    lit = literal(left);
    op = FLIPPED[op] ?? op;
  }
  if (field === undefined) return undefined;
  const { slot } = field;
  if (field.type === 'string' && typeof lit === 'string' && (op === '==' || op === '!=')) {
    return (facts) => {
      const v = facts[slot];
      return typeof v === 'string' ? compare(op, v, lit) : undefined;
    };
  }
  if (field.type === 'int' && typeof lit === 'bigint' && op in FLIPPED) {
    // CEL sees BigInt(value) (cel.ts), so compare that; any other value is left to CEL.
    return (facts) => {
      const v = facts[slot];
      return typeof v === 'number' && Number.isInteger(v) ? compare(op, BigInt(v), lit) : undefined;
    };
  }
  return undefined;
}

/** `"x" in principal.scopes` and `field in ["a", "b"]`: list membership, which cel-js decides with `===` for a string. */
function membership(fieldOf: FieldOf, left: ASTNode, right: ASTNode): Check | undefined {
  const lit = literal(left);
  const list = fieldOf(right);
  if (typeof lit === 'string' && list?.type === 'scopes') {
    const { slot } = list;
    return (facts) => {
      const v = facts[slot];
      return Array.isArray(v) ? v.includes(lit) : undefined;
    };
  }
  const field = fieldOf(left);
  if (field?.type === 'string' && right.op === 'list' && right.args.every((n) => typeof literal(n) === 'string')) {
    const { slot } = field;
    const values = new Set(right.args.map((n) => literal(n) as string));
    return (facts) => {
      const v = facts[slot];
      return typeof v === 'string' ? values.has(v) : undefined;
    };
  }
  return undefined;
}

const STRING_METHODS: Readonly<Record<string, 'startsWith' | 'endsWith' | 'includes'>> = {
  startsWith: 'startsWith',
  endsWith: 'endsWith',
  contains: 'includes',
};

/** `field.startsWith("x")`, `endsWith`, `contains` on a string field: cel-js calls the JS string method. */
function stringMethod(fieldOf: FieldOf, name: string, receiver: ASTNode, args: readonly ASTNode[]): Check | undefined {
  const method = Object.hasOwn(STRING_METHODS, name) ? STRING_METHODS[name] : undefined;
  const field = fieldOf(receiver);
  const lit = args.length === 1 ? literal(args[0]!) : undefined;
  if (method === undefined || field?.type !== 'string' || typeof lit !== 'string') return undefined;
  const { slot } = field;
  return (facts) => {
    const v = facts[slot];
    return typeof v === 'string' ? v[method](lit) : undefined;
  };
}

function checkOf(fieldOf: FieldOf, node: ASTNode): Check | undefined {
  switch (node.op) {
    case '==':
    case '!=':
    case '<':
    case '<=':
    case '>':
    case '>=':
      return comparison(fieldOf, node.op, node.args[0], node.args[1]);
    case 'in':
      return membership(fieldOf, node.args[0], node.args[1]);
    case 'rcall':
      return stringMethod(fieldOf, node.args[0], node.args[1], node.args[2]);
    case '!_': {
      const inner = checkOf(fieldOf, node.args);
      if (inner === undefined) return undefined;
      return (facts) => {
        const v = inner(facts);
        return v === undefined ? undefined : !v;
      };
    }
    case '.': {
      const field = fieldOf(node);
      if (field?.type !== 'bool') return undefined;
      const { slot } = field;
      return (facts) => {
        const v = facts[slot];
        return typeof v === 'boolean' ? v : undefined;
      };
    }
    default:
      return undefined;
  }
}

function conjuncts(node: ASTNode, out: ASTNode[]): ASTNode[] {
  if (node.op === '&&') {
    conjuncts(node.args[0], out);
    conjuncts(node.args[1], out);
  } else out.push(node);
  return out;
}

/**
 * What JS can settle about one compiled rule. `checks` cover the conjuncts it understands;
 * `complete` says they are all of them, so all true means the rule is true.
 */
export interface Prefilter {
  readonly checks: readonly Check[];
  readonly complete: boolean;
}

/** The prefilters of one policy, sharing one read of each field per decision. */
export class Prefilters {
  readonly #paths: (readonly string[])[] = [];
  readonly #slots = new Map<string, number>();

  /** Derives a rule's prefilter from its AST; registers the fields it reads. */
  of(rule: CompiledRule): Prefilter {
    const fieldOf: FieldOf = (node) => this.#fieldOf(node);
    const all = conjuncts(rule.ast, []);
    const checks = all.map((n) => checkOf(fieldOf, n)).filter((c): c is Check => c !== undefined);
    return { checks, complete: checks.length === all.length };
  }

  /** The values of every registered field in this input. */
  read(input: PolicyInput): Facts {
    const paths = this.#paths;
    const out = new Array<unknown>(paths.length);
    for (let i = 0; i < paths.length; i++) {
      let v: unknown = input;
      try {
        for (const key of paths[i]!) v = ownField(v, key);
      } catch {
        v = undefined; // A throwing getter: unknown here; CEL meets the same failure and reports it.
      }
      out[i] = v;
    }
    return out;
  }

  #fieldOf(node: ASTNode): Field | undefined {
    const path: string[] = [];
    let n = node;
    while (n.op === '.') {
      path.unshift(n.args[1]);
      n = n.args[0];
    }
    if (n.op !== 'id') return undefined;
    path.unshift(n.args);
    const name = path.join('.');
    const type = Object.hasOwn(FIELDS, name) ? FIELDS[name] : undefined;
    if (type === undefined) return undefined;
    let slot = this.#slots.get(name);
    if (slot === undefined) {
      slot = this.#paths.push(path) - 1;
      this.#slots.set(name, slot);
    }
    return { type, slot };
  }
}

/**
 * The rule's value as far as its prefilter knows: false (some conjunct is false), true (every
 * conjunct is known and true), or undefined (CEL must evaluate it).
 */
export function prejudge(p: Prefilter, facts: Facts): boolean | undefined {
  let allTrue = p.complete;
  for (const c of p.checks) {
    const v = c(facts);
    if (v === false) return false;
    if (v === undefined) allTrue = false;
  }
  return allTrue ? true : undefined;
}
