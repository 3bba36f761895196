//! Composite actions: unified actions made of other unified actions.

/// A key taken from the input: `contact.email_addresses[0].email_address`.
#[derive(Clone, Debug)]
pub struct KeyPath {
    pub input: String,
    /// `(field, optional, list)` steps; a list step takes the first element.
    pub steps: Vec<(String, bool, bool)>,
}

/// A string field of a record produced by an earlier step: `company.remote_id`.
#[derive(Clone, Debug)]
pub struct StepRef {
    pub step: String,
    pub field: String,
    pub optional: bool,
}

#[derive(Clone, Debug)]
pub enum Step {
    /// Look the record up by a key (when the input has one); create it if absent.
    FindOrCreate {
        input: String,
        model: String,
        find: Option<(String, KeyPath)>,
        set: Vec<(String, bool, StepRef)>,
    },
    Create {
        input: String,
        model: String,
        set: Vec<(String, bool, StepRef)>,
    },
    Link {
        action: String,
        from: StepRef,
        to: StepRef,
    },
}

#[derive(Clone, Debug)]
pub struct Composite {
    pub name: String,
    pub description: Option<String>,
    /// `(input field, model)`.
    pub inputs: Vec<(String, String)>,
    pub steps: Vec<Step>,
}
