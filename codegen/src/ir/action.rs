//! The actions a project generates, and their names: derived here once, for the emitter,
//! the composite checker and the listings front ends print.

use crate::ir::mapping::Mapping;
use crate::naming::{plural, snake};

/// What an action does; with the model, it decides the action's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionKind {
    Create,
    Get,
    Update,
    Delete,
    Upsert,
    List,
    /// `find_<model>_by_<key>`.
    FindBy(String),
    /// `link_<model>_<target>`.
    Link(String),
    /// `create_<models>`: many creates in batch requests.
    CreateMany,
    /// `update_<models>`.
    UpdateMany,
}

impl ActionKind {
    /// The action's name for `model` (a model name such as `Contact`).
    pub fn name(&self, model: &str) -> String {
        let model = snake(model);
        match self {
            ActionKind::Create => format!("create_{model}"),
            ActionKind::Get => format!("get_{model}"),
            ActionKind::Update => format!("update_{model}"),
            ActionKind::Delete => format!("delete_{model}"),
            ActionKind::Upsert => format!("upsert_{model}"),
            ActionKind::List => format!("list_{}", plural(&model)),
            ActionKind::FindBy(key) => format!("find_{model}_by_{key}"),
            ActionKind::Link(target) => format!("link_{model}_{target}"),
            ActionKind::CreateMany => format!("create_{}", plural(&model)),
            ActionKind::UpdateMany => format!("update_{}", plural(&model)),
        }
    }
}

/// One action of one mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    pub kind: ActionKind,
    pub name: String,
}

impl Mapping {
    /// Every action this mapping generates, in a fixed order: create, get, update,
    /// delete, upsert, list, finds, links, batches.
    pub fn actions(&self) -> Vec<Action> {
        let simple = [
            (ActionKind::Create, self.create.is_some()),
            (ActionKind::Get, self.get.is_some()),
            (ActionKind::Update, self.update.is_some()),
            (ActionKind::Delete, self.delete.is_some()),
            (ActionKind::Upsert, self.upsert.is_some()),
            (ActionKind::List, self.list.is_some()),
        ];
        let finds = self
            .finds
            .iter()
            .map(|find| ActionKind::FindBy(find.key.clone()));
        let links = self
            .links
            .iter()
            .map(|link| ActionKind::Link(link.target.clone()));
        let batches = [
            (ActionKind::CreateMany, self.create_batch.is_some()),
            (ActionKind::UpdateMany, self.update_batch.is_some()),
        ];
        simple
            .into_iter()
            .filter_map(|(kind, present)| present.then_some(kind))
            .chain(finds)
            .chain(links)
            .chain(
                batches
                    .into_iter()
                    .filter_map(|(kind, present)| present.then_some(kind)),
            )
            .map(|kind| Action {
                name: kind.name(&self.model),
                kind,
            })
            .collect()
    }

    /// The name of this mapping's `kind` action.
    pub fn action_name(&self, kind: ActionKind) -> String {
        kind.name(&self.model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_model() {
        assert_eq!(ActionKind::Create.name("Contact"), "create_contact");
        assert_eq!(ActionKind::List.name("Opportunity"), "list_opportunities");
        assert_eq!(ActionKind::List.name("Address"), "list_addresses");
        assert_eq!(
            ActionKind::FindBy("email".into()).name("Contact"),
            "find_contact_by_email"
        );
        assert_eq!(
            ActionKind::Link("contact".into()).name("Opportunity"),
            "link_opportunity_contact"
        );
        assert_eq!(ActionKind::CreateMany.name("Company"), "create_companies");
        assert_eq!(
            ActionKind::Upsert.name("SalesInvoice"),
            "upsert_sales_invoice"
        );
    }
}
