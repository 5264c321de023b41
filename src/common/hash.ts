import { createHash } from 'node:crypto';

/** SHA-256 of a text's UTF-8 bytes: how embedgate stores and compares secrets it never keeps (keys, launch ids, exchange codes, cookies). */
export const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();
