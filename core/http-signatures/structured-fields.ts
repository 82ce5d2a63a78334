/**
 * The part of RFC 8941 (Structured Field Values) that `Signature-Input` and
 * `Signature` use: a dictionary whose members are inner lists or items, with
 * parameters; bare items that are strings, tokens, integers, booleans or
 * byte sequences. Decimals are refused (RFC 9421 uses none).
 *
 * The parser is strict and bounded, since its input comes from the network:
 * a length cap checked before anything else, caps on members, inner-list
 * items and parameters, no duplicate dictionary or parameter keys (RFC 8941
 * would keep the last one; a signature header with two meanings is refused
 * instead), printable ASCII only. Every refusal is a `SignatureError`
 * (`SIGNATURE_TOO_LARGE` for a cap, `SIGNATURE_MALFORMED` otherwise), never
 * another exception.
 *
 * The serializer follows RFC 8941 §4.1 and throws `TypeError` for values it
 * cannot represent: those come from the caller, not the network.
 */
import { decodeBase64url, encodeBase64url } from "../encoding/base64url.ts";
import { SignatureError } from "../errors.ts";

export type SfBareItem =
  | { type: "string"; value: string }
  | { type: "token"; value: string }
  | { type: "integer"; value: number }
  | { type: "boolean"; value: boolean }
  | { type: "bytes"; value: Uint8Array };

/** Parameters in their received order; keys are unique. */
export type SfParameters = [key: string, value: SfBareItem][];

export interface SfItem {
  kind: "item";
  value: SfBareItem;
  params: SfParameters;
}

export interface SfInnerList {
  kind: "inner-list";
  items: SfItem[];
  params: SfParameters;
}

export type SfMember = SfItem | SfInnerList;

export interface SfDictionaryMember {
  key: string;
  member: SfMember;
  /** The member value exactly as received (after `key=`), to compare with its canonical serialization. */
  raw: string;
}

export interface SfLimits {
  /** Longest accepted field value, in bytes (only ASCII is accepted, so characters). */
  maxBytes: number;
  maxMembers: number;
  maxInnerListItems: number;
  maxParameters: number;
}

/** RFC 8941 §3.3.1: at most 15 digits. */
const MAX_INTEGER_DIGITS = 15;
/** A key longer than this is no signature label or parameter we know of. */
const MAX_KEY_LENGTH = 64;

const isLcAlpha = (c: number) => c >= 0x61 && c <= 0x7a;
const isAlpha = (c: number) => isLcAlpha(c) || (c >= 0x41 && c <= 0x5a);
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
/** RFC 9110 §5.6.2 tchar. */
const TCHAR_PUNCTUATION = "!#$%&'*+-.^_`|~";
const isTchar = (c: number) => isAlpha(c) || isDigit(c) || TCHAR_PUNCTUATION.includes(String.fromCharCode(c));
const isKeyChar = (c: number) =>
  isLcAlpha(c) || isDigit(c) || c === 0x5f || c === 0x2d || c === 0x2e || c === 0x2a;

function malformed(why: string): SignatureError {
  return new SignatureError("SIGNATURE_MALFORMED", `structured field: ${why}`);
}

function tooLarge(why: string): SignatureError {
  return new SignatureError("SIGNATURE_TOO_LARGE", `structured field: ${why}`);
}

class Parser {
  private pos = 0;

  constructor(
    private readonly input: string,
    private readonly limits: SfLimits,
  ) {}

  parseDictionary(): SfDictionaryMember[] {
    const members: SfDictionaryMember[] = [];
    const seen = new Set<string>();
    this.skipSpaces();
    while (!this.atEnd()) {
      const key = this.parseKey();
      if (seen.has(key)) throw malformed(`duplicate dictionary key "${key}"`);
      seen.add(key);
      if (members.length >= this.limits.maxMembers) {
        throw tooLarge(`more than ${this.limits.maxMembers} members`);
      }
      let member: SfMember;
      const hasValue = this.peek() === 0x3d; /* = */
      if (hasValue) this.pos++;
      const start = this.pos;
      if (hasValue) {
        member = this.peek() === 0x28 /* ( */ ? this.parseInnerList() : this.parseItem();
      } else {
        member = { kind: "item", value: { type: "boolean", value: true }, params: this.parseParameters() };
      }
      members.push({ key, member, raw: this.input.slice(start, this.pos) });
      this.skipOws();
      if (this.atEnd()) break;
      if (this.peek() !== 0x2c /* , */) throw malformed("members must be separated by commas");
      this.pos++;
      this.skipOws();
      if (this.atEnd()) throw malformed("trailing comma");
    }
    return members;
  }

  private parseInnerList(): SfInnerList {
    this.pos++; // (
    const items: SfItem[] = [];
    for (;;) {
      this.skipSpaces();
      if (this.atEnd()) throw malformed("unterminated inner list");
      if (this.peek() === 0x29 /* ) */) {
        this.pos++;
        return { kind: "inner-list", items, params: this.parseParameters() };
      }
      if (items.length >= this.limits.maxInnerListItems) {
        throw tooLarge(`more than ${this.limits.maxInnerListItems} items in an inner list`);
      }
      items.push(this.parseItem());
      const next = this.peek();
      if (next !== 0x20 && next !== 0x29) throw malformed("inner-list items must be separated by spaces");
    }
  }

  private parseItem(): SfItem {
    const value = this.parseBareItem();
    return { kind: "item", value, params: this.parseParameters() };
  }

  private parseParameters(): SfParameters {
    const params: SfParameters = [];
    while (this.peek() === 0x3b /* ; */) {
      this.pos++;
      this.skipSpaces();
      const key = this.parseKey();
      if (params.some(([existing]) => existing === key)) throw malformed(`duplicate parameter "${key}"`);
      if (params.length >= this.limits.maxParameters) {
        throw tooLarge(`more than ${this.limits.maxParameters} parameters`);
      }
      let value: SfBareItem = { type: "boolean", value: true };
      if (this.peek() === 0x3d /* = */) {
        this.pos++;
        value = this.parseBareItem();
      }
      params.push([key, value]);
    }
    return params;
  }

  private parseKey(): string {
    const start = this.pos;
    const first = this.peek();
    if (!(isLcAlpha(first) || first === 0x2a)) {
      throw malformed("a key must start with a lowercase letter or *");
    }
    this.pos++;
    while (!this.atEnd() && isKeyChar(this.peek())) this.pos++;
    if (this.pos - start > MAX_KEY_LENGTH) throw malformed(`a key longer than ${MAX_KEY_LENGTH} characters`);
    return this.input.slice(start, this.pos);
  }

  private parseBareItem(): SfBareItem {
    const c = this.peek();
    if (c === 0x2d || isDigit(c)) return this.parseInteger();
    if (c === 0x22) return this.parseString();
    if (c === 0x3a) return this.parseByteSequence();
    if (c === 0x3f) return this.parseBoolean();
    if (isAlpha(c) || c === 0x2a) return this.parseToken();
    throw malformed("unexpected character where a value was expected");
  }

  private parseInteger(): SfBareItem {
    let sign = 1;
    if (this.peek() === 0x2d) {
      sign = -1;
      this.pos++;
    }
    const start = this.pos;
    while (!this.atEnd() && isDigit(this.peek())) this.pos++;
    const digits = this.pos - start;
    if (digits === 0) throw malformed("a number needs digits");
    if (this.peek() === 0x2e /* . */) throw malformed("decimals are not accepted");
    if (digits > MAX_INTEGER_DIGITS) throw malformed(`an integer longer than ${MAX_INTEGER_DIGITS} digits`);
    return { type: "integer", value: sign * Number(this.input.slice(start, this.pos)) };
  }

  private parseString(): SfBareItem {
    this.pos++; // "
    let value = "";
    for (;;) {
      if (this.atEnd()) throw malformed("unterminated string");
      const c = this.input.charCodeAt(this.pos++);
      if (c === 0x5c /* \ */) {
        if (this.atEnd()) throw malformed("unterminated escape");
        const escaped = this.input.charCodeAt(this.pos++);
        if (escaped !== 0x22 && escaped !== 0x5c) {
          throw malformed('only \\" and \\\\ may be escaped in a string');
        }
        value += String.fromCharCode(escaped);
      } else if (c === 0x22) {
        return { type: "string", value };
      } else if (c < 0x20 || c > 0x7e) {
        throw malformed("a string holds printable ASCII only");
      } else {
        value += String.fromCharCode(c);
      }
    }
  }

  private parseToken(): SfBareItem {
    const start = this.pos;
    this.pos++;
    while (!this.atEnd()) {
      const c = this.peek();
      if (!(isTchar(c) || c === 0x3a || c === 0x2f)) break;
      this.pos++;
    }
    return { type: "token", value: this.input.slice(start, this.pos) };
  }

  private parseByteSequence(): SfBareItem {
    this.pos++; // :
    const end = this.input.indexOf(":", this.pos);
    if (end === -1) throw malformed("unterminated byte sequence");
    const bytes = decodeBase64(this.input.slice(this.pos, end));
    if (bytes === undefined) throw malformed("a byte sequence must be canonical padded base64");
    this.pos = end + 1;
    return { type: "bytes", value: bytes };
  }

  private parseBoolean(): SfBareItem {
    this.pos++; // ?
    const c = this.peek();
    if (c !== 0x30 && c !== 0x31) throw malformed("a boolean is ?0 or ?1");
    this.pos++;
    return { type: "boolean", value: c === 0x31 };
  }

  private peek(): number {
    return this.pos < this.input.length ? this.input.charCodeAt(this.pos) : -1;
  }

  private atEnd(): boolean {
    return this.pos >= this.input.length;
  }

  private skipSpaces(): void {
    while (this.peek() === 0x20) this.pos++;
  }

  private skipOws(): void {
    while (this.peek() === 0x20 || this.peek() === 0x09) this.pos++;
  }
}

/**
 * Parses a dictionary field value (RFC 8941 §4.2.2) within `limits`.
 * Throws `SignatureError` (`SIGNATURE_TOO_LARGE`, `SIGNATURE_MALFORMED`).
 */
export function parseDictionary(input: string, limits: SfLimits): SfDictionaryMember[] {
  if (input.length > limits.maxBytes) throw tooLarge(`longer than ${limits.maxBytes} bytes`);
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c > 0x7e) throw malformed("only printable ASCII is accepted");
  }
  // Field values arrive trimmed by Fetch, but RFC 8941 §4.2 also discards trailing spaces itself.
  return new Parser(input.replace(/[ \t]+$/, ""), limits).parseDictionary();
}

/**
 * Standard base64 with padding (RFC 4648 §4), as RFC 8941 §3.3.5 byte
 * sequences carry, decoded canonically: the padding must be exactly right
 * and the unused bits zero, so one byte string has one accepted spelling.
 */
function decodeBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0) return undefined;
  const unpadded = text.replace(/={1,2}$/, "");
  if (unpadded.includes("=") || unpadded.length % 4 === 1) return undefined;
  const expectedPadding = (4 - (unpadded.length % 4)) % 4;
  if (text.length - unpadded.length !== expectedPadding) return undefined;
  if (/[-_]/.test(unpadded)) return undefined;
  return decodeBase64url(unpadded.replace(/\+/g, "-").replace(/\//g, "_"));
}

function encodeBase64(bytes: Uint8Array): string {
  const url = encodeBase64url(bytes).replace(/-/g, "+").replace(/_/g, "/");
  return url + "=".repeat((4 - (url.length % 4)) % 4);
}

/** RFC 8941 §4.1.6: a string, quoted, with `"` and `\` escaped; printable ASCII only. */
export function serializeString(value: string): string {
  if (typeof value !== "string" || !/^[\x20-\x7e]*$/.test(value)) {
    throw new TypeError("a structured-field string holds printable ASCII only");
  }
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** RFC 8941 §4.1.1.3 key. */
export function serializeKey(key: string): string {
  if (typeof key !== "string" || !/^[a-z*][a-z0-9_\-.*]*$/.test(key) || key.length > MAX_KEY_LENGTH) {
    throw new TypeError(`"${String(key).slice(0, 40)}" is not a structured-field key`);
  }
  return key;
}

export function serializeBareItem(item: SfBareItem): string {
  switch (item.type) {
    case "string":
      return serializeString(item.value);
    case "token":
      if (!/^[A-Za-z*][A-Za-z0-9!#$%&'*+\-.^_`|~:/]*$/.test(item.value)) {
        throw new TypeError("not a structured-field token");
      }
      return item.value;
    case "integer":
      if (!Number.isSafeInteger(item.value) || Math.abs(item.value) > 999_999_999_999_999) {
        throw new TypeError("a structured-field integer has at most 15 digits");
      }
      return String(item.value);
    case "boolean":
      return item.value ? "?1" : "?0";
    case "bytes":
      return `:${encodeBase64(item.value)}:`;
  }
}

/** RFC 8941 §4.1.1.2: a true boolean parameter is written as the bare key. */
export function serializeParameters(params: SfParameters): string {
  let out = "";
  for (const [key, value] of params) {
    out += `;${serializeKey(key)}`;
    if (!(value.type === "boolean" && value.value)) out += `=${serializeBareItem(value)}`;
  }
  return out;
}

export function serializeItem(item: SfItem): string {
  return serializeBareItem(item.value) + serializeParameters(item.params);
}

export function serializeInnerList(list: SfInnerList): string {
  return `(${list.items.map(serializeItem).join(" ")})${serializeParameters(list.params)}`;
}

export function serializeMember(member: SfMember): string {
  return member.kind === "inner-list" ? serializeInnerList(member) : serializeItem(member);
}
