//! The API's documentation at `/openapi.json` and `/docs`, served by `users-local serve` and,
//! on AWS, by the `users-console` function.

use lambda_http::Body;
use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::http::{HeaderValue, Response};

/// The OpenAPI document (generated from the code, `shared::openapi`), and a page that shows it:
/// Redoc's standalone bundle (MIT; the npm package `redoc` 2.5.4, in `functions/assets/`).
static OPENAPI_JSON: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| shared::openapi::document().to_string());
const REDOC_JS: &str = include_str!("../../assets/redoc.standalone.js");
const DOCS_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>User API</title><meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<redoc spec-url="/openapi.json"></redoc>
<script src="/docs/redoc.standalone.js"></script>
</body>
</html>
"#;

/// `GET /openapi.json`, `GET /docs` and the viewer's script; `None` for anything else.
/// Any other method on those paths is 405 with `Allow: GET`.
pub fn answer(parts: &lambda_http::http::request::Parts) -> Option<Response<Body>> {
    let (content_type, body) = match parts.uri.path() {
        "/openapi.json" => ("application/json", OPENAPI_JSON.as_str()),
        "/docs" | "/docs/" => ("text/html; charset=utf-8", DOCS_PAGE),
        "/docs/redoc.standalone.js" => ("text/javascript; charset=utf-8", REDOC_JS),
        _ => return None,
    };
    if parts.method != lambda_http::http::Method::GET {
        return Some(shared::http::method_not_allowed(parts.method.as_str(), "GET"));
    }
    let mut response = Response::new(Body::from(body));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    Some(response)
}
