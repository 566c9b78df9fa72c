import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { scanText } from '../index.ts';
import { KeywordScanner } from '../prefilter.ts';
import { PII_TRIGGERS, scanPii } from './index.ts';
import { aadhaarValid, bsnValid, cardValid, codiceFiscaleValid, dniValid, ibanValid, ipv6Valid, nieValid, ninoValid, nirValid, sinValid, ssnValid, steuerIdValid } from './validators.ts';

const pii = (t: string) => scanText(t, { families: ['pii'] }).map((f) => `${f.type}:${t.slice(f.start, f.end)}`);

// Published test values (card networks' test numbers, the IBAN registry's examples, the
// agencies' documented specimens), assembled from parts so scanners of this repo stay quiet.
const VISA = '4111' + '1111' + '1111' + '1111';
const AMEX = '3782' + '822463' + '10005';
const IBAN_DE = 'DE89' + '3704' + '0044' + '0532' + '0130' + '00';
const IBAN_GB = 'GB82' + 'WEST' + '1234' + '5698' + '7654' + '32';

test('checksums accept valid identifiers and reject a changed digit', () => {
  assert.ok(cardValid(VISA) && !cardValid(VISA.slice(0, -1) + '2'));
  assert.ok(cardValid(AMEX));
  assert.ok(ibanValid(IBAN_DE) && !ibanValid(IBAN_DE.replace('89', '88')));
  assert.ok(ibanValid(IBAN_GB));
  assert.ok(!ibanValid(IBAN_DE + '1'), 'wrong length for DE');
  assert.ok(!sinValid('046454286'), 'SINs starting with 0 are not issued');
  assert.ok(sinValid('130692544') && !sinValid('130692545'));
  assert.ok(steuerIdValid('65929970489') && !steuerIdValid('65929970488'));
  assert.ok(nirValid('185057800608491') && !nirValid('185057800608492'));
  assert.ok(dniValid('12345678Z') && !dniValid('12345678A'));
  assert.ok(nieValid('X1234567L') && !nieValid('X1234567M'));
  assert.ok(codiceFiscaleValid('RSSMRA85T10A562S') && !codiceFiscaleValid('RSSMRA85T10A562T'));
  assert.ok(bsnValid('111222333') && !bsnValid('111222334'));
  assert.ok(aadhaarValid('234567890124') && !aadhaarValid('234567890125'));
  assert.ok(ninoValid('AB123456C') && !ninoValid('BG123456C') && !ninoValid('AB123456E'));
});

test('US SSN area, group and serial rules', () => {
  assert.ok(ssnValid('123456788'));
  for (const bad of ['000123456', '666123456', '900123456', '123006789', '123450000', '078051120']) assert.ok(!ssnValid(bad), bad);
});

test('finds the common identifiers in text, with their exact spans', () => {
  assert.deepEqual(pii(`pay with ${VISA} today`), [`credit-card:${VISA}`]);
  assert.deepEqual(pii(`IBAN: ${IBAN_GB.replace(/(.{4})/g, '$1 ').trim()} thanks`), [`iban:${IBAN_GB.replace(/(.{4})/g, '$1 ').trim()}`]);
  assert.deepEqual(pii('Write to ana.lima@acme-corp.com or call +44 20 7946 0958.'), ['email:ana.lima@acme-corp.com', 'phone-number:+44 20 7946 0958']);
  assert.deepEqual(pii('SSN 123-45-6788'), ['us-ssn:123-45-6788']);
  assert.deepEqual(pii('host 203.0.113.10 and fe80::1ff:fe23:4567:890a'), ['ipv4:203.0.113.10', 'ipv6:fe80::1ff:fe23:4567:890a']);
  assert.deepEqual(pii('DNI 12345678Z, codice fiscale RSSMRA85T10A562S'), ['es-dni:12345678Z', 'it-fiscal-code:RSSMRA85T10A562S']);
});

test('context words decide for bare numbers; negative context lowers confidence', () => {
  assert.deepEqual(pii('value 111222333 saved'), []);
  assert.deepEqual(pii('BSN: 111222333'), ['nl-bsn:111222333']);
  assert.deepEqual(pii('Steuer-ID 65929970489'), ['de-tax-id:65929970489']);
  assert.deepEqual(pii('order id 65929970489'), []);
  const withCtx = scanText(`credit card ${VISA}`, { families: ['pii'] })[0]!;
  const negative = scanText(`test order ${VISA}`, { families: ['pii'], minConfidence: 0 })[0]!;
  assert.ok(withCtx.confidence > negative.confidence);
});

test('look-alikes are not personal data', () => {
  for (const t of ['version 1.22.3.4', 'released 2024-05-01', 'uuid 123e4567-e89b-12d3-a456-426614174000', 'at 12:30:45', 'image@2x.png', 'pkg@1.2.3', 'std::vector', 'ISBN 978-3-16-148410-0', 'ratio 3.14159265']) {
    assert.deepEqual(pii(t), [], t);
  }
});

test('IPv6 text forms', () => {
  for (const ok of ['2001:db8::1', 'fe80::1ff:fe23:4567:890a', '2001:0db8:85a3:0000:0000:8a2e:0370:7334']) assert.ok(ipv6Valid(ok), ok);
  for (const bad of ['12:30:45', 'aa:bb:cc:dd:ee:ff', '1::2::3', ':::']) assert.ok(!ipv6Valid(bad), bad);
});

test('property: scanning only where the keyword pass saw IPv6 / fiscal-code shapes finds the same', () => {
  const scanner = new KeywordScanner(['akia'], PII_TRIGGERS);
  const pieces = fc.constantFrom('::', ':', 'fe80', '2001:db8::1', '1ff:fe23', '12:04', '2001:0db8:85a3::7334', 'abcd:', ':abcd', 'a', 'G', ' ', '.', '-', '\n',
    'RSSMRA85T10A562S', 'RSSMRAURTMLARSNL', 'RSSMRA', 'ABCDEF', 'LMNPQRSTUV', '0', '9', 'x', 'é', 'UTC', 'JSON');
  fc.assert(
    fc.property(fc.array(pieces, { maxLength: 50 }), (ps) => {
      const text = ps.join('');
      const gated = scanPii(text, [], scanner.scan(text).triggered);
      assert.deepEqual(gated, scanPii(text, []));
    }),
    { numRuns: 3000 },
  );
});
