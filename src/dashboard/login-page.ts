/** The login page: one field for the access token. No script, no external resource. */
export function loginPage(error?: string): string {
  const message = error ? `<p class="error">${error}</p>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>roomcast — log in</title>
<style>body{font:16px system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}input{font:inherit;width:100%;padding:.5rem;margin:.5rem 0}button{font:inherit;padding:.5rem 1rem}.error{color:#b00}</style>
</head><body>
<h1>roomcast</h1>
<p>Enter the access token. <code>roomcast start</code> printed it when it created it, and keeps it in <code>&lt;dataDir&gt;/http-token</code>; or it is <code>ROOMCAST_HTTP_TOKEN</code>.</p>
${message}
<form method="post" action="/login"><label>Access token <input type="password" name="token" autocomplete="current-password" autofocus required></label><button type="submit">Log in</button></form>
</body></html>`;
}
