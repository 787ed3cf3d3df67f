// Renders Herald's API reference: Redoc, from the URL the page names (a
// file of Herald's own, fingerprinted), shows the OpenAPI document the page
// names. A file of its own, as the page's Content-Security-Policy allows no
// inline script.
const page = document.body.dataset;
const { init } = await import(page.redocUrl);
init(page.specUrl, { disableTelemetry: true }, document.querySelector("main"));
