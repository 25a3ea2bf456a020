/**
 * The login page's passkey script, served by the gateway itself (GET /v1/auth/passkey.js, no CDN).
 * A few lines of navigator.credentials.get: fetch options for this sign-in, ask the browser for an
 * assertion, and submit it with the page's form (which carries the CSRF token).
 */
export const PASSKEY_SCRIPT = `"use strict";
(() => {
  const form = document.getElementById("passkey-form");
  const button = document.getElementById("passkey-button");
  const status = document.getElementById("passkey-status");
  if (!form || !button) return;
  if (!window.PublicKeyCredential || !navigator.credentials) { button.hidden = true; return; }
  const toB64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  const fromB64 = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4)), (c) => c.charCodeAt(0));
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = "Waiting for your passkey...";
    try {
      const token = form.elements.namedItem("mfa_token");
      const res = await fetch("/v1/auth/passkey/options", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(token ? { mfa_token: token.value } : {}),
      });
      if (!res.ok) throw new Error("options " + res.status);
      const o = await res.json();
      const cred = await navigator.credentials.get({
        publicKey: { ...o, challenge: fromB64(o.challenge), allowCredentials: (o.allowCredentials || []).map((c) => ({ ...c, id: fromB64(c.id) })) },
      });
      const r = cred.response;
      form.elements.namedItem("passkey").value = JSON.stringify({
        id: cred.id,
        rawId: toB64(cred.rawId),
        type: cred.type,
        authenticatorAttachment: cred.authenticatorAttachment || undefined,
        clientExtensionResults: cred.getClientExtensionResults(),
        response: {
          clientDataJSON: toB64(r.clientDataJSON),
          authenticatorData: toB64(r.authenticatorData),
          signature: toB64(r.signature),
          userHandle: r.userHandle ? toB64(r.userHandle) : undefined,
        },
      });
      form.submit();
    } catch (e) {
      status.textContent = "The passkey sign-in did not complete. Try again, or sign in another way.";
      button.disabled = false;
    }
  });
})();
`;
