import { describe, expect, it } from "vitest";
import { decryptSecret, encryptSecret, hashSecret, timingSafeEqualText } from "../../src/token/crypto";

const KEY = btoa(String.fromCharCode(...new Uint8Array(32).map((_, i) => i)));

describe("secret crypto", () => {
  it("hashes with SHA-256 as lowercase hex", async () => {
    expect(await hashSecret("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("round-trips a secret through AES-GCM without the plain text in the sealed form", async () => {
    const sealed = await encryptSecret(KEY, "vmat_secretvalue", "tok1");
    expect(sealed).toMatch(/^v1:/);
    expect(sealed).not.toContain("secretvalue");
    expect(await decryptSecret(KEY, sealed, "tok1")).toBe("vmat_secretvalue");
  });

  it("refuses to decrypt a sealed secret moved to another row", async () => {
    const sealed = await encryptSecret(KEY, "vmat_secretvalue", "tok1");
    await expect(decryptSecret(KEY, sealed, "tok2")).rejects.toThrow();
  });

  it("compares text exactly", async () => {
    expect(await timingSafeEqualText("abc", "abc")).toBe(true);
    expect(await timingSafeEqualText("abc", "abd")).toBe(false);
    expect(await timingSafeEqualText("abc", "abcd")).toBe(false);
    expect(await timingSafeEqualText("", "x")).toBe(false);
  });
});
