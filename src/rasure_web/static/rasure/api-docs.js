// Starts the vendored Swagger UI on /api/docs (an external file, so the page needs no inline script).
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("swagger-settings").textContent);
  var csrfToken = document.body.dataset.csrfToken;
  config.dom_id = "#swagger-ui";
  config.presets = [SwaggerUIBundle.presets.apis];
  // The API uses session auth with CSRF, so "Try it out" sends the page's CSRF token.
  config.requestInterceptor = function (req) {
    if (csrfToken) {
      req.headers["X-CSRFToken"] = csrfToken;
    }
    return req;
  };
  window.ui = SwaggerUIBundle(config);
})();
