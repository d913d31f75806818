//! The API as an OpenAPI 3.1 document, generated from the code: each operation's
//! [`Description`] (path, method, token rule, request message, required fields, response,
//! errors, summary, example), the request messages of [`crate::proto3`] with the [`Rule`]s and
//! [`Condition`]s the operations enforce, the enums' names, and the error codes of
//! [`ErrorCode`]. The document is built from typed parts (the `openapiv3_1` model, which has
//! JSON Schema 2020-12's `if`/`then`, `const` and `not` that the conditions need and utoipa's
//! model lacks), then serialised. `docs/openapi.json` is this document as committed; a test
//! fails when the two differ, so a change in code shows up as a change of the document in
//! review (`UPDATE_OPENAPI=1 cargo test -p shared openapi` writes it anew).
//!
//! Requests are described by their proto names; every field may also be given by its
//! lowerCamelCase JSON name, enums by number and integers as strings (SPEC section 3), which
//! the schema does not spell out twice.

use std::collections::BTreeMap;

use openapiv3_1::path::{Operation as PathOperation, PathItem};
use openapiv3_1::request_body::RequestBody;
use openapiv3_1::schema::{Object, Schema, Type, Types};
use openapiv3_1::security::{Http, HttpAuthScheme, SecurityScheme};
use openapiv3_1::{Components, Content, Info, OpenApi, Response, SecurityRequirement};
use serde_json::{Value, json};

use crate::error::ErrorCode;
use crate::model::{
    AuthType, MAX_EMAIL, MAX_ID, MAX_LANGUAGE, MAX_NAME, MAX_TAG_KEYS, MAX_USER_ID, MfaState, MfaType, RequiredAction,
    RoleType, State,
};
use crate::ops::Operation;
use crate::ops::description::{Description, Method};
use crate::proto3::{Condition, EnumTable, Field, Is, Kind, Message, Rule};
use crate::query::{MAX_PAGE, MAX_PATTERN_BYTES, USER_FIELDS};

/// The component schemas, by name, as the document is built.
type Schemas = indexmap::IndexMap<String, Schema>;

fn names<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|v| name(*v)).collect()
}

fn typed(kind: Type) -> Object {
    let mut object = Object::default();
    object.schema_type = Some(Types::Single(kind));
    object
}

fn string() -> Object {
    typed(Type::String)
}

/// A string that is one of `values`.
fn one_of(values: &[&str]) -> Object {
    let mut object = string();
    object.enum_values = Some(values.iter().map(|v| json!(v)).collect());
    object
}

fn array(items: impl Into<Schema>) -> Object {
    let mut object = typed(Type::Array);
    object.items = Some(items.into());
    object
}

fn count() -> Object {
    let mut object = typed(Type::Integer);
    object.minimum = Some(0.0.into());
    object
}

/// `$ref` to a component schema.
fn component(name: &str) -> Object {
    let mut object = Object::default();
    object.reference = format!("#/components/schemas/{name}");
    object
}

/// A schema of these properties, without a type of its own (a refinement, inside `allOf`).
fn with_properties(properties: Vec<(&str, Object)>) -> Object {
    let mut object = Object::default();
    for (name, schema) in properties {
        object.properties.insert(name.to_string(), schema.into());
    }
    object
}

/// An object of these properties, the `required` ones required.
fn record(properties: Vec<(&str, Object)>, required: &[&str]) -> Object {
    let mut object = with_properties(properties);
    object.schema_type = Some(Types::Single(Type::Object));
    object.required = required.iter().map(|r| r.to_string()).collect();
    object
}

fn described(mut object: Object, text: &str) -> Object {
    object.description = text.to_string();
    object
}

/// The schema of a request field: its kind, with the constraints its [`Rule`] states.
fn field_schema(field: &Field) -> Object {
    let mut object = match field.kind {
        Kind::Str => string(),
        Kind::Bool => typed(Type::Boolean),
        Kind::Strs => array(string()),
        Kind::Int => {
            let mut int = count();
            int.maximum = Some(f64::from(u32::MAX).into());
            int
        }
        Kind::Enum(table) => enum_schema(table),
        Kind::Enums(table) => array(enum_schema(table)),
        Kind::Message(message) => component(message.name),
        Kind::Messages(message) => array(component(message.name)),
        Kind::Struct => typed(Type::Object),
        Kind::Value => Object::default(),
    };
    constrain(&mut object, &field.rule);
    object
}

/// What a [`Rule`] says, on the field's schema.
fn constrain(object: &mut Object, rule: &Rule) {
    if let Some(name) = rule.schema {
        *object = component(name);
    }
    object.min_length = rule.min_length.map(|n| n as u64);
    object.max_length = rule.max_length.map(|n| n as u64);
    match rule.patterns {
        [] => {}
        [one] => object.pattern = Some(one.to_string()),
        all => {
            object.all_of = all
                .iter()
                .map(|p| {
                    let mut each = Object::default();
                    each.pattern = Some(p.to_string());
                    each.into()
                })
                .collect();
        }
    }
    if !rule.one_of.is_empty() {
        object.enum_values = Some(rule.one_of.iter().map(|v| json!(v)).collect());
    }
    object.max_properties = rule.max_properties.map(|n| n as u64);
    object.min_items = rule.min_items.map(|n| n as u64);
    if let Some((min, max)) = rule.range {
        object.minimum = Some((min as f64).into());
        object.maximum = Some((max as f64).into());
    }
    if let Some((shape, closed)) = rule.shape {
        for field in shape.fields {
            object
                .properties
                .insert(field.name.to_string(), field_schema(field).into());
        }
        if !rule.shape_keys_optional {
            object.required = shape.fields.iter().map(|f| f.name.to_string()).collect();
        }
        object.additional_properties = Some(Schema::Bool(!closed));
    }
    if let Some(note) = rule.note {
        object.description = note.to_string();
    }
}

/// An enum by name (the schema lists the names; numbers are accepted too, SPEC section 3).
fn enum_schema(table: &EnumTable) -> Object {
    let names: Vec<&str> = table.values.iter().filter_map(|(_, name)| *name).collect();
    one_of(&names)
}

/// A [`Condition`] as `if`/`then`.
fn condition(message: &Message, condition: &Condition) -> Object {
    let part = |clauses: &[(&str, Is)], then: bool| {
        let mut out = Object::default();
        // What must not hold: a key that is there (absent), or there and not empty (not given).
        let mut excluded: Vec<Schema> = Vec::new();
        for (name, is) in clauses {
            let kind = message.fields.iter().find(|f| f.name == *name).map(|f| f.kind);
            let string = matches!(kind, Some(Kind::Str));
            let list = matches!(kind, Some(Kind::Strs | Kind::Enums(_) | Kind::Messages(_)));
            let mut schema = Object::default();
            let required = match is {
                Is::OneOf(values) => {
                    schema.enum_values = Some(values.iter().map(|v| json!(v)).collect());
                    true
                }
                Is::True => {
                    schema.const_value = Some(json!(true));
                    true
                }
                Is::NotTrue => {
                    let mut is_true = Object::default();
                    is_true.const_value = Some(json!(true));
                    schema.not = Some(is_true.into());
                    false
                }
                Is::Given => {
                    if string {
                        schema.min_length = Some(1);
                    }
                    if list {
                        schema.min_items = Some(1);
                    }
                    true
                }
                Is::Present => true,
                Is::Keys(keys) => {
                    schema.required = keys.iter().map(|k| (*k).to_string()).collect();
                    schema.max_properties = Some(keys.len() as u64);
                    !keys.is_empty()
                }
                Is::Absent if then => {
                    out.properties.insert((*name).to_string(), Schema::Bool(false));
                    continue;
                }
                Is::Absent => {
                    let mut there = Object::default();
                    there.required = vec![(*name).to_string()];
                    excluded.push(there.into());
                    continue;
                }
                Is::NotGiven => {
                    let mut given = Object::default();
                    given.required = vec![(*name).to_string()];
                    let value = string_or_list(string, list);
                    given.properties.insert((*name).to_string(), value.into());
                    excluded.push(given.into());
                    continue;
                }
            };
            if required {
                out.required.push((*name).to_string());
            }
            out.properties.insert((*name).to_string(), schema.into());
        }
        if !excluded.is_empty() {
            let mut any = Object::default();
            any.any_of = Some(excluded);
            out.not = Some(any.into());
        }
        out
    };
    let mut out = Object::default();
    out.if_cond = Some(part(condition.when, false).into());
    out.then = Some(part(condition.then, true).into());
    out
}

/// A value that counts as given: a non-empty string or list, or any other non-null value.
fn string_or_list(is_string: bool, list: bool) -> Object {
    if is_string {
        let mut given = string();
        given.min_length = Some(1);
        given
    } else if list {
        let mut given = typed(Type::Array);
        given.min_items = Some(1);
        given
    } else {
        let mut given = Object::default();
        given.not = Some(typed(Type::Null).into());
        given
    }
}

/// A message and every message it holds, as component schemas: closed (an unknown key is a
/// 400), with its conditions.
fn add_message(message: &'static Message, schemas: &mut Schemas) {
    if schemas.contains_key(message.name) {
        return;
    }
    let mut object = typed(Type::Object);
    for field in message.fields {
        object
            .properties
            .insert(field.name.to_string(), field_schema(field).into());
    }
    object.additional_properties = Some(Schema::Bool(false));
    if message.exactly_one {
        object.min_properties = Some(1);
        object.max_properties = Some(1);
    }
    object.all_of = message
        .conditions
        .iter()
        .map(|c| condition(message, c).into())
        .collect();
    schemas.insert(message.name.to_string(), object.into());
    for field in message.fields {
        if let Kind::Message(inner) | Kind::Messages(inner) = field.kind {
            add_message(inner, schemas);
        }
    }
}

fn user_info() -> Object {
    let mfa = record(
        vec![
            ("state", one_of(&names(MfaState::ALL, MfaState::as_str))),
            ("mfa_type", one_of(&names(MfaType::ALL, MfaType::as_str))),
            ("options", typed(Type::Object)),
        ],
        &["state"],
    );
    let bounded = |max: usize| {
        let mut s = string();
        s.max_length = Some(max as u64);
        s
    };
    let mut user_id = bounded(MAX_USER_ID);
    user_id.min_length = Some(1);
    let mut tags = typed(Type::Object);
    tags.max_properties = Some(MAX_TAG_KEYS as u64);
    let mut created_at = string();
    created_at.format = "date-time".into();
    let mut last_accessed_at = Object::default();
    last_accessed_at.schema_type = Some(Types::Multi(vec![Type::String, Type::Null]));
    last_accessed_at.format = "date-time".into();
    let mut user = record(
        vec![
            ("user_id", user_id),
            ("name", bounded(MAX_NAME)),
            ("state", one_of(&names(State::ALL, State::as_str))),
            ("email", bounded(MAX_EMAIL)),
            ("email_verified", typed(Type::Boolean)),
            ("auth_type", one_of(&names(AuthType::ALL, AuthType::as_str))),
            ("role_type", one_of(&names(RoleType::ALL, RoleType::as_str))),
            ("mfa", mfa),
            ("language", bounded(MAX_LANGUAGE)),
            ("timezone", string()),
            (
                "required_actions",
                array(one_of(&names(RequiredAction::ALL, RequiredAction::as_str))),
            ),
            ("tags", tags),
            ("domain_id", bounded(MAX_ID)),
            ("created_at", created_at),
            ("last_accessed_at", last_accessed_at),
        ],
        // Every UserInfo field is in every answer: the fields queries may name.
        &USER_FIELDS,
    );
    user.additional_properties = Some(Schema::Bool(false));
    user
}

/// The answers besides 200, by status: the error codes the operation's description lists, and
/// those any request may meet (ERROR_UNKNOWN, ERROR_UNAVAILABLE).
fn errors(described: &Description) -> Vec<(u16, Vec<&'static str>)> {
    let mut by_status: BTreeMap<u16, Vec<&'static str>> = BTreeMap::new();
    for code in described
        .errors()
        .iter()
        .chain(&[ErrorCode::Unknown, ErrorCode::Unavailable])
    {
        by_status.entry(code.status()).or_default().push(code.as_str());
    }
    by_status.into_iter().collect()
}

fn json_content(schema: Object) -> indexmap::IndexMap<String, Content> {
    indexmap::IndexMap::from([("application/json".to_string(), Content::new(Some(schema)))])
}

fn answer(description: String, schema: Object) -> Response {
    let mut response = Response::new(description);
    response.content = json_content(schema);
    response
}

fn operation(described: &Description, schemas: &mut Schemas) -> PathOperation {
    let message = described.request;
    add_message(message, schemas);
    let request_name = format!("{}Body", message.name);
    if !schemas.contains_key(&request_name) {
        let mut required = Object::default();
        required.required = described.required.iter().map(|r| r.to_string()).collect();
        let mut body = Object::default();
        body.all_of = vec![component(message.name).into(), required.into()];
        schemas.insert(request_name.clone(), body.into());
    }
    let mut operation = PathOperation::default();
    operation.operation_id = Some(described.name.replace('.', "_"));
    operation.summary = Some(described.summary.to_string());
    let responses = &mut operation.responses.responses;
    responses.insert(
        "200".into(),
        openapiv3_1::RefOr::T(answer("OK".into(), component(described.response))),
    );
    for (status, codes) in errors(described) {
        let mut code = Object::default();
        code.enum_values = Some(codes.iter().map(|c| json!(c)).collect());
        let narrowed = with_properties(vec![("detail", with_properties(vec![("code", code)]))]);
        let mut schema = Object::default();
        schema.all_of = vec![component("Error").into(), narrowed.into()];
        responses.insert(
            status.to_string(),
            openapiv3_1::RefOr::T(answer(format!("One of: {}", codes.join(", ")), schema)),
        );
    }
    if described.method == Method::Post {
        let mut content = Content::new(Some(component(&request_name)));
        content.example = serde_json::from_str(described.example).ok();
        let mut body = RequestBody::new();
        body.required = Some(true);
        body.content = indexmap::IndexMap::from([("application/json".to_string(), content)]);
        operation.request_body = Some(body);
    }
    if !described.needs_token {
        operation.security = Some(vec![]);
    }
    operation
}

fn path_item(method: Method, operation: PathOperation) -> PathItem {
    let mut item = PathItem::default();
    match method {
        Method::Get => item.get = Some(operation),
        Method::Post => item.post = Some(operation),
    }
    item
}

/// A page served besides the API (this document and its viewer), by `users-local serve` and by
/// the `users-console` function on AWS.
fn page(operation_id: &str, summary: &str, media_type: &str, schema: Object) -> PathItem {
    let mut operation = PathOperation::default();
    operation.operation_id = Some(operation_id.into());
    operation.summary = Some(summary.into());
    operation.security = Some(vec![]);
    let mut ok = Response::new("OK");
    ok.content = indexmap::IndexMap::from([(media_type.to_string(), Content::new(Some(schema)))]);
    operation
        .responses
        .responses
        .insert("200".into(), openapiv3_1::RefOr::T(ok));
    path_item(Method::Get, operation)
}

/// The whole document, typed.
pub fn openapi() -> OpenApi {
    let mut schemas = Schemas::new();
    schemas.insert("UserInfo".into(), user_info().into());
    // What list answers per user: UserInfo, or the keys `query.minimal` or `query.only` select.
    let mut selection = user_info();
    selection.required.clear();
    schemas.insert("UserInfoSelection".into(), selection.into());
    // Every IANA time zone name the server knows, or "" (not given).
    let zones: Vec<&str> = std::iter::once("")
        .chain(chrono_tz::TZ_VARIANTS.iter().map(|zone| zone.name()))
        .collect();
    schemas.insert("Timezone".into(), one_of(&zones).into());
    let mut results = array(component("UserInfoSelection"));
    results.max_items = Some(MAX_PAGE as u64);
    schemas.insert(
        "UsersInfo".into(),
        record(
            vec![("results", results), ("total_count", count())],
            &["results", "total_count"],
        )
        .into(),
    );
    schemas.insert(
        "StatResult".into(),
        record(
            vec![("results", typed(Type::Array)), ("total_count", count())],
            &["results"],
        )
        .into(),
    );
    let mut empty = typed(Type::Object);
    empty.max_properties = Some(0);
    schemas.insert("Empty".into(), empty.into());
    let detail = record(vec![("code", string()), ("message", string())], &["code", "message"]);
    schemas.insert("Error".into(), record(vec![("detail", detail)], &["detail"]).into());
    schemas.insert(
        "TokenInfo".into(),
        record(
            vec![("access_token", string()), ("refresh_token", string())],
            &["access_token", "refresh_token"],
        )
        .into(),
    );
    schemas.insert(
        "GrantTokenInfo".into(),
        record(
            vec![
                ("access_token", string()),
                ("role_type", one_of(&names(RoleType::ALL, RoleType::as_str))),
            ],
            &["access_token", "role_type"],
        )
        .into(),
    );
    schemas.insert(
        "PublicKeyInfo".into(),
        record(
            vec![
                (
                    "public_key",
                    described(string(), "The signing key's public JWK, as a JSON string"),
                ),
                ("domain_id", string()),
            ],
            &["public_key", "domain_id"],
        )
        .into(),
    );
    schemas.insert(
        "Jwks".into(),
        record(vec![("keys", array(typed(Type::Object)))], &["keys"]).into(),
    );
    let mut paths = openapiv3_1::Paths::default();
    for op in Operation::ALL {
        let described = op.describe();
        let operation = operation(described, &mut schemas);
        // An alias is the same operation under its own operationId (ids are unique in a document).
        for alias in described.aliases {
            let mut aliased = operation.clone();
            aliased.operation_id = Some(alias.operation_id.to_string());
            aliased.summary = Some(alias.summary.to_string());
            paths
                .paths
                .insert(alias.path.to_string(), path_item(described.method, aliased));
        }
        paths
            .paths
            .insert(described.path.to_string(), path_item(described.method, operation));
    }
    paths.paths.insert(
        "/openapi.json".into(),
        page("openapi", "This document", "application/json", typed(Type::Object)),
    );
    paths.paths.insert(
        "/docs".into(),
        page("docs", "This document as a page", "text/html", string()),
    );
    let mut info = Info::new(
        "Cloudforet identity v2 User API, with its Token API",
        env!("CARGO_PKG_VERSION"),
    );
    info.description = Some(format!(
        "The identity service's User API (spaceone.api.identity.v2.User) as served by this project. \
         Every method is POST with a JSON object (at most 256 KiB). Fields may be given by their proto \
         names (as below) or their lowerCamelCase JSON names, enums by name or number, integers as \
         numbers or strings; both spellings of one field is a 400. Queries hold at most 100 regular \
         expressions of at most {MAX_PATTERN_BYTES} bytes each. Errors answer \
         {{\"detail\": {{\"code\", \"message\"}}}}."
    ));
    let mut bearer = Http::new(HttpAuthScheme::Bearer);
    bearer.bearer_format = Some("JWT".into());
    bearer.description = Some(
        "A Cloudforet access token (RS256 or ES256; claims did, aud, rol, typ=ACCESS_TOKEN, ver=2.0, exp).".into(),
    );
    let mut components = Components::new();
    components.schemas = schemas;
    components
        .security_schemes
        .insert("bearer".into(), SecurityScheme::Http(bearer));
    let mut document = OpenApi::default();
    document.info = info;
    document.paths = paths;
    document.components = Some(components);
    document.security = Some(vec![SecurityRequirement::new("bearer", Vec::<String>::new())]);
    document
}

/// The whole document as JSON.
pub fn document() -> Value {
    serde_json::to_value(openapi()).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMITTED: &str = include_str!("../../../docs/openapi.json");

    /// The committed document is the one the code generates; `UPDATE_OPENAPI=1` rewrites it.
    #[test]
    fn the_committed_document_is_the_generated_one() {
        let generated = serde_json::to_string_pretty(&document()).unwrap_or_default() + "\n";
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
            std::fs::write(path, &generated).unwrap();
            return;
        }
        assert!(
            COMMITTED == generated,
            "docs/openapi.json differs from what the code generates: run UPDATE_OPENAPI=1 cargo test -p shared openapi, and review the change"
        );
    }

    #[test]
    fn every_path_every_field_and_the_bounds_are_in_it() {
        let doc = document();
        assert!(doc["paths"]["/openapi.json"]["get"].is_object());
        for op in Operation::ALL {
            let described = op.describe();
            let method = described.method.as_str().to_lowercase();
            let path = &doc["paths"][described.path][method.as_str()];
            assert_eq!(path["operationId"], described.name.replace('.', "_"));
            let message = described.request;
            for field in message.fields {
                assert!(
                    doc["components"]["schemas"][message.name]["properties"][field.name].is_object(),
                    "{}.{}",
                    message.name,
                    field.name
                );
            }
            assert_eq!(path["security"] == json!([]), !described.needs_token, "{op:?}");
            assert!(path["responses"]["200"].is_object(), "{op:?}");
        }
        let issue = &doc["paths"]["/identity/v2/token/issue"]["post"]["responses"]["401"]["description"];
        assert!(
            issue.as_str().is_some_and(|d| d.contains("ERROR_MFA_REQUIRED")),
            "{issue}"
        );
        let user = &doc["components"]["schemas"]["UserRequest"]["properties"]["user_id"];
        assert_eq!(user["maxLength"], MAX_USER_ID);
        let create = &doc["paths"]["/identity/v2/user/create"]["post"]["responses"];
        assert!(
            create["409"]["description"]
                .as_str()
                .unwrap_or_default()
                .contains("ERROR_NOT_UNIQUE")
        );
    }
}
