// Unit tests of the text escaping (node --test; no dependencies).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asString, fmtTime, safeString, segments, truncate } from '../src/text.js';

test('segments marks unsafe characters as escapes', () => {
  const cases = [
    ['plain text', [{ text: 'plain text', esc: false }]],
    ['', []],
    ['<script>alert(1)</script>', [{ text: '<script>alert(1)</script>', esc: false }]],
    ['a\x1b[31mb', [{ text: 'a', esc: false }, { text: '\\x1B', esc: true }, { text: '[31mb', esc: false }]],
    ['\r\n', [{ text: '\\x0D\\x0A', esc: true }]],
    ['x\x7f\x85y', [{ text: 'x', esc: false }, { text: '\\x7F\\x85', esc: true }, { text: 'y', esc: false }]],
    ['\u202eevil', [{ text: '\\u{202E}', esc: true }, { text: 'evil', esc: false }]],
    ['a\u200bb', [{ text: 'a', esc: false }, { text: '\\u{200B}', esc: true }, { text: 'b', esc: false }]],
    ['\ufeff\ufffd', [{ text: '\\u{FEFF}\\u{FFFD}', esc: true }]],
    ['\u2028', [{ text: '\\u{2028}', esc: true }]],
    ['lone \ud800 surrogate', [{ text: 'lone ', esc: false }, { text: '\\u{D800}', esc: true }, { text: ' surrogate', esc: false }]],
    ['emoji 😀 ok', [{ text: 'emoji 😀 ok', esc: false }]],
    ['tab\there', [{ text: 'tab', esc: false }, { text: '\\x09', esc: true }, { text: 'here', esc: false }]],
    ['Grüße 日本', [{ text: 'Grüße 日本', esc: false }]],
  ];
  for (const [input, want] of cases) assert.deepEqual(segments(input), want, JSON.stringify(input));
});

test('safeString is one printable line', () => {
  assert.equal(safeString('a\nb\x00c'), 'a\\x0Ab\\x00c');
  assert.equal(safeString(null), '');
  assert.equal(safeString(42), '42');
  assert.doesNotMatch(safeString('\x00\x1f\x7f\u009f\u2028\u2029\u202a\u2066\ufeff'), /[\x00-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069\ufeff]/);
});

test('asString shows any JSON value', () => {
  assert.equal(asString(undefined), '');
  assert.equal(asString(true), 'true');
  assert.equal(asString({ a: 1 }), '{"a":1}');
  assert.equal(asString(['x']), '["x"]');
});

test('truncate never splits a surrogate pair', () => {
  assert.deepEqual(truncate('abcdef', 0), { text: 'abcdef', cut: 0 });
  assert.deepEqual(truncate('abcdef', 6), { text: 'abcdef', cut: 0 });
  assert.deepEqual(truncate('abcdef', 4), { text: 'abcd', cut: 2 });
  assert.deepEqual(truncate('ab😀cd', 3), { text: 'ab', cut: 4 });
  const long = 'A'.repeat(100 * 1024);
  assert.equal(truncate(long, 120).text.length, 120);
  assert.equal(truncate(long, 120).cut, 100 * 1024 - 120);
});

test('fmtTime formats valid times and escapes garbage', () => {
  assert.match(fmtTime('2026-11-26T01:02:03.000004Z'), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.equal(fmtTime(''), '');
  assert.equal(fmtTime('not\na time'), 'not\\x0Aa time');
});
