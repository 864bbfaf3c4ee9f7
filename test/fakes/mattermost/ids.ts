// Mattermost ids: 16 random bytes in base32 with the server's own alphabet, 26 lowercase characters
// (model.NewId). The server refuses anything else in a path with 400 api.context.invalid_url_param.app_error,
// so the fake checks ids the same way: a pack that passes a channel name where an id belongs fails here too.

import { randomBytes } from 'node:crypto';

const ALPHABET = 'ybndrfg8ejkmcpqxot1uwisza345h769';
const ID_PATTERN = /^[a-z0-9]{26}$/;

/** A fresh id in Mattermost's format. */
export function newId(): string {
  const bytes = randomBytes(16);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** What model.IsValidId accepts: 26 lowercase letters and digits. */
export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}
