import { redactUrl } from '../shared/observability/redact.ts';

/** One variable the console's process reads, as the process knows it. */
export interface ProcessSetting {
  name: string;
  /** The environment's value; undefined when unset (its default applies). */
  value: string | undefined;
  /** The default as documented, when known (`8090`, `none`). */
  defaultText?: string | undefined;
  meaning?: string | undefined;
}

/** A setting as the console shows it: never a secret's value. */
export interface ShownSetting {
  name: string;
  /** The value, redacted: `set (hidden)` for a secret, a URL without its password. */
  shown: string;
  from: 'environment' | 'default';
  meaning?: string | undefined;
}

// A name saying it holds a credential: MATRIX_ACCESS_TOKEN, SLACK_SIGNING_SECRET, SMTP_PASSWORD, API_KEYS.
const SECRET_NAME = /(^|_)(TOKENS?|SECRETS?|PASSWORDS?|PASSWD|KEYS?|CREDENTIALS?)($|_)/;

/**
 * What the console may show of a setting. Secrets by name are hidden, and so is any value given as
 * inline JSON (a generic webhook source or an audience file can hold secrets), or a URL's password.
 */
export function showSetting(setting: ProcessSetting): ShownSetting {
  const { name, value, meaning } = setting;
  if (value === undefined || value.trim() === '') {
    return { name, shown: setting.defaultText ?? 'default', from: 'default', meaning };
  }
  return { name, shown: redactedValue(name, value.trim()), from: 'environment', meaning };
}

function redactedValue(name: string, value: string): string {
  if (SECRET_NAME.test(name)) return 'set (hidden)';
  if (value.startsWith('{') || value.startsWith('[')) return 'inline JSON (hidden)';
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(value)) return redactUrl(value);
  return value;
}
