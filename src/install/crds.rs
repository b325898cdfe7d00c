//! The CustomResourceDefinitions of the Istio APIs Ferry serves (Istio's `base` component).

mod schema;

pub use schema::{is_structural, structural};
