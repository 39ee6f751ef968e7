"""The staff pages and the API as FastAPI routers, one module per concern; `intake.web.app`
includes them in one app. Every route reaches the app's `WebContext` through `Depends`
(`intake.web.context`), so login, CSRF and roles are checked the same way everywhere.

- `auth`: login, logout, changing one's password.
- `queue`: the queue of requests (`/`).
- `request`: one request's page and its page images.
- `actions`: what staff do to a request: check, save, accept, approve, reject, set aside, merge.
- `submissions`: a submission nothing was read from.
- `admin`: user accounts (administrators).
- `api`: the certificate system's JSON API (`/api/v1`, bearer tokens).
- `public`: help, the blank form, the script and style sheet (no login).
- `ops`: `/healthz`, `/readyz`, `/metrics` (no login).

The clerk's routes (confirm a value, claim, presence heartbeats) are `intake.web.clerk.router`,
the batch page `intake.web.batch.router`, the public online form `intake.web.online.router`.
"""
