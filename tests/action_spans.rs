//! Every action runs in a `unifold.action` span; the steps of a composite action are
//! children of its span. (Its own test binary: tracing caches per-callsite interest
//! process-wide, so a scoped subscriber must not race other tests' spans.)

use std::sync::{Arc, Mutex};
use tracing::span::{Attributes, Id};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use unifold_providers::{
    CompanyInput, ContactInput, CreateOpportunityWithLinksInput, EmailAddress, OpportunityInput,
    create_opportunity_with_links,
};
use unifold_runtime::{Connection, Credentials, Runtime};
use unifold_sandbox::{Sandbox, Vendor};

/// Records each `unifold.action` span with the action of its parent span.
#[derive(Clone, Default)]
struct ActionTree(Arc<Mutex<Vec<SeenSpan>>>);

/// An action span's name and its parent action's name.
type SeenSpan = (String, Option<String>);

struct ActionName(String);

impl<S> Layer<S> for ActionTree
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != "unifold.action" {
            return;
        }
        struct Visit(Option<String>);
        impl tracing::field::Visit for Visit {
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                if field.name() == "action" {
                    self.0 = Some(value.to_string());
                }
            }
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "action" {
                    self.0 = Some(format!("{value:?}").trim_matches('"').to_string());
                }
            }
        }
        let mut visit = Visit(None);
        attrs.record(&mut visit);
        let name = visit.0.unwrap_or_default();
        let span = ctx.span(id).expect("new span exists");
        let parent = span.scope().skip(1).find_map(|ancestor| {
            ancestor
                .extensions()
                .get::<ActionName>()
                .map(|a| a.0.clone())
        });
        span.extensions_mut().insert(ActionName(name.clone()));
        self.0.lock().unwrap().push((name, parent));
    }
}

#[tokio::test(flavor = "current_thread")]
async fn steps_run_as_child_spans_of_the_composite() {
    let tree = ActionTree::default();
    let subscriber = tracing_subscriber::registry().with(tree.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    let runtime = Runtime::new().unwrap();
    let sandbox = Sandbox::start(Vendor::HubSpot, "span-token").await.unwrap();
    let connection = Connection::new("customer-9", "hubspot", Credentials::bearer("span-token"))
        .with_origin(sandbox.url());
    let input = CreateOpportunityWithLinksInput {
        company: CompanyInput {
            name: Some("Analytical Engines".into()),
            website: Some("engines.example.com".into()),
            ..Default::default()
        },
        contact: ContactInput {
            last_name: Some("Lovelace".into()),
            email_addresses: vec![EmailAddress {
                email_address: "ada@example.com".into(),
                ..Default::default()
            }],
            ..Default::default()
        },
        opportunity: OpportunityInput {
            name: Some("Engine".into()),
            stage: Some("appointmentscheduled".into()),
            ..Default::default()
        },
    };
    create_opportunity_with_links(&runtime, &connection, &input)
        .await
        .unwrap();
    let seen = tree.0.lock().unwrap().clone();
    let parent = Some("create_opportunity_with_links".to_string());
    assert_eq!(
        seen,
        vec![
            ("create_opportunity_with_links".to_string(), None),
            ("find_company_by_domain".to_string(), parent.clone()),
            ("create_company".to_string(), parent.clone()),
            ("find_contact_by_email".to_string(), parent.clone()),
            ("create_contact".to_string(), parent.clone()),
            ("create_opportunity".to_string(), parent.clone()),
            ("link_opportunity_contact".to_string(), parent),
        ]
    );
}
