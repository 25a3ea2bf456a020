import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayEnv } from "../types";

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Buildly Edge API</title>
<link rel="icon" href="/docs/vendor/favicon-32x32.png">
<link rel="stylesheet" href="/docs/vendor/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/vendor/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>`;

/** `GET /docs`: swagger-ui served from our own assets, so it works with no internet access. */
export function registerDocs(app: OpenAPIHono<GatewayEnv>) {
  app.get("/docs", (c) => {
    c.header(
      "content-security-policy",
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
    );
    return c.html(PAGE);
  });
  app.get("/docs/", (c) => c.redirect("/docs", 301));
  return app;
}
