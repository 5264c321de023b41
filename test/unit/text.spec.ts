import { z } from 'zod';
import { calendarDate, dateTime, text, textProblem } from '../../src/common/text.js';

const issues = (schema: z.ZodType, value: unknown) => {
  const result = schema.safeParse(value);
  return result.success ? [] : result.error.issues.map((issue) => issue.message);
};

describe('the text rule', () => {
  const field = text({ max: 5, min: 1, trim: true });

  it('accepts plain text and trims it', () => {
    expect(field.parse(' ab ')).toBe('ab');
    expect(field.parse('é日本')).toBe('é日本');
  });

  it.each([
    ['NUL', 'a\u0000'],
    ['a lone high surrogate', 'a\ud800'],
    ['a lone low surrogate', '\udc00b'],
    ['a C0 control', 'a\u001b'],
    ['DEL', 'a\u007f'],
    ['a C1 control', 'a\u0085'],
    ['a newline in a one-line field', 'a\nb'],
    ['a tab in a one-line field', 'a\tb'],
  ])('refuses %s', (_what, value) => {
    expect(issues(field, value).length).toBeGreaterThan(0);
  });

  it('refuses a control character even at an end that trimming would remove', () => {
    expect(issues(field, 'ab\n')).toContain('must not contain control characters');
  });

  it('refuses blank and over-long values', () => {
    expect(issues(field, '   ')).toContain('must not be empty');
    expect(issues(field, 'abcdef')).toContain('must be at most 5 characters');
  });

  it('allows tab and newline, and nothing else, in free text', () => {
    const reason = text({ max: 100, multiline: true });
    expect(reason.parse('line one\n\tline two')).toBe('line one\n\tline two');
    expect(issues(reason, 'a\rb').length).toBe(1);
    expect(issues(reason, 'a\u0000b').length).toBe(1);
  });

  it('keeps a well-formed surrogate pair (an emoji)', () => {
    expect(textProblem('🙂')).toBeNull();
  });
});

describe('dates', () => {
  const day = calendarDate('from');
  const instant = dateTime('from');

  it('takes real calendar days', () => {
    expect(day.parse('2024-02-29').toISOString()).toBe('2024-02-29T00:00:00.000Z');
    expect(instant.parse('2024-02-29T23:00:00-01:00').toISOString()).toBe('2024-03-01T00:00:00.000Z');
  });

  it.each(['2024-02-30', '2023-02-29', '2024-04-31', '2024-13-01', '2024-00-10', '0000-01-01', '1999-12-31', '2024-1-01', '20240101'])(
    'refuses %s as a day',
    (value) => {
      expect(issues(day, value).length).toBeGreaterThan(0);
    },
  );

  it.each(['2024-02-30T00:00:00Z', '0000-01-01T00:00:00Z', '2024-02-28T25:00:00Z', '2024-02-28'])('refuses %s as a date-time', (value) => {
    expect(issues(instant, value).length).toBeGreaterThan(0);
  });
});
