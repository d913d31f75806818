//! The API as an OpenAPI 3.1 document, generated from the code: the paths and token rule of
//! [`Operation`], the request messages of [`crate::proto3`], the bounds the model enforces,
//! the enums' names, and the error codes of [`ErrorCode`]. `docs/openapi.json` is this
//! document as committed; a test fails when the two differ, so a change in code shows up as a
//! change of the document in review (`UPDATE_OPENAPI=1 cargo test -p users-shared openapi`
//! writes it anew).
//!
//! Requests are described by their proto names; every field may also be given by its
//! lowerCamelCase JSON name, enums by number and integers as strings (SPEC section 3), which
//! the schema does not spell out twice.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::error::ErrorCode;
use crate::model::{
    AuthType, MAX_EMAIL, MAX_ID, MAX_LANGUAGE, MAX_NAME, MAX_TAG_KEYS, MAX_USER_ID, MfaState, MfaType, RequiredAction,
    RoleType, State,
};
use crate::ops::Operation;
use crate::ops::description::{Description, Method};
use crate::proto3::{self, Condition, Field, Is, Kind, Message};
use crate::query::{MAX_PAGE, MAX_PATTERN_BYTES};

fn names<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|v| name(*v)).collect()
}

/// The schema of a request field: its kind, with the constraints its [`Rule`] states.
fn field_schema(field: &Field) -> Value {
    let rule = &field.rule;
    let mut schema = match field.kind {
        Kind::Str => json!({"type": "string"}),
        Kind::Bool => json!({"type": "boolean"}),
        Kind::Strs => json!({"type": "array", "items": {"type": "string"}}),
        Kind::Int => json!({"type": "integer", "minimum": 0, "maximum": u32::MAX}),
        Kind::Enum(table) => enum_schema(table),
        Kind::Enums(table) => json!({"type": "array", "items": enum_schema(table)}),
        Kind::Message(message) => message_ref(message),
        Kind::Messages(message) => json!({"type": "array", "items": message_ref(message)}),
        Kind::Struct => json!({"type": "object"}),
        Kind::Value => json!({}),
    };
    if let Some(name) = rule.schema {
        schema = json!({"$ref": format!("#/components/schemas/{name}")});
    }
    if let Some(min) = rule.min_length {
        schema["minLength"] = json!(min);
    }
    if let Some(max) = rule.max_length {
        schema["maxLength"] = json!(max);
    }
    match rule.patterns {
        [] => {}
        [one] => schema["pattern"] = json!(one),
        all => {
            let each: Vec<Value> = all.iter().map(|p| json!({"pattern": p})).collect();
            schema["allOf"] = json!(each);
        }
    }
    if !rule.one_of.is_empty() {
        schema["enum"] = json!(rule.one_of);
    }
    if let Some(max) = rule.max_properties {
        schema["maxProperties"] = json!(max);
    }
    if let Some(min) = rule.min_items {
        schema["minItems"] = json!(min);
    }
    if let Some((min, max)) = rule.range {
        schema["minimum"] = json!(min);
        schema["maximum"] = json!(max);
    }
    if let Some((shape, closed)) = rule.shape {
        let properties: Map<String, Value> = shape
            .fields
            .iter()
            .map(|f| (f.name.to_string(), field_schema(f)))
            .collect();
        let required: Vec<&str> = shape.fields.iter().map(|f| f.name).collect();
        schema["properties"] = Value::Object(properties);
        schema["required"] = json!(required);
        schema["additionalProperties"] = json!(!closed);
    }
    if let Some(note) = rule.note {
        schema["description"] = json!(note);
    }
    schema
}

/// An enum by name (the schema lists the names; numbers are accepted too, SPEC section 3).
fn enum_schema(table: &proto3::EnumTable) -> Value {
    let names: Vec<&str> = table.values.iter().filter_map(|(_, name)| *name).collect();
    json!({"type": "string", "enum": names})
}

fn message_ref(message: &Message) -> Value {
    json!({"$ref": format!("#/components/schemas/{}", message.name)})
}

/// A [`Condition`] as `if`/`then`.
fn condition(message: &Message, condition: &Condition) -> Value {
    let part = |clauses: &[(&str, Is)], then: bool| {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for (name, is) in clauses {
            let string = message
                .fields
                .iter()
                .any(|f| f.name == *name && matches!(f.kind, Kind::Str));
            let schema = match is {
                Is::OneOf(values) => {
                    required.push(*name);
                    json!({"enum": values})
                }
                Is::True => {
                    required.push(*name);
                    json!({"const": true})
                }
                Is::NotTrue => json!({"not": {"const": true}}),
                Is::Given if string => {
                    required.push(*name);
                    json!({"minLength": 1})
                }
                Is::Given => {
                    required.push(*name);
                    json!({})
                }
                Is::Absent if then => json!(false),
                Is::Absent => {
                    properties.insert((*name).to_string(), json!({}));
                    continue;
                }
            };
            properties.insert((*name).to_string(), schema);
        }
        let mut out = json!({"properties": properties, "required": required});
        if !then {
            // "absent" in a condition's `if`: the key is not there.
            let absent: Vec<&str> = clauses
                .iter()
                .filter(|(_, is)| matches!(is, Is::Absent))
                .map(|(name, _)| *name)
                .collect();
            if !absent.is_empty() {
                out["not"] = json!({"anyOf": absent.iter().map(|n| json!({"required": [n]})).collect::<Vec<_>>()});
            }
        }
        out
    };
    json!({"if": part(condition.when, false), "then": part(condition.then, true)})
}

/// A message and every message it holds, as component schemas.
fn add_message(message: &'static Message, schemas: &mut Map<String, Value>) {
    if schemas.contains_key(message.name) {
        return;
    }
    let properties: Map<String, Value> = message
        .fields
        .iter()
        .map(|f| (f.name.to_string(), field_schema(f)))
        .collect();
    let mut schema = json!({"type": "object", "properties": properties, "additionalProperties": false});
    if !message.conditions.is_empty() {
        let conditions: Vec<Value> = message.conditions.iter().map(|c| condition(message, c)).collect();
        schema["allOf"] = json!(conditions);
    }
    schemas.insert(message.name.to_string(), schema);
    for field in message.fields {
        if let Kind::Message(inner) | Kind::Messages(inner) = field.kind {
            add_message(inner, schemas);
        }
    }
}

fn user_info() -> Value {
    json!({
        "type": "object",
        "required": ["user_id", "name", "state", "email", "email_verified", "auth_type", "role_type", "mfa",
                     "language", "timezone", "required_actions", "tags", "domain_id", "created_at", "last_accessed_at"],
        "additionalProperties": false,
        "properties": {
            "user_id": {"type": "string", "minLength": 1, "maxLength": MAX_USER_ID},
            "name": {"type": "string", "maxLength": MAX_NAME},
            "state": {"type": "string", "enum": names(State::ALL, State::as_str)},
            "email": {"type": "string", "maxLength": MAX_EMAIL},
            "email_verified": {"type": "boolean"},
            "auth_type": {"type": "string", "enum": names(AuthType::ALL, AuthType::as_str)},
            "role_type": {"type": "string", "enum": names(RoleType::ALL, RoleType::as_str)},
            "mfa": {
                "type": "object",
                "required": ["state"],
                "properties": {
                    "state": {"type": "string", "enum": names(MfaState::ALL, MfaState::as_str)},
                    "mfa_type": {"type": "string", "enum": names(MfaType::ALL, MfaType::as_str)},
                    "options": {"type": "object"},
                },
            },
            "language": {"type": "string", "maxLength": MAX_LANGUAGE},
            "timezone": {"type": "string"},
            "required_actions": {"type": "array", "items": {"type": "string", "enum": names(RequiredAction::ALL, RequiredAction::as_str)}},
            "tags": {"type": "object", "maxProperties": MAX_TAG_KEYS},
            "domain_id": {"type": "string", "maxLength": MAX_ID},
            "created_at": {"type": "string", "format": "date-time"},
            "last_accessed_at": {"type": ["string", "null"], "format": "date-time"},
        },
    })
}

/// The answers besides 200, by status: the error codes the operation's description lists, and
/// those any request may meet (ERROR_UNKNOWN, ERROR_UNAVAILABLE).
fn errors(described: &Description) -> Vec<(u16, Vec<&'static str>)> {
    let mut by_status: BTreeMap<u16, Vec<&'static str>> = BTreeMap::new();
    for code in described
        .errors
        .iter()
        .chain(&[ErrorCode::Unknown, ErrorCode::Unavailable])
    {
        by_status.entry(code.status()).or_default().push(code.as_str());
    }
    by_status.into_iter().collect()
}

fn operation(described: &Description, schemas: &mut Map<String, Value>) -> Value {
    let message = described.request;
    add_message(message, schemas);
    let request_name = format!("{}Body", message.name);
    if !schemas.contains_key(&request_name) {
        schemas.insert(
            request_name.clone(),
            json!({"allOf": [message_ref(message), {"required": described.required}]}),
        );
    }
    let mut responses = Map::new();
    let response = json!({"$ref": format!("#/components/schemas/{}", described.response)});
    responses.insert(
        "200".into(),
        json!({"description": "OK", "content": {"application/json": {"schema": response}}}),
    );
    for (status, codes) in errors(described) {
        responses.insert(
            status.to_string(),
            json!({
                "description": format!("One of: {}", codes.join(", ")),
                "content": {"application/json": {"schema": {"allOf": [
                    {"$ref": "#/components/schemas/Error"},
                    {"properties": {"detail": {"properties": {"code": {"enum": codes}}}}},
                ]}}},
            }),
        );
    }
    let mut method = json!({
        "operationId": described.name.replace('.', "_"),
        "summary": described.summary,
        "responses": responses,
    });
    if described.method == Method::Post {
        let example: Value = serde_json::from_str(described.example).unwrap_or(Value::Null);
        method["requestBody"] = json!({"required": true, "content": {"application/json": {
            "schema": {"$ref": format!("#/components/schemas/{request_name}")},
            "example": example,
        }}});
    }
    if !described.needs_token {
        method["security"] = json!([]);
    }
    json!({ described.method.as_str().to_lowercase(): method })
}

/// The whole document.
pub fn document() -> Value {
    let mut schemas = Map::new();
    schemas.insert("UserInfo".into(), user_info());
    // What list answers per user: UserInfo, or the keys `query.minimal` or `query.only` select.
    let mut selection = user_info();
    if let Some(selection) = selection.as_object_mut() {
        selection.remove("required");
    }
    schemas.insert("UserInfoSelection".into(), selection);
    // Every IANA time zone name the server knows, or "" (not given).
    let zones: Vec<&str> = std::iter::once("")
        .chain(chrono_tz::TZ_VARIANTS.iter().map(|zone| zone.name()))
        .collect();
    schemas.insert("Timezone".into(), json!({"type": "string", "enum": zones}));
    schemas.insert(
        "UsersInfo".into(),
        json!({"type": "object", "required": ["results", "total_count"], "properties": {
            "results": {"type": "array", "maxItems": MAX_PAGE, "items": {"$ref": "#/components/schemas/UserInfoSelection"}},
            "total_count": {"type": "integer", "minimum": 0},
        }}),
    );
    schemas.insert(
        "StatResult".into(),
        json!({"type": "object", "required": ["results"], "properties": {
            "results": {"type": "array"},
            "total_count": {"type": "integer", "minimum": 0},
        }}),
    );
    schemas.insert("Empty".into(), json!({"type": "object", "maxProperties": 0}));
    schemas.insert(
        "Error".into(),
        json!({"type": "object", "required": ["detail"], "properties": {"detail": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }}}),
    );
    schemas.insert(
        "TokenInfo".into(),
        json!({"type": "object", "required": ["access_token", "refresh_token"], "properties": {
            "access_token": {"type": "string"}, "refresh_token": {"type": "string"},
        }}),
    );
    schemas.insert(
        "GrantTokenInfo".into(),
        json!({"type": "object", "required": ["access_token", "role_type"], "properties": {
            "access_token": {"type": "string"},
            "role_type": {"type": "string", "enum": names(RoleType::ALL, RoleType::as_str)},
        }}),
    );
    schemas.insert(
        "PublicKeyInfo".into(),
        json!({"type": "object", "required": ["public_key", "domain_id"], "properties": {
            "public_key": {"type": "string", "description": "The signing key's public JWK, as a JSON string"},
            "domain_id": {"type": "string"},
        }}),
    );
    schemas.insert(
        "Jwks".into(),
        json!({"type": "object", "required": ["keys"], "properties": {"keys": {"type": "array", "items": {"type": "object"}}}}),
    );
    let mut paths = Map::new();
    for op in Operation::ALL {
        let described = op.describe();
        paths.insert(described.path.to_string(), operation(described, &mut schemas));
        // An alias is the same operation under its own operationId (ids are unique in a document).
        for alias in described.aliases {
            let mut aliased = operation(described, &mut schemas);
            let method = described.method.as_str().to_lowercase();
            aliased[&method]["operationId"] = json!(alias.operation_id);
            aliased[&method]["summary"] = json!(alias.summary);
            paths.insert(alias.path.to_string(), aliased);
        }
    }
    // What `users-local serve` serves besides the API: this document and its page.
    paths.insert(
        "/openapi.json".into(),
        json!({"get": {"operationId": "openapi", "summary": "This document (users-local only)", "security": [],
            "x-users-local-only": true,
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}}}}),
    );
    paths.insert(
        "/docs".into(),
        json!({"get": {"operationId": "docs", "summary": "This document as a page (users-local only)", "security": [],
            "x-users-local-only": true,
            "responses": {"200": {"description": "OK", "content": {"text/html": {"schema": {"type": "string"}}}}}}}),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Cloudforet identity v2 User API, with its Token API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!(
                "The identity service's User API (spaceone.api.identity.v2.User) as served by this project. \
                 Every method is POST with a JSON object (at most 256 KiB). Fields may be given by their proto \
                 names (as below) or their lowerCamelCase JSON names, enums by name or number, integers as \
                 numbers or strings; both spellings of one field is a 400. Queries hold at most 100 regular \
                 expressions of at most {MAX_PATTERN_BYTES} bytes each. Errors answer \
                 {{\"detail\": {{\"code\", \"message\"}}}}."
            ),
        },
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "A Cloudforet access token (RS256 or ES256; claims did, aud, rol, typ=ACCESS_TOKEN, ver=2.0, exp)."}},
            "schemas": schemas,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMITTED: &str = include_str!("../../docs/openapi.json");

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
            "docs/openapi.json differs from what the code generates: run UPDATE_OPENAPI=1 cargo test -p users-shared openapi, and review the change"
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
