import { describe, expect, it } from "vitest";
import { fromBase64Url, toBase64Url, toHex } from "../src/encoding";

describe("encoding", () => {
  it("writes unpadded base64url (RFC 4648 test vectors) and reads it back", () => {
    const vectors: [string, string][] = [
      ["", ""],
      ["f", "Zg"],
      ["fo", "Zm8"],
      ["foo", "Zm9v"],
      ["foob", "Zm9vYg"],
      ["fooba", "Zm9vYmE"],
      ["foobar", "Zm9vYmFy"],
    ];
    for (const [plain, encoded] of vectors) {
      const bytes = new TextEncoder().encode(plain);
      expect(toBase64Url(bytes)).toBe(encoded);
      expect(toBase64Url(bytes.buffer as ArrayBuffer)).toBe(encoded);
      expect(new TextDecoder().decode(fromBase64Url(encoded))).toBe(plain);
    }
    // The two characters where base64url differs from base64.
    expect(toBase64Url(new Uint8Array([0xfb, 0xff]))).toBe("-_8");
    expect(fromBase64Url("-_8")).toEqual(new Uint8Array([0xfb, 0xff]));
  });

  it("refuses text that is not base64url", () => {
    expect(() => fromBase64Url("not base64!")).toThrow();
  });

  it("writes lower-case hex", () => {
    expect(toHex(new Uint8Array([0, 1, 0xab, 0xff]))).toBe("0001abff");
    expect(toHex(new Uint8Array([0xde, 0xad]).buffer)).toBe("dead");
  });
});
