// Starts swagger-ui on the gateway's aggregated document. Kept out of the HTML so the
// page can run under a Content-Security-Policy without 'unsafe-inline' scripts.
window.addEventListener("load", () => {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    tryItOutEnabled: true,
    // No call to the public swagger.io validator: the page must work offline.
    validatorUrl: null,
  });
});
