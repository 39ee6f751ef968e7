"""The staff review page and the JSON API of the certificate system.

- `app.create_app(settings, store)`: the FastAPI application (pages rendered with Jinja2 from
  `templates/web/`, one small script and style sheet, a strict Content-Security-Policy), made of
  the routers of `routes` (auth, queue, request, actions, submissions, admin, api, public, ops)
  over one `context.WebContext`; `redaction`: who sees which SSN; `trail`: a request's audit trail.
- `users`: staff accounts (argon2 passwords, roles reviewer / supervisor / admin), browser
  sessions (cookie `coc_session`: HttpOnly, SameSite=Lax, Secure behind TLS, idle timeout),
  CSRF tokens, the login rate limit, API tokens (role `export`).
- `review`: the rules of correcting, accepting, approving, rejecting and merging, and the replies.
- `pages`: page images of the source (PDF and fax pages) for the request page, cached under var.
- `clerk`, `clerkops`, `formview`, `spans`, `batch`: the clerk's form, "value is right", claims,
  reply previews, marked spans of mail text, batches (issue 16); `presence`: who else has a
  request open, kept in the store (`page_presence`) for every web process.
- `server`: uvicorn in a thread of `coc-intake run`, or alone as `coc-intake serve`.

Accounts: `coc-intake users add NAME --role reviewer|supervisor|admin` (asks for a password, or
`--generate` prints a one-time one that must be changed at first login), `users list`,
`users disable NAME`, `users token NAME [--expires-days N]` (an API token, printed once),
`users token list|revoke`.
"""
