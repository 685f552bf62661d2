//! Every connector kind this build ships, by id.

use crate::connector::ConnectorKind;

pub struct Registry {
    kinds: Vec<Box<dyn ConnectorKind>>,
}

impl Default for Registry {
    fn default() -> Self {
        Self {
            kinds: vec![
                Box::new(crate::stripe::StripeKind),
                Box::new(crate::hubspot::HubSpotKind),
                Box::new(crate::files::FilesKind),
                Box::new(crate::rest::RestKind),
            ],
        }
    }
}

impl Registry {
    pub fn get(&self, id: &str) -> Option<&dyn ConnectorKind> {
        self.kinds.iter().find(|kind| kind.id() == id).map(Box::as_ref)
    }

    pub fn kinds(&self) -> impl Iterator<Item = &dyn ConnectorKind> {
        self.kinds.iter().map(Box::as_ref)
    }
}
