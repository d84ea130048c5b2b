/**
 * What a browser sees at a dashboard that needs a key and got none (or a wrong one): a form that
 * opens the page with `?token=`, which the dashboard turns into an HttpOnly cookie and takes out
 * of the address at once.
 */

/** The page may submit its one form to its own origin, nothing else. */
export const KEY_PAGE_CSP = "default-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** @example send(res, 401, 'text/html; charset=utf-8', keyPage('that is not a live dashboard key')) */
export function keyPage(message: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>koubou dashboard: key needed</title></head>
<body>
<h1>koubou dashboard</h1>
<p>${escapeHtml(message)}.</p>
<form method="get" action="/">
  <label>Dashboard key <input type="password" name="token" autocomplete="current-password" required></label>
  <button type="submit">Open</button>
</form>
<p>On the dashboard's host: <code>koubou keys dashboard create NAME</code> prints a key once.</p>
</body></html>
`;
}
