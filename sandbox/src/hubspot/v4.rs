//! CRM v4 associations between two records: default and labelled creation, listing from
//! either end, and removal. All of them read and write [`Store::associations`].

use super::*;

/// Largest (and default) `limit` of the association list.
const ASSOCIATIONS_LIMIT_MAX: usize = 500;

/// The unlabeled type HubSpot uses for a default association of `from` → `to`.
fn default_kind(from: &ObjectType, to: &ObjectType) -> Option<&'static AssociationType> {
    ASSOCIATION_TYPES
        .iter()
        .find(|a| a.from == from.name && a.to == to.name && a.label.ends_with("_unlabeled"))
        .or_else(|| {
            ASSOCIATION_TYPES
                .iter()
                .find(|a| a.from == from.name && a.to == to.name && a.unlabeled.is_none())
        })
}

/// Resolves both object types of a v4 path.
fn types(from: &str, to: &str) -> Result<(&'static ObjectType, &'static ObjectType), Reply> {
    let from_type = object_type(from).ok_or_else(|| unknown_object_type(from))?;
    let to_type = object_type(to).ok_or_else(|| unknown_object_type(to))?;
    Ok((from_type, to_type))
}

/// 404 unless both records exist (and are not archived).
fn both_exist(
    store: &Store,
    from: &ObjectType,
    from_id: &str,
    to: &ObjectType,
    to_id: &str,
) -> Result<(), Reply> {
    for (ty, id) in [(from, from_id), (to, to_id)] {
        if store.get(ty.name, id).is_none() {
            let mut extra = Map::new();
            extra.insert(
                "context".into(),
                json!({"id": [id], "objectType": [ty.type_id]}),
            );
            return Err(error(
                StatusCode::NOT_FOUND,
                Some("OBJECT_NOT_FOUND"),
                format!("No {} object with id {id} exists.", ty.type_id),
                extra,
            ));
        }
    }
    Ok(())
}

fn spec(type_id: u32) -> Value {
    json!({"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id})
}

/// `PUT /crm/v4/objects/{fromObjectType}/{fromObjectId}/associations/default/{toObjectType}/{toObjectId}`
pub(super) async fn associate_default(
    State(state): State<SandboxState>,
    path: Result<Path<(String, String, String, String)>, PathRejection>,
) -> Reply {
    let Ok(Path((from, from_id, to, to_id))) = path else {
        return HubSpot::unknown_path();
    };
    let (from_type, to_type) = match types(&from, &to) {
        Ok(types) => types,
        Err(response) => return response,
    };
    let Some(kind) = default_kind(from_type, to_type) else {
        return validation_error(format!(
            "There is no default association type between {} and {}",
            from_type.type_id, to_type.type_id
        ));
    };
    state.with_store(|store| {
        if let Err(response) = both_exist(store, from_type, &from_id, to_type, &to_id) {
            return response;
        }
        associate(store, from_type.name, &from_id, to_type.name, &to_id, kind.id);
        let now = timestamp(Utc::now());
        reply(
            StatusCode::OK,
            json!({
                "status": "COMPLETE",
                "results": [
                    {"from": {"id": from_id}, "to": {"id": to_id}, "associationSpec": spec(kind.id)},
                    {"from": {"id": to_id}, "to": {"id": from_id}, "associationSpec": spec(kind.inverse)},
                ],
                "startedAt": now,
                "completedAt": now,
            }),
        )
    })
}

/// `PUT /crm/v4/objects/{fromObjectType}/{fromObjectId}/associations/{toObjectType}/{toObjectId}`
/// with a body of `AssociationSpec`s.
pub(super) async fn associate_labelled(
    State(state): State<SandboxState>,
    path: Result<Path<(String, String, String, String)>, PathRejection>,
    body: Bytes,
) -> Reply {
    let Ok(Path((from, from_id, to, to_id))) = path else {
        return HubSpot::unknown_path();
    };
    let (from_type, to_type) = match types(&from, &to) {
        Ok(types) => types,
        Err(response) => return response,
    };
    let body = match malformed_json(&body) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let Value::Array(specs) = body else {
        return invalid_input(
            "Cannot deserialize value of type `java.util.ArrayList<AssociationSpec>` from non-array value",
        );
    };
    if specs.is_empty() {
        return validation_error("At least one association type must be provided.");
    }
    let kinds = match specs
        .iter()
        .map(|s| parse_spec(s, from_type, Some(to_type)))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(kinds) => kinds,
        Err(response) => return response,
    };
    state.with_store(|store| {
        if let Err(response) = both_exist(store, from_type, &from_id, to_type, &to_id) {
            return response;
        }
        for kind in &kinds {
            for type_id in implied_kinds(kind.id) {
                associate(
                    store,
                    from_type.name,
                    &from_id,
                    to_type.name,
                    &to_id,
                    type_id,
                );
            }
        }
        let mut labels: Vec<&str> = associations_of(store, from_type.name, &from_id, to_type.name)
            .filter(|(id, _)| *id == to_id)
            .filter_map(|(_, kind)| association_label(kind))
            .collect();
        labels.dedup();
        reply(
            StatusCode::CREATED,
            json!({
                "fromObjectTypeId": from_type.type_id,
                "fromObjectId": from_id,
                "toObjectTypeId": to_type.type_id,
                "toObjectId": to_id,
                "labels": labels,
            }),
        )
    })
}

/// `GET /crm/v4/objects/{fromObjectType}/{fromObjectId}/associations/{toObjectType}`
pub(super) async fn list(
    State(state): State<SandboxState>,
    path: Result<Path<(String, String, String)>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Reply {
    let (Ok(Path((from, from_id, to))), Ok(Query(query))) = (path, query) else {
        return HubSpot::unknown_path();
    };
    let (from_type, to_type) = match types(&from, &to) {
        Ok(types) => types,
        Err(response) => return response,
    };
    let params = Params(query);
    let limit = match parse_limit(
        params.last("limit"),
        ASSOCIATIONS_LIMIT_MAX,
        ASSOCIATIONS_LIMIT_MAX,
    ) {
        Ok(limit) => limit,
        Err(response) => return response,
    };
    let after = match params.last("after").filter(|a| !a.is_empty()) {
        None => 0,
        Some(after) => match decode_cursor(after) {
            Ok(after) => usize::try_from(after).unwrap_or(usize::MAX),
            Err(response) => return response,
        },
    };
    state.with_store(|store| {
        // One row per associated record, its types in creation order.
        let mut rows: Vec<(&str, Vec<u32>)> = Vec::new();
        for (id, kind) in associations_of(store, from_type.name, &from_id, to_type.name) {
            match rows.iter_mut().find(|(other, _)| *other == id) {
                Some((_, kinds)) => kinds.push(kind),
                None => rows.push((id, vec![kind])),
            }
        }
        let results: Vec<Value> = rows
            .iter()
            .skip(after)
            .take(limit)
            .map(|(id, kinds)| {
                let types: Vec<Value> = kinds
                    .iter()
                    .map(|k| json!({"category": "HUBSPOT_DEFINED", "typeId": k, "label": association_label(*k)}))
                    .collect();
                json!({"toObjectId": id, "associationTypes": types})
            })
            .collect();
        let mut body = json!({ "results": results });
        let next = after.saturating_add(limit);
        if next < rows.len() {
            body["paging"] = paging(&encode_cursor(next as u64));
        }
        reply(StatusCode::OK, body)
    })
}

/// `DELETE /crm/v4/objects/{fromObjectType}/{fromObjectId}/associations/{toObjectType}/{toObjectId}`:
/// removes every association between the two records, whichever end made it.
pub(super) async fn disassociate(
    State(state): State<SandboxState>,
    path: Result<Path<(String, String, String, String)>, PathRejection>,
) -> Reply {
    let Ok(Path((from, from_id, to, to_id))) = path else {
        return HubSpot::unknown_path();
    };
    let (from_type, to_type) = match types(&from, &to) {
        Ok(types) => types,
        Err(response) => return response,
    };
    state.with_store(|store| {
        if let Err(response) = both_exist(store, from_type, &from_id, to_type, &to_id) {
            return response;
        }
        let pair = |a: &Association, x: (&str, &str), y: (&str, &str)| {
            a.from_type == x.0 && a.from_id == x.1 && a.to_type == y.0 && a.to_id == y.1
        };
        let from_end = (from_type.name, from_id.as_str());
        let to_end = (to_type.name, to_id.as_str());
        store
            .associations
            .retain(|a| !pair(a, from_end, to_end) && !pair(a, to_end, from_end));
        no_content()
    })
}
