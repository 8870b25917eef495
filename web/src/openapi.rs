//! `/api/openapi.json`: an OpenAPI 3.1 document made from the route table (`routes::table`)
//! and the JSON Schemas derived from the API's types, so it describes exactly the routes the
//! router serves.

use schemars::generate::SchemaSettings;
use schemars::SchemaGenerator;
use serde_json::{json, Map, Value};

use crate::auth::role_name;
use crate::routes::{Answer, Param, ParamKind, RouteSpec};

/// The document for `specs`.
pub(crate) fn document(specs: &[RouteSpec]) -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|s| s.definitions_path = "/components/schemas/".into())
        .into_generator();
    let mut paths = Map::new();
    for spec in specs {
        let operation = operation(spec, &mut generator);
        let item = paths
            .entry(spec.path.to_string())
            .or_insert_with(|| json!({}));
        item[spec.method.to_ascii_lowercase()] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "pve-traffic",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Accounted per-guest traffic of a Proxmox VE cluster, its quotas and \
                            penalties. Answers are {\"success\": true, \"data\": …} or \
                            {\"success\": false, \"error\": \"…\"}. Send an API token as \
                            `Authorization: Bearer <token>` or `X-API-Token: <token>`."
        },
        "paths": paths,
        "security": [{"bearer": []}, {"apiToken": []}],
        "components": {
            "schemas": generator.take_definitions(true),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiToken": {"type": "apiKey", "in": "header", "name": "X-API-Token"}
            }
        }
    })
}

fn operation(spec: &RouteSpec, generator: &mut SchemaGenerator) -> Value {
    let mut parameters: Vec<Value> = path_params(spec.path)
        .map(|name| {
            json!({"name": name, "in": "path", "required": true,
                   "schema": {"type": "integer", "minimum": 100}})
        })
        .collect();
    parameters.extend(spec.query.iter().map(query_param));
    let mut op = json!({
        "summary": spec.summary,
        "operationId": operation_id(spec),
        "parameters": parameters,
        "responses": responses(spec, generator),
    });
    match spec.role {
        Some(role) => op["x-required-role"] = json!(role_name(role)),
        None => op["security"] = json!([]),
    }
    if let Some(body) = spec.body {
        op["requestBody"] = json!({
            "required": true,
            "content": {"application/json": {"schema": body(generator)}}
        });
    }
    op
}

fn responses(spec: &RouteSpec, generator: &mut SchemaGenerator) -> Value {
    let success = match spec.answer {
        Answer::Json(data) => json!({"application/json": {"schema": {
            "type": "object",
            "required": ["success", "data"],
            "properties": {"success": {"const": true}, "data": data(generator)}
        }}}),
        Answer::File(types) => types
            .iter()
            .map(|t| {
                (
                    t.to_string(),
                    json!({"schema": {"type": "string", "format": "binary"}}),
                )
            })
            .collect::<Map<_, _>>()
            .into(),
        Answer::Document => json!({"application/json": {"schema": {"type": "object"}}}),
    };
    let failure = json!({"application/json": {"schema": {
        "type": "object",
        "required": ["success", "error"],
        "properties": {"success": {"const": false}, "error": {"type": "string"}}
    }}});
    let mut out = json!({"200": {"description": "Success", "content": success}});
    let mut errors = vec![("400", "Bad request: the message says what to change")];
    if spec.role.is_some() {
        errors.push(("401", "No API token, or a wrong one"));
        errors.push(("429", "Too many wrong tokens from this address"));
    }
    errors.push((
        "403",
        "Not allowed (a viewer token, or not loopback without tokens)",
    ));
    if spec.path.contains('{') {
        errors.push(("404", "No such guest"));
    }
    if spec.method == "POST" {
        errors.push(("409", "Nothing to release"));
    }
    errors.push(("503", "The data is not available yet"));
    for (code, description) in errors {
        out[code] = json!({"description": description, "content": failure.clone()});
    }
    out
}

fn query_param(param: &Param) -> Value {
    let schema = match param.kind {
        ParamKind::Text => json!({"type": "string"}),
        ParamKind::Integer => json!({"type": "integer", "minimum": 0}),
        ParamKind::OneOf(values) => json!({"type": "string", "enum": values}),
    };
    json!({"name": param.name, "in": "query", "required": false,
           "description": param.description, "schema": schema})
}

/// The `{name}` parameters of a path.
pub(crate) fn path_params(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
}

/// e.g. `get_api_history_vmid`.
fn operation_id(spec: &RouteSpec) -> String {
    let path: String = spec
        .path
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let words: Vec<&str> = path.split('_').filter(|w| !w.is_empty()).collect();
    format!("{}_{}", spec.method.to_ascii_lowercase(), words.join("_"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::table;

    fn doc() -> (Vec<RouteSpec>, Value) {
        let specs: Vec<RouteSpec> = table().iter().map(|r| r.spec).collect();
        let doc = document(&specs);
        (specs, doc)
    }

    #[test]
    fn every_route_of_the_router_is_in_the_document_and_nothing_else() {
        let (specs, doc) = doc();
        for spec in &specs {
            let op = &doc["paths"][spec.path][spec.method.to_ascii_lowercase()];
            assert!(op.is_object(), "{} {} is missing", spec.method, spec.path);
            let documented: Vec<&str> = op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["in"] == "query")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            let declared: Vec<&str> = spec.query.iter().map(|p| p.name).collect();
            assert_eq!(documented, declared, "{}", spec.path);
        }
        let operations: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|item| item.as_object().unwrap().len())
            .sum();
        assert_eq!(operations, specs.len());
    }

    #[test]
    fn every_schema_reference_resolves() {
        let (_, doc) = doc();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        assert!(schemas.contains_key("Guest"), "{:?}", schemas.keys());
        for reference in text.split("\"$ref\":\"").skip(1) {
            let target = &reference[..reference.find('"').unwrap()];
            let name = target
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("{target} points outside components"));
            assert!(schemas.contains_key(name), "{target} does not resolve");
        }
    }

    #[test]
    fn the_release_route_documents_its_body_role_and_conflict() {
        let (_, doc) = doc();
        let op = &doc["paths"]["/api/guests/{vmid}/release"]["post"];
        assert_eq!(op["x-required-role"], "operator");
        assert!(op["requestBody"]["content"]["application/json"]["schema"].is_object());
        assert!(op["responses"]["409"].is_object());
        assert_eq!(op["parameters"][0]["name"], "vmid");
        assert_eq!(doc["openapi"], "3.1.0");
    }
}
