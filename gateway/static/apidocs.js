// Renders the merged API document (/api/openapi.json) with Swagger UI. Read-only: the page never calls
// the API ("try it out" is off), so no token passes through it; no URL box (the base layout), so the page
// shows only the hall's own document.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.SwaggerUIBundle({
    url: root.getAttribute("data-url"),
    domNode: root,
    deepLinking: false, // its links sit inside the operation's toggle button (nested-interactive)
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    supportedSubmitMethods: [],
    validatorUrl: null,
    queryConfigEnabled: false,
    docExpansion: "none",
    defaultModelsExpandDepth: 0
  });
})();
